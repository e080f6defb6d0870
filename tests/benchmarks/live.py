"""Live-mode benchmark through the PulseAudio loopback: update cost, frame rate, CPU, latency.

Run: ``QT_QPA_PLATFORM=offscreen python -m tests.benchmarks.live [--seconds 10]``.

At 48 kHz, n_fft 2048, hop 256, 10 s of history and a 1200 px wide plot:

- ``update_ms``: one display tick (drain the ring buffer, STFT of the new
  samples, write the new columns, hand the picture to the image item) plus
  the paint that follows (``processEvents``), median and 99th percentile;
- ``frames_per_second``: pictures shown per second, sustained (target 60);
- ``cpu_share``: process CPU time over wall time while live (target <= 0.30
  of one core), audio threads included;
- ``capture_to_pixel_ms``: a click played into the loopback, from the
  moment its first sample was captured (PortAudio's ADC time, mapped to this
  process's clock) to the end of the tick whose picture shows it, median
  over repeats (target <= 60 ms), beside its floor (one audio block + one
  display frame) and the later floor of the column centred on the click
  (plus ``n_fft/2/sr``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.audio.pulse import RATE, PulseServer, missing_reason


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clicks", type=int, default=8)
    args = parser.parse_args()
    reason = missing_reason()
    if reason:
        print(json.dumps({"skipped": reason}))
        return
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        server = PulseServer(tmp / "pulse")
        os.environ["PULSE_SERVER"] = server.server
        server.start()
        try:
            report = run(server, tmp, args.seconds, args.clicks)
        finally:
            server.kill()
    print(json.dumps(report, indent=2), flush=True)
    os._exit(0)  # skip Qt teardown at exit (see tests.benchmarks.viewer)


def run(server: PulseServer, tmp: Path, seconds: float, clicks: int) -> dict[str, object]:
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
    window.show()
    app.processEvents()
    window.resize(window.width() + 1200 - window.panel.plot_width(), 700)
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

    spin(1.0)  # settle
    tick_ms.clear()
    shown.clear()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    spin(seconds)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
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
        "plot_width_px": window.panel.plot_width(),
        "seconds": round(wall, 2),
        "update_ms_median": round(statistics.median(ticks), 2) if ticks else None,
        "update_ms_p99": round(ticks[int(0.99 * (len(ticks) - 1))], 2) if ticks else None,
        "frames_per_second": round(frames / wall, 1),
        "cpu_share_of_one_core": round(cpu / wall, 3),
        "capture_to_pixel_ms_median": round(statistics.median(latencies), 1) if latencies else None,
        "capture_to_pixel_ms_runs": [round(v, 1) for v in latencies],
        "capture_to_pixel_floor_ms": round(floor, 1),
        "centred_column_floor_ms": round(centred_floor, 1),
    }


if __name__ == "__main__":
    main()
