"""Stopping a run: Ctrl-C and SIGTERM print one line (no traceback), exit 130 / 143, keep what
finished, and no worker process outlives the main one."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

psutil = pytest.importorskip("psutil")
pytest.importorskip("torch")

CMD = ["sweep", "--activation", "tanh", "relu", "--seeds", "2", "--seeds-per-task", "1", "--epochs", "4000",
       "--hidden", "8", "5", "--estimators", "ebab", "--record-points", "20", "--pack-seeds", "0",
       "--no-progress", "--no-plots"]


def _start(tmp_path, workers: int) -> tuple[subprocess.Popen, psutil.Process]:
    proc = subprocess.Popen([sys.executable, "-m", "ibfast.cli", *CMD, "--workers", str(workers),
                             "--out", str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, psutil.Process(proc.pid)


def _wait_for_workers(main: psutil.Process, n: int) -> list[psutil.Process]:
    """The worker processes once ``n`` of them run training (spawned children importing torch)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        workers = [c for c in main.children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]
        if len(workers) >= n:
            time.sleep(3)  # let them reach a task
            return main.children(recursive=True)
        time.sleep(0.2)
    pytest.fail("the workers did not start")


@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"),
                                             (signal.SIGINT, 130, "interrupted")])
def test_a_stopped_sweep_ends_its_workers_and_says_so_in_one_line(tmp_path, sig, code, word):
    proc, main = _start(tmp_path, workers=2)
    children = _wait_for_workers(main, 2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    text = err.decode()
    assert "Traceback" not in text and f"ibfast sweep: {word}" in text and "same command resumes" in text
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, f"orphans: {[(p.pid, p.cmdline()) for p in alive]}"
