"""Feature matrices for datasets, streamed: memory does not grow with the file's length.

:func:`write_features` writes one file's front-end matrix
(:mod:`spectroview.dsp.frontends`) as NPY with a JSON sidecar, replaced
together.  A mel front end of a long recording is computed block by block
(decode, resample with state, streaming STFT, mel, log) and its columns are
written straight into a C-order ``(n_mels, n_frames)`` NPY on disk, so a
three-hour file needs no more memory than a three-second one; the result
equals the front end of the whole signal at once (the streaming STFT is exact
for any partition, :class:`~spectroview.audio.resample.Resampler` for any
blocks).  A model input (Whisper, AST) reads only its first window.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spectroview import __version__
from spectroview._atomic import atomic_files
from spectroview.audio.files import AudioInfo, FileSource, open_counted
from spectroview.audio.resample import Resampler, resample, resampled_length
from spectroview.batch.errors import BatchError
from spectroview.dsp.frontends import FrontEnd, FrontEndStream
from spectroview.dsp.names import ParameterError

__all__ = [
    "BatchError",
    "FeatureOutcome",
    "FeatureRequest",
    "NpyColumnWriter",
    "RunningStats",
    "check_replaceable",
    "feature_stats",
    "front_end_blocks",
    "source_entry",
    "write_features",
]

#: Samples decoded per block (mono float32: 1 MiB).
BLOCK_SAMPLES = 1 << 18

RESAMPLER = "soxr HQ (librosa's default res_type='soxr_hq')"


def front_end_blocks(
    source: FileSource,
    front_end: FrontEnd,
    *,
    progress: Callable[[int], None] | None = None,
    threads: int | None = None,
) -> Iterator[np.ndarray]:
    """``source``'s mel front-end columns in time order, block by block (``top_db`` not applied).

    Parameters
    ----------
    source : FileSource
        Read from start to end (mono: its channel or mixdown).
    front_end : FrontEnd
        A mel front end bound to its rate; the file is resampled to it first
        (soxr HQ) when its rate differs.
    progress : callable(int), optional
        Called with the source samples read so far.
    threads : int or None
        The engine's threads (None: one per core).

    Yields
    ------
    (n_mels, m) float32, C order
        New arrays (they may be kept).
    """
    sr = front_end.require_sr()
    resampler = Resampler(source.info.samplerate, sr)
    stream = FrontEndStream(front_end, workers=threads)
    done = 0
    for block in source.blocks(BLOCK_SAMPLES):
        done += block.shape[0]
        yield from stream.push(resampler.process(block))
        if progress is not None:
            progress(done)
    yield from itertools.chain(stream.push(resampler.flush()), stream.flush())


class RunningStats:
    """Count, mean and sum of squared deviations of values seen in blocks (Chan et al. 1979).

    ``std`` is the population standard deviation (ddof=0) of every value,
    computed in float64 without holding the values.
    """

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.maximum = -math.inf

    def add(self, values: np.ndarray) -> None:
        x = np.asarray(values, dtype=np.float64).ravel()
        if x.size == 0:
            return
        self.maximum = max(self.maximum, float(x.max()))
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

    def map_rows(self, change: Callable[[np.ndarray], np.ndarray]) -> None:
        """Replace each row ``x`` (float32, read back from the file) by ``change(x)``, one row in memory."""
        self._drain()
        row_bytes = 4 * self.n_cols
        for r in range(self.n_rows):
            at = self.offset + r * row_bytes
            row = np.frombuffer(os.pread(self._fd, row_bytes, at), dtype="<f4")
            os.pwrite(self._fd, np.asarray(change(row), dtype="<f4").tobytes(), at)

    def standardize(self, mean: float, std: float) -> None:
        """Replace every value ``x`` by ``(x - mean) / std`` (``std`` 0: by ``x - mean``), row by row."""
        scale = np.float64(std if std > 0 else 1.0)
        self.map_rows(lambda row: (row - mean) / scale)

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
class FeatureRequest:
    """What ``features`` writes for every file: the front end and what is done around it.

    Attributes
    ----------
    front_end : FrontEnd
        The preset with its parameters; an unbound librosa front end takes each file's rate.
    channel : int or None
        1-based channel; None mixes all channels down (their mean, as ``librosa.load``).
    stream : int or None
        1-based audio stream of a file with several (None: the first).
    normalize : bool
        Standardize each file's matrix by its own mean and population std (mel front ends).
    dataset : (mean, std) or None
        Standardize by these instead (``--dataset-stats``); ``stats_path`` says where they are recorded.
    check_hop : bool
        Refuse a hop longer than the file (a hop the user chose).
    threads : int or None
        The engine's threads (None: one per core); not part of the output's identity.
    """

    front_end: FrontEnd
    channel: int | None = None
    stream: int | None = None
    normalize: bool = False
    dataset: tuple[float, float] | None = None
    stats_path: str | None = None
    check_hop: bool = False
    threads: int | None = None

    def key(self) -> dict[str, Any]:
        """JSON-ready: everything that decides the output's values (what ``--resume`` compares)."""
        return {
            "spectroview": __version__,
            "front_end": dataclasses.asdict(self.front_end),
            "channel": self.channel,
            "stream": self.stream,
            "normalize": self.normalize,
            "dataset": None if self.dataset is None else list(self.dataset),
        }


