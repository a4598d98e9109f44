"""Alerts: a day's accuracy under ALERT_MIN_ACCURACY, or drift; stored once, sent once.

An alert's `_id` is its key (`accuracy:<day>`, `drift:<day>`), so the same alert is never stored
twice, whichever logger raises it. Sending is an outbox on the alert: `webhook.state` goes from
"pending" to "sent" (or stays "off" when no ALERT_WEBHOOK_URL is set), retried with backoff.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from clara_common.db import Document
from clara_common.ledger import ALERTS_COLLECTION
from clara_logger.drift import drifting_features
from clara_logger.retry import next_attempt
from clara_logger.settings import LoggerSettings

log = logging.getLogger(__name__)

PENDING, SENT, OFF = "pending", "sent", "off"


def alerts(database: Database[Document]) -> Collection[Document]:
    """Return the collection of alerts."""
    return database[ALERTS_COLLECTION]


def alerts_for_day(
    record: dict[str, Any], drift: dict[str, dict[str, Any]], min_accuracy: float, min_samples: int
) -> list[dict[str, Any]]:
    """Return the alerts a day's record and drift results call for (without delivery state)."""
    day = record["_id"]
    found: list[dict[str, Any]] = []
    accuracy = record.get("metrics", {}).get("accuracy")
    if record["count"] >= min_samples and accuracy is not None and accuracy < min_accuracy:
        found.append(
            {
                "_id": f"accuracy:{day}",
                "kind": "accuracy",
                "day": day,
                "value": accuracy,
                "threshold": min_accuracy,
                "count": record["count"],
                "text": f":warning: CLARA accuracy on {day} is {accuracy:.1%} "
                f"(below {min_accuracy:.0%}, {record['count']} validated predictions)",
            }
        )
    features = drifting_features(drift)
    if features:
        details = ", ".join(_describe(name, drift[name]) for name in features)
        found.append(
            {
                "_id": f"drift:{day}",
                "kind": "drift",
                "day": day,
                "features": features,
                "results": {name: drift[name] for name in features},
                "count": record["count"],
                "text": f":chart_with_downwards_trend: CLARA drift on {day}: {details}",
            }
        )
    return found


def _describe(name: str, result: dict[str, Any]) -> str:
    if result.get("p_value") is not None:
        return f"{name} ({result['algorithm']} vs {result['reference']}, p={result['p_value']:.2g})"
    return f"{name} ({result['algorithm']} vs {result['reference']}, distance={result['statistic']:.3f})"


def store(collection: Collection[Document], found: list[dict[str, Any]], webhook_on: bool) -> list[str]:
    """Store the alerts not stored yet; return the keys of the new ones."""
    now = datetime.now(UTC)
    new = []
    for alert in found:
        document = {
            **alert,
            "created_at": now,
            "webhook": {"state": PENDING if webhook_on else OFF, "attempts": 0, "next_attempt_at": now},
        }
        try:
            collection.insert_one(document)
        except DuplicateKeyError:
            continue
        new.append(alert["_id"])
    return new


def payload(alert: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON body POSTed for an alert: Slack's `text`, plus the alert's fields."""
    fields = {k: v for k, v in alert.items() if k not in {"_id", "webhook", "created_at"}}
    return {"text": alert["text"], "key": alert["_id"], **fields}


def send_due(
    collection: Collection[Document], settings: LoggerSettings, session: requests.Session | None = None
) -> int:
    """POST every pending alert that is due to ALERT_WEBHOOK_URL; return how many were delivered."""
    if not settings.ALERT_WEBHOOK_URL:
        return 0
    http = session or requests.Session()
    sent = 0
    while (alert := _take_due(collection, settings.LOGGER_LEASE_SECONDS)) is not None:
        try:
            response = http.post(
                settings.ALERT_WEBHOOK_URL.get_secret_value(),
                json=payload(alert),
                timeout=settings.LOGGER_HTTP_TIMEOUT_SECONDS,
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            attempts = alert["webhook"]["attempts"] + 1
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
                        "webhook.attempts": attempts,
                        "webhook.next_attempt_at": retry_at,
                        "webhook.last_error": str(exc)[:500],
                    }
                },
            )
            log.warning(
                "alert %s not delivered (attempt %d, next at %s): %s",
                alert["_id"],
                attempts,
                retry_at.isoformat(timespec="seconds"),
                exc,
            )
            continue
        collection.update_one(
            {"_id": alert["_id"]}, {"$set": {"webhook.state": SENT, "webhook.sent_at": datetime.now(UTC)}}
        )
        sent += 1
    return sent


def _take_due(collection: Collection[Document], lease_seconds: float) -> dict[str, Any] | None:
    # Pushing next_attempt_at forward first means a second logger does not POST the same alert meanwhile.
    now = datetime.now(UTC)
    return collection.find_one_and_update(
        {"webhook.state": PENDING, "webhook.next_attempt_at": {"$lte": now}},
        {"$set": {"webhook.next_attempt_at": now + timedelta(seconds=lease_seconds)}},
        sort=[("_id", 1)],
    )
