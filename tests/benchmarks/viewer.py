"""Viewer benchmark: slider-to-image latency, open-to-first-image, memory of a one-hour file.

Run: ``QT_QPA_PLATFORM=offscreen python -m tests.benchmarks.viewer [--skip-hour]``.

Figures (JSON, medians where repeated):

- ``slider_to_image_ms``: a 30 s view of a 10-minute 44.1 kHz file at a
  plot width of 1920 px; the window size changes (1024/2048/4096 in turn),
  timed from the controls' signal to the new image on screen (the
  overview for the new size is rebuilt in the background meanwhile, as in
  use).  Target: median 50 ms, max 100 ms.
- ``open_to_first_image_s``: from ``open_file`` to the first image shown,
  for 10-minute and one-hour stereo files (the whole file in view: a
  preview first, then the exact overview fills in); and to the complete
  image.
- ``colour_change_ms``: a colour map or floor change on that view, to the
  repainted image; ``ffts_run`` counts the engine's FFTs meanwhile (none:
  colours are a lookup-table change).
- ``reopen_from_cache_1h``: the one-hour file opened a second time, its
  exact overview read from the overview cache the first opening filled.
- ``day_long``: a 24-hour 48 kHz mono RF64 WAV (8.3 GB), opened in a
  fresh process: first image, the longest stall of the event loop and
  ten 30 s views around the file while the overview builds, the complete
  overview, the process's peak RSS; then opened again in another process
  (its overview from the cache).  Targets: first image 1 s, peak RSS
  500 MB, re-open complete within 1 s.
- ``hour_peak_rss_mb``: peak RSS of ``spectroview FILE --screenshot`` on
  the one-hour file (the app computes the complete overview), by GNU time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SR = 44100


def make_file(path: Path, seconds: int) -> Path:
    """Stereo 16-bit WAV of noise, tones and clicks, written in blocks."""
    rng = np.random.default_rng(7)
    block = SR * 10
    with soundfile.SoundFile(path, "w", SR, 2, subtype="PCM_16") as f:
        for start in range(0, SR * seconds, block):
            t = (start + np.arange(block)) / SR
            y = 0.02 * rng.standard_normal((block, 2))
            y[:, 0] += 0.3 * np.sin(2 * np.pi * 440 * t)
            y[:, 1] += 0.2 * np.sin(2 * np.pi * (1000 + 500 * np.sin(2 * np.pi * t / 60)) * t)
            y[:: SR // 2] += 0.8  # a click every half second
            f.write(y.astype(np.float32))
    return path


def _app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


_SCRATCH = Path(tempfile.mkdtemp(prefix="spectroview-bench-"))


def _window(cache_dir: Path | None = None):
    """A window on a scratch settings file and overview cache (a fresh, empty one unless ``cache_dir``)."""
    from PySide6.QtCore import QSettings

    from spectroview.session.overview_cache import OverviewCache
    from spectroview.session.settings import ViewSettings
    from spectroview.ui.main_window import MainWindow
    from spectroview.ui.settings_store import SettingsStore

    scratch = Path(tempfile.mkdtemp(dir=_SCRATCH))
    store = SettingsStore(QSettings(f"{scratch}/s.ini", QSettings.Format.IniFormat))
    cache = OverviewCache(cache_dir if cache_dir is not None else scratch / "cache")
    return MainWindow(store, settings=ViewSettings(), cache=cache)


def _shown_window(size: tuple[int, int], cache_dir: Path | None = None):
    window = _window(cache_dir)
    window.resize(*size)
    window.show()
    _app().processEvents()
    return window


def _wait(app, predicate, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while not predicate():
        app.processEvents()
        if time.perf_counter() - start > timeout:
            raise TimeoutError
        time.sleep(0.0005)
    return time.perf_counter() - start


def _settled(window) -> bool:
    c = window.jobs
    return c.latest is not None and c.latest.generation == c.generation and not window._refresh_timer.isActive()


def slider_to_image(path: Path, repeats: int) -> dict[str, object]:
    app = _app()
    window = _window()
    window.resize(1920 + 380, 900)  # the dock takes the rest: the plot gets ~1920 px
    window.show()
    window.open_file(path)
    _wait(app, lambda: window.jobs.is_idle() and _settled(window))
    window.resize(window.width() + 1920 - window.panel.plot_width(), 900)  # plot exactly 1920 px wide
    app.processEvents()
    window.panel.set_time_range(120.0, 150.0)
    _wait(app, lambda: _settled(window))
    width = window.panel.plot_width()
    times = []
    sizes = [1024, 2048, 4096]
    for i in range(repeats):
        settings = window.view_settings
        n_fft = sizes[i % 3]
        if n_fft == settings.params.n_fft:
            n_fft = sizes[(i + 1) % 3]
        target = window.jobs.generation + 1  # (the request may be made inside the signal's handler)
        start = time.perf_counter()
        window.controls.edited.emit({"n_fft": n_fft})  # what the slider sends; the hop lock gives n_fft // 4
        _wait(app, lambda t=target: window.jobs.latest is not None and window.jobs.latest.generation >= t)
        app.processEvents()  # the image is set on the item; let it paint
        times.append((time.perf_counter() - start) * 1000)
    origin = window.jobs.latest.origin
    window.close()
    return {
        "view_s": 30.0,
        "plot_width_px": width,
        "image_origin": origin,
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "runs_ms": [round(t, 1) for t in times],
    }


def colour_change(path: Path, repeats: int) -> dict[str, object]:
    """A colour map or floor change on a 30 s direct view at 1920 px: time to the repainted
    image, and the FFTs it ran (a lookup-table change: none)."""
    import spectroview.dsp.stft as stft

    app = _app()
    window = _window()
    window.resize(1920 + 380, 900)
    window.show()
    window.open_file(path)
    _wait(app, lambda: window.jobs.is_idle() and _settled(window))
    window.panel.set_time_range(120.0, 150.0)
    _wait(app, lambda: window.jobs.is_idle() and _settled(window))
    # The new file's spectrum slice (computed once the window is idle) is done first.
    _wait(app, lambda: not window._slice_deferred and window.is_idle())
    ffts = []
    rfft = stft.rfft
    stft.rfft = lambda *a, **k: ffts.append(1) or rfft(*a, **k)
    times = []
    try:
        for i in range(repeats):
            change = {"colormap": ("viridis", "magma")[i % 2]} if i % 3 else {"db_floor": (-80.0, -90.0)[i % 2]}
            start = time.perf_counter()
            window.controls.edited.emit(change)
            _wait(app, lambda: window.jobs.is_idle() and not window._refresh_timer.isActive())
            app.processEvents()  # painted
            times.append((time.perf_counter() - start) * 1000)
    finally:
        stft.rfft = rfft
    window.close()
    return {
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "ffts_run": len(ffts),
    }


def open_to_first_image(path: Path, cache_dir: Path | None = None) -> dict[str, object]:
    app = _app()
    window = _shown_window((1600, 900), cache_dir)
    shown: list[float] = []
    with_content: list[float] = []

    def on_view() -> None:
        now = time.perf_counter()
        shown.append(now)
        if float(window.jobs.latest.levels.max()) > -200.0:  # not just the empty frame
            with_content.append(now)

    window.viewComputed.connect(on_view)
    start = time.perf_counter()
    window.open_file(path)
    _wait(app, lambda: bool(with_content))
    first = shown[0] - start
    first_content = with_content[0] - start
    first_complete = window.jobs.latest.complete
    _wait(app, lambda: window.jobs.is_idle() and _settled(window) and window.jobs.latest.complete, 600)
    complete = time.perf_counter() - start
    window.close()
    return {
        "first_image_s": round(first, 3),
        "first_image_with_content_s": round(first_content, 3),
        "first_content_image_complete": first_complete,
        "complete_image_s": round(complete, 3),
    }


def peak_rss(path: Path, tmp: Path) -> dict[str, object]:
    report = tmp / "rss.time"
    cmd = [sys.executable, "-m", "spectroview", str(path), "--screenshot", str(tmp / "shot.png"), "--size", "1600x900"]
    if not os.path.exists("/usr/bin/time"):
        return {"skipped": "GNU time (/usr/bin/time) not installed"}
    t0 = time.perf_counter()
    subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(report), *cmd],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "XDG_CACHE_HOME": str(tmp / "xdg-cache")},  # a fresh overview cache, not the user's
    )
    return {
        "peak_rss_mb": round(int(report.read_text().split()[-1]) / 1024, 1),
        "wall_s": round(time.perf_counter() - t0, 2),
    }


DAY_SR = 48000


def make_day_file(path: Path, hours: float) -> Path:
    """``hours`` of 48 kHz mono 16-bit RF64 WAV, as a field recorder writes: low noise,
    a bird-like chirp every 7 s and a click every minute (written in 60 s blocks)."""
    rng = np.random.default_rng(11)
    block = DAY_SR * 60
    base = (0.003 * rng.standard_normal(block)).astype(np.float32)
    t = np.arange(DAY_SR) / DAY_SR
    chirp = (0.2 * np.sin(2 * np.pi * (3000 * t + 2000 * t**2)) * np.hanning(DAY_SR)).astype(np.float32)
    with soundfile.SoundFile(path, "w", DAY_SR, 1, subtype="PCM_16", format="RF64") as f:
        for minute in range(round(hours * 60)):
            y = np.roll(base, minute * 977)
            for start in range(0, block - DAY_SR, 7 * DAY_SR):
                y[start : start + DAY_SR] += chirp
            y[(minute * 131) % block] = 0.9
            f.write(y)
    return path


def day_long(path: Path, cache: Path) -> dict[str, object]:
    """Open a day-long file (in this process: run it alone, its peak RSS is the viewer's),
    then measure the event loop's longest stall while the overview builds."""
    from tests.benchmarks.responsiveness import EventLoopGaps

    app = _app()
    window = _shown_window((1600, 900), cache)
    shown: list[float] = []
    ready: list[float] = []
    window.viewComputed.connect(lambda: shown.append(time.perf_counter()))
    window.jobs.overview_ready.connect(lambda: ready.append(time.perf_counter()))
    start = time.perf_counter()
    window.open_file(path)
    _wait(app, lambda: bool(shown), 60)
    first = shown[0] - start
    first_complete = window.jobs.latest.complete
    gaps = EventLoopGaps(10)
    # Views across the file while it builds, as a user would: each must come back.
    views: list[float] = []
    duration = window.info.duration
    for i in range(10):
        t0 = duration * (i + 0.5) / 10 - 15.0
        asked = time.perf_counter()
        target = window.jobs.generation + 1
        window.panel.set_time_range(t0, t0 + 30.0)
        _wait(app, lambda t=target: window.jobs.latest is not None and window.jobs.latest.generation >= t, 60)
        views.append(time.perf_counter() - asked)
    _wait(app, lambda: bool(ready), 3600)
    complete = ready[0] - start
    window.fit()
    _wait(app, lambda: window.jobs.is_idle() and _settled(window) and window.jobs.latest.complete, 600)
    stalls = gaps.stop()
    window.close()
    return {
        "first_image_s": round(first, 3),
        "first_image_complete": first_complete,
        "complete_overview_s": round(complete, 1),
        "views_while_building_ms_median": round(1000 * statistics.median(views), 1),
        "views_while_building_ms_max": round(1000 * max(views), 1),
        "event_loop_longest_stall_ms": stalls["max_gap_ms"],
        "event_loop_p99_gap_ms": stalls["p99_gap_ms"],
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> float:
    """This process's peak RSS since it started (``VmHWM``; ``ru_maxrss`` would also count
    the parent's memory copied at the fork, before ``exec``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


def _in_child(*args: str) -> dict[str, object]:
    """Run ``--measure ...`` of this module in a fresh process (its own peak RSS) and return its JSON."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.viewer", "--measure", *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        return {"failed": out.stderr.strip().splitlines()[-1:] or f"exit {out.returncode}"}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument("--skip-hour", action="store_true", help="leave out the one-hour file")
    parser.add_argument(
        "--day-hours", type=float, default=24.0, help="length of the day-long recording (0: leave it out)"
    )
    parser.add_argument("--measure", nargs=2, metavar=("FILE", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the child of _in_child
        from spectroview._memory import limit_malloc_arenas

        limit_malloc_arenas()  # as the command line does before the window's threads start
        print(json.dumps(day_long(Path(args.measure[0]), Path(args.measure[1]))), flush=True)
        os._exit(0)
    report: dict[str, object] = {"cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        ten = make_file(tmp / "ten.wav", 600)
        report["slider_to_image_ms"] = slider_to_image(ten, args.repeats)
        report["colour_change_ms"] = colour_change(ten, args.repeats)
        report["open_to_first_image_10min"] = open_to_first_image(ten)
        if not args.skip_hour:
            hour = make_file(tmp / "hour.wav", 3600)
            cache = tmp / "overview-cache"
            report["open_to_first_image_1h"] = open_to_first_image(hour, cache)
            # The same file again: its exact overview comes from the overview cache.
            report["reopen_from_cache_1h"] = open_to_first_image(hour, cache)
            report["hour_screenshot_peak"] = peak_rss(hour, tmp)
            hour.unlink()
        if args.day_hours > 0:
            day = make_day_file(tmp / "day.wav", args.day_hours)
            cache = tmp / "day-cache"
            report["day_long"] = {
                "hours": args.day_hours,
                "sr": DAY_SR,
                "file_gb": round(day.stat().st_size / 1e9, 2),
                "first_open": _in_child(str(day), str(cache)),
                "reopen_from_cache": _in_child(str(day), str(cache)),
            }
    print(json.dumps(report, indent=2), flush=True)
    # PySide6 can abort while tearing down pyqtgraph items at interpreter exit;
    # the figures are out, so leave without the teardown.
    os._exit(0)


if __name__ == "__main__":
    main()
