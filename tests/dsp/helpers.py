"""Shared signals and comparisons for the engine tests."""

from __future__ import annotations

import numpy as np

#: Every sample rate the engine must agree with librosa at.
SAMPLE_RATES = (8000, 16000, 22050, 44100, 48000, 96000, 192000)


def noise_and_tones(
    sr: float,
    seconds: float = 0.5,
    *,
    dtype: type = np.float32,
    seed: int = 0,
    tones: tuple[float, ...] = (0.05, 0.13, 0.31),
) -> np.ndarray:
    """Seeded white noise plus sines at the given fractions of ``sr``."""
    rng = np.random.default_rng(seed)
    n = round(sr * seconds)
    t = np.arange(n) / sr
    y = 0.1 * rng.standard_normal(n)
    for i, frac in enumerate(tones):
        y += (0.5 / (i + 1)) * np.sin(2 * np.pi * frac * sr * t + i)
    return y.astype(dtype)


def assert_rel_close(actual: np.ndarray, expected: np.ndarray, rel: float = 1e-5) -> None:
    """Shapes equal and ``max|actual - expected| <= rel * max|expected|``."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    err = float(np.max(np.abs(actual.astype(np.float64) - expected))) if expected.size else 0.0
    assert err <= rel * scale, f"max abs error {err:.3g} > {rel:g} x max {scale:.3g}"


def vowel(sr: int, seconds: float, f0: float = 120.0) -> np.ndarray:
    """Speech-like: a harmonic series under two formant peaks (700, 1200 Hz), with vibrato and a little noise."""
    t = np.arange(round(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))) / sr
    y = np.zeros_like(t)
    for k in range(1, int(min(sr / 2, 8000) // f0)):
        f = k * f0
        gain = np.exp(-(((f - 700) / 150) ** 2)) + 0.5 * np.exp(-(((f - 1200) / 200) ** 2)) + 0.01 / k
        y += gain * np.sin(k * phase)
    y += 0.003 * np.random.default_rng(3).standard_normal(t.size)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def chord(sr: int, seconds: float) -> np.ndarray:
    """Music-like: a decaying A-major triad with slightly inharmonic partials."""
    t = np.arange(round(seconds * sr)) / sr
    y = sum(
        np.exp(-t * (1 + k)) * np.sin(2 * np.pi * f * k * (1 + 0.0005 * k**2) * t) / k
        for f in (220.0, 277.18, 329.63)
        for k in range(1, 12)
    )
    return (0.25 * y / np.abs(y).max()).astype(np.float32)
