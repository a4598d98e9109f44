"""docs/architecture.md's paths through the code are true of it: every file it lists exists and defines every
name it gives, and each path stays as short as the doc and issue 20 promise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
# A path's heading (bold, ending in its file count) and its numbered steps: `file` (`name`, `name`): what.
HEADING = re.compile(r"^\*\*(?P<title>[^*]+)\*\*[^(\n]*\((?P<count>\d+) files?(?: more)?\)", re.MULTILINE)
STEP = re.compile(r"^\d+\. `(?P<file>[^`]+)` \((?P<names>[^)]*)\):", re.MULTILINE)
# The longest each path may be.
LIMITS = {"From a prediction to the main chart": 10, "From a setting to its use": 6}


def paths() -> dict[str, list[tuple[str, list[str]]]]:
    """Return each path of the doc by its title: its steps, (file, names)."""
    text = DOC.read_text()
    headings = list(HEADING.finditer(text))
    found = {}
    for heading, following in zip(headings, [*headings[1:], None]):
        section = text[heading.end() : following.start() if following else text.index("\n## ", heading.end())]
        steps = [(m["file"], re.findall(r"`([^`]+)`", m["names"])) for m in STEP.finditer(section)]
        assert len(steps) == int(heading["count"]), f"{heading['title']}: the heading's count is wrong"
        found[heading["title"].split(",")[0].strip()] = steps
    return found


def defines(source: str, name: str) -> bool:
    """Return whether a Python or JavaScript source defines `name` (a function, class, method or constant)."""
    pattern = rf"^\s*(?:async )?(?:def|class|function|const|let) {re.escape(name)}\b|^\s*{re.escape(name)}\b[^=\n]*="
    return re.search(pattern, source, re.MULTILINE) is not None


def test_the_doc_has_its_paths() -> None:
    assert {"From a prediction to the main chart", "From a setting to its use"} <= set(paths())


@pytest.mark.parametrize("title", sorted(paths()))
def test_every_step_names_a_file_and_names_it_defines(title: str) -> None:
    for file, names in paths()[title]:
        source = (ROOT / file).read_text()
        assert names, f"{file}: name what does the work"
        assert [n for n in names if not defines(source, n)] == [], f"{file} does not define them"


@pytest.mark.parametrize(("title", "limit"), sorted(LIMITS.items()))
def test_the_paths_stay_short(title: str, limit: int) -> None:
    assert len(paths()[title]) <= limit
