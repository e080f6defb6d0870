"""Resampling with soxr: no audible alias, block-wise equal to one pass, librosa's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from spectroview.audio.resample import ResampleError, Resampler, resample, resampled_length


def tone(freq: float, sr: int, seconds: float, amplitude: float = 0.9) -> np.ndarray:
    t = np.arange(round(sr * seconds)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def level_db(y: np.ndarray, sr: int, freq: float, *, width_hz: float = 30.0) -> float:
    """Peak level near ``freq`` (dB re a full-scale sine), Blackman-Harris window over the middle second."""
    x = np.asarray(y[len(y) // 2 - sr // 2 : len(y) // 2 + sr // 2], np.float64)
    n = np.arange(x.size)
    # 4-term Blackman-Harris: sidelobes at -92 dB, below the -90 dB asked for.
    w = 0.35875 - 0.48829 * np.cos(2 * np.pi * n / x.size) + 0.14128 * np.cos(4 * np.pi * n / x.size)
    w -= 0.01168 * np.cos(6 * np.pi * n / x.size)
    spectrum = np.abs(np.fft.rfft(x * w)) / (w.sum() / 2)
    f = np.fft.rfftfreq(x.size, 1 / sr)
    band = np.abs(f - freq) <= width_hz
    return float(20 * np.log10(spectrum[band].max() + 1e-30))


@pytest.mark.parametrize(
    ("sr_in", "sr_out", "freq"), [(44100, 16000, 8600.0), (48000, 16000, 9500.0), (44100, 22050, 15000.0)]
)
def test_tone_above_the_new_nyquist_leaves_no_alias(sr_in: int, sr_out: int, freq: float) -> None:
    y = resample(tone(freq, sr_in, 3.0), orig_sr=sr_in, target_sr=sr_out)
    alias = sr_out - freq  # where a tone above the new Nyquist folds to
    assert level_db(y, sr_out, alias) < -90.0, level_db(y, sr_out, alias)


def test_the_old_resampler_did_alias() -> None:
    """What the measure above catches: scipy's resample_poly default leaves the 7.4 kHz alias 17 dB down."""
    from scipy.signal import resample_poly

    poly = resample_poly(tone(8600.0, 44100, 3.0), 160, 441)
    assert level_db(poly, 16000, 7400.0) > -25.0


def test_tone_below_nyquist_keeps_its_level_and_frequency() -> None:
    y = resample(tone(1000.0, 44100, 3.0), orig_sr=44100, target_sr=16000)
    assert level_db(y, 16000, 1000.0) == pytest.approx(20 * np.log10(0.9), abs=0.05)


@pytest.mark.parametrize("block", [1, 777, 4096, 100_000])
def test_blocks_equal_one_pass(block: int) -> None:
    rng = np.random.default_rng(block)
    y = rng.standard_normal(60_000).astype(np.float32) * 0.3
    whole = resample(y, orig_sr=44100, target_sr=16000)
    r = Resampler(44100, 16000)
    parts = [r.process(y[i : i + block]) for i in range(0, y.size, block)] + [r.flush()]
    got = np.concatenate(parts)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, whole)
    assert got.size == resampled_length(y.size, 44100, 16000)


@pytest.mark.parametrize(
    ("n", "sr_in", "sr_out"), [(1, 8000, 16000), (12345, 44100, 16000), (99991, 48000, 44100), (7, 22050, 8000)]
)
def test_resampled_length_is_what_soxr_returns(n: int, sr_in: int, sr_out: int) -> None:
    y = np.zeros(n, np.float32)
    assert resample(y, orig_sr=sr_in, target_sr=sr_out).size == resampled_length(n, sr_in, sr_out)


def test_multichannel_blocks() -> None:
    y = np.stack([tone(440.0, 48000, 1.0), tone(880.0, 48000, 1.0)], axis=1)
    r = Resampler(48000, 16000, channels=2)
    got = np.concatenate([r.process(y[:20000]), r.process(y[20000:]), r.flush()])
    np.testing.assert_array_equal(got, resample(y, orig_sr=48000, target_sr=16000))
    assert got.shape == (16000, 2)


def test_equal_rates_pass_through() -> None:
    y = tone(440.0, 16000, 0.5)
    assert resample(y, orig_sr=16000, target_sr=16000) is not None
    np.testing.assert_array_equal(resample(y, orig_sr=16000, target_sr=16000), y)
    r = Resampler(16000, 16000)
    assert r.identity
    np.testing.assert_array_equal(r.process(y), y)
    assert r.flush().size == 0


def test_matches_librosa_default_resampler() -> None:
    librosa = pytest.importorskip("librosa")
    y = np.random.default_rng(3).standard_normal(30_000).astype(np.float32) * 0.2
    want = librosa.resample(y, orig_sr=44100, target_sr=16000)  # res_type="soxr_hq"
    np.testing.assert_allclose(resample(y, orig_sr=44100, target_sr=16000), want, atol=1e-6, rtol=0)


@pytest.mark.parametrize("rate", [0, -1, 44100.5, True, 10**9, "44100"])
def test_bad_rates_are_named(rate: object) -> None:
    with pytest.raises(ResampleError, match="orig_sr"):
        resample(np.zeros(10, np.float32), orig_sr=rate, target_sr=16000)  # type: ignore[arg-type]
    with pytest.raises(ResampleError, match="target_sr"):
        Resampler(16000, rate)  # type: ignore[arg-type]


def test_process_after_flush_is_an_error() -> None:
    r = Resampler(44100, 16000)
    r.flush()
    with pytest.raises(ResampleError, match="after flush"):
        r.process(np.zeros(10, np.float32))
