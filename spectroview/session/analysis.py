"""Spectrum slice, pitch track and the model's input: the numbers behind the analysis tools, without Qt.

Each is a pure function of a source and a time range; the viewer runs them
as scheduler jobs (lanes ``slice``, ``pitch`` and ``model``), never on the GUI thread.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from spectroview import __version__
from spectroview._atomic import atomic_files
from spectroview.audio.files import FileSource
from spectroview.dsp import ParameterError, Peak, SpectrogramParams, find_peaks, stft_power, yin
from spectroview.dsp.frontends import FrontEnd, front_end
from spectroview.dsp.mel import banded_projection
from spectroview.session.view import full_scale_reference, levels_dbfs

__all__ = [
    "MODEL_WINDOW_SECONDS",
    "PEAK_RANGE_DB",
    "PITCH_MAX_SECONDS",
    "SLICE_MAX_SECONDS",
    "ModelInput",
    "Slice",
    "export_model_windows",
    "model_input",
    "model_windows",
    "pitch_track",
    "slice_spectrum",
]

#: Length of one model input (s): AST's 1024 frames at its reference's 10 ms frame shift.
MODEL_WINDOW_SECONDS = 10.24
#: Length of one window of a mel front end (which has no input length of its own) in the model view (s).
MEL_WINDOW_SECONDS = 10.0

#: Longest stretch averaged for the slice of a selection (s): longer selections use their start.
SLICE_MAX_SECONDS = 60.0
#: Longest view the pitch track is computed for (s).
PITCH_MAX_SECONDS = 120.0
#: Peaks of a slice are listed down to this many dB below its loudest (the view's default range is 90).
PEAK_RANGE_DB = 80.0


@dataclasses.dataclass(frozen=True)
class Slice:
    """One spectrum: levels on the view's scale, and refined peaks from the linear spectrum."""

    rows_db: np.ndarray  # (n_rows,) dBFS on params.scale
    peaks: list[Peak]
    t0: float
    t1: float
    frames: int


def slice_spectrum(source: FileSource, params: SpectrogramParams, t0: float, t1: float | None = None) -> Slice:
    """The spectrum at ``t0`` (one frame), or averaged (power) over ``[t0, t1]`` s.

    Levels are dBFS on the view's scale; peaks are found and refined on the
    linear power spectrum (sub-bin accuracy), whatever the scale.
    """
    sr = params.require_sr()
    n = source.info.frames
    half = params.n_fft // 2
    if t1 is None or t1 - t0 < params.hop / sr:
        centre = round(t0 * sr)
        start, stop = centre - half, centre - half + params.n_fft
    else:
        t1 = min(t1, t0 + SLICE_MAX_SECONDS)
        start, stop = round(t0 * sr) - half, round(t1 * sr) + half
    x = np.zeros(stop - start, np.float32)
    lo, hi = max(0, start), min(n, stop)
    if hi > lo:
        x[lo - start : hi - start] = source.read(lo, hi)
    # One STFT: the peaks need the linear spectrum, and the view's rows are
    # its projection (mel or log), as the engine computes them.
    linear = stft_power(
        x, n_fft=params.n_fft, hop_length=params.hop, win_length=params.win, window=params.window, center=False
    )
    power = linear.mean(axis=1)
    values = linear if params.power == 2.0 else linear ** (params.power / 2.0)
    projection = banded_projection(params)
    if projection is not None:
        values = projection.apply(values.T, np.empty((values.shape[1], projection.n_rows), np.float32)).T
    rows = values.mean(axis=1)
    reference = full_scale_reference(params)
    rows_db = levels_dbfs(rows[:, None], reference, params.power)[:, 0]
    sine = full_scale_reference(dataclasses.replace(params, scale="linear"))[1]  # a sine (row 0 is DC)
    peaks = find_peaks(
        power / sine, sr=sr, n_fft=params.n_fft, max_peaks=8, min_prominence_db=10.0, floor_db=-100.0,
        window=params.window, win_length=params.win,
    )  # fmt: skip
    if peaks:
        # Bumps of the noise floor far below the loudest peak (a 16-bit file's DC at -90 dB
        # under a -6 dB tone) are not what a reader of this spectrum looks for.
        loudest = max(p.level_db for p in peaks)
        peaks = [p for p in peaks if p.level_db >= loudest - PEAK_RANGE_DB]
    return Slice(rows_db=rows_db, peaks=peaks, t0=t0, t1=t0 if t1 is None else t1, frames=linear.shape[1])


