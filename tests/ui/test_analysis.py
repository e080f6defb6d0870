"""Analysis tools in the window: spectrum slice with refined peaks, pitch track, the AST model view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

pytest.importorskip("pytestqt")


from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from spectroview.audio import synth
from spectroview.ui.main_window import SLICE_MODES, MainWindow
from tests.ui.test_viewer import open_and_settle, settle

SR = 44100


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window((1200, 800))


def write(path: Path, y: np.ndarray, sr: int = SR) -> Path:
    soundfile.write(path, y.astype(np.float32), sr, subtype="FLOAT")
    return path


def test_slice_at_the_cursor_refines_a_tone_between_bins(qtbot, window: MainWindow, tmp_path: Path) -> None:
    freq = 1234.56  # between bins at n_fft 4096 (10.77 Hz apart)
    open_and_settle(qtbot, window, write(tmp_path / "t.wav", synth.tone(freq, 2.0, sr=SR, amplitude=0.5)))
    window.controls.n_fft.slider.setValue(6)  # 4096: the user's slider move
    settle(qtbot, window)
    assert window.params.n_fft == 4096 and window.params.hop_length == 1024  # the hop lock
    window.update_slice(1.0)
    qtbot.waitUntil(lambda: window.slice.current is not None and window.slice.current.t0 == 1.0, timeout=10000)
    result = window.slice.current
    assert result is not None and result.peaks
    assert abs(result.peaks[0].frequency_hz - freq) < 0.1
    assert result.peaks[0].level_db == pytest.approx(-6.02, abs=0.1)  # a 0.5 sine: -6 dBFS
    assert f"{result.peaks[0].frequency_hz:.2f} Hz" in window.slice.caption.text()
    row = int(np.argmax(result.rows_db))
    assert abs(row * SR / 4096 - freq) <= SR / 4096
    bottom = window.slice.plot.getAxis("bottom")
    assert bottom.labelString().replace("&nbsp;", " ").count("(Hz)") == 1 and "x" not in bottom.labelUnitPrefix


def test_slice_averaged_over_a_selection(qtbot, window: MainWindow, tmp_path: Path) -> None:
    y = np.concatenate([synth.tone(500.0, 1.0, sr=SR), synth.tone(3000.0, 1.0, sr=SR)])
    open_and_settle(qtbot, window, write(tmp_path / "two.wav", y))
    window.slice.mode.setCurrentIndex(SLICE_MODES.index("selection"))
    window.panel.set_selection(0.2, 1.8)  # both tones
    qtbot.waitUntil(lambda: window.slice.current is not None and window.slice.current.frames > 20, timeout=10000)
    result = window.slice.current
    assert result is not None and result.frames > 20
    found = sorted(round(p.frequency_hz) for p in result.peaks[:2])
    assert found == [500, 3000]


def test_pitch_track_follows_a_harmonic_tone(qtbot, window: MainWindow, tmp_path: Path) -> None:
    y = synth.harmonic_tone(220.0, 3.0, sr=SR, n_harmonics=8)
    open_and_settle(qtbot, window, write(tmp_path / "h.wav", y))
    window.pitch_action.trigger()  # the menu item (P)
    assert window.pitch_action.isChecked()
    qtbot.waitUntil(lambda: window.panel.pitch_curve.getData()[0] is not None, timeout=10000)
    qtbot.waitUntil(lambda: len(window.panel.pitch_curve.getData()[0]) > 0, timeout=10000)
    x, ys = window.panel.pitch_curve.getData()
    assert x is not None and len(x) > 50
    f0 = np.asarray(window.panel.mapping.y_to_hz(ys[np.isfinite(ys)]))
    assert np.median(np.abs(f0 / 220.0 - 1)) < 0.01
    window.pitch_action.trigger()
    assert not window.pitch_action.isChecked()
    x, _ = window.panel.pitch_curve.getData()
    assert x is None or len(x) == 0


def test_model_view_shows_the_ast_input_and_its_patches(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write(tmp_path / "t.wav", synth.tone(1000.0, 12.0, sr=SR, amplitude=0.5)))
    window.open_model_view()  # computed as a job: the window stays responsive
    dialog = window.model_view
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.data is not None, timeout=20000)
    assert dialog.features.shape == (128, 1024) and dialog.features.dtype == np.float32
    assert dialog.patches.shape == (1212, 16, 16) and dialog.grid == (12, 101)
    assert dialog.patch_at(0, 0) == 0 and dialog.patch_at(15, 15) == 0 and dialog.patch_at(127, 0) is None
    assert dialog.patch_at(20, 30) == 1 * 101 + 2
    out = tmp_path / "ast.npy"
    dialog.export(out)
    np.testing.assert_array_equal(np.load(out), dialog.features)
    dialog.export(tmp_path / "patches.npy", patches=True)
    assert np.load(tmp_path / "patches.npy").shape == (1212, 16, 16)
    # The open file can never be the export's target.
    source = tmp_path / "t.wav"
    before = source.read_bytes()
    with pytest.raises(OSError, match="is the input"):
        dialog.export(source)
    assert source.read_bytes() == before


def test_a_long_selection_gives_one_model_input_per_window_browsed_and_exported_together(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    import json

    y = np.concatenate([synth.tone(500.0, 12.0, sr=SR), synth.tone(2000.0, 13.0, sr=SR)])
    open_and_settle(qtbot, window, write(tmp_path / "long.wav", y))
    window.panel.set_selection(1.0, 23.0)
    window.open_model_view()
    dialog = window.model_view
    assert dialog is not None and len(dialog.windows) == 3
    qtbot.waitUntil(lambda: dialog.data is not None, timeout=20000)
    assert dialog.where.text() == "window 1 of 3: 1.00-11.24 s" and not dialog.previous.isEnabled()
    assert dialog.data.t0 == pytest.approx(1.0) and dialog.data.n_frames == 1024
    first = dialog.features.copy()
    qtbot.mouseClick(dialog.next, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.data.t0 == pytest.approx(11.24, abs=1e-3), timeout=20000)
    assert dialog.where.text().startswith("window 2 of 3") and not np.array_equal(dialog.features, first)
    dialog.go(2)
    qtbot.waitUntil(lambda: dialog.data.t0 == pytest.approx(21.48, abs=1e-3), timeout=20000)
    # The selection's end (23 s) ends the last input: the rest is the reference's padding, marked.
    assert dialog.data.t1 <= 23.0 and dialog.data.n_frames < 1024 and dialog.padding_line.isVisible()
    assert dialog.padding_line.value() == pytest.approx(dialog.column_time(dialog.data.n_frames))
    assert not dialog.next.isEnabled()
    assert "padding" in dialog.info.text()
    out = tmp_path / "all.npy"
    dialog.exportAllRequested.emit(str(out))
    qtbot.waitUntil(lambda: dialog.status.text().startswith("wrote 3 model inputs"), timeout=30000)
    assert str(out) in dialog.status.text() and "all.json" in dialog.status.text()
    array = np.load(out)
    assert array.shape == (3, 128, 1024)
    np.testing.assert_array_equal(array[0], first)
    np.testing.assert_array_equal(array[2], dialog.features)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert [w["valid_columns"] for w in meta["windows"]] == [1024, 1024, dialog.data.n_frames]


def test_reassigned_option_sharpens_zoomed_in_views(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write(tmp_path / "t.wav", synth.tone(1000.3, 3.0, sr=SR, amplitude=0.5)))
    window.panel.set_time_range(1.0, 2.0)
    settle(qtbot, window)
    assert window.jobs.latest.origin == "direct"
    window.controls.reassigned.setChecked(True)  # the user's click, through the controls
    settle(qtbot, window)
    assert window.view_settings.reassigned and window.jobs.latest.origin == "reassigned"
    window.controls.reassigned.setChecked(False)
    settle(qtbot, window)
    assert window.jobs.latest.origin == "direct"


def test_ab_compare_shows_a_second_window_size_with_linked_axes(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write(tmp_path / "t.wav", synth.tone(1000.0, 3.0, sr=SR, amplitude=0.5)))
    window.compare_action.trigger()  # C
    b = window.jobs_b
    assert window.model.compare_on and window.panel_b.isVisible() and window.model.shown.b.params.n_fft == 256
    qtbot.waitUntil(
        lambda: b.latest is not None and b.latest.generation == b.generation and b.latest.complete and b.is_idle(),
        timeout=20000,
    )
    assert b.latest.levels.shape[0] == 129  # 1 + 256 // 2 rows
    # Same time range; frequency range matched in Hz, not in rows.
    window.panel.spec_plot.setYRange(
        window.panel.mapping.hz_to_y(500.0), window.panel.mapping.hz_to_y(2000.0), padding=0
    )
    (ta, _), _ = window.panel.spec_box.viewRange()
    (tb, _), (yb0, yb1) = window.panel_b.spec_box.viewRange()
    assert ta == pytest.approx(tb)
    assert window.panel_b.mapping.y_to_hz(yb0) == pytest.approx(500.0, abs=1.0)
    assert window.panel_b.mapping.y_to_hz(yb1) == pytest.approx(2000.0, abs=1.0)
    # The tone is in the right row of B, whose bins are 172 Hz wide.
    row = int(np.argmax(b.latest.levels[:, b.latest.levels.shape[1] // 2]))
    assert abs(row * SR / 256 - 1000.0) <= SR / 256
    window.compare_action.trigger()  # C again: off
    assert not window.model.compare_on and not window.panel_b.isVisible() and window.model.shown.b is None


def test_harmonic_cursor_marks_the_harmonics_of_the_cursor_frequency(qtbot, window: MainWindow, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, write(tmp_path / "h.wav", synth.harmonic_tone(220.0, 2.0, sr=SR, n_harmonics=8)))
    window.harmonics_action.trigger()  # H
    y = float(window.panel.mapping.hz_to_y(220.0))
    window.panel.cursorMoved.emit(1.0, y)
    marks = [float(window.panel.mapping.y_to_hz(line.value())) for line in window.panel.harmonics]
    assert marks[:4] == pytest.approx([440.0, 660.0, 880.0, 1100.0], rel=1e-6)
    # Each mark sits on a bright row of the picture: the harmonics are really there.
    level = [window.panel.level_at(1.0, float(window.panel.mapping.hz_to_y(f))) for f in marks[:4]]
    assert all(v is not None and v > -40 for v in level)
    window.harmonics_action.trigger()
    assert window.panel.harmonics == []


def _label_boxes(window: MainWindow) -> list:
    return [label.sceneBoundingRect() for label in window.slice.labels if label.isVisible()]


def test_peak_labels_fit_inside_the_plot_and_never_overlap(qtbot, window: MainWindow, tmp_path: Path) -> None:
    # A harmonic spectrum (a 220 Hz sawtooth: 100 harmonics) and a tone near the plot's left edge.
    t = np.arange(SR * 2) / SR
    saw = sum(0.5 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 60))
    open_and_settle(qtbot, window, write(tmp_path / "saw.wav", 0.5 * saw / np.abs(saw).max()))
    window.update_slice(1.0)
    qtbot.waitUntil(lambda: window.slice.current is not None and window.slice.current.t0 == 1.0, timeout=10000)
    boxes = _label_boxes(window)
    inside = window.slice.plot.getViewBox().sceneBoundingRect()
    assert len(boxes) >= 2
    assert all(inside.contains(b) for b in boxes), (inside, boxes)
    assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]), boxes
    tip = window.slice.caption.toolTip().splitlines()
    assert len(tip) == len(window.slice.current.peaks) >= len(boxes)  # every peak, listed

    open_and_settle(qtbot, window, write(tmp_path / "a440.wav", synth.tone(440.0, 2.0, sr=SR, amplitude=0.5)))
    window.update_slice(1.0)
    qtbot.waitUntil(
        lambda: window.slice.current is not None and window.slice.current.peaks
        and abs(window.slice.current.peaks[0].frequency_hz - 440) < 1, timeout=10000,
    )  # fmt: skip
    shown = [label for label in window.slice.labels if label.isVisible()]
    assert [label.textItem.toPlainText() for label in shown] == [f"{window.slice.current.peaks[0].frequency_hz:.2f} Hz"]
    assert inside.contains(shown[0].sceneBoundingRect())  # whole: not "0.52 Hz" cut at the edge
    assert len(window.slice.current.peaks) == 1  # the noise floor's bumps, 80 dB down, are not peaks


def _mouse(qtbot, panel, event_type, scene_pos, button=Qt.MouseButton.NoButton) -> None:
    pos = QPointF(panel.mapFromScene(scene_pos))
    event = QMouseEvent(
        event_type, pos, QPointF(panel.viewport().mapToGlobal(pos.toPoint())), button,
        button, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(panel.viewport(), event)


def test_at_the_cursor_is_where_the_user_clicked_and_the_pointer_is_a_choice_of_its_own(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    y = np.concatenate([synth.tone(500.0, 1.0, sr=SR), synth.tone(3000.0, 1.0, sr=SR)])
    open_and_settle(qtbot, window, write(tmp_path / "two.wav", y))
    panel = window.panel
    box = panel.spec_box
    row = box.viewRect().center().y()

    def at(t: float) -> QPointF:
        return box.mapViewToScene(QPointF(t, row))

    def peak() -> float | None:
        current = window.slice.current
        return current.peaks[0].frequency_hz if current is not None and current.peaks else None

    assert window.slice.mode.currentText() == "at the cursor"
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    qtbot.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, pos=panel.mapFromScene(at(1.5)))
    qtbot.waitUntil(
        lambda: window.slice.current is not None and abs(window.slice.current.t0 - 1.5) < 0.02, timeout=5000
    )
    assert abs(window.model.play_cursor - 1.5) < 0.02 and abs(peak() - 3000) < 5
    assert panel.cursor_line.isVisible() and abs(panel.cursor_line.value() - window.model.play_cursor) < 1e-9
    _mouse(qtbot, panel, QEvent.Type.MouseMove, at(0.5))  # hovering does not move the clicked cursor's slice
    qtbot.waitUntil(lambda: window.model.cursor is not None and abs(window.model.cursor.t - 0.5) < 0.02, timeout=3000)
    qtbot.wait(300)
    assert abs(window.slice.current.t0 - 1.5) < 0.02 and abs(peak() - 3000) < 5
    # "Under the pointer" follows the hover.
    window.slice.mode.setCurrentIndex(SLICE_MODES.index("pointer"))
    assert window.model.tools.slice_mode == "pointer"
    qtbot.waitUntil(lambda: abs(window.slice.current.t0 - 0.5) < 0.02, timeout=5000)
    assert abs(peak() - 500) < 5
    _mouse(qtbot, panel, QEvent.Type.MouseMove, at(1.25))
    qtbot.waitUntil(lambda: abs(window.slice.current.t0 - 1.25) < 0.02, timeout=5000)
    assert abs(peak() - 3000) < 5
    # Back to the cursor: the slice returns to where the user clicked.
    window.slice.mode.setCurrentIndex(SLICE_MODES.index("cursor"))
    qtbot.waitUntil(lambda: abs(window.slice.current.t0 - 1.5) < 0.02, timeout=5000)


def test_model_view_preset_picker_shows_each_front_end_on_the_files_time_axis(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    """The user picks Whisper in the model view: its 80 x 3000 input, its 30 s window, the main view linked."""
    import json

    from spectroview.audio.files import FileSource
    from spectroview.audio.resample import resample
    from spectroview.dsp.frontends import front_end
    from spectroview.session.model import Cursor

    y = np.concatenate([synth.tone(500.0, 5.0, sr=SR, amplitude=0.3), synth.tone(2000.0, 5.0, sr=SR, amplitude=0.3)])
    path = write(tmp_path / "two.wav", y)
    open_and_settle(qtbot, window, path)
    window.open_model_view()
    dialog = window.model_view
    assert dialog is not None and dialog.preset.currentText() == "ast"  # the default the first time
    qtbot.waitUntil(lambda: dialog.data is not None, timeout=20000)
    assert dialog.save_patches.isVisible() and len(dialog.grid_lines) == 13 + 102
    dialog.preset.setCurrentText("whisper")  # the user's choice, through the combo box
    qtbot.waitUntil(lambda: dialog.data is not None and dialog.data.front_end.name == "whisper", timeout=20000)
    assert dialog.features.shape == (80, 3000) and dialog.windowTitle().endswith("whisper (80 x 3000)")
    assert "Whisper" in dialog.pipeline.text() and "WhisperFeatureExtractor" in dialog.pipeline.text()
    assert not dialog.save_patches.isVisible() and dialog.grid_lines == []
    assert window.store.model_preset == "whisper"  # remembered for the next time
    # Exactly the front end of the file resampled to 16 kHz, as a model would get it.
    with FileSource(path) as source:
        y16 = resample(source.read(0, source.info.frames), orig_sr=SR, target_sr=16000)
    want = front_end("whisper").compute(y16)
    np.testing.assert_allclose(dialog.features, want, atol=1e-5)
    # 10 s of audio in a 30 s input: the rest is padding, marked where the audio ends.
    assert dialog.data.n_frames == 1 + 10 * 100 + 1  # centred frames touching the audio: ceil((n + 200) / 160)
    assert dialog.padding_line.isVisible() and dialog.window_region.isVisible()
    lo, hi = dialog.window_region.getRegion()
    assert lo == pytest.approx(-0.005) and hi == pytest.approx(29.995)  # 3000 columns of 10 ms, centred on t * 10 ms
    # One time axis: a zoom made here moves the main view, and the main view's moves are followed here.
    (m0, m1) = window.model.time_range
    assert (m0, m1) == pytest.approx((0.0, 10.0), abs=0.5)  # opening it did not move the main view
    box = dialog.view.getViewBox()
    box.setXRange(2.0, 4.0, padding=0)
    box.sigRangeChangedManually.emit(box.state["mouseEnabled"])  # as pyqtgraph's wheel and drag handlers do
    assert window.model.time_range == pytest.approx((2.0, 4.0), abs=1e-6)
    qtbot.waitUntil(lambda: window.panel.visible_range() == pytest.approx((2.0, 4.0), abs=1e-6), timeout=5000)
    window.model.set_time_range(5.0, 6.5)
    (d0, d1), _ = dialog.view.getViewBox().viewRange()
    assert (d0, d1) == pytest.approx((5.0, 6.5), abs=1e-6)
    # 150 columns of 10 ms in view: too many for a frame grid; 0.5 s (50 columns) shows each column's edge.
    assert dialog.frame_grid.getData()[0] is None or len(dialog.frame_grid.getData()[0]) == 0
    window.model.set_time_range(5.0, 5.5)
    xs, _ = dialog.frame_grid.getData()
    assert xs is not None and len(xs) >= 2 * 50
    np.testing.assert_allclose(np.diff(np.unique(xs)), 0.01, atol=1e-9)
    window.model.set_cursor(Cursor(t=3.25, hz=500.0))
    assert dialog.cursor_line.isVisible() and dialog.cursor_line.value() == pytest.approx(3.25)
    # The 2 kHz half is where the time axis says: after 5 s.
    centres, _ = dialog.front_end.row_frequencies()
    row = int(np.argmin(np.abs(centres - 2000.0)))
    late, early = dialog.column_at(7.0), dialog.column_at(2.0)
    assert dialog.features[row, late] > dialog.features[row, early] + 0.5
    # A mel front end with no input length of its own: 10 s windows on the same axis.
    window.model.set_time_range(3.0, 6.0)
    dialog.preset.setCurrentText("torchaudio")
    qtbot.waitUntil(lambda: dialog.data is not None and dialog.data.front_end.name == "torchaudio", timeout=20000)
    assert dialog.features.shape == (128, 1 + 160000 // 200) and not dialog.window_region.isVisible()
    # Another front end over the same stretch keeps the range the two views share.
    assert dialog.view.getViewBox().viewRange()[0] == pytest.approx([3.0, 6.0], abs=1e-6)
    assert window.model.time_range == pytest.approx((3.0, 6.0), abs=1e-6)
    out = tmp_path / "ta.npy"
    dialog.exportAllRequested.emit(str(out))
    qtbot.waitUntil(lambda: dialog.status.text().startswith("wrote 1 model inputs"), timeout=30000)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["preset"] == "torchaudio" and meta["front_end"]["parameters"]["mel_scale"] == "htk"
    np.testing.assert_array_equal(np.load(out)[0], dialog.features)
    dialog.close()
    window.model.set_cursor(Cursor(t=1.0, hz=500.0))  # no longer followed
    window.model.set_time_range(1.0, 2.0)
    assert dialog.cursor_line.value() == pytest.approx(3.25)
    assert dialog.view.getViewBox().viewRange()[0] != pytest.approx([1.0, 2.0])
