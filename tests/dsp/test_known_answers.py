"""Known answers: analytic peaks, Parseval, mel triangles, log bands, axis conventions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.signal

from spectroview.dsp import (
    ParameterError,
    SpectrogramParams,
    fft_frequencies,
    frame_times,
    hz_to_mel,
    logfreq_edges,
    logfreq_filterbank,
    mel_filterbank,
    mel_frequencies,
    mel_to_hz,
    row_frequencies,
    spectrogram,
    stft_power,
)
from spectroview.dsp import get_window as dsp_get_window

#: Cosine-sum windows: their periodic DFT is zero beyond a few bins, so a
#: bin-centred sine far from DC and Nyquist has an exact analytic peak.
COSINE_SUM_WINDOWS = ("hann", "hamming", "blackman", "blackmanharris", "nuttall", "flattop", "boxcar")


# ---------------------------------------------------------------------------
# STFT
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("window", COSINE_SUM_WINDOWS)
@pytest.mark.parametrize(("n_fft", "k"), [(256, 5), (256, 40), (255, 17), (1024, 507)])
def test_bin_centred_sine_has_analytic_peak(window: str, n_fft: int, k: int) -> None:
    sr, amplitude, hop = 8000.0, 0.7, 64
    t = np.arange(4 * n_fft) / sr
    y = amplitude * np.sin(2 * np.pi * (k * sr / n_fft) * t + 0.3)
    S = stft_power(y, n_fft=n_fft, hop_length=hop, window=window)
    half = n_fft // 2
    interior = [f for f in range(S.shape[1]) if f * hop >= half and f * hop - half + n_fft <= len(y)]
    assert len(interior) >= 10
    w = scipy.signal.get_window(window, n_fft, fftbins=True)
    expected = (amplitude * w.sum() / 2) ** 2
    assert (S[:, interior].argmax(axis=0) == k).all()
    np.testing.assert_allclose(S[k, interior], expected, rtol=1e-4)


@pytest.mark.parametrize("window", ["boxcar", "rectangular", "hann", "triang"])
@pytest.mark.parametrize("n_fft", [256, 257, 16, 17])
def test_parseval_per_frame(window: str, n_fft: int) -> None:
    rng = np.random.default_rng(n_fft)
    y = rng.standard_normal(20 * n_fft)
    S = stft_power(y, n_fft=n_fft, hop_length=n_fft, window=window, center=False).astype(np.float64)
    assert S.shape == (1 + n_fft // 2, 20)
    one_sided = S.copy()
    last = n_fft // 2 if n_fft % 2 == 0 else n_fft // 2 + 1  # the Nyquist bin is not doubled
    one_sided[1:last] *= 2
    w = scipy.signal.get_window(window, n_fft, fftbins=True)
    frame_energy = ((y.reshape(20, n_fft) * w) ** 2).sum(axis=1)
    if window in ("boxcar", "rectangular"):
        np.testing.assert_allclose(frame_energy, (y.reshape(20, n_fft) ** 2).sum(axis=1))
    np.testing.assert_allclose(one_sided.sum(axis=0) / n_fft, frame_energy, rtol=1e-5)


@pytest.mark.parametrize(("center", "n"), [(True, 1000), (True, 1023), (False, 1000), (False, 256)])
def test_frame_count(center: bool, n: int) -> None:
    S = stft_power(np.ones(n), n_fft=256, hop_length=100, center=center)
    assert S.shape[1] == (1 + n // 100 if center else 1 + (n - 256) // 100)


# ---------------------------------------------------------------------------
# Mel triangles
# ---------------------------------------------------------------------------

MEL_CASES = [
    (22050, 2048, 128, 0.0, None),
    (44100, 4096, 64, 100.0, 16000.0),
    (8000, 511, 40, 0.0, 3000.0),
    (192000, 8192, 128, 20.0, None),
]


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize(("sr", "n_fft", "n_mels", "fmin", "fmax"), MEL_CASES)
def test_slaney_normalized_mel_triangles(
    sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None, htk: bool
) -> None:
    fb = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk).astype(np.float64)
    assert fb.shape == (n_mels, 1 + n_fft // 2)
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    df = sr / n_fft
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=sr / 2 if fmax is None else fmax, htk=htk)
    assert (fb >= 0).all()
    assert ((fb > 0).sum(axis=0) <= 2).all()
    assert (np.abs(freqs[fb.argmax(axis=1)] - mel_f[1:-1]) <= df).all()
    # Non-zero only strictly inside (lower edge, upper edge).
    for m in range(n_mels):
        nz = freqs[fb[m] > 0]
        assert nz.min() > mel_f[m] and nz.max() < mel_f[m + 2]
    # Slaney normalization: each triangle has unit area in Hz; sampled on the
    # bin grid, within a fraction of a bin of its width.
    width = (mel_f[2:] - mel_f[:-2]) / df
    wide = width > 10
    assert wide.sum() >= 5
    assert (np.abs(fb[wide].sum(axis=1) * df - 1.0) <= 0.5 / width[wide]).all()


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize(("sr", "n_fft", "n_mels", "fmin", "fmax"), MEL_CASES)
def test_unnormalized_mel_peaks_at_most_one(
    sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None, htk: bool
) -> None:
    fb = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=None)
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=sr / 2 if fmax is None else fmax, htk=htk)
    assert (fb >= 0).all() and (fb.max(axis=1) <= 1 + 1e-6).all()
    # Where a bin falls on a centre, the filter there is exactly 1.
    on_centre = np.isclose(freqs[None, :], mel_f[1:-1, None], rtol=0, atol=1e-9 * sr)
    np.testing.assert_allclose(fb[on_centre], 1.0, atol=1e-6)
    # Adjacent filters cross-fade: the two ramps sum to 1 between centres.
    between = (freqs >= mel_f[1]) & (freqs <= mel_f[-2])
    np.testing.assert_allclose(fb[:, between].sum(axis=0), 1.0, atol=1e-5)


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize(("k", "n_mels"), [(10, 1), (5, 5), (20, 5), (3, 20)])
def test_htk_filter_peaks_at_one_on_a_bin_centre(htk: bool, k: int, n_mels: int) -> None:
    sr, n_fft = 16000, 1024
    centre = k * sr / n_fft
    # Choose fmax so that the first centre, one mel step above fmin=0, is bin k.
    fmax = float(mel_to_hz((n_mels + 1) * hz_to_mel(centre, htk=htk), htk=htk))
    assert fmax <= sr / 2
    fb = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmax=fmax, htk=htk, norm=None)
    assert fb[0].argmax() == k
    assert fb[0, k] == pytest.approx(1.0, abs=1e-6)


# ---------------------------------------------------------------------------
# Log frequency
# ---------------------------------------------------------------------------

LOG_CASES = [
    # (sr, n_fft, fmin, fmax, bins_per_octave)
    (22050, 2048, 20.0, 11025.0, 48),
    (44100, 1024, 20.0, 20480.0, 12),
    (8000, 255, 30.0, 4000.0, 24),
    (48000, 4096, 50.0, 12000.0, 7),
    (192000, 512, 20.0, 96000.0, 96),
]


def _reference_logfreq(sr: float, n_fft: int, edges: np.ndarray, samples: int = 4000) -> np.ndarray:
    """Average over each band of a spectrum that is constant across each bin's width."""
    df = sr / n_fft
    n_bins = 1 + n_fft // 2
    out = np.zeros((len(edges) - 1, n_bins))
    for r, (lo, hi) in enumerate(itertools.pairwise(edges)):
        f = lo + (np.arange(samples) + 0.5) * (hi - lo) / samples
        k = np.minimum(np.floor(f / df + 0.5).astype(int), n_bins - 1)
        out[r] = np.bincount(k, minlength=n_bins) / samples
    return out


