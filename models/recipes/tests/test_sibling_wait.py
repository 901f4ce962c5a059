"""A training process that waits for the other one's files (train_demo.py --sibling-pid, as
build_demo_pack.sh runs them) stops promptly when that process fails, is killed, or takes
too long. Run from models/recipes: python3 -m unittest discover -s tests -v"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RECIPES))

from sibling_wait import (SiblingFailed, failure_marker, pid_alive, record_failure,  # noqa: E402
                          wait_for_sibling_file)

POLL = 0.05
# a sibling process starts in well under a second; the waiter must notice it within a few polls
PROMPT = 10.0


class SiblingWait(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.work = Path(self.tmp.name)
        self.wanted = self.work / "clip.pt"
        self.children: list[subprocess.Popen] = []

    def tearDown(self):
        for child in self.children:
            if child.poll() is None:
                child.kill()
            child.wait()
        self.tmp.cleanup()

    def sibling(self, body: str) -> subprocess.Popen:
        """A Python process running `body` with WORK (the temporary folder), WANTED (the file the
        test waits for) and this folder's sibling_wait importable. Not reaped until tearDown:
        once it exits it stays a zombie, as an unreaped child of build_demo_pack.sh would."""
        code = textwrap.dedent(f"""\
            import os, sys, time
            from pathlib import Path
            sys.path.insert(0, {str(RECIPES)!r})
            from sibling_wait import failure_marker, record_failure
            WORK, WANTED = Path({str(self.work)!r}), Path({str(self.wanted)!r})
            """) + textwrap.dedent(body)
        child = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)  # its traceback: not ours
        self.children.append(child)
        return child

    def wait(self, child: subprocess.Popen | None, timeout: float = 60.0) -> float:
        started = time.monotonic()
        wait_for_sibling_file(self.wanted, sibling_pid=child.pid if child else None,
                              marker=failure_marker(self.work, child.pid) if child else None,
                              timeout=timeout, poll=POLL)
        return time.monotonic() - started

    def test_a_failing_sibling_stops_the_waiter_with_its_error(self):
        child = self.sibling("""\
            with record_failure(failure_marker(WORK, os.getpid()), "sibling --stages clip"):
                time.sleep(0.3)
                raise ValueError("out of memory in stage_clip")
            """)
        started = time.monotonic()
        with self.assertRaises(SiblingFailed) as caught:
            self.wait(child)
        self.assertLess(time.monotonic() - started, PROMPT)
        message = str(caught.exception)
        self.assertIn("sibling --stages clip failed", message)
        self.assertIn("ValueError: out of memory in stage_clip", message)
        self.assertIn("Traceback", message)
        self.assertNotEqual(child.wait(), 0)

    def test_a_killed_sibling_stops_the_waiter(self):
        child = self.sibling("time.sleep(60)\n")  # killed before it writes anything, marker included
        threading.Timer(0.3, child.kill).start()
        started = time.monotonic()
        with self.assertRaisesRegex(SiblingFailed, f"pid {child.pid}. exited without writing it"):
            self.wait(child)
        self.assertLess(time.monotonic() - started, PROMPT)

    def test_a_sibling_that_dies_on_import_stops_the_waiter(self):
        child = self.sibling("import no_such_module_anywhere\n")
        with self.assertRaises(SiblingFailed):
            self.wait(child)

    def test_returns_once_the_sibling_writes_the_file(self):
        child = self.sibling("""\
            time.sleep(0.3)
            WANTED.write_bytes(b"weights")
            time.sleep(60)
            """)
        self.assertLess(self.wait(child), PROMPT)
        self.assertTrue(pid_alive(child.pid))

    def test_returns_when_the_sibling_wrote_the_file_and_exited(self):
        child = self.sibling("WANTED.write_bytes(b'weights')\n")
        child_exit = child.wait()
        self.assertEqual(child_exit, 0)
        self.wait(child)

    def test_the_deadline_stops_a_wait_on_a_live_but_stuck_sibling(self):
        child = self.sibling("time.sleep(60)\n")
        started = time.monotonic()
        with self.assertRaisesRegex(TimeoutError, "clip.pt"):
            self.wait(child, timeout=0.5)
        self.assertGreaterEqual(time.monotonic() - started, 0.5)
        self.assertLess(time.monotonic() - started, PROMPT)
        self.assertTrue(pid_alive(child.pid))

    def test_the_deadline_alone_without_a_sibling_pid(self):
        with self.assertRaises(TimeoutError):
            self.wait(None, timeout=0.2)


class RecordFailure(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.marker = Path(self.tmp.name) / "train-1.failed"

    def tearDown(self):
        self.tmp.cleanup()

    def test_success_and_exit_zero_leave_no_marker(self):
        with record_failure(self.marker, "p"):
            pass
        with self.assertRaises(SystemExit), record_failure(self.marker, "p"):
            sys.exit(0)
        self.assertFalse(self.marker.exists())

    def test_an_error_leaves_the_traceback_and_goes_on(self):
        with self.assertRaises(KeyError), record_failure(self.marker, "train_demo.py --stages prior"):
            {}["prior.pt"]
        text = self.marker.read_text()
        self.assertTrue(text.startswith("train_demo.py --stages prior failed:\nTraceback"), text)
        self.assertIn("KeyError: 'prior.pt'", text)
        self.assertEqual([p.name for p in self.marker.parent.iterdir()], [self.marker.name])  # no partial file left

    def test_a_non_zero_exit_leaves_its_code(self):
        with self.assertRaises(SystemExit), record_failure(self.marker, "p"):
            sys.exit(2)
        self.assertEqual(self.marker.read_text(), "p exited with code 2\n")


if __name__ == "__main__":
    unittest.main()
