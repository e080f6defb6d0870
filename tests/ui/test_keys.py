"""Keys: a focused control takes its keys before the window's shortcuts; every key is listed, in the README too."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QTableWidget

from spectroview.ui.controls import N_FFT_CHOICES
from spectroview.ui.main_window import MainWindow
from spectroview.ui.shortcuts import key_rows, markdown
from tests.ui.test_viewer import open_and_settle, settle, write_tone

ROOT = Path(__file__).resolve().parents[2]


def test_arrows_on_a_focused_slider_move_the_slider_not_the_view(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav", seconds=20.0))
    window.panel.zoom_time(0.25)
    settle(qtbot, window)
    before = window.panel.visible_range()
    slider = window.controls.n_fft.slider
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus, timeout=2000)
    start = slider.value()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert slider.value() == start + 1  # one power of two: 2048 -> 4096
    assert N_FFT_CHOICES[slider.value()] == 2 * N_FFT_CHOICES[start]
    assert window.panel.visible_range() == before  # the view did not scroll
    qtbot.keyClick(slider, Qt.Key.Key_PageDown)
    assert slider.value() == start  # a page is one power of two too (it was 10: 2048 -> 32768)
    settle(qtbot, window)
    window.panel.setFocus()  # with the view focused, Right scrolls
    qtbot.keyClick(window.panel, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.panel.visible_range()[0] > before[0], timeout=2000)


def test_help_lists_every_key_the_window_has(qtbot, window: MainWindow) -> None:
    rows = key_rows(window)
    keys = {k for k, _, _ in rows}
    with_shortcut = [a for a in window.findChildren(type(window.help_menu.menuAction())) if not a.shortcut().isEmpty()]
    assert len(rows) == len({id(a) for a in with_shortcut})  # every action with a shortcut, once
    assert {"Space", "Ctrl+O", "?", "Left", "P", "C"} <= keys
    dialog = window.show_shortcuts()
    table = dialog.findChild(QTableWidget)
    assert table is not None and table.rowCount() >= len(rows)
    shown = {table.item(r, 0).text() for r in range(table.rowCount())}
    assert keys <= shown
    dialog.close()
    qtbot.keyClick(window, Qt.Key.Key_Question)  # "?" opens it too
    qtbot.waitUntil(
        lambda: any(w.isVisible() for w in window.findChildren(type(dialog)) if w is not dialog), timeout=2000
    )


def test_the_readme_table_is_the_one_the_window_makes(qtbot, window: MainWindow) -> None:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- shortcuts -->\n(.*?)<!-- /shortcuts -->", readme, re.S)
    assert found, "the README lost its shortcuts section"
    assert found[1] == markdown(window), "README out of date: run python -m spectroview.ui.shortcuts"
    proc = subprocess.run(
        [sys.executable, "-m", "spectroview.ui.shortcuts"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout == found[1], proc.stderr


def test_right_click_opens_the_products_menu_not_the_plotting_librarys(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    from PySide6.QtWidgets import QMenu

    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav", seconds=4.0))
    panel = window.panel
    assert not panel.spec_plot.autoBtn.isVisible()  # no "A" button over the amplitude label
    assert not panel.wave_plot.autoBtn.isVisible()
    box = panel.spec_box
    centre = box.mapViewToScene(box.viewRect().center())
    pos = panel.mapFromScene(centre)
    qtbot.mouseClick(panel.viewport(), Qt.MouseButton.RightButton, pos=pos)
    qtbot.waitUntil(lambda: window._context is not None and window._context.isVisible(), timeout=3000)
    menu = window._context
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[0].startswith("Play from ") and "Fit Whole File" in texts
    assert any(t.startswith("Copy Readout: ") and "Hz" in t for t in texts), texts
    plot_menus = [m for m in QApplication.topLevelWidgets() if isinstance(m, QMenu) and m.isVisible() and m is not menu]
    assert not plot_menus, [m.title() for m in plot_menus]  # no View All / Mouse Mode / Export
    copy = next(a for a in menu.actions() if a.text().startswith("Copy Readout: "))
    copy.trigger()
    copied = QApplication.clipboard().text()
    assert copied == copy.text().removeprefix("Copy Readout: ").replace("\u2212", "-")
    level = copied.split("level = ")[1].split()[0]
    assert float(level) < 0  # pasted numbers parse: ASCII minus signs
    select = next(a for a in menu.actions() if a.text() == "Select the Visible Range")
    select.trigger()
    t0, t1 = panel.visible_range()
    assert window.model.selection == pytest.approx((max(0.0, t0), min(4.0, t1)), abs=0.05)
    menu.close()
    # Nor on the spectrum dock's plot or the colour bar (its colour maps would recolour the bar alone).
    spectrum = window.slice.plot
    assert not spectrum.getPlotItem().autoBtn.isVisible()
    bar = panel.colorbar.sceneBoundingRect().center()
    for widget, point in ((spectrum, spectrum.rect().center()), (panel, panel.mapFromScene(bar))):
        qtbot.mouseClick(widget.viewport(), Qt.MouseButton.RightButton, pos=point)
        qtbot.wait(200)
        shown = [m for m in QApplication.topLevelWidgets() if isinstance(m, QMenu) and m.isVisible()]
        assert not shown, [[a.text() for a in m.actions()] for m in shown]


def _drag(qtbot, panel, a, b, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A real left-button drag on the panel's viewport from scene point ``a`` to ``b``."""
    # After the double-click interval: a press soon after the last release is a double click, not a drag.
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    start, end = panel.mapFromScene(a), panel.mapFromScene(b)
    qtbot.mousePress(panel.viewport(), Qt.MouseButton.LeftButton, modifier, start)
    for k in range(1, 6):
        mid = start + (end - start) * (k / 5)
        move = QMouseEvent(
            QEvent.Type.MouseMove, QPointF(mid), QPointF(panel.viewport().mapToGlobal(mid)),
            Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, modifier,
        )  # fmt: skip
        QApplication.sendEvent(panel.viewport(), move)
    qtbot.mouseRelease(panel.viewport(), Qt.MouseButton.LeftButton, modifier, end)


