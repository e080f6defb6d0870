"""Level of detail: fit many frames (or rows) into fewer pixels without skipping any.

When a spectrogram has more frames than the image has columns, each column
shows the **maximum power** of all the frames it covers (a peak cache, as in
Sonic Visualiser), so a click one frame long still shows at any zoom.
Picking one frame per column would drop it; averaging would dim it.
"""

from __future__ import annotations

import numpy as np

from spectroview.dsp.params import ParameterError

__all__ = ["ColumnPooler", "max_by_segments", "pixel_bounds", "pool_rows"]


def pixel_bounds(n_items: int, n_pixels: int) -> np.ndarray:
    """First item of each pixel when ``n_items >= n_pixels`` items share ``n_pixels``.

    Pixel ``p`` covers items ``[bounds[p], bounds[p + 1])``, with
    ``bounds[p] = ceil(p * n_items / n_pixels)``: every item falls in exactly
    one pixel and pixels differ in size by at most one item.

    Returns
    -------
    (n_pixels + 1,) int64
    """
    if n_items < n_pixels:
        raise ParameterError(f"n_items={n_items}: pooling needs at least n_pixels={n_pixels} items")
    p = np.arange(n_pixels + 1, dtype=np.int64)
    return -((-p * n_items) // n_pixels)


def max_by_segments(items: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Maximum over consecutive segments of ``items`` along axis 0.

    Parameters
    ----------
    items : (n, ...) array, C-contiguous along axis 0 for speed
    starts : (k,) int, increasing, ``starts[0] == 0``
        Segment ``i`` is ``items[starts[i]:starts[i + 1]]`` (the last runs to ``n``).

    Returns
    -------
    (k, ...) array of ``items``' dtype.
    """
    n = items.shape[0]
    if n >= 8 * starts.shape[0]:
        # Long segments: one max per segment over contiguous rows is ~8x
        # faster than ufunc.reduceat, which the loop's cost amortizes.
        out = np.empty((starts.shape[0], *items.shape[1:]), dtype=items.dtype)
        ends = np.append(starts[1:], n)
        for i, (s0, s1) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            items[s0:s1].max(axis=0, out=out[i])
        return out
    # Short segments (under 8 on average): gather the j-th item of every
    # segment and take the running max; a few whole-array passes instead of
    # ufunc.reduceat's per-segment inner loops (~10x faster here).
    lengths = np.diff(np.append(starts, n))
    out = items[starts]
    for j in range(1, int(lengths.max())):
        longer = lengths > j
        if longer.all():
            np.maximum(out, items[starts + j], out=out)
        else:
            sel = np.flatnonzero(longer)
            out[sel] = np.maximum(out[sel], items[starts[sel] + j])
    return out


def pool_rows(matrix: np.ndarray, height: int) -> np.ndarray:
    """Resample rows to ``height``: max over covered rows, or repeat when fewer.

    Parameters
    ----------
    matrix : (n_rows, n_cols) float
        Row 0 is the lowest frequency.
    height : int
        Output rows, >= 1.

    Returns
    -------
    (height, n_cols) of matrix's dtype; row 0 is still the lowest frequency.
        Output row ``p`` covers input rows ``[p * n_rows / height,
        (p + 1) * n_rows / height)``, so the axis mapping stays linear in
        the scale's own units (Hz, mel or log-Hz).
    """
    n_rows = matrix.shape[0]
    if height < 1:
        raise ParameterError(f"height={height}: must be >= 1")
    if n_rows >= height:
        return max_by_segments(matrix, pixel_bounds(n_rows, height)[:-1])
    index = (np.arange(height) * n_rows) // height
    return matrix[index]


class ColumnPooler:
    """Max-pools a stream of spectrogram columns into ``width`` image columns.

    Parameters
    ----------
    n_rows : int
        Rows of every column pushed.
    n_frames : int
        Total frames that will be pushed (known from the signal length).
    width : int
        Image columns, >= 1.  With fewer frames than columns each frame is
        repeated over the columns it spans instead.

    Notes
    -----
    Memory is one ``(n_rows, min(width, n_frames))`` float32 accumulator:
    a one-hour file renders with the same memory as a one-second one.
    """

    def __init__(self, n_rows: int, n_frames: int, width: int) -> None:
        if width < 1:
            raise ParameterError(f"width={width}: must be >= 1")
        if n_frames < 1:
            raise ParameterError(f"n_frames={n_frames}: nothing to render")
        self.n_rows = n_rows
        self.n_frames = n_frames
        self.width = width
        self._n_cols = min(width, n_frames)
        # Kept as (columns, rows): the engine's output is Fortran-ordered, so
        # its transpose is C-contiguous and reduceat runs over whole
        # contiguous frames instead of striding across them.
        self._acc_t = np.zeros((self._n_cols, n_rows), dtype=np.float32)
        # Column of each frame: frames [bounds[c], bounds[c+1]) go to column c.
        self._bounds = pixel_bounds(n_frames, self._n_cols)
        self._seen = 0

    @property
    def frames_seen(self) -> int:
        """Frames pushed so far."""
        return self._seen

    @property
    def bounds(self) -> np.ndarray:
        """First frame of each pooled column, plus ``n_frames``: ``(n_cols + 1,)`` int64."""
        return self._bounds

    @property
    def columns(self) -> np.ndarray:
        """The accumulator as ``(n_cols, n_rows)`` float32 (a view; filled as frames arrive)."""
        return self._acc_t

    def push(self, columns: np.ndarray) -> None:
        """Add the next ``columns`` (n_rows, k) frames, in stream order."""
        k = columns.shape[1]
        if k == 0:
            return
        t0, t1 = self._seen, self._seen + k
        if t1 > self.n_frames:
            raise ParameterError(f"pushed {t1} frames: more than n_frames={self.n_frames}")
        if self._n_cols == self.n_frames:  # one frame per column: nothing to pool
            self._acc_t[t0:t1] = columns.T
            self._seen = t1
            return
        c0 = int(np.searchsorted(self._bounds, t0, side="right")) - 1
        c1 = int(np.searchsorted(self._bounds, t1 - 1, side="right")) - 1
        # Segment starts inside this chunk, relative to t0: the chunk's first
        # frame, then every column boundary that falls inside the chunk.
        starts = np.concatenate([[0], self._bounds[c0 + 1 : c1 + 1] - t0])
        target = self._acc_t[c0 : c1 + 1]
        np.maximum(target, max_by_segments(columns.T, starts), out=target)
        self._seen = t1

    def fill(self, columns: np.ndarray, *, copy: bool = True) -> None:
        """Set every column at once, as if all ``n_frames`` had been pushed (a saved result).

        Parameters
        ----------
        columns : (n_cols, n_rows) float32, the layout of :attr:`columns`
        copy : bool
            False: ``columns`` (C-contiguous, writeable) becomes the
            accumulator itself, and the caller must not use it afterwards.

        Raises
        ------
        ParameterError
            A shape or dtype other than the accumulator's.
        """
        if columns.shape != self._acc_t.shape or columns.dtype != self._acc_t.dtype:
            raise ParameterError(
                f"columns: shape {columns.shape} {columns.dtype}, expected {self._acc_t.shape} {self._acc_t.dtype}"
            )
        if not copy and columns.flags.c_contiguous and columns.flags.writeable:
            self._acc_t = columns  # adopted, not copied: an overview can be 100 MB
        else:
            self._acc_t[...] = columns
        self._seen = self.n_frames

    def result(self) -> np.ndarray:
        """The pooled image, (n_rows, width) float32; columns never pushed stay 0."""
        if self._n_cols == self.width:
            return self._acc_t.T
        index = (np.arange(self.width) * self.n_frames) // self.width
        return self._acc_t[index].T
