"""Every error answers JSON with an `error` message: never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from pymongo.errors import ConnectionFailure, PyMongoError
from werkzeug.exceptions import HTTPException

from clara_common.ledger.state import LedgerMismatch

log = logging.getLogger(__name__)


class InvalidParameter(ValueError):
    """A request parameter is malformed; the message says which and why."""


def register(app: Flask) -> None:
    """Install the JSON error handlers on `app`."""

    @app.errorhandler(InvalidParameter)
    def bad_request(exc: InvalidParameter) -> ResponseReturnValue:
        return jsonify(error=str(exc)), 400

    @app.errorhandler(LedgerMismatch)
    def ledger_mismatch(exc: LedgerMismatch) -> ResponseReturnValue:
        return jsonify(error=str(exc)), 409

    @app.errorhandler(ConnectionFailure)
    def database_down(exc: ConnectionFailure) -> ResponseReturnValue:
        log.warning("database unavailable on %s: %s", request.path, exc)
        return jsonify(error="the database is unavailable; try again shortly"), 503

    @app.errorhandler(PyMongoError)
    def database_error(exc: PyMongoError) -> ResponseReturnValue:
        log.error("database error on %s: %s", request.path, exc)
        return jsonify(error=f"the database refused the query: {type(exc).__name__}"), 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        response = jsonify(error=exc.description or exc.name)
        response.status_code = exc.code or 500
        # The exception's own headers say how to go on: WWW-Authenticate on a 401, Allow on a 405.
        for name, value in exc.get_headers(request.environ):
            if name.lower() != "content-type":
                response.headers.add(name, value)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unexpected error on %s", request.path)
        return jsonify(error="internal error; the server log has the details"), 500
