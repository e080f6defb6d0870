"""``spectroview features DIR -o OUTDIR``: every audio file of a tree, on all cores."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from tests.cli.helpers import PREFIX_ERROR, assert_clean_error, run_many, tone

#: The good files of the tree: relative path -> (sample rate, seconds, seed).
GOOD = {
    "birds/a.wav": (16000, 0.5, 0),
    "birds/b.FLAC": (16000, 0.7, 1),
    "speech/deeper/c.wav": (22050, 0.4, 2),
    "speech/d.flac": (16000, 0.3, 3),
}
CORRUPT = "speech/broken.wav"
MEL = ("--n-mels", "64", "--hop", "512")


def clip(sr: int, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = tone(500.0 * (seed + 1), sr, seconds, 0.3) + 0.05 * rng.standard_normal(round(sr * seconds))
    return y.astype(np.float32)


def npy_of(rel: str) -> str:
    return str(Path(rel).with_suffix(".npy"))


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    good = tmp_path_factory.mktemp("good")
    for rel, (sr, seconds, seed) in GOOD.items():
        (good / rel).parent.mkdir(parents=True, exist_ok=True)
        fmt = "FLAC" if rel.lower().endswith(".flac") else "WAV"
        soundfile.write(
            good / rel, clip(sr, seconds, seed), sr, format=fmt, subtype="PCM_16" if fmt == "FLAC" else "FLOAT"
        )
    mixed = tmp_path_factory.mktemp("mixed") / "tree"
    shutil.copytree(good, mixed)
    (mixed / CORRUPT).write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk, not audio")
    (mixed / "speech" / "notes.txt").write_text("not audio, ignored\n")
    empty = tmp_path_factory.mktemp("empty")
    (empty / "sub").mkdir()
    (empty / "sub" / "readme.txt").write_text("no audio here\n")
    return {"good": good, "mixed": mixed, "empty": empty}


Proc = subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def runs(trees: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Proc]]:
    """Every command of this module, run concurrently; each writes into its own fresh place."""
    base = tmp_path_factory.mktemp("runs")
    jobs: dict[str, tuple[Path, Path, tuple[str, ...]]] = {
        "mixed": (trees["mixed"], base / "mixed" / "out", MEL),
        "good_normalized": (trees["good"], base / "good_normalized", (*MEL, "--normalize")),
        "dataset": (trees["good"], base / "dataset", (*MEL, "--dataset-stats")),
        "ast": (trees["good"], base / "ast", ("--preset", "ast")),
        "empty": (trees["empty"], base / "empty" / "out", ()),
    }
    # The single-file references, one per good file and mode.
    for rel in GOOD:
        for mode, opts in (("plain", MEL), ("normalized", (*MEL, "--normalize")), ("ast", ("--preset", "ast"))):
            out = base / f"single_{mode}" / npy_of(rel)
            jobs[f"single_{mode}:{rel}"] = (trees["good"] / rel, out, opts)
    for _, out, _ in jobs.values():
        out.parent.mkdir(parents=True, exist_ok=True)  # OUTDIR itself is created by the command
    procs = run_many([("features", src, "-o", out, *opts) for src, out, opts in jobs.values()])
    return {name: (out, proc) for (name, (_, out, _)), proc in zip(jobs.items(), procs, strict=True)}


def single(runs: dict[str, tuple[Path, Proc]], mode: str, rel: str) -> tuple[np.ndarray, dict[str, Any]]:
    out, proc = runs[f"single_{mode}:{rel}"]
    assert proc.returncode == 0, proc.stderr
    return np.load(out), json.loads(out.with_suffix(".json").read_text())


def tree_of(root: Path) -> list[str]:
    """The outputs under ``root``, without the manifest (every run writes one)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != "manifest.csv")


def outputs_of(rels: list[str], *extra: str) -> list[str]:
    names = [str(Path(rel).with_suffix(suffix).as_posix()) for rel in rels for suffix in (".npy", ".json", *extra)]
    return sorted(names)


def test_tree_mirrored_corrupt_file_skipped(runs: dict[str, tuple[Path, Proc]], trees: dict[str, Path]) -> None:
    out, proc = runs["mixed"]
    assert proc.returncode == 1, proc.stderr
    # Each written file is exactly what the single-file mode writes for it (the path in the sidecar too).
    assert tree_of(out) == outputs_of(list(GOOD))
    for rel in GOOD:
        want, want_meta = single(runs, "plain", rel)
        got = np.load(out / npy_of(rel))
        assert got.dtype == np.float32 and np.array_equal(got, want), rel
        meta = json.loads((out / npy_of(rel)).with_suffix(".json").read_text())
        assert meta["source"]["path"] == str(trees["mixed"] / rel)
        meta["source"]["path"] = want_meta["source"]["path"]
        assert meta == want_meta, rel
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"spectroview: skipped {trees['mixed'] / CORRUPT}: "), lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == f"wrote 4 feature files to {out}; skipped 1\n"


