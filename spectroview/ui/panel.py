"""The plotting area: waveform strip, spectrogram with honest axes and colour bar, overview strip.

Coordinates: x is time in seconds everywhere; in the spectrogram, y is the
*row coordinate* (row ``r`` of the image covers ``[r, r + 1)``), and the
frequency axis labels it with the true frequencies through
:class:`~spectroview.session.axes.FrequencyMapping`, so linear, log and mel
scales all read in Hz.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsView

from spectroview.dsp import SpectrogramParams
from spectroview.render.colormaps import colormap_lut
from spectroview.session.axes import FrequencyMapping, format_time, time_axis_label, time_ticks
from spectroview.session.view import ViewImage

__all__ = ["SpectrogramPanel"]

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


class RingImageItem(pg.GraphicsObject):
    """The live picture, converted to colours one new column at a time.

    pyqtgraph's ImageItem converts its whole array to colours on every
    ``setImage``, and Qt converts an indexed image to RGB on every paint: a
    whole picture per frame.  Here the live engine's ring of colour indices
    (:class:`~spectroview.session.live.LiveView`, mirrored: column ``c`` at
    ``c % n`` and ``n + c % n``) has a twin ring of 32-bit RGB pixels, in
    which only the columns that arrived since the last frame are looked up;
    a QImage wraps the twin's memory (no copy), and a frame moves the source
    rectangle that Qt scales to the screen (RGB32 scales without a
    conversion).

    Item coordinates are the image's: column ``i`` of the window shown spans
    ``[i, i + 1)``, row ``r`` spans ``[r, r + 1)`` (row 0 at the bottom in
    the panel's view box).
    """

    def __init__(self) -> None:
        super().__init__()
        self.ring: np.ndarray | None = None  # the engine's indices (rows, m) uint8
        self.pixels: np.ndarray | None = None  # their colours (rows, m) uint32 0xffRRGGBB
        self.qimage: QImage | None = None
        self.start = 0
        self.n_cols = 0
        #: Columns looked up so far, whole-ring conversions included (a test's window on the work done).
        self.columns_converted = 0
        self._done = 0  # the engine's column count at the last lookup
        self._table = np.zeros(256, np.uint32)

    def set_lut(self, lut: np.ndarray) -> None:
        """The colour table: ``lut`` (256, 3) uint8 RGB, index 0 for the floor."""
        rgb = lut[:, :3].astype(np.uint32)
        self._table = (np.uint32(0xFF000000) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).astype(np.uint32)
        if self.ring is not None:
            self._convert_all()

    def set_window(self, ring: np.ndarray, start: int, n_cols: int, columns_done: int) -> None:
        """Show columns ``[start, start + n_cols)`` of ``ring`` ((rows, m) uint8), whose engine
        has computed ``columns_done`` columns in all; only those new since the last call are converted."""
        if ring is not self.ring or n_cols != self.n_cols:
            if ring.dtype != np.uint8 or ring.ndim != 2:
                raise ValueError(f"ring: {ring.dtype} {ring.shape}, expected 2-D uint8")
            self.prepareGeometryChange()
            self.ring, self.n_cols, self._done = ring, int(n_cols), int(columns_done)
            self._convert_all()
        elif columns_done != self._done:
            new, self._done = columns_done - self._done, int(columns_done)
            if ring.shape[1] != 2 * n_cols or not 0 < new < n_cols:
                self._convert_all()  # not the mirrored ring, or a jump (new parameters)
            else:
                where = np.arange(columns_done - new, columns_done) % n_cols
                where = np.concatenate([where, where + n_cols])  # both halves of the mirror
                self.pixels[:, where] = self._table[ring[:, where]]  # type: ignore[index]
                self.columns_converted += new
        self.start = int(start)
        self.update()

    def _convert_all(self) -> None:
        assert self.ring is not None
        self.pixels = np.ascontiguousarray(self._table[self.ring])
        rows, width = self.pixels.shape
        self.qimage = QImage(self.pixels.data, width, rows, self.pixels.strides[0], QImage.Format.Format_RGB32)
        self.columns_converted += width
        self.update()

    def set_rect(self, rect: QRectF) -> None:
        """Place the window shown on ``rect`` (view coordinates), as ImageItem.setRect."""
        if self.ring is None or not self.n_cols:
            return
        transform = QTransform()
        transform.translate(rect.left(), rect.top())
        transform.scale(rect.width() / self.n_cols, rect.height() / self.ring.shape[0])
        self.setTransform(transform)

    def clear(self) -> None:
        self.prepareGeometryChange()
        self.ring = self.pixels = self.qimage = None
        self.n_cols = 0
        self.update()

    def boundingRect(self) -> QRectF:
        rows = 0 if self.ring is None else self.ring.shape[0]
        return QRectF(0.0, 0.0, float(self.n_cols), float(rows))

    def paint(self, painter: QPainter, *_: object) -> None:
        if self.qimage is None or not self.n_cols:
            return
        rows = float(self.qimage.height())
        target = QRectF(0.0, 0.0, float(self.n_cols), rows)
        painter.drawImage(target, self.qimage, QRectF(float(self.start), 0.0, float(self.n_cols), rows))


def _same_wave(a: object, b: ViewImage) -> bool:
    """Whether ``a`` is an image with ``b``'s waveform envelope (new parameters, same samples):
    its curves and their fill (15 ms to rebuild at 1920 px) stay as they are."""
    return (
        isinstance(a, ViewImage)
        and (a.wave_x0, a.wave_x1) == (b.wave_x0, b.wave_x1)
        and np.array_equal(a.wave_min, b.wave_min)
        and np.array_equal(a.wave_max, b.wave_max)
    )


def _drag_span(view: pg.ViewBox, event) -> tuple[float, float]:
    """The time range (s) a drag has covered so far, in ``view``'s coordinates, lower end first."""
    a = view.mapSceneToView(event.buttonDownScenePos()).x()
    b = view.mapSceneToView(event.scenePos()).x()
    return min(a, b), max(a, b)


class TimeAxis(pg.AxisItem):
    """Seconds, or m:ss / h:mm:ss for long spans.  Dragging along it selects a time range."""

    selectionDragged = Signal(float, float, bool)  # t_a, t_b, finished

    def mouseDragEvent(self, event):
        view = self.linkedView()
        if view is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(event)
            return
        event.accept()
        self.selectionDragged.emit(*_drag_span(view, event), event.isFinish())

    def tickValues(self, minVal: float, maxVal: float, size: float):
        ticks = time_ticks(minVal, maxVal, max_ticks=max(5, int(size / 90)))
        self._labels = {round(t, 9): label for t, label in ticks}
        return [(0, [t for t, _ in ticks])]

    def tickStrings(self, values, scale, spacing):
        labels = getattr(self, "_labels", {})
        return [labels.get(round(v, 9), format_time(v)) for v in values]


class FrequencyAxis(pg.AxisItem):
    """Row coordinate labelled with true frequencies on every scale."""

    mapping: FrequencyMapping | None = None

    def tickValues(self, minVal: float, maxVal: float, size: float):
        if self.mapping is None:
            return []
        levels = self.mapping.tick_levels(minVal, maxVal, max_major=max(4, int(size / 40)))
        self._labels = {round(y, 9): label for level in levels for y, label in level}
        return [(float(i + 1), [y for y, _ in level]) for i, level in enumerate(levels)]

    def tickStrings(self, values, scale, spacing):
        labels = getattr(self, "_labels", {})
        return [labels.get(round(v, 9), "") for v in values]


class _ProductMenu:
    """A view box whose right-click asks for the product's menu instead of pyqtgraph's own.

    pyqtgraph's menu (View All, Mouse Mode, Plot Options, Export) speaks of
    plots, not of sound; :class:`SpectrogramPanel` emits ``contextMenuRequested``
    and the window builds the menu (play from here, select, copy readout,
    export, fit).
    """

    def raiseContextMenu(self, ev):
        self.contextRequested.emit(self.mapSceneToView(ev.scenePos()), ev.screenPos().toPoint())


#: How far one wheel notch (120 units) scrolls in time with Shift+wheel or a sideways swipe: a tenth of the view.
WHEEL_PAN_FRACTION = 0.1


def _wheel_pans(ev) -> bool:
    """Shift+wheel or a horizontal wheel (a sideways swipe) scrolls time, as in Audacity; else the wheel zooms."""
    return bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier) or ev.orientation() == Qt.Orientation.Horizontal


