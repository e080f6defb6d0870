"""Live input: a PortAudio input stream that copies into a :class:`RingBuffer`.

The audio callback only copies (and, for a mixdown, sums into preallocated
scratch): no allocation of sample memory, no locks, no logging, no Qt.
Everything that can go wrong (no device, a rate the device refuses, the
device or sound server vanishing mid-stream) becomes a :class:`MicStatus`
the UI can read; nothing is raised in the audio thread, and what was
captured before a fault stays in the ring buffer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from spectroview.audio import devices
from spectroview.audio.errors import AudioError
from spectroview.audio.ringbuffer import RingBuffer

__all__ = ["MicError", "MicSource", "MicStatus"]

#: Largest callback block mixed down without allocating (frames); PortAudio
#: blocks are a few hundred to a few thousand frames.
_MIX_SCRATCH_FRAMES = 1 << 16


class MicError(AudioError):
    """The microphone could not be started; the message says why."""


@dataclass(frozen=True)
class MicStatus:
    """What the input is doing, for the UI.

    Attributes
    ----------
    state : {"idle", "running", "stopped", "error"}
    message : str
        Empty when all is well; otherwise one line for the user.
    device : str
        Name of the device in use (or asked for).
    samplerate : float
        Hz (0 before the first start).
    frames_captured : int
        Frames written to the ring buffer since it was made.
    input_overflows : int
        Callbacks in which PortAudio reported lost input (the device
        delivered faster than it was read).
    dropped : int
        Frames the reader lost because the ring buffer wrapped.
    """

    state: Literal["idle", "running", "stopped", "error"]
    message: str
    device: str
    samplerate: float
    frames_captured: int
    input_overflows: int
    dropped: int


class MicSource:
    """A microphone (or any PortAudio input) feeding a mono ring buffer.

    Parameters
    ----------
    device : int, str or None
        PortAudio index, a substring of the device name, or None for the
        default input device.
    samplerate : float or None
        Hz; None takes the device's default rate.
    channel : int or None
        0-based input channel to keep, or None to mix the first two
        channels (or the only one) down to mono.
    buffer_seconds : float
        History the ring buffer keeps, in seconds (> 0).
    blocksize : int
        Frames per callback; 0 lets PortAudio choose (lowest latency).

    Notes
    -----
    Samples are addressed by absolute index in :attr:`ring`; the mapping to
    the stream's clock is kept in :meth:`adc_time_of`.  ``start``, ``stop``
    and ``close`` are idempotent.  After an error, ``start`` opens a new
    stream (re-scanning devices when nothing else is open), keeping the
    ring buffer and so the history.
    """

    def __init__(
        self,
        *,
        device: int | str | None = None,
        samplerate: float | None = None,
        channel: int | None = None,
        buffer_seconds: float = 60.0,
        blocksize: int = 0,
    ) -> None:
        if samplerate is not None and not samplerate > 0:
            raise MicError(f"samplerate={samplerate!r}: must be > 0 Hz (or None for the device's rate)")
        if channel is not None and (not isinstance(channel, int) or channel < 0):
            raise MicError(f"channel={channel!r}: must be an integer >= 0 (or None to mix down)")
        if not buffer_seconds > 0:
            raise MicError(f"buffer_seconds={buffer_seconds!r}: must be > 0")
        self.device_spec = device
        self.requested_samplerate = samplerate
        self.channel = channel
        self.buffer_seconds = float(buffer_seconds)
        self.blocksize = int(blocksize)
        self.ring: RingBuffer | None = None
        self.samplerate = 0.0
        self.device_name = "" if device is None else str(device)
        #: PortAudio index of the device opened (None before :meth:`start`).
        self.device_index: int | None = None
        self._stream: Any = None
        self._state: Literal["idle", "running", "stopped", "error"] = "idle"
        self._message = ""
        self._stopping = False
        self._overflows = 0
        self._last_callback = 0.0
        self._block_seconds = 0.0
        # Stream clock of the latest block's first sample and its index:
        # written by the callback as two plain attribute stores.
        self._adc_time = 0.0
        self._adc_index = 0
        self.last_block_frames = 0  # frames in the latest callback
        self._mix = np.zeros(0, dtype=np.float32)
        self._mix_scale = np.float32(1.0)
        self._n_open = 1
        self._lock = threading.Lock()  # start/stop/close from different threads; never in the callback
        self._token: object | None = None  # the current stream's (its callbacks check it)
        #: Streams left stuck in PortAudio's abort (see :func:`spectroview.audio.devices.close_stream`).
        self.abandoned_streams = 0

    # -- control ---------------------------------------------------------------
    def start(self) -> None:
        """Open and start the input stream (no-op when running).

        Raises
        ------
        MicError or PortAudioMissingError
            With the same message as :attr:`status`.
        """
        with self._lock:
            if self._state == "running" and self._stream is not None and self._stream.active:
                return
            self._close_stream()
            try:
                self._open()
            except AudioError as exc:
                self._state, self._message = "error", str(exc)
                raise
            self._state, self._message = "running", ""

    def stop(self) -> None:
        """Stop capturing; the ring buffer keeps what was captured."""
        with self._lock:
            self._close_stream()
            if self._state == "running":
                self._state = "stopped"

    def close(self) -> None:
        """Stop and release the device (idempotent)."""
        self.stop()

    def __enter__(self) -> MicSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state -----------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.status.state == "running"

    @property
    def status(self) -> MicStatus:
        """The current state; detects a stream that died or stalled."""
        if self._state == "running":
            stream = self._stream
            stall = max(2.0, 20 * self._block_seconds)
            if stream is None or not stream.active:
                self._fail("the input stream stopped: the device or sound server went away")
            elif self._last_callback and time.monotonic() - self._last_callback > stall:
                self._fail(f"no audio from the device for more than {stall:.0f} s")
        ring = self.ring
        return MicStatus(
            state=self._state,
            message=self._message,
            device=self.device_name,
            samplerate=self.samplerate,
            frames_captured=0 if ring is None else ring.write_index,
            input_overflows=self._overflows,
            dropped=0 if ring is None else ring.dropped,
        )

    def adc_time_of(self, index: int) -> float:
        """Stream time (PortAudio clock, s) when sample ``index`` was captured."""
        return self._adc_time + (index - self._adc_index) / self.samplerate if self.samplerate else 0.0

    def stream_time(self) -> float:
        """PortAudio's clock now, in seconds (0 when no stream is open)."""
        stream = self._stream
        try:
            return float(stream.time) if stream is not None else 0.0
        except Exception:  # a dead stream has no clock
            return 0.0

    # -- internals ----------------------------------------------------------------
    def _fail(self, message: str) -> None:
        self._state, self._message = "error", message

    def _open(self) -> None:
        sd = devices.import_sounddevice()
        try:
            info = devices.resolve_device(self.device_spec, kind="input")
        except AudioError:
            # PortAudio lists devices once; a sound server that (re)started
            # since is only seen after a re-scan.
            if not devices.refresh_devices():
                raise
            info = devices.resolve_device(self.device_spec, kind="input")
        if self.channel is not None and self.channel >= info.max_input_channels:
            raise MicError(
                f"channel={self.channel}: {info.name} has {info.max_input_channels} input channel(s), "
                f"allowed 0..{info.max_input_channels - 1}"
            )
        samplerate = float(self.requested_samplerate or info.default_samplerate)
        # Open only what is used: the channel asked for, or two for a
        # stereo mixdown (virtual devices such as ALSA's "pulse" claim 32).
        n_open = self.channel + 1 if self.channel is not None else min(2, info.max_input_channels)
        if self.ring is None or samplerate != self.samplerate:
            self.ring = RingBuffer(max(1, round(self.buffer_seconds * samplerate)))
        self.samplerate = samplerate
        self.device_name = info.name
        self.device_index = info.index
        self._n_open = n_open
        self._mix = np.zeros(_MIX_SCRATCH_FRAMES, dtype=np.float32)
        self._mix_scale = np.float32(1.0 / n_open)
        self._stopping = False
        self._last_callback = 0.0
        # This stream's callbacks act only while it is the current one: a stream left stuck in
        # its abort (see _close_stream) must never write into the ring or fail the next stream.
        token = object()
        self._token = token

        def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            if self._token is token:
                self._callback(indata, frames, time_info, status)

        def finished() -> None:
            if self._token is token:
                self._finished()

        try:
            stream = sd.InputStream(
                device=info.index,
                samplerate=samplerate,
                channels=n_open,
                dtype="float32",
                blocksize=self.blocksize,
                latency="low",
                callback=callback,
                finished_callback=finished,
            )
        except Exception as exc:  # sd.PortAudioError, ValueError for bad settings
            raise MicError(f"cannot open {info.name} at {samplerate:g} Hz: {exc}") from None
        devices.stream_opened()
        self._stream = stream
        self._block_seconds = (self.blocksize or 1024) / samplerate
        try:
            stream.start()
        except Exception as exc:
            self._close_stream()
            raise MicError(f"cannot start {info.name}: {exc}") from None
        self._last_callback = time.monotonic()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        self._stopping = True
        self._token = None  # its callbacks are silent from here on
        # abort, not stop: stop() waits for PortAudio's pending buffers, which through
        # PulseAudio takes up to 2 s right after a start; captured input needs no draining.
        if not devices.close_stream(stream):
            self.abandoned_streams += 1

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # Audio thread: copy and return.  No allocation of sample memory, no
        # locks, no logging, no exceptions for normal input.
        if status.input_overflow:
            self._overflows += 1
        ring = self.ring
        if ring is None:
            return
        self._adc_index = ring.write_index
        self._adc_time = time_info.inputBufferAdcTime
        self.last_block_frames = frames
        if self.channel is not None:
            ring.write(indata[:, self.channel])
        elif self._n_open == 1:
            ring.write(indata[:, 0])
        elif frames <= self._mix.shape[0]:
            mix = self._mix[:frames]
            np.sum(indata, axis=1, out=mix)
            mix *= self._mix_scale
            ring.write(mix)
        else:  # larger than any PortAudio block seen in practice
            ring.write(indata.mean(axis=1))
        self._last_callback = time.monotonic()

    def _finished(self) -> None:
        if not self._stopping and self._state == "running":
            self._fail("the input stream stopped: the device or sound server went away")
