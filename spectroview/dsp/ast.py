"""The Audio Spectrogram Transformer (AST) front end: the input "as a model sees it".

Reproduces the reference code of Gong et al., *AST: Audio Spectrogram
Transformer* (Interspeech 2021; ``src/dataloader.py`` and ``src/models``),
which computes::

    fbank = torchaudio.compliance.kaldi.fbank(
        waveform, htk_compat=True, sample_frequency=16000, use_energy=False,
        window_type="hanning", num_mel_bins=128, dither=0.0, frame_shift=10)
    fbank = ZeroPad2d((0, 0, 0, 1024 - n_frames))(fbank)  # or fbank[:1024]
    fbank = (fbank - (-4.2677393)) / (4.5689974 * 2)

and feeds the (128 freq x 1024 time) image to a 16 x 16 patch embedding of
stride 10.  The Kaldi recipe, step by step (all of it in numpy here):

1. 16 kHz input: the reference loads AudioSet clips at 16 kHz; other rates
   are resampled first by the caller with soxr
   (:func:`spectroview.audio.resample.resample`, librosa's default resampler),
   since this package stays numpy and scipy only;
2. frames of 400 samples (25 ms) every 160 (10 ms), ``snip_edges=True``:
   ``1 + (n - 400) // 160`` frames, frame ``t`` = samples ``[160 t, 160 t + 400)``;
3. per frame: subtract the frame mean; pre-emphasis 0.97 the Kaldi way
   (``x[i] -= 0.97 x[i-1]`` for ``i > 0``, ``x[0] -= 0.97 x[0]``); multiply by
   the *symmetric* Hann window ``0.5 - 0.5 cos(2 pi n / 399)``; zero-pad to 512;
4. power spectrum ``|rfft|**2`` (257 bins, bin ``k`` at ``k * 16000 / 512`` Hz);
5. 128 Kaldi mel triangles, linear in mel on ``1127 ln(1 + f / 700)`` from
   20 Hz to 8000 Hz, weights computed in mel, peaks 1, no area normalization,
   the Nyquist bin weighted 0;
6. ``ln(max(energy, 1.1920929e-07))`` (float32 machine epsilon, torch's floor).

Kept as the reference has it: band 3 (centred at 77.8 Hz) is narrower than
the 31.25 Hz bin spacing and contains no FFT bin, so that row is always the
floor, ``ln(eps) = -15.94`` (-1.278 after normalization).  The engine's own
mel scale refuses such banks (:func:`spectroview.dsp.params.mel_filter_is_empty`);
here fidelity to what the model was trained on comes first.

Orientation: Kaldi and torchaudio return ``(n_frames, 128)``; every function
here returns the transpose, ``(128, n_frames)``, rows = mel bands from low to
high like the rest of the engine.  This is also how the AST model lays the
image out: it transposes the fbank to (freq, time) before the patch embedding.

Left out on purpose: ``_wav2fbank`` first subtracts the clip's mean from
the waveform; each frame's own mean is removed in step 3 anyway, which cancels
any constant offset exactly, so that step changes nothing but rounding.

Numerics: the reference runs in float32; this module computes in float64
and returns float32, so it agrees with torchaudio to float32 rounding
(about 1e-5 in the log domain), not bit for bit.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from spectroview.dsp.params import ParameterError, mono_signal

__all__ = [
    "AST_FRAME_LENGTH",
    "AST_FRAME_SHIFT",
    "AST_HIGH_FREQ",
    "AST_LOG_FLOOR",
    "AST_LOW_FREQ",
    "AST_MEAN",
    "AST_N_FFT",
    "AST_N_MELS",
    "AST_PATCH",
    "AST_PATCH_STRIDE",
    "AST_PREEMPHASIS",
    "AST_SR",
    "AST_STD",
    "AST_TARGET_LENGTH",
    "ast_fbank",
    "ast_features",
    "ast_frame_times",
    "ast_mel_filterbank",
    "ast_n_frames",
    "ast_patches",
    "ast_recipe",
    "ast_row_frequencies",
    "kaldi_hz_to_mel",
    "kaldi_mel_to_hz",
    "patch_index_at",
]

#: Sample rate of the model's input in Hz (AudioSet clips at 16 kHz).
AST_SR = 16000
#: Frame length in samples: Kaldi's ``frame_length=25`` ms at 16 kHz.
AST_FRAME_LENGTH = 400
#: Frame shift in samples: ``frame_shift=10`` ms at 16 kHz.
AST_FRAME_SHIFT = 160
#: FFT length: the frame length rounded up to a power of two (Kaldi's
#: ``round_to_power_of_two=True``).
AST_N_FFT = 512
#: Mel bands (``num_mel_bins=128``).
AST_N_MELS = 128
#: Lower edge of the mel bank in Hz (Kaldi's default ``low_freq``).
AST_LOW_FREQ = 20.0
#: Upper edge in Hz: Kaldi's ``high_freq=0`` means the Nyquist frequency.
AST_HIGH_FREQ = AST_SR / 2.0
#: Kaldi's default ``preemphasis_coefficient``.
AST_PREEMPHASIS = 0.97
#: Floor of the mel energies before the log: ``torch.finfo(torch.float32).eps``.
AST_LOG_FLOOR = float(np.finfo(np.float32).eps)
#: Frames of the model's input (``target_length``, 10.24 s).
AST_TARGET_LENGTH = 1024
#: AudioSet statistics of the fbank used by the released models.
AST_MEAN = -4.2677393
AST_STD = 4.5689974
#: Patch embedding: Conv2d kernel and stride, the same in frequency and time.
AST_PATCH = 16
AST_PATCH_STRIDE = 10

#: Frames per FFT block: bounds the float64 scratch (about 8 MB for the
#: frames and 8 MB for the spectrum) whatever the signal length.
_BLOCK_FRAMES = 2048


def kaldi_hz_to_mel(frequencies: np.ndarray | float) -> np.ndarray:
    """Hz to Kaldi mels, ``1127 ln(1 + f / 700)``.  float64 of the input's shape.

    The natural-log form of the HTK scale (``2595 log10(1 + f / 700)``): the
    two agree to within 0.01 mel (1127 vs 2595 / ln 10 = 1127.01...).
    """
    return 1127.0 * np.log1p(np.asanyarray(frequencies, dtype=np.float64) / 700.0)


def kaldi_mel_to_hz(mels: np.ndarray | float) -> np.ndarray:
    """Kaldi mels to Hz, the inverse of :func:`kaldi_hz_to_mel`.  float64."""
    return 700.0 * np.expm1(np.asanyarray(mels, dtype=np.float64) / 1127.0)


def _mel_points() -> np.ndarray:
    """The 130 mel points of Kaldi's bank: band ``m`` is ``[p[m], p[m+1], p[m+2]]``.  float64."""
    lo, hi = kaldi_hz_to_mel(AST_LOW_FREQ), kaldi_hz_to_mel(AST_HIGH_FREQ)
    # Kaldi divides by num_bins + 1: the outer feet of the first and last
    # triangles sit on low_freq and high_freq.
    delta = (hi - lo) / (AST_N_MELS + 1)
    return lo + np.arange(AST_N_MELS + 2) * delta


