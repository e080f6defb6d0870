"""Audio files: every format FFmpeg or libsndfile reads, by sample-exact block reads.

:class:`FileSource` is the one interface the rest of the program reads files
through.  Behind it:

- **libsndfile** (soundfile) for PCM and float WAV/AIFF/W64/CAF/RF64/AU and
  FLAC: exact and fast, and its seeks are sample exact;
- **FFmpeg** (PyAV, :mod:`spectroview.audio._ffmpeg`) for everything else
  (MP3, AAC/ALAC in MP4, Opus, Vorbis, WMA, WavPack, Monkey's Audio,
  Musepack, DSD, Speex, the audio of video files, ...) and as the fallback
  whenever libsndfile refuses a file or a FLAC file's tail does not decode.

Either way ``read(a, b)`` returns samples ``a:b`` of one straight decode of
the file, in any order, and the length is what decodes (never a header's
claim).  A damaged file opens with what decodes and says so in
:attr:`FileSource.warnings`.  Every problem a user can cause becomes an
:class:`AudioFileError` whose message is one line that names the file.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import re
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from spectroview.audio.errors import AudioError
from spectroview.audio.extensions import AUDIO_EXTENSIONS, is_audio_path

__all__ = [
    "AUDIO_EXTENSIONS",
    "SAMPLE_LIMIT",
    "AudioFileError",
    "AudioInfo",
    "FileSource",
    "audio_streams",
    "estimated_duration",
    "is_audio_path",
    "open_counted",
    "prefetched",
    "probe",
]


class AudioFileError(AudioError):
    """A file cannot be opened or read as audio; the message names the file."""


#: Largest sample magnitude read (full scale is 1.0): 120 dB over full scale.  Beyond it
#: (float files written at 1e30, float32's max) samples are clipped, counted and named,
#: so that frame power (up to (limit * sum(window))**2 = 4e21 at n_fft 65536) stays finite
#: in float32.
SAMPLE_LIMIT = 1e6


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds and how it is read.

    Attributes
    ----------
    path : str
    samplerate : int
        Frames per second (Hz).
    channels : int
    frames : int
        Frames per channel: what decodes, not what a header says.
    format : str
        Container, short: ``"WAV"``, ``"FLAC"``, ``"MP3"``, ``"MP4"``, ``"OGG"``...
    subtype : str
        Encoding, short: libsndfile's (``"PCM_16"``, ``"FLOAT"``) or FFmpeg's
        codec name (``"mp3"``, ``"aac"``, ``"opus"``).
    codec : str
        The encoding in words (``"Signed 16 bit PCM"``, ``"AAC (Advanced Audio Coding)"``).
    bit_rate : int or None
        Bits per second of the audio stream (the average for variable bit rates).
    sample_format : str
        What the decoder delivers: ``"16-bit integer"``, ``"32-bit float (planar)"``...
    decoder : str
        ``"libsndfile 1.2.2"`` or ``"FFmpeg 8.0 (PyAV 18.1.0)"``.
    stream, streams : int
        0-based index of the audio stream read among the file's ``streams``.
    warnings : tuple of str
        Damage found while opening (a truncated tail, undecodable packets).
    """

    path: str
    samplerate: int
    channels: int
    frames: int
    format: str
    subtype: str
    codec: str = ""
    bit_rate: int | None = None
    sample_format: str = ""
    decoder: str = ""
    stream: int = 0
    streams: int = 1
    warnings: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.samplerate

    def describe(self) -> str:
        """One line for a status bar: ``"MP3 (MPEG audio layer 3), 128 kb/s, 44100 Hz, 2 ch, 3:25.10"``."""
        parts = [self.codec or f"{self.format}/{self.subtype}"]
        if self.bit_rate:
            parts.append(f"{self.bit_rate / 1000:.0f} kb/s")
        parts += [f"{self.samplerate} Hz", f"{self.channels} ch", _clock(self.duration)]
        if self.streams > 1:
            parts.append(f"stream {self.stream + 1} of {self.streams}")
        return ", ".join(parts)


def _clock(seconds: float) -> str:
    minutes, s = divmod(seconds, 60.0)
    hours, m = divmod(int(minutes), 60)
    return f"{hours}:{m:02d}:{s:05.2f}" if hours else f"{m}:{s:05.2f}" if m else f"{s:.2f} s"


