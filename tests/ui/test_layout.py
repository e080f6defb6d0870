"""The window at any size: the spectrogram gets most of it; the panels can be hidden, tabbed and restored."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.importorskip("pytestqt")

from spectroview.ui.main_window import MainWindow


@pytest.mark.parametrize("size", [(800, 500), (1024, 600), (1280, 800), (1920, 1080)])
def test_the_spectrogram_gets_most_of_the_window(qtbot, make_window: Callable[..., MainWindow], size) -> None:
    win = make_window(size)
    qtbot.waitUntil(lambda: not win._layout_pending and win.analysis_dock.width() <= 450, timeout=3000)
    qtbot.wait(50)
    w, h = win.width(), win.height()
    assert win.panel.width() >= 0.6 * w, (win.panel.width(), w)  # the panels' column is the smaller part
    spectrogram = win.panel.spec_box.sceneBoundingRect()
    assert spectrogram.height() >= 0.5 * h, (spectrogram.height(), h)  # not a sliver under the strips
    assert spectrogram.width() >= 0.4 * w, (spectrogram.width(), w)
    assert spectrogram.width() * spectrogram.height() > win.slice.plot.width() * win.slice.plot.height()


def test_at_1280x800_every_display_control_is_in_view(qtbot, make_window: Callable[..., MainWindow]) -> None:
    win = make_window((1280, 800))
    qtbot.waitUntil(lambda: not win._layout_pending, timeout=3000)
    qtbot.wait(50)
    for control in (win.controls.colormap, win.controls.reassigned, win.controls.channel):
        assert not control.visibleRegion().isEmpty(), control  # not below the fold of the dock


def test_the_panels_can_be_tabbed_hidden_and_restored(qtbot, make_window: Callable[..., MainWindow]) -> None:
    win = make_window((1024, 600))
    qtbot.waitUntil(lambda: not win._layout_pending, timeout=3000)
    win.tab_panels()
    assert win.tabifiedDockWidgets(win.analysis_dock) == [win.slice_dock]
    win.slice_dock.toggleViewAction().trigger()
    assert not win.slice_dock.isVisible()
    win.reset_layout()
    qtbot.waitUntil(lambda: win.slice_dock.isVisible() and win.analysis_dock.isVisible(), timeout=3000)
    assert win.tabifiedDockWidgets(win.analysis_dock) == []  # one above the other again
    panels = next(a.menu() for a in win.menuBar().actions()[1].menu().actions() if a.menu() is not None)
    assert [a.text() for a in panels.actions() if a.text()] == [
        "Analysis", "Spectrum", "&Tab the Panels Together", "&Reset the Layout",
    ]  # fmt: skip
