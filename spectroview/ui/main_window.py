"""The main window: menus, docks and wiring between the widgets and the application core.

State lives in :class:`~spectroview.session.model.ViewerModel`; work runs as
jobs of a :class:`~spectroview.session.scheduler.Scheduler` whose results
are delivered on the GUI thread.  Each widget writes the user's intent to
the model and draws the model's events; every pane draws from the same
:class:`~spectroview.session.model.Shown` snapshot, so a transition (a new
file, new parameters, live mode, A/B) reaches all of them or none.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEventLoop, QObject, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from spectroview import __version__
from spectroview._atomic import atomic_files, same_file
from spectroview.audio.errors import AudioError
from spectroview.audio.files import AUDIO_EXTENSIONS, AudioInfo, FileSource, audio_streams, estimated_duration, probe
from spectroview.dsp import ParameterError
from spectroview.dsp.frontends import front_end
from spectroview.dsp.mel import row_frequencies
from spectroview.session.analysis import (
    PITCH_MAX_SECONDS,
    ModelInput,
    Slice,
    export_model_windows,
    model_input,
    model_windows,
    pitch_track,
    slice_spectrum,
)
from spectroview.session.axes import format_readout, parse_time_range
from spectroview.session.jobs import PaneJobs, SourceRef
from spectroview.session.live import HISTORY_RANGE
from spectroview.session.model import Cursor, Shown, SliceMode, Tools, ViewerModel, follow_page
from spectroview.session.overview_cache import OverviewCache
from spectroview.session.resolve import resolve
from spectroview.session.scheduler import Scheduler
from spectroview.session.settings import ViewSettings
from spectroview.session.view import ViewImage
from spectroview.ui.analysis import ModelView, SpectrumSlice
from spectroview.ui.compare import link_frequency_axes
from spectroview.ui.controls import ControlsPanel
from spectroview.ui.export import (
    IMAGE_FORMATS,
    ExportError,
    ExportImageDialog,
    encode_widget,
    image_format,
    write_bytes,
)
from spectroview.ui.live import LiveController
from spectroview.ui.panel import SpectrogramPanel
from spectroview.ui.settings_store import SettingsStore

__all__ = ["MainWindow"]

log = logging.getLogger(__name__)

#: The Open dialog's filter: every ending the decoders read (any case), then everything.
AUDIO_FILTER = "Audio and video files (" + " ".join(f"*{e} *{e.upper()}" for e in AUDIO_EXTENSIONS) + ");;All files (*)"

#: Width of the panels' column (px): 30 % of the window within these bounds.
PANEL_WIDTH = (260, 440)

#: What the spectrum slice follows, in the order of its combo box.
SLICE_MODES: tuple[SliceMode, ...] = ("cursor", "pointer", "playhead", "selection")


class _Delivery(QObject):
    """Runs a scheduler's results on the GUI thread (always queued, never re-entrant)."""

    call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.call.connect(lambda fn: fn(), Qt.ConnectionType.QueuedConnection)


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


#: Longest wait after a new file's first image before its spectrum slice is computed (ms).
SLICE_DELAY_MS = 10000


