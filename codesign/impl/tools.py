"""Running the synthesis and place-and-route tools: the YoWASP wheels (yosys, nextpnr-ecp5,
ecppack, pinned in pyproject.toml) and Debian's native yosys for the Xilinx flow. Each run's
output goes to a log under DIR/impl/; a run past its time limit is reported, not hidden."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from codesign.errors import CodesignError


class ToolTimeout(Exception):
    """A tool ran past its limit (the caller reports it as a result: 'did not finish in N s')."""

    def __init__(self, tool: str, seconds: float):
        super().__init__(f"{tool} did not finish in {seconds:.0f} s")
        self.tool, self.seconds = tool, seconds


def yowasp(name: str) -> list[str]:
    """The command line of a YoWASP tool installed beside this Python (e.g. 'yosys', 'nextpnr-ecp5')."""
    exe = Path(sys.executable).parent / f"yowasp-{name}"
    if not exe.is_file() and shutil.which(f"yowasp-{name}") is None:
        raise CodesignError(f"yowasp-{name} not found; install the project's dependencies (make setup)")
    return [str(exe) if exe.is_file() else shutil.which(f"yowasp-{name}")]


def native_yosys() -> list[str]:
    if shutil.which("yosys") is None:
        raise CodesignError("yosys not found on PATH; install it (Debian: apt-get install -y yosys)")
    return ["yosys"]


def run_tool(cmd: list[str], cwd: Path, log: Path, timeout: float) -> tuple[int, float]:
    """Run `cmd` in `cwd` with stdout and stderr to `log`; (exit code, seconds). Raises ToolTimeout.
    The YoWASP tools see only the files under `cwd` by relative paths, so every path is relative."""
    start = time.monotonic()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise ToolTimeout(Path(cmd[0]).name, timeout) from None
    return code, time.monotonic() - start


def version(cmd: list[str], flag: str = "-V") -> str:
    try:
        out = subprocess.run([*cmd, flag], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def last_error(log: Path) -> str:
    lines = [ln for ln in Path(log).read_text(errors="replace").splitlines() if "ERROR" in ln or "error" in ln]
    return lines[-1].strip() if lines else f"see {log}"
