"""``spectroview features``: log-mel NPY plus JSON sidecar."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from spectroview.dsp import SpectrogramParams, row_frequencies
from tests.cli.helpers import PREFIX_WARNING, assert_ok, run_many, tone

SR = 16000


def noisy_tones(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(sr * seconds)
    y = tone(1000.0, sr, seconds, 0.4) + tone(3100.0, sr, seconds, 0.1) + 0.02 * rng.standard_normal(n)
    return (y / np.abs(y).max() * 0.9).astype(np.float32)


Run = tuple[Path, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("features_src")
    nan = noisy_tones(SR, 0.5, seed=2)
    nan[[10, 20, 30]] = [np.nan, np.inf, -np.inf]
    stereo = np.zeros((SR // 2, 2), dtype=np.float32)
    stereo[:, 1] = noisy_tones(SR, 0.5, seed=3)
    signals = {
        "one_second": (noisy_tones(SR, 1.0), SR),
        "at_44k": (noisy_tones(44100, 0.73, seed=1), 44100),
        "nan": (nan, SR),
        "stereo": (stereo, SR),
    }
    paths = {}
    for name, (y, sr) in signals.items():
        paths[name] = d / f"{name}.wav"
        soundfile.write(paths[name], y, sr, subtype="FLOAT")
    return paths


@pytest.fixture(scope="module")
def runs(sources: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """All the feature extractions, run concurrently; each writes into its own empty directory."""
    mel64 = ("--n-mels", "64", "--hop", "512")
    jobs = {
        "plain": ("one_second", mel64),
        "normalized": ("one_second", (*mel64, "--normalize")),
        "resampled": ("at_44k", ("--sr", "16000", *mel64)),
        "nan": ("nan", mel64),
        "channel_1": ("stereo", (*mel64, "--channel", "1")),
        "channel_2": ("stereo", (*mel64, "--channel", "2")),
    }
    outs = {name: tmp_path_factory.mktemp(name) / f"{name}.npy" for name in jobs}
    procs = run_many([("features", sources[src], "-o", outs[name], *opts) for name, (src, opts) in jobs.items()])
    return {name: (outs[name], proc) for name, proc in zip(jobs, procs, strict=True)}


def load(run: Run, *, warnings: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    out, proc = run
    assert_ok(proc, warnings=warnings)
    assert proc.stdout == ""
    sidecar = out.with_suffix(".json")
    # Only the two outputs: no temporary files left behind.
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([out.name, sidecar.name])
    return np.load(out), json.loads(sidecar.read_text())


def test_shape_dtype_and_sidecar(runs: dict[str, Run]) -> None:
    logmel, meta = load(runs["plain"])
    assert logmel.shape == (64, 32)  # 1 s at 16 kHz, hop 512: 1 + 16000 // 512 frames
    assert logmel.dtype == np.float32
    assert np.all(np.isfinite(logmel))
    params = meta["params"]
    assert params["n_mels"] == 64
    assert params["sr"] == SR
    assert params["hop_length"] == 512
    assert params["n_fft"] == 2048
    assert meta["preset"] == "librosa" and params["mel_scale"] == "slaney" and params["log"] == "db"
    assert meta["shape"] == [64, 32]
    assert meta["dtype"] == "float32"
    assert meta["resampled"] is False
    assert meta["normalize"] is None
    axes = meta["axes"]
    centres = np.array(axes["mel_center_hz"])
    assert centres.shape == (64,)
    assert np.all(np.diff(centres) > 0)
    want, edges = row_frequencies(SpectrogramParams(sr=SR, n_fft=2048, scale="mel", n_mels=64))
    np.testing.assert_allclose(centres, want)
    assert len(axes["mel_edge_hz"]) == edges.size
    assert axes["time_step_s"] == pytest.approx(512 / SR)
    assert axes["time_start_s"] == pytest.approx(0.0)
    assert meta["source"]["samplerate"] == SR
    assert meta["source"]["frames"] == SR


def test_values_equal_librosa(runs: dict[str, Run], sources: dict[str, Path]) -> None:
    librosa = pytest.importorskip("librosa")
    logmel, _ = load(runs["plain"])
    y, sr = soundfile.read(sources["one_second"], dtype="float32")
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=64)
    want = librosa.power_to_db(mel, ref=1.0, top_db=None)
    assert want.shape == logmel.shape
    np.testing.assert_allclose(logmel, want, atol=1e-3, rtol=0)
    # The tone at 1 kHz: the loudest band is the one centred nearest 1 kHz.
    centres, _ = row_frequencies(SpectrogramParams(sr=SR, n_fft=2048, scale="mel", n_mels=64))
    assert abs(int(np.argmax(logmel.mean(axis=1))) - int(np.argmin(np.abs(centres - 1000)))) <= 1


def test_normalize_standardizes(runs: dict[str, Run]) -> None:
    plain, _ = load(runs["plain"])
    normalized, meta = load(runs["normalized"])
    assert normalized.shape == plain.shape and normalized.dtype == np.float32
    assert abs(float(normalized.mean())) < 1e-4
    assert float(normalized.std()) == pytest.approx(1.0, abs=1e-4)
    stats = meta["normalize"]
    assert stats["mean"] == pytest.approx(float(plain.mean()), abs=1e-3)
    assert stats["std"] == pytest.approx(float(plain.std()), rel=1e-4)
    np.testing.assert_allclose(normalized, (plain - stats["mean"]) / stats["std"], atol=1e-4)


def test_sr_resamples(runs: dict[str, Run], sources: dict[str, Path]) -> None:
    logmel, meta = load(runs["resampled"])
    n_in = soundfile.info(sources["at_44k"]).frames
    n_out = -(-n_in * 16000 // 44100)  # resample_poly: ceil(n * up / down)
    assert logmel.shape == (64, 1 + n_out // 512)
    assert meta["params"]["sr"] == 16000
    assert meta["resampled"] is True
    assert meta["source"]["samplerate"] == 44100
    # The 1 kHz tone is still at 1 kHz after resampling.
    centres = np.array(meta["axes"]["mel_center_hz"])
    assert abs(int(np.argmax(logmel.mean(axis=1))) - int(np.argmin(np.abs(centres - 1000)))) <= 1


def test_nonfinite_samples_are_silence_with_one_warning(runs: dict[str, Run]) -> None:
    logmel, meta = load(runs["nan"], warnings=1)
    _, proc = runs["nan"]
    assert proc.stderr.startswith(PREFIX_WARNING) and "3 non-finite" in proc.stderr
    assert np.all(np.isfinite(logmel))
    assert meta["nonfinite_samples_zeroed"] == 3


def test_channel_selection(runs: dict[str, Run]) -> None:
    silent, meta1 = load(runs["channel_1"])
    loud, meta2 = load(runs["channel_2"])
    assert meta1["channel"] == 1 and meta2["channel"] == 2
    # Channel 1 is digital silence: every cell is the floor, 10*log10(1e-10) dB.
    np.testing.assert_allclose(silent, -100.0, atol=1e-4)
    assert loud.max() > -20.0
