"""FileSource: files read by range, in blocks, mixed down or one channel, safely.

The libsndfile formats here; every FFmpeg format in test_formats.py, damage in test_damaged.py.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile

from spectroview.audio.errors import AudioError
from spectroview.audio.files import AudioFileError, AudioInfo, FileSource

REPO_ROOT = Path(__file__).resolve().parents[2]


def noise(frames: int, channels: int, seed: int = 0, amplitude: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal((frames, channels))).clip(-0.99, 0.99).astype(np.float32)


def wav_bytes(*, samplerate: int, channels: int = 1, bits: int = 16, data: bytes = b"") -> bytes:
    """A hand-made RIFF/WAVE file, header values unchecked."""
    block_align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, samplerate, samplerate * block_align, block_align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def writable(fmt: str, subtype: str) -> bool:
    return soundfile.check_format(fmt, subtype)


#: (file name, format, subtype, decoder): libsndfile's formats, and two it writes that FFmpeg reads.
FORMATS = [
    ("pcm16.wav", "WAV", "PCM_16", "libsndfile"),
    ("pcm24.wav", "WAV", "PCM_24", "libsndfile"),
    ("float.wav", "WAV", "FLOAT", "libsndfile"),
    ("pcm16.flac", "FLAC", "PCM_16", "libsndfile"),
    ("pcm24.aiff", "AIFF", "PCM_24", "libsndfile"),
    ("pcm16.w64", "W64", "PCM_16", "libsndfile"),
    ("vorbis.ogg", "OGG", "VORBIS", "FFmpeg"),
    ("layer3.mp3", "MP3", "MPEG_LAYER_III", "FFmpeg"),
]
SR = 22050
FRAMES = 3 * SR + 77  # not a multiple of any block size used below


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("formats")
    out = {}
    data = noise(FRAMES, 2, seed=1)
    for name, fmt, subtype, _decoder in FORMATS:
        if not writable(fmt, subtype):
            continue
        try:
            soundfile.write(d / name, data, SR, format=fmt, subtype=subtype)
        except (soundfile.LibsndfileError, RuntimeError):
            continue
        out[name] = d / name
    return out


def path_of(files: dict[str, Path], name: str) -> Path:
    if name not in files:
        pytest.skip(f"this libsndfile cannot write {name}")
    return files[name]


def whole(path: Path) -> np.ndarray:
    """soundfile's own whole-file read, (frames, channels) float32."""
    data, _ = soundfile.read(path, dtype="float32", always_2d=True)
    return data


# -- info ------------------------------------------------------------------------------


def test_info_fields(tmp_path: Path) -> None:
    path = tmp_path / "stereo 24-bit ü.wav"
    soundfile.write(path, noise(12345, 2), 48000, subtype="PCM_24")
    with FileSource(path) as source:
        info = source.info
        assert isinstance(info, AudioInfo)
        assert info.path == str(path)
        assert (info.samplerate, info.channels, info.frames) == (48000, 2, 12345)
        assert (info.format, info.subtype) == ("WAV", "PCM_24")
        assert info.codec == "Signed 24 bit PCM" and info.sample_format == "24-bit integer"
        assert info.bit_rate == 48000 * 2 * 24
        assert info.decoder.startswith("libsndfile ")
        assert (info.stream, info.streams, info.warnings) == (0, 1, ())
        assert "48000 Hz" in info.describe() and "2 ch" in info.describe()
        assert info.duration == pytest.approx(12345 / 48000)
        assert source.channel is None
        assert source.nonfinite_count == 0
        assert "48000 Hz" in repr(source) and "2 ch" in repr(source)


