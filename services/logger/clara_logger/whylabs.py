"""The WhyLabs sink: upload a day's profile through whylogs' WhyLabs writer to WHYLABS_API_ENDPOINT.

WhyLabs the service closed in 2025; the writer's protocol lives on in compatible endpoints, so the
endpoint is configurable and the logger is complete without it (the history store is always on).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Before whylogs is imported: no analytics, and no HEAD request to WhyLabs' S3 bucket on each upload
# to learn how to encode condition-count metrics (we have none; the request would hang offline).
os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "1")
os.environ.setdefault("_WHYLABS_SKIP_CONFIG_READ", "1")

import urllib3  # noqa: E402
from whylabs_client import ApiClient, Configuration  # noqa: E402
from whylogs.api.whylabs.session.whylabs_client_cache import StaticKeyRefresher  # noqa: E402
from whylogs.api.writer import whylabs_client as writer_client  # noqa: E402
from whylogs.api.writer.whylabs import WhyLabsWriter  # noqa: E402

from clara_logger import profiles  # noqa: E402
from clara_logger.settings import LoggerSettings  # noqa: E402


@dataclass(frozen=True)
class UploadResult:
    ok: bool
    detail: str


class WhyLabsSink:
    """Upload profiles to a WhyLabs-compatible endpoint; every failure is returned, never raised."""

    def __init__(self, settings: LoggerSettings) -> None:
        if not settings.whylabs_enabled:
            raise ValueError("WHYLABS_API_KEY, WHYLABS_DEFAULT_ORG_ID and WHYLABS_DEFAULT_DATASET_ID must all be set")
        self.endpoint = settings.WHYLABS_API_ENDPOINT.rstrip("/")
        self.timeout = settings.LOGGER_HTTP_TIMEOUT_SECONDS
        self._org_id = settings.WHYLABS_DEFAULT_ORG_ID
        self._dataset_id = settings.WHYLABS_DEFAULT_DATASET_ID
        assert settings.WHYLABS_API_KEY is not None  # whylabs_enabled says so
        self._api_key = settings.WHYLABS_API_KEY.get_secret_value()
        # Checks the key's shape ("<10-character key id>.<secret>") now rather than at the first upload.
        self._key_refresher = StaticKeyRefresher(self._api_key)
        # The writer retries a failed PUT for up to a minute inside one call; the batch outbox
        # retries across ticks instead, so one attempt (bounded by the timeout) is enough here.
        writer_client.MAX_REQUEST_TIME = self.timeout
        writer_client.MAX_REQUEST_TRIES = 1
        self._api_client = self._make_api_client()

    def _make_api_client(self) -> ApiClient:
        # Our own client so that the endpoint and the key come from LoggerSettings, not from whylogs'
        # session, and so that the upload-slot request has a timeout (the generated client has none).
        config = Configuration(host=self.endpoint)
        config.api_key = {"ApiKeyAuth": self._api_key}
        config.discard_unknown_keys = True
        config.client_side_validation = False
        client = ApiClient(config)
        rest, timeout = client.rest_client, self.timeout
        send = rest.request

        def request_with_timeout(*args, _request_timeout=None, **kwargs):  # type: ignore[no-untyped-def]
            return send(*args, _request_timeout=_request_timeout or timeout, **kwargs)

        rest.request = request_with_timeout
        rest.pool_manager.connection_pool_kw["retries"] = urllib3.Retry(total=0, redirect=0, raise_on_status=False)
        return client

    def upload(self, profile: bytes) -> UploadResult:
        """Upload one profile (whylogs v0 bytes); it carries its own dataset timestamp."""
        view = profiles.deserialize(profile)
        writer = WhyLabsWriter(
            org_id=self._org_id,
            api_key=self._api_key,
            dataset_id=self._dataset_id,
            api_client=self._api_client,
            _timeout_seconds=self.timeout,
        )
        # whylogs 1.6.4 keeps a custom api_client aside but builds its log API from `_api_client`,
        # which stays None (a default client with no host); hand it ours.
        writer._whylabs_client._api_client = self._api_client
        # ... and its key refresher, whose key id the writer logs after a successful upload.
        writer._whylabs_client._key_refresher = self._key_refresher
        try:
            ok, detail = writer.write(file=view)
        except Exception as exc:  # the writer raises whatever its HTTP stack raises: ApiException, urllib3, OSError
            return UploadResult(False, f"{type(exc).__name__}: {exc}")
        return UploadResult(bool(ok), str(detail))
