"""MicSource, Player and device lookup without a sound server: the parts that need no stream."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from spectroview.audio import devices
from spectroview.audio.devices import DeviceInfo, PortAudioMissingError, resolve_device
from spectroview.audio.errors import AudioError
from spectroview.audio.files import FileSource
from spectroview.audio.mic import MicError, MicSource
from spectroview.audio.player import PlaybackError, Player
from spectroview.audio.ringbuffer import RingBuffer


def _device(index: int, name: str, n_in: int, n_out: int, *, di: bool = False, do: bool = False) -> DeviceInfo:
    return DeviceInfo(index, name, "ALSA", n_in, n_out, 48000.0, di, do)


FAKE = [
    _device(0, "HDA Intel PCH: ALC3246 Analog (hw:0,0)", 2, 2),
    _device(1, "USB Microphone (hw:1,0)", 1, 0),
    _device(2, "pulse", 32, 32),
    _device(3, "default", 32, 32, di=True, do=True),
]


@pytest.fixture
def fake_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "list_devices", lambda: FAKE)


@pytest.mark.usefixtures("fake_devices")
class TestResolveDevice:
    def test_default_is_the_marked_device(self) -> None:
        assert resolve_device(None, kind="input").name == "default"

    def test_by_index_and_by_index_text(self) -> None:
        assert resolve_device(1, kind="input").name.startswith("USB")
        assert resolve_device("2", kind="input").name == "pulse"

    def test_by_case_insensitive_substring(self) -> None:
        assert resolve_device("usb mic", kind="input").index == 1

    def test_exact_name_wins_over_substring(self) -> None:
        assert resolve_device("pulse", kind="output").index == 2

    def test_output_only_devices_are_not_inputs(self) -> None:
        with pytest.raises(AudioError, match=r"device=1: no output device with that index"):
            resolve_device(1, kind="output")

    def test_ambiguous_and_missing_names_list_the_choices(self) -> None:
        with pytest.raises(AudioError, match=r"matches several input devices .*give the index"):
            resolve_device("hw:", kind="input")
        with pytest.raises(AudioError, match=r"device='nope': no input device name contains it \(there are 0: HDA"):
            resolve_device("nope", kind="input")


def test_no_devices_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "list_devices", lambda: [])
    with pytest.raises(AudioError, match="no audio input device found"):
        resolve_device(None, kind="input")


def test_mic_without_portaudio_reports_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise PortAudioMissingError(
            "PortAudio not found: install libportaudio2 (Debian/Ubuntu: sudo apt-get install libportaudio2)"
        )

    monkeypatch.setattr(devices, "import_sounddevice", missing)
    mic = MicSource()
    with pytest.raises(PortAudioMissingError):
        mic.start()
    status = mic.status
    assert status.state == "error" and status.message.startswith("PortAudio not found: install libportaudio2")
    mic.stop()
    mic.close()  # idempotent, no stream was ever open
    assert mic.status.state == "error"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samplerate": 0}, r"samplerate=0: must be > 0 Hz"),
        ({"channel": -1}, r"channel=-1: must be an integer >= 0"),
        ({"buffer_seconds": 0}, r"buffer_seconds=0: must be > 0"),
    ],
)
def test_mic_arguments_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(MicError, match=message):
        MicSource(**kwargs)  # type: ignore[arg-type]


def _mic_with_ring(channel: int | None, n_open: int) -> MicSource:
    mic = MicSource(channel=channel)
    mic.ring = RingBuffer(48000)
    mic.samplerate = 48000.0
    mic._n_open = n_open
    mic._mix = np.zeros(1 << 16, dtype=np.float32)
    mic._mix_scale = np.float32(1.0 / n_open)
    return mic


TIME = SimpleNamespace(inputBufferAdcTime=12.5)
OK = SimpleNamespace(input_overflow=False)


def test_callback_mixes_down_two_channels() -> None:
    mic = _mic_with_ring(None, 2)
    block = np.stack([np.full(256, 0.2, np.float32), np.full(256, 0.6, np.float32)], axis=1)
    mic._callback(block, 256, TIME, OK)
    assert mic.ring is not None
    np.testing.assert_allclose(mic.ring.read(0, 256), 0.4, rtol=1e-6)
    assert mic.adc_time_of(0) == 12.5 and mic.adc_time_of(480) == pytest.approx(12.51)


def test_callback_keeps_the_chosen_channel_and_counts_overflows() -> None:
    mic = _mic_with_ring(1, 2)
    block = np.stack([np.zeros(64, np.float32), np.arange(64, dtype=np.float32)], axis=1)
    mic._callback(block, 64, TIME, SimpleNamespace(input_overflow=True))
    assert mic.ring is not None
    np.testing.assert_array_equal(mic.ring.read(0, 64), np.arange(64))
    assert mic.status.input_overflows == 1


def test_callback_allocates_no_sample_memory() -> None:
    mic = _mic_with_ring(None, 2)
    block = np.random.default_rng(0).random((512, 2), dtype=np.float32)
    mic._callback(block, 512, TIME, OK)  # warm up
    tracemalloc.start()
    try:
        base = tracemalloc.take_snapshot()
        for _ in range(500):
            mic._callback(block, 512, TIME, OK)
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 500 blocks of 512 float32 would be 1 MB if any were copied anew.
    assert grown < 20_000 and peak < 200_000


def test_status_of_a_fresh_source() -> None:
    status = MicSource(device="USB").status
    assert status.state == "idle" and status.frames_captured == 0 and status.device == "USB"


def test_player_validates_the_range(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    soundfile.write(wav, np.zeros(8000, np.float32), 8000)
    with FileSource(wav) as source:
        player = Player(source)
        with pytest.raises(PlaybackError, match=r"start=2.0: must be in \[0, 1\) s"):
            player.play(2.0)
        with pytest.raises(PlaybackError, match=r"stop=0.1: must be after start=0.5"):
            player.play(0.5, 0.1)
        assert player.state == "stopped" and player.position == 0.0
        player.seek(0.25)  # not playing: only moves the position
        assert player.state == "paused" and player.position == pytest.approx(0.25)
        player.stop()
        assert player.state == "stopped"
