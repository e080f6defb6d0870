"""Axes and readouts: the row/frequency map agrees with the engine's rows, ticks are honest."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spectroview.dsp import ParameterError, SpectrogramParams, row_frequencies
from spectroview.dsp.mel import hz_to_mel, logfreq_edges, mel_frequencies
from spectroview.session.axes import (
    FrequencyMapping,
    format_duration,
    format_hz,
    format_readout,
    format_time,
    note_name,
    time_axis_label,
    time_ticks,
)

MINUS = "\u2212"


def _all_params() -> list[SpectrogramParams]:
    """Valid combinations of the parameters the mapping depends on."""
    out: list[SpectrogramParams] = []
    for n_fft, sr in itertools.product((256, 2048), (22050, 48000)):
        out.append(SpectrogramParams(sr=sr, n_fft=n_fft, scale="linear"))
        for n_mels, htk, (fmin, fmax) in itertools.product((40, 128), (False, True), ((0.0, None), (300.0, 8000.0))):
            try:
                out.append(
                    SpectrogramParams(sr=sr, n_fft=n_fft, scale="mel", n_mels=n_mels, htk=htk, fmin=fmin, fmax=fmax)
                )
            except ParameterError:  # e.g. 128 mels need more than 256 FFT points
                pass
        for bpo, (fmin, fmax) in itertools.product((12, 48), ((0.0, None), (55.0, 8000.0), (31.0, 10000.0))):
            out.append(SpectrogramParams(sr=sr, n_fft=n_fft, scale="log", bins_per_octave=bpo, fmin=fmin, fmax=fmax))
    return out


ALL_PARAMS = _all_params()
PARAM_IDS = [
    f"{p.scale}-nfft{p.n_fft}-sr{p.sr}-mels{p.n_mels}-htk{p.htk}-bpo{p.bins_per_octave}-f{p.fmin}-{p.fmax}"
    for p in ALL_PARAMS
]
MAPPINGS = [FrequencyMapping.from_params(p) for p in ALL_PARAMS]


def parse_hz(label: str) -> float:
    """The frequency in Hz a tick label stands for ("1.5k" -> 1500)."""
    assert re.fullmatch(rf"{MINUS}?\d+(\.\d*[1-9])?k?", label), label
    text = label.replace(MINUS, "-")
    return float(text[:-1]) * 1000.0 if text.endswith("k") else float(text)


def parse_time(label: str) -> float:
    """Seconds a time label stands for ("1:02.5" -> 62.5, "1:02:05" -> 3725)."""
    assert re.fullmatch(rf"{MINUS}?(\d+:)?(\d+:)?\d+(\.\d+)?", label), label
    sign = -1.0 if label.startswith(MINUS) else 1.0
    total = 0.0
    for part in label.lstrip(MINUS).split(":"):
        total = total * 60.0 + float(part)
    return sign * total


# ---------------------------------------------------------------------------
# The map
# ---------------------------------------------------------------------------
def test_the_parameter_grid_covers_every_scale_and_option() -> None:
    scales = {p.scale for p in ALL_PARAMS}
    assert scales == {"linear", "mel", "log"}
    assert {p.htk for p in ALL_PARAMS if p.scale == "mel"} == {False, True}
    assert {p.n_mels for p in ALL_PARAMS if p.scale == "mel"} == {40, 128}
    assert {p.bins_per_octave for p in ALL_PARAMS if p.scale == "log"} == {12, 48}
    assert {p.n_fft for p in ALL_PARAMS} == {256, 2048}


@pytest.mark.parametrize("params", ALL_PARAMS, ids=PARAM_IDS)
def test_row_centres_map_to_half_rows_and_edges_to_whole_rows(params: SpectrogramParams) -> None:
    mapping = FrequencyMapping.from_params(params)
    centres, edges = row_frequencies(params)
    assert mapping.n_rows == len(centres)
    assert mapping.y_range == (0.0, float(len(centres)))
    np.testing.assert_allclose(mapping.hz_to_y(centres), np.arange(len(centres)) + 0.5, rtol=0, atol=1e-9)
    np.testing.assert_allclose(mapping.hz_to_y(edges), np.arange(len(edges)), rtol=0, atol=1e-9)
    np.testing.assert_allclose(mapping.y_to_hz(np.arange(len(centres)) + 0.5), centres, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mapping.hz_range, (edges[0], edges[-1]), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("params", ALL_PARAMS, ids=PARAM_IDS)
def test_hz_to_y_and_back_round_trips(params: SpectrogramParams) -> None:
    mapping = FrequencyMapping.from_params(params)
    lo, hi = mapping.hz_range
    hz = np.linspace(max(lo, 1.0), hi, 1001)
    y = mapping.hz_to_y(hz)
    assert np.all(np.diff(y) > 0), "the map must be increasing"
    np.testing.assert_allclose(mapping.y_to_hz(y), hz, rtol=1e-12)
    ys = np.linspace(0.0, mapping.n_rows, 777)
    np.testing.assert_allclose(mapping.hz_to_y(mapping.y_to_hz(ys)), ys, rtol=0, atol=1e-9)
    # Scalars in, floats out (the GUI formats them directly).
    y_scalar = mapping.hz_to_y(float(hz[500]))
    assert isinstance(y_scalar, float)
    assert y_scalar == pytest.approx(float(y[500]), abs=1e-12)
    assert isinstance(mapping.y_to_hz(3.25), float)
    assert mapping.hz_to_y(hz.reshape(7, 143)).shape == (7, 143)


def test_linear_map_is_bin_centred() -> None:
    mapping = FrequencyMapping.from_params(SpectrogramParams(sr=48000, n_fft=256))
    df = 48000 / 256
    assert mapping.hz_to_y(0.0) == pytest.approx(0.5)
    assert mapping.hz_to_y(1000.0) == pytest.approx(1000.0 / df + 0.5, abs=1e-12)
    assert mapping.y_to_hz(0.0) == pytest.approx(-df / 2)
    assert mapping.y_to_hz(float(mapping.n_rows)) == pytest.approx(24000.0 + df / 2)
    # Nothing is clipped: the formula continues outside the image.
    assert mapping.hz_to_y(30000.0) == pytest.approx(30000.0 / df + 0.5)


def test_mel_map_is_the_documented_formula() -> None:
    params = SpectrogramParams(sr=22050, n_fft=2048, scale="mel", n_mels=40, fmin=100.0, fmax=8000.0)
    mapping = FrequencyMapping.from_params(params)
    mel_f = mel_frequencies(42, fmin=100.0, fmax=8000.0)
    mels = hz_to_mel(mel_f)
    d = mels[1] - mels[0]
    for hz in (150.0, 1000.0, 2345.0, 7000.0):
        expected = (float(hz_to_mel(hz)) - float(mels[1])) / d + 0.5
        assert mapping.hz_to_y(hz) == pytest.approx(expected, abs=1e-9)


def test_log_map_is_the_documented_formula() -> None:
    params = SpectrogramParams(sr=44100, scale="log", fmin=50.0, fmax=16000.0, bins_per_octave=24)
    mapping = FrequencyMapping.from_params(params)
    edges = logfreq_edges(fmin=50.0, fmax=16000.0, bins_per_octave=24)
    n = len(edges) - 1
    for hz in (50.0, 440.0, 1000.0, 15000.0):
        expected = n * math.log(hz / edges[0]) / math.log(edges[-1] / edges[0])
        assert mapping.hz_to_y(hz) == pytest.approx(expected, abs=1e-9)
    # One octave is exactly n / octaves rows.
    octaves = math.log2(edges[-1] / edges[0])
    assert mapping.hz_to_y(880.0) - mapping.hz_to_y(440.0) == pytest.approx(n / octaves, rel=1e-12)


def test_log_map_of_non_positive_frequencies_is_not_finite() -> None:
    mapping = FrequencyMapping.from_params(SpectrogramParams(sr=44100, scale="log"))
    with np.errstate(all="raise"):  # documented: no warning, just -inf / NaN
        out = mapping.hz_to_y(np.array([0.0, -1.0, 100.0]))
    assert out[0] == -np.inf
    assert np.isnan(out[1])
    assert np.isfinite(out[2])


def test_template_params_are_refused() -> None:
    with pytest.raises(ParameterError, match="sr=None"):
        FrequencyMapping.from_params(SpectrogramParams(scale="mel"))


def test_row_at() -> None:
    mapping = FrequencyMapping.from_params(SpectrogramParams(sr=22050, n_fft=256))
    assert mapping.row_at(0.0) == 0
    assert mapping.row_at(12.999) == 12
    assert mapping.row_at(13.0) == 13
    assert mapping.row_at(mapping.n_rows - 1e-9) == mapping.n_rows - 1
    assert mapping.row_at(float(mapping.n_rows)) is None
    assert mapping.row_at(-0.001) is None
    assert mapping.row_at(float("nan")) is None


# ---------------------------------------------------------------------------
# Frequency ticks
# ---------------------------------------------------------------------------
def check_ticks(mapping: FrequencyMapping, ticks: list[tuple[float, str]], y_lo: float, y_hi: float) -> None:
    ys = [y for y, _ in ticks]
    assert all(y_lo <= y <= y_hi for y in ys), (ys, y_lo, y_hi)
    assert all(b > a for a, b in itertools.pairwise(ys)), ys
    for y, label in ticks:
        hz = parse_hz(label)
        true_hz = mapping.y_to_hz(y)
        assert hz == pytest.approx(true_hz, rel=1e-6, abs=1e-9), (label, true_hz)


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(MAPPINGS) - 1),
    start=st.floats(0.0, 1.0),
    length=st.floats(0.0, 1.0),
    max_ticks=st.integers(4, 16),
)
def test_ticks_are_honest_inside_and_enough(index: int, start: float, length: float, max_ticks: int) -> None:
    mapping = MAPPINGS[index]
    n = mapping.n_rows
    span = 1.0 + length * (n - 1.0)  # at least one row, at most the whole image
    y_lo = start * (n - span)
    y_hi = y_lo + span
    ticks = mapping.ticks(y_lo, y_hi, max_ticks)
    check_ticks(mapping, ticks, y_lo, y_hi)
    assert 2 <= len(ticks) <= max_ticks, (ticks, y_lo, y_hi)
    # Labels never crowd: no two closer than a third of the even spacing.
    ys = [y for y, _ in ticks]
    assert min(b - a for a, b in itertools.pairwise(ys)) >= span / max_ticks / 3
    # The reversed range (an inverted axis) gives the same ticks.
    assert mapping.ticks(y_hi, y_lo, max_ticks) == ticks


def labels(mapping: FrequencyMapping, y_lo: float, y_hi: float, max_ticks: int) -> list[str]:
    return [label for _, label in mapping.ticks(y_lo, y_hi, max_ticks)]


def test_linear_ticks_are_uniform_nice_steps() -> None:
    mapping = FrequencyMapping.from_params(SpectrogramParams(sr=22050, n_fft=2048))
    assert labels(mapping, 0, mapping.n_rows, 8) == ["0", "2k", "4k", "6k", "8k", "10k"]
    assert labels(mapping, 0, mapping.n_rows, 5) == ["0", "2.5k", "5k", "7.5k", "10k"]
    assert labels(mapping, 0, mapping.n_rows, 12)[:3] == ["0", "1k", "2k"]
    fine = [parse_hz(label) for label in labels(mapping, 820.0, 821.0, 8)]
    assert len(fine) >= 2
    steps = np.diff(fine)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-9)


def test_log_ticks_prefer_round_audio_values() -> None:
    mapping = FrequencyMapping.from_params(SpectrogramParams(sr=44100, scale="log"))
    assert labels(mapping, 0, mapping.n_rows, 8) == ["100", "200", "500", "1k", "2k", "5k", "10k", "20k"]
    # Zoomed in, the ticks become a uniform step.
    zoomed = [parse_hz(label) for label in labels(mapping, 162.0, 210.6, 8)]
    assert len(zoomed) >= 5
    np.testing.assert_allclose(np.diff(zoomed), zoomed[1] - zoomed[0], rtol=1e-9)


def test_mel_ticks_cover_the_low_and_the_high_end() -> None:
    mapping = FrequencyMapping.from_params(SpectrogramParams(sr=22050, scale="mel"))
    ticks = mapping.ticks(0, mapping.n_rows, 8)
    values = [parse_hz(label) for _, label in ticks]
    assert values == [200, 500, 1000, 2000, 3000, 5000, 7000, 10000]
    # Evenly spread on screen: no gap more than 3 times the smallest.
    gaps = np.diff([y for y, _ in ticks])
    assert gaps.max() <= 3 * gaps.min()


def test_ticks_of_an_empty_or_bad_range_are_empty() -> None:
    mapping = FrequencyMapping.from_params(SpectrogramParams(sr=22050))
    assert mapping.ticks(5.0, 5.0) == []
    assert mapping.ticks(float("nan"), 5.0) == []
    assert mapping.ticks(0.0, 10.0, max_ticks=0) == []
    # Only negative frequencies visible: no tick at all.
    assert mapping.ticks(-10.0, 0.2) == []


@pytest.mark.parametrize("index", range(0, len(MAPPINGS), 3))
def test_tick_levels_major_then_minor(index: int) -> None:
    mapping = MAPPINGS[index]
    y_lo, y_hi = 0.0, float(mapping.n_rows)
    major, minor = mapping.tick_levels(y_lo, y_hi, 6)
    assert major == mapping.ticks(y_lo, y_hi, 6)
    check_ticks(mapping, minor, y_lo, y_hi)
    assert len(minor) >= len(major) - 1
    assert {label for _, label in major}.isdisjoint(label for _, label in minor)


# ---------------------------------------------------------------------------
# Frequency and duration text
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hz", "text"),
    [
        (0.0, "0"),
        (440.0, "440"),
        (999.0, "999"),
        (1000.0, "1k"),
        (1500.0, "1.5k"),
        (12000.0, "12k"),
        (22050.0, "22.05k"),
        (0.5, "0.5"),
        (261.6256, "261.626"),
        (-500.0, MINUS + "500"),
    ],
)
def test_format_hz(hz: float, text: str) -> None:
    assert format_hz(hz) == text


def test_format_hz_decimals() -> None:
    assert format_hz(1234.0, decimals=0) == "1.234k"
    assert format_hz(1234.5, decimals=1) == "1.2345k"
    assert format_hz(999.96, decimals=1) == "1k"  # rounding carries into the kHz unit
    assert format_hz(440.123, decimals=0) == "440"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2048 / 44100, "46.4 ms"), (256 / 48000, "5.33 ms"), (0.1, "100 ms"), (1.49, "1.49 s"), (0.0005, "0.5 ms")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


# ---------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "span", "text"),
    [
        (0.0, 60.0, "0:00"),
        (0.0, 300.0, "0:00"),
        (30.0, 120.0, "0:30"),
        (75.5, 5.0, "1:15.5"),
        (62.5, 5.0, "1:02.5"),
        (3725.0, None, "1:02:05"),
        (3725.0, 600.0, "1:02:05"),
        (12.5, None, "12.5"),
        (12.5, 20.0, "12"),  # half-even rounding at 0 decimals
        (12.25, 0.5, "12.25"),
        (0.0, None, "0"),
        (59.96, 5.0, "1:00.0"),  # rounding carries into the minutes
        (-3.25, None, MINUS + "3.25"),
    ],
)
def test_format_time(seconds: float, span: float | None, text: str) -> None:
    assert format_time(seconds, span=span) == text


def test_format_time_hours_and_forced_styles() -> None:
    assert format_time(3599.9996) == "1:00:00"
    assert format_time(36000.0) == "10:00:00"
    assert format_time(5.0, clock=True, decimals=0) == "0:05"
    assert format_time(75.0, clock=False, decimals=1) == "75.0"


SECOND_STEPS = [c * 10.0**e for e in range(-4, 12) for c in (1, 2, 5)]
CLOCK_STEPS = [c * 10.0**e for e in range(-4, 0) for c in (1, 2, 5)]
CLOCK_STEPS += [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800]
CLOCK_STEPS += [3600.0 * h for h in (1, 2, 3, 6, 12)] + [86400.0 * c * 10**e for e in range(6) for c in (1, 2, 5)]


@settings(max_examples=300, deadline=None)
@given(
    t_min=st.floats(-100.0, 20000.0),
    length=st.one_of(st.floats(0.001, 100.0), st.floats(100.0, 1e7)),
    max_ticks=st.integers(5, 15),
)
def test_time_ticks_are_nice_and_inside(t_min: float, length: float, max_ticks: int) -> None:
    t_max = t_min + length
    ticks = time_ticks(t_min, t_max, max_ticks)
    assert 2 <= len(ticks) <= max_ticks
    ts = [t for t, _ in ticks]
    assert all(t_min <= t <= t_max for t in ts)
    steps = np.diff(ts)
    np.testing.assert_allclose(steps, steps[0], rtol=0, atol=1e-12 * max(1.0, abs(t_min), abs(t_max)))
    clock = any(":" in label for _, label in ticks)
    assert all((":" in label) == clock for _, label in ticks), "one style per axis"
    assert clock == (length >= 60.0 or max(abs(t_min), abs(t_max)) >= 60.0)
    allowed = CLOCK_STEPS if clock else SECOND_STEPS
    matching = [s for s in allowed if math.isclose(steps[0], s, rel_tol=1e-6)]
    assert matching, steps[0]
    step = matching[0]
    assert all(math.isclose(t / step, round(t / step), abs_tol=1e-6) for t in ts), "ticks on the step grid"
    # The smallest allowed step that fits: the next finer one would give too many ticks.
    finer = [s for s in allowed if s < step * (1 - 1e-6)]
    if finer:
        s = max(finer)
        assert math.floor(t_max / s + 1e-9) - math.ceil(t_min / s - 1e-9) + 1 > max_ticks
    for t, label in ticks:
        assert parse_time(label) == pytest.approx(t, abs=1e-9), label


def test_time_ticks_examples() -> None:
    assert [label for _, label in time_ticks(0.0, 300.0, 10)] == ["0:00", "1:00", "2:00", "3:00", "4:00", "5:00"]
    assert [label for _, label in time_ticks(0.0, 7.3, 10)] == [str(i) for i in range(8)]
    assert [label for _, label in time_ticks(100.0, 102.0, 5)] == ["1:40.0", "1:40.5", "1:41.0", "1:41.5", "1:42.0"]
    assert [t for t, _ in time_ticks(0.0, 3725.0, 10)][1] == 600.0  # 10-minute steps
    assert time_ticks(3.0, 3.0) == []


# ---------------------------------------------------------------------------
# Notes and readout
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hz", "name"),
    [(440.0, "A4"), (261.6256, "C4"), (82.4069, "E2"), (27.5, "A0"), (4186.01, "C8"), (466.16, "A#4"), (20.6, "E0")],
)
def test_note_names_of_known_pitches(hz: float, name: str) -> None:
    assert note_name(hz) == (name, 0)


def test_cents_sign_and_size() -> None:
    assert note_name(450.0) == ("A4", 39)
    assert note_name(430.0) == ("A4", -40)
    assert note_name(440.0 * 2 ** (10 / 1200)) == ("A4", 10)
    assert note_name(440.0, a4=442.0) == ("A4", -8)
    assert note_name(442.0, a4=442.0) == ("A4", 0)


@pytest.mark.parametrize("hz", [19.99, 0.0, -440.0, float("nan"), float("inf")])
def test_no_note_below_hearing(hz: float) -> None:
    assert note_name(hz) is None


@given(st.floats(20.0, 30000.0))
def test_cents_stay_within_half_a_semitone(hz: float) -> None:
    result = note_name(hz)
    assert result is not None
    name, cents = result
    assert -50 <= cents <= 50
    match = re.fullmatch(r"([A-G]#?)(-?\d+)", name)
    assert match is not None
    pitch = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"].index(match.group(1))
    midi = 12 * (int(match.group(2)) + 1) + pitch
    note_hz = 440.0 * 2 ** ((midi - 69) / 12)
    assert 1200 * math.log2(hz / note_hz) == pytest.approx(cents, abs=0.5 + 1e-9)


def test_format_readout() -> None:
    assert format_readout(62.345, 1000.0, -23.4) == f"t = 1:02.345  f = 1000.0 Hz (B5 +21 ct)  level = {MINUS}23.4 dBFS"
    assert (
        format_readout(5.0, 12345.6, float("-inf"))
        == f"t = 5.000 s  f = 12.346 kHz (G9 {MINUS}28 ct)  level = {MINUS}∞ dBFS"
    )
    assert format_readout(0.5, 440.0, 0.0) == "t = 0.500 s  f = 440.0 Hz (A4 ±0 ct)  level = 0.0 dBFS"
    # Below 20 Hz there is no note; without a level the field is left out.
    assert format_readout(3725.0, 10.0, None) == "t = 1:02:05.000  f = 10.0 Hz"
    assert format_readout(1.0, 9999.96, -1.25).split("  ")[1].startswith("f = 10.000 kHz")


@pytest.mark.parametrize(
    ("t0", "t1", "label"),
    [
        (0.0, 0.01, "time (s)"),  # 10 ms: seconds, never "x0.001"
        (0.0, 1.5, "time (s)"),
        (12.0, 59.9, "time (s)"),
        (0.0, 60.0, "time (m:ss)"),
        (100.0, 101.0, "time (m:ss)"),
        (0.0, 7200.0, "time (h:mm:ss)"),
    ],
)
def test_the_time_axis_title_names_the_unit_of_its_ticks(t0: float, t1: float, label: str) -> None:
    assert time_axis_label(t0, t1) == label
    ticks = time_ticks(t0, t1, max_ticks=8)
    clock = any(":" in text for _, text in ticks)
    assert clock == (label != "time (s)")


def test_digital_silence_reads_minus_infinity_not_a_number() -> None:
    assert format_readout(1.0, 1000.0, -300.0).endswith("level = −∞ dBFS")
    assert format_readout(1.0, 1000.0, -120.0).endswith("level = −120.0 dBFS")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5-3", (1.5, 3.0)),
        ("1:00 - 1:30", (60.0, 90.0)),
        ("4.5 to 2", (2.0, 4.5)),
        ("0:01:02-0:01:03.5 s", (62.0, 63.5)),
    ],
)
def test_a_typed_time_range_is_read_as_the_axis_writes_times(text: str, expected: tuple[float, float]) -> None:
    from spectroview.session.axes import parse_time_range

    assert parse_time_range(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "3", "1-1", "a-b", "1:75-2", "inf-3", "1:2:3:4-5"])
def test_a_typed_time_range_that_is_not_one_is_refused_naming_it(text: str) -> None:
    from spectroview.dsp import ParameterError
    from spectroview.session.axes import parse_time_range

    with pytest.raises(ParameterError, match=r"not a time|start and an end|same time"):
        parse_time_range(text)


@pytest.mark.parametrize(
    "t_min, t_max",
    [(0, 5), (0, 59), (0, 61), (30, 90), (0, 3500), (0, 3600), (0, 3 * 3600), (3590, 3610), (-10, 0), (7200, 7260)],
)
def test_every_tick_is_written_in_the_unit_the_title_names(t_min: float, t_max: float) -> None:
    title = time_axis_label(t_min, t_max)
    colons = {"time (s)": 0, "time (m:ss)": 1, "time (h:mm:ss)": 2}[title]
    ticks = time_ticks(t_min, t_max, max_ticks=8)
    assert len(ticks) >= 2
    assert all(label.count(":") == colons for _, label in ticks), (title, ticks)
