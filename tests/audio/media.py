"""Real-world audio made at test time, and references decoded without Spectroview.

Files come from the ``ffmpeg`` command line (Debian's FFmpeg with LAME,
libvorbis, libopus, libspeex...: a different FFmpeg from the one inside
PyAV's wheels that Spectroview decodes with) and from ``mpcenc``.  The
references are a plain uninterrupted PyAV decode (no seeking, the stream's
own decoder) and the ``ffmpeg`` command line decoding to raw float32.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

FFMPEG = shutil.which("ffmpeg")
MPCENC = shutil.which("mpcenc")


def need_ffmpeg() -> str:
    if FFMPEG is None:
        pytest.skip("the ffmpeg command line is not installed (make test installs it as root: apt-get install ffmpeg)")
    return FFMPEG


def ffmpeg(*args: str | Path, timeout: float = 120) -> None:
    """Run ``ffmpeg -y ARGS`` quietly; a failure fails the test with FFmpeg's message."""
    exe = need_ffmpeg()
    proc = subprocess.run(
        [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"ffmpeg {' '.join(map(str, args))}: {proc.stderr}"


def lavfi_tones(freqs: Sequence[float], *, sr: int, seconds: float, channels: int = 1, noise: float = 0.0) -> list[str]:
    """ffmpeg input arguments: the sum of sines at ``freqs`` (0.8 / n each), optional white noise.

    With several channels every channel carries the same signal.
    """
    inputs: list[str] = []
    for f in freqs:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency={f}:sample_rate={sr}:duration={seconds}"]
    n = len(freqs)
    if noise:
        inputs += ["-f", "lavfi", "-i", f"anoisesrc=r={sr}:d={seconds}:a={noise}:seed=7"]
        n += 1
    layout = {1: "mono", 2: "stereo", 6: "5.1"}.get(channels, f"{channels}c")
    mix = f"amix=inputs={n}:normalize=0," if n > 1 else ""
    # sine= is at 1/8 full scale; scale each to 0.8 / len(freqs).
    gain = 8 * 0.8 / max(1, len(freqs))
    return [*inputs, "-filter_complex", f"{mix}volume={gain},aformat=channel_layouts={layout}"]


def make(path: Path, source: Sequence[str], *codec: str | Path) -> Path:
    """``ffmpeg SOURCE CODEC... path``."""
    ffmpeg(*source, *codec, path)
    return path


def straight_decode(path: Path, stream: int = 0) -> tuple[np.ndarray, int]:
    """One uninterrupted PyAV decode of audio stream ``stream``: (n, channels) float32 and the rate.

    The stream's own decoder, fed every packet in order, frames concatenated:
    the reference "straight decode", written independently of Spectroview's
    seeking decoder.  (A damaged packet is skipped, as the ffmpeg command line does.)
    """
    import av

    with av.open(str(path)) as container:
        s = [st for st in container.streams if st.type == "audio"][stream]
        parts = []
        channels = 0
        for frame in _frames(container, s):
            n = frame.samples
            try:
                a = frame.to_ndarray()
            except ValueError:  # s64, which PyAV does not convert: read the plane
                assert frame.format.name in ("s64", "s64p"), frame.format.name
                a = np.stack([np.frombuffer(bytes(p), "<i8")[: n * len(frame.layout.channels)] for p in frame.planes])
                a = (a / 2.0**63).astype(np.float32)
            a = a.reshape(-1, n).T if frame.format.is_planar else a.reshape(n, -1)
            channels = channels or a.shape[1]
            if a.dtype == np.int16:
                a = a.astype(np.float32) / 32768.0
            elif a.dtype == np.int32:
                a = a.astype(np.float32) / 2147483648.0
            elif a.dtype == np.uint8:
                a = (a.astype(np.float32) - 128.0) / 128.0
            parts.append(np.asarray(a, np.float32)[:, :channels])
        return np.concatenate(parts), s.codec_context.sample_rate


def _frames(container, stream):
    """Every frame the stream's decoder gives; a packet it refuses is skipped, as the ffmpeg command line does."""
    import av

    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            continue


def cli_decode(path: Path, *, channels: int, stream: int = 0) -> np.ndarray:
    """What the ``ffmpeg`` command line decodes: (n, channels) float32."""
    exe = need_ffmpeg()
    proc = subprocess.run(
        [
            exe,
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-map",
            f"0:a:{stream}",
            "-f",
            "f32le",
            "-acodec",
            "pcm_f32le",
            "-",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 or proc.stdout, proc.stderr.decode(errors="replace")
    return np.frombuffer(proc.stdout, dtype="<f4").reshape(-1, channels)


def peak_frequency(y: np.ndarray, sr: int) -> float:
    """Frequency (Hz) of the strongest spectral line of mono ``y`` (Hann window, parabolic refinement)."""
    x = np.asarray(y, np.float64)
    w = np.hanning(x.size)
    mag = np.abs(np.fft.rfft(x * w))
    k = int(np.argmax(mag[1:-1])) + 1
    a, b, c = np.log(mag[k - 1 : k + 2] + 1e-300)
    shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c else 0.0
    return (k + shift) * sr / x.size


def random_ranges(n: int, count: int, *, seed: int, longest: int = 30000) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        a = int(rng.integers(0, n))
        out.append((a, int(min(n, a + rng.integers(1, longest)))))
    # The very start and the very end too.
    return [(0, min(n, 1000)), (max(0, n - 1000), n), *out]
