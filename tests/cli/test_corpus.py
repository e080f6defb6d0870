"""The CLI over a corpus of audio files: every format renders correctly, every bad input is one clean error.

The commands of each group run concurrently in a module fixture (they are
independent processes); each case is still its own test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import soundfile

from spectroview.render.png import read_png
from tests.cli.helpers import (
    REPO_ROOT,
    TIMEOUT_S,
    assert_clean_error,
    assert_ok,
    brightest_row,
    can_write,
    grey_levels,
    pixel_of_row,
    reference_image,
    run_many,
    tone,
    wav_bytes,
)

WIDTH, HEIGHT, N_FFT = 24, 48, 512
RENDER_OPTIONS = ("--width", str(WIDTH), "--height", str(HEIGHT), "--n-fft", str(N_FFT), "--colormap", "grey")


def assert_matches_reference(rgb: np.ndarray, path: Path) -> None:
    """The CLI's image equals the one computed from a plain whole-file decode (1 level of slack)."""
    want = reference_image(path, width=WIDTH, height=HEIGHT, n_fft=N_FFT)
    assert rgb.shape == want.shape == (HEIGHT, WIDTH, 3)
    diff = np.abs(rgb.astype(np.int16) - want.astype(np.int16))
    assert diff.max() <= 1, f"max level difference {diff.max()}"


# -- good files: formats, bit depths, channel counts, sample rates --------------------


@dataclass(frozen=True)
class Good:
    name: str
    format: str
    subtype: str
    samplerate: int
    channels: int


GOOD = [
    Good("pcm_u8.wav", "WAV", "PCM_U8", 8000, 1),
    Good("pcm16.wav", "WAV", "PCM_16", 11025, 2),
    Good("pcm24.wav", "WAV", "PCM_24", 16000, 1),
    Good("pcm32_5ch.wav", "WAV", "PCM_32", 22050, 5),
    Good("float.wav", "WAV", "FLOAT", 44100, 2),
    Good("double.wav", "WAV", "DOUBLE", 48000, 1),
    Good("pcm24_96k.wav", "WAV", "PCM_24", 96000, 2),
    Good("float_192k.wav", "WAV", "FLOAT", 192000, 1),
    Good("pcm16.flac", "FLAC", "PCM_16", 44100, 2),
    Good("pcm16_5ch.flac", "FLAC", "PCM_16", 48000, 5),
    Good("vorbis.ogg", "OGG", "VORBIS", 44100, 2),
    Good("vorbis_8k.ogg", "OGG", "VORBIS", 8000, 1),
    Good("layer3.mp3", "MP3", "MPEG_LAYER_III", 32000, 1),
    Good("pcm16.aiff", "AIFF", "PCM_16", 22050, 2),
    Good("pcm_s8.aiff", "AIFF", "PCM_S8", 8000, 1),
    Good("pcm16.au", "AU", "PCM_16", 8000, 1),
    Good("pcm24.w64", "W64", "PCM_24", 48000, 2),
]


