"""The rules between the request and what is drawn: apply_changes (coupling) and resolve (per source)."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from spectroview.dsp import ParameterError, SpectrogramParams
from spectroview.dsp.params import mel_filter_is_empty
from spectroview.session.resolve import Resolved, apply_changes, resolve
from spectroview.session.settings import ViewSettings


def settings(**params: object) -> ViewSettings:
    return ViewSettings(params=SpectrogramParams(**params))  # type: ignore[arg-type]


# -- resolve ------------------------------------------------------------------------------------


def test_a_request_valid_as_is_is_used_unchanged() -> None:
    request = settings(n_fft=1024, hop_length=256, scale="mel", n_mels=64)
    out = resolve(request, 16000, 1)
    assert isinstance(out, Resolved)
    assert out.note == ""
    assert out.settings == request
    assert out.params.sr == 16000
    assert out.params == dataclasses.replace(request.params, sr=16000)
    assert out.settings.params.sr is None  # still a template


def test_a_window_longer_than_the_file_is_kept_and_said() -> None:
    request = settings(n_fft=32768)
    out = resolve(request, 16000, 1, n_samples=17600)  # 1.1 s
    assert out.params.n_fft == 32768  # kept: the user asked for it
    assert out.note == (
        "window 32768 samples (2.05 s) is longer than the file (17600 samples, 1.1 s): each frame is mostly zero padding"
    )
    assert resolve(request, 16000, 1, n_samples=32768).note == ""  # as long as the file: nothing to say
    assert resolve(request, 16000, 1).note == ""  # length unknown (live input)


def test_fmax_above_nyquist_becomes_nyquist_and_says_so() -> None:
    out = resolve(settings(fmax=30000.0, scale="mel", n_mels=64), 16000, 1)
    assert out.settings.params.fmax is None
    assert out.params.fmax_for(16000) == 8000.0
    assert out.params.sr == 16000
    assert "fmax" in out.note
    assert "8000" in out.note
    assert "Nyquist" in out.note


def test_too_many_mel_bands_for_the_window_become_the_largest_without_an_empty_filter() -> None:
    sr = 44100
    out = resolve(settings(n_fft=256, hop_length=64, scale="mel", n_mels=128), sr, 1)
    n_mels = out.params.n_mels
    assert 0 < n_mels < 128
    mel = {"sr": sr, "n_fft": 256, "fmin": 0.0, "fmax": sr / 2, "htk": False}
    assert not mel_filter_is_empty(n_mels=n_mels, **mel).any()
    assert mel_filter_is_empty(n_mels=n_mels + 1, **mel).any()
    assert out.settings.params.n_mels == n_mels
    assert "n_mels=128" in out.note
    assert f"n_mels={n_mels}" in out.note
    # Nothing else moved.
    assert (
        dataclasses.replace(out.settings.params, n_mels=128)
        == settings(n_fft=256, hop_length=64, scale="mel", n_mels=128).params
    )


def test_several_adjustments_each_get_a_line() -> None:
    out = resolve(settings(n_fft=256, hop_length=64, scale="mel", n_mels=128, fmax=30000.0), 44100, 1)
    assert out.settings.params.fmax is None
    assert out.params.n_mels < 128
    lines = out.note.splitlines()
    assert len(lines) == 2
    assert "fmax" in lines[0] and "22050" in lines[0]
    assert "n_mels" in lines[1]


def test_fmin_at_or_above_nyquist_becomes_zero() -> None:
    out = resolve(settings(fmin=10000.0, scale="log"), 16000, 1)
    assert out.settings.params.fmin == 0.0
    assert out.params.sr == 16000
    assert "fmin" in out.note and "0 Hz" in out.note


def test_settings_that_nothing_fixes_fall_back_to_the_defaults() -> None:
    # The log scale starts at 20 Hz when fmin is 0, above this fmax: no adjustment helps.
    request = dataclasses.replace(settings(scale="log", fmax=15.0), hop_locked=False)
    out = resolve(request, 16000, 1)
    assert out.params == ViewSettings().params.with_sr(16000)
    assert out.settings.hop_locked
    assert "defaults" in out.note


@pytest.mark.parametrize("channel", [2, 3])
def test_a_channel_the_file_lacks_shows_the_mix(channel: int) -> None:
    request = dataclasses.replace(ViewSettings(), channel=channel)
    out = resolve(request, 44100, 2)
    assert out.settings.channel is None
    assert out.channel is None
    assert f"channel {channel + 1}" in out.note
    assert "mix" in out.note
    assert out.settings.params == request.params


def test_a_channel_the_file_has_is_kept() -> None:
    out = resolve(dataclasses.replace(ViewSettings(), channel=1), 44100, 2)
    assert out.channel == 1
    assert out.note == ""


def test_resolve_never_changes_its_input() -> None:
    request = dataclasses.replace(settings(n_fft=256, scale="mel", n_mels=128, fmax=30000.0), channel=5)
    before = copy.deepcopy(request)
    out = resolve(request, 16000, 2)
    assert out.note  # it did adjust
    assert request == before
    assert request.params.fmax == 30000.0 and request.channel == 5 and request.params.n_mels == 128


def test_an_invalid_rate_is_refused() -> None:
    with pytest.raises(ParameterError, match="sr"):
        resolve(ViewSettings(), 0.0, 1)


# -- apply_changes ------------------------------------------------------------------------------


def test_hop_lock_follows_the_window() -> None:
    s = ViewSettings()
    assert s.hop_locked
    out = apply_changes(s, n_fft=4096)
    assert out.params.n_fft == 4096
    assert out.params.hop_length == 1024
    assert out.hop_locked
    assert s.params.n_fft == 2048  # the input is unchanged


def test_an_explicit_other_hop_wins_and_unlocks() -> None:
    out = apply_changes(ViewSettings(), hop_length=100)
    assert out.params.hop_length == 100
    assert not out.hop_locked
    # Then the window no longer moves the hop.
    out = apply_changes(out, n_fft=4096)
    assert out.params.hop_length == 100


def test_an_explicit_hop_equal_to_the_locked_one_stays_locked() -> None:
    out = apply_changes(ViewSettings(), n_fft=1024, hop_length=256)
    assert out.hop_locked
    assert out.params.hop_length == 256


def test_turning_the_lock_on_resets_the_hop() -> None:
    unlocked = apply_changes(ViewSettings(), hop_length=100)
    assert not unlocked.hop_locked
    out = apply_changes(unlocked, hop_locked=True)
    assert out.hop_locked
    assert out.params.hop_length == unlocked.params.n_fft // 4 == 512
    # Turned on together with a new window: the new window's quarter.
    out = apply_changes(unlocked, hop_locked=True, n_fft=1024)
    assert out.params.hop_length == 256


def test_unlocked_a_smaller_window_cuts_a_longer_hop() -> None:
    unlocked = apply_changes(ViewSettings(), hop_locked=False, hop_length=1500)
    assert unlocked.params.hop_length == 1500
    out = apply_changes(unlocked, n_fft=1024)
    assert out.params.n_fft == 1024
    assert out.params.hop_length == 1024
    assert not out.hop_locked
    # A hop shorter than the new window is kept.
    out = apply_changes(unlocked, n_fft=4096)
    assert out.params.hop_length == 1500


def test_unlocked_one_edit_of_window_and_longer_hop_keeps_the_hop_within_the_window() -> None:
    unlocked = apply_changes(ViewSettings(), hop_locked=False)
    out = apply_changes(unlocked, n_fft=512, hop_length=1024)
    # The same two edits one after the other give 512; one edit must not give more.
    assert apply_changes(apply_changes(unlocked, hop_length=1024), n_fft=512).params.hop_length == 512
    assert out.params.hop_length is not None and out.params.hop_length <= out.params.n_fft


def test_a_window_length_longer_than_the_new_window_is_dropped() -> None:
    s = apply_changes(ViewSettings(), win_length=1500)
    assert s.params.win_length == 1500
    out = apply_changes(s, n_fft=1024)
    assert out.params.win_length is None
    assert out.params.win == 1024
    # A window length that still fits is kept.
    assert apply_changes(s, n_fft=4096).params.win_length == 1500


def test_an_invalid_value_is_refused_naming_it() -> None:
    s = ViewSettings()
    with pytest.raises(ParameterError, match="n_fft"):
        apply_changes(s, n_fft=3)
    with pytest.raises(ParameterError, match="colormap"):
        apply_changes(s, colormap="no-such-map")
    assert s == ViewSettings()


def test_a_missing_window_size_is_refused_naming_it() -> None:
    with pytest.raises(ParameterError, match="n_fft"):
        apply_changes(ViewSettings(), n_fft=None)


def test_an_unknown_field_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="no_such_field"):
        apply_changes(ViewSettings(), no_such_field=1)


def test_on_the_linear_scale_an_unused_fmax_is_adjusted_without_a_note() -> None:
    out = resolve(settings(fmax=30000.0), 16000, 1)
    assert out.settings.params.fmax is None and out.params.sr == 16000
    assert out.note == ""
