"""The lock (issue 20, item 6): constraints.txt pins every version that `make install` and the images
install. It is stale when a pyproject.toml, tests/e2e/requirements.txt or a Dockerfile asks for a version
it does not pin (run `make lock`), and useless unless every install that resolves dependencies uses it."""

from __future__ import annotations

import re
import shlex
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "constraints.txt"
PYPROJECTS = [ROOT / "pyproject.toml", *sorted(ROOT.glob("services/*/pyproject.toml"))]
E2E_REQUIREMENTS = ROOT / "tests" / "e2e" / "requirements.txt"
DOCKERFILES = sorted(
    path for path in ROOT.glob("**/Dockerfile") if not {".venv", "build", ".git"} & set(path.relative_to(ROOT).parts)
)


def locked_versions() -> dict[NormalizedName, str]:
    """Return each package the lock pins, by canonical name, with its exact version."""
    pins: dict[NormalizedName, str] = {}
    for line in LOCK.read_text().splitlines():
        if not line or line[0].isspace() or line.startswith("#"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"constraints.txt: {line!r} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def workspace_names() -> set[NormalizedName]:
    """Return the names of the workspace's own distributions (installed from their folders, never locked)."""
    return {canonicalize_name(tomllib.loads(path.read_text())["project"]["name"]) for path in PYPROJECTS}


def pyproject_requirements(path: Path) -> list[str]:
    """Return every requirement a pyproject.toml states: its dependencies and each extra's."""
    project = tomllib.loads(path.read_text())["project"]
    extras = project.get("optional-dependencies", {}).values()
    return [*project.get("dependencies", []), *(line for extra in extras for line in extra)]


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """Return a Dockerfile's instructions as (keyword, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    instructions = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments))
    return instructions


def pip_installs(path: Path) -> list[list[str]]:
    """Return the words of each `pip ... install ...` command that a Dockerfile's RUN instructions run."""
    commands = []
    for keyword, arguments in dockerfile_instructions(path):
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", arguments):
            words = shlex.split(command)
            if words and words[0] == "pip" and "install" in words:
                commands.append(words)
    return commands


def stated_requirements() -> list[tuple[str, str]]:
    """Return (where, requirement) for every third-party requirement stated in the repository."""
    stated = [(path.relative_to(ROOT).as_posix(), line) for path in PYPROJECTS for line in pyproject_requirements(path)]
    for line in E2E_REQUIREMENTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            stated.append(("tests/e2e/requirements.txt", line))
    for path in DOCKERFILES:
        for words in pip_installs(path):
            # A quoted requirement such as "pymongo>=4.9,<5"; one made of a build argument, by its default.
            defaults = dockerfile_arg_defaults(path)
            for word in words[words.index("install") + 1 :]:
                if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*[=<>!~]", word):
                    stated.append((path.relative_to(ROOT).as_posix(), expand(word, defaults)))
    ours = workspace_names()
    return [(where, line) for where, line in stated if canonicalize_name(Requirement(line).name) not in ours]


def dockerfile_arg_defaults(path: Path) -> dict[str, str]:
    """Return the default of each ARG of a Dockerfile that has one."""
    defaults = {}
    for keyword, arguments in dockerfile_instructions(path):
        if keyword == "ARG" and "=" in arguments:
            name, _, value = arguments.partition("=")
            defaults[name.strip()] = value.strip()
    return defaults


def expand(word: str, defaults: dict[str, str]) -> str:
    """Replace each ${NAME} in a word by the build argument's default."""
    return re.sub(r"\$\{(\w+)\}", lambda match: defaults[match.group(1)], word)


def test_the_lock_pins_every_stated_requirement_at_a_version_it_allows() -> None:
    pins = locked_versions()
    stale = []
    for where, line in stated_requirements():
        requirement = Requirement(line)
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned, prereleases=True):
            stale.append(f"{where}: {line} (locked: {pinned or 'nothing'})")
    assert not stale, "constraints.txt is stale, run `make lock`:\n" + "\n".join(stale)


def test_the_lock_pins_no_distribution_of_the_workspace() -> None:
    # pip takes no local folder as a constraint, and a name on the index must never replace one of ours.
    assert not workspace_names() & set(locked_versions())


def test_every_dockerfile_install_that_resolves_dependencies_uses_the_lock() -> None:
    assert {path.relative_to(ROOT).as_posix() for path in DOCKERFILES} >= {
        "services/Dockerfile",
        "tests/e2e/Dockerfile",
        "deploy/mongo/Dockerfile",
    }
    unlocked = []
    for path in DOCKERFILES:
        copies_lock = any(
            keyword == "COPY" and arguments.split()[0] == "constraints.txt"
            for keyword, arguments in dockerfile_instructions(path)
        )
        for words in pip_installs(path):
            constraint = words[words.index("-c") + 1] if "-c" in words else ""
            locked = copies_lock and Path(constraint).name == "constraints.txt"
            if "--no-deps" not in words and not locked:
                unlocked.append(f"{path.relative_to(ROOT)}: {shlex.join(words)}")
    assert not unlocked, "installs without the lock:\n" + "\n".join(unlocked)


def test_make_install_installs_with_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK := constraints\.txt$", makefile, re.MULTILINE)
    recipe = re.search(r"^\$\(STAMP\):(?P<prerequisites>.*)\n(?P<recipe>(?:\t.*\n|.*\\\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    assert "$(LOCK)" in recipe["prerequisites"].split(), "a new lock must reinstall .venv"
    installs = [line for line in re.sub(r"\\\n", " ", recipe["recipe"]).splitlines() if "pip install" in line]
    assert len(installs) == 2 and all("-c $(LOCK)" in line for line in installs), installs


def test_this_environment_has_the_locked_versions() -> None:
    # What `make install` did: every locked package present here is at its locked version. Not setuptools,
    # locked as the build backend only: the one here (if any) is what `python -m venv` put in.
    installed = {canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}
    pins = {name: pin for name, pin in locked_versions().items() if name != "setuptools"}
    differ = {name: (installed[name], pin) for name, pin in pins.items() if installed.get(name, pin) != pin}
    assert not differ, f"installed and locked versions differ (make install): {differ}"
    assert {"numpy", "whylogs", "flask", "pymongo"} <= installed.keys() & pins.keys()
