"""``features DIR`` on dask.distributed: equal to a serial run, robust to a killed worker, resumable.

The folder holds 40 files of several codecs made by the ffmpeg command line
(WAV, FLAC, MP3, Ogg Vorbis), so the workers decode what users have.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from tests.cli.helpers import REPO_ROOT, run_cli

N_FILES = 40
CODECS = {
    ".wav": ["-c:a", "pcm_s16le"],
    ".flac": ["-c:a", "flac"],
    ".mp3": ["-c:a", "libmp3lame"],
    ".ogg": ["-c:a", "libvorbis"],
}
#: Enough work per file (a hop of 32 samples) that a run lasts a few seconds on two workers.
SLOW = ("--hop", "32", "--n-mels", "40")

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line")


def _make(path: Path, i: int) -> None:
    freq = 200 + 37 * i
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate={22050 if i % 3 else 16000}:duration=3",
            "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.05:seed={i}:duration=3:sample_rate={22050 if i % 3 else 16000}",
            "-filter_complex", "amix=inputs=2:normalize=0",
            *CODECS[path.suffix],
            str(path),
        ],
        check=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dask") / "in"
    (root / "sub").mkdir(parents=True)
    suffixes = list(CODECS)
    for i in range(N_FILES):
        folder = root / "sub" if i % 4 == 0 else root
        _make(folder / f"f{i:02d}{suffixes[i % len(suffixes)]}", i)
    return root


def outputs(root: Path) -> dict[str, bytes]:
    """Every output file's bytes, by relative name (the manifest aside)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.csv"
    }


