import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(Path(__file__).parent))  # helper modules beside the tests
sys.path.insert(0, str(ROOT / "sim"))            # the cocotb runner and the random RTL designs


def pytest_configure(config):
    """One fresh seed for the run's random designs (sim/designs.py: run_seed), set before the
    xdist workers start so that they all draw the same designs; CODESIGN_SEED=N replays a run."""
    os.environ.setdefault("CODESIGN_SEED", str(random.SystemRandom().randrange(1 << 31)))


def pytest_report_header(config):
    return f"CODESIGN_SEED={os.environ['CODESIGN_SEED']} (set it to replay this run's random designs)"


def run_cli(*args, cwd=None, check=False, timeout=600):
    """Run the installed `codesign` CLI as a user would; returns the CompletedProcess."""
    proc = subprocess.run([sys.executable, "-m", "codesign.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"codesign {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture
def example_path():
    return lambda name: EXAMPLES / f"{name}.json"


@pytest.fixture
def example_dict():
    return lambda name: json.loads((EXAMPLES / f"{name}.json").read_text())
