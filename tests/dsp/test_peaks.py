"""Spectral peaks: known answers for sinusoids, refinement, validation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

import spectroview
from spectroview.dsp import WINDOWS, ParameterError, get_window, stft_power
from spectroview.dsp.peaks import Peak, _bias_table, _local_maxima, _prominences, _zoom_dft, find_peaks, refine_peak

SR = 44100
N_FFT = 4096
BIN_HZ = SR / N_FFT


def _sine_column(freqs: tuple[float, ...], amps: tuple[float, ...], **stft: object) -> np.ndarray:
    """Power column of a steady sum of sines, from a frame well inside the signal."""
    t = np.arange(4 * N_FFT) / SR
    y = sum(a * np.sin(2 * np.pi * f * t + 0.7 * i) for i, (f, a) in enumerate(zip(freqs, amps, strict=True)))
    power = stft_power(np.asarray(y, dtype=np.float32), n_fft=N_FFT, **stft)  # type: ignore[arg-type]
    return power[:, 8]  # centred on sample 8 * 1024, far from the zero padding


def _hann_sine_level_db(amplitude: float) -> float:
    # A sine of amplitude A centred on a bin: |X| = A * sum(w) / 2, and a
    # periodic Hann window of N samples sums to N / 2.
    return 20 * np.log10(amplitude * N_FFT / 4)


@pytest.mark.parametrize("freq", [440.0, 1234.56, 3000.3, 9876.5])
def test_steady_sine_frequency_within_a_tenth_of_a_hz(freq: float) -> None:
    peaks = find_peaks(_sine_column((freq,), (0.5,)), sr=SR, n_fft=N_FFT)
    top = peaks[0]
    assert abs(top.frequency_hz - freq) < 0.1, top
    # The correction makes it exact up to leakage and float32 rounding; this
    # tighter bound catches a table that has silently stopped applying.
    assert abs(top.frequency_hz - freq) < 1e-3, top
    assert abs(top.level_db - _hann_sine_level_db(0.5)) < 0.01, top
    assert top.bin == round(freq / BIN_HZ)


def test_plain_parabola_on_hann_misses_the_spec() -> None:
    # Why find_peaks corrects: the uncorrected estimate is 0.17 Hz off here.
    column = _sine_column((1234.56,), (0.5,))
    raw = find_peaks(column, sr=SR, n_fft=N_FFT, window=None)[0]
    assert abs(raw.frequency_hz - 1234.56) > 0.1
    db = 10 * np.log10(np.maximum(column.astype(np.float64), 1e-30))
    assert refine_peak(db, raw.bin) == pytest.approx((raw.frequency_hz / BIN_HZ, raw.level_db), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    freq=st.floats(min_value=200.0, max_value=20000.0),
    amplitude=st.floats(min_value=1e-3, max_value=1.0),
)
def test_any_sine_frequency_and_level(freq: float, amplitude: float) -> None:
    top = find_peaks(_sine_column((freq,), (amplitude,)), sr=SR, n_fft=N_FFT)[0]
    assert abs(top.frequency_hz - freq) < 0.01
    assert abs(top.level_db - _hann_sine_level_db(amplitude)) < 0.01


@pytest.mark.parametrize("window", [w for w in WINDOWS if w not in ("flattop", "boxcar")])
@pytest.mark.parametrize("win_length", [None, 3000])
def test_correction_follows_the_window(window: str, win_length: int | None) -> None:
    freq = 3000.3
    column = _sine_column((freq,), (0.5,), window=window, win_length=win_length)
    top = find_peaks(column, sr=SR, n_fft=N_FFT, window=window, win_length=win_length)[0]
    raw = find_peaks(column, sr=SR, n_fft=N_FFT, window=None)[0]
    # Leakage of the negative-frequency image is what remains (Hamming's
    # slow sidelobe decay gives the most, ~5e-4 bin).
    assert abs(top.frequency_hz - freq) < 1e-3 * BIN_HZ
    assert abs(top.frequency_hz - freq) <= abs(raw.frequency_hz - freq)


def test_flat_main_lobe_falls_back_to_the_parabola() -> None:
    # A short flat-top window in a 4x longer FFT: the centre bin is not a
    # strict maximum of three, so no table; the peak is still found.
    assert _bias_table("flattop", 1024, N_FFT) is None
    assert _bias_table("hann", N_FFT, N_FFT) is not None
    column = _sine_column((3000.3,), (0.5,), window="flattop", win_length=1024)
    top = find_peaks(column, sr=SR, n_fft=N_FFT, window="flattop", win_length=1024)[0]
    assert abs(top.frequency_hz - 3000.3) < 1.5 * BIN_HZ


def test_two_tones_two_peaks_strongest_first() -> None:
    column = _sine_column((1000.0, 3000.3), (0.1, 0.5))
    # float32 rounding leaves a noise floor ~140 dB under the tones, whose
    # bumps are peaks above the default floor of -120 dB: the tones come first.
    peaks = find_peaks(column, sr=SR, n_fft=N_FFT)
    assert [round(p.frequency_hz, 1) for p in peaks[:2]] == [3000.3, 1000.0]
    assert all(p.level_db < peaks[1].level_db - 60 for p in peaks[2:])
    levels = [p.level_db for p in peaks]
    assert levels == sorted(levels, reverse=True)
    # Above that floor only the two tones remain.
    tones_only = find_peaks(column, sr=SR, n_fft=N_FFT, floor_db=0.0)
    assert len(tones_only) == 2
    assert tones_only[0].level_db - tones_only[1].level_db == pytest.approx(20 * np.log10(5), abs=0.01)


def test_average_of_columns() -> None:
    t = np.arange(SR) / SR
    y = (0.3 * np.sin(2 * np.pi * 2345.6 * t)).astype(np.float32)
    mean_power = stft_power(y, n_fft=N_FFT)[:, 4:-4].mean(axis=1)
    top = find_peaks(mean_power, sr=SR, n_fft=N_FFT, floor_db=0.0)
    assert len(top) == 1
    assert abs(top[0].frequency_hz - 2345.6) < 0.01


def test_prominence_and_max_peaks_limit_the_result() -> None:
    column = _sine_column((1000.0,), (0.5,))
    noisy = find_peaks(column, sr=SR, n_fft=N_FFT, max_peaks=5)
    assert len(noisy) == 5  # the tone and four bumps of the rounding floor
    # The floor's bumps rise a few dB above their surroundings; the tone 140.
    only_tone = find_peaks(column, sr=SR, n_fft=N_FFT, min_prominence_db=60.0)
    assert len(only_tone) == 1 and abs(only_tone[0].frequency_hz - 1000.0) < 0.01


def test_silence_has_no_peaks() -> None:
    assert find_peaks(np.zeros(N_FFT // 2 + 1, dtype=np.float32), sr=SR, n_fft=N_FFT) == []
    # A floor that is flat or below floor_db is no peak either.
    assert find_peaks(np.full(N_FFT // 2 + 1, 1e-15), sr=SR, n_fft=N_FFT) == []


def test_edge_bins_dc_and_nyquist() -> None:
    n = np.arange(4 * N_FFT)
    for y, k in ((np.full(n.shape, 0.5), 0), (0.5 * (-1.0) ** n, N_FFT // 2)):
        column = stft_power(y.astype(np.float32), n_fft=N_FFT)[:, 8]
        top = find_peaks(column, sr=SR, n_fft=N_FFT, floor_db=0.0)
        assert len(top) == 1
        # Unrefined at the edges: the bin's own level, A * sum(w) = 0.5 * N / 2.
        assert top[0] == Peak(frequency_hz=k * BIN_HZ, level_db=pytest.approx(20 * np.log10(N_FFT / 4)), bin=k)


def test_refine_peak_finds_the_vertex_of_a_parabola() -> None:
    bins = np.arange(20.0)
    db = -3.0 * (bins - 7.3) ** 2 + 40.0
    frac, level = refine_peak(db, 7)
    assert frac == pytest.approx(7.3, abs=1e-12)
    assert level == pytest.approx(40.0, abs=1e-12)


def test_refine_peak_edges_and_flat_tops() -> None:
    db = np.array([5.0, 3.0, 4.0, 4.0, 4.0, 1.0, 9.0])
    assert refine_peak(db, 0) == (0.0, 5.0)
    assert refine_peak(db, 6) == (6.0, 9.0)
    assert refine_peak(db, 3) == (3.0, 4.0)  # flat: no curvature, no shift
    frac, level = refine_peak(db, 4)  # a shoulder, not a maximum: shift clipped to half a bin
    assert 3.5 <= frac <= 4.5 and np.isfinite(level)


@pytest.mark.parametrize(
    ("db", "k", "match"),
    [
        (np.zeros((3, 3)), 1, r"^spectrum_db\.shape=\(3, 3\): "),
        (np.zeros(0), 0, r"^spectrum_db\.shape=\(0,\): "),
        (np.zeros(5), 5, r"^k=5: must be an integer bin in \[0, 4\]"),
        (np.zeros(5), -1, r"^k=-1: "),
        (np.zeros(5), 1.5, r"^k=1\.5: "),
    ],
)
def test_refine_peak_validates(db: np.ndarray, k: int, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        refine_peak(db, k)


GOOD = np.ones(N_FFT // 2 + 1)


@pytest.mark.parametrize(
    ("power", "kwargs", "match"),
    [
        (np.ones((3, N_FFT // 2 + 1)), {}, r"^power\.shape=\(3, 2049\): must be \(2049,\) for n_fft=4096"),
        (np.ones(N_FFT // 2), {}, r"^power\.shape=\(2048,\): "),
        (GOOD.astype(np.complex64), {}, r"^power\.dtype=complex64: must be real"),
        (-GOOD, {}, r"^power: must be finite and >= 0"),
        (np.where(np.arange(GOOD.size) == 3, np.nan, GOOD), {}, r"^power: must be finite"),
        (GOOD, {"sr": 0}, r"^sr=0: must be a number > 0"),
        (GOOD, {"sr": float("nan")}, r"^sr=nan: "),
        (GOOD, {"n_fft": 4096.0}, r"^n_fft=4096\.0: must be an integer >= 2"),
        (GOOD, {"max_peaks": 0}, r"^max_peaks=0: must be an integer >= 1"),
        (GOOD, {"min_prominence_db": -1.0}, r"^min_prominence_db=-1\.0: must be a number of dB >= 0"),
        (GOOD, {"floor_db": float("-inf")}, r"^floor_db=-inf: must be a finite number of dB"),
        (GOOD, {"window": "kaiser"}, r"^window='kaiser': unknown"),
        (GOOD, {"win_length": 5000}, r"^win_length=5000: must be an integer in \[1, n_fft=4096\]"),
    ],
)
def test_find_peaks_validates(power: np.ndarray, kwargs: dict, match: str) -> None:
    args = {"sr": SR, "n_fft": N_FFT, **kwargs}
    with pytest.raises(ParameterError, match=match):
        find_peaks(power, **args)


def test_finding_peaks_does_not_import_scipy() -> None:
    # scipy.signal costs ~0.4 s and ~75 MB of resident memory (it loads scipy.stats,
    # optimize, interpolate...): the viewer's spectrum slice finds peaks without it.
    code = (
        "import sys, numpy as np\n"
        "from spectroview.dsp import find_peaks, stft_power, yin\n"
        "t = np.arange(8192) / 8000\n"
        "p = stft_power(np.sin(2 * np.pi * 440 * t), n_fft=1024).mean(axis=1)\n"
        "assert find_peaks(p, sr=8000, n_fft=1024)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
    )
    root = Path(spectroview.__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"


def _scipy_peaks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    found, props = scipy.signal.find_peaks(x, prominence=0)
    return found, props["prominences"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-3, 3), min_size=0, max_size=80),  # small integers: plateaus and ties everywhere
    st.floats(0.1, 10.0),
)
def test_maxima_and_prominences_equal_scipy_signal(steps: list[int], scale: float) -> None:
    x = np.cumsum(np.asarray(steps, dtype=np.float64)) * scale if steps else np.zeros(0)
    expected, prominences = _scipy_peaks(x)
    found = _local_maxima(x)
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(_prominences(x, found), prominences)


def test_maxima_and_prominences_equal_scipy_signal_on_a_long_noisy_spectrum() -> None:
    x = 10 * np.log10(np.random.default_rng(5).exponential(size=32769))
    expected, prominences = _scipy_peaks(x)
    found = _local_maxima(x)
    assert found.size > 5000
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(_prominences(x, found), prominences)


@pytest.mark.parametrize("window", ["hann", "blackmanharris", "boxcar"])
@pytest.mark.parametrize("n", [17, 400, 4096, 65536])
def test_zoom_dft_equals_scipy_zoom_fft(window: str, n: int) -> None:
    w = get_window(window, n).astype(np.float64)
    ours = _zoom_dft(w, 1.5, 1537, n)
    theirs = scipy.signal.zoom_fft(w, [0.0, 1.5], m=1537, fs=n, endpoint=True)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12 * np.abs(theirs).max())
