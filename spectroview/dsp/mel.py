"""Frequency axes and filterbanks: mel (librosa-compatible) and log-frequency.

Conventions (the off-by-half-bin trap of spectrogram viewers): FFT bin ``k``
stands for the frequency at its centre, ``k * sr / n_fft`` Hz.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from spectroview.dsp.params import ParameterError, SpectrogramParams

if TYPE_CHECKING:
    from scipy import sparse

__all__ = [
    "BandedProjection",
    "RowWeights",
    "banded_projection",
    "fft_frequencies",
    "hz_to_mel",
    "logfreq_edges",
    "logfreq_filterbank",
    "mel_filterbank",
    "mel_frequencies",
    "mel_to_hz",
    "row_frequencies",
    "row_projection",
    "row_weights",
]

# Slaney's Auditory Toolbox mel scale: linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies: np.ndarray | float, *, htk: bool = False) -> np.ndarray:
    """Hz to mels: HTK ``2595 log10(1 + f/700)`` or Slaney's (as librosa).

    Returns float64 of the input's shape.
    """
    f = np.asanyarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    mels = f / _F_SP
    log_part = f >= _MIN_LOG_HZ
    return np.where(
        log_part,
        _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP,
        mels,
    )


def mel_to_hz(mels: np.ndarray | float, *, htk: bool = False) -> np.ndarray:
    """Mels to Hz, the inverse of :func:`hz_to_mel`.  float64."""
    m = np.asanyarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


def mel_frequencies(n_mels: int = 128, *, fmin: float = 0.0, fmax: float = 11025.0, htk: bool = False) -> np.ndarray:
    """``n_mels`` frequencies in Hz evenly spaced in mel from fmin to fmax.  (n_mels,) float64."""
    mels = np.linspace(hz_to_mel(fmin, htk=htk), hz_to_mel(fmax, htk=htk), n_mels)
    return mel_to_hz(mels, htk=htk)


def fft_frequencies(*, sr: float, n_fft: int) -> np.ndarray:
    """Centre frequency of each rfft bin, ``k * sr / n_fft`` Hz.  (1 + n_fft//2,) float64."""
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


@lru_cache(maxsize=32)
def _mel_filterbank_cached(sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool, norm: str | None):
    fftfreqs = fft_frequencies(sr=sr, n_fft=n_fft)
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        # Constant energy per band: divide each triangle by its width in Hz.
        weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    out = weights.astype(np.float32)
    out.setflags(write=False)
    return out


def mel_filterbank(
    *,
    sr: float,
    n_fft: int,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Triangular mel filters, equal to ``librosa.filters.mel``.

    Returns
    -------
    (n_mels, 1 + n_fft // 2) float32, read-only (cached)
        Row ``m`` weights the power of each FFT bin into mel band ``m``,
        whose centre is ``mel_frequencies(n_mels + 2, ...)[m + 1]`` Hz.

    Raises
    ------
    ParameterError
        For invalid values, and where a filter would be empty (librosa only
        warns; an empty filter draws a blank row, so we refuse and name the
        largest ``n_mels`` that works).
    """
    params = SpectrogramParams(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm, scale="mel")  # type: ignore[arg-type]
    return _mel_filterbank_cached(
        float(sr), int(n_fft), int(n_mels), float(fmin), params.fmax_for(sr), bool(htk), params.norm
    )


def logfreq_edges(*, fmin: float, fmax: float, bins_per_octave: int) -> np.ndarray:
    """Band edges in Hz, evenly spaced in log frequency.

    The last band ends exactly at ``fmax``; the number of bands is
    ``ceil(octaves * bins_per_octave)``, so bands may be a little narrower
    than ``1 / bins_per_octave`` octave.

    Returns
    -------
    (n_bins + 1,) float64
    """
    if not 0 < fmin < fmax:
        raise ParameterError(f"fmin={fmin!r}: the log scale needs 0 < fmin < fmax={fmax!r}")
    n_bins = max(1, int(np.ceil(np.log2(fmax / fmin) * bins_per_octave - 1e-9)))
    return np.geomspace(fmin, fmax, n_bins + 1)


@lru_cache(maxsize=32)
def _logfreq_cached(sr: float, n_fft: int, fmin: float, fmax: float, bins_per_octave: int) -> RowWeights:
    edges = logfreq_edges(fmin=fmin, fmax=fmax, bins_per_octave=bins_per_octave)
    df = sr / n_fft
    n_bins = 1 + n_fft // 2
    # Bin k stands for the band [f_k - df/2, f_k + df/2]: the spectrum is
    # taken as piecewise constant over bins, and each row averages it over
    # its own band (overlap length / band width).  Rows narrower than a bin
    # then read that bin's value instead of a fraction of it, so the floor of
    # a stationary signal stays level across the whole log axis.
    lo_edge, hi_edge = edges[:-1], edges[1:]
    k_first = np.clip(np.floor(lo_edge / df + 0.5).astype(np.int64), 0, n_bins - 1)
    k_last = np.clip(np.ceil(hi_edge / df - 0.5).astype(np.int64), 0, n_bins - 1)
    counts = k_last - k_first + 1
    rows = np.repeat(np.arange(len(lo_edge)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cols = np.repeat(k_first, counts) + offsets
    centres = cols * df
    lo = np.maximum(lo_edge[rows], centres - df / 2)
    hi = np.minimum(hi_edge[rows], centres + df / 2)
    weights = (np.clip(hi - lo, 0.0, None) / (hi_edge - lo_edge)[rows]).astype(np.float32)
    keep = weights != 0
    return RowWeights.from_triplets(rows[keep], cols[keep], weights[keep], (len(lo_edge), n_bins))


def logfreq_filterbank(*, sr: float, n_fft: int, fmin: float, fmax: float, bins_per_octave: int = 48) -> np.ndarray:
    """Log-frequency rows, each the mean power over its band.

    Rows are bands between :func:`logfreq_edges`; a row integrates every
    FFT bin it overlaps (weighted by the overlap), divided by the band
    width, so nothing between rows is skipped and no bin is point-sampled.

    Returns
    -------
    (n_bins, 1 + n_fft // 2) float32
        Each row sums to 1: the bins' bands tile [0, sr/2 + df/2].
    """
    SpectrogramParams(sr=sr, n_fft=n_fft, fmin=fmin, fmax=fmax, bins_per_octave=bins_per_octave, scale="log")
    return _logfreq_cached(float(sr), int(n_fft), float(fmin), float(fmax), int(bins_per_octave)).toarray()


def row_frequencies(params: SpectrogramParams) -> tuple[np.ndarray, np.ndarray]:
    """Centre and edge frequencies in Hz of the rows of ``spectrogram(y, params)``.

    Returns
    -------
    centres : (n_rows,) float64
    edges : (n_rows + 1,) float64
        Row ``r`` covers ``[edges[r], edges[r + 1]]``.  Linear: bin centres
        ``k * sr / n_fft`` with edges half a bin either side.  Mel: the
        filter's peak with edges half-way to its neighbours' peaks, in mel.
        Log: the geometric centre of each band.
    """
    sr = params.require_sr()
    fmax = params.fmax_for(sr)
    if params.scale == "linear":
        centres = fft_frequencies(sr=sr, n_fft=params.n_fft)
        df = sr / params.n_fft
        edges = np.concatenate([centres - df / 2, [centres[-1] + df / 2]])
        return centres, edges
    if params.scale == "mel":
        mel_f = mel_frequencies(params.n_mels + 2, fmin=params.fmin, fmax=fmax, htk=params.htk)
        centres = mel_f[1:-1]
        m = hz_to_mel(mel_f, htk=params.htk)
        mid = (m[:-1] + m[1:]) / 2
        return centres, mel_to_hz(mid, htk=params.htk)
    edges = logfreq_edges(fmin=params.log_fmin(), fmax=fmax, bins_per_octave=params.bins_per_octave)
    return np.sqrt(edges[:-1] * edges[1:]), edges


class RowWeights(NamedTuple):
    """A row projection's nonzero weights in CSR layout (plain numpy: no scipy.sparse, 0.1 s and 20 MB to load).

    Row ``r``'s weights are ``data[indptr[r]:indptr[r + 1]]`` on the bins
    ``indices[...]`` (increasing).
    """

    indptr: np.ndarray  # (n_rows + 1,) int64
    indices: np.ndarray  # (nnz,) int64
    data: np.ndarray  # (nnz,) float32
    shape: tuple[int, int]  # (n_rows, 1 + n_fft // 2)

    @classmethod
    def from_triplets(cls, rows: np.ndarray, cols: np.ndarray, data: np.ndarray, shape: tuple[int, int]) -> RowWeights:
        """From weights sorted by row, then bin."""
        indptr = np.searchsorted(rows, np.arange(shape[0] + 1))
        for a in (indptr, cols, data):
            a.setflags(write=False)
        return cls(indptr, cols, data, shape)

    def toarray(self) -> np.ndarray:
        """Dense ``shape`` float32 matrix."""
        out = np.zeros(self.shape, dtype=np.float32)
        out[np.repeat(np.arange(self.shape[0]), np.diff(self.indptr)), self.indices] = self.data
        return out


def row_weights(params: SpectrogramParams) -> RowWeights | None:
    """Weights taking STFT bins to the rows of ``params.scale`` (cached); None for the linear scale.

    Returns
    -------
    RowWeights of shape (n_rows, 1 + n_fft // 2), float32 weights.  A mel
    filter or a log band touches a few bins.
    """
    key = _scale_key(params)
    return None if key is None else _weights_cached(key)


def _scale_key(params: SpectrogramParams) -> tuple[object, ...] | None:
    """The fields a row projection depends on (a cache key), None for the linear scale."""
    sr = params.require_sr()
    if params.scale == "linear":
        return None
    fmax = params.fmax_for(sr)
    if params.scale == "mel":
        return ("mel", sr, params.n_fft, params.n_mels, float(params.fmin), fmax, params.htk, params.norm)
    return ("log", sr, params.n_fft, params.log_fmin(), fmax, params.bins_per_octave)


@lru_cache(maxsize=32)
def _weights_cached(key: tuple[object, ...]) -> RowWeights:
    if key[0] == "mel":
        dense = _mel_filterbank_cached(*key[1:])  # type: ignore[arg-type]
        rows, cols = np.nonzero(dense)
        return RowWeights.from_triplets(rows, cols, dense[rows, cols], dense.shape)
    return _logfreq_cached(*key[1:])  # type: ignore[arg-type]


def row_projection(params: SpectrogramParams) -> sparse.csr_array | None:
    """:func:`row_weights` as a scipy sparse matrix (imports scipy.sparse).

    Returns
    -------
    (n_rows, 1 + n_fft // 2) float32 CSR, or None for the linear scale.
    """
    from scipy import sparse

    weights = row_weights(params)
    if weights is None:
        return None
    return sparse.csr_array((weights.data, weights.indices, weights.indptr), shape=weights.shape)


#: Cost, in multiply-adds per frame, of one more matrix product call (numpy's
#: dispatch and BLAS set-up, about 2 us, spread over a block of frames);
#: :class:`BandedProjection` merges neighbouring rows while a merged product
#: costs less than two calls.
_CALL_COST = 192

#: OpenBLAS runs a product on its own threads above 4 * 65536 multiply-adds
#: (``GEMM_MULTITHREAD_THRESHOLD``); the engine's threads already use every
#: core, so each call stays under it.
_BLAS_SINGLE_THREAD = 4 * 65536


class BandedProjection:
    """A row projection (mel filters, log bands) as dense blocks of neighbouring rows.

    A filter touches a short run of consecutive FFT bins and neighbouring
    filters touch neighbouring runs, so the matrix is banded.  Rows are
    grouped greedily (a row joins the previous group while one product over
    the union of their bins costs less than a separate call, see
    :data:`_CALL_COST`) and each group is one dense BLAS product over its own
    bins: about 3x faster than a sparse CSR product, which runs one scalar
    multiply-add per stored weight.  Results equal the dense product ``values
    @ matrix.T`` to float32 rounding (the sum over bins runs in BLAS's order,
    which can round a row in the last bit differently with its place in the
    batch; the sparse product was batch-independent).

    Parameters
    ----------
    indptr, indices, data : CSR arrays of the ``(n_rows, n_bins)`` matrix
    n_bins : int
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n_bins: int) -> None:
        n_rows = len(indptr) - 1
        first = np.full(n_rows, n_bins, dtype=np.int64)
        last = np.full(n_rows, -1, dtype=np.int64)
        for r in range(n_rows):
            cols = indices[indptr[r] : indptr[r + 1]][data[indptr[r] : indptr[r + 1]] != 0]
            if cols.size:
                first[r], last[r] = cols.min(), cols.max()
        groups: list[list[int]] = []  # [row0, row1, bin0, bin1]
        for r in range(n_rows):
            if last[r] < 0:
                continue  # an all-zero row: left out of every product, written as zeros
            lo, hi = int(first[r]), int(last[r]) + 1
            if groups:
                g = groups[-1]
                m_lo, m_hi = min(g[2], lo), max(g[3], hi)
                merged = (r + 1 - g[0]) * (m_hi - m_lo)
                apart = (g[1] - g[0]) * (g[3] - g[2]) + (hi - lo) + _CALL_COST
                if merged <= apart:
                    g[1], g[2], g[3] = r + 1, m_lo, m_hi
                    continue
            groups.append([r, r + 1, lo, hi])
        blocks = []
        for r0, r1, k0, k1 in groups:
            weights = np.zeros((k1 - k0, r1 - r0), dtype=np.float32)
            for r in range(r0, r1):
                bins, values = indices[indptr[r] : indptr[r + 1]], data[indptr[r] : indptr[r + 1]]
                keep = values != 0  # stored zeros may lie outside the group's bins
                weights[bins[keep] - k0, r - r0] = values[keep]
            weights.setflags(write=False)
            blocks.append((r0, r1, k0, k1, weights))
        self.n_rows = n_rows
        self.n_bins = n_bins
        self.blocks = tuple(blocks)
        self._covered = sum(r1 - r0 for r0, r1, *_ in blocks) == n_rows

    def apply(self, values: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out[:] = values @ matrix.T``.

        Parameters
        ----------
        values : (n, n_bins) float32, unit stride along bins
        out : (n, n_rows) float32, unit stride along rows (a slice of a larger array is fine)

        Returns
        -------
        ``out``
        """
        n = values.shape[0]
        if not self._covered:
            out[:] = 0.0
        for r0, r1, k0, k1, weights in self.blocks:
            step = max(16, _BLAS_SINGLE_THREAD // ((r1 - r0) * (k1 - k0)) // 16 * 16)
            for i in range(0, n, step):
                np.matmul(values[i : i + step, k0:k1], weights, out=out[i : i + step, r0:r1])
        return out


def banded_projection(params: SpectrogramParams) -> BandedProjection | None:
    """:func:`row_weights` as a :class:`BandedProjection` (cached); None for the linear scale."""
    key = _scale_key(params)
    return None if key is None else _banded_cached(key)


@lru_cache(maxsize=32)
def _banded_cached(key: tuple[object, ...]) -> BandedProjection:
    weights = _weights_cached(key)
    return BandedProjection(weights.indptr, weights.indices, weights.data, weights.shape[1])
