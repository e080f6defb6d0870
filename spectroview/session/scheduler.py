"""Work off the GUI thread, without Qt: lanes in which the newest request wins.

A :class:`Scheduler` runs jobs on a :class:`concurrent.futures.ThreadPoolExecutor`
and hands every result to a ``deliver`` function, which the viewer injects
("run this on the GUI thread"); without one, results wait in a queue until
:meth:`Scheduler.run_pending` runs them on the calling thread (plain tests).

A :class:`Lane` is one kind of job (pane A's view, the spectrum slice, the
pitch track, ...).  In a lane at most one job runs; a request made meanwhile
replaces any request still waiting, so dragging a slider never builds a
backlog; each request gets a generation id, and only the result of the
newest request is delivered (an older one is dropped).  A lane's state is
touched only on the delivering thread, so it needs no locks.

Job functions run on a worker thread and must not touch the model; user
errors (:class:`~spectroview.audio.AudioError`,
:class:`~spectroview.dsp.ParameterError`) come back as the result, bugs as a
``RuntimeError`` whose traceback is logged.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from spectroview.audio.errors import AudioError
from spectroview.dsp import ParameterError

__all__ = ["Lane", "Scheduler"]

log = logging.getLogger(__name__)

Deliver = Callable[[Callable[[], None]], None]


def call_job(fn: Callable[[], Any]) -> Any:
    """``fn()``, or the user error it raised, or a ``RuntimeError`` for a bug (traceback logged)."""
    try:
        return fn()
    except (AudioError, ParameterError) as exc:
        return exc
    except Exception as exc:  # a bug: logged with its traceback, shown as an error
        log.error("job failed:\n%s", traceback.format_exc())
        return RuntimeError(f"internal error: {type(exc).__name__}: {exc}")


def _lower_priority(niceness: int) -> None:
    """Run this worker thread at a lower CPU priority than the thread that delivers (the GUI).

    With two cores and several jobs, the GUI thread would otherwise wait for
    a core behind them; on Linux a thread's own niceness can be raised by
    its thread id.  Elsewhere this does nothing.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):
        pass


@dataclass
class _Request:
    generation: int
    fn: Callable[[], Any]
    on_done: Callable[[Any], None]


class Lane:
    """One kind of job: one runs at a time, the newest waiting request replaces older ones.

    Create with :meth:`Scheduler.lane`.
    """

    def __init__(self, scheduler: Scheduler, name: str, *, background: bool = False) -> None:
        self.scheduler = scheduler
        self.name = name
        self.background = background
        self.generation = 0
        self._running: _Request | None = None
        self._pending: _Request | None = None

    @property
    def busy(self) -> bool:
        """A job runs or waits in this lane."""
        return self._running is not None or self._pending is not None

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None]) -> int:
        """Run ``fn()`` on a worker; ``on_done(result or error)`` on the delivering thread if still newest.

        Returns the request's generation id.
        """
        self.generation += 1
        request = _Request(self.generation, fn, on_done)
        if self._running is None:
            self._start(request)
        else:
            self._pending = request  # replaces whatever waited: no backlog
        return self.generation

    def cancel(self) -> None:
        """Drop the waiting request and the result of the running one (it still finishes)."""
        self.generation += 1
        self._pending = None

    def _start(self, request: _Request) -> None:
        self._running = request
        self.scheduler._run(request.fn, lambda result: self._finished(request, result), self.background)

    def _finished(self, request: _Request, result: Any) -> None:
        self._running = None
        newest = request.generation == self.generation
        pending, self._pending = self._pending, None
        if pending is not None:
            self._start(pending)
        if newest:
            request.on_done(result)


