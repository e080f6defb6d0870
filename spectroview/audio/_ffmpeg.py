"""Audio through FFmpeg (PyAV): every format FFmpeg reads, with sample-exact random access.

The timeline
------------
Samples are numbered as one uninterrupted decode of the stream numbers them
(*the straight decode*): sample 0 is the first sample the decoder outputs,
after the encoder delay the file itself says to skip (LAME's gapless tag, an
MP4 edit list, Opus pre-skip), and the length is what decodes, never a
header's count.

How a read finds its samples
----------------------------
1. **Scan** (:func:`_scan_packets`): demux every packet of the stream once,
   without decoding, and keep its timestamp, byte position and size, and the
   skip/discard side data the demuxer attached to the first and last packets
   (the only places it goes: encoder delay, end padding, priming).
2. **Positions**: when the stream's clock ticks at least once a sample and
   every timestamp is a whole sample (MP3, MP4/M4A, Ogg Opus and FLAC,
   WavPack...: the ``"pts"`` timeline), a frame goes where its timestamp
   says.  Coarser clocks (Matroska's and ASF's milliseconds) and Vorbis,
   whose Ogg timestamps are wrong at block-size switches (:data:`_COUNTED`),
   are on the ``"count"`` timeline: a decode scan counts what the canonical
   decode (below) emits for each packet.
3. **read(a, b)**: position the demuxer on the packet a preroll before the
   one holding ``a`` (:meth:`FFmpegDecoder._preroll_start`; a byte seek where
   the demuxer allows it, else a timestamp seek; the packet it lands on is
   identified in the index by position and size, never trusted from the
   demuxer's estimate), give every packet back the timestamp and side data
   it had in the scan, decode with a fresh decoder and keep what the packets
   from the wanted one on emit.  The preroll covers MP3's bit reservoir and
   overlap-add, AAC's overlap and SBR, Opus's decaying state (measured: its
   output agrees with the straight decode to float32 rounding after 0.6 s).
4. **Trims**: decoders run with ``skip_manual``: libavcodec exports what it
   would cut (the encoder delay, the end padding, a decoder's own initial
   delay) and this module cuts it, once, where the straight decode does.

Decoders whose state never converges
------------------------------------
FFmpeg's AAC decoder draws perceptual noise substitution from a random
generator that runs for the whole stream and is not reset by a flush, so the
same packets decode to different noise depending on what was decoded before
(measured: up to 0.09 full scale between two decodes of the same packets).
No preroll makes such a decoder repeat the straight decode.  For every codec
not known to converge (:data:`_CONVERGES`), the canonical decode therefore
restarts a fresh decoder every :attr:`_Scan.chunk` packets, warmed up by the
preroll packets before the chunk, and every read decodes the same way: each
read gives exactly the same samples whatever the order, and differs from one
uninterrupted decode only where the decoder's private randomness does (the
noise bands of AAC's PNS keep their energy, not their waveform).

All of this module's imports of PyAV are lazy: ``import av`` costs 0.1 s.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from spectroview.audio.errors import AudioError

__all__ = ["FFmpegDecoder", "describe_streams", "estimated_duration", "ffmpeg_version", "scan"]


class FFmpegError(AudioError):
    """A file FFmpeg cannot open or decode; the message is one line naming the file."""


#: Packets after a jump of the container's clock that must show the same lead
#: before it counts as lost audio (see ``FFmpegDecoder._timestamp_gaps``).
_GAP_CONFIRM = 8

#: Codecs whose packet timestamps the demuxer derives from lengths it can get
#: wrong: they are placed on the "count" timeline (a decode scan at open).
#: Vorbis: the Ogg demuxer dates the packets of a page back from the page's
#: granule position by its parser's packet lengths, which are wrong where the
#: block size switches (a long block next to a short one, at every transient
#: of speech or percussion): measured on espeak-ng speech, packets placed 128
#: samples late then early 22 times, which read as 0.128 s of "damage" and
#: overwrote audio.  The decoder's own output is continuous.
_COUNTED = frozenset({"vorbis"})

#: Decoders (FFmpeg names) whose output after a preroll equals the straight
#: decode exactly (or to float32 rounding for Opus): every read may start
#: anywhere.  Measured by tests/audio/test_ffmpeg_matrix.py on generated files.
_CONVERGES = frozenset(
    {
        "mp3float", "mp3", "mp3adufloat", "mp3adu", "mp3on4float", "mp3on4",
        "mp1float", "mp2float",
        "vorbis", "opus",
        "flac", "alac", "wavpack", "tta", "ape", "tak",
        "wmav1", "wmav2",
    }
)  # fmt: skip

# Not in _CONVERGES although their state is short: AC-3 and E-AC-3 dither
# zero-bit mantissas from a random generator that runs for the whole stream
# (like AAC's PNS); MPEG layer I/II's fixed-point synthesis carries a dither
# state (1 LSB of 16 bits).

#: Decoders with no state between packets (lossless and PCM): no preroll.
_INTRA = frozenset({"flac", "alac", "wavpack", "tta", "ape", "tak"})

#: Packets decoded before the one a read starts in, by decoder.  MP3: the bit
#: reservoir reaches back up to 511 bytes (up to 14 frames at 8 kb/s), plus
#: the overlap-add of the previous granule; AAC: overlap plus SBR's QMF delay.
_PREROLL_PACKETS = {
    "mp3float": 24, "mp3": 24, "mp3adufloat": 24, "mp3adu": 24, "mp3on4float": 24, "mp3on4": 24,
    "mp1float": 4, "mp1": 4, "mp2float": 4, "mp2": 4,
    "aac": 4, "aac_fixed": 4, "aac_latm": 4,
    "vorbis": 4,
    "ac3": 4, "ac3_fixed": 4, "eac3": 4,
    "wmav1": 4, "wmav2": 4, "wmapro": 4,
}  # fmt: skip

#: MPEG audio layer III decoders: the preroll follows the bit reservoir (_preroll_start).
_RESERVOIR = frozenset({"mp3float", "mp3", "mp3adufloat", "mp3adu", "mp3on4float", "mp3on4"})
#: Largest main_data_begin (ISO 11172-3: 9 bits, bytes before the frame's header).
_RESERVOIR_BYTES = 511
#: Header and side information bytes of a frame (MPEG-1 stereo, the most), not reservoir.
_MPEG_SIDE_INFO = 36

#: Seconds of preroll by decoder, for state that decays rather than ends:
#: Opus asks for 80 ms (RFC 7845 section 4.6); its output reaches float32
#: rounding of the straight decode only after ~0.6 s (measured), hence 1 s.
_PREROLL_SECONDS = {"opus": 1.0, "libopus": 1.0, "speex": 0.5, "libspeex": 0.5}

#: Preroll for decoders not listed above.
_DEFAULT_PREROLL_PACKETS = 4
_DEFAULT_PREROLL_SECONDS = 0.25

#: Samples (about) of one chunk of the canonical decode of non-converging decoders.
_CHUNK_SAMPLES = 1 << 15

#: Packets decoded at the end of the file to find where the straight decode ends.
_TAIL_PACKETS = 8


def _av() -> Any:
    try:
        import av
    except ImportError as exc:  # a broken installation, not a user's file
        raise FFmpegError(f"FFmpeg decoding needs PyAV (pip install av): {exc}") from None
    return av


def ffmpeg_version() -> str:
    """``"FFmpeg 8.0 (PyAV 18.1.0)"``: the decoder library behind this module."""
    av = _av()
    major, minor, _ = av.library_versions.get("libavformat", (0, 0, 0))
    ffmpeg = getattr(av, "ffmpeg_version_info", None) or f"libavformat {major}.{minor}"
    return f"FFmpeg {ffmpeg} (PyAV {av.__version__})"


# -- file identity and the shared scan cache -----------------------------------------------


def _identity(path: str, stream: int) -> tuple[object, ...]:
    st = os.stat(path)
    return (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino, stream)


class _ScanCache:
    """Scans of recently opened files, shared by every decoder of this process.

    A viewer opens the same file from several threads (view, overview,
    slices): each finds the scan here instead of demuxing the file again.
    One lock per file: a second opener waits for the first's scan.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._items: OrderedDict[tuple[object, ...], _Scan] = OrderedDict()
        self._lock = threading.Lock()
        self._busy: dict[tuple[object, ...], threading.Lock] = {}

    def get(self, key: tuple[object, ...], build: Callable[[], _Scan]) -> _Scan:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
            busy = self._busy.setdefault(key, threading.Lock())
        with busy:
            with self._lock:
                found = self._items.get(key)
                if found is not None:
                    return found
            result = build()
            with self._lock:
                self._items[key] = result
                self._busy.pop(key, None)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return result

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _ScanCache()


