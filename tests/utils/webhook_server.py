"""A local HTTP server that receives alert webhooks (Slack-style JSON POSTs) and records them.

`fail_next` makes the next N requests answer 500, to test the logger's retries.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.utils.http_server import LoopbackServer


class WebhookServer(LoopbackServer):
    """Record every JSON body POSTed to http://127.0.0.1:<port>/hook."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"{self.base_url}/hook"
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self.attempts = 0
        self._lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.attempts += 1
                    failing = server.fail_next > 0
                    if failing:
                        server.fail_next -= 1
                    else:
                        server.received.append(json.loads(body))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler
