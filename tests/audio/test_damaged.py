"""Damaged files open with what decodes and say what is wrong; hostile bytes are one clean error.

Truncation is the damage users meet most (an interrupted download or
recording): every format here is cut at 60 % of its bytes and must open with
the audio still there, the same as the intact file's beginning, and one
warning saying the file is short.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spectroview.audio.files import AudioFileError, FileSource
from tests.audio.media import lavfi_tones, make, need_ffmpeg, straight_decode

REPO_ROOT = Path(__file__).resolve().parents[2]

#: (name, codec arguments, tolerance of the kept part against the intact file's decode)
CUT_CASES = [
    ("mp3_cbr.mp3", ("-c:a", "libmp3lame", "-b:a", "128k"), 0.0),
    ("mp3_vbr_no_xing.mp3", ("-c:a", "libmp3lame", "-q:a", "4", "-write_xing", "0"), 0.0),
    ("adts.aac", ("-c:a", "aac", "-aac_pns", "0"), 0.0),
    ("faststart.m4a", ("-c:a", "aac", "-aac_pns", "0", "-movflags", "+faststart"), 0.0),
    ("opus.opus", ("-c:a", "libopus"), 1e-6),
    ("vorbis.ogg", ("-c:a", "libvorbis"), 0.0),
    ("flac.flac", ("-c:a", "flac"), 0.0),
    ("wavpack.wv", ("-c:a", "wavpack"), 0.0),
    ("wma.wma", ("-c:a", "wmav2"), 0.0),
    ("opus.mka", ("-c:a", "libopus"), 1e-6),
    ("pcm.wav", ("-c:a", "pcm_s16le"), 0.0),
]


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    need_ffmpeg()
    d = tmp_path_factory.mktemp("intact")
    source = lavfi_tones([880.0], sr=48000, seconds=6.0, channels=2, noise=0.02)
    return {name: make(d / name, source, *codec) for name, codec, _ in CUT_CASES}


@pytest.mark.parametrize(("name", "codec", "tolerance"), CUT_CASES, ids=[c[0] for c in CUT_CASES])
def test_file_cut_short_opens_with_what_decodes_and_warns(
    intact: dict[str, Path], tmp_path: Path, name: str, codec: tuple[str, ...], tolerance: float
) -> None:
    whole = intact[name]
    data = whole.read_bytes()
    cut = tmp_path / name
    cut.write_bytes(data[: len(data) * 6 // 10])
    full, _ = straight_decode(whole)
    with FileSource(cut) as source:
        n = source.info.frames
        # Roughly 60 % of the audio is there (containers put their index and
        # headers in the bytes too, so not exactly).
        assert 0.4 * full.shape[0] < n < 0.8 * full.shape[0], (n, full.shape[0])
        assert source.warnings, "no warning for a file cut short"
        assert all("\n" not in w for w in source.warnings)
        assert len(source.warnings) == 1, source.warnings  # one line for one problem
        # What is there reads as in the intact file (but the last frame or two,
        # which the cut may have damaged).
        keep = max(0, n - 8192)
        got = source.read_frames(0, keep)
        worst = float(np.abs(got - full[:keep]).max())
        assert worst <= tolerance, worst
        # And the end reads without an error.
        assert source.read_frames(max(0, n - 5000), n).shape == (min(n, 5000), 2)


def _garble(path: Path, out: Path, at: float, length: int, seed: int = 1) -> Path:
    """``path`` with ``length`` random bytes written over it from ``at`` (a fraction of its size)."""
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    data[start : start + length] = np.random.default_rng(seed).bytes(length)
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize(
    ("name", "codec", "tolerance", "garbage"),
    [
        # Raw streams, no clock but the frames: a constant bit rate gives each frame's time exactly.
        ("cbr.mp3", ("-c:a", "libmp3lame", "-b:a", "32k"), 0, 20000),
        ("cbr.ac3", ("-c:a", "ac3"), 0, 20000),
        # Containers with clocks: Matroska's and ASF's are in milliseconds.
        ("vorbis.mkv", ("-c:a", "libvorbis"), 48, 20000),
        ("wma.wma", ("-c:a", "wmav2"), 48, 20000),
        # Clocks to the sample: the damage is where the timestamps say.
        ("opus.opus", ("-c:a", "libopus"), 0, 20000),
        # (WavPack's blocks are a second long: the garbage must reach a block header to be seen.)
        ("wavpack.wv", ("-c:a", "wavpack"), 0, 300000),
        ("flac.flac", ("-c:a", "flac"), 0, 20000),
        ("aac.m4a", ("-c:a", "aac", "-aac_pns", "0"), 0, 20000),
    ],
)
def test_damage_in_the_middle_is_silence_in_its_place(
    tmp_path: Path, name: str, codec: tuple[str, ...], tolerance: int, garbage: int
) -> None:
    """20 kB of garbage in the middle: what follows keeps its time, the hole is silence, a warning says so.

    (The ffmpeg command line drops the hole and moves the rest earlier, by
    seconds: for MP3, Matroska, WMA and AC-3 it does; for WavPack it stops.)
    """
    need_ffmpeg()
    sr = 48000
    whole = make(tmp_path / name, lavfi_tones([660.0], sr=sr, seconds=60, channels=1, noise=0.05), *codec)
    bad = _garble(whole, tmp_path / f"bad_{name}", 0.5, garbage)
    with FileSource(whole) as intact:
        n_intact = intact.info.frames
        truth = intact.read(n_intact - 5 * sr, n_intact - sr)  # a stretch far after the damage
    with FileSource(bad) as damaged:
        n = damaged.info.frames
        assert abs(n - n_intact) <= tolerance + 2048, (n, n_intact)
        damaged.read()  # every sample reads
        got = damaged.read(n_intact - 5 * sr - tolerance, n_intact - sr + tolerance)
        warnings = damaged.warnings
    assert warnings and all("\n" not in w for w in warnings)
    # The stretch after the damage is the intact file's, at the intact file's time (to the clock's precision).
    if name.endswith(".ac3"):
        # AC-3 dithers from a generator that the damage restarts elsewhere: the same sound, other dither.
        corr = np.corrcoef(got[: truth.size], truth)[0, 1]
        assert corr > 0.99, corr
        return
    lags = [d for d in range(2 * tolerance + 1) if np.array_equal(got[d : d + truth.size], truth)]
    assert lags, "the audio after the damage is not the file's"
    assert abs(lags[0] - tolerance) <= tolerance


# -- hostile bytes -----------------------------------------------------------------------------------


def _hostile(d: Path) -> dict[str, Path]:
    rng = np.random.default_rng(99)
    files = {
        "random.mp3": rng.bytes(20000),
        "random.m4a": rng.bytes(20000),
        "zeros.ogg": bytes(50000),
        "text.opus": b"OggS is not enough\n" * 100,
        "ftyp_only.m4a": b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00isomM4A ",
        "id3_only.mp3": b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16),
        "sync_words.mp3": b"\xff\xfb\x90\x00" * 5000,
        "riff_not_wave.wav": b"RIFF\x10\x00\x00\x00XXXXjunkjunk",
        "html.mp3": b"<html><body>404 Not Found</body></html>\n",
        "png.flac": b"\x89PNG\r\n\x1a\n" + rng.bytes(500),
    }
    out = {}
    for name, data in files.items():
        (d / name).write_bytes(data)
        out[name] = d / name
    return out


def test_hostile_bytes_are_one_line_errors_or_audio(tmp_path: Path) -> None:
    """Nothing hangs or crashes; each file is an error line naming it, or (by bad luck) audio."""
    for path in _hostile(tmp_path).values():
        try:
            with FileSource(path) as source:
                # If FFmpeg finds "audio" in it, reading all of it must work.
                source.read()
        except AudioFileError as exc:
            message = str(exc)
            assert message.startswith(str(path)), message
            assert "\n" not in message, message


def test_video_without_audio_is_a_clear_error(tmp_path: Path) -> None:
    need_ffmpeg()
    video = make(tmp_path / "silent.mp4", ["-f", "lavfi", "-i", "testsrc=s=64x48:r=10:d=1"], "-c:v", "mpeg4")
    with pytest.raises(AudioFileError, match="no audio stream"):
        FileSource(video)


def test_stream_number_past_the_last_is_a_clear_error(tmp_path: Path) -> None:
    need_ffmpeg()
    mp3 = make(tmp_path / "one.mp3", lavfi_tones([440.0], sr=44100, seconds=1), "-c:a", "libmp3lame")
    with pytest.raises(AudioFileError, match=r"1 audio stream.*allowed 1-1"):
        FileSource(mp3, stream=1)


_TRUNCATE_AFTER_OPEN = """
import os, sys
from spectroview.audio.files import AudioFileError, FileSource
path = sys.argv[1]
source = FileSource(path)
n = source.info.frames
source.read(0, 1000)
os.truncate(path, os.path.getsize(path) // 3)
try:
    source.read(n - 1000, n)
    print("read")
except AudioFileError as exc:
    print("error:", exc)
"""


@pytest.mark.parametrize("ext", [".mp3", ".m4a", ".opus"])
def test_file_cut_after_opening_is_a_clean_error(tmp_path: Path, ext: str) -> None:
    """The scan said N packets; the file now has fewer: an error, not silence passed off as audio."""
    need_ffmpeg()
    codec = {
        ".mp3": ("-c:a", "libmp3lame"),
        ".m4a": ("-c:a", "aac", "-movflags", "+faststart"),
        ".opus": ("-c:a", "libopus"),
    }
    path = make(tmp_path / f"x{ext}", lavfi_tones([440.0], sr=48000, seconds=5), *codec[ext])
    proc = subprocess.run(
        [sys.executable, "-c", _TRUNCATE_AFTER_OPEN, str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    assert out.startswith("error: " + str(path)), out
    assert "\n" not in out


def test_mp4_cut_before_its_index_says_so(tmp_path: Path) -> None:
    """ffmpeg writes the MP4 index ('moov') last: a recording cut short has none, and nothing can be decoded."""
    need_ffmpeg()
    whole = make(tmp_path / "rec.m4a", lavfi_tones([440.0], sr=44100, seconds=5), "-c:a", "aac")
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(AudioFileError, match=r"without its index \(no 'moov' box\)"):
        FileSource(cut)
    with FileSource(whole) as intact:  # the same file, whole, opens
        assert intact.info.frames > 0
