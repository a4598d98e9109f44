"""Traffic: the logger's summary of it (clara_common/traffic.py), and traffic incidents from silences.

The detector is pure and works on plain hourly counts (24 a local day, from a first day on):

- each hour-of-week's normal rate is learned from the LEARNING_WEEKS weeks before the silence began
  (the mean count of that weekday's hour, over the history there is), so nights and weekends are learned,
  not a constant; it judges nothing before MIN_HISTORY_HOURS of history;
- a silence since the last event (a prediction, or a review) is implausible when the number of events
  the learned rates expect over it, λ, exceeds ln(1/α): under normal (Poisson) traffic the chance of no
  event at all is e^-λ < α. A silence shorter than MIN_SILENCE_HOURS is never judged: the rates are
  hourly, and bursts and restarts are not outages;
- a `predictions` incident opens at that moment and resolves when a prediction arrives; a `reviews`
  incident does the same over reviews, while predictions go on (no `predictions` incident is open, and a
  prediction arrived after the last review): reviews that stop with the predictions are explained.

Under a correct model each event starts one chance of a false incident of probability α, so a deployment
expects α x (events per 90 days) false incidents per 90 days: with DEFAULT_ALPHA = 1e-6 that is at most
1 per 90 days up to 1,000,000 events per 90 days (11,000 a day), and 0.03 for 300 a day. λ reaches
ln(1/α) = 13.8 quickly wherever traffic is normally dense (about 70 minutes at 12 predictions an hour),
slowly at night and at weekends.

`silence_episodes` follows a whole sequence of hourly counts (bench/alerts.py); `live_incidents` is the
check each tick runs, with the exact time of the last event (a `find` sorted on its time's index) and
the summary's hourly counts, so a running logger opens the incident at its first tick after λ crosses.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from time import monotonic
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from clara_common import traffic as summary
from clara_common.contract import Rejection, parse_prediction
from clara_common.days import as_utc, days_between, local_day
from clara_common.db import Document
from clara_common.ledger import (
    ALERTS_COLLECTION,
    CORRECTION_LOOKBACK,
    STATE_COLLECTION,
    STATE_ID,
    STRING_CEILING,
    TRAFFIC_COLLECTION,
)
from clara_logger.incidents import OPEN, RESOLVED, Incident, sync_incidents
from clara_logger.unreviewed import MAX_INCREMENTAL_DAYS, Refresh, changed_days, runs, store

if TYPE_CHECKING:
    from clara_logger.settings import LoggerSettings as Settings

log = logging.getLogger(__name__)

KIND = "traffic"
PREDICTIONS, REVIEWS = "predictions", "reviews"
HOURS = summary.HOURS
WEEK_HOURS = 7 * HOURS
LEARNING_WEEKS = 4
MIN_HISTORY_HOURS = 7 * HOURS
MIN_SILENCE_HOURS = 1.0
DEFAULT_ALPHA = 1e-6

# -- the detector (pure) ----------------------------------------------------------------------------------
#
# A position is a time in hours since the first day's local midnight: hour i of the counts is [i, i + 1).


def threshold(alpha: float) -> float:
    """Return ln(1/α): the expected count above which a silence has probability below α."""
    return math.log(1.0 / alpha)


def week_offset(first_day: date) -> int:
    """Return the hour-of-week (Monday 00:00 is 0) of the counts' first hour."""
    return first_day.weekday() * HOURS


def learned_rates(counts: Sequence[int], first_day: date, history_start: int, end: int) -> list[float] | None:
    """Return each hour-of-week's mean count over the LEARNING_WEEKS weeks before hour `end`.

    Only hours from `history_start` (the first hour of the history; it may precede the counts) and within the
    counts are learned from. None when fewer than MIN_HISTORY_HOURS of history precede `end`.
    """
    if end - history_start < MIN_HISTORY_HOURS:
        return None
    totals, hours = [0] * WEEK_HOURS, [0] * WEEK_HOURS
    offset = week_offset(first_day)
    for hour in range(max(0, history_start, end - LEARNING_WEEKS * WEEK_HOURS), min(end, len(counts))):
        slot = (offset + hour) % WEEK_HOURS
        totals[slot] += counts[hour]
        hours[slot] += 1
    return [total / n if n else 0.0 for total, n in zip(totals, hours)]


