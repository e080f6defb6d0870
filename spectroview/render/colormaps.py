"""Colormap lookup tables for rendering spectrograms to RGB images.

Pure numpy; no Qt or plotting library is imported here so that the headless
exporters can use it.

The tables and their sources are in :mod:`spectroview.render.colormap_data`.
"""

from __future__ import annotations

import functools

import numpy as np

from spectroview.render.colormap_data import COLORMAPS, HEX_TABLES, LUT_SIZE

__all__ = ["COLORMAPS", "apply_colormap", "colormap_lut"]

_ALIASES: dict[str, str] = {"gray": "grey"}


@functools.cache
def _decode(name: str) -> np.ndarray:
    """Build the read-only (256, 3) uint8 table for a canonical name."""
    if name == "grey":
        lut = np.repeat(np.arange(LUT_SIZE, dtype=np.uint8)[:, None], 3, axis=1)
    else:
        raw = bytes.fromhex(HEX_TABLES[name])
        lut = np.frombuffer(raw, dtype=np.uint8).reshape(LUT_SIZE, 3).copy()
    # The table is cached and shared between callers, so nobody may edit it.
    lut.flags.writeable = False
    return lut


def _canonical_name(name: str) -> str:
    """Map a user-supplied name (any case, or an alias) to a key of COLORMAPS."""
    key = name.strip().lower() if isinstance(name, str) else None
    key = _ALIASES.get(key, key)
    if key not in COLORMAPS:
        raise ValueError(f"colormap={name!r}: unknown; choose one of {', '.join(COLORMAPS)}")
    return key


def colormap_lut(name: str) -> np.ndarray:
    """Return the lookup table of a colormap.

    Parameters
    ----------
    name : str
        One of :data:`COLORMAPS` or the alias ``"gray"``; case-insensitive.

    Returns
    -------
    numpy.ndarray
        Shape (256, 3), dtype uint8, RGB with row 0 for the lowest value.
        The array is shared and read-only; copy it before modifying.

    Raises
    ------
    ValueError
        If `name` is not a known colormap.
    """
    return _decode(_canonical_name(name))


def apply_colormap(values: np.ndarray, name: str, *, vmin: float, vmax: float) -> np.ndarray:
    """Map a 2-D array of scalars to RGB colours.

    The range [`vmin`, `vmax`] is split into 256 equal-width bins, one per
    table entry (the same binning pyqtgraph's ``ImageItem`` uses), so
    ``vmin`` gets entry 0 and ``vmax`` entry 255. Values outside the range
    are clipped to the end entries; NaN gets entry 0, like silence.

    Parameters
    ----------
    values : numpy.ndarray
        Shape (height, width), real numeric dtype (typically float32 power in
        dB). Computation is done in float32.
    name : str
        Colormap name, see :func:`colormap_lut`.
    vmin, vmax : float
        Finite values, in the units of `values`, mapped to the first and last
        colours; ``vmin < vmax`` is required.

    Returns
    -------
    numpy.ndarray
        Shape (height, width, 3), dtype uint8, C-contiguous RGB image.

    Raises
    ------
    ValueError
        If `values` is not 2-D, its dtype is not real numeric, `name` is
        unknown, or `vmin`/`vmax` are not finite with ``vmin < vmax``.
    """
    lut = colormap_lut(name)
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values: expected a 2-D (height, width) array, got shape {values.shape}")
    if values.dtype.kind not in "fiu":
        raise ValueError(f"values: expected a real numeric dtype, got {values.dtype}")
    vmin = float(vmin)
    vmax = float(vmax)
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmin < vmax):
        raise ValueError(f"vmin={vmin!r}, vmax={vmax!r}: need finite values with vmin < vmax")

    # float32 halves memory traffic compared with float64 and is ample for
    # choosing one of 256 bins.
    scale = np.float32(LUT_SIZE / (vmax - vmin))
    idx = np.subtract(values, np.float32(vmin), dtype=np.float32)
    idx *= scale
    # fmax (unlike maximum) returns the non-NaN operand, so NaN becomes 0
    # here and the cast below never sees a NaN (which would be undefined).
    np.fmax(idx, 0.0, out=idx)
    np.minimum(idx, LUT_SIZE - 1, out=idx)
    # The float -> uint8 cast truncates, i.e. floors the non-negative indices.
    return np.take(lut, idx.astype(np.uint8), axis=0)
