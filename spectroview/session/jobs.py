"""The jobs behind one spectrogram pane, without Qt: views, the level-of-detail overview, the strip.

:class:`PaneJobs` owns the work for one pane (one file, one parameter set):

- **view** images (short jobs in the pane's ``view`` lane: the newest request
  wins, a superseded result is dropped);
- the **overview** (one long job per parameter set, cancellable, with
  progress), started only once the view the user waits for is done, so a
  view never waits behind an overview;
- the **strip** (the whole file from the overview, for the overview strip).

With an :class:`~spectroview.session.overview_cache.OverviewCache`, a finished
overview is kept on disk and the next opening of the same file with the same
parameters takes it from there: the first view job loads it, so even the first
image comes from the complete overview, and no overview is built.

Results arrive on the scheduler's delivering thread (the GUI thread in the
viewer) through psygnal signals.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from psygnal import Signal

from spectroview.audio.files import FileSource
from spectroview.dsp import SpectrogramParams
from spectroview.session.overview_cache import OverviewCache
from spectroview.session.scheduler import Scheduler
from spectroview.session.view import (
    Overview,
    ViewImage,
    colour_indices,
    compute_view,
    for_display,
    reads_overview,
)

__all__ = ["PaneJobs", "SourceRef", "ViewRequest"]

#: Delay before an overview starts when no view is asked for (s).
OVERVIEW_DELAY = 0.25
#: After a parameter change, how long views must be quiet before the new overview starts (s).
SETTLE_DELAY = 0.15
#: Engine threads of an overview build (None: one per core).  One: the other
#: core stays free for the views and the GUI (with both, an hour's overview
#: completed no sooner in the viewer, and the event loop stalled longer).
BUILD_WORKERS: int | None = 1


@dataclass(frozen=True)
class SourceRef:
    """Which audio a pane reads: a file's path, stream, channel (None: the mix) and length in samples."""

    path: Path
    n_samples: int
    channel: int | None = None
    stream: int = 0

    def open(self) -> FileSource:
        return FileSource(self.path, channel=self.channel, stream=self.stream)


class RecentSamples:
    """The samples of the last direct view, kept so that a parameter change re-reads nothing.

    A window or hop change moves a view's sample range only by the frames'
    half-lengths; the samples are the same.  Each read is widened by
    :attr:`MARGIN` samples on both sides and kept (if at most
    :attr:`MAX_SAMPLES`); a later read of the same source inside it is a
    slice.  Thread-safe (views of one pane run one at a time, but a pane's
    source may change meanwhile).
    """

    MARGIN = 1 << 16  # samples: twice the largest n_fft's half
    MAX_SAMPLES = 1 << 23  # 32 MiB of float32: over 3 min at 44.1 kHz

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._start = 0
        self._samples = np.zeros(0, np.float32)

    def reader(self, ref: SourceRef, source: FileSource) -> _RecentReader:
        """``source`` (opened from ``ref``) with its :meth:`FileSource.read` served from here."""
        return _RecentReader(self, ref, source)

    def read(self, ref: SourceRef, source: FileSource, start: int, stop: int) -> np.ndarray:
        """``source.read(start, stop)``: (stop - start,) float32, read-only."""
        try:
            st = os.stat(ref.path)
            key: tuple[object, ...] | None = (ref, st.st_size, st.st_mtime_ns)  # a file changed in place misses
        except OSError:
            key = None
        with self._lock:
            offset = start - self._start
            if key is not None and self._key == key and offset >= 0 and stop - self._start <= self._samples.shape[0]:
                return self._samples[offset : offset + stop - start]
        lo, hi = max(0, start - self.MARGIN), min(source.info.frames, stop + self.MARGIN)
        if hi - lo > self.MAX_SAMPLES:
            return source.read(start, stop)
        samples = source.read(lo, hi)
        samples.flags.writeable = False  # shared by later views
        with self._lock:
            self._key, self._start, self._samples = key, lo, samples
        return samples[start - lo : stop - lo]

    def clear(self) -> None:
        with self._lock:
            self._key, self._samples = None, np.zeros(0, np.float32)


