"""The main window: open files, show the spectrogram, play, export, remember settings."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
import traceback
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QObject, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QToolBar,
)

from spectroview import __version__
from spectroview._atomic import atomic_write
from spectroview.audio.errors import AudioError
from spectroview.audio.files import AUDIO_EXTENSIONS, AudioInfo, FileSource, audio_streams, estimated_duration, probe
from spectroview.dsp import ParameterError, SpectrogramParams
from spectroview.dsp.mel import row_frequencies
from spectroview.session.axes import format_readout
from spectroview.session.live import HISTORY_RANGE
from spectroview.session.settings import ViewSettings
from spectroview.ui.analysis import PITCH_MAX_SECONDS, ModelView, SpectrumSlice, pitch_track, slice_spectrum
from spectroview.ui.compare import CompareController
from spectroview.ui.controls import ControlsPanel
from spectroview.ui.live import LiveController
from spectroview.ui.panel import SpectrogramPanel
from spectroview.ui.settings_store import SettingsStore
from spectroview.ui.workers import ViewController

__all__ = ["MainWindow"]

log = logging.getLogger(__name__)

#: The Open dialog's filter: every ending the decoders read (any case), then everything.
AUDIO_FILTER = "Audio and video files (" + " ".join(f"*{e} *{e.upper()}" for e in AUDIO_EXTENSIONS) + ");;All files (*)"


class _Opener(QObject):
    """Opens a file in a worker thread (a long compressed file is scanned first) and reports back.

    Signals
    -------
    estimate(float)
        The length in seconds the file's header claims (before the scan; not for files without one).
    progress(float)
        Fraction of the scan done, 0..1.
    finished(object)
        The file's :class:`AudioInfo`, or the :class:`AudioError` that refused it.
    """

    estimate = Signal(float)
    progress = Signal(float)
    finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancel = threading.Event()

    def start(self, path: str, stream: int | None) -> None:
        def work() -> None:
            try:
                estimate = estimated_duration(path)
                if estimate:
                    self.estimate.emit(estimate)
                result: object = probe(path, stream=stream, progress=self.progress.emit, cancelled=self.cancel.is_set)
            except AudioError as exc:
                result = exc
            except Exception as exc:  # a bug: logged with its traceback, shown as an error
                log.error("opening %s failed:\n%s", path, traceback.format_exc())
                result = RuntimeError(f"internal error while opening {path}: {type(exc).__name__}: {exc}")
            self.finished.emit(result)

        threading.Thread(target=work, name="spectroview-open", daemon=True).start()


class MainWindow(QMainWindow):
    """Spectroview's main window.

    Signals
    -------
    viewComputed()
        A new spectrogram image is on screen.
    idle()
        Nothing is being computed and the overview is complete.
    fileOpened(str)
    """

    viewComputed = Signal()
    idle = Signal()
    fileOpened = Signal(str)

    def __init__(self, store: SettingsStore | None = None, *, settings: ViewSettings | None = None) -> None:
        super().__init__()
        self.store = store or SettingsStore()
        self.view_settings = settings or self.store.load_view()
        self.info: AudioInfo | None = None
        self.params: SpectrogramParams | None = None
        self._opener: _Opener | None = None
        self._pending_open: tuple[str, int | None] | None = None
        self.player = None
        self.play_cursor = 0.0
        self.harmonic_cursor = False

        self.panel = SpectrogramPanel()
        # A/B compare: a second panel under the first, hidden until asked for.
        self.panel_b = SpectrogramPanel()
        self.panel_b.hide()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.panel)
        self.splitter.addWidget(self.panel_b)
        self.setCentralWidget(self.splitter)
        self.controls = ControlsPanel()
        dock = QDockWidget("Analysis", self)
        dock.setObjectName("analysis-dock")
        # In a scroll area: the window (and --screenshot --size) can be smaller than the whole form.
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        dock.setWidget(scroll)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.controller = ViewController(self)
        self.compare = CompareController(self.panel, self.panel_b, self)
        self.controller.reassigned = self.view_settings.reassigned
        self.live = LiveController(self)

        self.readout = QLabel("Open a file (Ctrl+O) or drop one here")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setRange(0, 1000)
        self.progress.setFormat("overview %p%")
        self.progress.hide()
        self.statusBar().addWidget(self.readout, 1)
        self.statusBar().addPermanentWidget(self.progress)

        self._build_menus()
        self._build_live_toolbar()
        self._build_analysis()
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(15)
        self._refresh_timer.timeout.connect(self._request_view)
        self._strip_shown = 0.0
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(30)
        self._play_timer.timeout.connect(self._update_playhead)

        self.controls.settingsChanged.connect(self._on_settings_changed)
        self.panel.viewChanged.connect(lambda *_: self._refresh_timer.start())
        self.panel.cursorMoved.connect(self._on_cursor)
        self.panel.clicked.connect(self._on_click)
        self.controller.imageReady.connect(self._on_image)
        self.controller.overviewProgress.connect(self._on_overview_progress)
        self.controller.overviewReady.connect(self._on_overview_ready)
        self.controller.failed.connect(self._on_job_failed)
        self.controller.idle.connect(self.idle)
        self.controller.stripReady.connect(self.panel.show_overview)
        self.live.updated.connect(self._on_live_view)
        self.live.levels.connect(self._on_live_levels)
        self.live.statusChanged.connect(self._on_live_status)
        self.controls.set_settings(self.view_settings)
        self.panel.set_colormap(self.view_settings.colormap, self.view_settings.db_floor, self.view_settings.db_ceiling)
        geometry = self.store.load_geometry("main")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.store.load_geometry("main-state")
        if state is not None:
            self.restoreState(state)
        self._update_title()

    # -- menus and keys -----------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work with the menu bar hidden too
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open...", self.open_dialog, QKeySequence.StandardKey.Open, "Open an audio file")
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.stream_menu = file_menu.addMenu("Audio &Stream")
        self.stream_menu.aboutToShow.connect(self._fill_streams)
        self._action(
            file_menu,
            "&Properties...",
            self.show_properties,
            "Ctrl+I",
            "Codec, bit rate, format and decoder of the file",
        )
        file_menu.addSeparator()
        self._action(file_menu, "Export &Image...", self.export_image_dialog, "Ctrl+E", "Save the view as PNG")
        self._action(
            file_menu,
            "Export &Data...",
            self.export_data_dialog,
            "Ctrl+Shift+E",
            "Save the visible matrix (NPY or CSV)",
        )
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view = bar.addMenu("&View")
        # File navigation; in live mode the picture always shows the latest history.
        self._action(view, "Zoom &In", self._file_only(lambda: self.panel.zoom_time(0.5)), "+", "Zoom in on time")
        self._action(view, "Zoom &Out", self._file_only(lambda: self.panel.zoom_time(2.0)), "-", "Zoom out in time")
        self._action(view, "Scroll Left", self._file_only(lambda: self.panel.pan_time(-0.25)), Qt.Key.Key_Left)
        self._action(view, "Scroll Right", self._file_only(lambda: self.panel.pan_time(0.25)), Qt.Key.Key_Right)
        self._action(view, "Go to Start", self._file_only(self._go_start), Qt.Key.Key_Home)
        self._action(view, "Go to End", self._file_only(self._go_end), Qt.Key.Key_End)
        self._action(view, "&Fit Whole File", self._file_only(self.panel.fit), "0", "Show the whole file (0)")
        self._action(view, "&Harmonic Cursor", self._toggle_harmonics, "H", "Marks at 2f, 3f, ... from the cursor")
        play = bar.addMenu("&Play")
        self._action(play, "Play / &Stop", self.toggle_play, Qt.Key.Key_Space, "Play from the cursor or the selection")
        self.help_menu = help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About", self._about)

    def _file_only(self, action):
        def run() -> None:
            if not self.live.running:
                action()

        return run

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.store.recent_files()
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_file(p))

    def _fill_streams(self) -> None:
        self.stream_menu.clear()
        if self.info is None:
            self.stream_menu.addAction("(no file)").setEnabled(False)
            return
        try:
            names = audio_streams(self.info.path)
        except AudioError as exc:
            self.stream_menu.addAction(str(exc)).setEnabled(False)
            return
        for i, name in enumerate(names or ["(one stream)"]):
            action = self.stream_menu.addAction(f"&{i + 1}: {name}")
            action.setCheckable(True)
            action.setChecked(i == self.info.stream)
            action.setEnabled(len(names) > 1)
            action.triggered.connect(lambda _=False, k=i, p=self.info.path: self.open_file(p, stream=k))

    def show_properties(self) -> QDialog | None:
        """File > Properties: what the file is and how it is decoded."""
        if self.info is None:
            return None
        dialog = FilePropertiesDialog(self.info, self)
        dialog.show()
        return dialog

    def _about(self) -> None:
        QMessageBox.about(self, "Spectroview", f"Spectroview {__version__}\nA spectrogram viewer and analyzer.")

    # -- files -----------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open audio file", self.store.last_directory, AUDIO_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | os.PathLike[str], *, stream: int | None = None) -> bool:
        """Open ``path`` (its audio ``stream``, 0-based); on failure say why and keep what was open.

        A compressed file is scanned first (its true length, its seek index) in
        a worker thread, with progress in the status bar; the window stays
        responsive.  Opening another file meanwhile cancels this one.
        """
        path = os.fspath(path)
        if self._opener is not None:
            # Another opening is under way: it is abandoned, this one follows it.
            self._opener.cancel.set()
            self._pending_open = (path, stream)
            return False
        if self.live.running:
            self.set_live(False)
        result = self._probe(path, stream)
        pending, self._pending_open = self._pending_open, None
        if pending is not None:
            QTimer.singleShot(0, lambda: self.open_file(pending[0], stream=pending[1]))
            return False
        if isinstance(result, Exception):
            self._report_error("Cannot open file", str(result))
            return False
        info: AudioInfo = result
        settings = self.view_settings
        if settings.channel is not None and settings.channel >= info.channels:
            settings = dataclasses.replace(settings, channel=None)
        params, note = self._params_for(settings, info.samplerate)
        self._stop_playback()
        self.info = info
        self.view_settings = settings
        self.params = params
        self.controller.set_source(Path(info.path), info.frames, settings.channel, info.stream)
        self.panel.set_document(info.duration)
        self.panel.set_params(params)
        self.controls.set_settings(settings, sr=info.samplerate, n_channels=info.channels)
        self.controls.show_message(note)
        self.controller.set_params(params)
        if self.compare.active:
            self.compare.start(info, params, settings.channel, self.compare.n_fft)
        self.store.add_recent(info.path)
        self.store.last_directory = str(Path(info.path).parent)
        self.play_cursor = 0.0
        self._update_title()
        self.readout.setText(f"{Path(info.path).name}: {info.describe()}")
        self.readout.setToolTip(_properties_text(info))
        if info.warnings:
            text = f"{Path(info.path).name}: " + "; ".join(info.warnings)
            log.warning("%s", text)
            self.statusBar().showMessage(text, 30000)
        self.panel.fit()
        self._request_view()
        self.update_slice(info.duration / 2)  # something to look at before the mouse moves
        self.fileOpened.emit(info.path)
        return True

    def _probe(self, path: str, stream: int | None) -> AudioInfo | Exception:
        """Open ``path`` in a worker thread, keeping the window responsive; its info or the error."""
        opener = _Opener(self)
        self._opener = opener
        loop = QEventLoop(self)
        box: list[object] = []
        name = Path(path).name
        started = time.monotonic()

        about: list[str] = []

        def estimate(seconds: float) -> None:
            minutes, secs = divmod(seconds, 60.0)
            about.append(f" (about {int(minutes)}:{secs:04.1f} by its header)")

        def progress(fraction: float) -> None:
            if time.monotonic() - started > 0.3:  # quick opens show nothing
                self.readout.setText(f"Opening {name}{''.join(about[-1:])}...")
                self.progress.setFormat("scanning %p%")
                self.progress.setValue(int(fraction * 1000))
                self.progress.show()
                self.statusBar().showMessage(
                    f"Opening {name}{''.join(about[-1:])}: scanning for its exact length, {fraction:.0%}"
                )

        def finished(result: object) -> None:
            box.append(result)
            loop.quit()

        opener.estimate.connect(estimate)
        opener.progress.connect(progress)
        opener.finished.connect(finished)
        opener.start(path, stream)
        if not box:
            loop.exec()
        self._opener = None
        opener.deleteLater()
        self.progress.hide()
        self.progress.setFormat("overview %p%")
        self.statusBar().clearMessage()
        return box[0]  # type: ignore[return-value]

    def _params_for(self, settings: ViewSettings, sr: float) -> tuple[SpectrogramParams, str]:
        """The settings' parameters for this rate; frequency limits the rate cannot hold are dropped."""
        try:
            return settings.params.with_sr(sr), ""
        except ParameterError as exc:
            relaxed = dataclasses.replace(settings.params, fmin=0.0, fmax=None)
            try:
                return relaxed.with_sr(sr), f"{exc}; using 0 Hz to Nyquist"
            except ParameterError:
                return SpectrogramParams(hop_length=512).with_sr(sr), f"{exc}; using the defaults"

    def _update_title(self) -> None:
        name = Path(self.info.path).name if self.info else "no file"
        self.setWindowTitle(f"{name} - Spectroview")

    # -- settings --------------------------------------------------------------------------------
    def _on_settings_changed(self, settings: ViewSettings) -> None:
        old = self.view_settings
        self.view_settings = settings
        self.panel.set_colormap(settings.colormap, settings.db_floor, settings.db_ceiling)
        self.panel_b.set_colormap(settings.colormap, settings.db_floor, settings.db_ceiling)
        self.store.save_view(settings)
        if self.live.running:
            self._update_live_display()
            if settings.params != old.params and self.live.engine is not None:
                try:
                    params = settings.params.with_sr(self.live.engine.sr)
                except ParameterError as exc:
                    self.controls.show_message(str(exc))
                    return
                self.panel.set_params(params)
                self.live.set_params(params)
                self._update_live_display()
            return
        if self.info is None:
            return
        if settings.reassigned != old.reassigned:
            self.controller.reassigned = settings.reassigned
            self._request_view()
        if settings.channel != old.channel:
            self.controller.set_source(Path(self.info.path), self.info.frames, settings.channel, self.info.stream)
            self.controller.params = None
        if settings.params != old.params or settings.channel != old.channel:
            try:
                params = settings.params.with_sr(self.info.samplerate)
            except ParameterError as exc:
                self.controls.show_message(str(exc))
                return
            self.params = params
            self.panel.set_params(params)
            self.controller.set_params(params)
            self.compare.set_params_a(params)
            self._request_view()

    # -- views ---------------------------------------------------------------------------------------
    def _request_view(self) -> None:
        if self.info is None:
            return
        t0, t1 = self.panel.visible_range()
        self.controller.request_view(t0, t1, self.panel.plot_width())
        self.compare.refresh()

    def _on_image(self, image) -> None:
        self.panel.show_image(image)
        if self.pitch_on:
            self._update_pitch()
        self.viewComputed.emit()

    def _on_overview_progress(self, fraction: float) -> None:
        self.progress.show()
        self.progress.setValue(int(fraction * 1000))
        # Progressive rendering: zoomed-out views come from the overview being built.
        latest = self.controller.latest
        if latest is None or latest.origin == "overview":
            self._refresh_timer.start()
        now = time.monotonic()
        if now - self._strip_shown > 0.5:  # the strip is small; twice a second is plenty
            self._strip_shown = now
            self._show_overview_strip()

    def _on_overview_ready(self) -> None:
        self.progress.hide()
        self._show_overview_strip()
        self._refresh_timer.start()

    def _show_overview_strip(self) -> None:
        self.controller.request_strip(1000)

    def _on_job_failed(self, message: str) -> None:
        self._report_error("Analysis failed", message)

    def _report_error(self, title: str, message: str) -> None:
        log.warning("%s: %s", title, message)
        self.statusBar().showMessage(message, 15000)
        box = getattr(self, "_error_box", None)
        if box is not None and box.isVisible() and box.text() == message:
            return  # the same failure again (e.g. every view of a damaged part): one dialog
        if box is None:
            box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
            box.setModal(False)
            box.setObjectName("error-dialog")
            self._error_box = box
        box.setWindowTitle(title)
        box.setText(message)
        box.show()

    # -- analysis tools ------------------------------------------------------------------------------
    def _build_analysis(self) -> None:
        self.slice = SpectrumSlice()
        dock = QDockWidget("Spectrum", self)
        dock.setObjectName("spectrum-dock")
        dock.setWidget(self.slice)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.slice_dock = dock
        self.pitch_on = False
        self._pitch_cache: tuple[tuple[object, ...], np.ndarray, np.ndarray] | None = None
        self._analysis_source: FileSource | None = None
        menu = QMenu("&Analysis", self)
        self.menuBar().insertMenu(self.help_menu.menuAction(), menu)
        self._action(menu, "&Pitch Track", self.toggle_pitch, "P", "Draw f0 (YIN) over the spectrogram")
        self._action(
            menu,
            "As a &Model Sees It...",
            self.open_model_view,
            "Ctrl+M",
            "The AST input for 10.24 s from the view or selection",
        )
        self._action(menu, "A/B &Compare", self.toggle_compare, "C", "The same audio with a second window size below")
        menu.addAction(dock.toggleViewAction())
        self.slice.mode.currentIndexChanged.connect(lambda _: self._update_slice_for_mode())
        self.panel.selectionChanged.connect(lambda *_: self._update_slice_for_mode())

    def _source_for_analysis(self) -> FileSource | None:
        """A FileSource for quick reads on the GUI thread (slices, pitch), reopened per file."""
        if self.info is None:
            return None
        source = self._analysis_source
        if (
            source is None
            or str(source.path) != self.info.path
            or source.info.stream != self.info.stream
            or source.channel != self.view_settings.channel
        ):
            if source is not None:
                source.close()
            source = FileSource(self.info.path, channel=self.view_settings.channel, stream=self.info.stream)
            self._analysis_source = source
        return source

    def update_slice(self, t0: float, t1: float | None = None) -> None:
        source = self._source_for_analysis()
        if source is None or self.params is None or self.live.running:
            return
        try:
            result = slice_spectrum(source, self.params, t0, t1)
        except (AudioError, ParameterError) as exc:
            self.slice.caption.setText(str(exc))
            return
        self.slice.show_slice(result, self.params)

    def _update_slice_for_mode(self) -> None:
        if self.slice.mode.currentIndex() == 2:
            selection = self.panel.selected_range()
            if selection:
                self.update_slice(*selection)

    def toggle_pitch(self) -> None:
        self.pitch_on = not self.pitch_on
        self._update_pitch()

    def _update_pitch(self) -> None:
        if not self.pitch_on or self.info is None or self.live.running:
            self.panel.set_pitch(None, None)
            return
        t0, t1 = self.panel.visible_range()
        if t1 - t0 > PITCH_MAX_SECONDS:
            self.panel.set_pitch(None, None)
            self.statusBar().showMessage(f"pitch track: zoom in to {PITCH_MAX_SECONDS:.0f} s or less", 5000)
            return
        source = self._source_for_analysis()
        if source is None:
            return
        # Images arrive often for the same range (the overview filling in, a
        # colour change): the track depends only on the audio, so keep it and
        # only redraw it (the row mapping may have changed).
        key = (self.info.path, self.view_settings.channel, t0, t1)
        if self._pitch_cache is None or self._pitch_cache[0] != key:
            self._pitch_cache = (key, *pitch_track(source, t0, t1))
        _, times, f0 = self._pitch_cache
        self.panel.set_pitch(times, f0)

    def toggle_compare(self, n_fft: int | None = None) -> None:
        """Show or hide panel B: the same audio with window size ``n_fft`` (default: far from A's)."""
        if self.compare.active and n_fft is None:
            self.compare.stop()
            self.panel_b.hide()
            return
        if self.info is None or self.params is None or self.live.running:
            return
        s = self.view_settings
        self.panel_b.set_colormap(s.colormap, s.db_floor, s.db_ceiling)
        # B shows only the spectrogram (A has the waveform and the overview); half the height each.
        self.panel_b.wave_plot.hide()
        self.panel_b.over_plot.hide()
        self.panel_b.show()
        total = sum(self.splitter.sizes()) or self.height()
        self.splitter.setSizes([total // 2, total - total // 2])
        self.compare.start(self.info, self.params, s.channel, n_fft)
        b = self.compare.n_fft
        sr = self.info.samplerate
        self.statusBar().showMessage(
            f"A: n_fft {self.params.n_fft}  /  B: n_fft {b} ({1000 * b / sr:.1f} ms, {sr / b:.1f} Hz per bin)", 10000
        )

    def open_model_view(self) -> ModelView | None:
        source = self._source_for_analysis()
        if source is None:
            self._report_error("As a model sees it", "open a file first")
            return None
        selection = self.panel.selected_range()
        t0 = selection[0] if selection else self.panel.visible_range()[0]
        try:
            dialog = ModelView(source, t0, self, colormap=self.view_settings.colormap)
        except (AudioError, ParameterError) as exc:
            self._report_error("As a model sees it", str(exc))
            return None
        dialog.show()
        self.model_view = dialog
        return dialog

    # -- live mode --------------------------------------------------------------------------------
    def _build_live_toolbar(self) -> None:
        bar = QToolBar("Live", self)
        bar.setObjectName("live-toolbar")
        self.addToolBar(bar)
        self.live_action = QAction("Live", self)
        self.live_action.setCheckable(True)
        self.live_action.setShortcut(QKeySequence("L"))
        self.live_action.setToolTip("Live microphone input (L)")
        self.live_action.toggled.connect(self.set_live)
        bar.addAction(self.live_action)
        self.freeze_action = QAction("Freeze", self)
        self.freeze_action.setCheckable(True)
        self.freeze_action.setEnabled(False)
        self.freeze_action.setShortcut(QKeySequence("F"))
        self.freeze_action.setToolTip("Freeze the picture; capture goes on (F). Unfreeze jumps to now.")
        self.freeze_action.toggled.connect(self.live.set_frozen)
        bar.addAction(self.freeze_action)
        self.device_box = QComboBox()
        self.device_box.setToolTip(
            "Input device (default marked *, with its sample rate); switching restarts the stream"
        )
        self.device_box.setMinimumWidth(220)
        self.device_box.activated.connect(self._on_device_chosen)
        bar.addWidget(self.device_box)
        self.history_box = QDoubleSpinBox()
        self.history_box.setRange(*HISTORY_RANGE)
        self.history_box.setValue(10.0)
        self.history_box.setSuffix(" s")
        self.history_box.setToolTip("History shown in live mode, 2 to 60 seconds")
        self.history_box.editingFinished.connect(lambda: self.live.set_history(self.history_box.value()))
        bar.addWidget(self.history_box)
        self.record_action = QAction("Record", self)
        self.record_action.setCheckable(True)
        self.record_action.setEnabled(False)
        self.record_action.setShortcut(QKeySequence("Ctrl+R"))
        self.record_action.setToolTip("Record everything captured from now on to WAV or FLAC (Ctrl+R)")
        self.record_action.toggled.connect(self._on_record_toggled)
        bar.addAction(self.record_action)
        self.save_history_action = QAction("Save history...", self)
        self.save_history_action.setEnabled(False)
        self.save_history_action.setToolTip("Save the audio behind the picture to WAV or FLAC")
        self.save_history_action.triggered.connect(self.save_history_dialog)
        bar.addAction(self.save_history_action)
        self.meter_label = QLabel("")
        self.meter_label.setToolTip("Input level over the last 50 ms: peak and RMS in dBFS")
        self.meter_label.setMinimumWidth(190)
        bar.addWidget(self.meter_label)
        self.drops_label = QLabel("")
        self.drops_label.setStyleSheet("color: #e08060")
        self.drops_label.setToolTip("Input overflows, and samples dropped because the display fell behind")
        bar.addWidget(self.drops_label)
        self.device_spec: int | str | None = None
        self.live_samplerate: float | None = None  # None: the device's own rate

    def fill_devices(self) -> None:
        from spectroview.audio.devices import list_devices

        self.device_box.clear()
        try:
            inputs = [d for d in list_devices() if d.max_input_channels > 0]
        except AudioError as exc:
            self.device_box.addItem(str(exc), None)
            return
        for d in inputs:
            mark = "* " if d.is_default_input else ""
            self.device_box.addItem(f"{mark}{d.name} ({d.default_samplerate:g} Hz)", d.index)

    def set_live(self, on: bool) -> None:
        """Start or stop live mode (the L key and the toolbar button)."""
        if on == self.live.running:
            return
        if on:
            self._stop_playback()
            if self.device_box.count() == 0:
                self.fill_devices()
            started = self.live.start(
                self.view_settings.params,
                device=self.device_spec,
                history_seconds=self.history_box.value(),
                samplerate=self.live_samplerate,
            )
            if not started:
                with QSignalBlocker(self.live_action):
                    self.live_action.setChecked(False)
                return
            assert self.live.engine is not None and self.live.mic is not None
            self.panel.set_live(True)
            self._update_live_display()
            self.panel.set_params(self.live.engine.params)
            self.panel.spec_plot.setYRange(0, self.live.engine.n_rows, padding=0)
            self.controls.set_settings(self.view_settings, sr=self.live.engine.sr, n_channels=1)
            for action in (self.freeze_action, self.record_action, self.save_history_action):
                action.setEnabled(True)
            self.setWindowTitle(f"Live: {self.live.mic.device_name} - Spectroview")
        else:
            self.live.stop()
            for action in (self.freeze_action, self.record_action, self.save_history_action):
                action.setEnabled(False)
            with QSignalBlocker(self.freeze_action):
                self.freeze_action.setChecked(False)
            self.meter_label.setText("")
            self.panel.set_live(False)
            if self.info is not None:
                params, _ = self._params_for(self.view_settings, self.info.samplerate)
                self.panel.set_document(self.info.duration)
                self.panel.set_params(params)
                self.controls.set_settings(self.view_settings, sr=self.info.samplerate, n_channels=self.info.channels)
                self.panel.fit()
                self._request_view()
            self._update_title()
        with QSignalBlocker(self.live_action):
            self.live_action.setChecked(self.live.running)

    def _update_live_display(self) -> None:
        """Draw the live picture from uint8 indices at about the plot's height (see LiveSpectrogram.set_display)."""
        engine = self.live.engine
        if engine is not None:
            s = self.view_settings
            engine.set_display(s.db_floor, s.db_ceiling, rows=max(64, int(self.panel.spec_box.height())))

    def _on_device_chosen(self, index: int) -> None:
        self.device_spec = self.device_box.itemData(index)
        if self.live.running:
            self.set_live(False)
            self.set_live(True)

    def _on_live_view(self, view) -> None:
        self.panel.show_live(view)
        problems = self.live.problems()
        self.drops_label.setText(f"lost: {problems}" if problems else "")
        self.viewComputed.emit()

    def _on_live_levels(self, m) -> None:
        def fmt(v: float) -> str:
            return "−∞" if v == float("-inf") else f"{v:.1f}".replace("-", "−")

        self.meter_label.setText(f"peak {fmt(m.peak_db)}  rms {fmt(m.rms_db)} dBFS")

    def _on_live_status(self, message: str, is_error: bool) -> None:
        self.statusBar().showMessage(message, 0 if is_error else 5000)
        if is_error:
            self.controls.show_message(message)
            log.warning("live: %s", message)
        else:
            self.controls.show_message("")

    def save_history_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save history", self._export_name(".wav"), "WAV (*.wav);;FLAC (*.flac)"
        )
        if path:
            try:
                frames = self.live.save_history(path)
            except (AudioError, OSError, RuntimeError) as exc:
                self._report_error("Cannot save", str(exc))
                return
            self.statusBar().showMessage(f"saved {frames} samples to {path}", 5000)

    def _on_record_toggled(self, on: bool) -> None:
        if on:
            path, _ = QFileDialog.getSaveFileName(
                self, "Record to", self._export_name(".flac"), "FLAC (*.flac);;WAV (*.wav)"
            )
            try:
                if not path:
                    raise AudioError("no file chosen")
                path = _audio_path(path)
                self.live.start_recording(path)
            except (AudioError, OSError, RuntimeError, TypeError, ValueError) as exc:
                with QSignalBlocker(self.record_action):
                    self.record_action.setChecked(False)
                if str(exc) != "no file chosen":
                    self._report_error("Cannot record", str(exc))
                return
            self.statusBar().showMessage(f"recording to {path}", 0)
        else:
            try:
                frames = self.live.stop_recording()
            except AudioError as exc:
                self._report_error("Recording failed", str(exc))
                return
            self.statusBar().showMessage(f"recorded {frames} samples", 5000)

    # -- cursor readout ---------------------------------------------------------------------------
    def readout_text(self, t: float, y: float) -> str:
        if self.panel.mapping is None:
            return ""
        freq = float(self.panel.mapping.y_to_hz(y))
        level = self.panel.level_at(t, y)
        return format_readout(t, freq, level)

    def _on_cursor(self, t: float, y: float) -> None:
        if (self.info is None and not self.live.running) or self.panel.mapping is None:
            return
        self.readout.setText(self.readout_text(t, y))
        if self.slice.mode.currentIndex() == 0 and self.slice_dock.isVisible():
            self.update_slice(t)
        if self.harmonic_cursor:
            self.panel.set_harmonics(float(self.panel.mapping.y_to_hz(y)))

    def _toggle_harmonics(self) -> None:
        self.harmonic_cursor = not self.harmonic_cursor
        if not self.harmonic_cursor:
            self.panel.set_harmonics(None)

    def _on_click(self, t: float) -> None:
        self.play_cursor = max(0.0, t)
        self.panel.cursor_line.setPos(self.play_cursor)
        self.panel.cursor_line.show()

    def _go_start(self) -> None:
        t0, t1 = self.panel.visible_range()
        self.panel.set_time_range(0.0, t1 - t0)

    def _go_end(self) -> None:
        t0, t1 = self.panel.visible_range()
        self.panel.set_time_range(self.panel.duration - (t1 - t0), self.panel.duration)

    # -- playback -------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.player is not None and self.player.state == "playing":
            self._stop_playback()
            return
        if self.info is None:
            return
        from spectroview.audio.player import Player

        selection = self.panel.selected_range()
        start, stop = selection if selection else (self.play_cursor, None)
        # Clamp to the file: a click on its very end plays its last moment.
        last = max(0.0, self.info.duration - 1.0 / self.info.samplerate)
        start = min(max(0.0, start), last)
        stop = None if stop is None or stop >= self.info.duration else max(stop, start + 1.0 / self.info.samplerate)
        try:
            self._stop_playback()
            self._play_source = FileSource(self.info.path, stream=self.info.stream)
            self.player = Player(self._play_source)
            self.player.play(start, stop)
        except AudioError as exc:
            self._report_error("Cannot play", str(exc))
            self._stop_playback()
            return
        self._play_timer.start()

    def _update_playhead(self) -> None:
        player = self.player
        if player is None:
            return
        self.panel.set_playhead(player.position)
        if self.slice.mode.currentIndex() == 1 and self.slice_dock.isVisible():
            self.update_slice(player.position)
        if player.state != "playing":
            if player.state == "error":
                self.statusBar().showMessage(player.message, 10000)
            self._stop_playback(keep_head=True)

    def _stop_playback(self, *, keep_head: bool = False) -> None:
        self._play_timer.stop()
        if self.player is not None:
            self.player.stop()
            self.player = None
        source = getattr(self, "_play_source", None)
        if source is not None:
            source.close()
            self._play_source = None
        if not keep_head:
            self.panel.set_playhead(None)

    # -- export ----------------------------------------------------------------------------------------
    def export_image_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export image", self._export_name(".png"), "PNG image (*.png)")
        if path:
            self.export_image(path)

    def export_image(self, path: str | os.PathLike[str]) -> bool:
        """The view as shown, with axes and colour bar, as PNG."""
        pixmap = self.panel.grab()
        ok = pixmap.save(str(path), "PNG")
        if not ok:
            self._report_error("Export failed", f"{path}: cannot write the image")
        return ok

    def export_data_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export data", self._export_name(".npy"), "NumPy array (*.npy);;CSV table (*.csv)"
        )
        if path:
            if "CSV" in chosen and Path(path).suffix.lower() != ".csv":
                path += ".csv"
            self.export_data(path)

    def export_data(self, path: str | os.PathLike[str]) -> bool:
        """The visible matrix (dBFS, rows low to high frequency) as NPY or CSV, with a JSON sidecar."""
        image = self.controller.latest
        if image is None or self.info is None:
            self._report_error("Export failed", "nothing to export yet")
            return False
        out = Path(path)
        centres, edges = row_frequencies(image.params)
        n_cols = image.levels.shape[1]
        col_edges = np.linspace(image.x0, image.x1, n_cols + 1)
        meta = {
            "spectroview": __version__,
            "source": self.info.path,
            "channel": "mix" if self.view_settings.channel is None else self.view_settings.channel + 1,
            "values": "level in dBFS (0 dB: a full-scale sine at the peak of its row); each column is the max over the frames it covers",
            "shape": list(image.levels.shape),
            "params": dataclasses.asdict(image.params),
            "frames_per_column": image.frames_per_column,
            "axes": {
                "row_center_hz": centres.tolist(),
                "row_edge_hz": edges.tolist(),
                "column_edge_s": col_edges.tolist(),
            },
        }
        try:
            if out.suffix.lower() == ".csv":
                header = "freq_hz," + ",".join(f"{t:.6f}" for t in (col_edges[:-1] + col_edges[1:]) / 2)
                table = np.column_stack([centres, image.levels])
                atomic_write(
                    out, lambda tmp: np.savetxt(tmp, table, delimiter=",", header=header, comments="", fmt="%.4f")
                )
            else:
                out = out if out.suffix.lower() == ".npy" else out.with_suffix(".npy")
                atomic_write(out, lambda tmp: np.save(open(tmp, "wb"), image.levels))
            atomic_write(out.with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=2)))
        except OSError as exc:
            self._report_error("Export failed", f"{out}: {exc.strerror or exc}")
            return False
        self.statusBar().showMessage(f"wrote {out}", 5000)
        return True

    def _export_name(self, suffix: str) -> str:
        base = Path(self.info.path).stem if self.info else "spectrogram"
        return str(Path(self.store.last_directory) / (base + suffix))

    # -- drag and drop --------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_file(urls[0])
            event.acceptProposedAction()

    # -- lifetime ---------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self._opener is not None:
            self._opener.cancel.set()
        self.live.stop()
        self._stop_playback()
        self.store.save_view(self.view_settings)
        self.store.save_geometry("main", self.saveGeometry())
        self.store.save_geometry("main-state", self.saveState())
        self.store.sync()
        for controller in (self.controller, self.compare.controller):
            controller._cancel_overview()
            controller.wait_for_done(5000)
        super().closeEvent(event)


