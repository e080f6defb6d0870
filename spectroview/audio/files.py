"""Audio files through libsndfile (soundfile): block reads, never the whole file.

:class:`FileSource` opens anything libsndfile reads (WAV, FLAC, OGG, MP3,
AIFF, ...), checks it up front, and reads any ``[start, stop)`` frame range
by seeking, as float32 mono (mixdown or one channel).  Every problem a user
can cause becomes an :class:`AudioFileError` whose message is one line that
names the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from spectroview.audio.errors import AudioError

__all__ = ["AudioFileError", "AudioInfo", "FileSource"]


class AudioFileError(AudioError):
    """A file cannot be opened or read as audio; the message names the file."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds.

    Attributes
    ----------
    path : str
    samplerate : int
        Frames per second (Hz).
    channels : int
    frames : int
        Frames per channel.
    format, subtype : str
        libsndfile's names, e.g. ``"WAV"``, ``"PCM_16"``.
    """

    path: str
    samplerate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.samplerate


def _check_path(path: Path) -> None:
    name = str(path)
    if not path.exists():
        raise AudioFileError(f"{name}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{name}: is a directory, not an audio file")
    if not os.access(path, os.R_OK):
        raise AudioFileError(f"{name}: permission denied")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{name}: empty file (0 bytes)")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    # libsndfile messages repeat the path; keep the part that explains.
    if "Error opening" in text and ": " in text:
        text = text.rsplit(": ", 1)[-1]
    return text or type(exc).__name__


class FileSource:
    """A seekable, block-reading audio file source.

    Parameters
    ----------
    path : str or PathLike
    channel : int or None
        0-based channel to read, or None to mix all channels down (mean).

    Raises
    ------
    AudioFileError
        Missing file, directory, empty file, not audio, corrupt header,
        zero frames, a sample rate of 0, or a channel the file lacks.

    Notes
    -----
    The source holds one open libsndfile handle and reads what is asked,
    in blocks, so its memory does not grow with the file's length.
    Non-finite samples (NaN, +-Inf in float files) are replaced by 0 and
    counted in :attr:`nonfinite_count`.
    """

    def __init__(self, path: str | os.PathLike[str], *, channel: int | None = None) -> None:
        self.path = Path(path)
        _check_path(self.path)
        try:
            self._file = soundfile.SoundFile(str(self.path))
        except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            reason = _one_line(exc)
            if "not recognised" in reason.lower():
                raise AudioFileError(f"{self.path}: not an audio file (format not recognised)") from None
            if "SF_INFO struct incomplete" in reason:
                # libsndfile's words for a header with a zero sample rate or
                # channel count (or other missing format fields).
                raise AudioFileError(
                    f"{self.path}: invalid audio header (sample rate or channel count is 0, or format fields are missing)"
                ) from None
            raise AudioFileError(f"{self.path}: cannot be read as audio: {reason}") from None
        except OSError as exc:
            raise AudioFileError(f"{self.path}: cannot open ({exc.strerror or _one_line(exc)})") from None
        f = self._file
        self.info = AudioInfo(
            path=str(self.path),
            samplerate=int(f.samplerate),
            channels=int(f.channels),
            frames=int(f.frames),
            format=str(f.format),
            subtype=str(f.subtype),
        )
        if self.info.samplerate <= 0:
            self.close()
            raise AudioFileError(f"{self.path}: invalid sample rate {self.info.samplerate} Hz")
        if self.info.channels <= 0:
            self.close()
            raise AudioFileError(f"{self.path}: invalid channel count {self.info.channels}")
        if self.info.frames <= 0:
            self.close()
            raise AudioFileError(f"{self.path}: contains no audio frames")
        self._channel: int | None = None
        self.channel = channel
        self.nonfinite_count = 0

    # -- channel selection -------------------------------------------------
    @property
    def channel(self) -> int | None:
        """0-based channel read, or None for the mixdown."""
        return self._channel

    @channel.setter
    def channel(self, channel: int | None) -> None:
        n = self.info.channels
        if channel is not None and not (isinstance(channel, int) and 0 <= channel < n):
            raise AudioFileError(f"{self.path}: channel={channel!r}: the file has {n} channel(s), allowed 0..{n - 1}")
        self._channel = channel

    # -- reading -------------------------------------------------------------
    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames ``[start, stop)`` as float32 mono (the mixdown or :attr:`channel`).

        Returns
        -------
        (stop - start,) float32
            Full-scale is +-1.0.  A file shorter on disk than its header
            says raises :class:`AudioFileError` rather than padding.
        """
        data = self._read_raw(start, stop)
        if self._channel is not None:
            return self._sanitize(np.ascontiguousarray(data[:, self._channel]))
        return self._sanitize(_mixdown(data))

    def read_frames(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames ``[start, stop)`` with all channels, for playback.

        Returns
        -------
        (stop - start, channels) float32, non-finite samples replaced by 0.
        """
        return self._sanitize(np.ascontiguousarray(self._read_raw(start, stop)))

    def _read_raw(self, start: int, stop: int | None) -> np.ndarray:
        frames = self.info.frames
        stop = frames if stop is None else stop
        if not 0 <= start <= stop <= frames:
            raise AudioFileError(f"{self.path}: read({start}, {stop}): outside the file's frames [0, {frames})")
        try:
            self._file.seek(start)
            data = self._file.read(stop - start, dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
            raise AudioFileError(f"{self.path}: read failed at frame {start}: {_one_line(exc)}") from None
        if data.shape[0] != stop - start:
            raise AudioFileError(
                f"{self.path}: file ends early: read {data.shape[0]} of {stop - start} frames "
                f"from frame {start} (truncated or corrupt?)"
            )
        return data

    def blocks(self, blocksize: int = 1 << 18, *, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Consecutive float32 mono blocks of ``blocksize`` frames covering ``[start, stop)``."""
        stop = self.info.frames if stop is None else stop
        for b0 in range(start, stop, blocksize):
            yield self.read(b0, min(stop, b0 + blocksize))

    def _sanitize(self, x: np.ndarray) -> np.ndarray:
        finite = np.isfinite(x)
        if not finite.all():
            self.nonfinite_count += int(x.size - np.count_nonzero(finite))
            x[~finite] = 0.0
        return x

    # -- lifetime --------------------------------------------------------------
    def close(self) -> None:
        """Close the file (idempotent)."""
        f = getattr(self, "_file", None)
        if f is not None and not f.closed:
            f.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        i = self.info
        return f"FileSource({i.path!r}, {i.samplerate} Hz, {i.channels} ch, {i.frames} frames, {i.format}/{i.subtype})"


def _mixdown(data: np.ndarray) -> np.ndarray:
    """Mean of the channels of (n, channels) float32, as (n,) float32."""
    if data.shape[1] == 1:
        return data[:, 0]
    # Channel by channel: numpy's mean over a short axis of 2 is ~10x slower.
    out = data[:, 0].copy()
    for c in range(1, data.shape[1]):
        out += data[:, c]
    out *= np.float32(1.0 / data.shape[1])
    return out
