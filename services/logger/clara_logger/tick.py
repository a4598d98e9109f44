"""One tick of the logger: finish what a dead logger left, claim batches, profile, write the sinks.

    finish expired batches -> [claim a batch -> parse the copies -> per-day counts and profiles
    -> batch record -> history] until no validated, unlogged prediction is left -> corrections
    (reviews changed since the last tick) -> the daily reconcile -> drift and alerts for the days
    that changed -> due WhyLabs uploads -> due webhooks -> the tick's state for readers

See batches.py for why this counts every prediction exactly once without transactions, and
clara_common/ledger.py for what a prediction counts as.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pymongo import IndexModel, MongoClient

from clara_common import calibration
from clara_common.contract import Prediction, Rejection, is_early, parse_prediction
from clara_common.days import day_start, days_between, local_day
from clara_common.db import Document, create_prediction_indexes, ensure_index_models, get_database, predictions
from clara_common.ledger import CORRECTION_LOOKBACK, Contribution, contribution, copy_of, max_skew, previous_of
from clara_common.ledger.batches import BUILT, CLAIMING
from clara_common.ledger.state import LedgerMismatch
from clara_common.settings import CommonSettings
from clara_logger import (
    alerts,
    batches,
    drift,
    history,
    incidents,
    performance,
    profiles,
    reconcile,
    state,
    traffic,
    unreviewed,
)
from clara_logger.drift import DriftSettings
from clara_logger.history import DayPart, DayTally, tally_by_day
from clara_logger.performance import PerformanceSettings
from clara_logger.retry import next_attempt
from clara_logger.settings import LoggerSettings
from clara_logger.whylabs import WhyLabsSink

if TYPE_CHECKING:
    from whylogs.core import DatasetProfileView

log = logging.getLogger(__name__)

# How often a long tick logs its progress, in seconds.
PROGRESS_SECONDS = 10.0


@dataclass
class TickReport:
    """What one tick did: the figures of the tick's log line."""

    found: int = 0
    logged: int = 0
    quarantined: int = 0
    corrected: int = 0
    batches: int = 0
    recovered: int = 0
    uploaded: int = 0
    upload_failures: int = 0
    alerts: int = 0
    alerts_sent: int = 0
    days: set[str] = field(default_factory=set)
    unreviewed_days: int = 0  # days of the unreviewed summary recounted
    unreviewed_seconds: float = 0.0
    duration: float = 0.0

    def line(self) -> str:
        return (
            f"tick found={self.found} logged={self.logged} quarantined={self.quarantined} "
            f"corrected={self.corrected} batches={self.batches} recovered={self.recovered} "
            f"uploaded={self.uploaded} "
            f"upload_failures={self.upload_failures} alerts={self.alerts} alerts_sent={self.alerts_sent} "
            f"days={len(self.days)} unreviewed_days={self.unreviewed_days} "
            f"unreviewed_seconds={self.unreviewed_seconds:.2f} duration={self.duration:.2f}s"
        )


class Progress:
    """A long tick's progress: predictions claimed and processed so far, logged every PROGRESS_SECONDS."""

    def __init__(self) -> None:
        self.started = self.last = time.monotonic()
        self.found = 0
        self.done = 0

    def claimed(self, count: int) -> None:
        self.found += count

    def processed(self, count: int) -> None:
        """Count processed predictions and log the progress line when it is due."""
        self.done += count
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            log.info(
                "progress: %d of %d predictions found so far done (%.0f/s)",
                self.done,
                self.found,
                self.done / max(now - self.started, 1e-9),
            )