@dataclass(frozen=True)
class FeatureOutcome:
    """What computing one file found: its output's shape, the damage met, its values' statistics.

    ``count``, ``mean``, ``m2`` are over the values before any
    standardization (after ``top_db``), for dataset statistics.
    """

    source: str
    shape: tuple[int, ...]
    duration_s: float
    samplerate: int
    nonfinite: int
    warnings: tuple[str, ...]
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0


def _source_key(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        st = os.stat(path)
    except OSError:  # gone or unreadable: its outputs can never be current (reading it will say why)
        return {"size": None, "mtime_ns": None}
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def check_replaceable(*outputs: str | os.PathLike[str] | None) -> None:
    """Refuse to replace files that are not earlier outputs of this command.

    An output pair (``OUT.npy``, ``OUT.json``) may replace an earlier pair,
    recognised by its sidecar; a ``.json`` or ``.npy`` of the user's own that
    merely has the name is left alone.

    Raises
    ------
    BatchError
        One of them exists and is not a sidecar of spectroview, or its NPY has no such sidecar.
    """
    for out in outputs:
        if out is None:
            continue
        npy = Path(out)
        sidecar = npy.with_suffix(".json")
        for path in (npy, sidecar):
            if path.exists() and not path.is_file():
                raise BatchError(f"{path}: exists and is not a file; not replaced")
        if not npy.exists() and not sidecar.exists():
            continue
        try:
            meta = json.loads(sidecar.read_text())
            ours = isinstance(meta, dict) and "spectroview" in meta and "shape" in meta
        except (OSError, ValueError):
            ours = False
        if not ours:
            which = sidecar if sidecar.exists() else npy
            raise BatchError(
                f"{which}: exists and is not an earlier output of spectroview features (no sidecar of ours); "
                "not replaced: move it or choose another output"
            )


def resume_key(source: str | os.PathLike[str], request: FeatureRequest, patches: bool) -> dict[str, Any]:
    """What an existing sidecar must record for ``--resume`` to keep its output: the request and the source's size and time."""
    return {**request.key(), "patches": patches, "source": _source_key(source)}


def write_features(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    request: FeatureRequest,
    *,
    patches_out: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FeatureOutcome:
    """Compute ``src``'s front-end matrix and write it to ``out`` (NPY) with ``out.json``, replaced together.

    Parameters
    ----------
    src : path
        An audio file.
    out : path
        The NPY: float32 ``(n_mels, n_frames)`` C order.  The sidecar names
        the preset, every parameter, the source, the axes and the resume key.
    patches_out : path, optional
        AST only: also the model's 16x16 patches (N, 16, 16) float32.
    progress : callable(done, total), optional
        Source samples read so far, of how many (mel front ends).

    Raises
    ------
    AudioError
        The file cannot be decoded.
    BatchError, ParameterError
        The request does not apply to this file.
    OSError
        An output cannot be written (nothing is left half-written).
    """
    fe = request.front_end
    check_replaceable(out)
    if patches_out is not None and Path(patches_out).exists() and not Path(out).with_suffix(".json").exists():
        raise BatchError(f"{patches_out}: exists and is not an earlier output of spectroview features; not replaced")
    if fe.streaming:
        return _mel_file(src, Path(out), request, progress=progress)
    return _model_input_file(src, Path(out), request, None if patches_out is None else Path(patches_out))


def feature_stats(src: str | os.PathLike[str], request: FeatureRequest) -> FeatureOutcome:
    """``src``'s values' count, mean and squared deviations (mel front ends), nothing written."""
    return _mel_file(src, None, request)


def _mel_file(
    src: str | os.PathLike[str],
    out: Path | None,
    request: FeatureRequest,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> FeatureOutcome:
    from spectroview._memory import format_bytes

    key = None if out is None else resume_key(src, request, False)
    group: Any = atomic_files([out, out.with_suffix(".json")]) if out is not None else contextlib.nullcontext(("", ""))
    with group as temps, open_counted(src, channel=request.channel, stream=request.stream) as source:
        info = source.info
        fe = request.front_end.bind(info.samplerate)
        sr = fe.require_sr()
        read = None if progress is None else (lambda done: progress(done, info.frames))
        n = resampled_length(info.frames, info.samplerate, sr)
        if request.check_hop and n > 0 and fe.hop_length > n:
            raise ParameterError(
                f"hop_length={fe.hop_length}: longer than the signal ({n} samples, {n / sr:.3g} s); at most {n}"
            )
        n_frames = fe.n_frames(n)
        if n_frames == 0:
            raise BatchError(
                f"{source.path}: too short for one frame ({n} samples at {sr} Hz; with --no-center a frame "
                f"needs n_fft = {fe.n_fft})"
            )
        if out is not None:
            need = 4 * fe.n_rows * n_frames
            free = _free_bytes(out.parent)
            margin = 1 << 20  # the sidecar and the file system's own needs
            if free is not None and need + margin > free:
                fits = (
                    f"a --hop of at least {math.ceil(fe.hop_length * need / (free - margin))} fits"
                    if free > margin
                    else "free some space"
                )
                raise BatchError(
                    f"-o {out}: the features need about {format_bytes(need)} (and 1 MB to spare) and "
                    f"{out.parent} has {format_bytes(free)} free; {fits}"
                )
        stats = RunningStats()
        floor = None
        if out is None:
            if fe.top_db is not None:  # the clamp needs the whole file's maximum first
                peak = max(
                    (float(c.max()) for c in front_end_blocks(source, fe, threads=request.threads)), default=-math.inf
                )
                floor = np.float32(peak - fe.top_db)
            for columns in front_end_blocks(source, fe, progress=read, threads=request.threads):
                stats.add(columns if floor is None else np.maximum(columns, floor))
            return _outcome(source, (fe.n_rows, n_frames), sr, stats)
        entry = None
        writer = NpyColumnWriter(temps[0], fe.n_rows, n_frames)
        try:
            for columns in front_end_blocks(source, fe, progress=read, threads=request.threads):
                stats.add(columns)
                writer.write(columns)
            if fe.top_db is not None and n_frames:
                low = np.float32(stats.maximum - fe.top_db)
                clamped = RunningStats()

                def clamp(row: np.ndarray) -> np.ndarray:
                    row = np.maximum(row, low)
                    clamped.add(row)
                    return row

                writer.map_rows(clamp)
                stats = clamped
            if request.dataset is not None:
                mean, std = request.dataset
                entry = {"mean": mean, "std": std, "scope": "dataset", "stats": request.stats_path}
                writer.standardize(mean, std)
            elif request.normalize:
                entry = {"mean": stats.mean, "std": stats.std}
                writer.standardize(stats.mean, stats.std)
        except BaseException:
            writer.abort()  # the error that stopped the writing is the one to report
            raise
        writer.close()
        done = _outcome(source, (fe.n_rows, n_frames), sr, stats)
        centres, edges = fe.row_frequencies()
        times = fe.frame_times(1)
        recipe = fe.recipe()
        meta = {
            **_sidecar_head(fe, recipe, info, done.warnings, request),
            "resampled": sr != info.samplerate,
            "resampler": RESAMPLER if sr != info.samplerate else None,
            "values": recipe["values"],
            "normalize": entry,
            "shape": [fe.n_rows, n_frames],
            "dtype": "float32",
            "axes": {
                "rows": "mel bands, low to high",
                "mel_center_hz": centres.tolist(),
                "mel_edge_hz": edges.tolist(),
                "columns": "frames; time of frame t's centre in seconds = time_start_s + t * time_step_s",
                "time_start_s": float(times[0]),
                "time_step_s": fe.hop_length / sr,
            },
            "nonfinite_samples_zeroed": done.nonfinite,
            "resume_key": key,
        }
        Path(temps[1]).write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n")
    return done


def _free_bytes(folder: Path) -> int | None:
    import shutil

    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None  # cannot tell: the write itself reports a full disk


def _outcome(source: FileSource, shape: tuple[int, ...], sr: int, stats: RunningStats) -> FeatureOutcome:
    return FeatureOutcome(
        source=str(source.path),
        shape=shape,
        duration_s=source.info.duration,
        samplerate=sr,
        nonfinite=source.nonfinite_count,
        warnings=tuple(source.warnings),
        count=stats.count,
        mean=stats.mean,
        m2=stats.m2,
    )


def _sidecar_head(
    fe: FrontEnd, recipe: dict[str, Any], info: AudioInfo, warnings: tuple[str, ...], request: FeatureRequest
) -> dict[str, Any]:
    """What every sidecar starts with: the version, the preset and its recipe, the source, the channel."""
    return {
        "spectroview": __version__,
        "preset": fe.name,
        "front_end": recipe,
        "params": recipe["parameters"],
        "source": source_entry(info, warnings=warnings),
        "channel": "mix" if request.channel is None else request.channel,
    }


def read_model_window(
    source: FileSource, fe: FrontEnd, start: int = 0, stop: int | None = None, *, needed: int | None = None
) -> np.ndarray:
    """The ``needed`` samples (default: one model input's) from source frame ``start``, at ``fe.sr`` (soxr HQ).

    Reads the window and a margin for the resampler's filter (far beyond it:
    a twentieth of a second), never the whole file; ``stop`` (a selection's
    end) limits what is read.  The samples equal those of the whole file
    resampled, up to the window's end; fewer where the file or ``stop`` ends first.
    """
    sr_in = source.info.samplerate
    sr = fe.require_sr()
    needed = int(fe.window_samples or 0) if needed is None else int(needed)
    end = source.info.frames if stop is None else min(source.info.frames, stop)
    hi = min(end, start + -(-needed * sr_in // sr) + sr_in // 20)
    return resample(source.read(start, max(start, hi)), orig_sr=sr_in, target_sr=sr)[:needed]


def _model_input_file(
    src: str | os.PathLike[str], out: Path, request: FeatureRequest, patches_out: Path | None
) -> FeatureOutcome:
    """Compute and write ``src``'s model input (Whisper, AST; and AST's patches) and sidecar."""
    from spectroview.dsp import ast

    fe = request.front_end
    sr = fe.require_sr()
    key = resume_key(src, request, patches_out is not None)
    with open_counted(src, channel=request.channel, stream=request.stream) as source:
        info = source.info
        n = resampled_length(info.frames, info.samplerate, sr)
        audio_frames = fe.audio_frames(n)
        if fe.valid_frames(n) == 0 or n == 0:
            raise BatchError(
                f"{source.path}: too short for --preset {fe.name} ({info.frames} samples at {info.samplerate} Hz); "
                f"one frame needs {1000 * fe.win_length / sr:g} ms"
            )
        y = read_model_window(source, fe)
        nonfinite = source.nonfinite_count
        features = fe.compute(y)
    target = int(fe.target_length or 0)
    patches = grid = None
    if patches_out is not None:
        patches, grid = ast.ast_patches(features, patch=ast.AST_PATCH, stride=ast.AST_PATCH_STRIDE)
    centres, edges = fe.row_frequencies()
    valid = fe.valid_frames(n)
    recipe = fe.recipe()
    meta = {
        **_sidecar_head(fe, recipe, info, tuple(source.warnings), request),
        "source_samplerate": info.samplerate,
        "samplerate": sr,
        "resampled": info.samplerate != sr,
        "resampler": RESAMPLER if info.samplerate != sr else None,
        **(ast.ast_recipe(target) if fe.kind == "ast" else {}),
        "values": recipe["values"],
        "n_frames": audio_frames,
        "padding": {
            "action": "padded" if audio_frames < target else "cut" if audio_frames > target else "none",
            "padded_frames": max(0, target - audio_frames),
            "cut_frames": max(0, audio_frames - target),
            # AST pads a zero fbank, normalized; Whisper pads the audio with zeros (no constant value).
            "pad_value": (0.0 - ast.AST_MEAN) / (2.0 * ast.AST_STD) if fe.kind == "ast" else None,
        },
        "shape": list(features.shape),
        "dtype": "float32",
        "axes": {
            "rows": f"mel bands{' on the Kaldi scale' if fe.kind == 'ast' else ''}, low to high",
            "mel_center_hz": centres.tolist(),
            "mel_edge_hz": edges.tolist(),
            "columns": "frames; frame t's centre is time_start_s + t * time_step_s from the file's start; "
            "columns >= valid_columns are padding",
            "time_start_s": float(fe.frame_times(1)[0]),
            "time_step_s": fe.hop_length / sr,
            "frame_length_s": fe.win_length / sr,
            "valid_columns": valid,
        },
        "patches": None
        if patches is None or grid is None or patches_out is None
        else {
            "path": str(patches_out),
            "shape": list(patches.shape),
            "dtype": "float32",
            "grid": list(grid),
            "order": "row-major over (frequency, time): patch i * grid[1] + j = "
            "features[stride*i : stride*i + patch, stride*j : stride*j + patch], as AST's Conv2d patch "
            "embedding flattens them",
        },
        "nonfinite_samples_zeroed": nonfinite,
        "resume_key": key,
    }
    # The matrix, its patches and the sidecar are replaced together, or none is.
    group = [out, out.with_suffix(".json")] + ([patches_out] if patches is not None and patches_out else [])
    with atomic_files(group) as temps:
        _save_npy(temps[0], features)
        Path(temps[1]).write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n")
        if patches is not None and len(temps) > 2:
            _save_npy(temps[2], patches)
    return FeatureOutcome(
        source=str(source.path),
        shape=tuple(features.shape),
        duration_s=info.duration,
        samplerate=sr,
        nonfinite=nonfinite,
        warnings=tuple(source.warnings),
    )


def _save_npy(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, array)
