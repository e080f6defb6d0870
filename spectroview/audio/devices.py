"""Audio devices through PortAudio (sounddevice), imported only when asked.

``import spectroview`` and file viewing work without PortAudio; only the
functions here need it, and they say how to install it when it is missing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import ModuleType

from spectroview.audio.errors import AudioError

__all__ = ["DeviceInfo", "PortAudioMissingError", "import_sounddevice", "list_devices"]


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
    try:
        import sounddevice
    except OSError:
        raise PortAudioMissingError(f"PortAudio not found: {_install_hint()}") from None
    except ImportError:
        raise PortAudioMissingError("the sounddevice module is not installed: pip install sounddevice") from None
    return sounddevice


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