class Scheduler:
    """Worker threads, and the one place results come back through.

    Parameters
    ----------
    deliver : callable or None
        ``deliver(fn)`` must run ``fn()`` soon on the thread that owns the
        model (the viewer passes a queued Qt signal).  None: results queue up
        for :meth:`run_pending`.
    max_workers : int
        Threads for interactive jobs (views, slices, pitch tracks: what the
        user waits for).  Background jobs (overviews, strips) have their own
        threads, so a view never queues behind an overview.
    """

    def __init__(self, deliver: Deliver | None = None, *, max_workers: int = 2) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers, thread_name_prefix="spectroview-job", initializer=_lower_priority, initargs=(5,)
        )
        self._background = ThreadPoolExecutor(
            4, thread_name_prefix="spectroview-background", initializer=_lower_priority, initargs=(10,)
        )
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._deliver: Deliver = deliver if deliver is not None else self._queue.put
        self._lanes: dict[str, Lane] = {}
        self._outstanding = 0  # jobs whose result is not delivered yet (any thread)
        self._lock = threading.Lock()
        self._idle_callbacks: list[Callable[[], None]] = []
        self._closed = False
        self._foreground_running = 0  # interactive jobs running now (any thread)
        self._foreground_idle = threading.Event()
        self._foreground_idle.set()

    def lane(self, name: str, *, background: bool = False) -> Lane:
        """The lane called ``name`` (created on first use; ``background``: on the background threads)."""
        if name not in self._lanes:
            self._lanes[name] = Lane(self, name, background=background)
        return self._lanes[name]

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None], *, background: bool = True) -> None:
        """Run ``fn()`` without lane rules (long jobs with their own cancellation, on the background threads)."""
        self._run(fn, on_done, background)

    def yield_to_foreground(self, timeout: float = 1.0) -> None:
        """Wait (up to ``timeout`` s) while an interactive job runs: for long background jobs, between steps.

        Thread priorities order the cores but not Python's GIL: an overview
        build running beside a view slows the view the user waits for by
        half or more.  Calling this at each step makes the build pause
        instead; ``timeout`` bounds the pause, so a stream of views never
        starves it.
        """
        self._foreground_idle.wait(timeout)

    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` on the delivering thread (from any thread): progress reports, timers."""
        if not self._closed:
            self._deliver(fn)

    @property
    def busy(self) -> bool:
        """Some job has not delivered its result yet."""
        with self._lock:
            return self._outstanding > 0

    def on_idle(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (on the delivering thread) each time the last outstanding job is delivered."""
        self._idle_callbacks.append(callback)

    def run_pending(self, timeout: float = 0.0) -> int:
        """Run delivered results on this thread (without ``deliver``); waits up to ``timeout`` s for the first."""
        ran = 0
        block = timeout > 0
        while True:
            try:
                fn = self._queue.get(block=block, timeout=timeout if block else None)
            except queue.Empty:
                return ran
            fn()
            ran += 1
            block = False

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Run pending results until no job is outstanding (without ``deliver``: tests, scripts)."""
        deadline = time.monotonic() + timeout
        while self.busy or not self._queue.empty():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.run_pending(min(left, 0.05))
        return True

    def shutdown(self, *, wait: bool = True) -> None:
        """No new jobs; with ``wait``, block until the running ones end (their results are dropped)."""
        self._closed = True
        for executor in (self._executor, self._background):
            executor.shutdown(wait=wait, cancel_futures=True)

    # -- internals ------------------------------------------------------------------------
    def _run(self, fn: Callable[[], Any], on_done: Callable[[Any], None], background: bool = False) -> None:
        if self._closed:
            return
        with self._lock:
            self._outstanding += 1
        job = fn if background else self._foreground(fn)
        try:
            future = (self._background if background else self._executor).submit(call_job, job)
        except RuntimeError:  # shut down meanwhile
            with self._lock:
                self._outstanding -= 1
            return

        def done(f: Future[Any]) -> None:
            result = f.result() if not f.cancelled() else RuntimeError("cancelled")

            def finish() -> None:
                with self._lock:
                    self._outstanding -= 1
                if not self._closed:
                    on_done(result)
                self._maybe_idle()

            self._deliver(finish)

        future.add_done_callback(done)

    def _foreground(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """``fn`` counted as running interactive work while it runs (see :meth:`yield_to_foreground`)."""

        def run() -> Any:
            with self._lock:
                self._foreground_running += 1
                self._foreground_idle.clear()
            try:
                return fn()
            finally:
                with self._lock:
                    self._foreground_running -= 1
                    if not self._foreground_running:
                        self._foreground_idle.set()

        return run

    def _maybe_idle(self) -> None:
        if not self.busy and not any(lane.busy for lane in self._lanes.values()):
            for callback in list(self._idle_callbacks):
                callback()
