"""Analysis tools around the main view: spectrum slice, pitch track, "as a model sees it"."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QComboBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from spectroview._atomic import atomic_write
from spectroview.audio.files import FileSource
from spectroview.audio.resample import resample
from spectroview.dsp import Peak, SpectrogramParams, find_peaks, stft_power, yin
from spectroview.dsp.ast import AST_SR, ast_features, ast_patches, patch_index_at
from spectroview.dsp.mel import row_projection
from spectroview.render.colormaps import colormap_lut
from spectroview.session.axes import FrequencyMapping
from spectroview.session.view import full_scale_reference, levels_dbfs
from spectroview.ui.panel import FrequencyAxis

__all__ = ["ModelView", "SpectrumSlice", "pitch_track", "slice_spectrum"]

#: Longest stretch averaged for the slice of a selection (s): longer selections use their start.
SLICE_MAX_SECONDS = 60.0
#: Longest view the pitch track is computed for (s).
PITCH_MAX_SECONDS = 120.0


@dataclasses.dataclass(frozen=True)
class Slice:
    """One spectrum: levels on the view's scale, and refined peaks from the linear spectrum."""

    rows_db: np.ndarray  # (n_rows,) dBFS on params.scale
    peaks: list[Peak]
    t0: float
    t1: float
    frames: int


def slice_spectrum(source: FileSource, params: SpectrogramParams, t0: float, t1: float | None = None) -> Slice:
    """The spectrum at ``t0`` (one frame), or averaged (power) over ``[t0, t1]`` s.

    Levels are dBFS on the view's scale; peaks are found and refined on the
    linear power spectrum (sub-bin accuracy), whatever the scale.
    """
    sr = params.require_sr()
    n = source.info.frames
    half = params.n_fft // 2
    if t1 is None or t1 - t0 < params.hop / sr:
        centre = round(t0 * sr)
        start, stop = centre - half, centre - half + params.n_fft
    else:
        t1 = min(t1, t0 + SLICE_MAX_SECONDS)
        start, stop = round(t0 * sr) - half, round(t1 * sr) + half
    x = np.zeros(stop - start, np.float32)
    lo, hi = max(0, start), min(n, stop)
    if hi > lo:
        x[lo - start : hi - start] = source.read(lo, hi)
    # One STFT: the peaks need the linear spectrum, and the view's rows are
    # its projection (mel or log), as the engine computes them.
    linear = stft_power(
        x, n_fft=params.n_fft, hop_length=params.hop, win_length=params.win, window=params.window, center=False
    )
    power = linear.mean(axis=1)
    values = linear if params.power == 2.0 else linear ** (params.power / 2.0)
    projection = row_projection(params)
    rows = (values if projection is None else projection @ values).mean(axis=1)
    reference = full_scale_reference(params)
    rows_db = levels_dbfs(rows[:, None], reference, params.power)[:, 0]
    sine = full_scale_reference(dataclasses.replace(params, scale="linear"))[0]
    peaks = find_peaks(
        power / sine, sr=sr, n_fft=params.n_fft, max_peaks=8, min_prominence_db=10.0, floor_db=-100.0,
        window=params.window, win_length=params.win,
    )  # fmt: skip
    return Slice(rows_db=rows_db, peaks=peaks, t0=t0, t1=t0 if t1 is None else t1, frames=linear.shape[1])


def pitch_track(source: FileSource, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """YIN f0 over ``[t0, t1]`` s: times (s) and f0 (Hz, NaN unvoiced)."""
    sr = source.info.samplerate
    lo, hi = max(0, math.floor(t0 * sr)), min(source.info.frames, math.ceil(t1 * sr))
    if hi - lo < sr // 20:
        return np.zeros(0), np.zeros(0)
    track = yin(source.read(lo, hi), sr=sr, fmin=50.0, fmax=2000.0)
    return track.times + lo / sr, track.f0


class SpectrumSlice(QWidget):
    """Spectrum (dBFS against frequency, on the main view's scale) with labelled peaks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.mode = QComboBox()
        self.mode.addItems(["at the cursor", "at the playhead", "average of the selection"])
        self.mode.setToolTip(
            "Which spectrum is shown: under the mouse, at the playhead while playing, or averaged over the selected time range"
        )
        layout.addWidget(self.mode)
        self.axis = FrequencyAxis("bottom")
        self.plot = pg.PlotWidget(axisItems={"bottom": self.axis})
        self.plot.setMinimumHeight(80)
        self.plot.setLabel("left", "level", units="dBFS")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setYRange(-100, 0)
        self.plot.setMouseEnabled(x=False, y=False)
        self.curve = self.plot.plot(pen=pg.mkPen((240, 200, 90), width=1))
        layout.addWidget(self.plot, 1)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.labels: list[pg.TextItem] = []
        self.mapping: FrequencyMapping | None = None
        self.current: Slice | None = None

    def show_slice(self, result: Slice, params: SpectrogramParams) -> None:
        self.current = result
        self.mapping = FrequencyMapping.from_params(params)
        self.axis.mapping = self.mapping
        rows = result.rows_db.size
        self.curve.setData(np.arange(rows) + 0.5, result.rows_db)
        self.plot.setXRange(0, rows, padding=0)
        for label in self.labels:
            self.plot.removeItem(label)
        self.labels = []
        for peak in result.peaks[:5]:
            x = float(self.mapping.hz_to_y(peak.frequency_hz))
            label = pg.TextItem(f"{peak.frequency_hz:.2f} Hz", anchor=(0.5, 1.0), color=(255, 255, 255))
            label.setPos(x, float(result.rows_db[min(rows - 1, max(0, int(x)))]))
            self.plot.addItem(label)
            self.labels.append(label)
        where = (
            f"{result.t0:.3f} s"
            if result.t1 == result.t0
            else f"{result.t0:.3f}-{result.t1:.3f} s ({result.frames} frames)"
        )
        top = ", ".join(f"{p.frequency_hz:.2f} Hz ({p.level_db:.1f} dB)" for p in result.peaks[:3])
        self.caption.setText(f"{where}   peaks: {top or 'none'}")


class ModelView(QDialog):
    """The Audio Spectrogram Transformer's input: its log-mel image and the 16x16 patch grid.

    Computed exactly as the AST reference code does (see
    :mod:`spectroview.dsp.ast`) from up to 10.24 s starting at ``t0``.
    Hovering shows the index of the (first) patch under the mouse.
    """

    patchHovered = Signal(int)

    def __init__(
        self, source: FileSource, t0: float, parent: QWidget | None = None, *, colormap: str = "magma"
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("As a model sees it: AST input (128 mel x 1024 frames)")
        sr = source.info.samplerate
        lo = max(0, round(t0 * sr))
        hi = min(source.info.frames, lo + round(10.24 * sr) + sr // 50)
        self.t0 = lo / sr
        y16 = resample(source.read(lo, hi), orig_sr=sr, target_sr=AST_SR)
        self.features = ast_features(y16, sr=AST_SR)
        self.patches, self.grid = ast_patches(self.features)
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
        array = self.patches if patches else self.features
        atomic_write(path, lambda tmp: np.save(open(tmp, "wb"), array))

    def _export(self, patches: bool) -> None:
        name = "ast_patches.npy" if patches else "ast_input.npy"
        path, _ = QFileDialog.getSaveFileName(self, "Export", name, "NumPy array (*.npy)")
        if path:
            self.export(path if path.endswith(".npy") else path + ".npy", patches=patches)
