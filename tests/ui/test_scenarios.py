"""Scripted sessions through real widgets: after every step, every pane shows the same state.

Each step is what a user does (a key press, a slider move, a menu action, a
combo box choice, a file that will not open); after it, :func:`assert_coherent`
checks that the waveform, the spectrogram, pane B, the overview strip, the
spectrum slice, the controls and the title all show the model's snapshot:
the same file, sample rate, parameters and range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from spectroview.audio import synth
from spectroview.dsp import SpectrogramParams
from spectroview.dsp.params import mel_filter_is_empty
from spectroview.session.axes import FrequencyMapping
from spectroview.session.settings import ViewSettings
from spectroview.ui.controls import N_FFT_CHOICES
from spectroview.ui.main_window import MainWindow
from spectroview.ui.settings_store import SettingsStore
from tests.audio.pulse import PulseServer
from tests.ui.test_viewer import settle


def write(path: Path, freq: float, seconds: float, sr: int, channels: int = 1) -> Path:
    y = synth.tone(freq, seconds, sr=sr, amplitude=0.5).astype(np.float32)
    if channels > 1:
        y = np.stack([y] * channels, axis=1)
    soundfile.write(path, y, sr, subtype="FLOAT")
    return path


def key(qtbot, win: MainWindow, k: Qt.Key | str) -> None:
    """A key press on the window, as the user types it."""
    qtbot.keyClick(win, k)


def rows(params: SpectrogramParams) -> int:
    return FrequencyMapping.from_params(params).n_rows


def assert_coherent(win: MainWindow) -> None:
    """Every pane draws the model's snapshot (call after settle)."""
    shown = win.model.shown
    assert shown.a is not None and shown.info is not None and shown.mode == "file"
    info, a = shown.info, shown.a
    assert shown.sr == info.samplerate == a.params.sr
    # Spectrogram and its jobs.
    assert win.jobs.source is not None and str(win.jobs.source.path) == info.path
    assert win.jobs.params == a.params
    latest = win.jobs.latest
    assert latest is not None and latest.params == a.params and win.panel.image is latest
    assert win.panel.mapping is not None and win.panel.n_rows == rows(a.params) == latest.levels.shape[0]
    assert win.panel.duration == pytest.approx(max(info.duration, 1e-3))
    # The visible range is the model's.
    t0, t1 = win.panel.visible_range()
    m0, m1 = win.model.time_range
    assert t0 == pytest.approx(m0, abs=1e-6) and t1 == pytest.approx(m1, abs=1e-6)
    # Waveform: drawn from the same image, over the same range.
    x, _ = win.panel.wave_upper.getData()
    assert x is not None and len(x) and latest.wave_x0 <= x[0] and x[-1] <= latest.wave_x1 + 1e-9
    # Overview strip: the same parameters, the whole file, all rows (pooled for its height).
    strip = win.panel.overview_image
    assert strip is not None and strip.params == a.params and strip.display_rows == (0, rows(a.params))
    assert strip.x1 == pytest.approx(info.duration, rel=0.01)
    # Spectrum slice: the same parameters (its axis is built from them).
    if win.slice.current is not None:
        assert win.slice.current.rows_db.size == rows(a.params)
        assert win.slice.mapping == FrequencyMapping.from_params(a.params)
    # Controls: the values drawn.
    assert win.controls.settings == a.settings
    assert win.controls.n_fft.label.text().startswith(str(a.params.n_fft))
    assert win.controls.hop.slider.value() == a.params.hop
    # Pane B.
    if shown.b is not None:
        assert win.panel_b.isVisible() and win.jobs_b.params == shown.b.params
        assert win.jobs_b.latest is not None and win.jobs_b.latest.params == shown.b.params
        assert win.panel_b.n_rows == rows(shown.b.params)
    else:
        assert not win.panel_b.isVisible() and win.jobs_b.params is None
    assert Path(info.path).name in win.windowTitle()


def settle_all(qtbot, win: MainWindow) -> None:
    settle(qtbot, win)

    def done() -> bool:
        b = win.jobs_b
        strip = win.panel.overview_image
        a = win.model.shown.a
        return (
            win.is_idle()
            and (win.model.shown.b is None or (b.latest is not None and b.latest.generation == b.generation))
            and strip is not None
            and a is not None
            and strip.params == a.params
            and strip.complete
        )

    qtbot.waitUntil(done, timeout=20000)


