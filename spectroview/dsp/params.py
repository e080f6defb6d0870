"""One full, validated set of spectrogram parameters.

:class:`SpectrogramParams` is frozen: change it with :func:`dataclasses.replace`,
which validates again.  Every default lives here and nowhere else; the
function-style API (:func:`spectroview.dsp.stft_power` and friends) uses
librosa's defaults, which are the same values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from spectroview.dsp.names import (
    _WINDOW_ALIASES,
    FMIN_DEFAULT,
    LOG_FMIN_DEFAULT,
    N_FFT_DEFAULT,
    N_FFT_MAX,
    N_FFT_MIN,
    N_MELS_DEFAULT,
    PAD_MODES,
    SCALE_DEFAULT,
    SCALES,
    WINDOW_DEFAULT,
    WINDOWS,
    ParameterError,
)

__all__ = [
    "BINS_PER_OCTAVE_MAX",
    "HOP_MAX",
    "LOG_FMIN_DEFAULT",
    "N_FFT_MAX",
    "N_FFT_MIN",
    "N_MELS_MAX",
    "PAD_MODES",
    "SCALES",
    "WINDOWS",
    "ParameterError",
    "SpectrogramParams",
]

#: Largest hop in samples (an int32 index; past it arithmetic on frame positions overflows).
HOP_MAX = 2**31 - 1
#: Largest number of mel bands: a band needs an FFT bin inside it and each bin lies in at
#: most two bands, so no window (n_fft <= 65536) can fill more than this.
N_MELS_MAX = N_FFT_MAX + 2
#: Finest log-frequency scale: one row per cent.
BINS_PER_OCTAVE_MAX = 1200


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def mono_signal(y: np.ndarray) -> np.ndarray:
    """``y`` as an array, or :class:`ParameterError` unless it is 1-D floating point (mono).

    The one input check of every analysis function; callers convert the
    dtype they compute in and decide what an empty signal means.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ParameterError(f"y.shape={y.shape}: must be 1-D (mono); mix down or pick a channel first")
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"y.dtype={y.dtype}: must be floating point")
    return y


def canonical_window(window: str) -> str:
    """Return the canonical name of ``window`` or raise :class:`ParameterError`."""
    if not isinstance(window, str):
        raise ParameterError(f"window={window!r}: must be one of {', '.join(WINDOWS)}")
    name = _WINDOW_ALIASES.get(window.lower(), window.lower())
    if name not in WINDOWS:
        raise ParameterError(f"window={window!r}: unknown; choose one of {', '.join(WINDOWS)}")
    return name


def mel_filter_is_empty(*, sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool) -> np.ndarray:
    """Which triangular mel filters contain no FFT bin.

    A filter's weight is positive only strictly inside its triangle
    ``(mel_f[m], mel_f[m + 2])``; a filter whose open interval holds no bin
    centre ``k * sr / n_fft`` is all zeros and would draw a blank row.

    Returns
    -------
    (n_mels,) bool
    """
    from spectroview.dsp.mel import fft_frequencies, mel_frequencies

    edges = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)
    bins = fft_frequencies(sr=sr, n_fft=n_fft)
    # Number of bin centres strictly inside each open interval.
    first_above_lower = np.searchsorted(bins, edges[:-2], side="right")
    first_at_or_above_upper = np.searchsorted(bins, edges[2:], side="left")
    return first_at_or_above_upper <= first_above_lower


def largest_n_mels(*, sr: float, n_fft: int, fmin: float, fmax: float, htk: bool, start: int) -> int:
    """Largest ``n_mels <= start`` for which no mel filter is empty (0 if none).

    Bands narrow as their number grows, the lowest (narrowest in Hz) first,
    so emptiness is monotone in ``n_mels`` and a bisection finds the answer
    in ~20 checks (a scan down from 100 000 took minutes).  No window can
    fill more than ``n_fft + 2`` bands (each bin lies in at most two), so
    the search starts there at most.
    """

    def fills(n_mels: int) -> bool:
        return not mel_filter_is_empty(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk).any()

    lo, hi = 0, min(int(start), n_fft + 2)  # fills(lo) holds (0: vacuously); find the largest
    if hi >= 1 and fills(hi):
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fills(mid):
            lo = mid
        else:
            hi = mid
    # Guard the monotonicity assumption: step down until it really fills.
    while lo > 0 and not fills(lo):
        lo -= 1
    return lo


