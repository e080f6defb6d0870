"""Analysis tools around the main view: spectrum slice, pitch track, "as a model sees it"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
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

    def show_slice(self, result: Slice, params: SpectrogramParams) -> None:
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
        top = ", ".join(f"{p.frequency_hz:.2f} Hz ({p.level_db:.1f} dB)" for p in result.peaks[:3])
        self.caption.setText(f"{where}   peaks: {top or 'none'}")
        # Every peak, copyable: the caption's tooltip and its selectable text.
        self.caption.setToolTip(
            "\n".join(f"{p.frequency_hz:.2f} Hz   {p.level_db:.1f} dBFS" for p in result.peaks) or "no peaks"
        )

    def _relayout(self, *_args: object) -> None:
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
    which the viewer runs as a job) from up to 10.24 s.
    Hovering shows the index of the (first) patch under the mouse.
    """

    patchHovered = Signal(int)

    def __init__(
        self,
        data: ModelInput,
        parent: QWidget | None = None,
        *,
        colormap: str = "magma",
        protected: list[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.protected = list(protected or [])  # files an export must never replace (the open file)
        self.setWindowTitle("As a model sees it: AST input (128 mel x 1024 frames)")
        self.t0 = data.t0
        self.features, self.patches, self.grid = data.features, data.patches, data.grid
        layout = QVBoxLayout(self)
        self.view = pg.PlotWidget()
        self.view.setLabel("bottom", "frame (10 ms)")
        self.view.setLabel("left", "mel band")
        self.image = pg.ImageItem(self.features)
        lut = colormap_lut(colormap)
        self.image.setLookupTable(lut)
        self.image.setLevels((float(self.features.min()), float(self.features.max())))
        self.view.addItem(self.image)
        self.image.setRect(QRectF(0, 0, self.features.shape[1], self.features.shape[0]))
        pen = pg.mkPen((255, 255, 255, 60), width=1)
        n_freq, n_time = self.grid
        # Patch starts every 10 cells; patches are 16 wide, so they overlap by 6.
        for i in range(n_freq + 1):
            self.view.addItem(pg.InfiniteLine(pos=10 * i, angle=0, pen=pen))
        for j in range(0, n_time + 1, 1):
            self.view.addItem(pg.InfiniteLine(pos=10 * j, angle=90, pen=pen))
        self.view.setXRange(0, 1024, padding=0)
        self.view.setYRange(0, 128, padding=0)
        layout.addWidget(self.view, 1)
        self.info = QLabel(
            f"from {self.t0:.2f} s, resampled to {AST_SR} Hz (soxr HQ); {self.grid[0]} x {self.grid[1]} = "
            f"{self.patches.shape[0]} patches of 16 x 16, stride 10 (overlap 6)"
        )
        layout.addWidget(self.info)
        buttons = QHBoxLayout()
        self.save_matrix = QPushButton("Export matrix (NPY)...")
        self.save_matrix.clicked.connect(lambda: self._export(False))
        self.save_patches = QPushButton("Export patches (NPY)...")
        self.save_patches.clicked.connect(lambda: self._export(True))
        buttons.addWidget(self.save_matrix)
        buttons.addWidget(self.save_patches)
        layout.addLayout(buttons)
        self.hover = QLabel("")
        layout.addWidget(self.hover)
        self.view.scene().sigMouseMoved.connect(self._on_move)
        self.resize(1100, 420)

    def patch_at(self, row: int, frame: int) -> int | None:
        return patch_index_at(row, frame, self.grid)

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
        """Write the matrix (or the patches) as NPY, atomically.

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
        path, _ = QFileDialog.getSaveFileName(self, "Export", name, "NumPy array (*.npy)")
        if path:
            try:
                self.export(path if path.endswith(".npy") else path + ".npy", patches=patches)
            except OSError as exc:
                QMessageBox.warning(self, "Export", str(exc.strerror or exc))
