"""The engine's banded row projection against the dense filterbank product."""

from __future__ import annotations

import numpy as np
import pytest

from spectroview.dsp.mel import BandedProjection, banded_projection, row_projection
from spectroview.dsp.params import SpectrogramParams

CASES = [
    SpectrogramParams(sr=44100, n_fft=2048, scale="mel", n_mels=128),
    SpectrogramParams(sr=16000, n_fft=400, scale="mel", n_mels=80, htk=True, norm=None),
    SpectrogramParams(sr=8000, n_fft=64, scale="mel", n_mels=8),
    SpectrogramParams(sr=48000, n_fft=16384, scale="mel", n_mels=256, fmin=50.0, fmax=14000.0),
    SpectrogramParams(sr=44100, n_fft=2048, scale="log", bins_per_octave=48),  # bands narrower than a bin at the bottom
    SpectrogramParams(sr=22050, n_fft=256, scale="log", bins_per_octave=3),
]


@pytest.mark.parametrize("params", CASES, ids=lambda p: f"{p.scale}-{p.n_fft}")
def test_banded_product_equals_the_dense_filterbank_product(params: SpectrogramParams) -> None:
    dense = row_projection(params).toarray().astype(np.float64)
    banded = banded_projection(params)
    assert banded is not None and (banded.n_rows, banded.n_bins) == dense.shape
    values = np.random.default_rng(params.n_fft).random((48, dense.shape[1]), dtype=np.float32) ** 4
    out = banded.apply(values, np.full((48, banded.n_rows), np.nan, dtype=np.float32))
    expected = values.astype(np.float64) @ dense.T
    np.testing.assert_allclose(out, expected, rtol=2e-6, atol=1e-7 * expected.max())
    # Every stored weight is in exactly one block: nothing dropped, nothing counted twice.
    assert sum(int(np.count_nonzero(w)) for *_, w in banded.blocks) == np.count_nonzero(dense)


def test_all_zero_rows_are_written_as_zeros_and_rows_are_independent_of_the_batch() -> None:
    matrix = np.zeros((5, 12), dtype=np.float32)
    matrix[0, 1:4] = [0.5, 1.0, 0.5]
    matrix[2, 3:9] = 0.25  # rows 1 and 3 are empty
    matrix[4, 10:] = 1.0
    rows, cols = np.nonzero(matrix)
    banded = BandedProjection(np.searchsorted(rows, np.arange(6)), cols, matrix[rows, cols], 12)
    values = np.random.default_rng(1).random((64, 12), dtype=np.float32)
    out = banded.apply(values, np.full((64, 5), 7.0, dtype=np.float32))
    np.testing.assert_array_equal(out[:, [1, 3]], 0.0)
    np.testing.assert_allclose(out, values @ matrix.T, rtol=1e-6)
    # Batches of whole groups of 16 rows (as the engine passes them) give the same bits.
    halves = np.concatenate(
        [
            banded.apply(values[:16], np.empty((16, 5), np.float32)),
            banded.apply(values[16:], np.empty((48, 5), np.float32)),
        ]
    )
    np.testing.assert_array_equal(halves, out)


def test_the_engine_does_not_import_scipy_sparse_for_the_mel_scale() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from spectroview import dsp\n"
        "dsp.melspectrogram(np.zeros(4096, np.float32), sr=16000, n_fft=512, n_mels=40)\n"
        "print('scipy.sparse' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
