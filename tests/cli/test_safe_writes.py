"""Nothing the user has is lost: no output lands on an input, every write is whole or nothing."""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from spectroview import cli
from spectroview._atomic import atomic_files, atomic_write, output_clash
from spectroview.render.png import read_png
from tests.cli.helpers import REPO_ROOT, run_cli, tone

SR = 16000


def wav_named(path: Path, seconds: float = 1.0) -> Path:
    """A WAV file under ``path``'s name, whatever its ending (users' files are named anything)."""
    soundfile.write(path, tone(1000.0, SR, seconds), SR, subtype="PCM_16", format="WAV")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_error_line(proc: subprocess.CompletedProcess[str], *mentions: str) -> str:
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("spectroview: error: "), lines
    for text in mentions:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("a.png", ["render", "{in}", "-o", "{in}"]),
        ("a.npy", ["features", "{in}", "-o", "{in}"]),
        ("a.json", ["features", "{in}", "-o", "{dir}/a.npy"]),  # the sidecar would be the input
        ("a.json", ["features", "{in}", "--preset", "ast", "-o", "{dir}/a.npy"]),
        ("a.npy", ["features", "{in}", "--preset", "ast", "-o", "{dir}/b.npy", "--patches", "{in}"]),
        ("a.png", ["{in}", "--screenshot", "{in}"]),
    ],
)
def test_an_output_on_the_input_is_refused_before_anything_is_written(
    tmp_path: Path, name: str, command: list[str]
) -> None:
    source = wav_named(tmp_path / name)
    before = digest(source)
    args = [c.replace("{in}", str(source)).replace("{dir}", str(tmp_path)) for c in command]
    proc = run_cli(*args)
    one_error_line(proc, "is the input", name)
    assert digest(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing else written, no temp file


def test_an_output_through_a_link_to_the_input_is_refused(tmp_path: Path) -> None:
    source = wav_named(tmp_path / "take.png")
    link = tmp_path / "link.png"
    link.symlink_to(source)
    before = digest(source)
    one_error_line(run_cli("render", source, "-o", link), "is the input")
    assert digest(source) == before and link.is_symlink()


def test_two_outputs_of_one_run_may_not_be_the_same_file(tmp_path: Path) -> None:
    source = wav_named(tmp_path / "a.wav", seconds=11.0)
    proc = run_cli("features", source, "--preset", "ast", "-o", tmp_path / "x.npy", "--patches", tmp_path / "x.npy")
    one_error_line(proc, "x.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_an_empty_screenshot_name_is_refused(tmp_path: Path) -> None:
    proc = run_cli(wav_named(tmp_path / "a.wav"), "--screenshot", "")
    one_error_line(proc, "--screenshot")


def test_a_symlink_at_the_output_is_replaced_not_written_through(tmp_path: Path) -> None:
    source = wav_named(tmp_path / "a.wav")
    precious = tmp_path / "precious.png"
    precious.write_bytes(b"the user's own picture")
    out = tmp_path / "out.png"
    out.symlink_to(precious)
    proc = run_cli("render", source, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert precious.read_bytes() == b"the user's own picture"
    assert not out.is_symlink() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _run_limited(limit: Callable[[], None], *args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m spectroview ARGS`` with ``limit`` applied in the child before it starts."""
    return subprocess.run(
        [sys.executable, "-m", "spectroview", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit,
    )


def _run_with_file_size_limit(limit: int, *args: str | Path) -> subprocess.CompletedProcess[str]:
    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return _run_limited(limited, *args)


def test_a_full_disk_leaves_the_previous_outputs_whole(tmp_path: Path) -> None:
    source = wav_named(tmp_path / "a.wav", seconds=3.0)
    out = tmp_path / "a.npy"
    first = run_cli("features", source, "-o", out)
    assert first.returncode == 0, first.stderr
    npy, sidecar = digest(out), digest(out.with_suffix(".json"))
    # Again with other parameters, but files may not grow past 4 kB: the new NPY cannot be written.
    proc = _run_with_file_size_limit(4096, "features", source, "-o", out, "--n-mels", "96")
    one_error_line(proc, "File too large", str(out))
    assert digest(out) == npy and digest(out.with_suffix(".json")) == sidecar  # the old pair, both
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.npy", "a.wav"]  # no temp files
    png = tmp_path / "a.png"
    assert run_cli("render", source, "-o", png).returncode == 0
    picture = digest(png)
    one_error_line(_run_with_file_size_limit(2048, "render", source, "-o", png, "--width", "1600"), str(png))
    assert digest(png) == picture


# -- the write primitives ----------------------------------------------------------------


def test_a_group_is_replaced_together_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    npy, sidecar = tmp_path / "x.npy", tmp_path / "x.json"
    npy.write_text("old matrix")
    sidecar.write_text("old sidecar")
    real_replace = os.replace
    calls = []

    def failing_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_second)
    with pytest.raises(OSError), atomic_files([npy, sidecar]) as (t1, t2):
        Path(t1).write_text("new matrix")
        Path(t2).write_text("new sidecar")
    monkeypatch.setattr(os, "replace", real_replace)
    assert npy.read_text() == "old matrix" and sidecar.read_text() == "old sidecar"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.npy"]
    with atomic_files([npy, sidecar]) as (t1, t2):
        Path(t1).write_text("new matrix")
        Path(t2).write_text("new sidecar")
    assert npy.read_text() == "new matrix" and sidecar.read_text() == "new sidecar"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.npy"]


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "t.npy"
    np.save(target, np.arange(3))

    def broken(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, broken)
    np.testing.assert_array_equal(np.load(target), np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["t.npy"]


def test_output_clash_names_both_files(tmp_path: Path) -> None:
    a = wav_named(tmp_path / "a.wav")
    hard = tmp_path / "hard.npy"
    os.link(a, hard)
    assert output_clash([a], [tmp_path / "b.npy"]) is None
    assert "is the input" in (output_clash([a], [hard]) or "")
    assert "also written" in (output_clash([], [tmp_path / "c.npy", tmp_path / "c.npy"]) or "")


# -- parameters with bounds: one line, at once ----------------------------------------------


@pytest.mark.parametrize(
    ("options", "mentions"),
    [
        (["--hop", "4611686018427387904"], "--hop"),
        (["--n-mels", "100000", "--scale", "mel"], "--n-mels"),
        (["--n-mels", "20000", "--scale", "mel"], "--n-mels"),
    ],
)
def test_out_of_bounds_parameters_are_one_line_at_once(tmp_path: Path, options: list[str], mentions: str) -> None:
    source = wav_named(tmp_path / "a.wav")
    proc = run_cli("render", source, "-o", tmp_path / "a.png", *options)
    one_error_line(proc, mentions)
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("value", ["inf", "nan", "-3", "1e9"])
def test_a_db_range_that_is_not_a_finite_positive_level_is_refused(tmp_path: Path, value: str) -> None:
    source = wav_named(tmp_path / "a.wav")
    one_error_line(run_cli("render", source, "-o", tmp_path / "a.png", "--db-range", value), "--db-range")
    one_error_line(run_cli(source, "--screenshot", tmp_path / "b.png", "--db-range", value), "--db-range")


# -- very loud input: finite output, named -----------------------------------------------------


@pytest.mark.parametrize("amplitude", [1e30, float(np.finfo(np.float32).max)])
def test_very_loud_float_input_gives_finite_output_and_says_so(tmp_path: Path, amplitude: float) -> None:
    import json

    from spectroview.render.png import read_png

    n = np.arange(2 * SR)
    y = (amplitude * np.sin(2 * np.pi * 1000.0 * n / SR)).astype(np.float32)
    source = tmp_path / "loud.wav"
    soundfile.write(source, y, SR, subtype="FLOAT")
    proc = run_cli("features", source, "-o", tmp_path / "loud.npy")
    assert proc.returncode == 0, proc.stderr
    assert "clipped" in proc.stderr and "120 dB over full scale" in proc.stderr
    features = np.load(tmp_path / "loud.npy")
    assert np.isfinite(features).all()
    sidecar = json.loads((tmp_path / "loud.json").read_text())  # strict JSON: no NaN, no Infinity
    assert any("clipped" in w for w in sidecar["source"]["warnings"])
    # The brightest mel band is the 1 kHz tone's.
    centres = np.asarray(sidecar["axes"]["mel_center_hz"])
    assert abs(centres[int(np.argmax(features[:, features.shape[1] // 2]))] - 1000.0) < 150.0
    proc = run_cli("render", source, "-o", tmp_path / "loud.png", "--colormap", "gray")
    assert proc.returncode == 0 and "clipped" in proc.stderr
    picture = read_png(tmp_path / "loud.png")
    assert picture.std() > 10  # a picture, not a black (or white) field


def test_dataset_stats_over_a_folder_with_a_very_loud_file_stay_valid_json(tmp_path: Path) -> None:
    import json

    folder = tmp_path / "in"
    folder.mkdir()
    wav_named(folder / "quiet.wav")
    n = np.arange(SR)
    soundfile.write(
        folder / "loud.wav", (1e30 * np.sin(2 * np.pi * 500.0 * n / SR)).astype(np.float32), SR, subtype="FLOAT"
    )
    proc = run_cli("features", folder, "-o", tmp_path / "out", "--dataset-stats")
    assert proc.returncode == 0, proc.stderr
    for path in (tmp_path / "out").rglob("*.json"):
        constants: list[str] = []
        json.loads(path.read_text(), parse_constant=constants.append)
        assert constants == [], f"{path}: {constants} in JSON"
    for path in (tmp_path / "out").rglob("*.npy"):
        assert np.isfinite(np.load(path)).all(), path


# -- memory and disk checked before allocating ----------------------------------------------


def _run_with_memory_limit(limit: int, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return _run_limited(lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)), *args)


def test_an_image_larger_than_memory_is_refused_with_a_size_that_fits(tmp_path: Path) -> None:
    source = wav_named(tmp_path / "a.wav")
    out = tmp_path / "a.png"
    proc = _run_with_memory_limit(3 << 30, "render", source, "-o", out, "--width", "32768", "--height", "32768")
    line = one_error_line(proc, "--width 32768 --height 32768", "of memory", "fits")
    fits = re.search(r"at most (\d+)x(\d+) fits", line)
    assert fits, line
    w, h = int(fits[1]), int(fits[2])
    assert 1000 < w < 32768 and w == h
    assert not out.exists()
    # ... and the size it names does render under the same limit.
    ok = _run_with_memory_limit(3 << 30, "render", source, "-o", out, "--width", str(w // 2), "--height", "500")
    assert ok.returncode == 0, ok.stderr


def test_a_one_sample_hop_on_a_long_window_renders_in_bounded_memory(tmp_path: Path) -> None:
    # 0.3 s at a hop of one sample: 46 000 frames of 32769 rows would be 6 GB at once.
    source = wav_named(tmp_path / "a.wav", seconds=0.3)
    out = tmp_path / "a.png"
    proc = _run_with_memory_limit(
        2 << 30, "render", source, "-o", out, "--n-fft", "65536", "--hop", "1", "--width", "400", "--height", "200"
    )
    assert proc.returncode == 0, proc.stderr
    assert read_png(out).shape == (200, 400, 3)


def test_a_hop_longer_than_the_signal_is_refused(tmp_path: Path) -> None:
    source = wav_named(tmp_path / "a.wav", seconds=0.5)
    for command, out in (("render", tmp_path / "a.png"), ("features", tmp_path / "a.npy")):
        proc = run_cli(command, source, "-o", out, "--hop", "100000")
        one_error_line(proc, "--hop 100000", "longer than the signal", "at most")
        assert not out.exists()


def test_features_larger_than_the_free_disk_are_refused_with_a_hop_that_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = wav_named(tmp_path / "a.wav", seconds=2.0)
    out = tmp_path / "a.npy"
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=2 << 20))
    assert cli.main(["features", str(source), "-o", str(out), "--hop", "1"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("spectroview: error: -o") and "free" in line, line
    hop = int(re.search(r"a --hop of at least (\d+) fits", line)[1])  # type: ignore[index]
    assert not out.exists()
    assert cli.main(["features", str(source), "-o", str(out), "--hop", str(hop)]) == 0
    assert out.stat().st_size < 2 << 20


def test_without_a_display_the_viewer_says_so_and_a_screenshot_goes_offscreen(tmp_path: Path) -> None:
    source = wav_named(tmp_path / "a.wav")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "spectroview", *map(str, args)]
        return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)

    one_error_line(run(source), "no display", "render")
    out = tmp_path / "shot.png"
    proc = run(source, "--screenshot", out, "--size", "640x400")
    assert proc.returncode == 0, proc.stderr
    assert read_png(out).shape[:2] == (400, 640)
    one_error_line(run(source, "--screenshot", out, "--size", "99999x99999"), "--size", "16384")


def test_a_wrong_patches_name_is_named_as_patches(tmp_path: Path) -> None:
    source = wav_named(tmp_path / "a.wav")
    proc = run_cli("features", source, "-o", tmp_path / "a.npy", "--preset", "ast", "--patches", tmp_path / "p.wav")
    assert "--patches" in one_error_line(proc, ".npy file")


def test_a_temporary_file_that_cannot_be_made_is_reported_as_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read-only file system refuses the temporary file beside the output: the
    # error names the output the user asked for, not our hidden temporary name.
    import errno
    import tempfile

    def refuse(prefix: str, suffix: str, dir: Path) -> tuple[int, str]:
        raise OSError(errno.EROFS, "Read-only file system", os.path.join(dir, f"{prefix}abc{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    target = tmp_path / "x.png"
    with pytest.raises(OSError) as info:
        atomic_write(target, lambda tmp: None)
    assert (info.value.errno, info.value.filename) == (errno.EROFS, str(target))