def pitch_track(source: FileSource, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """YIN f0 over ``[t0, t1]`` s: times (s) and f0 (Hz, NaN unvoiced)."""
    sr = source.info.samplerate
    lo, hi = max(0, math.floor(t0 * sr)), min(source.info.frames, math.ceil(t1 * sr))
    if hi - lo < sr // 20:
        return np.zeros(0), np.zeros(0)
    track = yin(source.read(lo, hi), sr=sr, fmin=50.0, fmax=2000.0)
    return track.times + lo / sr, track.f0


@dataclasses.dataclass(frozen=True)
class ModelInput:
    """A model front end's input for a stretch of a file.

    Attributes
    ----------
    features : (n_mels, n_columns) float32
        The front end's matrix (:meth:`spectroview.dsp.frontends.FrontEnd.compute`);
        AST: (128, 1024), Whisper: (80 or 128, 3000).
    patches : (n_patches, 16, 16) float32
        AST's patches; (0, 16, 16) for the other front ends.
    grid : (int, int)
        AST's patches along frequency and time; (0, 0) for the others.
    t0, t1 : float
        Start (on the source's sample grid) and the end of the last real frame, in s.
    n_frames : int
        Columns computed from audio; the rest (``>= n_frames``) are the reference's padding.
    front_end : FrontEnd
        What computed it (its geometry: :meth:`~spectroview.dsp.frontends.FrontEnd.frame_times`).
    """

    features: np.ndarray
    patches: np.ndarray
    grid: tuple[int, int]
    t0: float
    t1: float = math.inf
    n_frames: int = 1024
    front_end: FrontEnd = dataclasses.field(default_factory=lambda: front_end("ast"))

    def column_edges(self) -> tuple[float, float]:
        """Where the image's first column starts and its last ends, in the file's seconds (columns one hop wide)."""
        times = self.front_end.frame_times(1)
        step = self.front_end.hop_length / self.front_end.require_sr()
        start = self.t0 + float(times[0]) - step / 2
        return start, start + step * self.features.shape[1]


def window_seconds(fe: FrontEnd) -> float:
    """Length of one model input in s: AST 10.24 (1024 frames of 10 ms), Whisper 30; the mel front ends 10."""
    step = fe.window_step_samples
    return MEL_WINDOW_SECONDS if step is None else step / fe.require_sr()


def model_windows(t0: float, t1: float, duration: float, fe: FrontEnd | None = None) -> list[tuple[float, float]]:
    """The model inputs that cover ``[t0, t1]`` s of a file ``duration`` s long.

    One window per :func:`window_seconds` from ``t0`` (AST's by default:
    :data:`MODEL_WINDOW_SECONDS`): an AST input is 1024 frames at the
    reference's 10 ms frame shift, so window ``k`` holds frames
    ``1024 k .. 1024 k + 1023`` of the range's frame grid and every frame of
    the range is in exactly one window (Whisper: 30 s chunks, as its
    transcription loop cuts them); compute each with
    ``model_input(source, start, t1, fe)``.  ``t1 <= t0`` gives the one window from ``t0``.

    Returns
    -------
    list of (start, end)
        In s, within ``[0, duration]``; at least one; each at most one window
        long (the last ends at ``t1``).
    """
    length = window_seconds(front_end("ast") if fe is None else fe)  # AST's: MODEL_WINDOW_SECONDS
    t0 = min(max(0.0, float(t0)), max(0.0, float(duration)))
    t1 = min(float(t1), float(duration))
    if not t1 > t0:
        return [(t0, min(t0 + length, float(duration)))]
    count = max(1, math.ceil((t1 - t0) / length - 1e-9))
    return [(t0 + k * length, min(t0 + (k + 1) * length, t1)) for k in range(count)]


def model_input(source: FileSource, t0: float, t1: float | None = None, fe: FrontEnd | None = None) -> ModelInput:
    """The input of front end ``fe`` (AST by default) from ``t0`` s, resampled to its rate with soxr HQ.

    One window (:func:`window_seconds`) and a margin for the resampler's
    filter are read; no audio past ``t1`` s (a selection's end; None: the
    file's end), and frames that would need it are the reference's padding
    (``n_frames`` says how many are real).  A mel front end's window is
    not padded (as librosa and torchaudio do not pad): a window cut short by
    the range's end has fewer columns.
    """
    from spectroview.batch.features import read_model_window

    fe = front_end("ast") if fe is None else fe.bind(source.info.samplerate)
    sr_in = source.info.samplerate
    sr = fe.require_sr()
    lo = min(max(0, round(t0 * sr_in)), max(0, source.info.frames - 1))
    stop = None if t1 is None else max(lo + 1, round(t1 * sr_in))
    # A model input reads its own window (AST: 1024 frames = 164 080 samples); a mel front end, window_seconds.
    needed = None if fe.window_samples is not None else round(window_seconds(fe) * sr)
    y = read_model_window(source, fe, lo, stop, needed=needed)
    n_audio = y.shape[0]
    if fe.streaming and fe.n_frames(n_audio) == 0:
        raise ParameterError(
            f"n_fft={fe.n_fft}: longer than the {n_audio} samples of this stretch, and the frames are not centred"
        )
    features = fe.compute(y)  # a mel front end pads nothing: a short stretch gives fewer columns
    patches, grid = np.zeros((0, 16, 16), np.float32), (0, 0)
    if fe.kind == "ast":
        from spectroview.dsp.ast import ast_patches

        patches, grid = ast_patches(features)
    n_frames = min(fe.valid_frames(n_audio), features.shape[1])
    covered = 0.0
    if n_frames:
        last = float(fe.frame_times(n_frames)[-1])
        covered = min(n_audio / sr, last + fe.win_length / (2 * sr))
    return ModelInput(features, patches, grid, lo / sr_in, lo / sr_in + covered, n_frames, fe)


def export_model_windows(
    source: FileSource,
    windows: Sequence[tuple[float, float]],
    path: str | os.PathLike[str],
    *,
    channel: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    fe: FrontEnd | None = None,
) -> tuple[Path, Path]:
    """Write every window's model input as one NPY and a JSON sidecar beside it, replaced together.

    Parameters
    ----------
    source : FileSource
        The file (its channel choice already made).
    windows : sequence of (start, end)
        In s, from :func:`model_windows`: window ``k`` is ``model_input(source, start, windows[-1][1], fe)``.
    path : path-like
        The NPY file: ``(n_windows, n_mels, n_columns)`` float32 (AST:
        ``(n, 128, 1024)``); the sidecar is ``path`` with ``.json``: the
        preset, its reference and every parameter, each window's start, end
        and valid columns, the source.
    channel : int or None
        Recorded in the sidecar (None: the mix).
    progress : callable or None
        ``progress(done, total)`` after each window.
    fe : FrontEnd or None
        The front end (None: AST).

    Returns
    -------
    (npy_path, json_path)

    Raises
    ------
    OSError
        A file cannot be written (nothing is left half-written).
    """
    from spectroview.batch.features import source_entry
    from spectroview.dsp.ast import AST_MEAN, AST_STD, ast_recipe

    fe = front_end("ast") if fe is None else fe.bind(source.info.samplerate)
    out = Path(path)
    sidecar = out.with_suffix(".json")
    entries = []
    with atomic_files([out, sidecar]) as (npy_tmp, json_tmp):
        array = None
        try:
            stop = windows[-1][1] if windows else None
            for k, (a, _b) in enumerate(windows):
                data = model_input(source, a, stop, fe)
                if array is None:  # the shape is the front end's, known from the first (full) window
                    shape = (len(windows), *data.features.shape)
                    array = np.lib.format.open_memmap(npy_tmp, mode="w+", dtype=np.float32, shape=shape)
                    array[...] = np.nan  # a mel front end's last window may be shorter: NaN, no audio
                array[k, :, : data.features.shape[1]] = data.features  # one window in memory at a time
                entries.append({"start_s": data.t0, "end_s": data.t1, "valid_columns": data.n_frames})
                if progress is not None:
                    progress(k + 1, len(windows))
            if array is not None:
                array.flush()
                shape = array.shape
        finally:
            del array
        hop_s = fe.hop_length / fe.require_sr()
        recipe = fe.recipe()
        meta = {
            "spectroview": __version__,
            "preset": fe.name,
            "front_end": recipe,
            "source": source_entry(source.info, warnings=source.warnings),
            "channel": "mix" if channel is None else channel + 1,
            **(ast_recipe(fe.target_length or 1024) if fe.kind == "ast" else {}),
            "values": recipe["values"],
            "shape": list(shape),
            "dtype": "float32",
            "windows": entries,
            "window_hop_s": window_seconds(fe),
            "pad_value": (0.0 - AST_MEAN) / (2.0 * AST_STD) if fe.kind == "ast" else None,
            "beyond_valid_columns": "the reference's padding"
            if not fe.streaming
            else "NaN: the mel front ends pad nothing, so a window cut short by the range's end has fewer columns",
            "resampled": fe.require_sr() != source.info.samplerate,
            "resampler": "soxr HQ (librosa's default res_type='soxr_hq')"
            if fe.require_sr() != source.info.samplerate
            else None,
            "axes": {
                "0": f"windows, in time order: window k starts at windows[k].start_s, {window_seconds(fe):g} s apart, "
                "so the frame grid continues from one window to the next and no frame is in two; "
                "windows[k].end_s is the end of its last real frame",
                "1": "mel bands, low to high",
                "2": f"frames of {hop_s * 1000:g} ms; frame t of window k is centred at windows[k].start_s + "
                f"time_start_s + t * {hop_s:g}; columns >= windows[k].valid_columns are padding",
                "time_start_s": float(fe.frame_times(1)[0]),
                "time_step_s": hop_s,
            },
        }
        Path(json_tmp).write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n")
    return out, sidecar
