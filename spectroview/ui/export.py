"""Image export of what a widget shows: PNG (any width, with a DPI) or SVG, encoded in memory, written atomically.

The picture is the widget's own painting through a scaled painter: axes,
labels and lines are drawn at the export's size (crisp at any width; vector
in SVG), the spectrogram keeps the columns and rows computed for the screen
(an image item is scaled, never resampled into detail it does not have).
The aspect ratio is the widget's, as pyqtgraph's own image exporter keeps it.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGraphicsView,
    QLabel,
    QSpinBox,
    QWidget,
)

from spectroview._atomic import atomic_write
from spectroview._memory import available_bytes, format_bytes
from spectroview.ui.settings_store import EXPORT_DPI_RANGE, EXPORT_WIDTH_RANGE

__all__ = [
    "IMAGE_FORMATS",
    "ExportError",
    "ExportImageDialog",
    "encode_widget",
    "image_format",
    "write_bytes",
    "write_pixmap",
]

#: Export formats by file suffix.
IMAGE_FORMATS = {".png": "png", ".svg": "svg"}

#: Metres per inch: Qt stores resolution in dots per metre.
_INCH = 0.0254


class ExportError(Exception):
    """An export the user asked for that cannot be made (size, memory); the message says why."""


def image_format(path: str | os.PathLike[str]) -> str:
    """``"png"`` or ``"svg"`` from the suffix of ``path`` (case-insensitive); ValueError for another."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise ValueError(f"{path}: the suffix must be one of {', '.join(IMAGE_FORMATS)}")
    return IMAGE_FORMATS[suffix]


def export_size(widget: QWidget, width: int | None) -> tuple[int, int]:
    """(width, height) in px of an export ``width`` px wide (None: the widget's), at the widget's aspect ratio."""
    w0, h0 = max(1, widget.width()), max(1, widget.height())
    width = w0 if width is None else int(width)
    return width, max(1, round(h0 * width / w0))


def encode_widget(widget: QWidget, fmt: str, *, width: int | None = None, dpi: int = 96, title: str = "") -> bytes:
    """What ``widget`` shows, as PNG or SVG bytes ``width`` px wide (None: its own size), ``dpi`` recorded.

    Raises
    ------
    ExportError
        ``width`` or the height it implies outside :data:`EXPORT_WIDTH_RANGE`, ``dpi``
        outside :data:`EXPORT_DPI_RANGE`, or a PNG that would not fit in memory.
    """
    w, h = export_size(widget, width)
    lo, hi = EXPORT_WIDTH_RANGE
    if not (lo <= w <= hi and lo <= h <= hi):
        raise ExportError(f"size {w}x{h} px: each side must be in [{lo}, {hi}]")
    if not EXPORT_DPI_RANGE[0] <= dpi <= EXPORT_DPI_RANGE[1]:
        raise ExportError(f"dpi={dpi}: must be in [{EXPORT_DPI_RANGE[0]}, {EXPORT_DPI_RANGE[1]}]")
    scale = w / max(1, widget.width())
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if fmt == "svg":
        from PySide6.QtSvg import QSvgGenerator

        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(QSize(w, h))
        generator.setViewBox(QRect(0, 0, w, h))
        # Painted at the screen's resolution: text recorded for the screen (pyqtgraph's axes keep
        # QPictures) is replayed scaled by the ratio of resolutions, so the DPI asked for is only
        # written into the header afterwards.
        generator.setResolution(widget.logicalDpiX())
        generator.setTitle(title)
        generator.setDescription("Spectroview export")
        _paint(widget, generator, scale)
        buffer.close()
        return _svg_with_dpi(bytes(data.data()), w, h, dpi)
    elif fmt == "png":
        need = 2 * 4 * w * h  # the ARGB image and its encoding's working copy, at most
        if need > available_bytes():
            raise ExportError(f"size {w}x{h} px needs about {format_bytes(need)}; less is free")
        image = QImage(w, h, QImage.Format.Format_ARGB32)
        image.fill(QColor(Qt.GlobalColor.black))
        # Painted at the screen's resolution (see the SVG case), the DPI asked for set afterwards.
        image.setDotsPerMeterX(round(widget.logicalDpiX() / _INCH))
        image.setDotsPerMeterY(round(widget.logicalDpiY() / _INCH))
        _paint(widget, image, scale)
        dots = round(dpi / _INCH)
        image.setDotsPerMeterX(dots)
        image.setDotsPerMeterY(dots)
        if not image.save(buffer, "PNG"):  # type: ignore[call-overload]  # (the stubs ask bytes; PySide6 takes str)
            raise ExportError(f"cannot encode a {w}x{h} px PNG")
    else:
        raise ValueError(f"fmt={fmt!r}: must be 'png' or 'svg'")
    return bytes(data.data())