@dataclass(frozen=True)
class SpectrogramParams:
    """A complete spectrogram parameter set, in librosa's vocabulary.

    Parameters
    ----------
    sr : float or None
        Sample rate in Hz.  ``None`` makes a template that applies to any
        source; the checks that need the rate (``fmax <= sr/2``, empty mel
        filters) run when a rate is given, e.g. by :meth:`with_sr`.
    n_fft : int
        FFT length in samples, 16 to 65536.  Rows of the linear scale:
        ``1 + n_fft // 2``.
    hop_length : int or None
        Samples between frame starts, >= 1; ``None`` means ``win_length // 4``.
    win_length : int or None
        Window length in samples, 1 to ``n_fft``; ``None`` means ``n_fft``.
        A shorter window is zero-padded to ``n_fft`` in the centre.
    window : str
        One of :data:`WINDOWS` (periodic, as ``scipy.signal.get_window``).
    center : bool
        Pad ``n_fft // 2`` samples on both sides so that frame ``t`` is
        centred on sample ``t * hop_length``.
    pad_mode : str
        One of :data:`PAD_MODES` (``numpy.pad`` modes).
    power : float
        Exponent of the magnitude, > 0: 2 for power, 1 for magnitude.
    scale : {"linear", "log", "mel"}
        Frequency axis of :func:`spectroview.dsp.spectrogram`.
    n_mels : int
        Mel bands, >= 1, used on the mel scale.
    fmin, fmax : float
        Frequency range in Hz for the mel and log scales; ``fmax=None``
        means ``sr / 2``.
    htk : bool
        HTK mel formula ``2595 log10(1 + f/700)`` instead of Slaney's.
    norm : {"slaney", None}
        Mel filter normalization: "slaney" divides each triangle by its
        width in Hz (constant energy per band), None leaves peaks at 1.
    bins_per_octave : int
        Rows per octave on the log scale, >= 1.
    """

    sr: float | None = None
    n_fft: int = N_FFT_DEFAULT
    hop_length: int | None = None
    win_length: int | None = None
    window: str = WINDOW_DEFAULT
    center: bool = True
    pad_mode: str = "constant"
    power: float = 2.0
    scale: Literal["linear", "log", "mel"] = SCALE_DEFAULT
    n_mels: int = N_MELS_DEFAULT
    fmin: float = FMIN_DEFAULT
    fmax: float | None = None
    htk: bool = False
    norm: Literal["slaney"] | None = "slaney"
    bins_per_octave: int = 48

    def __post_init__(self) -> None:
        self._validate()

    # -- resolved values -------------------------------------------------
    @property
    def win(self) -> int:
        """Window length in samples (``win_length`` resolved)."""
        return self.n_fft if self.win_length is None else int(self.win_length)

    @property
    def hop(self) -> int:
        """Hop length in samples (``hop_length`` resolved)."""
        return max(1, self.win // 4) if self.hop_length is None else int(self.hop_length)

    def fmax_for(self, sr: float) -> float:
        """Upper frequency in Hz for sample rate ``sr``."""
        return float(sr) / 2.0 if self.fmax is None else float(self.fmax)

    def log_fmin(self) -> float:
        """Lowest frequency of the log scale in Hz (``fmin`` or 20 Hz when 0)."""
        return float(self.fmin) if self.fmin > 0 else LOG_FMIN_DEFAULT

    def with_sr(self, sr: float) -> SpectrogramParams:
        """This parameter set bound to sample rate ``sr`` (validated)."""
        if self.sr is not None and float(self.sr) == float(sr):
            return self
        return dataclasses.replace(self, sr=sr)

    def require_sr(self) -> float:
        """The sample rate, or :class:`ParameterError` if this is a template."""
        if self.sr is None:
            raise ParameterError("sr=None: a sample rate in Hz (> 0) is needed here")
        return float(self.sr)

    # -- validation -------------------------------------------------------
    def _validate(self) -> None:
        if not _is_int(self.n_fft) or not N_FFT_MIN <= self.n_fft <= N_FFT_MAX:
            raise ParameterError(f"n_fft={self.n_fft!r}: must be an integer in [{N_FFT_MIN}, {N_FFT_MAX}]")
        if self.win_length is not None and (not _is_int(self.win_length) or not 1 <= self.win_length <= self.n_fft):
            raise ParameterError(
                f"win_length={self.win_length!r}: must be an integer in [1, n_fft={self.n_fft}] (or None for n_fft)"
            )
        if self.hop_length is not None and (not _is_int(self.hop_length) or not 1 <= self.hop_length <= HOP_MAX):
            raise ParameterError(
                f"hop_length={self.hop_length!r}: must be an integer >= 1 and <= {HOP_MAX} (or None for win_length//4)"
            )
        object.__setattr__(self, "window", canonical_window(self.window))
        if not isinstance(self.center, (bool, np.bool_)):
            raise ParameterError(f"center={self.center!r}: must be True or False")
        if self.pad_mode not in PAD_MODES:
            raise ParameterError(f"pad_mode={self.pad_mode!r}: must be one of {', '.join(PAD_MODES)}")
        if not _is_real(self.power) or not np.isfinite(self.power) or self.power <= 0:
            raise ParameterError(f"power={self.power!r}: must be a number > 0 (2 for power, 1 for magnitude)")
        if self.scale not in SCALES:
            raise ParameterError(f"scale={self.scale!r}: must be one of {', '.join(SCALES)}")
        if not _is_int(self.n_mels) or not 1 <= self.n_mels <= N_MELS_MAX:
            raise ParameterError(f"n_mels={self.n_mels!r}: must be an integer >= 1 and <= {N_MELS_MAX}")
        if not _is_int(self.bins_per_octave) or not 1 <= self.bins_per_octave <= BINS_PER_OCTAVE_MAX:
            raise ParameterError(
                f"bins_per_octave={self.bins_per_octave!r}: must be an integer >= 1 and <= {BINS_PER_OCTAVE_MAX} (cents)"
            )
        if not _is_real(self.fmin) or not np.isfinite(self.fmin) or self.fmin < 0:
            raise ParameterError(f"fmin={self.fmin!r}: must be a frequency in Hz >= 0")
        if self.fmax is not None and (not _is_real(self.fmax) or not np.isfinite(self.fmax) or self.fmax <= 0):
            raise ParameterError(f"fmax={self.fmax!r}: must be a frequency in Hz > 0 (or None for sr/2)")
        if self.htk not in (True, False):
            raise ParameterError(f"htk={self.htk!r}: must be True or False")
        if self.norm not in ("slaney", None):
            raise ParameterError(f"norm={self.norm!r}: must be 'slaney' or None")
        if self.fmax is not None and self.fmin >= self.fmax:
            raise ParameterError(f"fmin={self.fmin!r}: must be below fmax={self.fmax!r}")
        if self.sr is not None:
            self._validate_for_sr()

    def _validate_for_sr(self) -> None:
        if not _is_real(self.sr) or not np.isfinite(self.sr) or self.sr <= 0:  # type: ignore[arg-type,operator]
            raise ParameterError(f"sr={self.sr!r}: must be a sample rate in Hz > 0")
        sr = float(self.sr)  # type: ignore[arg-type]
        nyquist = sr / 2.0
        fmax = self.fmax_for(sr)
        if fmax > nyquist:
            raise ParameterError(f"fmax={self.fmax!r}: must be <= sr/2 = {nyquist:g} Hz")
        if self.fmin >= fmax:
            raise ParameterError(f"fmin={self.fmin!r}: must be below fmax = {fmax:g} Hz")
        if self.scale == "log" and self.log_fmin() >= fmax:
            raise ParameterError(
                f"fmin={self.fmin!r}: the log scale starts at {self.log_fmin():g} Hz, which must be below fmax = {fmax:g} Hz"
            )
        if self.scale == "mel":
            mel = {"sr": sr, "n_fft": self.n_fft, "fmin": float(self.fmin), "fmax": fmax, "htk": bool(self.htk)}
            empty = mel_filter_is_empty(n_mels=self.n_mels, **mel)  # type: ignore[arg-type]
            if empty.any():
                best = largest_n_mels(start=self.n_mels - 1, **mel)  # type: ignore[arg-type]
                raise ParameterError(
                    f"n_mels={self.n_mels}: {int(empty.sum())} mel filter(s) would contain no FFT bin at "
                    f"n_fft={self.n_fft}, sr={sr:g} Hz, {self.fmin:g}-{fmax:g} Hz; "
                    f"use n_mels <= {best} or a larger n_fft"
                )
