"""Off-GUI-thread computation with generation ids.

:class:`ViewController` owns the jobs for one open file: the level-of-detail
overview (one long job per parameter set, cancellable, with progress) and
view images (short jobs).  At most one view job runs at a time; a request
made meanwhile replaces any request still waiting, so dragging a slider
never builds a backlog, and a result whose generation is no longer the
latest is dropped.  Results come back to the GUI thread as queued signals.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from spectroview.audio.errors import AudioError
from spectroview.audio.files import FileSource
from spectroview.dsp import ParameterError, SpectrogramParams
from spectroview.session.view import Overview, ViewImage, compute_view

__all__ = ["ViewController", "ViewRequest"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ViewRequest:
    generation: int
    params: SpectrogramParams
    t0: float
    t1: float
    width: int
    reassigned: bool = False


def _timer(parent: QObject, interval_ms: int, *, single_shot: bool = False) -> QTimer:
    timer = QTimer(parent)
    timer.setInterval(interval_ms)
    timer.setSingleShot(single_shot)
    return timer


class _Relay(QObject):
    """Lives in the GUI thread; worker threads emit through it (queued)."""

    finished = Signal(object, object)  # (callback, result)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay, on_done: Callable[[Any], None]) -> None:
        super().__init__()
        self.fn, self.relay, self.on_done = fn, relay, on_done
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result: Any = self.fn()
        except (AudioError, ParameterError) as exc:
            result = exc
        except Exception as exc:  # a bug: logged with its traceback, shown as an error
            log.error("worker failed:\n%s", traceback.format_exc())
            result = RuntimeError(f"internal error: {type(exc).__name__}: {exc}")
        self.relay.finished.emit(self.on_done, result)


class ViewController(QObject):
    """Jobs for one file and parameter set, with generation ids.

    Signals
    -------
    imageReady(ViewImage)
        The latest requested view (stale generations are never emitted).
    overviewProgress(float)
        Fraction of the overview built, 0..1 (about 10 times a second).
    overviewReady()
    stripReady(ViewImage)
        The whole file from the overview, for the overview strip.
    failed(str)
        A job failed; the message is for the user.
    idle()
        No job running or waiting, and the overview is complete.
    """

    imageReady = Signal(object)
    stripReady = Signal(object)
    overviewProgress = Signal(float)
    overviewReady = Signal()
    failed = Signal(str)
    idle = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Separate pools: a view never waits behind an overview (a cancelled
        # overview may still be finishing its block while its successor starts).
        self.view_pool = QThreadPool(self)
        self.view_pool.setMaxThreadCount(1)
        self.overview_pool = QThreadPool(self)
        self.overview_pool.setMaxThreadCount(3)  # a build, a cancelled one finishing, the strip
        self._relay = _Relay(self)
        self._relay.finished.connect(lambda callback, result: callback(result))
        self.path: Path | None = None
        self.channel: int | None = None
        self.stream = 0
        self.n_samples = 0
        self.params: SpectrogramParams | None = None
        self.overview: Overview | None = None
        self._overview_cancel = threading.Event()
        self._overview_running = False
        self._generation = 0
        self._running: ViewRequest | None = None
        self._pending: ViewRequest | None = None
        self._last_progress_emit = 0.0
        self.latest: ViewImage | None = None
        self.reassigned = False  # reassigned spectrogram for direct (zoomed-in) views
        self.last_error = ""  # the latest failure of a job for this file, for --screenshot
        self._strip_running = False
        self._strip_pending = False
        self._deferred: Overview | None = None
        self._deferred_timer = _timer(self, 250, single_shot=True)
        self._deferred_timer.timeout.connect(self._start_deferred_overview)

    # -- document and parameters ----------------------------------------------------
    def set_source(self, path: Path, n_samples: int, channel: int | None, stream: int = 0) -> None:
        self.path, self.n_samples, self.channel, self.stream = path, n_samples, channel, stream
        self.last_error = ""
        self.params = None
        self._cancel_overview()
        self.latest = None

    def set_params(self, params: SpectrogramParams) -> None:
        """New parameters (with ``sr``): a new overview is built in the background."""
        if params == self.params and self.overview is not None:
            return
        self.params = params
        self._cancel_overview()
        self.overview = Overview(self.n_samples, params)
        # The view the user waits for goes first: the overview starts when
        # that view is done (or shortly, if no view is asked for).
        self._deferred = self.overview
        self._deferred_timer.start()

    # -- views ------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        return self._generation

    def request_view(self, t0: float, t1: float, width: int) -> int:
        """Ask for the view ``[t0, t1]`` s at ``width`` px; returns its generation id."""
        if self.params is None or self.path is None:
            return self._generation
        self._generation += 1
        request = ViewRequest(self._generation, self.params, float(t0), float(t1), max(1, int(width)), self.reassigned)
        if self._running is None:
            self._start_view(request)
        else:
            self._pending = request  # replaces whatever waited: no backlog
        return self._generation

    def request_strip(self, width: int) -> None:
        """The whole file at ``width`` columns from the overview, off the GUI thread.

        Pooling every row of the overview takes from milliseconds to a few
        hundred ms (n_fft 32768); one job at a time, the latest request wins.
        """
        overview = self.overview
        if overview is None:
            return
        if self._strip_running:
            self._strip_pending = True
            return
        self._strip_running = True
        duration = overview.n_samples / overview.sr

        def work() -> tuple[Overview, ViewImage]:
            return overview, overview.view(0.0, duration, width)

        def done(result: Any) -> None:
            self._strip_running = False
            if isinstance(result, Exception):
                return
            if result[0] is self.overview:
                self.stripReady.emit(result[1])
            if self._strip_pending:
                self._strip_pending = False
                self.request_strip(width)

        self.overview_pool.start(_Job(work, self._relay, done))

    def is_idle(self) -> bool:
        return (
            self._running is None
            and self._pending is None
            and not self._overview_running
            and self._deferred is None
            and not self._strip_running
            and not self._strip_pending
        )

    def wait_for_done(self, timeout_ms: int = 30000) -> bool:
        """Block until no job runs (closing the window, tests)."""
        return self.view_pool.waitForDone(timeout_ms) and self.overview_pool.waitForDone(timeout_ms)

    # -- internals ----------------------------------------------------------------------
    def _open(self) -> FileSource:
        assert self.path is not None
        return FileSource(self.path, channel=self.channel, stream=self.stream)

    def _start_view(self, request: ViewRequest) -> None:
        self._running = request
        overview = self.overview

        def work() -> ViewImage:
            with self._open() as source:
                return compute_view(
                    source, request.params, request.t0, request.t1, request.width,
                    overview=overview, generation=request.generation, reassigned=request.reassigned,
                )  # fmt: skip

        self.view_pool.start(_Job(work, self._relay, self._view_done))

    def _view_done(self, result: Any) -> None:
        request, self._running = self._running, None
        if isinstance(result, Exception):
            self.last_error = str(result)
            self.failed.emit(str(result))
        elif request is not None and result.generation == self._generation:
            self.latest = result
            self.imageReady.emit(result)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._start_view(pending)
        else:
            self._start_deferred_overview()
            if self.is_idle():
                self.idle.emit()

    def _start_deferred_overview(self) -> None:
        self._deferred_timer.stop()
        overview, self._deferred = self._deferred, None
        if overview is not None and overview is self.overview:
            self._start_overview(overview)

    def _cancel_overview(self) -> None:
        # The cancelled job ends soon; its result is ignored (not self.overview).
        self._overview_cancel.set()
        self._overview_running = False
        self._deferred = None
        self.overview = None

    def _start_overview(self, overview: Overview) -> None:
        cancel = threading.Event()
        self._overview_cancel = cancel
        self._overview_running = True

        def progress(fraction: float) -> None:
            now = time.monotonic()
            if fraction >= 1.0 or now - self._last_progress_emit > 0.1:
                self._last_progress_emit = now
                self._relay.finished.emit(self._overview_progress, (overview, fraction))

        def work() -> tuple[Overview, bool | Exception]:
            try:
                return overview, build()
            except (AudioError, ParameterError) as exc:
                return overview, exc

        def build() -> bool:
            with self._open() as source:
                if overview.n_frames > 4 * overview.n_cols:  # long enough for the preview to pay off
                    overview.build_preview(source)
                    progress(0.0)
                # One engine thread: the other core stays free for the views
                # the user is waiting for.
                return overview.build(source, cancelled=cancel.is_set, progress=progress, workers=1)

        self.overview_pool.start(_Job(work, self._relay, self._overview_done))

    def _overview_progress(self, payload: tuple[Overview, float]) -> None:
        overview, fraction = payload
        if overview is self.overview:
            self.overviewProgress.emit(fraction)

    def _overview_done(self, result: Any) -> None:
        if isinstance(result, Exception):  # a bug in the job itself (logged by _Job)
            self._overview_running = False
            self.last_error = str(result)
            self.failed.emit(str(result))
            return
        overview, completed = result
        if overview is not self.overview:
            return  # a cancelled one; its successor is running
        self._overview_running = False
        if isinstance(completed, Exception):
            # E.g. a file damaged past its header: the views stay incomplete,
            # so say so once instead of waiting for an overview that never ends.
            self.last_error = str(completed)
            self.failed.emit(str(completed))
        elif completed:
            self.overviewReady.emit()
        if self.is_idle():
            self.idle.emit()
