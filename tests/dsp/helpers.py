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
