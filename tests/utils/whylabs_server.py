"""A local HTTP server that speaks the part of the WhyLabs API that whylogs' WhyLabs writer uses.

The writer first asks for an upload slot, then PUTs the profile bytes there:

    POST /v1/log/async   header X-API-Key, X-WHYLABS-RESOURCE: <dataset id>
                         body {"datasetTimestamp": ms, "segmentTags": [], ...}
                         answer {"id": ..., "modelId": ..., "uploadUrl": ...}
    PUT  <uploadUrl>     body: the profile (whylogs' delimited v0 protobuf when it holds model metrics)

`failure` switches how the server misbehaves, to test the logger's retries:
"none", "error" (503 on the POST), "put_error" (503 on the PUT), "timeout" (the POST answers only
after `delay` seconds). "refused" is modelled by stopping the server.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.utils.http_server import LoopbackServer


@dataclass
class Upload:
    """One profile the server accepted."""

    profile_id: str
    dataset_id: str
    dataset_timestamp: int
    api_key: str
    body: bytes


@dataclass
class WhyLabsState:
    failure: str = "none"
    delay: float = 5.0
    slots: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: WhyLabsState, base_url: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output quiet
            pass

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: int, payload: dict[str, Any] | None = None) -> None:
            data = json.dumps(payload or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self._body()
            with state.lock:
                state.requests.append(("POST", self.path))
                failure = state.failure
            if self.path != "/v1/log/async":
                self._answer(404, {"message": f"no route {self.path}"})
                return
            if failure == "error":
                self._answer(503, {"message": "service unavailable"})
                return
            if failure == "timeout":
                time.sleep(state.delay)
            request = json.loads(body or b"{}")
            profile_id = f"profile-{uuid.uuid4().hex[:12]}"
            with state.lock:
                state.slots[profile_id] = {
                    "dataset_id": self.headers.get("X-WHYLABS-RESOURCE", ""),
                    "dataset_timestamp": int(request.get("datasetTimestamp", 0)),
                    "api_key": self.headers.get("X-API-Key", ""),
                }
            self._answer(200, {
                "id": profile_id,
                "modelId": self.headers.get("X-WHYLABS-RESOURCE", ""),
                "uploadUrl": f"{base_url}/upload/{profile_id}",
                "uploadTimestamp": int(time.time() * 1000),
            })

        def do_PUT(self) -> None:
            body = self._body()
            with state.lock:
                state.requests.append(("PUT", self.path))
                failure = state.failure
                profile_id = self.path.rsplit("/", 1)[-1]
                slot = state.slots.pop(profile_id, None) if failure != "put_error" else state.slots.get(profile_id)
            if failure == "put_error":
                self._answer(503, {"message": "storage unavailable"})
                return
            if slot is None:
                self._answer(404, {"message": "unknown or used upload URL"})
                return
            with state.lock:
                state.uploads.append(Upload(profile_id=profile_id, body=body, **slot))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


class WhyLabsServer(LoopbackServer):
    """Serve the WhyLabs upload protocol on a loopback port, in a background thread."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self.url = self.base_url
        self.state = WhyLabsState()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self.state, self.url)

    def set_failure(self, failure: str, delay: float = 5.0) -> None:
        with self.state.lock:
            self.state.failure = failure
            self.state.delay = delay

    @property
    def uploads(self) -> list[Upload]:
        with self.state.lock:
            return list(self.state.uploads)