def test_the_selection_is_made_on_the_spectrogram_shown_there_and_typed(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav", seconds=4.0))
    panel = window.panel
    box = panel.spec_box
    y = box.viewRect().center().y()

    def to_scene(t: float) -> QPointF:
        return box.mapViewToScene(QPointF(t, y))

    _drag(qtbot, panel, to_scene(1.0), to_scene(2.0), Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.model.selection is not None, timeout=3000)
    a, b = window.model.selection
    assert a == pytest.approx(1.0, abs=0.05) and b == pytest.approx(2.0, abs=0.05)
    assert panel.spec_selection.isVisible()  # drawn on the spectrogram, not only on the waveform
    assert panel.spec_selection.getRegion() == pytest.approx((a, b))
    assert window.selection_edit.text() == f"{a:.3f}-{b:.3f}" and window.selection_length.text() == f"({b - a:.3f} s)"
    # Shift+click extends the nearer end.
    panel.extendClicked.emit(3.0)
    assert window.model.selection == pytest.approx((a, 3.0))
    # Typed.
    window.selection_edit.setText("0:00.5-1.25")
    window.selection_edit.editingFinished.emit()
    assert window.model.selection == pytest.approx((0.5, 1.25))
    window.selection_edit.setText("nonsense")
    window.selection_edit.editingFinished.emit()
    assert window.model.selection == pytest.approx((0.5, 1.25))  # unchanged, and said
    assert "selection:" in window.statusBar().currentMessage()
    window.selection_edit.setText("")
    window.selection_edit.editingFinished.emit()
    assert window.model.selection is None and not panel.spec_selection.isVisible()
    # Dragging along the time axis selects too.
    axis_y = panel.time_axis.sceneBoundingRect().center().y()
    _drag(qtbot, panel, QPointF(to_scene(2.0).x(), axis_y), QPointF(to_scene(3.0).x(), axis_y))
    qtbot.waitUntil(lambda: window.model.selection is not None, timeout=3000)
    assert window.model.selection == pytest.approx((2.0, 3.0), abs=0.05)
    panel.clear_selection()
    # A plain drag still pans.
    before = panel.visible_range()
    window.panel.set_time_range(1.0, 2.0)
    _drag(qtbot, panel, to_scene(1.6), to_scene(1.4))
    assert window.model.selection is None
    assert panel.visible_range() != before


def _wheel(qtbot, panel, scene_pos: QPointF, modifiers: Qt.KeyboardModifier, steps: int = 1) -> None:
    """``abs(steps)`` notches of the wheel: up (away from the user) if positive, down if negative."""
    pos = QPointF(panel.mapFromScene(scene_pos))
    for _ in range(abs(steps)):
        event = QWheelEvent(
            pos, QPointF(panel.viewport().mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 if steps > 0 else -120),
            Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QApplication.sendEvent(panel.viewport(), event)
        qtbot.wait(20)


def test_ctrl_wheel_zooms_frequency_about_the_pointer_and_the_zoom_history_goes_back(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    sr = 16000
    t = np.arange(4 * sr) / sr
    f0 = 220.0 + 30.0 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(0.3 / k * np.sin(k * phase) for k in range(1, 8)).astype(np.float32)
    path = tmp_path / "voice.wav"
    soundfile.write(path, voice, sr, subtype="FLOAT")
    open_and_settle(qtbot, window, path)
    window.pitch_action.trigger()
    qtbot.waitUntil(lambda: np.size(window.panel.pitch_curve.getData()[0]) > 10, timeout=10000)
    panel, box = window.panel, window.panel.spec_box
    mapping = panel.mapping
    whole = window.model.view
    # Ctrl+wheel over 230 Hz: frequency zooms about the pointer; time stays.
    y = float(mapping.hz_to_y(230.0))
    at = box.mapViewToScene(QPointF(2.0, y))
    _wheel(qtbot, panel, at, Qt.KeyboardModifier.ControlModifier, steps=6)
    (x0, x1), (y0, y1) = box.viewRange()
    assert (x0, x1) == pytest.approx((0.0, 4.0), abs=1e-6)
    assert y1 - y0 < 0.5 * panel.n_rows  # zoomed in
    assert float(mapping.y_to_hz(box.mapSceneToView(at).y())) == pytest.approx(230.0, abs=15.0)  # about the pointer
    # The pitch track (190-250 Hz) is still in view.
    _, track = panel.pitch_curve.getData()
    voiced = track[np.isfinite(track)]
    assert voiced.size and y0 <= np.nanmedian(voiced) <= y1
    band = window.model.freq_range
    assert band is not None and band[0] < 230.0 < band[1]
    # Shift+wheel scrolls time (as in Audacity): the span stays, nothing zooms.
    window.model.set_time_range(1.0, 2.0)
    settle(qtbot, window)
    _wheel(qtbot, panel, box.mapViewToScene(QPointF(1.5, y)), Qt.KeyboardModifier.ShiftModifier, steps=-2)
    t0, t1 = window.model.time_range
    assert t1 - t0 == pytest.approx(1.0, abs=1e-6) and t0 == pytest.approx(1.2, abs=0.02)  # two notches: later
    window.model.set_time_range(0.0, 4.0)
    settle(qtbot, window)
    qtbot.wait(700)  # the gesture has settled: the next change is a step of its own
    window.model.set_time_range(1.0, 2.0)
    settle(qtbot, window)
    # Zoom back: the time range, then the band, as they were (Alt+Left, the browser's Back).
    assert window.back_action.isEnabled() and not window.forward_action.isEnabled()
    window.activateWindow()
    window.panel.setFocus()
    qtbot.keySequence(window, QKeySequence(QKeySequence.StandardKey.Back))
    qtbot.waitUntil(lambda: window.model.time_range == pytest.approx((0.0, 4.0)), timeout=3000)
    assert window.model.freq_range == pytest.approx(band)
    qtbot.waitUntil(lambda: box.viewRange()[1] == pytest.approx((y0, y1), abs=0.05), timeout=3000)
    window.back_action.trigger()
    qtbot.waitUntil(lambda: window.model.freq_range is None, timeout=3000)
    assert window.model.view.near(whole) and box.viewRange()[1] == pytest.approx((0, panel.n_rows), abs=0.05)
    assert not window.back_action.isEnabled() and window.forward_action.isEnabled()
    # The mouse's forward button goes forward.
    qtbot.mouseClick(panel.viewport(), Qt.MouseButton.ForwardButton, pos=panel.mapFromScene(at))
    qtbot.waitUntil(lambda: window.model.freq_range is not None, timeout=3000)
    assert window.model.freq_range == pytest.approx(band) and window.model.time_range == pytest.approx((0.0, 4.0))


def test_a_click_or_esc_clears_the_selection_and_enter_gives_the_keys_back(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav", seconds=4.0))
    panel, box = window.panel, window.panel.spec_box
    y = box.viewRect().center().y()
    window.activateWindow()
    # Typed, then Enter: the view has the keys again (Space would have typed into the box).
    window.selection_edit.setFocus()
    qtbot.waitUntil(window.selection_edit.hasFocus, timeout=2000)
    window.selection_edit.clear()
    qtbot.keyClicks(window.selection_edit, "1-2")
    qtbot.keyClick(window.selection_edit, Qt.Key.Key_Return)
    assert window.model.selection == pytest.approx((1.0, 2.0))
    qtbot.waitUntil(lambda: not window.selection_edit.hasFocus(), timeout=2000)
    qtbot.keyClick(panel, Qt.Key.Key_Space)  # would play; here there may be no output device: it must not type
    assert window.selection_edit.text() == "1.000-2.000"
    window._stop_playback()
    # Esc clears it.
    qtbot.keyClick(panel, Qt.Key.Key_Escape)
    assert window.model.selection is None and not panel.spec_selection.isVisible()
    # A click on the spectrogram puts the cursor there and clears a selection.
    window.panel.set_selection(1.0, 3.0)
    assert window.model.selection is not None
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    qtbot.mouseClick(
        panel.viewport(), Qt.MouseButton.LeftButton, pos=panel.mapFromScene(box.mapViewToScene(QPointF(2.5, y)))
    )
    qtbot.waitUntil(lambda: window.model.selection is None, timeout=3000)
    assert window.model.play_cursor == pytest.approx(2.5, abs=0.02) and window.selection_edit.text() == ""
