"""Optional HTTP Basic authentication and the security headers, on every route the monitor has.

The routes are taken from the app's own URL map, so that a route added later is checked too.
"""

from __future__ import annotations

import base64
import http.client
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pymongo import MongoClient

from clara_common.days import today
from clara_common.embedded import free_port
from clara_common.settings import CommonSettings, SettingsError
from clara_monitor import create_app, security
from clara_monitor.settings import MonitorSettings
from tests.utils.monitor_app import MakeMonitor
from tests.utils.monitor_databases import monitor_env, sample_database, unreachable_settings
from tests.utils.monitor_process import MonitorProcess, get, rss_kib, running_monitor

pytestmark = pytest.mark.integration

USER, PASSWORD = "ada", "correct horse battery staple"
OPEN = {"/healthz", "/readyz"}
# The API: JSON computed per request, which must not be stored.
API = {"/data", "/training-data", "/min-date", "/healthz", "/readyz"}
CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def with_auth(settings: CommonSettings, **auth: str) -> MonitorSettings:
    return MonitorSettings.from_env({}, MONGODB_URI=settings.MONGODB_URI, MONGODB_DB=settings.MONGODB_DB, **auth)


def fetch(client: FlaskClient, path: str, method: str = "GET", **kwargs):
    """Return the answer to `path`, read and closed (static files are streamed from an open file)."""
    answer = client.open(path, method=method, **kwargs)
    answer.get_data()
    answer.close()
    return answer