@pytest.fixture
def win(make_window) -> MainWindow:
    return make_window((1280, 800))


def open_file(qtbot, w: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(w.fileOpened, timeout=20000):
        assert w.open_file(path)
    settle_all(qtbot, w)


def test_a_file_that_fails_leaves_every_pane_as_it_was(qtbot, win: MainWindow, tmp_path: Path) -> None:
    good = write(tmp_path / "good.wav", 1000.0, 3.0, 44100)
    open_file(qtbot, win, good)
    key(qtbot, win, "+")  # zoom in: the range must survive the failure too
    settle_all(qtbot, win)
    assert_coherent(win)
    before = (win.model.shown, win.model.time_range, win.jobs.latest, win.panel.wave_upper.getData()[1].copy())
    # A FLAC whose header and first frames are zeros: refused.
    flac = tmp_path / "full.flac"
    soundfile.write(flac, synth.tone(440.0, 2.0, sr=22050), 22050, subtype="PCM_16")
    data = flac.read_bytes()
    bad = tmp_path / "bad.flac"
    bad.write_bytes(data[:4] + bytes(2000) + data[2004:])
    assert not win.open_file(bad)
    assert "bad.flac" in win.statusBar().currentMessage()
    shown, time_range, latest, wave = before
    assert win.model.shown is shown and win.model.time_range == time_range and win.jobs.latest is latest
    np.testing.assert_array_equal(win.panel.wave_upper.getData()[1], wave)
    assert_coherent(win)


def test_another_sample_rate_moves_every_pane(qtbot, win: MainWindow, tmp_path: Path) -> None:
    open_file(qtbot, win, write(tmp_path / "a.wav", 1000.0, 3.0, 44100, channels=2))
    win.update_slice(1.0)
    qtbot.waitUntil(lambda: win.slice.current is not None, timeout=10000)
    win.model.set_play_cursor(1.0)
    open_file(qtbot, win, write(tmp_path / "b.wav", 1000.0, 2.0, 16000))
    # The slice is redone on the new file, at its cursor (the start).
    qtbot.waitUntil(lambda: win.slice.current is not None and win.slice.current.t0 == 0.0, timeout=10000)
    assert_coherent(win)
    assert win.model.shown.sr == 16000 and win.jobs.latest.params.sr == 16000
    # The slice's peak is at 1 kHz on the 16 kHz file's axis.
    peak = win.slice.current.peaks[0].frequency_hz
    assert peak == pytest.approx(1000.0, abs=1.0)
    assert win.slice.mapping.hz_to_y(peak) == pytest.approx(
        FrequencyMapping.from_params(win.params).hz_to_y(1000.0), abs=0.5
    )


def test_ab_compare_toggles_and_b_is_configurable(qtbot, win: MainWindow, tmp_path: Path) -> None:
    open_file(qtbot, win, write(tmp_path / "a.wav", 1000.0, 3.0, 44100))
    key(qtbot, win, "c")
    settle_all(qtbot, win)
    assert win.compare_action.isChecked() and win.model.shown.b.params.n_fft == 256
    assert_coherent(win)
    # B's window from its combo box, with the keyboard.
    combo = win.controls.b_n_fft
    assert combo.isEnabled()
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    settle_all(qtbot, win)
    assert win.model.shown.b.params.n_fft == 512 and win.jobs_b.latest.levels.shape[0] == 257
    assert_coherent(win)
    # B's scale.
    scale = win.controls.b_scale
    scale.setFocus()
    for _ in range(3):  # "as A", linear, log, mel
        qtbot.keyClick(scale, Qt.Key.Key_Down)
    settle_all(qtbot, win)
    assert win.model.shown.b.params.scale == "mel" and win.model.shown.a.params.scale == "linear"
    assert_coherent(win)
    # Both panes read out at the cursor.
    win.panel.cursorMoved.emit(1.5, float(win.panel.mapping.hz_to_y(1000.0)))
    assert "A:" in win.readout.text() and "B: level =" in win.readout.text()
    # A note about B shows in view, above the scrolled form.
    mel = win.controls.b_n_fft
    mel.setFocus()
    for _ in range(2):
        qtbot.keyClick(mel, Qt.Key.Key_Up)  # 128: too small a window for A's... B's 128 mel bands
    settle_all(qtbot, win)
    assert win.model.shown.b.params.n_fft == 128 and win.model.shown.b.params.n_mels < 128
    assert "B: " in win.controls.message.text() and not win.controls.message.visibleRegion().isEmpty()
    # Another file at another rate: B's band still matches A's, in Hz.
    open_file(qtbot, win, write(tmp_path / "b.wav", 1000.0, 2.0, 8000))
    assert_coherent(win)
    (_, _), (ya0, ya1) = win.panel.spec_box.viewRange()
    (_, _), (yb0, yb1) = win.panel_b.spec_box.viewRange()
    a_hz = [float(win.panel.mapping.y_to_hz(y)) for y in (max(ya0, 0.0), min(ya1, win.panel.n_rows))]
    b_hz = [float(win.panel_b.mapping.y_to_hz(y)) for y in (max(yb0, 0.0), min(yb1, win.panel_b.n_rows))]
    assert b_hz[1] == pytest.approx(a_hz[1], rel=0.02) and b_hz[1] > 3900
    # C again: off.
    win.setFocus()
    key(qtbot, win, "c")
    settle_all(qtbot, win)
    assert not win.compare_action.isChecked() and win.model.shown.b is None
    assert not win.statusBar().currentMessage().startswith("A: n_fft")  # no comparison line left over
    assert_coherent(win)


def test_ab_compare_keeps_the_zoom(qtbot, win: MainWindow, tmp_path: Path) -> None:
    open_file(qtbot, win, write(tmp_path / "a.wav", 1000.0, 8.0, 22050))
    key(qtbot, win, "+")
    settle_all(qtbot, win)
    zoomed = win.model.time_range
    key(qtbot, win, "c")
    settle_all(qtbot, win)
    assert win.model.time_range == pytest.approx(zoomed)
    assert win.panel.visible_range() == pytest.approx(zoomed, abs=1e-6)
    assert win.panel_b.visible_range() == pytest.approx(zoomed, abs=1e-6)
    assert_coherent(win)


def test_level_boxes_apply_arrow_steps_at_once(qtbot, win: MainWindow, tmp_path: Path) -> None:
    open_file(qtbot, win, write(tmp_path / "a.wav", 1000.0, 2.0, 22050))
    floor = win.controls.db_floor
    floor.setFocus()
    qtbot.keyClick(floor, Qt.Key.Key_Up)  # one step, no Enter
    assert win.model.requested.db_floor == pytest.approx(-89.0) and floor.value() == pytest.approx(-89.0)
    settle_all(qtbot, win)
    assert win.panel.levels == (-89.0, 0.0)
    ceiling = win.controls.db_ceiling
    ceiling.setFocus()
    qtbot.keyClick(ceiling, Qt.Key.Key_Down)
    assert win.model.requested.db_ceiling == pytest.approx(-1.0)
    assert win.model.requested.db_floor == pytest.approx(-89.0)  # the floor kept its step
    assert_coherent(win)


def test_a_refused_combination_moves_the_controls_to_what_is_drawn(qtbot, win: MainWindow, tmp_path: Path) -> None:
    open_file(qtbot, win, write(tmp_path / "a.wav", 1000.0, 3.0, 44100))
    win.controls.scale.setCurrentText("mel")  # as a user's choice in the combo box
    settle_all(qtbot, win)
    assert win.controls.n_mels.slider.value() == 128
    win.controls.n_fft.slider.setValue(N_FFT_CHOICES.index(256))  # n_fft 256 cannot fill 128 mel bands
    settle_all(qtbot, win)
    a = win.model.shown.a
    assert a.params.n_fft == 256 and a.params.n_mels < 128
    assert not mel_filter_is_empty(sr=44100, n_fft=256, n_mels=a.params.n_mels, fmin=0.0, fmax=22050.0, htk=False).any()
    assert win.controls.n_mels.slider.value() == a.params.n_mels
    assert win.controls.message.isVisible() and "n_mels=128" in win.controls.message.text()
    assert "n_mels" in win.statusBar().currentMessage()
    assert_coherent(win)
    # The request is kept: a larger window brings the 128 bands back.
    win.controls.n_fft.slider.setValue(N_FFT_CHOICES.index(4096))
    settle_all(qtbot, win)
    assert win.model.shown.a.params.n_mels == 128 and not win.controls.message.isVisible()
    assert_coherent(win)


def test_restored_settings_show_in_the_controls_as_drawn(qtbot, tmp_path: Path) -> None:
    store = SettingsStore(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    store.save_view(
        ViewSettings(params=SpectrogramParams(n_fft=256, hop_length=64, scale="mel", n_mels=128, fmax=30000.0))
    )
    w = MainWindow(store)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    open_file(qtbot, w, write(tmp_path / "a.wav", 1000.0, 3.0, 16000))
    a = w.model.shown.a
    assert a.params.fmax is None and a.params.n_mels < 128 and a.params.n_fft == 256
    assert w.controls.n_fft.label.text().startswith("256") and w.controls.scale.currentText() == "mel"
    assert w.controls.fmax.value() == 0.0  # shown as "Nyquist"
    assert "fmax" in w.controls.message.text() and "n_mels" in w.controls.message.text()
    assert_coherent(w)


def test_saving_never_proposes_or_overwrites_the_open_file(qtbot, win: MainWindow, tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path / "take.wav", 1000.0, 2.0, 44100)
    original = path.read_bytes()
    open_file(qtbot, win, path)
    proposals: list[str] = []
    answers = [str(path), ""]  # the user picks the open file, then cancels
    warnings: list[str] = []

    def fake_save(parent, title, proposal, filters):
        proposals.append(proposal)
        return answers.pop(0), filters.split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text: warnings.append(text)))
    assert win._save_path("Record to", "recording", ".wav", "WAV (*.wav)") == ""
    assert proposals and all(Path(p).resolve() != path.resolve() for p in proposals)
    assert warnings and "is the file that is open" in warnings[0]
    assert path.read_bytes() == original
    # Export refuses the open file too, and leaves it as it was.
    assert not win.export_image(path)
    assert path.read_bytes() == original


