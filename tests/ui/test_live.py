"""Live mode in the real window (offscreen), fed through the PulseAudio loopback."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings

from spectroview.audio import synth
from spectroview.dsp import SpectrogramParams
from spectroview.session.settings import ViewSettings
from spectroview.ui.main_window import MainWindow
from spectroview.ui.settings_store import SettingsStore
from tests.audio.pulse import RATE, PulseServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live_window(qtbot, pulse_running: PulseServer, tmp_path: Path):
    store = SettingsStore(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    settings = ViewSettings(params=SpectrogramParams(n_fft=2048, hop_length=256), hop_locked=False)
    win = MainWindow(store, settings=settings)
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    qtbot.waitExposed(win)
    win.history_box.setValue(10.0)
    win.set_live(True)
    assert win.live.running, win.statusBar().currentMessage()
    yield win
    win.set_live(False)


def play(pulse: PulseServer, path: Path) -> None:
    proc = pulse.play(path)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()


def wav(path: Path, *parts: np.ndarray) -> Path:
    soundfile.write(path, np.concatenate(parts), RATE, subtype="PCM_16")
    return path


def tone(freq: float, seconds: float) -> np.ndarray:
    return synth.fade(synth.tone(freq, seconds, sr=RATE, amplitude=0.5), sr=RATE)


def gap(seconds: float) -> np.ndarray:
    return synth.silence(seconds, sr=RATE)


def loud_rows(win: MainWindow) -> tuple[np.ndarray, np.ndarray]:
    """Per column of the live picture: the loudest row and its level (dBFS)."""
    view = win.live.engine.view()
    return np.argmax(view.levels, axis=0), view.levels.max(axis=0)


def wait_captured(qtbot, win: MainWindow, seconds: float) -> None:
    engine = win.live.engine
    target = engine.latest_time() + seconds
    qtbot.waitUntil(lambda: win.live.engine.latest_time() >= target, timeout=int(seconds * 1000) + 10000)


def test_live_picture_shows_tones_at_their_rows_in_order(
    qtbot, live_window: MainWindow, pulse_running: PulseServer, tmp_path: Path
) -> None:
    path = wav(tmp_path / "seq.wav", gap(0.2), tone(800.0, 0.6), gap(0.3), tone(2400.0, 0.6), gap(0.2))
    with qtbot.waitSignal(live_window.viewComputed, timeout=10000):
        pass  # the picture is scrolling
    play(pulse_running, path)
    wait_captured(qtbot, live_window, 0.3)
    rows, level = loud_rows(live_window)
    bin_hz = live_window.live.engine.sr / 2048  # the device's rate (PulseAudio's default)
    lit = level > -40
    freqs = rows[lit] * bin_hz
    first_800 = np.flatnonzero(np.abs(freqs - 800) <= bin_hz)
    first_2400 = np.flatnonzero(np.abs(freqs - 2400) <= bin_hz)
    assert first_800.size > 10 and first_2400.size > 10
    assert first_800.max() < first_2400.min()  # 800 Hz came first
    # The panel shows that picture on an axis of seconds before now.
    image = live_window.panel.image
    view = live_window.live.engine.view()
    assert image is not None and image.x1 == 0.0
    assert image.x0 == pytest.approx(view.x0 - view.x1)
    (t0, t1), _ = live_window.panel.spec_box.viewRange()
    assert t0 == pytest.approx(image.x0) and t1 == pytest.approx(0.0)


def test_live_frames_convert_only_their_new_columns(
    qtbot, live_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each frame looks up the colours of the columns that arrived, not the whole picture."""
    from spectroview.render.colormaps import colormap_lut

    win = live_window
    item = win.panel.live_item
    qtbot.waitUntil(lambda: item.ring is not None and win.live.engine.columns_done > 20, timeout=10000)
    whole_images: list[object] = []
    monkeypatch.setattr(win.panel.image_item, "setImage", lambda *a, **k: whole_images.append(a))
    converted, done = item.columns_converted, item._done
    frames: list[int] = []
    win.viewComputed.connect(lambda: frames.append(1))
    qtbot.waitUntil(lambda: len(frames) >= 30, timeout=10000)
    assert whole_images == []  # no whole-picture conversion by pyqtgraph
    new = item._done - done
    assert new > 0 and item.columns_converted - converted == new  # each new column once
    assert item.isVisible() and not win.panel.image_item.isVisible()
    # What is drawn is the colour map's colour of each of the engine's indices.
    view = win.live.engine.view()
    assert view.ring is item.ring and view.indices is not None
    shown = item.pixels[:, view.ring_start : view.ring_start + view.indices.shape[1]]
    rgb = np.stack([(shown >> 16) & 0xFF, (shown >> 8) & 0xFF, shown & 0xFF], axis=-1).astype(np.uint8)
    np.testing.assert_array_equal(rgb, colormap_lut(win.view_settings.colormap)[view.indices])
    # A colour-map change recolours the whole picture once, then only new columns again.
    win.controls.edited.emit({"colormap": "grey"})
    qtbot.waitUntil(lambda: len(frames) >= 40, timeout=10000)
    view = win.live.engine.view()
    shown = item.pixels[:, view.ring_start : view.ring_start + view.indices.shape[1]]
    grey = colormap_lut("grey")[view.indices][..., 0].astype(np.uint32)
    np.testing.assert_array_equal(shown & 0xFF, grey)