def hour_spans(start: float, stop: float) -> Iterator[tuple[int, float]]:
    """Yield (hour, hours of it) covering positions `start` to `stop`."""
    hour = math.floor(start)
    while hour < stop:
        yield hour, min(stop, hour + 1) - max(start, hour)
        hour += 1


def expected_count(rates: Sequence[float], first_day: date, start: float, stop: float) -> float:
    """Return λ: the count the rates expect between positions `start` and `stop`."""
    offset = week_offset(first_day)
    return sum(rates[(offset + hour) % WEEK_HOURS] * span for hour, span in hour_spans(start, stop))


def crossing(rates: Sequence[float], first_day: date, start: float, limit: float, alpha: float) -> float | None:
    """Return the position at which a silence begun at `start` becomes implausible, or None if not before `limit`.

    That is where λ since `start` exceeds ln(1/α), and no sooner than MIN_SILENCE_HOURS after it.
    """
    offset, total, wanted = week_offset(first_day), 0.0, threshold(alpha)
    for hour, span in hour_spans(start, limit):
        rate = rates[(offset + hour) % WEEK_HOURS]
        if rate > 0 and total + rate * span > wanted:
            at = max(hour, start) + (wanted - total) / rate
            at = max(at, start + MIN_SILENCE_HOURS)
            return at if at < limit else None
        total += rate * span
    return None


@dataclass(frozen=True)
class Episode:
    """A silence judged implausible, at hourly resolution: from `start` (a position), opened in hour `opened`."""

    metric: str
    start: float  # where the silence began: the end of the last hour with an event
    opened: int  # the hour whose end made it implausible
    resolved: int | None  # the first hour with an event again; None: still silent at the counts' end
    expected: float  # λ over the silence (to its resolution, or the counts' end)


def silences(
    counts: Sequence[int],
    first_day: date,
    alpha: float,
    metric: str,
    allowed: Callable[[int, float], bool] = lambda hour, start: True,
    history_start: int | None = None,
) -> list[Episode]:
    """Return the implausible silences of one hourly series, in order, as an observer hour by hour sees them.

    `allowed(hour, start)` says whether an episode may open at the end of `hour` for a silence begun at
    `start` (the reviews' condition that predictions go on). The history starts at `history_start`, by
    default the first hour with an event.
    """
    events = [hour for hour, count in enumerate(counts) if count > 0]
    if not events:
        return []
    start_of_history = events[0] if history_start is None else history_start
    episodes = []
    for last, following in zip(events, [*events[1:], len(counts)]):
        start = float(last + 1)
        if following - start < MIN_SILENCE_HOURS:
            continue
        rates = learned_rates(counts, first_day, start_of_history, last + 1)
        if rates is None or (at := crossing(rates, first_day, start, following, alpha)) is None:
            continue
        opened = next((h for h in range(math.ceil(at) - 1, following) if allowed(h, start)), None)
        if opened is None:
            continue
        resolved = following if following < len(counts) else None
        episodes.append(Episode(metric, start, opened, resolved, expected_count(rates, first_day, start, following)))
    return episodes


