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


def test_making_the_window_smaller_gives_the_width_to_the_spectrogram(
    qtbot, make_window: Callable[..., MainWindow]
) -> None:
    win = make_window((1600, 1000))
    qtbot.waitUntil(lambda: not win._layout_pending and win.analysis_dock.width() > 400, timeout=3000)
    for size in ((800, 500), (640, 400)):
        win.resize(*size)
        qtbot.waitUntil(lambda width=size[0]: win.width() == width, timeout=3000)
        qtbot.wait(100)
        assert win.analysis_dock.width() <= max(270, 0.36 * win.width()), (size, win.analysis_dock.width())
        assert win.panel.width() >= win.width() - max(270, 0.36 * win.width()) - 20
    # At 640x400 the spectrum plot is short: fewer level ticks and a title that fits.
    qtbot.waitUntil(lambda: win.slice._short is True, timeout=3000)
    assert "dBFS" in win.slice.plot.getAxis("left").labelString()
    # A narrower column the user chose is kept when the window grows again.
    win.resize(1600, 1000)
    qtbot.wait(100)
    assert win.analysis_dock.width() <= 300
    qtbot.waitUntil(lambda: win.slice._short is False, timeout=3000)  # the full level axis again


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


def test_a_parameter_change_keeps_the_time_and_frequency_zoom(qtbot, window: MainWindow, tmp_path) -> None:
    from tests.ui.test_viewer import open_and_settle, settle, write_tone

    open_and_settle(qtbot, window, write_tone(tmp_path / "tone.wav", seconds=20.0))
    panel = window.panel
    panel.set_time_range(5.0, 9.0)
    mapping = panel.mapping
    panel.spec_plot.setYRange(mapping.hz_to_y(1000.0), mapping.hz_to_y(3000.0), padding=0)
    settle(qtbot, window)
    window.controls.n_fft.slider.setValue(window.controls.n_fft.slider.value() + 2)  # 2048 -> 8192, as a user
    settle(qtbot, window)
    assert window.params.n_fft == 8192
    (t0, t1), (y0, y1) = panel.spec_box.viewRange()
    assert (t0, t1) == pytest.approx((5.0, 9.0), abs=0.01)
    hz = (panel.mapping.y_to_hz(y0), panel.mapping.y_to_hz(y1))
    assert hz == pytest.approx((1000.0, 3000.0), abs=panel.mapping.y_to_hz(1.0) - panel.mapping.y_to_hz(0.0))
