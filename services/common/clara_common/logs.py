"""One logging set-up for every service: timestamped lines on stderr, level from LOG_LEVEL."""

from __future__ import annotations

import logging
import os


def configure_logging(level: str | None = None) -> None:
    """Send log records to stderr as `time level logger: message`."""
    logging.basicConfig(
        level=(level or os.environ.get("LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