@pytest.mark.parametrize(("name", "fmt", "subtype", "decoder"), FORMATS, ids=[f[0] for f in FORMATS])
def test_info_and_decoder(files: dict[str, Path], name: str, fmt: str, subtype: str, decoder: str) -> None:
    path = path_of(files, name)
    with FileSource(path) as source:
        info = source.info
        assert info.decoder.startswith(decoder), info.decoder
        assert (info.samplerate, info.channels) == (SR, 2)
        if decoder == "libsndfile":
            assert (info.format, info.subtype) == (fmt, subtype)
            assert info.frames == soundfile.info(path).frames == whole(path).shape[0] == FRAMES
        else:
            # libsndfile's MPEG and Vorbis readers are not exact; FFmpeg reads these.
            assert info.format in ("MP3", "OGG")
            assert abs(info.frames - FRAMES) <= 1152


# -- reading -----------------------------------------------------------------------------

RANGES = [
    (0, 0),
    (0, 1),
    (0, 1000),
    (5000, 5001),
    (1234, 9876),
    (SR, 2 * SR),
    (100, 50000),
    (FRAMES - 1, FRAMES),
    (0, FRAMES),
]


def _random_ranges(n: int, seed: int = 0) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, FRAMES, n)
    lengths = rng.integers(0, 5000, n)
    return [(int(s), int(min(FRAMES, s + k))) for s, k in zip(starts, lengths, strict=True)]


@pytest.mark.parametrize("name", [f[0] for f in FORMATS])
def test_read_ranges_by_seeking_equal_the_full_reads_slices(files: dict[str, Path], name: str) -> None:
    path = path_of(files, name)
    with FileSource(path) as source:
        full = source.read()
        assert full.shape == (FRAMES,) and full.dtype == np.float32
        # Ranges out of order: the source must seek backwards as well as forwards.
        for start, stop in RANGES[::-1] + _random_ranges(40):
            np.testing.assert_array_equal(source.read(start, stop), full[start:stop], err_msg=f"[{start}, {stop})")


@pytest.mark.parametrize(("name", "fmt", "subtype", "decoder"), [f for f in FORMATS if f[3] == "libsndfile"])
def test_full_read_is_the_mean_of_libsndfiles_channels(
    files: dict[str, Path], name: str, fmt: str, subtype: str, decoder: str
) -> None:
    path = path_of(files, name)
    data = whole(path)
    with FileSource(path) as source:
        got = source.read()
    np.testing.assert_allclose(got, data.mean(axis=1), rtol=0, atol=1e-6)


#: Integer files libsndfile decodes, read as integers and scaled by FileSource (4x faster
#: than libsndfile's conversion): (format, subtype, channels).
INTEGER_FILES = [
    ("WAV", "PCM_16", 1),
    ("WAV", "PCM_16", 2),
    ("WAV", "PCM_24", 3),
    ("WAV", "PCM_32", 2),
    ("AIFF", "PCM_16", 2),
    ("AIFF", "PCM_24", 1),
    ("W64", "PCM_32", 3),
    ("CAF", "PCM_24", 2),
    ("FLAC", "PCM_16", 2),
    ("FLAC", "PCM_24", 5),
]


@pytest.mark.parametrize(("fmt", "subtype", "channels"), INTEGER_FILES)
def test_integer_files_read_as_libsndfiles_floats_bit_for_bit(
    tmp_path: Path, fmt: str, subtype: str, channels: int
) -> None:
    if not writable(fmt, subtype):
        pytest.skip(f"this libsndfile cannot write {fmt}/{subtype}")
    path = tmp_path / f"x.{fmt.lower()}"
    data = noise(4000, channels, seed=channels, amplitude=0.5)
    data[:4] = [[1.0], [-1.0], [0.999999], [-0.999999]]  # full scale both ways, and one step below
    soundfile.write(path, data, SR, format=fmt, subtype=subtype)
    reference = whole(path)  # libsndfile's own int -> float32 conversion
    expected_mix = reference[:, 0].copy()
    for c in range(1, channels):
        expected_mix += reference[:, c]
    expected_mix *= np.float32(1.0 / channels)
    with FileSource(path) as source:
        assert source.info.subtype == subtype
        np.testing.assert_array_equal(source.read_frames(), reference)
        np.testing.assert_array_equal(source.read(), expected_mix)
        np.testing.assert_array_equal(source.read(1234, 2345), expected_mix[1234:2345])
    with FileSource(path, channel=channels - 1) as source:
        np.testing.assert_array_equal(source.read(), reference[:, channels - 1])


