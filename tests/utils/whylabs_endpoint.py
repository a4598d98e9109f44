"""The part of the WhyLabs API that whylogs' WhyLabs writer uses, served by pytest-httpserver handlers.

The writer first asks for an upload slot, then PUTs the profile bytes there:

    POST /v1/log/async   header X-API-Key, X-WHYLABS-RESOURCE: <dataset id>
                         body {"datasetTimestamp": ms, "segmentTags": [], ...}
                         answer {"id": ..., "modelId": ..., "uploadUrl": ...}
    PUT  <uploadUrl>     body: the profile (whylogs' delimited v0 protobuf when it holds model metrics)

`fail_with` switches how the endpoint misbehaves, to test the logger's retries: "none", "error" (503 on
the POST), "put_error" (503 on the PUT), "timeout" (the POST answers only after `delay` seconds).
"refused" is modelled by stopping the server (`server.stop()`, then `server.start()` on the same port).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass

from pytest_httpserver import HTTPServer
from pytest_httpserver.hooks import Delay
from werkzeug import Request, Response

from clara_common.settings import CommonSettings
from clara_logger.settings import LoggerSettings
from tests.utils.settings import logger_settings

API_KEY = "abcdefghij.test-key-not-a-secret"
SLOT_PATH = "/v1/log/async"
UPLOAD_PATH = re.compile(r"^/upload/(?P<profile_id>[^/]+)$")


@dataclass
class Upload:
    """One profile the endpoint accepted."""

    profile_id: str
    dataset_id: str
    dataset_timestamp: int
    api_key: str
    body: bytes


class WhyLabsEndpoint:
    """Answer the WhyLabs upload protocol on `server` (a threaded one: uploads may run at once)."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.url = server.url_for("/").rstrip("/")
        self._slots: dict[str, dict] = {}
        self._uploads: list[Upload] = []
        self._lock = threading.Lock()
        self.fail_with("none")

    def fail_with(self, failure: str, delay: float = 5.0) -> None:
        """Answer every request from now on as `failure` says; "none" answers as WhyLabs does."""
        if failure not in {"none", "error", "put_error", "timeout"}:
            raise ValueError(f"unknown failure {failure!r}")
        self.server.clear_all_handlers()
        slot = self.server.expect_request(SLOT_PATH, method="POST")
        if failure == "error":
            slot.respond_with_json({"message": "service unavailable"}, status=503)
        else:
            slot.respond_with_handler(self._open_slot)
        if failure == "timeout":
            slot.with_post_hook(Delay(delay))
        upload = self.server.expect_request(UPLOAD_PATH, method="PUT")
        if failure == "put_error":  # the slot stays open: a later PUT to it may still succeed
            upload.respond_with_json({"message": "storage unavailable"}, status=503)
        else:
            upload.respond_with_handler(self._receive)

    @property
    def uploads(self) -> list[Upload]:
        """Return the profiles accepted so far, in the order they arrived."""
        with self._lock:
            return list(self._uploads)

    def _open_slot(self, request: Request) -> Response:
        profile_id = f"profile-{uuid.uuid4().hex[:12]}"
        dataset_id = request.headers.get("X-WHYLABS-RESOURCE", "")
        with self._lock:
            self._slots[profile_id] = {
                "dataset_id": dataset_id,
                "dataset_timestamp": int(json.loads(request.get_data() or b"{}").get("datasetTimestamp", 0)),
                "api_key": request.headers.get("X-API-Key", ""),
            }
        return _json(
            {
                "id": profile_id,
                "modelId": dataset_id,
                "uploadUrl": f"{self.url}/upload/{profile_id}",
                "uploadTimestamp": int(time.time() * 1000),
            }
        )

    def _receive(self, request: Request) -> Response:
        profile_id = UPLOAD_PATH.match(request.path)["profile_id"]
        with self._lock:
            slot = self._slots.pop(profile_id, None)  # an upload URL serves once
            if slot is not None:
                self._uploads.append(Upload(profile_id=profile_id, body=request.get_data(), **slot))
        if slot is None:
            return _json({"message": "unknown or used upload URL"}, status=404)
        return Response(status=200)


def _json(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def whylabs_settings(settings: CommonSettings, endpoint: str) -> LoggerSettings:
    """Return the logger's `settings` uploading to `endpoint`, with short timeouts and retries and small batches."""
    return logger_settings(
        settings,
        WHYLABS_API_KEY=API_KEY,
        WHYLABS_DEFAULT_ORG_ID="org-test",
        WHYLABS_DEFAULT_DATASET_ID="model-7",
        WHYLABS_API_ENDPOINT=endpoint,
        LOGGER_HTTP_TIMEOUT_SECONDS=1.0,
        LOGGER_RETRY_MIN_SECONDS=0.05,
        LOGGER_RETRY_MAX_SECONDS=0.05,
        LOGGER_BATCH_SIZE=10,
        LOGGER_CLAIM_SIZE=20,
    )