@pytest.fixture(scope="module")
def good_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, Path, subprocess.CompletedProcess[str]]]:
    d = tmp_path_factory.mktemp("good")
    jobs = []
    for g in GOOD:
        if not can_write(g.format, g.subtype, g.samplerate, d):
            continue
        # A 1 kHz tone in the last channel only: the mixdown must keep it.
        y = np.zeros((g.samplerate // 2, g.channels))
        y[:, -1] = tone(1000.0, g.samplerate, 0.5)
        src = d / g.name
        soundfile.write(src, y, g.samplerate, format=g.format, subtype=g.subtype)
        jobs.append((g.name, src, d / f"{g.name}.png"))
    procs = run_many([("render", src, "-o", out, *RENDER_OPTIONS) for _, src, out in jobs])
    return {name: (src, out, proc) for (name, src, out), proc in zip(jobs, procs, strict=True)}


@pytest.mark.parametrize("good", GOOD, ids=lambda g: g.name)
def test_format_renders_correctly(
    good_runs: dict[str, tuple[Path, Path, subprocess.CompletedProcess[str]]], good: Good
) -> None:
    if good.name not in good_runs:
        pytest.skip(f"this libsndfile cannot write {good.format}/{good.subtype}")
    src, out, proc = good_runs[good.name]
    info = soundfile.info(src)
    assert (info.samplerate, info.channels) == (good.samplerate, good.channels)
    assert_ok(proc)
    rgb = read_png(out)
    assert rgb.shape == (HEIGHT, WIDTH, 3)
    levels = grey_levels(rgb)
    tone_bin = round(1000.0 * N_FFT / good.samplerate)
    assert abs(brightest_row(levels) - pixel_of_row(tone_bin, 1 + N_FFT // 2, HEIGHT)) <= 1
    assert_matches_reference(rgb, src)
    assert not list(out.parent.glob(".*")), "temporary files left behind"


# -- bad files ----------------------------------------------------------------------------


def _bad_corpus(d: Path) -> dict[str, Path]:
    """Case name -> a path the CLI must refuse with one clean error line."""
    sr = 8000
    pcm = np.zeros(100, dtype="<i2").tobytes()
    rng = np.random.default_rng(1234)
    files: dict[str, Path] = {}

    def put(key: str, filename: str, data: bytes) -> None:
        files[key] = d / filename
        files[key].write_bytes(data)

    files["missing"] = d / "does_not_exist.wav"
    files["directory"] = d / "a_directory.wav"
    files["directory"].mkdir()
    put("empty", "empty.wav", b"")
    put("text", "text.wav", b"This is a text file, not audio.\n" * 20)
    put("random", "random.wav", rng.bytes(4096))
    put("random_no_extension", "random", rng.bytes(4096))
    put("riff_header_only", "riff_header_only.wav", wav_bytes(samplerate=sr, data=pcm)[:20])
    put("header_zero_data_frames", "zero_data.wav", wav_bytes(samplerate=sr, data=b""))
    put("sample_rate_0", "sample_rate_0.wav", wav_bytes(samplerate=0, data=pcm))
    put("channels_0", "channels_0.wav", wav_bytes(samplerate=sr, channels=0, data=pcm))
    put("bits_0", "bits_0.wav", wav_bytes(samplerate=sr, bits=0, data=pcm))
    put("unknown_format_tag", "format_tag.wav", wav_bytes(samplerate=sr, format_tag=0x1234, data=pcm))

    files["zero_frames_soundfile"] = d / "zero_frames.wav"
    soundfile.write(files["zero_frames_soundfile"], np.zeros(0), sr, subtype="PCM_16")

    # Damage past the header, in files long enough that something still decodes.
    flac = d / "tone.flac"
    soundfile.write(flac, tone(1000.0, 16000, 3.0), 16000, format="FLAC", subtype="PCM_16")
    data = flac.read_bytes()
    mid = len(data) // 2
    put("flac_truncated", "truncated.flac", data[:mid])
    put("flac_corrupt_middle", "corrupt.flac", data[:mid] + rng.bytes(200) + data[mid + 200 :])
    put("flac_corrupt_header", "bad_header.flac", data[:4] + rng.bytes(36) + data[40:])

    ogg = d / "tone.ogg"
    # With noise: Vorbis packs a pure tone into a single page, which no cut leaves whole.
    noisy = tone(1000.0, 16000, 3.0) + 0.1 * rng.standard_normal(48000)
    soundfile.write(ogg, noisy, 16000, format="OGG", subtype="VORBIS")
    data = ogg.read_bytes()
    mid = len(data) // 2
    put("ogg_truncated", "truncated.ogg", data[:mid])
    put("ogg_corrupt_middle", "corrupt.ogg", data[:mid] + rng.bytes(200) + data[mid + 200 :])
    put("ogg_corrupt_header", "bad_header.ogg", data[:60] + rng.bytes(3000) + data[3060:])
    flac.unlink()
    ogg.unlink()
    return files


BAD_CASES = [
    "missing",
    "directory",
    "empty",
    "text",
    "random",
    "random_no_extension",
    "riff_header_only",
    "header_zero_data_frames",
    "zero_frames_soundfile",
    "sample_rate_0",
    "channels_0",
    "bits_0",
    "unknown_format_tag",
    "flac_corrupt_header",
    "ogg_corrupt_header",
]
#: Damaged past their header: they open with what decodes, and warn.
DAMAGED_CASES = ["flac_truncated", "flac_corrupt_middle", "ogg_truncated", "ogg_corrupt_middle"]
SUFFIX = {"render": ".png", "features": ".npy"}
#: features opens files through the same FileSource as render: a sample of the cases.
FEATURES_CASES = [
    "missing",
    "directory",
    "empty",
    "text",
    "random",
    "header_zero_data_frames",
    "sample_rate_0",
    "flac_corrupt_header",
]
BAD_RUNS = [(name, "render") for name in BAD_CASES] + [(name, "features") for name in FEATURES_CASES]
DAMAGED_RUNS = [(name, "render") for name in DAMAGED_CASES] + [
    ("flac_corrupt_middle", "features"),
    ("ogg_truncated", "features"),
]

BadRuns = dict[tuple[str, str], tuple[Path, Path, subprocess.CompletedProcess[str]]]


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory: pytest.TempPathFactory) -> BadRuns:
    files = _bad_corpus(tmp_path_factory.mktemp("bad"))
    assert sorted(files) == sorted(BAD_CASES + DAMAGED_CASES)
    jobs = []
    for name, command in BAD_RUNS + DAMAGED_RUNS:
        out = tmp_path_factory.mktemp(f"out_{command}_{name}") / f"out{SUFFIX[command]}"
        jobs.append(((name, command), files[name], out))
    procs = run_many([(key[1], src, "-o", out, "--n-fft", "256", "--n-mels", "64") for key, src, out in jobs])
    return {key: (src, out, proc) for (key, src, out), proc in zip(jobs, procs, strict=True)}


@pytest.mark.parametrize(("name", "command"), BAD_RUNS)
def test_bad_file_is_one_clean_error(bad_runs: BadRuns, name: str, command: str) -> None:
    src, out, proc = bad_runs[(name, command)]
    line = assert_clean_error(proc, out, out.with_suffix(".json"))
    assert str(src) in line, line


@pytest.mark.parametrize(("name", "command"), DAMAGED_RUNS)
def test_damaged_file_gives_what_decodes_and_warns(bad_runs: BadRuns, name: str, command: str) -> None:
    """A tail cut off or bytes garbled past the header: the output of what is there, and why it is short."""
    src, out, proc = bad_runs[(name, command)]
    assert _decodable(src), "the reference decoder finds nothing either: not a damaged-but-readable case"
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines and all(line.startswith("spectroview: warning: " + str(src)) for line in lines), lines
    if command == "features":
        assert np.load(out).shape[0] == 64
    else:
        assert read_png(out).ndim == 3


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("missing", "no such file"),
        ("directory", "directory"),
        ("empty", "empty"),
        ("text", "not an audio file"),
        ("header_zero_data_frames", "no audio frames"),
        ("zero_frames_soundfile", "no audio frames"),
    ],
)
def test_bad_file_message_says_what_is_wrong(bad_runs: BadRuns, name: str, words: str) -> None:
    _, _, proc = bad_runs[(name, "render")]
    assert words in proc.stderr


def test_error_leaves_an_existing_output_untouched(tmp_path: Path) -> None:
    src = tmp_path / "in" / "text.wav"
    src.parent.mkdir()
    src.write_text("not audio\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "old.png").write_bytes(b"previous image")
    (out_dir / "old.npy").write_bytes(b"previous features")
    procs = run_many([("render", src, "-o", out_dir / "old.png"), ("features", src, "-o", out_dir / "old.npy")])
    for proc in procs:
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert (out_dir / "old.png").read_bytes() == b"previous image"
    assert (out_dir / "old.npy").read_bytes() == b"previous features"
    assert sorted(p.name for p in out_dir.iterdir()) == ["old.npy", "old.png"]


# -- damaged MP3: libmpg123 writes its own diagnostics to fd 2; the CLI keeps them off the terminal --


@pytest.mark.parametrize("damage", ["truncated", "corrupt_middle", "corrupt_header"])
def test_damaged_mp3_is_an_image_or_one_clean_error(tmp_path: Path, damage: str) -> None:
    sr = 22050
    if not can_write("MP3", "MPEG_LAYER_III", sr, tmp_path):
        pytest.skip("this libsndfile cannot write MP3")
    mp3 = tmp_path / "tone.mp3"
    soundfile.write(mp3, tone(1000.0, sr, 2.0), sr, format="MP3", subtype="MPEG_LAYER_III")
    data = mp3.read_bytes()
    rng = np.random.default_rng(3)
    mid = len(data) // 2
    damaged = {
        "truncated": data[:mid],
        "corrupt_middle": data[:mid] + rng.bytes(200) + data[mid + 200 :],
        "corrupt_header": data[:4] + rng.bytes(36) + data[40:],
    }[damage]
    src = tmp_path / f"{damage}.mp3"
    src.write_bytes(damaged)
    out = tmp_path / "out" / "out.png"
    out.parent.mkdir()
    (proc,) = run_many([("render", src, "-o", out, *RENDER_OPTIONS)])
    if proc.returncode == 0:
        # Warnings say what is damaged, one line each, nothing else (no decoder chatter).
        lines = proc.stderr.splitlines()
        assert all(line.startswith("spectroview: warning: " + str(src)) for line in lines), lines
        if damage == "truncated":
            assert lines, "a truncated file must say so"
        assert read_png(out).shape == (HEIGHT, WIDTH, 3)
    else:
        assert_clean_error(proc, out)


# -- a WAV truncated to half its bytes ---------------------------------------------------------


def test_truncated_wav_is_what_remains_or_one_clean_error(tmp_path: Path) -> None:
    sr = 8000
    rng = np.random.default_rng(5)
    y = tone(1000.0, sr, 1.0) + 0.05 * rng.standard_normal(sr)
    full = tmp_path / "full.wav"
    soundfile.write(full, y, sr, subtype="PCM_16")
    data = full.read_bytes()
    src = tmp_path / "truncated.wav"
    src.write_bytes(data[: len(data) // 2])

    # What libsndfile makes of it decides the expected outcome.
    try:
        remaining, _ = soundfile.read(src, dtype="float32")
        readable = remaining.shape[0] == soundfile.info(src).frames > 0
    except (soundfile.LibsndfileError, RuntimeError):
        readable = False

    out = tmp_path / "out" / "out.png"
    out.parent.mkdir()
    if not readable:
        (proc,) = run_many([("render", src, "-o", out, *RENDER_OPTIONS)])
        assert_clean_error(proc, out, mentions=[str(src)])
        return
    # The image is that of the samples still there, as a file holding only them gives.
    n = remaining.shape[0]
    assert 0 < n < sr
    prefix = tmp_path / "prefix.wav"
    soundfile.write(prefix, soundfile.read(full, dtype="int16")[0][:n], sr, subtype="PCM_16")
    ref = tmp_path / "ref.png"
    proc, ref_proc = run_many(
        [("render", src, "-o", out, *RENDER_OPTIONS), ("render", prefix, "-o", ref, *RENDER_OPTIONS)]
    )
    assert_ok(proc, warnings=1)  # the header promised a second: one line says the file ends early
    assert "ends early" in proc.stderr and "1.00 s expected" in proc.stderr
    assert_ok(ref_proc)
    assert np.array_equal(read_png(out), read_png(ref))


# -- scipy's own WAV test files ----------------------------------------------------------------

SCIPY_DATA = Path(scipy.io.__file__).parent / "tests" / "data"
SCIPY_WAVS = sorted(p.name for p in SCIPY_DATA.glob("*.wav"))


def _decodable(path: Path) -> bool:
    """libsndfile or FFmpeg (a plain PyAV decode, without Spectroview) gets samples out of it."""
    from tests.audio.media import straight_decode

    for decode in (lambda: soundfile.read(path, dtype="float32", always_2d=True), lambda: straight_decode(path)):
        try:
            data, sr = decode()
        except Exception:  # any library error: that decoder finds nothing
            continue
        if sr > 0 and data.shape[0] > 0 and data.shape[1] > 0:
            return True
    return False


@pytest.fixture(scope="module")
def scipy_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    jobs = [(name, tmp_path_factory.mktemp("scipy") / "out.png") for name in SCIPY_WAVS]
    procs = run_many([("render", SCIPY_DATA / name, "-o", out, *RENDER_OPTIONS) for name, out in jobs])
    return {name: (out, proc) for (name, out), proc in zip(jobs, procs, strict=True)}


def test_scipy_test_data_is_there() -> None:
    assert len(SCIPY_WAVS) >= 10, SCIPY_DATA


@pytest.mark.parametrize("name", SCIPY_WAVS)
def test_scipy_wav_is_an_image_or_one_clean_error(
    scipy_runs: dict[str, tuple[Path, subprocess.CompletedProcess[str]]], name: str
) -> None:
    out, proc = scipy_runs[name]
    path = SCIPY_DATA / name
    if _decodable(path):
        assert proc.returncode == 0, proc.stderr
        lines = proc.stderr.splitlines()
        assert all(line.startswith("spectroview: warning: ") for line in lines), lines
        assert_matches_reference(read_png(out), path)
    else:
        assert_clean_error(proc, out, mentions=[str(path)])


# -- option values and output paths --------------------------------------------------------------

OPTION_ERRORS = [
    ("render", ("--scale", "foo"), "--scale"),
    ("render", ("--window", "foo"), "--window"),
    ("render", ("--colormap", "foo"), "--colormap"),
    ("render", ("--n-fft", "3"), "--n-fft"),
    (
        "render",
        ("--hop", "0"),
        "--hop 0: must be an integer >= 1 and <= 2147483647 (leave it out for a quarter of the window)",
    ),
    ("render", ("--win-length", "99999"), "--win-length"),
    ("render", ("--fmax", "99999"), "--fmax"),
    ("render", ("--scale", "log", "--fmin", "5000"), "--fmin"),
    ("render", ("--db-range", "-1"), "--db-range"),
    ("render", ("--width", "0"), "--width"),
    ("render", ("--height", "40000"), "--height"),
    ("render", ("--channel", "0"), "--channel"),
    ("render", ("--bogus",), "--bogus"),
    ("features", ("--sr", "abc"), "--sr"),
    ("features", ("--n-mels", "0"), "--n-mels"),
    ("features", ("--channel", "2"), "--channel"),
]


@pytest.fixture(scope="module")
def option_runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, subprocess.CompletedProcess[str]]]:
    d = tmp_path_factory.mktemp("opts_src")
    src = d / "tone.wav"
    soundfile.write(src, tone(1000.0, 8000, 0.5), 8000, subtype="PCM_16")
    outs = [tmp_path_factory.mktemp("opts") / f"out{SUFFIX[cmd]}" for cmd, _, _ in OPTION_ERRORS]
    procs = run_many([(cmd, src, "-o", out, *opts) for (cmd, opts, _), out in zip(OPTION_ERRORS, outs, strict=True)])
    return list(zip(outs, procs, strict=True))


@pytest.mark.parametrize("index", range(len(OPTION_ERRORS)), ids=[f"{c}{''.join(o)}" for c, o, _ in OPTION_ERRORS])
def test_bad_option_value_is_one_clean_error(option_runs: list, index: int) -> None:
    out, proc = option_runs[index]
    assert_clean_error(proc, out, out.with_suffix(".json"), mentions=[OPTION_ERRORS[index][2]])


@pytest.mark.parametrize(
    ("command", "output", "words"),
    [
        ("render", "out.jpg", ".png"),
        ("render", "missing_dir/out.png", "does not exist"),
        ("features", "out.txt", ".npy"),
        ("features", "missing_dir/out.npy", "does not exist"),
    ],
)
def test_bad_output_path_is_one_clean_error(tmp_path: Path, command: str, output: str, words: str) -> None:
    src = tmp_path / "tone.wav"
    soundfile.write(src, tone(1000.0, 8000, 0.5), 8000, subtype="PCM_16")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (proc,) = run_many([(command, src, "-o", out_dir / output)])
    assert_clean_error(proc, mentions=[words])
    assert sorted(p.name for p in out_dir.iterdir()) == []


def test_output_under_a_file_is_one_clean_error_saying_so(tmp_path: Path) -> None:
    src = tmp_path / "tone.wav"
    soundfile.write(src, tone(1000.0, 8000, 0.5), 8000, subtype="PCM_16")
    (tmp_path / "plain").write_bytes(b"not a folder")
    (proc,) = run_many([("render", src, "-o", tmp_path / "plain" / "out.png")])
    assert_clean_error(proc, mentions=[f"{tmp_path / 'plain'} is not a directory"])


def test_output_that_is_a_directory_is_one_clean_error(tmp_path: Path) -> None:
    src = tmp_path / "tone.wav"
    soundfile.write(src, tone(1000.0, 8000, 0.5), 8000, subtype="PCM_16")
    target = tmp_path / "out.png"
    target.mkdir()
    (proc,) = run_many([("render", src, "-o", target)])
    assert_clean_error(proc, mentions=["directory"])
    assert target.is_dir() and list(target.iterdir()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space limit via RLIMIT_AS")
def test_out_of_memory_is_one_clean_error(tmp_path: Path) -> None:
    """A 32768 x 32768 image needs more than the 3 GB the process may use: one clean line, not a traceback."""
    import resource

    src = tmp_path / "tone.wav"
    soundfile.write(src, tone(1000.0, 8000, 0.5), 8000, subtype="PCM_16")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "huge.png"

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "spectroview",
            "render",
            str(src),
            "-o",
            str(out),
            "--width",
            "32768",
            "--height",
            "32768",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        preexec_fn=limit_memory,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    # Refused before allocating (the estimate), or caught if an allocation fails anyway: one line either way.
    assert_clean_error(proc, out, mentions=["of memory"])