def test_ffmpeg_made_24_bit_extensible_wav_reads_as_libsndfile_does(tmp_path: Path) -> None:
    # WAVE_FORMAT_EXTENSIBLE with 6 channels, as a field recorder or DAW writes it.
    from tests.audio.media import ffmpeg, lavfi_tones, need_ffmpeg

    need_ffmpeg()
    path = tmp_path / "six.wav"
    ffmpeg(*lavfi_tones([440.0, 1234.5], sr=48000, seconds=0.5, channels=6, noise=0.2), "-c:a", "pcm_s24le", path)
    reference = whole(path)
    assert reference.shape[1] == 6
    with FileSource(path) as source:
        assert source.info.subtype == "PCM_24"
        np.testing.assert_array_equal(source.read_frames(), reference)


@pytest.mark.parametrize("blocksize", [1000, 4096, SR, FRAMES, FRAMES + 5])
@pytest.mark.parametrize(("name", "fmt", "subtype", "decoder"), FORMATS, ids=[f[0] for f in FORMATS])
def test_blocks_cover_the_file_exactly(
    files: dict[str, Path], name: str, fmt: str, subtype: str, decoder: str, blocksize: int
) -> None:
    path = path_of(files, name)
    with FileSource(path) as source:
        full = source.read()
        blocks = list(source.blocks(blocksize))
    n = full.shape[0]
    sizes = [b.shape[0] for b in blocks]
    assert sum(sizes) == n
    assert all(s == blocksize for s in sizes[:-1]) and 0 < sizes[-1] <= blocksize
    assert len(blocks) == -(-n // blocksize)
    # Lossy files too: a read is samples a:b of the straight decode, whatever the blocks.
    np.testing.assert_array_equal(np.concatenate(blocks), full)


@pytest.mark.parametrize(
    ("start", "stop", "blocksize"),
    [(0, 10, 3), (7, 8, 100), (500, 500, 10), (1001, 9000, 1000), (FRAMES - 10, None, 4)],
)
def test_blocks_of_a_range(files: dict[str, Path], start: int, stop: int | None, blocksize: int) -> None:
    with FileSource(path_of(files, "pcm16.wav")) as source:
        full = source.read()
        blocks = list(source.blocks(blocksize, start=start, stop=stop))
    end = FRAMES if stop is None else stop
    assert sum(b.shape[0] for b in blocks) == end - start
    if blocks:
        np.testing.assert_array_equal(np.concatenate(blocks), full[start:end])
    else:
        assert start == end


def test_default_blocks_cover_the_file(files: dict[str, Path]) -> None:
    with FileSource(path_of(files, "float.wav")) as source:
        blocks = list(source.blocks())
        np.testing.assert_array_equal(np.concatenate(blocks), source.read())


# -- channels ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_channels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("ch") / "three.wav"
    data = noise(5000, 3, seed=4)
    data[:, 1] *= 0.2
    data[:, 2] = 0.0
    soundfile.write(path, data, 16000, subtype="FLOAT")
    return path, data


def test_mixdown_is_the_mean_of_the_channels(three_channels: tuple[Path, np.ndarray]) -> None:
    path, data = three_channels
    with FileSource(path) as source:
        mono = source.read()
        part = source.read(1000, 1100)
    assert mono.dtype == np.float32 and mono.shape == (5000,)
    np.testing.assert_allclose(mono, data.mean(axis=1), rtol=0, atol=1e-7)
    np.testing.assert_allclose(part, data[1000:1100].mean(axis=1), rtol=0, atol=1e-7)


def test_channel_selection(three_channels: tuple[Path, np.ndarray]) -> None:
    path, data = three_channels
    for channel in range(3):
        with FileSource(path, channel=channel) as source:
            assert source.channel == channel
            np.testing.assert_array_equal(source.read(), data[:, channel])
            np.testing.assert_array_equal(np.concatenate(list(source.blocks(777))), data[:, channel])
    with FileSource(path) as source:
        source.channel = 1
        np.testing.assert_array_equal(source.read(10, 20), data[10:20, 1])
        source.channel = None
        np.testing.assert_allclose(source.read(10, 20), data[10:20].mean(axis=1), atol=1e-7)


@pytest.mark.parametrize("channel", [-1, 3, 99, "1", 1.0])
def test_bad_channel_is_an_error_naming_the_file(three_channels: tuple[Path, np.ndarray], channel: object) -> None:
    path, _ = three_channels
    with pytest.raises(AudioFileError) as excinfo:
        FileSource(path, channel=channel)  # type: ignore[arg-type]
    assert str(path) in str(excinfo.value)
    with FileSource(path, channel=0) as source:
        with pytest.raises(AudioFileError, match="channel"):
            source.channel = channel  # type: ignore[assignment]
        assert source.channel == 0  # unchanged


# -- non-finite samples --------------------------------------------------------------------


def test_nan_and_inf_are_zeroed_and_counted(tmp_path: Path) -> None:
    data = noise(4000, 1, seed=5)[:, 0]
    bad = [0, 17, 18, 2500, 3999]
    data[bad] = [np.nan, np.inf, -np.inf, np.nan, np.inf]
    path = tmp_path / "nan.wav"
    soundfile.write(path, data, 8000, subtype="FLOAT")
    with FileSource(path) as source:
        clean = source.read(100, 2000)  # no bad samples in here
        assert source.nonfinite_count == 0
        got = source.read()
        assert source.nonfinite_count == len(bad)
        assert np.all(np.isfinite(got))
        assert np.all(got[bad] == 0.0)
        good = np.setdiff1d(np.arange(4000), bad)
        np.testing.assert_array_equal(got[good], data[good])
        np.testing.assert_array_equal(clean, data[100:2000])
        blocks = np.concatenate(list(source.blocks(1000)))
        assert np.all(np.isfinite(blocks))
        assert source.nonfinite_count == 2 * len(bad)


def test_nan_in_another_channel_is_not_read(tmp_path: Path) -> None:
    data = noise(1000, 2, seed=6)
    data[10, 0] = np.nan
    path = tmp_path / "nan2.wav"
    soundfile.write(path, data, 8000, subtype="FLOAT")
    with FileSource(path, channel=1) as source:
        np.testing.assert_array_equal(source.read(), data[:, 1])
        assert source.nonfinite_count == 0
    with FileSource(path) as source:
        mono = source.read()
        assert source.nonfinite_count == 1 and mono[10] == 0.0


# -- damaged FLAC: libsndfile cannot, FFmpeg decodes what is there ---------------------------------


def _flac(tmp_path: Path) -> tuple[Path, np.ndarray]:
    y = noise(3 * 8000, 1, seed=11)
    path = tmp_path / "good.flac"
    soundfile.write(path, y, 8000, format="FLAC", subtype="PCM_16")
    decoded, _ = soundfile.read(path, dtype="float32", always_2d=True)
    return path, decoded


def test_truncated_flac_opens_with_what_decodes_and_warns(tmp_path: Path) -> None:
    good, decoded = _flac(tmp_path)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with FileSource(cut) as source:
        assert source.info.decoder.startswith("FFmpeg")
        assert source.warnings and all("\n" not in w for w in source.warnings)
        n = source.info.frames
        assert 0.3 * decoded.shape[0] < n < 0.7 * decoded.shape[0]
        # Lossless: every sample before the cut is the intact file's.
        np.testing.assert_array_equal(source.read(0, n - 4096), decoded[: n - 4096, 0])


def test_flac_damaged_in_the_middle_reads_through_ffmpeg(tmp_path: Path) -> None:
    good, decoded = _flac(tmp_path)
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 300] = np.random.default_rng(12).bytes(300)
    bad = tmp_path / "bad.flac"
    bad.write_bytes(bytes(data))
    with FileSource(bad) as source:
        n = source.info.frames
        assert n == decoded.shape[0]
        assert source.info.decoder.startswith("libsndfile")  # its tail decodes: libsndfile first
        got = source.read()  # libsndfile fails in the middle; FFmpeg takes over
        assert source.info.decoder.startswith("FFmpeg") and source.warnings
    assert got.shape == (n,)
    # Before and after the damaged frame: the intact file's samples.
    np.testing.assert_array_equal(got[:4000], decoded[:4000, 0])
    np.testing.assert_array_equal(got[-4000:], decoded[-4000:, 0])


