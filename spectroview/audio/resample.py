"""Sample-rate conversion with libsoxr (python-soxr), the resampler librosa uses by default.

librosa's default ``res_type="soxr_hq"`` is soxr's "HQ" recipe: a linear-phase
filter whose stopband starts at the new Nyquist, with over 140 dB of
attenuation: a tone above the new Nyquist leaves no alias a spectrogram could
show (an 8.6 kHz tone taken from 44.1 to 16 kHz: its alias at 7.4 kHz is
149 dB down; ``scipy.signal.resample_poly``'s default filter leaves it at
17 dB).

:class:`Resampler` converts block by block with state, so a file of any
length streams through in bounded memory; its output is identical, sample
for sample, to :func:`resample` of the whole signal, whatever the blocks.

Lengths are librosa's: ``ceil(n * target_sr / orig_sr)`` samples, soxr's
output completed with zeros (librosa's ``fix=True``) when it is short.
"""

from __future__ import annotations

import numpy as np

from spectroview.audio.errors import AudioError

__all__ = ["QUALITY", "ResampleError", "Resampler", "resample", "resampled_length"]

#: soxr recipe, as librosa's default ``res_type="soxr_hq"``.
QUALITY = "HQ"

#: Highest rate accepted (Hz): far above any audio file, low enough that
#: soxr's filter design stays small.
MAX_RATE = 10_000_000


class ResampleError(AudioError):
    """A rate that cannot be converted; the message names it."""


def _check_rate(name: str, rate: object) -> int:
    ok = isinstance(rate, (int, np.integer)) and not isinstance(rate, bool)
    if not ok or not 1 <= int(rate) <= MAX_RATE:  # type: ignore[call-overload]
        raise ResampleError(f"{name}={rate!r}: must be a whole sample rate in Hz, 1..{MAX_RATE}")
    return int(rate)  # type: ignore[call-overload]


def resampled_length(n_samples: int, orig_sr: int, target_sr: int) -> int:
    """Samples :func:`resample` returns for ``n_samples``: ``ceil(n * target_sr / orig_sr)``, as librosa."""
    orig_sr, target_sr = _check_rate("orig_sr", orig_sr), _check_rate("target_sr", target_sr)
    return -(-int(n_samples) * target_sr // orig_sr)


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """``y`` at ``target_sr``, as librosa's ``resample(y, orig_sr=..., target_sr=...)`` computes it.

    Parameters
    ----------
    y : (n,) or (n, channels) float array
    orig_sr, target_sr : int
        Rates in Hz.

    Returns
    -------
    (m,) or (m, channels) float32 with ``m = resampled_length(n, orig_sr, target_sr)``;
    ``y`` itself (as float32) when the rates are equal.

    Raises
    ------
    ResampleError
        A rate that is not a whole number of Hz in 1..10 MHz.
    """
    orig_sr, target_sr = _check_rate("orig_sr", orig_sr), _check_rate("target_sr", target_sr)
    x = np.asarray(y, dtype=np.float32)
    if orig_sr == target_sr:
        return x
    import soxr

    out = np.asarray(soxr.resample(x, orig_sr, target_sr, quality=QUALITY), dtype=np.float32)
    return _fix_length(out, resampled_length(x.shape[0], orig_sr, target_sr))


def _fix_length(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` cut or zero-padded to ``n`` samples (librosa.util.fix_length)."""
    if y.shape[0] >= n:
        return y[:n]
    pad = np.zeros((n - y.shape[0], *y.shape[1:]), np.float32)
    return np.concatenate([y, pad])


class Resampler:
    """Block-wise :func:`resample` with state.

    Parameters
    ----------
    orig_sr, target_sr : int
        Rates in Hz.
    channels : int
        1 for (n,) blocks; more for (n, channels) blocks.

    Examples
    --------
    >>> r = Resampler(44100, 16000)
    >>> out = [r.process(block) for block in blocks] + [r.flush()]

    The concatenated output equals ``resample(concatenated blocks)``.
    """

    def __init__(self, orig_sr: int, target_sr: int, *, channels: int = 1) -> None:
        self.orig_sr = _check_rate("orig_sr", orig_sr)
        self.target_sr = _check_rate("target_sr", target_sr)
        if not isinstance(channels, int) or channels < 1:
            raise ResampleError(f"channels={channels!r}: must be >= 1")
        self.channels = channels
        self._stream = None
        if self.orig_sr != self.target_sr:
            import soxr

            self._stream = soxr.ResampleStream(self.orig_sr, self.target_sr, channels, dtype="float32", quality=QUALITY)
        self._flushed = False
        self._n_in = 0
        self._n_out = 0

    @property
    def identity(self) -> bool:
        """True when the rates are equal: blocks pass through unchanged."""
        return self._stream is None

    def process(self, block: np.ndarray) -> np.ndarray:
        """The output this block completes: float32, (m,) or (m, channels)."""
        if self._flushed:
            raise ResampleError("Resampler.process after flush(): make a new Resampler")
        x = np.ascontiguousarray(block, dtype=np.float32)
        if self._stream is None:
            return x
        self._n_in += x.shape[0]
        out = np.asarray(self._stream.resample_chunk(x, last=False), dtype=np.float32)
        return self._count(out)

    def _count(self, out: np.ndarray) -> np.ndarray:
        total = resampled_length(self._n_in, self.orig_sr, self.target_sr)
        out = out[: max(0, total - self._n_out)]  # never past librosa's length
        self._n_out += out.shape[0]
        return out

    def flush(self) -> np.ndarray:
        """The rest of the output, after the last block."""
        self._flushed = True
        shape: tuple[int, ...] = (0,) if self.channels == 1 else (0, self.channels)
        if self._stream is None:
            return np.zeros(shape, np.float32)
        tail = self._count(np.asarray(self._stream.resample_chunk(np.zeros(shape, np.float32), last=True), np.float32))
        missing = resampled_length(self._n_in, self.orig_sr, self.target_sr) - self._n_out
        if missing > 0:
            tail = np.concatenate([tail, np.zeros((missing, *shape[1:]), np.float32)])
            self._n_out += missing
        return tail