def _pan_by_wheel(view: pg.ViewBox, ev) -> None:
    (x0, x1), _ = view.viewRange()
    view.translateBy(x=-ev.delta() / 120.0 * WHEEL_PAN_FRACTION * (x1 - x0))  # wheel down / swipe: later
    ev.accept()


class _TimeViewBox(_ProductMenu, pg.ViewBox):
    """Wheel zooms time; Ctrl+wheel zooms frequency; Shift+wheel scrolls time.  Drag pans; Shift+drag selects."""

    contextRequested = Signal(object, object)  # view point (QPointF), screen point (QPoint)
    selectionDragged = Signal(float, float, bool)  # t_a, t_b, finished

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            ev.accept()
            self.selectionDragged.emit(*_drag_span(self, ev), ev.isFinish())
            return
        super().mouseDragEvent(ev, axis)

    def wheelEvent(self, ev, axis=None):
        if _wheel_pans(ev):
            _pan_by_wheel(self, ev)
        elif ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis=1)
        else:
            super().wheelEvent(ev, axis=0)


class _SelectViewBox(_ProductMenu, pg.ViewBox):
    """The waveform strip: dragging selects a time range (for playback)."""

    selectionDragged = Signal(float, float, bool)  # t_a, t_b, finished
    contextRequested = Signal(object, object)  # view point (QPointF), screen point (QPoint)

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        self.selectionDragged.emit(*_drag_span(self, ev), ev.isFinish())

    def wheelEvent(self, ev, axis=None):
        if _wheel_pans(ev):
            _pan_by_wheel(self, ev)
        else:
            super().wheelEvent(ev, axis=0)


