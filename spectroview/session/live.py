"""Live spectrogram: columns from a ring buffer into a preallocated image ring.

The image ring is mirrored like :class:`~spectroview.audio.RingBuffer`:
``2 * n_cols`` columns, each new column written at ``c % n_cols`` and
``c % n_cols + n_cols``, so the latest ``n_cols`` columns are always one
contiguous slice, shown without ``np.roll`` or any copy.  Only the new
columns are computed and written per update.

Changing the parameters recomputes the whole history from the samples still
in the ring buffer, so the picture changes but never goes blank.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from spectroview.audio.ringbuffer import RingBuffer, RingBufferError
from spectroview.dsp import ParameterError, SpectrogramParams, StreamingSpectrogram
from spectroview.dsp.pooling import max_by_segments, pixel_bounds
from spectroview.session.view import SILENCE_DB, colour_indices, full_scale_reference, levels_dbfs

__all__ = ["HISTORY_RANGE", "LiveSpectrogram", "LiveView", "Meter", "meter"]

#: History lengths offered, in seconds.
HISTORY_RANGE = (2.0, 60.0)
#: Largest live image ring (bytes).  60 s at 48 kHz, n_fft 2048, hop 256 takes
#: 92 MB; settings such as hop 64 at n_fft 8192 for 60 s (1.5 GB) are refused.
LIVE_IMAGE_BUDGET = 512 * 2**20


@dataclass(frozen=True)
class Meter:
    """Levels of the latest audio, in dBFS (0 dBFS: full scale, +-1.0)."""

    peak_db: float
    rms_db: float


def meter(samples: np.ndarray) -> Meter:
    """Peak and RMS of ``samples`` in dBFS (``-inf`` for silence or no samples)."""
    if samples.size == 0:
        return Meter(-math.inf, -math.inf)
    peak = float(np.max(np.abs(samples)))
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    to_db = lambda v: 20.0 * math.log10(v) if v > 0 else -math.inf  # noqa: E731
    # A full-scale sine has RMS 1/sqrt(2): dBFS for RMS is re a full-scale sine.
    return Meter(to_db(peak), to_db(rms * math.sqrt(2.0)))


@dataclass(frozen=True)
class LiveView:
    """What to draw: the latest ``n_cols`` columns, oldest first.

    Attributes
    ----------
    levels : (n_rows, n_cols) float32
        dBFS; a view into the image ring (valid until the next update).
    x0, x1 : float
        Seconds of stream time covered (left edge of the first column,
        right edge of the last).
    params : SpectrogramParams
    filled : int
        Columns that hold data (the rest, on the left, are silence).
    indices : (display_rows, n_cols) uint8 or None
        The same picture for drawing: rows max-pooled to the display height
        and levels quantized to colour-table indices (0: floor, 255:
        ceiling), kept up to date column by column (see
        :meth:`LiveSpectrogram.set_display`).
    ring : (display_rows, m) uint8 or None
        The C-contiguous array ``indices`` is a view of (the engine's image
        ring, written in place as columns arrive), so a view can draw
        straight from it with no per-frame copy; ``indices`` is
        ``ring[:, ring_start : ring_start + n_cols]``.  In the engine's ring,
        column ``c`` (counting from the stream's start) is at ``c % n_cols``
        and ``n_cols + c % n_cols``.
    ring_start : int
    columns_done : int
        Columns computed since the stream started (the newest is
        ``columns_done - 1``): what is new since an earlier view.
    """

    levels: np.ndarray
    x0: float
    x1: float
    params: SpectrogramParams
    filled: int
    indices: np.ndarray | None = None
    ring: np.ndarray | None = None
    ring_start: int = 0
    columns_done: int = 0


class LiveSpectrogram:
    """Turns the samples of a :class:`RingBuffer` into a scrolling image.

    Parameters
    ----------
    ring : RingBuffer
        Mono samples at ``sr``, written by a :class:`~spectroview.audio.MicSource`.
    sr : float
    params : SpectrogramParams
        Template or bound; bound to ``sr`` here.
    history_seconds : float
        Width of the picture in seconds, within :data:`HISTORY_RANGE`.

    Notes
    -----
    The engine here reads the ring with absolute indices and keeps its own
    cursor, so the ring buffer's consuming ``pop`` stays free for other
    readers (a recorder).  If the reader falls more than the ring's capacity
    behind, the lost samples are skipped and counted in :attr:`skipped`.
    """

    def __init__(self, ring: RingBuffer, sr: float, params: SpectrogramParams, history_seconds: float = 10.0) -> None:
        lo, hi = HISTORY_RANGE
        if not lo <= history_seconds <= hi:
            raise ParameterError(f"history_seconds={history_seconds!r}: must be in [{lo:g}, {hi:g}] s")
        self.ring = ring
        self.sr = float(sr)
        self.history_seconds = float(history_seconds)
        self.skipped = 0
        #: Columns converted to colour indices as they arrived (not counting whole-ring
        #: conversions by :meth:`set_display`): each update converts only its new columns.
        self.columns_indexed = 0
        self._display: tuple[float, float, int | None] | None = None
        self._set_params(params.with_sr(sr))
        self._cursor = self.ring.write_index  # start from now
        self._first_sample = self._cursor

    # -- parameters ------------------------------------------------------------------
    def _set_params(self, params: SpectrogramParams) -> None:
        # Centred frames with zero padding at the start of the stream: frame
        # t is centred on stream sample t * hop, like the file viewer's frames.
        params = dataclasses.replace(params, center=True, pad_mode="constant")
        n_cols = max(2, math.ceil(self.history_seconds * self.sr / params.hop))
        stream = StreamingSpectrogram(self.sr, params)
        if stream.n_rows * 2 * n_cols * 4 > LIVE_IMAGE_BUDGET:
            smallest = math.ceil(self.history_seconds * self.sr * stream.n_rows * 8 / LIVE_IMAGE_BUDGET)
            raise ParameterError(
                f"hop_length={params.hop}: {n_cols} columns of {stream.n_rows} rows for {self.history_seconds:g} s "
                f"of history is too much for live mode; use hop_length >= {smallest}, a shorter history or a smaller n_fft"
            )
        # Everything is allocated before any state changes, so a failure leaves the engine as it was.
        image = np.full((stream.n_rows, 2 * n_cols), SILENCE_DB, dtype=np.float32)
        self.params, self.hop, self.n_cols, self._stream, self.n_rows = (
            params,
            params.hop,
            n_cols,
            stream,
            stream.n_rows,
        )
        self._reference = full_scale_reference(self.params)
        self._image = image
        self._indices: np.ndarray | None = None
        if self._display is not None:
            self.set_display(*self._display)
        self._columns = 0  # absolute count of columns computed (frame index of the next one)
        self._origin = 0  # absolute sample index of the stream's sample 0

    def set_params(self, params: SpectrogramParams, history_seconds: float | None = None) -> None:
        """New parameters (and/or history length): the history is recomputed from the ring."""
        if history_seconds is not None:
            lo, hi = HISTORY_RANGE
            if not lo <= history_seconds <= hi:
                raise ParameterError(f"history_seconds={history_seconds!r}: must be in [{lo:g}, {hi:g}] s")
            self.history_seconds = float(history_seconds)
        self._set_params(params.with_sr(self.sr))
        # Start the new stream far enough back to fill the picture with what
        # the ring still holds (aligned to the old origin, so frame times of
        # the old and new parameter sets line up on the same stream clock).
        want = self.ring.write_index - self.n_cols * self.hop
        start = max(self.ring.oldest_index, self._first_sample, want)
        start = self._first_sample + math.ceil((start - self._first_sample) / self.hop) * self.hop
        self._origin = start
        self._cursor = start
        self._columns = (start - self._first_sample) // self.hop
        self.update()

    # -- updates ------------------------------------------------------------------------
    def update(self, max_samples: int | None = None) -> int:
        """Compute the columns the newly written samples complete; returns how many."""
        ring = self.ring
        end = ring.write_index
        if max_samples is not None:
            end = min(end, self._cursor + max_samples)
        if self._cursor < ring.oldest_index:
            self._skip_to_oldest()
        if end <= self._cursor:
            return 0
        try:
            samples = ring.read(self._cursor, end)
        except RingBufferError:
            # The writer lapped us during the read (a GUI stall as long as
            # the ring): skip what was lost, as above, and read again.
            self._skip_to_oldest()
            end = ring.write_index
            if end <= self._cursor:
                return 0
            samples = ring.read(self._cursor, end, copy=True)
        self._cursor = end
        cols = self._stream.push(samples)
        k = cols.shape[1]
        if k == 0:
            return 0
        levels = levels_dbfs(cols, self._reference, self.params.power)
        self._write_columns(levels)
        return k

    def _skip_to_oldest(self) -> None:
        """Fell behind by more than the ring holds: go on from the oldest
        samples still there (plus a margin, so the writer does not lap the
        next read at once), on the same frame grid; the samples passed over
        are counted in :attr:`skipped`."""
        ring = self.ring
        margin = min(ring.capacity // 4, round(0.5 * self.sr))
        target = ring.oldest_index + margin
        origin = self._first_sample + math.ceil((target - self._first_sample) / self.hop) * self.hop
        self.skipped += origin - self._cursor
        self._stream = StreamingSpectrogram(self.sr, self.params)
        self._origin = origin
        self._cursor = origin
        self._columns = (origin - self._first_sample) // self.hop

    def _write_columns(self, levels: np.ndarray) -> None:
        n = self.n_cols
        k = levels.shape[1]
        if k > n:  # more than the picture holds: keep the newest
            self._columns += k - n
            levels = levels[:, -n:]
            k = n
        start = self._columns % n
        first = min(k, n - start)
        targets = [(self._image, levels)]
        if self._indices is not None:
            targets.append((self._indices, self._to_indices(levels)))
            self.columns_indexed += k
        for ring, values in targets:
            for offset in (0, n):  # both halves of the mirror
                ring[:, offset + start : offset + start + first] = values[:, :first]
                if k > first:
                    ring[:, offset : offset + k - first] = values[:, first:]
        self._columns += k

    # -- display ------------------------------------------------------------------------
    def set_display(self, floor_db: float, ceiling_db: float, rows: int | None = None) -> None:
        """Keep a drawable copy: rows max-pooled to ``rows`` and levels as uint8 colour indices.

        Drawing uint8 indices at about the screen's height costs a fraction of
        converting the float picture each frame; only new columns are
        converted as they arrive.  Changing the levels or the height
        converts the whole ring once.
        """
        if not floor_db < ceiling_db:
            raise ParameterError(f"floor_db={floor_db!r}: must be below ceiling_db={ceiling_db!r}")
        self._display = (float(floor_db), float(ceiling_db), rows)
        self._display_starts = pixel_bounds(self.n_rows, rows)[:-1] if rows is not None and rows < self.n_rows else None
        self._indices = self._to_indices(self._image)

    def _to_indices(self, levels: np.ndarray) -> np.ndarray:
        assert self._display is not None
        floor_db, ceiling_db, _ = self._display
        if self._display_starts is not None:
            levels = max_by_segments(levels, self._display_starts)
        return colour_indices(levels, floor_db, ceiling_db)

    # -- reading ------------------------------------------------------------------------
    @property
    def columns_done(self) -> int:
        return self._columns

    def latest_time(self) -> float:
        """Stream time (s since the first sample) of the newest column's centre."""
        return (self._columns - 1) * self.hop / self.sr

    def sample_time(self, index: int) -> float:
        """Stream time (s) of absolute ring sample ``index``."""
        return (index - self._first_sample) / self.sr

    def view(self, *, copy: bool = False) -> LiveView:
        """The latest ``n_cols`` columns as one contiguous view (no copy).

        With ``copy=True`` the arrays are snapshots that later updates do not
        change (a frozen picture).
        """
        n = self.n_cols
        start = self._columns % n
        levels = self._image[:, start : start + n]
        newest = self._columns - 1
        oldest = newest - n + 1
        half = self.hop / self.sr / 2
        view = LiveView(
            levels=levels,
            x0=(oldest * self.hop) / self.sr - half,
            x1=(newest * self.hop) / self.sr + half,
            params=self.params,
            filled=min(n, self._columns),
            indices=None if self._indices is None else self._indices[:, start : start + n],
            ring=self._indices,
            ring_start=start,
            columns_done=self._columns,
        )
        if copy:
            indices = None if view.indices is None else view.indices.copy()
            view = dataclasses.replace(view, levels=view.levels.copy(), indices=indices, ring=indices, ring_start=0)
        return view

    def column_at(self, t: float) -> np.ndarray | None:
        """Levels (n_rows,) of the column at stream time ``t`` s, if still in the picture."""
        frame = round(t * self.sr / self.hop)
        if not self._columns - self.n_cols <= frame < self._columns or frame < 0:
            return None
        return self._image[:, frame % self.n_cols]

    def history_samples(self) -> tuple[int, int]:
        """Absolute ring indices ``[start, stop)`` of the samples behind the picture."""
        stop = self.ring.write_index
        start = max(self.ring.oldest_index, stop - round(self.history_seconds * self.sr), self._first_sample)
        return start, stop
