"""The numeric engine: numpy and ducc0 (no I/O, no threads, no Qt; scipy only for row_projection).

librosa's vocabulary and defaults; every function here agrees with its
librosa namesake to 1e-5 of the maximum (see ``tests/dsp``).

Names are loaded on first use (PEP 562): ``from spectroview.dsp import
SpectrogramParams`` imports numpy but not scipy.fft, so a subcommand pays only
for what it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spectroview.dsp.db import power_to_db
    from spectroview.dsp.mel import (
        fft_frequencies,
        hz_to_mel,
        logfreq_edges,
        logfreq_filterbank,
        mel_filterbank,
        mel_frequencies,
        mel_to_hz,
        row_frequencies,
    )
    from spectroview.dsp.names import PAD_MODES, SCALES, WINDOWS, ParameterError
    from spectroview.dsp.params import SpectrogramParams
    from spectroview.dsp.peaks import Peak, find_peaks, refine_peak
    from spectroview.dsp.pitch import PitchTrack, yin
    from spectroview.dsp.stft import (
        StreamingSpectrogram,
        frame_times,
        get_window,
        melspectrogram,
        spectrogram,
        stft_power,
    )

#: Public name -> the module defining it.
_WHERE = {
    "power_to_db": "db",
    **dict.fromkeys(
        (
            "fft_frequencies",
            "hz_to_mel",
            "logfreq_edges",
            "logfreq_filterbank",
            "mel_filterbank",
            "mel_frequencies",
            "mel_to_hz",
            "row_frequencies",
        ),
        "mel",
    ),
    **dict.fromkeys(("PAD_MODES", "SCALES", "WINDOWS", "ParameterError"), "names"),
    "SpectrogramParams": "params",
    **dict.fromkeys(("Peak", "find_peaks", "refine_peak"), "peaks"),
    **dict.fromkeys(("PitchTrack", "yin"), "pitch"),
    **dict.fromkeys(
        ("StreamingSpectrogram", "frame_times", "get_window", "melspectrogram", "spectrogram", "stft_power"), "stft"
    ),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = [
    "PAD_MODES",
    "SCALES",
    "WINDOWS",
    "ParameterError",
    "Peak",
    "PitchTrack",
    "SpectrogramParams",
    "StreamingSpectrogram",
    "fft_frequencies",
    "find_peaks",
    "frame_times",
    "get_window",
    "hz_to_mel",
    "logfreq_edges",
    "logfreq_filterbank",
    "mel_filterbank",
    "mel_frequencies",
    "mel_to_hz",
    "melspectrogram",
    "power_to_db",
    "refine_peak",
    "row_frequencies",
    "spectrogram",
    "stft_power",
    "yin",
]
