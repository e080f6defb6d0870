"""Audio devices through PortAudio (sounddevice), imported only when asked.

``import spectroview`` and file viewing work without PortAudio; only the
functions here need it, and they say how to install it when it is missing.
"""

from __future__ import annotations

import atexit
import sys
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from spectroview.audio.errors import AudioError

__all__ = [
    "CLOSE_TIMEOUT",
    "DeviceInfo",
    "PortAudioMissingError",
    "close_stream",
    "import_sounddevice",
    "list_devices",
    "refresh_devices",
    "resolve_device",
]


class PortAudioMissingError(AudioError):
    """The PortAudio library (or the sounddevice module) is not installed."""


def _install_hint() -> str:
    if sys.platform.startswith("linux"):
        return "install libportaudio2 (Debian/Ubuntu: sudo apt-get install libportaudio2)"
    if sys.platform == "darwin":
        return "install portaudio (Homebrew: brew install portaudio)"
    return "reinstall the sounddevice package, which bundles PortAudio on this platform"


def import_sounddevice() -> ModuleType:
    """Import sounddevice, or raise :class:`PortAudioMissingError` with an install hint."""
    global _exit_guarded
    try:
        import sounddevice
    except OSError:
        raise PortAudioMissingError(f"PortAudio not found: {_install_hint()}") from None
    except ImportError:
        raise PortAudioMissingError("the sounddevice module is not installed: pip install sounddevice") from None
    if not _exit_guarded:
        _exit_guarded = True
        # Registered after sounddevice's own exit handler, so it runs first (atexit is LIFO).
        atexit.register(_skip_terminate_if_stuck, sounddevice)
    return sounddevice


_exit_guarded = False
_stuck_closes = 0  # close threads still inside PortAudio (see close_stream)


def _skip_terminate_if_stuck(sounddevice: ModuleType) -> None:
    """At exit, leave PortAudio alone while a stream's abort is stuck in the sound system.

    sounddevice's exit handler calls ``Pa_Terminate``, which waits for the
    stuck abort for good: the program would never exit (seen after the
    sound server was killed under a live stream).  The process is ending:
    the operating system frees what PortAudio holds.
    """
    if _stuck_closes:
        handler = getattr(sounddevice, "_exit_handler", None)
        if handler is not None:
            atexit.unregister(handler)


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device.

    Attributes
    ----------
    index : int
        PortAudio's device index (what ``--device`` accepts, as does a name substring).
    name, hostapi : str
    max_input_channels, max_output_channels : int
    default_samplerate : float
        Hz.
    is_default_input, is_default_output : bool
    """

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool
    is_default_output: bool


def list_devices() -> list[DeviceInfo]:
    """All PortAudio devices, in PortAudio's order."""
    sd = import_sounddevice()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except Exception as exc:  # PortAudioError and friends: report, do not crash
        raise AudioError(f"cannot list audio devices: {exc}") from None
    out = []
    for d in devices:
        out.append(
            DeviceInfo(
                index=int(d["index"]),
                name=str(d["name"]),
                hostapi=str(hostapis[d["hostapi"]]["name"]),
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate=float(d["default_samplerate"]),
                is_default_input=int(d["index"]) == default_in,
                is_default_output=int(d["index"]) == default_out,
            )
        )
    return out


def resolve_device(spec: int | str | None, *, kind: str) -> DeviceInfo:
    """The input (``kind="input"``) or output device named by ``spec``.

    ``spec`` is a PortAudio index, a case-insensitive substring of the
    device name, or None for the default device.  Raises :class:`AudioError`
    naming the devices there are when nothing (or more than one) matches.
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind={kind!r}: must be 'input' or 'output'")
    devices = list_devices()
    usable = [d for d in devices if (d.max_input_channels if kind == "input" else d.max_output_channels) > 0]
    names = ", ".join(f"{d.index}: {d.name}" for d in usable) or "none"
    if not usable:
        raise AudioError(f"no audio {kind} device found")
    if spec is None:
        default = [d for d in usable if (d.is_default_input if kind == "input" else d.is_default_output)]
        return default[0] if default else usable[0]
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        index = int(spec)
        match = [d for d in usable if d.index == index]
        if not match:
            raise AudioError(f"device={spec!r}: no {kind} device with that index (there are {names})")
        return match[0]
    wanted = spec.strip().lower()
    exact = [d for d in usable if d.name.lower() == wanted]
    if exact:
        return exact[0]
    match = [d for d in usable if wanted in d.name.lower()]
    if not match:
        raise AudioError(f"device={spec!r}: no {kind} device name contains it (there are {names})")
    if len(match) > 1:
        listed = ", ".join(f"{d.index}: {d.name}" for d in match)
        raise AudioError(f"device={spec!r}: matches several {kind} devices ({listed}); give the index")
    return match[0]


# Streams of ours that are open: PortAudio must not be re-initialized under them.
_open_streams = 0
_open_lock = threading.Lock()


def stream_opened() -> None:
    global _open_streams
    with _open_lock:
        _open_streams += 1


def stream_closed() -> None:
    global _open_streams
    with _open_lock:
        _open_streams = max(0, _open_streams - 1)


#: Longest a stream's abort and close may take (s) before the stream is left.
CLOSE_TIMEOUT = 2.0


def close_stream(stream: Any, timeout: float = CLOSE_TIMEOUT) -> bool:
    """Abort and close a PortAudio ``stream`` of ours, waiting at most ``timeout`` s; True if it closed.

    Once the sound server died, PortAudio's abort can block for good inside
    ALSA's pulse plugin (waiting on a socket nobody answers), so it runs on a
    daemon thread of its own.  A stream that has not closed in time is left:
    still counted open, so PortAudio is never re-initialized under it
    (:func:`refresh_devices`).  Its owner must make sure its callbacks no
    longer act.  Errors of a vanished device are ignored (nothing is left to free).
    """
    global _stuck_closes
    done = threading.Event()
    with _open_lock:
        _stuck_closes += 1

    def close() -> None:
        global _stuck_closes
        for action in (stream.abort, stream.close):
            try:
                action()
            except Exception:
                pass
        with _open_lock:
            _stuck_closes -= 1
        done.set()

    threading.Thread(target=close, name="spectroview-stream-close", daemon=True).start()
    if not done.wait(timeout):
        return False
    stream_closed()
    return True


def refresh_devices() -> bool:
    """Re-scan audio devices (PortAudio lists them once, when it starts).

    A sound server that started (or came back) after PortAudio did is
    invisible until then.  Returns False without doing anything while one
    of our streams is open, since re-initializing PortAudio would end it.
    """
    sd = import_sounddevice()
    with _open_lock:
        if _open_streams:
            return False
        sd._terminate()
        sd._initialize()
    return True
