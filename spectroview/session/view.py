"""From (file, parameters, visible time range, pixel width) to the image shown.

Two ways to fill a view, both honest about short events:

- **direct**: read just the samples the visible frames need and run the
  engine on them; used when zoomed in (a frame or more per few pixels).
- **overview**: a level-of-detail summary of the whole file built once per
  parameter set in the background (:class:`Overview`): every frame is
  computed and max-pooled into at most a few thousand columns, so a click one
  frame long survives in a one-hour overview (Sonic Visualiser's peak cache
  does the same).  Zoomed-out views are max-pooled from it in milliseconds.

Levels are in dBFS: 0 dB is the level of a full-scale sine at the peak of
its row, on every scale, so the numbers read the same whatever the window
or the frequency axis.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from spectroview.audio.files import AudioInfo, FileSource, prefetched
from spectroview.dsp import ParameterError, SpectrogramParams, StreamingSpectrogram, get_window, spectrogram
from spectroview.dsp.mel import RowWeights, row_weights
from spectroview.dsp.pooling import ColumnPooler, max_by_segments, pixel_bounds, pool_rows

__all__ = [
    "DIRECT_MAX_FRAMES",
    "DIRECT_MAX_WORK",
    "Overview",
    "ViewImage",
    "colour_indices",
    "compute_view",
    "for_display",
    "full_scale_reference",
    "levels_dbfs",
    "reads_overview",
]

#: Largest view computed directly from the file; wider views come from the
#: overview even if it is coarser than the screen (keeps a view under ~0.3 s).
DIRECT_MAX_FRAMES = 40_000
#: The same limit as samples analysed (frames x n_fft): a 65536-point window
#: at a hop of one sample makes a short view as costly as a long one.
DIRECT_MAX_WORK = DIRECT_MAX_FRAMES * 2048
#: Memory budget of one overview's power columns (bytes).
OVERVIEW_BUDGET = 96 * 2**20
OVERVIEW_MAX_COLUMNS = 16_384
#: Level of zero power, in dBFS (below any colour scale).
SILENCE_DB = -300.0


@lru_cache(maxsize=32)
def full_scale_reference(params: SpectrogramParams) -> np.ndarray:
    """The value that reads 0 dBFS in each row: a full-scale sine's peak there (DC and Nyquist: see below).

    A unit-amplitude sine at ``f`` puts ``|W(k - f/df)| / 2`` into bin ``k``
    (``W``: the window's spectrum).  A linear row is one bin, whose peak is
    ``sum(window) / 2``.  Bin 0 and (even ``n_fft``) bin ``n_fft / 2`` hold
    no sine: there 0 dBFS is a full-scale DC and a full-scale cosine at
    Nyquist, which put all of ``sum(window)`` into the bin (a sine's two
    halves of the spectrum fall together), so their reference is
    ``sum(window)``; without this a DC of 0.25 would read -6 dBFS, not -12.  A mel or log row weighs several bins, and a sine
    near its centre feeds all of them (the window's main lobe is several
    bins wide), so the reference is the row's response maximized over sine
    frequencies across the row's band.

    Returns
    -------
    (n_rows,) float64, read-only (cached), in the units of ``spectrogram(y, params)``.
    """
    out = _full_scale_reference(params)
    out.setflags(write=False)
    return out


def _full_scale_reference(params: SpectrogramParams) -> np.ndarray:
    window = get_window(params.window, params.win, n_fft=params.n_fft).astype(np.float64)
    projection = row_weights(params)
    if projection is None:
        out = np.full(params.n_fft // 2 + 1, (window.sum() / 2.0) ** params.power)
        out[0] = window.sum() ** params.power  # full-scale DC
        if params.n_fft % 2 == 0:
            out[-1] = out[0]  # a full-scale cosine at Nyquist: (-1)^n against e^(-i pi n) sums the window too
        return out
    return _projected_sine_reference(window, projection, params)


def _projected_sine_reference(window: np.ndarray, csr: RowWeights, params: SpectrogramParams) -> np.ndarray:
    from spectroview.dsp.mel import row_frequencies

    n_fft = params.n_fft
    sr = params.require_sr()
    df = sr / n_fft
    oversample = max(1, min(16, (1 << 21) // n_fft))
    # |W| at offsets of j / oversample bins.
    spectrum = np.abs(np.fft.rfft(window, n=n_fft * oversample))
    _, edges = row_frequencies(params)
    out = np.empty(csr.shape[0])
    for r in range(csr.shape[0]):
        lo, hi = csr.indptr[r], csr.indptr[r + 1]
        bins, weights = csr.indices[lo:hi], csr.data[lo:hi].astype(np.float64)
        if bins.size == 0:
            out[r] = 1.0
            continue
        band = np.linspace(edges[r], edges[r + 1], 17)
        centres = bins * df
        inside = centres[(centres >= edges[r]) & (centres <= edges[r + 1])]
        # Bin centres matter for rows of a few bins (scalloping); wide rows are flat.
        candidates = np.concatenate([band, inside]) if inside.size <= 16 else band
        offsets = np.abs(bins[None, :] - candidates[:, None] / df) * oversample
        magnitude = np.interp(offsets, np.arange(spectrum.size), spectrum) / 2.0
        out[r] = max(float((weights * magnitude**params.power).sum(axis=1).max()), 1e-30)
    return out


def levels_dbfs(values: np.ndarray, reference: np.ndarray, power: float) -> np.ndarray:
    """``values`` (n_rows, n_cols) to dBFS against :func:`full_scale_reference`.  float32."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(values, reference[:, None].astype(np.float32), dtype=np.float32)
        np.log10(out, out=out)
    out *= np.float32(20.0 / power)
    bad = ~np.isfinite(out)
    if bad.any():
        out[bad] = SILENCE_DB
    return out


@dataclass(frozen=True)
class ViewImage:
    """One computed view.

    Attributes
    ----------
    generation : int
        The request's generation id (the UI drops stale ones).
    levels : (n_rows, n_cols) float32
        dBFS; row 0 is the lowest frequency, column 0 the earliest time.
        Each column is the maximum over the frames it covers.
    x0, x1 : float
        Seconds: left edge of the first column, right edge of the last.
    params : SpectrogramParams
        The parameters (with ``sr``).
    frames_per_column : float
    origin : {"direct", "overview"}
    complete : bool
        False while the overview it came from is still being built.
    wave_min, wave_max : (n_wave,) float32
        Waveform envelope over ``[wave_x0, wave_x1]`` seconds.
    display : (n_display, n_cols) float32 or None
        What to paint: rows ``display_rows`` of ``levels``, max-pooled to
        about twice the screen's height when there are more (see
        :func:`for_display`); None: paint ``levels``.  The numbers a user
        reads (the readout, exports) always come from ``levels``.
    display_rows : (int, int)
        The rows ``[r0, r1)`` of ``levels`` that ``display`` covers.
    indices, index_levels : (n_display, n_cols) uint8, (float, float)
        ``display`` as colour-map indices for the levels ``index_levels``
        (floor, ceiling in dBFS; :func:`colour_indices`), or None.  Painting
        uint8 indices through a colour table is several times cheaper than
        scaling floats on the GUI thread.
    """

    generation: int
    levels: np.ndarray
    x0: float
    x1: float
    params: SpectrogramParams
    frames_per_column: float
    origin: str
    complete: bool
    wave_min: np.ndarray
    wave_max: np.ndarray
    wave_x0: float
    wave_x1: float
    display: np.ndarray | None = None
    display_rows: tuple[int, int] = (0, 0)
    indices: np.ndarray | None = None
    index_levels: tuple[float, float] | None = None

    @property
    def painted(self) -> tuple[np.ndarray, int, int]:
        """The array to paint and the rows ``[r0, r1)`` it covers."""
        if self.display is None:
            return self.levels, 0, self.levels.shape[0]
        return self.display, *self.display_rows


def colour_indices(levels: np.ndarray, floor_db: float, ceiling_db: float) -> np.ndarray:
    """Levels in dBFS as uint8 colour-map indices: ``floor_db`` and below -> 0, ``ceiling_db`` and above -> 255.

    Linear in dB, 256 steps; NaN maps to 0.

    Returns
    -------
    uint8 array of ``levels``' shape.
    """
    if not floor_db < ceiling_db:
        raise ParameterError(f"floor_db={floor_db!r}: must be below ceiling_db={ceiling_db!r}")
    scaled = np.subtract(levels, np.float32(floor_db), dtype=np.float32)
    scaled *= np.float32(256.0 / (ceiling_db - floor_db))
    np.fmax(scaled, 0.0, out=scaled)  # fmax, not maximum: NaN becomes 0
    np.minimum(scaled, 255.0, out=scaled)
    return scaled.astype(np.uint8)


def for_display(
    image: ViewImage,
    height: int,
    rows: tuple[float, float] | None = None,
    levels: tuple[float, float] | None = None,
) -> ViewImage:
    """``image`` with what a screen ``height`` device pixels tall can show of ``rows`` (default: all).

    Painting costs time in proportion to the pixels of the image, on the GUI
    thread; a view at n_fft 32768 has 16385 rows, far more than a screen.
    The visible rows (with half a view of margin on each side, for panning)
    are max-pooled to at most ``height`` rows, one per device pixel, so a
    line one row thick still shows (zoomed-out views never lose what
    zoomed-in views show).  With ``levels`` (floor, ceiling in dBFS) the
    result also carries uint8 colour indices for them.

    Returns
    -------
    ViewImage with ``display``, ``display_rows`` (and ``indices``) set; ``levels`` unchanged.
    """
    n_rows = image.levels.shape[0]
    lo, hi = (0.0, float(n_rows)) if rows is None else (float(min(rows)), float(max(rows)))
    margin = (hi - lo) / 2
    r0 = max(0, math.floor(lo - margin))
    r1 = min(n_rows, math.ceil(hi + margin))
    if r1 <= r0:
        r0, r1 = 0, n_rows
    limit = max(1, int(height))
    block = image.levels[r0:r1]
    display = pool_rows(block, limit) if r1 - r0 > limit else block
    indices = None if levels is None else colour_indices(display, *levels)
    return dataclasses.replace(image, display=display, display_rows=(r0, r1), indices=indices, index_levels=levels)


def _frame_centre(frame: float, params: SpectrogramParams, sr: float) -> float:
    return float(frame) * params.hop / sr


def visible_frames(t0: float, t1: float, params: SpectrogramParams, n_frames: int) -> tuple[int, int]:
    """Frames ``[a, b)`` whose centres fall in ``[t0, t1]`` seconds (at least one)."""
    sr = params.require_sr()
    a = max(0, math.floor(t0 * sr / params.hop))
    b = min(n_frames, math.ceil(t1 * sr / params.hop) + 1)
    if b <= a:
        a = min(max(0, a), n_frames - 1)
        b = a + 1
    return a, b


def _envelope(samples: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    if samples.size == 0:
        return np.zeros(1, np.float32), np.zeros(1, np.float32)
    if samples.size <= width:
        return samples.astype(np.float32), samples.astype(np.float32)
    starts = pixel_bounds(samples.size, width)[:-1]
    return np.minimum.reduceat(samples, starts), np.maximum.reduceat(samples, starts)


class Overview:
    """Whole-file level-of-detail summary for one parameter set.

    Parameters
    ----------
    n_samples : int
        Frames (samples per channel) in the file.
    params : SpectrogramParams
        With ``sr``; centred frames.

    Notes
    -----
    ``build`` fills it progressively (from a worker thread); readers may
    call :meth:`view` at any time and get what is done so far, with the
    rest at silence.  Memory: at most :data:`OVERVIEW_BUDGET` bytes of
    columns plus two floats per column of waveform.
    """

    def __init__(self, n_samples: int, params: SpectrogramParams) -> None:
        self.params = params
        self.sr = params.require_sr()
        self.n_samples = n_samples
        stream = StreamingSpectrogram(self.sr, params)
        self.n_rows = stream.n_rows
        self.n_frames = stream.pending_frames(n_samples)
        max_cols = max(64, min(OVERVIEW_MAX_COLUMNS, OVERVIEW_BUDGET // (4 * self.n_rows)))
        self._pooler = ColumnPooler(self.n_rows, self.n_frames, min(max_cols, self.n_frames))
        self.n_cols = self._pooler.columns.shape[0]
        self.bounds = self._pooler.bounds
        self.frames_per_column = self.n_frames / self.n_cols
        self.wave_min = np.zeros(self.n_cols, np.float32)
        self.wave_max = np.zeros(self.n_cols, np.float32)
        self.frames_done = 0
        self.complete = False
        #: Completed by :meth:`restore` (from the overview cache), not built.
        self.restored = False
        #: What the complete pass met while reading, one line each (damage found
        #: past the header, clipped or non-finite samples); set when it is complete.
        self.warnings: tuple[str, ...] = ()
        # A quick look at the whole file before the exact pass reaches it:
        # one real frame per sampled column (see :meth:`build_preview`).
        self._preview: np.ndarray | None = None  # (n_sampled, n_rows)
        self._preview_cols: np.ndarray | None = None  # (n_sampled,) column index of each

    @property
    def reference(self) -> np.ndarray:
        """:func:`full_scale_reference` of the parameters (cached; first computed by :meth:`build`)."""
        return full_scale_reference(self.params)

    @property
    def fraction_done(self) -> float:
        return self.frames_done / self.n_frames if self.n_frames else 1.0

    def build(
        self,
        source: FileSource,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        progress: Callable[[float], None] | None = None,
        blocksize: int = 1 << 18,
        workers: int | None = None,
    ) -> bool:
        """Compute every frame of ``source``; returns False if cancelled first.

        ``workers`` caps the engine's threads (a background build leaves
        cores to the interactive work).
        """
        self.reference  # noqa: B018  (computed here, off the GUI thread, and cached)
        stream = StreamingSpectrogram(self.sr, self.params, workers=workers)
        # Waveform columns cover the same frames' hops: column c spans
        # samples [bounds[c] * hop, bounds[c + 1] * hop).
        wave_edges = np.minimum(self.bounds * self.params.hop, self.n_samples)
        source.nonfinite_count = source.clipped_count = 0  # counted over this one pass
        known = len(source.info.warnings)
        pos = 0
        # The next block is decoded on another thread while this one is analysed;
        # closing() stops that reader before the caller closes the source.
        with contextlib.closing(prefetched(source.blocks(blocksize), depth=1)) as blocks:
            for block in blocks:
                if cancelled():
                    return False
                self._add_waveform(block, pos, wave_edges)
                pos += block.shape[0]
                for columns in stream.push_bounded(block, reuse=True):  # pooled at once: one buffer
                    if cancelled():  # checked per engine step: a cancelled build frees its core at once
                        return False
                    self._pooler.push(columns)
                self.frames_done = self._pooler.frames_seen
                if progress is not None:
                    progress(self.fraction_done)
        for columns in stream.flush_bounded(reuse=True):
            self._pooler.push(columns)
        self.frames_done = self._pooler.frames_seen
        found = source.warnings[known:]
        if source.nonfinite_count:
            found += (f"{source.nonfinite_count} non-finite samples (NaN/Inf) read as silence",)
        self.warnings = found
        self.complete = True
        self._preview = self._preview_cols = None  # complete views never read it (its memory goes)
        if progress is not None:
            progress(1.0)
        return True

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What a complete overview is: its columns ``(n_cols, n_rows)`` float32 power and the
        waveform envelope ``wave_min``, ``wave_max`` ``(n_cols,)`` float32 (views, not copies)."""
        return self._pooler.columns, self.wave_min, self.wave_max

    def restore(
        self,
        columns: np.ndarray,
        wave_min: np.ndarray,
        wave_max: np.ndarray,
        warnings: tuple[str, ...] = (),
        *,
        copy: bool = True,
    ) -> None:
        """Complete this overview from :meth:`arrays` saved earlier (the overview cache).

        ``copy=False`` takes ``columns`` as the overview's own memory (the
        caller hands it over: a freshly loaded array).

        Raises
        ------
        ParameterError
            Arrays of other shapes or dtypes, or power that is negative or not finite.
        """
        for name, wave in (("wave_min", wave_min), ("wave_max", wave_max)):
            if wave.shape != (self.n_cols,) or wave.dtype != np.float32:
                raise ParameterError(f"{name}: shape {wave.shape} {wave.dtype}, expected ({self.n_cols},) float32")
        if columns.dtype == np.float32 and not (np.isfinite(columns).all() and columns.min(initial=0.0) >= 0):
            raise ParameterError("columns: power must be finite and >= 0")
        self._pooler.fill(columns, copy=copy)
        self.wave_min[:] = wave_min
        self.wave_max[:] = wave_max
        self.warnings = tuple(str(w) for w in warnings)
        self.frames_done = self.n_frames
        self._preview = self._preview_cols = None
        self.restored = True
        self.complete = True

    def build_preview(self, source: FileSource, *, columns: int = 1024) -> None:
        """Compute one frame at the centre of ``columns`` evenly spread overview columns.

        Cheap (``columns`` frames instead of all), so a long file shows its
        whole shape at once; :meth:`view` uses it for the columns the exact
        pass has not reached yet, and marks such views incomplete.  Short
        events between sampled frames may be missing until the exact pass
        arrives: the preview is only ever shown with ``complete=False``.
        """
        n = min(columns, self.n_cols)
        cols = np.unique(np.linspace(0, self.n_cols - 1, n).round().astype(np.int64))
        frames = (self.bounds[cols] + self.bounds[cols + 1] - 1) // 2
        half = self.params.n_fft // 2 if self.params.center else 0
        n_fft, hop = self.params.n_fft, self.params.hop
        chunk = np.zeros((cols.size, n_fft), np.float32)
        for i, frame in enumerate(frames.tolist()):
            start = frame * hop - half
            lo, hi = max(0, start), min(self.n_samples, start + n_fft)
            if hi > lo:
                # A preview: decoders that invent noise may start nearer (exact=False).
                chunk[i, lo - start : hi - start] = source.read(lo, hi, exact=False)
        flat = chunk.reshape(-1)
        one_frame = dataclasses.replace(self.params, center=False, hop_length=n_fft)
        self._preview = np.ascontiguousarray(spectrogram(flat, one_frame).T)
        self._preview_cols = cols

    def _add_waveform(self, block: np.ndarray, pos: int, edges: np.ndarray) -> None:
        end = pos + block.shape[0]
        c0 = int(np.searchsorted(edges, pos, side="right")) - 1
        c1 = int(np.searchsorted(edges, end - 1, side="right")) - 1
        c0, c1 = max(0, c0), min(self.n_cols - 1, c1)
        starts = np.maximum(edges[c0 : c1 + 1], pos) - pos
        keep = starts < block.shape[0]
        starts = starts[keep]
        cols = np.arange(c0, c1 + 1)[keep]
        if not starts.size:
            return
        lo = np.minimum.reduceat(block, starts)
        hi = np.maximum.reduceat(block, starts)
        np.minimum(self.wave_min[cols], lo, out=lo)
        np.maximum(self.wave_max[cols], hi, out=hi)
        self.wave_min[cols] = lo
        self.wave_max[cols] = hi

    def columns_for(self, a: int, b: int) -> tuple[int, int]:
        """Overview columns ``[c0, c1)`` covering frames ``[a, b)``."""
        c0 = int(np.searchsorted(self.bounds, a, side="right")) - 1
        c1 = int(np.searchsorted(self.bounds, b - 1, side="right"))
        return max(0, c0), min(self.n_cols, max(c1, c0 + 1))

    def view(self, t0: float, t1: float, width: int, *, generation: int = 0) -> ViewImage:
        """The range ``[t0, t1]`` s max-pooled to at most ``width`` columns."""
        # Read once, before the columns: a build finishing meanwhile must not
        # mark an image complete whose columns were read before it finished.
        complete = self.complete
        frames_done = self.frames_done
        a, b = visible_frames(t0, t1, self.params, self.n_frames)
        c0, c1 = self.columns_for(a, b)
        cols = self._pooler.columns[c0:c1]  # (n, n_rows), a view
        wmin, wmax = self.wave_min[c0:c1], self.wave_max[c0:c1]
        # Pixel p shows overview columns [c0 + starts[p], c0 + starts[p + 1]).
        starts = pixel_bounds(c1 - c0, width)[:-1] if c1 - c0 > width else np.arange(c1 - c0)
        if frames_done == 0:
            # Nothing built yet: every column is silence (no pass over the
            # whole accumulator, up to OVERVIEW_BUDGET bytes, for it).
            cols = np.zeros((starts.size, self.n_rows), np.float32)
        else:
            cols = max_by_segments(cols, starts)
        if starts.size != wmin.size:
            wmin, wmax = np.minimum.reduceat(wmin, starts), np.maximum.reduceat(wmax, starts)
        # Locals: a build completing meanwhile drops the preview (read once, as ``complete``).
        preview, preview_cols = self._preview, self._preview_cols
        if not complete and preview is not None and preview_cols is not None:
            # Pixels whose columns the exact pass has not finished also show
            # the nearest preview frame (max with whatever is exact there).
            first_pending = int(np.searchsorted(self.bounds, frames_done, side="right")) - 1
            ends = np.append(starts[1:], c1 - c0) + c0
            pending = np.flatnonzero(ends > first_pending)
            if pending.size:
                centre = c0 + (starts[pending] + ends[pending] - c0 - 1) // 2
                nearest = np.searchsorted(preview_cols, centre).clip(0, preview_cols.size - 1)
                left = (nearest - 1).clip(0)
                closer_left = np.abs(preview_cols[left] - centre) < np.abs(preview_cols[nearest] - centre)
                nearest = np.where(closer_left, left, nearest)
                cols[pending] = np.maximum(cols[pending], preview[nearest])
        hop_s = self.params.hop / self.sr
        x0 = _frame_centre(self.bounds[c0], self.params, self.sr) - hop_s / 2
        x1 = _frame_centre(self.bounds[c1] - 1, self.params, self.sr) + hop_s / 2
        return ViewImage(
            generation=generation,
            levels=levels_dbfs(np.ascontiguousarray(cols.T), self.reference, self.params.power),
            x0=x0,
            x1=x1,
            params=self.params,
            frames_per_column=(self.bounds[c1] - self.bounds[c0]) / max(1, cols.shape[0]),
            origin="overview",
            complete=complete,
            wave_min=np.ascontiguousarray(wmin),
            wave_max=np.ascontiguousarray(wmax),
            wave_x0=self.bounds[c0] * hop_s,
            wave_x1=min(self.n_samples, self.bounds[c1] * self.params.hop) / self.sr,
        )


def _reassigned_levels(x: np.ndarray, params: SpectrogramParams, n_frames: int, n_cols: int) -> np.ndarray:
    """Reassigned power of the frames of ``x`` on the view's rows and ``n_cols`` columns, in dBFS.

    Each cell's energy moves to its instantaneous frequency and group delay
    (sharper lines and onsets); every column is the mean over its frames,
    and 0 dBFS is a full-scale sine, whose whole main lobe lands in one row.
    """
    from spectroview.dsp.mel import row_frequencies
    from spectroview.dsp.reassign import reassigned_image, reassigned_spectrogram

    sr = params.require_sr()
    freqs, times, mags = reassigned_spectrogram(
        x, sr=sr, n_fft=params.n_fft, hop_length=params.hop, win_length=params.win, window=params.window,
        center=False, ref_power=0.0, fill_nan=True,
    )  # fmt: skip
    _, row_edges = row_frequencies(params)
    # Frame t of x is centred at (t * hop + n_fft / 2) / sr; columns pool frames evenly.
    frame_edges = (np.arange(n_frames + 1) * params.hop + params.n_fft / 2 - params.hop / 2) / sr
    col_edges = frame_edges[pixel_bounds(n_frames, n_cols)] if n_frames > n_cols else frame_edges
    power = reassigned_image(freqs, times, mags, n_rows_edges_hz=row_edges, column_edges_s=col_edges)
    frames_per_col = np.diff(pixel_bounds(n_frames, n_cols) if n_frames > n_cols else np.arange(n_frames + 1))
    power /= frames_per_col[None, :]
    window = get_window(params.window, params.win, n_fft=params.n_fft).astype(np.float64)
    sine_energy = params.n_fft * float(np.sum(window**2)) / 4.0  # a unit sine's one-sided energy per frame
    return levels_dbfs(power.astype(np.float32), np.full(power.shape[0], sine_energy), 2.0)


class SampleSource(Protocol):
    """What a view reads: a :class:`~spectroview.audio.files.FileSource` or a wrapper of one."""

    @property
    def info(self) -> AudioInfo: ...

    def read(self, start: int, stop: int, *, exact: bool = True) -> np.ndarray:
        """Mono float32 samples ``[start, stop)``."""
        ...


def compute_direct(
    source: SampleSource,
    params: SpectrogramParams,
    t0: float,
    t1: float,
    width: int,
    *,
    generation: int = 0,
    reassigned: bool = False,
) -> ViewImage:
    """The view computed from the samples it needs (zoomed in); optionally reassigned."""
    sr = params.require_sr()
    n_samples = source.info.frames
    n_frames = StreamingSpectrogram(sr, params).pending_frames(n_samples)
    a, b = visible_frames(t0, t1, params, n_frames)
    half = params.n_fft // 2 if params.center else 0
    start = a * params.hop - half
    stop = (b - 1) * params.hop - half + params.n_fft
    x = np.zeros(stop - start, np.float32)
    lo, hi = max(0, start), min(n_samples, stop)
    if hi > lo:
        x[lo - start : hi - start] = source.read(lo, hi)
    # Frames at exactly the file's frame positions: the edges are the zero
    # padding that centring adds (pad_mode="constant", the viewer's mode).
    if reassigned:
        levels = _reassigned_levels(x, params, b - a, min(width, b - a))
    else:
        # In bounded steps, pooled as they come: memory stays one step of
        # columns plus the image, whatever n_fft and hop.
        stream = StreamingSpectrogram(sr, dataclasses.replace(params, center=False))
        pooler = ColumnPooler(stream.n_rows, b - a, min(width, b - a))
        for columns in stream.push_bounded(x, reuse=True):
            pooler.push(columns)
        levels = levels_dbfs(pooler.result(), full_scale_reference(params), params.power)
    hop_s = params.hop / sr
    # The envelope of the samples in view, not of the frames' wider span: it
    # stays the same when only n_fft or the hop changes (nothing to redraw).
    v0, v1 = max(lo, math.floor(t0 * sr)), min(hi, math.ceil(t1 * sr))
    if v1 <= v0:
        v0, v1 = lo, hi
    wave_min, wave_max = _envelope(x[v0 - start : v1 - start] if v1 > v0 else x[:0], width)
    return ViewImage(
        generation=generation,
        levels=levels,
        x0=_frame_centre(a, params, sr) - hop_s / 2,
        x1=_frame_centre(b - 1, params, sr) + hop_s / 2,
        params=params,
        frames_per_column=(b - a) / levels.shape[1],
        origin="reassigned" if reassigned else "direct",
        complete=True,
        wave_min=wave_min,
        wave_max=wave_max,
        wave_x0=v0 / sr,
        wave_x1=v1 / sr,
    )


def compute_view(
    source: SampleSource,
    params: SpectrogramParams,
    t0: float,
    t1: float,
    width: int,
    *,
    overview: Overview | None = None,
    generation: int = 0,
    reassigned: bool = False,
) -> ViewImage:
    """Direct when zoomed in, from ``overview`` when it is fine enough or the view too wide.

    ``reassigned`` applies to direct views (zoomed in); zoomed-out views stay
    the max-pooled overview of the plain spectrogram.
    """
    if overview is not None and overview.params != params:
        overview = None
    if overview is not None and reads_overview(overview, t0, t1, width):
        return overview.view(t0, t1, width, generation=generation)
    return compute_direct(source, params, t0, t1, width, generation=generation, reassigned=reassigned)


def reads_overview(overview: Overview, t0: float, t1: float, width: int) -> bool:
    """Whether :func:`compute_view` draws ``[t0, t1]`` s at ``width`` px from ``overview``.

    It does when the overview's columns are at least as fine as the pixels,
    or when the range holds too many frames (or too much FFT work) to
    compute directly at once.
    """
    a, b = visible_frames(t0, t1, overview.params, overview.n_frames)
    fine_enough = (b - a) / overview.frames_per_column >= width
    return fine_enough or b - a > DIRECT_MAX_FRAMES or (b - a) * overview.params.n_fft > DIRECT_MAX_WORK
