"""Time-frequency reassigned spectrogram (Auger & Flandrin), as librosa's.

Each STFT cell's energy is moved from the bin centre ``k * sr / n_fft`` and
the frame time to the cell's instantaneous frequency and group-delay time,
which sharpens stationary lines and impulses far beyond the window's main
lobe.  Three STFTs share the frames (float64 throughout; this is the
accurate path, not the fast one):

* ``S_h``  with the window ``w``,
* ``S_dh`` with its cyclic derivative ``(w[n+1] - w[n-1]) / 2`` (per sample),
* ``S_th`` with the time-ramped window ``(n - c) w[n]``, where ``c`` is
  ``n_fft // 2`` for odd ``n_fft`` and ``n_fft / 2 - 0.5`` for even.  That is
  librosa's ramp, kept for agreement; since an even-length periodic window
  is symmetric about ``n_fft / 2``, reassigned times are then half a sample
  late (an impulse at sample ``m`` is placed at ``(m + 0.5) / sr``),

and (equations 5.20 and 5.23 of Flandrin, Auger & Chassande-Mottin 2002)::

    freq = k * sr / n_fft - imag(S_dh / S_h) * sr / (2 pi)     [Hz]
    time = frame_time     + real(S_th / S_h) / sr              [s]

:func:`reassigned_image` accumulates the reassigned power into the pixel
grid of any frequency scale.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided

from spectroview.dsp._fft import rfft
from spectroview.dsp.mel import fft_frequencies
from spectroview.dsp.params import ParameterError, SpectrogramParams, mono_signal
from spectroview.dsp.windows import window_samples

__all__ = ["reassigned_image", "reassigned_spectrogram"]

#: Scratch budget per block of frames, in float64 samples per window
#: (2 MB; three windowed copies and their spectra stay a few MB).
_BLOCK_SAMPLES = 1 << 18


def _analysis_windows(params: SpectrogramParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``w``, its cyclic derivative and the time-ramped ``w``.  Each (n_fft,) float64."""
    n_fft, win = params.n_fft, params.win
    w = np.zeros(n_fft, dtype=np.float64)
    lpad = (n_fft - win) // 2
    w[lpad : lpad + win] = window_samples(params.window, win)
    # librosa.util.cyclic_gradient: central differences of the periodic window.
    dw = 0.5 * (np.roll(w, -1) - np.roll(w, 1))
    half = n_fft // 2
    ramp = np.arange(-half, half + 1, dtype=np.float64) if n_fft % 2 else np.arange(0.5 - half, half)
    return w, dw, w * ramp


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name}={value!r}: must be True or False")
    return bool(value)


