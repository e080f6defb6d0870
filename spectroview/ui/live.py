"""Live mode: the microphone, a display-rate timer and the scrolling picture.

A GUI timer (60 Hz) drains the microphone's ring buffer into the live
engine, which writes only the new columns into its image ring; the panel
shows the latest columns as one contiguous view, placed on the stream's
clock.  The audio callback never waits for the GUI: if the GUI stalls, the
ring buffer keeps the samples (and counts what it must drop).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from spectroview._atomic import atomic_files, atomic_write
from spectroview.audio.errors import AudioError
from spectroview.audio.mic import MicSource
from spectroview.dsp import ParameterError, SpectrogramParams
from spectroview.session.live import LiveSpectrogram, Meter, meter

__all__ = ["LiveController", "Recorder"]

log = logging.getLogger(__name__)

#: Display rate of the scrolling picture (Hz).
FRAME_RATE = 60
#: After a device failure, how often to try the device again (s).
RETRY_SECONDS = 2.0


class Recorder:
    """Writes everything the microphone captures from now on to a WAV/FLAC file.

    A thread pops the ring buffer (the live engine reads with its own cursor,
    so both see every sample) and writes blocks; :meth:`stop` drains what is
    left before closing, so nothing captured is lost.
    """

    def __init__(self, mic: MicSource, path: str | Path) -> None:
        import soundfile

        assert mic.ring is not None
        self.path = Path(path)
        flac = self.path.suffix.lower() == ".flac"
        # Written beside the target and renamed over it when the recording ends well: a file
        # that was at ``path`` stays until then, and a failed recording leaves nothing.
        self._group = atomic_files([self.path])
        (self._tmp,) = self._group.__enter__()
        self._file = soundfile.SoundFile(
            self._tmp,
            "w",
            int(mic.samplerate),
            1,
            subtype="PCM_24" if flac else "FLOAT",
            format="FLAC" if flac else "WAV",
        )
        self._ring = mic.ring
        self._ring.pop()  # start from now: drop what the ring held before
        self._dropped_at_start = self._ring.dropped
        self.frames = 0
        self.error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spectroview-record", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(0.05):
                self._drain()
            self._drain()
        except Exception as exc:  # disk full and the like: reported by stop()
            self.error = str(exc)
        finally:
            self._file.close()

    def _drain(self) -> None:
        block = self._ring.pop(copy=True)
        if block.size:
            self._file.write(block)
            self.frames += block.shape[0]

    @property
    def dropped(self) -> int:
        """Samples lost to the recording (the writer fell a whole ring behind)."""
        return self._ring.dropped - self._dropped_at_start

    def stop(self) -> int:
        """Finish the file; returns the frames written."""
        self._stop.set()
        self._thread.join()
        if self.error:
            self._group.__exit__(AudioError, AudioError(self.error), None)  # the temporary file goes
            raise AudioError(f"{self.path}: recording failed: {self.error}")
        try:
            self._group.__exit__(None, None, None)  # renamed over the target
        except OSError as exc:
            raise AudioError(f"{self.path}: recording failed: {exc.strerror or exc}") from None
        return self.frames


#: Longest the window waits for a background retry of the input device when live mode stops (s).
RETRY_JOIN_SECONDS = 3.0


class LiveController(QObject):
    """Owns the microphone and the live engine while live mode is on.

    Signals
    -------
    updated(LiveView)
        New columns (not emitted while frozen).
    levels(Meter)
        Peak and RMS of the last 50 ms, about 15 times a second.
    statusChanged(str, bool)
        A message for the user, and whether it is an error.
    stopped()
    """

    updated = Signal(object)
    levels = Signal(object)
    statusChanged = Signal(str, bool)
    stopped = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.mic: MicSource | None = None
        self.engine: LiveSpectrogram | None = None
        self.recorder: Recorder | None = None
        self._params: SpectrogramParams | None = None  # as last asked for (the engine's own differ: centred)
        self.frozen = False
        self.history_seconds = 10.0
        self._error = ""
        self._next_retry = 0.0
        self._retry_thread: threading.Thread | None = None
        self._last_meter = 0.0
        self.timer = QTimer(self)
        # Precise and a little under 1/60 s: coarse timers round 16.7 ms up
        # to 17-20 ms and the picture would run at ~55 fps.
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(int(1000 / FRAME_RATE))
        self.timer.timeout.connect(self.tick)

    @property
    def running(self) -> bool:
        return self.mic is not None

    def start(
        self,
        params_for: Callable[[float], SpectrogramParams],
        *,
        device: int | str | None = None,
        history_seconds: float = 10.0,
        samplerate: float | None = None,
    ) -> bool:
        """Start capturing; False (and ``statusChanged`` with the reason) if the device cannot start.

        ``params_for(sr)`` gives the parameters at the rate the device runs
        at (the model's resolution); ``samplerate`` None takes the device's
        default rate.
        """
        self.stop()
        self.history_seconds = history_seconds
        mic = MicSource(device=device, samplerate=samplerate, buffer_seconds=max(30.0, 2 * history_seconds))
        try:
            mic.start()
            params = params_for(mic.samplerate)
            engine = LiveSpectrogram(mic.ring, mic.samplerate, params, history_seconds)  # type: ignore[arg-type]
        except (AudioError, ParameterError) as exc:
            mic.close()
            self.statusChanged.emit(str(exc), True)
            return False
        self.mic, self.engine, self._params = mic, engine, params
        self.frozen = False
        self._error = ""
        self.timer.start()
        self.statusChanged.emit(f"live: {mic.device_name} at {mic.samplerate:g} Hz", False)
        return True

    def restart(self) -> bool:
        """After a device failure: a new stream on the same source (the history stays)."""
        mic, engine = self.mic, self.engine
        if mic is None or engine is None:
            return False
        try:
            mic.start()
        except AudioError:
            return False  # still gone; the status keeps saying so
        return self._resumed()

    def _resumed(self) -> bool:
        """Bookkeeping once the stream runs again (GUI thread)."""
        mic, engine = self.mic, self.engine
        if mic is None or engine is None:
            return False
        if mic.ring is not engine.ring:
            # The device came back at another rate: a new ring, so a new engine.
            try:
                self.engine = LiveSpectrogram(mic.ring, mic.samplerate, engine.params, self.history_seconds)  # type: ignore[arg-type]
            except ParameterError as exc:
                self.statusChanged.emit(str(exc), True)
                return False
        self._error = ""
        self.timer.start()
        self.statusChanged.emit(f"live again: {mic.device_name}", False)
        return True

    def _retry(self, mic: MicSource) -> None:
        try:
            mic.start()
        except AudioError:
            pass  # still gone: the next retry comes in RETRY_SECONDS

    def stop(self) -> None:
        """Stop capturing; a recording in progress is finished first (its error reported)."""
        self.timer.stop()
        stuck = False
        if self._retry_thread is not None:
            # PortAudio can block for good in a stream's abort once the sound server has
            # died (ALSA's pulse plugin waits on a socket nobody answers): the window must
            # not wait with it.  The retry thread is a daemon; the device it holds is left.
            self._retry_thread.join(RETRY_JOIN_SECONDS)
            stuck = self._retry_thread.is_alive()
            self._retry_thread = None
        try:
            if self.recorder is not None:
                self.stop_recording()
        except AudioError as exc:
            self.statusChanged.emit(str(exc), True)
        finally:
            if self.mic is not None:
                if stuck:
                    self.statusChanged.emit("the sound server did not answer; the input device is left as it is", True)
                else:
                    self.mic.close()
                self.mic = None
                self.engine = None
                self.stopped.emit()

    def set_params(self, params: SpectrogramParams) -> None:
        if self.engine is not None and params != self._params:
            self._params = params
            try:
                self.engine.set_params(params)
            except ParameterError as exc:
                self.statusChanged.emit(str(exc), True)
                return
            self._emit_view(force=True)

    def set_history(self, seconds: float) -> None:
        self.history_seconds = seconds
        if self.engine is not None:
            try:
                self.engine.set_params(self.engine.params, history_seconds=seconds)
            except ParameterError as exc:
                self.statusChanged.emit(str(exc), True)
                return
            self._emit_view(force=True)

    def set_frozen(self, frozen: bool) -> None:
        """Stop scrolling (capture goes on); unfreezing jumps to now."""
        self.frozen = frozen
        if frozen and self.engine is not None:
            # A snapshot: the ring keeps filling under the frozen picture.
            self.updated.emit(self.engine.view(copy=True))
        elif not frozen:
            self._emit_view(force=True)

    # -- the display-rate tick ----------------------------------------------------------
    def tick(self) -> None:
        mic, engine = self.mic, self.engine
        if mic is None or engine is None:
            return
        status = mic.status
        if status.state == "error":
            if status.message != self._error:
                self._error = status.message
                self._next_retry = time.monotonic() + RETRY_SECONDS
                self.statusChanged.emit(f"{status.message}; retrying every {RETRY_SECONDS:g} s", True)
            elif time.monotonic() >= self._next_retry and self._retry_thread is None:
                # The device may be back: a new stream on the same source keeps
                # the history.  Opening it (and re-scanning devices) can take a
                # while, so it runs off the GUI thread.
                self._next_retry = time.monotonic() + RETRY_SECONDS
                self._retry_thread = threading.Thread(
                    target=self._retry, args=(mic,), name="spectroview-mic-retry", daemon=True
                )
                self._retry_thread.start()
        elif self._error and self._retry_thread is None and status.state == "running":
            self._resumed()  # a background retry succeeded
        if self._retry_thread is not None and not self._retry_thread.is_alive():
            self._retry_thread = None
        new = engine.update()
        if new:
            self._emit_view()
        now = time.monotonic()
        if now - self._last_meter > 1 / 15 and mic.ring is not None:
            self._last_meter = now
            end = mic.ring.write_index
            start = max(mic.ring.oldest_index, end - round(0.05 * mic.samplerate))
            self.levels.emit(meter(mic.ring.read(start, end)) if end > start else Meter(-math.inf, -math.inf))

    def _emit_view(self, *, force: bool = False) -> None:
        if self.engine is not None and (force or not self.frozen):
            # While frozen, a forced picture (new parameters) is a snapshot too.
            self.updated.emit(self.engine.view(copy=self.frozen))

    def problems(self) -> int:
        """Losses on the way: input overflows (callbacks), samples the display or the recorder missed.

        The ring buffer's own ``dropped`` counts what its consuming reader
        (``pop``) missed; only the recorder pops, so it counts only while
        recording.
        """
        if self.mic is None or self.engine is None:
            return 0
        lost = self.mic.status.input_overflows + self.engine.skipped
        if self.recorder is not None:
            lost += self.recorder.dropped
        return lost

    # -- saving -----------------------------------------------------------------------------
    def save_history(self, path: str | Path) -> int:
        """Write the samples behind the picture to ``path`` (WAV/FLAC); returns frames."""
        import soundfile

        if self.mic is None or self.engine is None or self.mic.ring is None:
            raise AudioError("nothing captured yet: start live mode first")
        start, stop = self.engine.history_samples()
        samples = self.mic.ring.read(start, stop, copy=True)
        flac = Path(path).suffix.lower() == ".flac"
        rate = int(self.mic.samplerate)

        def write(tmp: str) -> None:
            soundfile.write(tmp, samples, rate, subtype="PCM_24" if flac else "FLOAT", format="FLAC" if flac else "WAV")

        atomic_write(path, write)  # a failure leaves whatever was at ``path``
        return samples.shape[0]

    def start_recording(self, path: str | Path) -> None:
        if self.mic is None:
            raise AudioError("start live mode before recording")
        self.recorder = Recorder(self.mic, path)

    def stop_recording(self) -> int:
        recorder, self.recorder = self.recorder, None
        return recorder.stop() if recorder is not None else 0
