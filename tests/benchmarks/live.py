"""Live-mode benchmark through the PulseAudio loopback: update cost, frame rate, CPU, latency.

Run: ``QT_QPA_PLATFORM=offscreen python -m tests.benchmarks.live [--seconds 10]``.

At 48 kHz, n_fft 2048, hop 256, 10 s of history, in a 1600x1000 window
(a real one under a private Xvfb by default; ``--window offscreen`` for
Qt's offscreen platform):

- ``update_ms``: one display tick (drain the ring buffer, STFT of the new
  samples, write the new columns, hand the picture to the image item) plus
  the paint that follows (``processEvents``), median and 99th percentile;
- ``frames_per_second``: pictures shown per second, sustained (target 60);
- ``cpu_share``: process CPU time over wall time while live (target <= 0.30
  of one core), audio threads included; ``other_processes_cpu_share``: the
  PulseAudio daemon's and the X server's, over the same time;
- ``capture_to_pixel_ms``: a click played into the loopback, from the
  moment its first sample was captured (PortAudio's ADC time, mapped to this
  process's clock) to the end of the tick whose picture shows it, median
  over repeats (target <= 60 ms), beside its floor (one audio block + one
  display frame) and the later floor of the column centred on the click
  (plus ``n_fft/2/sr``);
- ``friture``: Friture 0.38 in the same harness (the same Xvfb, loopback,
  FFT size 2048, 10 s of history, 1600x1000 window), its process's CPU share
  at its own fixed rate of 100 updates/s, and the sound and X servers' over
  the same time.  It is a benchmark-only peer in its own Python 3.8
  environment (``--friture PATH``; without it the report says how to build
  it), never a dependency.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from tests.audio.pulse import RATE, PulseServer, missing_reason
from tests.xvfb import missing_reason as xvfb_missing
from tests.xvfb import xvfb

WINDOW = (1600, 1000)

#: Friture 0.38's settings for the same picture: one dock, the 2D spectrogram (widget type 3),
#: FFT size index 6 (32 * 2**6 = 2048), 10 s of history, the window at 1600x1000 (Qt's
#: saveGeometry bytes), input from ALSA's "default" PCM (PulseAudio's default source, through
#: libasound2-plugins).  Written by PyQt5's QSettings, so the typed values are Qt 5's encoding.
FRITURE_CONF = r"""[AudioBackend]
deviceName=default (32 channels) (ALSA)  (default)
duoInput=-2
firstChannel=0
secondChannel=1

[Docks]
Dock%200\colorMax=0
Dock%200\colorMin=-140
Dock%200\fftSize=6
Dock%200\freqMax=24000
Dock%200\freqMin=20
Dock%200\freqScale=1
Dock%200\timeRange=10
Dock%200\type=3
Dock%200\weighting=0
dockNames=@Variant(\0\0\0\t\0\0\0\x1\0\0\0\n\0\0\0\f\0\x44\0o\0\x63\0k\0 \0\x30)

