"""The dashboard page, and the icon that browsers ask for at /favicon.ico."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

bp = Blueprint("views", __name__)


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    """Serve the dashboard; its data comes from the JSON API."""
    return render_template("index.html")


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Redirect to the static icon: the page links it, but a browser looking at the JSON API asks here."""
    return redirect(url_for("static", filename="favicon.svg"), code=302)