def _check_path(path: Path) -> None:
    name = str(path)
    if not path.exists():
        raise AudioFileError(f"{name}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{name}: is a directory, not an audio file")
    if not path.is_file():
        # A FIFO or a device would block or never end: not a file to analyse.
        raise AudioFileError(f"{name}: not a regular file")
    if not os.access(path, os.R_OK):
        raise AudioFileError(f"{name}: permission denied")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{name}: empty file (0 bytes)")


# -- backends ------------------------------------------------------------------------------------


class _Backend(Protocol):
    info: AudioInfo

    def read(self, start: int, stop: int, *, exact: bool = True) -> np.ndarray:
        """Frames ``[start, stop)`` as (n, channels) float32, possibly non-finite."""
        ...

    def close(self) -> None: ...


#: libsndfile containers and encodings read without any loss or state: a
#: seek lands on the exact sample and the frame count is the data's size.
_SNDFILE_FORMATS = frozenset({"WAV", "WAVEX", "AIFF", "W64", "CAF", "RF64", "AU", "FLAC"})
_SNDFILE_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"})
_SAMPLE_FORMATS = {
    "PCM_S8": "8-bit integer",
    "PCM_U8": "8-bit unsigned integer",
    "PCM_16": "16-bit integer",
    "PCM_24": "24-bit integer",
    "PCM_32": "32-bit integer",
    "FLOAT": "32-bit float",
    "DOUBLE": "64-bit float",
    "ULAW": "8-bit mu-law",
    "ALAW": "8-bit A-law",
}
_BITS = {
    "PCM_S8": 8,
    "PCM_U8": 8,
    "PCM_16": 16,
    "PCM_24": 24,
    "PCM_32": 32,
    "FLOAT": 32,
    "DOUBLE": 64,
    "ULAW": 8,
    "ALAW": 8,
}


#: Integer subtypes read as integers and scaled here: the same float32 values as
#: libsndfile's own conversion (it scales 16-bit samples by 1/0x8000, and 24- and
#: 32-bit ones, which it returns left-aligned in int32, by 1/0x80000000; both
#: factors are powers of two), four times faster (a 10-minute stereo WAV: 0.16 s
#: -> 0.08 s with the mixdown).  tests/audio/test_files.py compares the two bit for bit.
_INTEGER_READS: dict[str, tuple[str, float]] = {
    "PCM_16": ("int16", 2.0**-15),
    "PCM_24": ("int32", 2.0**-31),
    "PCM_32": ("int32", 2.0**-31),
}


