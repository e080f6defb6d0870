"""Tests for :mod:`spectroview.audio.synth`."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from numpy.typing import NDArray

from spectroview.audio import synth

SR = 22050


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def zero_crossing_freq(y: NDArray[np.floating], sr: float, t0: float, t1: float) -> tuple[float, float]:
    """Mean frequency of ``y`` between ``t0`` and ``t1`` from zero crossings.

    Returns ``(t_mid, f)``: the mean frequency between the first and last
    crossing (interpolated linearly between samples) and the midpoint of
    those crossings.  For a linear sweep that mean equals the instantaneous
    frequency at ``t_mid`` exactly; for a log sweep the error is
    second-order in the window length.
    """
    i0, i1 = round(t0 * sr), round(t1 * sr)
    seg = np.asarray(y[i0:i1], dtype=np.float64)
    a, b = seg[:-1], seg[1:]
    idx = np.nonzero(((a < 0) & (b >= 0)) | ((a >= 0) & (b < 0)))[0]
    assert idx.size >= 3, "window too short to measure a frequency"
    frac = a[idx] / (a[idx] - b[idx])
    tc = (i0 + idx + frac) / sr
    f = (tc.size - 1) / (2.0 * (tc[-1] - tc[0]))
    return float((tc[0] + tc[-1]) / 2.0), float(f)


def outside_harmonics_fraction(
    y: NDArray[np.floating],
    sr: float,
    f_of_t: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    n_harmonics: int,
    *,
    n_fft: int = 256,
    hop: int = 64,
    margin_bins: float = 4.0,
) -> float:
    """Fraction of STFT energy not near an allowed harmonic ``k*f(t) < sr/2``.

    Aliased partials fold to ``sr - k*f(t)``, which moves the opposite way to
    the true harmonics, so they land outside the mask in almost every frame.
    """
    window = np.blackman(n_fft)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    bin_hz = sr / n_fft
    nyquist = sr / 2.0
    total = outside = 0.0
    for start in range(0, len(y) - n_fft + 1, hop):
        frame = np.asarray(y[start : start + n_fft], dtype=np.float64) * window
        power = np.abs(np.fft.rfft(frame)) ** 2
        t_edges = np.array([start, start + n_fft - 1], dtype=np.float64) / sr
        f_lo, f_hi = np.sort(f_of_t(t_edges))
        mask = np.zeros(freqs.shape, dtype=bool)
        for k in range(1, n_harmonics + 1):
            if k * f_lo >= nyquist:
                break
            lo = k * f_lo - margin_bins * bin_hz
            hi = k * f_hi + margin_bins * bin_hz
            mask |= (freqs >= lo) & (freqs <= hi)
        total += power.sum()
        outside += power[~mask].sum()
    return outside / total


# ---------------------------------------------------------------------------
# Common properties: dtype, shape, length
# ---------------------------------------------------------------------------

# Frequencies are fractions of sr so that every case is valid at every sr.
GENERATORS: dict[str, Callable[[float, int], NDArray[np.float32]]] = {
    "tone": lambda d, sr: synth.tone(0.1 * sr, d, sr=sr),
    "tones": lambda d, sr: synth.tones([0.1 * sr, 0.3 * sr], d, sr=sr),
    "chirp_lin": lambda d, sr: synth.chirp(0.01 * sr, 0.4 * sr, d, sr=sr),
    "chirp_log": lambda d, sr: synth.chirp(0.01 * sr, 0.4 * sr, d, sr=sr, method="logarithmic"),
    "harmonic": lambda d, sr: synth.harmonic_tone(0.01 * sr, d, sr=sr, f0_end=0.02 * sr),
    "clicks": lambda d, sr: synth.click_train(d, sr=sr, rate=3.0),
    "silence": lambda d, sr: synth.silence(d, sr=sr),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize(
    ("duration", "sr", "expected"),
    [
        (1.0, SR, SR),
        (0.12345, SR, 2722),  # 2722.07 rounds down
        (0.0457, 1000, 46),  # 45.7 rounds up
        (0.5, 5, 2),  # 2.5: Python round, half to even
        (0.0, SR, 0),
    ],
)
def test_length_dtype_shape(name: str, duration: float, sr: int, expected: int) -> None:
    y = GENERATORS[name](duration, sr)
    assert y.dtype == np.float32
    assert y.shape == (expected,)
    assert synth.n_samples(duration, sr) == expected


# ---------------------------------------------------------------------------
# tone / tones
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sr", "n", "k"),
    [(8000, 8000, 1000), (8192, 1024, 37), (SR, 2205, 13), (SR, SR, 11024)],
)
def test_tone_bin_centred_peaks_in_its_bin(sr: int, n: int, k: int) -> None:
    freq = k * sr / n
    y = synth.tone(freq, n / sr, sr=sr, amplitude=0.5)
    mag = np.abs(np.fft.rfft(y.astype(np.float64)))
    assert int(np.argmax(mag)) == k
    # An integer number of periods puts (almost) all energy in one bin.
    assert mag[k] == pytest.approx(0.5 * n / 2, rel=1e-3)
    others = np.delete(mag, k)
    assert others.max() < 1e-3 * mag[k]


@pytest.mark.parametrize("amplitude", [0.0, 0.1, 0.5, 1.0])
def test_tone_amplitude(amplitude: float) -> None:
    y = synth.tone(1000.0, 0.1, sr=SR, amplitude=amplitude)
    assert np.max(np.abs(y)) == pytest.approx(amplitude, abs=1e-4)


def test_tone_default_amplitude_and_start_phase() -> None:
    y = synth.tone(100.0, 0.1, sr=SR)
    assert np.max(np.abs(y)) == pytest.approx(0.5, abs=1e-4)
    assert y[0] == 0.0  # sin(0)
    y90 = synth.tone(100.0, 0.1, sr=SR, phase=math.pi / 2)
    assert y90[0] == pytest.approx(0.5)


def test_tone_phase_continues_across_calls() -> None:
    freq, d1, d2 = 437.3, 5000 / SR, 12345 / SR  # durations in whole samples
    whole = synth.tone(freq, d1 + d2, sr=SR)
    first = synth.tone(freq, d1, sr=SR)
    second = synth.tone(freq, d2, sr=SR, phase=2 * math.pi * freq * len(first) / SR)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, atol=2e-6)


def test_tones_components_have_equal_share_of_amplitude() -> None:
    sr, n = 8000, 8000
    y = synth.tones([500.0, 1250.0, 3000.0], n / sr, sr=sr, amplitude=0.6)
    mag = np.abs(np.fft.rfft(y.astype(np.float64)))
    for k in (500, 1250, 3000):
        assert mag[k] == pytest.approx(0.2 * n / 2, rel=1e-3)
    rest = np.delete(mag, [500, 1250, 3000])
    assert rest.max() < 1e-3 * mag[500]


def test_tones_peak_bounded_by_amplitude_and_reached_when_aligned() -> None:
    y = synth.tones([1000.0, 1010.0], 1.0, sr=SR, amplitude=0.5)
    peak = float(np.max(np.abs(y)))
    assert peak <= 0.5 + 1e-6
    assert peak > 0.49  # the beats line the two components up every 0.1 s


def test_tones_accepts_numpy_array_and_single_frequency() -> None:
    a = synth.tones(np.array([440.0]), 0.1, sr=SR, amplitude=0.3)
    b = synth.tone(440.0, 0.1, sr=SR, amplitude=0.3)
    np.testing.assert_allclose(a, b, atol=1e-7)


# ---------------------------------------------------------------------------
# chirp
# ---------------------------------------------------------------------------


def _expected_chirp_freq(f0: float, f1: float, duration: float, method: str, t: float):
    if method == "linear":
        return f0 + (f1 - f0) * t / duration
    return f0 * (f1 / f0) ** (t / duration)


@pytest.mark.parametrize("method", ["linear", "logarithmic"])
@pytest.mark.parametrize(("f0", "f1"), [(100.0, 9000.0), (8000.0, 200.0)])
def test_chirp_instantaneous_frequency(method: str, f0: float, f1: float) -> None:
    duration, w = 2.0, 0.04
    y = synth.chirp(f0, f1, duration, sr=SR, method=method)
    for t0 in (0.0, duration / 2 - w / 2, duration - w):
        t_mid, f = zero_crossing_freq(y, SR, t0, t0 + w)
        expected = _expected_chirp_freq(f0, f1, duration, method, t_mid)
        assert f == pytest.approx(expected, rel=0.01), (method, t0)


@pytest.mark.parametrize("method", ["linear", "logarithmic"])
def test_chirp_matches_scipy_reference(method: str) -> None:
    # scipy.signal.chirp is cos(phase + phi); phi = -90 degrees gives sin.
    f0, f1, duration = 150.0, 6000.0, 1.5
    y = synth.chirp(f0, f1, duration, sr=SR, method=method, amplitude=0.7)
    t = np.arange(len(y)) / SR
    ref = 0.7 * scipy.signal.chirp(t, f0, duration, f1, method=method, phi=-90)
    np.testing.assert_allclose(y, ref, atol=1e-4)


def test_chirp_amplitude_and_constant_frequency() -> None:
    y = synth.chirp(1000.0, 1000.0, 0.5, sr=SR, amplitude=0.25)
    assert np.max(np.abs(y)) == pytest.approx(0.25, abs=1e-4)
    np.testing.assert_allclose(y, synth.tone(1000.0, 0.5, sr=SR, amplitude=0.25))


def test_chirp_is_phase_continuous() -> None:
    # A phase jump would show up as a sample-to-sample step far larger than
    # the largest step of a smooth sinusoid, 2*pi*f_max/sr * amplitude.
    y = synth.chirp(100.0, 9000.0, 2.0, sr=SR, amplitude=0.5).astype(np.float64)
    max_step = float(np.max(np.abs(np.diff(y))))
    assert max_step <= 2 * math.pi * 9000.0 / SR * 0.5 * 1.001


# ---------------------------------------------------------------------------
# harmonic_tone
# ---------------------------------------------------------------------------


def test_harmonic_tone_steady_has_1_over_k_spectrum() -> None:
    sr, n, f0, nh = 8000, 8000, 250.0, 8
    y = synth.harmonic_tone(f0, n / sr, sr=sr, n_harmonics=nh, amplitude=0.8)
    mag = np.abs(np.fft.rfft(y.astype(np.float64))) / (n / 2)
    h = sum(1.0 / k for k in range(1, nh + 1))
    bins = [round(k * f0) for k in range(1, nh + 1)]
    for k, b in enumerate(bins, start=1):
        assert mag[b] == pytest.approx(0.8 / (k * h), rel=1e-3)
    assert np.delete(mag, bins).max() < 1e-4
    assert np.max(np.abs(y)) <= 0.8 + 1e-6


def test_harmonic_tone_steady_omits_harmonics_at_or_above_nyquist() -> None:
    # f0 = 1000 Hz at sr = 8000: only k = 1, 2, 3 are below Nyquist (k = 4
    # would sit exactly on it, k >= 5 would alias to 3000, 2000, 1000 Hz).
    sr, n, nh = 8000, 8000, 10
    y = synth.harmonic_tone(1000.0, 1.0, sr=sr, n_harmonics=nh, amplitude=0.5)
    mag = np.abs(np.fft.rfft(y.astype(np.float64))) / (n / 2)
    h = sum(1.0 / k for k in range(1, nh + 1))
    for k in (1, 2, 3):
        # Aliases of k >= 5 would land on these bins and change them.
        assert mag[1000 * k] == pytest.approx(0.5 / (k * h), rel=1e-3)
    assert mag[4000] < 1e-4
    assert np.delete(mag, [1000, 2000, 3000]).max() < 1e-4


def test_harmonic_glide_has_no_aliased_energy() -> None:
    sr, f0, f1, duration, nh = 8000, 200.0, 700.0, 2.0, 20

    def f_of_t(t: NDArray[np.float64]) -> NDArray[np.float64]:
        return f0 * (f1 / f0) ** (t / duration)

    y = synth.harmonic_tone(f0, duration, sr=sr, n_harmonics=nh, f0_end=f1)
    ours = outside_harmonics_fraction(y, sr, f_of_t, nh)

    # Negative control: the same sum without the Nyquist cut must fail the
    # metric, otherwise the metric could not detect aliasing.
    t = np.arange(len(y)) / sr
    phi = 2 * np.pi * f0 * duration * np.expm1(np.log(f1 / f0) * t / duration)
    phi /= np.log(f1 / f0)
    w = 1.0 / np.arange(1, nh + 1)
    naive = sum(wk * np.sin(k * phi) for k, wk in enumerate(w / w.sum(), start=1))
    aliased = outside_harmonics_fraction(naive, sr, f_of_t, nh)

    assert aliased > 5e-3
    assert ours < 1e-3
    assert ours < aliased / 30


def test_harmonic_glide_fundamental_frequency() -> None:
    f0, f1, duration, w = 150.0, 400.0, 3.0, 0.06
    y = synth.harmonic_tone(f0, duration, sr=SR, n_harmonics=1, f0_end=f1)
    for t0 in (0.0, duration / 2 - w / 2, duration - w):
        t_mid, f = zero_crossing_freq(y, SR, t0, t0 + w)
        assert f == pytest.approx(f0 * (f1 / f0) ** (t_mid / duration), rel=0.01)
    # With one harmonic the glide is exactly a logarithmic chirp.
    ref = synth.chirp(f0, f1, duration, sr=SR, method="logarithmic", amplitude=0.5)
    np.testing.assert_allclose(y, ref, atol=1e-6)


# ---------------------------------------------------------------------------
# click_train
# ---------------------------------------------------------------------------


def test_clicks_at_given_times_land_on_exact_samples() -> None:
    sr = 1000
    y = synth.click_train(1.0, sr=sr, times=[0.0, 0.1, 0.2501, 0.5004, 0.999])
    assert np.nonzero(y)[0].tolist() == [0, 100, 250, 500, 999]
    assert np.all(y[[0, 100, 250, 500, 999]] == np.float32(0.9))


def test_clicks_at_rate_do_not_drift() -> None:
    sr, rate = 1000, 7.0
    y = synth.click_train(1.0, sr=sr, rate=rate, amplitude=0.5)
    expected = [round(n * sr / rate) for n in range(7)]  # 0, 143, ..., 857
    assert np.nonzero(y)[0].tolist() == expected
    assert np.all(y[expected] == np.float32(0.5))


def test_clicks_at_rate_demo_settings() -> None:
    y = synth.click_train(1.5, sr=SR, rate=10.0)
    assert np.nonzero(y)[0].tolist() == [n * 2205 for n in range(15)]


def test_click_width_and_truncation_at_end() -> None:
    y = synth.click_train(0.01, sr=1000, times=[0.002, 0.009], width=3)
    assert y.tolist() == pytest.approx([0, 0, 0.9, 0.9, 0.9, 0, 0, 0, 0, 0.9])


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({}, "exactly one of rate= and times="),
        ({"rate": 2.0, "times": [0.1]}, "exactly one of rate= and times="),
        ({"rate": 0.0}, r"rate=0\.0: must be > 0"),
        ({"times": [0.1, 1.0]}, r"times\[1\]=1\.0: must be in \[0, duration = 1\.0\)"),
        ({"times": [-0.1]}, r"times\[0\]=-0\.1"),
        ({"rate": 1.0, "width": 0}, r"width=0: must be an integer >= 1"),
    ],
)
def test_click_train_argument_errors(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        synth.click_train(1.0, sr=1000, **kwargs)


# ---------------------------------------------------------------------------
# silence / fade
# ---------------------------------------------------------------------------


def test_silence_is_zero() -> None:
    y = synth.silence(0.3, sr=SR)
    assert y.shape == (round(0.3 * SR),)
    assert not np.any(y)


def test_fade_ramps_and_leaves_middle_untouched() -> None:
    sr = 1000
    x = np.ones(100, dtype=np.float32)
    y = synth.fade(x, sr=sr, fade_in=0.01, fade_out=0.02)
    assert y.dtype == np.float32 and y.shape == (100,)
    assert y[0] == 0.0 and y[-1] == 0.0
    # Raised cosine: 0.5 at the ramp midpoint, strictly increasing ramp.
    assert y[5] == pytest.approx(0.5)
    assert np.all(np.diff(y[:10]) > 0)
    assert np.all(np.diff(y[80:]) < 0)
    np.testing.assert_array_equal(y[10:80], 1.0)
    assert y[89] == pytest.approx(0.5)
    np.testing.assert_array_equal(x, 1.0)  # input not modified


def test_fade_removes_click_at_the_edges() -> None:
    # A tone cut at a peak starts with a jump of 'amplitude'; after the fade
    # the first step is tiny.
    y = synth.tone(1000.0, 0.1, sr=SR, amplitude=0.5, phase=math.pi / 2)
    assert abs(y[0]) == pytest.approx(0.5)
    f = synth.fade(y, sr=SR)
    assert f[0] == 0.0 and f[-1] == 0.0
    assert abs(f[1]) < 0.01
    assert abs(f[-2]) < 0.01


def test_fade_longer_than_signal_and_zero_length() -> None:
    # A 1 s ramp on a 4 ms signal: only its first 4 samples apply.
    y = synth.fade(np.ones(4), sr=1000, fade_in=1.0, fade_out=0.0)
    assert y.shape == (4,) and y[0] == 0.0 and np.all(y < 1e-4)
    z = synth.fade(np.ones(4), sr=1000, fade_in=0.0, fade_out=1.0)
    assert z[-1] == 0.0 and np.all(z < 1e-4)
    np.testing.assert_array_equal(synth.fade(np.ones(4), sr=1, fade_in=0, fade_out=0), 1)
    assert synth.fade(np.zeros(0), sr=SR).shape == (0,)


def test_fade_rejects_2d() -> None:
    with pytest.raises(ValueError, match=r"y: must be 1-D"):
        synth.fade(np.ones((2, 10)), sr=SR)


# ---------------------------------------------------------------------------
# Argument validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: synth.tone(30000.0, 1.0, sr=44100),
            "freq=30000.0: must be in [0, sr/2 = 22050.0]",
        ),
        (
            lambda: synth.tone(-1.0, 1.0, sr=SR),
            "freq=-1.0: must be in [0, sr/2 = 11025.0]",
        ),
        (lambda: synth.tone(440.0, -0.5, sr=SR), "duration=-0.5: must be >= 0"),
        (lambda: synth.tone(0.0, 1.0, sr=0), "sr=0.0: must be >= 1"),
        (lambda: synth.tone(440.0, 1.0, sr=SR, amplitude=-1), "amplitude=-1.0"),
        (lambda: synth.tone(float("nan"), 1.0, sr=SR), "freq=nan: must be finite"),
        (lambda: synth.silence(float("inf"), sr=SR), "duration=inf: must be finite"),
        (lambda: synth.tones([], 1.0, sr=SR), "freqs=[]: must contain at least one"),
        (
            lambda: synth.tones([100.0, 12000.0], 1.0, sr=SR),
            "freqs[1]=12000.0: must be in [0, sr/2 = 11025.0]",
        ),
        (
            lambda: synth.chirp(100.0, 20000.0, 1.0, sr=SR),
            "f1=20000.0: must be in [0, sr/2 = 11025.0]",
        ),
        (
            lambda: synth.chirp(0.0, 1000.0, 1.0, sr=SR, method="logarithmic"),
            "f0=0.0: must be in (0, sr/2 = 11025.0]",
        ),
        (
            lambda: synth.chirp(10.0, 1000.0, 1.0, sr=SR, method="cubic"),
            "method='cubic': must be 'linear' or 'logarithmic'",
        ),
        (
            lambda: synth.harmonic_tone(100.0, 1.0, sr=SR, f0_end=12000.0),
            "f0_end=12000.0: must be in (0, sr/2 = 11025.0]",
        ),
        (
            lambda: synth.harmonic_tone(100.0, 1.0, sr=SR, n_harmonics=0),
            "n_harmonics=0: must be an integer >= 1",
        ),
        (
            lambda: synth.harmonic_tone(100.0, 1.0, sr=SR, n_harmonics=2.5),
            "n_harmonics=2.5: must be an integer >= 1",
        ),
        (
            lambda: synth.fade(np.ones(10), sr=SR, fade_out=-1.0),
            "fade_out=-1.0: must be >= 0",
        ),
    ],
)
def test_argument_errors_name_parameter_value_and_range(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_boundary_values_are_accepted() -> None:
    assert synth.tone(0.0, 0.02, sr=SR).shape == (441,)
    nyq = synth.tone(SR / 2, 0.01, sr=SR)  # sin(pi*n) = 0 up to rounding
    assert np.max(np.abs(nyq)) < 1e-3
    assert synth.silence(1.0, sr=1).shape == (1,)


def test_synth_imports_only_numpy_and_stdlib() -> None:
    # Checked on the source so that imports added to package __init__ files
    # by other modules do not affect the result.
    source = Path(synth.__file__).read_text(encoding="utf-8")
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots <= {"__future__", "math", "collections", "typing", "numpy"}, roots
