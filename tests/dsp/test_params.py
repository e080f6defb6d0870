"""SpectrogramParams: validation on construction, messages, immutability."""

from __future__ import annotations

import dataclasses
import re
import warnings

import librosa
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spectroview.dsp import WINDOWS, ParameterError, SpectrogramParams, mel_filterbank
from tests.dsp.helpers import SAMPLE_RATES

BAD = [
    # (kwargs, regex the message must match: parameter, value, what is allowed)
    (dict(hop_length=0), r"^hop_length=0: must be an integer >= 1"),
    (dict(hop_length=-3), r"^hop_length=-3: must be an integer >= 1"),
    (dict(hop_length=True), r"^hop_length=True: must be an integer >= 1"),
    (dict(n_fft=15), r"^n_fft=15: must be an integer in \[16, 65536\]"),
    (dict(n_fft=65537), r"^n_fft=65537: must be an integer in \[16, 65536\]"),
    (dict(n_fft=512.0), r"^n_fft=512\.0: must be an integer"),
    (dict(n_fft=512, win_length=513), r"^win_length=513: must be an integer in \[1, n_fft=512\]"),
    (dict(win_length=0), r"^win_length=0: must be an integer in \[1, n_fft=2048\]"),
    (dict(fmin=-1.0), r"^fmin=-1\.0: must be a frequency in Hz >= 0"),
    (dict(sr=8000, fmax=5000.0), r"^fmax=5000\.0: must be <= sr/2 = 4000 Hz"),
    (dict(fmin=3000.0, fmax=3000.0), r"^fmin=3000\.0: must be below fmax=3000\.0"),
    (dict(fmin=3000.0, fmax=1000.0), r"^fmin=3000\.0: must be below fmax=1000\.0"),
    (dict(sr=8000, fmin=4000.0), r"^fmin=4000\.0: must be below fmax = 4000 Hz"),
    (
        dict(sr=8000, scale="log", fmax=15.0),
        r"^fmin=0\.0: the log scale starts at 20 Hz, which must be below fmax = 15",
    ),
    (dict(window="hannn"), r"^window='hannn': unknown; choose one of hann, hamming, .*boxcar"),
    (dict(window="kaiser"), r"^window='kaiser': unknown; choose one of"),
    (dict(window=("kaiser", 8.0)), r"^window=\('kaiser', 8\.0\): must be one of hann"),
    (dict(pad_mode="wrap"), r"^pad_mode='wrap': must be one of constant, edge, reflect, symmetric"),
    (dict(scale="bark"), r"^scale='bark': must be one of linear, log, mel"),
    (dict(power=0), r"^power=0: must be a number > 0"),
    (dict(n_mels=0), r"^n_mels=0: must be an integer >= 1"),
    (dict(bins_per_octave=0), r"^bins_per_octave=0: must be an integer >= 1"),
    (dict(norm="l2"), r"^norm='l2': must be 'slaney' or None"),
    (dict(center=1), r"^center=1: must be True or False"),
    (dict(sr=0), r"^sr=0: must be a sample rate in Hz > 0"),
    (dict(sr=-44100.0), r"^sr=-44100\.0: must be a sample rate in Hz > 0"),
]


@pytest.mark.parametrize(("kwargs", "pattern"), BAD, ids=[re.sub(r"\W+", "-", str(k)) for k, _ in BAD])
def test_bad_values_raise_with_message(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern):
        SpectrogramParams(**kwargs)


def test_parameter_error_is_value_error() -> None:
    assert issubclass(ParameterError, ValueError)
    with pytest.raises(ValueError, match="hop_length"):
        SpectrogramParams(hop_length=0)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_fft=16),
        dict(n_fft=65536),
        dict(n_fft=512, win_length=512, hop_length=1),
        dict(n_fft=np.int64(1024), hop_length=np.int32(100)),
        dict(sr=8000, fmax=4000.0, fmin=3999.0),
        dict(sr=8000, scale="mel", n_mels=8, n_fft=16),
        dict(window="HANN"),
    ],
)
def test_boundary_values_are_accepted(kwargs: dict) -> None:
    SpectrogramParams(**kwargs)


@pytest.mark.parametrize("window", WINDOWS)
def test_every_offered_window_is_accepted(window: str) -> None:
    assert SpectrogramParams(window=window).window == window


@pytest.mark.parametrize(("alias", "name"), [("rectangular", "boxcar"), ("hanning", "hann"), ("Hamming", "hamming")])
def test_window_aliases_are_canonicalized(alias: str, name: str) -> None:
    assert SpectrogramParams(window=alias).window == name
    assert SpectrogramParams(window=alias) == SpectrogramParams(window=name)


def test_resolved_hop_and_window_length() -> None:
    assert (SpectrogramParams(n_fft=1024).win, SpectrogramParams(n_fft=1024).hop) == (1024, 256)
    p = SpectrogramParams(n_fft=1024, win_length=600)
    assert (p.win, p.hop) == (600, 150)
    assert SpectrogramParams(n_fft=16, win_length=3).hop == 1
    assert SpectrogramParams(hop_length=7).hop == 7


# ---------------------------------------------------------------------------
# Empty mel filters
# ---------------------------------------------------------------------------


def _librosa_has_empty_filter(**kw: object) -> bool:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        weights = librosa.filters.mel(**kw)
    warned = any("Empty filters" in str(w.message) for w in caught)
    return warned or bool((weights.max(axis=1) == 0).any())


