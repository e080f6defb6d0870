"""Decibel scaling, equal to ``librosa.power_to_db``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from spectroview.dsp.params import ParameterError

__all__ = ["power_to_db"]


def power_to_db(
    S: np.ndarray,
    *,
    ref: float | Callable[[np.ndarray], float] = 1.0,
    amin: float = 1e-10,
    top_db: float | None = 80.0,
) -> np.ndarray:
    """Power to decibels: ``10 log10(max(amin, S) / max(amin, ref))``.

    Parameters
    ----------
    S : array of power values (>= 0)
    ref : float or callable
        Reference power (0 dB); a callable such as ``np.max`` is applied to ``|S|``.
    amin : float
        Floor in power units (> 0) that keeps log10 finite.
    top_db : float or None
        If set (>= 0), values below ``max - top_db`` dB are raised to it.

    Returns
    -------
    float32 array of the shape of ``S`` (float64 if ``S`` is float64), in dB.
    """
    S = np.asarray(S)
    if amin <= 0:
        raise ParameterError(f"amin={amin!r}: must be > 0")
    if top_db is not None and top_db < 0:
        raise ParameterError(f"top_db={top_db!r}: must be >= 0 (or None for no floor)")
    dtype = np.float64 if S.dtype == np.float64 else np.float32
    magnitude = np.abs(S).astype(dtype, copy=False)
    ref_value = ref(magnitude) if callable(ref) else np.abs(ref)
    log_spec = 10.0 * np.log10(np.maximum(magnitude, dtype(amin)))
    log_spec -= dtype(10.0 * np.log10(np.maximum(amin, ref_value)))
    if top_db is not None and log_spec.size:
        np.maximum(log_spec, log_spec.max() - dtype(top_db), out=log_spec)
    return log_spec
