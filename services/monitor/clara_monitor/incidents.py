"""Incidents, drift notices and the verdict over a range: /api/alerts' answer from `logger_alerts`.

The logger writes one document per incident (docs/signal.md): a performance or traffic incident, or a
drift notice, with its onset (`since`), its state and the day it resolved. Releases before incidents
wrote one document per day and kind (`accuracy:<day>`, `drift:<day>`, no `status`): those are shown as
one-day incidents, resolved on their day, `legacy: true`. The collection is written by the logger
alone, but any field may hold any BSON type: a document of neither shape is left out and counted
(`invalid_alerts`), never guessed.

The verdict is a pure function of the range's alerts: degraded while any performance or traffic
incident overlaps the range, naming the most severe; drift alone is a notice, never a verdict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from pymongo.collection import Collection

from clara_common.classes import ClassCatalog
from clara_common.days import short_day
from clara_common.db import Document

KINDS = ("performance", "drift", "traffic")
# The kinds that make the verdict "degraded"; drift is a notice.
DEGRADING_KINDS = ("performance", "traffic")
LEGACY_KINDS = {"accuracy": "performance", "drift": "drift"}
STATUSES = ("open", "resolved")
# The opening webhook's state -> `delivered`: sent, waiting, or no webhook configured.
DELIVERED: dict[str, bool | None] = {"sent": True, "pending": False, "off": None}
TRAFFIC_TEXT = {"predictions": "no predictions arriving", "reviews": "no reviews while predictions arrive"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Malformed(ValueError):
    """A stored alert that has neither the incident's shape nor a legacy alert's."""


def alerts_query(start: date, end: date) -> dict[str, Any]:
    """Return the query for the alerts of a range, and for every document no range can place (to count them).

    An incident overlaps the range when `since <= end` and it is open or resolved on or after `start`;
    a legacy alert when its day is in the range. ISO days compare as strings, and only strings.
    """
    first, last = start.isoformat(), end.isoformat()
    return {
        "$or": [
            {"status": "open", "since": {"$lte": last}},
            {"status": "resolved", "since": {"$lte": last}, "resolved_day": {"$gte": first}},
            {"status": {"$exists": False}, "day": {"$gte": first, "$lte": last}},
            # Unplaceable: counted in every range, as they could be in any.
            {"status": {"$exists": True, "$nin": list(STATUSES)}},
            {"status": {"$exists": True}, "since": {"$not": {"$type": "string"}}},
            {"status": "resolved", "resolved_day": {"$not": {"$type": "string"}}},
            {"status": {"$exists": False}, "day": {"$not": {"$type": "string"}}},
        ]
    }


def read_alerts(collection: Collection[Document], start: date, end: date) -> tuple[list[dict[str, Any]], int]:
    """Return the range's alerts as the API shows them (open first, then the latest day first) and how many
    stored documents were left out for their shape."""
    shown, invalid = [], 0
    for document in collection.find(alerts_query(start, end)):
        try:
            shown.append(legacy_alert(document) if "status" not in document else incident(document))
        except Malformed:
            invalid += 1
    return ordered(shown), invalid


def ordered(alerts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return alerts open first, then by the day opened, latest first (then by id)."""
    latest_first = sorted(alerts, key=lambda a: (a["day"], a["id"]), reverse=True)
    return sorted(latest_first, key=lambda a: a["status"] != "open")


# -- one stored document -> one alert as shown ------------------------------------------------------------


