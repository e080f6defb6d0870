"""Fundamental-frequency tracking with YIN (de Cheveigné & Kawahara, 2002).

All frames are processed at once, in blocks: the difference function of
every frame comes from one batched real FFT (cross term) and a cumulative sum
(energy terms), and every later step (normalization, dip selection,
parabolic interpolation, voicing) is an array operation over
``(frames, lags)``.

Frame layout
------------
Frame ``t`` is centred on ``c = t * hop_length`` (``center=True``).  Its
integration window of ``W = frame_length // 2`` samples is centred on ``c``,
and the lagged copy reaches up to ``tau_max`` samples (one period of
``fmin``) after it, so a frame reads samples
``[c - W // 2, c - W // 2 + frame_length)``.  librosa's ``yin`` instead puts
the integration window at the start of a centred frame, a quarter frame
before the frame time; centring it follows a gliding pitch without that lag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from spectroview.dsp._fft import irfft, next_fast_len, rfft
from spectroview.dsp.params import ParameterError, _is_int, _is_real, mono_signal

__all__ = ["PitchTrack", "yin"]

#: Scratch budget per block, in samples of frames (float64): a few MB.
_BLOCK_SAMPLES = 1 << 18


@dataclass(frozen=True, eq=False)
class PitchTrack:
    """A fundamental-frequency track, one value per frame.

    Attributes
    ----------
    f0 : (n_frames,) float64
        Fundamental frequency in Hz; NaN where unvoiced.
    voiced : (n_frames,) bool
        Whether the frame is periodic (and not silent).
    confidence : (n_frames,) float64
        ``1 - aperiodicity`` in [0, 1]: one minus the cumulative-mean-
        normalized difference at the chosen lag (1 = perfectly periodic).
        Given for unvoiced frames too (0 for silent ones).
    times : (n_frames,) float64
        Time of each frame's centre in seconds.
    """

    f0: np.ndarray
    voiced: np.ndarray
    confidence: np.ndarray
    times: np.ndarray


def _default_frame_length(sr: float, fmin: float) -> int:
    # Integration window >= one period of fmin plus the same again for the
    # lags, rounded up to a power of two for the FFT: 1024 at 22050 Hz and
    # 2048 at 44100 Hz for fmin = 65 Hz (46 ms either way).
    tau_max = int(np.ceil(sr / fmin))
    return 1 << int(np.ceil(np.log2(2 * (tau_max + 2))))


def _frames(x: np.ndarray, n_frames: int, frame_length: int, hop: int) -> np.ndarray:
    step = x.strides[0]
    return as_strided(x, shape=(n_frames, frame_length), strides=(hop * step, step), writeable=False)


def _difference(frames: np.ndarray, win: int, n_lags: int, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """YIN difference function ``d(tau)``, tau = 0 .. n_lags - 1, of each frame.

    ``d(tau) = sum_{j<win} (x_j - x_{j+tau})^2 = e(0) + e(tau) - 2 r(tau)``
    with ``e(tau)`` the energy of ``x[tau : tau + win]`` (a cumulative-sum
    difference) and ``r`` the cross-correlation of ``x[:win]`` with the frame
    (one FFT pair; ``n_fft >= win + n_lags - 1`` so the circular correlation
    does not wrap for these lags).

    Returns
    -------
    d : (n, n_lags) float64, >= 0
    energy : (n,) float64, ``e(0)``: energy of the integration window
    """
    spec_frame = rfft(frames, n_fft)
    spec_win = rfft(frames[:, :win], n_fft)
    r = irfft(spec_frame * spec_win.conj(), n_fft)[:, :n_lags]
    csum = np.zeros((frames.shape[0], win + n_lags))
    np.cumsum(np.square(frames[:, : win + n_lags - 1]), axis=1, out=csum[:, 1:])
    energy_lag = csum[:, win : win + n_lags] - csum[:, :n_lags]
    energy = energy_lag[:, 0]
    d = energy[:, None] + energy_lag - 2.0 * r
    # Cancellation leaves tiny negative values (and noise near 0) where the
    # signal is periodic; the true d is >= 0.
    np.maximum(d, 0.0, out=d)
    return d, energy


def _cmnd(d: np.ndarray) -> np.ndarray:
    """Cumulative-mean-normalized difference ``d'(tau) = d(tau) tau / sum_{1..tau} d``; ``d'(0) = 1``."""
    n_lags = d.shape[1]
    total = np.cumsum(d[:, 1:], axis=1)
    out = np.ones_like(d)
    tau = np.arange(1, n_lags, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = d[:, 1:] * tau / total
    # 0/0 where the frame is digital silence up to tau: no evidence of a
    # period, which is what d' = 1 means.
    out[:, 1:] = np.where(total > 0, ratio, 1.0)
    return out


def _pick(d: np.ndarray, dn: np.ndarray, tau_min: int, tau_max: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Choose each frame's period: YIN steps 3-5.

    The first local minimum of ``d'`` in ``[tau_min, tau_max]`` that is below
    ``threshold`` (the smallest lag with a good dip: this avoids octave-down
    errors), else the global minimum of ``d'`` there; then the vertex of the
    parabola through the raw ``d`` around it (the paper: ``d'`` has a slightly
    biased minimum).

    Returns
    -------
    period : (n,) float64, lag in samples (fractional)
    aperiodicity : (n,) float64, ``d'`` at the chosen integer lag
    """
    n = d.shape[0]
    rows = np.arange(n)
    seg = dn[:, tau_min - 1 : tau_max + 2]  # lags tau_min - 1 .. tau_max + 1
    mid = seg[:, 1:-1]
    is_min = (mid < seg[:, :-2]) & (mid <= seg[:, 2:])
    good = is_min & (mid < threshold)
    has_good = good.any(axis=1)
    best = np.where(has_good, np.argmax(good, axis=1), np.argmin(mid, axis=1))
    tau = best + tau_min
    a, b, c = d[rows, tau - 1], d[rows, tau], d[rows, tau + 1]
    curvature = a - 2.0 * b + c
    bends_up = curvature > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(bends_up, 0.5 * (a - c) / np.where(bends_up, curvature, 1.0), 0.0)
    period = tau + np.clip(shift, -1.0, 1.0)
    return period, dn[rows, tau]


