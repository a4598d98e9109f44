"""How long to wait before the next attempt at something that failed (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta


def retry_delay(attempts: int, first: float, cap: float) -> float:
    """Return the seconds to wait after `attempts` failures: doubling from `first`, at most `cap`."""
    if attempts < 1:
        return 0.0
    # min() before the power would overflow for a long outage's attempt count.
    return min(cap, first * 2.0 ** min(attempts - 1, 60))


def next_attempt(now: datetime, attempts: int, first: float, cap: float) -> datetime:
    """Return when to try again after `attempts` failures."""
    return now + timedelta(seconds=retry_delay(attempts, first, cap))
