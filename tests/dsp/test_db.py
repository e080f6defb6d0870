"""power_to_db against librosa, and its parameter errors."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from spectroview.dsp import ParameterError, power_to_db, stft_power
from tests.dsp.helpers import assert_rel_close, noise_and_tones


def _power(dtype: type) -> np.ndarray:
    S = stft_power(noise_and_tones(8000, 0.5), n_fft=256).astype(dtype)
    S[:3, :4] = 0.0  # exact zeros hit the amin floor
    return S


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("ref", "amin", "top_db"),
    [
        (1.0, 1e-10, 80.0),
        (1.0, 1e-10, None),
        (np.max, 1e-10, 80.0),
        (np.max, 1e-5, None),
        (np.median, 1e-10, 40.0),
        (0.25, 1e-3, 80.0),
        (1.0, 1e-10, 0.0),
        (1e-12, 1e-10, None),  # ref below amin is floored too
    ],
)
def test_power_to_db_matches_librosa(dtype: type, ref: object, amin: float, top_db: float | None) -> None:
    S = _power(dtype)
    got = power_to_db(S, ref=ref, amin=amin, top_db=top_db)
    expected = librosa.power_to_db(S, ref=ref, amin=amin, top_db=top_db)
    assert got.shape == S.shape
    assert got.dtype == (np.float64 if dtype is np.float64 else np.float32)
    assert_rel_close(got, expected.astype(np.float64))
    if top_db is not None:
        assert got.max() - got.min() <= top_db + 1e-4


def test_power_to_db_known_values() -> None:
    S = np.array([1.0, 10.0, 100.0, 0.0, 1e-3])
    np.testing.assert_allclose(power_to_db(S, top_db=None), [0.0, 10.0, 20.0, -100.0, -30.0], atol=1e-9)
    np.testing.assert_allclose(power_to_db(S, ref=np.max, top_db=25.0), [-20.0, -10.0, 0.0, -25.0, -25.0], atol=1e-9)
    np.testing.assert_allclose(power_to_db(S, ref=10.0, amin=1e-2, top_db=None)[3:], [-30.0, -30.0], atol=1e-9)


def test_power_to_db_does_not_modify_input() -> None:
    S = _power(np.float32)
    before = S.copy()
    power_to_db(S, ref=np.max)
    np.testing.assert_array_equal(S, before)


@pytest.mark.parametrize("amin", [0.0, -1e-10])
def test_amin_must_be_positive(amin: float) -> None:
    with pytest.raises(ParameterError, match=rf"^amin={amin!r}: must be > 0"):
        power_to_db(np.ones(4), amin=amin)


def test_top_db_must_be_non_negative() -> None:
    with pytest.raises(ParameterError, match=r"^top_db=-1\.0: must be >= 0"):
        power_to_db(np.ones(4), top_db=-1.0)