# -- what a scan knows ---------------------------------------------------------------------------


@dataclass
class _Scan:
    """Everything one pass over a file learnt; shared (read-only) by its decoders."""

    #: Per packet of the stream, in demux order (packets of size 0 left out).
    pts: np.ndarray  # int64, the straight demux's timestamps (stream time base)
    pos: np.ndarray  # int64, byte position, -1 if unknown
    size: np.ndarray  # int32
    duration: np.ndarray  # int64, the demuxer's packet durations (stream time base); emptied after the scan
    #: Packets the demuxer flags "decode but discard the output" (priming, edit lists).
    discard: frozenset[int]
    #: Samples to drop at the start and at the end of a packet's output (the
    #: demuxer's skip side data: encoder delay, end padding), by packet index.
    trims: dict[int, tuple[int, int]]
    #: That side data itself (PyAV objects), given back to the packets on every read.
    side: dict[int, Any]
    #: Sample where each packet's output starts in the straight decode; set by _finish.
    start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: ("count" timeline) sample where the decoder's final drain starts.
    drain_start: int = 0
    timeline: str = "pts"  # "pts" or "count", see the module docstring
    origin: int = 0  # timestamp of sample 0 ("pts" timeline)
    n_samples: int = 0
    preroll: int = 0  # packets
    packet_samples: float = 1024.0  # typical samples per packet
    chunk: int = 0  # packets per chunk of the canonical decode; 0: reads may start anywhere
    byte_seek: bool = False
    fresh_copies: bool = True  # a decoder built from the stream's parameters decodes as the stream's own
    channels: int = 0
    sample_format: str = ""
    decode_errors: int = 0
    failed: frozenset[int] = frozenset()  # the packets the scan found undecodable
    warnings: list[str] = field(default_factory=list)
    demux_error: str = ""
    declared_duration: float | None = None  # seconds, from the header or the bit rate
    damage_placed: bool = False  # lost audio already found (and said) from the bytes

    @property
    def n(self) -> int:
        return int(self.pts.shape[0])

    def entry(self, k: int) -> int:
        """The packet a canonical decode that must cover packet ``k`` starts from (before preroll)."""
        return (k // self.chunk) * self.chunk if self.chunk else k

    def packet_of(self, sample: int) -> int:
        """Index of the packet whose output holds ``sample``."""
        return max(0, int(np.searchsorted(self.start, sample, side="right")) - 1)


class _Desync(Exception):
    """The demuxer delivered a packet the index does not have where expected."""


# -- frames to float32 ----------------------------------------------------------------------------

#: numpy dtype and scale to +-1 of each FFmpeg sample format (planar or packed).
_SAMPLE_TYPES: dict[str, tuple[str, float, float]] = {  # name -> (dtype, offset, scale)
    "u8": ("u1", 128.0, 1.0 / 128.0),
    "s16": ("<i2", 0.0, 1.0 / 32768.0),
    "s32": ("<i4", 0.0, 1.0 / 2147483648.0),
    "s64": ("<i8", 0.0, 2.0**-63),
    "flt": ("<f4", 0.0, 1.0),
    "dbl": ("<f8", 0.0, 1.0),
}


def _frame_array(frame: Any, channels: int) -> np.ndarray:
    """An audio frame as (channels, samples) float32, full scale +-1.

    Read straight from the frame's planes (PyAV's ``to_ndarray`` costs three
    times as much and refuses 64-bit integers).  Integer formats are scaled
    by 1/2^(bits-1) (unsigned 8-bit about 128), FFmpeg's own conversion.  A
    frame with another channel count than the stream's first (a mid-stream
    change) keeps its first ``channels`` channels or repeats its last one.
    """
    n = frame.samples
    fmt = frame.format
    planar = fmt.is_planar
    name = fmt.name[:-1] if planar else fmt.name
    kind = _SAMPLE_TYPES.get(name)
    if kind is None:
        raise FFmpegError(f"sample format {fmt.name} is not supported")
    dtype, offset, scale = kind
    planes = frame.planes
    if planar:
        data = np.empty((len(planes), n), dtype)
        for row, plane in enumerate(planes):
            data[row] = np.frombuffer(plane, dtype, count=n)
    else:
        ch = frame.layout.nb_channels
        data = np.frombuffer(planes[0], dtype, count=n * ch).reshape(n, ch).T
    if dtype != "<f4":
        data = data.astype(np.float32)
        if offset:
            data -= np.float32(offset)
        if scale != 1.0:
            data *= np.float32(scale)
    if data.shape[0] != channels:
        if data.shape[0] > channels:
            data = data[:channels]
        else:
            data = np.concatenate([data, np.repeat(data[-1:], channels - data.shape[0], axis=0)])
    return data


# -- the scan -------------------------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    # PyAV appends ": 'path'" to FFmpeg's message; the caller names the file already.
    if text.startswith("[Errno"):
        text = text.split("] ", 1)[-1]
    if ": '" in text:
        text = text.split(": '", 1)[0]
    return text or type(exc).__name__


#: Seconds FFmpeg may spend opening a file, or demuxing one packet, before it gives up
#: (PyAV's interrupt callback).  A local file never needs that long; gigabytes
#: without a frame (a sparse file of zeros named .mp3) would otherwise be read to
#: the end, byte by byte, looking for one.
FFMPEG_TIMEOUT = 5.0


def _open_container(path: str, timeout: float = FFMPEG_TIMEOUT) -> Any:
    av = _av()
    try:
        return av.open(path, metadata_errors="ignore", timeout=(timeout, timeout))
    except av.error.InvalidDataError:
        raise FFmpegError(
            f"{path}: not an audio file (format not recognised, or damaged where its header or index should be)"
        ) from None
    except av.error.FFmpegError as exc:
        raise FFmpegError(f"{path}: cannot be read as audio: {_one_line(exc)}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FFmpegError(f"{path}: cannot open ({getattr(exc, 'strerror', None) or _one_line(exc)})") from None


def _audio_streams(container: Any) -> list[Any]:
    return [s for s in container.streams if s.type == "audio"]


def _pick_stream(container: Any, path: str, stream: int) -> Any:
    streams = _audio_streams(container)
    if not streams:
        raise FFmpegError(f"{path}: contains no audio stream")
    if not 0 <= stream < len(streams):
        n = len(streams)
        raise FFmpegError(
            f"{path}: has {n} audio stream{'s' if n > 1 else ''}, not a stream {stream + 1} (allowed 1-{n})"
        )
    s = streams[stream]
    if s.codec_context is None:
        raise FFmpegError(f"{path}: no decoder for the audio stream's codec")
    return s


def describe_streams(path: str) -> list[str]:
    """One line per audio stream: ``"AAC (Advanced Audio Coding), 48000 Hz, 2 ch, eng, Commentary"``."""
    container = _open_container(path)
    try:
        out = []
        for s in _audio_streams(container):
            cc = s.codec_context
            parts = [cc.codec.long_name if cc is not None else "no decoder"]
            if cc is not None:
                parts += [f"{cc.sample_rate} Hz", f"{cc.channels} ch"]
            for key in ("language", "title"):
                value = (s.metadata or {}).get(key)
                if value and value != "und":
                    parts.append(str(value))
            out.append(", ".join(parts))
        return out
    finally:
        container.close()


#: Demuxers of raw elementary streams: timestamps come from counting frames.
_RAW_STREAM_FORMATS = frozenset({"mp3", "aac", "ac3", "eac3", "dts", "truehd", "mlp", "loas", "adts", "amr", "gsm"})

#: Packets at each end of a stream whose flags and side data the scan reads:
#: trims (encoder delay, end padding) and "discard" flags live only there.
_EDGE_PACKETS = 16

_SKIP_SAMPLES = "skip_samples"


def estimated_duration(path: str) -> float | None:
    """Seconds the file's header (or its bit rate) claims, without scanning: an estimate, or None."""
    av = _av()
    try:
        container = _open_container(path, timeout=1.0)  # an estimate is not worth waiting for
    except FFmpegError:
        return None
    try:
        duration = container.duration
        return duration / av.time_base if duration and duration > 0 else None
    finally:
        container.close()


def _scan_packets(
    container: Any, stream: Any, *, progress: Callable[[float], None] | None, cancelled: Callable[[], bool] | None
) -> _Scan:
    """Demux every packet of ``stream`` once; about 6 us a packet, most of it PyAV's."""
    av = _av()
    pts: list[int] = []
    pos: list[int] = []
    size: list[int] = []
    durations: list[int] = []
    head: list[Any] = []
    ring: list[Any] = [None] * _EDGE_PACKETS  # the last packets, at k % _EDGE_PACKETS
    total = max(1, container.size or 1)
    last_pts: int | None = None
    demux_error = ""
    k = -1
    stuck, resyncs = -1, 0  # where the last resync started from, and how many
    packets = container.demux(stream)
    while True:
        try:
            p = next(packets)
        except StopIteration:
            break
        except av.error.FFmpegError as exc:
            # A demuxer that stops at a damaged block (WavPack) goes on at the next sync word,
            # always past the last one it stopped at.
            after = max(pos[-1] + size[-1] if pos and pos[-1] >= 0 else -1, stuck + 1)
            resumed = _resync(container, stream, after) if after >= 0 and resyncs < 10_000 else None
            if resumed is None:
                demux_error = _one_line(exc)
                break
            packets, stuck = resumed, after
            resyncs += 1
            continue
        n = p.size
        if not n:
            continue
        t = p.pts
        if t is None:
            t = p.dts
        if t is None:
            t = last_pts if last_pts is not None else 0
        where = p.pos
        duration = p.duration or 0
        pts.append(t)
        pos.append(-1 if where is None else where)
        size.append(n)
        durations.append(duration)
        last_pts = t + duration
        k += 1
        if k < _EDGE_PACKETS:
            head.append(p)
        ring[k % _EDGE_PACKETS] = p
        if not k & 4095 and k:
            if cancelled is not None and cancelled():
                raise _Cancelled
            if progress is not None and where is not None and where >= 0:
                progress(min(1.0, where / total))
    trims: dict[int, tuple[int, int]] = {}
    side: dict[int, Any] = {}
    discard: set[int] = set()
    n = k + 1
    tail = [(j, ring[j % _EDGE_PACKETS]) for j in range(max(len(head), n - _EDGE_PACKETS), n)]
    for k, p in [*enumerate(head), *tail]:
        if p.is_discard:
            discard.add(k)
        for sd in p.iter_sidedata():
            if sd.data_type == _SKIP_SAMPLES:
                raw = bytes(sd)
                skip, end = int.from_bytes(raw[0:4], "little"), int.from_bytes(raw[4:8], "little")
                if skip or end:
                    trims[k] = (skip, end)
                    side[k] = sd  # a copy, given back to the packet on every read
    _drop_stray_end_padding(trims, side, n)
    return _Scan(
        pts=np.asarray(pts, np.int64),
        pos=np.asarray(pos, np.int64),
        size=np.asarray(size, np.int32),
        duration=np.asarray(durations, np.int64),
        discard=frozenset(discard),
        trims=trims,
        side=side,
        demux_error=demux_error,
    )


class _Cancelled(Exception):
    pass


#: Sync words of demuxers that stop at a damaged block instead of resyncing themselves.
_SYNC_WORDS = {"wv": b"wvpk"}


def _resync(container: Any, stream: Any, after: int) -> Any:
    """After a demux error at byte ``after``: a demux iterator from the next sync word, or None."""
    word = _SYNC_WORDS.get(container.format.name)
    if word is None or after < 0:
        return None
    av = _av()
    name = getattr(container, "name", None)
    if not name:
        return None
    try:
        with open(name, "rb") as fh:
            at = after + 1
            while True:
                fh.seek(at)
                block = fh.read(1 << 20)
                found = block.find(word)
                if found >= 0:
                    container.seek(at + found, unsupported_byte_offset=True)
                    return container.demux(stream)
                if len(block) < (1 << 20):
                    return None  # the end of the file: nothing more to read
                at += len(block) - len(word) + 1
    except (OSError, av.error.FFmpegError):
        return None


def _drop_stray_end_padding(trims: dict[int, tuple[int, int]], side: dict[int, Any], n: int) -> None:
    """Keep "discard the end of this packet" only in the packets that end the stream.

    The MP3 demuxer places the encoder's end padding where the Xing tag's
    frame count says the stream ends; a tag that lies (a file cut or joined
    without rewriting it) puts it before the end, and libavcodec then cuts
    20 ms out of the audio there.  End padding can only be at the end: a
    packet with it must be followed by packets that all have it too.
    """
    ending = n
    while ending - 1 in trims and trims[ending - 1][1] > 0:
        ending -= 1
    for k, (skip, end) in list(trims.items()):
        if k < ending and end > 0:
            raw = bytes(side[k])
            side[k].update(raw[:4] + bytes(4) + raw[8:])
            if skip:
                trims[k] = (skip, 0)
            else:
                del trims[k]
                del side[k]


def _preroll_packets(codec: str, sr: int, samples_per_packet: float) -> int:
    if codec in _INTRA or codec.startswith("pcm_"):
        return 0
    packets = _PREROLL_PACKETS.get(codec, _DEFAULT_PREROLL_PACKETS)
    seconds = _PREROLL_SECONDS.get(codec, 0.0 if codec in _PREROLL_PACKETS else _DEFAULT_PREROLL_SECONDS)
    if seconds and samples_per_packet > 0:
        packets = max(packets, math.ceil(seconds * sr / samples_per_packet))
    return packets


# -- the decoder -----------------------------------------------------------------------------------------


class FFmpegDecoder:
    """One audio stream of a file FFmpeg reads, as sample-exact random access.

    Parameters
    ----------
    path : str
    stream : int
        0-based index among the file's audio streams.
    progress : callable(float), optional
        Called with the fraction scanned (0..1) while the file is scanned.
    cancelled : callable() -> bool, optional
        Polled during the scan; True stops it with :class:`FFmpegError`.

    Raises
    ------
    FFmpegError
        The file is not one FFmpeg reads, has no audio stream (or not the
        one asked for), no decoder for its codec, or nothing in it decodes.

    Notes
    -----
    The first decoder of a file scans it (about 5 us per packet: 0.7 s for an
    hour of MP3); later ones, in any thread, reuse that scan.  One decoder
    must be used by one thread at a time.
    """

    def __init__(
        self,
        path: str,
        *,
        stream: int = 0,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self.path = path
        self.stream_number = stream
        self._demux: Iterator[Any] | None = None
        self._pushed_back: Any = None
        self._next_packet_index = -1  # index of the packet the demuxer delivers next
        self._emitter: Generator[tuple[int, int | None, Any, int, int], None, None] | None = None
        self._held: tuple[int, np.ndarray] | None = None  # decoded samples past the last read: (start, data)
        self._emitted_to = -1  # the straight decode's sample where the emitter's output continues
        self._count_state: tuple[int, int] = (-1, 0)  # ("count" timeline) packet and samples emitted in it
        self._failed: set[int] = set()  # packets that would not decode
        self._av_error = _av().error.FFmpegError
        self._spares: list[Any] = []  # containers opened for their fresh decoders
        self._scanned = False  # True once the scan is complete: reads must find every packet
        self._container = _open_container(path)
        try:
            self._stream = _pick_stream(self._container, path, stream)
            self.n_streams = len(_audio_streams(self._container))
            cc = self._stream.codec_context
            self.samplerate = int(cc.sample_rate or 0)
            if self.samplerate <= 0:
                raise FFmpegError(
                    f"{path}: not an audio file (FFmpeg's {self._container.format.name} reader finds a stream "
                    "without a sample rate: noise that looks like a header)"
                )
            self.codec = cc.name
            self._tb = Fraction(self._stream.time_base) if self._stream.time_base else Fraction(1, self.samplerate)
            try:
                key = _identity(path, stream)
            except OSError as exc:
                raise FFmpegError(f"{path}: cannot open ({exc.strerror})") from None
            scanned_here = False

            def build() -> _Scan:
                nonlocal scanned_here
                scanned_here = True
                return self._build_scan(progress, cancelled)

            self.scan = _CACHE.get(key, build)
            self._scanned = True
            if scanned_here:
                # A container that demuxed the whole file keeps a large generic
                # index that slows its next pass (measured: 17 us a packet
                # instead of 3): reads use a fresh one.
                self._container.close()
                self._container = _open_container(path)
                self._stream = _pick_stream(self._container, path, stream)
                self._reset()
        except BaseException:
            self._container.close()
            raise

    # -- facts ----------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        return self.scan.channels

    @property
    def n_samples(self) -> int:
        return self.scan.n_samples

    @property
    def warnings(self) -> list[str]:
        return self.scan.warnings

    def describe(self) -> dict[str, object]:
        """Codec, container, bit rate and sample format, for :class:`AudioInfo`."""
        cc = self._stream.codec_context
        container = self._container
        bit_rate = None
        if self.n_samples:
            # The stream's compressed size over its duration: the average, right for VBR too.
            bit_rate = round(8 * float(self.scan.size.sum()) * self.samplerate / self.n_samples)
        layout = getattr(cc.layout, "name", "") or ""
        return {
            "format": container.format.long_name or container.format.name,
            "container": container.format.name.split(",")[0],
            "codec": cc.codec.long_name or cc.name,
            "codec_name": getattr(cc.codec, "canonical_name", None) or cc.name,  # "mp3", not the decoder "mp3float"
            "bit_rate": int(bit_rate) if bit_rate else None,
            "sample_format": self.scan.sample_format,
            "channel_layout": layout,
        }

    # -- the scan ---------------------------------------------------------------------------
    def _build_scan(self, progress: Callable[[float], None] | None, cancelled: Callable[[], bool] | None) -> _Scan:
        av = _av()
        try:
            scan = _scan_packets(self._container, self._stream, progress=progress, cancelled=cancelled)
        except _Cancelled:
            raise FFmpegError(f"{self.path}: opening cancelled") from None
        if scan.n == 0:
            reason = f" ({scan.demux_error})" if scan.demux_error else ""
            raise FFmpegError(f"{self.path}: no audio data in the stream{reason}")
        duration = self._stream.duration
        if duration is not None and duration > 0:
            scan.declared_duration = float(duration * self._tb)
        elif self._container.duration:
            scan.declared_duration = self._container.duration / av.time_base
        durations = np.diff(scan.pts)
        per_packet = float(np.median(durations)) * float(self._tb) * self.samplerate if scan.n > 1 else 1024.0
        scan.packet_samples = max(1.0, per_packet)
        scan.preroll = _preroll_packets(self.codec, self.samplerate, per_packet)
        if self.codec not in _CONVERGES and not self.codec.startswith("pcm_"):
            scan.chunk = max(4 * max(1, scan.preroll), math.ceil(_CHUNK_SAMPLES / max(1.0, per_packet)))
        scan.byte_seek = self._probe_byte_seek(scan)
        self._place_damaged_bytes(scan)
        self.scan = scan
        try:
            self._check_fresh_copies(scan)
            self._finish(scan, progress, cancelled)
        except _Desync:
            raise FFmpegError(
                f"{self.path}: cannot be decoded: the demuxer does not find its own packets again (damaged file?)"
            ) from None
        except av.error.FFmpegError as exc:
            raise FFmpegError(f"{self.path}: cannot be decoded: {_one_line(exc)}") from None
        if progress is not None:
            progress(1.0)
        return scan

    def _place_damaged_bytes(self, scan: _Scan) -> None:
        """Raw streams: audio lost to damage gets its time back.

        An MP3, ADTS or AC-3 stream has no clock but its frames: where damage
        garbled some, the parser resyncs past them (or takes garbage for a
        frame or two) and every later timestamp comes too early, by as much
        as the lost audio.  At a constant bit rate each frame's time follows
        from its byte position exactly; otherwise bytes skipped between two
        frames are converted with the neighbouring frames' bytes per frame.
        Later timestamps move on by the lost time, so what follows stays in
        place and the hole reads as silence.  Tags between frames (ID3, APE,
        Lyrics3: files joined end to end) are not audio and move nothing.
        """
        if self._container.format.name not in _RAW_STREAM_FORMATS or scan.n < 16 or np.any(scan.pos < 0):
            return
        ends = scan.pos[:-1] + scan.size[:-1]
        tags = np.zeros(scan.n, np.int64)  # tag bytes before each packet
        damaged_gaps: list[int] = []
        try:
            with open(self.path, "rb") as fh:
                fh.seek(max(0, int(scan.pos[0]) - 4096))
                head = fh.read(min(4096, int(scan.pos[0])))
                for k in np.flatnonzero(scan.pos[1:] - ends > 0).tolist():
                    fh.seek(int(ends[k]))
                    if fh.read(8).startswith((b"ID3", b"TAG", b"APETAGEX", b"LYRICSBE")):
                        tags[k + 1 :] += int(scan.pos[k + 1] - ends[k])
                    else:
                        damaged_gaps.append(k)
        except OSError:
            return
        frame_ticks = int(np.median(scan.duration))
        if frame_ticks <= 0:
            return
        size = scan.size.astype(np.int64)
        typical = int(np.median(size))
        regular = np.abs(size - typical) <= 4  # padding: a byte (MP3), a word (AC-3 at 44.1 kHz), 4 (layer I)
        shift = np.zeros(scan.n, np.int64)
        how = ""
        # LAME marks a variable-rate stream "Xing" and a constant one "Info";
        # without either, every frame but a few (the damaged ones) must be alike.
        constant = b"Info" in head or (b"Xing" not in head and (~regular[:-1]).sum() <= 8)
        if constant and regular.mean() >= 0.95 and np.all(scan.duration[regular] == frame_ticks):
            # Constant bit rate: frame k sits at byte (pos - first) / bytes per frame.
            per_frame = float(size[regular].mean())
            index = np.rint((scan.pos - tags - scan.pos[0]) / per_frame).astype(np.int64)
            behind = np.maximum.accumulate(np.maximum(index - np.arange(scan.n), 0))
            shift = behind * frame_ticks
            how = "from the constant bit rate"
        elif damaged_gaps:
            for k in damaged_gaps:
                lo, hi = max(0, k - 50), min(scan.n, k + 51)
                frames = round(float(scan.pos[k + 1] - ends[k]) / float(np.median(size[lo:hi])))
                if frames > 0:
                    shift[k + 1 :] += frames * frame_ticks
            how = "estimated from the bit rate"
        if not shift.any():
            return
        scan.pts = scan.pts + shift
        scan.damage_placed = True
        num, den = self._tb.numerator * self.samplerate, self._tb.denominator
        lost = float(shift[-1]) * num / den / self.samplerate
        first = int(np.flatnonzero(shift)[0])
        at = float(scan.pts[first] * num // den) / self.samplerate
        scan.warnings.append(
            f"{lost:.3f} s of damaged data, first at {at:.2f} s: silence in its place (its length {how})"
        )

    def _probe_byte_seek(self, scan: _Scan) -> bool:
        """Whether a byte seek to a packet's position delivers exactly that packet next.

        Byte seeks are exact where the demuxer allows them (raw MP3, ADTS,
        AC-3, FLAC, Ogg, WavPack), whereas a timestamp seek in a raw stream
        lands at an estimated position.  Probed in a container of its own:
        a byte seek leaves wrong timestamps in the demuxer's generic index,
        which would mislead later timestamp seeks.
        """
        if scan.n < 3 or np.any(scan.pos < 0) or np.any(np.diff(scan.pos) < 0):
            return False
        av = _av()
        container = _open_container(self.path)
        landed = 0
        tries = sorted({0, scan.n // 4, scan.n // 2, 3 * scan.n // 4, scan.n - 2})
        try:
            stream = _pick_stream(container, self.path, self.stream_number)
            for k in tries:
                first = int(np.searchsorted(scan.pos, scan.pos[k], side="left"))
                try:
                    container.seek(int(scan.pos[first]), unsupported_byte_offset=True)
                    p = next((p for p in container.demux(stream) if p.size), None)
                except av.error.FFmpegError:
                    continue  # a damaged block may refuse; the others decide
                landed += p is not None and p.pos == scan.pos[first] and p.size == scan.size[first]
        except av.error.FFmpegError:
            return False
        finally:
            container.close()
        return landed >= len(tries) - 1

    def _check_fresh_copies(self, scan: _Scan) -> None:
        """Decoders are built from the stream's parameters if those decode as the stream's own.

        A fresh decoder is the only reliable reset (a flush leaves AAC's noise
        generator where it was); a few decoders need more than the parameters
        PyAV can copy (WMA's block alignment), and get the stream's decoder,
        flushed, instead.
        """
        n = min(scan.n, 8)
        scan.fresh_copies = True
        try:
            ours = self._decode_head(self._fresh_decoder(), n)
        except Exception:  # a decoder that will not even open from copied parameters
            scan.fresh_copies = False
            return
        # A decoder opened by a container of its own: fresh, with everything FFmpeg knows.
        spare = _open_container(self.path)
        try:
            cc = _pick_stream(spare, self.path, self.stream_number).codec_context
            _manual_skips(cc)
            theirs = self._decode_head(cc, n)
        finally:
            spare.close()
        same = len(ours) == len(theirs) and all(
            a.shape == b.shape and np.array_equal(a, b, equal_nan=True) for a, b in zip(ours, theirs, strict=True)
        )
        scan.fresh_copies = same

    def _decode_head(self, decoder: Any, n: int) -> list[np.ndarray]:
        self._container.seek(0)
        self._demux = None
        out = []
        k = 0
        for p in self._container.demux(self._stream):
            if not p.size:
                continue
            self._fix_packet(p, k)
            for frame in self._decode(decoder, p):
                out.append(_frame_array(frame, frame.layout.nb_channels))
                out.append(np.array([frame.pts if frame.pts is not None else -1]))
            k += 1
            if k >= n:
                break
        return out

    def _finish(
        self, scan: _Scan, progress: Callable[[float], None] | None, cancelled: Callable[[], bool] | None
    ) -> None:
        """Origin, timeline, packet start samples and the true length."""
        # The first frame of the straight decode: its timestamp is sample 0,
        # its layout the stream's channels, its format the sample format.
        first = None
        for _, raw0, frame, _, _ in self._emit_raw(0):
            first = (raw0, frame)
            break
        if first is None:
            errors = f" ({scan.demux_error})" if scan.demux_error else ""
            raise FFmpegError(f"{self.path}: no audio decodes from the {self.codec} stream{errors}")
        if scan.channels <= 0:
            raise FFmpegError(f"{self.path}: invalid channel count {scan.channels}")
        starts = None if self.codec in _COUNTED else self._raw_starts(scan)
        if starts is not None and first[0] is not None:
            scan.timeline = "pts"
            scan.origin = first[0]
            scan.start = starts - scan.origin
            scan.n_samples = self._tail_end(scan)
        else:
            scan.timeline = "count"
            self._count_scan(scan, progress, cancelled)
        scan.decode_errors = len(self._failed)
        scan.failed = frozenset(self._failed)
        self._describe_damage(scan)
        scan.duration = np.zeros(0, np.int64)  # used only by _describe_damage; the scan stays small

    def _raw(self, pts: int) -> int | None:
        """Timestamp ``pts`` in samples, or None if it is not a whole sample."""
        ticks = pts * self._tb.numerator * self.samplerate
        q, r = divmod(ticks, self._tb.denominator)
        return None if r else q

    def _raw_starts(self, scan: _Scan) -> np.ndarray | None:
        """Every packet's timestamp in samples, or None unless the time base resolves single samples.

        A millisecond clock (Matroska, ASF) can give whole samples at 48 kHz
        and still be rounded (Opus's 6.5 ms pre-skip is written as 7 ms), so
        the clock itself must tick at least once per sample.
        """
        num = self._tb.numerator * self.samplerate
        den = self._tb.denominator
        if den % num:
            return None
        span = int(np.abs(scan.pts).max()) if scan.n else 0
        if span * num >= 2**62:  # int64 would overflow: exact integers the slow way
            exact = [int(t) * num for t in scan.pts]
            if any(t % den for t in exact):
                return None
            return np.asarray([t // den for t in exact], np.int64)
        ticks = scan.pts * num
        if np.any(ticks % den):
            return None
        return np.asarray(ticks // den, np.int64)

    def _tail_end(self, scan: _Scan) -> int:
        """Where the straight decode ends: decode the last packets and take the last frame's end."""
        back = _TAIL_PACKETS
        while True:
            k = max(0, scan.n - back)
            end = 0
            for _, raw0, _, start, stop in self._emit_raw(scan.entry(k)):
                s0 = raw0 - scan.origin if raw0 is not None else end
                end = max(end, s0 + stop - start)
            if end > 0 or k == 0:
                return end
            back *= 4

    def _count_scan(
        self, scan: _Scan, progress: Callable[[float], None] | None, cancelled: Callable[[], bool] | None
    ) -> None:
        """Decode the whole stream canonically and count what each packet emits (the "count" timeline)."""
        counts = np.zeros(scan.n + 1, np.int64)
        for done, (k, _, _, first, last) in enumerate(self._emit_raw(0)):
            counts[k] += last - first
            if not done & 1023:
                if cancelled is not None and cancelled():
                    raise FFmpegError(f"{self.path}: opening cancelled")
                if progress is not None:
                    progress(0.5 + 0.5 * k / scan.n)
        start = np.zeros(scan.n + 1, np.int64)  # packet k's first sample; start[n]: the drain's
        np.cumsum(counts[: scan.n], out=start[1:])
        start += self._timestamp_gaps(scan, start, counts)
        scan.start = start[: scan.n]
        scan.drain_start = int(start[scan.n])
        scan.n_samples = int(start[scan.n] + counts[scan.n])

    def _timestamp_gaps(self, scan: _Scan, start: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Silence to put before each packet where the container's clock jumps past the counted samples.

        A coarse clock (milliseconds) cannot place samples, but it does show
        data that went missing (a damaged Matroska cluster, ASF packet): the
        timestamps run ahead of the count by the lost time.  Jumps within a
        packet's length or 10 ms are the clock's rounding and the codec's
        block alignment (measured: under 1 ms), not losses.  A loss also
        lasts: the lead must hold over the next :data:`_GAP_CONFIRM` packets
        (their median), since a timestamp can be wrong for one packet and
        right again after: Ogg Vorbis's, at a block-size switch, by up to
        half a long block (measured: 448 samples at 44.1 kHz, more than
        10 ms, on clicks every 0.3 s).
        """
        shift = np.zeros(scan.n + 1, np.int64)
        sounding = np.flatnonzero(counts[: scan.n] > 0)
        if sounding.size < 8:
            return shift
        ticks = scan.pts.astype(np.float64) * float(self._tb) * self.samplerate  # in samples, coarse
        lead = ticks[: scan.n] - start[: scan.n]  # the clock's lead over the count
        reference = float(np.median(lead[sounding[4:12]]))  # after the decoder's own start-up
        tolerance = max(self.samplerate / 100.0, scan.packet_samples)
        inserted = 0.0
        lost, first_at = 0.0, None
        order = sounding[4:]
        for i, k in enumerate(order.tolist()):
            behind = lead[k] - reference - inserted
            if behind > tolerance:
                later = lead[order[i + 1 : i + 1 + _GAP_CONFIRM]] - reference - inserted
                if later.size and float(np.median(later)) <= tolerance:
                    continue  # one wrong timestamp, not lost audio
                gap = round(float(np.median(np.append(later, behind))))
                shift[k:] += gap
                inserted += gap
                lost += gap / self.samplerate
                if first_at is None:
                    first_at = float(start[k] + shift[k]) / self.samplerate
        if lost and not scan.damage_placed:
            scan.warnings.append(
                f"{lost:.3f} s of damaged or missing data, first at {first_at:.2f} s: silence in its place"
            )
        return shift

    def _describe_damage(self, scan: _Scan) -> None:
        """One line per kind of damage: lost audio inside the file, an end cut short, undecodable packets."""
        duration = scan.n_samples / self.samplerate
        gap = self._largest_gap(scan)
        if gap:
            scan.warnings.append(gap)
        # The end: everything that says the file stops before it should, in one line.
        ending = []
        declared = scan.declared_duration
        if declared is not None and duration < 0.98 * declared - 0.05:
            ending.append(f"{duration:.2f} s decode, {declared:.2f} s expected from its header or bit rate")
        tail = self._tail_damage(scan)
        if tail:
            ending.append(tail)
        if scan.demux_error:
            ending.append(f"reading stopped at {duration:.2f} s ({scan.demux_error})")
        if ending:
            scan.warnings.append("the file ends early: " + "; ".join(ending))
        # Packets that would not decode: the last one of a cut file is part of the above.
        errors = scan.decode_errors - (1 if ending else 0)
        if errors > 0:
            scan.warnings.append(
                f"{errors} damaged packet{'s' if errors > 1 else ''} could not be decoded (silence in their place)"
            )

    def _largest_gap(self, scan: _Scan) -> str:
        """Timestamps that jump past a packet's duration: data the demuxer skipped (a damaged page).

        ("pts" timeline only: those samples are silence, in place.)
        """
        if scan.timeline != "pts" or scan.n < 2 or scan.damage_placed:
            return ""
        durations = scan.duration[:-1] * self._tb.numerator * self.samplerate // self._tb.denominator
        jumps = np.diff(scan.start) - durations
        jumps[durations <= 0] = 0
        k = int(np.argmax(jumps))
        if jumps[k] <= max(1, self.samplerate // 1000):
            return ""
        missing = int(jumps.clip(0).sum()) / self.samplerate
        at = int(scan.start[k + 1]) / self.samplerate
        return f"{missing:.3f} s of damaged or missing data (silence in its place), first at {at:.2f} s"

    def _tail_damage(self, scan: _Scan) -> str:
        """A file cut short leaves a partial frame or page after its last packet: say so.

        Raw streams (MP3, ADTS, AC-3: byte-seekable, packets back to back) end
        with their last packet, or a tag (ID3v1, APEv2, Lyrics3); Ogg streams
        end with a page marked end-of-stream.  The demuxers drop a partial
        last frame silently, so it is looked for here.
        """
        try:
            size = os.path.getsize(self.path)
            with open(self.path, "rb") as fh:
                fh.seek(max(0, size - 65536))
                tail = fh.read()
        except OSError:
            return ""
        name = self._container.format.name
        if name == "ogg":
            at = tail.rfind(b"OggS")
            if at < 0 or len(tail) - at < 27:
                return "it ends inside an Ogg page"
            header_type = tail[at + 5]
            segments = tail[at + 26]
            body = sum(tail[at + 27 : at + 27 + segments])
            if len(tail) - at < 27 + segments + body:
                return "it ends inside an Ogg page"
            if not header_type & 0x04:
                return "no Ogg end-of-stream page"
            return ""
        if not scan.byte_seek or scan.pos[-1] < 0:
            return ""
        last_pos, last_size = int(scan.pos[-1]), int(scan.size[-1])
        if size - last_pos <= len(tail):
            header = tail[len(tail) - (size - last_pos) :][:8]
            expected = _raw_frame_bytes(header)
            if expected is not None and last_size < expected:
                return f"the last frame is cut short ({last_size} of {expected} bytes)"
        end = last_pos + last_size
        rest = tail[len(tail) - (size - end) :] if size - end <= len(tail) else b"?" * (size - end)
        rest = _strip_trailing_tags(rest)
        if len(rest) > 0 and rest.strip(b"\x00"):
            return f"{len(rest)} bytes at the end do not decode"
        return ""

    # -- decoding ----------------------------------------------------------------------------------
    def _fresh_decoder(self) -> Any:
        """A decoder in its initial state that trims nothing itself (trims come from the scan).

        ``skip_manual``: libavcodec would otherwise also apply a decoder's own
        initial delay (Opus's pre-skip) after every seek, and could not move
        timestamps past skipped samples in a decoder built from parameters.
        """
        cc = self._stream.codec_context
        if not self.scan.fresh_copies:
            if self.scan.chunk:
                # A decoder whose state never converges needs a true reset: the
                # decoder of a container opened for it (a flush is not one).
                spare = _open_container(self.path)
                self._spares.append(spare)
                if len(self._spares) > 2:
                    self._spares.pop(0).close()
                fresh = _pick_stream(spare, self.path, self.stream_number).codec_context
                _manual_skips(fresh)
                return fresh
            cc.flush_buffers()
            _manual_skips(cc)
            return cc
        av = _av()
        fresh = av.CodecContext.create(cc.name, "r")
        _manual_skips(fresh)
        fresh.sample_rate = cc.sample_rate
        if cc.layout is not None and cc.layout.nb_channels:
            fresh.layout = cc.layout
        if cc.extradata:
            fresh.extradata = cc.extradata
        if cc.bit_rate:
            fresh.bit_rate = cc.bit_rate
        if hasattr(fresh, "pkt_timebase"):  # PyAV >= 16; used to shift timestamps past skipped samples
            fresh.pkt_timebase = self._stream.time_base
        return fresh

    def _decode(self, decoder: Any, packet: Any, k: int | None = None) -> list[Any]:
        """The frames ``packet`` (index ``k``, counted when it fails) gives; none if it does not decode."""
        try:
            return decoder.decode(packet)
        except self._av_error:
            if k is not None:
                self._failed.add(k)
            return []

    @property
    def damaged_since_scan(self) -> int:
        """Packets reads found undecodable that the scan had not (it decodes only the ends of most files)."""
        return len(self._failed - self.scan.failed)

    def _fix_packet(self, p: Any, k: int) -> None:
        """Give packet ``k`` the timestamp and skip side data it had in the straight demux.

        After a seek a demuxer may attach "skip the encoder delay" to
        whichever packet it believes starts the stream, or leave it off the
        one that does; the decoder must see what the straight decode saw.
        """
        t = self.scan.pts.item(k)
        p.pts = t
        p.dts = t
        want = self.scan.side.get(k)
        if want is not None:
            p.set_sidedata(want)
            return
        for sd in p.iter_sidedata():
            if sd.data_type == _SKIP_SAMPLES:
                sd.update(bytes(sd.buffer_size))
                p.set_sidedata(sd)

    # -- positioning the demuxer -------------------------------------------------------------------
    def _identify(self, p: Any) -> int | None:
        """Which packet of the index ``p`` is: by byte position and size, else by timestamp and size.

        Positions are exact where a demuxer reads frame by frame (MP3 after a
        byte seek, whose timestamps are then estimates); a parser that
        assembles frames from its buffer (FLAC) reports positions that depend
        on where it started, but its timestamps are the frames' own.
        """
        scan = self.scan
        if p.pos is not None and p.pos >= 0 and scan.pos.size and scan.pos[0] >= 0:
            lo = int(np.searchsorted(scan.pos, p.pos, side="left"))
            hi = int(np.searchsorted(scan.pos, p.pos, side="right"))
            if hi > lo and np.all(np.diff(scan.pos[lo : hi + 1]) >= 0):
                candidates = [k for k in range(lo, hi) if scan.size[k] == p.size]
                if len(candidates) > 1 and p.pts is not None:
                    by_pts = [k for k in candidates if scan.pts[k] == p.pts]
                    candidates = by_pts or candidates
                if candidates:
                    return candidates[0]
            else:
                hits = np.flatnonzero((scan.pos == p.pos) & (scan.size == p.size))
                if hits.size:
                    return int(hits[0])
        if p.pts is None:
            return None
        hits = np.flatnonzero((scan.pts == p.pts) & (scan.size == p.size))
        return int(hits[0]) if hits.size else None

    def _next_raw(self) -> Any:
        if self._pushed_back is not None:
            p, self._pushed_back = self._pushed_back, None
            return p
        assert self._demux is not None
        try:
            for p in self._demux:
                if p.size:
                    return p
        except self._av_error:
            return None
        return None

    def _position(self, j: int) -> None:
        """Make packet ``j`` the next one :meth:`_next_packet` returns."""
        if self._demux is not None and self._next_packet_index == j:
            return
        av = _av()
        scan = self.scan
        attempts = 0
        target = j
        by_bytes = scan.byte_seek
        while True:
            attempts += 1
            if attempts > 6:
                target = 0
            try:
                self._seek(target, by_bytes=by_bytes)
                self._demux = self._container.demux(self._stream)
                self._pushed_back = None
                p = self._next_raw()
            except av.error.FFmpegError:
                p = None
            if p is None:
                if by_bytes:
                    # A demuxer may refuse a byte seek it took before (WavPack after
                    # stepping over a damaged block): its own timestamp seek, then.
                    by_bytes = False
                    continue
                if target == 0:
                    raise _Desync
                target = 0
                continue
            k = self._identify(p)
            if k is None and target == 0:
                k = 0 if p.size == scan.size[0] else None
            if k is not None and k <= j:
                break
            if target == 0:
                raise _Desync
            # Landed after the packet wanted (a coarse index, an estimated
            # position): ask for an earlier one.
            target = max(0, target - max(1, (j - target) + 2**attempts))
        self._pushed_back = p
        self._next_packet_index = k
        while self._next_packet_index < j:
            if self._next_packet(self._next_packet_index) is None:
                raise FFmpegError(
                    f"{self.path}: file ends early: packet {self._next_packet_index} of {scan.n} is missing "
                    "(changed since it was opened?)"
                )

    def _seek(self, target: int, *, by_bytes: bool | None = None) -> None:
        scan = self.scan
        if scan.byte_seek if by_bytes is None else by_bytes:
            first = int(np.searchsorted(scan.pos, scan.pos[target], side="left"))
            self._container.seek(int(scan.pos[first]), unsupported_byte_offset=True)
            return
        av = _av()
        try:
            self._container.seek(int(scan.pts[target]), stream=self._stream, backward=True)
        except av.error.FFmpegError:
            if target:
                raise
            # Some demuxers refuse negative timestamps (priming packets): the file's start.
            self._container.seek(0)

    def _next_packet(self, k: int) -> Any:
        """The next packet, which must be index ``k``; None at the end of what demuxes."""
        p = self._next_raw()
        scan = self.scan
        if p is None and k < scan.n:
            # A demuxer that stops at a damaged block (the scan stepped over it):
            # go on at the packet the index says comes next.
            try:
                self._seek(k)
            except self._av_error:
                return None
            self._demux = self._container.demux(self._stream)
            p = self._next_raw()
        if p is None:
            return None
        pos, want = p.pos, scan.pos.item(k)
        if p.size != scan.size.item(k) or (
            # The position, or where a parser's positions are approximate (FLAC), the timestamp.
            pos is not None and pos >= 0 and want >= 0 and pos != want and p.pts != scan.pts.item(k)
        ):
            raise _Desync
        self._fix_packet(p, k)
        self._next_packet_index = k + 1
        return p

    def _preroll_start(self, i: int) -> int:
        """The packet a decode that must be right from packet ``i`` on starts with.

        MPEG layer III: frame ``i``'s output overlap-adds the previous
        frame's last granule and runs through a synthesis filter whose state
        is that granule, so frame ``i - 1``'s spectrum must decode right too;
        a frame's data starts up to 511 bytes before its header (the bit
        reservoir, main_data_begin).  So: the packets holding the 511 bytes
        before frame ``i - 1``, plus one.  Other codecs: their fixed preroll.
        """
        scan = self.scan
        if self.codec not in _RESERVOIR or scan.chunk:
            return max(0, i - scan.preroll)
        lo = max(0, i - scan.preroll)
        before = scan.size[lo : max(lo, i - 1)][::-1].astype(np.int64)  # frames i-2, i-3, ...
        reached = np.flatnonzero(np.cumsum(np.maximum(before - _MPEG_SIDE_INFO, 0)) >= _RESERVOIR_BYTES)
        if not reached.size:
            return lo
        return max(lo, i - 2 - int(reached[0]) - 1)

    def _emit_raw(self, i: int) -> Generator[tuple[int, int | None, Any, int, int], None, None]:
        """The canonical decode from packet ``i`` on, as (packet, first sample, frame, start, stop).

        ``i`` must be an entry point (:meth:`_Scan.entry`).  Output emitted
        while feeding packet ``k`` is tagged ``k``; the final drain ``n``.
        The frame's samples ``[start, stop)`` are the decode's (trims left
        out); the first sample is their timestamp in samples (None if the
        frame has none).

        Trims are libavcodec's, exported by the decoder (``skip_manual``) and
        applied here the way decode.c applies them: a decoder built from the
        stream's parameters could not move timestamps past skipped samples,
        and its own initial delay must not apply after every seek.
        """
        scan = self.scan
        n = scan.n
        preroll = scan.preroll
        j = self._preroll_start(i)
        self._position(j)
        decoder = self._fresh_decoder()
        recent: deque[Any] | None = deque(maxlen=max(1, preroll)) if scan.chunk else None
        skip_left = 0
        k = j
        trims, discard = scan.trims, scan.discard
        edge = n - _EDGE_PACKETS  # trims and discard flags live in the first and last packets only

        while k <= n:
            if k < n:
                p = self._next_packet(k)
                if p is None:
                    if self._scanned:
                        # The scan demuxed n packets; this pass ends before: the file
                        # was cut (or replaced) after it was opened.
                        raise FFmpegError(
                            f"{self.path}: file ends early: packet {k} of {n} is missing (changed since it was opened?)"
                        )
                    k = n
                    continue
                if scan.chunk and k > i and k % scan.chunk == 0:
                    # The canonical restart: a fresh decoder warmed up by the packets before the chunk.
                    decoder = self._fresh_decoder()
                    skip_left = 0
                    if recent is not None and preroll:
                        for q in recent:
                            self._decode(decoder, q)
                frames = self._decode(decoder, p, k if k >= i else None)
                if recent is not None:
                    recent.append(p)
            else:
                frames = self._decode(decoder, None)  # the drain
            at_edge = k < _EDGE_PACKETS or k >= edge
            for frame in frames:
                length = frame.samples
                pts = frame.pts
                if at_edge:
                    # What libavcodec would trim here, exported: the samples to
                    # skip from now on, and this frame's end padding.
                    exported = _exported_trims(frame)
                    if exported is not None:
                        skip, end = exported
                        # A decoder's own initial delay (WMA, Vorbis, Opus) belongs
                        # at the stream's start only, not after every seek.
                        if skip and (j == 0 or k in trims):
                            skip_left = skip
                        if end <= length:  # libavcodec ignores end padding longer than the frame
                            length -= end
                    if k in discard:
                        # Priming output to drop whole (an edit list); it counts
                        # against the samples to skip (decode.c, discard_samples).
                        skip_left = max(0, skip_left - length)
                        continue
                drop = 0
                if skip_left:
                    drop = min(skip_left, length)
                    skip_left -= drop
                    if drop >= length:
                        continue
                if not scan.channels:
                    scan.channels = frame.layout.nb_channels
                    scan.sample_format = _describe_sample_format(frame.format.name)
                if k >= i:
                    raw = None if pts is None else self._raw(pts)
                    yield k, None if raw is None else raw + drop, frame, drop, length
            k += 1

    # -- reading ---------------------------------------------------------------------------------------
    def read(self, start: int, stop: int, *, exact: bool = True) -> np.ndarray:
        """Samples ``[start, stop)`` of the straight decode as (n, channels) float32.

        Parts the decoder cannot produce (damaged packets) are zeros.  With
        ``exact=False``, a decoder whose state never converges (AAC's noise
        substitution) may start closer to ``start`` than its canonical chunk
        does: the same signal with other noise in its noise-coded bands, for
        previews that are replaced by exact reads anyway.
        """
        n = stop - start
        # Channel-major inside: every frame plane is one contiguous copy.
        out = np.zeros((self.channels, max(0, n)), np.float32)
        if n <= 0:
            return out.T
        if not exact and self.scan.chunk:
            self._reset()
            self._emitter = self._emit_raw(self.scan.packet_of(start))
            self._count_state = (-1, 0)
            try:
                self._read_into(out, start, stop, continuing=True)
            except _Desync:
                pass  # a preview: what was read stays, the rest is zeros
            self._reset()  # never a cursor for exact reads
            return out.T
        try:
            self._read_into(out, start, stop)
        except _Desync:
            # The demuxer disagreed with the index (a file changed on disk, or a
            # demuxer whose seeks cannot be trusted): decode from the start.
            self._reset()
            try:
                self._read_into(out, start, stop, from_start=True)
            except _Desync:
                self._reset()
                raise FFmpegError(
                    f"{self.path}: the file changed while it was open, or cannot be read consistently"
                ) from None
        return out.T

    def _reset(self) -> None:
        if self._emitter is not None:
            self._emitter.close()
        self._emitter = None
        self._demux = None
        self._pushed_back = None
        self._next_packet_index = -1
        self._held = None
        self._emitted_to = -1

    def _read_into(
        self, out: np.ndarray, start: int, stop: int, *, from_start: bool = False, continuing: bool = False
    ) -> None:
        """Fill ``out`` (channels, stop - start) with samples ``[start, stop)``.

        ``continuing``: take what the current emitter gives, as it is.
        """
        scan = self.scan
        covered = start
        held = self._held
        if held is not None and held[0] <= start < held[0] + held[1].shape[1] and not from_start:
            h0, data = held
            take = min(stop, h0 + data.shape[1]) - start
            out[:, :take] = data[:, start - h0 : start - h0 + take]
            covered = start + take
            if covered >= stop:
                return
        continuing = continuing or (
            not from_start
            and self._emitter is not None
            and self._emitted_to >= 0
            and self._emitted_to <= covered
            # Decoding on is cheaper than a seek and a preroll over a short gap.
            and covered - self._emitted_to < (scan.preroll + 2) * scan.packet_samples
        )
        if not continuing:
            self._reset()
            k = 0 if from_start else scan.packet_of(covered)
            entry = scan.entry(k)
            self._emitter = self._emit_raw(entry)
            self._count_state = (-1, 0)
        assert self._emitter is not None
        channels = self.channels
        for k, raw0, frame, first, last in self._emitter:
            length = last - first
            s0 = self._place(k, raw0, length)
            s1 = s0 + length
            self._emitted_to = s1
            lo, hi = max(start, s0), min(stop, s1)
            if hi > lo:
                _copy_samples(frame, channels, first + lo - s0, first + hi - s0, out[:, lo - start : hi - start])
            if s1 >= stop:
                self._held = (s0, _frame_array(frame, channels)[:, first:last])
                return
        # The stream ended: what is left of [start, stop) stays zero.
        self._reset()

    def _place(self, k: int, raw0: int | None, length: int) -> int:
        """Sample of the straight decode where output of packet ``k`` (first sample ``raw0``) goes."""
        scan = self.scan
        if scan.timeline == "pts":
            return raw0 - scan.origin if raw0 is not None else max(self._emitted_to, 0)
        packet, done = self._count_state
        if packet != k:
            packet, done = k, 0
        base = int(scan.start[k]) if k < scan.n else scan.drain_start
        self._count_state = (packet, done + length)
        return base + done

    def close(self) -> None:
        self._reset()
        for spare in getattr(self, "_spares", []):
            spare.close()
        self._spares = []
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()
            self._container = None


_MPEG_BITRATES = {  # kbit/s by (MPEG-1?, layer) and bitrate index 1..14
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _raw_frame_bytes(header: bytes) -> int | None:
    """Length in bytes of the frame a raw MPEG audio or ADTS header announces (ISO 11172-3, 13818-7).

    None for anything else (or a free-format MPEG frame).
    """
    if len(header) < 7 or header[0] != 0xFF:
        return None
    if header[1] & 0xF6 == 0xF0:  # ADTS: 12-bit sync, layer 00
        return ((header[3] & 0x03) << 11) | (header[4] << 3) | (header[5] >> 5)
    if header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 0x03  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    layer = 4 - ((header[1] >> 1) & 0x03)  # 1, 2 or 3
    index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 0x03, (header[2] >> 1) & 0x01
    if version == 1 or layer == 4 or not 1 <= index <= 14 or rate_index == 3:
        return None
    mpeg1 = version == 3
    kbps = _MPEG_BITRATES[(mpeg1, 1 if layer == 1 else 2 if not mpeg1 else layer)][index - 1]
    sr = _MPEG_RATES[version][rate_index]
    if layer == 1:
        return (12 * kbps * 1000 // sr + padding) * 4
    per_frame = 144 if layer == 2 or mpeg1 else 72
    return per_frame * kbps * 1000 // sr + padding


def _strip_trailing_tags(rest: bytes) -> bytes:
    """``rest`` without the tags players append after the audio: ID3v1, APEv2, Lyrics3v2."""
    while True:
        if len(rest) >= 128 and rest[-128:-125] == b"TAG":
            rest = rest[:-128]
            continue
        if len(rest) >= 32 and rest[-32:-24] == b"APETAGEX":
            size = int.from_bytes(rest[-20:-16], "little")
            has_header = bool(int.from_bytes(rest[-12:-8], "little") & 0x80000000)
            total = size + (32 if has_header else 0)
            if 32 <= total <= len(rest):
                rest = rest[:-total]
                continue
        if len(rest) >= 15 and rest[-9:] == b"LYRICS200":
            size = int(rest[-15:-9]) if rest[-15:-9].isdigit() else -1
            if 0 < size + 15 <= len(rest):
                rest = rest[: -(size + 15)]
                continue
        return rest


def _copy_samples(frame: Any, channels: int, a: int, b: int, dest: np.ndarray) -> None:
    """Samples ``[a, b)`` of a frame into ``dest`` (channels, b - a): planes of float32 copied directly."""
    fmt = frame.format
    if fmt.name == "fltp" and len(frame.planes) >= channels:
        for c, plane in enumerate(frame.planes[:channels]):
            dest[c] = np.frombuffer(plane, "<f4", count=b)[a:b]
        return
    dest[:] = _frame_array(frame, channels)[:, a:b]


def _exported_trims(frame: Any) -> tuple[int, int] | None:
    """The (skip, end padding) libavcodec exports on a frame in skip_manual mode, if any."""
    for sd in frame.side_data:
        if sd.type.name == "SKIP_SAMPLES":
            raw = bytes(sd)
            if len(raw) >= 8:
                return int.from_bytes(raw[0:4], "little"), int.from_bytes(raw[4:8], "little")
    return None


def _manual_skips(decoder: Any) -> None:
    """Tell libavcodec not to trim decoded audio (AV_CODEC_FLAG2_SKIP_MANUAL)."""
    from av.codec.context import Flags2

    decoder.flags2 = decoder.flags2 | Flags2.skip_manual


def _describe_sample_format(name: str) -> str:
    planar = name.endswith("p")
    base = name[:-1] if planar else name
    kinds = {
        "u8": "8-bit unsigned integer",
        "s16": "16-bit integer",
        "s32": "32-bit integer",
        "s64": "64-bit integer",
        "flt": "32-bit float",
        "dbl": "64-bit float",
    }
    text = kinds.get(base, name)
    return f"{text}{' (planar)' if planar else ''}"


def scan(
    path: str,
    *,
    stream: int = 0,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Scan ``path`` now (e.g. from a worker thread with progress); later decoders reuse it."""
    FFmpegDecoder(path, stream=stream, progress=progress, cancelled=cancelled).close()