def _svg_with_dpi(svg: bytes, width: int, height: int, dpi: int) -> bytes:
    """``svg`` (QSvgGenerator's) with its printed size, the ``width`` and ``height`` attributes in mm, at ``dpi``."""
    head, sep, rest = svg.partition(b"viewBox=")
    if not sep:
        return svg
    size = f'<svg width="{width / dpi * 25.4:.3f}mm" height="{height / dpi * 25.4:.3f}mm"\n '.encode()
    start = head.rfind(b"<svg ")
    return head[:start] + size + sep + rest if start >= 0 else svg


def _paint(widget: QWidget, device: object, scale: float) -> None:
    """``widget`` onto ``device`` at ``scale``: a graphics view's scene is drawn again at that size.

    (``QWidget.render`` through a scaled painter scales a graphics view's
    cached items twice; the scene itself draws at any size, as pyqtgraph's
    exporters do.)
    """
    painter = QPainter(device)  # type: ignore[call-overload]
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        w, h = widget.width() * scale, widget.height() * scale
        if isinstance(widget, QGraphicsView) and widget.scene() is not None:
            painter.fillRect(QRectF(0, 0, w, h), widget.backgroundBrush())
            source = widget.mapToScene(widget.viewport().rect()).boundingRect()
            widget.scene().render(painter, QRectF(0, 0, w, h), source)
        else:
            painter.scale(scale, scale)
            widget.render(painter)
    finally:
        painter.end()


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """``data`` into ``path`` atomically: a full disk raises OSError with its reason and leaves ``path`` as it was."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write)


def write_pixmap(pixmap: QPixmap, path: str | os.PathLike[str]) -> None:
    """``pixmap`` as a PNG file at ``path``, atomically.

    Encoded in memory first, then written by Python: a full disk or a
    file-size limit raises :class:`OSError` with its reason (Qt's writer would
    only say it failed, and print libpng's complaint), and leaves ``path``
    as it was.
    """
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not pixmap.save(buffer, "PNG"):
        raise OSError(f"cannot encode the image for {path}")
    write_bytes(path, bytes(data.data()))


class ExportImageDialog(QDialog):
    """Size and resolution of an image export: width (the height follows the view's proportions) and DPI."""

    def __init__(self, view: QWidget, fmt: str, *, width: int | None, dpi: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export image ({fmt.upper()})")
        self.setObjectName("export-image-dialog")
        self.setMinimumWidth(380)  # the title ("Export image (PNG)") whole
        self._view = view
        form = QFormLayout(self)
        self.width_box = QSpinBox()
        self.width_box.setRange(*EXPORT_WIDTH_RANGE)
        self.width_box.setSuffix(" px")
        self.width_box.setToolTip(
            "Width of the image in pixels; the height keeps the view's proportions. Axes and text are drawn at "
            "this size; the spectrogram keeps the columns computed for the screen."
        )
        self.height_label = QLabel()
        self.dpi_box = QSpinBox()
        self.dpi_box.setRange(*EXPORT_DPI_RANGE)
        self.dpi_box.setSuffix(" dpi")
        self.dpi_box.setToolTip("Resolution written into the file (dots per inch): the printed width is width / DPI")
        self.printed = QLabel()
        form.addRow("Width", self.width_box)
        form.addRow("Height", self.height_label)
        form.addRow("Resolution", self.dpi_box)
        form.addRow("Printed size", self.printed)
        self.width_box.valueChanged.connect(self._update)
        self.dpi_box.valueChanged.connect(self._update)
        self.width_box.setValue(width if width is not None else max(EXPORT_WIDTH_RANGE[0], view.width()))
        self.dpi_box.setValue(dpi)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._update()

    def options(self) -> tuple[int, int]:
        """(width in px, dpi) as chosen."""
        return self.width_box.value(), self.dpi_box.value()

    def _update(self, *_: object) -> None:
        w, h = export_size(self._view, self.width_box.value())
        self.height_label.setText(f"{h} px")
        dpi = self.dpi_box.value()
        self.printed.setText(f"{w / dpi * 2.54:.1f} x {h / dpi * 2.54:.1f} cm")