def route_paths(app: Flask) -> list[str]:
    """Return one path for each route of `app` (a real file for the static route)."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            paths.add("/static/dashboard.js")
        else:
            assert not rule.arguments, f"{rule.rule} takes arguments: give this test a path for it"
            paths.add(rule.rule)
    return sorted(paths)


@pytest.fixture
def locked(settings: CommonSettings, make_monitor: MakeMonitor) -> Flask:
    """Return a monitor that asks for USER and PASSWORD (the `client` fixture's asks for nothing)."""
    return make_monitor(with_auth(settings, MONITOR_USERNAME=USER, MONITOR_PASSWORD=PASSWORD)).application


# -- authentication ---------------------------------------------------------------------------------


def test_every_route_but_the_probes_asks_for_credentials(locked: Flask) -> None:
    client = locked.test_client()
    paths = route_paths(locked)
    # The dashboard, its files, the API and the original aliases are all in the map.
    assert {"/", "/static/dashboard.js", "/api/metrics", "/data", "/training-data", "/min-date"} <= set(paths)
    for path in [*paths, "/static/style.css", "/static/vendor/chart.umd.min.js", "/no-such-page"]:
        answer = fetch(client, path)
        if path in OPEN:
            assert answer.status_code == 200, path
            continue
        assert answer.status_code == 401, path
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="CLARA Monitor"', path
        assert answer.is_json and answer.get_json()["error"], path


def test_the_right_credentials_open_every_route(locked: Flask) -> None:
    client = locked.test_client()
    for path in route_paths(locked):
        answer = fetch(client, path, headers=basic(USER, PASSWORD), follow_redirects=True)
        assert answer.status_code == 200, (path, answer.get_data(as_text=True)[:300])


@pytest.mark.parametrize(
    "headers",
    [
        basic(USER, "wrong"),
        basic("eve", PASSWORD),
        basic(USER.upper(), PASSWORD),
        basic(USER, PASSWORD + " "),
        basic(USER, PASSWORD[:-1]),
        basic("", ""),
        basic(USER, "pässwörd"),
        {"Authorization": f"Basic {base64.b64encode(USER.encode()).decode()}"},  # no colon, no password
        {"Authorization": "Basic !!not-base64!!"},
        {"Authorization": f"Bearer {PASSWORD}"},
    ],
    ids=[
        "password",
        "username",
        "case",
        "trailing-space",
        "prefix",
        "empty",
        "non-ascii",
        "no-colon",
        "malformed",
        "bearer",
    ],
)
def test_wrong_or_malformed_credentials_are_refused(locked: Flask, headers: dict[str, str]) -> None:
    answer = fetch(locked.test_client(), "/api/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="CLARA Monitor"'
    assert answer.get_json()["error"]


def test_both_username_and_password_are_compared_in_constant_time(
    locked: Flask, compared: list[tuple[bytes, bytes]]
) -> None:
    client = locked.test_client()
    # A wrong username still has its password compared: the time says nothing about which was wrong.
    assert fetch(client, "/", headers=basic("eve", "guess")).status_code == 401
    assert compared == [(b"eve", USER.encode()), (b"guess", PASSWORD.encode())]
    compared.clear()
    assert fetch(client, "/", headers=basic(USER, PASSWORD)).status_code == 200
    assert compared == [(USER.encode(), USER.encode()), (PASSWORD.encode(), PASSWORD.encode())]


def test_the_password_file_is_read_once_when_the_app_is_built(
    settings: CommonSettings, tmp_path: Path, make_monitor: MakeMonitor
) -> None:
    secret = tmp_path / "monitor_password"
    secret.write_text(PASSWORD + "\n")  # as `echo` writes a Docker secret
    client = make_monitor(with_auth(settings, MONITOR_USERNAME=USER, MONITOR_PASSWORD_FILE=str(secret)))
    secret.write_text("changed\n")
    assert fetch(client, "/api/status", headers=basic(USER, PASSWORD)).status_code == 200
    assert fetch(client, "/api/status", headers=basic(USER, "changed")).status_code == 401
    secret.unlink()
    assert fetch(client, "/api/status", headers=basic(USER, PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    ("auth", "named"),
    [
        ({"MONITOR_USERNAME": USER}, "MONITOR_USERNAME"),
        ({"MONITOR_PASSWORD": PASSWORD}, "MONITOR_PASSWORD"),
        ({"MONITOR_PASSWORD_FILE": "/run/secrets/monitor_password"}, "MONITOR_PASSWORD_FILE"),
        (
            {"MONITOR_USERNAME": USER, "MONITOR_PASSWORD": PASSWORD, "MONITOR_PASSWORD_FILE": "/x"},
            "MONITOR_PASSWORD_FILE",
        ),
        ({"MONITOR_USERNAME": USER, "MONITOR_PASSWORD_FILE": "/no/such/file"}, "MONITOR_PASSWORD_FILE=/no/such/file"),
    ],
    ids=["username-only", "password-only", "file-only", "password-and-file", "missing-file"],
)
def test_half_set_credentials_stop_the_app_naming_the_variable(
    settings: CommonSettings, auth: dict, named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        create_app({"TESTING": True, "SETTINGS": with_auth(settings, **auth)})


@pytest.mark.parametrize("content", ["", "\n  \n"], ids=["empty", "blank"])
def test_an_empty_password_file_stops_the_app(settings: CommonSettings, tmp_path: Path, content: str) -> None:
    secret = tmp_path / "monitor_password"
    secret.write_text(content)
    with pytest.raises(SettingsError, match="MONITOR_PASSWORD_FILE=.*empty"):
        create_app(
            {"TESTING": True, "SETTINGS": with_auth(settings, MONITOR_USERNAME=USER, MONITOR_PASSWORD_FILE=str(secret))}
        )


def test_clara_monitor_refuses_to_start_with_an_unreadable_password_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    env = {
        "PATH": "/usr/bin:/bin",
        "MONGODB_URI": "mongodb://127.0.0.1:1",
        "MONITOR_USERNAME": USER,
        "MONITOR_PASSWORD_FILE": str(missing),
        "WHYLOGS_NO_ANALYTICS": "1",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "clara_monitor.cli",
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
            "--workers",
            "1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"MONITOR_PASSWORD_FILE={missing}: cannot read the password from it" in done.stderr
    assert "Booting worker" not in done.stdout + done.stderr  # stopped before gunicorn started


def test_a_running_clara_monitor_asks_for_the_password_of_its_file(settings: CommonSettings, tmp_path: Path) -> None:
    secret = tmp_path / "monitor_password"
    secret.write_text(PASSWORD + "\n")
    env = {
        "MONGODB_URI": settings.MONGODB_URI.get_secret_value(),
        "MONGODB_DB": settings.MONGODB_DB,
        "MONITOR_USERNAME": USER,
        "MONITOR_PASSWORD_FILE": str(secret),
    }
    with running_monitor(env, tmp_path / "monitor.log", workers=1) as server:
        assert get(server.host, server.port, "/")[0] == 401
        assert get(server.host, server.port, "/api/metrics", headers=basic(USER, "nope"))[0] == 401
        assert get(server.host, server.port, "/", headers=basic(USER, PASSWORD))[0] == 200
        assert get(server.host, server.port, "/api/metrics", headers=basic(USER, PASSWORD))[0] == 200
        assert get(server.host, server.port, "/healthz")[0] == 200
        assert get(server.host, server.port, "/readyz")[0] == 200
    assert PASSWORD not in server.log_tail(100_000)


def test_without_credentials_settings_every_route_is_open(client: FlaskClient) -> None:
    for path in route_paths(client.application):
        assert fetch(client, path, follow_redirects=True).status_code == 200, path


# -- security headers ---------------------------------------------------------------------------------


def assert_security_headers(answer, path: str) -> None:
    headers = answer.headers
    policy = {d.split()[0]: d.split()[1:] for d in headers.get("Content-Security-Policy", "").split("; ") if d}
    assert policy == CSP, path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("X-Frame-Options") == "DENY", path
    assert headers.get("Referrer-Policy") in {"no-referrer", "same-origin"}, path
    bare = path.split("?")[0]
    if bare in API or bare.startswith("/api/"):
        assert headers.get("Cache-Control") == "no-store", path


def test_the_policy_allows_nothing_inline_evaluated_or_remote() -> None:
    policy = security.CONTENT_SECURITY_POLICY
    for forbidden in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "http:", "https:", "*", "blob:"):
        assert forbidden not in policy


def test_every_kind_of_answer_carries_the_security_headers(client: FlaskClient) -> None:
    answers = {path: fetch(client, path, follow_redirects=True) for path in route_paths(client.application)}
    answers["/static/style.css"] = fetch(client, "/static/style.css")
    answers["/static/vendor/chart.umd.min.js"] = fetch(client, "/static/vendor/chart.umd.min.js")
    answers["/api/metrics?start_date=yesterday"] = fetch(client, "/api/metrics?start_date=yesterday")  # 400
    answers["/no-such-page"] = fetch(client, "/no-such-page")  # 404
    answers["/api/no-such-route"] = fetch(client, "/api/no-such-route")  # 404 under the API
    answers["POST /api/metrics"] = fetch(client, "/api/metrics", "POST")  # 405
    expected = {
        "/api/metrics?start_date=yesterday": 400,
        "/no-such-page": 404,
        "/api/no-such-route": 404,
        "POST /api/metrics": 405,
    }
    assert {p: a.status_code for p, a in answers.items()} == {p: expected.get(p, 200) for p in answers}
    assert answers["/"].mimetype == "text/html"
    assert answers["/static/dashboard.js"].mimetype == "text/javascript"
    for path, answer in answers.items():
        assert_security_headers(answer, path.removeprefix("POST "))


def test_a_wrong_method_answers_json_with_the_allowed_methods(client: FlaskClient) -> None:
    answer = fetch(client, "/api/metrics", "POST")
    assert answer.status_code == 405
    assert answer.get_json()["error"]
    assert set(answer.headers["Allow"].split(", ")) >= {"GET"}


def test_a_refusal_carries_the_security_headers(locked: Flask) -> None:
    client = locked.test_client()
    for path in ("/", "/static/dashboard.js", "/api/metrics", "/data", "/min-date"):
        answer = fetch(client, path)
        assert answer.status_code == 401
        assert_security_headers(answer, path)


def test_database_errors_and_unexpected_errors_carry_the_security_headers(
    app: Flask, make_monitor: MakeMonitor
) -> None:
    down = unreachable_settings(MONGODB_DB="none")
    client = make_monitor(down)
    for path in ("/api/metrics", "/readyz", "/api/training-data", "/data"):
        answer = fetch(client, path)
        assert answer.status_code == 503, path
        assert_security_headers(answer, path)

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/api/broken", view_func=broken)
    answer = fetch(app.test_client(), "/api/broken")
    assert answer.status_code == 500
    assert answer.get_json() == {"error": "internal error; the server log has the details"}
    assert_security_headers(answer, "/api/broken")


class InlineFinder(HTMLParser):
    """Collect what a policy without 'unsafe-inline' refuses: inline scripts and styles, handlers, remote sources."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in values
        if tag == "style":
            self.refused.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.refused.append(f"style attribute on <{tag}>")
            if name.startswith("on"):
                self.refused.append(f"{name} handler on <{tag}>")
            if (
                name in {"src", "href", "action"}
                and value
                and ("//" in value.split("?")[0] or value.strip().lower().startswith("javascript:"))
            ):
                self.refused.append(f"{name}={value} on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.refused.append(f"inline script: {data.strip()[:80]!r}")


def test_the_page_has_nothing_the_policy_refuses(client: FlaskClient) -> None:
    finder = InlineFinder()
    finder.feed(fetch(client, "/").get_data(as_text=True))
    assert finder.refused == []


# -- bounded by requests -----------------------------------------------------------------------------

WARM_UP, MEASURED = 500, 10_000
RSS_GROWTH_LIMIT_MIB = 20
RANGE_ROUTES = ("/api/metrics", "/api/confusion", "/api/class-metrics/daily", "/api/drift", "/api/alerts", "/data")


def random_request(rng: random.Random, current: date) -> str:
    """Return a request for a random range, most of them never asked before; one in twenty is malformed."""
    route = rng.choice(RANGE_ROUTES)
    start = current - timedelta(days=rng.randrange(0, 1500))
    end = start + timedelta(days=rng.randrange(0, 366))
    average = rng.choice(["macro", "weighted", "micro"])
    if rng.random() < 0.05:
        start, end = rng.choice(
            [
                (end + timedelta(days=1), end),
                (start, start + timedelta(days=400)),
                (f"{start}x", end),
                (start, "2024-02-30"),
            ]
        )
    return f"{route}?start_date={start}&end_date={end}&average={average}&n={rng.random()}"


def send_requests(server: MonitorProcess, paths: list[str], connections: int = 4) -> Counter:
    """Send `paths` over `connections` kept-alive connections; return how many of each status came back."""
    statuses: Counter = Counter()
    lock = threading.Lock()

    def send(share: list[str]) -> None:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
        try:
            for path in share:
                connection.request("GET", path)
                answer = connection.getresponse()
                answer.read()
                with lock:
                    statuses[answer.status] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(paths[i::connections],)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.fixture(scope="module")
def logged(mongo_uri: str, mongo_client: MongoClient) -> Iterator[MonitorSettings]:
    """Return settings for a small database on which the logger has run once (the usual read path)."""
    with sample_database(
        mongo_uri, mongo_client, "test_bounded", days=90, per_day=40, seed=13, logged=True, LOGGER_INTERVAL_MINUTES=600
    ) as settings:
        yield settings


def database_snapshot(mongo_client: MongoClient, settings: MonitorSettings) -> dict:
    """Return every database's name, and each collection of the monitor's database with its documents."""
    database = mongo_client[settings.MONGODB_DB]
    return {
        "databases": sorted(mongo_client.list_database_names()),
        "collections": {
            name: sorted(map(repr, database[name].find())) for name in sorted(database.list_collection_names())
        },
    }


@pytest.mark.slow
def test_random_ranges_write_nothing_and_keep_memory_flat(
    logged: MonitorSettings, mongo_client: MongoClient, tmp_path: Path
) -> None:
    rng = random.Random(18)
    current = today(logged.tz)
    before = database_snapshot(mongo_client, logged)
    with running_monitor(monitor_env(logged), tmp_path / "monitor.log", workers=1) as server:
        (worker,) = server.worker_pids()
        started = time.monotonic()
        warm = send_requests(server, [random_request(rng, current) for _ in range(WARM_UP)])
        after_warm_up = rss_kib(worker)
        figures = [after_warm_up]
        measured: Counter = Counter()
        for _ in range(MEASURED // 2000):
            measured += send_requests(server, [random_request(rng, current) for _ in range(2000)])
            figures.append(rss_kib(worker))
        elapsed = time.monotonic() - started
        assert server.worker_pids() == [worker], "the worker was replaced: its memory was not measured"
    growth_mib = (figures[-1] - after_warm_up) / 1024
    report = (
        f"worker RSS after {WARM_UP} warm-up requests {after_warm_up / 1024:.1f} MiB, then every 2000: "
        f"{', '.join(f'{k / 1024:.1f}' for k in figures[1:])} MiB; growth {growth_mib:+.1f} MiB "
        f"over {sum(measured.values())} requests ({dict(measured)}) in {elapsed:.0f} s"
    )
    print(report)
    assert set(warm) | set(measured) <= {200, 400}, report
    assert sum(measured.values()) == MEASURED and measured[200] > 0.9 * MEASURED, report
    assert growth_mib < RSS_GROWTH_LIMIT_MIB, report
    assert database_snapshot(mongo_client, logged) == before
