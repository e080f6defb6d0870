"""Whisper's front end against transformers' WhisperFeatureExtractor (its numpy path, no torch)."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import WhisperFeatureExtractor

from spectroview.dsp import ParameterError
from spectroview.dsp.mel import mel_frequencies
from spectroview.dsp.whisper import WHISPER_N_FRAMES, WHISPER_N_SAMPLES, WHISPER_SR, whisper_log_mel
from tests.dsp.helpers import chord, vowel

SR = WHISPER_SR


SIGNALS = {
    "speech": vowel(SR, 4.0),
    "music": chord(SR, 6.0),
    "silence": np.zeros(SR, np.float32),
    "shorter_than_a_frame": vowel(SR, 1.0)[:100],
    "longer_than_30_s": np.tile(chord(SR, 6.0), 7),  # 42 s: cut to 30 s
    "float64_input": vowel(SR, 2.0).astype(np.float64),
}


@pytest.mark.parametrize("n_mels", [80, 128])
@pytest.mark.parametrize("name", list(SIGNALS))
def test_equals_transformers_whisper_feature_extractor(name: str, n_mels: int) -> None:
    y = SIGNALS[name]
    reference = WhisperFeatureExtractor(feature_size=n_mels)(y, sampling_rate=SR, return_tensors="np")
    want = reference["input_features"][0]
    got = whisper_log_mel(y, n_mels=n_mels)
    assert got.shape == want.shape == (n_mels, WHISPER_N_FRAMES)
    assert got.dtype == np.float32
    # The bar: 1e-4 of the reference's range (2.0, the clamp's 8 log10 units / 4; 0 for silence).
    span = max(float(want.max() - want.min()), 1.0)
    assert float(np.abs(got - want).max()) <= 1e-4 * span


def test_a_tone_lands_in_its_mel_band_and_the_padding_sits_at_the_floor() -> None:
    t = np.arange(5 * SR) / SR
    y = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    features = whisper_log_mel(y)
    centres = mel_frequencies(80 + 2, fmin=0.0, fmax=8000.0)[1:-1]
    loud_row = int(np.argmax(features[:, 100:400].mean(axis=1)))
    assert abs(centres[loud_row] - 1000.0) < 60.0  # the band whose centre is nearest 1 kHz
    # After 5 s of tone comes 25 s of zeros: clamped at the peak minus 8, i.e. (peak - 8 + 4) / 4.
    floor = (4 * features.max() - 4 - 8 + 4) / 4
    np.testing.assert_allclose(features[:, 600:], floor, atol=1e-6)
    assert WHISPER_N_SAMPLES == 480_000


@pytest.mark.parametrize(
    ("y", "kwargs", "match"),
    [
        (np.zeros((2, 100), np.float32), {}, r"^y\.shape=\(2, 100\): must be 1-D \(mono\)"),
        (np.zeros(100, np.int16), {}, r"^y\.dtype=int16: must be floating point"),
        (np.zeros(100, np.float32), {"n_mels": 64}, r"^n_mels=64: Whisper's front end has 80 or 128"),
    ],
)
def test_refuses_what_whisper_does_not_take(y: np.ndarray, kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        whisper_log_mel(y, **kwargs)
