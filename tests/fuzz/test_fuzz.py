"""The fuzz suite: render, features and --screenshot on a seeded corpus of hostile inputs.

Every run must end in exit 0 with a correct output or exit 2 with one
``spectroview: error:`` line: no traceback, no hang (30 s), no more than
2 GiB beyond the warm process, no leftover file, and every input unchanged.
The seed is printed; ``SPECTROVIEW_FUZZ_SEED=N pytest -m fuzz`` replays a
failure (the default seed keeps ``make test`` reproducible).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spectroview.render.png import read_png
from tests.fuzz.corpus import make_corpus, snapshot

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SEED = 20261201
TIMEOUT_S = 30
MEMORY = 2 << 30


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line to make the corpus")
@pytest.mark.timeout(600)
def test_hostile_inputs_end_in_a_picture_or_one_line(tmp_path: Path) -> None:
    seed = int(os.environ.get("SPECTROVIEW_FUZZ_SEED", DEFAULT_SEED))
    print(f"fuzz seed {seed} (replay: SPECTROVIEW_FUZZ_SEED={seed} pytest -m fuzz)")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    started = time.monotonic()
    cases = make_corpus(inputs, seed)
    print(f"corpus: {len(cases)} inputs in {time.monotonic() - started:.1f} s")
    hostile = [c for c in cases if not c.valid]
    assert len(hostile) >= 150, len(hostile)
    before = snapshot(inputs)

    logs = tmp_path / "logs"
    logs.mkdir()
    jobs, expect = [], []
    for i, case in enumerate(cases):
        src = os.fsdecode(case.path)
        for command, argv, made in (
            ("render", ["render", src, "-o", "{out}/r.png", "--width", "300", "--height", "120"], ["r.png"]),
            ("features", ["features", src, "-o", "{out}/f.npy"], ["f.npy", "f.json"]),
            ("screenshot", [src, "--screenshot", "{out}/s.png", "--size", "640x400"], ["s.png"]),
        ):
            outdir = tmp_path / "out" / f"{i:03d}-{command}"
            outdir.mkdir(parents=True)
            argv = [a.replace("{out}", str(outdir)) for a in argv]
            log = logs / f"{i:03d}-{command}"
            jobs.append({"argv": argv, "stdout": f"{log}.out", "stderr": f"{log}.err"})
            expect.append((case, command, outdir, made, log))
    spec = tmp_path / "jobs.json"
    spec.write_text(json.dumps({"jobs": jobs, "workers": os.cpu_count() or 2, "timeout": TIMEOUT_S, "memory": MEMORY}))
    results_path = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.runner", str(spec), str(results_path)],
        cwd=ROOT,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=560,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(results_path.read_text())
    slowest = sorted(zip(results, expect, strict=True), key=lambda r: -r[0]["seconds"])[:5]
    for command in ("render", "features", "screenshot"):
        times = [r["seconds"] for r, e in zip(results, expect, strict=True) if e[1] == command]
        print(f"{command}: {len(times)} runs, {sum(times):.1f} s in all, median {sorted(times)[len(times) // 2]:.2f} s")
    print("slowest:", [(f"{e[1]} {e[0].path.name}", round(r["seconds"], 2)) for r, e in slowest])

    problems: list[str] = []
    for result, (case, command, outdir, made, log) in zip(results, expect, strict=True):
        err = Path(f"{log}.err").read_text(errors="replace")
        lines = err.strip().splitlines()
        what = f"{command} on {case.path.name!r} ({case.how}): exit {result['status']}"
        left = sorted(p.name for p in outdir.iterdir())
        if result["hang"]:
            problems.append(f"{what}: no answer after {TIMEOUT_S} s")
        elif "Traceback" in err or any(not line.startswith("spectroview: ") for line in lines):
            problems.append(f"{what}: stderr {lines[-3:]!r}")
        elif result["status"] == 2:
            errors = [line for line in lines if line.startswith("spectroview: error: ")]
            if len(errors) != 1 or len(lines) != 1:
                problems.append(f"{what}: not one error line: {lines!r}")
            elif left:
                problems.append(f"{what}: left {left}")
        elif result["status"] == 0:
            if left != sorted(made):
                problems.append(f"{what}: wrote {left}, expected {sorted(made)}")
            elif command == "render" and read_png(outdir / "r.png").shape != (120, 300, 3):
                problems.append(f"{what}: a PNG of the wrong size")
            elif command == "features":
                matrix = np.load(outdir / "f.npy")
                meta = json.loads((outdir / "f.json").read_text())
                if not (matrix.ndim == 2 and np.isfinite(matrix).all() and list(matrix.shape) == meta["shape"]):
                    problems.append(f"{what}: features {matrix.shape} finite={np.isfinite(matrix).all()}")
        else:
            problems.append(f"{what}: {lines[-1:]!r}")
        if case.valid and result["status"] != 0:
            problems.append(f"{what}: a good file did not render: {lines!r}")
        for path in outdir.iterdir():
            path.unlink()
    assert snapshot(inputs) == before, "an input was changed"
    n = len(results)
    assert not problems, f"{len(problems)} of {n} runs (seed {seed}):\n" + "\n".join(problems[:40])