class _RecentReader:
    """What :func:`~spectroview.session.view.compute_view` reads: a source's ``info`` and ``read``."""

    def __init__(self, recent: RecentSamples, ref: SourceRef, source: FileSource) -> None:
        self._recent, self._ref, self._source = recent, ref, source
        self.info = source.info

    def read(self, start: int, stop: int, *, exact: bool = True) -> np.ndarray:
        return self._recent.read(self._ref, self._source, start, stop)

    def __getattr__(self, name: str) -> Any:  # everything else is the source's
        return getattr(self._source, name)


@dataclass(frozen=True)
class ViewRequest:
    generation: int
    params: SpectrogramParams
    t0: float
    t1: float
    width: int
    reassigned: bool = False


class PaneJobs:
    """Jobs for one pane's source and parameter set, with generation ids.

    Signals
    -------
    image_ready(ViewImage)
        The latest requested view (superseded generations are never emitted).
    overview_progress(float)
        Fraction of the overview built, 0..1 (about 10 times a second).
    overview_ready()
        The overview is complete; :attr:`Overview.warnings` says what reading the whole file met.
    strip_ready(ViewImage)
        The whole file from the overview, for the overview strip.
    failed(str)
        A job failed; the message is for the user.
    """

    image_ready = Signal(object)
    strip_ready = Signal(object)
    overview_progress = Signal(float)
    overview_ready = Signal()
    failed = Signal(str)

    def __init__(self, scheduler: Scheduler, name: str = "a", *, cache: OverviewCache | None = None) -> None:
        self.scheduler = scheduler
        #: Where finished overviews are kept between sessions (None: nowhere).
        self.cache = cache
        self._cache_lock = threading.Lock()
        self._cache_checked: Overview | None = None  # the overview whose entry was looked for
        self._announced: Overview | None = None  # the overview whose overview_ready was emitted
        self._view_lane = scheduler.lane(f"{name}.view")
        self._colour_lane = scheduler.lane(f"{name}.colour")
        self._recent = RecentSamples()
        self._first_view = True  # no view of this source delivered yet
        self._strip_lane = scheduler.lane(f"{name}.strip", background=True)
        self.source: SourceRef | None = None
        self.params: SpectrogramParams | None = None
        self.reassigned = False  # reassigned spectrogram for direct (zoomed-in) views
        self.overview: Overview | None = None
        self.latest: ViewImage | None = None
        self.last_error = ""  # the latest failure of a job for this source (for --screenshot)
        self._overview_cancel = threading.Event()
        self._overview_running = False
        self._deferred: Overview | None = None
        self._last_progress = 0.0

    # -- source and parameters ----------------------------------------------------------
    def set_source(self, source: SourceRef | None, params: SpectrogramParams | None) -> None:
        """Show ``source`` under ``params`` (``sr`` set): everything of the previous one is dropped."""
        if source == self.source and params == self.params and self.overview is not None:
            return
        if source != self.source:
            self.latest = None
            self.last_error = ""
            self._recent.clear()
            self._first_view = True
        self.source, self.params = source, params
        self._view_lane.cancel()
        self._colour_lane.cancel()
        self._strip_lane.cancel()
        self._cancel_overview()
        if source is not None and params is not None:
            self.overview = Overview(source.n_samples, params)
            # The view the user waits for goes first: the overview starts when
            # that view is done (or shortly, if no view is asked for).
            self._deferred = self.overview
            overview = self.overview
            self._after(OVERVIEW_DELAY, lambda: self._start_deferred(overview))

    def clear(self) -> None:
        """Nothing to show (live mode, no file): pending work is dropped."""
        self.set_source(None, None)

    @property
    def generation(self) -> int:
        return self._view_lane.generation

    # -- views ----------------------------------------------------------------------------
    def request_view(
        self,
        t0: float,
        t1: float,
        width: int,
        height: int | None = None,
        rows: tuple[float, float] | None = None,
        levels: tuple[float, float] | None = None,
    ) -> int:
        """Ask for the view ``[t0, t1]`` s at ``width`` px; returns its generation id.

        With ``height`` (px), the image also carries what to paint of the
        visible ``rows`` (row coordinates; default all), pooled for that
        height in the job (:func:`~spectroview.session.view.for_display`),
        as colour indices for ``levels`` (floor, ceiling in dBFS) if given.
        """
        source, params, overview = self.source, self.params, self.overview
        if source is None or params is None:
            return self._view_lane.generation
        generation = self._view_lane.generation + 1
        request = ViewRequest(generation, params, float(t0), float(t1), max(1, int(width)), self.reassigned)

        def work() -> ViewImage:
            if overview is not None and reads_overview(overview, request.t0, request.t1, request.width):
                # Only a view drawn from the overview waits for the entry (a
                # large one takes 0.1-0.3 s to read); a direct view does not.
                self._load_cached(source, overview)
            with source.open() as reader:
                image = compute_view(
                    self._recent.reader(source, reader), request.params, request.t0, request.t1, request.width,
                    overview=overview, generation=request.generation, reassigned=request.reassigned,
                )  # fmt: skip
            return image if height is None else for_display(image, height, rows, levels)

        return self._view_lane.submit(work, lambda result: self._view_done(params, result))

    def _view_done(self, params: SpectrogramParams, result: Any) -> None:
        if params != self.params:
            return
        if isinstance(result, Exception):
            self.last_error = str(result)
            self.failed.emit(str(result))
        else:
            self.latest = result
            self.image_ready.emit(result)
        overview = self.overview
        if overview is not None and overview.complete and overview is self._deferred:
            self._deferred = None  # taken from the cache: nothing to build
            self._announce(overview)
        if self._view_lane.busy or self._deferred is None:
            return
        if self._first_view:
            self._first_view = False  # a file just opened: its overview is wanted at once
            self._start_deferred(self._deferred)
            return
        # New parameters: the overview starts once the views have been quiet
        # for SETTLE_DELAY, so a slider being dragged meets no build (nor a
        # cache entry being read) competing with the views it asks for.
        deferred, generation = self._deferred, self._view_lane.generation

        def settled() -> None:
            if self._view_lane.generation == generation and not self._view_lane.busy:
                self._start_deferred(deferred)

        self._after(SETTLE_DELAY, settled)

    def _after(self, delay: float, fn: Callable[[], None]) -> None:
        """Run ``fn()`` on the delivering thread ``delay`` s from now."""
        timer = threading.Timer(delay, lambda: self.scheduler.post(fn))
        timer.daemon = True
        timer.start()

    def recolour(self, levels: tuple[float, float]) -> None:
        """The latest image as colour indices for ``levels`` (floor, ceiling in dBFS): no FFT.

        A colour-map, floor or ceiling change changes no number, only the
        lookup of colours: the image is re-indexed from its pooled display
        rows on a worker (cheap indices keep later repaints cheap) and
        emitted by :attr:`image_ready` with its generation unchanged, unless
        a newer image arrived meanwhile.
        """
        image = self.latest
        if image is None or image.display is None or image.index_levels == levels:
            return
        display = image.display

        def work() -> ViewImage:
            return dataclasses.replace(image, indices=colour_indices(display, *levels), index_levels=levels)

        def done(result: Any) -> None:
            if self.latest is image and not isinstance(result, Exception):
                self.latest = result
                self.image_ready.emit(result)

        self._colour_lane.submit(work, done)

    def request_strip(self, width: int, height: int | None = None, levels: tuple[float, float] | None = None) -> None:
        """The whole file at ``width`` columns from the overview (the newest request wins).

        With ``height`` (px), rows are pooled for painting as in :meth:`request_view`.
        """
        overview = self.overview
        if overview is None:
            return
        duration = overview.n_samples / overview.sr

        def work() -> ViewImage:
            image = overview.view(0.0, duration, width)
            return image if height is None else for_display(image, height, levels=levels)

        def done(result: Any) -> None:
            if overview is self.overview and not isinstance(result, Exception):
                self.strip_ready.emit(result)

        self._strip_lane.submit(work, done)

    def is_idle(self) -> bool:
        return not (
            self._view_lane.busy
            or self._colour_lane.busy
            or self._strip_lane.busy
            or self._overview_running
            or self._deferred
        )

    # -- the overview ------------------------------------------------------------------------
    def _start_deferred(self, overview: Overview | None) -> None:
        if overview is None or overview is not self._deferred or overview is not self.overview:
            return
        if self._view_lane.busy:
            return  # the view the user waits for goes first; its end starts the overview
        self._deferred = None
        self._start_overview(overview)

    def _cancel_overview(self) -> None:
        # The cancelled job ends soon; its result is ignored (not self.overview).
        self._overview_cancel.set()
        self._overview_running = False
        self._deferred = None
        self.overview = None

    def cancel(self) -> None:
        """Stop the overview (closing the window); views still running finish and are dropped."""
        self._view_lane.cancel()
        self._colour_lane.cancel()
        self._strip_lane.cancel()
        self._cancel_overview()

    def _start_overview(self, overview: Overview) -> None:
        source = self.source
        assert source is not None
        cancel = threading.Event()
        self._overview_cancel = cancel
        self._overview_running = True

        def progress(fraction: float) -> None:  # worker thread
            now = time.monotonic()
            if fraction >= 1.0 or now - self._last_progress > 0.1:
                self._last_progress = now
                self.scheduler.post(lambda: self._overview_progress(overview, fraction))

        def step() -> bool:  # between the build's engine steps: views first, then "cancelled?"
            self.scheduler.yield_to_foreground()
            return cancel.is_set()

        def build() -> bool:
            if self._load_cached(source, overview):
                progress(1.0)
                return True
            with source.open() as reader:
                if overview.n_frames > 4 * overview.n_cols:  # long enough for the preview to pay off
                    overview.build_preview(reader)
                    progress(0.0)
                # BUILD_WORKERS engine threads; the build also pauses between
                # engine steps while a view the user waits for runs (step()).
                return overview.build(reader, cancelled=step, progress=progress, workers=BUILD_WORKERS)

        self.scheduler.submit(build, lambda result: self._overview_done(overview, result))

    def _overview_progress(self, overview: Overview, fraction: float) -> None:
        if overview is self.overview and self._overview_running:
            self.overview_progress.emit(fraction)

    def _overview_done(self, overview: Overview, result: Any) -> None:
        if overview is not self.overview:
            return  # a cancelled one; its successor runs
        self._overview_running = False
        if isinstance(result, Exception):
            # E.g. a file damaged past its header: the views stay incomplete,
            # so say so once instead of waiting for an overview that never ends.
            self.last_error = str(result)
            self.failed.emit(str(result))
        elif result:
            self._announce(overview)
            cache, source = self.cache, self.source
            if cache is not None and source is not None and not overview.restored:  # (not one read from the cache)
                # Kept after it is shown: writing 60-100 MB must not delay the picture.
                self.scheduler.submit(lambda: cache.store(source, overview), lambda _result: None)

    def _announce(self, overview: Overview) -> None:
        if self._announced is not overview:
            self._announced = overview
            self.overview_ready.emit()

    def _load_cached(self, source: SourceRef, overview: Overview) -> bool:
        """Complete ``overview`` from the cache (worker thread); looked for once per overview."""
        if self.cache is None:
            return False
        with self._cache_lock:
            if self._cache_checked is not overview:
                self._cache_checked = overview
                self.cache.load(source, overview)
        return overview.complete
