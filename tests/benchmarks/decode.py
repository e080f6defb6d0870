"""Decoding benchmark: long compressed files through FileSource, beside the ffmpeg command line.

Run: ``python -m tests.benchmarks.decode`` (needs the ``ffmpeg`` command line,
which ``make test`` installs as root).  Prints JSON.  The one-hour files are
made once (about a minute of encoding each) and kept in
``$TMPDIR/spectroview-bench``.

Figures, per one-hour file (MP3 128 kb/s CBR and AAC 128 kb/s in M4A, 44.1 kHz stereo):

- ``open_s``: ``FileSource(path)`` in a fresh process: the packet scan that
  gives the true length and the seek index (the viewer does it in a worker
  thread, with progress).
- ``first_image_s``: from nothing to the viewer's first picture of the whole
  file: open, the overview's preview (one frame per column of 1024, read
  anywhere in the file), the view pooled to 1800 px.
- ``first_zoomed_image_s``: open, then the exact view of the first 10 s.
- ``read_1s_ms``: a 1 s read at a random place, median and max of 50, the
  file open.  Reference: ``ffmpeg -ss T -t 1 -i FILE -f null -``, a whole
  process per read (what a script calling the command line pays).
- ``decode_s``: the whole file read front to back (mono mixdown, blocks of
  2^18); reference: ``ffmpeg -i FILE -f null -`` (decodes every sample, writes
  none), and the ratio.

And ``features_rss``: peak RSS of ``spectroview features`` on a three-hour
44.1 kHz stereo WAV (1.9 GB), beside ``spectroview render`` on the same file.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(tempfile.gettempdir()) / "spectroview-bench"
FFMPEG = shutil.which("ffmpeg")

HOUR_SOURCE = [
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=3600",
    "-f", "lavfi", "-i", "anoisesrc=r=44100:d=3600:a=0.05:seed=3",
    "-filter_complex", "amix=inputs=2:normalize=0,aformat=channel_layouts=stereo",
]  # fmt: skip
FILES = {
    "mp3_1h": ("hour.mp3", ["-c:a", "libmp3lame", "-b:a", "128k"]),
    "m4a_1h": ("hour.m4a", ["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart"]),
}


def _make(name: str, codec: list[str]) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / name
    if not path.exists():
        tmp = path.with_suffix(".part" + path.suffix)
        subprocess.run([FFMPEG, "-v", "error", "-y", *HOUR_SOURCE, *codec, str(tmp)], check=True)  # type: ignore[list-item]
        tmp.rename(path)
    return path


_FIRST_IMAGE = """
import json, sys, time
t0 = time.perf_counter()
from spectroview.audio.files import FileSource
from spectroview.dsp import SpectrogramParams
from spectroview.session.view import Overview, compute_direct
source = FileSource(sys.argv[1])
t1 = time.perf_counter()
params = SpectrogramParams(hop_length=512).with_sr(source.info.samplerate)
if sys.argv[2] == "whole":
    overview = Overview(source.info.frames, params)
    overview.build_preview(source)
    image = overview.view(0.0, source.info.duration, 1800)
else:
    image = compute_direct(source, params, 0.0, 10.0, 1800)
t2 = time.perf_counter()
print(json.dumps({"import_s": t0, "open_s": t1 - t0, "image_s": t2 - t0, "columns": image.levels.shape[1]}))
"""


def _fresh(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_IMAGE, str(path), kind], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def file_figures(path: Path, repeats: int = 3) -> dict[str, object]:
    from spectroview.audio.files import FileSource

    whole = [_fresh("whole", path) for _ in range(repeats)]
    zoomed = [_fresh("zoomed", path) for _ in range(repeats)]
    with FileSource(path) as source:
        info = source.info
        rng = np.random.default_rng(0)
        starts = rng.integers(0, info.frames - info.samplerate, 50)
        reads = []
        for a in starts.tolist():
            t = time.perf_counter()
            source.read(a, a + info.samplerate)
            reads.append(time.perf_counter() - t)
        t = time.perf_counter()
        total = sum(block.shape[0] for block in source.blocks(1 << 18))
        decode_s = time.perf_counter() - t
        assert total == info.frames
    ref_reads = [
        _timed(
            [FFMPEG, "-v", "error", "-ss", f"{a / info.samplerate:.3f}", "-t", "1", "-i", str(path), "-f", "null", "-"]
        )  # type: ignore[list-item]
        for a in starts[:10].tolist()
    ]
    ref_decode = min(_timed([FFMPEG, "-v", "error", "-i", str(path), "-f", "null", "-"]) for _ in range(2))  # type: ignore[list-item]
    return {
        "codec": info.codec,
        "duration_s": round(info.duration, 3),
        "open_s": round(statistics.median(r["open_s"] for r in whole), 3),
        "first_image_s": round(statistics.median(r["image_s"] for r in whole), 3),
        "first_zoomed_image_s": round(statistics.median(r["image_s"] for r in zoomed), 3),
        "read_1s_ms": {"median": round(statistics.median(reads) * 1000, 1), "max": round(max(reads) * 1000, 1)},
        "reference_ffmpeg_cli_read_1s_ms_median": round(statistics.median(ref_reads) * 1000, 1),
        "decode_s": round(decode_s, 2),
        "reference_ffmpeg_cli_decode_s": round(ref_decode, 2),
        "decode_over_reference": round(decode_s / ref_decode, 2),
    }


_PEAK = """
import resource, sys
from spectroview.cli import main
status = main(sys.argv[1:])
print(status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def features_rss(tmp: Path) -> dict[str, object]:
    import soundfile

    path = tmp / "three_hours.wav"
    sr = 44100
    rng = np.random.default_rng(1)
    minute = (0.1 * rng.standard_normal((sr * 60, 2))).astype(np.float32)
    with soundfile.SoundFile(path, "w", sr, 2, subtype="PCM_16") as f:
        for _ in range(180):
            f.write(minute)
    out = {"file": f"3 h, {sr} Hz, stereo, 16-bit WAV ({path.stat().st_size / 2**30:.2f} GiB)"}
    for name, args in (
        ("features", ["features", str(path), "-o", str(tmp / "f.npy")]),
        ("render_reference", ["render", str(path), "-o", str(tmp / "r.png")]),
    ):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _PEAK, *args], cwd=REPO, capture_output=True, text=True)
        status, rss = proc.stdout.split()
        out[name] = {
            "peak_rss_mb": round(int(rss) / 1024, 1),
            "wall_s": round(time.perf_counter() - t, 1),
            "exit": int(status),
        }
    shape = np.load(tmp / "f.npy", mmap_mode="r").shape
    out["features_shape"] = list(shape)
    out["features_npy_mb"] = round((tmp / "f.npy").stat().st_size / 2**20, 1)
    return out


def main() -> None:
    if FFMPEG is None:
        print(json.dumps({"skipped": "the ffmpeg command line is not installed"}))
        return
    report: dict[str, object] = {"cpu_count": os.cpu_count()}
    for key, (name, codec) in FILES.items():
        report[key] = file_figures(_make(name, codec))
    with tempfile.TemporaryDirectory() as name:
        report["features_rss_3h_wav"] = features_rss(Path(name))
    report["note"] = "each figure beside its reference measured in the same run; ru_maxrss of the process"
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