@pytest.mark.parametrize(
    ("sr", "n_fft", "n_mels", "fmin", "fmax", "htk"),
    [
        (22050, 256, 128, 0.0, None, False),
        (8000, 16, 10, 0.0, None, False),
        (8000, 16, 9, 0.0, None, False),  # one over: the suggestion is n_mels - 1
        (192000, 2048, 128, 0.0, None, True),
        (44100, 1024, 200, 100.0, 8000.0, False),
        (16000, 511, 300, 20.0, 7000.0, True),
    ],
)
def test_too_many_mels_is_refused_with_largest_that_works(
    sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None, htk: bool
) -> None:
    kw = dict(sr=sr, n_fft=n_fft, fmin=fmin, fmax=fmax, htk=htk)
    with pytest.raises(ParameterError) as info:
        SpectrogramParams(scale="mel", n_mels=n_mels, **kw)
    message = str(info.value)
    assert message.startswith(f"n_mels={n_mels}: ")
    assert f"n_fft={n_fft}" in message
    match = re.search(r"use n_mels <= (\d+)", message)
    assert match, message
    best = int(match.group(1))
    assert 1 <= best < n_mels
    # The requested value really is empty for librosa, and so is every value
    # between the suggestion and the request; the suggestion itself works.
    for n in range(best + 1, n_mels + 1):
        assert _librosa_has_empty_filter(n_mels=n, **kw), n
    assert not _librosa_has_empty_filter(n_mels=best, **kw)
    SpectrogramParams(scale="mel", n_mels=best, **kw)
    assert (mel_filterbank(n_mels=best, **kw).max(axis=1) > 0).all()
    with pytest.raises(ParameterError, match=rf"^n_mels={n_mels}: .*use n_mels <= {best}"):
        mel_filterbank(n_mels=n_mels, **kw)


def test_mel_check_only_applies_to_the_mel_scale_and_a_known_rate() -> None:
    SpectrogramParams(sr=22050, n_fft=256, n_mels=128, scale="linear")
    template = SpectrogramParams(n_fft=256, n_mels=128, scale="mel")
    with pytest.raises(ParameterError, match=r"^n_mels=128: "):
        template.with_sr(22050)


# ---------------------------------------------------------------------------
# Immutability, replace, with_sr
# ---------------------------------------------------------------------------


def test_frozen() -> None:
    p = SpectrogramParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.hop_length = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.n_fft = 1024  # type: ignore[misc]
    assert p.n_fft == 2048
    assert hash(p) == hash(SpectrogramParams())


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (dict(hop_length=0), r"^hop_length=0"),
        (dict(n_fft=8), r"^n_fft=8"),
        (dict(win_length=4096), r"^win_length=4096"),
        (dict(window="nope"), r"^window='nope'"),
        (dict(fmax=30000.0), r"^fmax=30000\.0: must be <= sr/2 = 22050 Hz"),
    ],
)
def test_replace_revalidates(change: dict, pattern: str) -> None:
    p = SpectrogramParams(sr=44100)
    with pytest.raises(ParameterError, match=pattern):
        dataclasses.replace(p, **change)
    assert dataclasses.replace(p, hop_length=100).hop == 100


def test_with_sr() -> None:
    template = SpectrogramParams(fmax=10000.0)
    assert template.sr is None
    with pytest.raises(ParameterError, match="sr=None"):
        template.require_sr()
    bound = template.with_sr(44100)
    assert bound.sr == 44100 and bound.fmax == 10000.0 and template.sr is None
    assert bound.with_sr(44100) is bound
    assert bound.with_sr(48000).sr == 48000
    assert bound.require_sr() == 44100.0
    with pytest.raises(ParameterError, match=r"^fmax=10000\.0: must be <= sr/2 = 8000 Hz"):
        template.with_sr(16000)
    with pytest.raises(ParameterError, match=r"^sr=0"):
        template.with_sr(0)


@settings(max_examples=150, deadline=None)
@given(
    sr=st.sampled_from(SAMPLE_RATES),
    n_fft=st.integers(16, 4096),
    n_mels=st.integers(1, 256),
    fmin_frac=st.sampled_from([0.0, 0.001, 0.01, 0.1]),
    fmax_frac=st.sampled_from([0.2, 0.45, 0.5]),
    htk=st.booleans(),
)
def test_mel_validation_agrees_with_librosa_zero_rows(
    sr: int, n_fft: int, n_mels: int, fmin_frac: float, fmax_frac: float, htk: bool
) -> None:
    kw = dict(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin_frac * sr, fmax=fmax_frac * sr, htk=htk)
    try:
        SpectrogramParams(scale="mel", **kw)
        accepted = True
    except ParameterError:
        accepted = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        weights = librosa.filters.mel(**kw)
    assert accepted == bool((weights.max(axis=1) > 0).all())


@pytest.mark.parametrize(
    ("sr", "n_fft", "fmin", "fmax", "htk"),
    [(44100, 256, 0.0, 22050.0, False), (16000, 512, 50.0, 8000.0, True), (8000, 2048, 0.0, 4000.0, False)],
)
def test_largest_n_mels_by_bisection_equals_the_scan(sr: int, n_fft: int, fmin: float, fmax: float, htk: bool) -> None:
    from spectroview.dsp.params import largest_n_mels, mel_filter_is_empty

    mel = {"sr": sr, "n_fft": n_fft, "fmin": fmin, "fmax": fmax, "htk": htk}
    scan = next(n for n in range(n_fft + 2, 0, -1) if not mel_filter_is_empty(n_mels=n, **mel).any())
    assert largest_n_mels(start=100_000, **mel) == scan
    assert largest_n_mels(start=scan - 3, **mel) == scan - 3
    assert mel_filter_is_empty(n_mels=scan + 1, **mel).any()