def test_changing_the_window_size_while_live_recomputes_the_history(
    qtbot, live_window: MainWindow, pulse_running: PulseServer, tmp_path: Path
) -> None:

    play(pulse_running, wav(tmp_path / "t.wav", gap(0.1), tone(1000.0, 0.8), gap(0.1)))
    wait_captured(qtbot, live_window, 0.2)
    live_window.controls.edited.emit({"n_fft": 4096, "hop_length": 512})
    view = live_window.live.engine.view()
    assert view.levels.shape[0] == 2049 and live_window.panel.n_rows == 2049
    rows, level = loud_rows(live_window)
    lit = level > -40
    assert lit.sum() > 5, "the history is there at once, recomputed"
    bin_hz = live_window.live.engine.sr / 4096
    assert np.all(np.abs(rows[lit] * bin_hz - 1000) <= bin_hz)
    assert live_window.live.running


def test_freeze_stops_scrolling_but_not_capture(qtbot, live_window: MainWindow) -> None:
    wait_captured(qtbot, live_window, 0.3)
    live_window.freeze_action.setChecked(True)
    frozen = live_window.panel.image
    shown = frozen.levels.copy()
    captured = live_window.live.engine.latest_time()
    wait_captured(qtbot, live_window, 0.5)
    assert live_window.panel.image is frozen and np.array_equal(frozen.levels, shown)  # frozen picture
    assert live_window.live.engine.latest_time() > captured + 0.4  # capture went on
    with qtbot.waitSignal(live_window.viewComputed, timeout=5000):
        live_window.freeze_action.setChecked(False)
    now = live_window.live.engine.view()
    assert live_window.panel.image is not frozen
    np.testing.assert_array_equal(live_window.panel.image.levels, now.levels)  # jumped to now


def test_the_picker_names_the_device_opened_and_the_axis_reads_in_seconds(qtbot, live_window: MainWindow) -> None:
    from spectroview.audio.devices import list_devices

    win = live_window
    mic = win.live.mic
    assert mic is not None and mic.device_index is not None
    assert win.device_box.currentData() == mic.device_index
    assert mic.device_name in win.device_box.currentText() and mic.device_name in win.statusBar().currentMessage()
    # --device names a device in part: the picker shows the one opened, not the first or the default.
    other = [d for d in list_devices() if d.max_input_channels > 0 and d.index != mic.device_index]
    if other:
        win.set_live(False)
        win.device_spec = other[-1].name
        win.set_live(True)
        assert win.live.running, win.statusBar().currentMessage()
        assert win.device_box.currentData() == other[-1].index == win.live.mic.device_index
    wait_captured(qtbot, win, 0.3)
    # The history (10 s) is labelled every few seconds, not with one lone tick.
    qtbot.waitUntil(lambda: win.panel.spec_box.viewRange()[0][0] < -9.9, timeout=15000)
    win.panel.time_axis.picture = None
    win.panel.time_axis.update()
    qtbot.wait(50)
    ticks = sorted(win.panel.time_axis._labels)
    assert len(ticks) >= 5 and ticks[0] <= -8 and ticks[-1] >= -2, ticks


def test_leaving_live_mode_brings_the_files_overview_strip_back_at_its_size(
    qtbot, live_window: MainWindow, tmp_path: Path
) -> None:
    from tests.ui.test_viewer import open_and_settle

    win = live_window
    win.set_live(False)
    open_and_settle(qtbot, win, wav(tmp_path / "f.wav", tone(700.0, 3.0), gap(0.5), tone(1800.0, 3.0)))
    qtbot.waitUntil(lambda: win.jobs.overview is not None and win.jobs.overview.complete, timeout=20000)

    def strip_fits() -> bool:
        image = win.panel.overview_image
        if image is None or image.display is None:
            return False
        height = min(win._strip_height(), image.levels.shape[0])
        return image.display.shape[0] >= 0.8 * height and image.levels.shape[1] >= 0.8 * win.panel.plot_width()

    qtbot.waitUntil(strip_fits, timeout=10000)
    before = win.panel.overview_image
    win.set_live(True)
    wait_captured(qtbot, win, 0.3)
    win.set_live(False)  # the strip was hidden (0 px high) while live: a new one, pooled for its real size
    qtbot.waitUntil(lambda: win.panel.overview_image is not before and strip_fits(), timeout=10000)
    assert win.panel.overview_image.display.shape[0] >= 0.8 * before.display.shape[0]  # not a few blocky rows


