"""Engine and headless-render benchmark: prints JSON figures, measured side by side.

Run: ``python -m tests.benchmarks.engine [--seconds 600] [--repeats 5] [--skip-render]``
(or ``make bench``).  Needs the test extras (librosa) and, for the render
comparison, SoX on PATH (Debian: ``apt-get install sox``).

Figures (medians of ``--repeats`` runs in this process, on one synthetic
signal: 10 minutes of 44.1 kHz mono by default, librosa's defaults n_fft 2048,
hop 512, 128 mels):

- ``ours_melspectrogram_s`` vs ``librosa_melspectrogram_s`` (target ratio >= 4);
- ``scipy_shorttimefft_power_s``: ``scipy.signal.ShortTimeFFT.spectrogram``;
- ``floor_rfft_s``: a bare batched ``scipy.fft.rfft`` of the same frames, in
  blocks of 256 with ``workers`` = all cores, alternating with ours run by run
  (target: ours <= 1.5x floor, the median of the pairs' ratios);
- memory: tracemalloc peak of one call beyond its input, against the output
  size (target: output + a few MB of scratch);
- render: ``spectroview render`` vs ``sox FILE -n spectrogram -x 1800 -y 513``
  on a 10-minute stereo 44.1 kHz 16-bit WAV, whole processes, wall-clock
  median and peak RSS (``os.wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _median_time(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    fn()  # warm-up: caches, thread pools, page faults
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def _traced_peak_mb(fn: Callable[[], np.ndarray]) -> tuple[float, float]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak / 2**20, out.nbytes / 2**20


def signal(seconds: float, sr: int) -> np.ndarray:
    """Seeded noise plus a few tones and a chirp, float32, peak < 1."""
    rng = np.random.default_rng(2026)
    n = int(seconds * sr)
    t = np.arange(n, dtype=np.float64) / sr
    y = 0.05 * rng.standard_normal(n)
    y += 0.3 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * np.sin(2 * np.pi * 3520.0 * t)
    y += 0.1 * np.sin(2 * np.pi * (100.0 * t + 10.0 * t**2 / seconds))
    return y.astype(np.float32)


def bench_engine(seconds: float, repeats: int) -> dict[str, object]:
    import librosa
    import scipy.fft
    import scipy.signal

    from spectroview import dsp

    sr, n_fft, hop, n_mels = 44100, 2048, 512, 128
    y = signal(seconds, sr)
    workers = os.cpu_count() or 1

    ours = dsp.melspectrogram(y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    ref = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    max_rel_diff = float(np.abs(ours - ref).max() / ref.max())

    t_ours_stft, _ = _median_time(lambda: dsp.stft_power(y, n_fft=n_fft, hop_length=hop), repeats)
    t_librosa, librosa_runs = _median_time(
        lambda: librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels),
        max(2, repeats // 2),
    )
    sft = scipy.signal.ShortTimeFFT(scipy.signal.get_window("hann", n_fft), hop=hop, fs=sr, mfft=n_fft)
    t_sft, _ = _median_time(lambda: sft.spectrogram(y), max(2, repeats // 2))

    padded = np.pad(y, n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]

    def floor() -> None:
        for b0 in range(0, frames.shape[0], 256):
            scipy.fft.rfft(frames[b0 : b0 + 256], axis=1, workers=workers)

    def ours_mel() -> np.ndarray:
        return dsp.melspectrogram(y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels)

    # Ours and the floor alternate, so a slow spell of the machine (a shared
    # VM's neighbours) slows both sides of a pair; the ratio is the median of
    # the pairs' ratios.
    ours_runs, floor_runs = [], []
    floor()
    ours_mel()
    for _ in range(repeats):
        for fn, runs in ((ours_mel, ours_runs), (floor, floor_runs)):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
    t_ours, t_floor = statistics.median(ours_runs), statistics.median(floor_runs)
    over_floor = statistics.median(o / f for o, f in zip(ours_runs, floor_runs, strict=True))
    mel_peak, mel_out = _traced_peak_mb(lambda: dsp.melspectrogram(y, sr=sr))
    stft_peak, stft_out = _traced_peak_mb(lambda: dsp.stft_power(y))
    lib_peak, _ = _traced_peak_mb(lambda: librosa.feature.melspectrogram(y=y, sr=sr))
    return {
        "signal": {"seconds": seconds, "sr": sr, "samples": int(y.size), "input_mb": round(y.nbytes / 2**20, 1)},
        "params": {"n_fft": n_fft, "hop_length": hop, "n_mels": n_mels, "frames": int(ours.shape[1])},
        "agreement_max_abs_diff_over_max": max_rel_diff,
        "ours_melspectrogram_s": round(t_ours, 4),
        "ours_melspectrogram_runs_s": [round(t, 4) for t in ours_runs],
        "ours_stft_power_s": round(t_ours_stft, 4),
        "librosa_melspectrogram_s": round(t_librosa, 4),
        "librosa_melspectrogram_runs_s": [round(t, 4) for t in librosa_runs],
        "scipy_shorttimefft_power_s": round(t_sft, 4),
        "floor_rfft_s": round(t_floor, 4),
        "speedup_vs_librosa": round(t_librosa / t_ours, 2),
        "speedup_vs_scipy_shorttimefft": round(t_sft / t_ours, 2),
        "ours_over_floor": round(over_floor, 2),
        "memory_mb": {
            "ours_melspectrogram_peak_beyond_input": round(mel_peak, 1),
            "ours_melspectrogram_output": round(mel_out, 1),
            "ours_stft_power_peak_beyond_input": round(stft_peak, 1),
            "ours_stft_power_output": round(stft_out, 1),
            "librosa_melspectrogram_peak_beyond_input": round(lib_peak, 1),
            "note": "tracemalloc peak of one call (numpy allocations; pocketfft's internal plan buffers are not traced)",
        },
    }


GNU_TIME = "/usr/bin/time"


def _run_measured(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit status of one whole process.

    Peak RSS comes from GNU time (``/usr/bin/time -f %M``): a forked child's
    own rusage would count this (large) benchmark process's pages from
    before the exec.  Without GNU time the RSS figure is NaN.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        wrapped = [GNU_TIME, "-f", "%M", "-o", report.name, *cmd] if os.path.exists(GNU_TIME) else cmd
        t0 = time.perf_counter()
        code = subprocess.run(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode
        wall = time.perf_counter() - t0
        text = report.read().strip().splitlines()
    rss_mb = int(text[-1]) / 1024 if text and text[-1].isdigit() else float("nan")
    return wall, rss_mb, code


def spectroview_command() -> list[str]:
    """How a user runs it: the installed ``spectroview`` script beside this interpreter.

    Not ``python -m spectroview`` from the repository: that imports the
    sources in the working tree, which this machine compiles on every run
    (``PYTHONDONTWRITEBYTECODE=1`` in its environment; 0.05-0.09 s of a
    render), where an installed package has its bytecode compiled once.
    Falls back to ``-m`` where the script is not installed.
    """
    script = shutil.which("spectroview", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "spectroview"]


def bench_render(seconds: float, repeats: int) -> dict[str, object]:
    import soundfile

    sox = shutil.which("sox")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "long.wav"
        mono = signal(seconds, 44100)
        stereo = np.stack([mono, np.roll(mono, 4410)], axis=1)
        soundfile.write(wav, stereo, 44100, subtype="PCM_16")
        ours_cmd = [
            *spectroview_command(),
            "render",
            str(wav),
            "-o",
            f"{tmp}/ours.png",
            "--width",
            "1800",
            "--height",
            "513",
        ]
        sox_cmd = [sox or "sox", str(wav), "-n", "spectrogram", "-x", "1800", "-y", "513", "-o", f"{tmp}/sox.png"]
        ours, theirs = [], []
        for _ in range(repeats + 1):  # alternate A B A B; the first pair warms the page cache
            ours.append(_run_measured(ours_cmd))
            if sox:
                theirs.append(_run_measured(sox_cmd))
        ours, theirs = ours[1:], theirs[1:]
        if any(code != 0 for _, _, code in ours):
            raise SystemExit("spectroview render failed in the benchmark")
        result: dict[str, object] = {
            "file": {
                "seconds": seconds,
                "sr": 44100,
                "channels": 2,
                "subtype": "PCM_16",
                "mb": round(wav.stat().st_size / 2**20, 1),
            },
            "image": "1800x513",
            "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(ours_cmd[:2])),
            "spectroview_render_wall_s": round(statistics.median(w for w, _, _ in ours), 3),
            "spectroview_render_wall_runs_s": [round(w, 3) for w, _, _ in ours],
            "spectroview_render_peak_rss_mb": round(max(r for _, r, _ in ours), 1),
        }
        if sox:
            result["sox_spectrogram_wall_s"] = round(statistics.median(w for w, _, _ in theirs), 3)
            result["sox_spectrogram_wall_runs_s"] = [round(w, 3) for w, _, _ in theirs]
            result["sox_spectrogram_peak_rss_mb"] = round(max(r for _, r, _ in theirs), 1)
            ratios = [a[0] / b[0] for a, b in zip(ours, theirs, strict=True)]
            result["spectroview_over_sox_median_pairwise"] = round(statistics.median(ratios), 3)
        else:
            result["sox"] = "not found on PATH: install sox to compare"
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="signal length (default 600)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--skip-render", action="store_true", help="engine figures only")
    args = parser.parse_args()
    report: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "engine": bench_engine(args.seconds, args.repeats),
    }
    if not args.skip_render:
        report["render"] = bench_render(args.seconds, args.repeats)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