def _sndfile_message(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    # libsndfile messages repeat the path; keep the part that explains.
    if "Error opening" in text and ": " in text:
        text = text.rsplit(": ", 1)[-1]
    return text or type(exc).__name__


#: libsndfile's log line for a data chunk whose header claims more bytes than the file holds:
#: "data : 10584000 (should be 5821164)" (WAV, W64, RF64), "SSND : ..." (AIFF), "data : ..." (CAF).
_SHORT_CHUNK = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def _short_data_chunk(log: str, seconds: float) -> tuple[str, ...]:
    """A one-line warning if the header's data length is longer than the data in the file (a cut recording)."""
    match = _SHORT_CHUNK.search(log or "")
    if match is None:
        return ()
    claimed, present = int(match.group(1)), int(match.group(2))
    # 0 and all-ones are "length unknown" (a stream written without seeking back), not a claim.
    if not 0 < present < claimed < 0xFFFFFF00:
        return ()
    expected = seconds * claimed / present
    return (f"the file ends early: {seconds:.2f} s of data, {expected:.2f} s expected from its header",)


class _Refused(Exception):
    """libsndfile cannot (or should not) read this file; another decoder may."""

    def __init__(self, message: str, *, definite: bool = False) -> None:
        super().__init__(message)
        #: The file is recognised and broken in a way no decoder will fix.
        self.definite = definite


class _SndfileBackend:
    def __init__(self, path: Path) -> None:
        import soundfile

        try:
            f = soundfile.SoundFile(str(path))
        except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            reason = _sndfile_message(exc)
            if "SF_INFO struct incomplete" in reason:
                # libsndfile's words for a header with a zero sample rate or
                # channel count (or other missing format fields).
                raise _Refused(
                    f"{path}: invalid audio header (sample rate or channel count is 0, or format fields are missing)"
                ) from None
            raise _Refused(f"{path}: cannot be read as audio: {reason}") from None
        except OSError as exc:
            raise AudioFileError(f"{path}: cannot open ({exc.strerror or _sndfile_message(exc)})") from None
        self._file = f
        self.path = path
        try:
            fmt, subtype = str(f.format), str(f.subtype)
            if fmt not in _SNDFILE_FORMATS or subtype not in _SNDFILE_SUBTYPES:
                raise _Refused(f"{path}: {fmt}/{subtype} is FFmpeg's to decode")
            sr, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
            if sr <= 0:
                raise _Refused(f"{path}: invalid sample rate {sr} Hz", definite=True)
            if channels <= 0:
                raise _Refused(f"{path}: invalid channel count {channels}", definite=True)
            if frames <= 0:
                raise _Refused(f"{path}: contains no audio frames", definite=True)
            if fmt == "FLAC" and not self._tail_decodes(frames):
                # A FLAC header's count is not what decodes when the tail is
                # damaged or missing; FFmpeg decodes what is there.
                raise _Refused(f"{path}: FLAC tail does not decode")
        except BaseException:
            f.close()
            raise
        bits = _BITS.get(subtype, 16)
        self._integer_read = _INTEGER_READS.get(subtype)
        size = path.stat().st_size
        bit_rate = round(8 * size * sr / frames) if fmt == "FLAC" else sr * channels * bits
        self.info = AudioInfo(
            path=str(path),
            samplerate=sr,
            channels=channels,
            frames=frames,
            format=fmt,
            subtype=subtype,
            codec=("FLAC, " if fmt == "FLAC" else "") + soundfile.available_subtypes().get(subtype, subtype),
            bit_rate=bit_rate,
            sample_format=_SAMPLE_FORMATS.get(subtype, subtype),
            decoder=f"libsndfile {soundfile.__libsndfile_version__}",
            warnings=_short_data_chunk(f.extra_info, frames / sr),
        )

    def _tail_decodes(self, frames: int) -> bool:
        import soundfile

        try:
            self._file.seek(frames - 1)
            return self._file.read(1, dtype="float32", always_2d=True).shape[0] == 1
        except (soundfile.LibsndfileError, RuntimeError, OSError, ValueError):
            return False

    def read(self, start: int, stop: int, *, exact: bool = True) -> np.ndarray:
        import soundfile

        try:
            self._file.seek(start)
            if self._integer_read is None:
                data = self._file.read(stop - start, dtype="float32", always_2d=True)
            else:
                dtype, scale = self._integer_read
                data = self._file.read(stop - start, dtype=dtype, always_2d=True).astype(np.float32)
                data *= np.float32(scale)
        except (soundfile.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
            raise AudioFileError(f"{self.path}: read failed at frame {start}: {_sndfile_message(exc)}") from None
        if data.shape[0] != stop - start:
            # The file shrank after it was opened.
            raise AudioFileError(
                f"{self.path}: file ends early: read {data.shape[0]} of {stop - start} frames "
                f"from frame {start} (truncated or corrupt?)"
            )
        return data

    def close(self) -> None:
        f = getattr(self, "_file", None)
        if f is not None and not f.closed:
            f.close()


class _FFmpegBackend:
    def __init__(
        self,
        path: Path,
        stream: int,
        progress: Callable[[float], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        from spectroview.audio import _ffmpeg

        self.path = path
        try:
            self._decoder = _ffmpeg.FFmpegDecoder(str(path), stream=stream, progress=progress, cancelled=cancelled)
        except _ffmpeg.FFmpegError as exc:
            raise AudioFileError(str(exc)) from None
        d = self._decoder
        facts = d.describe()
        self.info = AudioInfo(
            path=str(path),
            samplerate=d.samplerate,
            channels=d.channels,
            frames=d.n_samples,
            format=_container_label(str(facts["container"])),
            subtype=str(facts["codec_name"]),
            codec=str(facts["codec"]),
            bit_rate=facts["bit_rate"],  # type: ignore[arg-type]
            sample_format=str(facts["sample_format"]),
            decoder=_ffmpeg.ffmpeg_version(),
            stream=stream,
            streams=d.n_streams,
            warnings=tuple(d.warnings),
        )
        if self.info.frames <= 0:
            d.close()
            raise AudioFileError(f"{path}: contains no audio frames")

    def read(self, start: int, stop: int, *, exact: bool = True) -> np.ndarray:
        import av

        from spectroview.audio._ffmpeg import FFmpegError

        try:
            return self._decoder.read(start, stop, exact=exact)
        except FFmpegError as exc:
            raise AudioFileError(str(exc)) from None
        except av.error.FFmpegError as exc:
            raise AudioFileError(f"{self.path}: read failed at frame {start}: {exc.strerror or exc}") from None
        except OSError as exc:
            raise AudioFileError(f"{self.path}: read failed at frame {start}: {exc.strerror or exc}") from None

    def late_warnings(self) -> tuple[str, ...]:
        """Damage reads met after the file was opened."""
        n = self._decoder.damaged_since_scan
        if not n:
            return ()
        return (
            f"{n} damaged packet{'s' if n > 1 else ''} met while reading could not be decoded (silence in their place)",
        )

    def close(self) -> None:
        d = getattr(self, "_decoder", None)
        if d is not None:
            d.close()


_CONTAINER_LABELS = {"mov": "MP4", "matroska": "MATROSKA", "mpegts": "MPEG-TS", "mpeg": "MPEG-PS", "wv": "WAVPACK"}


def _container_label(name: str) -> str:
    return _CONTAINER_LABELS.get(name, name.upper())


#: Magic numbers of the containers libsndfile reads exactly (the first bytes of the file).
_SNDFILE_MAGIC = (
    b"RIFF",
    b"RIFX",
    b"RF64",
    b"BW64",
    b"FORM",
    b"caff",
    b".snd",
    b"dns.",
    b"fLaC",
    b"riff\x2e\x91\xcf\x11",
)


def _sndfile_candidate(path: Path) -> bool:
    """Whether the file starts like one libsndfile should read (no guessing on MP3 or Ogg:
    libsndfile's MPEG and Vorbis paths are inexact, and libmpg123 prints to the terminal)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head.startswith(_SNDFILE_MAGIC)


def _open_backend(
    path: Path,
    stream: int | None,
    progress: Callable[[float], None] | None,
    cancelled: Callable[[], bool] | None,
) -> _Backend:
    refused: _Refused | None = None
    if not stream and _sndfile_candidate(path):
        try:
            return _SndfileBackend(path)
        except _Refused as exc:
            if exc.definite:
                raise AudioFileError(str(exc)) from None
            refused = exc
    try:
        return _FFmpegBackend(path, stream or 0, progress, cancelled)
    except AudioFileError as exc:
        message = str(exc)
        if refused is not None and "not an audio file" in message and "invalid audio header" in str(refused):
            raise AudioFileError(str(refused)) from None
        if "not an audio file" in message and _mp4_without_index(path):
            raise AudioFileError(
                f"{path}: an MP4/M4A file without its index (no 'moov' box): cut off before the recording "
                "or download finished; nothing in it can be placed in time"
            ) from None
        raise


def _mp4_without_index(path: Path) -> bool:
    """An ISO media file (ftyp first) whose top-level boxes hold no 'moov'."""
    try:
        with open(path, "rb") as fh:
            size = path.stat().st_size
            at, seen = 0, list[bytes]()
            while at + 8 <= size and len(seen) < 1000:
                fh.seek(at)
                head = fh.read(16)
                length, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if length == 1 and len(head) >= 16:
                    length = int.from_bytes(head[8:16], "big")
                elif length == 0:
                    length = size - at
                seen.append(kind)
                if length < 8:
                    break
                at += length
    except OSError:
        return False
    return bool(seen) and seen[0] == b"ftyp" and b"moov" not in seen


# -- the source --------------------------------------------------------------------------------------


class FileSource:
    """A seekable, block-reading audio file source.

    Parameters
    ----------
    path : str or PathLike
    channel : int or None
        0-based channel to read, or None to mix all channels down (mean).
    stream : int or None
        0-based audio stream for files with several (video files, MKA);
        None or 0: the first.
    progress : callable(float), optional
        Called with the fraction done (0..1) while a compressed file is
        scanned on opening (an hour of MP3: about 0.7 s).
    cancelled : callable() -> bool, optional
        Polled while scanning; returning True abandons the opening.

    Raises
    ------
    AudioFileError
        Missing file, directory, empty file, not audio, no audio stream,
        corrupt header, nothing that decodes, a sample rate of 0, or a
        channel or stream the file lacks.

    Notes
    -----
    The source reads what is asked, so its memory does not grow with the
    file's length.  Non-finite samples (NaN, +-Inf in float files) are
    replaced by 0 and counted in :attr:`nonfinite_count`; samples beyond
    :data:`SAMPLE_LIMIT` (float files at 1e30 and the like) are clipped to it,
    counted in :attr:`clipped_count` and named in :attr:`warnings`, so no
    power computed from them overflows float32 (a picture or a feature file
    is never all +inf).  A source must be
    used by one thread at a time; open one per thread (the scan of a
    compressed file is shared, so the second opening is quick).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        channel: int | None = None,
        stream: int | None = None,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self.path = Path(path)
        _check_path(self.path)
        if stream is not None and not (isinstance(stream, int) and not isinstance(stream, bool) and stream >= 0):
            raise AudioFileError(f"{self.path}: stream={stream!r}: must be a stream number >= 0")
        self._backend: _Backend | None = _open_backend(self.path, stream, progress, cancelled)
        self.info = self._backend.info
        self._channel: int | None = None
        try:
            self.channel = channel
        except AudioFileError:
            self.close()
            raise
        self.nonfinite_count = 0
        self.clipped_count = 0

    @property
    def warnings(self) -> tuple[str, ...]:
        """Damage found while opening, then while reading: one line each (without the file name)."""
        late = getattr(self._backend, "late_warnings", None)
        found = self.info.warnings + (late() if late is not None else ())
        if self.clipped_count:
            found += (
                f"{self.clipped_count} samples beyond +-{SAMPLE_LIMIT:g} "
                f"({20 * np.log10(SAMPLE_LIMIT):.0f} dB over full scale) clipped to it (the clipping adds harmonics the file does not have)",
            )
        return found

    # -- channel selection -------------------------------------------------
    @property
    def channel(self) -> int | None:
        """0-based channel read, or None for the mixdown."""
        return self._channel

    @channel.setter
    def channel(self, channel: int | None) -> None:
        n = self.info.channels
        ok = channel is None or (isinstance(channel, int) and not isinstance(channel, bool) and 0 <= channel < n)
        if not ok:
            raise AudioFileError(f"{self.path}: channel={channel!r}: the file has {n} channel(s), allowed 0..{n - 1}")
        self._channel = channel

    # -- reading -------------------------------------------------------------
    def read(self, start: int = 0, stop: int | None = None, *, exact: bool = True) -> np.ndarray:
        """Frames ``[start, stop)`` as float32 mono (the mixdown or :attr:`channel`).

        Parameters
        ----------
        exact : bool
            False allows a cheaper read that may differ from the straight
            decode in the noise a decoder invents (AAC's noise substitution,
            AC-3's dither): for previews that exact reads replace.

        Returns
        -------
        (stop - start,) float32
            Full-scale is +-1.0; samples ``start:stop`` of one straight decode.
        """
        data = self._read_raw(start, stop, exact=exact)
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

    def _read_raw(self, start: int, stop: int | None, *, exact: bool = True) -> np.ndarray:
        frames = self.info.frames
        stop = frames if stop is None else stop
        if not 0 <= start <= stop <= frames:
            raise AudioFileError(f"{self.path}: read({start}, {stop}): outside the file's frames [0, {frames})")
        if self._backend is None:
            raise AudioFileError(f"{self.path}: read({start}, {stop}): the file is closed")
        try:
            return self._backend.read(start, stop, exact=exact)
        except AudioFileError:
            if not self._switch_to_ffmpeg():
                raise
            return self._backend.read(start, stop, exact=exact)

    def _switch_to_ffmpeg(self) -> bool:
        """A FLAC file libsndfile fails to read in the middle (a damaged frame): FFmpeg decodes the rest.

        Both decoders are lossless, so every sample they both decode is the
        same; the switch happens only if FFmpeg finds the same length.
        Returns whether the source now reads through FFmpeg.
        """
        if not isinstance(self._backend, _SndfileBackend) or self.info.format != "FLAC":
            return False
        try:
            replacement = _FFmpegBackend(self.path, 0, None, None)
        except AudioFileError:
            return False
        if (replacement.info.frames, replacement.info.channels) != (self.info.frames, self.info.channels):
            replacement.close()
            return False
        self._backend.close()
        self._backend = replacement
        self.info = dataclasses.replace(
            self.info,
            decoder=replacement.info.decoder,
            warnings=(*self.info.warnings, *replacement.info.warnings)
            or ("a damaged FLAC frame: silence in its place",),
        )
        return True

    def blocks(self, blocksize: int = 1 << 18, *, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Consecutive float32 mono blocks of ``blocksize`` frames covering ``[start, stop)``."""
        stop = self.info.frames if stop is None else stop
        for b0 in range(start, stop, blocksize):
            yield self.read(b0, min(stop, b0 + blocksize))

    def _sanitize(self, x: np.ndarray) -> np.ndarray:
        # Two reductions, no temporary, for the common case: every sample finite and
        # within the limit (max and min propagate a NaN, which fails the comparison).
        if x.size == 0 or (x.max() <= SAMPLE_LIMIT and x.min() >= -SAMPLE_LIMIT):
            return x
        finite = np.isfinite(x)
        if not finite.all():
            self.nonfinite_count += int(x.size - np.count_nonzero(finite))
            x[~finite] = 0.0
        over = np.abs(x) > SAMPLE_LIMIT
        if over.any():
            self.clipped_count += int(np.count_nonzero(over))
            np.clip(x, -SAMPLE_LIMIT, SAMPLE_LIMIT, out=x)
        return x

    # -- lifetime --------------------------------------------------------------
    def close(self) -> None:
        """Close the file (idempotent)."""
        backend = getattr(self, "_backend", None)
        if backend is not None:
            self._backend = None
            backend.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        i = self.info
        return f"FileSource({i.path!r}, {i.samplerate} Hz, {i.channels} ch, {i.frames} frames, {i.format}/{i.subtype})"


def probe(
    path: str | os.PathLike[str],
    *,
    stream: int | None = None,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> AudioInfo:
    """Open ``path`` once (scanning a compressed file, with ``progress``) and return its :class:`AudioInfo`.

    Meant for a worker thread: the scan is kept for this process, so a
    :class:`FileSource` opened afterwards on the same file is immediate.
    """
    with FileSource(path, stream=stream, progress=progress, cancelled=cancelled) as source:
        return source.info


def estimated_duration(path: str | os.PathLike[str]) -> float | None:
    """The length in seconds ``path``'s header (or its bit rate) claims, without scanning; None if unknown.

    An estimate for progress messages only: the length shown is what decodes.
    """
    from spectroview.audio import _ffmpeg

    p = Path(path)
    if not p.is_file():
        return None
    return _ffmpeg.estimated_duration(str(p))


def audio_streams(path: str | os.PathLike[str]) -> list[str]:
    """One description per audio stream of ``path``, in order: codec, rate, channels, language, title.

    Raises
    ------
    AudioFileError
        ``path`` is not a file FFmpeg reads.
    """
    from spectroview.audio import _ffmpeg

    p = Path(path)
    _check_path(p)
    try:
        return _ffmpeg.describe_streams(str(p))
    except _ffmpeg.FFmpegError as exc:
        raise AudioFileError(str(exc)) from None


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


def prefetched(blocks: Iterator[np.ndarray], depth: int = 2) -> Generator[np.ndarray, None, None]:
    """``blocks``, the next ``depth`` read on a thread of their own while the current one is analysed.

    libsndfile's and FFmpeg's decoding and the mixdown release the GIL, so
    reading overlaps the FFTs instead of adding to them (an hour of 44.1 kHz
    stereo WAV takes 0.56 s to read).  Errors raised by the reader are
    re-raised here, in order.  Close the generator (``contextlib.closing``)
    before closing the source: that stops and joins the reader.
    """
    box: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def reader() -> None:
        try:
            for block in blocks:
                if stop.is_set():
                    return
                box.put(("block", block))
            box.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            box.put(("error", exc))

    thread = threading.Thread(target=reader, name="spectroview-read", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise item  # type: ignore[misc]
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a reader waiting on a full queue
            try:
                box.get_nowait()
            except queue.Empty:
                thread.join(0.01)


def open_counted(
    path: str | os.PathLike[str],
    *,
    channel: int | None = None,
    stream: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> FileSource:
    """Open ``path`` with ``channel`` and ``stream`` counted from 1, as a user counts them.

    ``channel`` None mixes all channels down (their mean); ``stream`` None
    takes the first audio stream.

    Raises
    ------
    AudioError
        The file cannot be read, has no such stream, or has fewer channels
        than ``channel`` (``channel=3: x.wav has 2 channel(s) (allowed 1-2)``).
    """
    source = FileSource(path, stream=None if stream is None else stream - 1, progress=progress)
    if channel is not None:
        n = source.info.channels
        if not 1 <= channel <= n:
            source.close()
            raise AudioFileError(f"channel={channel}: {source.path} has {n} channel(s) (allowed 1-{n})")
        source.channel = channel - 1
    return source
