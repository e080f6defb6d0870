"""``spectroview features --preset ast``: the Audio Spectrogram Transformer's input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from spectroview.audio.resample import resample
from spectroview.dsp.ast import AST_MEAN, AST_STD, ast_features, ast_row_frequencies
from tests.cli.helpers import assert_clean_error, assert_ok, run_cli, run_many, tone

PAD_VALUE = (0.0 - AST_MEAN) / (2.0 * AST_STD)


def clip(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = tone(1000.0, sr, seconds, 0.4) + 0.02 * rng.standard_normal(round(sr * seconds))
    return y.astype(np.float32)


Run = tuple[Path, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ast_src")
    stereo = np.zeros((round(16000 * 2.0), 2), dtype=np.float32)
    stereo[:, 1] = clip(16000, 2.0, seed=4)
    signals = {
        "at_16k": (clip(16000, 10.24), 16000),
        "at_44k": (clip(44100, 10.24, seed=1), 44100),
        "long": (clip(16000, 12.0, seed=2), 16000),
        "long_44k": (clip(44100, 13.0, seed=5), 44100),
        "short": (clip(16000, 0.02, seed=3), 16000),  # 320 samples: less than one 400-sample frame
        "stereo": (stereo, 16000),
    }
    paths = {}
    for name, (y, sr) in signals.items():
        paths[name] = d / f"{name}.wav"
        soundfile.write(paths[name], y, sr, subtype="FLOAT")
    return paths


@pytest.fixture(scope="module")
def runs(sources: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """The extractions, run concurrently, each into its own empty directory."""
    jobs: dict[str, tuple[str, tuple[str, ...]]] = {
        "plain": ("at_16k", ()),
        "resampled": ("at_44k", ("--patches",)),
        "named_patches": ("at_16k", ("--patches", "{dir}/tokens.npy")),
        "long": ("long", ()),
        "long_44k": ("long_44k", ()),
        "channel_2": ("stereo", ("--channel", "2")),
    }
    outs = {name: tmp_path_factory.mktemp(name) / f"{name}.npy" for name in jobs}
    commands = [
        (
            "features",
            sources[src],
            "--preset",
            "ast",
            "-o",
            outs[name],
            *(opt.format(dir=outs[name].parent) for opt in opts),
        )
        for name, (src, opts) in jobs.items()
    ]
    procs = run_many(commands)
    return {name: (outs[name], proc) for name, proc in zip(jobs, procs, strict=True)}


def load(run: Run, *extra: str) -> tuple[np.ndarray, dict[str, Any]]:
    out, proc = run
    assert_ok(proc)
    assert proc.stdout == ""
    sidecar = out.with_suffix(".json")
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([out.name, sidecar.name, *extra])
    return np.load(out), json.loads(sidecar.read_text())


def test_model_input_shape_values_and_sidecar(runs: dict[str, Run], sources: dict[str, Path]) -> None:
    features, meta = load(runs["plain"])
    assert features.shape == (128, 1024) and features.dtype == np.float32
    y, sr = soundfile.read(sources["at_16k"], dtype="float32")
    np.testing.assert_allclose(features, ast_features(y, sr=sr), atol=1e-6, rtol=0)
    # 10.24 s = 1022 Kaldi frames, zero-padded (before normalization) to 1024.
    np.testing.assert_array_equal(features[:, 1022:], np.float32(PAD_VALUE))
    assert meta["preset"] == "ast"
    assert meta["shape"] == [128, 1024] and meta["dtype"] == "float32"
    assert meta["source_samplerate"] == 16000 and meta["samplerate"] == 16000 and meta["resampled"] is False
    assert meta["n_frames"] == 1022
    assert meta["padding"] == {"action": "padded", "padded_frames": 2, "cut_frames": 0, "pad_value": PAD_VALUE}
    c = meta["constants"]
    assert (c["frame_length"], c["frame_shift"], c["n_fft"], c["n_mels"]) == (400, 160, 512, 128)
    assert (c["low_freq_hz"], c["high_freq_hz"], c["preemphasis"], c["dither"]) == (20.0, 8000.0, 0.97, 0.0)
    assert (c["norm_mean"], c["norm_std"], c["target_length"]) == (AST_MEAN, AST_STD, 1024)
    assert (c["patch"], c["patch_stride"]) == (16, 10)
    assert c["log_floor"] == pytest.approx(1.1920929e-07)
    assert "kaldi.fbank" in meta["recipe"] and "kaldi.fbank" in meta["front_end"]["reference"]
    axes = meta["axes"]
    centres, edges = ast_row_frequencies()
    np.testing.assert_allclose(axes["mel_center_hz"], centres)
    np.testing.assert_allclose(axes["mel_edge_hz"], edges)
    assert axes["time_start_s"] == pytest.approx(0.0125) and axes["time_step_s"] == pytest.approx(0.01)
    assert axes["frame_length_s"] == pytest.approx(0.025)
    assert axes["valid_columns"] == 1022
    assert meta["patches"] is None
    # The 1 kHz tone: the loudest row is the band centred nearest 1 kHz.
    assert int(np.argmax(features[:, :1022].mean(axis=1))) == int(np.argmin(np.abs(centres - 1000.0)))


def test_resampled_with_default_patches_file(runs: dict[str, Run]) -> None:
    out, _ = runs["resampled"]
    patches_path = out.with_name(f"{out.stem}.patches.npy")
    features, meta = load(runs["resampled"], patches_path.name)
    assert features.shape == (128, 1024)
    assert meta["source_samplerate"] == 44100 and meta["samplerate"] == 16000 and meta["resampled"] is True
    assert meta["n_frames"] == 1022
    patches = np.load(patches_path)
    assert patches.shape == (1212, 16, 16) and patches.dtype == np.float32
    assert meta["patches"]["grid"] == [12, 101] and meta["patches"]["shape"] == [1212, 16, 16]
    assert meta["patches"]["path"] == str(patches_path)
    np.testing.assert_array_equal(patches[3 * 101 + 7], features[30:46, 70:86])


def test_named_patches_file(runs: dict[str, Run]) -> None:
    out, _ = runs["named_patches"]
    features, meta = load(runs["named_patches"], "tokens.npy")
    patches = np.load(out.parent / "tokens.npy")
    assert patches.shape == (1212, 16, 16)
    np.testing.assert_array_equal(patches[-1], features[110:126, 1000:1016])
    assert meta["patches"]["path"] == str(out.parent / "tokens.npy")


def test_longer_input_is_cut(runs: dict[str, Run], sources: dict[str, Path]) -> None:
    features, meta = load(runs["long"])
    assert features.shape == (128, 1024)
    assert meta["n_frames"] == 1198  # 1 + (192000 - 400) // 160
    assert meta["padding"]["action"] == "cut" and meta["padding"]["cut_frames"] == 174
    assert meta["axes"]["valid_columns"] == 1024
    assert not np.any(features == np.float32(PAD_VALUE))
    # The CLI reads only what the first 1024 frames need: same values as from the whole file.
    y, sr = soundfile.read(sources["long"], dtype="float32")
    np.testing.assert_allclose(features, ast_features(y, sr=sr), atol=1e-6, rtol=0)


def test_longer_resampled_input_is_cut(runs: dict[str, Run], sources: dict[str, Path]) -> None:
    features, meta = load(runs["long_44k"])
    assert meta["n_frames"] == 1298  # 1 + (208000 - 400) // 160
    # Only the first 10.24 s (plus a second) are read and resampled: the same
    # values as the whole file resampled with soxr at once.
    y, sr = soundfile.read(sources["long_44k"], dtype="float32")
    y16 = resample(y, orig_sr=sr, target_sr=16000)
    np.testing.assert_allclose(features, ast_features(y16, sr=16000), atol=1e-6, rtol=0)
    assert meta["resampler"].startswith("soxr HQ")


def test_channel_applies(runs: dict[str, Run]) -> None:
    features, meta = load(runs["channel_2"])
    assert meta["channel"] == 2
    assert features[:, :198].max() > 1.0  # the loud channel, not the silent one


@pytest.mark.parametrize(
    "option",
    [
        ("--n-fft", "512"),
        ("--hop", "160"),
        ("--n-mels", "128"),
        ("--sr", "16000"),
        ("--normalize",),
        ("--win-length", "400"),
        ("--window", "hann"),
        ("--fmin", "0"),
        ("--fmax", "8000"),
    ],
)
def test_options_the_preset_fixes_are_refused(
    option: tuple[str, ...], sources: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "x.npy"
    proc = run_cli("features", sources["at_16k"], "--preset", "ast", "-o", out, *option)
    assert_clean_error(proc, out, mentions=(option[0], "--preset ast"))


def test_patches_without_the_ast_preset_is_refused(sources: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "x.npy"
    proc = run_cli("features", sources["at_16k"], "-o", out, "--patches")
    assert_clean_error(proc, out, mentions=("--patches", "--preset ast"))


def test_patches_onto_the_output_is_refused(sources: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "x.npy"
    proc = run_cli("features", sources["at_16k"], "--preset", "ast", "-o", out, "--patches", out)
    assert_clean_error(proc, out, mentions=("--patches",))


def test_too_short_file_is_a_clean_error(sources: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "x.npy"
    proc = run_cli("features", sources["short"], "--preset", "ast", "-o", out)
    assert_clean_error(proc, out, mentions=("too short for --preset ast", "25 ms"))


def test_logmel_preset_is_the_default(sources: dict[str, Path], tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "x.npy", tmp_path / "b" / "x.npy"
    a.parent.mkdir()
    b.parent.mkdir()
    procs = run_many(
        [
            ("features", sources["stereo"], "-o", a, "--n-mels", "64"),
            ("features", sources["stereo"], "-o", b, "--n-mels", "64", "--preset", "logmel", "--n-fft", "2048"),
        ]
    )
    for proc in procs:
        assert_ok(proc)
    np.testing.assert_array_equal(np.load(a), np.load(b))
    assert np.load(a).shape == (64, 1 + 32000 // 512)
    meta_a, meta_b = (json.loads(p.with_suffix(".json").read_text()) for p in (a, b))
    assert meta_a["preset"] == "librosa"  # logmel is its alias
    assert meta_a == meta_b
    assert meta_a["params"]["n_fft"] == 2048 and meta_a["params"]["window"] == "hann"
    assert meta_a["params"]["fmin"] == 0.0 and meta_a["normalize"] is None


def test_help_documents_the_preset() -> None:
    proc = run_cli("features", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for name in ("librosa", "torchaudio", "panns", "whisper", "whisper-128", "ast", "logmel"):
        assert name in text
    assert "OUT.patches.npy" in text and "--mel-scale" in text and "--scheduler" in text
