"""Feature matrices for datasets, streamed: memory does not grow with the file's length.

A log-mel matrix of a long recording is computed block by block (decode,
resample with state, streaming STFT, dB) and its columns are written straight
into a C-order ``(n_mels, n_frames)`` NPY file on disk, so a three-hour file
needs no more memory than a three-second one.  The result equals, to the
sample, the log-mel of the whole signal computed at once
(:class:`~spectroview.dsp.StreamingSpectrogram` is exact for any partition and
:class:`~spectroview.audio.resample.Resampler` for any blocks).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from spectroview.audio.files import AudioInfo, FileSource
from spectroview.audio.resample import Resampler, resampled_length
from spectroview.dsp import SpectrogramParams, StreamingSpectrogram, power_to_db

__all__ = [
    "LOGMEL_AMIN",
    "NpyColumnWriter",
    "RunningStats",
    "logmel_blocks",
    "logmel_frames",
    "source_entry",
]

#: Power floor of ``10 log10(max(amin, mel power))``, librosa's default ``amin``.
LOGMEL_AMIN = 1e-10

#: Samples decoded per block (mono float32: 1 MiB).
BLOCK_SAMPLES = 1 << 18


def logmel_frames(n_samples: int, orig_sr: int, params: SpectrogramParams) -> int:
    """Columns :func:`logmel_blocks` yields for a file of ``n_samples`` at ``orig_sr``."""
    sr = int(params.require_sr())
    return StreamingSpectrogram(sr, params).pending_frames(resampled_length(n_samples, orig_sr, sr))


def logmel_blocks(
    source: FileSource,
    params: SpectrogramParams,
    *,
    amin: float = LOGMEL_AMIN,
    progress: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """``source``'s log-mel columns, in time order, block by block.

    Parameters
    ----------
    source : FileSource
        Read from start to end (mono: its channel or mixdown).
    params : SpectrogramParams
        ``scale="mel"``, bound to the output rate ``sr``; the file is
        resampled to it first (soxr HQ) when its rate differs.
    amin : float
        Power floor.
    progress : callable(int), optional
        Called with the source samples read so far.

    Yields
    ------
    (n_mels, m) float32
        ``10 log10(max(amin, mel power))`` dB re 1.0 (full scale +-1).
    """
    sr = int(params.require_sr())
    resampler = Resampler(source.info.samplerate, sr)
    stream = StreamingSpectrogram(sr, params)
    done = 0
    for block in source.blocks(BLOCK_SAMPLES):
        done += block.shape[0]
        for columns in stream.push_bounded(resampler.process(block), reuse=True):  # _db copies
            if columns.shape[1]:
                yield _db(columns, amin)
        if progress is not None:
            progress(done)
    for columns in itertools.chain(
        stream.push_bounded(resampler.flush(), reuse=True), stream.flush_bounded(reuse=True)
    ):
        if columns.shape[1]:
            yield _db(columns, amin)


def _db(power: np.ndarray, amin: float) -> np.ndarray:
    return np.ascontiguousarray(power_to_db(power, ref=1.0, amin=amin, top_db=None), dtype=np.float32)


class RunningStats:
    """Count, mean and sum of squared deviations of values seen in blocks (Chan et al. 1979).

    ``std`` is the population standard deviation (ddof=0) of every value,
    computed in float64 without holding the values.
    """

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0

    def add(self, values: np.ndarray) -> None:
        x = np.asarray(values, dtype=np.float64).ravel()
        if x.size == 0:
            return
        mean = float(x.mean())
        m2 = float(np.square(x - mean).sum())
        self.merge(x.size, mean, m2)

    def merge(self, count: int, mean: float, m2: float) -> None:
        if count == 0:
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean += delta * count / total
        self.m2 += m2 + delta * delta * self.count * count / total
        self.count = total

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count else 0.0


class NpyColumnWriter:
    """A C-order ``(n_rows, n_cols)`` float32 NPY file filled column block by column block.

    The header is written first (the shape is known), then each row's
    segment of a block of columns goes to its place with ``os.pwrite``:
    memory holds at most ``buffer_cols`` columns.

    Raises
    ------
    ValueError
        More or fewer columns than announced (a bug in the caller).
    """

    def __init__(self, path: str | os.PathLike[str], n_rows: int, n_cols: int, *, buffer_cols: int = 8192) -> None:
        self.path = os.fspath(path)
        self.n_rows, self.n_cols = n_rows, n_cols
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype("<f4")),
            "fortran_order": False,
            "shape": (n_rows, n_cols),
        }
        self._fh = open(self.path, "w+b")  # read back by standardize()
        np.lib.format.write_array_header_1_0(self._fh, header)
        self._fh.flush()
        self.offset = self._fh.tell()
        self._fd = self._fh.fileno()
        os.ftruncate(self._fd, self.offset + 4 * n_rows * n_cols)
        self._buffer = np.empty((n_rows, max(1, min(buffer_cols, n_cols))), dtype="<f4")
        self._filled = 0
        self.written = 0

    def write(self, columns: np.ndarray) -> None:
        """Append (n_rows, m) columns."""
        m = columns.shape[1]
        if self.written + self._filled + m > self.n_cols:
            raise ValueError(f"{self.path}: more than the {self.n_cols} columns announced")
        i = 0
        while i < m:
            take = min(m - i, self._buffer.shape[1] - self._filled)
            self._buffer[:, self._filled : self._filled + take] = columns[:, i : i + take]
            self._filled += take
            i += take
            if self._filled == self._buffer.shape[1]:
                self._drain()

    def _drain(self) -> None:
        if not self._filled:
            return
        for r in range(self.n_rows):
            at = self.offset + 4 * (r * self.n_cols + self.written)
            data = np.ascontiguousarray(self._buffer[r, : self._filled]).tobytes()
            os.pwrite(self._fd, data, at)
        self.written += self._filled
        self._filled = 0

    def standardize(self, mean: float, std: float) -> None:
        """Replace every value ``x`` by ``(x - mean) / std`` (``std`` 0: by ``x - mean``), row by row."""
        self._drain()
        scale = np.float64(std if std > 0 else 1.0)
        row_bytes = 4 * self.n_cols
        for r in range(self.n_rows):
            at = self.offset + r * row_bytes
            row = np.frombuffer(os.pread(self._fd, row_bytes, at), dtype="<f4")
            os.pwrite(self._fd, ((row - mean) / scale).astype("<f4").tobytes(), at)

    def abort(self) -> None:
        """Close the file without finishing it (an error stopped the writing; the caller removes it)."""
        self._fh.close()

    def close(self) -> None:
        """Write what is buffered; check every column arrived."""
        try:
            self._drain()
            if self.written != self.n_cols:
                raise ValueError(f"{self.path}: {self.written} columns written of the {self.n_cols} announced")
            self._fh.flush()
            os.fsync(self._fd)
        finally:
            self._fh.close()


def source_entry(info: AudioInfo, *, warnings: tuple[str, ...] | None = None) -> dict[str, object]:
    """What a sidecar says of its source: the file, how it was decoded, the damage found (``warnings``)."""
    return {
        "path": info.path,
        "samplerate": info.samplerate,
        "channels": info.channels,
        "frames": info.frames,
        "duration_s": info.duration,
        "format": info.format,
        "subtype": info.subtype,
        "codec": info.codec,
        "bit_rate": info.bit_rate,
        "sample_format": info.sample_format,
        "decoder": info.decoder,
        "stream": info.stream + 1,
        "streams": info.streams,
        "warnings": list(info.warnings if warnings is None else warnings),
    }


@dataclass(frozen=True)
class LogmelOutcome:
    """What writing one log-mel file found: the statistics of its values (before any standardization)."""

    count: int
    mean: float
    m2: float
    std: float
