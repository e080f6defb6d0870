"""Responsiveness benchmark: the longest stall of the GUI event loop during heavy analysis.

Run: ``QT_QPA_PLATFORM=offscreen python -m tests.benchmarks.responsiveness``.

The scripted run (the same one ``tests/ui/test_responsiveness.py`` checks):
a 130 s harmonic tone is opened, the window size goes to n_fft 32768 with
the slider, the pitch track is turned on for a 120 s view and the pointer
sweeps across the picture with the spectrum slice following it.  A 5 ms
timer runs throughout; the longest gap between its ticks is the longest time
the window could not react.

Figures (JSON): ``max_gap_ms`` and ``p99_gap_ms`` of the event loop, and as
the reference, measured in the same run, what the same work costs when done
inline (as the viewer did before its jobs ran off the GUI thread):
``inline_slice_ms`` (one slice at n_fft 32768) and ``inline_pitch_ms`` (the
pitch track of the 120 s view).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SR = 44100
SECONDS = 130.0


def make_file(path: Path) -> Path:
    from spectroview.audio import synth

    y = synth.harmonic_tone(220.0, SECONDS, sr=SR, n_harmonics=8).astype(np.float32)
    soundfile.write(path, y, SR, subtype="PCM_16")
    return path


def _wait(app, condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the scripted run did not settle")
        app.processEvents()
        time.sleep(0.002)


class EventLoopGaps:
    """A Qt timer every ``interval_ms``: the gaps between its ticks are how long the event loop could not react."""

    def __init__(self, interval_ms: int) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def stop(self) -> dict[str, float]:
        """Stop; the longest and the 99th-percentile gap (ms) and the number of ticks."""
        self._timer.stop()
        gaps = self.gaps or [0.0]
        return {
            "max_gap_ms": round(1000 * max(gaps), 1),
            "p99_gap_ms": round(1000 * float(np.percentile(gaps, 99)), 1),
            "ticks": len(self.gaps),
        }


def scripted_run(app, window, path: Path) -> dict[str, float]:
    """Run the heavy scenario in ``window``; the event loop's gaps in ms."""

    from spectroview.ui.controls import N_FFT_CHOICES

    if window.pitch_action.isChecked():
        window.pitch_action.trigger()
    window.controls.n_fft.slider.setValue(N_FFT_CHOICES.index(2048))
    window.open_file(path)
    _wait(app, lambda: window.is_idle() and window.jobs.latest is not None)
    gaps = EventLoopGaps(5)
    window.controls.n_fft.slider.setValue(N_FFT_CHOICES.index(32768))
    window.pitch_action.trigger()
    window.model.set_time_range(0.0, 120.0)
    mapping = window.panel.mapping
    for i in range(40):  # the pointer sweeps; the slice follows it
        window.panel.cursorMoved.emit(3.0 * i, float(mapping.hz_to_y(220.0 * (1 + i % 8))))
        deadline = time.perf_counter() + 0.02
        while time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.001)

    def settled() -> bool:
        latest = window.jobs.latest
        pitch = window.panel.pitch_curve.getData()[0]
        return (
            window.is_idle()
            and latest is not None
            and latest.generation == window.jobs.generation
            and latest.complete
            and pitch is not None
            and len(pitch) > 0
        )

    _wait(app, settled)
    return gaps.stop()


def inline_reference(path: Path) -> dict[str, float]:
    """What the slice and the pitch track cost when computed inline, on the calling thread."""
    from spectroview.audio.files import FileSource
    from spectroview.dsp import SpectrogramParams
    from spectroview.session.analysis import pitch_track, slice_spectrum

    with FileSource(path) as source:
        params = SpectrogramParams(n_fft=32768, hop_length=8192).with_sr(SR)
        start = time.perf_counter()
        slice_spectrum(source, params, 60.0)
        slice_ms = 1000 * (time.perf_counter() - start)
        start = time.perf_counter()
        pitch_track(source, 0.0, 120.0)
        pitch_ms = 1000 * (time.perf_counter() - start)
    return {"inline_slice_ms": round(slice_ms, 1), "inline_pitch_ms": round(pitch_ms, 1)}


def main() -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from spectroview.session.settings import ViewSettings
    from spectroview.ui.main_window import MainWindow
    from spectroview.ui.settings_store import SettingsStore

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        path = make_file(Path(tmp) / "long.wav")
        store = SettingsStore(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window = MainWindow(store, settings=ViewSettings())
        window.resize(1600, 1000)
        window.show()
        runs = [scripted_run(app, window, path) for _ in range(3)]
        window.close()
        figures = {
            "scenario": "130 s file, n_fft 32768, pitch track of a 120 s view, slice following the pointer",
            "max_gap_ms": max(r["max_gap_ms"] for r in runs),
            "p99_gap_ms": max(r["p99_gap_ms"] for r in runs),
            "runs": runs,
            "target_max_gap_ms": 50.0,  # issue 10; the test holds p99 <= 50 ms and max <= 150 ms
            **inline_reference(path),
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
