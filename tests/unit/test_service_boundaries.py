"""Each service image installs only its own requirements, so a service must import nothing beyond them."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

# module -> packages it must never load (another service's code, or a requirement its image lacks)
FORBIDDEN = {
    "clara_seed.cli": ["clara_logger", "clara_monitor", "flask", "whylogs", "polars"],
    "clara_logger.cli": ["clara_monitor", "clara_seed", "flask", "gunicorn"],
    "clara_monitor.cli": ["clara_logger", "clara_seed", "whylogs", "pandas", "scipy"],
}


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_service_imports_stay_within_its_image(module: str) -> None:
    probe = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"print(' '.join(sorted(p for p in {FORBIDDEN[module]!r} if p in sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"{module} loads {loaded}"


# module -> the requirements files of its image (services/common's, then the service's own)
IMAGE_REQUIREMENTS = {
    "clara_seed.cli": ["services/common/requirements.txt", "services/mongo-seed/requirements.txt"],
    "clara_logger.cli": ["services/common/requirements.txt", "services/logger/requirements.txt"],
    "clara_monitor.cli": ["services/common/requirements.txt", "services/monitor/requirements.txt"],
}
ROOT = Path(__file__).resolve().parents[2]


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_with(files: list[str]) -> set[str]:
    """Return the distributions the requirements files name, and everything they require in turn."""
    wanted = [
        Requirement(line.split("#")[0].strip())
        for file in files
        for line in (ROOT / file).read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    found: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = normalized(requirement.name)
        if name in found or (requirement.marker is not None and not requirement.marker.evaluate({"extra": ""})):
            continue
        found.add(name)
        wanted += [Requirement(r) for r in metadata.requires(requirement.name) or []]
    return found


# Run in a fresh interpreter: every distribution outside `allowed` cannot be imported, as in the image,
# so an optional import a library guards is skipped there too, and a hard one fails.
IMAGE_PROBE = """
import importlib, re, sys
from importlib import metadata
module, allowed = sys.argv[1], set(sys.argv[2:])
distributions = metadata.packages_distributions()

def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()

class NotInTheImage:
    def find_spec(self, name, path=None, target=None):
        names = {normalized(d) for d in distributions.get(name.split(".")[0], [])}
        if names and not names & allowed:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the image: {sorted(names)})", name=name)
        return None

sys.meta_path.insert(0, NotInTheImage())
importlib.import_module(module)
"""


@pytest.mark.parametrize("module", sorted(IMAGE_REQUIREMENTS))
def test_a_service_imports_with_only_what_its_image_installs(module: str) -> None:
    # The repository's own distribution (the services' code) and setuptools, which the Dockerfiles install.
    allowed = installed_with(IMAGE_REQUIREMENTS[module]) | {"clara-monitor", "setuptools"}
    done = subprocess.run([sys.executable, "-c", IMAGE_PROBE, module, *sorted(allowed)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
