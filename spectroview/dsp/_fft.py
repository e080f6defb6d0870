"""The engine's real FFTs: ducc0, the successor of pocketfft by the same author.

numpy.fft and scipy.fft both run pocketfft; ducc0 (Reinecke, Max Planck
Institute for Astrophysics) is its maintained C++17 continuation.  Two reasons
to call it directly rather than through scipy.fft:

- **start-up**: ``import scipy.fft`` costs 0.15-0.25 s (scipy's array-API layer
  and ``scipy.special``), about what a 10-minute file's FFTs take on two cores;
  ducc0 loads in a few milliseconds, so ``spectroview render`` starts at once;
- **speed**: on batched float32 transforms (frames x n_fft, one thread each) it
  is about 25 % faster, and it releases the GIL, so the engine's threads scale.

The results agree with scipy.fft to float32 rounding (``tests/dsp`` compares
the engine with librosa, which uses numpy.fft).
"""

from __future__ import annotations

import ducc0
import numpy as np

__all__ = ["irfft", "next_fast_len", "rfft"]


def rfft(x: np.ndarray, n: int | None = None, *, out: np.ndarray | None = None) -> np.ndarray:
    """Forward real FFT along the last axis, unnormalized (as ``numpy.fft.rfft``).

    Parameters
    ----------
    x : (..., m) float32 or float64
        Any strides.  ``n`` longer than ``m`` zero-pads, shorter truncates.
    out : (..., n // 2 + 1) complex of ``x``'s precision, optional

    Returns
    -------
    (..., n // 2 + 1) complex64 for float32 input, complex128 for float64.
    """
    if n is not None and n != x.shape[-1]:
        padded = np.zeros((*x.shape[:-1], n), dtype=x.dtype)
        keep = min(n, x.shape[-1])
        padded[..., :keep] = x[..., :keep]
        x = padded
    return ducc0.fft.r2c(x, axes=(x.ndim - 1,), forward=True, out=out, nthreads=1)


def irfft(spec: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`rfft` along the last axis, with ``1/n`` normalization (as ``numpy.fft.irfft``).

    Returns
    -------
    (..., n) float of ``spec``'s precision.
    """
    return ducc0.fft.c2r(spec, axes=(spec.ndim - 1,), lastsize=n, forward=False, inorm=2, nthreads=1)


def next_fast_len(target: int) -> int:
    """Smallest length >= ``target`` whose real FFT is fast (factors 2, 3, 5, 7, 11)."""
    return int(ducc0.fft.good_size(int(target), True))