class PartBuilder:
    """Accumulate a batch's per-day counts and whylogs profiles, one chunk of predictions at a time."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self.tallies: dict[date, DayTally] = {}
        self.views: dict[date, DatasetProfileView] = {}

    def add(self, records: Sequence[Prediction]) -> None:
        """Count and profile a chunk of valid predictions."""
        by_day: dict[date, list[Prediction]] = {}
        for record in records:
            by_day.setdefault(history_day(record, self.settings), []).append(record)
        for day, day_records in by_day.items():
            tally = tally_by_day(day_records, self.settings.tz)[day]
            self.tallies[day] = self.tallies[day].merged(tally) if day in self.tallies else tally
            frame = profiles.prediction_frame(day_records, self.settings.classes)
            view = profiles.profile_frame(frame, day_start(day, self.settings.tz))
            self.views[day] = profiles.merge(self.views.get(day), view)

    def count(self, items: Sequence[Contribution], sign: int) -> None:
        """Add invalid records (sign 1), or take out contributions counted before (sign -1): no profile."""
        for item in items:
            self.tallies.setdefault(date.fromisoformat(item.day), DayTally()).count_in(item, sign)

    def parts(self) -> list[DayPart]:
        """Return one part per day, oldest first."""
        return [
            DayPart(
                day=day.isoformat(),
                count=tally.count,
                confusion=tally.confusion,
                invalid=tally.invalid,
                confidence_histogram=tally.confidence_histogram,
                confidence_missing=tally.confidence_missing,
                calibration=calibration.nonzero_table(tally.calibration),
                profile=profiles.serialize(self.views[day]) if day in self.views else b"",
            )
            for day, tally in sorted(self.tallies.items())
        ]


def history_day(record: Prediction, settings: CommonSettings) -> date:
    """Return the local day (TIMEZONE) on which a prediction was validated: its day in the history."""
    return local_day(record.timestamp_validated, settings.tz)  # type: ignore[arg-type]


@dataclass
class BatchChanges:
    """What the documents bound to a batch change in the history."""

    added: list[Prediction] = field(default_factory=list)  # counted and profiled
    invalid: list[Contribution] = field(default_factory=list)  # reviewed copies that break the contract
    taken_out: list[Contribution] = field(default_factory=list)  # what their previous copies counted
    rejected: dict[Any, str] = field(default_factory=dict)  # document id -> why it is set aside
    early: list[Any] = field(default_factory=list)  # ids of documents validated in the future: released


def batch_changes(
    documents: Sequence[dict[str, Any]], settings: CommonSettings, now: datetime | None = None
) -> BatchChanges:
    """Return what a batch's documents change: each adds its `logged_as` copy and takes out its `previous_as`.

    A document claimed without a copy (claimed before copies existed) counts as itself. Given `now`,
    one validated beyond now + MAX_CLOCK_SKEW_MINUTES changes nothing: it is released until due.
    """
    changes = BatchChanges()
    for document in documents:
        copy = copy_of(document) or document
        if is_early(copy, settings.tz, now, max_skew(settings)):
            changes.early.append(document["_id"])
            continue
        parsed = parse_prediction(copy, settings.classes, settings.tz)
        if isinstance(parsed, Rejection):
            changes.rejected[document["_id"]] = str(parsed)
            if (item := contribution(copy, settings.classes, settings.tz)) is not None:
                changes.invalid.append(item)
        elif parsed.is_validated:
            changes.added.append(parsed)
        # A copy with no verdict (a review withdrawn, seen by a reconcile) adds nothing.
        if (old := contribution(previous_of(document), settings.classes, settings.tz)) is not None:
            changes.taken_out.append(old)
    return changes


class LoggerService:
    """The logger's state between ticks: settings, collections, sinks, its identity."""

    def __init__(self, settings: LoggerSettings, client: MongoClient[Document], owner: str | None = None) -> None:
        self.settings = settings
        database = get_database(client, settings)
        self.predictions = predictions(client, settings)
        self.batches = batches.batches(database)
        self.history = history.history(database)
        self.alerts = alerts.alerts(database)
        self.state = state.state(database)
        self.unreviewed = unreviewed.summaries(database)
        self.database = database
        self.owner = owner or batches.logger_identity()
        self._indexed = False
        self.progress = Progress()
        self.whylabs = WhyLabsSink(settings) if settings.whylabs_enabled else None
        self.drift_settings = DriftSettings(
            algorithm=settings.DRIFT_ALGORITHM,
            p_value=settings.DRIFT_P_VALUE,
            hellinger_threshold=settings.DRIFT_HELLINGER_THRESHOLD,
            min_samples=settings.DRIFT_MIN_SAMPLES,
            min_psi=settings.DRIFT_MIN_PSI,
            window_days=settings.DRIFT_WINDOW_DAYS,
        )
        self.performance_settings = PerformanceSettings(
            reference_days=settings.DRIFT_REFERENCE_DAYS,
            false_alarms_per_90_days=settings.ALERT_FALSE_ALARMS_PER_90_DAYS,
            floor=settings.ALERT_MIN_ACCURACY,
            floor_min_samples=settings.ALERT_MIN_SAMPLES,
        )

    def ensure_indexes(self) -> None:
        """Create the indexes the logger's look-ups need, once per process."""
        if self._indexed:
            return
        create_prediction_indexes(self.predictions)
        ensure_index_models(
            self.batches,
            [
                IndexModel([("state", 1), ("lease_until", 1)], name="state_lease"),
                IndexModel([("upload.state", 1), ("upload.next_attempt_at", 1)], name="upload_due"),
            ],
        )
        # Readers look up the days changed since their previous look.
        ensure_index_models(self.history, [IndexModel([("updated_at", 1)], name="updated_at")])
        ensure_index_models(
            self.alerts,
            [
                IndexModel([("webhook.state", 1), ("webhook.next_attempt_at", 1)], name="webhook_due"),
                IndexModel(
                    [("resolution_webhook.state", 1), ("resolution_webhook.next_attempt_at", 1)],
                    name="resolution_webhook_due",
                ),
            ],
        )
        self._indexed = True

    def tick(self, should_stop: Callable[[], bool] = lambda: False) -> TickReport:
        """Run one tick; `should_stop` is asked between batches (SIGTERM finishes the batch in hand)."""
        started_at = datetime.now(UTC)
        started = time.monotonic()
        report = TickReport()
        self.progress = Progress()
        self.ensure_indexes()
        ledger = state.open_ledger(self.state, self.settings)
        for record in batches.take_over_expired(self.batches, self.owner, self.settings.LOGGER_LEASE_SECONDS):
            log.info("finishing batch %s left %s by %s", record["_id"], record["state"], record.get("owner"))
            self._finish(record, report)
            report.recovered += 1
        if not ledger.get("adopted_at") and not should_stop():
            # Before the first claim, only another logger can have marked a prediction logged.
            self.adopt_all(report)
            state.mark_adopted(self.state)
        self.claim_unlogged(report, should_stop)
        if not should_stop():
            batches.mark_pending(self.predictions)  # after the claims: what is left waits for a verdict
        corrections_done = False
        if not should_stop():
            since = ledger.get("corrections_since")
            if since is not None:
                self.correct(reconcile.changed_since(self.predictions, since - CORRECTION_LOOKBACK), report)
            corrections_done = True
        if not should_stop() and state.take_reconcile_turn(self.state, started_at):
            self.reconcile_recent(report)
        # Days whose counts changed, this tick or before a logger died: drift and alerts, even when
        # stopping (a second or so), so that a stop never leaves a day unevaluated.
        stale = history.stale_days(self.history)
        self.evaluate_days(stale, report)
        if stale or "signal" not in ledger:  # the first tick after an upgrade judges the history as it stands
            report.alerts += self.judge_incidents(first_evaluation="signal" not in ledger)
        if not should_stop():
            # After the claims and corrections: a prediction reviewed this tick is out of its day.
            self.refresh_unreviewed(report)
            report.alerts += traffic.watch(self.predictions, self.database, self.settings)
        if not should_stop():
            self.upload_due(report)
            report.alerts_sent += alerts.send_due(self.alerts, self.settings)
        report.duration = time.monotonic() - started
        state.record_tick(
            self.state,
            started_at,
            report.line(),
            corrections_since=started_at if corrections_done else None,
            settings=self.settings,
        )
        return report

    def is_early(self, document: dict[str, Any]) -> bool:
        """Return whether a document is validated beyond now + MAX_CLOCK_SKEW_MINUTES: left alone until due."""
        return is_early(document, self.settings.tz, datetime.now(UTC), max_skew(self.settings))

    def claim_unlogged(self, report: TickReport, should_stop: Callable[[], bool]) -> None:
        """Claim and process every validated, unlogged prediction that is due, in batches."""
        size = self.settings.LOGGER_CLAIM_SIZE
        # First the rare ones no window claims, by id: whatever else keeps arriving, they are never starved.
        while not should_stop():
            if not self._claim_and_process(
                lambda batch_id: batches.claim_by_id(self.predictions, batch_id, size, self.is_early), report
            ):
                break
        # Then windows of BSON-date validation times, up to the latest time that is due.
        latest = datetime.now(UTC) + max_skew(self.settings)
        start = batches.first_dated(self.predictions, latest)
        span = batches.FIRST_SPAN
        while start is not None and start < latest and not should_stop():
            window_end = min(start + span, latest)
            claimed = self._claim_and_process(
                functools.partial(batches.claim_window, self.predictions, start=start, end=window_end),
                report,
            )
            span = batches.next_span(span, claimed, size)
            start = window_end

    def correct(self, candidates: Sequence[dict[str, Any]], report: TickReport, kind: str = "correction") -> int:
        """Claim again the claimed predictions whose fields changed since their copy, and count the change.

        One reviewed again with a validation time in the future waits until that time is due.
        """
        bound_to = reconcile.to_claim_again([doc for doc in candidates if not self.is_early(doc)], self.batches)
        ids = list(bound_to)
        claimed = 0
        for first in range(0, len(ids), self.settings.LOGGER_CLAIM_SIZE):
            chunk = {doc_id: bound_to[doc_id] for doc_id in ids[first : first + self.settings.LOGGER_CLAIM_SIZE]}
            claimed += self._claim_and_process(
                functools.partial(batches.claim_again, self.predictions, bound_to=chunk),
                report,
                kind=kind,
            )
        report.corrected += claimed
        return claimed

    def adopt_all(self, report: TickReport) -> None:
        """Count the predictions marked logged before this ledger existed (by the original CLARA logger)."""
        for candidates in reconcile.unadopted(self.predictions, self.settings.LOGGER_CLAIM_SIZE):
            self.correct(candidates, report, kind="adoption")

    def check_ledger(self) -> dict[str, Any]:
        """Return the ledger's state; raise LedgerMismatch if the history was built in another time zone."""
        return state.open_ledger(self.state, self.settings)

    def rebuild_if_needed(self) -> int:
        """Rebuild the history in this TIMEZONE if it was built in another; return how many predictions it recounted."""
        try:
            self.check_ledger()
            return 0
        except LedgerMismatch:
            pass
        log.warning("rebuilding the history in TIMEZONE=%s", self.settings.TIMEZONE)
        batches.forget_claims(self.predictions)
        self.history.delete_many({})
        state.reset(self.state, self.settings)
        report = TickReport()
        self.adopt_all(report)
        return report.corrected

    def history_span(self) -> tuple[date, date]:
        """Return the first day of the history or of the validated predictions, whichever is first, and today."""
        today = local_day(datetime.now(UTC), self.settings.tz)
        first = history.first_days(self.history, 1)
        oldest = reconcile.oldest_validation_day(self.predictions, self.settings.tz)
        candidates = [date.fromisoformat(first[0]["_id"])] if first else []
        candidates += [oldest] if oldest else []
        return min(candidates, default=today), today

    def reconcile_recent(self, report: TickReport) -> list[reconcile.Repair]:
        """Reconcile the last LOGGER_RECONCILE_DAYS days (the daily job)."""
        last = local_day(datetime.now(UTC), self.settings.tz)
        first = last - timedelta(days=self.settings.LOGGER_RECONCILE_DAYS - 1)
        return self.reconcile(first, last, report)

    def reconcile(self, first: date, last: date, report: TickReport | None = None) -> list[reconcile.Repair]:
        """Make the history of local days `first` to `last` equal to the predictions collection; return the repairs.

        First every prediction of those days whose fields changed since its copy (an edit that kept
        its time, a withdrawn review) or that was never copied is claimed again, as a correction; then
        each day's counts are recounted from the copies, which also removes deleted predictions.
        """
        report = report or TickReport()
        self.correct(reconcile.day_documents(self.predictions, first, last, self.settings.tz), report, kind="reconcile")
        repairs = reconcile.repair_days(self.predictions, self.history, self.batches, first, last, self.settings)
        for repair in repairs:
            log.warning("reconcile: %s", repair.line())
            report.days.add(repair.day)
        # The same days as days of prediction: what a delete or an edit in place changed in the summary.
        unreviewed.recount_days(
            self.predictions, self.unreviewed, days_between(first, last), self.settings, datetime.now(UTC)
        )
        state.record_reconcile(self.state, first, last, len(repairs))
        return repairs

    def refresh_unreviewed(self, report: TickReport) -> None:
        """Recount the days of the unreviewed summary that can have changed since the previous refresh."""
        done = unreviewed.refresh(self.predictions, self.unreviewed, self.state, self.settings)
        report.unreviewed_days += done.days
        report.unreviewed_seconds += done.seconds

    def recount_unreviewed(self) -> int:
        """Recount the whole unreviewed summary from the predictions (`--reconcile --all`); return how many days."""
        return unreviewed.recount_all(self.predictions, self.unreviewed, self.settings, datetime.now(UTC))

    def _claim_and_process(self, claim: Callable[[str], int], report: TickReport, kind: str = "claim") -> int:
        """Open a batch, claim predictions into it with `claim`, and process them; return how many."""
        batch_id = batches.open_batch(self.batches, self.owner, self.settings.LOGGER_LEASE_SECONDS, kind)
        claimed = claim(batch_id)
        if not claimed:
            batches.drop_batch(self.batches, batch_id)
            return 0
        self.progress.claimed(claimed)
        if kind == "claim":
            report.found += claimed
        self._process(batch_id, report)
        report.batches += 1
        return claimed

    def _process(self, batch_id: str, report: TickReport) -> None:
        """Count, profile and store the predictions bound to a batch, then add them to the history."""
        builder = PartBuilder(self.settings)
        logged = quarantined = corrected = 0
        # LOGGER_BATCH_SIZE predictions at a time: what bounds memory, whatever a claim holds.
        for documents in batches.claimed_documents(self.predictions, batch_id, self.settings.LOGGER_BATCH_SIZE):
            changes = batch_changes(documents, self.settings, datetime.now(UTC))
            if changes.early:
                batches.release(self.predictions, batch_id, changes.early)
                log.info("%d prediction(s) validated in the future released until due", len(changes.early))
            if changes.rejected:
                batches.quarantine(self.predictions, batch_id, changes.rejected)
                for doc_id, reason in changes.rejected.items():
                    log.warning("prediction %s set aside: %s", doc_id, reason)
            builder.add(changes.added)
            builder.count(changes.invalid, +1)
            builder.count(changes.taken_out, -1)
            logged += len(changes.added)
            quarantined += len(changes.rejected)
            corrected += len(changes.taken_out)
            self.progress.processed(len(documents))
        parts = builder.parts()
        is_claim = (batches.get_batch(self.batches, batch_id) or {}).get("kind", "claim") == "claim"
        # Corrections, reconciles and adoptions are not uploaded: WhyLabs keeps what it was sent.
        uploads = self.whylabs is not None and is_claim
        upload_state = batches.UPLOAD_PENDING if uploads else batches.UPLOAD_OFF
        batches.save_built(self.batches, batch_id, parts, logged, quarantined, upload_state, corrected)
        self._apply(batch_id, parts, upload_state, report)
        if is_claim:  # the others count in `corrected`
            report.logged += logged
        report.quarantined += quarantined

    def _apply(self, batch_id: str, parts: Sequence[DayPart], upload_state: str, report: TickReport) -> None:
        for part in parts:
            history.apply_part(self.history, part, batch_id)
            report.days.add(part.day)
        batches.mark_applied(self.batches, batch_id)
        if upload_state == batches.UPLOAD_OFF:
            batches.drop_profiles(self.batches, batch_id)

    def _finish(self, record: dict[str, Any], report: TickReport) -> None:
        """Finish a batch another logger left unfinished, from wherever it stopped."""
        if record["state"] == CLAIMING:
            self._process(record["_id"], report)
            return
        full = batches.get_batch(self.batches, record["_id"])
        if full is None or full["state"] != BUILT:
            return
        parts = [DayPart.from_document(d) for d in full["days"]]
        self._apply(record["_id"], parts, full["upload"]["state"], report)
        report.logged += full["predictions"]

    def upload_due(self, report: TickReport) -> None:
        """Upload the profiles of every batch whose WhyLabs upload is pending and due."""
        if self.whylabs is None:
            return
        while (record := batches.take_due_upload(self.batches, self.settings.LOGGER_LEASE_SECONDS)) is not None:
            done_days = set(record["upload"].get("uploaded_days", []))
            failed = False
            for part in record["days"]:
                if part["day"] in done_days or not part.get("profile"):
                    continue  # uploaded already, or a day the batch only took predictions out of
                result = self.whylabs.upload(bytes(part["profile"]))
                if not result.ok:
                    attempts = record["upload"]["attempts"] + 1
                    retry_at = next_attempt(
                        datetime.now(UTC),
                        attempts,
                        self.settings.LOGGER_RETRY_MIN_SECONDS,
                        self.settings.LOGGER_RETRY_MAX_SECONDS,
                    )
                    batches.record_upload_failure(self.batches, record["_id"], result.detail, retry_at)
                    log.warning(
                        "WhyLabs upload of batch %s day %s failed (attempt %d, next at %s): %s",
                        record["_id"],
                        part["day"],
                        attempts,
                        retry_at.isoformat(timespec="seconds"),
                        result.detail.splitlines()[0] if result.detail else "",
                    )
                    report.upload_failures += 1
                    failed = True
                    break
                batches.record_uploaded_day(self.batches, record["_id"], part["day"])
                report.uploaded += 1
            if failed:
                # The endpoint is down: leave the other batches for their own next attempt.
                break
            batches.record_upload_done(self.batches, record["_id"])

    def reference(self) -> dict[str, Any]:
        """Return the drift reference: class counts and confidence histogram of the reference window."""
        classes = self.settings.classes
        return drift.reference_of(
            history.first_days(self.history, self.settings.DRIFT_REFERENCE_DAYS),
            classes.ids,
            self.settings.DRIFT_CLASS_REFERENCE,
            [c.training_count for c in classes.classes],
        )

    def evaluate_days(self, days: Sequence[str], report: TickReport) -> None:
        """Judge drift for the given days and the days whose window holds them."""
        if not days:
            return
        reference = self.reference()
        classes = self.settings.classes
        width = self.drift_settings.window_days
        last = max(days)
        due = sorted({shifted for day in days for shifted in _window_followers(day, width) if shifted <= last})
        for day in due:
            records = list(history.days(self.history, _shift(day, 1 - width), date.fromisoformat(day)))
            if not records or records[-1]["_id"] != day:
                continue
            results = drift.evaluate_window(records, reference, classes.ids, classes.names, self.drift_settings)
            history.set_drift(
                self.history,
                day,
                records[-1]["version"],
                {**results, "reference_window": reference["window"], "evaluated_at": datetime.now(UTC)},
            )

    def judge_incidents(self, first_evaluation: bool) -> int:
        """Judge performance incidents and drift notices over the whole history; return how many messages are new.

        `first_evaluation`: nothing was judged before (a new ledger, or the first tick after an upgrade).
        """
        names = dict(zip(self.settings.classes.ids, self.settings.classes.names))
        stored = [day for day in history.days(self.history) if day.get("count")]
        judged = performance.judge(
            [(day["_id"], performance.confusion_by_id(day.get("confusion") or {})) for day in stored],
            names,
            self.performance_settings,
        )
        notices = drift.notices([(day["_id"], day["drift"]) for day in stored if isinstance(day.get("drift"), dict)])
        found = performance.noting_mix_shifts(judged.incidents, notices)
        last_day = stored[-1]["_id"] if stored else local_day(datetime.now(UTC), self.settings.tz).isoformat()
        webhook_on = bool(self.settings.ALERT_WEBHOOK_URL)
        accuracy_days = incidents.legacy_days(self.alerts, "accuracy")
        drift_days = incidents.legacy_days(self.alerts, "drift")
        messages = incidents.sync_incidents(
            self.alerts,
            "performance",
            found,
            class_names=names,
            last_day=last_day,
            first_evaluation=first_evaluation,
            already_announced=lambda i: i.metric == "accuracy" and i.class_id is None and i.covers(accuracy_days),
            webhook_on=webhook_on,
        )
        messages += incidents.sync_incidents(
            self.alerts,
            "drift",
            notices,
            class_names=names,
            last_day=last_day,
            first_evaluation=first_evaluation,
            already_announced=lambda i: i.covers(drift_days),
            webhook_on=webhook_on,
        )
        for text in messages:
            log.warning("alert: %s", text)
        state.record_signal(self.state, signal_document(judged, names, self.settings, last_day))
        return len(messages)