[MainWindow]
windowGeometry=@ByteArray(\x1\xd9\xd0\xcb\0\x3\0\0\0\0\0\0\0\0\0\0\0\0\x6?\0\0\x3\xe7\0\0\0\0\0\0\0\0\0\0\x6?\0\0\x3\xe7\0\0\0\0\0\0\0\0\a\x80\0\0\0\0\0\0\0\0\0\0\x6?\0\0\x3\xe7)
"""

FRITURE_HOW = (
    "Friture 0.38 is not installed beside this benchmark: its pinned numpy 1.13 and Cython 0.27 do not build "
    "on Python 3.11. It builds on Python 3.8 in its own environment with the pins relaxed (numpy 1.17.5, which "
    "it needs below 1.18; Cython 0.29; PyQt5 5.15, since PyQt5 5.10's sip is gone from PyPI; PyOpenGL 3.1.10): "
    "python3.8 -m venv V && V/bin/pip install 'numpy==1.17.5' 'Cython<3' wheel && (relax setup.py's == pins "
    "of friture 0.38's sdist) && V/bin/pip install --no-build-isolation ./friture-0.38; "
    "then pass --friture V/bin/friture (or set SPECTROVIEW_FRITURE)."
)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, s) of process ``pid`` so far, from /proc."""
    return _cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def _threads_cpu() -> dict[str, float]:
    """CPU seconds of each of this process's threads so far, by thread name (summed over equal names)."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = names.get(int(task.name)) or (task / "comm").read_text().strip() + " (not Python's)"
            out[name] = out.get(name, 0.0) + _cpu_seconds_of(task / "stat")
        except OSError:  # a thread that ended meanwhile
            pass
    return out


def _cpu_seconds_of(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_friture(
    server: PulseServer, tmp: Path, seconds: float, friture: str, display: str | None, x_server
) -> dict[str, object]:
    """Friture in the same harness: the same X server, loopback, FFT size, history and window size.

    Friture redraws on a fixed 10 ms timer (``SMOOTH_DISPLAY_TIMER_PERIOD_MS``
    in its analyzer.py): it is measured at its own rate.  Its CPU share is
    its process's, from /proc, after the same warm-up.
    """
    if display is None:
        return {"skipped": "Friture is measured in a real window only (--window real)"}
    config = tmp / "friture-config"
    (config / "Friture").mkdir(parents=True, exist_ok=True)
    (config / "Friture" / "Friture.conf").write_text(FRITURE_CONF)
    env = {
        **os.environ,
        "DISPLAY": display,
        "PULSE_SERVER": server.server,
        "XDG_CONFIG_HOME": str(config),
        "XDG_DATA_HOME": str(tmp / "friture-data"),
        "XDG_CACHE_HOME": str(tmp / "friture-cache"),
    }
    env.pop("QT_QPA_PLATFORM", None)
    log = tmp / "friture.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([friture], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        time.sleep(8.0)  # start-up (numpy, PyQt5, its audio backend) and the same settling
        if proc.poll() is not None:
            return {"failed": f"Friture exited with {proc.returncode}: {log.read_text(errors='replace')[-300:]}"}
        cpu0 = _cpu_seconds(proc.pid)
        others = {"pulseaudio": server.proc.pid if server.proc else None, "xvfb": x_server.pid if x_server else None}
        others0 = {k: _cpu_seconds(pid) for k, pid in others.items() if pid}
        wall0 = time.perf_counter()
        time.sleep(seconds)
        wall = time.perf_counter() - wall0
        share = (_cpu_seconds(proc.pid) - cpu0) / wall
        others_share = {k: round((_cpu_seconds(others[k]) - v) / wall, 3) for k, v in others0.items()}  # type: ignore[arg-type]
        inputs = server.pactl("list", "short", "source-outputs").stdout.strip().splitlines()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {
        "version": "0.38",
        "executable": friture,
        "updates_per_second": "100 (its fixed 10 ms display timer)",
        "cpu_share_of_one_core": round(share, 3),
        "other_processes_cpu_share": others_share,
        "recording_from_the_loopback": bool(inputs),
        "seconds": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clicks", type=int, default=8)
    parser.add_argument(
        "--window",
        choices=["real", "offscreen"],
        default="real",
        help="a real window under a private Xvfb (default), or Qt's offscreen platform",
    )
    parser.add_argument(
        "--friture",
        default=os.environ.get("SPECTROVIEW_FRITURE"),
        help="Friture 0.38's executable, to measure it in the same harness (default $SPECTROVIEW_FRITURE)",
    )
    args = parser.parse_args()
    reason = missing_reason() or (xvfb_missing() if args.window == "real" else None)
    if reason:
        print(json.dumps({"skipped": reason}))
        return
    with tempfile.TemporaryDirectory() as name, contextlib.ExitStack() as stack:
        tmp = Path(name)
        x_server = None
        if args.window == "real":
            display, x_server = stack.enter_context(xvfb("1920x1200x24"))
            os.environ["DISPLAY"] = display
            os.environ["QT_QPA_PLATFORM"] = "xcb"
        else:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        server = PulseServer(tmp / "pulse")
        os.environ["PULSE_SERVER"] = server.server
        server.start()
        try:
            report = {"cores": os.cpu_count(), "window": args.window}
            report.update(run(server, tmp, args.seconds, args.clicks, x_server))
            if not args.friture:
                report["friture"] = {"skipped": FRITURE_HOW}
            elif not os.access(args.friture, os.X_OK):
                report["friture"] = {"skipped": f"{args.friture}: not an executable. {FRITURE_HOW}"}
            else:
                display = os.environ.get("DISPLAY") if args.window == "real" else None
                report["friture"] = run_friture(server, tmp, args.seconds, args.friture, display, x_server)
        finally:
            server.kill()
    print(json.dumps(report, indent=2), flush=True)
    os._exit(0)  # skip Qt teardown at exit (see tests.benchmarks.viewer)


def run(
    server: PulseServer, tmp: Path, seconds: float, clicks: int, x_server: subprocess.Popen[bytes] | None
) -> dict[str, object]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from spectroview.audio import devices
    from spectroview.dsp import SpectrogramParams
    from spectroview.session.settings import ViewSettings
    from spectroview.ui.main_window import MainWindow
    from spectroview.ui.settings_store import SettingsStore

    devices.refresh_devices()
    app = QApplication.instance() or QApplication([])
    store = SettingsStore(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    settings = ViewSettings(params=SpectrogramParams(n_fft=2048, hop_length=256), hop_locked=False)
    window = MainWindow(store, settings=settings)
    window.resize(*WINDOW)
    window.show()
    app.processEvents()
    window.live_samplerate = float(RATE)
    window.history_box.setValue(10.0)
    window.set_live(True)
    live = window.live
    assert live.running, window.statusBar().currentMessage()

    tick_ms: list[float] = []
    shown: list[float] = []
    original_tick = live.tick

    def timed_tick() -> None:
        t0 = time.perf_counter()
        original_tick()
        app.processEvents()  # the paint of what the tick showed
        tick_ms.append((time.perf_counter() - t0) * 1000)

    live.timer.timeout.disconnect()
    live.timer.timeout.connect(timed_tick)
    window.viewComputed.connect(lambda: shown.append(time.perf_counter()))

    def spin(duration: float) -> None:
        end = time.perf_counter() + duration
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)

    deadline = time.perf_counter() + 30
    while window.scheduler.busy and time.perf_counter() < deadline:
        spin(0.1)  # the start-up's background imports (scipy.signal, PyAV) are done first
    spin(1.0)  # settle
    tick_ms.clear()
    shown.clear()
    others = {"pulseaudio": server.proc.pid if server.proc else None, "xvfb": x_server.pid if x_server else None}
    others_cpu0 = {k: _cpu_seconds(pid) for k, pid in others.items() if pid}
    threads0 = _threads_cpu()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    spin(seconds)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    threads = {k: round((v - threads0.get(k, 0.0)) / wall, 3) for k, v in _threads_cpu().items()}
    threads = {k: v for k, v in sorted(threads.items(), key=lambda kv: -kv[1]) if v >= 0.005}
    others_share = {k: round((_cpu_seconds(others[k]) - v) / wall, 3) for k, v in others_cpu0.items()}  # type: ignore[arg-type]
    frames = len(shown)
    ticks = sorted(tick_ms)

    # Capture to pixel: a click, detected in the picture at the end of a tick.
    click = np.zeros(RATE // 2, np.float32)
    click[RATE // 10 : RATE // 10 + 48] = 0.9
    soundfile.write(tmp / "click.wav", click, RATE, subtype="PCM_16")
    latencies: list[float] = []
    blocks: list[float] = []
    for _ in range(clicks):
        engine = live.engine
        mic = live.mic
        assert engine is not None and mic is not None and mic.ring is not None
        start_index = mic.ring.write_index
        seen: list[float] = []

        def on_view(engine=engine, seen=seen) -> None:
            view = engine.view()
            if float(view.levels[:, -8:].max()) > -30 and not seen:
                seen.append(time.perf_counter())

        window.viewComputed.connect(on_view)
        proc = server.play(tmp / "click.wav")
        deadline = time.perf_counter() + 3
        while not seen and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.0005)
        window.viewComputed.disconnect(on_view)
        proc.wait(10)
        spin(0.3)
        if not seen:
            continue
        audio = mic.ring.read(start_index, mic.ring.write_index, copy=True)
        loud = np.flatnonzero(np.abs(audio) > 0.3)
        if not loud.size:
            continue
        offset = time.perf_counter() - mic.stream_time()
        click_time = mic.adc_time_of(start_index + int(loud[0])) + offset
        latencies.append((seen[0] - click_time) * 1000)
        blocks.append(mic.last_block_frames / RATE)
    window.set_live(False)
    window.close()
    block = statistics.median(blocks or [0.0])
    # The first pixel that shows a click comes from the frame whose window's
    # leading edge reaches it: one audio block plus one display frame away.
    floor = (block + 1 / 60) * 1000
    # The column centred on the click needs half a window more audio.
    centred_floor = (2048 / 2 / RATE + block + 1 / 60) * 1000
    return {
        "sr": RATE,
        "n_fft": 2048,
        "hop_length": 256,
        "history_s": 10.0,
        "window_px": list(WINDOW),
        "plot_width_px": window.panel.plot_width(),
        "seconds": round(wall, 2),
        "update_ms_median": round(statistics.median(ticks), 2) if ticks else None,
        "update_ms_p99": round(ticks[int(0.99 * (len(ticks) - 1))], 2) if ticks else None,
        "frames_per_second": round(frames / wall, 1),
        "cpu_share_of_one_core": round(cpu / wall, 3),
        "threads_cpu_share": threads,
        "other_processes_cpu_share": others_share,
        "capture_to_pixel_ms_median": round(statistics.median(latencies), 1) if latencies else None,
        "capture_to_pixel_ms_runs": [round(v, 1) for v in latencies],
        "capture_to_pixel_floor_ms": round(floor, 1),
        "centred_column_floor_ms": round(centred_floor, 1),
    }


if __name__ == "__main__":
    main()
