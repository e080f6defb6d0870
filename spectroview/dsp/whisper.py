"""Whisper's front end: the log-mel matrix the Whisper encoder reads.

The recipe of OpenAI's reference code (``whisper/audio.py``,
``log_mel_spectrogram`` and ``pad_or_trim``), which
``transformers.WhisperFeatureExtractor`` reproduces in numpy
(``_np_extract_fbank_features``):

1. 16 kHz mono, padded with zeros or cut to 30 s (480 000 samples);
2. STFT with a 400-point periodic Hann window, hop 160, centred frames with
   reflect padding; power (``|X|**2``);
3. Slaney-style mel filters from 0 to 8000 Hz with Slaney area normalization
   (``librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)``; 128 bands for
   large-v3);
4. ``log10(max(mel, 1e-10))``, the last frame dropped (3000 frames of 10 ms);
5. clamped at the matrix's maximum minus 8 (80 dB of range), then
   ``(x + 4) / 4``.

The STFT (window and FFT in float64, as the reference) and the mel
projection are the engine's; steps 4-5 are numpy on the float32 result.
"""

from __future__ import annotations

import numpy as np

from spectroview.dsp.params import ParameterError, mono_signal

__all__ = [
    "WHISPER_HOP_LENGTH",
    "WHISPER_N_FFT",
    "WHISPER_N_FRAMES",
    "WHISPER_N_SAMPLES",
    "WHISPER_SR",
    "whisper_log_mel",
]

#: Sample rate in Hz the model expects.
WHISPER_SR = 16000
#: FFT length (25 ms) and hop (10 ms) in samples.
WHISPER_N_FFT = 400
WHISPER_HOP_LENGTH = 160
#: One input window: 30 s of samples, 3000 frames.
WHISPER_N_SAMPLES = 30 * WHISPER_SR
WHISPER_N_FRAMES = WHISPER_N_SAMPLES // WHISPER_HOP_LENGTH
#: The mel floor before log10, and the clamp below the maximum (log10 units, i.e. 80 dB).
_MEL_FLOOR = 1e-10
_DYNAMIC_RANGE = 8.0


def whisper_log_mel(y: np.ndarray, *, n_mels: int = 80) -> np.ndarray:
    """The Whisper encoder's input for one 30 s window of ``y``.

    Parameters
    ----------
    y : (n,) float array
        Mono signal at 16 kHz (:data:`WHISPER_SR`), full scale +-1; shorter
        than 30 s is padded with zeros at the end, longer is cut to 30 s.
    n_mels : int
        80 (Whisper tiny to large-v2) or 128 (large-v3).

    Returns
    -------
    (n_mels, 3000) float32
        Frame ``t`` is centred on ``t * 10`` ms; values are
        ``(max(log10(mel power), peak - 8) + 4) / 4``, where ``peak`` is the
        largest ``log10`` value of the window.

    Raises
    ------
    ParameterError
        ``y`` not 1-D floating point, or ``n_mels`` not 80 or 128.
    """
    from spectroview.dsp.params import SpectrogramParams
    from spectroview.dsp.stft import spectrogram

    if n_mels not in (80, 128):
        raise ParameterError(f"n_mels={n_mels!r}: Whisper's front end has 80 or 128 (large-v3) mel bands")
    x = np.asarray(mono_signal(y), dtype=np.float32)[:WHISPER_N_SAMPLES]
    padded = np.zeros(WHISPER_N_SAMPLES, dtype=np.float32)
    padded[: x.shape[0]] = x
    params = SpectrogramParams(
        sr=WHISPER_SR,
        n_fft=WHISPER_N_FFT,
        hop_length=WHISPER_HOP_LENGTH,
        pad_mode="reflect",
        scale="mel",
        n_mels=n_mels,
        fmin=0.0,
        fmax=WHISPER_SR / 2,
        htk=False,
        norm="slaney",
    )
    # The window and FFT in float64, as the reference (its float32 input meets a float64 window).
    mel = spectrogram(padded, params, precise=True)[:, :WHISPER_N_FRAMES]
    log_spec = np.log10(np.maximum(mel, np.float32(_MEL_FLOOR)))
    np.maximum(log_spec, log_spec.max() - np.float32(_DYNAMIC_RANGE), out=log_spec)
    log_spec += np.float32(4.0)
    log_spec /= np.float32(4.0)
    return np.ascontiguousarray(log_spec, dtype=np.float32)
