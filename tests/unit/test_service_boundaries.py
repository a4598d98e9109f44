"""Each service image installs only its own distribution and clara-common: a service imports nothing beyond them."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterable
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


MONITOR_PACKAGE = Path(__file__).resolve().parents[2] / "services" / "monitor" / "clara_monitor"


def monitor_modules() -> dict[str, ast.Module]:
    """Return every clara_monitor module's syntax tree, by dotted name (the package's own as `clara_monitor`)."""
    modules = {}
    for path in sorted(MONITOR_PACKAGE.glob("*.py")):
        name = "clara_monitor" if path.stem == "__init__" else f"clara_monitor.{path.stem}"
        modules[name] = ast.parse(path.read_text(), filename=str(path))
    return modules


def imported(tree: ast.Module, modules: Iterable[str]) -> set[str]:
    """Return the clara_monitor modules `tree` imports anywhere (functions and TYPE_CHECKING blocks included).

    `from clara_monitor import x` is an import of the submodule when there is one, else of the package itself.
    """
    known = set(modules)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in known:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = monitor_modules()
    return {name: imported(tree, modules) - {name} for name, tree in modules.items()}


def is_view(tree: ast.Module) -> bool:
    """A view module defines a Flask blueprint at its top level."""
    return any(
        isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "Blueprint"
        for node in tree.body
    )


def test_no_monitor_module_imports_the_package_itself() -> None:
    """The package's __init__ builds the app from every view: a module that imports it back runs upward."""
    upward = sorted(name for name, targets in import_graph().items() if "clara_monitor" in targets)
    assert upward == []


def test_the_monitor_import_graph_has_no_cycles() -> None:
    graph = import_graph()
    cycles = []
    for start in graph:
        path, stack = [start], [iter(sorted(graph[start]))]
        while stack:
            target = next(stack[-1], None)
            if target is None:
                stack.pop()
                path.pop()
            elif target == start:
                cycles.append([*path, start])
            elif target not in path and target > start:  # each cycle found once, from its least module
                path.append(target)
                stack.append(iter(sorted(graph[target])))
    assert cycles == []


def test_no_view_module_imports_another_view() -> None:
    """What two views share lives below them (request parameters, range answers), never in one of the views."""
    modules = monitor_modules()
    views = {name for name, tree in modules.items() if is_view(tree)}
    assert {"clara_monitor.api", "clara_monitor.estimate", "clara_monitor.views"} <= views
    crossing = sorted(
        (name, target) for name in views for target in imported(modules[name], modules) if target in views - {name}
    )
    assert crossing == []