#: Height of the waveform and overview strips (px): 15 % and 10 % of the panel, within these bounds,
#: so a small window still gives the spectrogram most of its height.
WAVE_HEIGHT = (28, 90)
OVERVIEW_HEIGHT = (20, 60)


class SpectrogramPanel(pg.GraphicsLayoutWidget):
    """Waveform, spectrogram and overview, sharing the time axis.

    Signals
    -------
    viewChanged(t0, t1, width_px)
        The visible time range or the plot width changed.
    cursorMoved(t, y)
        Mouse over the spectrogram, in (seconds, row coordinate).
    selectionChanged(t0, t1)
        A time range was selected on the waveform (t0 == t1: cleared).
    clicked(t)
        A click on the spectrogram (sets the play cursor).
    extendClicked(t)
        A Shift+click on the spectrogram (the window extends the selection to ``t``).
    contextMenuRequested(t, y, screen_pos)
        A right-click on the spectrogram or the waveform (y: row coordinate, NaN on the waveform).
    historyRequested(step)
        The mouse's back (-1) or forward (+1) button: a step through the zoom history.
    """

    viewChanged = Signal(float, float, int)
    cursorMoved = Signal(float, float)
    selectionChanged = Signal(float, float)
    clicked = Signal(float)
    contextMenuRequested = Signal(float, float, object)  # t (s), y (row coordinate), screen QPoint
    extendClicked = Signal(float)  # Shift+click at t (s): extend the selection to it
    historyRequested = Signal(int)  # -1: back, +1: forward

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(QColor(24, 24, 28))
        # Nothing here paints outside its bounding rectangle (antialiasing is
        # off), so an item's update need not spill 2 px onto its neighbours:
        # without this a live frame repainted both axes around the picture.
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.ci.layout.setSpacing(2)
        self.duration = 1.0
        self.n_rows = 1
        self.mapping: FrequencyMapping | None = None
        self.image: ViewImage | None = None

        # Waveform strip.
        self.wave_box = _SelectViewBox()
        self.wave_plot = self.addPlot(row=0, col=0, viewBox=self.wave_box, axisItems={"bottom": TimeAxis("bottom")})
        self.wave_plot.setMaximumHeight(WAVE_HEIGHT[1])
        self.wave_plot.hideAxis("bottom")
        self.wave_plot.setMouseEnabled(x=True, y=False)
        self.wave_plot.setYRange(-1, 1, padding=0.05)
        self.wave_plot.getAxis("left").setWidth(62)
        self.wave_plot.getAxis("left").setLabel("amplitude")
        # Three ticks inside the strip: labels at +-1 sat on its edges, over the spectrogram's top label.
        self.wave_plot.getAxis("left").setTicks([[(-0.5, "\u22120.5"), (0.0, "0"), (0.5, "0.5")]])
        self.wave_upper = pg.PlotCurveItem(pen=pg.mkPen((120, 190, 255), width=1))
        self.wave_lower = pg.PlotCurveItem(pen=pg.mkPen((120, 190, 255), width=1))
        self.wave_fill = pg.FillBetweenItem(self.wave_upper, self.wave_lower, brush=pg.mkBrush(120, 190, 255, 110))
        for item in (self.wave_fill, self.wave_upper, self.wave_lower):
            self.wave_plot.addItem(item)
        self.selection = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 40), movable=True)
        self.selection.setZValue(10)
        self.selection.hide()
        self.wave_plot.addItem(self.selection)
        self.wave_box.selectionDragged.connect(self._on_selection_drag)
        self.selection.sigRegionChangeFinished.connect(self._on_selection_moved)

        # Spectrogram.
        self.freq_axis = FrequencyAxis("left")
        self.freq_axis.setWidth(62)
        self.freq_axis.setLabel("frequency", units="Hz")
        self.freq_axis.enableAutoSIPrefix(False)
        self.time_axis = TimeAxis("bottom")
        self.time_axis.enableAutoSIPrefix(False)  # the ticks are seconds or m:ss, never "x0.001"
        self.time_axis.setLabel("time (s)")
        # Ticks outside the picture (toward their labels): inward ticks put both
        # axes' rectangles 5 px over the picture, so every live frame repainted them.
        for axis in (self.freq_axis, self.time_axis):
            axis.setStyle(tickLength=5)
        self.spec_box = _TimeViewBox()
        self.spec_plot = self.addPlot(
            row=1, col=0, viewBox=self.spec_box, axisItems={"left": self.freq_axis, "bottom": self.time_axis}
        )
        self.spec_plot.setMouseEnabled(x=True, y=True)
        # The selection is drawn on the spectrogram too (it is made on the waveform, by
        # Shift+drag on the spectrogram, or by dragging along the time axis).
        # A light veil: the levels inside the selection must still read as they are (the edges mark it).
        self.spec_selection = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 16), movable=False)
        self.spec_selection.setZValue(12)
        self.spec_selection.hide()
        self.spec_plot.addItem(self.spec_selection)
        self.spec_box.selectionDragged.connect(self._on_selection_drag)
        self.time_axis.selectionDragged.connect(self._on_selection_drag)
        for plot in (self.wave_plot, self.spec_plot):
            plot.hideButtons()  # pyqtgraph's "A" (auto-range) button: View > Fit Whole File does that
        self.spec_box.contextRequested.connect(lambda p, at: self.contextMenuRequested.emit(p.x(), p.y(), at))
        self.wave_box.contextRequested.connect(lambda p, at: self.contextMenuRequested.emit(p.x(), float("nan"), at))
        self.image_item = pg.ImageItem()
        self.spec_plot.addItem(self.image_item)
        self.live_item = RingImageItem()  # the live picture (see show_live)
        self.live_item.hide()
        self.spec_plot.addItem(self.live_item)
        # No colour-map menu of pyqtgraph's on the bar: a map chosen there would recolour the bar
        # and not the picture (the Colours box in the Analysis dock is the one control).
        self.colorbar = pg.ColorBarItem(
            values=(-90, 0), width=14, interactive=False, label="level (dBFS)", colorMapMenu=False
        )
        # Not linked to the image (setImageItem): a linked bar sets its levels on the image
        # whenever its own change, which turns colour indices painted with levels (0, 255)
        # into a block of the top colour.  set_colormap sets both, each as it needs.
        self.addItem(self.colorbar, row=1, col=1)
        self.wave_plot.setXLink(self.spec_plot)
        self.playhead = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((80, 255, 120), width=2))
        self.playhead.setZValue(20)
        self.playhead.hide()
        self.spec_plot.addItem(self.playhead)
        self.cursor_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((255, 255, 255, 120), width=1))
        self.cursor_line.hide()
        self.spec_plot.addItem(self.cursor_line)
        self.harmonics: list[pg.InfiniteLine] = []
        self.pitch_curve = pg.PlotCurveItem(pen=pg.mkPen((0, 255, 255), width=2))
        self.pitch_curve.setZValue(15)
        self.spec_plot.addItem(self.pitch_curve)

        # Overview strip: the whole file, with the visible range marked.
        self.over_plot = self.addPlot(row=2, col=0)
        self.over_plot.setMaximumHeight(OVERVIEW_HEIGHT[1])
        self.over_plot.hideAxis("left")
        self.over_plot.hideAxis("bottom")
        self.over_plot.setMouseEnabled(x=False, y=False)
        self.over_plot.getViewBox().setMenuEnabled(False)
        self.over_plot.hideButtons()
        self.over_image = pg.ImageItem()
        self.over_plot.addItem(self.over_image)
        self.over_region = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 50))
        self.over_plot.addItem(self.over_region)
        self.over_region.sigRegionChanged.connect(self._on_overview_region)
        self.ci.layout.setRowStretchFactor(1, 10)

        self.spec_box.sigXRangeChanged.connect(self._emit_view)
        self.spec_box.sigResized.connect(self._emit_view)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self._syncing_region = False
        self.live = False
        self._live_rect = QRectF()
        self.levels = (-90.0, 0.0)
        self._colormap: tuple[str, float, float] | None = None
        self.overview_image: ViewImage | None = None

    def resizeEvent(self, event) -> None:
        # (pyqtgraph calls this with None from its own __init__, before our plots exist)
        if not hasattr(self, "over_plot"):
            super().resizeEvent(event)
            return
        height = self.height()
        self.wave_plot.setMaximumHeight(min(WAVE_HEIGHT[1], max(WAVE_HEIGHT[0], round(0.15 * height))))
        self.over_plot.setMaximumHeight(min(OVERVIEW_HEIGHT[1], max(OVERVIEW_HEIGHT[0], round(0.10 * height))))
        super().resizeEvent(event)

    # -- configuration -------------------------------------------------------------------
    def set_live(self, live: bool) -> None:
        """Live mode: no time limits (the stream grows), no overview strip."""
        self.live = live
        self._live_rect = QRectF()
        self.time_axis.setLabel("seconds before now" if live else time_axis_label(0.0, self.duration))
        self.over_plot.setVisible(not live)
        if not live:
            self.live_item.hide()
            self.live_item.clear()
            self.image_item.show()
        if live:
            self.spec_box.setLimits(xMin=None, xMax=None)
            self.wave_box.setLimits(xMin=None, xMax=None)
            self.wave_plot.hide()
            self.clear_selection()
        else:
            self.wave_plot.show()

    def show_live(self, view) -> None:
        """A :class:`~spectroview.session.live.LiveView`, on a time axis of seconds before now.

        The newest column ends at x = 0 and the axis never moves: only the
        image changes each frame, so a frame costs one repaint (moving the
        range as well would repaint the axes and the image a second time).
        """
        view = dataclasses.replace(view, x0=view.x0 - view.x1, x1=0.0)
        self.image = view
        rect = QRectF(view.x0, 0.0, view.x1 - view.x0, view.levels.shape[0])
        if view.ring is not None and view.indices is not None:
            # Straight from the engine's ring: nothing converted here (RingImageItem).
            if not self.live_item.isVisible():
                self.image_item.hide()
                self.live_item.show()
                self._live_rect = QRectF()
            new_ring = view.ring is not self.live_item.ring
            self.live_item.set_window(view.ring, view.ring_start, view.indices.shape[1], view.columns_done)
            if new_ring or rect != self._live_rect:
                self.live_item.set_rect(rect)
        else:
            if self.live_item.isVisible():
                self.live_item.hide()
                self.image_item.show()
                self._live_rect = QRectF()
            self.image_item.setImage(view.levels, autoLevels=False, levels=self.levels)
        if rect != self._live_rect:
            self._live_rect = rect
            self.image_item.setRect(rect)
            self.spec_plot.setXRange(view.x0, view.x1, padding=0)

    def set_document(self, duration: float) -> None:
        self.duration = max(duration, 1e-3)
        self.spec_box.setLimits(xMin=0.0, xMax=self.duration, minXRange=1e-3)
        self.wave_box.setLimits(xMin=0.0, xMax=self.duration)
        self.over_plot.setXRange(0, self.duration, padding=0)
        self.over_region.setBounds((0, self.duration))
        self.selection.setBounds((0, self.duration))
        self.clear_selection()
        self.image_item.clear()
        self.over_image.clear()
        self.spec_plot.setXRange(0, self.duration, padding=0)

    def set_params(self, params: SpectrogramParams) -> None:
        self.mapping = FrequencyMapping.from_params(params)
        self.freq_axis.mapping = self.mapping
        n_rows = self.mapping.n_rows
        changed = n_rows != self.n_rows
        self.n_rows = n_rows
        self.spec_box.setLimits(yMin=0, yMax=n_rows, minYRange=min(4, n_rows))
        if changed:
            self.spec_plot.setYRange(0, n_rows, padding=0)
        self.over_plot.setYRange(0, n_rows, padding=0)
        self.freq_axis.picture = None
        self.freq_axis.update()

    def set_colormap(self, name: str, floor: float, ceiling: float) -> None:
        if self._colormap == (name, floor, ceiling):
            return
        self._colormap = (name, floor, ceiling)
        lut = colormap_lut(name)
        cmap = pg.ColorMap(pos=np.linspace(0.0, 1.0, lut.shape[0]), color=lut)
        self.colorbar.setColorMap(cmap)
        self.colorbar.setLevels((floor, ceiling))
        self.levels = (floor, ceiling)
        self.image_item.setLookupTable(lut)
        self.over_image.setLookupTable(lut)
        self.live_item.set_lut(lut)
        if self.live:
            if not (self.image is not None and getattr(self.image, "indices", None) is not None):
                self.image_item.setLevels((floor, ceiling))
            return
        # Indices made for other levels cannot show these: paint the floats until new images come.
        if isinstance(self.image, ViewImage):
            self._paint(self.image_item, self.image)
        if self.overview_image is not None:
            self._paint(self.over_image, self.overview_image)

    # -- data ----------------------------------------------------------------------------------
    def show_image(self, image: ViewImage) -> None:
        """Paint ``image`` (its rows pooled for the screen, if it carries them); readouts use its levels."""
        previous, self.image = self.image, image
        self._paint(self.image_item, image)
        if image.wave_min.size and not _same_wave(previous, image):
            x = np.linspace(image.wave_x0, image.wave_x1, image.wave_min.size)
            # The fill between the two curves is rebuilt on each curve's change: once is enough.
            blocker = QSignalBlocker(self.wave_upper)
            self.wave_upper.setData(x, image.wave_max)
            del blocker
            self.wave_lower.setData(x, image.wave_min)

    def show_overview(self, image: ViewImage) -> None:
        self.overview_image = image
        self._paint(self.over_image, image)

    def _paint(self, item: pg.ImageItem, image: ViewImage) -> None:
        """Colour indices when they were made for the levels in force (cheap), else the floats."""
        painted, r0, r1 = image.painted
        if image.indices is not None and image.index_levels == self.levels:
            item.setImage(image.indices, autoLevels=False, levels=(0, 255))
        else:
            item.setImage(painted, autoLevels=False, levels=self.levels)
        item.setRect(QRectF(image.x0, r0, image.x1 - image.x0, r1 - r0))

    def level_at(self, t: float, y: float) -> float | None:
        """dBFS of the shown cell at (t, y), or None outside the image."""
        image = self.image
        if image is None or not image.x0 <= t < image.x1 or not 0 <= y < image.levels.shape[0]:
            return None
        # The levels hold every row (a live picture may be drawn from pooled rows).
        col = int((t - image.x0) / (image.x1 - image.x0) * image.levels.shape[1])
        return float(image.levels[int(y), min(col, image.levels.shape[1] - 1)])

    # -- view ------------------------------------------------------------------------------------
    def visible_range(self) -> tuple[float, float]:
        (t0, t1), _ = self.spec_box.viewRange()
        if self.live:
            return t0, t1
        return max(0.0, t0), min(self.duration, t1)

    def plot_width(self) -> int:
        return max(1, int(self.spec_box.width()))

    def set_time_range(self, t0: float, t1: float) -> None:
        self.spec_plot.setXRange(max(0.0, t0), min(self.duration, t1), padding=0)

    def zoom_time(self, factor: float) -> None:
        t0, t1 = self.visible_range()
        centre, half = (t0 + t1) / 2, (t1 - t0) / 2 * factor
        half = min(max(half, 5e-4), self.duration / 2)
        self.set_time_range(max(0.0, centre - half), min(self.duration, centre + half))

    def pan_time(self, fraction: float) -> None:
        t0, t1 = self.visible_range()
        shift = (t1 - t0) * fraction
        shift = min(max(shift, -t0), self.duration - t1)
        self.set_time_range(t0 + shift, t1 + shift)

    def fit(self) -> None:
        self.set_time_range(0.0, self.duration)
        self.spec_plot.setYRange(0, self.n_rows, padding=0)

    # -- selection and playhead ---------------------------------------------------------------------
    def selected_range(self) -> tuple[float, float] | None:
        if not self.selection.isVisible():
            return None
        a, b = self.selection.getRegion()
        return (a, b) if b > a else None

    def set_selection(self, t0: float, t1: float) -> None:
        self._show_selection(t0, t1)
        self.selectionChanged.emit(t0, t1)

    def clear_selection(self) -> None:
        self.selection.hide()
        self.spec_selection.hide()
        self.selectionChanged.emit(0.0, 0.0)

    def _show_selection(self, t0: float, t1: float) -> None:
        for region in (self.selection, self.spec_selection):
            region.setRegion((t0, t1))
            region.show()

    def set_playhead(self, t: float | None) -> None:
        if t is None:
            self.playhead.hide()
        else:
            self.playhead.setPos(t)
            self.playhead.show()

    def set_pitch(self, times: np.ndarray | None, f0: np.ndarray | None) -> None:
        """Draw an f0 track (Hz, NaN where unvoiced: left blank) over the spectrogram."""
        if times is None or f0 is None or self.mapping is None or times.size == 0:
            self.pitch_curve.setData([], [])
            return
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.asarray(self.mapping.hz_to_y(f0), dtype=np.float64)
        self.pitch_curve.setData(times, y, connect="finite")

    def set_harmonics(self, f0: float | None, count: int = 12) -> None:
        """Marks at 2f, 3f, ... (row coordinates through the mapping)."""
        for line in self.harmonics:
            self.spec_plot.removeItem(line)
        self.harmonics = []
        if f0 is None or self.mapping is None or f0 <= 0:
            return
        for k in range(2, count + 1):
            y = float(self.mapping.hz_to_y(k * f0))
            if y > self.n_rows:
                break
            line = pg.InfiniteLine(
                pos=y, angle=0, pen=pg.mkPen((255, 255, 255, 150), width=1, style=Qt.PenStyle.DashLine)
            )
            self.spec_plot.addItem(line)
            self.harmonics.append(line)

    # -- events -------------------------------------------------------------------------------------
    def _emit_view(self, *_: object) -> None:
        if self.live:
            return
        t0, t1 = self.visible_range()
        label = time_axis_label(t0, t1)
        if label != self.time_axis.labelText:
            self.time_axis.setLabel(label)
        if not self._syncing_region:
            self._syncing_region = True
            self.over_region.setRegion((t0, t1))
            self._syncing_region = False
        self.viewChanged.emit(t0, t1, self.plot_width())

    def _on_overview_region(self) -> None:
        if self._syncing_region:
            return
        a, b = self.over_region.getRegion()
        self._syncing_region = True
        self.set_time_range(a, b)
        self._syncing_region = False

    def _on_selection_drag(self, a: float, b: float, finished: bool) -> None:
        a, b = max(0.0, a), min(self.duration, b)
        self._show_selection(a, b)
        if finished:
            if b - a < 1e-3:
                self.clear_selection()
            else:
                self.selectionChanged.emit(a, b)

    def _on_selection_moved(self) -> None:
        a, b = self.selection.getRegion()
        self.spec_selection.setRegion((a, b))
        self.selectionChanged.emit(a, b)

    def mousePressEvent(self, event) -> None:
        # The mouse's side buttons step through the zoom history, as in a web browser.
        if event.button() in (Qt.MouseButton.BackButton, Qt.MouseButton.ForwardButton):
            event.accept()
            self.historyRequested.emit(-1 if event.button() == Qt.MouseButton.BackButton else 1)
            return
        super().mousePressEvent(event)

    def _on_mouse_moved(self, pos: QPointF) -> None:
        if self.spec_box.sceneBoundingRect().contains(pos):  # the picture, not its axes
            p = self.spec_box.mapSceneToView(pos)
            self.cursorMoved.emit(p.x(), p.y())

    def _on_mouse_clicked(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and self.spec_box.sceneBoundingRect().contains(ev.scenePos()):
            t = self.spec_box.mapSceneToView(ev.scenePos()).x()
            if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.extendClicked.emit(t)
            else:
                self.clicked.emit(t)