@lru_cache(maxsize=1)
def _mel_bank() -> np.ndarray:
    points = _mel_points()
    left, centre, right = points[:-2, None], points[1:-1, None], points[2:, None]
    # Kaldi's bank covers num_fft_bins = 512 / 2 = 256 bins (0 .. 7968.75 Hz);
    # torchaudio pads a zero column for the Nyquist bin, which we do too.
    mel = kaldi_hz_to_mel(np.arange(AST_N_FFT // 2) * (AST_SR / AST_N_FFT))[None, :]
    up = (mel - left) / (centre - left)
    down = (right - mel) / (right - centre)
    weights = np.zeros((AST_N_MELS, AST_N_FFT // 2 + 1))
    weights[:, :-1] = np.maximum(0.0, np.minimum(up, down))
    weights.setflags(write=False)
    return weights


def ast_mel_filterbank() -> np.ndarray:
    """Kaldi's mel bank as AST uses it.

    Returns
    -------
    (128, 257) float64, read-only (cached)
        Row ``m`` weights the power of FFT bin ``k`` (``k * 16000 / 512`` Hz)
        into band ``m``: a triangle in mel, 1 at the centre, no area
        normalization; column 256 (Nyquist) is 0.
    """
    return _mel_bank()


def ast_row_frequencies() -> tuple[np.ndarray, np.ndarray]:
    """Centre and edge frequencies in Hz of the 128 rows, on the Kaldi mel scale.

    Returns
    -------
    centres : (128,) float64
        Peak of each triangle (Kaldi's ``center_freqs``), 20 Hz < c < 8000 Hz.
    edges : (129,) float64
        Row ``r`` covers ``[edges[r], edges[r + 1]]``: half-way in mel to the
        neighbouring centres, the convention of
        :func:`spectroview.dsp.mel.row_frequencies`.  (The triangles' feet,
        one centre further out on each side, are ``kaldi_mel_to_hz`` of the
        130 equally spaced mel points from 20 Hz to 8000 Hz.)
    """
    points = _mel_points()
    centres = points[1:-1]
    # Centres are equally spaced in mel: the half-way points are half a step either side.
    half = (points[1] - points[0]) / 2
    edges = np.concatenate([centres - half, [centres[-1] + half]])
    return kaldi_mel_to_hz(centres), kaldi_mel_to_hz(edges)


def ast_frame_times(n_frames: int) -> np.ndarray:
    """Time in seconds of each frame's centre.  (n_frames,) float64.

    Frame ``t`` covers samples ``[160 t, 160 t + 400)`` at 16 kHz (Kaldi's
    ``snip_edges=True``: no padding), i.e. starts at ``0.010 t`` s and is
    centred at ``0.010 t + 0.0125`` s of the source (resampling keeps time).
    """
    return (np.arange(n_frames) * AST_FRAME_SHIFT + AST_FRAME_LENGTH / 2) / AST_SR


def _check_sr(sr: float) -> int:
    ok = isinstance(sr, (int, float, np.integer, np.floating)) and not isinstance(sr, bool)
    if not ok or not np.isfinite(sr) or sr <= 0 or float(sr) != int(sr):
        raise ParameterError(f"sr={sr!r}: must be a whole sample rate in Hz > 0")
    if int(sr) != AST_SR:
        raise ParameterError(
            f"sr={sr!r}: the AST front end reads {AST_SR} Hz audio; resample first "
            f"(spectroview.audio.resample.resample(y, orig_sr={int(sr)}, target_sr={AST_SR}), soxr HQ)"
        )
    return int(sr)


def _to_16k(y: np.ndarray, sr: float) -> np.ndarray:
    """``y`` (at 16 kHz) as float64.  (n,)."""
    x = mono_signal(y)
    _check_sr(sr)
    return x.astype(np.float64, copy=False)


@lru_cache(maxsize=1)
def _hanning() -> np.ndarray:
    # Kaldi's "hanning" is the symmetric Hann window (torch.hann_window(periodic=False)),
    # not the periodic one of the STFT engine.
    n = np.arange(AST_FRAME_LENGTH)
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / (AST_FRAME_LENGTH - 1))
    w.setflags(write=False)
    return w


def _n_frames(n_samples: int) -> int:
    return 0 if n_samples < AST_FRAME_LENGTH else 1 + (n_samples - AST_FRAME_LENGTH) // AST_FRAME_SHIFT


def ast_n_frames(n_samples: int, *, sr: float = AST_SR) -> int:
    """Frames :func:`ast_fbank` gives for ``n_samples`` at 16 kHz, without computing them.

    ``1 + (n_samples - 400) // 160``, or 0 when ``n_samples < 400`` (too
    short: :func:`ast_fbank` raises).
    """
    _check_sr(sr)
    return _n_frames(int(n_samples))


def _fbank_16k(x: np.ndarray, n_frames: int) -> np.ndarray:
    """Log-mel energies of the first ``n_frames`` Kaldi frames of 16 kHz float64 ``x``.

    Returns (n_frames, 128) float64, Kaldi's layout.
    """
    x = np.ascontiguousarray(x)
    step = x.strides[0]
    frames = as_strided(x, shape=(n_frames, AST_FRAME_LENGTH), strides=(AST_FRAME_SHIFT * step, step), writeable=False)
    bank_t = np.ascontiguousarray(_mel_bank().T)  # (257, 128)
    window = _hanning()
    out = np.empty((n_frames, AST_N_MELS))
    padded = np.zeros((min(_BLOCK_FRAMES, n_frames), AST_N_FFT))
    for start in range(0, n_frames, _BLOCK_FRAMES):
        block = frames[start : start + _BLOCK_FRAMES]
        nb = block.shape[0]
        centred = block - block.mean(axis=1, keepdims=True)
        # Kaldi's in-place loop runs from the end, so every sample uses its
        # predecessor's value before pre-emphasis; sample 0 uses itself.
        emphasized = centred.copy()
        emphasized[:, 1:] -= AST_PREEMPHASIS * centred[:, :-1]
        emphasized[:, 0] -= AST_PREEMPHASIS * centred[:, 0]
        padded[:nb, :AST_FRAME_LENGTH] = emphasized * window
        spectrum = np.fft.rfft(padded[:nb], n=AST_N_FFT, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        np.matmul(power, bank_t, out=out[start : start + nb])
    np.maximum(out, AST_LOG_FLOOR, out=out)
    np.log(out, out=out)
    return out


def _too_short(n16: int) -> ParameterError:
    where = f"{n16} samples at 16 kHz"
    return ParameterError(
        f"y: too short for the AST front end: {where}; one Kaldi frame needs "
        f"{AST_FRAME_LENGTH} samples at 16 kHz ({1000 * AST_FRAME_LENGTH / AST_SR:g} ms)"
    )


def ast_fbank(y: np.ndarray, *, sr: float = AST_SR) -> np.ndarray:
    """Kaldi log-mel filterbank of ``y`` as AST computes it, before padding and normalization.

    Parameters
    ----------
    y : (n,) float array
        Mono signal, full scale +-1 (the scale of ``torchaudio.load``).
    sr : int
        Sample rate of ``y`` in Hz: 16000 (resample other rates first).

    Returns
    -------
    (128, n_frames) float32, C order
        ``ln(max(mel energy, 1.1920929e-07))``, with
        ``n_frames = 1 + (n16 - 400) // 160`` for ``n16`` samples at 16 kHz.
        The transpose of torchaudio's ``(n_frames, 128)``: rows are mel
        bands low to high (centres: :func:`ast_row_frequencies`), column
        ``t`` is the frame centred at ``ast_frame_times(n_frames)[t]`` s.

    Raises
    ------
    ParameterError
        If ``y`` is not 1-D floating point, ``sr`` is not 16000, or ``y`` is
        shorter than one frame (400 samples at 16 kHz).
    """
    x = _to_16k(y, sr)
    n_frames = _n_frames(x.shape[0])
    if n_frames == 0:
        raise _too_short(x.shape[0])
    return np.ascontiguousarray(_fbank_16k(x, n_frames).T, dtype=np.float32)


def ast_features(
    y: np.ndarray,
    *,
    sr: float = AST_SR,
    target_length: int = AST_TARGET_LENGTH,
    mean: float = AST_MEAN,
    std: float = AST_STD,
) -> np.ndarray:
    """The AST model's input: the fbank padded or cut to ``target_length`` frames, normalized.

    In the reference's order: the raw fbank is padded with zeros at the end
    (``ZeroPad2d``) or cut to its first ``target_length`` frames, *then*
    ``(fbank - mean) / (2 std)`` is applied to the whole matrix, so padded
    columns read ``(0 - mean) / (2 std)`` (0.467 with AudioSet's statistics),
    not the normalized floor.

    Parameters
    ----------
    y : (n,) float array
        Mono signal, full scale +-1.
    sr : int
        Its sample rate in Hz: 16000 (resample other rates first).
    target_length : int
        Frames of the output (1024: 10.24 s; 10.24 s of audio itself gives
        1022 frames, padded by 2).
    mean, std : float
        Normalization statistics (AudioSet's by default).

    Returns
    -------
    (128, target_length) float32, C order
        Rows are mel bands low to high; columns ``>= n_frames`` are padding.

    Raises
    ------
    ParameterError
        As :func:`ast_fbank`, and for ``target_length < 1`` or ``std <= 0``.
    """
    if not isinstance(target_length, (int, np.integer)) or isinstance(target_length, bool) or target_length < 1:
        raise ParameterError(f"target_length={target_length!r}: must be an integer >= 1")
    if not np.isfinite(mean):
        raise ParameterError(f"mean={mean!r}: must be a finite number")
    if not np.isfinite(std) or std <= 0:
        raise ParameterError(f"std={std!r}: must be a number > 0")
    x = _to_16k(y, sr)
    n_frames = _n_frames(x.shape[0])
    if n_frames == 0:
        raise _too_short(x.shape[0])
    # Frames are independent: past target_length they would be cut anyway.
    kept = min(n_frames, int(target_length))
    fbank = np.zeros((int(target_length), AST_N_MELS))
    fbank[:kept] = _fbank_16k(x, kept)
    features = (fbank - mean) / (std * 2.0)
    return np.ascontiguousarray(features.T, dtype=np.float32)


def ast_patches(
    features: np.ndarray, *, patch: int = AST_PATCH, stride: int = AST_PATCH_STRIDE
) -> tuple[np.ndarray, tuple[int, int]]:
    """The ``patch x patch`` tiles AST's patch embedding sees, in its token order.

    The embedding is a Conv2d with kernel ``patch`` and stride ``stride`` over
    the (freq, time) image; its output ``(768, n_freq, n_time)`` is flattened
    row-major, so token ``i * n_time + j`` is the tile
    ``features[stride*i : stride*i + patch, stride*j : stride*j + patch]``.
    With 128 x 1024, patch 16 and stride 10: a 12 x 101 grid, 1212 tiles,
    neighbours overlapping by 6 cells; rows 126-127 and frames 1016-1023 lie
    in no tile (the convolution's remainder), so the model never sees them.

    Parameters
    ----------
    features : (n_rows, n_cols) float array
        E.g. :func:`ast_features`' (128, 1024).
    patch, stride : int
        Kernel and stride in cells, >= 1.

    Returns
    -------
    patches : (n_freq * n_time, patch, patch) float32
        Tile ``k`` in row-major (freq, time) order; rows low to high frequency.
    grid : (n_freq, n_time)
        ``((n_rows - patch) // stride + 1, (n_cols - patch) // stride + 1)``.
    """
    f = np.asarray(features)
    if f.ndim != 2:
        raise ParameterError(f"features.shape={f.shape}: must be 2-D (freq, time)")
    for name, value in (("patch", patch), ("stride", stride)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ParameterError(f"{name}={value!r}: must be an integer >= 1")
    if f.shape[0] < patch or f.shape[1] < patch:
        raise ParameterError(f"patch={patch}: larger than the features {f.shape[0]} x {f.shape[1]}")
    grid = ((f.shape[0] - patch) // stride + 1, (f.shape[1] - patch) // stride + 1)
    tiles = sliding_window_view(f, (patch, patch))[::stride, ::stride]  # view (n_freq, n_time, patch, patch)
    return tiles.reshape(grid[0] * grid[1], patch, patch).astype(np.float32), grid


def patch_index_at(
    freq_row: int, frame: int, grid: tuple[int, int], *, patch: int = AST_PATCH, stride: int = AST_PATCH_STRIDE
) -> int | None:
    """Index in :func:`ast_patches`' order of the first patch covering cell (``freq_row``, ``frame``).

    Patches overlap (by ``patch - stride`` = 6 cells), so a cell can lie in up
    to 2 x 2 patches; "first" is the one of lowest index, i.e. lowest
    frequency row then earliest time column of the grid.

    Returns
    -------
    int or None
        ``i * n_time + j``, or None for a cell no patch covers (past the grid:
        rows >= 126 or frames >= 1016 of a 128 x 1024 input).
    """
    n_freq, n_time = grid
    first = []
    for name, cell, n in (("freq_row", freq_row, n_freq), ("frame", frame, n_time)):
        if not isinstance(cell, (int, np.integer)) or isinstance(cell, bool) or cell < 0:
            raise ParameterError(f"{name}={cell!r}: must be an integer >= 0")
        # Tiles k with stride*k <= cell < stride*k + patch, within the grid.
        lo = max(0, -(-(int(cell) - patch + 1) // stride))
        hi = min(int(cell) // stride, n - 1)
        if lo > hi:
            return None
        first.append(lo)
    return first[0] * n_time + first[1]


def ast_recipe(target_length: int = AST_TARGET_LENGTH) -> dict[str, object]:
    """How the AST input is made, for a sidecar: the reference call, every constant, what the values are.

    JSON-ready ``{"recipe": str, "constants": dict, "values": str}``; the
    constants are this module's, ``target_length`` as given.
    """
    return {
        "recipe": "torchaudio.compliance.kaldi.fbank(waveform, htk_compat=True, sample_frequency=16000, "
        "use_energy=False, window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10); "
        "zero-pad (ZeroPad2d) or cut to target_length frames; (fbank - mean) / (2 * std); transposed",
        "constants": {
            "sample_rate_hz": AST_SR,
            "frame_length": AST_FRAME_LENGTH,
            "frame_shift": AST_FRAME_SHIFT,
            "snip_edges": True,
            "remove_dc_offset": True,
            "preemphasis": AST_PREEMPHASIS,
            "window": "hanning: symmetric Hann 0.5 - 0.5 cos(2 pi n / (N - 1)), N = 400",
            "n_fft": AST_N_FFT,
            "spectrum": "power |rfft|^2",
            "dither": 0.0,
            "n_mels": AST_N_MELS,
            "mel_scale": "1127 ln(1 + f / 700)",
            "low_freq_hz": AST_LOW_FREQ,
            "high_freq_hz": AST_HIGH_FREQ,
            "mel_norm": None,
            "log": "natural",
            "log_floor": AST_LOG_FLOOR,
            "target_length": int(target_length),
            "norm_mean": AST_MEAN,
            "norm_std": AST_STD,
            "patch": AST_PATCH,
            "patch_stride": AST_PATCH_STRIDE,
        },
        "values": "(ln(max(log_floor, Kaldi mel power)) - norm_mean) / (2 * norm_std), full-scale samples +-1; "
        "padded columns are a zero fbank normalized: pad_value",
    }