def reassigned_spectrogram(
    y: np.ndarray,
    *,
    sr: float,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    reassign_frequencies: bool = True,
    reassign_times: bool = True,
    ref_power: float | Callable[[np.ndarray], float] = 1e-6,
    fill_nan: bool = False,
    clip: bool = True,
    pad_mode: str = "constant",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reassigned frequencies and times of every STFT cell, as ``librosa.reassigned_spectrogram``.

    Parameters
    ----------
    y : (n,) float array
        Mono signal; computed in float64.
    sr : float
        Sample rate in Hz.
    n_fft, hop_length, win_length, window, center, pad_mode
        As :class:`spectroview.dsp.params.SpectrogramParams` (librosa's
        ``stft`` arguments); ``hop_length=None`` means ``win_length // 4``.
    reassign_frequencies, reassign_times : bool
        Which coordinates to reassign (at least one).  A coordinate not
        reassigned is the bin centre ``k * sr / n_fft`` or the frame time
        ``(t * hop + (0 if center else n_fft // 2)) / sr``, returned as a
        read-only broadcast view.
    ref_power : float >= 0 or callable
        Power threshold, as librosa: cells with ``mags**2 < ref_power`` (an
        absolute power, not relative to the maximum) get NaN coordinates.  A
        callable is applied to ``mags**2`` to get the threshold, e.g.
        ``lambda p: 1e-6 * p.max()`` for a relative one.  0 disables it.
    fill_nan : bool
        Replace NaN coordinates (below the threshold, or ``S_h == 0``) by
        the bin frequency / frame time instead.
    clip : bool
        Clip frequencies to ``[0, sr/2]`` Hz and times to ``[0, len(y)/sr]`` s.

    Returns
    -------
    freqs : (1 + n_fft // 2, n_frames) float64, Hz
        Instantaneous frequency of each cell.
    times : (1 + n_fft // 2, n_frames) float64, s
        Group-delay time of each cell.
    mags : (1 + n_fft // 2, n_frames) float64
        ``|STFT|`` magnitudes (not power), equal to ``np.abs(librosa.stft(...))``.

    All three are Fortran-ordered (each frame's column contiguous).

    Raises
    ------
    ParameterError
        For an invalid parameter, a non-mono or empty ``y``, or
        ``center=False`` with ``len(y) < n_fft``.
    """
    params = SpectrogramParams(
        sr=sr,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=center,
        pad_mode=pad_mode,
    )
    do_freqs = _check_flag("reassign_frequencies", reassign_frequencies)
    do_times = _check_flag("reassign_times", reassign_times)
    fill_nan = _check_flag("fill_nan", fill_nan)
    clip = _check_flag("clip", clip)
    if not (do_freqs or do_times):
        raise ParameterError("reassign_frequencies=False, reassign_times=False: at least one of them must be True")
    if not callable(ref_power):
        if isinstance(ref_power, bool) or not isinstance(ref_power, (int, float, np.integer, np.floating)):
            raise ParameterError(f"ref_power={ref_power!r}: must be a power >= 0 or a callable")
        if not np.isfinite(ref_power) or ref_power < 0:
            raise ParameterError(f"ref_power={ref_power!r}: must be a power >= 0 or a callable")
    x = mono_signal(y)
    if x.shape[0] == 0:
        raise ParameterError("y: empty signal (0 samples)")
    x = np.ascontiguousarray(x, dtype=np.float64)
    n_samples = x.shape[0]
    sr = float(sr)
    n_fft, hop = params.n_fft, params.hop
    half = n_fft // 2
    if params.center:
        x = np.pad(x, (half, half), mode=params.pad_mode)  # type: ignore[call-overload]
    elif x.shape[0] < n_fft:
        raise ParameterError(f"n_fft={n_fft}: too large for an input of {x.shape[0]} samples with center=False")
    n_frames = 1 + (x.shape[0] - n_fft) // hop
    n_bins = half + 1
    step = x.strides[0]
    frames = as_strided(x, shape=(n_frames, n_fft), strides=(hop * step, step), writeable=False)

    w, dw, tw = _analysis_windows(params)
    stacked = [w]
    if do_freqs:
        stacked.append(dw)
    if do_times:
        stacked.append(tw)
    windows = np.stack(stacked)  # (n_win, n_fft)

    # (n_frames, n_bins) C order; returned transposed (Fortran order).
    mags_t = np.empty((n_frames, n_bins), dtype=np.float64)
    corr_f_t = np.empty((n_frames, n_bins), dtype=np.float64) if do_freqs else None
    corr_t_t = np.empty((n_frames, n_bins), dtype=np.float64) if do_times else None
    block = max(16, _BLOCK_SAMPLES // n_fft)
    with np.errstate(invalid="ignore", divide="ignore"):
        for b0 in range(0, n_frames, block):
            b1 = min(n_frames, b0 + block)
            spec = rfft(frames[b0:b1, None, :] * windows)  # (b, n_win, n_bins)
            s_h = spec[:, 0]
            np.abs(s_h, out=mags_t[b0:b1])
            i = 1
            if corr_f_t is not None:
                corr_f_t[b0:b1] = -np.imag(spec[:, i] / s_h)
                i += 1
            if corr_t_t is not None:
                corr_t_t[b0:b1] = np.real(spec[:, i] / s_h)

    mags = mags_t.T
    bin_freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    offset = 0 if params.center else half
    frame_t = (np.arange(n_frames) * hop + offset) / sr

    ref_p = float(ref_power(mags**2)) if callable(ref_power) else float(ref_power)
    low = mags < ref_p**0.5 if ref_p > 0 else None

    def finish(corr_t: np.ndarray, base: np.ndarray, factor: float, upper: float) -> np.ndarray:
        # base + corr * factor, in librosa's order: frequencies agree
        # bit for bit, times to an ulp (librosa divides by sr).
        out = corr_t.T
        out *= factor
        out += base
        if low is not None:
            out[low] = np.nan
        if fill_nan:
            np.copyto(out, np.broadcast_to(base, out.shape), where=np.isnan(out))
        if clip:
            np.clip(out, 0.0, upper, out=out)
        return out

    if corr_f_t is not None:
        freqs = finish(corr_f_t, bin_freqs[:, None], 0.5 * sr / np.pi, sr / 2.0)
    else:
        freqs = np.broadcast_to(bin_freqs[:, None], mags.shape)
    if corr_t_t is not None:
        times = finish(corr_t_t, frame_t[None, :], 1.0 / sr, n_samples / sr)
    else:
        times = np.broadcast_to(frame_t[None, :], mags.shape)
    return freqs, times, mags


def _check_edges(name: str, edges: np.ndarray) -> np.ndarray:
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.shape[0] < 2:
        raise ParameterError(f"{name}.shape={e.shape}: must be 1-D with at least 2 edges")
    if not np.all(np.isfinite(e)) or not np.all(np.diff(e) > 0):
        raise ParameterError(f"{name}: edges must be finite and strictly increasing")
    return e


def reassigned_image(
    freqs: np.ndarray,
    times: np.ndarray,
    mags: np.ndarray,
    *,
    n_rows_edges_hz: np.ndarray,
    column_edges_s: np.ndarray,
) -> np.ndarray:
    """Histogram of the reassigned power ``mags**2`` on a frequency x time grid.

    Parameters
    ----------
    freqs, times, mags : arrays of one shape
        As returned by :func:`reassigned_spectrogram` (Hz, s, magnitude).
        Cells with a NaN (or infinite) coordinate or magnitude are ignored.
    n_rows_edges_hz : (n_rows + 1,) float array, Hz
        Strictly increasing row (frequency) edges; any scale (for linear
        bins, ``(k - 0.5) * sr / n_fft`` for ``k = 0 .. 1 + n_fft // 2``).
    column_edges_s : (n_cols + 1,) float array, s
        Strictly increasing column (time) edges.

    Returns
    -------
    (n_rows, n_cols) float64
        Summed power per cell.  Bins are half-open ``[lo, hi)`` except the
        last row/column, which also takes its upper edge (as
        ``numpy.histogram2d``); power outside the edges is dropped, so the
        total equals the finite ``mags**2`` that falls inside.
    """
    fe = _check_edges("n_rows_edges_hz", n_rows_edges_hz)
    te = _check_edges("column_edges_s", column_edges_s)
    f_arr, t_arr, m_arr = (np.asarray(a, dtype=np.float64) for a in (freqs, times, mags))
    if not f_arr.shape == t_arr.shape == m_arr.shape:
        raise ParameterError(
            f"freqs.shape={f_arr.shape}, times.shape={t_arr.shape}, mags.shape={m_arr.shape}: must be equal"
        )
    n_rows, n_cols = fe.shape[0] - 1, te.shape[0] - 1
    f, t = f_arr.ravel(), t_arr.ravel()
    p = np.square(m_arr.ravel())
    with np.errstate(invalid="ignore"):
        keep = (f >= fe[0]) & (f <= fe[-1]) & (t >= te[0]) & (t <= te[-1]) & np.isfinite(p)
    f, t, p = f[keep], t[keep], p[keep]
    rows = np.minimum(np.searchsorted(fe, f, side="right") - 1, n_rows - 1)
    cols = np.minimum(np.searchsorted(te, t, side="right") - 1, n_cols - 1)
    image = np.bincount(rows * n_cols + cols, weights=p, minlength=n_rows * n_cols)
    return image.reshape(n_rows, n_cols)
