"""The viewer, offscreen: real windows, real files, waiting on signals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QLabel, QMessageBox

from spectroview.dsp import SpectrogramParams
from spectroview.render.png import read_png
from spectroview.session.axes import FrequencyMapping
from spectroview.session.settings import ViewSettings
from spectroview.ui.main_window import MainWindow
from spectroview.ui.settings_store import SettingsStore

SR = 22050
ROOT = Path(__file__).resolve().parents[2]


def write_tone(path: Path, freq: float = 1000.0, seconds: float = 3.0, amplitude: float = 0.5) -> Path:
    t = np.arange(int(SR * seconds)) / SR
    soundfile.write(path, (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR, subtype="FLOAT")
    return path


def screenshot_of(path: Path, out: Path, file_size_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """``spectroview PATH --screenshot OUT`` offscreen, in a process of its own (optionally under RLIMIT_FSIZE)."""

    def limited() -> None:
        if file_size_limit is not None:
            import resource
            import signal

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [sys.executable, "-m", "spectroview", str(path), "--screenshot", str(out)],
        cwd=ROOT,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limited,
    )


def write_clicks(path: Path, times: list[float], seconds: float = 20.0) -> Path:
    y = np.zeros(int(SR * seconds), np.float32)
    for t in times:
        y[round(t * SR)] = 0.9
    soundfile.write(path, y, SR, subtype="FLOAT")
    return path


def settle(qtbot, win: MainWindow, timeout: int = 20000) -> None:
    """Wait until the latest requested view is on screen and nothing is computing."""

    def done() -> bool:
        jobs = win.jobs
        latest = jobs.latest
        return win.is_idle() and latest is not None and latest.generation == jobs.generation and latest.complete

    qtbot.waitUntil(done, timeout=timeout)


def open_and_settle(qtbot, win: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(win.fileOpened, timeout=10000):
        assert win.open_file(path)
    settle(qtbot, win)


def change(qtbot, win: MainWindow, **changes: object) -> None:
    """Change settings as the controls do (through the same signal path: an edit to the model)."""
    win.controls.edited.emit(changes)
    settle(qtbot, win)


@pytest.mark.parametrize("scale", ["linear", "log", "mel"])
def test_brightest_row_is_the_tone_on_every_scale(qtbot, window: MainWindow, tmp_path: Path, scale: str) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav"))
    change(qtbot, window, scale=scale, n_mels=128)
    image = window.jobs.latest
    assert image is not None and image.params.scale == scale
    row = int(np.argmax(image.levels[:, image.levels.shape[1] // 2]))
    mapping = FrequencyMapping.from_params(image.params)
    freq = float(mapping.y_to_hz(row + 0.5))
    # Within one row of the engine's own resolution at 1 kHz.
    lo, hi = float(mapping.y_to_hz(row)), float(mapping.y_to_hz(row + 1))
    assert lo - (hi - lo) <= 1000.0 <= hi + (hi - lo), (freq, lo, hi)
    # The axis labels the row with that frequency: the readout says so.
    assert f"{freq:.1f} Hz" in window.readout_text(1.5, freq)


def test_click_train_shows_bright_columns_at_the_click_times(qtbot, window: MainWindow, tmp_path: Path) -> None:
    times = [2.0, 5.5, 9.25, 14.0, 18.5]
    open_and_settle(qtbot, window, write_clicks(tmp_path / "clicks.wav", times))
    image = window.jobs.latest
    assert image is not None
    loud = image.levels.max(axis=0)
    bright = np.flatnonzero(loud > loud.max() - 20)
    col_width = (image.x1 - image.x0) / image.levels.shape[1]
    centres = image.x0 + (bright + 0.5) * col_width
    for t in times:
        assert np.min(np.abs(centres - t)) <= col_width + image.params.n_fft / SR / 2, t
    # Nothing bright far from a click.
    for c in centres:
        assert min(abs(c - t) for t in times) < 0.2


def test_halving_hop_doubles_the_columns(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav"))
    window.panel.set_time_range(1.0, 1.5)
    settle(qtbot, window)
    change(qtbot, window, hop_length=512, hop_locked=False)
    first = window.jobs.latest
    change(qtbot, window, hop_length=256)
    second = window.jobs.latest
    assert first is not None and second is not None
    assert first.origin == second.origin == "direct"
    assert second.levels.shape[1] in (
        2 * first.levels.shape[1] - 1,
        2 * first.levels.shape[1],
        2 * first.levels.shape[1] + 1,
    )


def test_mel_bands_set_the_image_height(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav"))
    change(qtbot, window, scale="mel", n_mels=64)
    assert window.jobs.latest.levels.shape[0] == 64
    change(qtbot, window, n_mels=40)
    assert window.jobs.latest.levels.shape[0] == 40
    assert window.panel.n_rows == 40


def test_colormap_changes_colours_not_data(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav"))
    before = window.jobs.latest.levels.copy()
    pixels_before = window.panel.grab().toImage()
    change(qtbot, window, colormap="grey")
    after = window.jobs.latest.levels
    np.testing.assert_array_equal(before, after)
    pixels_after = window.panel.grab().toImage()
    assert pixels_before != pixels_after
    lut = window.panel.image_item.lut
    assert lut is not None and (lut[:, 0] == lut[:, 1]).all() and (lut[:, 1] == lut[:, 2]).all()


def test_colour_map_floor_and_ceiling_changes_run_no_fft(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav"))
    window.panel.set_time_range(0.5, 1.5)  # a direct view: its FFTs would be counted
    settle(qtbot, window)
    before = window.jobs.latest
    assert before is not None and before.origin == "direct"
    ffts: list[int] = []
    import spectroview.dsp.stft as stft

    rfft = stft.rfft
    monkeypatch.setattr(stft, "rfft", lambda *a, **k: ffts.append(1) or rfft(*a, **k))
    requests: list[int] = []
    request_view = window.jobs.request_view
    monkeypatch.setattr(window.jobs, "request_view", lambda *a, **k: requests.append(1) or request_view(*a, **k))
    change(qtbot, window, colormap="viridis")
    change(qtbot, window, db_floor=-70.0)
    change(qtbot, window, db_ceiling=-6.0)
    qtbot.waitUntil(lambda: window.jobs.latest.index_levels == (-70.0, -6.0), timeout=10000)
    assert ffts == [] and requests == []
    after = window.jobs.latest
    np.testing.assert_array_equal(after.levels, before.levels)  # the numbers are the same
    item = window.panel.image_item
    assert item.image.dtype == np.uint8 and tuple(float(v) for v in item.levels) == (0.0, 255.0)
    np.testing.assert_array_equal(item.image, after.indices)  # painted from indices for the new levels
    # A parameter change does compute.
    change(qtbot, window, n_fft=1024)
    assert ffts and requests


def test_cursor_readout_at_a_known_point(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav", freq=1000.0, amplitude=0.5))
    mapping = window.panel.mapping
    y = float(mapping.hz_to_y(1000.0))
    text = window.readout_text(1.5, 1000.0)
    assert "1:" not in text.split("f")[0] or "0:01.5" in text  # time first
    assert "B5 +21 ct" in text  # 1000 Hz is 21 cents above B5 (987.77 Hz, A4 = 440 Hz)
    level = window.panel.level_at(1.5, y)
    # A 0.5 amplitude sine is -6 dBFS at its bin's peak; the hann window spreads a
    # little into the neighbour, so within 2 dB at the centre row.
    assert level is not None and -8.5 < level < -5.0


def test_export_data_matches_the_engine_output(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav"))
    image = window.jobs.latest
    assert window.export_data(tmp_path / "view.npy")
    saved = np.load(tmp_path / "view.npy")
    np.testing.assert_array_equal(saved, image.levels)
    meta = json.loads((tmp_path / "view.json").read_text())
    assert meta["shape"] == list(image.levels.shape)
    assert len(meta["axes"]["row_center_hz"]) == image.levels.shape[0]
    assert meta["axes"]["column_edge_s"][0] == pytest.approx(image.x0)
    assert meta["params"]["n_fft"] == image.params.n_fft
    assert window.export_data(tmp_path / "view.csv")
    table = np.loadtxt(tmp_path / "view.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 1:], image.levels, atol=1e-3)
    np.testing.assert_allclose(table[:, 0], meta["axes"]["row_center_hz"], rtol=1e-6)


def test_export_image_is_the_view_with_axes(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav"))
    out = tmp_path / "view.png"
    assert window.export_image(out)
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert image.width() == window.panel.width() and image.height() == window.panel.height()
    # A symlink at the target is replaced, never written through.
    precious = tmp_path / "precious.png"
    precious.write_bytes(b"the user's own picture")
    link = tmp_path / "link.png"
    link.symlink_to(precious)
    assert window.export_image(link)
    assert precious.read_bytes() == b"the user's own picture" and not link.is_symlink()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary file left


def _pixels(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = [np.frombuffer(bytes(image.constScanLine(r)), np.uint8)[: 3 * image.width()] for r in range(image.height())]
    return np.stack(rows).reshape(image.height(), image.width(), 3).astype(np.float64)


def test_export_image_at_any_width_with_a_dpi_and_as_svg(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch
) -> None:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer
    from PySide6.QtWidgets import QApplication, QFileDialog

    from spectroview.ui.export import ExportImageDialog

    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav", freq=3000.0))
    w, h = window.panel.width(), window.panel.height()
    assert window.export_image(tmp_path / "one.png")
    one = _pixels(QImage(str(tmp_path / "one.png")))
    # Twice as wide at 300 dpi: the same picture, drawn at the size (not a blurred enlargement of the screen).
    assert window.export_image(tmp_path / "two.png", width=2 * w, dpi=300)
    two = QImage(str(tmp_path / "two.png"))
    assert (two.width(), two.height()) == (2 * w, round(2 * h))
    assert two.dotsPerMeterX() == pytest.approx(300 / 0.0254, abs=1)
    halved = _pixels(two.scaled(w, h, mode=Qt.TransformationMode.SmoothTransformation))
    assert np.mean(np.abs(halved - one)) < 3.0  # text and lines antialiased differently; nothing moved
    bright = np.argmax(one.sum(axis=2).mean(axis=1)[h // 6 : 5 * h // 6]) + h // 6  # the tone's row, as shown
    assert abs(int(np.argmax(halved.sum(axis=2).mean(axis=1)[h // 6 : 5 * h // 6]) + h // 6) - int(bright)) <= 2
    # SVG: the printed size from the DPI, and drawn back it is the same picture.
    assert window.export_image(tmp_path / "view.svg", dpi=96)
    svg = (tmp_path / "view.svg").read_text()
    assert f'viewBox="0 0 {w} {h}"' in svg and f'width="{w / 96 * 25.4:.3f}mm"' in svg and "<image" in svg
    drawn = QImage(w, h, QImage.Format.Format_RGB32)
    drawn.fill(0)
    painter = QPainter(drawn)
    QSvgRenderer(str(tmp_path / "view.svg")).render(painter)
    painter.end()
    assert np.mean(np.abs(_pixels(drawn) - one)) < 3.0
    # Too large: refused, said, nothing written.
    assert not window.export_image(tmp_path / "huge.png", width=100000)
    assert "16384" in window.statusBar().currentMessage() and not (tmp_path / "huge.png").exists()
    # The menu's way: where (SVG chosen by its filter), then width and DPI, remembered for the next export.
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a: (str(tmp_path / "menu"), "SVG drawing (*.svg)"))
    )

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ExportImageDialog)
        dialog.width_box.setValue(800)
        dialog.dpi_box.setValue(150)
        assert dialog.height_label.text() == f"{round(h * 800 / w)} px"
        dialog.accept()

    QTimer.singleShot(0, fill)
    window.export_image_dialog()
    menu = tmp_path / "menu.svg"  # no suffix typed: the chosen filter's
    assert menu.read_text().startswith("<?xml") and f'viewBox="0 0 800 {round(h * 800 / w)}"' in menu.read_text()
    assert window.store.export_width == 800 and window.store.export_dpi == 150
    assert window.store.last_directory == str(tmp_path.resolve())  # the next save dialog opens there


def test_corrupt_file_keeps_the_previous_one(qtbot, window: MainWindow, tmp_path: Path) -> None:
    good = write_tone(tmp_path / "good.wav")
    open_and_settle(qtbot, window, good)
    title = window.windowTitle()
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + os.urandom(200))
    assert not window.open_file(bad)
    assert window.info is not None and Path(window.info.path) == good
    assert window.windowTitle() == title
    dialogs = [w for w in window.findChildren(QMessageBox) if w.objectName() == "error-dialog" and w.isVisible()]
    assert dialogs and "bad.wav" in dialogs[-1].text()
    assert "bad.wav" in window.statusBar().currentMessage()
    # The view still works.
    window.panel.zoom_time(0.5)
    settle(qtbot, window)


def test_settings_persist_between_windows(qtbot, store: SettingsStore, tmp_path: Path) -> None:
    first = MainWindow(store, settings=store.load_view())
    qtbot.addWidget(first)
    chosen = ViewSettings(
        params=SpectrogramParams(n_fft=4096, hop_length=256, scale="mel", n_mels=96),
        colormap="viridis",
        db_floor=-70.0,
        hop_locked=False,
    )
    first.model.set_settings(chosen)
    first.close()
    second = MainWindow(store)
    qtbot.addWidget(second)
    assert second.view_settings == chosen
    assert second.controls.n_mels.slider.value() == 96


def test_dragging_a_slider_builds_no_backlog(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav", seconds=20.0))
    received = []
    window.jobs.image_ready.connect(lambda image: received.append(image.generation))
    for i in range(40):
        window.jobs.request_view(0.0, 1.0 + i * 0.1, 800)
    last = window.jobs.generation
    settle(qtbot, window)
    assert received[-1] == last
    assert len(received) <= 2  # the one running when the burst began, and the last


def test_screenshot_option_writes_a_png_of_the_window_size(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    wav = write_tone(tmp_path / "tone.wav")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "spectroview",
            str(wav),
            "--screenshot",
            str(out),
            "--size",
            "900x600",
            "--scale",
            "mel",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rgb = read_png(out) if out.read_bytes()[25] in (2, 0) else None
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (900, 600)
    if rgb is not None:
        assert rgb.std() > 5  # not a blank window


def test_screenshot_of_a_bad_file_is_one_clean_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    out = tmp_path / "shot.png"
    proc = screenshot_of(bad, out)
    assert proc.returncode == 2
    assert proc.stderr.startswith("spectroview: error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_failing_worker_is_reported_and_the_app_goes_on(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch
) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav"))
    import spectroview.session.jobs as workers

    real = workers.compute_view

    def broken(*args, **kwargs):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(workers, "compute_view", broken)
    failures: list[str] = []
    window.jobs.failed.connect(failures.append)
    window.panel.zoom_time(0.5)
    qtbot.waitUntil(lambda: bool(failures), timeout=10000)
    assert "internal error: ZeroDivisionError: simulated bug" in failures[0]
    dialogs = [w for w in window.findChildren(QMessageBox) if w.objectName() == "error-dialog" and w.isVisible()]
    assert dialogs and "simulated bug" in dialogs[-1].text()
    monkeypatch.setattr(workers, "compute_view", real)
    window.panel.zoom_time(0.5)
    settle(qtbot, window)  # the next view works
    assert window.jobs.latest.origin in ("direct", "overview")


def test_space_plays_the_selection_with_a_moving_playhead(
    qtbot, pulse_running, window: MainWindow, tmp_path: Path
) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav", seconds=3.0))
    window.panel.set_selection(1.0, 1.6)
    window.toggle_play()
    player = window.player
    assert player is not None and player.state == "playing", window.statusBar().currentMessage()
    heads: list[float] = []

    def sample() -> bool:
        if window.panel.playhead.isVisible():
            heads.append(window.panel.playhead.value())
        return window.player is None  # playback over

    qtbot.waitUntil(sample, timeout=10000)
    moving = heads
    assert moving and min(moving) >= 1.0 - 1e-6 and max(moving) <= 1.6 + 1e-6
    assert max(moving) > 1.3  # it moved through the selection
    assert player.state == "finished"


def test_screenshot_of_a_file_cut_short_shows_what_decodes(tmp_path: Path) -> None:
    y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(SR * 20) / SR)).astype(np.float32)
    full = tmp_path / "full.flac"
    soundfile.write(full, y, SR, subtype="PCM_16")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # the header still says 20 s
    out = tmp_path / "shot.png"
    proc = screenshot_of(cut, out)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("spectroview: ")]
    assert lines and all(line.startswith(f"spectroview: warning: {cut}") for line in lines), proc.stderr
    assert any("ends early" in line and "expected from its header" in line for line in lines)
    assert out.exists()


def test_screenshot_of_a_file_damaged_in_its_header_fails_fast(tmp_path: Path) -> None:
    y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(SR * 2) / SR)).astype(np.float32)
    full = tmp_path / "full.flac"
    soundfile.write(full, y, SR, subtype="PCM_16")
    data = full.read_bytes()
    bad = tmp_path / "bad.flac"
    bad.write_bytes(data[:4] + bytes(2000) + data[2004:])  # STREAMINFO and the first frames zeroed
    out = tmp_path / "shot.png"
    proc = screenshot_of(bad, out)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("spectroview: error: ")]
    assert len(lines) == 1 and "bad.flac" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(("seconds", "label"), [(0.01, "time (s)"), (3.0, "time (s)"), (90.0, "time (m:ss)")])
def test_the_time_axis_names_its_unit(qtbot, window: MainWindow, tmp_path: Path, seconds: float, label: str) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "t.wav", seconds=seconds))
    axis = window.panel.time_axis
    assert axis.labelText == label
    assert "x0.0" not in axis.labelString() and "(x" not in axis.labelString()  # no automatic SI prefix


@pytest.mark.parametrize(("signum", "status"), [(2, 130), (15, 143)])
@pytest.mark.parametrize("delay", [1.5, 3.0])
def test_an_interrupted_screenshot_quits_cleanly(tmp_path: Path, signum: int, status: int, delay: float) -> None:
    import signal
    import time

    # A long file at n_fft 32768: the picture takes many seconds, so the signal lands while it is computed.
    seconds = 1200
    long = tmp_path / "long.wav"
    with soundfile.SoundFile(long, "w", SR, 1, subtype="PCM_16") as f:
        for _ in range(seconds // 60):
            f.write((0.3 * np.sin(2 * np.pi * 440 * np.arange(SR * 60) / SR)).astype(np.float32))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "shot.png"
    proc = subprocess.Popen(
        [sys.executable, "-m", "spectroview", str(long), "--screenshot", str(out), "--n-fft", "32768"],
        cwd=ROOT,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen", TMPDIR=str(scratch)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err  # (the whole picture takes ~10 s here: the signal comes well before)
    assert err.strip().splitlines() == ["spectroview: interrupted"], err
    assert not out.exists()
    assert list(scratch.iterdir()) == []  # the throwaway settings folder is gone
    assert signal.Signals(signum)  # (a real signal number)


def test_screenshot_says_what_reading_met_once_per_kind(tmp_path: Path) -> None:
    """Non-finite samples are found only by reading the whole file: the viewer says so, once."""
    y = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(SR * 8) / SR)).astype(np.float32)
    y[np.random.default_rng(0).integers(0, y.size, 50)] = np.nan
    src = tmp_path / "nan.wav"
    soundfile.write(src, y, SR, subtype="FLOAT")
    out = tmp_path / "shot.png"
    proc = screenshot_of(src, out)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"spectroview: warning: {src}: 50 non-finite samples (NaN/Inf) read as silence"], lines
    assert out.exists()


def test_found_warnings_reach_the_status_bar_and_the_properties(qtbot, window: MainWindow, tmp_path: Path) -> None:
    y = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(SR * 3) / SR)).astype(np.float32)
    y[100:107] = np.inf
    src = tmp_path / "inf.wav"
    soundfile.write(src, y, SR, subtype="FLOAT")
    open_and_settle(qtbot, window, src)
    qtbot.waitUntil(lambda: "non-finite" in window.statusBar().currentMessage(), timeout=10000)
    assert "7 non-finite samples" in window.statusBar().currentMessage()
    dialog = window.show_properties()
    assert dialog is not None
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert any("7 non-finite samples" in t for t in texts), texts
    dialog.close()


def test_the_same_failure_is_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from spectroview.ui.app import _one_line_log

    logger = logging.getLogger("spectroview.ui.main_window")
    with _one_line_log(hold=False):
        for _ in range(3):
            logger.warning("%s: %s", "Analysis failed", "x.wav: cannot read")
        logger.warning("another thing")
    assert capsys.readouterr().err.splitlines() == [
        "spectroview: warning: Analysis failed: x.wav: cannot read",
        "spectroview: warning: another thing",
    ]
    with _one_line_log(hold=True) as held:
        logger.warning("%s: %s", "Analysis failed", "x.wav: cannot read")
        logger.warning("other")
        assert capsys.readouterr().err == ""  # held until the run ends
        held.print_held("x.wav: cannot read")  # the final error line says it: not twice
    assert capsys.readouterr().err.splitlines() == ["spectroview: warning: other"]


def test_a_screenshot_on_a_full_disk_is_one_line_and_keeps_the_old_picture(tmp_path: Path) -> None:
    src = write_tone(tmp_path / "tone.wav")
    out = tmp_path / "shot.png"
    out.write_bytes(b"the previous picture")
    proc = screenshot_of(src, out, file_size_limit=4096)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"spectroview: error: {out}: File too large"), lines
    assert out.read_bytes() == b"the previous picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.png", "tone.wav"]


def test_a_short_tone_is_a_line_on_a_dark_picture(tmp_path: Path) -> None:
    """The saved window of a 2 s tone: a dark picture with a line, not a block of the top colour."""
    from PySide6.QtGui import QImage

    y = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(SR * 2) / SR)).astype(np.float32)
    src = tmp_path / "tone.wav"
    soundfile.write(src, y, SR, subtype="PCM_16")
    out = tmp_path / "shot.png"
    proc = screenshot_of(src, out)
    assert proc.returncode == 0, proc.stderr
    image = QImage(str(out)).convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    rgb = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h).reshape(h, -1)[:, : 3 * w]
    rgb = rgb.reshape(h, w, 3).astype(int)
    top = np.array([252, 253, 191])  # magma's top colour (0 dBFS and above)
    near_top = (np.abs(rgb - top).sum(axis=2) < 30).mean()
    assert near_top < 0.02, f"{near_top:.1%} of the window is at the ceiling's colour"


def test_the_painted_levels_always_match_what_is_painted(qtbot, window: MainWindow, tmp_path: Path) -> None:
    """Colour indices are painted with levels (0, 255), dB floats with (floor, ceiling): never crossed."""
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav"))
    item = window.panel.image_item

    def consistent() -> bool:
        levels = tuple(float(v) for v in item.levels)
        return levels == (0.0, 255.0) if item.image.dtype == np.uint8 else levels == window.panel.levels

    assert consistent()
    assert item.image.dtype == np.uint8  # settled: colour indices
    window.panel.colorbar.setLevels((-70.0, 0.0))  # the colour bar's own update (its scale) ...
    assert consistent(), item.levels  # ... does not reach the image
    for floor, ceiling in ((-80.0, 0.0), (-60.0, -10.0), (-90.0, 0.0)):
        window.panel.set_colormap("magma", floor, ceiling)
        assert consistent(), (item.image.dtype, item.levels, window.panel.levels)
        settle(qtbot, window)
        window.panel.show_image(window.jobs.latest)
        assert consistent(), (item.image.dtype, item.levels, window.panel.levels)


def test_what_the_viewer_changes_of_the_command_line_it_says(tmp_path: Path) -> None:
    src = write_tone(tmp_path / "tone.wav")
    out = tmp_path / "shot.png"

    def shot(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "spectroview", str(src), "--screenshot", str(out), *options],
            cwd=ROOT,
            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
            capture_output=True,
            text=True,
            timeout=120,
        )

    proc = shot("--hop", "5000")  # longer than the 2048-sample window: the viewer cuts it
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "spectroview: warning: --hop 5000: longer than the window (2048 samples); "
        "the viewer uses 2048 (render takes it as given)"
    ]
    proc = shot("--size", "10x10")
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("spectroview: warning: --size 10x10: the window cannot be that size") and "it is " in line


def test_playback_turns_the_view_a_page_when_the_playhead_leaves_it(
    qtbot, pulse_running, window: MainWindow, tmp_path: Path
) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav", seconds=4.0))
    window.panel.set_time_range(0.0, 1.0)
    settle(qtbot, window)
    window.model.set_play_cursor(0.5)
    window.toggle_play()
    assert window.player is not None and window.player.state == "playing", window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.panel.visible_range()[0] >= 0.9, timeout=5000)  # the next page
    t0, t1 = window.panel.visible_range()
    assert t1 - t0 == pytest.approx(1.0, abs=0.01)  # the span kept
    window._stop_playback()
    window.follow_action.trigger()  # off: the view stays where the user put it
    assert window.model.tools.follow is False
    window.panel.set_time_range(0.0, 1.0)
    window.model.set_play_cursor(0.8)
    window.toggle_play()
    qtbot.wait(800)
    assert window.panel.visible_range()[0] == pytest.approx(0.0, abs=0.01)
    window._stop_playback()


def test_the_demo_does_not_become_the_folder_dialogs_open_in(qtbot, window: MainWindow, tmp_path: Path) -> None:
    from spectroview._resources import DEMO_NAME, resource_path

    open_and_settle(qtbot, window, write_tone(tmp_path / "mine.wav"))
    assert window.store.last_directory == str(tmp_path.resolve())
    open_and_settle(qtbot, window, resource_path(DEMO_NAME))
    assert window.store.last_directory == str(tmp_path.resolve())  # not the installed package's folder


def test_a_channel_chosen_last_session_is_not_forced_on_the_next_files(qtbot, store, tmp_path: Path) -> None:
    import dataclasses

    store.save_view(dataclasses.replace(ViewSettings(), channel=1, colormap="viridis"))
    window = MainWindow(store)
    qtbot.addWidget(window)
    window.show()
    assert window.model.requested.channel is None and window.model.requested.colormap == "viridis"
    open_and_settle(qtbot, window, write_tone(tmp_path / "mono.wav"))
    assert window.model.shown.note == ""  # no "channel 2: the source has 1" on every mono file
