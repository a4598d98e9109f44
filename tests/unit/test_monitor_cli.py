"""clara-monitor's command line: a count that gunicorn would refuse late is refused at once, naming the option."""

from __future__ import annotations

import pytest

from clara_monitor.cli import WORKER_TIMEOUT, parse_args
from clara_monitor.settings import MonitorSettings

SETTINGS = MonitorSettings.from_env({})


def test_defaults_come_from_the_settings_and_the_worker_timeout() -> None:
    args = parse_args([], SETTINGS)
    assert (args.workers, args.timeout) == (SETTINGS.MONITOR_WORKERS, WORKER_TIMEOUT)


@pytest.mark.parametrize("option", ["--workers", "--timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_count_below_one_or_not_a_number_is_refused_with_the_option_named(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args([option, value], SETTINGS)
    assert stopped.value.code == 2
    assert f"argument {option}:" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--workers", "--timeout"])
def test_a_positive_count_is_taken(option: str) -> None:
    assert getattr(parse_args([option, "3"], SETTINGS), option.lstrip("-")) == 3
