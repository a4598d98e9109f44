"""Each service names its MongoDB connection after itself (the server's logs and currentOp show it)."""

from __future__ import annotations

from clara_common.db import make_client
from clara_common.settings import CommonSettings
from clara_monitor import create_app
from clara_monitor.settings import MonitorSettings

# Nothing listens there: a client connects lazily, and these tests only read its options.
URI = "mongodb://127.0.0.1:9"


def application_name(client) -> str:
    return client.options.pool_options.metadata["application"]["name"]


def test_a_client_is_named_after_the_service_that_makes_it() -> None:
    settings = CommonSettings.from_env({}, MONGODB_URI=URI)
    with make_client(settings, appname="clara-seed") as client:
        assert application_name(client) == "clara-seed"
    with make_client(settings) as client:
        assert application_name(client) == "clara"


def test_the_monitors_client_is_named_clara_monitor() -> None:
    app = create_app({"TESTING": True, "SETTINGS": MonitorSettings.from_env({}, MONGODB_URI=URI)})
    client = app.extensions["clara_monitor"].client
    try:
        assert application_name(client) == "clara-monitor"
    finally:
        client.close()