def day_of(first_day: date, hour: int) -> str:
    """Return the local day (ISO) of hour `hour` of the counts."""
    return (first_day + timedelta(days=hour // HOURS)).isoformat()


def clock(first_day: date, position: float) -> str:
    """Return a position as local "YYYY-MM-DD HH:MM"."""
    moment = datetime.combine(first_day, time.min) + timedelta(hours=position)
    return moment.strftime("%Y-%m-%d %H:%M")


def describe(metric: str, last: str, hours: float, expected: float) -> str:
    """Return the incident's line for people."""
    what = "prediction" if metric == PREDICTIONS else "review"
    tail = " while predictions go on" if metric == REVIEWS else ""
    return f"no {what} for {hours:.1f} h since {last}{tail} ({expected:.0f} expected at the usual rate)"


def incident(
    metric: str, day: str, since: str, resolved_day: str | None, last: str, hours: float, expected: float, alpha: float
) -> Incident:
    """Return a traffic incident: `value` the events seen over the silence (none), `reference` those expected."""
    return Incident(
        kind=KIND,
        metric=metric,
        class_id=None,
        day=day,
        since=since,
        resolved_day=resolved_day,
        value=0.0,
        reference=expected,
        count=0,
        text=describe(metric, last, hours, expected),
        details={"last_event": last, "silent_hours": hours, "alpha": alpha},
    )


def silence_episodes(
    first_day: date, predictions: Sequence[int], reviews: Sequence[int], alpha: float = DEFAULT_ALPHA
) -> list[Incident]:
    """Return the traffic incidents of hourly counts (24 a local day from `first_day` on), oldest first.

    A silence begins at the end of the last hour with an event; `since` is its day (the first silent hour's),
    `day` the day of the hour whose end made it implausible, `resolved_day` the day of the next event.
    """
    found = silences(predictions, first_day, alpha, PREDICTIONS)
    predictions_open = [False] * len(predictions)
    for episode in found:
        for hour in range(episode.opened, len(predictions) if episode.resolved is None else episode.resolved):
            predictions_open[hour] = True
    last_prediction: list[float] = []
    latest = -math.inf
    for hour, count in enumerate(predictions):
        latest = hour + 1.0 if count > 0 else latest
        last_prediction.append(latest)
    first_prediction = next((hour for hour, count in enumerate(predictions) if count > 0), len(predictions))

    def predictions_go_on(hour: int, start: float) -> bool:
        return not predictions_open[hour] and last_prediction[hour] > start

    found += silences(reviews, first_day, alpha, REVIEWS, predictions_go_on, history_start=first_prediction)
    incidents = []
    for episode in sorted(found, key=lambda e: (e.opened, e.metric)):
        last = math.floor(episode.start) - 1
        stop = len(predictions) if episode.resolved is None else episode.resolved
        incidents.append(
            incident(
                episode.metric,
                day_of(first_day, episode.opened),
                day_of(first_day, math.floor(episode.start)),
                None if episode.resolved is None else day_of(first_day, episode.resolved),
                clock(first_day, last + 1),
                stop - episode.start,
                episode.expected,
                alpha,
            )
        )
    return incidents


# -- the live check ---------------------------------------------------------------------------------------

# How many of the newest documents are read for the last event that honours the contract.
LATEST_SCAN = 200


def position(instant: datetime, first_day: date, tz: tzinfo) -> float:
    """Return `instant` as a position: local hours since `first_day`'s midnight (wall-clock time)."""
    local = as_utc(instant).astimezone(tz).replace(tzinfo=None)
    return (local - datetime.combine(first_day, time.min)).total_seconds() / 3600.0


def event_time(doc: Mapping[str, Any], field: str, settings: Settings) -> datetime | None:
    """Return a document's prediction time (`timestamp`) or review time, when it honours the contract."""
    parsed = parse_prediction(doc, settings.classes, settings.tz)
    if isinstance(parsed, Rejection):
        return None
    return parsed.timestamp if field == "timestamp" else parsed.timestamp_validated


def latest_event(predictions: Collection[Document], field: str, settings: Settings, now: datetime) -> datetime | None:
    """Return the latest prediction (`timestamp`) or review (`timestamp_validated`) time up to now plus the skew.

    Read newest first through the field's index: BSON dates, then ISO strings (their text order is their
    time's, give or take an offset, so the newest LATEST_SCAN of them are read and the latest kept).
    """
    due = now + timedelta(minutes=settings.MAX_CLOCK_SKEW_MINUTES)
    ceiling = (due + timedelta(days=2)).date().isoformat()
    found = []
    for query in ({field: {"$lte": due}}, {field: {"$gte": "", "$lt": ceiling}}):
        cursor = predictions.find(query, summary.PROJECTION, sort=[(field, DESCENDING)], limit=LATEST_SCAN)
        times = [t for doc in cursor if (t := event_time(doc, field, settings)) is not None and t <= due]
        if times:
            found.append(max(times))
    return max(found, default=None)


def first_event_after(
    predictions: Collection[Document], field: str, after: datetime, settings: Settings
) -> datetime | None:
    """Return the first prediction or review time after `after` (the end of a silence), read oldest first."""
    found = []
    for query in (
        {field: {"$gt": after}},
        {field: {"$gte": (after - timedelta(days=1)).date().isoformat(), "$lt": STRING_CEILING}},
    ):
        cursor = predictions.find(query, summary.PROJECTION, sort=[(field, ASCENDING)], limit=LATEST_SCAN)
        times = [t for doc in cursor if (t := event_time(doc, field, settings)) is not None and t > after]
        if times:
            found.append(min(times))
    return min(found, default=None)


@dataclass(frozen=True)
class Silence:
    """The silence since the last event, as the live check judges it."""

    metric: str
    last_event_at: datetime
    hours: float
    expected: float  # λ since the last event
    abnormal_at: datetime | None  # when it became implausible; None: it is not


def hourly_counts(days: Mapping[str, Mapping[str, Any]], first_day: date, last_day: date, name: str) -> list[int]:
    """Return a summary field's hourly counts (`predictions_by_hour` or `reviews_by_hour`) of the days given."""
    counts: list[int] = []
    for day in days_between(first_day, last_day):
        hours = (days.get(day.isoformat()) or {}).get(name)
        counts += list(hours) if isinstance(hours, list) and len(hours) == HOURS else [0] * HOURS
    return counts


def judge_silence(
    metric: str,
    last_event_at: datetime,
    now: datetime,
    days: Mapping[str, Mapping[str, Any]],
    history_day: date,
    settings: Settings,
) -> Silence:
    """Judge the silence from `last_event_at` to `now` with the rates the summary's `days` teach.

    `days` must hold the LEARNING_WEEKS weeks before the last event's day; `history_day`: the first day with
    predictions (the history starts there).
    """
    tz, alpha = settings.tz, settings.TRAFFIC_ALPHA
    last_day = local_day(last_event_at, tz)
    first_day = last_day - timedelta(days=LEARNING_WEEKS * 7 + 1)
    name = "predictions_by_hour" if metric == PREDICTIONS else "reviews_by_hour"
    counts = hourly_counts(days, first_day, last_day, name)
    start, stop = position(last_event_at, first_day, tz), position(now, first_day, tz)
    history_start = (history_day - first_day).days * HOURS
    rates = learned_rates(counts, first_day, history_start, math.floor(start) + 1)
    hours = (now - last_event_at).total_seconds() / 3600.0
    if rates is None:
        return Silence(metric, last_event_at, hours, 0.0, None)
    at = crossing(rates, first_day, start, stop, alpha)
    abnormal_at = None if at is None else last_event_at + timedelta(hours=at - start)
    return Silence(metric, last_event_at, hours, expected_count(rates, first_day, start, stop), abnormal_at)


def stored_incident(doc: Mapping[str, Any]) -> Incident:
    """Return a stored traffic incident as the episode it was."""
    return Incident(
        kind=KIND,
        metric=doc["metric"],
        class_id=None,
        day=doc["day"],
        since=doc["since"],
        resolved_day=doc.get("resolved_day"),
        value=doc.get("value"),
        reference=doc.get("reference"),
        count=doc.get("count", 0),
        text=doc.get("text", ""),
        details={name: doc.get(name) for name in ("last_event", "last_event_at", "silent_hours", "alpha")},
    )


def live_incident(silence: Silence, day: str, resolved_day: str | None, settings: Settings) -> Incident:
    """Return the traffic incident of a silence judged live."""
    tz = settings.tz
    last = as_utc(silence.last_event_at).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    found = incident(
        silence.metric,
        day,
        local_day(silence.last_event_at, tz).isoformat(),
        resolved_day,
        last,
        silence.hours,
        silence.expected,
        settings.TRAFFIC_ALPHA,
    )
    found.details["last_event_at"] = silence.last_event_at
    return found


def same_time(a: object, b: datetime) -> bool:
    """Return whether a stored time is `b` (BSON dates keep milliseconds)."""
    return isinstance(a, datetime) and abs(as_utc(a) - as_utc(b)) < timedelta(milliseconds=1)


def resolved(doc: Mapping[str, Any], resumed_at: datetime | None, now: datetime, settings: Settings) -> Incident:
    """Return a stored open incident resolved by the event at `resumed_at` (None: not found, resolved now)."""
    episode = stored_incident(doc)
    last_at = doc.get("last_event_at")
    end = resumed_at or now
    hours = (
        (end - last_at).total_seconds() / 3600.0 if isinstance(last_at, datetime) else episode.details["silent_hours"]
    )
    reopened = incident(
        episode.metric,
        episode.day,
        episode.since,
        local_day(end, settings.tz).isoformat(),
        str(episode.details.get("last_event")),
        float(hours or 0.0),
        float(episode.reference or 0.0),
        float(episode.details.get("alpha") or settings.TRAFFIC_ALPHA),
    )
    reopened.details["last_event_at"] = last_at
    return reopened


def live_incidents(
    predictions: Collection[Document], database: Database[Document], settings: Settings, now: datetime
) -> list[Incident]:
    """Return the traffic incidents to store now: the stored open ones (resolved if traffic returned), and new ones.

    Resolved incidents that a new one could be taken for (resolved on the day its silence began) come first,
    unchanged, so that sync_incidents never reopens them.
    """
    tz = settings.tz
    history = database[TRAFFIC_COLLECTION].find_one({"predictions": {"$gt": 0}}, {"_id": 1}, sort=[("_id", 1)])
    stored = list(database[ALERTS_COLLECTION].find({"kind": KIND, "status": {"$in": [OPEN, RESOLVED]}}))
    last_events: dict[str, datetime | None] = {}
    silences: dict[str, Silence | None] = {}
    for metric, field in FIELDS.items():
        last_at = last_events[metric] = latest_event(predictions, field, settings, now)
        silences[metric] = None
        if history is not None and last_at is not None:
            day = local_day(last_at, tz)
            days = summary.summary_days(database, day - timedelta(days=LEARNING_WEEKS * 7 + 1), day)
            silences[metric] = judge_silence(metric, last_at, now, days, date.fromisoformat(history["_id"]), settings)
    found: list[Incident] = []
    for metric, field in FIELDS.items():
        silence = silences[metric]
        abnormal = silence is not None and silence.abnormal_at is not None
        open_doc = next((doc for doc in stored if doc.get("metric") == metric and doc.get("status") == OPEN), None)
        if open_doc is not None:
            if silence is not None and same_time(open_doc.get("last_event_at"), silence.last_event_at):
                if abnormal:  # still silent; otherwise no longer implausible (a setting changed): withdrawn
                    found.append(live_incident(silence, open_doc["day"], None, settings))
                continue
            last_at = open_doc.get("last_event_at")
            resumed = (
                first_event_after(predictions, field, last_at, settings) if isinstance(last_at, datetime) else None
            )
            found.append(resolved(open_doc, resumed, now, settings))
        if silence is None or silence.abnormal_at is None:
            continue
        if metric == REVIEWS and not predictions_go_on(silences[PREDICTIONS], last_events[PREDICTIONS], silence):
            continue
        since = local_day(silence.last_event_at, tz).isoformat()
        found += [
            stored_incident(doc)
            for doc in stored
            if doc.get("metric") == metric and doc.get("status") == RESOLVED and doc.get("resolved_day") == since
        ]
        found.append(live_incident(silence, local_day(silence.abnormal_at, tz).isoformat(), None, settings))
    return found


def predictions_go_on(predictions: Silence | None, last_prediction_at: datetime | None, reviews: Silence) -> bool:
    """Return whether predictions go on while reviews are silent: not silent, and newer than the last review."""
    quiet = predictions is not None and predictions.abnormal_at is not None
    return not quiet and last_prediction_at is not None and last_prediction_at > reviews.last_event_at


FIELDS = {PREDICTIONS: "timestamp", REVIEWS: "timestamp_validated"}


# -- the summary ------------------------------------------------------------------------------------------
#
# Each tick recounts, whole and from the source, only the days that can have changed since the previous
# refresh (less CORRECTION_LOOKBACK), as clara_logger/unreviewed.py does: the local days from the previous
# refresh to now (new predictions and new reviews land on today), the prediction days of the documents
# validated since then, and the days of a reconcile recorded since then (the daily one, or `--reconcile`).


def summaries(database: Database[Document]) -> Collection[Document]:
    """Return the traffic summary's collection (its documents are keyed by day)."""
    return database[TRAFFIC_COLLECTION]


def recount_days(
    predictions: Collection[Document],
    collection: Collection[Document],
    days: Iterable[date],
    settings: Settings,
    as_of: datetime,
) -> int:
    """Recount the given local days from the predictions and store each (zero when none is left); return how many."""
    wanted = set(days)
    for first, last in runs(wanted):
        found = summary.count_days(predictions, first, last, settings.classes, settings.tz)
        for day in days_between(first, last):
            name = day.isoformat()
            store(collection, (found.get(name) or summary.DayTraffic()).document(name, as_of))
    return len(wanted)


def recount_all(
    predictions: Collection[Document], collection: Collection[Document], settings: Settings, as_of: datetime
) -> int:
    """Recount every day from every prediction; days no longer found drop to zero."""
    found = summary.summarise(
        predictions.find({}, summary.PROJECTION),
        predictions.find({}, summary.PROJECTION),
        settings.classes,
        settings.tz,
    )
    for name, traffic in found.items():
        store(collection, traffic.document(name, as_of))
    stale = [doc["_id"] for doc in collection.find({}, {"_id": 1}) if doc["_id"] not in found]
    for name in stale:
        store(collection, summary.empty_document(name, as_of))
    return len(found) + len(stale)


def reconciled_days(ledger: Mapping[str, Any], since: datetime) -> set[date]:
    """Return the days of the last reconcile if it was recorded after `since`."""
    last = ledger.get("last_reconcile") or {}
    if not isinstance(last.get("at"), datetime) or as_utc(last["at"]) < since:
        return set()
    try:
        return set(days_between(date.fromisoformat(last["first_day"]), date.fromisoformat(last["last_day"])))
    except (KeyError, TypeError, ValueError):
        return set()


def refresh(
    predictions: Collection[Document], collection: Collection[Document], state: Collection[Document], settings: Settings
) -> Refresh:
    """Recount the days that can have changed since the previous refresh, then record this one's time."""
    started = monotonic()
    as_of = datetime.now(UTC)
    ledger = state.find_one({"_id": STATE_ID}) or {}
    previous = summary.summary_as_of(ledger)
    report = Refresh()
    today = local_day(as_of, settings.tz)
    if previous is None or (today - local_day(previous, settings.tz)).days >= MAX_INCREMENTAL_DAYS:
        report.days, report.everything = recount_all(predictions, collection, settings, as_of), True
        log.info("traffic summary: every day recounted (%d)", report.days)
    else:
        since = previous - CORRECTION_LOOKBACK
        days = set(days_between(local_day(since, settings.tz), today))
        days |= changed_days(predictions, since, settings) | reconciled_days(ledger, since)
        report.days = recount_days(predictions, collection, days, settings, as_of)
    state.update_one({"_id": STATE_ID}, {"$max": {summary.STATE_FIELD: as_of}})
    report.seconds = monotonic() - started
    return report


def watch(predictions: Collection[Document], database: Database[Document], settings: Settings) -> int:
    """Refresh the traffic summary, judge the silences and store the traffic incidents; return the new messages."""
    done = refresh(predictions, summaries(database), database[STATE_COLLECTION], settings)
    now = datetime.now(UTC)
    messages = sync_incidents(
        database[ALERTS_COLLECTION],
        KIND,
        live_incidents(predictions, database, settings, now),
        class_names={},
        last_day=local_day(now, settings.tz).isoformat(),
        first_evaluation=False,
        webhook_on=bool(settings.ALERT_WEBHOOK_URL),
        now=now,
    )
    for text in messages:
        log.warning("traffic incident: %s", text)
    log.debug("traffic summary: %d day(s) recounted in %.2f s", done.days, done.seconds)
    return len(messages)
