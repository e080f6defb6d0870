"""Keys: a focused control takes its keys before the window's shortcuts; every key is listed, in the README too."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
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
    assert QApplication.clipboard().text() == copy.text().removeprefix("Copy Readout: ")
    select = next(a for a in menu.actions() if a.text() == "Select the Visible Range")
    select.trigger()
    t0, t1 = panel.visible_range()
    assert window.model.selection == pytest.approx((max(0.0, t0), min(4.0, t1)), abs=0.05)
    menu.close()


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