def _view_key(shown: Shown) -> tuple[object, ...]:
    """What the panes' images are computed from (colours aside): a change needs new views."""
    panes = tuple(None if r is None else (r.params, r.channel, r.settings.reassigned) for r in (shown.a, shown.b))
    return (shown.mode, shown.info, *panes)


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

    def __init__(
        self,
        store: SettingsStore | None = None,
        *,
        settings: ViewSettings | None = None,
        cache: OverviewCache | None = None,
    ) -> None:
        """``cache``: where finished overviews are kept (default: the user's cache folder)."""
        super().__init__()
        self.store = store or SettingsStore()
        self.model = ViewerModel(settings or restored_view(self.store))
        self._delivery = _Delivery(self)
        self.scheduler = Scheduler(self._delivery.call.emit)
        self.overview_cache = cache if cache is not None else OverviewCache()
        self.jobs = PaneJobs(self.scheduler, "a", cache=self.overview_cache)
        self.jobs_b = PaneJobs(self.scheduler, "b", cache=self.overview_cache)
        self._slice_lane = self.scheduler.lane("slice")
        self._pitch_lane = self.scheduler.lane("pitch")
        self._model_lane = self.scheduler.lane("model-view")
        self._drawn = Shown()  # the snapshot the panes show
        self._drawing = False
        self._opener: _Opener | None = None
        self._pending_open: tuple[str, int | None] | None = None
        self.player: Any = None  # spectroview.audio.player.Player while playing
        self._play_source: FileSource | None = None
        self._pitch: tuple[tuple[object, ...], np.ndarray, np.ndarray] | None = None
        # Readers used inside the slice and pitch jobs (one lane each: never shared between threads).
        self._readers = {"slice": _ReaderCache(), "pitch": _ReaderCache()}
        self._error_box: QMessageBox | None = None
        self._context: QMenu | None = None  # the view's right-click menu, while it is open
        self._found_warnings: list[str] = []  # what reading the open file met (besides its header's)
        self.model_view: ModelView | None = None
        self._strip_size = (0, 0)  # (width, height) px the strip was last asked for
        self._strip_shown = 0.0
        self._progressive_shown = 0.0  # when a view was last refreshed from a building overview
        self.device_spec: int | str | None = None
        self.live_samplerate: float | None = None  # None: the device's own rate

        self.panel = SpectrogramPanel()
        # A/B compare: a second panel under the first, hidden until asked for.
        self.panel_b = SpectrogramPanel()
        self.panel_b.hide()
        self.panel_b.wave_plot.hide()  # B shows only the spectrogram (A has the waveform and the overview)
        self.panel_b.over_plot.hide()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.panel)
        self.splitter.addWidget(self.panel_b)
        self.setCentralWidget(self.splitter)
        self._sync_b = link_frequency_axes(self.panel, self.panel_b)
        self.controls = ControlsPanel()
        self.analysis_dock = dock = QDockWidget("Analysis", self)
        dock.setObjectName("analysis-dock")
        # In a scroll area: the window (and --screenshot --size) can be smaller than the whole form.
        # The note on adjusted settings stays above it, in view however the form is scrolled.
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.controls.message)
        column.addWidget(scroll, 1)
        dock.setWidget(holder)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.live = LiveController(self)

        self.readout = QLabel("Open a file (Ctrl+O) or drop one here")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setRange(0, 1000)
        self.progress.setFormat("overview %p%")
        self.progress.hide()
        self.statusBar().addWidget(self.readout, 1)
        # The selection: start-end, typed or shown (Audacity's selection toolbar, in one field).
        self.selection_edit = QLineEdit()
        self.selection_edit.setObjectName("selection-edit")
        self.selection_edit.setPlaceholderText("selection: start-end")
        self.selection_edit.setToolTip(
            "The selected time range in seconds (or m:ss): type e.g. 1.5-3 and Enter to select it, "
            "empty to clear. Drag on the waveform or along the time axis, Shift+drag on the spectrogram, "
            "Shift+click to extend; a click or Esc clears it."
        )
        self.selection_edit.setMaximumWidth(170)
        self.selection_edit.editingFinished.connect(self._on_selection_typed)
        # Enter gives the keys back to the view: Space plays, shortcuts work (they would type into the box).
        self.selection_edit.returnPressed.connect(lambda: self.panel.setFocus(Qt.FocusReason.OtherFocusReason))
        self.selection_length = QLabel("")
        self.selection_length.setToolTip("Length of the selection")
        self.statusBar().addPermanentWidget(self.selection_edit)
        self.statusBar().addPermanentWidget(self.selection_length)
        self.statusBar().addPermanentWidget(self.progress)

        self.slice = SpectrumSlice()
        self.slice_dock = QDockWidget("Spectrum", self)
        self.slice_dock.setObjectName("spectrum-dock")
        self.slice_dock.setWidget(self.slice)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.slice_dock)

        self._build_menus()
        self._build_live_toolbar()
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(15)
        self._refresh_timer.timeout.connect(self._request_views)
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(30)
        self._play_timer.timeout.connect(self._update_playhead)

        # The model's events -> the views.
        self.model.shown_changed.connect(self._draw_shown)
        self.model.range_changed.connect(self._draw_range)
        self.model.selection_changed.connect(self._draw_selection)
        self.model.cursor_changed.connect(self._draw_cursor)
        self.model.tools_changed.connect(self._draw_tools)
        self.model.play_cursor_changed.connect(self._draw_play_cursor)
        self.model.band_changed.connect(self._draw_band)
        self.model.history_changed.connect(self._draw_history)
        self.model.refused.connect(self._on_refused)
        # The jobs' results -> the views.
        self.jobs.image_ready.connect(self._on_image)
        self.jobs.overview_progress.connect(self._on_overview_progress)
        self.jobs.overview_ready.connect(self._on_overview_ready)
        self.jobs.strip_ready.connect(self.panel.show_overview)
        self.panel.over_plot.getViewBox().sigResized.connect(lambda *_: self._on_strip_resized())
        self.jobs.failed.connect(lambda message: self._report_error("Analysis failed", message))
        self.jobs_b.image_ready.connect(self._on_image_b)
        self.jobs_b.overview_progress.connect(lambda _f: self._refresh_b_if_overview())
        self.jobs_b.overview_ready.connect(lambda: self._refresh_timer.start())
        self.scheduler.on_idle(self._check_idle)
        # The widgets' intents -> the model.
        self.controls.edited.connect(lambda changes: self.model.request(**changes))
        self.controls.compareEdited.connect(lambda changes: self.model.set_compare(**changes))
        self.panel.viewChanged.connect(self._on_panel_view)
        self.panel.spec_box.sigYRangeChanged.connect(lambda *_: self._on_rows_changed())
        self.panel_b.spec_box.sigYRangeChanged.connect(lambda *_: self._on_rows_changed())
        self.panel.cursorMoved.connect(lambda t, y: self._on_pointer(self.panel, "a", t, y))
        self.panel_b.cursorMoved.connect(lambda t, y: self._on_pointer(self.panel_b, "b", t, y))
        self.panel.clicked.connect(self._on_click)
        for pane in (self.panel, self.panel_b):
            pane.historyRequested.connect(lambda step: self.model.go_back() if step < 0 else self.model.go_forward())
        self.panel.contextMenuRequested.connect(self.context_menu)
        self.panel.selectionChanged.connect(self._on_panel_selection)
        self.panel.extendClicked.connect(self.extend_selection)
        self.slice.mode.currentIndexChanged.connect(lambda i: self.model.set_tools(slice_mode=SLICE_MODES[i]))
        self.live.updated.connect(self._on_live_view)
        self.live.levels.connect(self._on_live_levels)
        self.live.statusChanged.connect(self._on_live_status)

        # The decoder for compressed files (PyAV, ~0.3 s) is imported on a worker while the
        # window opens, not in the middle of the user's first such file (an import holds
        # the GIL for long stretches: the event loop stalls).
        self.scheduler.submit(_warm_up, lambda _result: None)
        # A file just opened: its spectrum slice waits until the window is first
        # idle (the overview built) or SLICE_DELAY_MS after the first image: the
        # picture and the overview the user waits for go first.
        self._slice_deferred = False
        self._slice_timer = QTimer(self)
        self._slice_timer.setSingleShot(True)
        self._slice_timer.setInterval(SLICE_DELAY_MS)
        self._slice_timer.timeout.connect(self._release_slice)
        self._draw_shown(self.model.shown)
        geometry = self.store.load_geometry("main")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.store.load_geometry("main-state")
        # The panels' sizes are set for the window when it first shows, unless the user's are restored.
        self._layout_pending = state is None or not self.restoreState(state)

    # -- reading the state (tests, scripts) ------------------------------------------------------
    @property
    def info(self) -> AudioInfo | None:
        """The open file (None without one)."""
        return self.model.shown.info

    @property
    def view_settings(self) -> ViewSettings:
        """The settings drawn (the request after any adjustment)."""
        a = self.model.shown.a
        return a.settings if a is not None else self.model.requested

    @property
    def params(self) -> Any:
        """Pane A's parameters (with ``sr``), or None."""
        a = self.model.shown.a
        return a.params if a is not None else None

    # -- menus and keys -----------------------------------------------------------------------
    def _action(
        self,
        menu: QMenu,
        text: str,
        slot: Callable[..., object],
        shortcut: Any = None,
        tip: str = "",
        *,
        checkable: bool = False,
    ) -> QAction:
        """A menu action with its shortcut (active with the menu bar hidden too).

        ``slot()`` on trigger; a ``checkable`` action calls ``slot(checked)`` on each change.
        """
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        if checkable:
            action.setCheckable(True)
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)
        return action

    def _toggle(self, menu: QMenu, text: str, slot: Callable[[bool], object], shortcut: str, tip: str) -> QAction:
        return self._action(menu, text, slot, shortcut, tip, checkable=True)

    def _tool_toggle(self, menu: QMenu, text: str, field: str, shortcut: str, tip: str) -> QAction:
        """A checkable action for one boolean of :class:`Tools`, starting at the model's value."""
        action = self._toggle(menu, text, lambda on: self.model.set_tools(**{field: on}), shortcut, tip)
        with QSignalBlocker(action):
            action.setChecked(bool(getattr(self.model.tools, field)))
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
        self._action(
            file_menu,
            "Export &Image...",
            self.export_image_dialog,
            "Ctrl+E",
            "Save the view as PNG or SVG, at any width",
        )
        self._action(
            file_menu,
            "Export &Data...",
            self.export_data_dialog,
            "Ctrl+Shift+E",
            "Save the visible matrix (NPY or CSV)",
        )
        file_menu.addSeparator()
        # Ctrl+Q written out: QKeySequence.StandardKey.Quit is empty on some platforms (offscreen, some desktops).
        self._action(file_menu, "&Quit", self.close, "Ctrl+Q", "Close the window (settings are kept)")
        view = bar.addMenu("&View")
        # File navigation; in live mode the picture always shows the latest history.
        self._action(view, "Zoom &In", lambda: self._zoom(0.5), "+", "Zoom in on time")
        self._action(view, "Zoom &Out", lambda: self._zoom(2.0), "-", "Zoom out in time")
        self._action(view, "Scroll Left", lambda: self._pan(-0.25), Qt.Key.Key_Left, "Earlier by a quarter view")
        self._action(view, "Scroll Right", lambda: self._pan(0.25), Qt.Key.Key_Right, "Later by a quarter view")
        self._action(view, "Go to Start", lambda: self._pan(-float("inf")), Qt.Key.Key_Home, "The file's start")
        self._action(view, "Go to End", lambda: self._pan(float("inf")), Qt.Key.Key_End, "The file's end")
        self._action(view, "&Fit Whole File", self.fit, "0", "Show the whole file (0)")
        self.back_action = self._action(
            view,
            "Zoom &Back",
            self.model.go_back,
            QKeySequence.StandardKey.Back,
            "The view before this one (time and frequency)",
        )
        self.forward_action = self._action(
            view, "Zoom For&ward", self.model.go_forward, QKeySequence.StandardKey.Forward, "The view gone back from"
        )
        self._draw_history(False, False)
        self.harmonics_action = self._tool_toggle(
            view, "&Harmonic Cursor", "harmonics", "H", "Marks at 2f, 3f, ... from the cursor"
        )
        play = bar.addMenu("&Play")
        self._action(play, "Play / &Stop", self.toggle_play, Qt.Key.Key_Space, "Play from the cursor or the selection")
        self._action(
            play, "&Clear Selection", self.clear_selection, Qt.Key.Key_Escape, "Forget the selection (a click does too)"
        )
        self.follow_action = self._tool_toggle(
            play, "&Follow the Playhead", "follow", "Ctrl+Shift+F", "Turn the view a page when the playhead leaves it"
        )
        analysis = bar.addMenu("&Analysis")
        self.pitch_action = self._tool_toggle(
            analysis, "&Pitch Track", "pitch", "P", "Draw f0 (YIN) over the spectrogram"
        )
        self._action(
            analysis,
            "As a &Model Sees It...",
            self.open_model_view,
            "Ctrl+M",
            "A model front end's inputs (AST, Whisper, PANNs, torchaudio, librosa) of the selection (or the view), "
            "browsable and exported together",
        )
        self.compare_action = self._toggle(
            analysis,
            "A/B &Compare",
            lambda on: self.model.set_compare(on=on),
            "C",
            "The same audio with a second window size below (B's window, hop and scale in the Analysis dock)",
        )
        analysis.addAction(self.slice_dock.toggleViewAction())
        panels = view.addMenu("&Panels")
        panels.addAction(self.analysis_dock.toggleViewAction())
        panels.addAction(self.slice_dock.toggleViewAction())
        panels.addSeparator()
        self._action(
            panels, "&Tab the Panels Together", self.tab_panels, tip="One column of tabs: more room for the spectrogram"
        )
        self._action(
            panels, "&Reset the Layout", self.reset_layout, tip="Both panels shown, side by side with the spectrogram"
        )
        self.help_menu = help_menu = bar.addMenu("&Help")
        self._action(
            help_menu, "&Keyboard Shortcuts...", self.show_shortcuts, "?", "Every key and pointer gesture, in a table"
        )
        self._action(help_menu, "&About", self._about)

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
        info = self.info
        if info is None:
            self.stream_menu.addAction("(no file)").setEnabled(False)
            return
        try:
            names = audio_streams(info.path)
        except AudioError as exc:
            self.stream_menu.addAction(str(exc)).setEnabled(False)
            return
        for i, name in enumerate(names or ["(one stream)"]):
            action = self.stream_menu.addAction(f"&{i + 1}: {name}")
            action.setCheckable(True)
            action.setChecked(i == info.stream)
            action.setEnabled(len(names) > 1)
            action.triggered.connect(lambda _=False, k=i, p=info.path: self.open_file(p, stream=k))

    def show_properties(self) -> QDialog | None:
        """File > Properties: what the file is and how it is decoded."""
        if self.info is None:
            return None
        dialog = FilePropertiesDialog(self.info, self, self._found_warnings)
        dialog.show()
        return dialog

    def show_shortcuts(self) -> QDialog:
        """Help > Keyboard Shortcuts: the table of keys (read from the actions) and pointer gestures."""
        from spectroview.ui.shortcuts import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.show()
        return dialog

    # -- layout -------------------------------------------------------------------------------------
    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._layout_pending:
            self._layout_pending = False
            QTimer.singleShot(0, self._size_panels)  # once the window has its size

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        # Made smaller: panels wider than the rule give width back to the spectrogram (the user's own
        # narrower panels are kept, and growing the window leaves them as they are).
        if self._layout_pending or not self.isVisible():
            return
        limit = max(PANEL_WIDTH[0], round(0.35 * self.width()))
        docks = [d for d in (self.analysis_dock, self.slice_dock) if d.isVisible() and not d.isFloating()]
        if docks and max(d.width() for d in docks) > limit:
            self.resizeDocks(docks, [self._panel_width()] * len(docks), Qt.Orientation.Horizontal)

    def _panel_width(self) -> int:
        """The panels' column by the rule: 30 % of the window within PANEL_WIDTH (px)."""
        return min(PANEL_WIDTH[1], max(PANEL_WIDTH[0], round(0.3 * self.width())))

    def _size_panels(self) -> None:
        """The spectrogram gets most of the window: the panels' column takes 30 % of its width (260-440 px)."""
        width = self._panel_width()
        docks = [d for d in (self.analysis_dock, self.slice_dock) if d.isVisible()]
        if docks:
            self.resizeDocks(docks, [width] * len(docks), Qt.Orientation.Horizontal)
        if len(docks) == 2 and not self.tabifiedDockWidgets(self.analysis_dock):
            height = max(1, self.analysis_dock.height() + self.slice_dock.height())
            self.resizeDocks(docks, [round(0.55 * height), round(0.45 * height)], Qt.Orientation.Vertical)

    def tab_panels(self) -> None:
        """View > Panels > Tab the Panels Together."""
        for dock in (self.analysis_dock, self.slice_dock):
            dock.show()
        self.tabifyDockWidget(self.analysis_dock, self.slice_dock)
        self.analysis_dock.raise_()
        QTimer.singleShot(0, self._size_panels)

    def reset_layout(self) -> None:
        """View > Panels > Reset the Layout: both panels on the right, one above the other."""
        for dock in (self.analysis_dock, self.slice_dock):
            dock.setFloating(False)
            self.removeDockWidget(dock)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            dock.show()
        QTimer.singleShot(0, self._size_panels)

    def _about(self) -> None:
        QMessageBox.about(self, "Spectroview", f"Spectroview {__version__}\nA spectrogram viewer and analyzer.")

    # -- files -----------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open audio file", self.store.last_directory, AUDIO_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | os.PathLike[str], *, stream: int | None = None) -> bool:
        """Open ``path`` (its audio ``stream``, 0-based); on failure say why and change nothing.

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
        result = self._probe(path, stream)
        pending, self._pending_open = self._pending_open, None
        if pending is not None:
            QTimer.singleShot(0, lambda: self.open_file(pending[0], stream=pending[1]))
            return False
        if isinstance(result, Exception):
            self._report_error("Cannot open file", str(result))
            return False
        info: AudioInfo = result
        if self.live.running:
            self.set_live(False)
        self._stop_playback()
        self.model.open(info)
        self.store.add_recent(info.path)
        if not _is_bundled(info.path):  # the demo's folder is the installed package's: not a place for dialogs
            self.store.last_directory = str(Path(info.path).parent)
        self.readout.setText(f"{Path(info.path).name}: {info.describe()}")
        self._found_warnings = []
        self.readout.setToolTip(_properties_text(info))
        if info.warnings:
            self._say_found(info, info.warnings)
        # (The slice follows once the new file's picture is up: see _release_slice.)
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

    # -- drawing the model ---------------------------------------------------------------------------
    def _draw_shown(self, shown: Shown) -> None:
        """Every pane, the controls and the title from one snapshot."""
        self._drawing = True  # the panels' own range signals are echoes now, not the user's
        try:
            self._draw_snapshot(shown)
        finally:
            self._drawing = False

    def _draw_snapshot(self, shown: Shown) -> None:
        old, self._drawn = self._drawn, shown
        new_file = shown.info is not old.info
        if new_file or shown.mode != old.mode:
            self._stop_playback()
            self._pitch = None
            self.panel.set_pitch(None, None)
        a = shown.a
        if shown.mode == "live":
            self.jobs_b.clear()
            self.panel_b.hide()
            if old.mode != "live":
                self.panel.set_live(True)
            if a is not None:
                self.panel.set_params(a.params)
                self.live.set_params(a.params)
                self._update_live_display()
            self.slice.clear("live mode: the spectrum slice shows files")
            if self.model.compare_on:
                self.statusBar().showMessage("A/B compare shows files; it comes back with the file", 5000)
        elif a is None or shown.info is None:
            self.jobs.clear()
            self.jobs_b.clear()
            self.panel_b.hide()
            if old.mode == "live":
                self.panel.set_live(False)
                self.panel.image_item.clear()  # no file to return to: the live picture goes
            self.slice.clear("")
        else:
            info = shown.info
            ref = SourceRef(Path(info.path), info.frames, a.channel, info.stream)
            if old.mode == "live":
                self.panel.set_live(False)
            if new_file or old.mode == "live" or self.panel.duration != max(info.duration, 1e-3):
                self.panel.set_document(info.duration)
                self.panel.set_time_range(*self.model.time_range)
            if old.a is None or old.a.params != a.params or old.mode == "live" or new_file:
                self.panel.set_params(a.params)
                self._draw_band(self.model.freq_range)  # a parameter change keeps the frequency zoom, in Hz
            self.jobs.reassigned = a.settings.reassigned
            self.jobs.set_source(ref, a.params)
            if shown.b is not None:
                b = shown.b
                if not self.panel_b.isVisible():
                    self.panel_b.show()
                    total = sum(self.splitter.sizes()) or self.height()
                    self.splitter.setSizes([total // 2, total - total // 2])
                if new_file or old.b is None or self.panel_b.duration != max(info.duration, 1e-3):
                    self.panel_b.set_document(info.duration)  # (moves A too: the time axes are linked)
                    self.panel.set_time_range(*self.model.time_range)
                if old.b is None or old.b.params != b.params or new_file:
                    self.panel_b.set_params(b.params)
                self._sync_b()
                self.jobs_b.set_source(ref, b.params)
            else:
                self.jobs_b.clear()
                self.panel_b.hide()
            views_changed = _view_key(shown) != _view_key(old)
            if self.jobs.overview is not None and (views_changed or old.mode == "live"):
                self._request_strip()  # a new overview's strip; back at once after live mode
            if new_file or old.mode == "live":
                self._slice_deferred = True  # see _release_slice
            elif old.a is None or old.a.params != a.params or old.a.channel != a.channel:
                self._slice_for_mode()
            if new_file or old.mode == "live" or (shown.b is not None and old.b is None):
                self._refresh_timer.start()  # once the window has laid out the new file or pane
            elif views_changed:
                # New parameters: the image the user waits for is asked at once
                # (the running job's result is dropped; the newest request wins).
                self._refresh_timer.stop()
                self._request_views()
            # A colour map, floor or ceiling change asks for no new view: the
            # numbers are the same, only their colours change (below).
        settings = a.settings if a is not None else self.model.requested
        for pane, jobs in ((self.panel, self.jobs), (self.panel_b, self.jobs_b)):
            pane.set_colormap(settings.colormap, settings.db_floor, settings.db_ceiling)
            if shown.mode == "file":
                jobs.recolour(pane.levels)  # no-op unless the levels changed
        self.controls.set_settings(settings, sr=shown.sr or 0.0, n_channels=shown.n_channels)
        self.controls.set_compare(self.model.compare, active=shown.b is not None)
        note = shown.note
        self.controls.show_message(note)
        with QSignalBlocker(self.compare_action):
            self.compare_action.setChecked(self.model.compare_on)
        if note and note != old.note:
            self.statusBar().showMessage(note.replace("\n", "; "), 15000)
        elif not note and old.note and self.statusBar().currentMessage() == old.note.replace("\n", "; "):
            self.statusBar().clearMessage()  # the adjustment it spoke of is gone
        elif shown.b is None and old.b is not None and self.statusBar().currentMessage().startswith("A: n_fft"):
            self.statusBar().clearMessage()  # A/B is off: its comparison line is gone too
        elif shown.b is not None and (old.b is None or old.b.params != shown.b.params):
            pa, pb, sr = shown.a.params, shown.b.params, shown.sr or 1.0  # type: ignore[union-attr]
            self.statusBar().showMessage(
                f"A: n_fft {pa.n_fft}, hop {pa.hop}  /  B: n_fft {pb.n_fft}, hop {pb.hop}, {pb.scale} "
                f"({1000 * pb.n_fft / sr:.1f} ms, {sr / pb.n_fft:.1f} Hz per bin)",
                10000,
            )
        if shown.mode == "live" and old.mode != "live":
            self.readout.setText("")  # the file's readout does not describe the live picture
        elif shown.mode == "file" and old.mode == "live":
            # The pointer's live readout (seconds before now) does not describe the file.
            self.model.set_cursor(None)
            back = shown.info
            self.readout.setText(f"{Path(back.path).name}: {back.describe()}" if back is not None else "")
        if self.model.cursor is not None and shown.mode == "file":
            self._draw_cursor(self.model.cursor)  # the readout names the panes shown now
        self.store.save_view(self.model.requested)
        self._update_title()

    def _draw_range(self, t0: float, t1: float) -> None:
        if self.model.mode != "file" or self.info is None:
            return
        p0, p1 = self.panel.visible_range()
        if abs(p0 - t0) > 1e-9 or abs(p1 - t1) > 1e-9:
            self.panel.set_time_range(t0, t1)
        self._refresh_timer.start()

    def _draw_selection(self, selection: tuple[float, float] | None) -> None:
        if selection is None:
            self.selection_edit.setText("")
            self.selection_length.setText("")
        else:
            a, b = selection
            self.selection_edit.setText(f"{a:.3f}-{b:.3f}")
            self.selection_length.setText(f"({b - a:.3f} s)")
        shown = self.panel.selected_range()
        if selection is None:
            if shown is not None:
                self.panel.clear_selection()
        elif shown is None or abs(shown[0] - selection[0]) > 1e-9 or abs(shown[1] - selection[1]) > 1e-9:
            self.panel.set_selection(*selection)
        if selection is not None and self.model.tools.slice_mode == "selection":
            self._request_slice(*selection)

    def _on_selection_typed(self) -> None:
        text = self.selection_edit.text().strip()
        info = self.info
        if info is None or self.model.mode != "file":
            return
        if not text:
            self.clear_selection()
            return
        try:
            a, b = parse_time_range(text)
        except ParameterError as exc:
            self.statusBar().showMessage(f"selection: {exc}", 8000)
            return
        a, b = min(a, info.duration), min(b, info.duration)
        if b - a < 1e-3:
            self.statusBar().showMessage(f"selection: {text!r} is not inside the file (0-{info.duration:.3f} s)", 8000)
            return
        self.panel.set_selection(a, b)

    def extend_selection(self, t: float) -> None:
        """Shift+click at ``t`` s: the nearer end of the selection moves there (from the play cursor if none)."""
        info = self.info
        if info is None or self.model.mode != "file":
            return
        t = min(max(0.0, t), info.duration)
        selection = self.model.selection
        if selection is None:
            a, b = sorted((self.model.play_cursor, t))
        else:
            a, b = selection
            if t < a or (t <= b and t - a < b - t):
                a = t
            else:
                b = t
        if b - a >= 1e-3:
            self.panel.set_selection(a, b)

    def _draw_cursor(self, cursor: Cursor | None) -> None:
        if cursor is None:
            return
        self.readout.setText(self.readout_text(cursor.t, cursor.hz))
        # B marks where the pointer is in A (A's own line is the play cursor, set by a click).
        self.panel_b.cursor_line.setPos(cursor.t)
        self.panel_b.cursor_line.setVisible(cursor.pane == "a" and self.panel_b.isVisible())
        if self.model.tools.harmonics:
            for pane in (self.panel, self.panel_b):
                pane.set_harmonics(cursor.hz)
        if self.model.tools.slice_mode == "pointer" and self.slice_dock.isVisible() and self.model.mode == "file":
            self._request_slice(cursor.t)

    def _draw_play_cursor(self, t: float) -> None:
        self.panel.cursor_line.setPos(t)
        self.panel.cursor_line.setVisible(self.model.mode == "file" and self.info is not None)
        if self.model.tools.slice_mode == "cursor" and self.slice_dock.isVisible() and self.model.mode == "file":
            self._request_slice(t)

    def _draw_band(self, band: tuple[float, float] | None) -> None:
        """The model chose the frequency band (zoom history): the rows follow, through the mapping."""
        mapping = self.panel.mapping
        if mapping is None:
            return
        if band is None:
            self.panel.spec_plot.setYRange(0, self.panel.n_rows, padding=0)
        else:
            y0, y1 = (float(mapping.hz_to_y(f)) for f in band)
            self.panel.spec_plot.setYRange(max(0.0, y0), min(float(self.panel.n_rows), y1), padding=0)

    def _draw_history(self, back: bool, forward: bool) -> None:
        self.back_action.setEnabled(back)
        self.forward_action.setEnabled(forward)

    def _slice_for_mode(self) -> None:
        """The spectrum slice for what it follows now (after a mode change or another file)."""
        mode = self.model.tools.slice_mode
        if self.model.mode != "file" or self.info is None:
            return
        if mode == "selection" and self.model.selection is not None:
            self._request_slice(*self.model.selection)
        elif mode == "pointer" and self.model.cursor is not None:
            self._request_slice(self.model.cursor.t)
        elif mode == "playhead" and self.player is not None:
            self._request_slice(self.player.position)
        else:
            self._request_slice(self.model.play_cursor)

    def _draw_tools(self, tools: Tools) -> None:
        with QSignalBlocker(self.pitch_action):
            self.pitch_action.setChecked(tools.pitch)
        with QSignalBlocker(self.harmonics_action):
            self.harmonics_action.setChecked(tools.harmonics)
        with QSignalBlocker(self.follow_action):
            self.follow_action.setChecked(tools.follow)
        with QSignalBlocker(self.slice.mode):
            self.slice.mode.setCurrentIndex(SLICE_MODES.index(tools.slice_mode))
        if not tools.harmonics:
            for pane in (self.panel, self.panel_b):
                pane.set_harmonics(None)
        self._update_pitch()
        self._slice_for_mode()

    def _on_refused(self, message: str) -> None:
        """An edit the rules refused: the controls go back to what is drawn, the reason shows."""
        shown = self.model.shown
        settings = shown.a.settings if shown.a is not None else self.model.requested
        self.controls.set_settings(settings)
        self.controls.show_message(message)
        self.statusBar().showMessage(message, 15000)

    def _update_title(self) -> None:
        if self.model.mode == "live" and self.live.mic is not None:
            self.setWindowTitle(f"Live: {self.live.mic.device_name} - Spectroview")
            return
        name = Path(self.info.path).name if self.info else "no file"
        self.setWindowTitle(f"{name} - Spectroview")

    # -- navigation ----------------------------------------------------------------------------------
    def _on_panel_view(self, t0: float, t1: float, _width: int) -> None:
        """The user zoomed or panned the panel, or it was resized: the model learns the range."""
        if self.model.mode != "file" or self._drawing:
            return
        self.model.set_time_range(t0, t1)
        self._refresh_timer.start()  # a new width needs new images even for the same range

    def _on_panel_selection(self, t0: float, t1: float) -> None:
        if not self._drawing:
            self.model.set_selection((t0, t1) if t1 > t0 else None)

    def _zoom(self, factor: float) -> None:
        if self.model.mode != "file" or self.info is None:
            return
        t0, t1 = self.model.time_range
        centre, half = (t0 + t1) / 2, (t1 - t0) / 2 * factor
        half = max(half, 5e-4)
        self.model.set_time_range(centre - half, centre + half)

    def _pan(self, fraction: float) -> None:
        if self.model.mode != "file" or self.info is None:
            return
        t0, t1 = self.model.time_range
        span = t1 - t0
        shift = fraction * span if np.isfinite(fraction) else (np.sign(fraction) * self.info.duration)
        self.model.set_time_range(t0 + shift, t1 + shift)

    def fit(self) -> None:
        """Show the whole file (key 0)."""
        if self.model.mode != "file" or self.info is None:
            return
        self.model.set_time_range(0.0, self.info.duration)
        self.panel.fit()

    # -- views -----------------------------------------------------------------------------------------
    def _request_views(self) -> None:
        if self.model.mode != "file" or self.info is None:
            return
        t0, t1 = self.model.time_range
        width = self.panel.plot_width()
        # The jobs also pool the visible rows for the screen: painting stays
        # cheap on the GUI thread whatever the window size (n_fft 32768: 16385 rows).
        for pane, jobs in ((self.panel, self.jobs), (self.panel_b, self.jobs_b)):
            if jobs is self.jobs_b and self.model.shown.b is None:
                continue
            _, (y0, y1) = pane.spec_box.viewRange()
            height = max(1, int(pane.spec_box.height() * pane.devicePixelRatioF()))
            jobs.request_view(t0, t1, width, height=height, rows=(y0, y1), levels=pane.levels)

    def _strip_height(self) -> int:
        return max(8, int(self.panel.over_plot.height() * self.panel.devicePixelRatioF()))

    def _strip_target(self) -> tuple[int, int]:
        """(columns, rows) the overview strip is pooled to: its size on screen now."""
        return max(200, int(self.panel.plot_width())), self._strip_height()

    def _request_strip(self) -> None:
        """The overview strip for the strip's size now (the whole file; pooled for its pixels)."""
        size = self._strip_target()
        self._strip_size = size
        self.jobs.request_strip(size[0], height=size[1], levels=self.panel.levels)

    def _on_strip_resized(self) -> None:
        """The strip changed size (a window resize, or shown again after live mode, where it was
        hidden and 8 px high): asked again when the size last asked for no longer fits its pixels
        (the newest request wins, so a strip for the old size still on its way is dropped)."""
        if self.jobs.overview is None or self.model.mode != "file" or not self.panel.over_plot.isVisible():
            return
        width, height = self._strip_target()
        asked_width, asked_height = self._strip_size
        if not (0.8 * height <= asked_height <= 1.25 * height) or not (0.8 * width <= asked_width <= 1.25 * width):
            self._request_strip()

    def _on_rows_changed(self) -> None:
        """Frequency zoom or pan: new images once the visible rows leave what was pooled for the screen."""
        if self.model.mode != "file" or self._drawing:
            return
        mapping = self.panel.mapping
        if mapping is not None:
            _, (y0, y1) = self.panel.spec_box.viewRange()
            whole = y0 <= 0.5 and y1 >= self.panel.n_rows - 0.5
            self.model.set_freq_range(None if whole else (float(mapping.y_to_hz(y0)), float(mapping.y_to_hz(y1))))
        for pane, jobs in ((self.panel, self.jobs), (self.panel_b, self.jobs_b)):
            image = jobs.latest
            if image is None or image.display is None or not pane.isVisible():
                continue
            _, (y0, y1) = pane.spec_box.viewRange()
            r0, r1 = image.display_rows
            pooled = (r1 - r0) / image.display.shape[0]  # rows per painted row
            visible_px = max(1.0, pane.spec_box.height())
            if y0 < r0 - 0.5 or y1 > r1 + 0.5 or pooled > max(1.0, (y1 - y0) / visible_px):
                self._refresh_timer.start()
                return

    def _on_image(self, image: ViewImage) -> None:
        self.panel.show_image(image)
        if self._slice_deferred and not self._slice_timer.isActive():
            self._slice_timer.start()
        self._update_pitch()
        self.viewComputed.emit()
        self._check_idle()

    def _on_image_b(self, image: ViewImage) -> None:
        self.panel_b.show_image(image)
        self.viewComputed.emit()

    def _refresh_b_if_overview(self) -> None:
        latest = self.jobs_b.latest
        if latest is None or latest.origin == "overview":
            self._refresh_timer.start()

    def _on_overview_progress(self, fraction: float) -> None:
        self.progress.show()
        self.progress.setValue(int(fraction * 1000))
        # Progressive rendering: zoomed-out views come from the overview being built,
        # about three times a second (each is a pass over the whole overview, up to
        # 100 MB: at every progress report they took a third of the build's time).
        latest = self.jobs.latest
        now = time.monotonic()
        if (latest is None or latest.origin == "overview") and now - self._progressive_shown > 0.3:
            self._progressive_shown = now
            self._refresh_timer.start()
        if now - self._strip_shown > 0.5:  # the strip is small; twice a second is plenty
            self._strip_shown = now
            self._request_strip()

    def _on_overview_ready(self) -> None:
        self.progress.hide()
        overview, info = self.jobs.overview, self.info
        new = [t for t in (overview.warnings if overview else ()) if t not in self._found_warnings]
        if new and info is not None:
            # Found while reading the whole file (damage past the header, NaN or
            # clipped samples): said once, and kept in File > Properties.
            self._found_warnings += new
            self._say_found(info, new)
            self.readout.setToolTip(_properties_text(info, self._found_warnings))
        self._request_strip()
        self._refresh_timer.start()

    def _say_found(self, info: AudioInfo, found: Sequence[str]) -> None:
        """Damage and the like: in the status bar, and one log line each (stderr: as the CLI says it)."""
        for text in found:
            log.warning("%s: %s", info.path, text)
        self.statusBar().showMessage(f"{Path(info.path).name}: " + "; ".join(found), 30000)

    def is_idle(self) -> bool:
        """No job runs or waits for the panes shown, and no view request is due."""
        return (
            self.jobs.is_idle()
            and self.jobs_b.is_idle()
            and not self.scheduler.busy
            and not self._refresh_timer.isActive()
        )

    def _release_slice(self) -> None:
        if self._slice_deferred:
            self._slice_deferred = False
            self._slice_timer.stop()
            self._slice_for_mode()

    def _check_idle(self) -> None:
        if self.is_idle():
            self._release_slice()
            self.idle.emit()

    def _report_error(self, title: str, message: str) -> None:
        log.warning("%s: %s", title, message)
        self.statusBar().showMessage(message, 15000)
        box = self._error_box
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

    # -- analysis tools: jobs ----------------------------------------------------------------------------
    def _file_ref(self) -> tuple[SourceRef, Any] | None:
        """Pane A's source and parameters in file mode (None otherwise)."""
        shown = self.model.shown
        if shown.mode != "file" or shown.info is None or shown.a is None:
            return None
        info = shown.info
        return SourceRef(Path(info.path), info.frames, shown.a.channel, info.stream), shown.a.params

    def _request_slice(self, t0: float, t1: float | None = None) -> None:
        """The spectrum at ``t0`` (or over ``[t0, t1]``) as a job; drawn if still current."""
        if self._slice_deferred:
            return  # a file just opened: asked when it is released (see _release_slice)
        current = self._file_ref()
        if current is None:
            return
        ref, params = current
        serial = self.model.shown.serial
        cache = self._readers["slice"]

        def work() -> Slice:
            return slice_spectrum(cache.get(ref), params, t0, t1)

        def done(result: Any) -> None:
            if serial != self.model.shown.serial:
                return  # another file or other parameters meanwhile
            if isinstance(result, Exception):
                self.slice.caption.setText(str(result))
            else:
                hint = "click the spectrogram to move the cursor" if self.model.tools.slice_mode == "cursor" else ""
                self.slice.show_slice(result, params, hint=hint)

        self._slice_lane.submit(work, done)

    def update_slice(self, t0: float, t1: float | None = None) -> None:
        """Show the spectrum at ``t0`` s (or averaged over ``[t0, t1]``); computed off the GUI thread."""
        self._request_slice(t0, t1)

    def toggle_pitch(self) -> None:
        self.model.set_tools(pitch=not self.model.tools.pitch)

    def _update_pitch(self) -> None:
        current = self._file_ref()
        if not self.model.tools.pitch or current is None:
            self.panel.set_pitch(None, None)
            return
        ref, _params = current
        t0, t1 = self.model.time_range
        if t1 - t0 > PITCH_MAX_SECONDS:
            self.panel.set_pitch(None, None)
            self.statusBar().showMessage(f"pitch track: zoom in to {PITCH_MAX_SECONDS:.0f} s or less", 5000)
            return
        # Images arrive often for the same range (the overview filling in, a
        # colour change): the track depends only on the audio, so keep it and
        # only redraw it (the row mapping may have changed).
        key = (ref, t0, t1)
        if self._pitch is not None and self._pitch[0] == key:
            self.panel.set_pitch(self._pitch[1], self._pitch[2])
            return
        cache = self._readers["pitch"]

        def done(result: Any) -> None:
            if isinstance(result, Exception) or self._file_ref() is None or self._file_ref()[0] != ref:  # type: ignore[index]
                return
            self._pitch = (key, *result)
            if self.model.tools.pitch:
                self.panel.set_pitch(*result)

        self._pitch_lane.submit(lambda: pitch_track(cache.get(ref), t0, t1), done)

    def toggle_compare(self, n_fft: int | None = None) -> None:
        """Show or hide panel B (with ``n_fft``: show it with that window size)."""
        if n_fft is not None:
            self.model.set_compare(on=True, n_fft=n_fft)
        else:
            self.model.set_compare(on=not self.model.compare_on)

    def open_model_view(self) -> None:
        """Analysis > As a Model Sees It: a front end's inputs covering the selection (else the view), browsable.

        The preset is the one last chosen (AST at first).  One input per model
        window (:func:`~spectroview.session.analysis.model_windows`); each is
        computed as a job when shown, and Export All writes them all as a job
        with progress.  The dialog's time axis is linked to the main view's
        (zoom and pan follow each other) and shows the pointer's time.
        """
        current = self._file_ref()
        if current is None or self.info is None:
            self._report_error("As a model sees it", "open a file first")
            return
        ref, _params = current
        t0, t1 = self.model.selection if self.model.selection else self.model.time_range
        duration = self.info.duration
        preset = self.store.model_preset
        if self.model_view is not None:
            self.model_view.close()
        dialog = ModelView(
            model_windows(t0, t1, duration, front_end(preset)),
            self,
            colormap=self.view_settings.colormap,
            protected=[str(ref.path)],
            directory=self.store.last_directory,
            preset=preset,
        )
        self.model_view = dialog
        channel = self._drawn_channel()

        def compute(index: int) -> None:
            windows, fe = dialog.windows, dialog.front_end
            start, stop = windows[index][0], windows[-1][1]  # frames continue into the next window

            def work() -> ModelInput:
                with ref.open() as source:
                    return model_input(source, start, stop, fe)

            def done(result: Any) -> None:
                if isinstance(result, Exception):
                    dialog.show_status(f"cannot compute window {index + 1}: {result}")
                    return
                dialog.show_window(index, result)

            self._model_lane.submit(work, done)

        def change_preset(name: str) -> None:
            self.store.model_preset = name
            dialog.set_windows(name, model_windows(t0, t1, duration, front_end(name)))
            compute(0)

        def export_all(path: str) -> None:
            windows, fe = list(dialog.windows), dialog.front_end
            dialog.show_status(f"writing {len(windows)} windows to {path}...")

            def report(done_count: int, total: int) -> None:  # (on the worker: the text goes through post)
                text = f"writing {path}: window {done_count} of {total}"
                self.scheduler.post(lambda: dialog.show_status(text))

            def work() -> tuple[Path, Path]:
                with ref.open() as source:
                    return export_model_windows(source, windows, path, channel=channel, progress=report, fe=fe)

            def done(result: Any) -> None:
                if isinstance(result, Exception):
                    message = f"{path}: {getattr(result, 'strerror', None) or result}"
                    dialog.show_status(f"export failed: {message}")
                    self._report_error("Export failed", message)
                    return
                npy, sidecar = result
                text = f"wrote {len(windows)} model inputs to {npy} and {sidecar.name}"
                dialog.show_status(text)
                self.statusBar().showMessage(text, 15000)

            self.scheduler.submit(work, done)  # no lane: a second export never replaces a first

        def follow_cursor(cursor: Cursor | None) -> None:
            dialog.set_cursor(None if cursor is None else cursor.t)

        dialog.windowRequested.connect(compute)
        dialog.presetChanged.connect(change_preset)
        dialog.exportAllRequested.connect(export_all)
        # One time axis: the user's zoom and pan in either is followed by the other (through
        # the model's time range); the pointer's time is drawn in both.
        dialog.rangeEdited.connect(self.model.set_time_range)
        self.model.range_changed.connect(dialog.follow_range)
        self.model.cursor_changed.connect(follow_cursor)

        def unlink() -> None:
            for signal, slot in (
                (self.model.range_changed, dialog.follow_range),
                (self.model.cursor_changed, follow_cursor),
            ):
                with contextlib.suppress(RuntimeError, TypeError, ValueError):
                    signal.disconnect(slot)

        dialog.finished.connect(unlink)
        dialog.show()
        compute(0)

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
        self.device_box = _DeviceBox(self.fill_devices)
        self.device_box.setPlaceholderText("input device")
        self.device_box.setToolTip(
            "Input device (default marked *, with its sample rate); switching restarts the stream. "
            "The list is made when first opened (asking the sound system can take a moment)"
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
            if d.is_default_input and self.device_spec is None:
                self.device_box.setCurrentIndex(self.device_box.count() - 1)  # what "no choice" opens

    def set_live(self, on: bool) -> None:
        """Start or stop live mode (the L key and the toolbar button)."""
        if on == self.live.running:
            with QSignalBlocker(self.live_action):
                self.live_action.setChecked(on)
            return
        if on:
            self._stop_playback()
            if self.device_box.count() == 0:
                self.fill_devices()
            request = dataclasses.replace(self.model.requested, channel=None)
            started = self.live.start(
                lambda sr: resolve(request, sr, 1).params,
                device=self.device_spec,
                history_seconds=self.history_box.value(),
                samplerate=self.live_samplerate,
            )
            if started:
                assert self.live.mic is not None
                self.model.start_live(self.live.mic.samplerate)
                self._show_device(self.live.mic.device_index)
                for action in (self.freeze_action, self.record_action, self.save_history_action):
                    action.setEnabled(True)
                self._update_title()
        else:
            self.live.stop()
            for action in (self.freeze_action, self.record_action, self.save_history_action):
                action.setEnabled(False)
            with QSignalBlocker(self.freeze_action):
                self.freeze_action.setChecked(False)
            self.meter_label.setText("")
            self.model.stop_live()
            if self.info is None:
                self.panel.set_live(False)
            else:
                t0, t1 = self.model.time_range
                self.panel.set_time_range(t0, t1)
            self._update_title()
        with QSignalBlocker(self.live_action):
            self.live_action.setChecked(self.live.running)

    def _update_live_display(self) -> None:
        """Draw the live picture from uint8 indices at about the plot's height (see LiveSpectrogram.set_display)."""
        engine = self.live.engine
        if engine is not None:
            s = self.view_settings
            engine.set_display(s.db_floor, s.db_ceiling, rows=max(64, int(self.panel.spec_box.height())))
            self.panel.spec_plot.setYRange(0, engine.n_rows, padding=0)

    def _show_device(self, index: int | None) -> None:
        """The picker shows the device live mode opened (``--device`` may name it in part, or not at all)."""
        found = self.device_box.findData(index)
        if found < 0:  # a device that appeared since the list was made
            self.fill_devices()
            found = self.device_box.findData(index)
        if found >= 0:
            with QSignalBlocker(self.device_box):
                self.device_box.setCurrentIndex(found)

    def _on_device_chosen(self, index: int) -> None:
        self.device_spec = self.device_box.itemData(index)
        if self.live.running:
            self.set_live(False)
            self.set_live(True)

    def _on_live_view(self, view: Any) -> None:
        self.panel.show_live(view)
        problems = self.live.problems()
        self.drops_label.setText(f"lost: {problems}" if problems else "")
        self.viewComputed.emit()

    def _on_live_levels(self, m: Any) -> None:
        def fmt(v: float) -> str:
            return "−∞" if v == float("-inf") else f"{v:.1f}".replace("-", "−")

        self.meter_label.setText(f"peak {fmt(m.peak_db)}  rms {fmt(m.rms_db)} dBFS")

    def _on_live_status(self, message: str, is_error: bool) -> None:
        self.statusBar().showMessage(message, 0 if is_error else 5000)
        note = self.model.shown.note  # the note on adjusted settings stays beside the device's trouble
        if is_error:
            self.controls.show_message("\n".join(t for t in (note, f"live: {message}") if t))
            log.warning("live: %s", message)
        else:
            self.controls.show_message(note)

    def save_history_dialog(self) -> None:
        path = self._save_path("Save history", "history", ".wav", "WAV (*.wav);;FLAC (*.flac)")
        if path:
            try:
                frames = self.live.save_history(_audio_path(path))
            except (AudioError, OSError, RuntimeError) as exc:
                self._report_error("Cannot save", str(exc))
                return
            self.statusBar().showMessage(f"saved {frames} samples to {path}", 5000)

    def _on_record_toggled(self, on: bool) -> None:
        if on:
            path = self._save_path("Record to", "recording", ".flac", "FLAC (*.flac);;WAV (*.wav)")
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
    def _on_pointer(self, panel: SpectrogramPanel, pane: str, t: float, y: float) -> None:
        if panel.mapping is None or (self.info is None and self.model.mode != "live"):
            return
        self.model.set_cursor(Cursor(float(t), float(panel.mapping.y_to_hz(y)), pane))

    def readout_text(self, t: float, hz: float) -> str:
        """The readout at ``t`` s and ``hz`` Hz: pane A's level, and pane B's when A/B is on."""
        if self.panel.mapping is None:
            return ""
        level = self.panel.level_at(t, float(self.panel.mapping.hz_to_y(hz)))
        text = format_readout(t, hz, level)
        if self.panel_b.isVisible() and self.panel_b.mapping is not None:
            level_b = self.panel_b.level_at(t, float(self.panel_b.mapping.hz_to_y(hz)))
            b = "—" if level_b is None else f"{level_b:.1f}".replace("-", "−") + " dBFS"
            text = f"A: {text}    B: level = {b}"
        return text

    def context_menu(self, t: float, y: float, at: Any = None) -> QMenu:
        """The view's right-click menu at ``t`` s (and row ``y``; NaN on the waveform), shown at ``at``."""
        menu = QMenu(self)
        menu.setObjectName("view-context-menu")
        file_mode = self.model.mode == "file" and self.info is not None
        if file_mode:
            menu.addAction(f"Play from {t:.3f} s", lambda: self._play_from(t))
            menu.addAction("Select the Visible Range", lambda: self.panel.set_selection(*self.panel.visible_range()))
            if self.model.selection:
                menu.addAction("Clear the Selection", self.panel.clear_selection)
        mapping = self.panel.mapping
        if mapping is not None and y == y:  # not NaN: over the spectrogram
            text = self.readout_text(t, float(mapping.y_to_hz(y)))
            if text:
                # Copied with ASCII minus signs: pasted numbers must parse (the screen's U+2212 would not).
                menu.addAction(
                    f"Copy Readout: {text}", lambda: QApplication.clipboard().setText(text.replace("\u2212", "-"))
                )
        menu.addSeparator()
        menu.addAction("Export View Image...", self.export_image_dialog)
        menu.addAction("Export View Data...", self.export_data_dialog)
        if file_mode:
            menu.addAction("Fit Whole File", self.fit)
        self._context = menu  # kept: a menu without an owner reference closes at once
        if at is not None:
            menu.popup(at)
        return menu

    def _on_click(self, t: float) -> None:
        """A click on the spectrogram: the cursor goes there and the selection goes (as in Audacity)."""
        self.model.set_play_cursor(t)
        self.clear_selection()

    def clear_selection(self) -> None:
        """Play > Clear Selection (Esc), a click on the spectrogram, or an emptied selection box."""
        if self.model.selection is not None:
            self.panel.clear_selection()

    def _play_from(self, t: float) -> None:
        """Play from ``t`` s (the selection is cleared: it would choose the range instead)."""
        self._stop_playback()
        self.panel.clear_selection()
        self.model.set_play_cursor(t)
        self.toggle_play()

    # -- playback -------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.player is not None and self.player.state == "playing":
            self._stop_playback()
            return
        info = self.info
        if info is None or self.model.mode != "file":
            return
        from spectroview.audio.player import Player

        selection = self.model.selection
        start, stop = selection if selection else (self.model.play_cursor, None)
        # Clamp to the file: a click on its very end plays its last moment.
        last = max(0.0, info.duration - 1.0 / info.samplerate)
        start = min(max(0.0, start), last)
        stop = None if stop is None or stop >= info.duration else max(stop, start + 1.0 / info.samplerate)
        try:
            self._stop_playback()
            self._play_source = FileSource(info.path, stream=info.stream)
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
        info = self.info
        if self.model.tools.follow and player.state == "playing" and info is not None:
            page = follow_page(player.position, self.panel.visible_range(), info.duration)
            if page is not None:
                self.panel.set_time_range(*page)
        if self.model.tools.slice_mode == "playhead" and self.slice_dock.isVisible():
            self._request_slice(player.position)
        if player.state != "playing":
            if player.state == "error":
                self.statusBar().showMessage(player.message, 10000)
            self._stop_playback(keep_head=True)

    def _stop_playback(self, *, keep_head: bool = False) -> None:
        self._play_timer.stop()
        if self.player is not None:
            self.player.stop()
            self.player = None
        if self._play_source is not None:
            self._play_source.close()
            self._play_source = None
        if not keep_head:
            self.panel.set_playhead(None)

    # -- saving and export ----------------------------------------------------------------------------
    def _save_path(self, title: str, kind: str, suffix: str, filters: str) -> str:
        """Ask where to save; never proposes, and refuses, the open file (or another input)."""
        base = "live" if self.model.mode == "live" else Path(self.info.path).stem if self.info else "spectrogram"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        proposal = Path(self.store.last_directory) / f"{base}-{kind}-{stamp}{suffix}"
        while True:
            path, chosen = QFileDialog.getSaveFileName(self, title, str(proposal), filters)
            if not path:
                return ""
            # A name without one of the offered suffixes gets the chosen filter's ("(*.svg)").
            offered = re.findall(r"\*(\.\w+)", filters)
            wanted = re.findall(r"\*(\.\w+)", chosen)
            if Path(path).suffix.lower() not in offered and wanted:
                path += wanted[0]
            if not self._is_open_file(path):
                self.store.last_directory = str(Path(path).parent)  # the next save dialog opens here
                return path
            QMessageBox.warning(
                self, title, f"{path} is the file that is open; choose another name (nothing was written)."
            )

    def _drawn_channel(self) -> int | None:
        """The channel drawn (None: the mix), as resolved for the open file."""
        a = self.model.shown.a
        return a.channel if a is not None and self.model.mode == "file" else None

    def _is_open_file(self, path: str | os.PathLike[str]) -> bool:
        info = self.info
        return info is not None and same_file(path, info.path)

    def export_image_dialog(self) -> None:
        """File > Export View Image: where (PNG or SVG), then the width and resolution (remembered)."""
        path = self._save_path("Export image", "view", ".png", "PNG image (*.png);;SVG drawing (*.svg)")
        if not path:
            return
        if Path(path).suffix.lower() not in IMAGE_FORMATS:
            path += ".png"
        dialog = ExportImageDialog(
            self.panel, image_format(path), width=self.store.export_width, dpi=self.store.export_dpi, parent=self
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        width, dpi = dialog.options()
        self.store.export_width = None if width == self.panel.width() else width
        self.store.export_dpi = dpi
        self.export_image(path, width=width, dpi=dpi)

    def export_image(self, path: str | os.PathLike[str], *, width: int | None = None, dpi: int = 96) -> bool:
        """The view as shown, with axes and colour bar, as PNG or SVG by suffix (else PNG), written atomically.

        ``width`` in px (None: the view's own; the height keeps its
        proportions); ``dpi`` is recorded in the file (its printed size).
        """
        if self._is_open_file(path):
            self._report_error("Export failed", f"{path}: is the file that is open")
            return False
        fmt = IMAGE_FORMATS.get(Path(path).suffix.lower(), "png")
        title = f"{Path(self.info.path).name} - Spectroview" if self.info is not None else "Spectroview"
        try:
            data = encode_widget(self.panel, fmt, width=width, dpi=dpi, title=title)
            write_bytes(path, data)
        except ExportError as exc:
            self._report_error("Export failed", f"{path}: {exc}")
            return False
        except OSError as exc:
            self._report_error("Export failed", f"{path}: {exc.strerror or exc}")
            return False
        self.statusBar().showMessage(f"wrote {path}", 8000)
        return True

    def export_data_dialog(self) -> None:
        path = self._save_path("Export data", "view", ".npy", "NumPy array (*.npy);;CSV table (*.csv)")
        if path:
            self.export_data(path)

    def export_data(self, path: str | os.PathLike[str]) -> bool:
        """The visible matrix (dBFS, rows low to high frequency) as NPY or CSV, with a JSON sidecar."""
        image: Any = self.panel.image if self.model.mode == "live" else self.jobs.latest
        info = self.info
        if image is None or (info is None and self.model.mode != "live"):
            self._report_error("Export failed", "nothing to export yet")
            return False
        out = Path(path)
        if out.suffix.lower() not in (".csv", ".npy"):
            out = out.with_suffix(".npy")
        if self._is_open_file(out) or self._is_open_file(out.with_suffix(".json")):
            self._report_error("Export failed", f"{out}: is the file that is open")
            return False
        centres, edges = row_frequencies(image.params)
        n_cols = image.levels.shape[1]
        col_edges = np.linspace(image.x0, image.x1, n_cols + 1)
        channel = self._drawn_channel()
        live = self.model.mode == "live"
        mic = self.live.mic
        meta = {
            "spectroview": __version__,
            "source": f"live: {mic.device_name if mic else 'input'}" if live else info.path,  # type: ignore[union-attr]
            "channel": "mix" if channel is None or live else channel + 1,
            "values": "level in dBFS (0 dB: a full-scale sine at the peak of its row); each column is the max over the frames it covers",
            "shape": list(image.levels.shape),
            "params": dataclasses.asdict(image.params),
            "frames_per_column": getattr(image, "frames_per_column", 1.0),
            "time_axis": "seconds before now" if live else "seconds from the start of the file",
            "axes": {
                "row_center_hz": centres.tolist(),
                "row_edge_hz": edges.tolist(),
                "column_edge_s": col_edges.tolist(),
            },
        }

        def save_npy(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.save(f, image.levels)

        try:
            # The matrix and its sidecar are replaced together, or neither is.
            with atomic_files([out, out.with_suffix(".json")]) as (tmp, tmp_json):
                if out.suffix.lower() == ".csv":
                    header = "freq_hz," + ",".join(f"{t:.6f}" for t in (col_edges[:-1] + col_edges[1:]) / 2)
                    table = np.column_stack([centres, image.levels])
                    np.savetxt(tmp, table, delimiter=",", header=header, comments="", fmt="%.4f")
                else:
                    save_npy(tmp)
                _write_text(tmp_json, json.dumps(meta, indent=2, allow_nan=False))
        except OSError as exc:
            self._report_error("Export failed", f"{out}: {exc.strerror or exc}")
            return False
        self.statusBar().showMessage(f"wrote {out}", 5000)
        return True

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
    def closeEvent(self, event: QCloseEvent) -> None:
        if self._opener is not None:
            self._opener.cancel.set()
        self.live.stop()
        self._stop_playback()
        self.store.save_view(self.model.requested)
        self.store.save_geometry("main", self.saveGeometry())
        self.store.save_geometry("main-state", self.saveState())
        self.store.sync()
        for jobs in (self.jobs, self.jobs_b):
            jobs.cancel()
        self.scheduler.shutdown(wait=True)
        super().closeEvent(event)


def _warm_up() -> None:
    """Import what the first compressed file needs (holding the GIL in bursts)."""
    try:
        import av  # noqa: F401
    except ImportError:  # a dependency; a broken install shows when a file needs it
        pass


class _ReaderCache:
    """One open :class:`FileSource` per lane, reopened when the source changes.

    Used only inside the lane's jobs, which run one at a time, so the reader
    is never shared between threads.
    """

    def __init__(self) -> None:
        self._ref: SourceRef | None = None
        self._source: FileSource | None = None

    def get(self, ref: SourceRef) -> FileSource:
        if self._source is None or ref != self._ref:
            if self._source is not None:
                self._source.close()
            self._source = ref.open()
            self._ref = ref
        return self._source


def _write_text(path: str, text: str) -> None:
    Path(path).write_text(text)


def restored_view(store: SettingsStore) -> ViewSettings:
    """The stored view settings for a new session, without the channel.

    The channel is a choice made for one file: restored, a channel 2 chosen
    once on a stereo file would be refused, with a note, on every mono file
    opened after (``--channel`` still chooses one from the command line).
    """
    return dataclasses.replace(store.load_view(), channel=None)


class _DeviceBox(QComboBox):
    """The input device picker: the list is made when first opened (or when live mode starts)."""

    def __init__(self, fill: Callable[[], None]) -> None:
        super().__init__()
        self._fill = fill

    def showPopup(self) -> None:
        if self.count() == 0:
            self._fill()
        super().showPopup()


def _is_bundled(path: str) -> bool:
    """``path`` is one of the bundled resources (the demo)."""
    from spectroview._resources import DEMO_NAME, resource_path

    try:
        return same_file(path, resource_path(DEMO_NAME))
    except (FileNotFoundError, OSError):
        return False


def _properties_text(info: AudioInfo, found: Sequence[str] = ()) -> str:
    rows = _properties(info, found)
    return "\n".join(f"{k}: {v}" for k, v in rows)


def _properties(info: AudioInfo, found: Sequence[str] = ()) -> list[tuple[str, str]]:
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
    rows += [("Warning", text) for text in (*info.warnings, *found)]
    return rows


class FilePropertiesDialog(QDialog):
    """File > Properties: every fact of :class:`AudioInfo`, selectable for copying."""

    def __init__(self, info: AudioInfo, parent: QWidget | None = None, found: Sequence[str] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Properties of {Path(info.path).name}")
        self.setObjectName("file-properties")
        form = QFormLayout(self)
        self.values: dict[str, QLabel] = {}
        for key, value in _properties(info, found):
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