# -- errors -------------------------------------------------------------------------------


def _bad_files(d: Path) -> dict[str, Path]:
    sr = 8000
    pcm = np.zeros(64, dtype="<i2").tobytes()
    rng = np.random.default_rng(9)
    good = d / "good.flac"
    soundfile.write(good, noise(sr, 1), sr, format="FLAC", subtype="PCM_16")
    flac = good.read_bytes()
    contents = {
        "empty.wav": b"",
        "text.wav": b"hello, I am text\n" * 30,
        "random.wav": rng.bytes(3000),
        "riff_header_only.wav": wav_bytes(samplerate=sr, data=pcm)[:20],
        "zero_frames.wav": wav_bytes(samplerate=sr, data=b""),
        "sample_rate_0.wav": wav_bytes(samplerate=0, data=pcm),
        "channels_0.wav": wav_bytes(samplerate=sr, channels=0, data=pcm),
        "bad_header.flac": flac[:4] + rng.bytes(36) + flac[40:],
    }
    out = {}
    for name, data in contents.items():
        (d / name).write_bytes(data)
        out[name] = d / name
    out["missing.wav"] = d / "missing.wav"
    (d / "dir.wav").mkdir()
    out["dir.wav"] = d / "dir.wav"
    return out


BAD = [
    "missing.wav",
    "dir.wav",
    "empty.wav",
    "text.wav",
    "random.wav",
    "riff_header_only.wav",
    "zero_frames.wav",
    "sample_rate_0.wav",
    "channels_0.wav",
    "bad_header.flac",
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("name", BAD)
def test_bad_file_is_an_audio_file_error_naming_it(bad_files: dict[str, Path], name: str) -> None:
    path = bad_files[name]
    # Some damage shows only when decoding: open and read all, the error may come from either.
    with pytest.raises(AudioFileError) as excinfo:
        with FileSource(path) as source:
            source.read()
    message = str(excinfo.value)
    assert isinstance(excinfo.value, AudioError)
    assert "\n" not in message and message.strip() == message
    assert message.startswith(str(path)), message


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("missing.wav", "no such file"),
        ("dir.wav", "directory"),
        ("empty.wav", "empty"),
        ("text.wav", "not an audio file"),
        ("zero_frames.wav", "no audio frames"),
    ],
)
def test_bad_file_message_says_why(bad_files: dict[str, Path], name: str, words: str) -> None:
    with pytest.raises(AudioFileError, match=words):
        FileSource(bad_files[name])


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.wav"
    soundfile.write(path, noise(100, 1), 8000)
    path.chmod(0)
    with pytest.raises(AudioFileError, match="permission denied"):
        FileSource(path)


