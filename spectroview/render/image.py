"""Headless spectrogram images: signal blocks in, RGB pixels out.

The signal streams through :class:`~spectroview.dsp.StreamingSpectrogram`
block by block and its columns are max-pooled into the image width as they
come, so memory stays one block of audio plus one image, whatever the length
of the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from spectroview.dsp import ParameterError, SpectrogramParams, StreamingSpectrogram, power_to_db
from spectroview.dsp.pooling import ColumnPooler, pool_rows
from spectroview.render.colormaps import COLORMAPS, apply_colormap

__all__ = ["IMAGE_BYTES_PER_PIXEL", "ImageOptions", "colorize", "image_memory", "spectrogram_image"]

#: Amplitude floor of the dB scale in power units (-100 dB re 1.0).
_AMIN = 1e-10


@dataclass(frozen=True)
class ImageOptions:
    """How a spectrogram becomes pixels.

    Parameters
    ----------
    width, height : int
        Image size in pixels, 1 to 32768 each.
    colormap : str
        One of :data:`spectroview.render.colormaps.COLORMAPS`.
    db_range : float
        Dynamic range in dB shown, > 0: the loudest cell is the top colour,
        ``db_range`` dB below it the bottom colour.
    """

    width: int = 1200
    height: int = 600
    colormap: str = "magma"
    db_range: float = 80.0

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= 32768:
                raise ParameterError(f"{name}={value!r}: must be an integer in [1, 32768] pixels")
        if self.colormap.strip().lower() not in (*COLORMAPS, "gray"):
            raise ParameterError(f"colormap={self.colormap!r}: unknown; choose one of {', '.join(COLORMAPS)}")
        if not np.isfinite(self.db_range) or not 0 < self.db_range <= 300:
            raise ParameterError(f"db_range={self.db_range!r}: must be a number of dB > 0 and <= 300")


def spectrogram_image(
    blocks: Iterable[np.ndarray],
    *,
    n_samples: int,
    params: SpectrogramParams,
    width: int,
    height: int,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Power spectrogram pooled to ``(height, width)`` pixels.

    Parameters
    ----------
    blocks : iterable of (n,) float32
        The signal, mono, in consecutive blocks of any size; ``n_samples`` in all.
    params : SpectrogramParams
        With ``sr`` set.
    progress : callable, optional
        Called with the number of samples consumed after each block.

    Returns
    -------
    (height, width) float32 power, row 0 = highest frequency (image order).
        Each pixel is the maximum power of the frames and rows it covers.
    """
    stream = StreamingSpectrogram(params.require_sr(), params)
    n_frames = stream.pending_frames(n_samples)
    if n_frames < 1:
        raise ParameterError(
            f"n_fft={params.n_fft}: the signal ({n_samples} samples) is too short for one frame with center=False"
        )
    # Max pooling is separable: pooling each frame's rows to the image height
    # before the columns gives the same pixels.  Done only when the full-row
    # accumulator would be large (a 65536-point FFT on a wide image), since
    # it pools every frame's rows instead of every column's.
    rows_first = _rows_first(stream.n_rows, n_frames, width, height)
    pooler = ColumnPooler(height if rows_first else stream.n_rows, n_frames, width)
    consumed = 0

    def add(columns: np.ndarray) -> None:
        pooler.push(pool_rows(columns, height) if rows_first and columns.shape[1] else columns)

    for block in blocks:
        for columns in stream.push_bounded(block, reuse=True):  # pooled at once: one buffer
            add(columns)
        consumed += block.shape[0]
        if progress is not None:
            progress(consumed)
    for columns in stream.flush_bounded(reuse=True):
        add(columns)
    if pooler.frames_seen != n_frames:
        raise ParameterError(
            f"got {pooler.frames_seen} frames, expected {n_frames}: n_samples does not match the blocks"
        )
    return np.ascontiguousarray(pool_rows(pooler.result(), height)[::-1])


#: Largest full-row accumulator :func:`spectrogram_image` keeps before pooling rows first (bytes).
_ROW_ACCUMULATOR_MAX = 256 * 2**20

#: Bytes per output pixel at the peak of a render: the pooled power and its
#: flipped copy (float32 each), then the power beside its RGB (3 bytes).
IMAGE_BYTES_PER_PIXEL = 8


def _rows_first(n_rows: int, n_frames: int, width: int, height: int) -> bool:
    return height < n_rows and 4 * n_rows * min(width, n_frames) > _ROW_ACCUMULATOR_MAX


def image_memory(params: SpectrogramParams, n_samples: int, width: int, height: int) -> int:
    """Peak bytes :func:`spectrogram_image` then :func:`colorize` and PNG writing need, about.

    The accumulator (rows x columns, float32), the image stage
    (:data:`IMAGE_BYTES_PER_PIXEL` per pixel) and the engine's bounded
    working set (:data:`~spectroview.dsp.stft.COLUMN_BUDGET` of columns,
    the FFT of one block of frames).
    """
    from spectroview.dsp.stft import COLUMN_BUDGET

    stream = StreamingSpectrogram(params.require_sr(), params)
    n_frames = max(1, stream.pending_frames(n_samples))
    rows = height if _rows_first(stream.n_rows, n_frames, width, height) else stream.n_rows
    accumulator = 4 * rows * min(width, n_frames)
    engine = COLUMN_BUDGET + 64 * params.n_fft * 16
    return accumulator + IMAGE_BYTES_PER_PIXEL * width * height + engine


def colorize(power: np.ndarray, options: ImageOptions) -> np.ndarray:
    """Power image to RGB: dB re the loudest pixel, ``db_range`` dB shown.

    Returns
    -------
    (height, width, 3) uint8
        A silent signal (all power below -100 dB re 1.0) is all bottom colour.
    """
    peak = float(power.max()) if power.size else 0.0
    rgb = np.empty((*power.shape, 3), dtype=np.uint8)
    # In strips of rows: the dB values of the whole image are never held.
    rows = max(1, (4 << 20) // max(1, power.shape[1]))
    for r0 in range(0, power.shape[0], rows):
        strip = power[r0 : r0 + rows]
        if peak <= _AMIN:
            db = np.full(strip.shape, -np.inf, dtype=np.float32)
        else:
            db = power_to_db(strip, ref=peak, amin=_AMIN, top_db=None)
        rgb[r0 : r0 + rows] = apply_colormap(db, options.colormap, vmin=-float(options.db_range), vmax=0.0)
    return rgb
