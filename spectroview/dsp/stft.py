"""Vectorized short-time Fourier power, offline and streaming.

One frame engine serves both paths.  Frames are strided views of the input
(no framed copy of the signal); they are windowed, transformed and reduced
to power in blocks of a few hundred frames, float32 end to end, so the
scratch memory is a few MB whatever the signal length and the work stays in
cache.  Centre padding is applied to the edges only, never by copying the
whole signal.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import as_strided

from spectroview.dsp._fft import rfft
from spectroview.dsp.mel import banded_projection
from spectroview.dsp.params import ParameterError, SpectrogramParams, mono_signal
from spectroview.dsp.windows import window_samples

__all__ = [
    "StreamingSpectrogram",
    "frame_times",
    "get_window",
    "melspectrogram",
    "spectrogram",
    "stft_power",
]

#: Scratch budget per block, in float32 samples of windowed frames (1 MB per
#: thread, plus 1.5x that for the spectrum and magnitudes): small enough to
#: stay in cache, large enough to amortize Python overhead (128 frames at
#: n_fft 2048 run as fast as 512).
_BLOCK_SAMPLES = 1 << 18
_WORKERS = max(1, os.cpu_count() or 1)

#: Most bytes of output one step of :meth:`StreamingSpectrogram.push_bounded` makes
#: (a 65536-point FFT at a hop of 1 sample would otherwise make 128 KiB per input sample).
COLUMN_BUDGET = 32 * 2**20


@lru_cache(maxsize=64)
def _window_cached(window: str, win_length: int, n_fft: int, dtype: type = np.float32) -> np.ndarray:
    w = window_samples(window, win_length)
    lpad = (n_fft - win_length) // 2
    full = np.zeros(n_fft, dtype=np.float64)
    full[lpad : lpad + win_length] = w
    out: np.ndarray = full.astype(dtype)
    out.setflags(write=False)
    return out


def get_window(window: str, win_length: int, *, n_fft: int | None = None) -> np.ndarray:
    """Periodic analysis window, zero-padded in the centre to ``n_fft``.

    Same as librosa's ``pad_center(get_window(window, win_length,
    fftbins=True), size=n_fft)``.

    Returns
    -------
    (n_fft,) float32, read-only (cached)
    """
    p = SpectrogramParams(n_fft=n_fft or win_length, win_length=win_length, window=window)
    return _window_cached(p.window, p.win, p.n_fft)


def frame_times(n_frames: int, params: SpectrogramParams) -> np.ndarray:
    """Time in seconds of each frame's centre.  (n_frames,) float64.

    Frame ``t`` covers input samples ``[t*hop - pad, t*hop - pad + n_fft)``
    with ``pad = n_fft // 2`` when centred (else 0).  Its window (of
    ``win_length`` samples, placed ``(n_fft - win_length) // 2`` samples in)
    is centred ``(n_fft - win_length) // 2 + win_length / 2`` samples after
    the frame start: ``n_fft / 2`` for a full-length window, half a sample
    earlier when ``n_fft - win_length`` is odd.  Centred, with a full-length
    window and even ``n_fft``: exactly ``t * hop / sr``.
    """
    sr = params.require_sr()
    pad = params.n_fft // 2 if params.center else 0
    window_centre = (params.n_fft - params.win) // 2 + params.win / 2
    return (np.arange(n_frames) * params.hop - pad + window_centre) / sr


#: Rows the FFT transforms together with SIMD (4 or 8 here, 16 with AVX-512).  ducc0
#: transforms a short remainder row by row, rounding differently; padding every
#: batch to whole groups makes each frame's bits independent of how the frames
#: were batched, so streaming output equals offline output exactly.
_FFT_GROUP = 16


def _whole_groups(rows: int) -> int:
    return -(-rows // _FFT_GROUP) * _FFT_GROUP


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    # Computational parallelism only, like scipy.fft's ``workers=``: numpy
    # ufuncs, pocketfft and the sparse product release the GIL, so threads
    # that each run the whole window->FFT->power->rows pipeline on their own
    # run of frames scale with cores.  (FFT-only threading leaves the other
    # stages serial and stops at about half the speed.)
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="spectroview-dsp")
        return _POOL


class _FrameEngine:
    """Window + rfft + power + row projection for blocks of frames.

    ``precise``: the window and the FFT in float64, as librosa computes them
    (its float64 window promotes the frames), the power stored as float32.
    In float32, a bin 140 dB below the frame's loudest keeps only a few
    digits (the FFT's rounding is relative to the frame's norm); that is
    invisible in an image but not in the dB matrix a model reads.
    """

    def __init__(self, params: SpectrogramParams, *, workers: int | None = None, precise: bool = False) -> None:
        self.n_fft = params.n_fft
        self.hop = params.hop
        self.n_bins = self.n_fft // 2 + 1
        self.precise = bool(precise)
        self.window = _window_cached(params.window, params.win, params.n_fft, np.float64 if precise else np.float32)
        self.power = float(params.power)
        self.projection = banded_projection(params) if params.sr is not None else None
        self.n_rows = self.n_bins if self.projection is None else self.projection.n_rows
        self.block_frames = max(16, _BLOCK_SAMPLES // self.n_fft)
        self.workers = max(1, workers or _WORKERS)

    def frames_view(self, x: np.ndarray, n_frames: int) -> np.ndarray:
        """(n_frames, n_fft) read-only strided view of contiguous float32 ``x``."""
        step = x.strides[0]
        return as_strided(x, shape=(n_frames, self.n_fft), strides=(self.hop * step, step), writeable=False)

    def compute_into(self, frames: np.ndarray, out_t: np.ndarray) -> None:
        """Rows for ``frames`` (n, n_fft) float32 written to ``out_t`` (n, n_rows) float32."""
        n = frames.shape[0]
        n_parts = min(self.workers, n // self.block_frames)
        if n_parts <= 1:
            self._compute_serial(frames, out_t)
            return
        bounds = [n * k // n_parts for k in range(n_parts + 1)]
        futures = [
            _pool().submit(self._compute_serial, frames[b0:b1], out_t[b0:b1]) for b0, b1 in itertools.pairwise(bounds)
        ]
        for future in futures:
            future.result()

    def _compute_serial(self, frames: np.ndarray, out_t: np.ndarray) -> None:
        n = frames.shape[0]
        block = min(n, self.block_frames)
        wide = self.precise
        scratch = np.empty((_whole_groups(block), self.n_fft), dtype=np.float64 if wide else np.float32)
        spectrum = np.empty((_whole_groups(block), self.n_bins), dtype=np.complex128 if wide else np.complex64)
        magnitude = None if self.projection is None else np.empty((block, self.n_bins), dtype=np.float32)
        magnitude64 = np.empty((block, self.n_bins)) if wide else None
        for b0 in range(0, n, block):
            b1 = min(n, b0 + block)
            rows = b1 - b0
            padded = _whole_groups(rows)
            np.multiply(frames[b0:b1], self.window, out=scratch[:rows])
            scratch[rows:padded] = 0.0
            spec = rfft(scratch[:padded], out=spectrum[:padded])[:rows]
            # |X| through numpy's complex abs (hypot, vectorized) then a
            # square is faster than re*re + im*im on the interleaved pairs.
            target = out_t[b0:b1] if magnitude is None else magnitude[:rows]
            level = target if magnitude64 is None else magnitude64[:rows]
            np.abs(spec, out=level)
            if self.power == 2.0:
                np.square(level, out=level)
            elif self.power != 1.0:
                np.power(level, self.power, out=level)
            if level is not target:
                target[...] = level
            if self.projection is not None:
                # (BLAS may round a row's sum differently with its place in the batch:
                # projected rows agree across batchings to float32 rounding, not bit for bit.)
                self.projection.apply(target, out_t[b0:b1])

    def empty_output(self, n_frames: int) -> np.ndarray:
        # Fortran order: each frame's column is contiguous, as the engine
        # writes it (and as librosa lays out its STFT matrices).
        return np.empty((self.n_rows, n_frames), dtype=np.float32, order="F")


class StreamingSpectrogram:
    """STFT power (or mel/log rows) of a signal that arrives in blocks.

    ``push(block)`` returns the columns that the samples so far complete;
    ``flush()`` ends the stream and returns the centred tail frames.  The
    concatenation of all returned columns equals the offline
    :func:`spectrogram` of the concatenated signal, for any partition.

    Parameters
    ----------
    sr : float
        Sample rate in Hz.
    params : SpectrogramParams
        Analysis parameters; bound to ``sr``.
    precise : bool
        Window and FFT in float64 (as librosa), output float32; about 1.5x
        the time.  For numbers far below the maximum (a model's dB matrix).

    Notes
    -----
    Latency: a frame is returned once its last sample has arrived, i.e.
    ``n_fft - n_fft // 2`` samples after its centre when centred.  Memory is
    bounded by one frame of carry-over plus one block of output.
    """

    def __init__(
        self, sr: float, params: SpectrogramParams | None = None, *, workers: int | None = None, precise: bool = False
    ) -> None:
        self.params = (params or SpectrogramParams()).with_sr(sr)
        self.sr = float(sr)
        self._engine = _FrameEngine(self.params, workers=workers, precise=precise)
        n_fft = self.params.n_fft
        self._half = n_fft // 2
        self._carry = np.zeros(0, dtype=np.float32)
        # For non-constant pad modes the left padding is built from the
        # first n_fft//2 + 1 samples, and the right padding from the last
        # n_fft//2 + 1, exactly as numpy.pad builds them for the whole signal.
        self._left_pending = False
        self._head = np.zeros(0, dtype=np.float32)
        self._recent = np.zeros(0, dtype=np.float32)
        if self.params.center:
            if self.params.pad_mode == "constant":
                self._carry = np.zeros(self._half, dtype=np.float32)
            else:
                self._left_pending = True
        self._skip = 0  # samples before the next frame start (hop > n_fft)
        self.n_samples = 0
        self.n_frames = 0
        self._flushed = False
        self._buffer: np.ndarray | None = None  # push_bounded(reuse=True)'s output

    @property
    def n_rows(self) -> int:
        """Rows of each column: ``1 + n_fft // 2``, ``n_mels`` or the log bands."""
        return self._engine.n_rows

    def push(self, block: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """Add samples; return the new columns.

        Parameters
        ----------
        block : (n,) float array
            Mono samples, any length (0 included).
        out : (n_rows, m) float32 array, optional
            Where to write the new columns (``m >= n_new``, e.g. a slice of an
            image ring); the returned array is then ``out[:, :n_new]``.

        Returns
        -------
        (n_rows, n_new) float32
        """
        if self._flushed:
            raise ParameterError("push() after flush(): the stream has ended; make a new StreamingSpectrogram")
        x = np.ascontiguousarray(block, dtype=np.float32)
        if x.ndim != 1:
            raise ParameterError(f"block.shape={x.shape}: must be 1-D (mono)")
        self.n_samples += x.shape[0]
        if self.params.center and self.params.pad_mode != "constant":
            self._recent = _tail(self._recent, x, self._half + 1)
        if self._left_pending:
            need = self._half + 1 - self._head.shape[0]
            self._head = np.concatenate([self._head, x[:need]])
            x = x[need:]
            if self._head.shape[0] <= self._half:
                return self._engine.empty_output(0)
            left = _pad(self._head, (self._half, 0), self.params.pad_mode)[: self._half]
            self._carry = np.concatenate([left, self._head])
            self._left_pending = False
        return self._frames(x, out)

    def push_bounded(
        self, block: np.ndarray, *, max_bytes: int = COLUMN_BUDGET, reuse: bool = False
    ) -> Iterator[np.ndarray]:
        """:meth:`push` in steps whose output stays near ``max_bytes``; yields each step's columns.

        The concatenation of the yielded arrays equals ``push(block)``; memory
        is bounded by ``max_bytes`` whatever the hop (at least one frame per
        step).

        ``reuse=True`` yields views of one buffer that the next step (of this
        or a later call) overwrites: for a consumer that reduces or copies
        each step at once (pooling, writing).  Fresh output memory per step
        costs its page faults and cache misses: an hour's STFT at n_fft 2048
        in blocks of 2**18 samples takes 1.6x as long (measured on one thread).

        Yields
        ------
        (n_rows, n_new) float32, possibly with ``n_new == 0``.
        """
        x = np.asarray(block)
        frames = max(1, max_bytes // (4 * self.n_rows))
        step = frames * self.params.hop
        for start in range(0, x.shape[0], step):
            piece = x[start : start + step]
            yield self.push(piece, out=self._reusable(piece.shape[0]) if reuse else None)

    def _reusable(self, n_more: int) -> np.ndarray:
        """The reused output buffer, grown to hold the frames ``n_more`` more samples can complete.

        The carry is always shorter than a frame (else that frame would have
        been computed), so ``n_more`` samples complete at most
        ``1 + n_more // hop`` frames; steps of one size share the buffer.
        """
        need = n_more // self.params.hop + 2
        if self._buffer is None or self._buffer.shape[1] < need:
            self._buffer = self._engine.empty_output(need)
        return self._buffer

    def pending_frames(self, n_more: int = 0) -> int:
        """Frames that ``push`` of ``n_more`` samples then ``flush`` would return."""
        n_fft, hop = self.params.n_fft, self.params.hop
        if self._left_pending:
            n = self._head.shape[0] + n_more
            if n <= self._half:
                return 0 if n == 0 else 1 + (n + 2 * self._half - n_fft) // hop
            total = self._half + n + self._half
        elif self.n_samples + n_more == 0:
            return 0
        else:
            tail = self._half if self.params.center else 0
            total = self._carry.shape[0] + max(0, n_more + tail - self._skip)
        return 0 if total < n_fft else 1 + (total - n_fft) // hop

    def flush(self, *, out: np.ndarray | None = None) -> np.ndarray:
        """End the stream; return the frames that the right padding completes.

        Returns
        -------
        (n_rows, n_tail) float32
            Empty when ``center=False`` (uncentred frames need real samples).
        """
        tail = self._end()
        return self._engine.empty_output(0) if tail is None else self._frames(tail, out)

    def flush_bounded(self, *, max_bytes: int = COLUMN_BUDGET, reuse: bool = False) -> Iterator[np.ndarray]:
        """:meth:`flush` in steps whose output stays near ``max_bytes`` (see :meth:`push_bounded`, also for ``reuse``)."""
        tail = self._end()
        if tail is None:
            return
        step = max(1, max_bytes // (4 * self.n_rows)) * self.params.hop
        for start in range(0, tail.shape[0], step):
            piece = tail[start : start + step]
            yield self._frames(piece, self._reusable(piece.shape[0]) if reuse else None)

    def _end(self) -> np.ndarray | None:
        """Mark the stream ended; the padding (or padded signal) still to be framed, if any."""
        if self._flushed:
            return None
        self._flushed = True
        if self.n_samples == 0 or not self.params.center:
            return None
        mode = self.params.pad_mode
        if self._left_pending:
            # Shorter than n_fft//2 + 1 samples: pad the whole signal at once.
            if self._head.shape[0] == 0:
                return None
            self._carry = np.zeros(0, dtype=np.float32)
            return _pad(self._head, (self._half, self._half), mode)
        if mode == "constant":
            return np.zeros(self._half, dtype=np.float32)
        return _pad(self._recent, (0, self._half), mode)[-self._half :]

    def _frames(self, x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        """Frames of the virtual stream ``carry ++ x``; keeps the rest as carry."""
        n_fft, hop = self._engine.n_fft, self._engine.hop
        if self._skip:
            drop = min(self._skip, x.shape[0])
            x, self._skip = x[drop:], self._skip - drop
        carry = self._carry
        n_carry = carry.shape[0]
        total = n_carry + x.shape[0]
        n_new = 0 if total < n_fft else 1 + (total - n_fft) // hop
        if out is None:
            out = self._engine.empty_output(n_new)
        elif out.shape[0] != self.n_rows or out.shape[1] < n_new or out.dtype != np.float32:
            raise ParameterError(f"out.shape={out.shape}, dtype {out.dtype}: need float32 ({self.n_rows}, >= {n_new})")
        else:
            out = out[:, :n_new]
        out_t = out.T
        # Frames starting inside the carry straddle carry and x: build them
        # from a small joined piece; the rest are views of x itself.
        n_join = min(n_new, -(-n_carry // hop))
        if n_join:
            joined = np.concatenate([carry, x[: (n_join - 1) * hop + n_fft - n_carry]])
            self._engine.compute_into(self._engine.frames_view(joined, n_join), out_t[:n_join])
        if n_new > n_join:
            start = n_join * hop - n_carry
            view = self._engine.frames_view(x[start:], n_new - n_join)
            self._engine.compute_into(view, out_t[n_join:])
        next_start = n_new * hop
        if next_start >= n_carry:
            self._carry = x[next_start - n_carry :].copy()
            self._skip += max(0, next_start - total)
        else:
            self._carry = np.concatenate([carry[next_start:], x])
        self.n_frames += n_new
        return out


def _pad(x: np.ndarray, widths: tuple[int, int], mode: str) -> np.ndarray:
    """``numpy.pad`` with one of :data:`PAD_MODES` (validated by the params)."""
    return np.pad(x, widths, mode=mode)  # type: ignore[call-overload,no-any-return]


def _tail(previous: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[0] >= n:
        return x[-n:].copy()
    return np.concatenate([previous, x])[-n:]


def spectrogram(
    y: np.ndarray, params: SpectrogramParams, *, workers: int | None = None, precise: bool = False
) -> np.ndarray:
    """Spectrogram of ``y`` on ``params.scale``: linear bins, mel bands or log bands.

    Parameters
    ----------
    y : (n,) float array
        Mono signal; float64 input is computed in float32.
    params : SpectrogramParams
        Must have ``sr`` (``params.with_sr(sr)``).
    precise : bool
        Window and FFT in float64 (see :class:`StreamingSpectrogram`).

    Returns
    -------
    (n_rows, n_frames) float32, Fortran order
        ``|STFT|**power`` projected onto the scale's rows; see
        :func:`spectroview.dsp.mel.row_frequencies` for their frequencies
        and :func:`frame_times` for the columns' times.
    """
    params.require_sr()
    x = np.ascontiguousarray(mono_signal(y), dtype=np.float32)
    n_fft = params.n_fft
    if not params.center and x.shape[0] < n_fft:
        raise ParameterError(f"n_fft={n_fft}: too large for an input of {x.shape[0]} samples with center=False")
    if x.shape[0] == 0:
        raise ParameterError("y: empty signal (0 samples)")
    # Offline is the streaming engine fed one block: the carry logic only
    # copies the edges, so the signal itself is never copied or padded.
    stream = StreamingSpectrogram(params.sr, params, workers=workers, precise=precise)  # type: ignore[arg-type]
    out = stream._engine.empty_output(stream.pending_frames(x.shape[0]))
    n_head = stream.push(x, out=out).shape[1]
    n_tail = stream.flush(out=out[:, n_head:]).shape[1]
    assert n_head + n_tail == out.shape[1], "frame count mismatch"
    return out


def stft_power(
    y: np.ndarray,
    *,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    pad_mode: str = "constant",
) -> np.ndarray:
    """Power spectrogram ``|STFT|**2``, equal to ``np.abs(librosa.stft(...))**2``.

    Parameters follow ``librosa.stft``.

    Returns
    -------
    (1 + n_fft // 2, n_frames) float32, Fortran order
        ``n_frames = 1 + len(y) // hop_length`` when centred (even n_fft),
        ``1 + (len(y) - n_fft) // hop_length`` otherwise.  Row ``k`` is the
        bin centred on ``k * sr / n_fft`` Hz.
    """
    params = SpectrogramParams(
        sr=1.0,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=center,
        pad_mode=pad_mode,
    )
    return spectrogram(y, params)


def melspectrogram(
    y: np.ndarray,
    *,
    sr: float,
    n_fft: int = 2048,
    hop_length: int = 512,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Mel spectrogram, equal to ``librosa.feature.melspectrogram``.

    Returns
    -------
    (n_mels, n_frames) float32, Fortran order
        Band ``m`` is centred on ``mel_frequencies(n_mels + 2, ...)[m + 1]`` Hz.
    """
    params = SpectrogramParams(
        sr=sr,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=center,
        pad_mode=pad_mode,
        power=power,
        scale="mel",
        n_mels=n_mels,
        fmin=fmin,
        fmax=fmax,
        htk=htk,
        norm=norm,  # type: ignore[arg-type]
    )
    return spectrogram(y, params)
