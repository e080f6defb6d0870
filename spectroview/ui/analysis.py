"""Analysis tools around the main view: spectrum slice, pitch track, "as a model sees it"."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
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
from spectroview.dsp.ast import AST_SR, patch_index_at
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
    """The Audio Spectrogram Transformer's input: its log-mel image and the 16x16 patch grid.

    Computed exactly as the AST reference code does (see
    :mod:`spectroview.dsp.ast`, :func:`spectroview.session.analysis.model_input`,
    which the viewer runs as a job).  A range longer than one model input
    gives several (:func:`spectroview.session.analysis.model_windows`), browsed
    with Previous / Next (Page Up / Page Down); each is computed when shown.
    Hovering shows the index of the (first) patch under the mouse.

    Signals
    -------
    windowRequested(int)
        Window ``k`` should be computed (the owner answers with :meth:`show_window`).
    exportAllRequested(str)
        Every window should be written to this NPY path (and its JSON sidecar).
    patchHovered(int)
    """

    patchHovered = Signal(int)
    windowRequested = Signal(int)
    exportAllRequested = Signal(str)

    def __init__(
        self,
        windows: list[tuple[float, float]],
        parent: QWidget | None = None,
        *,
        colormap: str = "magma",
        protected: list[str] | None = None,
        directory: str = "",
    ) -> None:
        super().__init__(parent)
        self.protected = list(protected or [])  # files an export must never replace (the open file)
        self.directory = directory  # where the export dialogs open (the window's last folder)
        self.setWindowTitle("As a model sees it: AST input (128 mel x 1024 frames)")
        self.windows = list(windows)
        self.index = 0
        self.data: ModelInput | None = None
        self.features = np.zeros((128, 1024), np.float32)
        self.patches = np.zeros((0, 16, 16), np.float32)
        self.grid = (0, 0)
        self.t0 = self.windows[0][0] if self.windows else 0.0
        layout = QVBoxLayout(self)
        nav = QHBoxLayout()
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
        nav.addWidget(self.previous)
        nav.addWidget(self.where, 1)
        nav.addWidget(self.next)
        layout.addLayout(nav)
        self.view = pg.PlotWidget()
        self.view.setLabel("bottom", "frame (10 ms)")
        self.view.setLabel("left", "mel band")
        self.view.getPlotItem().hideButtons()
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem(self.features)
        self.image.setLookupTable(colormap_lut(colormap))
        self.view.addItem(self.image)
        self.image.setRect(QRectF(0, 0, 1024, 128))
        pen = pg.mkPen((255, 255, 255, 60), width=1)
        # Patch starts every 10 cells; patches are 16 wide, so they overlap by 6.
        self.grid_lines: list[pg.InfiniteLine] = []
        for i in range(13):
            self.grid_lines.append(pg.InfiniteLine(pos=10 * i, angle=0, pen=pen))
        for j in range(102):
            self.grid_lines.append(pg.InfiniteLine(pos=10 * j, angle=90, pen=pen))
        for line in self.grid_lines:
            self.view.addItem(line)
        # Where the audio ends and the reference's padding begins.
        self.padding_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((90, 200, 255), width=2, style=Qt.PenStyle.DashLine))
        self.padding_line.hide()
        self.view.addItem(self.padding_line)
        self.view.setXRange(0, 1024, padding=0)
        self.view.setYRange(0, 128, padding=0)
        layout.addWidget(self.view, 1)
        self.info = QLabel("computing...")
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        buttons = QHBoxLayout()
        self.save_matrix = QPushButton("Export this window (NPY)...")
        self.save_matrix.clicked.connect(lambda: self._export(False))
        self.save_patches = QPushButton("Export its patches (NPY)...")
        self.save_patches.clicked.connect(lambda: self._export(True))
        self.save_all = QPushButton(f"Export all {len(self.windows)} windows (NPY + JSON)...")
        self.save_all.setToolTip(
            "Every model input of the range as one (windows, 128, 1024) float32 NPY, with a JSON sidecar "
            "naming the preset, every constant and each window's start, end and valid columns"
        )
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
        self._update_nav()
        self.resize(1100, 460)

    def go(self, index: int) -> None:
        """Ask for window ``index`` (ignored outside ``0 .. len(windows) - 1``)."""
        if 0 <= index < len(self.windows) and index != self.index:
            self.index = index
            self._update_nav()
            self.info.setText("computing...")
            self.windowRequested.emit(index)

    def show_window(self, index: int, data: ModelInput) -> None:
        """Draw window ``index``'s input (dropped if another window was asked for meanwhile)."""
        if index != self.index:
            return
        self.data = data
        self.t0 = data.t0
        self.features, self.patches, self.grid = data.features, data.patches, data.grid
        self.image.setImage(
            self.features, autoLevels=False, levels=(float(self.features.min()), float(self.features.max()))
        )
        self.image.setRect(QRectF(0, 0, self.features.shape[1], self.features.shape[0]))
        self.padding_line.setPos(data.n_frames)
        self.padding_line.setVisible(data.n_frames < self.features.shape[1])
        pad = self.features.shape[1] - data.n_frames
        padding = f"; frames {data.n_frames}-1023 are padding (dashed line)" if pad > 0 else ""
        self.info.setText(
            f"{data.n_frames} frames of audio, {data.t0:.3f}-{data.t1:.3f} s, resampled to {AST_SR} Hz (soxr HQ); {self.grid[0]} x {self.grid[1]} = "
            f"{self.patches.shape[0]} patches of 16 x 16, stride 10 (overlap 6){padding}"
        )

    def show_status(self, text: str) -> None:
        """A line under the buttons: where an export wrote, or why it failed."""
        self.status.setText(text)

    def patch_at(self, row: int, frame: int) -> int | None:
        return patch_index_at(row, frame, self.grid)

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
        row, frame = int(p.y()), int(p.x())
        index = self.patch_at(row, frame) if 0 <= row < 128 and 0 <= frame < 1024 else None
        if index is None:
            self.hover.setText(
                f"mel band {row}, frame {frame}: in no patch" if 0 <= row < 128 and 0 <= frame < 1024 else ""
            )
            return
        i, j = divmod(index, self.grid[1])
        self.hover.setText(f"patch {index} (row {i}, column {j}); mel band {row}, frame {frame}")
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
        name = "ast_patches.npy" if patches else "ast_input.npy"
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
            self, "Export all windows", os.path.join(self.directory, "ast_windows.npy"), "NumPy array (*.npy)"
        )
        if path:
            path = path if path.endswith(".npy") else path + ".npy"
            clash = output_clash(self.protected, [path, str(Path(path).with_suffix(".json"))])
            if clash:
                QMessageBox.warning(self, "Export", clash)
                return
            self.exportAllRequested.emit(path)
