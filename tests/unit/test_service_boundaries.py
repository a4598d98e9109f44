"""Each service image installs only its own distribution and clara-common: a service imports nothing beyond them."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata

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


# module -> the distribution its image installs (services/Dockerfile): the service, with clara-common
IMAGE_DISTRIBUTION = {
    "clara_seed.cli": "clara-seed",
    "clara_logger.cli": "clara-logger",
    "clara_monitor.cli": "clara-monitor",
}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_with(distribution: str) -> set[str]:
    """Return `distribution` and everything it requires in turn, with the extras each requirement asks for."""
    wanted = [Requirement(distribution)]
    found: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = normalized(requirement.name)
        if name in found:
            continue
        found.add(name)
        for line in metadata.requires(requirement.name) or []:
            needed = Requirement(line)
            extras = requirement.extras or {""}
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra}) for extra in extras):
                wanted.append(needed)
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


@pytest.mark.parametrize("module", sorted(IMAGE_DISTRIBUTION))
def test_a_service_imports_with_only_what_its_image_installs(module: str) -> None:
    allowed = installed_with(IMAGE_DISTRIBUTION[module])
    done = subprocess.run([sys.executable, "-c", IMAGE_PROBE, module, *sorted(allowed)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
