"""The viewer's state without Qt: transitions of ViewerModel and the snapshot every pane draws from."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from spectroview.audio.errors import AudioError
from spectroview.audio.files import AudioInfo, probe
from spectroview.dsp import ParameterError, SpectrogramParams
from spectroview.session.model import CompareSettings, Cursor, Shown, Tools, ViewerModel, default_b_n_fft
from spectroview.session.settings import ViewSettings


def write_wav(path: Path, sr: int, seconds: float, channels: int = 1, freq: float = 440.0) -> AudioInfo:
    t = np.arange(int(sr * seconds)) / sr
    y = 0.5 * np.sin(2 * np.pi * freq * t)
    data = np.stack([y] * channels, axis=1) if channels > 1 else y
    soundfile.write(path, data.astype(np.float32), sr, subtype="FLOAT")
    return probe(path)


@pytest.fixture
def mono16k(tmp_path: Path) -> AudioInfo:
    return write_wav(tmp_path / "mono16k.wav", 16000, 1.0)


@pytest.fixture
def stereo44k(tmp_path: Path) -> AudioInfo:
    return write_wav(tmp_path / "stereo44k.wav", 44100, 2.0, channels=2)


@pytest.fixture
def mono96k(tmp_path: Path) -> AudioInfo:
    return write_wav(tmp_path / "mono96k.wav", 96000, 0.5)


class Recorder:
    """Every signal of a model, in order, as (name, args)."""

    def __init__(self, model: ViewerModel) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        for name in (
            "shown_changed",
            "range_changed",
            "cursor_changed",
            "selection_changed",
            "tools_changed",
            "refused",
        ):
            getattr(model, name).connect(lambda *args, _name=name: self.events.append((_name, args)))

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.events if n == name]

    def clear(self) -> None:
        self.events.clear()


def check_consistent(model: ViewerModel, info: AudioInfo | None) -> Shown:
    """Every pane of the snapshot agrees with the source; the visible range lies in the file."""
    shown = model.shown
    assert shown.info == info
    if shown.mode == "live":
        assert shown.sr == model.live_sr
        assert shown.b is None
    elif info is not None:
        assert shown.sr == info.samplerate
    else:
        assert shown.sr is None and shown.a is None and shown.b is None
    if shown.sr is not None:
        assert shown.a is not None
        assert shown.a.params.sr == shown.sr
        assert shown.a.settings.params.sr is None
        if shown.b is not None:
            assert shown.b.params.sr == shown.sr
    t0, t1 = model.time_range
    assert 0.0 <= t0 <= t1 <= shown.duration
    if model.selection is not None:
        s0, s1 = model.selection
        assert 0.0 <= s0 < s1 <= shown.duration
    return shown


def test_a_new_model_shows_nothing() -> None:
    model = ViewerModel()
    assert model.mode == "file" and model.info is None
    assert model.shown.sr is None and model.shown.a is None and model.shown.duration == 0.0
    assert model.requested == ViewSettings()
    check_consistent(model, None)


def test_open_publishes_one_snapshot_and_the_whole_file(mono16k: AudioInfo) -> None:
    model = ViewerModel()
    rec = Recorder(model)
    model.open(mono16k)
    assert len(rec.of("shown_changed")) == 1
    assert rec.of("shown_changed")[0] == (model.shown,)
    assert rec.of("range_changed") == [(0.0, mono16k.duration)]
    assert model.time_range == (0.0, 1.0)
    shown = check_consistent(model, mono16k)
    assert shown.mode == "file" and shown.sr == 16000 and shown.note == ""
    assert shown.a is not None and shown.a.settings == model.requested
    assert shown.b is None
    assert shown.serial > 0


def test_a_file_that_fails_to_open_changes_nothing(tmp_path: Path, mono16k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(mono16k)
    before = model.shown
    rec = Recorder(model)
    missing = tmp_path / "missing.wav"
    with pytest.raises(AudioError, match=r"missing\.wav"):
        model.open(probe(missing))  # the caller probes first; open is never reached
    assert model.shown is before
    assert rec.events == []
    check_consistent(model, mono16k)


def test_opening_a_file_at_another_rate_follows_it(mono16k: AudioInfo, stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(mono16k)
    model.set_time_range(0.2, 0.6)
    model.set_selection((0.3, 0.5))
    assert model.selection == (0.3, 0.5)
    rec = Recorder(model)
    model.open(stereo44k)
    shown = check_consistent(model, stereo44k)
    assert shown.sr == 44100 and shown.a is not None and shown.a.params.sr == 44100
    assert shown.n_channels == 2
    assert model.selection is None
    assert model.time_range == (0.0, 2.0)
    assert len(rec.of("shown_changed")) == 1
    assert rec.of("selection_changed") == [(None,)]
    assert rec.of("range_changed") == [(0.0, 2.0)]


def test_live_mode_round_trip_restores_the_file_view(stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(stereo44k)
    model.set_time_range(0.5, 1.25)
    model.set_selection((0.75, 1.0))
    file_view = (model.time_range, model.selection)
    assert file_view == ((0.5, 1.25), (0.75, 1.0))

    rec = Recorder(model)
    model.start_live(48000)
    shown = check_consistent(model, stereo44k)
    assert shown.mode == "live" and shown.sr == 48000
    assert shown.info == stereo44k  # kept for later
    assert shown.a is not None and shown.a.params.sr == 48000
    assert shown.n_channels == 1
    assert len(rec.of("shown_changed")) == 1

    # A parameter change while live applies to the live picture.
    assert model.request(n_fft=4096)
    shown = check_consistent(model, stereo44k)
    assert shown.mode == "live" and shown.sr == 48000
    assert shown.a is not None and shown.a.params.n_fft == 4096 and shown.a.params.hop_length == 1024
    # The file's range cannot be moved while live.
    model.set_time_range(0.0, 2.0)

    rec.clear()
    model.stop_live()
    shown = check_consistent(model, stereo44k)
    assert shown.mode == "file" and shown.sr == 44100
    assert shown.a is not None and shown.a.params.sr == 44100 and shown.a.params.n_fft == 4096
    assert (model.time_range, model.selection) == file_view
    assert rec.of("range_changed") == [file_view[0]]
    assert rec.of("selection_changed") == [(file_view[1],)]
    assert len(rec.of("shown_changed")) == 1
    assert model.live_sr is None

    # Leaving live mode twice is nothing.
    rec.clear()
    model.stop_live()
    assert rec.events == []


def test_live_without_a_file_and_back(mono16k: AudioInfo) -> None:
    model = ViewerModel()
    model.start_live(44100)
    shown = check_consistent(model, None)
    assert shown.mode == "live" and shown.sr == 44100 and shown.duration == 0.0
    model.stop_live()
    shown = check_consistent(model, None)
    assert shown.mode == "file" and shown.sr is None and model.time_range == (0.0, 0.0)
    # Opening a file while live leaves live mode.
    model.start_live(48000)
    model.open(mono16k)
    shown = check_consistent(model, mono16k)
    assert shown.mode == "file" and shown.sr == 16000 and model.live_sr is None


def test_live_keeps_the_files_channel_choice(stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(stereo44k)
    assert model.request(channel=1)
    model.start_live(48000)
    shown = check_consistent(model, stereo44k)
    assert shown.a is not None and shown.a.settings.channel == 1 and shown.note == ""
    model.stop_live()
    assert model.shown.a is not None and model.shown.a.channel == 1


def test_close_file_shows_nothing(stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(stereo44k)
    model.set_selection((0.1, 0.2))
    rec = Recorder(model)
    model.close_file()
    shown = check_consistent(model, None)
    assert shown.sr is None and model.time_range == (0.0, 0.0) and model.selection is None
    assert rec.of("range_changed") == [(0.0, 0.0)]
    assert rec.of("selection_changed") == [(None,)]


def test_ab_compare_on_off_and_bs_own_settings(stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(stereo44k)
    assert model.requested.params.n_fft == 2048
    rec = Recorder(model)
    assert model.set_compare(True)
    shown = check_consistent(model, stereo44k)
    assert shown.b is not None
    assert shown.b.params.n_fft == default_b_n_fft(2048) == 256
    assert shown.b.params.hop_length == 64
    assert shown.b.params.scale == shown.a.params.scale  # type: ignore[union-attr]
    assert shown.a is not None and shown.a.params.n_fft == 2048  # A is untouched
    assert len(rec.of("shown_changed")) == 1

    assert model.set_compare(n_fft=1024, hop_length=128, scale="mel")
    shown = check_consistent(model, stereo44k)
    assert shown.b is not None
    assert (shown.b.params.n_fft, shown.b.params.hop_length, shown.b.params.scale) == (1024, 128, "mel")
    assert shown.a is not None and shown.a.params.scale == "linear"
    assert model.compare == CompareSettings(n_fft=1024, hop_length=128, scale="mel")

    # B follows A's other settings.
    assert model.request(window="hamming")
    shown = check_consistent(model, stereo44k)
    assert shown.b is not None and shown.b.params.window == "hamming" and shown.b.params.n_fft == 1024

    rec.clear()
    assert model.set_compare(False)
    shown = check_consistent(model, stereo44k)
    assert shown.b is None
    assert len(rec.of("shown_changed")) == 1
    # B's settings are kept for the next time.
    assert model.set_compare(True)
    assert model.shown.b is not None and model.shown.b.params.n_fft == 1024


def test_b_starts_far_from_a_small_window(stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(stereo44k)
    model.request(n_fft=512)
    model.set_compare(True)
    shown = check_consistent(model, stereo44k)
    assert shown.b is not None and shown.b.params.n_fft == 4096 == default_b_n_fft(512)


def test_b_adjustments_are_noted_as_bs(stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(stereo44k)
    model.set_compare(True, scale="mel")  # B: 256-point window, 128 mel bands at 44.1 kHz
    shown = check_consistent(model, stereo44k)
    assert shown.b is not None and shown.b.params.n_mels < 128
    assert shown.a is not None and shown.a.note == ""
    assert shown.note.startswith("B: ") and "n_mels" in shown.note


def test_a_refused_edit_changes_nothing(mono16k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(mono16k)
    shown, requested = model.shown, model.requested
    rec = Recorder(model)
    assert model.request(n_fft=3) is False
    assert len(rec.of("refused")) == 1
    assert "n_fft" in rec.of("refused")[0][0]
    assert rec.of("shown_changed") == []
    assert model.shown is shown and model.requested is requested
    assert model.request(no_such_setting=1) is False
    assert model.request(colormap="no-such-map") is False
    assert len(rec.of("refused")) == 3
    assert model.shown is shown and model.requested is requested


def test_a_request_resolve_adjusts_is_kept_for_a_file_that_can_hold_it(
    mono16k: AudioInfo, stereo44k: AudioInfo, mono96k: AudioInfo
) -> None:
    model = ViewerModel()
    model.open(mono16k)
    assert model.request(scale="mel", n_mels=64, fmax=30000.0)
    shown = check_consistent(model, mono16k)
    assert shown.a is not None and shown.a.settings.params.fmax is None
    assert shown.a.params.fmax_for(16000) == 8000.0
    assert "fmax" in shown.note and "8000" in shown.note
    assert model.requested.params.fmax == 30000.0

    # Still above Nyquist at 44.1 kHz: adjusted again, the request kept.
    model.open(stereo44k)
    shown = check_consistent(model, stereo44k)
    assert shown.a is not None and shown.a.settings.params.fmax is None and "22050" in shown.note
    assert model.requested.params.fmax == 30000.0

    # Another edit keeps the request's fmax.
    assert model.request(n_fft=1024)
    assert model.requested.params.fmax == 30000.0

    # A 96 kHz file can hold it: it comes back.
    model.open(mono96k)
    shown = check_consistent(model, mono96k)
    assert shown.a is not None and shown.a.settings.params.fmax == 30000.0 and shown.a.params.fmax == 30000.0
    assert shown.note == ""


def test_a_lower_fmax_comes_back_on_a_faster_file(mono16k: AudioInfo, stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(mono16k)
    model.request(fmax=12000.0)
    assert model.shown.a is not None and model.shown.a.settings.params.fmax is None
    model.open(stereo44k)
    shown = check_consistent(model, stereo44k)
    assert shown.a is not None and shown.a.params.fmax == 12000.0 and shown.note == ""


def test_a_missing_channel_is_noted_and_the_request_kept(mono16k: AudioInfo, stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(mono16k)
    assert model.request(channel=1)
    shown = check_consistent(model, mono16k)
    assert shown.a is not None and shown.a.channel is None and "channel 2" in shown.note
    model.open(stereo44k)
    assert model.shown.a is not None and model.shown.a.channel == 1 and model.shown.note == ""


def test_restored_settings_replace_the_request(stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(stereo44k)
    restored = ViewSettings.from_dict(
        {"n_fft": 1024, "hop_length": 200, "scale": "log", "colormap": "viridis", "hop_locked": False, "channel": 0}
    )
    rec = Recorder(model)
    assert model.set_settings(restored)
    assert model.requested == restored
    shown = check_consistent(model, stereo44k)
    assert shown.a is not None
    assert shown.a.settings == restored
    assert (shown.a.params.n_fft, shown.a.params.hop_length, shown.a.params.scale) == (1024, 200, "log")
    assert shown.a.channel == 0
    assert len(rec.of("shown_changed")) == 1
    # The same settings again: nothing to do.
    assert model.set_settings(dataclasses.replace(restored))
    assert len(rec.of("shown_changed")) == 1


def test_a_model_can_start_from_saved_settings(mono16k: AudioInfo) -> None:
    saved = ViewSettings(params=SpectrogramParams(n_fft=512, hop_length=128), colormap="grey")
    model = ViewerModel(saved)
    model.open(mono16k)
    assert model.shown.a is not None and model.shown.a.params.n_fft == 512 and model.shown.a.settings == saved


def test_every_transition_gets_a_new_serial(mono16k: AudioInfo) -> None:
    model = ViewerModel()
    serials = []
    model.shown_changed.connect(lambda shown: serials.append(shown.serial))
    model.open(mono16k)
    model.request(n_fft=1024)
    model.set_compare(True)
    model.start_live(48000)
    model.stop_live()
    assert len(serials) == 5
    assert serials == sorted(set(serials))


def test_time_range_and_selection_are_clamped_to_the_file(stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.set_time_range(0.0, 5.0)  # no file: ignored
    assert model.time_range == (0.0, 0.0)
    model.open(stereo44k)
    rec = Recorder(model)
    model.set_time_range(1.5, 3.0)  # past the end: shifted back, span kept
    assert model.time_range == pytest.approx((0.5, 2.0))
    model.set_time_range(-1.0, 10.0)
    assert model.time_range == (0.0, 2.0)
    model.set_time_range(1.0, 0.5)  # reversed
    assert model.time_range == (0.5, 1.0)
    model.set_time_range(float("nan"), 1.0)
    assert model.time_range == (0.0, 2.0)
    assert len(rec.of("range_changed")) == 4
    model.set_time_range(0.0, 2.0)  # unchanged: no event
    assert len(rec.of("range_changed")) == 4
    check_consistent(model, stereo44k)

    model.set_selection((1.8, 3.0))
    assert model.selection == (1.8, 2.0)
    model.set_selection((1.0, 0.5))
    assert model.selection == (0.5, 1.0)
    model.set_selection((2.5, 3.0))  # wholly past the end
    assert model.selection is None
    assert rec.of("selection_changed") == [((1.8, 2.0),), ((0.5, 1.0),), (None,)]
    check_consistent(model, stereo44k)


def test_cursor_and_tools(mono16k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(mono16k)
    rec = Recorder(model)
    cursor = Cursor(0.5, 440.0, "b")
    model.set_cursor(cursor)
    model.set_cursor(Cursor(0.5, 440.0, "b"))  # equal: no event
    model.set_cursor(None)
    assert rec.of("cursor_changed") == [(cursor,), (None,)]
    model.set_tools(pitch=True, slice_mode="selection")
    model.set_tools(pitch=True)
    assert model.tools == Tools(pitch=True, harmonics=False, slice_mode="selection")
    assert rec.of("tools_changed") == [(model.tools,)]
    with pytest.raises(TypeError):
        model.set_tools(no_such_tool=True)


def test_an_invalid_b_setting_is_refused(stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(stereo44k)
    model.set_compare(True)
    shown, compare = model.shown, model.compare
    rec = Recorder(model)
    assert model.set_compare(scale="bark") is False
    assert model.set_compare(hop_length=0) is False
    assert [("scale" in m, "hop_length" in m) for (m,) in rec.of("refused")] == [(True, False), (False, True)]
    assert model.shown is shown and model.compare == compare


def test_an_invalid_b_window_is_refused_and_leaves_the_model_working(stereo44k: AudioInfo) -> None:
    model = ViewerModel()
    model.open(stereo44k)
    model.set_compare(True)
    shown, compare = model.shown, model.compare
    rec = Recorder(model)
    ok: bool | None = None
    with contextlib.suppress(ParameterError):
        ok = model.set_compare(n_fft=3)
    assert ok is False
    assert [m for (m,) in rec.of("refused")] and "n_fft" in rec.of("refused")[0][0]
    assert model.shown is shown and model.compare == compare
    # The model still takes edits.
    assert model.request(n_fft=4096)
    assert model.shown.a is not None and model.shown.a.params.n_fft == 4096


def test_follow_page_turns_a_page_when_the_playhead_leaves_the_view() -> None:
    from spectroview.session.model import follow_page

    assert follow_page(3.0, (2.0, 4.0), 60.0) is None  # inside: the view stays
    assert follow_page(4.0, (2.0, 4.0), 60.0) == (4.0, 6.0)  # at the right edge: the next page
    assert follow_page(1.0, (2.0, 4.0), 60.0) == (1.0, 3.0)  # left behind (a jump back): a page from it
    assert follow_page(59.5, (50.0, 58.0), 60.0) == (52.0, 60.0)  # the last page ends at the file's end
    assert follow_page(float("nan"), (2.0, 4.0), 60.0) is None
