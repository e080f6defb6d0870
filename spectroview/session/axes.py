"""Honest axes and readouts: frequency/row mapping, nice ticks, text formats.

Pure functions without Qt (numpy and the standard library only), used by
:mod:`spectroview.ui` for the axes of the spectrogram and the cursor readout.

Row coordinate
--------------
The spectrogram image is placed so that image row ``r`` occupies
``[r, r + 1)`` of a continuous *row coordinate* ``y``; the centre of row
``r`` is ``y = r + 0.5``.  Rows are evenly spaced in the units of their
scale (Hz, mel or log2 Hz), so the mapping between ``y`` and frequency is
affine in those units and agrees exactly with
:func:`spectroview.dsp.mel.row_frequencies`: the centre of row ``r`` maps
to ``y = r + 0.5`` and its edges to ``y = r`` and ``y = r + 1``.

Text conventions
----------------
Minus signs are U+2212 ("−"), as in the readout ``level = −23.4 dBFS``.
Frequency labels are "440", "1k", "1.5k", "22.05k" (Hz below 1 kHz,
kHz from 1 kHz, no trailing zeros); time labels are seconds ("12.5")
below a minute and "m:ss" / "h:mm:ss" from a minute on.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from spectroview.dsp.mel import hz_to_mel, logfreq_edges, mel_to_hz
from spectroview.dsp.params import ParameterError, SpectrogramParams

__all__ = [
    "NOTE_NAMES",
    "FrequencyMapping",
    "format_duration",
    "format_hz",
    "format_readout",
    "format_time",
    "note_name",
    "parse_time",
    "parse_time_range",
    "time_axis_label",
    "time_ticks",
]

MINUS = "\u2212"

#: Pitch classes, sharps only, starting at C (MIDI note 60 is C4).
NOTE_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

#: Below this frequency in Hz :func:`note_name` gives no note.
NOTE_FMIN = 20.0

Tick = tuple[float, str]

# Finest and coarsest frequency steps of the tick search, in Hz.
_HZ_STEP_MIN_EXP = -3
_HZ_STEP_MAX_EXP = 6
# Mantissa sets per decade for the log-style tick candidates, coarse to fine.
_LOG_MANTISSAS: tuple[tuple[float, ...], ...] = (
    (1.0,),
    (1.0, 3.0),
    (1.0, 2.0, 5.0),
    (1.0, 2.0, 3.0, 5.0, 7.0),
    (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0),
    (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0),
    (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0),
)
# Two labelled ticks are never closer than this fraction of the even spacing
# ``span / max_ticks`` (crowded candidates are dropped, least round first).
_MIN_GAP_FRACTION = 0.5
# Irregular (thinned) tick sets count their largest gap this much larger.
_THINNED_HANDICAP = 1.1
# Ticks this close (in rows) outside the visible range are moved onto its end.
_Y_TOL = 1e-9


# ---------------------------------------------------------------------------
# Frequency <-> row coordinate
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FrequencyMapping:
    """The continuous map between row coordinate ``y`` and frequency in Hz.

    The rows are evenly spaced in the scale's own unit ``u`` (Hz for
    "linear", mel for "mel", log2 Hz for "log"), so
    ``u(f) = origin + y * step``.  Build it with :meth:`from_params`.

    Attributes
    ----------
    scale : {"linear", "mel", "log"}
        Frequency axis of the image.
    n_rows : int
        Image rows; the valid range of ``y`` is ``(0, n_rows)``.
    origin : float
        Scale units at ``y = 0`` (the lower edge of row 0): Hz, mel or log2 Hz.
    step : float
        Scale units per row (> 0).
    htk : bool
        HTK mel formula (mel scale only).

    Notes
    -----
    linear
        Row ``k`` is FFT bin ``k`` at ``k * sr / n_fft`` Hz:
        ``y = hz / (sr / n_fft) + 0.5``; ``y = 0`` is ``-sr / (2 n_fft)`` Hz.
    mel
        Row ``m`` is the filter centred at ``mel_frequencies(n_mels + 2)[m + 1]``;
        with ``d`` the spacing in mel, ``y = (mel(hz) - mel(centre_0)) / d + 0.5``.
        ``y = 0`` and ``y = n_rows`` lie half a spacing inside fmin and fmax.
    log
        With band edges ``e_0 .. e_N`` (:func:`~spectroview.dsp.mel.logfreq_edges`),
        ``y = N * log(hz / e_0) / log(e_N / e_0)``.

    Nothing is clipped: ``y`` outside ``(0, n_rows)`` maps to frequencies
    outside the image by the same formula.  On the log scale ``hz <= 0``
    gives ``-inf`` or NaN.
    """

    scale: str
    n_rows: int
    origin: float
    step: float
    htk: bool = False

    @classmethod
    def from_params(cls, params: SpectrogramParams) -> FrequencyMapping:
        """The mapping for the rows of ``spectrogram(y, params)``.

        Parameters
        ----------
        params : SpectrogramParams
            With ``sr`` set (a template raises ``ParameterError``).
        """
        sr = params.require_sr()
        fmax = params.fmax_for(sr)
        if params.scale == "linear":
            df = sr / params.n_fft
            return cls("linear", 1 + params.n_fft // 2, -df / 2.0, df)
        if params.scale == "mel":
            lo = float(hz_to_mel(float(params.fmin), htk=params.htk))
            hi = float(hz_to_mel(fmax, htk=params.htk))
            d = (hi - lo) / (params.n_mels + 1)
            # Filter centres are at lo + (m + 1) d; row m spans lo + (m + 1/2) d .. lo + (m + 3/2) d.
            return cls("mel", params.n_mels, lo + d / 2.0, d, bool(params.htk))
        edges = logfreq_edges(fmin=params.log_fmin(), fmax=fmax, bins_per_octave=params.bins_per_octave)
        n = len(edges) - 1
        lo, hi = math.log2(float(edges[0])), math.log2(float(edges[-1]))
        return cls("log", n, lo, (hi - lo) / n)

    # -- the map -----------------------------------------------------------
    @property
    def y_range(self) -> tuple[float, float]:
        """Valid row coordinates ``(0, n_rows)`` covered by the image."""
        return 0.0, float(self.n_rows)

    @property
    def hz_range(self) -> tuple[float, float]:
        """Frequencies in Hz at ``y = 0`` and ``y = n_rows`` (the image's outer edges)."""
        return self.y_to_hz(0.0), self.y_to_hz(float(self.n_rows))

    def _to_units(self, hz: np.ndarray) -> np.ndarray:
        if self.scale == "linear":
            return hz
        if self.scale == "mel":
            return hz_to_mel(hz, htk=self.htk)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log2(hz)

    def _from_units(self, u: np.ndarray) -> np.ndarray:
        if self.scale == "linear":
            return u
        if self.scale == "mel":
            return mel_to_hz(u, htk=self.htk)
        return np.exp2(u)

    @overload
    def hz_to_y(self, hz: float) -> float: ...
    @overload
    def hz_to_y(self, hz: np.ndarray) -> np.ndarray: ...
    def hz_to_y(self, hz: float | np.ndarray) -> float | np.ndarray:
        """Row coordinate of frequency ``hz`` (Hz); a float for a scalar, else float64 of its shape."""
        arr = np.asarray(hz, dtype=np.float64)
        y = (self._to_units(arr) - self.origin) / self.step
        return float(y) if np.ndim(y) == 0 else y

    @overload
    def y_to_hz(self, y: float) -> float: ...
    @overload
    def y_to_hz(self, y: np.ndarray) -> np.ndarray: ...
    def y_to_hz(self, y: float | np.ndarray) -> float | np.ndarray:
        """Frequency in Hz at row coordinate ``y``; a float for a scalar, else float64 of its shape."""
        arr = np.asarray(y, dtype=np.float64)
        hz = self._from_units(self.origin + arr * self.step)
        return float(hz) if np.ndim(hz) == 0 else hz

    def row_at(self, y: float) -> int | None:
        """Index of the image row containing row coordinate ``y``, or None outside the image."""
        if not math.isfinite(y) or not 0.0 <= y < self.n_rows:
            return None
        return min(math.floor(y), self.n_rows - 1)

    # -- ticks ---------------------------------------------------------------
    def ticks(self, y_min: float, y_max: float, max_ticks: int = 8) -> list[Tick]:
        """Labelled ticks at round frequencies inside the visible rows.

        Parameters
        ----------
        y_min, y_max : float
            Visible range of the row coordinate (either order).
        max_ticks : int
            Most ticks returned (>= 1).

        Returns
        -------
        list of (y, label)
            Ascending ``y`` with ``y_min <= y <= y_max``; ``label`` is the
            frequency at ``y`` as :func:`format_hz` writes it ("500", "1.5k").
            Only frequencies >= 0 Hz (> 0 on the log scale) are ticked.

        Notes
        -----
        Linear scale: every multiple of the smallest step 1, 2, 2.5 or 5 ×
        10^k Hz that gives at most ``max_ticks`` ticks.  Mel and log scales:
        among the uniform steps and sets of round values per decade (1, 2,
        5 × 10^k, or 1, 3, or finer mantissas; the least round dropped
        where two would be closer than half the even spacing
        ``span / max_ticks``), the set that covers the range most evenly,
        i.e. whose largest gap is smallest.  So a full log axis reads
        100, 200, 500, 1k, ... 20k and a zoomed one a uniform step.
        Tested to give at least two ticks for any range of one row or more
        inside the image when ``max_ticks >= 4``.
        """
        return [(y, format_hz(hz, decimals=_decimals(hz))) for hz, y in self._tick_values(y_min, y_max, max_ticks)]

    def tick_levels(self, y_min: float, y_max: float, max_major: int = 8) -> list[list[Tick]]:
        """Major and minor ticks for a pyqtgraph ``AxisItem``.

        Returns
        -------
        [major, minor]
            ``major`` is :meth:`ticks` with ``max_ticks=max_major``; ``minor``
            are finer round frequencies (up to ``4 * max_major`` including
            the majors) that are not majors, with labels the GUI may hide.
        """
        major = self._tick_values(y_min, y_max, max_major)
        finer = self._tick_values(y_min, y_max, 4 * max(1, max_major))
        span = abs(y_max - y_min)
        tol = 1e-3 * span
        major_y = sorted(y for _, y in major)
        minor = []
        for hz, y in finer:
            j = bisect.bisect_left(major_y, y)
            near = [major_y[i] for i in (j - 1, j) if 0 <= i < len(major_y)]
            if all(abs(y - m) > tol for m in near):
                minor.append((hz, y))
        return [
            [(y, format_hz(hz, decimals=_decimals(hz))) for hz, y in major],
            [(y, format_hz(hz, decimals=_decimals(hz))) for hz, y in minor],
        ]

    def _tick_values(self, y_min: float, y_max: float, max_ticks: int) -> list[tuple[float, float]]:
        """(hz, y) of the chosen ticks, ascending ``y``."""
        if not (math.isfinite(y_min) and math.isfinite(y_max)) or max_ticks < 1:
            return []
        y_lo, y_hi = min(y_min, y_max), max(y_min, y_max)
        span = y_hi - y_lo
        if span <= 0:
            return []
        f_lo, f_hi = self.y_to_hz(y_lo - _Y_TOL), self.y_to_hz(y_hi + _Y_TOL)
        if not (math.isfinite(f_lo) and math.isfinite(f_hi)) or f_hi <= 0:
            return []
        f_lo = max(f_lo, 0.0)
        min_gap = _MIN_GAP_FRACTION * span / max_ticks

        best: list[tuple[float, float]] = []
        best_key: tuple[int, float, int] | None = None
        for candidates, thin in _hz_candidates(f_lo, f_hi, max_ticks, log_style=self.scale != "linear"):
            if self.scale == "log":
                candidates = [c for c in candidates if c > 0]
            if not candidates:
                continue
            ys = self.hz_to_y(np.asarray(candidates, dtype=np.float64))
            # Clamp float noise of the range's own ends (20 Hz at y = -1e-15).
            pairs = [
                (hz, min(max(float(y), y_lo), y_hi))
                for hz, y in zip(candidates, ys, strict=True)
                if y_lo - _Y_TOL <= y <= y_hi + _Y_TOL
            ]
            if thin:
                kept = _thin(pairs, min_gap, max_ticks)
            elif len(pairs) <= max_ticks and all(b[1] - a[1] >= min_gap for a, b in itertools.pairwise(pairs)):
                kept = pairs
            else:
                continue
            if not kept:
                continue
            # Most even coverage wins: the largest gap between ticks, the
            # stretches before the first and after the last counting half.
            ys_kept = [y for _, y in kept]
            gaps = [b - a for a, b in itertools.pairwise(ys_kept)]
            gaps += [0.5 * (ys_kept[0] - y_lo), 0.5 * (y_hi - ys_kept[-1])]
            # A thinned (irregular) set must be clearly more even to beat a uniform step.
            key = (0 if len(kept) >= 2 else 1, max(gaps) * (_THINNED_HANDICAP if thin else 1.0), -len(kept))
            if best_key is None or key < best_key:
                best, best_key = kept, key
        return best


def _decimals(x: float, max_decimals: int = 9) -> int:
    """Fewest decimal places that write ``x`` exactly (to 1e-9 relative)."""
    tol = 1e-9 * max(1.0, abs(x))
    for d in range(max_decimals + 1):
        if abs(round(x, d) - x) <= tol:
            return d
    return max_decimals


def _hz_candidates(f_lo: float, f_hi: float, max_ticks: int, *, log_style: bool) -> Iterable[tuple[list[float], bool]]:
    """Candidate tick sets: (ascending Hz in ``[f_lo, f_hi]``, whether to thin it).

    Uniform steps 1, 2, 2.5, 5 × 10^k Hz are taken whole or not at all; with
    ``log_style``, sets of round mantissas per decade (plus 0 when visible)
    are to be thinned to the roundest values that keep their distance.
    """
    for e in range(_HZ_STEP_MIN_EXP, _HZ_STEP_MAX_EXP + 1):
        for c in (1.0, 2.0, 2.5, 5.0):
            step = c * 10.0**e
            i_lo, i_hi = math.ceil(f_lo / step - 1e-9), math.floor(f_hi / step + 1e-9)
            if i_hi < i_lo or i_hi - i_lo + 1 > max_ticks + 2:
                continue
            d = _decimals(step)
            yield [round(i * step, d) for i in range(i_lo, i_hi + 1)], False
    if not log_style:
        return
    lo_pos = max(f_lo, f_hi * 1e-6, 10.0**_HZ_STEP_MIN_EXP)
    k_lo, k_hi = math.floor(math.log10(lo_pos)), math.floor(math.log10(f_hi))
    for mantissas in _LOG_MANTISSAS:
        values = [0.0] if f_lo <= 0.0 else []
        for k in range(k_lo, k_hi + 1):
            for m in mantissas:
                v = round(m * 10.0**k, max(0, 1 - k))
                if f_lo <= v <= f_hi:
                    values.append(v)
        yield values, True


def _roundness(v: float) -> tuple[int, int]:
    """Sort key, larger is rounder: (power of ten dividing ``v``, class of its last digit)."""
    if v == 0:
        return (99, 9)
    a = abs(v)
    for k in range(12, -13, -1):
        m = a / 10.0**k
        r = round(m)
        if r >= 1 and abs(m - r) <= 1e-6:
            digit = r % 10
            return (k, 3 if digit == 5 else 2 if digit == 2 else 1 if digit % 2 == 0 else 0)
    return (-99, 0)


def _thin(pairs: Sequence[tuple[float, float]], min_gap: float, max_ticks: int) -> list[tuple[float, float]]:
    """The roundest ``max_ticks`` (hz, y) at least ``min_gap`` apart in y, taken roundest first; ascending y."""
    order = sorted(pairs, key=lambda p: (*(-x for x in _roundness(p[0])), p[1]))
    kept_y: list[float] = []
    kept: list[tuple[float, float]] = []
    for hz, y in order:
        j = bisect.bisect_left(kept_y, y)
        if j > 0 and y - kept_y[j - 1] < min_gap:
            continue
        if j < len(kept_y) and kept_y[j] - y < min_gap:
            continue
        kept_y.insert(j, y)
        kept.append((hz, y))
        if len(kept) == max_ticks:
            break
    return sorted(kept, key=lambda p: p[1])


# ---------------------------------------------------------------------------
# Text formats
# ---------------------------------------------------------------------------
def _fixed(x: float, decimals: int, *, strip: bool = True) -> str:
    """``x`` with ``decimals`` places, trailing zeros stripped, U+2212 minus, no "-0"."""
    s = f"{abs(x):.{max(0, decimals)}f}"
    if strip and "." in s:
        s = s.rstrip("0").rstrip(".")
    if x < 0 and s.strip("0.") != "":
        s = MINUS + s
    return s


def format_hz(hz: float, *, decimals: int | None = None) -> str:
    """Frequency label: Hz below 1 kHz ("440", "0.5"), kHz from 1 kHz ("1k", "1.5k", "22.05k").

    Parameters
    ----------
    hz : float
        Frequency in Hz.
    decimals : int or None
        Resolution in decimal places of Hz (0: whole Hz, so 1234 Hz is
        "1.234k"); None keeps 6 significant digits.  Trailing zeros are
        always dropped.
    """
    if not math.isfinite(hz):
        return "∞" if hz > 0 else (MINUS + "∞" if hz < 0 else "NaN")
    if decimals is None:
        decimals = 0 if hz == 0 else min(9, max(0, 5 - math.floor(math.log10(abs(hz)))))
    v = round(hz, decimals)
    if abs(v) >= 1000.0:
        return _fixed(v / 1000.0, decimals + 3) + "k"
    return _fixed(v, decimals)


def format_duration(seconds: float) -> str:
    """A window or hop length: "46.4 ms" below a second, "1.49 s" above (3 significant digits).

    Parameters
    ----------
    seconds : float
        Duration in seconds (>= 0).
    """
    if not math.isfinite(seconds):
        return "∞ s" if seconds > 0 else "NaN"
    if seconds == 0:
        return "0 ms"

    def sig3(x: float) -> float:
        return round(x, 2 - math.floor(math.log10(abs(x))))

    ms = sig3(seconds * 1000.0)
    if abs(ms) < 1000.0:
        return f"{_fixed(ms, max(0, 2 - math.floor(math.log10(abs(ms)))))} ms"
    s = sig3(seconds)
    return f"{_fixed(s, max(0, 2 - math.floor(math.log10(abs(s)))))} s"


def _span_decimals(span: float) -> int:
    """Decimal places of seconds for a visible span in seconds: 0 from 10 s, 1 from 1 s, 2 from 0.1 s..."""
    if not math.isfinite(span) or span <= 0:
        return 3
    return min(6, max(0, 1 - math.floor(math.log10(span))))


def format_time(
    seconds: float,
    *,
    span: float | None = None,
    decimals: int | None = None,
    clock: bool | None = None,
    strip: bool | None = None,
    hours: bool = False,
) -> str:
    """Time label: seconds ("12.5") below a minute, "m:ss" / "h:mm:ss" from a minute.

    Parameters
    ----------
    seconds : float
        Time in seconds (negative times get a leading "−").
    span : float or None
        Length in seconds of the visible range.  From 60 s the clock style
        is used even for times below a minute ("0:30"); the span sets the
        decimal places: 0 from 10 s, 1 from 1 s, 2 from 0.1 s, ...
        ("1:15.5" for 75.5 s in a 5 s span).
    decimals : int or None
        Decimal places of the seconds, overriding ``span``.  With neither,
        up to 3 (milliseconds) with trailing zeros dropped.
    clock : bool or None
        Force (True) or forbid (False) the "m:ss" style; None decides as above.
    strip : bool or None
        Drop trailing zeros of the fraction; None drops them only when
        neither ``span`` nor ``decimals`` is given (so tick labels align).
    hours : bool
        In the clock style, always write the hours ("0:50:00"): the ticks of an
        axis reaching an hour all read h:mm:ss, as its title says.

    Returns
    -------
    str
        No unit suffix: "12.5", "1:02.5", "1:02:05".
    """
    if not math.isfinite(seconds):
        return "NaN" if math.isnan(seconds) else ("∞" if seconds > 0 else MINUS + "∞")
    if strip is None:
        strip = span is None and decimals is None
    if decimals is None:
        decimals = 3 if span is None else _span_decimals(span)
    decimals = max(0, decimals)
    total = round(abs(seconds), decimals)
    if clock is None:
        # Decided after rounding, so that 59.96 s at 1 decimal is "1:00.0", not "60.0".
        clock = total >= 60.0 or (span is not None and span >= 60.0)
    sign = MINUS if seconds < 0 and total > 0 else ""
    if not clock:
        return sign + _fixed(total, decimals, strip=strip)
    minutes, secs = divmod(total, 60.0)
    # divmod of a rounded value can leave 59.99999 from float error: re-round.
    secs = round(secs, decimals)
    if secs >= 60.0:
        minutes, secs = minutes + 1, 0.0
    frac = _fixed(secs, decimals, strip=strip)
    whole, _, rest = frac.partition(".")
    sec_text = whole.zfill(2) + ("." + rest if rest else "")
    whole_hours, minutes = divmod(int(minutes), 60)
    if whole_hours or hours:
        return f"{sign}{whole_hours}:{minutes:02d}:{sec_text}"
    return f"{sign}{minutes}:{sec_text}"


#: Time tick steps in seconds for the clock style (from 1 s); below 1 s
#: and in the seconds style the steps are 1, 2, 5 × 10^k.
_CLOCK_STEPS: tuple[int, ...] = (
    *(1, 2, 5, 10, 15, 30),  # seconds
    *(60, 120, 300, 600, 900, 1800),  # minutes
    *(3600, 7200, 10800, 21600, 43200),  # hours
    *(86400 * c * 10**e for e in range(6) for c in (1, 2, 5)),  # days
)
_SECONDS_STEPS = (1, 2, 5, 10, 20, 50)


def time_axis_label(t_min: float, t_max: float) -> str:
    """The time axis' title for the span ``[t_min, t_max]`` s, naming the unit its ticks are in.

    "time (s)" while :func:`time_ticks` labels in seconds, "time (m:ss)" in
    the clock style (the span or either end reaches 60 s), "time (h:mm:ss)"
    from an hour.
    """
    far = max(abs(t_min), abs(t_max)) if math.isfinite(t_min) and math.isfinite(t_max) else 0.0
    span = abs(t_max - t_min) if math.isfinite(t_min) and math.isfinite(t_max) else 0.0
    if far >= 3600.0:
        return "time (h:mm:ss)"
    if span >= 60.0 or far >= 60.0:
        return "time (m:ss)"
    return "time (s)"


def time_ticks(t_min: float, t_max: float, max_ticks: int = 10) -> list[Tick]:
    """Labelled ticks at round times inside ``[t_min, t_max]`` (seconds).

    Steps are 1, 2, 5 × 10^k s below a second; from a second, 1, 2, 5, 10,
    20 s in the seconds style, or 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15,
    30 min, 1, 2, 3, 6, 12 h, 1, 2, 5 × 10^k days in the clock style, which
    every label uses when the span or either end reaches 60 s.  The smallest
    step giving at most ``max_ticks`` ticks is used (at least two ticks when
    ``max_ticks >= 5``); labels have the decimals of the step.

    Returns
    -------
    list of (t, label)
        Ascending ``t`` with ``t_min <= t <= t_max``.
    """
    if not (math.isfinite(t_min) and math.isfinite(t_max)) or max_ticks < 1:
        return []
    lo, hi = min(t_min, t_max), max(t_min, t_max)
    span = hi - lo
    if span <= 0:
        return []
    clock = span >= 60.0 or max(abs(lo), abs(hi)) >= 60.0
    steps = [c * 10.0**e for e in range(-4, 0) for c in (1.0, 2.0, 5.0)]
    steps += [float(s) for s in (_CLOCK_STEPS if clock else _SECONDS_STEPS)]
    if not clock:
        steps += [c * 10.0**e for e in range(2, 12) for c in (1.0, 2.0, 5.0)]
    for step in steps:
        i_lo, i_hi = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if i_hi - i_lo + 1 > max_ticks + 2:
            continue
        d = _decimals(step)
        values = [t for t in (round(i * step, d) for i in range(i_lo, i_hi + 1)) if lo <= t <= hi]
        if len(values) <= max_ticks:
            # An axis reaching an hour is titled h:mm:ss (time_axis_label): every tick is written so.
            hours = clock and max(abs(lo), abs(hi)) >= 3600.0
            return [(t, format_time(t, decimals=d, clock=clock, strip=False, hours=hours)) for t in values]
    return []


# ---------------------------------------------------------------------------
# Notes and readout
# ---------------------------------------------------------------------------
def note_name(freq_hz: float, *, a4: float = 440.0) -> tuple[str, int] | None:
    """The nearest equal-tempered note and the deviation from it.

    Parameters
    ----------
    freq_hz : float
        Frequency in Hz.
    a4 : float
        Tuning of A4 in Hz.

    Returns
    -------
    (name, cents) or None
        ``name`` with sharps and octave ("A4", "C#5"; MIDI 60 is "C4");
        ``cents`` is ``freq_hz`` relative to that note, rounded to an int in
        ``[-50, 50]`` (+39 for 450 Hz).  None below :data:`NOTE_FMIN`
        (20 Hz), for non-finite values, or for a non-positive ``a4``.
    """
    if not (math.isfinite(freq_hz) and math.isfinite(a4)) or freq_hz < NOTE_FMIN or a4 <= 0:
        return None
    midi = 69.0 + 12.0 * math.log2(freq_hz / a4)
    n = round(midi)
    cents = max(-50, min(50, round((midi - n) * 100.0)))
    return f"{NOTE_NAMES[n % 12]}{n // 12 - 1}", int(cents)


def _format_freq_readout(freq_hz: float) -> str:
    if not math.isfinite(freq_hz):
        return "NaN Hz" if math.isnan(freq_hz) else format_hz(freq_hz) + " Hz"
    if abs(round(freq_hz, 1)) >= 10000.0:
        return f"{_fixed(freq_hz / 1000.0, 3, strip=False)} kHz"
    return f"{_fixed(freq_hz, 1, strip=False)} Hz"


#: Levels at or below this are digital silence (the views' floor of zero power, -300 dBFS).
SILENCE_LEVEL_DB = -299.0


def _format_level(level_db: float) -> str:
    if math.isnan(level_db):
        return "—"
    if level_db <= SILENCE_LEVEL_DB:
        return MINUS + "∞"  # silence, not a made-up number
    if math.isinf(level_db):
        return "∞" if level_db > 0 else MINUS + "∞"
    return _fixed(level_db, 1, strip=False)


def format_readout(t: float, freq_hz: float, level_db: float | None, *, a4: float = 440.0) -> str:
    """The cursor readout, e.g. ``t = 1:02.345  f = 1000.0 Hz (B5 +21 ct)  level = −23.4 dBFS``.

    Parameters
    ----------
    t : float
        Time in seconds: "12.345 s" below a minute, "1:02.345" from a minute.
    freq_hz : float
        Frequency in Hz: one decimal below 10 kHz ("1000.0 Hz"), kHz with
        three decimals from 10 kHz ("12.345 kHz"); the nearest note and its
        cents (:func:`note_name`) follow when there is one ("±0 ct" on pitch).
    level_db : float or None
        Level in dBFS with one decimal ("−∞" for silence, "—" for NaN);
        None leaves the level out.
    a4 : float
        Tuning of A4 in Hz for the note.

    Returns
    -------
    str
        The fields separated by two spaces; minus signs are U+2212.
    """
    time_text = format_time(t, decimals=3, strip=False)
    if abs(round(t, 3)) < 60.0:
        time_text += " s"
    parts = [f"t = {time_text}", f"f = {_format_freq_readout(freq_hz)}"]
    note = note_name(freq_hz, a4=a4)
    if note is not None:
        name, cents = note
        sign = "±" if cents == 0 else ("+" if cents > 0 else MINUS)
        parts[-1] += f" ({name} {sign}{abs(cents)} ct)"
    if level_db is not None:
        parts.append(f"level = {_format_level(level_db)} dBFS")
    return "  ".join(parts)


def parse_time(text: str) -> float:
    """Seconds from ``"12.5"``, ``"1:02.5"`` (m:ss) or ``"1:02:03"`` (h:mm:ss), as the time axis writes them.

    Raises
    ------
    ParameterError
        For anything else, or a negative or non-finite time; the message names the text.
    """
    cleaned = text.strip().removesuffix("s").strip().replace(MINUS, "-")
    parts = cleaned.split(":")
    try:
        if not 1 <= len(parts) <= 3 or any(p.strip() == "" for p in parts):
            raise ValueError
        values = [float(p) for p in parts]
    except ValueError:
        raise ParameterError(f"{text!r}: not a time (seconds like 12.5, or m:ss like 1:02.5)") from None
    seconds = 0.0
    for v in values:
        seconds = seconds * 60.0 + v
    if not math.isfinite(seconds) or seconds < 0 or any(v < 0 for v in values) or any(v >= 60 for v in values[1:]):
        raise ParameterError(f"{text!r}: not a time (seconds >= 0; minutes and seconds below 60)")
    return seconds


def parse_time_range(text: str) -> tuple[float, float]:
    """``(start, end)`` s from ``"1.5-3"``, ``"1:00 - 1:30"`` or ``"2 to 4.5"``; in either order.

    Raises
    ------
    ParameterError
        When the text is not two times, or they are equal.
    """
    found = re.fullmatch(r"\s*(\S.*?)\s*(?:-|\u2013|to)\s*(\S.*?)\s*", text.replace(MINUS, "-"))
    if found is None:
        raise ParameterError(f"{text!r}: give a start and an end, e.g. 1.5-3 or 1:00-1:30")
    a, b = parse_time(found[1]), parse_time(found[2])
    if a == b:
        raise ParameterError(f"{text!r}: the start and the end are the same time")
    return (min(a, b), max(a, b))