def test_keys_and_the_overview_keep_one_range(qtbot, win: MainWindow, tmp_path: Path) -> None:
    open_file(qtbot, win, write(tmp_path / "a.wav", 1000.0, 8.0, 22050))
    key(qtbot, win, "+")
    key(qtbot, win, "+")
    settle_all(qtbot, win)
    assert win.model.time_range[1] - win.model.time_range[0] == pytest.approx(2.0, rel=1e-3)
    key(qtbot, win, Qt.Key.Key_Right)
    settle_all(qtbot, win)
    assert win.model.time_range[0] == pytest.approx(3.5, rel=1e-3)
    assert_coherent(win)
    key(qtbot, win, Qt.Key.Key_End)
    settle_all(qtbot, win)
    assert win.model.time_range[1] == pytest.approx(8.0, rel=1e-6)
    assert_coherent(win)
    key(qtbot, win, "0")
    settle_all(qtbot, win)
    assert win.model.time_range == pytest.approx((0.0, 8.0))
    assert_coherent(win)


def test_leaving_live_mode_restores_the_file_view(
    qtbot, win: MainWindow, pulse_running: PulseServer, tmp_path: Path
) -> None:
    open_file(qtbot, win, write(tmp_path / "a.wav", 1000.0, 6.0, 44100))
    key(qtbot, win, "+")
    settle_all(qtbot, win)
    win.panel.set_selection(2.0, 2.5)
    before_range, before_selection = win.model.time_range, win.model.selection
    win.live_action.trigger()  # L
    assert win.live.running, win.statusBar().currentMessage()
    assert win.model.mode == "live" and not win.panel.over_plot.isVisible()
    # A parameter change while live, from the slider; the window is resized meanwhile.
    win.controls.n_fft.slider.setValue(N_FFT_CHOICES.index(4096))
    assert win.live.engine.params.n_fft == 4096
    win.resize(1000, 600)
    qtbot.waitUntil(lambda: win.height() == 600, timeout=5000)
    # Export Data in live mode writes the live picture, on its own time axis.
    assert win.export_data(tmp_path / "live.npy")
    import json

    meta = json.loads((tmp_path / "live.json").read_text())
    assert meta["time_axis"] == "seconds before now" and meta["source"].startswith("live: ")
    assert meta["params"]["n_fft"] == 4096 and meta["channel"] == "mix"
    assert np.load(tmp_path / "live.npy").shape == tuple(meta["shape"]) and meta["shape"][0] == 2049
    win.live_action.trigger()  # L again
    assert not win.live.running and win.model.mode == "file"
    settle_all(qtbot, win)
    assert win.model.time_range == pytest.approx(before_range)
    assert win.model.selection == pytest.approx(before_selection)
    assert win.params.n_fft == 4096 and win.params.sr == 44100
    assert win.panel.over_plot.isVisible()
    # The file's picture fills its axis (not squeezed into the live rows).
    (_, _), (y0, y1) = win.panel.spec_box.viewRange()
    assert y0 == pytest.approx(0.0, abs=1.0) and y1 == pytest.approx(win.panel.n_rows, rel=0.01)
    assert_coherent(win)


