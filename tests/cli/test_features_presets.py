"""``features --preset NAME`` on real speech, end to end, against each reference fed as a user would feed it.

The input is espeak-ng speech made stereo at 44.1 kHz by the ffmpeg command
line (the channels differ: one is delayed and quieter).  The reference path
is what a training script does: ``soundfile.read``, the mean of the channels
(``librosa.load``'s mono), ``librosa.resample(res_type="soxr_hq")`` to the
preset's rate, then the reference extractor (librosa, transformers).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile

from tests.cli.helpers import assert_clean_error, assert_ok, run_many
from tests.dsp.test_frontends import librosa_reference, reference

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None, reason="needs ffmpeg and espeak-ng"
)

PRESETS = ["librosa", "torchaudio", "panns", "whisper", "whisper-128", "ast"]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("speech")
    mono = folder / "mono.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(mono), "Spectrograms are pictures of sound; a model reads them as numbers."],
        check=True,
    )
    stereo = folder / "speech.flac"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(mono), "-af",
         "aresample=44100,pan=stereo|c0=c0|c1=0.6*c0,adelay=0|7", "-c:a", "flac", str(stereo)],
        check=True,
    )  # fmt: skip
    return stereo


@pytest.fixture(scope="module")
def runs(speech: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, object]]:
    out = tmp_path_factory.mktemp("out")
    jobs = {name: ("features", speech, "-o", out / f"{name}.npy", "--preset", name) for name in PRESETS}
    jobs["torchaudio_db"] = (
        "features", speech, "-o", out / "torchaudio_db.npy", "--preset", "torchaudio",
        "--n-fft", "1024", "--n-mels", "64", "--log", "db", "--top-db", "80", "--mel-scale", "slaney",
    )  # fmt: skip
    procs = run_many(list(jobs.values()))
    return {name: (job[3], proc) for (name, job), proc in zip(jobs.items(), procs, strict=True)}


def as_a_user_loads_it(path: Path, sr: int) -> np.ndarray:
    y, native = soundfile.read(path, dtype="float32", always_2d=True)
    mono = y.mean(axis=1)
    return librosa.resample(mono, orig_sr=native, target_sr=sr, res_type="soxr_hq")


@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize("name", [*PRESETS, "torchaudio_db"])
def test_each_preset_equals_its_reference_on_stereo_speech_at_44k(
    name: str, runs: dict[str, tuple[Path, object]], speech: Path
) -> None:
    from spectroview.dsp.frontends import front_end

    out, proc = runs[name]
    assert_ok(proc)  # type: ignore[arg-type]
    got = np.load(out)
    meta = json.loads(out.with_suffix(".json").read_text())
    fe = front_end(meta["preset"], **({} if name != "torchaudio_db" else dict(
        n_fft=1024, n_mels=64, log="db", top_db=80.0, htk=False)))  # fmt: skip
    fe = fe.bind(44100)
    assert meta["front_end"]["parameters"]["hop_length"] == fe.hop_length
    assert meta["channel"] == "mix" and meta["source"]["channels"] == 2
    y = as_a_user_loads_it(speech, fe.require_sr())
    want = reference(fe, y) if name != "torchaudio_db" else librosa_reference(fe, y)
    assert got.shape == want.shape and got.dtype == np.float32
    span = float(want.max() - want.min())
    assert float(np.abs(got - want).max()) <= 1e-4 * span, name
    assert meta["shape"] == list(got.shape) and meta["params"] == meta["front_end"]["parameters"]
    if fe.target_length is not None:
        assert meta["padding"]["action"] == "padded" and meta["axes"]["valid_columns"] < fe.target_length


def test_fixed_presets_refuse_analysis_options_and_a_too_short_file(speech: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.wav"
    soundfile.write(short, np.zeros(100, np.float32), 16000)
    tmp_path = tmp_path / "out"  # the outputs' folder, which must stay empty
    tmp_path.mkdir()
    procs = run_many(
        [
            ("features", speech, "-o", tmp_path / "a.npy", "--preset", "whisper", "--n-mels", "64"),
            ("features", speech, "-o", tmp_path / "b.npy", "--preset", "panns", "--no-center"),
            ("features", speech, "-o", tmp_path / "c.npy", "--preset", "librosa", "--log", "ln", "--top-db", "80"),
            ("features", speech, "-o", tmp_path / "d.npy", "--preset", "whisper", "--normalize"),
            ("features", short, "-o", tmp_path / "e.npy", "--preset", "ast"),
            ("features", speech, "-o", tmp_path / "f.npy", "--preset", "whisper-large"),
            ("features", speech, "-o", tmp_path / "g.npy", "--preset", "whisper", "--channel", "3"),
        ]
    )
    assert_clean_error(procs[0], tmp_path / "a.npy", mentions=["--n-mels", "--preset whisper", "80 Slaney mels"])
    assert_clean_error(procs[1], tmp_path / "b.npy", mentions=["--center/--no-center", "--preset panns"])
    assert_clean_error(procs[2], tmp_path / "c.npy", mentions=["--top-db", "log='db'"])
    assert_clean_error(procs[3], tmp_path / "d.npy", mentions=["--normalize", "--preset whisper"])
    assert_clean_error(procs[4], tmp_path / "e.npy", mentions=["too short for --preset ast"])
    assert_clean_error(procs[5], tmp_path / "f.npy", mentions=["--preset", "whisper-large"])
    assert_clean_error(procs[6], tmp_path / "g.npy", mentions=["--channel 3:", "has 2 channel(s) (allowed 1-2)"])
    assert list(tmp_path.iterdir()) == []


def test_a_whisper_input_of_a_clip_shorter_than_a_frame_is_its_padding(tmp_path: Path) -> None:
    clip = tmp_path / "clip.wav"
    soundfile.write(clip, (0.5 * np.sin(np.arange(120) * 0.3)).astype(np.float32), 16000)
    (proc,) = run_many([("features", clip, "-o", tmp_path / "w.npy", "--preset", "whisper")])
    assert_ok(proc)
    from transformers import WhisperFeatureExtractor

    y, _ = soundfile.read(clip, dtype="float32")
    want = WhisperFeatureExtractor()(y, sampling_rate=16000, return_tensors="np")["input_features"][0]
    got = np.load(tmp_path / "w.npy")
    assert np.abs(got - want).max() <= 1e-4 * max(1.0, float(np.ptp(want)))
    meta = json.loads((tmp_path / "w.json").read_text())
    assert meta["axes"]["valid_columns"] == 2  # frames 0 and 1 reach the 120 samples