@pytest.mark.parametrize(("start", "stop"), [(-1, 10), (0, FRAMES + 1), (10, 5), (FRAMES + 1, FRAMES + 2)])
def test_read_outside_the_file_is_an_error(files: dict[str, Path], start: int, stop: int) -> None:
    path = path_of(files, "pcm16.wav")
    with FileSource(path) as source, pytest.raises(AudioFileError) as excinfo:
        source.read(start, stop)
    assert str(path) in str(excinfo.value)


def test_close_is_idempotent_and_reading_a_closed_source_is_an_error(files: dict[str, Path]) -> None:
    path = path_of(files, "pcm16.wav")
    with FileSource(path) as source:
        assert source.read(0, 10).shape == (10,)
    source.close()
    source.close()
    with pytest.raises(AudioFileError) as excinfo:
        source.read(0, 10)
    assert str(path) in str(excinfo.value)


# A child process, so that a crash or hang in the decoder fails this test instead of killing pytest.
_TRUNCATE_AFTER_OPEN = """
import json, os, sys
import numpy as np
from spectroview.audio.files import AudioFileError, FileSource

path = sys.argv[1]
source = FileSource(path)
head = source.read(0, 100)
frames = source.info.frames
os.truncate(path, os.path.getsize(path) // 3)
outcomes = []
for start, stop in [(0, frames), (frames - 100, frames), (0, 100)]:
    try:
        data = source.read(start, stop)
        same = bool(np.array_equal(data, head)) if (start, stop) == (0, 100) else None
        outcomes.append({"range": [start, stop], "ok": True, "frames": int(data.shape[0]), "same": same})
    except AudioFileError as exc:
        outcomes.append({"range": [start, stop], "ok": False, "error": str(exc)})
try:
    blocks = sum(b.shape[0] for b in source.blocks(4096))
    outcomes.append({"range": "blocks", "ok": True, "frames": blocks})
except AudioFileError as exc:
    outcomes.append({"range": "blocks", "ok": False, "error": str(exc)})
source.close()
print(json.dumps({"frames": frames, "outcomes": outcomes}))
"""