def test_good_tree_exit_0_and_per_file_normalization(runs: dict[str, tuple[Path, Proc]]) -> None:
    out, proc = runs["good_normalized"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == f"wrote 4 feature files to {out}; skipped 0\n"
    assert tree_of(out) == outputs_of(list(GOOD))
    for rel in GOOD:
        want, want_meta = single(runs, "normalized", rel)
        got = np.load(out / npy_of(rel))
        assert np.array_equal(got, want), rel
        meta = json.loads((out / npy_of(rel)).with_suffix(".json").read_text())
        assert meta["normalize"] == want_meta["normalize"]
        assert abs(float(got.mean())) < 1e-4 and float(got.std()) == pytest.approx(1.0, abs=1e-4)


def test_dataset_stats(runs: dict[str, tuple[Path, Proc]]) -> None:
    out, proc = runs["dataset"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == f"wrote 4 feature files to {out}; skipped 0\n"
    assert tree_of(out) == sorted([*outputs_of(list(GOOD)), "stats.json"])
    plain = {rel: single(runs, "plain", rel)[0] for rel in GOOD}
    everything = np.concatenate([x.astype(np.float64).ravel() for x in plain.values()])
    stats = json.loads((out / "stats.json").read_text())
    assert stats["count"] == everything.size
    assert stats["mean"] == pytest.approx(float(everything.mean()), rel=1e-5)
    assert stats["std"] == pytest.approx(float(everything.std()), rel=1e-5)
    assert sorted(stats["files"]) == sorted(GOOD)
    assert stats["preset"] == "librosa"
    assert stats["params"]["n_mels"] == 64 and stats["params"]["hop_length"] == 512
    for rel, x in plain.items():
        got = np.load(out / npy_of(rel))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, (x - stats["mean"]) / stats["std"], atol=1e-5)
        meta = json.loads((out / npy_of(rel)).with_suffix(".json").read_text())
        assert meta["normalize"]["scope"] == "dataset"
        assert meta["normalize"]["mean"] == stats["mean"] and meta["normalize"]["std"] == stats["std"]
        assert meta["normalize"]["stats"] == str(out / "stats.json")
    # One shared normalization: the files together have zero mean and unit variance.
    together = np.concatenate([np.load(out / npy_of(rel)).astype(np.float64).ravel() for rel in GOOD])
    assert abs(float(together.mean())) < 1e-4 and float(together.std()) == pytest.approx(1.0, abs=1e-4)


def test_preset_ast_on_a_directory(runs: dict[str, tuple[Path, Proc]]) -> None:
    out, proc = runs["ast"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"wrote 4 feature files to {out}; skipped 0\n"
    assert tree_of(out) == outputs_of(list(GOOD))
    for rel in GOOD:
        got = np.load(out / npy_of(rel))
        assert got.shape == (128, 1024) and got.dtype == np.float32
        want, _ = single(runs, "ast", rel)
        assert np.array_equal(got, want), rel
        assert json.loads((out / npy_of(rel)).with_suffix(".json").read_text())["preset"] == "ast"


def test_empty_directory_is_a_usage_error(runs: dict[str, tuple[Path, Proc]], trees: dict[str, Path]) -> None:
    out, proc = runs["empty"]
    assert_clean_error(proc, out, mentions=[str(trees["empty"]), "no audio files"])


def test_usage_errors(trees: dict[str, Path], tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file\n")
    a_file = trees["good"] / "birds" / "a.wav"
    cases = {
        "output_is_a_file": (("features", trees["good"], "-o", taken), ["-o", "not a directory"]),
        "stats_without_dir": (
            ("features", a_file, "-o", tmp_path / "x" / "a.npy", "--dataset-stats"),
            ["--dataset-stats", "directory"],
        ),
        "stats_with_ast": (
            ("features", trees["good"], "-o", tmp_path / "y" / "out", "--preset", "ast", "--dataset-stats"),
            ["--dataset-stats", "--preset ast"],
        ),
        "bad_n_fft": (("features", trees["good"], "-o", tmp_path / "z" / "out", "--n-fft", "3"), ["--n-fft"]),
    }
    procs = run_many([args for args, _ in cases.values()])
    for (name, (_, mentions)), proc in zip(cases.items(), procs, strict=True):
        lines = proc.stderr.splitlines()
        assert proc.returncode == 2, (name, proc.stderr)
        assert len(lines) == 1 and lines[0].startswith(PREFIX_ERROR), (name, lines)
        assert proc.stdout == ""
        for text in mentions:
            assert text in lines[0], (name, lines[0])
    assert taken.read_text() == "a file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


@pytest.mark.parametrize(("signum", "status"), [(2, 130), (15, 143)])
def test_an_interrupted_batch_stops_its_workers_and_leaves_only_whole_outputs(
    tmp_path: Path, signum: int, status: int
) -> None:
    import os
    import sys
    import time

    import psutil

    from tests.cli.helpers import REPO_ROOT

    src = tmp_path / "in"
    src.mkdir()
    (src / "late").mkdir()
    for i in range(40):  # far more work than the few seconds before the signal; the last ones in a subfolder
        where = src / "late" if i >= 36 else src
        soundfile.write(where / f"f{i:02d}.wav", clip(22050, 20.0, i), 22050, subtype="PCM_16")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "spectroview", "features", str(src), "-o", str(out), "--n-fft", "4096", "--hop", "64"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 30
    while not parent.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # the workers are inside their first files
    workers = parent.children(recursive=True)
    assert workers, "no worker processes started"
    os.kill(proc.pid, signum)  # to the parent only, as `kill` or a process manager sends it
    started = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert time.monotonic() - started < 10  # the batch does not go on
    assert err.strip().splitlines()[-1] == "spectroview: interrupted", err
    assert "Traceback" not in err
    _gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, f"workers still running: {alive}"
    written = sorted(p.name for p in out.rglob("*"))
    assert not [n for n in written if n.endswith(".tmp")], written  # nothing half-written
    empty = [p for p in out.rglob("*") if p.is_dir() and not any(p.iterdir())]
    assert not empty, f"empty folders left: {empty}"
    npys = [n for n in written if n.endswith(".npy")]
    assert len(npys) < 40  # it stopped
    for name in npys:  # what was finished is whole: the matrix and its sidecar
        assert np.load(out / name).shape[0] == 128
        assert (out / name).with_suffix(".json").exists()
