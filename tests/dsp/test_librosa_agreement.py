"""The engine against librosa: max abs difference <= 1e-5 x max value.

The grids cover every axis of the contract (window, centre, pad mode, n_fft
parity, win_length < n_fft, hop, sample rate, htk, norm, dtype) by cycling
the other axes along each one instead of taking their Cartesian product.
"""

from __future__ import annotations

import itertools
import warnings

import librosa
import numpy as np
import pytest

from spectroview.dsp import (
    PAD_MODES,
    WINDOWS,
    SpectrogramParams,
    logfreq_filterbank,
    mel_filterbank,
    melspectrogram,
    spectrogram,
    stft_power,
)
from spectroview.dsp.params import largest_n_mels
from tests.dsp.helpers import SAMPLE_RATES, assert_rel_close, noise_and_tones

ALL_WINDOWS = (*WINDOWS, "rectangular")


def librosa_power(y: np.ndarray, **kw: object) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "n_fft too large" for short input
        return np.abs(librosa.stft(y, **kw)) ** 2


# ---------------------------------------------------------------------------
# STFT power
# ---------------------------------------------------------------------------


def _stft_cases() -> list[tuple]:
    """(window, n_fft, win_length, hop_length, center, pad_mode, dtype)."""
    shapes = itertools.cycle(
        [
            (512, None, None),  # hop None -> win_length // 4 = 128
            (511, None, 64),  # odd n_fft, hop below n_fft/4
            (1024, 700, 300),  # win_length < n_fft, hop above n_fft/4
            (300, 257, 75),  # even n_fft, odd win_length, hop = n_fft/4
            (255, 128, 200),  # odd n_fft, even win_length, hop above n_fft/4
            (400, 300, None),  # hop None -> win_length // 4 = 75
        ]
    )
    centring = itertools.cycle([(True, m) for m in PAD_MODES] + [(False, "constant")])
    dtypes = itertools.cycle([np.float32, np.float64])
    cases = []
    for window in ALL_WINDOWS:
        n_fft, win, hop = next(shapes)
        center, pad_mode = next(centring)
        cases.append((window, n_fft, win, hop, center, pad_mode, next(dtypes)))
    # Every pad mode with odd and even n_fft, and uncentred frames for both.
    for n_fft, pad_mode in itertools.product((256, 257), PAD_MODES):
        cases.append(("hann", n_fft, None, 100, True, pad_mode, np.float64))
    for n_fft, hop in ((256, 32), (257, 300)):
        cases.append(("hamming", n_fft, None, hop, False, "constant", np.float32))
    # Extremes: the smallest and largest n_fft, hop above n_fft, hop of 1.
    cases.append(("hann", 16, None, 1, True, "reflect", np.float32))
    cases.append(("blackman", 17, 9, 40, True, "edge", np.float64))
    cases.append(("hann", 65536, None, 16384, True, "constant", np.float32))
    cases.append(("hann", 65536, 40000, 2000, False, "constant", np.float64))
    return cases


@pytest.mark.parametrize(
    ("window", "n_fft", "win_length", "hop_length", "center", "pad_mode", "dtype"),
    _stft_cases(),
)
def test_stft_power_matches_librosa(
    window: str,
    n_fft: int,
    win_length: int | None,
    hop_length: int | None,
    center: bool,
    pad_mode: str,
    dtype: type,
) -> None:
    y = noise_and_tones(8000, max(0.5, 1.5 * n_fft / 8000), dtype=dtype, seed=n_fft)
    kw = dict(
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=center,
        pad_mode=pad_mode,
    )
    got = stft_power(y, **kw)
    assert got.dtype == np.float32
    assert got.shape[0] == 1 + n_fft // 2
    assert_rel_close(got, librosa_power(y, **kw))


@pytest.mark.parametrize("pad_mode", PAD_MODES)
@pytest.mark.parametrize("n", [1, 5, 100, 128, 129, 200, 300])
def test_stft_power_short_signals_match_librosa(n: int, pad_mode: str) -> None:
    """Signals shorter than a frame, around n_fft // 2 (the padding length)."""
    y = noise_and_tones(1000, n / 1000, seed=n)
    kw = dict(n_fft=256, hop_length=64, pad_mode=pad_mode)
    assert_rel_close(stft_power(y, **kw), librosa_power(y, **kw))


# ---------------------------------------------------------------------------
# Mel filterbank and mel spectrogram
# ---------------------------------------------------------------------------

#: An n_fft that keeps ~128 mel bands non-empty at each rate.
N_FFT_FOR = {8000: 1024, 16000: 1024, 22050: 2048, 44100: 2048, 48000: 4096, 96000: 4096, 192000: 8192}


def valid_n_mels(sr: float, n_fft: int, *, fmin: float = 0.0, fmax: float | None = None, htk: bool, want: int) -> int:
    n = largest_n_mels(sr=sr, n_fft=n_fft, fmin=fmin, fmax=sr / 2 if fmax is None else fmax, htk=htk, start=want)
    assert n >= 16
    return n


