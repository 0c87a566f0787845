import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(Path(__file__).parent))  # helper modules beside the tests
sys.path.insert(0, str(ROOT / "sim"))            # the cocotb runner and the random RTL designs


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
