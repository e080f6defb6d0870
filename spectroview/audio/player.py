"""Playback of a file range through PortAudio, with the position being heard.

A feeder thread reads the file in blocks into a :class:`RingBuffer` ahead of
the output callback; the callback only copies from the ring into PortAudio's
buffer.  :attr:`Player.position` is the sample at the loudspeaker now: the
callback notes when its first sample reaches the DAC (PortAudio's
``outputBufferDacTime``), and the position is interpolated on the stream's
clock from there, so a playhead drawn from it moves with what is heard, not
with what was handed to the driver.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Literal

import numpy as np

from spectroview.audio import devices
from spectroview.audio.errors import AudioError
from spectroview.audio.files import FileSource
from spectroview.audio.ringbuffer import RingBuffer

__all__ = ["PlaybackError", "Player", "PlayerState"]

PlayerState = Literal["stopped", "playing", "paused", "finished", "error"]

#: Frames the feeder reads at a time.
_FEED_BLOCK = 8192


class PlaybackError(AudioError):
    """Playback could not start; the message says why."""


class Player:
    """Plays ``[start, stop)`` of a :class:`FileSource` and reports the heard position.

    Parameters
    ----------
    source : FileSource
        The file; the player reads it from its own feeder thread, so the
        source must not be read elsewhere while playing.
    device : int, str or None
        Output device (index, name substring, or None for the default).
    buffer_seconds : float
        Audio read ahead of the callback (> 0).

    Notes
    -----
    ``play``, ``pause``, ``resume``, ``seek`` and ``stop`` may be called from
    any one control thread.  :meth:`wait` blocks until the range has been
    played out (``state == "finished"``) or playback stopped or failed.
    """

    def __init__(self, source: FileSource, *, device: int | str | None = None, buffer_seconds: float = 2.0) -> None:
        if not buffer_seconds > 0:
            raise PlaybackError(f"buffer_seconds={buffer_seconds!r}: must be > 0")
        self.source = source
        self.device_spec = device
        self.samplerate = float(source.info.samplerate)
        self.buffer_seconds = float(buffer_seconds)
        self.state: PlayerState = "stopped"
        self.message = ""
        self.underruns = 0
        self._stream: Any = None
        self._feeder: threading.Thread | None = None
        self._feeding = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self._range = (0, source.info.frames)
        self._resume_frame = 0
        self._stopping = False
        self._token: object | None = None  # the current stream's (its callbacks check it)
        # Written by the callback (plain attribute stores):
        self._handed = 0  # frames of the range given to PortAudio
        self._dac_time = 0.0  # stream time when the latest buffer's first frame sounds
        self._dac_frame = 0  # range offset of that frame
        self._end_reached = False
        self._ring: RingBuffer | None = None
        self._feed_end = 0  # absolute ring index after the last frame of the range

    # -- transport ---------------------------------------------------------------
    def play(self, start: float = 0.0, stop: float | None = None) -> None:
        """Play from ``start`` to ``stop`` seconds (None: the end of the file)."""
        frames = self.source.info.frames
        f0 = round(start * self.samplerate)
        f1 = frames if stop is None else round(stop * self.samplerate)
        if not 0 <= f0 < frames:
            raise PlaybackError(f"start={start!r}: must be in [0, {frames / self.samplerate:g}) s")
        if not f0 < f1 <= frames:
            raise PlaybackError(f"stop={stop!r}: must be after start={start!r} and <= {frames / self.samplerate:g} s")
        self._close_stream()
        self._range = (f0, f1)
        self._start_at(f0)

    def pause(self) -> None:
        """Pause, keeping the heard position."""
        if self.state == "playing":
            position = self.position_frames()
            self._close_stream()
            self._resume_frame = position
            self.state = "paused"

    def resume(self) -> None:
        """Continue from where :meth:`pause` left off."""
        if self.state == "paused":
            self._start_at(self._resume_frame)

    def seek(self, seconds: float) -> None:
        """Move to ``seconds`` within the range; playback continues if it was playing."""
        f0, f1 = self._range
        frame = min(max(f0, round(seconds * self.samplerate)), f1 - 1)
        if self.state == "playing":
            self._close_stream()
            self._start_at(frame)
        else:
            self._resume_frame = frame
            if self.state != "paused":
                self.state = "paused"

    def stop(self) -> None:
        """Stop playback (idempotent)."""
        self._close_stream()
        if self.state in ("playing", "paused"):
            self.state = "stopped"
        self._done.set()

    close = stop

    def wait(self, timeout: float | None = None) -> bool:
        """Block until playback ends; False on timeout."""
        return self._done.wait(timeout)

    # -- position ------------------------------------------------------------------
    def position_frames(self) -> int:
        """Absolute frame of the file being heard now."""
        f1 = self._range[1]
        if self.state == "paused":
            return self._resume_frame
        if self.state == "finished":
            return f1
        stream = self._stream
        if self.state != "playing" or stream is None:
            return self._resume_frame
        if not self._dac_time:
            return self._start_frame
        try:
            now = float(stream.time)
        except Exception:
            return self._start_frame + self._dac_frame
        heard = self._dac_frame + (now - self._dac_time) * self.samplerate
        # Never ahead of what was handed over, never before the start.
        heard = min(max(heard, 0.0), float(self._handed))
        return min(f1, self._start_frame + int(heard))

    @property
    def position(self) -> float:
        """Seconds into the file of the sample being heard now."""
        return self.position_frames() / self.samplerate

    # -- internals -------------------------------------------------------------------
    def _start_at(self, frame: int) -> None:
        sd = devices.import_sounddevice()
        info = devices.resolve_device(self.device_spec, kind="output")
        channels = min(self.source.info.channels, info.max_output_channels, 2)
        f1 = self._range[1]
        self._start_frame = frame
        self._resume_frame = frame
        self._ring = RingBuffer(max(_FEED_BLOCK * 2, round(self.buffer_seconds * self.samplerate)), channels=channels)
        self._feed_end = f1 - frame
        self._handed = 0
        self._dac_time = 0.0
        self._dac_frame = 0
        self._end_reached = False
        self._stopping = False
        self._callback_stop = sd.CallbackStop
        self._done.clear()
        # Fill before starting, so the first callbacks do not underrun.
        self._feed_until(min(f1, frame + self._ring.capacity // 2), frame, channels)
        self._feeding.set()
        self._feeder = threading.Thread(target=self._feed, args=(channels,), name="spectroview-play-feed", daemon=True)
        self._feeder.start()
        # This stream's callbacks act only while it is the current one: a stream left stuck in
        # its abort (devices.close_stream) must never take samples from the next stream's ring.
        token = object()
        self._token = token

        def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            if self._token is token:
                self._callback(outdata, frames, time_info, status)
            else:
                outdata.fill(0.0)

        def finished() -> None:
            if self._token is token:
                self._finished()

        try:
            stream = sd.OutputStream(
                device=info.index,
                samplerate=self.samplerate,
                channels=channels,
                dtype="float32",
                latency="low",
                callback=callback,
                finished_callback=finished,
            )
        except Exception as exc:
            self._stop_feeder()
            self.state, self.message = "error", f"cannot open {info.name} at {self.samplerate:g} Hz: {exc}"
            self._done.set()
            raise PlaybackError(self.message) from None
        devices.stream_opened()
        self._stream = stream
        self.state, self.message = "playing", ""
        try:
            stream.start()
        except Exception as exc:  # sd.PortAudioError: the device refused to start
            self._close_stream()
            self.state, self.message = "error", f"cannot start {info.name}: {exc}"
            self._done.set()
            raise PlaybackError(self.message) from None

    def _feed_until(self, target: int, first: int, channels: int) -> None:
        ring = self._ring
        assert ring is not None
        fed = first + ring.write_index
        while fed < target:
            n = min(_FEED_BLOCK, target - fed)
            ring.write(self.source.read_frames(fed, fed + n)[:, :channels])
            fed += n

    def _feed(self, channels: int) -> None:
        ring = self._ring
        assert ring is not None
        first = self._start_frame
        end = self._range[1]
        try:
            while self._feeding.is_set() and first + ring.write_index < end:
                # Keep at most a full ring ahead of the callback.
                if ring.write_index - ring.read_index > ring.capacity - _FEED_BLOCK:
                    time.sleep(0.005)
                    continue
                fed = first + ring.write_index
                n = min(_FEED_BLOCK, end - fed)
                ring.write(self.source.read_frames(fed, fed + n)[:, :channels])
        except AudioError as exc:
            self.message = str(exc)
            self._feed_end = ring.write_index  # play what was read, then stop

    def _stop_feeder(self) -> None:
        self._feeding.clear()
        if self._feeder is not None and self._feeder is not threading.current_thread():
            self._feeder.join()
        self._feeder = None

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # Audio thread: copy from the ring and return.
        ring = self._ring
        n = 0
        if ring is not None:
            chunk = ring.pop(frames)
            n = chunk.shape[0]
            if n:
                outdata[:n] = chunk if chunk.ndim == 2 else chunk[:, None]
        if n < frames:
            outdata[n:] = 0.0
        self._dac_time = time_info.outputBufferDacTime or time_info.currentTime
        self._dac_frame = self._handed
        self._handed += n
        if n < frames:
            if self._handed >= self._feed_end:
                self._end_reached = True
                raise self._callback_stop
            self.underruns += 1

    def _finished(self) -> None:
        if self._stopping:
            return
        if self._end_reached:
            self.state = "finished"
        else:
            self.state, self.message = "error", self.message or "the output stream stopped: the device went away"
        self._done.set()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        self._stop_feeder()
        if stream is None:
            return
        self._stopping = True
        self._token = None  # its callbacks are silent from here on
        devices.close_stream(stream)  # (bounded: a stream stuck in a dead sound server is left)
