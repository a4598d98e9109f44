"""The webhook's outbox: each incident's opening and resolution messages, each delivered once.

An incident (incidents.py) carries one outbox per message: `webhook` for its opening and, once it
resolves, `resolution_webhook`. Each goes from "pending" to "sent" (or stays "off" when no
ALERT_WEBHOOK_URL is set, or for what is never announced), retried with backoff. A message is leased
before it is POSTed, so that a second logger does not send it meanwhile.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from pymongo.collection import Collection
from pymongo.database import Database

from clara_common.days import short_day
from clara_common.db import Document
from clara_common.ledger import ALERTS_COLLECTION
from clara_logger.incidents import OPENING, PENDING, RESOLUTION, SENT
from clara_logger.retry import next_attempt
from clara_logger.settings import LoggerSettings

log = logging.getLogger(__name__)

OUTBOXES = (OPENING, RESOLUTION)
ICONS = {"performance": ":rotating_light:", "traffic": ":warning:", "drift": ":chart_with_downwards_trend:"}
LABELS = {"performance": "performance incident", "traffic": "traffic incident", "drift": "drift notice"}


def alerts(database: Database[Document]) -> Collection[Document]:
    """Return the collection of alerts."""
    return database[ALERTS_COLLECTION]


def message_text(alert: dict[str, Any], outbox: str) -> str:
    """Return the line a message says: the incident opened, or it resolved."""
    kind = str(alert.get("kind"))
    label = LABELS.get(kind, kind)
    if outbox == RESOLUTION:
        day = alert.get("resolved_day")
        when = f" on {short_day(day)}" if isinstance(day, str) else ""
        return f":white_check_mark: CLARA {label} resolved{when}: {alert.get('text')}"
    return f"{ICONS.get(kind, ':warning:')} CLARA {label}: {alert.get('text')}"


def payload(alert: dict[str, Any], outbox: str = OPENING) -> dict[str, Any]:
    """Return the JSON body POSTed for a message: Slack's `text`, the event, plus the incident's fields."""
    fields = {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in alert.items()
        if k not in {"_id", "text", "created_at", "updated_at", *OUTBOXES}
    }
    event = "resolved" if outbox == RESOLUTION else "opened"
    text = message_text(alert, outbox)
    return {**fields, "text": text, "key": alert["_id"], "event": event, "summary": alert.get("text")}


def send_due(
    collection: Collection[Document], settings: LoggerSettings, session: requests.Session | None = None
) -> int:
    """POST every pending message that is due to ALERT_WEBHOOK_URL; return how many were delivered."""
    if not settings.ALERT_WEBHOOK_URL:
        return 0
    url = settings.ALERT_WEBHOOK_URL.get_secret_value()
    http = session or requests.Session()
    return sum(_send_outbox(collection, outbox, url, settings, http) for outbox in OUTBOXES)


def _send_outbox(
    collection: Collection[Document], outbox: str, url: str, settings: LoggerSettings, http: requests.Session
) -> int:
    """POST the due messages of one outbox (openings or resolutions); return how many were delivered."""
    sent = 0
    while (alert := _take_due(collection, outbox, settings.LOGGER_LEASE_SECONDS)) is not None:
        try:
            response = http.post(
                url,
                json=payload(alert, outbox),
                timeout=settings.LOGGER_HTTP_TIMEOUT_SECONDS,
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            attempts = alert[outbox]["attempts"] + 1
            retry_at = next_attempt(
                datetime.now(UTC),
                attempts,
                settings.LOGGER_RETRY_MIN_SECONDS,
                settings.LOGGER_RETRY_MAX_SECONDS,
            )
            collection.update_one(
                {"_id": alert["_id"]},
                {
                    "$set": {
                        f"{outbox}.attempts": attempts,
                        f"{outbox}.next_attempt_at": retry_at,
                        f"{outbox}.last_error": str(exc)[:500],
                    }
                },
            )
            log.warning(
                "alert %s (%s) not delivered (attempt %d, next at %s): %s",
                alert["_id"],
                outbox,
                attempts,
                retry_at.isoformat(timespec="seconds"),
                exc,
            )
            continue
        collection.update_one(
            {"_id": alert["_id"]}, {"$set": {f"{outbox}.state": SENT, f"{outbox}.sent_at": datetime.now(UTC)}}
        )
        sent += 1
    return sent


def _take_due(collection: Collection[Document], outbox: str, lease_seconds: float) -> dict[str, Any] | None:
    # Pushing next_attempt_at forward first means a second logger does not POST the same message meanwhile.
    now = datetime.now(UTC)
    return collection.find_one_and_update(
        {f"{outbox}.state": PENDING, f"{outbox}.next_attempt_at": {"$lte": now}},
        {"$set": {f"{outbox}.next_attempt_at": now + timedelta(seconds=lease_seconds)}},
        sort=[("_id", 1)],
    )
