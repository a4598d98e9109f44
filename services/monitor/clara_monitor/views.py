"""The dashboard page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("views", __name__)


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    """Serve the dashboard; its data comes from the JSON API."""
    return render_template("index.html")
