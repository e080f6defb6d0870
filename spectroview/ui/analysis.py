"""Analysis tools around the main view: spectrum slice, pitch track, "as a model sees it"."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spectroview._atomic import atomic_write, output_clash
from spectroview.dsp import SpectrogramParams
from spectroview.dsp.ast import patch_index_at
from spectroview.dsp.frontends import front_end
from spectroview.dsp.names import FRONT_ENDS
from spectroview.render.colormaps import colormap_lut
from spectroview.session.analysis import ModelInput, Slice
from spectroview.session.axes import FrequencyMapping
from spectroview.ui.panel import FrequencyAxis

__all__ = ["ModelView", "SpectrumSlice"]

#: Most peak labels drawn on the spectrum slice (the caption's tooltip lists every peak).
MAX_LABELS = 5


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two (left, right, bottom, top) boxes share any area."""
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


class SpectrumSlice(QWidget):
    """Spectrum (dBFS against frequency, on the main view's scale) with labelled peaks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.mode = QComboBox()
        # In the order of ui.main_window.SLICE_MODES.
        self.mode.addItems(["at the cursor", "under the pointer", "at the playhead", "average of the selection"])
        self.mode.setToolTip(
            "Which spectrum is shown: at the cursor (where you clicked), under the mouse pointer, "
            "at the playhead while playing, or averaged over the selected time range"
        )
        layout.addWidget(self.mode)
        self.axis = FrequencyAxis("bottom")
        self.plot = pg.PlotWidget(axisItems={"bottom": self.axis})
        self.plot.setMinimumHeight(80)
        self.plot.setLabel("left", "level", units="dBFS")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setLabel("bottom", "frequency", units="Hz")
        self.axis.enableAutoSIPrefix(False)  # tick strings are Hz or kHz as written, never "x1000"
        self.plot.setYRange(-100, 0)
        self.plot.setMouseEnabled(x=False, y=False)
        # The product's plot: no pyqtgraph "A" button or View All / Mouse Mode / Export menu.
        self.plot.getPlotItem().hideButtons()
        self.plot.setMenuEnabled(False)
        self.curve = self.plot.plot(pen=pg.mkPen((240, 200, 90), width=1))
        # 16385 points at n_fft 32768: drawn as per-pixel peaks (the peaks stay; the GUI thread is spared).
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        layout.addWidget(self.plot, 1)
        self.caption = QLabel("")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.labels: list[pg.TextItem] = []
        self._short: bool | None = None  # the plot is too short for the full level axis
        # Labels are laid out in pixels: again when the plot changes size.
        self.plot.getViewBox().sigResized.connect(self._relayout)
        self.mapping: FrequencyMapping | None = None
        self.current: Slice | None = None

    def clear(self, caption: str = "") -> None:
        """No spectrum (live mode, no file): an empty plot and ``caption``."""
        self.curve.setData([], [])
        for label in self.labels:
            label.hide()
        self.current = None
        self.caption.setText(caption)
        self.caption.setToolTip("")
        # No frequency axis left over from a file (live mode has its own rate).
        self.mapping = None
        self.axis.mapping = None
        self.axis.picture = None
        self.axis.update()

    def show_slice(self, result: Slice, params: SpectrogramParams, *, hint: str = "") -> None:
        """Draw ``result`` on ``params``' frequency axis; ``hint`` follows the caption when there are no peaks."""
        self.current = result
        mapping = FrequencyMapping.from_params(params)
        rows = result.rows_db.size
        if mapping != self.mapping:
            # Another file or other parameters: new tick labels and the whole axis.
            self.mapping = mapping
            self.axis.mapping = mapping
            self.axis.picture = None
            self.axis.update()
            self.plot.setXRange(0, rows, padding=0)
        self.curve.setData(np.arange(rows) + 0.5, result.rows_db)
        self._place_labels(result)
        where = (
            f"{result.t0:.3f} s"
            if result.t1 == result.t0
            else f"{result.t0:.3f}-{result.t1:.3f} s ({result.frames} frames)"
        )
        top = ", ".join(f"{p.frequency_hz:.2f} Hz ({p.level_db:.1f} dBFS)" for p in result.peaks[:3])
        # The strongest three (the labels on the plot are those of the strongest that fit).
        self.caption.setText(f"{where}   strongest: {top or 'none'}" + (f" ({hint})" if hint and not top else ""))
        # Every peak, copyable: the caption's tooltip and its selectable text.
        self.caption.setToolTip(
            "\n".join(f"{p.frequency_hz:.2f} Hz   {p.level_db:.1f} dBFS" for p in result.peaks) or "no peaks"
        )

    def _relayout(self, *_args: object) -> None:
        # A short plot (a small window) gets fewer level ticks and a shorter title: the
        # default ticks overlapped and "level (dBFS)" was cut to "level (dBF".
        height = self.plot.getViewBox().height()
        left = self.plot.getAxis("left")
        short = 0 < height < 140
        if short != self._short:
            self._short = short
            if short:
                left.setTickSpacing(50, 10)
                self.plot.setLabel("left", "dBFS")
            else:
                left.setTickSpacing()
                self.plot.setLabel("left", "level", units="dBFS")
        if self.current is not None and self.mapping is not None:
            self._place_labels(self.current)

    def _place_labels(self, result: Slice) -> None:
        """Label the strongest peaks that fit: inside the plot, never over each other, never clipped.

        The labels are kept and moved (creating text items costs ~1 ms each,
        per pointer move).  A label that would cross the plot's edge is slid
        inside; one that would cover a louder peak's label is left out (the
        caption's tooltip lists every peak).
        """
        assert self.mapping is not None
        rows = result.rows_db.size
        box = self.plot.getViewBox()
        (x0, x1), (y0, y1) = box.viewRange()
        width_px, height_px = max(1.0, box.width()), max(1.0, box.height())
        per_px_x, per_px_y = (x1 - x0) / width_px, (y1 - y0) / height_px
        placed: list[tuple[float, float, float, float]] = []
        shown = 0
        for peak in sorted(result.peaks, key=lambda p: -p.level_db)[:MAX_LABELS]:
            if shown == len(self.labels):
                label = pg.TextItem("", anchor=(0.0, 1.0), color=(255, 255, 255))
                self.plot.addItem(label)
                self.labels.append(label)
            label = self.labels[shown]
            label.setText(f"{peak.frequency_hz:.2f} Hz")
            rect = label.textItem.boundingRect()
            w, h = rect.width() * per_px_x, rect.height() * per_px_y
            x = float(self.mapping.hz_to_y(peak.frequency_hz))
            y = float(result.rows_db[min(rows - 1, max(0, int(x)))])
            left = min(max(x - w / 2, x0), x1 - w)  # centred over the peak, slid inside at the edges
            bottom = min(max(y, y0), y1 - h)  # above the peak, inside the plot
            box_ = (left, left + w, bottom, bottom + h)
            fits = left >= x0 and box_[1] <= x1 and bottom >= y0
            if not fits or any(_overlap(box_, other) for other in placed):
                continue
            placed.append(box_)
            label.setPos(left, bottom)
            label.show()
            shown += 1
        for label in self.labels[shown:]:
            label.hide()


