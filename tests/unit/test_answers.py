"""The monitor's kept answers (MonitorContext.answers): computed once per key, the oldest dropped past the limit."""

from __future__ import annotations

from clara_monitor.context import Answers


def test_an_answer_is_computed_once_per_key_and_the_least_recently_used_goes_first() -> None:
    answers = Answers()
    answers.LIMIT = 2
    calls: list[str] = []

    def compute(key: str) -> str:
        calls.append(key)
        return key.upper()

    assert [answers.get(k, lambda k=k: compute(k)) for k in ("a", "b", "a")] == ["A", "B", "A"]
    answers.get("c", lambda: compute("c"))  # past the limit: "b", used least lately, goes
    assert answers.get("a", lambda: compute("a")) == "A"
    answers.get("b", lambda: compute("b"))
    assert calls == ["a", "b", "c", "b"]
