"""The logger's one line for a database error: an outage only when the database did not answer (issue 18, item 1)."""

from __future__ import annotations

from pymongo.errors import OperationFailure, ServerSelectionTimeoutError, WriteError

from clara_common.settings import CommonSettings
from clara_logger.cli import database_error

SETTINGS = CommonSettings.from_env({}, MONGODB_URI="mongodb://clara:s3cret@db.example:27017")


def test_no_answer_is_an_outage_and_names_the_database_without_its_password():
    timeout = ServerSelectionTimeoutError("db.example:27017: timed out, Topology Description: <...>")
    line = database_error(timeout, SETTINGS)
    assert line.startswith("database unavailable (MONGODB_URI=mongodb://clara:***@db.example:27017)")
    assert "Topology Description" not in line and "s3cret" not in line


def test_an_error_the_database_returns_is_never_called_an_outage():
    refused = WriteError("Resulting document after update is larger than 16777216", 10334, {"code": 10334})
    for error in (refused, OperationFailure("Authentication failed.", 18)):
        line = database_error(error, SETTINGS)
        assert line.startswith("database error (MONGODB_URI=")
        assert "unavailable" not in line