class ModelView(QDialog):
    """What a model reads: a front end's matrix on the file's time axis, with what its geometry implies.

    Computed exactly as the chosen preset's reference does (see
    :mod:`spectroview.dsp.frontends`; :func:`spectroview.session.analysis.model_input`,
    which the viewer runs as a job).  The picker chooses the preset (AST by
    default, remembered).  The image lies on the same time axis as the main
    spectrogram (seconds of the file; the owner links the two for zoom and
    pans, and draws the pointer's time as a line here): AST's 16x16 patch grid
    of stride 10, Whisper's 30 s window and where the audio ends and the
    reference's padding begins are drawn over it.  A range longer than one
    model input gives several (:func:`spectroview.session.analysis.model_windows`),
    browsed with Previous / Next (Page Up / Page Down); each is computed when
    shown.  Hovering names the cell (and AST's patch) under the mouse.

    Signals
    -------
    windowRequested(int)
        Window ``k`` should be computed (the owner answers with :meth:`show_window`).
    exportAllRequested(str)
        Every window should be written to this NPY path (and its JSON sidecar).
    presetChanged(str)
        The user chose another front end (the owner answers with :meth:`set_windows`).
    rangeEdited(float, float)
        The user zoomed or panned the time axis here (s); the owner moves the main view
        there and answers its moves with :meth:`follow_range`.
    patchHovered(int)
    """

    rangeEdited = Signal(float, float)
    patchHovered = Signal(int)
    windowRequested = Signal(int)
    exportAllRequested = Signal(str)
    presetChanged = Signal(str)

    def __init__(
        self,
        windows: list[tuple[float, float]],
        parent: QWidget | None = None,
        *,
        colormap: str = "magma",
        protected: list[str] | None = None,
        directory: str = "",
        preset: str = "ast",
    ) -> None:
        super().__init__(parent)
        self.protected = list(protected or [])  # files an export must never replace (the open file)
        self.directory = directory  # where the export dialogs open (the window's last folder)
        self.windows = list(windows)
        self.index = 0
        self.data: ModelInput | None = None
        self.front_end = front_end(preset)
        self.features = np.zeros((self.front_end.n_rows, 1), np.float32)
        self.patches = np.zeros((0, 16, 16), np.float32)
        self.grid = (0, 0)
        self.t0 = self.windows[0][0] if self.windows else 0.0
        self._columns = (0.0, 1.0)  # where the image's columns start and end (s)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.preset = QComboBox()
        self.preset.addItems(list(FRONT_ENDS))
        self.preset.setCurrentText(self.front_end.name)
        self.preset.setToolTip(
            "The model's front end, each verified against its reference implementation: librosa (log-mel), "
            "torchaudio (MelSpectrogram defaults), panns, whisper (80 mels), whisper-128 (large-v3), "
            "ast (Audio Spectrogram Transformer)"
        )
        self.preset.currentTextChanged.connect(self._on_preset)
        top.addWidget(QLabel("Front end:"))
        top.addWidget(self.preset)
        self.previous = QPushButton("< Previous")
        self.previous.setShortcut(QKeySequence(Qt.Key.Key_PageUp))
        self.previous.setToolTip("The model input before this one (Page Up)")
        self.previous.clicked.connect(lambda: self.go(self.index - 1))
        self.next = QPushButton("Next >")
        self.next.setShortcut(QKeySequence(Qt.Key.Key_PageDown))
        self.next.setToolTip("The next model input (Page Down)")
        self.next.clicked.connect(lambda: self.go(self.index + 1))
        self.where = QLabel("")
        self.where.setAlignment(Qt.AlignmentFlag.AlignCenter)
        top.addWidget(self.previous)
        top.addWidget(self.where, 1)
        top.addWidget(self.next)
        layout.addLayout(top)
        self.pipeline = QLabel("")
        self.pipeline.setWordWrap(True)
        self.pipeline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.pipeline)
        self.view = pg.PlotWidget()
        self.view.setLabel("bottom", "time in the file (s)")
        self.view.setLabel("left", "mel band")
        self.view.getPlotItem().hideButtons()
        self.view.setMenuEnabled(False)
        self.view.setMouseEnabled(x=True, y=False)
        self.image = pg.ImageItem(self.features)
        self.image.setLookupTable(colormap_lut(colormap))
        self.view.addItem(self.image)
        self.grid_pen = pg.mkPen((255, 255, 255, 60), width=1)
        self.grid_lines: list[pg.InfiniteLine] = []
        # Where the audio ends and the reference's padding begins; the model input's window.
        self.padding_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((90, 200, 255), width=2, style=Qt.PenStyle.DashLine))
        self.padding_line.hide()
        self.view.addItem(self.padding_line)
        self.window_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(0, 0, 0, 0))
        for line in self.window_region.lines:
            line.setPen(pg.mkPen((255, 210, 80), width=2))
        self.view.addItem(self.window_region)
        self.cursor_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((255, 255, 255, 160), width=1))
        self.cursor_line.hide()
        self.view.addItem(self.cursor_line)
        # The frame grid: a line at each column's edge once a few of them fill the view.
        self.frame_grid = pg.PlotDataItem(pen=pg.mkPen((255, 255, 255, 45), width=1), connect="pairs")
        self.view.addItem(self.frame_grid)
        self.view.getViewBox().sigXRangeChanged.connect(lambda *_: self._draw_frame_grid())
        layout.addWidget(self.view, 1)
        self.info = QLabel("computing...")
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        buttons = QHBoxLayout()
        self.save_matrix = QPushButton("Export this window (NPY)...")
        self.save_matrix.clicked.connect(lambda: self._export(False))
        self.save_patches = QPushButton("Export its patches (NPY)...")
        self.save_patches.clicked.connect(lambda: self._export(True))
        self.save_all = QPushButton("")
        self.save_all.clicked.connect(self._export_all)
        for button in (self.save_matrix, self.save_patches, self.save_all):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.hover = QLabel("")
        self.status = QLabel("")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setWordWrap(True)
        layout.addWidget(self.hover)
        layout.addWidget(self.status)
        self.view.scene().sigMouseMoved.connect(self._on_move)
        self._placing = False  # the range is being set from here, not by the user
        self._keep_range = False  # set by a preset switch: keep the view's range
        # Only the user's own zoom and pan (wheel, drag, keys) lead the main view; the
        # ranges this dialog sets itself (the first 0-1, each new window) do not.
        self.view.getViewBox().sigRangeChangedManually.connect(self._on_user_range)
        self._describe()
        self._update_nav()
        self.resize(1100, 520)

    # -- the front end --------------------------------------------------------
    def _describe(self) -> None:
        fe = self.front_end
        shape = f"{fe.n_rows} x {fe.target_length}" if fe.target_length else f"{fe.n_rows} mel"
        self.setWindowTitle(f"As a model sees it: {fe.name} ({shape})")
        self.pipeline.setText(f"{fe.description}.  Reference: {fe.reference}")
        self.save_patches.setVisible(fe.kind == "ast")
        n = len(self.windows)
        self.save_all.setText(f"Export {'the window' if n == 1 else f'all {n} windows'} (NPY + JSON)...")
        self.save_all.setToolTip(
            f"Every model input of the range as one (windows, {fe.n_rows}, columns) float32 NPY, with a JSON "
            "sidecar naming the preset, its reference, every parameter and each window's start, end and valid columns"
        )

    def _on_preset(self, name: str) -> None:
        if name and name != self.front_end.name:
            self.presetChanged.emit(name)

    def set_windows(self, preset: str, windows: list[tuple[float, float]]) -> None:
        """Show ``preset``'s windows (the owner then computes window 0)."""
        self.front_end = front_end(preset)
        with QSignalBlocker(self.preset):
            self.preset.setCurrentText(self.front_end.name)
        self.windows = list(windows)
        self.index = 0
        self.data = None
        self._keep_range = True  # the user's time range stays shared with the main view
        self.info.setText("computing...")
        self.hover.setText("")
        self._describe()
        self._update_nav()

    # -- windows ------------------------------------------------------------
    def go(self, index: int) -> None:
        """Ask for window ``index`` (ignored outside ``0 .. len(windows) - 1``)."""
        if 0 <= index < len(self.windows) and index != self.index:
            self.index = index
            self._update_nav()
            self.info.setText("computing...")
            self.windowRequested.emit(index)

    def show_window(self, index: int, data: ModelInput) -> None:
        """Draw window ``index``'s input (dropped if another window or preset was asked for meanwhile)."""
        if index != self.index or data.front_end.name != self.front_end.name:
            return
        self.data = data
        self.front_end = data.front_end
        self.t0 = data.t0
        self.features, self.patches, self.grid = data.features, data.patches, data.grid
        n_rows, n_cols = self.features.shape
        start, end = self._columns = data.column_edges()
        # Row-major (panel.py): rows are the image's y, columns its x, placed on the file's time axis.
        # Values without a log (torchaudio's power) are drawn in dB to be readable; hovering gives the value.
        linear = data.front_end.log == "none"
        shown = 10.0 * np.log10(np.maximum(self.features, 1e-10)) if linear else self.features
        low, high = float(shown.min()), float(shown.max())
        self.image.setImage(shown, autoLevels=False, levels=(low, high if high > low else low + 1.0))
        self.image.setRect(QRectF(start, 0, end - start, n_rows))
        self._draw_grid()
        pad_at = self.column_time(data.n_frames)
        self.padding_line.setPos(pad_at)
        self.padding_line.setVisible(data.n_frames < n_cols)
        fe = data.front_end
        window = self.windows[self.index] if self.windows else (data.t0, data.t1)
        self.window_region.setRegion((start, end))
        self.window_region.setVisible(fe.target_length is not None)
        if self._keep_range:  # another preset over the same stretch: the shared range stays
            self._keep_range = False
        else:
            self._place(start, end)  # the whole input; the main view follows the user's zoom, not this
        self._draw_frame_grid()
        self.view.setYRange(0, n_rows, padding=0)
        padding = (
            f"; columns {data.n_frames}-{n_cols - 1} (after the dashed line) are the reference's padding"
            if data.n_frames < n_cols
            else ""
        )
        resampled = f"resampled to {fe.require_sr()} Hz (soxr HQ)"
        patches = (
            f"; {self.grid[0]} x {self.grid[1]} = {self.patches.shape[0]} patches of 16 x 16, stride 10 (overlap 6)"
            if fe.kind == "ast"
            else ""
        )
        drawn = "; drawn in dB (10 log10), the matrix holds the mel values" if linear else ""
        self.info.setText(
            f"{n_rows} x {n_cols}{drawn}: {data.n_frames} frames of audio, {data.t0:.3f}-{data.t1:.3f} s "
            f"(window {window[0]:.2f}-{window[1]:.2f} s), {resampled}, a column every "
            f"{1000 * fe.hop_length / fe.require_sr():g} ms{patches}{padding}"
        )

    def _place(self, t0: float, t1: float) -> None:
        self._placing = True
        try:
            self.view.setXRange(t0, t1, padding=0)
        finally:
            self._placing = False

    def follow_range(self, t0: float, t1: float) -> None:
        """The main view's time range (s): shown here too (without echoing back)."""
        (a, b), _ = self.view.getViewBox().viewRange()
        if abs(a - t0) > 1e-9 or abs(b - t1) > 1e-9:
            self._place(t0, t1)

    def _on_user_range(self, _mask: object) -> None:
        if not self._placing:
            (t0, t1), _ = self.view.getViewBox().viewRange()
            self.rangeEdited.emit(float(t0), float(t1))

    def column_time(self, column: float) -> float:
        """Where column ``column`` starts, in the file's seconds (columns are one hop wide)."""
        start, end = self._columns
        n = max(1, self.features.shape[1])
        return start + (end - start) * column / n

    def column_at(self, t: float) -> int:
        """The column under time ``t`` (s; may be outside the matrix)."""
        start, end = self._columns
        n = max(1, self.features.shape[1])
        return int(np.floor((t - start) / (end - start) * n))

    #: Most columns in view for which the frame grid is drawn.
    FRAME_GRID_MAX = 120

    def _draw_frame_grid(self) -> None:
        """Column edges as vertical lines when at most :data:`FRAME_GRID_MAX` columns are in view, else none."""
        (t0, t1), _ = self.view.getViewBox().viewRange()
        first, last = max(0, self.column_at(t0)), min(self.features.shape[1], self.column_at(t1) + 1)
        if self.data is None or last - first > self.FRAME_GRID_MAX or last <= first:
            self.frame_grid.setData([], [])
            return
        xs = np.repeat([self.column_time(c) for c in range(first, last + 1)], 2)
        ys = np.tile([0.0, float(self.features.shape[0])], last - first + 1)
        self.frame_grid.setData(xs, ys)

    def _draw_grid(self) -> None:
        """AST's patch grid: patch starts every 10 cells (patches 16 wide overlap by 6)."""
        for line in self.grid_lines:
            self.view.removeItem(line)
        self.grid_lines = []
        if self.front_end.kind != "ast":
            return
        n_freq, n_time = self.grid
        for i in range(n_freq + 1):
            self.grid_lines.append(pg.InfiniteLine(pos=10 * i, angle=0, pen=self.grid_pen))
        for j in range(n_time + 1):
            self.grid_lines.append(pg.InfiniteLine(pos=self.column_time(10 * j), angle=90, pen=self.grid_pen))
        for line in self.grid_lines:
            self.view.addItem(line)

    def set_cursor(self, t: float | None) -> None:
        """The main view's pointer time (s), drawn as a line; None hides it."""
        self.cursor_line.setVisible(t is not None)
        if t is not None:
            self.cursor_line.setPos(t)

    def show_status(self, text: str) -> None:
        """A line under the buttons: where an export wrote, or why it failed."""
        self.status.setText(text)

    def patch_at(self, row: int, frame: int) -> int | None:
        return patch_index_at(row, frame, self.grid) if self.front_end.kind == "ast" else None

    def _update_nav(self) -> None:
        n = len(self.windows)
        if n:
            a, b = self.windows[self.index]
            self.where.setText(f"window {self.index + 1} of {n}: {a:.2f}-{b:.2f} s")
        self.previous.setEnabled(self.index > 0)
        self.next.setEnabled(self.index < n - 1)
        for button in (self.previous, self.next):
            button.setVisible(n > 1)

    def _on_move(self, pos) -> None:
        p = self.view.getViewBox().mapSceneToView(pos)
        n_rows, n_cols = self.features.shape
        row, column = int(np.floor(p.y())), self.column_at(p.x())
        if not (0 <= row < n_rows and 0 <= column < n_cols) or self.data is None:
            self.hover.setText("")
            return
        centres, _ = self.front_end.row_frequencies()
        cell = (
            f"mel band {row} ({centres[row]:.0f} Hz), frame {column} at {p.x():.3f} s: {self.features[row, column]:.4g}"
        )
        if self.front_end.kind != "ast":
            self.hover.setText(cell)
            return
        index = self.patch_at(row, column)
        if index is None:
            self.hover.setText(f"{cell}; in no patch")
            return
        i, j = divmod(index, self.grid[1])
        self.hover.setText(f"patch {index} (row {i}, column {j}); {cell}")
        self.patchHovered.emit(index)

    def export(self, path: str | Path, *, patches: bool = False) -> None:
        """Write this window's matrix (or its patches) as NPY, atomically.

        Raises
        ------
        OSError
            ``path`` is a protected file (the open one), or it cannot be written.
        """
        clash = output_clash(self.protected, [path])
        if clash:
            raise OSError(clash)
        array = self.patches if patches else self.features

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.save(f, array)

        atomic_write(path, write)

    def _export(self, patches: bool) -> None:
        name = f"{self.front_end.name}_{'patches' if patches else 'input'}.npy"
        path, _ = QFileDialog.getSaveFileName(self, "Export", os.path.join(self.directory, name), "NumPy array (*.npy)")
        if path:
            path = path if path.endswith(".npy") else path + ".npy"
            try:
                self.export(path, patches=patches)
            except OSError as exc:
                QMessageBox.warning(self, "Export", str(exc.strerror or exc))
                return
            self.show_status(f"wrote {path}")

    def _export_all(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export all windows",
            os.path.join(self.directory, f"{self.front_end.name}_windows.npy"),
            "NumPy array (*.npy)",
        )
        if path:
            path = path if path.endswith(".npy") else path + ".npy"
            clash = output_clash(self.protected, [path, str(Path(path).with_suffix(".json"))])
            if clash:
                QMessageBox.warning(self, "Export", clash)
                return
            self.exportAllRequested.emit(path)