def manifest(root: Path) -> list[dict[str, str]]:
    with open(root / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def serial(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "out"
    proc = run_cli("features", tree, "-o", out, *SLOW, "--workers", "0", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def test_a_local_cluster_of_two_workers_writes_what_a_serial_run_writes(
    tree: Path, serial: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    proc = run_cli("features", tree, "-o", out, *SLOW, "--workers", "2", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == f"wrote {N_FILES} feature files to {out}; skipped 0\n"
    got, want = outputs(out), outputs(serial)
    assert len(got) == 2 * N_FILES
    assert got == want  # byte for byte, sidecars included
    rows = manifest(out)
    assert [r["status"] for r in rows] == ["written"] * N_FILES
    assert sorted(r["file"] for r in rows) == sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*.*"))
    for r in rows:
        shape = tuple(int(v) for v in r["shape"].split("x"))
        assert np.load(out / r["output"]).shape == shape
        assert float(r["duration_s"]) == pytest.approx(3.0, abs=0.06)  # MP3 and Vorbis may pad a little


def _worker_processes(parent: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in parent.children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


def _start_until(tree: Path, out: Path, n_outputs: int, **popen: object) -> subprocess.Popen[str]:
    """``features tree -o out`` on 2 workers, returned once ``n_outputs`` NPY files exist."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "spectroview", "features", str(tree), "-o", str(out), *SLOW, "--workers", "2"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[call-overload]
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.rglob("*.npy"))) < n_outputs:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)  # polling the file system: the outputs are the event
    return proc


def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(tree: Path, serial: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _start_until(tree, out, 3)
    parent = psutil.Process(proc.pid)
    workers = _worker_processes(parent)
    assert len(workers) == 2, workers
    victim = max(workers, key=lambda p: p.cpu_percent(interval=0.05))
    victim.kill()  # SIGKILL: no chance to tidy its temporary files
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert len(list(out.rglob("*.npy"))) < 2 * N_FILES  # no extra names
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert outputs(out) == outputs(serial)  # every output, whole, once
    assert [r["status"] for r in manifest(out)] == ["written"] * N_FILES
    assert stdout == f"wrote {N_FILES} feature files to {out}; skipped 0\n"


def test_resume_recomputes_nothing_then_only_what_changed(tree: Path, tmp_path: Path) -> None:
    work = tmp_path / "in"
    shutil.copytree(tree, work)
    out = tmp_path / "out"
    first = run_cli("features", work, "-o", out, "--preset", "panns", "--workers", "2", timeout=300)
    assert first.returncode == 0, first.stderr
    times = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.suffix in (".npy", ".json")}
    second = run_cli("features", work, "-o", out, "--preset", "panns", "--resume", timeout=300)
    assert second.returncode == 0, second.stderr
    assert second.stdout == f"wrote 0 feature files to {out} (kept {N_FILES} from an earlier run); skipped 0\n"
    assert {p: p.stat().st_mtime_ns for p in times} == times  # nothing rewritten
    assert [r["status"] for r in manifest(out)] == ["resumed"] * N_FILES
    # One output made with other parameters, one source changed since: those two, and only those, are redone.
    other = next(iter(sorted(work.glob("f01.*"))))
    made_apart = run_cli("features", other, "-o", out / "f01.npy", "--preset", "librosa")
    assert made_apart.returncode == 0, made_apart.stderr
    changed = next(iter(sorted(work.glob("f02.*"))))
    os.utime(changed, ns=(time.time_ns(), time.time_ns()))
    third = run_cli("features", work, "-o", out, "--preset", "panns", "--resume", "--workers", "2", timeout=300)
    assert third.returncode == 0, third.stderr
    assert third.stdout == f"wrote 2 feature files to {out} (kept {N_FILES - 2} from an earlier run); skipped 0\n"
    statuses = {r["file"]: r["status"] for r in manifest(out)}
    assert {f for f, s in statuses.items() if s == "written"} == {other.name, changed.name}
    assert json.loads((out / "f01.json").read_text())["preset"] == "panns"
    assert np.load(out / "f01.npy").shape[0] == 64


def test_dataset_statistics_are_a_reduction_equal_to_the_serial_ones(tree: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    procs = [
        run_cli("features", tree, "-o", a, "--preset", "torchaudio", "--log", "db", "--dataset-stats", "--workers", "2", timeout=300),
        run_cli("features", tree, "-o", b, "--preset", "torchaudio", "--log", "db", "--dataset-stats", "--workers", "0", timeout=300),
    ]  # fmt: skip
    for proc in procs:
        assert proc.returncode == 0, proc.stderr
    sa, sb = (json.loads((d / "stats.json").read_text()) for d in (a, b))
    assert sa["count"] == sb["count"] > 0
    assert sa["mean"] == pytest.approx(sb["mean"], rel=1e-12) and sa["std"] == pytest.approx(sb["std"], rel=1e-12)
    together = np.concatenate([np.load(p).astype(np.float64).ravel() for p in sorted(a.rglob("f*.npy"))])
    assert together.size == sa["count"]
    assert abs(float(together.mean())) < 1e-4 and float(together.std()) == pytest.approx(1.0, abs=1e-4)
    # A second run with --resume reuses the statistics and every output.
    again = run_cli("features", tree, "-o", a, "--preset", "torchaudio", "--log", "db", "--dataset-stats", "--resume", timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"wrote 0 feature files to {a} (kept {N_FILES}" in again.stdout


def test_an_existing_cluster_by_its_address_runs_the_same_tasks(tree: Path, serial: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        out = tmp_path / "out"
        proc = run_cli("features", tree, "-o", out, *SLOW, "--scheduler", cluster.scheduler_address, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert outputs(out) == outputs(serial)


def test_a_parquet_manifest(tree: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed")
    out = tmp_path / "out"
    proc = run_cli("features", tree, "-o", out, "--preset", "whisper", "--manifest", tmp_path / "m.parquet", timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    table = pq.read_table(tmp_path / "m.parquet").to_pylist()
    assert len(table) == N_FILES and {r["status"] for r in table} == {"written"}
    assert {r["shape"] for r in table} == {"80x3000"}
    assert list(table[0]) == ["file", "output", "shape", "duration_s", "status", "error", "warnings"]


def test_ctrl_c_at_a_terminal_stops_the_cluster_and_leaves_only_whole_outputs(tree: Path, tmp_path: Path) -> None:
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it: the workers get it too."""
    out = tmp_path / "out"
    proc = _start_until(tree, out, 1, start_new_session=True)  # its own group, like a job at a terminal
    parent = psutil.Process(proc.pid)
    workers = _worker_processes(parent)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "spectroview: interrupted", err
    assert "Traceback" not in err
    _gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"workers still running: {alive}"
    names = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert not [p for p in names if p.name.endswith(".tmp")], names
    npys = [p for p in names if p.suffix == ".npy"]
    assert 0 < len(npys) < N_FILES
    for p in npys:  # whatever was finished is whole: the matrix and its sidecar
        assert np.load(p).shape[0] == 40 and p.with_suffix(".json").is_file()


def test_a_wrong_scheduler_or_worker_count_is_one_line_and_nothing_written(tree: Path, tmp_path: Path) -> None:
    from tests.cli.helpers import assert_clean_error

    cases = [
        (("--scheduler", "nonsense"), ["--scheduler nonsense", "missing port"]),
        (("--scheduler", "tcp://127.0.0.1:9"), ["--scheduler tcp://127.0.0.1:9", "cannot reach"]),
        (("--workers", "-1"), ["--workers", "must be >= 0"]),
        (("--manifest", str(tmp_path / "m.txt")), ["--manifest", ".csv or .parquet"]),
        (("--workers", "2", "--scheduler", "tcp://127.0.0.1:9"), ["--workers", "not with --scheduler"]),
    ]
    for i, (options, mentions) in enumerate(cases):
        out = tmp_path / f"out{i}"
        proc = run_cli("features", tree, "-o", out, *options, timeout=120)
        assert_clean_error(proc, out, mentions=mentions)
        assert not out.exists()


def die_on_poison(item, **_kwargs):  # type: ignore[no-untyped-def]
    """A task for the runner: the file named poison kills its worker process, like a decoder crash."""
    from spectroview.batch.dataset import ItemResult

    if "poison" in item.source:
        os._exit(9)
    return ItemResult(item, "written")


def test_a_file_that_kills_every_worker_it_meets_fails_alone(tmp_path: Path) -> None:
    from spectroview.batch.dataset import DatasetItem, _Runner

    items = [DatasetItem(str(tmp_path / n), n, str(tmp_path / f"{n}.npy")) for n in ("a.wav", "poison.wav", "b.wav")]
    runner = _Runner(workers=2, scheduler=None)
    ticks: list[int] = []
    try:
        results = runner.map(die_on_poison, items, lambda: ticks.append(1))
    finally:
        runner.close()
    assert [r.status for r in results] == ["written", "skipped", "written"]
    assert "worker process died" in (results[1].error or "") and len(ticks) == 3


def test_a_source_gone_before_its_task_is_skipped_not_fatal(tmp_path: Path) -> None:
    from spectroview.batch.dataset import DatasetItem, run_dataset
    from spectroview.batch.features import FeatureRequest
    from spectroview.dsp.frontends import front_end

    item = DatasetItem(str(tmp_path / "gone.wav"), "gone.wav", str(tmp_path / "gone.npy"))
    report = run_dataset([item], FeatureRequest(front_end("librosa")), workers=0, resume=True)
    assert report.results[0].status == "skipped" and not (tmp_path / "gone.npy").exists()


def test_relative_paths_reach_workers_started_elsewhere(tree: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    here = tmp_path / "work"
    (here / "data").mkdir(parents=True)
    for p in sorted(tree.glob("f0[0-3].*")):
        shutil.copy(p, here / "data" / p.name)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "spectroview",
                "features",
                "data",
                "-o",
                "out",
                "--scheduler",
                cluster.scheduler_address,
            ],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
    assert proc.returncode == 0, proc.stderr
    assert len(list((here / "out").glob("*.npy"))) == 3  # f00 is in sub/ of the tree: not copied


def test_files_of_the_users_are_never_replaced_and_cut_outputs_are_redone(tmp_path: Path) -> None:
    import soundfile

    folder = tmp_path / "mine"
    (folder / ".git").mkdir(parents=True)
    tone = (0.3 * np.sin(np.arange(16000) * 0.2)).astype(np.float32)
    for name in ("a.wav", "b.wav", "c.wav", ".git/hidden.wav"):
        soundfile.write(folder / name, tone, 16000)
    (folder / "a.json").write_text('{"my": "notes"}\n')
    (folder / "gone.wav").symlink_to(folder / "nowhere.wav")
    proc = run_cli("features", folder, "-o", folder, "--workers", "0")
    assert proc.returncode == 1
    assert json.loads((folder / "a.json").read_text()) == {"my": "notes"}  # left alone
    assert not (folder / "a.npy").exists()
    assert "a.json: exists and is not an earlier output" in proc.stderr
    assert "gone.wav: not a regular file" in proc.stderr
    assert not (folder / ".git" / "hidden.npy").exists()
    rows = {r["file"]: r for r in manifest(folder)}
    assert rows["a.wav"]["status"] == "skipped" and rows["b.wav"]["status"] == "written"
    assert rows["gone.wav"]["status"] == "skipped" and "not a regular file" in rows["gone.wav"]["error"]
    (folder / "stats.json").write_text('{"user": 1}\n')
    stats = run_cli("features", folder, "-o", folder, "--workers", "0", "--dataset-stats")
    assert stats.returncode == 2 and "stats.json: exists and is not the dataset statistics" in stats.stderr
    assert (folder / "stats.json").read_text() == '{"user": 1}\n'
    (folder / "stats.json").unlink()
    # An output cut short (a full disk, a copy interrupted) is not kept by --resume.
    npy = folder / "b.npy"
    whole = npy.read_bytes()
    npy.write_bytes(whole[: len(whole) // 2])
    again = run_cli("features", folder, "-o", folder, "--workers", "0", "--resume")
    assert npy.read_bytes() == whole, again.stderr
    assert {r["file"]: r["status"] for r in manifest(folder)}["b.wav"] == "written"
    assert {r["file"]: r["status"] for r in manifest(folder)}["c.wav"] == "resumed"
    # A single file: a sidecar name taken by a file of the user's is refused, before any work.
    (tmp_path / "x.json").write_text("mine\n")
    single = run_cli("features", folder / "c.wav", "-o", tmp_path / "x.npy")
    assert single.returncode == 2 and "x.json: exists and is not an earlier output" in single.stderr
    assert (tmp_path / "x.json").read_text() == "mine\n" and not (tmp_path / "x.npy").exists()
    empty = run_cli("features", "", "-o", tmp_path / "y.npy")
    assert empty.returncode == 2 and "FILE: empty" in empty.stderr
    no_out = run_cli("features", folder, "-o", "")
    assert no_out.returncode == 2 and "-o: empty" in no_out.stderr