def _properties_text(info: AudioInfo) -> str:
    rows = _properties(info)
    return "\n".join(f"{k}: {v}" for k, v in rows)


def _properties(info: AudioInfo) -> list[tuple[str, str]]:
    rate = f"{info.bit_rate / 1000:.1f} kb/s" if info.bit_rate else "unknown"
    rows = [
        ("File", info.path),
        ("Container", info.format),
        ("Codec", info.codec or info.subtype),
        ("Bit rate", rate),
        ("Sample format", info.sample_format or "unknown"),
        ("Sample rate", f"{info.samplerate} Hz"),
        ("Channels", str(info.channels)),
        ("Duration", f"{info.duration:.3f} s ({info.frames} samples per channel, as decoded)"),
        ("Audio stream", f"{info.stream + 1} of {info.streams}"),
        ("Decoder", info.decoder),
    ]
    rows += [("Warning", text) for text in info.warnings]
    return rows


class FilePropertiesDialog(QDialog):
    """File > Properties: every fact of :class:`AudioInfo`, selectable for copying."""

    def __init__(self, info: AudioInfo, parent: QObject | None = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.setWindowTitle(f"Properties of {Path(info.path).name}")
        self.setObjectName("file-properties")
        form = QFormLayout(self)
        self.values: dict[str, QLabel] = {}
        for key, value in _properties(info):
            label = QLabel(value)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            form.addRow(f"{key}:", label)
            self.values.setdefault(key, label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        form.addRow(buttons)


def _audio_path(path: str) -> str:
    """``path`` with a .wav or .flac ending (WAV when it has neither)."""
    return path if Path(path).suffix.lower() in (".wav", ".flac") else path + ".wav"
