"""``features`` streams: the same numbers as one pass over the whole signal, in memory that does not grow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from spectroview.audio.resample import resample
from spectroview.dsp import SpectrogramParams, power_to_db, spectrogram
from tests.audio.media import lavfi_tones, make
from tests.cli.helpers import REPO_ROOT, assert_ok, run_cli


def noisy(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(sr * seconds)
    t = np.arange(n) / sr
    return (0.4 * np.sin(2 * np.pi * 1234.5 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("sr_option", [None, 16000])
def test_streamed_matrix_equals_one_pass_over_the_whole_signal(tmp_path: Path, sr_option: int | None) -> None:
    """35 s at 44.1 kHz: several decoding blocks, resampler blocks and STFT blocks later, the same values."""
    y = noisy(44100, 35.0)
    src = tmp_path / "long.wav"
    soundfile.write(src, y, 44100, subtype="FLOAT")
    out = tmp_path / "long.npy"
    extra = ("--sr", str(sr_option)) if sr_option else ()
    assert_ok(run_cli("features", src, "-o", out, "--n-mels", "96", "--hop", "300", *extra))
    got = np.load(out)
    sr = sr_option or 44100
    whole = resample(y, orig_sr=44100, target_sr=sr)
    want = power_to_db(
        spectrogram(whole, SpectrogramParams(sr=sr, n_fft=2048, hop_length=300, scale="mel", n_mels=96)),
        ref=1.0,
        amin=1e-10,
        top_db=None,
    )
    assert got.shape == want.shape and got.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["shape"] == list(want.shape)
    assert meta["resampled"] is bool(sr_option)
    assert (meta["resampler"] or "").startswith("soxr" if sr_option else "")


_PEAK_RSS = """
import resource, sys
from spectroview.cli import main
status = main(sys.argv[1:])
print(status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _features_peak_rss_kib(*args: str | Path) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, "features", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    status, rss = proc.stdout.split()
    assert status == "0", proc.stderr
    return int(rss)


def _long_wav(path: Path, sr: int, minutes: float) -> Path:
    block = noisy(sr, 60.0, seed=1)
    with soundfile.SoundFile(path, "w", sr, 1, subtype="PCM_16") as f:
        for _ in range(int(minutes)):
            f.write(block)
    return path


def test_memory_does_not_grow_with_the_files_length(tmp_path: Path) -> None:
    """1 minute and 40 minutes at 48 kHz, resampled to 16 kHz: the same peak memory.

    The 40-minute file holds 115 million samples (460 MB as float32); reading
    it whole, as ``features`` once did, would add that much and more.
    """
    short = _long_wav(tmp_path / "short.wav", 48000, 1)
    long = _long_wav(tmp_path / "long.wav", 48000, 40)
    opts = ("--sr", "16000", "--normalize")
    rss_short = _features_peak_rss_kib(short, "-o", tmp_path / "short.npy", *opts)
    rss_long = _features_peak_rss_kib(long, "-o", tmp_path / "long.npy", *opts)
    grown_mib = (rss_long - rss_short) / 1024
    assert grown_mib < 40, f"peak RSS grew by {grown_mib:.0f} MiB for a file 40 times longer"
    matrix = np.load(tmp_path / "long.npy", mmap_mode="r")
    assert matrix.shape == (128, 1 + 40 * 60 * 16000 // 512)
    assert abs(float(np.asarray(matrix[:, :5000]).mean())) < 1.0  # standardized (each row read once, sliced)


def test_features_of_compressed_files_say_how_they_were_decoded(tmp_path: Path) -> None:
    mp3 = make(tmp_path / "tone.mp3", lavfi_tones([1000.0], sr=44100, seconds=2, channels=2), "-c:a", "libmp3lame")
    out = tmp_path / "tone.npy"
    assert_ok(run_cli("features", mp3, "-o", out, "--n-mels", "64"))
    source = json.loads(out.with_suffix(".json").read_text())["source"]
    assert source["decoder"].startswith("FFmpeg") and "MP3" in source["codec"]
    assert source["format"] == "MP3" and source["subtype"] == "mp3"
    assert 100_000 < source["bit_rate"] < 200_000  # LAME's default 128 kb/s
    assert source["sample_format"] == "32-bit float (planar)"
    assert (source["stream"], source["streams"], source["warnings"]) == (1, 1, [])
    assert source["duration_s"] == pytest.approx(2.0, abs=1e-3)  # gapless: LAME's delay and padding removed


def test_features_dir_takes_every_format_the_decoders_read(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    source = lavfi_tones([700.0], sr=48000, seconds=1, channels=1)
    for name, codec in {
        "a.opus": ("-c:a", "libopus"),
        "b.m4a": ("-c:a", "aac"),
        "c.WMA": ("-c:a", "wmav2"),
        "d.wv": ("-c:a", "wavpack"),
        "e.mkv": ("-c:a", "libvorbis"),
    }.items():
        make(tree / name, source, *codec)
    (tree / "notes.txt").write_text("not audio\n")
    outdir = tmp_path / "out"
    proc = run_cli("features", tree, "-o", outdir, "--n-mels", "64")
    assert_ok(proc)
    assert sorted(p.name for p in outdir.glob("*.npy")) == ["a.npy", "b.npy", "c.npy", "d.npy", "e.npy"]
    assert "wrote 5 feature files" in proc.stdout


def test_stream_option_picks_the_audio_stream(tmp_path: Path) -> None:
    """A file with two audio tracks (a film with two languages): --stream 2 reads the second."""
    two = tmp_path / "two.mka"
    make(
        two,
        ["-f", "lavfi", "-i", "sine=frequency=500:sample_rate=48000:duration=1",
         "-f", "lavfi", "-i", "sine=frequency=3000:sample_rate=48000:duration=1"],
        "-map", "0:a", "-map", "1:a", "-c:a", "libopus",
    )  # fmt: skip
    outs = {n: tmp_path / f"s{n}.npy" for n in (1, 2)}
    for n, out in outs.items():
        assert_ok(run_cli("features", two, "-o", out, "--stream", str(n), "--n-mels", "64"))
    centres = np.array(json.loads(outs[1].with_suffix(".json").read_text())["axes"]["mel_center_hz"])
    peaks = {n: float(centres[int(np.argmax(np.load(out).mean(axis=1)))]) for n, out in outs.items()}
    assert abs(peaks[1] - 500) < 80 and abs(peaks[2] - 3000) < 300, peaks
    assert json.loads(outs[2].with_suffix(".json").read_text())["source"]["stream"] == 2
    proc = run_cli("features", two, "-o", tmp_path / "s3.npy", "--stream", "3")
    assert proc.returncode == 2 and "2 audio streams" in proc.stderr and "allowed 1-2" in proc.stderr


def test_a_read_error_midway_is_reported_as_itself_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    """A file that fails in the middle of the streamed matrix: its error, one line, no half-written NPY."""
    from spectroview.audio.files import AudioFileError, FileSource
    from spectroview.batch.features import FeatureRequest, write_features
    from spectroview.dsp.frontends import front_end

    src = tmp_path / "x.wav"
    soundfile.write(src, noisy(16000, 60.0), 16000, subtype="FLOAT")
    real_blocks = FileSource.blocks

    def failing_blocks(self, *args, **kwargs):
        for i, block in enumerate(real_blocks(self, *args, **kwargs)):
            if i == 2:
                raise AudioFileError(f"{self.path}: read failed at frame 12345: damaged")
            yield block

    monkeypatch.setattr(FileSource, "blocks", failing_blocks)
    request = FeatureRequest(front_end("librosa"), normalize=True)
    with pytest.raises(AudioFileError, match="read failed at frame 12345"):
        write_features(src, tmp_path / "x.npy", request)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]  # no NPY, no temporary file
