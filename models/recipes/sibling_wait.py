"""How the two training processes of build_demo_pack.sh wait for each other's files without
hanging when the other one dies. No torch here (tests/test_sibling_wait.py drives it as it is).

A training process that fails leaves a failure marker, WORK/train-<pid>.failed, with what it
was running and its traceback (record_failure). A process that needs a file of the other one
(wait_for_sibling_file) polls for it and stops with SiblingFailed as soon as
- the other process's failure marker appears (the marker's text is the message), or
- the other process is gone without writing the file (killed before it could leave a marker,
  e.g. by the OOM killer, or it died importing its modules),
and with TimeoutError once its deadline passes (a process that is alive but stuck).
"""
from __future__ import annotations

import contextlib
import os
import time
import traceback
from pathlib import Path
from typing import Iterator


class SiblingFailed(RuntimeError):
    """The process whose file we wait for failed, or exited without writing it."""


def failure_marker(work: Path, pid: int) -> Path:
    """Where process `pid` leaves its failure marker."""
    return work / f"train-{pid}.failed"


def write_failure_marker(path: Path, text: str) -> None:
    """Written under another name, then renamed: a reader sees all of the text or no file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


@contextlib.contextmanager
def record_failure(path: Path, what: str) -> Iterator[None]:
    """Runs the body; if it raises (an error, Ctrl-C, sys.exit with a non-zero code), leaves the
    failure marker `path` ("<what> failed:" and the traceback), then lets the exception go on."""
    try:
        yield
    except SystemExit as e:
        if e.code not in (None, 0):
            write_failure_marker(path, f"{what} exited with code {e.code!r}\n")
        raise
    except BaseException:
        write_failure_marker(path, f"{what} failed:\n{traceback.format_exc()}")
        raise


def pid_alive(pid: int) -> bool:
    """Whether process `pid` still runs. A zombie (exited, not yet reaped by its parent) is gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux), or it exited just now (the next poll sees that)
        return True
    return stat[stat.rindex(")") + 2] not in "ZX"  # the state field follows "(comm) "


def wait_for_sibling_file(path: Path, *, sibling_pid: int | None, marker: Path | None, timeout: float,
                          poll: float = 5.0, what: str = "the other training process") -> None:
    """Returns once `path` exists. Raises SiblingFailed when `marker` (the sibling's failure
    marker) appears, or when process `sibling_pid` is gone and `path` is still missing;
    TimeoutError after `timeout` seconds. Either check is skipped when its argument is None."""
    deadline = time.monotonic() + timeout
    while True:
        # liveness first, the files after: a sibling that wrote `path` and then exited is fine
        gone = sibling_pid is not None and not pid_alive(sibling_pid)
        if path.exists():
            return
        if marker is not None and marker.exists():
            raise SiblingFailed(f"waiting for {path.name}: {marker.read_text().rstrip()}")
        if gone:
            raise SiblingFailed(f"waiting for {path.name}: {what} (pid {sibling_pid}) exited without writing it "
                                f"and left no failure marker ({marker}): killed? see its log")
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"waited {timeout:.0f} s for {path} ({what}"
                               f"{f', pid {sibling_pid}' if sibling_pid is not None else ''}); giving up")
        time.sleep(min(poll, left))
