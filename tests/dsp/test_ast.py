"""The AST front end (``spectroview.dsp.ast``) against the Kaldi/AST recipe."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spectroview.dsp import ParameterError
from spectroview.dsp.ast import (
    AST_MEAN,
    AST_STD,
    ast_fbank,
    ast_features,
    ast_frame_times,
    ast_mel_filterbank,
    ast_n_frames,
    ast_patches,
    ast_row_frequencies,
    kaldi_hz_to_mel,
    kaldi_mel_to_hz,
    patch_index_at,
)

SR = 16000
PAD_VALUE = (0.0 - AST_MEAN) / (2.0 * AST_STD)
REPO_ROOT = Path(__file__).resolve().parents[2]


def tone(freq: float, sr: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(sr * seconds)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def mixed_signal(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Noise and tones, a stretch of digital silence and one of pure DC (both hit the log floor)."""
    rng = np.random.default_rng(seed)
    n = round(SR * seconds)
    y = 0.05 * rng.standard_normal(n) + tone(440.0, SR, seconds, 0.3) + tone(3000.0, SR, seconds, 0.1)
    y[n // 4 : n // 4 + 1600] = 0.0
    y[n // 2 : n // 2 + 1600] = 0.25
    return y.astype(np.float32)


def kaldi_fbank_reference(y16: np.ndarray) -> np.ndarray:
    """Kaldi's fbank as AST calls it, by the book: one frame at a time, plain loops.

    Returns (n_frames, 128) float64 (Kaldi's layout).
    """
    frame_length, shift, n_fft, n_mels = 400, 160, 512, 128

    def mel(f: float) -> float:
        return 1127.0 * math.log(1.0 + f / 700.0)

    # Kaldi's MelBanks: num_fft_bins = n_fft / 2 (the Nyquist bin is left out).
    lo, hi = mel(20.0), mel(8000.0)
    delta = (hi - lo) / (n_mels + 1)
    bank = np.zeros((n_mels, n_fft // 2))
    for m in range(n_mels):
        left, centre, right = lo + m * delta, lo + (m + 1) * delta, lo + (m + 2) * delta
        for k in range(n_fft // 2):
            mk = mel(k * 16000.0 / n_fft)
            if left < mk < right:
                bank[m, k] = (mk - left) / (centre - left) if mk <= centre else (right - mk) / (right - centre)
    window = [0.5 - 0.5 * math.cos(2 * math.pi * i / (frame_length - 1)) for i in range(frame_length)]
    # A plain DFT matrix, not an FFT: bins 0..256 of the 512-point transform.
    dft = np.exp(-2j * np.pi * np.outer(np.arange(n_fft // 2 + 1), np.arange(n_fft)) / n_fft)
    n_frames = 1 + (len(y16) - frame_length) // shift
    out = np.empty((n_frames, n_mels))
    for t in range(n_frames):
        frame = [float(v) for v in y16[t * shift : t * shift + frame_length]]
        mean = sum(frame) / frame_length
        frame = [v - mean for v in frame]
        for i in range(frame_length - 1, 0, -1):  # Kaldi's in-place loop, from the end
            frame[i] -= 0.97 * frame[i - 1]
        frame[0] -= 0.97 * frame[0]
        padded = np.zeros(n_fft)
        padded[:frame_length] = [frame[i] * window[i] for i in range(frame_length)]
        power = np.abs(dft @ padded) ** 2
        for m in range(n_mels):
            energy = float(np.dot(bank[m], power[: n_fft // 2]))
            out[t, m] = math.log(max(energy, 2.0**-23))  # torch.finfo(float32).eps
    return out


# -- shapes -------------------------------------------------------------------


def test_shapes_for_10_24_seconds() -> None:
    y = tone(1000.0, SR, 10.24)
    assert y.shape == (163840,)
    fbank = ast_fbank(y, sr=SR)
    assert fbank.shape == (128, 1022) and fbank.dtype == np.float32  # 1 + (163840 - 400) // 160
    features = ast_features(y, sr=SR)
    assert features.shape == (128, 1024) and features.dtype == np.float32
    assert features.flags.c_contiguous
    patches, grid = ast_patches(features)
    assert grid == (12, 101)
    assert patches.shape == (1212, 16, 16) and patches.dtype == np.float32


@pytest.mark.parametrize(("n", "frames"), [(400, 1), (559, 1), (560, 2), (16000, 98)])
def test_frame_count_snip_edges(n: int, frames: int) -> None:
    assert ast_fbank(np.ones(n, dtype=np.float32), sr=SR).shape == (128, frames)


@pytest.mark.parametrize("n", [399, 400, 559, 560, 16000, 44101])
def test_n_frames_predicts_the_fbank(n: int) -> None:
    frames = ast_n_frames(n)
    assert frames == (0 if n < 400 else 1 + (n - 400) // 160)
    y = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    if frames == 0:
        with pytest.raises(ParameterError, match="too short"):
            ast_fbank(y, sr=SR)
    else:
        assert ast_fbank(y, sr=SR).shape == (128, frames)


@pytest.mark.parametrize("sr", [44100, 8000, 16001])
def test_other_rates_are_refused_with_the_resampler_named(sr: int) -> None:
    """dsp stays numpy and scipy only: resampling (soxr) is the audio layer's, done first."""
    y = np.zeros(sr, dtype=np.float32)
    for call in (lambda: ast_fbank(y, sr=sr), lambda: ast_features(y, sr=sr), lambda: ast_n_frames(sr, sr=sr)):
        with pytest.raises(ParameterError, match=rf"^sr={sr}: the AST front end reads 16000 Hz audio; resample first"):
            call()


def test_padding_is_zero_fbank_then_normalized() -> None:
    y = mixed_signal(2.0)
    fbank = ast_fbank(y, sr=SR)
    n = fbank.shape[1]
    features = ast_features(y, sr=SR)
    assert features.shape == (128, 1024)
    np.testing.assert_allclose(features[:, :n], (fbank - AST_MEAN) / (2 * AST_STD), atol=1e-5, rtol=0)
    # Zero-padded *before* normalization: (0 - mean) / (2 std), about 0.467.
    assert PAD_VALUE == pytest.approx(0.46703, abs=1e-5)
    np.testing.assert_array_equal(features[:, n:], np.float32(PAD_VALUE))


def test_cut_when_longer_than_target() -> None:
    y = mixed_signal(12.0)
    fbank = ast_fbank(y, sr=SR)
    assert fbank.shape == (128, 1198)
    features = ast_features(y, sr=SR)
    assert features.shape == (128, 1024)
    np.testing.assert_allclose(features, (fbank[:, :1024] - AST_MEAN) / (2 * AST_STD), atol=1e-5, rtol=0)


def test_custom_target_length_and_statistics() -> None:
    y = mixed_signal(1.0)
    fbank = ast_fbank(y, sr=SR)
    short = ast_features(y, sr=SR, target_length=50, mean=1.0, std=0.5)
    np.testing.assert_allclose(short, fbank[:, :50] - 1.0, atol=1e-5, rtol=0)
    long = ast_features(y, sr=SR, target_length=200, mean=1.0, std=0.5)
    np.testing.assert_array_equal(long[:, 98:], np.float32(-1.0))


# -- the recipe ------------------------------------------------------------------


def test_agrees_with_a_straightforward_kaldi_reimplementation() -> None:
    y = mixed_signal(1.0)
    want = kaldi_fbank_reference(y.astype(np.float64))
    got = ast_fbank(y, sr=SR)
    assert got.shape == want.T.shape == (128, 98)
    # Silence and DC frames sit on the floor, ln(eps) = -15.94.
    assert want.min() == pytest.approx(math.log(2.0**-23))
    np.testing.assert_allclose(got, want.T, atol=1e-4, rtol=0)
    # And the model input is that, padded and normalized.
    padded = np.zeros((1024, 128))
    padded[:98] = want
    np.testing.assert_allclose(ast_features(y, sr=SR), ((padded - AST_MEAN) / (2 * AST_STD)).T, atol=1e-4, rtol=0)


def test_mel_bank_is_kaldis() -> None:
    bank = ast_mel_filterbank()
    assert bank.shape == (128, 257)
    assert np.all(bank[:, -1] == 0.0)  # the Nyquist bin
    assert bank.max() <= 1.0 and np.all(bank >= 0.0)
    # Kaldi's quirk, kept: band 3 (centred at 77.8 Hz) is narrower than the
    # 31.25 Hz bin spacing and holds no bin, so the model always sees the floor there.
    assert np.flatnonzero(bank.sum(axis=1) == 0).tolist() == [3]
    features = ast_features(mixed_signal(1.0), sr=SR)
    np.testing.assert_allclose(features[3, :98], (math.log(2.0**-23) - AST_MEAN) / (2 * AST_STD), rtol=1e-6)
    centres, edges = ast_row_frequencies()
    assert centres.shape == (128,) and edges.shape == (129,)
    assert np.all(np.diff(centres) > 0) and np.all(edges[:-1] < centres) and np.all(centres < edges[1:])
    m = kaldi_hz_to_mel(centres)
    np.testing.assert_allclose(np.diff(m), (kaldi_hz_to_mel(8000.0) - kaldi_hz_to_mel(20.0)) / 129)
    np.testing.assert_allclose(kaldi_mel_to_hz(kaldi_hz_to_mel(centres)), centres)
    np.testing.assert_allclose(kaldi_hz_to_mel(1000.0), 1127.0 * math.log(1 + 1000 / 700))


def test_tone_peaks_in_the_band_centred_nearest_it() -> None:
    fbank = ast_fbank(tone(1000.0, SR, 1.0), sr=SR)
    centres, _ = ast_row_frequencies()
    assert int(np.argmax(fbank.mean(axis=1))) == int(np.argmin(np.abs(centres - 1000.0)))


@pytest.mark.parametrize("sr", [44100, 22050])
def test_resampled_tone_matches_a_tone_made_at_16k(sr: int) -> None:
    from spectroview.audio.resample import resample

    want = ast_fbank(tone(1000.0, SR, 2.0), sr=SR)
    got = ast_fbank(resample(tone(1000.0, sr, 2.0), orig_sr=sr, target_sr=SR), sr=SR)
    assert got.shape == want.shape == (128, 198)
    loud = want.max(axis=1) > want.max() - 10.0  # bands within 10 nats (43 dB) of the peak
    assert loud.sum() >= 4
    # The first and last frames see soxr's edges (it assumes silence outside).
    np.testing.assert_allclose(got[loud, 2:-2], want[loud, 2:-2], atol=0.01, rtol=0)


def test_frame_times_are_kaldi_frame_centres() -> None:
    np.testing.assert_allclose(ast_frame_times(3), [0.0125, 0.0225, 0.0325])


def test_resampling_is_lazy_about_scipy_signal() -> None:
    code = (
        "import sys, numpy as np\n"
        "from spectroview.dsp.ast import ast_features\n"
        "ast_features(np.zeros(16000, dtype=np.float32), sr=16000)\n"
        "print('scipy.signal' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


# -- invalid input ---------------------------------------------------------------


@pytest.mark.parametrize(("n", "sr"), [(0, 16000), (399, 16000), (1, 16000)])
def test_too_short_raises(n: int, sr: int) -> None:
    y = np.zeros(n, dtype=np.float32)
    with pytest.raises(ParameterError, match=r"^y: too short for the AST front end: .*400 samples at 16 kHz"):
        ast_fbank(y, sr=sr)
    with pytest.raises(ParameterError, match=r"^y: too short"):
        ast_features(y, sr=sr)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"y": np.zeros((2, 1000))}, r"^y\.shape=\(2, 1000\): must be 1-D"),
        ({"y": np.zeros(1000, dtype=np.int16)}, r"^y\.dtype=int16: must be floating point"),
        ({"sr": 44100.5}, r"^sr=44100\.5: must be a whole sample rate"),
        ({"sr": 0}, r"^sr=0: must be"),
        ({"target_length": 0}, r"^target_length=0: must be an integer >= 1"),
        ({"std": 0.0}, r"^std=0\.0: must be a number > 0"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, object], pattern: str) -> None:
    args: dict[str, object] = {"y": np.zeros(1000, dtype=np.float32), "sr": SR, **kwargs}
    with pytest.raises(ParameterError, match=pattern):
        ast_features(**args)  # type: ignore[arg-type]


# -- patches ---------------------------------------------------------------------


def test_patches_are_the_conv_tiles_in_row_major_order() -> None:
    features = ast_features(mixed_signal(10.0, seed=3), sr=SR)
    patches, (n_freq, n_time) = ast_patches(features)
    for i in range(n_freq):
        for j in range(n_time):
            np.testing.assert_array_equal(patches[i * n_time + j], features[10 * i : 10 * i + 16, 10 * j : 10 * j + 16])


def test_patches_other_sizes_and_errors() -> None:
    x = np.arange(40 * 30, dtype=np.float64).reshape(40, 30)
    patches, grid = ast_patches(x, patch=8, stride=8)
    assert grid == (5, 3) and patches.shape == (15, 8, 8) and patches.dtype == np.float32
    np.testing.assert_array_equal(patches[4], x[8:16, 8:16])
    with pytest.raises(ParameterError, match=r"^features\.shape=\(5,\): must be 2-D"):
        ast_patches(np.zeros(5))
    with pytest.raises(ParameterError, match=r"^patch=16: larger than the features 10 x 100"):
        ast_patches(np.zeros((10, 100)))
    with pytest.raises(ParameterError, match=r"^stride=0: must be an integer >= 1"):
        ast_patches(np.zeros((128, 1024)), stride=0)


def test_patch_index_at_is_the_first_covering_patch() -> None:
    n_freq, n_time = grid = (12, 101)

    def first_cover(cell: int, n: int) -> int | None:
        hits = [k for k in range(n) if 10 * k <= cell < 10 * k + 16]
        return hits[0] if hits else None

    rows = [first_cover(r, n_freq) for r in range(128)]
    cols = [first_cover(c, n_time) for c in range(1024)]
    assert rows[125] == 11 and rows[126] is None and cols[1015] == 100 and cols[1016] is None
    for r in range(128):
        for c in range(1024):
            i, j = rows[r], cols[c]
            want = None if i is None or j is None else i * n_time + j
            assert patch_index_at(r, c, grid) == want, (r, c)
    # Cells in the 6-cell overlaps belong to the earlier patch.
    assert patch_index_at(12, 13, grid) == 0
    assert patch_index_at(16, 16, grid) == 1 * n_time + 1
    with pytest.raises(ParameterError, match=r"^freq_row=-1: must be an integer >= 0"):
        patch_index_at(-1, 0, grid)


# -- torchaudio, when it happens to be installed ---------------------------------


def test_agrees_with_torchaudio_kaldi_fbank() -> None:
    torch = pytest.importorskip("torch")
    kaldi = pytest.importorskip("torchaudio.compliance.kaldi")
    y = mixed_signal(3.0, seed=5)
    waveform = torch.from_numpy(y).unsqueeze(0)
    waveform = waveform - waveform.mean()  # as AST's _wav2fbank
    want = kaldi.fbank(
        waveform,
        htk_compat=True,
        sample_frequency=16000,
        use_energy=False,
        window_type="hanning",
        num_mel_bins=128,
        dither=0.0,
        frame_shift=10,
    ).numpy()
    got = ast_fbank(y, sr=SR)
    assert got.shape == want.T.shape
    np.testing.assert_allclose(got, want.T, atol=1e-3, rtol=0)
    p = 1024 - want.shape[0]
    model_input = (torch.nn.ZeroPad2d((0, 0, 0, p))(torch.from_numpy(want)) - AST_MEAN) / (AST_STD * 2)
    np.testing.assert_allclose(ast_features(y, sr=SR), model_input.numpy().T, atol=1e-3, rtol=0)
