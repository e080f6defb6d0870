"""Every benchmark in one run: one JSON document, and the README's table regenerated from it.

Run: ``python -m tests.benchmarks.report [--readme README.md] [--out FILE] [--quick]``
(``make bench`` does this).  Each benchmark runs in its own process, one after
the other (the machine otherwise quiet), and prints JSON; this collects them
under their names with the machine's core count, writes them to ``--out``
(default ``tests/benchmarks/last-run.json``, kept in the repository as the
record behind the README's table)
and replaces the table between ``<!-- bench:start -->`` and
``<!-- bench:end -->`` in ``--readme``.  A benchmark that fails or is skipped
is reported as such, and its rows say so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _benchmarks(quick: bool) -> list[tuple[str, list[str]]]:
    day = ["--day-hours", "1"] if quick else []
    return [
        ("startup", []),
        ("engine", []),
        ("viewer", day),
        ("live", []),
        ("responsiveness", []),
        ("audio", []),
        ("decode", []),
        ("features", ["--seconds", "120"]),
    ]


def run(name: str, args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", f"tests.benchmarks.{name}", *args], capture_output=True, text=True, cwd=ROOT, env=env
    )
    text = out.stdout.strip()
    try:
        result = json.loads(text[text.index("{") :]) if "{" in text else None
    except ValueError:
        result = None
    if out.returncode != 0 or not isinstance(result, dict):
        tail = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
        result = {"failed": tail}
    result["benchmark_wall_s"] = round(time.perf_counter() - started, 1)
    return result


def _get(report: dict[str, Any], *path: str) -> Any:
    node: Any = report
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _fmt(value: Any, unit: str = "", digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def table(report: dict[str, Any]) -> str:
    """The README's table: each measure beside its reference, from ``report``."""
    g = lambda *p: _get(report, *p)  # noqa: E731
    live = g("live") or {}
    friture = live.get("friture") or {}
    friture_text = (
        f"Friture 0.38, same harness: {_fmt(friture.get('cpu_share_of_one_core'))} of one core"
        if "cpu_share_of_one_core" in friture
        else f"Friture: {friture.get('skipped') or friture.get('failed') or 'not run'}"
    )
    ratio = g("engine", "render", "spectroview_over_sox_median_pairwise")
    day = g("viewer", "day_long") or {}
    rows = [
        (
            "`spectroview --version` (start-up)",
            _fmt(g("startup", "version_s"), " s"),
            f"python alone: {_fmt(g('startup', 'python_s'), ' s')}",
            "<= 0.10 s",
        ),
        (
            "`render` 10-min 44.1 kHz stereo WAV, 1800 px",
            f"{_fmt(g('engine', 'render', 'spectroview_render_wall_s'), ' s')} ({_fmt(ratio)}x SoX)",
            f"SoX `spectrogram`: {_fmt(g('engine', 'render', 'sox_spectrogram_wall_s'), ' s')}",
            "<= 0.5x SoX",
        ),
        (
            "window-size change -> new image, 30 s view at 1920 px",
            f"median {_fmt(g('viewer', 'slider_to_image_ms', 'median_ms'), ' ms', 0)}, "
            f"max {_fmt(g('viewer', 'slider_to_image_ms', 'max_ms'), ' ms', 0)}",
            "-",
            "median <= 50 ms, max <= 100 ms",
        ),
        (
            "colour map / floor change -> repainted",
            f"median {_fmt(g('viewer', 'colour_change_ms', 'median_ms'), ' ms', 0)}, "
            f"{_fmt(g('viewer', 'colour_change_ms', 'ffts_run'))} FFTs",
            "-",
            "no FFT",
        ),
        (
            f"live, n_fft 2048, {live.get('window', '?')} 1600x1000 window, 10 s history",
            f"{_fmt(live.get('cpu_share_of_one_core'))} of one core at {_fmt(live.get('frames_per_second'), ' fps', 0)}",
            friture_text,
            "<= 0.30 at 60 fps, below Friture",
        ),
        (
            "1-hour stereo file: exact overview complete",
            f"{_fmt(g('viewer', 'open_to_first_image_1h', 'complete_image_s'), ' s')}, "
            f"peak RSS {_fmt(g('viewer', 'hour_screenshot_peak', 'peak_rss_mb'), ' MB', 0)}",
            "-",
            "<= 2 s, <= 300 MB",
        ),
        (
            "1-hour file re-opened (overview cache)",
            f"complete in {_fmt(g('viewer', 'reopen_from_cache_1h', 'complete_image_s'), ' s')}",
            "-",
            "at once",
        ),
        (
            f"{_fmt(day.get('hours'), ' h', 0)} 48 kHz mono: first image / peak RSS / re-open complete",
            f"{_fmt(_get(day, 'first_open', 'first_image_s'), ' s')} / "
            f"{_fmt(_get(day, 'first_open', 'peak_rss_mb'), ' MB', 0)} / "
            f"{_fmt(_get(day, 'reopen_from_cache', 'complete_overview_s'), ' s', 1)}",
            f"overview built in {_fmt(_get(day, 'first_open', 'complete_overview_s'), ' s', 0)}",
            "<= 1 s / < 500 MB / <= 1 s",
        ),
        (
            "`melspectrogram`, 10 min mono 44.1 kHz",
            f"{_fmt(g('engine', 'engine', 'speedup_vs_librosa'), 'x', 1)} librosa, "
            f"{_fmt(g('engine', 'engine', 'ours_over_floor'), 'x', 1)} the FFT floor",
            f"librosa {_fmt(g('engine', 'engine', 'librosa_melspectrogram_s'), ' s')}; "
            f"bare rfft {_fmt(g('engine', 'engine', 'floor_rfft_s'), ' s', 3)}",
            ">= 4x librosa, <= 1.5x floor",
        ),
        (
            f"`features DIR`, {_fmt(g('features', 'files'))} WAV files of "
            f"{_fmt(g('features', 'seconds_per_file'), ' s', 0)}, librosa preset (files/s)",
            f"Dask: {_fmt(g('features', 'dask_2_files_per_s'))} (2 workers), "
            f"{_fmt(g('features', 'dask_1_files_per_s'))} (1 worker); "
            f"serial {_fmt(g('features', 'serial_files_per_s'))}",
            f"old process pool ({_fmt(g('features', 'old_rev'))}): {_fmt(g('features', 'old_pool_files_per_s'))}",
            "-",
        ),
    ]
    head = f"Measured by `make bench` on {report.get('machine', '?')}, {report.get('cores', '?')} cores, {report.get('date', '?')}:\n\n"
    lines = ["| measure | now | reference (same run) | target |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return head + "\n".join(lines) + "\n"


def update_readme(path: Path, text: str) -> None:
    readme = path.read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"{path}: no {START} ... {END} markers to put the table between")
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    path.write_text(f"{before}{START}\n{text}{END}{after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, help="regenerate the table in this README")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "tests" / "benchmarks" / "last-run.json", help="where the JSON goes"
    )
    parser.add_argument("--quick", action="store_true", help="a 1-hour file instead of the day-long one")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (the rest kept from --out)")
    parser.add_argument("--table-only", action="store_true", help="regenerate the table from --out, run nothing")
    args = parser.parse_args()
    report: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    if not args.table_only:
        for name, extra in _benchmarks(args.quick):
            if args.only and name not in args.only:
                continue
            print(f"benchmark {name} ...", file=sys.stderr, flush=True)
            report[name] = run(name, extra)
        report.update(
            cores=os.cpu_count(),
            machine=f"{platform.machine()} {platform.processor() or ''}".strip(),
            python=platform.python_version(),
            date=time.strftime("%Y-%m-%d"),
        )
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    if args.readme:
        update_readme(args.readme, table(report))


if __name__ == "__main__":
    main()
