"""Every error answers JSON with an `error` message: never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, request
from flask.typing import ResponseReturnValue
from pymongo.errors import ConnectionFailure, PyMongoError
from werkzeug.exceptions import HTTPException

from clara_common.ledger.state import LedgerMismatch
from clara_monitor.answers import Error, answer

log = logging.getLogger(__name__)


# The error answers the API declares (openapi.py): status -> its name in the document and when it comes.
ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "a malformed or reversed date, a range too long, an unknown average"),
    401: (
        "Unauthorized",
        "authentication is on (MONITOR_USERNAME, or METRICS_TOKEN for /metrics) and the request's is missing or wrong",
    ),
    404: ("NotFound", "no such route (any path this document does not list)"),
    409: ("LedgerMismatch", "the logger's history was built in another TIMEZONE; the error says how to rebuild it"),
    503: ("Unavailable", "the database does not answer, or refused the query"),
}


class InvalidParameter(ValueError):
    """A request parameter is malformed; the message says which and why."""


def register(app: Flask) -> None:
    """Install the JSON error handlers on `app`."""

    @app.errorhandler(InvalidParameter)
    def bad_request(exc: InvalidParameter) -> ResponseReturnValue:
        return answer(Error(error=str(exc))), 400

    @app.errorhandler(LedgerMismatch)
    def ledger_mismatch(exc: LedgerMismatch) -> ResponseReturnValue:
        return answer(Error(error=str(exc))), 409

    @app.errorhandler(ConnectionFailure)
    def database_down(exc: ConnectionFailure) -> ResponseReturnValue:
        log.warning("database unavailable on %s: %s", request.path, exc)
        return answer(Error(error="the database is unavailable; try again shortly")), 503

    @app.errorhandler(PyMongoError)
    def database_error(exc: PyMongoError) -> ResponseReturnValue:
        log.error("database error on %s: %s", request.path, exc)
        return answer(Error(error=f"the database refused the query: {type(exc).__name__}")), 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        response = answer(Error(error=exc.description or exc.name))
        response.status_code = exc.code or 500
        # The exception's own headers say how to go on: WWW-Authenticate on a 401, Allow on a 405.
        for name, value in exc.get_headers(request.environ):
            if name.lower() != "content-type":
                response.headers.add(name, value)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unexpected error on %s", request.path)
        return answer(Error(error="internal error; the server log has the details")), 500
