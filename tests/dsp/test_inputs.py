"""Empty and invalid signals are refused with a clear ParameterError."""

from __future__ import annotations

import re

import numpy as np
import pytest

from spectroview.dsp import ParameterError, SpectrogramParams, melspectrogram, spectrogram, stft_power


@pytest.mark.parametrize("center", [True, False])
def test_empty_signal_raises(center: bool) -> None:
    with pytest.raises(ParameterError, match=r"^(y: empty signal|n_fft=2048: too large)"):
        stft_power(np.zeros(0), center=center)
    with pytest.raises(ParameterError, match=r"^y: empty signal \(0 samples\)"):
        stft_power(np.zeros(0, dtype=np.float32))


@pytest.mark.parametrize("shape", [(2, 1000), (1000, 1), (1, 1, 1000)])
def test_multichannel_signal_raises(shape: tuple[int, ...]) -> None:
    with pytest.raises(ParameterError, match="^" + re.escape(f"y.shape={shape!r}: must be 1-D (mono)")):
        stft_power(np.zeros(shape), n_fft=256)


def test_scalar_signal_raises() -> None:
    with pytest.raises(ParameterError, match=r"^y\.shape=\(\): must be 1-D"):
        stft_power(np.float64(1.0))


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.uint8, np.bool_, np.complex64])
def test_non_float_signal_raises(dtype: type) -> None:
    with pytest.raises(ParameterError, match=rf"^y\.dtype={np.dtype(dtype)}: must be floating point"):
        stft_power(np.ones(1000, dtype=dtype), n_fft=256)


@pytest.mark.parametrize("n", [1, 255])
def test_uncentred_signal_shorter_than_n_fft_raises(n: int) -> None:
    pattern = rf"^n_fft=256: too large for an input of {n} samples with center=False"
    with pytest.raises(ParameterError, match=pattern):
        stft_power(np.ones(n), n_fft=256, center=False)
    with pytest.raises(ParameterError, match=pattern):
        melspectrogram(np.ones(n), sr=8000, n_fft=256, n_mels=16, center=False)


def test_signal_of_exactly_n_fft_gives_one_uncentred_frame() -> None:
    assert stft_power(np.ones(256), n_fft=256, center=False).shape == (129, 1)


def test_spectrogram_needs_a_sample_rate() -> None:
    with pytest.raises(ParameterError, match=r"^sr=None"):
        spectrogram(np.ones(4096), SpectrogramParams())


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(hop_length=0), r"^hop_length=0"),
        (dict(n_fft=8), r"^n_fft=8"),
        (dict(window="gauss"), r"^window='gauss'"),
        (dict(pad_mode="wrap"), r"^pad_mode='wrap'"),
        (dict(n_fft=256, win_length=300), r"^win_length=300"),
    ],
)
def test_function_api_validates_parameters(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern):
        stft_power(np.ones(4096), **kwargs)
