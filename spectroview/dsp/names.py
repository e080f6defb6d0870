"""What the engine accepts by name, and its error type: a leaf without numpy.

The command line builds ``--help`` and answers ``--version`` from these alone,
so neither imports numpy (0.08 s) or scipy (0.25 s); :mod:`spectroview.dsp.params`
re-exports every name here.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "FMIN_DEFAULT",
    "LOG_FMIN_DEFAULT",
    "N_FFT_DEFAULT",
    "N_FFT_MAX",
    "N_FFT_MIN",
    "N_MELS_DEFAULT",
    "PAD_MODES",
    "SCALES",
    "SCALE_DEFAULT",
    "WINDOWS",
    "WINDOW_DEFAULT",
    "ParameterError",
]


class ParameterError(ValueError):
    """A parameter is outside what the engine allows.

    The message names the parameter, the value and what is allowed, e.g.
    ``hop_length=0: must be >= 1``.
    """


#: Window names offered (scipy.signal.get_window names); "rectangular" is
#: accepted as an alias of "boxcar", as scipy and librosa accept it.
WINDOWS: tuple[str, ...] = (
    "hann",
    "hamming",
    "blackman",
    "blackmanharris",
    "nuttall",
    "flattop",
    "bartlett",
    "triang",
    "cosine",
    "boxcar",
)
_WINDOW_ALIASES = {"rectangular": "boxcar", "hanning": "hann"}

#: Pad modes for ``center=True``.  Modes that need the whole signal
#: (mean, median, wrap, ...) are left out because the streaming engine
#: must produce the same frames as the offline one.
PAD_MODES: tuple[str, ...] = ("constant", "edge", "reflect", "symmetric")

SCALES: tuple[str, ...] = ("linear", "log", "mel")

N_FFT_MIN = 16
N_FFT_MAX = 65536

# The defaults of SpectrogramParams that the command line's help names: librosa's
# (n_fft 2048, Hann, 128 mel bands from 0 Hz), and a linear frequency axis.
N_FFT_DEFAULT = 2048
WINDOW_DEFAULT = "hann"
SCALE_DEFAULT: Literal["linear", "log", "mel"] = "linear"
N_MELS_DEFAULT = 128
FMIN_DEFAULT = 0.0

#: Model front ends by name (:mod:`spectroview.dsp.frontends`), and their aliases.
FRONT_ENDS: tuple[str, ...] = ("librosa", "torchaudio", "panns", "whisper", "whisper-128", "ast")
FRONT_END_ALIASES = {"logmel": "librosa"}
#: What a mel front end does to its mel values (:attr:`spectroview.dsp.frontends.FrontEnd.log`).
LOGS: tuple[str, ...] = ("db", "ln", "log10", "none")

#: Lowest frequency of the log-frequency axis when ``fmin`` is 0 (Hz):
#: 0 Hz cannot be placed on a log axis; 20 Hz is the usual floor of hearing.
LOG_FMIN_DEFAULT = 20.0