@pytest.mark.parametrize("norm", ["slaney", None])
@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("sr", SAMPLE_RATES)
def test_mel_filterbank_matches_librosa(sr: int, htk: bool, norm: str | None) -> None:
    n_fft = N_FFT_FOR[sr] + (sr % 3 == 0)  # odd n_fft at 48k, 96k, 192k
    fmin, fmax = (0.0, None) if htk else (30.0, 0.4 * sr)
    n_mels = valid_n_mels(sr, n_fft, fmin=fmin, fmax=fmax, htk=htk, want=128)
    kw = dict(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    got = mel_filterbank(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the engine's n_mels must not be one librosa calls empty
        expected = librosa.filters.mel(**kw)
    assert got.dtype == np.float32
    assert not got.flags.writeable
    assert_rel_close(got, expected)
    assert (got.max(axis=1) > 0).all()


def _mel_cases() -> list[tuple]:
    """(sr, window, center, pad_mode, htk, norm, power, hop, dtype)."""
    windows = itertools.cycle(ALL_WINDOWS)
    centring = itertools.cycle([(True, m) for m in PAD_MODES] + [(False, "constant")])
    mel_kinds = itertools.cycle(itertools.product((False, True), ("slaney", None)))
    powers = itertools.cycle([2.0, 2.0, 1.0])
    dtypes = itertools.cycle([np.float64, np.float32])
    cases = []
    for sr in SAMPLE_RATES:
        for hop_fraction in (8, 2):  # hop below and above n_fft / 4
            center, pad_mode = next(centring)
            htk, norm = next(mel_kinds)
            hop = N_FFT_FOR[sr] // hop_fraction
            cases.append((sr, next(windows), center, pad_mode, htk, norm, next(powers), hop, next(dtypes)))
    return cases


@pytest.mark.parametrize(("sr", "window", "center", "pad_mode", "htk", "norm", "power", "hop", "dtype"), _mel_cases())
def test_melspectrogram_matches_librosa(
    sr: int, window: str, center: bool, pad_mode: str, htk: bool, norm: str | None, power: float, hop: int, dtype: type
) -> None:
    n_fft = N_FFT_FOR[sr]
    y = noise_and_tones(sr, 0.5, dtype=dtype, seed=sr)
    kw = dict(
        sr=sr,
        n_fft=n_fft,
        hop_length=hop,
        win_length=n_fft * 3 // 4,
        window=window,
        center=center,
        pad_mode=pad_mode,
        power=power,
        n_mels=valid_n_mels(sr, n_fft, htk=htk, want=96),
        htk=htk,
        norm=norm,
    )
    got = melspectrogram(y, **kw)
    assert got.dtype == np.float32
    assert_rel_close(got, librosa.feature.melspectrogram(y=y, **kw))


@pytest.mark.parametrize("sr", [8000, 44100, 192000])
def test_spectrogram_mel_scale_matches_librosa(sr: int) -> None:
    n_fft = N_FFT_FOR[sr]
    n_mels = valid_n_mels(sr, n_fft, fmin=50.0, htk=False, want=64)
    params = SpectrogramParams(sr=sr, n_fft=n_fft, hop_length=n_fft // 4, scale="mel", n_mels=n_mels, fmin=50.0)
    y = noise_and_tones(sr, 0.5, seed=1)
    expected = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=n_fft // 4, n_mels=n_mels, fmin=50.0)
    assert_rel_close(spectrogram(y, params), expected)


# ---------------------------------------------------------------------------
# Linear and log scales of spectrogram()
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_spectrogram_linear_is_stft_magnitude_to_power(power: float) -> None:
    y = noise_and_tones(16000, 0.5, dtype=np.float64)
    params = SpectrogramParams(sr=16000, n_fft=400, hop_length=160, window="hamming", power=power)
    expected = np.abs(librosa.stft(y, n_fft=400, hop_length=160, window="hamming")) ** power
    assert_rel_close(spectrogram(y, params), expected)


@pytest.mark.parametrize(("sr", "n_fft", "bpo"), [(8000, 256, 12), (44100, 2048, 48), (192000, 4097, 24)])
def test_spectrogram_log_scale_is_filterbank_times_stft(sr: int, n_fft: int, bpo: int) -> None:
    y = noise_and_tones(sr, 0.5, seed=2)
    params = SpectrogramParams(sr=sr, n_fft=n_fft, scale="log", bins_per_octave=bpo)
    fb = logfreq_filterbank(sr=sr, n_fft=n_fft, fmin=params.log_fmin(), fmax=sr / 2, bins_per_octave=bpo)
    expected = fb.astype(np.float64) @ librosa_power(y, n_fft=n_fft, hop_length=params.hop)
    assert_rel_close(spectrogram(y, params), expected)


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("scale", ["linear", "mel"])
def test_many_frames_split_across_workers_match_librosa(workers: int, scale: str) -> None:
    """Enough frames for the engine to split them into blocks and threads."""
    sr, n_fft, hop = 16000, 2048, 37
    y = noise_and_tones(sr, 2.0, seed=workers)
    params = SpectrogramParams(sr=sr, n_fft=n_fft, hop_length=hop, scale=scale, n_mels=64, center=workers != 2)
    got = spectrogram(y, params, workers=workers)
    assert got.shape[1] > 800
    kw = dict(y=y, n_fft=n_fft, hop_length=hop, center=params.center)
    if scale == "mel":
        expected = librosa.feature.melspectrogram(sr=sr, n_mels=64, **kw)
    else:
        expected = np.abs(librosa.stft(**kw)) ** 2
    assert_rel_close(got, expected)
