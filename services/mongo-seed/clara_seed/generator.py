"""Realistic sample predictions, generated without I/O and deterministic for a given seed.

What the data looks like, so that a local run has something to show:
- a few hundred predictions a day, fewer at weekends, most of them in working hours;
- class imbalance (yellow and blue common, SIGRE rare) and a confusion structure between
  look-alike containers (blue/grey, green/green_point, yellow/grey, brown/grey);
- overall accuracy around 0.85, with higher confidence on correct predictions;
- reviews lag predictions by hours to days, so the last days are partly unreviewed, and a few
  predictions are never reviewed; a small share of reviews use the legacy boolean verdict;
- older reviewed predictions are partly marked `trained`;
- a planted event: from `event_start` on, one class (green by default) degrades: it is mistaken for
  its look-alike far more often and its confidence falls, so a metric drop and drift are there to find.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from bson import ObjectId

from clara_common.classes import ClassCatalog
from clara_common.days import day_start

FILENAME_PREFIX = "clara-seed-"

# Share of each class among the images people photograph (by name; unknown names get the mean).
CLASS_PREVALENCE = {
    "yellow": 0.25,
    "blue": 0.20,
    "grey": 0.18,
    "green": 0.12,
    "brown": 0.11,
    "green_point": 0.09,
    "SIGRE": 0.05,
}
# Which look-alike a class is mistaken for most often.
LOOK_ALIKES = {
    "blue": "grey",
    "grey": "yellow",
    "yellow": "grey",
    "green": "green_point",
    "green_point": "green",
    "brown": "grey",
    "SIGRE": "yellow",
}
# Share of images taken in each hour of the day: a working-hours rhythm with a lunch dip.
HOURLY_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 10, 9, 12, 13, 12, 10, 8, 6, 4, 3, 2, 1]
WEEKEND_FACTOR = 0.6


@dataclass(frozen=True)
class SeedPlan:
    """What to generate: how many days, how many predictions a day, and the planted event."""

    end: date
    days: int = 60
    per_day: int = 300
    seed: int = 42
    base_accuracy: float = 0.86
    degraded_class: str = "green"
    degraded_accuracy: float = 0.45
    event_days_before_end: int = 14
    never_reviewed_share: float = 0.06
    legacy_bool_share: float = 0.02
    median_review_lag_hours: float = 10.0

    @property
    def first_day(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    @property
    def event_start(self) -> date:
        return self.end - timedelta(days=self.event_days_before_end - 1)


def seeded_object_id(created: datetime, seed: int, index: int) -> ObjectId:
    """Return an ObjectId stamped with `created`, whose other bytes depend only on (seed, index)."""
    seconds = int(created.timestamp()).to_bytes(4, "big")
    tail = hashlib.sha256(f"clara-seed:{seed}:{index}".encode()).digest()[:8]
    return ObjectId(seconds + tail)


def _day_count(rng: random.Random, day: date, per_day: int) -> int:
    mean = per_day * (WEEKEND_FACTOR if day.weekday() >= 5 else 1.0)
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def _prediction_time(rng: random.Random, day: date, tz: tzinfo) -> datetime:
    hour = rng.choices(range(24), weights=HOURLY_WEIGHTS)[0]
    return day_start(day, tz) + timedelta(hours=hour, seconds=rng.randrange(3600))


def _predicted_class(rng: random.Random, true_name: str, accuracy: float, names: list[str]) -> str:
    if rng.random() < accuracy:
        return true_name
    look_alike = LOOK_ALIKES.get(true_name)
    if look_alike in names and rng.random() < 0.7:
        return look_alike
    return rng.choice([n for n in names if n != true_name])


def _confidence(rng: random.Random, correct: bool, degraded: bool) -> float:
    if degraded:
        value = rng.betavariate(3, 4)
    elif correct:
        value = rng.betavariate(9, 1.6)
    else:
        value = rng.betavariate(3, 3)
    return round(min(max(value, 0.0), 1.0), 4)


def _review_lag(rng: random.Random, median_hours: float) -> timedelta:
    # Whole seconds: what MongoDB stores (milliseconds) then equals what was generated.
    return timedelta(seconds=round(3600 * rng.lognormvariate(math.log(median_hours), 1.0)))


def generate(
    plan: SeedPlan, classes: ClassCatalog, tz: tzinfo, now: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the plan's prediction documents in time order; reviews after `now` are left pending."""
    now = now or datetime.now(UTC)
    rng = random.Random(plan.seed)
    names = list(classes.names)
    mean_prevalence = sum(CLASS_PREVALENCE.values()) / len(CLASS_PREVALENCE)
    weights = [CLASS_PREVALENCE.get(n, mean_prevalence) for n in names]
    index = 0
    for offset in range(plan.days):
        day = plan.first_day + timedelta(days=offset)
        times = sorted(_prediction_time(rng, day, tz) for _ in range(_day_count(rng, day, plan.per_day)))
        for created in times:
            if created > now:
                continue
            true_name = rng.choices(names, weights=weights)[0]
            degraded = true_name == plan.degraded_class and day >= plan.event_start
            accuracy = plan.degraded_accuracy if degraded else plan.base_accuracy
            predicted_name = _predicted_class(rng, true_name, accuracy, names)
            correct = predicted_name == true_name
            document: dict[str, Any] = {
                "_id": seeded_object_id(created, plan.seed, index),
                "filename": f"{FILENAME_PREFIX}{created:%Y%m%d-%H%M%S}-{index:07d}.jpg",
                "output_confidence": _confidence(rng, correct, degraded),
                "output_prediction": classes.id_of(predicted_name),
                "output_validated": None,
                "timestamp": created,
                "logged": False,
                "timestamp_validated": None,
            }
            reviewed_at = created + _review_lag(rng, plan.median_review_lag_hours)
            if rng.random() >= plan.never_reviewed_share and reviewed_at <= now:
                if rng.random() < plan.legacy_bool_share:
                    document["output_validated"] = correct
                else:
                    document["output_validated"] = classes.id_of(true_name)
                document["timestamp_validated"] = reviewed_at
                if now - reviewed_at > timedelta(days=30):
                    document["trained"] = rng.random() < 0.6
            index += 1
            yield document
