"""Reassigned spectrogram: librosa agreement, line/impulse sharpness, histogram."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from spectroview.dsp.params import ParameterError
from spectroview.dsp.reassign import reassigned_image, reassigned_spectrogram

SR = 22050


@pytest.fixture(scope="module")
def chirp_tone_clicks() -> np.ndarray:
    """1 s: a 200-6000 Hz chirp, a 1000.3 Hz tone, two 2 kHz clicks, a little noise."""
    n = SR
    t = np.arange(n) / SR
    y = 0.2 * librosa.chirp(fmin=200.0, fmax=6000.0, sr=SR, duration=1.0)
    y += 0.3 * np.sin(2 * np.pi * 1000.3 * t)
    y += 0.5 * librosa.clicks(times=[0.25, 0.61], sr=SR, length=n, click_duration=0.02)
    y += 1e-4 * np.random.default_rng(0).standard_normal(n)
    return y


def _linear_row_edges(sr: float, n_fft: int) -> np.ndarray:
    """Rows one bin wide: half a bin either side of ``k * sr / n_fft``."""
    return (np.arange(n_fft // 2 + 2) - 0.5) * sr / n_fft


def _tone(f0: float, seconds: float = 1.0) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * f0 * np.arange(round(SR * seconds)) / SR)


# -- librosa agreement ---------------------------------------------------------


@pytest.mark.filterwarnings("ignore::UserWarning")  # librosa's np.less(where=) warning
@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_fft": 2048},  # hop 512 = n_fft/4
        {"n_fft": 512, "hop_length": 64, "window": "hamming"},  # hop < n_fft/4
        {"n_fft": 512, "hop_length": 200, "center": False},  # hop > n_fft/4
        {"n_fft": 2048, "hop_length": 700, "center": False, "window": "hamming"},
        {"n_fft": 512, "hop_length": 100, "pad_mode": "reflect", "ref_power": 0.0},
        {"n_fft": 513, "hop_length": 128, "win_length": 400},  # odd n_fft, short window
        {"n_fft": 1024, "ref_power": lambda p: 1e-6 * np.max(p)},  # relative threshold
        {"n_fft": 512, "fill_nan": True},
        {"n_fft": 512, "clip": False},
        {"n_fft": 512, "reassign_times": False},
        {"n_fft": 512, "reassign_frequencies": False, "center": False},
    ],
)
def test_matches_librosa(chirp_tone_clicks: np.ndarray, kwargs: dict) -> None:
    y = chirp_tone_clicks
    ref = librosa.reassigned_spectrogram(y=y, sr=SR, **kwargs)
    got = reassigned_spectrogram(y, sr=SR, **kwargs)
    for name, actual, expected, atol in zip(("freqs", "times", "mags"), got, ref, (1e-3, 1e-6, 1e-9), strict=True):
        assert actual.shape == expected.shape, name
        assert actual.dtype == np.float64, name
        # assert_allclose with equal_nan also requires the same NaN mask.
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=atol, equal_nan=True, err_msg=name)
    assert np.isfinite(got[0]).any() and np.isfinite(got[1]).any()


def test_nan_mask_is_power_threshold(chirp_tone_clicks: np.ndarray) -> None:
    freqs, times, mags = reassigned_spectrogram(chirp_tone_clicks, sr=SR, n_fft=512, ref_power=1e-2)
    low = mags**2 < 1e-2
    assert low.any() and (~low).any()
    np.testing.assert_array_equal(np.isnan(freqs), low)
    np.testing.assert_array_equal(np.isnan(times), low)
    assert freqs.flags.f_contiguous and mags.flags.f_contiguous


def test_float32_input_is_computed_in_float64(chirp_tone_clicks: np.ndarray) -> None:
    y32 = chirp_tone_clicks.astype(np.float32)
    got = reassigned_spectrogram(y32, sr=SR, n_fft=512)
    ref = reassigned_spectrogram(y32.astype(np.float64), sr=SR, n_fft=512)
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_array_equal(a, b)


# -- sharpness -------------------------------------------------------------------


def test_tone_between_bins_is_reassigned_to_its_frequency() -> None:
    f0, n_fft = 1000.3, 2048
    freqs, _, mags = reassigned_spectrogram(_tone(f0), sr=SR, n_fft=n_fft)
    peak = round(f0 * n_fft / SR)
    assert int(np.argmax(mags[:, mags.shape[1] // 2])) == peak
    inner = slice(4, -4)  # frames whose window lies fully inside the tone
    near = freqs[peak - 2 : peak + 3, inner]
    bin_centres = np.arange(peak - 2, peak + 3) * SR / n_fft
    assert np.all(np.isfinite(near))
    assert np.max(np.abs(near - f0)) < 0.5
    # ... while the bin centres are up to two bins away (and the nearest ~1 Hz).
    assert np.max(np.abs(bin_centres - f0)) > 20.0
    assert np.min(np.abs(bin_centres - f0)) > 0.9


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_fft": 512, "hop_length": 128},
        {"n_fft": 513, "hop_length": 100, "center": False, "window": "hamming"},
    ],
)
def test_impulse_is_reassigned_to_its_time(kwargs: dict) -> None:
    i0 = 5000
    y = np.zeros(SR // 2)
    y[i0] = 1.0
    _, times, mags = reassigned_spectrogram(y, sr=SR, **kwargs)
    strong = mags > 1e-3 * mags.max()
    frames_with_impulse = np.flatnonzero(strong.any(axis=0))
    assert 2 <= frames_with_impulse.size <= 6
    assert np.all(np.isfinite(times[strong]))
    assert np.max(np.abs(times[strong] - i0 / SR)) <= 1.0 / SR


def test_image_of_tone_is_one_row_wide() -> None:
    f0, n_fft = 1000.3, 2048
    freqs, times, mags = reassigned_spectrogram(_tone(f0), sr=SR, n_fft=n_fft)
    row_edges = _linear_row_edges(SR, n_fft)
    col_edges = np.linspace(0.0, 1.0, 11)
    row = int(np.searchsorted(row_edges, f0, side="right")) - 1
    image = reassigned_image(freqs, times, mags, n_rows_edges_hz=row_edges, column_edges_s=col_edges)
    assert image.shape == (n_fft // 2 + 1, 10)
    assert image.dtype == np.float64
    assert image[row].sum() >= 0.9 * image.sum()
    # The plain spectrogram (energy at bin centres and frame times) spreads
    # it over the hann main lobe, ~3 bins.
    bin_freqs = np.broadcast_to(librosa.fft_frequencies(sr=SR, n_fft=n_fft)[:, None], mags.shape)
    frame_t = np.broadcast_to(librosa.frames_to_time(np.arange(mags.shape[1]), sr=SR, hop_length=512), mags.shape)
    plain = reassigned_image(bin_freqs, frame_t, mags, n_rows_edges_hz=row_edges, column_edges_s=col_edges)
    assert plain[row].sum() < 0.7 * plain.sum()


def test_image_conserves_energy_inside_edges(chirp_tone_clicks: np.ndarray) -> None:
    freqs, times, mags = reassigned_spectrogram(chirp_tone_clicks, sr=SR, n_fft=512, hop_length=128)
    # Uneven (log-like) rows that leave out the lowest and highest bins, and
    # columns that leave out the first and last 0.1 s.
    row_edges = np.geomspace(100.0, 9000.0, 40)
    col_edges = np.linspace(0.1, 0.9, 33)
    image = reassigned_image(freqs, times, mags, n_rows_edges_hz=row_edges, column_edges_s=col_edges)
    assert image.shape == (39, 32)
    finite = np.isfinite(freqs) & np.isfinite(times)
    assert not finite.all()  # NaN cells exist and are ignored
    inside = (
        finite & (freqs >= row_edges[0]) & (freqs <= row_edges[-1]) & (times >= col_edges[0]) & (times <= col_edges[-1])
    )
    expected = float(np.sum(mags[inside] ** 2))
    assert expected > 0
    assert image.sum() == pytest.approx(expected, rel=1e-12)
    assert np.all(image >= 0)
    # Each cell equals numpy's weighted 2-D histogram.
    ref, _, _ = np.histogram2d(freqs[inside], times[inside], bins=(row_edges, col_edges), weights=mags[inside] ** 2)
    np.testing.assert_allclose(image, ref, rtol=1e-12, atol=1e-12 * expected)


def test_image_total_with_covering_edges(chirp_tone_clicks: np.ndarray) -> None:
    freqs, times, mags = reassigned_spectrogram(chirp_tone_clicks, sr=SR, n_fft=512, fill_nan=True)
    assert np.all(np.isfinite(freqs)) and np.all(np.isfinite(times))
    image = reassigned_image(
        freqs, times, mags, n_rows_edges_hz=_linear_row_edges(SR, 512), column_edges_s=np.array([0.0, 0.5, 1.0])
    )
    assert image.sum() == pytest.approx(float(np.sum(mags**2)), rel=1e-12)


# -- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_fft": 8}, "n_fft=8"),
        ({"hop_length": 0}, "hop_length=0"),
        ({"window": "kaiser"}, "window='kaiser'"),
        ({"pad_mode": "wrap"}, "pad_mode='wrap'"),
        ({"reassign_frequencies": False, "reassign_times": False}, "at least one"),
        ({"ref_power": -1.0}, "ref_power=-1.0"),
        ({"fill_nan": 1}, "fill_nan=1"),
    ],
)
def test_parameter_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        reassigned_spectrogram(np.zeros(4096), sr=SR, **kwargs)


def test_input_errors() -> None:
    with pytest.raises(ParameterError, match="1-D"):
        reassigned_spectrogram(np.zeros((2, 4096)), sr=SR)
    with pytest.raises(ParameterError, match="empty"):
        reassigned_spectrogram(np.zeros(0), sr=SR)
    with pytest.raises(ParameterError, match="center=False"):
        reassigned_spectrogram(np.zeros(100), sr=SR, n_fft=512, center=False)
    f = t = m = np.ones((3, 4))
    with pytest.raises(ParameterError, match="n_rows_edges_hz"):
        reassigned_image(f, t, m, n_rows_edges_hz=np.array([2.0, 1.0]), column_edges_s=np.array([0.0, 1.0]))
    with pytest.raises(ParameterError, match="column_edges_s"):
        reassigned_image(f, t, m, n_rows_edges_hz=np.array([0.0, 1.0]), column_edges_s=np.array([0.0]))
    with pytest.raises(ParameterError, match="shape"):
        reassigned_image(f, t, np.ones((3, 5)), n_rows_edges_hz=np.array([0.0, 1.0]), column_edges_s=np.array([0, 1]))