def _shift(day: str, days: int) -> date:
    return date.fromisoformat(day) + timedelta(days=days)


def _window_followers(day: str, width: int) -> list[str]:
    """Return a day and the days after it whose drift window holds it."""
    return [_shift(day, offset).isoformat() for offset in range(width)]


def signal_document(
    judged: performance.Judgement, names: dict[int, str], settings: LoggerSettings, last_day: str
) -> dict[str, Any]:
    """Return what the monitor reads of the last judgement: its reference levels and the settings it used."""
    classes: dict[str, dict[str, Any]] = {}
    accuracy = None
    for stream, level in judged.references.items():
        if stream.class_id is None:
            accuracy = level.to_document()
        else:
            classes.setdefault(names[stream.class_id], {})[stream.metric] = level.to_document()
    return {
        "evaluated_at": datetime.now(UTC),
        "judged_through": last_day,
        "reference_window": list(judged.reference_window) if judged.reference_window else None,
        "reference": {"accuracy": accuracy, "classes": classes},
        # The CUSUM thresholds h: accuracy's, and the one every class stream shares.
        "thresholds": {
            "accuracy": judged.thresholds.get(performance.ACCURACY_STREAM),
            "class": next((h for s, h in judged.thresholds.items() if s != performance.ACCURACY_STREAM), None),
        },
    }
