"""Writing results so that nothing is lost: atomic writes, a lock per run folder, npz reads that fail
with one line. Every checkpoint and result file of codesign is written through `atomic_path`."""

from __future__ import annotations

import errno
import fcntl
import os
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from codesign.errors import CodesignError

LOCK = ".codesign.lock"


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside `path` (same suffix, for np.savez and torch.save); on success it
    replaces `path` in one step (os.replace), so a kill mid-write leaves the old file whole."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def check_writable(path: str | Path) -> None:
    """Before a long step: fail now, not after it, if its result file cannot be written (an OSError
    the CLI prints on one line)."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise CodesignError(f"{path} is a folder or device, not a result file; move it away")
    probe = path.with_name(f".{path.name}.{os.getpid()}.probe")
    probe.write_bytes(b"")
    probe.unlink()


@contextmanager
def run_lock(folder: str | Path, verb: str):
    """Hold an exclusive lock on `folder` (created if missing) for the whole command; a second
    command on the same folder stops at once with one line instead of interleaving its files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise CodesignError(f"{folder} is in use by another codesign {verb}; wait for it to finish "
                                f"or pass another --out") from None
        yield


def read_npz(path: str | Path, remedy: str) -> dict[str, np.ndarray]:
    """Every array of an .npz file, read now, so that a truncated or foreign file fails here with one
    line (`remedy` says how to mend it) and not later inside the code that uses it."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an .npz archive")
        with data:
            return {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise CodesignError(f"{path}: not found; {remedy}") from None
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CodesignError(f"{path}: not a readable .npz file ({reason}); {remedy}") from None


def describe_os_error(e: OSError) -> str:
    """One line for a file-system error the code did not foresee in detail: the path, the reason, a fix."""
    where = e.filename or "a file"
    if e.filename2:
        where = f"{e.filename} -> {e.filename2}"
    fixes = {errno.EACCES: "fix its permissions or choose a writable folder",
             errno.EPERM: "fix its permissions or choose a writable folder",
             errno.EROFS: "the file system is read-only: choose a writable folder",
             errno.ENOSPC: "the disk is full: free space or choose another folder",
             errno.ENOENT: "a file or folder is missing: check the path, or regenerate it with the step that writes it",
             errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
             errno.EISDIR: "this is a folder; give a file",
             errno.EEXIST: "something already exists there: choose another path"}
    return f"{where}: {e.strerror or e}; {fixes.get(e.errno, 'check the path and try again')}"
