"""Analysis windows against scipy.signal.get_window(fftbins=True) and librosa's centring."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal

from spectroview.dsp import WINDOWS, ParameterError, get_window
from spectroview.dsp.windows import window_samples

LENGTHS = [1, 2, 3, 4, 5, 16, 17, 255, 256, 1000, 1001, 4096]


@pytest.mark.parametrize("name", WINDOWS)
def test_window_samples_match_scipy(name: str) -> None:
    for m in LENGTHS:
        got = window_samples(name, m)
        assert got.shape == (m,) and got.dtype == np.float64
        np.testing.assert_allclose(
            got, scipy.signal.get_window(name, m, fftbins=True), rtol=0, atol=1e-12, err_msg=str(m)
        )


@pytest.mark.parametrize("name", [*WINDOWS, "rectangular"])
@pytest.mark.parametrize(("win_length", "n_fft"), [(256, 256), (255, 256), (200, 257), (1, 16), (17, 17), (9, 16)])
def test_get_window_is_centred_like_librosa(name: str, win_length: int, n_fft: int) -> None:
    got = get_window(name, win_length, n_fft=n_fft)
    expected = librosa.util.pad_center(librosa.filters.get_window(name, win_length, fftbins=True), size=n_fft)
    assert got.shape == (n_fft,) and got.dtype == np.float32
    assert not got.flags.writeable
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_get_window_defaults_to_win_length_and_validates() -> None:
    assert get_window("hann", 512).shape == (512,)
    with pytest.raises(ParameterError, match=r"^window='kaiser': unknown"):
        get_window("kaiser", 512)
    with pytest.raises(ParameterError, match=r"^win_length=300: must be an integer in \[1, n_fft=256\]"):
        get_window("hann", 300, n_fft=256)