def incident(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return an incident as shown; Malformed when the document has not the incident's shape."""
    kind = _choice(document, "kind", KINDS)
    status = _choice(document, "status", STATUSES)
    day, since = _day(document, "day"), _day(document, "since")
    resolved_day = _day(document, "resolved_day") if status == "resolved" else _optional_day(document, "resolved_day")
    if since > day or (resolved_day is not None and resolved_day < since):
        raise Malformed("days out of order")
    return {
        "id": _text(document, "_id"),
        "kind": kind,
        "metric": _text(document, "metric"),
        "class": _optional_text(document, "class"),
        "day": day,
        "since": since,
        "status": status,
        "resolved_day": resolved_day if status == "resolved" else None,
        "value": _optional_number(document, "value"),
        "reference": _optional_number(document, "reference"),
        "reference_band": _band(document.get("reference_band")),
        "count": _optional_count(document, "count"),
        "confusion": _confusion(document.get("confusion")) if kind == "performance" else None,
        "shifts": _shifts(document.get("shifts")) if kind == "drift" else None,
        "text": _optional_text(document, "text"),
        "delivered": _delivered(document.get("webhook")),
        "created_at": _instant(document.get("created_at")),
        "legacy": False,
        "withdrawn": document.get("withdrawn") is True,
    }


def legacy_alert(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return a day alert of a release before incidents as a one-day resolved incident; Malformed if it is not one.

    An accuracy alert is the whole model's accuracy against its threshold; a drift alert names its
    first drifting feature.
    """
    kind = LEGACY_KINDS[_choice(document, "kind", tuple(LEGACY_KINDS))]
    day = _day(document, "day")
    return {
        "id": _text(document, "_id"),
        "kind": kind,
        "metric": "accuracy" if kind == "performance" else _first_feature(document.get("features")),
        "class": None,
        "day": day,
        "since": day,
        "status": "resolved",
        "resolved_day": day,
        "value": _optional_number(document, "value") if kind == "performance" else None,
        "reference": _optional_number(document, "threshold") if kind == "performance" else None,
        "reference_band": None,
        "count": _optional_count(document, "count"),
        "confusion": None,
        "shifts": None,
        "text": _optional_text(document, "text"),
        "delivered": _delivered(document.get("webhook")),
        "created_at": _instant(document.get("created_at")),
        "legacy": True,
        "withdrawn": False,
    }


def _first_feature(features: Any) -> str:
    if not isinstance(features, list) or not features or not isinstance(features[0], str):
        raise Malformed("features")
    return features[0]


def _choice(document: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = document.get(name)
    if not isinstance(value, str) or value not in allowed:
        raise Malformed(name)
    return value


def _text(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str):
        raise Malformed(name)
    return value


def _optional_text(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is not None and not isinstance(value, str):
        raise Malformed(name)
    return value


def _day(document: Mapping[str, Any], name: str) -> str:
    day = _optional_day(document, name)
    if day is None:
        raise Malformed(name)
    return day


def _optional_day(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise Malformed(name)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise Malformed(name) from None
    return value


def _number(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Malformed("a number")
    return value


def _optional_number(document: Mapping[str, Any], name: str) -> float | int | None:
    value = document.get(name)
    return None if value is None else _number(value)


def _optional_count(document: Mapping[str, Any], name: str) -> int | None:
    value = document.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Malformed(name)
    return value


def _band(value: Any) -> list[float | int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise Malformed("reference_band")
    low, high = _number(value[0]), _number(value[1])
    if low > high:
        raise Malformed("reference_band")
    return [low, high]


def _confusion(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise Malformed("confusion")
    return {
        "class": _text(value, "class"),
        "count": _optional_count(value, "count"),
        "text": _optional_text(value, "text"),
    }


def _shifts(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(shift, Mapping) for shift in value):
        raise Malformed("shifts")
    return [
        {
            "class": _text(shift, "class"),
            "reference": _number(shift.get("reference")),
            "current": _number(shift.get("current")),
        }
        for shift in value
    ]


def _delivered(webhook: Any) -> bool | None:
    state = webhook.get("state") if isinstance(webhook, Mapping) else None
    return DELIVERED.get(state) if isinstance(state, str) else None


def _instant(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


# -- the verdict ---------------------------------------------------------------------------------------------


def relative_drop(alert: Mapping[str, Any]) -> float:
    """Return (reference - value) / reference; -inf when either is unknown or the reference is 0."""
    value, reference = alert["value"], alert["reference"]
    if value is None or not reference:
        return -math.inf
    return float((reference - value) / reference)


def severity_order(alert: Mapping[str, Any]) -> tuple[int, float, str, str]:
    """Sort key, most severe first: open before resolved, then the largest relative drop, the earliest onset."""
    return (0 if alert["status"] == "open" else 1, -relative_drop(alert), alert["since"], alert["id"])


def headline(alert: Mapping[str, Any]) -> str:
    """Return what an incident is about, e.g. "green recall 87% → 48% (mostly predicted as green_point)"."""
    if alert["kind"] == "traffic":
        return TRAFFIC_TEXT.get(alert["metric"], f"{alert['metric']} stopped")
    subject = alert["metric"] if alert["class"] is None else f"{alert['class']} {alert['metric']}"
    if alert["value"] is not None and alert["reference"] is not None:
        subject += f" {alert['reference']:.0%} → {alert['value']:.0%}"
    if alert["confusion"] is not None:
        subject += f" ({confusion_phrase(alert['confusion'])})"
    return subject


def confusion_phrase(confusion: Mapping[str, Any]) -> str:
    """Return the confusion behind an incident without its count: its text (the logger's words for a class's
    recall, the model's accuracy or a class's precision differ) less the trailing ", <count>"."""
    text: str | None = confusion["text"]
    count: int | None = confusion["count"]
    if text is None:
        return f"mostly predicted as {confusion['class']}"
    return text.removesuffix(f", {count}") if count is not None else text


def verdict(alerts: Iterable[Mapping[str, Any]], end: str | None = None) -> dict[str, Any]:
    """Return the verdict over a range's alerts: degraded while a performance or traffic incident is still on.

    An incident is still on at the range's `end` when it is open, or resolved after that day. Its text
    names the most severe such incident (severity_order) from its onset, and how many more overlap the
    range. Incidents that all resolved within the range leave it healthy, and say
    so. A withdrawn incident (the reviews behind it were corrected) and drift notices never degrade it.
    """
    alerts = list(alerts)
    degrading = sorted(
        (a for a in alerts if a["kind"] in DEGRADING_KINDS and not a.get("withdrawn")), key=severity_order
    )
    notices = [a["id"] for a in alerts if a["kind"] == "drift"]
    ids = [a["id"] for a in degrading]
    on = [a for a in degrading if a["status"] == "open" or (end is not None and str(a["resolved_day"]) > end)]
    if not on:
        text = "Healthy"
        if degrading:
            last = max(str(a["resolved_day"]) for a in degrading)
            count = f"{len(degrading)} incident{'s' if len(degrading) > 1 else ''}"
            text += f" ({count} in this range, resolved by {short_day(last)})"
        return {"state": "healthy", "since": None, "text": text, "incidents": ids, "notices": notices}
    since = on[0]["since"]
    text = f"Degraded since {short_day(since)}: {headline(on[0])}"
    if len(degrading) > 1:
        text += f" and {len(degrading) - 1} more"
    return {"state": "degraded", "since": since, "text": text, "incidents": ids, "notices": notices}


# -- the reference levels ------------------------------------------------------------------------------------


def reference_levels(ledger: Mapping[str, Any] | None, classes: ClassCatalog) -> dict[str, Any] | None:
    """Return the reference levels the logger judged with (the state document's `signal.reference`).

    Classes keyed by name, in the catalogue's order (a key that is a class id is translated; one that
    names no class of the catalogue is left out). None when the logger has not written them, or when
    what is stored has not their shape.
    """
    signal = (ledger or {}).get("signal")
    stored = signal.get("reference") if isinstance(signal, Mapping) else None
    if not isinstance(stored, Mapping) or not isinstance(stored.get("classes", {}), Mapping):
        return None
    by_name = {str(c.id): c.name for c in classes.classes} | {c.name: c.name for c in classes.classes}
    found: dict[str, Any] = {}
    try:
        for key, metrics in (stored.get("classes") or {}).items():
            if key in by_name:
                if not isinstance(metrics, Mapping):
                    raise Malformed("classes")
                found[by_name[key]] = {name: _level(metrics.get(name)) for name in ("recall", "precision")}
        return {
            "accuracy": _level(stored.get("accuracy")),
            "classes": {name: found[name] for name in classes.names if name in found},
        }
    except Malformed:
        return None


def _level(value: Any) -> dict[str, Any] | None:
    """Return a reference level {value, low, high, count}; None when absent."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise Malformed("a level")
    return {
        "value": _number(value.get("value")),
        "low": _optional_number(value, "low"),
        "high": _optional_number(value, "high"),
        "count": _optional_count(value, "count"),
    }
