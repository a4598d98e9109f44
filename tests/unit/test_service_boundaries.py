"""Each service image installs only its own requirements, so a service must import nothing beyond them."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
