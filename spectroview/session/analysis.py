"""Spectrum slice and pitch track: the numbers behind the analysis docks, without Qt.

Both are pure functions of a source and a time range; the viewer runs them
as scheduler jobs (lanes ``slice`` and ``pitch``), never on the GUI thread.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from spectroview.audio.files import FileSource
from spectroview.dsp import Peak, SpectrogramParams, find_peaks, stft_power, yin
from spectroview.dsp.mel import row_projection
from spectroview.session.view import full_scale_reference, levels_dbfs

__all__ = ["PEAK_RANGE_DB", "PITCH_MAX_SECONDS", "SLICE_MAX_SECONDS", "Slice", "pitch_track", "slice_spectrum"]

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
    projection = row_projection(params)
    rows = (values if projection is None else projection @ values).mean(axis=1)
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
    """The Audio Spectrogram Transformer's input for a stretch of a file.

    Attributes
    ----------
    features : (128, 1024) float32
        Kaldi log-mel filter bank, AudioSet-normalized (:func:`spectroview.dsp.ast.ast_features`).
    patches : (n_patches, 16, 16) float32
    grid : (int, int)
        Patches along frequency and time.
    t0 : float
        Start of the stretch in s (on the source's sample grid).
    """

    features: np.ndarray
    patches: np.ndarray
    grid: tuple[int, int]
    t0: float


def model_input(source: FileSource, t0: float) -> ModelInput:
    """The AST input for up to 10.24 s from ``t0`` s (resampled to 16 kHz with soxr HQ)."""
    from spectroview.audio.resample import resample
    from spectroview.dsp.ast import AST_SR, ast_features, ast_patches

    sr = source.info.samplerate
    lo = min(max(0, round(t0 * sr)), max(0, source.info.frames - 1))
    hi = min(source.info.frames, lo + round(10.24 * sr) + sr // 50)
    y16 = resample(source.read(lo, hi), orig_sr=sr, target_sr=AST_SR)
    features = ast_features(y16, sr=AST_SR)
    patches, grid = ast_patches(features)
    return ModelInput(features, patches, grid, lo / sr)
