"""Dataset features benchmark: files per second, serially, on a local Dask cluster, and on the old process pool.

Run: ``python -m tests.benchmarks.features [--files 40] [--seconds 30] [--repeats 2]``.

A folder of ``--files`` WAV files (22.05 kHz mono, ``--seconds`` each: tones
in pink noise) goes through ``spectroview features DIR -o OUT`` (the librosa
preset, its defaults) in four ways, alternated run by run on the same machine:

- ``serial``: ``--workers 0``, one file after another in the command's process;
- ``dask_1``, ``dask_2``: a LocalCluster of 1 and 2 worker processes (cluster
  start-up included: it is part of what a user waits for);
- ``old_pool``: the same command of the last commit before Dask
  (``--old-rev``, default 5251fee: a ProcessPoolExecutor of one process per
  core), its sources taken with ``git archive`` and run with this venv.

Figures (JSON): the median wall time and files per second of each way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[2]
OLD_REV = "5251fee"


def make_files(folder: Path, n: int, seconds: float, sr: int = 22050) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(round(seconds * sr)) / sr
    for i in range(n):
        pink = np.cumsum(rng.standard_normal(t.size)) * 1e-3
        pink -= np.convolve(pink, np.ones(256) / 256, mode="same")
        y = 0.3 * np.sin(2 * np.pi * (200 + 23 * i) * t) + pink
        soundfile.write(folder / f"f{i:03d}.wav", y.astype(np.float32), sr, subtype="PCM_16")


def old_sources(rev: str, into: Path) -> Path | None:
    """The package at ``rev`` (git archive), or None where git or the revision is missing."""
    try:
        data = subprocess.run(
            ["git", "archive", "--format=tar", rev, "spectroview", "resources"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    into.mkdir(parents=True, exist_ok=True)
    tar = into / "old.tar"
    tar.write_bytes(data)
    with tarfile.open(tar) as archive:
        archive.extractall(into, filter="data")
    # The old package finds its demo under spectroview/resources when installed; the sources' copy will do.
    shutil.copytree(into / "resources", into / "spectroview" / "resources", dirs_exist_ok=True)
    return into


def timed(cmd: list[str], env: dict[str, str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--old-rev", default=OLD_REV)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        src = base / "in"
        src.mkdir()
        make_files(src, args.files, args.seconds)
        env = dict(os.environ)
        ways: dict[str, tuple[list[str], dict[str, str]]] = {}
        for name, extra in (
            ("serial", ["--workers", "0"]),
            ("dask_1", ["--workers", "1"]),
            ("dask_2", ["--workers", "2"]),
        ):
            ways[name] = (
                [sys.executable, "-m", "spectroview", "features", str(src), "-o", str(base / name), *extra],
                env,
            )
        old = old_sources(args.old_rev, base / "old")
        if old is not None:
            old_env = {**env, "PYTHONPATH": str(old)}
            ways["old_pool"] = (
                [sys.executable, "-m", "spectroview", "features", str(src), "-o", str(base / "old_pool")],
                old_env,
            )
        walls: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.repeats):
            for name, (cmd, run_env) in ways.items():
                walls[name].append(timed(cmd, run_env, Path(cmd[cmd.index("-o") + 1])))
        result: dict[str, object] = {
            "files": args.files,
            "seconds_per_file": args.seconds,
            "cores": os.cpu_count(),
            "old_rev": args.old_rev if old is not None else None,
        }
        for name, values in walls.items():
            median = statistics.median(values)
            result[f"{name}_s"] = round(median, 2)
            result[f"{name}_files_per_s"] = round(args.files / median, 2)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
