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

__all__ = ["ImageOptions", "colorize", "spectrogram_image"]

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
    pooler = ColumnPooler(stream.n_rows, n_frames, width)
    consumed = 0
    for block in blocks:
        pooler.push(stream.push(block))
        consumed += block.shape[0]
        if progress is not None:
            progress(consumed)
    pooler.push(stream.flush())
    if pooler.frames_seen != n_frames:
        raise ParameterError(
            f"got {pooler.frames_seen} frames, expected {n_frames}: n_samples does not match the blocks"
        )
    return np.ascontiguousarray(pool_rows(pooler.result(), height)[::-1])


def colorize(power: np.ndarray, options: ImageOptions) -> np.ndarray:
    """Power image to RGB: dB re the loudest pixel, ``db_range`` dB shown.

    Returns
    -------
    (height, width, 3) uint8
        A silent signal (all power below -100 dB re 1.0) is all bottom colour.
    """
    peak = float(power.max()) if power.size else 0.0
    if peak <= _AMIN:
        db = np.full(power.shape, -np.inf, dtype=np.float32)
    else:
        db = power_to_db(power, ref=peak, amin=_AMIN, top_db=None)
    return apply_colormap(db, options.colormap, vmin=-float(options.db_range), vmax=0.0)