def test_the_picker_lists_devices_when_opened_and_leaving_live_reads_the_file_again(
    qtbot, pulse_running: PulseServer, tmp_path: Path
) -> None:
    from tests.ui.test_viewer import open_and_settle

    store = SettingsStore(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win = MainWindow(store, settings=ViewSettings())
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    qtbot.waitExposed(win)
    open_and_settle(qtbot, win, wav(tmp_path / "f.wav", tone(700.0, 2.0)))
    assert win.device_box.count() == 0 and win.device_box.placeholderText()
    win.device_box.showPopup()  # opening the picker lists the devices (not only pressing Live)
    assert win.device_box.count() > 0
    win.device_box.hidePopup()
    win.set_live(True)
    assert win.live.running
    assert win.slice.mapping is None and win.slice.axis.mapping is None  # no axis left over from the file
    wait_captured(qtbot, win, 0.2)
    win._on_pointer(win.panel, "a", -1.5, 10.0)  # the pointer over the live picture
    assert "1.5" in win.readout.text()
    win.set_live(False)
    assert win.readout.text().startswith("f.wav: ")  # not the live picture's "t = -1.5 s"
    assert win.model.cursor is None


def test_daemon_killed_while_live_is_reported_and_the_ui_survives(
    qtbot, live_window: MainWindow, pulse_running: PulseServer
) -> None:
    wait_captured(qtbot, live_window, 0.5)
    shown = live_window.panel.image.levels.copy()
    pulse_running.kill()
    qtbot.waitUntil(
        lambda: (
            "went away" in live_window.statusBar().currentMessage()
            or "no audio" in live_window.statusBar().currentMessage()
        ),
        timeout=10000,
    )
    assert "went away" in live_window.controls.message.text() or "no audio" in live_window.controls.message.text()
    # The captured history stays on screen and the window still works.
    assert live_window.panel.image is not None and live_window.panel.image.levels.shape == shown.shape
    live_window.panel.zoom_time(0.5)
    pulse_running.start()
    assert live_window.live.restart()
    before = live_window.live.engine.latest_time()
    qtbot.waitUntil(lambda: live_window.live.engine.latest_time() > before + 0.3, timeout=10000)


def test_record_saves_everything_captured(
    qtbot, live_window: MainWindow, pulse_running: PulseServer, tmp_path: Path
) -> None:
    out = tmp_path / "rec.wav"
    live_window.live.start_recording(out)
    play(pulse_running, wav(tmp_path / "t.wav", gap(0.1), tone(1500.0, 0.5), gap(0.1)))
    wait_captured(qtbot, live_window, 0.2)
    frames = live_window.live.stop_recording()
    y, sr = soundfile.read(out, dtype="float32")
    assert sr == live_window.live.mic.samplerate and y.shape[0] == frames > 0.6 * sr
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * sr / y.shape[0] - 1500) < 5
    history = tmp_path / "history.flac"
    n = live_window.live.save_history(history)
    info = soundfile.info(str(history))
    assert info.frames == n and n >= 0.7 * sr


def test_mic_screenshot_option(pulse_running: PulseServer, tmp_path: Path) -> None:
    out = tmp_path / "live.png"
    env = dict(pulse_running.env(), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "spectroview",
            "--mic",
            "--screenshot",
            str(out),
            "--seconds",
            "1.5",
            "--size",
            "1000x650",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1000, 650)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


@pytest.mark.slow
def test_two_minutes_live_keep_memory_flat(qtbot, live_window: MainWindow) -> None:
    wait_captured(qtbot, live_window, 10.0)  # the history ring is full from here on
    start = rss_mb()
    wait_captured(qtbot, live_window, 110.0)
    assert live_window.live.running and live_window.live.problems() == 0
    assert rss_mb() - start < 10.0, f"RSS grew from {start:.1f} to {rss_mb():.1f} MB"


def test_live_resumes_by_itself_once_the_sound_server_is_back(
    qtbot, live_window: MainWindow, pulse_running: PulseServer
) -> None:
    wait_captured(qtbot, live_window, 0.3)
    pulse_running.kill()
    qtbot.waitUntil(lambda: "retrying" in live_window.statusBar().currentMessage(), timeout=10000)
    before = live_window.live.engine.latest_time()
    pulse_running.start()
    # No user action: the background retry reopens the stream and the history goes on.
    qtbot.waitUntil(lambda: live_window.live.engine.latest_time() > before + 0.3, timeout=15000)
    assert "live again" in live_window.statusBar().currentMessage()
    assert live_window.live.running


def test_stopping_never_waits_for_ever_on_a_retry_stuck_in_the_sound_system(qtbot) -> None:
    """PortAudio can block for good aborting a stream once PulseAudio died: stop() leaves it, in bounded time."""
    import threading
    import time

    from spectroview.ui import live as live_module

    controller = live_module.LiveController()
    release = threading.Event()
    closed: list[bool] = []

    class StuckMic:
        def close(self) -> None:  # would block on the same stream: must not be called
            closed.append(True)

    stuck = threading.Thread(target=release.wait, daemon=True)  # a retry blocked inside PortAudio
    stuck.start()
    controller.mic = StuckMic()  # type: ignore[assignment]
    controller._retry_thread = stuck
    messages: list[str] = []
    controller.statusChanged.connect(lambda text, _error: messages.append(text))
    started = time.monotonic()
    controller.stop()
    assert time.monotonic() - started < live_module.RETRY_JOIN_SECONDS + 1.0
    assert controller.mic is None and not closed
    assert any("did not answer" in m for m in messages), messages
    release.set()
