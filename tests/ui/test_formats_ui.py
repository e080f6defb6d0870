"""The viewer with what users have: compressed files, several audio streams, damage, the Open dialog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from spectroview.audio.files import AUDIO_EXTENSIONS
from spectroview.session.axes import FrequencyMapping
from spectroview.ui.main_window import AUDIO_FILTER, MainWindow
from tests.audio.media import lavfi_tones, make, need_ffmpeg
from tests.ui.test_viewer import settle


def brightest_hz(win: MainWindow) -> float:
    image = win.jobs.latest
    assert image is not None
    row = int(np.argmax(image.levels.mean(axis=1)))
    return float(FrequencyMapping.from_params(image.params).y_to_hz(row + 0.5))


@pytest.mark.parametrize(
    ("name", "codec", "tone"),
    [
        ("song.mp3", ("-c:a", "libmp3lame", "-b:a", "32k"), 2000.0),
        ("music.m4a", ("-c:a", "aac"), 3000.0),
        ("voice.opus", ("-c:a", "libopus"), 1500.0),
        ("film.mkv", ("-c:a", "libvorbis"), 4000.0),
    ],
)
def test_compressed_file_opens_with_its_tone_and_codec(
    qtbot, window: MainWindow, tmp_path: Path, name: str, codec: tuple[str, ...], tone: float
) -> None:
    need_ffmpeg()
    path = make(tmp_path / name, lavfi_tones([tone], sr=48000, seconds=5, channels=2), *codec)
    with qtbot.waitSignal(window.fileOpened, timeout=20000):
        assert window.open_file(path)
    settle(qtbot, window)
    assert window.info is not None and window.info.decoder.startswith("FFmpeg")
    assert abs(window.info.duration - 5.0) < 0.05
    assert abs(brightest_hz(window) - tone) < 0.05 * tone
    text = window.readout.text()
    assert name in text and "kb/s" in text and "48000 Hz" in text


def test_properties_dialog_lists_codec_bit_rate_and_decoder(qtbot, window: MainWindow, tmp_path: Path) -> None:
    need_ffmpeg()
    path = make(tmp_path / "x.mp3", lavfi_tones([440.0], sr=44100, seconds=2), "-c:a", "libmp3lame", "-b:a", "96k")
    with qtbot.waitSignal(window.fileOpened, timeout=20000):
        window.open_file(path)
    action = next(a for a in window.findChildren(type(window.menuBar().actions()[0])) if "Properties" in a.text())
    action.trigger()
    dialog = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "file-properties" and w.isVisible())
    values = {k: v.text() for k, v in dialog.values.items()}
    assert "MP3" in values["Codec"]
    assert values["Bit rate"].endswith("kb/s") and 90 < float(values["Bit rate"].split()[0]) < 100
    assert values["Sample rate"] == "44100 Hz" and values["Channels"] == "1"
    assert values["Decoder"].startswith("FFmpeg") and "as decoded" in values["Duration"]
    dialog.close()


def test_audio_stream_menu_switches_streams(qtbot, window: MainWindow, tmp_path: Path) -> None:
    need_ffmpeg()
    two = make(
        tmp_path / "two.mka",
        ["-f", "lavfi", "-i", "sine=frequency=500:sample_rate=48000:duration=3",
         "-f", "lavfi", "-i", "sine=frequency=3000:sample_rate=48000:duration=3"],
        "-map", "0:a", "-map", "1:a", "-c:a", "libopus", "-metadata:s:a:1", "language=deu",
    )  # fmt: skip
    with qtbot.waitSignal(window.fileOpened, timeout=20000):
        window.open_file(two)
    settle(qtbot, window)
    assert abs(brightest_hz(window) - 500) < 60
    window.stream_menu.aboutToShow.emit()
    actions = window.stream_menu.actions()
    assert len(actions) == 2 and actions[0].isChecked() and "deu" in actions[1].text()
    with qtbot.waitSignal(window.fileOpened, timeout=20000):
        actions[1].trigger()
    settle(qtbot, window)
    assert window.info is not None and window.info.stream == 1
    assert abs(brightest_hz(window) - 3000) < 200
    assert "stream 2 of 2" in window.readout.text()


def test_damaged_file_opens_and_the_status_bar_says_why(qtbot, window: MainWindow, tmp_path: Path) -> None:
    need_ffmpeg()
    whole = make(tmp_path / "whole.mp3", lavfi_tones([800.0], sr=44100, seconds=6, noise=0.05), "-c:a", "libmp3lame")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with qtbot.waitSignal(window.fileOpened, timeout=20000):
        assert window.open_file(cut)
    assert window.info is not None and window.info.warnings
    assert "ends early" in window.statusBar().currentMessage()
    assert 2.5 < window.info.duration < 3.5


def test_open_filter_lists_every_extension_in_both_cases() -> None:
    for ext in AUDIO_EXTENSIONS:
        assert f"*{ext} " in AUDIO_FILTER and f"*{ext.upper()}" in AUDIO_FILTER
    assert "*.opus" in AUDIO_FILTER and "*.m4a" in AUDIO_FILTER and AUDIO_FILTER.endswith("All files (*)")


def test_dropping_an_opus_file_opens_it(qtbot, window: MainWindow, tmp_path: Path) -> None:
    need_ffmpeg()
    path = make(tmp_path / "dropped.opus", lavfi_tones([1000.0], sr=48000, seconds=2), "-c:a", "libopus")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(window.fileOpened, timeout=20000):
        window.dropEvent(event)
    assert window.info is not None and window.info.path == str(path)


def test_long_file_is_scanned_off_the_gui_thread_with_progress(qtbot, window: MainWindow, tmp_path: Path) -> None:
    """An hour of MP3 (a 20 s stream repeated: raw MP3 frames concatenate) opens while the window keeps working."""
    need_ffmpeg()
    piece = make(
        tmp_path / "piece.mp3",
        lavfi_tones([1000.0], sr=44100, seconds=20),
        "-c:a", "libmp3lame", "-b:a", "32k", "-write_xing", "0", "-id3v2_version", "0",
    )  # fmt: skip
    long = tmp_path / "hour.mp3"
    long.write_bytes(piece.read_bytes() * 180)
    from spectroview.audio.files import FileSource

    with FileSource(piece) as one:
        want = 180 * one.info.frames  # each piece with its encoder delay and padding: what decodes
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    ticks: list[int] = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    with qtbot.waitSignal(window.fileOpened, timeout=60000):
        assert window.open_file(long)
    timer.stop()
    assert window.info is not None and window.info.frames == want
    scanning = [m for m in messages if "scanning for its exact length" in m]
    assert scanning, messages
    assert any("by its header" in m for m in scanning)
    assert len(ticks) >= 5, "the event loop stood still while the file was scanned"
