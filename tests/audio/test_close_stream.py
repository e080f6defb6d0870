"""Closing a PortAudio stream never hangs the caller: a stream stuck in its abort is left."""

from __future__ import annotations

import threading
import time

from spectroview.audio import devices


class FakeStream:
    def __init__(self, hang: bool) -> None:
        self.release = threading.Event()
        self.hang = hang
        self.closed = False

    def abort(self) -> None:
        if self.hang:
            self.release.wait()  # as Pa_AbortStream inside ALSA's pulse plugin once PulseAudio died

    def close(self) -> None:
        self.closed = True


def test_a_stream_that_closes_is_counted_closed() -> None:
    devices.stream_opened()
    before = devices._open_streams
    stream = FakeStream(hang=False)
    assert devices.close_stream(stream, timeout=2.0)
    assert stream.closed and devices._open_streams == before - 1


def test_a_stream_stuck_in_its_abort_is_left_in_bounded_time_and_stays_counted_open() -> None:
    devices.stream_opened()
    before = devices._open_streams
    stream = FakeStream(hang=True)
    started = time.monotonic()
    try:
        assert not devices.close_stream(stream, timeout=0.3)
        assert time.monotonic() - started < 2.0
        assert devices._open_streams == before  # PortAudio is never re-initialized under it
        assert devices.refresh_devices() is False
    finally:
        stream.release.set()
        devices.stream_closed()


_AT_EXIT = """
import threading
from spectroview.audio import devices
sd = devices.import_sounddevice()
stuck = {stuck}
release = threading.Event()

def terminate():  # stands for Pa_Terminate, which would wait for a stuck abort for ever
    print("terminated", flush=True)
    sd._initialized = 0

sd._terminate = terminate

class Stream:
    def abort(self):
        if stuck:
            release.wait()  # never released: as a dead sound server leaves it
    def close(self):
        pass

print("closed" if devices.close_stream(Stream(), timeout=0.2) else "left", flush=True)
"""


def test_at_exit_portaudio_is_left_alone_only_while_an_abort_is_stuck() -> None:
    """sounddevice's exit handler calls Pa_Terminate, which waits for an abort stuck in the sound system."""
    import subprocess
    import sys

    for stuck, expected in ((True, ["left"]), (False, ["closed", "terminated"])):
        out = subprocess.run(
            [sys.executable, "-c", _AT_EXIT.format(stuck=stuck)], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == expected, (stuck, out.stdout, out.stderr)
