"""Start-up benchmark: how long the command line takes before it does anything.

Run: ``python -m tests.benchmarks.startup [--repeats 15]``.

Figures (JSON, medians of ``--repeats`` runs, wall seconds):

- ``version_s``, ``help_s``, ``render_help_s``: ``spectroview --version``,
  ``--help`` and ``render --help`` (none of them may import numpy's heavy
  neighbours; ``tests/cli/test_startup.py`` checks which modules load);
- ``python_s``: the interpreter alone (``python -c pass``), the floor;
- ``import_numpy_s``: ``python -c "import numpy"``, for scale;
- ``importtime_top``: the slowest imports of ``--version`` by
  ``python -X importtime`` (cumulative microseconds), to see what to cut next.

Target: ``--version`` in 0.10 s or less.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.benchmarks.engine import spectroview_command


def _median_wall(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def _importtime(argv: list[str], top: int = 8) -> list[tuple[str, int]]:
    code = f"from spectroview.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    ).stderr
    rows = []
    for line in out.splitlines():  # "import time:  self [us] | cumulative | name"
        parts = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        rows.append((parts[2].strip(), int(parts[1])))
    return sorted(rows, key=lambda row: -row[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    cli = spectroview_command()
    report = {
        "cores": os.cpu_count(),
        "python_s": _median_wall([py, "-c", "pass"], args.repeats),
        "import_numpy_s": _median_wall([py, "-c", "import numpy"], args.repeats),
        "version_s": _median_wall([*cli, "--version"], args.repeats),
        "help_s": _median_wall([*cli, "--help"], args.repeats),
        "render_help_s": _median_wall([*cli, "render", "--help"], args.repeats),
        "command": Path(cli[0]).name,
        "importtime_top": _importtime(["--version"]),
        "target_version_s": 0.10,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
