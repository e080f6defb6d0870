"""Run many ``spectroview`` command lines, each in a forked child of one warm process.

Usage: ``python -m tests.fuzz.runner JOBS.json RESULTS.json``.  JOBS.json
holds ``{"jobs": [{"argv": [...], "stdout": PATH, "stderr": PATH}, ...],
"workers": N, "timeout": S, "memory": BYTES}``.

The imports (numpy, scipy, PyAV, PySide6, pyqtgraph, the whole package) are
paid once here; each job is then a ``fork()`` that runs
:func:`spectroview.cli.main` as the console script would (its return value
is the exit status; an escaping exception prints its traceback and exits
1), with file descriptors 1 and 2 on the job's files, under
``RLIMIT_AS`` (the warm image plus ``memory`` bytes) and a wall-clock
``timeout`` after which the child is killed and the job marked as a hang.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import threading
import time
import traceback

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy  # noqa: F401
import psutil
import scipy.fft
import scipy.signal  # noqa: F401

import spectroview.ui.app  # noqa: F401  (PySide6 and pyqtgraph, imported before any fork)
from spectroview import cli


def _child(job: dict, memory: int) -> None:
    try:
        out = os.open(job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        err = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        vms = psutil.Process().memory_info().vms
        resource.setrlimit(resource.RLIMIT_AS, (vms + memory, resource.RLIM_INFINITY))
        status = cli.main(job["argv"])
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def main(jobs_path: str, results_path: str) -> int:
    spec = json.loads(open(jobs_path).read())
    jobs, workers, timeout, memory = spec["jobs"], spec["workers"], spec["timeout"], spec["memory"]
    assert threading.active_count() == 1, "a thread before fork() would be copied half-way"
    results: list[dict | None] = [None] * len(jobs)
    running: dict[int, tuple[int, float]] = {}  # pid -> (job index, start)
    next_job = 0
    while next_job < len(jobs) or running:
        while next_job < len(jobs) and len(running) < workers:
            pid = os.fork()
            if pid == 0:
                _child(jobs[next_job], memory)
            running[pid] = (next_job, time.monotonic())
            next_job += 1
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:
            index, started = running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            results[index] = {"status": code, "seconds": time.monotonic() - started, "hang": False}
            continue
        now = time.monotonic()
        for pid, (index, started) in list(running.items()):
            if now - started > timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                running.pop(pid)
                results[index] = {"status": -9, "seconds": now - started, "hang": True}
        time.sleep(0.005)
    with open(results_path, "w") as f:
        json.dump(results, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
