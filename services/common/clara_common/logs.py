"""One logging set-up for every service: timestamped lines on stderr, level from LOG_LEVEL."""

from __future__ import annotations

import logging
import os

# Libraries that log routine work at INFO: whylogs alone writes about 78 lines a tick ("Attempting to
# read profile file as delimited"). Their warnings and errors still show.
QUIET_LOGGERS = ("whylogs", "whylabs_client", "urllib3", "requests", "pymongo", "schedule", "filelock")


def configure_logging(level: str | None = None) -> None:
    """Send log records to stderr as `time level logger: message`; third-party libraries at WARNING."""
    logging.basicConfig(
        level=(level or os.environ.get("LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
