"""The numeric engine: numpy and scipy only (no I/O, no threads, no Qt).

librosa's vocabulary and defaults; every function here agrees with its
librosa namesake to 1e-5 of the maximum (see ``tests/dsp``).
"""

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
from spectroview.dsp.params import PAD_MODES, SCALES, WINDOWS, ParameterError, SpectrogramParams
from spectroview.dsp.peaks import Peak, find_peaks, refine_peak
from spectroview.dsp.pitch import PitchTrack, yin
from spectroview.dsp.stft import StreamingSpectrogram, frame_times, get_window, melspectrogram, spectrogram, stft_power

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
