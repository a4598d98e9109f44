"""CLARA Monitor's web service: the JSON API and the dashboard, built by `create_app` (app.py)."""

from clara_monitor.app import create_app

__all__ = ["create_app"]
