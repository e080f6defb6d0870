"""Analysis windows, computed here rather than through ``scipy.signal``.

``scipy.signal`` takes about 0.4 s to import, more than a whole headless
render of a short file; these are the same formulas as
``scipy.signal.get_window(name, M, fftbins=True)`` (periodic windows: the
first M points of the symmetric window of length M + 1), checked against it
in ``tests/dsp``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["window_samples"]

_COSINE_SUMS: dict[str, tuple[float, ...]] = {
    "hann": (0.5, 0.5),
    "hamming": (0.54, 0.46),
    "blackman": (0.42, 0.50, 0.08),
    "blackmanharris": (0.35875, 0.48829, 0.14128, 0.01168),
    "nuttall": (0.3635819, 0.4891775, 0.1365995, 0.0106411),
    "flattop": (0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368),
}


def _symmetric(name: str, m: int) -> np.ndarray:
    if name in _COSINE_SUMS:
        fac = np.linspace(-np.pi, np.pi, m)
        w = np.zeros(m)
        for k, a in enumerate(_COSINE_SUMS[name]):
            w += a * np.cos(k * fac)
        return w
    if name == "boxcar":
        return np.ones(m)
    if name == "bartlett":
        n = np.arange(m)
        return np.where(n <= (m - 1) / 2.0, 2.0 * n / (m - 1), 2.0 - 2.0 * n / (m - 1))
    if name == "triang":
        n = np.arange(1, (m + 1) // 2 + 1)
        if m % 2 == 0:
            half = (2 * n - 1.0) / m
            return np.concatenate([half, half[::-1]])
        half = 2 * n / (m + 1.0)
        return np.concatenate([half, half[-2::-1]])
    if name == "cosine":
        return np.sin(np.pi / m * (np.arange(m) + 0.5))
    raise ValueError(f"window={name!r}: unknown")


def window_samples(name: str, win_length: int) -> np.ndarray:
    """Periodic window ``name`` of ``win_length`` samples.  (win_length,) float64.

    ``name`` must be canonical (see :func:`spectroview.dsp.params.canonical_window`).
    """
    if win_length == 1:
        return np.ones(1)
    return _symmetric(name, win_length + 1)[:-1]
