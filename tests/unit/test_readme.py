"""The README stays short and true (issue 19, item 4): at most 150 lines, every command in its code blocks
run by CI or standing for something that exists, and no link, in it or in docs/, to a missing file or anchor."""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_LINES = 150
PAGES = [README, ROOT / "services" / "monitor" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_FENCES = {"sh", "bash", "shell", "console"}
COMPOSE_SUBCOMMANDS = {"up", "down", "ps", "logs", "exec", "run", "build", "config", "restart", "stop", "pull"}
ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def code_blocks(text: str) -> Iterator[tuple[str, list[str]]]:
    """Yield each fenced code block's language and lines (fences may be indented, as in a list)."""
    language: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        fence = re.match(r"^\s*```(\S*)", line)
        if fence and language is None:
            language, lines = fence.group(1), []
        elif fence:
            yield language, lines
            language = None
        elif language is not None:
            lines.append(line)


def shell_commands(text: str) -> list[list[str]]:
    """Return the words of every command in the shell code blocks, comments left out."""
    commands: list[list[str]] = []
    for language, lines in code_blocks(text):
        if language not in SHELL_FENCES:
            continue
        joined = "\n".join(lines).replace("\\\n", " ")
        commands += [words for line in joined.splitlines() if (words := shlex.split(line, comments=True))]
    return commands


def ci_commands() -> list[list[str]]:
    """Return the words of every command line of .ci/run."""
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    return [words for line in text.splitlines() if (words := shlex.split(line, comments=True))]


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9_-]+):", text, flags=re.MULTILINE))


def console_scripts() -> set[str]:
    scripts: set[str] = set()
    for pyproject in [ROOT / "pyproject.toml", *ROOT.glob("services/*/pyproject.toml")]:
        scripts |= set(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"].get("scripts", {}))
    return scripts


def compose_services() -> set[str]:
    return set(yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"])


def known_variables() -> set[str]:
    """Return the variables a command may set: those compose.yaml, the Makefile and .env.example name."""
    names: set[str] = set()
    for path in (ROOT / "compose.yaml", ROOT / "Makefile"):
        names |= set(re.findall(r"\$[{(]([A-Z][A-Z0-9_]*)", path.read_text(encoding="utf-8")))
    env_example = (ROOT / ".env.example").read_text(encoding="utf-8")
    return names | set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", env_example, flags=re.MULTILINE))


def is_subsequence(words: list[str], line: list[str]) -> bool:
    remaining = iter(line)
    return all(word in remaining for word in words)


def why_it_holds(words: list[str]) -> str | None:
    """Say why a README command is tested or stands for something that exists; None if nothing does."""
    if any(is_subsequence(words, line) for line in ci_commands()):
        return ".ci/run runs it"
    assigned = {match.group(1) for word in words if (match := ASSIGNMENT.match(word))}
    program = [word for word in words if not ASSIGNMENT.match(word)]
    if not assigned <= known_variables() or not program:
        return None
    name, arguments = program[0], program[1:]
    if name == "make":
        return "make targets" if set(arguments) <= make_targets() else None
    if name in console_scripts():
        return "a console script"
    if name == "docker" and arguments[:1] == ["compose"] and len(arguments) > 1:
        subcommand, rest = arguments[1], arguments[2:]
        services = [word for word in rest if not word.startswith("-")]
        if subcommand in COMPOSE_SUBCOMMANDS and set(services) <= compose_services():
            return "a docker compose command on compose.yaml's services"
        return None
    if (ROOT / name).is_file():
        return "a file of the repository"
    return None


def slug(heading: str) -> str:
    """Return GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def prose(text: str) -> Iterator[str]:
    """Yield the lines of a Markdown text outside its fenced code blocks."""
    in_code = False
    for line in text.splitlines():
        if re.match(r"^\s*```", line):
            in_code = not in_code
        elif not in_code:
            yield line


def anchors(page: Path) -> set[str]:
    """Return the anchors of a Markdown page's headings (a repeated heading's get -1, -2...)."""
    found: set[str] = set()
    for line in prose(page.read_text(encoding="utf-8")):
        if heading := re.match(r"^#{1,6} (.+)$", line):
            anchor, repeat = slug(heading.group(1)), 0
            while (anchor if repeat == 0 else f"{anchor}-{repeat}") in found:
                repeat += 1
            found.add(anchor if repeat == 0 else f"{anchor}-{repeat}")
    return found


def local_links(page: Path) -> list[str]:
    """Return the page's links to files and anchors of this repository, code blocks left out."""
    targets = LINK.findall("\n".join(prose(page.read_text(encoding="utf-8"))))
    return [target for target in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]


def broken_link(page: Path, target: str) -> str | None:
    """Say what is wrong with a link of `page`, or None when its file and anchor exist."""
    path, _, anchor = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    if not linked.exists():
        return f"{target}: no such file"
    if anchor and linked.suffix == ".md" and anchor not in anchors(linked):
        return f"{target}: no heading with that anchor in {linked.name}"
    return None


def test_the_readme_is_at_most_150_lines() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"README.md has {lines} lines; move the detail into docs/"


def test_every_readme_command_is_run_by_ci_or_stands_for_something_that_exists() -> None:
    commands = shell_commands(README.read_text(encoding="utf-8"))
    assert commands, "no shell code block found in README.md"
    unexplained = [shlex.join(words) for words in commands if why_it_holds(words) is None]
    assert not unexplained, f"README commands neither run by CI nor naming a target, script or file: {unexplained}"


def test_ci_runs_the_readme_test_command() -> None:
    commands = shell_commands(README.read_text(encoding="utf-8"))
    assert ["make", "test"] in commands
    assert any(line[:2] == ["make", "test"] for line in ci_commands())


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_link_leads_to_a_file_and_anchor_that_exist(page: Path) -> None:
    broken = [f"{page.name}: {problem}" for target in local_links(page) if (problem := broken_link(page, target))]
    assert not broken, "\n".join(broken)


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """The helpers above refuse a made-up target, script, service, variable, file and anchor."""
    assert why_it_holds(["make", "no-such-target"]) is None
    assert why_it_holds(["clara-nothing", "--help"]) is None
    assert why_it_holds(["docker", "compose", "logs", "-f", "no-such-service"]) is None
    assert why_it_holds(["NO_SUCH_SETTING=1", "make", "run"]) is None
    assert why_it_holds(["apt-get", "install", "no-such-package"]) is None
    assert why_it_holds(["MONITOR_PORT=5005", "make", "run"]) == "make targets"
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n## Its `second` part\n\n```sh\n# not a heading\n```\n", encoding="utf-8")
    assert anchors(page) == {"a-page", "its-second-part"}
    assert broken_link(page, "#its-second-part") is None
    assert broken_link(page, "#not-a-heading") is not None
    assert broken_link(page, "missing.md") is not None


def test_the_configuration_page_names_every_variable_of_env_example() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    env_example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", env_example, flags=re.MULTILINE))
    missing = sorted(name for name in listed if f"`{name}`" not in documented)
    assert not missing, f"docs/configuration.md does not document {missing}"