@pytest.mark.parametrize("name", ["pcm16.wav", "pcm16.flac", "pcm24.aiff"])
def test_file_truncated_after_opening_is_a_clean_error(files: dict[str, Path], tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(path_of(files, name).read_bytes())
    proc = subprocess.run(
        [sys.executable, "-c", _TRUNCATE_AFTER_OPEN, str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    frames = result["frames"]
    whole_file, tail, head, blocks = result["outcomes"]
    # Two thirds of the data are gone: reading them cannot succeed silently.
    for outcome in (whole_file, tail, blocks):
        assert not outcome["ok"], outcome
        assert outcome["error"].startswith(str(path)) and "\n" not in outcome["error"]
    # What is still on disk is either read correctly or refused cleanly.
    if head["ok"]:
        assert head["frames"] == 100 and head["same"]
    assert frames == FRAMES


# -- memory ------------------------------------------------------------------------------------


def test_block_reading_memory_is_bounded(tmp_path: Path) -> None:
    """Reading a 5-minute 44.1 kHz stereo file in blocks never holds much of it in memory.

    (A 1-hour file behaves the same; generating one is too slow for a unit test.)
    """
    sr, seconds = 44100, 300
    path = tmp_path / "five_minutes.wav"
    second = noise(sr, 2, seed=8)
    with soundfile.SoundFile(path, "w", sr, 2, subtype="PCM_16") as f:
        for _ in range(seconds):
            f.write(second)
    frames = sr * seconds
    decoded_mono_bytes = frames * 4  # float32
    with FileSource(path) as source:
        assert source.info.frames == frames
        tracemalloc.start()
        try:
            total = 0
            peak_abs = 0.0
            for block in source.blocks():
                total += block.shape[0]
                peak_abs = max(peak_abs, float(np.abs(block).max()))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        last = source.read(frames - sr, frames)
    assert total == frames
    assert 0.1 < peak_abs < 1.0
    assert peak < decoded_mono_bytes / 10, f"peak {peak / 1e6:.1f} MB of {decoded_mono_bytes / 1e6:.0f} MB"
    # And the blocks are the file's content: the last second is the generated one, mixed down.
    np.testing.assert_allclose(last, second.mean(axis=1), atol=1e-4)
