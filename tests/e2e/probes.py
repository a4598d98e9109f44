"""How the end-to-end tests reach the stack: where it is, waiting for it, plain HTTP GETs."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


@dataclass(frozen=True)
class Stack:
    """Where the running stack is, as compose.test.yaml tells the runner."""

    mongodb_uri: str
    # The password of the user mongodb_uri names (the stack's MongoDB requires a login).
    mongodb_password: str | None
    database: str
    collection: str
    monitor_url: str
    classes_file: str
    timezone: str
    wait_seconds: float


def wait_for(what: str, probe: Callable[[], T | None], seconds: float, every: float = 1.0) -> T:
    """Return probe()'s first non-None answer; fail the test if none comes within `seconds`."""
    deadline = time.monotonic() + seconds
    last_error: BaseException | None = None
    while True:
        try:
            answer = probe()
        except Exception as exc:  # noqa: BLE001 - any failure to reach a service means: not yet
            last_error, answer = exc, None
        if answer is not None:
            return answer
        if time.monotonic() >= deadline:
            detail = f" (last error: {type(last_error).__name__}: {last_error})" if last_error else ""
            pytest.fail(f"gave up after {seconds:.0f} s waiting for {what}{detail}")
        time.sleep(every)


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str, bytes]:
    """Return (status, content type, body) of GET url; HTTP errors are answers, not exceptions."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def get_json(url: str) -> tuple[int, Any]:
    status, _, body = http_get(url)
    return status, json.loads(body)
