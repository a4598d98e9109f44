"""Optional HTTP Basic authentication, and the security headers every response carries.

docs/security.md says what this protects, how to turn it on, and what is left to a reverse proxy.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field

from flask import Flask, Response, request
from pydantic import SecretStr
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from clara_common.settings import SettingsError, secret_value
from clara_monitor.settings import MonitorSettings

log = logging.getLogger(__name__)

REALM = "CLARA Monitor"
# Open without credentials: an orchestrator's liveness and readiness probes carry none.
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
# JSON answers computed per request: never stored by a browser or a proxy.
NO_STORE_PREFIXES = ("/api/",)
NO_STORE_PATHS = frozenset({"/data", "/training-data", "/min-date", "/healthz", "/readyz", "/metrics"})
# Open with METRICS_TOKEN as a Bearer token (a Prometheus scrape), besides Basic authentication.
TOKEN_PATHS = frozenset({"/metrics"})
# Everything from this origin and nothing inline: the page loads its script, style and vendored
# Chart.js as files, and draws on canvases (Chart.js sets styles through the CSSOM, which the policy allows).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors' predecessor, for browsers that lack it
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Credentials:
    """The one username and password that Basic authentication accepts."""

    username: str
    password: str = field(repr=False)

    def match(self, username: str, password: str) -> bool:
        """Return whether both match, in time that does not depend on where they differ."""
        # Both comparisons always run, so that the time does not tell a right username from a wrong one.
        user_ok = hmac.compare_digest(username.encode(), self.username.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return user_ok & password_ok


def credentials(settings: MonitorSettings) -> Credentials | None:
    """Return the credentials the settings ask for, None when authentication is off.

    Raises SettingsError, naming the variables, when only half of them are set, or the password is given both
    ways, or its file cannot be read (clara_common.settings.secret_value).
    """
    username = settings.MONITOR_USERNAME
    password = secret_value("MONITOR_PASSWORD", settings.MONITOR_PASSWORD, settings.MONITOR_PASSWORD_FILE)
    if username is None and password is None:
        return None
    if username is None:
        which = "MONITOR_PASSWORD_FILE" if settings.MONITOR_PASSWORD_FILE else "MONITOR_PASSWORD"
        raise SettingsError(f"{which} is set but MONITOR_USERNAME is not: authentication needs both")
    if password is None:
        raise SettingsError(
            "MONITOR_USERNAME is set but neither MONITOR_PASSWORD nor MONITOR_PASSWORD_FILE is: "
            "authentication needs both"
        )
    return Credentials(username, password)


def needs_no_store(path: str) -> bool:
    """Return whether `path` is one of the API's (JSON computed per request)."""
    return path in NO_STORE_PATHS or path.startswith(NO_STORE_PREFIXES)


def token_matches(given: str, token: str) -> bool:
    """Return whether a Bearer token is `token`, in time that does not depend on where they differ."""
    return hmac.compare_digest(given.encode(), token.encode())


def register(app: Flask, required: Credentials | None, metrics_token: SecretStr | None = None) -> None:
    """Ask for `required` on every route but OPEN_PATHS (when set), and accept `metrics_token` as a Bearer token
    on TOKEN_PATHS only (which ask for one of the two when it is set); add the security headers to every response."""
    if required is not None or metrics_token is not None:
        challenge = WWWAuthenticate("basic", {"realm": REALM})
        token_challenge = [*([challenge] if required is not None else []), WWWAuthenticate("bearer", {"realm": REALM})]

        @app.before_request
        def authenticate() -> None:
            if request.path in OPEN_PATHS:
                return
            given = request.authorization
            if metrics_token is not None and request.path in TOKEN_PATHS:
                if given is not None and given.type == "bearer":
                    if token_matches(given.token or "", metrics_token.get_secret_value()):
                        return
                    log.warning("wrong token for %s from %s", request.path, request.remote_addr)
                    raise Unauthorized("wrong token", www_authenticate=token_challenge)
                if required is None:
                    raise Unauthorized(
                        "authentication required: send the METRICS_TOKEN as a Bearer token",
                        www_authenticate=token_challenge,
                    )
            if required is None:
                return
            if given is None or given.type != "basic":
                raise Unauthorized(
                    "authentication required: sign in with the monitor's username and password",
                    www_authenticate=challenge,
                )
            if not required.match(given.username or "", given.password or ""):
                log.warning("wrong username or password for %s from %s", request.path, request.remote_addr)
                raise Unauthorized("wrong username or password", www_authenticate=challenge)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        if needs_no_store(request.path):
            response.headers["Cache-Control"] = "no-store"
        return response