def test_command_line_options_equal_to_the_defaults_still_win(tmp_path: Path, monkeypatch) -> None:
    import spectroview.ui.app as app
    from spectroview import cli

    calls: list[dict[str, object]] = []

    def fake_run(file, **kwargs):
        calls.append(kwargs["overrides"])
        return 0

    monkeypatch.setattr(app, "run", fake_run)
    path = write(tmp_path / "a.wav", 1000.0, 1.0, 22050)
    assert cli.main([str(path), "--n-fft", "2048", "--scale", "linear"]) == 0
    assert calls[-1] == {"n_fft": 2048, "scale": "linear"}
    assert cli.main([str(path)]) == 0
    assert calls[-1] == {}
    saved = ViewSettings(params=SpectrogramParams(n_fft=256, hop_length=64, scale="mel"))
    applied = app._apply_overrides(saved, {"n_fft": 2048, "scale": "linear"})
    assert applied.params.n_fft == 2048 and applied.params.scale == "linear" and applied.params.hop_length == 512


def test_no_attribute_is_created_after_init(qtbot, win: MainWindow, tmp_path: Path) -> None:
    before = set(vars(win))
    open_file(qtbot, win, write(tmp_path / "a.wav", 1000.0, 2.0, 22050))
    key(qtbot, win, "c")
    key(qtbot, win, "p")
    key(qtbot, win, "h")
    settle_all(qtbot, win)
    assert set(vars(win)) == before, set(vars(win)) ^ before