def _check_frequency(name: str, value: object) -> float:
    if not _is_real(value) or not np.isfinite(value) or value <= 0:  # type: ignore[call-overload,operator]
        raise ParameterError(f"{name}={value!r}: must be a frequency in Hz > 0")
    return float(value)  # type: ignore[arg-type]


def yin(
    y: np.ndarray,
    *,
    sr: float,
    fmin: float = 65.0,
    fmax: float = 1000.0,
    frame_length: int | None = None,
    hop_length: int | None = None,
    threshold: float = 0.1,
    voicing_threshold: float = 0.3,
    silence_db: float = -60.0,
    center: bool = True,
) -> PitchTrack:
    """Track the fundamental frequency of ``y`` with YIN.

    Parameters
    ----------
    y : (n,) float array
        Mono signal, full scale 1.0.
    sr : float
        Sample rate in Hz.
    fmin, fmax : float
        Search range in Hz, ``0 < fmin < fmax <= sr / 2``.
    frame_length : int or None
        Samples per frame.  The integration window is ``frame_length // 2``
        and the lags run to ``ceil(sr / fmin)``, so it must be at least
        ``2 * (ceil(sr / fmin) + 2)``.  ``None``: the smallest power of two
        that is (1024 at 22050 Hz, 2048 at 44100 Hz, for ``fmin = 65``).
    hop_length : int or None
        Samples between frames, >= 1; ``None`` means ``frame_length // 4``.
    threshold : float
        YIN's absolute threshold in (0, 1]: the smallest lag whose
        normalized-difference dip falls below it is the period (else the
        deepest dip).
    voicing_threshold : float
        A frame is voiced when the normalized difference at the chosen lag
        (the aperiodicity) is below this, in (0, 1].  0.3 keeps breathy and
        transitional speech voiced while white noise (whose dips stay near
        0.6-1) is not.
    silence_db : float
        Frames whose integration window has a mean square below this (dB re
        1.0, i.e. full-scale square wave = 0 dB, full-scale sine = -3 dB) are
        unvoiced.  ``-inf`` disables the floor.
    center : bool
        Frame ``t`` centred on sample ``t * hop_length`` (the signal is
        zero-padded at both ends), as the spectrogram engine does; else frame
        ``t`` starts at sample ``t * hop_length`` and needs whole frames.

    Returns
    -------
    PitchTrack
        ``n_frames = 1 + len(y) // hop_length`` when centred, else
        ``1 + (len(y) - frame_length) // hop_length``; ``times`` are
        ``t * hop_length / sr`` when centred, else the integration window's
        centre ``(t * hop_length + W / 2) / sr`` with ``W = frame_length // 2``.

    Notes
    -----
    Steps 1-5 of the paper: difference function, cumulative-mean
    normalization, absolute threshold, parabolic interpolation (of the raw
    difference function, as the paper recommends), without step 6 (the
    neighbourhood search).  The frequency is about ``[fmin, fmax]``; the
    interpolated lag may step a fraction of a sample past the range ends.

    A frame whose normalized difference dips, at a lag shorter than
    ``sr / fmax``, below ``threshold`` or below the dip chosen, or has a
    local minimum there below ``voicing_threshold``, is unvoiced:
    its period is shorter than the range allows (a pitch above ``fmax``), and
    the dip in range is a multiple of it (a subharmonic) or the range's edge,
    which the paper's steps would report as f0.

    As in the paper, a fundamental weaker than its second harmonic can give
    an octave-up estimate: the dip at half the period may fall below
    ``threshold`` first.  Its aperiodicity says how good that dip is (about
    0.4 for a fundamental at half the harmonic's amplitude, so such frames
    are unvoiced at the default ``voicing_threshold``; 0.03 at a tenth, which
    is reported as a voiced octave).
    """
    x = mono_signal(y)
    if x.shape[0] == 0:
        raise ParameterError("y: empty signal (0 samples)")
    if not _is_real(sr) or not np.isfinite(sr) or sr <= 0:
        raise ParameterError(f"sr={sr!r}: must be a sample rate in Hz > 0")
    sr = float(sr)
    fmin = _check_frequency("fmin", fmin)
    fmax = _check_frequency("fmax", fmax)
    if fmin >= fmax:
        raise ParameterError(f"fmin={fmin!r}: must be below fmax={fmax!r}")
    if fmax > sr / 2:
        raise ParameterError(f"fmax={fmax!r}: must be <= sr/2 = {sr / 2:g} Hz")
    tau_max = int(np.ceil(sr / fmin))
    # The lag one below tau_min must exist for the minimum test; lag 1 is
    # excluded because d'(1) has no history (its mean is d(1) itself).
    tau_min = max(2, int(np.floor(sr / fmax)))
    least = 2 * (tau_max + 2)
    if frame_length is None:
        frame_length = _default_frame_length(sr, fmin)
    elif not _is_int(frame_length) or frame_length < least:
        raise ParameterError(
            f"frame_length={frame_length!r}: must be an integer >= {least} for fmin={fmin:g} Hz at sr={sr:g} Hz "
            f"(2 x (ceil(sr/fmin) + 2)), or None"
        )
    frame_length = int(frame_length)
    if hop_length is None:
        hop_length = max(1, frame_length // 4)
    elif not _is_int(hop_length) or hop_length < 1:
        raise ParameterError(f"hop_length={hop_length!r}: must be an integer >= 1 (or None for frame_length//4)")
    hop = int(hop_length)
    if not _is_real(threshold) or not 0 < threshold <= 1:
        raise ParameterError(f"threshold={threshold!r}: must be a number in (0, 1]")
    if not _is_real(voicing_threshold) or not 0 < voicing_threshold <= 1:
        raise ParameterError(f"voicing_threshold={voicing_threshold!r}: must be a number in (0, 1]")
    if not _is_real(silence_db) or np.isnan(silence_db) or silence_db == np.inf:
        raise ParameterError(f"silence_db={silence_db!r}: must be a number of dB (or -inf)")
    if not isinstance(center, (bool, np.bool_)):
        raise ParameterError(f"center={center!r}: must be True or False")

    win = frame_length // 2
    n_lags = tau_max + 2  # lags 0 .. tau_max + 1 (one past for the parabola)
    n = x.shape[0]
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ParameterError("y: must be finite (no NaN or inf samples)")
    if center:
        n_frames = 1 + n // hop
        left = win // 2
        right = max(0, (n_frames - 1) * hop + frame_length - left - n)
        x = np.concatenate([np.zeros(left), x, np.zeros(right)])
        times = np.arange(n_frames) * hop / sr
    else:
        if n < frame_length:
            raise ParameterError(
                f"frame_length={frame_length}: too large for an input of {n} samples with center=False"
            )
        n_frames = 1 + (n - frame_length) // hop
        times = (np.arange(n_frames) * hop + win / 2) / sr

    n_fft = next_fast_len(win + n_lags - 1)
    frames = _frames(x, n_frames, frame_length, hop)
    period = np.empty(n_frames)
    aperiodicity = np.empty(n_frames)
    energy = np.empty(n_frames)
    above = np.zeros(n_frames, dtype=bool)
    block = max(1, _BLOCK_SAMPLES // frame_length)
    # Blocks bound the (frames, lags) scratch for long files; a few per
    # second of audio at most, each fully vectorized.
    for b0 in range(0, n_frames, block):
        b1 = min(n_frames, b0 + block)
        d, energy[b0:b1] = _difference(frames[b0:b1], win, n_lags, n_fft)
        dn = _cmnd(d)
        period[b0:b1], aperiodicity[b0:b1] = _pick(d, dn, tau_min, tau_max, float(threshold))
        if tau_min > 2:
            # A dip at a lag shorter than the range allows, below the threshold or deeper than
            # the one chosen: the period is shorter than 1/fmax, and the dip found in range is a
            # multiple of it (a sine at 3 kHz is also periodic at 2 and 3 periods) or the range's
            # edge, so the frame is above the range.
            short = dn[:, 2:tau_min].min(axis=1)
            # (A period between two integer lags dips less at both; a local minimum below the
            # voicing threshold is periodicity too: at 22050 Hz a 3.4 kHz sine's 6.5-sample period.)
            mid = dn[:, 2 : tau_min - 1]
            dips = (mid < dn[:, 1 : tau_min - 2]) & (mid <= dn[:, 3:tau_min]) & (mid < voicing_threshold)
            above[b0:b1] = (short < threshold) | (short < aperiodicity[b0:b1]) | dips.any(axis=1)

    with np.errstate(divide="ignore"):
        level_db = 10.0 * np.log10(energy / win)
    loud = level_db >= silence_db
    voiced = loud & (aperiodicity < voicing_threshold) & ~above
    f0 = np.where(voiced, sr / period, np.nan)
    confidence = np.where(loud, np.clip(1.0 - aperiodicity, 0.0, 1.0), 0.0)
    return PitchTrack(f0=f0, voiced=voiced, confidence=confidence, times=times)