@pytest.mark.parametrize(("sr", "n_fft", "fmin", "fmax", "bpo"), LOG_CASES)
def test_logfreq_filterbank_averages_over_each_band(sr: int, n_fft: int, fmin: float, fmax: float, bpo: int) -> None:
    fb = logfreq_filterbank(sr=sr, n_fft=n_fft, fmin=fmin, fmax=fmax, bins_per_octave=bpo)
    edges = logfreq_edges(fmin=fmin, fmax=fmax, bins_per_octave=bpo)
    assert fb.shape == (len(edges) - 1, 1 + n_fft // 2)
    assert (fb >= 0).all()
    np.testing.assert_allclose(fb.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(fb, _reference_logfreq(sr, n_fft, edges), atol=2e-3)


@pytest.mark.parametrize(
    ("fmin", "fmax", "bpo"),
    [
        (20.0, 20480.0, 12),
        (20.0, 11025.0, 48),
        (27.5, 4186.0, 7),
        (100.0, 150.0, 1),
        (20.0, 40.0, 3),
        # A whole number of bands whose log2 rounds up by an ulp: no extra sliver band.
        (20.0, 20.0 * 2 ** (1 / 12), 12),
        (27.5, 27.5 * 2 ** (87 / 12), 12),
        (20.0, 20.0 * 2 ** (1 / 48), 48),
    ],
)
def test_logfreq_edges_count_and_spacing(fmin: float, fmax: float, bpo: int) -> None:
    edges = logfreq_edges(fmin=fmin, fmax=fmax, bins_per_octave=bpo)
    assert len(edges) - 1 == math.ceil(round(math.log2(fmax / fmin) * bpo, 9))
    assert edges[0] == pytest.approx(fmin) and edges[-1] == pytest.approx(fmax)
    ratios = edges[1:] / edges[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    assert ratios[0] <= 2 ** (1 / bpo) * (1 + 1e-9)


@pytest.mark.parametrize(("fmin", "fmax"), [(0.0, 100.0), (-5.0, 100.0), (100.0, 100.0), (200.0, 100.0)])
def test_logfreq_edges_need_a_positive_range(fmin: float, fmax: float) -> None:
    with pytest.raises(ParameterError, match=rf"^fmin={fmin!r}: the log scale needs 0 < fmin < fmax={fmax!r}"):
        logfreq_edges(fmin=fmin, fmax=fmax, bins_per_octave=12)


def test_logfreq_edges_exact_octaves() -> None:
    assert len(logfreq_edges(fmin=20.0, fmax=20480.0, bins_per_octave=12)) == 121
    assert len(logfreq_edges(fmin=20.0, fmax=20480.0, bins_per_octave=48)) == 481


@pytest.mark.parametrize(("sr", "n_fft", "bpo"), [(22050, 2048, 12), (44100, 4096, 24), (8000, 511, 6)])
def test_tone_lands_in_the_log_row_that_contains_it(sr: int, n_fft: int, bpo: int) -> None:
    params = SpectrogramParams(sr=sr, n_fft=n_fft, scale="log", bins_per_octave=bpo)
    _, edges = row_frequencies(params)
    df = sr / n_fft
    wide = np.flatnonzero(edges[1:] - edges[:-1] > 12 * df)
    assert len(wide) >= 3
    for r in wide[:: max(1, len(wide) // 4)]:
        # A bin-centred tone well inside the band (away from its edges).
        f = round((edges[r] + 0.4 * (edges[r + 1] - edges[r])) / df) * df
        assert edges[r] + 4 * df < f < edges[r + 1] - 4 * df
        y = np.sin(2 * np.pi * f * np.arange(sr // 2) / sr)
        S = spectrogram(y, params)
        assert S[:, 2:-2].mean(axis=1).argmax() == r, (r, f)


@pytest.mark.parametrize(("n_fft", "bpo"), [(1024, 48), (512, 24), (2047, 96)])
def test_white_noise_is_level_across_the_log_axis(n_fft: int, bpo: int) -> None:
    sr = 22050
    y = np.random.default_rng(n_fft).standard_normal(6 * sr)
    params = SpectrogramParams(sr=sr, n_fft=n_fft, hop_length=n_fft // 2, scale="log", bins_per_octave=bpo)
    level = spectrogram(y, params).mean(axis=1)
    expected = (scipy.signal.get_window("hann", n_fft) ** 2).sum()  # E|X_k|^2 for unit white noise
    quarter = len(level) // 4
    # The narrow low rows (many per bin) read whole bins: not darker than the top.
    assert level[:quarter].mean() / level[-quarter:].mean() == pytest.approx(1.0, abs=0.2)
    assert level.mean() == pytest.approx(expected, rel=0.05)
    assert level.min() > 0.5 * expected and level.max() < 1.6 * expected


@pytest.mark.parametrize(
    ("sr", "n_fft", "fmin", "fmax", "bpo"),
    [(22050, 2048, 0.0, None, 48), (44100, 1024, 40.0, 10240.0, 12), (8000, 255, 0.0, 3000.0, 5)],
)
def test_log_row_count(sr: int, n_fft: int, fmin: float, fmax: float | None, bpo: int) -> None:
    params = SpectrogramParams(sr=sr, n_fft=n_fft, fmin=fmin, fmax=fmax, scale="log", bins_per_octave=bpo)
    lo = fmin or 20.0
    hi = sr / 2 if fmax is None else fmax
    n_rows = math.ceil(round(math.log2(hi / lo) * bpo, 9))
    centres, edges = row_frequencies(params)
    assert len(centres) == n_rows and len(edges) == n_rows + 1
    np.testing.assert_allclose(centres, np.sqrt(edges[:-1] * edges[1:]))
    assert spectrogram(np.zeros(sr // 10), params).shape[0] == n_rows


# ---------------------------------------------------------------------------
# Axis conventions: row_frequencies and frame_times, against the data
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("sr", "n_fft"), [(22050, 2048), (8000, 255), (48000, 16)])
def test_linear_row_frequencies_are_bin_centres(sr: int, n_fft: int) -> None:
    centres, edges = row_frequencies(SpectrogramParams(sr=sr, n_fft=n_fft))
    k = np.arange(1 + n_fft // 2)
    np.testing.assert_allclose(centres, k * sr / n_fft)
    np.testing.assert_allclose(edges, (np.arange(len(k) + 1) - 0.5) * sr / n_fft)


def test_mel_row_frequencies_are_filter_centres() -> None:
    params = SpectrogramParams(sr=22050, n_fft=2048, scale="mel", n_mels=64, fmin=30.0, fmax=8000.0, htk=True)
    centres, edges = row_frequencies(params)
    np.testing.assert_allclose(centres, mel_frequencies(66, fmin=30.0, fmax=8000.0, htk=True)[1:-1])
    assert len(edges) == 65 and (np.diff(edges) > 0).all()
    assert ((edges[:-1] < centres) & (centres < edges[1:])).all()


@pytest.mark.parametrize("n_fft", [1024, 1023])
@pytest.mark.parametrize("f", [440.0, 1234.5, 5000.3, 9876.0])
def test_tone_peak_row_matches_linear_row_frequency(f: float, n_fft: int) -> None:
    sr = 22050
    params = SpectrogramParams(sr=sr, n_fft=n_fft)
    centres, _ = row_frequencies(params)
    y = np.sin(2 * np.pi * f * np.arange(sr // 2) / sr)
    peak = spectrogram(y, params)[:, 2:-2].mean(axis=1).argmax()
    assert abs(centres[peak] - f) <= sr / n_fft / 2


@pytest.mark.parametrize("norm", ["slaney", None])
def test_tone_at_a_mel_centre_peaks_in_that_row(norm: str | None) -> None:
    sr, n_fft = 22050, 4096
    params = SpectrogramParams(sr=sr, n_fft=n_fft, scale="mel", n_mels=40, norm=norm)
    centres, edges = row_frequencies(params)
    for m in (5, 17, 30, 39):
        y = np.sin(2 * np.pi * centres[m] * np.arange(sr // 2) / sr)
        peak = spectrogram(y, params)[:, 2:-2].mean(axis=1).argmax()
        assert peak == m
        assert edges[peak] <= centres[m] < edges[peak + 1]


@pytest.mark.parametrize(
    ("n_fft", "hop", "center"), [(512, 128, True), (512, 100, False), (511, 128, False), (256, 256, True)]
)
def test_frame_times_formula(n_fft: int, hop: int, center: bool) -> None:
    sr = 16000
    params = SpectrogramParams(sr=sr, n_fft=n_fft, hop_length=hop, center=center)
    t = np.arange(50)
    expected = t * hop / sr if center else (t * hop + n_fft / 2) / sr
    np.testing.assert_allclose(frame_times(50, params), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize(("n_fft", "hop"), [(512, 128), (256, 100), (1024, 333), (511, 128)])
def test_impulse_is_strongest_in_the_frame_nearest_its_time(n_fft: int, hop: int, center: bool) -> None:
    sr = 8000
    params = SpectrogramParams(sr=sr, n_fft=n_fft, hop_length=hop, center=center)
    n = 20 * hop + 2 * n_fft
    for s in (5 * hop + n_fft, 5 * hop + n_fft + hop // 2 - 1, 9 * hop + n_fft - (hop // 2 - 1), 7 * hop + 700):
        y = np.zeros(n)
        y[s] = 1.0
        energy = spectrogram(y, params).sum(axis=0)
        times = frame_times(len(energy), params)
        assert energy.argmax() == np.abs(times - s / sr).argmin(), s


@pytest.mark.parametrize(("n_fft", "win_length"), [(64, 64), (64, 33), (64, 32), (65, 40)])
def test_frame_time_is_the_window_centre_even_for_short_windows(n_fft: int, win_length: int) -> None:
    """An impulse placed at frame_times(t) lies at the window's peak (symmetric response)."""
    params = SpectrogramParams(sr=1000, n_fft=n_fft, win_length=win_length, hop_length=8, center=False)
    w = dsp_get_window("hann", win_length, n_fft=n_fft).astype(np.float64)
    # The window's centre of mass is its centre for every symmetric window.
    centre = float((np.arange(n_fft) * w).sum() / w.sum())
    t = frame_times(3, params)
    assert t[0] * 1000 == pytest.approx(centre, abs=1e-9)
    assert t[2] - t[1] == pytest.approx(8 / 1000)