def test_a_channel_change_moves_the_slice_too(qtbot, win: MainWindow, tmp_path: Path) -> None:
    sr = 44100
    left = synth.tone(440.0, 3.0, sr=sr, amplitude=0.5)
    right = synth.tone(2500.0, 3.0, sr=sr, amplitude=0.5)
    path = tmp_path / "lr.wav"
    soundfile.write(path, np.stack([left, right], axis=1).astype(np.float32), sr, subtype="FLOAT")
    open_file(qtbot, win, path)
    win.model.set_play_cursor(1.5)  # a click there: the slice is at the cursor
    qtbot.waitUntil(lambda: win.slice.current is not None and win.slice.current.t0 == 1.5, timeout=10000)
    assert sorted(round(p.frequency_hz) for p in win.slice.current.peaks[:2]) == [440, 2500]  # the mix
    combo = win.controls.channel
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # mix -> 1
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # 1 -> 2: the right channel
    settle_all(qtbot, win)
    assert win.model.shown.a.channel == 1

    def right_only() -> bool:
        current = win.slice.current
        return (
            current is not None
            and [round(p.frequency_hz) for p in current.peaks[:1]] == [2500]
            and all(abs(p.frequency_hz - 440.0) > 5 for p in current.peaks)
        )

    qtbot.waitUntil(right_only, timeout=10000)  # no pointer move needed
    assert_coherent(win)
