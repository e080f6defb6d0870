"""Shared helpers of the CLI tests: run the command, build audio files, read images."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile

from spectroview.render.png import read_png

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFIX_ERROR = "spectroview: error: "
PREFIX_WARNING = "spectroview: warning: "
TIMEOUT_S = 60


def run_cli(*args: str | Path, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """``python -m spectroview ARGS`` from the repository root; a hang fails the test."""
    return subprocess.run(
        [sys.executable, "-m", "spectroview", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_python(code: str, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_clean_error(proc: subprocess.CompletedProcess[str], *outputs: Path, mentions: Sequence[str] = ()) -> str:
    """Exit 2, one ``spectroview: error:`` line on stderr, no traceback, no output file.

    Each directory holding one of ``outputs`` must hold nothing (no temp files).
    Returns the error line.
    """
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, f"exit {proc.returncode}, stderr: {proc.stderr!r}"
    assert len(lines) == 1, f"expected exactly one stderr line, got {lines!r}"
    assert lines[0].startswith(PREFIX_ERROR), lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    for out in outputs:
        assert not out.exists(), f"{out} was written despite the error"
        assert sorted(p.name for p in out.parent.iterdir()) == [], f"left behind in {out.parent}"
    for text in mentions:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    return lines[0]


def assert_ok(proc: subprocess.CompletedProcess[str], *, warnings: int = 0) -> None:
    """Exit 0 and, on stderr, exactly ``warnings`` ``spectroview: warning:`` lines."""
    assert proc.returncode == 0, f"exit {proc.returncode}, stderr: {proc.stderr!r}"
    lines = proc.stderr.splitlines()
    assert len(lines) == warnings, f"stderr: {lines!r}"
    assert all(line.startswith(PREFIX_WARNING) for line in lines), lines


def render(src: Path | None, out: Path, *options: str | int | float) -> subprocess.CompletedProcess[str]:
    args: list[str | Path] = ["render"]
    if src is not None:
        args.append(src)
    return run_cli(*args, "-o", out, *map(str, options))


def render_image(src: Path | None, out: Path, *options: str | int | float, warnings: int = 0) -> np.ndarray:
    """Render and return the PNG's pixels (asserting success)."""
    proc = render(src, out, *options)
    assert_ok(proc, warnings=warnings)
    return read_png(out)


def grey_levels(rgb: np.ndarray) -> np.ndarray:
    """The grey colormap's level (0..255) of each pixel, checking the image is grey."""
    assert rgb.ndim == 3 and rgb.shape[2] == 3
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])
    return rgb[..., 0].astype(np.int64)


def pixel_of_row(row: int, n_rows: int, height: int) -> int:
    """Image row (0 = top) showing spectrogram row ``row`` (0 = lowest frequency).

    Pixel ``p`` from the bottom covers rows ``[p * n_rows / height, (p + 1) * n_rows / height)``.
    """
    from_bottom = int(np.floor((row + 0.5) * height / n_rows))
    return height - 1 - from_bottom


def brightest_row(levels: np.ndarray) -> int:
    """Image row with the highest mean level."""
    return int(np.argmax(levels.mean(axis=1)))


def tone(freq: float, sr: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(sr * seconds)) / sr
    return amplitude * np.sin(2 * np.pi * freq * t)


def wav_bytes(
    *,
    samplerate: int,
    channels: int = 1,
    bits: int = 16,
    data: bytes = b"",
    format_tag: int = 1,
    data_size: int | None = None,
) -> bytes:
    """A canonical RIFF/WAVE file built by hand (any header values, even invalid ones)."""
    block_align = channels * bits // 8
    fmt = struct.pack(
        "<HHIIHH", format_tag, channels, samplerate, (samplerate * block_align) & 0xFFFFFFFF, block_align, bits
    )
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def can_write(fmt: str, subtype: str, samplerate: int, tmp: Path) -> bool:
    """Whether this libsndfile build writes ``fmt``/``subtype`` (MP3 needs libsndfile >= 1.1)."""
    if not soundfile.check_format(fmt, subtype):
        return False
    probe = tmp / f".probe.{fmt.lower()}"
    try:
        soundfile.write(probe, np.zeros(64, dtype=np.float32), samplerate, format=fmt, subtype=subtype)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        return False
    finally:
        probe.unlink(missing_ok=True)
    return True


def run_many(commands: Sequence[Sequence[str | Path]]) -> list[subprocess.CompletedProcess[str]]:
    """Run several ``spectroview`` commands concurrently (they are independent processes)."""
    from concurrent.futures import ThreadPoolExecutor

    workers = max(2, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda args: run_cli(*args), commands))


#: What libsndfile reads exactly (the formats Spectroview gives it); the rest is FFmpeg's.
SNDFILE_EXACT = {"WAV", "WAVEX", "AIFF", "W64", "CAF", "RF64", "AU", "FLAC"}


def reference_decode(path: Path) -> tuple[np.ndarray, int]:
    """(n, channels) float32 and the rate: soundfile's whole-file read for the PCM and FLAC files
    libsndfile reads exactly, else one plain uninterrupted PyAV decode (tests.audio.media)."""
    try:
        info = soundfile.info(path)
        exact = info.format in SNDFILE_EXACT and not info.subtype.startswith(("MPEG", "VORBIS", "OPUS"))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        exact = False
    if exact:
        data, sr = soundfile.read(path, dtype="float32", always_2d=True)
        return data, int(sr)
    from tests.audio.media import straight_decode

    return straight_decode(path)


def reference_image(path: Path, *, width: int, height: int, n_fft: int, colormap: str = "grey") -> np.ndarray:
    """The image of ``path`` computed in-process from a plain whole-file decode (:func:`reference_decode`).

    Independent of FileSource (seeking, blocks, channel handling) and of the CLI.
    """
    from spectroview.dsp import SpectrogramParams
    from spectroview.render.image import ImageOptions, colorize, spectrogram_image

    data, sr = reference_decode(path)
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0].copy()
    mono[~np.isfinite(mono)] = 0.0
    params = SpectrogramParams(sr=sr, n_fft=n_fft)
    power = spectrogram_image([mono], n_samples=mono.shape[0], params=params, width=width, height=height)
    return colorize(power, ImageOptions(width=width, height=height, colormap=colormap))
