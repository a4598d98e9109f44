"""Incidents: episodes with an onset and a resolution, stored once in `logger_alerts`, announced once each way.

The detectors (performance.py, drift.py's notices, traffic.py) are pure: from the ledger they return the
episodes they see, every time in full. `sync_incidents` makes the stored documents of one kind agree with
those episodes (docs/signal.md has the document):

- an episode that overlaps a stored incident of the same kind, metric and class updates it (its `_id` and
  opening day stay), so a recount that moves an onset by a day never announces the incident twice;
- a new episode is stored; it is announced (its opening message queued for the webhook) unless it was
  found while re-judging days already judged: a resolved one found on a first evaluation, or one that an
  alert of an older release already announced;
- a stored open incident that no episode supports any longer (the reviews behind it were corrected) is
  resolved on the last judged day, marked `withdrawn`;
- a resolution queues the resolution message, once, for an incident that was announced.

Sending is an outbox on each message (alerts.send_due): "pending" until delivered, "off" without a webhook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.collection import Collection

from clara_common.db import Document

OPEN, RESOLVED = "open", "resolved"
PENDING, SENT, OFF = "pending", "sent", "off"
# The outbox field of each message an incident sends.
OPENING, RESOLUTION = "webhook", "resolution_webhook"


@dataclass(frozen=True)
class Incident:
    """One episode a detector sees: what moved, from when, and whether it is over."""

    kind: str  # "performance", "drift" or "traffic"
    metric: str
    class_id: int | None  # None: the whole model
    day: str  # the day whose data made the evidence sufficient
    since: str  # the estimated onset
    resolved_day: str | None
    value: float | None
    reference: float | None
    count: int
    text: str
    details: dict[str, Any] = field(default_factory=dict)  # reference_band, confusion, shifts, effect...

    @property
    def status(self) -> str:
        return OPEN if self.resolved_day is None else RESOLVED

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.metric}:{'all' if self.class_id is None else self.class_id}:{self.day}"

    def covers(self, days: Iterable[str]) -> bool:
        """Return whether any of `days` falls from the onset to the resolution."""
        end = self.resolved_day or "9999-12-31"
        return any(self.since <= day <= end for day in days)

    def overlaps_days(self, other: Incident) -> bool:
        """Return whether two episodes share a day."""
        return self.covers([other.since]) or other.covers([self.since])

    def overlaps(self, stored: dict[str, Any]) -> bool:
        """Return whether a stored incident of the same stream covers some of the same days."""
        stream = (stored.get("metric"), stored.get("class_id"), stored.get("rule"))
        if stream != (self.metric, self.class_id, self.details.get("rule")):
            return False
        stored_end = stored.get("resolved_day") or "9999-12-31"
        end = self.resolved_day or "9999-12-31"
        return str(stored.get("since", "")) <= end and self.since <= str(stored_end)


def _fields(incident: Incident, class_name: str | None, now: datetime) -> dict[str, Any]:
    return {
        "kind": incident.kind,
        "metric": incident.metric,
        "class": class_name,
        "class_id": incident.class_id,
        "since": incident.since,
        "status": incident.status,
        "resolved_day": incident.resolved_day,
        "value": incident.value,
        "reference": incident.reference,
        "count": incident.count,
        "text": incident.text,
        **incident.details,
        "updated_at": now,
    }


def _outbox(send: bool, webhook_on: bool, now: datetime) -> dict[str, Any]:
    state = PENDING if send and webhook_on else OFF
    return {"state": state, "attempts": 0, "next_attempt_at": now}


def legacy_days(collection: Collection[Document], legacy_kind: str) -> set[str]:
    """Return the days an older release raised a day alert of `legacy_kind` for (they were announced)."""
    return {
        str(doc["day"])
        for doc in collection.find({"kind": legacy_kind, "status": {"$exists": False}}, {"day": 1})
        if isinstance(doc.get("day"), str)
    }


def sync_incidents(
    collection: Collection[Document],
    kind: str,
    found: Sequence[Incident],
    *,
    class_names: dict[int, str],
    last_day: str,
    first_evaluation: bool,
    already_announced: Callable[[Incident], bool] = lambda incident: False,
    webhook_on: bool,
    now: datetime | None = None,
) -> list[str]:
    """Make the stored incidents of `kind` agree with the episodes `found`; return the texts of new messages.

    `last_day`: the last day judged (a withdrawn incident resolves on it). `first_evaluation`: no incident of
    this kind was judged before (a fresh ledger or an upgrade): only what is still open is announced.
    `already_announced`: whether an older release's day alerts already announced an episode.
    """
    now = now or datetime.now(UTC)
    stored = list(collection.find({"kind": kind, "status": {"$in": [OPEN, RESOLVED]}}))
    matched: set[Any] = set()
    messages: list[str] = []
    for incident in found:
        name = None if incident.class_id is None else class_names.get(incident.class_id, str(incident.class_id))
        fields = _fields(incident, name, now)
        twin = next((s for s in stored if s["_id"] not in matched and incident.overlaps(s)), None)
        if twin is None:
            send = not (first_evaluation and incident.resolved_day is not None) and not already_announced(incident)
            key = _free_key(collection, incident.key)
            document = {"_id": key, "day": incident.day, **fields, "announced": send, "created_at": now}
            document[OPENING] = _outbox(send, webhook_on, now)
            if incident.resolved_day is not None:
                document[RESOLUTION] = _outbox(False, webhook_on, now)  # found resolved: nothing to announce
            collection.insert_one(document)
            if send:
                messages.append(incident.text)
            continue
        matched.add(twin["_id"])
        update: dict[str, Any] = {"$set": fields}
        if incident.resolved_day is not None and twin.get("status") != RESOLVED:
            update["$set"][RESOLUTION] = _outbox(bool(twin.get("announced")), webhook_on, now)
            messages.append(f"resolved: {incident.text}")
        elif incident.resolved_day is None and twin.get("status") == RESOLVED:
            update["$unset"] = {RESOLUTION: ""}  # reopened by corrected reviews: resolves (and says so) again
        collection.update_one({"_id": twin["_id"]}, update)
    for orphan in stored:
        if orphan["_id"] in matched or orphan.get("status") != OPEN:
            continue
        collection.update_one(
            {"_id": orphan["_id"]},
            {
                "$set": {
                    "status": RESOLVED,
                    "resolved_day": last_day,
                    "withdrawn": True,
                    "updated_at": now,
                    RESOLUTION: _outbox(bool(orphan.get("announced")), webhook_on, now),
                }
            },
        )
        messages.append(f"withdrawn: {orphan.get('text')}")
    return messages


def _free_key(collection: Collection[Document], key: str) -> str:
    """Return `key`, or `key#2`, `key#3`... when an earlier episode of the stream opened the same day."""
    taken = {doc["_id"] for doc in collection.find({"_id": {"$gte": key, "$lt": key + "$"}}, {"_id": 1})}
    suffix = 1
    while (candidate := key if suffix == 1 else f"{key}#{suffix}") in taken:
        suffix += 1
    return candidate
