"""Synthesis of test and demo signals.

Every generator returns a new 1-D ``float32`` array of
``round(duration * sr)`` samples (Python :func:`round`, i.e. half to even),
where sample ``n`` is taken at time ``n / sr`` seconds.  Oscillators are
computed from an analytic phase (the exact integral of the instantaneous
frequency), so they are phase-continuous: no jumps between samples however
the frequency moves.

Only numpy is used here so that the module can run in tests, scripts and
worker processes without Qt, audio devices or file I/O libraries.

Amplitudes are linear full-scale values (1.0 = 0 dBFS).  The stated
``amplitude`` of each generator is an upper bound on ``max(abs(y))``, and is
reached (up to sampling) for single tones and chirps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "chirp",
    "click_train",
    "fade",
    "harmonic_tone",
    "n_samples",
    "silence",
    "tone",
    "tones",
]

_TWO_PI = 2.0 * math.pi


# ---------------------------------------------------------------------------
# Argument validation
# ---------------------------------------------------------------------------


def _finite(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r}: must be a real number") from None
    if not math.isfinite(v):
        raise ValueError(f"{name}={v!r}: must be finite")
    return v


def _check_sr(sr: float) -> float:
    v = _finite("sr", sr)
    if v < 1:
        raise ValueError(f"sr={v!r}: must be >= 1 (samples per second)")
    return v


def _check_duration(duration: float, name: str = "duration") -> float:
    v = _finite(name, duration)
    if v < 0:
        raise ValueError(f"{name}={v!r}: must be >= 0 (seconds)")
    return v


def _check_freq(name: str, freq: float, sr: float, *, positive: bool = False) -> float:
    v = _finite(name, freq)
    nyquist = sr / 2.0
    if positive:
        if not 0.0 < v <= nyquist:
            raise ValueError(f"{name}={v!r}: must be in (0, sr/2 = {nyquist!r}]")
    elif not 0.0 <= v <= nyquist:
        raise ValueError(f"{name}={v!r}: must be in [0, sr/2 = {nyquist!r}]")
    return v


def _check_amplitude(amplitude: float, name: str = "amplitude") -> float:
    v = _finite(name, amplitude)
    if v < 0:
        raise ValueError(f"{name}={v!r}: must be >= 0 (linear full scale)")
    return v


def n_samples(duration: float, sr: float) -> int:
    """Number of samples a generator returns for ``duration`` at ``sr``.

    Parameters
    ----------
    duration : float
        Length in seconds, >= 0.
    sr : float
        Sample rate in Hz, >= 1.

    Returns
    -------
    int
        ``round(duration * sr)`` (Python rounding: half to even).
    """
    sr = _check_sr(sr)
    duration = _check_duration(duration)
    return round(duration * sr)


def _time_axis(duration: float, sr: float) -> NDArray[np.float64]:
    # float64 internally: float32 phase would lose ~1e-7 relative precision,
    # i.e. audible phase noise after a few seconds at kHz frequencies.
    return np.arange(n_samples(duration, sr), dtype=np.float64) / sr


# ---------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------


def tone(
    freq: float,
    duration: float,
    *,
    sr: float,
    amplitude: float = 0.5,
    phase: float = 0.0,
) -> NDArray[np.float32]:
    """Pure sinusoid ``amplitude * sin(2*pi*freq*t + phase)``.

    Parameters
    ----------
    freq : float
        Frequency in Hz, in ``[0, sr/2]``.
    duration : float
        Length in seconds, >= 0.
    sr : float
        Sample rate in Hz, >= 1.
    amplitude : float, optional
        Peak amplitude (linear full scale, >= 0).  Default 0.5 (-6 dBFS).
    phase : float, optional
        Initial phase in radians.  Pass ``phase + 2*pi*freq*len(y)/sr`` to
        continue a previous tone without a discontinuity.

    Returns
    -------
    numpy.ndarray
        Shape ``(round(duration*sr),)``, dtype ``float32``.

    Raises
    ------
    ValueError
        If an argument is out of range.
    """
    sr = _check_sr(sr)
    duration = _check_duration(duration)
    freq = _check_freq("freq", freq, sr)
    amplitude = _check_amplitude(amplitude)
    phase = _finite("phase", phase)
    t = _time_axis(duration, sr)
    return (amplitude * np.sin(_TWO_PI * freq * t + phase)).astype(np.float32)


def tones(
    freqs: Sequence[float] | ArrayLike,
    duration: float,
    *,
    sr: float,
    amplitude: float = 0.5,
) -> NDArray[np.float32]:
    """Sum of sinusoids, each with peak ``amplitude / len(freqs)``.

    The peak of the sum is therefore at most ``amplitude``, which it
    approaches when the components line up (e.g. two close tones beating).
    All components start at phase 0.

    Parameters
    ----------
    freqs : sequence of float
        One or more frequencies in Hz, each in ``[0, sr/2]``.
    duration : float
        Length in seconds, >= 0.
    sr : float
        Sample rate in Hz, >= 1.
    amplitude : float, optional
        Upper bound of the peak amplitude of the sum (>= 0).  Default 0.5.

    Returns
    -------
    numpy.ndarray
        Shape ``(round(duration*sr),)``, dtype ``float32``.

    Raises
    ------
    ValueError
        If ``freqs`` is empty or an argument is out of range.
    """
    sr = _check_sr(sr)
    duration = _check_duration(duration)
    amplitude = _check_amplitude(amplitude)
    flist = [float(f) for f in np.atleast_1d(np.asarray(freqs, dtype=np.float64))]
    if not flist:
        raise ValueError("freqs=[]: must contain at least one frequency")
    checked = [_check_freq(f"freqs[{i}]", f, sr) for i, f in enumerate(flist)]
    t = _time_axis(duration, sr)
    y = np.zeros_like(t)
    for f in checked:
        y += np.sin(_TWO_PI * f * t)
    return (y * (amplitude / len(checked))).astype(np.float32)


def _glide_phase(f0: float, f1: float, duration: float, t: NDArray[np.float64], method: str) -> NDArray[np.float64]:
    """Phase in radians, ``2*pi * integral_0^t f(u) du``, for a sweep f0 -> f1.

    ``f(t)`` reaches ``f1`` at ``t = duration``.
    """
    if duration == 0.0 or f0 == f1:
        return _TWO_PI * f0 * t
    if method == "linear":
        # f(t) = f0 + (f1 - f0) t / T  =>  phi = 2 pi (f0 t + (f1 - f0) t^2 / 2T)
        return _TWO_PI * (f0 * t + (f1 - f0) * t * t / (2.0 * duration))
    # f(t) = f0 * r^(t/T), r = f1/f0  =>  phi = 2 pi f0 T (r^(t/T) - 1) / ln r.
    # expm1 keeps precision when r is close to 1.
    log_r = math.log(f1 / f0)
    return _TWO_PI * f0 * duration * np.expm1(log_r * t / duration) / log_r


def chirp(
    f0: float,
    f1: float,
    duration: float,
    *,
    sr: float,
    method: str = "linear",
    amplitude: float = 0.5,
) -> NDArray[np.float32]:
    """Frequency sweep ``amplitude * sin(phi(t))`` from ``f0`` to ``f1``.

    The instantaneous frequency ``phi'(t) / 2pi`` is

    * ``"linear"``: ``f0 + (f1 - f0) * t / duration``,
    * ``"logarithmic"``: ``f0 * (f1 / f0) ** (t / duration)`` (constant
      octaves per second),

    and equals ``f1`` at ``t = duration`` (one sample period after the last
    sample).  The phase starts at 0.

    Parameters
    ----------
    f0, f1 : float
        Start and end frequencies in Hz, in ``[0, sr/2]``; both must be > 0
        for ``method="logarithmic"``.
    duration : float
        Length in seconds, >= 0.
    sr : float
        Sample rate in Hz, >= 1.
    method : {"linear", "logarithmic"}, optional
        Sweep law.  Default ``"linear"``.
    amplitude : float, optional
        Peak amplitude (linear full scale, >= 0).  Default 0.5.

    Returns
    -------
    numpy.ndarray
        Shape ``(round(duration*sr),)``, dtype ``float32``.

    Raises
    ------
    ValueError
        If an argument is out of range or ``method`` is unknown.
    """
    if method not in ("linear", "logarithmic"):
        raise ValueError(f"method={method!r}: must be 'linear' or 'logarithmic'")
    sr = _check_sr(sr)
    duration = _check_duration(duration)
    positive = method == "logarithmic"
    f0 = _check_freq("f0", f0, sr, positive=positive)
    f1 = _check_freq("f1", f1, sr, positive=positive)
    amplitude = _check_amplitude(amplitude)
    t = _time_axis(duration, sr)
    phi = _glide_phase(f0, f1, duration, t, method)
    return (amplitude * np.sin(phi)).astype(np.float32)


def harmonic_tone(
    f0: float,
    duration: float,
    *,
    sr: float,
    n_harmonics: int = 10,
    amplitude: float = 0.5,
    f0_end: float | None = None,
) -> NDArray[np.float32]:
    """Harmonic complex (sawtooth-like spectrum) with an optional pitch glide.

    Harmonic ``k`` (``k = 1 .. n_harmonics``) has frequency ``k * f(t)`` and
    peak ``amplitude * (1/k) / H`` where ``H = sum_k 1/k``, so the spectrum
    falls at 6 dB/octave and ``max(abs(y)) <= amplitude``.  All harmonics
    start at phase 0 and share the fundamental's phase (``phi_k = k phi_1``),
    so they stay locked during a glide.

    If ``f0_end`` is given the fundamental glides log-linearly (constant
    octaves per second) as ``f(t) = f0 * (f0_end / f0) ** (t / duration)``.

    Aliasing: a harmonic contributes nothing at samples where
    ``k * f(t) >= sr / 2``, so no partial ever folds back below Nyquist.
    The cut is abrupt; its small splatter stays near the top of the band
    because the dropped partial is the weakest one present.

    Parameters
    ----------
    f0 : float
        (Start) fundamental frequency in Hz, in ``(0, sr/2]``.
    duration : float
        Length in seconds, >= 0.
    sr : float
        Sample rate in Hz, >= 1.
    n_harmonics : int, optional
        Number of harmonics including the fundamental, >= 1.  Default 10.
    amplitude : float, optional
        Upper bound of the peak amplitude (linear full scale, >= 0).
    f0_end : float or None, optional
        Fundamental at ``t = duration`` in Hz, in ``(0, sr/2]``; ``None``
        (default) for a steady pitch.

    Returns
    -------
    numpy.ndarray
        Shape ``(round(duration*sr),)``, dtype ``float32``.

    Raises
    ------
    ValueError
        If an argument is out of range.
    """
    sr = _check_sr(sr)
    duration = _check_duration(duration)
    f0 = _check_freq("f0", f0, sr, positive=True)
    f_end = f0 if f0_end is None else _check_freq("f0_end", f0_end, sr, positive=True)
    if isinstance(n_harmonics, bool) or int(n_harmonics) != n_harmonics:
        raise ValueError(f"n_harmonics={n_harmonics!r}: must be an integer >= 1")
    n_harmonics = int(n_harmonics)
    if n_harmonics < 1:
        raise ValueError(f"n_harmonics={n_harmonics!r}: must be an integer >= 1")
    amplitude = _check_amplitude(amplitude)

    t = _time_axis(duration, sr)
    phi = _glide_phase(f0, f_end, duration, t, "logarithmic")
    if duration > 0.0 and f_end != f0:
        f_inst = f0 * np.exp(math.log(f_end / f0) * t / duration)
    else:
        f_inst = np.full_like(t, f0)
    nyquist = sr / 2.0
    weights = 1.0 / np.arange(1, n_harmonics + 1)
    weights /= weights.sum()

    y = np.zeros_like(t)
    for k, w in enumerate(weights, start=1):
        below = k * f_inst < nyquist
        if not below.any():
            # k * f(t) >= sr/2 everywhere implies the same for every higher
            # harmonic, so none of them can contribute.
            break
        y += np.where(below, w * np.sin(k * phi), 0.0)
    return (amplitude * y).astype(np.float32)


def click_train(
    duration: float,
    *,
    sr: float,
    rate: float | None = None,
    times: Sequence[float] | ArrayLike | None = None,
    amplitude: float = 0.9,
    width: int = 1,
) -> NDArray[np.float32]:
    """Train of rectangular positive impulses ("clicks") on silence.

    Click ``n`` at time ``t_n`` seconds starts at sample ``round(t_n * sr)``
    (round half to even, as :func:`numpy.rint`) and covers ``width`` samples
    (truncated at the end of the signal).  With ``rate``, ``t_n = n / rate``
    for every ``n >= 0`` whose sample index falls inside the signal.

    Parameters
    ----------
    duration : float
        Length in seconds, >= 0.
    sr : float
        Sample rate in Hz, >= 1.
    rate : float, optional
        Clicks per second, > 0.  Exactly one of ``rate`` and ``times``.
    times : sequence of float, optional
        Click times in seconds; each must map to a sample in
        ``[0, round(duration*sr))``.
    amplitude : float, optional
        Value of the click samples (linear full scale, >= 0).  Default 0.9.
    width : int, optional
        Samples per click, >= 1.  Default 1 (a unit impulse: flat spectrum).

    Returns
    -------
    numpy.ndarray
        Shape ``(round(duration*sr),)``, dtype ``float32``.

    Raises
    ------
    ValueError
        If not exactly one of ``rate``/``times`` is given or an argument is
        out of range.
    """
    sr = _check_sr(sr)
    duration = _check_duration(duration)
    amplitude = _check_amplitude(amplitude)
    if isinstance(width, bool) or int(width) != width or width < 1:
        raise ValueError(f"width={width!r}: must be an integer >= 1 (samples)")
    width = int(width)
    n = n_samples(duration, sr)
    if (rate is None) == (times is None):
        raise ValueError("exactly one of rate= and times= must be given")

    if rate is not None:
        rate = _finite("rate", rate)
        if rate <= 0:
            raise ValueError(f"rate={rate!r}: must be > 0 (clicks per second)")
        # Integer click counter (not cumulative float addition) so that click
        # n lands at round(n/rate*sr) without drift.
        n_clicks = math.ceil(n / sr * rate) + 1
        t_clicks = np.arange(n_clicks, dtype=np.float64) / rate
        idx = np.rint(t_clicks * sr).astype(np.int64)
        idx = idx[idx < n]
    else:
        t_clicks = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if t_clicks.ndim != 1:
            raise ValueError(f"times: must be 1-D, got shape {t_clicks.shape}")
        idx = np.rint(t_clicks * sr).astype(np.int64)
        for i, (ti, k) in enumerate(zip(t_clicks, idx, strict=True)):
            if not math.isfinite(ti) or not 0 <= k < n:
                raise ValueError(
                    f"times[{i}]={float(ti)!r}: must be in "
                    f"[0, duration = {duration!r}) so that sample "
                    f"round(t*sr) is in [0, {n})"
                )

    y = np.zeros(n, dtype=np.float32)
    for k in np.asarray(idx, dtype=np.int64):
        y[k : k + width] = amplitude
    return y


def silence(duration: float, *, sr: float) -> NDArray[np.float32]:
    """All-zero signal.

    Parameters
    ----------
    duration : float
        Length in seconds, >= 0.
    sr : float
        Sample rate in Hz, >= 1.

    Returns
    -------
    numpy.ndarray
        Shape ``(round(duration*sr),)``, dtype ``float32``, all zeros.
    """
    return np.zeros(n_samples(duration, sr), dtype=np.float32)


def fade(
    y: ArrayLike,
    *,
    sr: float,
    fade_in: float = 0.005,
    fade_out: float = 0.005,
) -> NDArray[np.float32]:
    """Apply raised-cosine fade-in and fade-out (returns a new array).

    Cutting a signal abruptly spreads a broadband click across the
    spectrogram; a raised-cosine (Hann half-window) ramp of a few ms removes
    it.  The fade-in gain is ``0.5 - 0.5*cos(pi*i/N)`` for ``i = 0..N-1``
    with ``N = round(fade_in*sr)`` (so the first sample is 0); the fade-out
    is its mirror image (the last sample is 0).  Ramps longer than the
    signal are truncated; overlapping ramps multiply.

    Parameters
    ----------
    y : array_like
        1-D signal, shape ``(n,)``.
    sr : float
        Sample rate in Hz, >= 1.
    fade_in, fade_out : float, optional
        Ramp lengths in seconds, >= 0.  Default 0.005 (5 ms).

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``, dtype ``float32``.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D or an argument is out of range.
    """
    sr = _check_sr(sr)
    out = np.array(y, dtype=np.float32, copy=True)
    if out.ndim != 1:
        raise ValueError(f"y: must be 1-D, got shape {out.shape}")
    n = out.shape[0]
    n_in = n_samples(_check_duration(fade_in, "fade_in"), sr)
    n_out = n_samples(_check_duration(fade_out, "fade_out"), sr)
    # The gain is a fixed function of time from the edge, so a ramp longer
    # than the signal is cut rather than squeezed to fit.
    if n_in and n:
        m = min(n_in, n)
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(m) / n_in)
        out[:m] *= ramp.astype(np.float32)
    if n_out and n:
        m = min(n_out, n)
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(m) / n_out)
        out[n - m :] *= ramp[::-1].astype(np.float32)
    return out
