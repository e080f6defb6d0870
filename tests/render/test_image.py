"""Level-of-detail pooling and the headless spectrogram image."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spectroview.render.image as image_module
from spectroview.dsp import ParameterError, SpectrogramParams, row_frequencies, spectrogram
from spectroview.dsp.pooling import ColumnPooler, pixel_bounds, pool_rows
from spectroview.render.colormaps import colormap_lut
from spectroview.render.image import IMAGE_BYTES_PER_PIXEL, ImageOptions, colorize, image_memory, spectrogram_image


@given(n_items=st.integers(1, 5000), n_pixels=st.integers(1, 500))
def test_pixel_bounds_partition_every_item_once(n_items: int, n_pixels: int) -> None:
    if n_items < n_pixels:
        with pytest.raises(ParameterError):
            pixel_bounds(n_items, n_pixels)
        return
    b = pixel_bounds(n_items, n_pixels)
    sizes = np.diff(b)
    assert b[0] == 0 and b[-1] == n_items
    assert sizes.min() >= 1 and sizes.max() - sizes.min() <= 1


@settings(max_examples=60, deadline=None)
@given(
    n_frames=st.integers(1, 400),
    width=st.integers(1, 120),
    cuts=st.lists(st.integers(0, 400), max_size=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_column_pooler_equals_max_over_covered_frames_for_any_chunking(
    n_frames: int, width: int, cuts: list[int], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    frames = np.asfortranarray(rng.random((5, n_frames), dtype=np.float32))
    pooler = ColumnPooler(5, n_frames, width)
    edges = sorted({0, n_frames, *[c for c in cuts if c <= n_frames]})
    for a, b in itertools.pairwise(edges):
        pooler.push(frames[:, a:b])
    got = pooler.result()
    assert got.shape == (5, width)
    if n_frames >= width:
        b = pixel_bounds(n_frames, width)
        expected = np.stack([frames[:, b[c] : b[c + 1]].max(axis=1) for c in range(width)], axis=1)
    else:
        expected = frames[:, (np.arange(width) * n_frames) // width]
    np.testing.assert_array_equal(got, expected)


def test_column_pooler_keeps_a_single_frame_event() -> None:
    n_frames, width = 100_000, 300
    pooler = ColumnPooler(3, n_frames, width)
    spike_at = 54_321
    for a in range(0, n_frames, 7_777):
        chunk = np.zeros((3, min(7_777, n_frames - a)), dtype=np.float32, order="F")
        if a <= spike_at < a + chunk.shape[1]:
            chunk[1, spike_at - a] = 1.0
        pooler.push(chunk)
    image = pooler.result()
    col = int(np.searchsorted(pixel_bounds(n_frames, width), spike_at, side="right")) - 1
    assert image[1, col] == 1.0
    assert np.count_nonzero(image) == 1


def test_column_pooler_refuses_more_frames_than_announced() -> None:
    pooler = ColumnPooler(2, 4, 2)
    pooler.push(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(ParameterError, match="more than n_frames=4"):
        pooler.push(np.zeros((2, 1), dtype=np.float32))


def test_pool_rows_max_pools_down_and_repeats_up() -> None:
    m = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.testing.assert_array_equal(pool_rows(m, 3), [[2, 3], [6, 7], [10, 11]])
    np.testing.assert_array_equal(pool_rows(m[:2], 4), [[0, 1], [0, 1], [2, 3], [2, 3]])


def _tone(freq: float, sr: int, seconds: float) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("scale", ["linear", "log", "mel"])
def test_image_brightest_row_is_the_tone_on_every_scale(scale: str) -> None:
    sr, freq, height = 22050, 1000.0, 200
    y = _tone(freq, sr, 2.0)
    params = SpectrogramParams(sr=sr, n_fft=2048, scale=scale, n_mels=128)  # type: ignore[arg-type]
    blocks = [y[i : i + 5000] for i in range(0, y.size, 5000)]
    image = spectrogram_image(blocks, n_samples=y.size, params=params, width=50, height=height)
    assert image.shape == (height, 50)
    pixel_from_top = int(np.argmax(image[:, 25]))
    # Expected: the row whose band holds 1 kHz, mapped linearly to pixels.
    _, edges = row_frequencies(params)
    row = int(np.searchsorted(edges, freq, side="right")) - 1
    n_rows = edges.size - 1
    if n_rows >= height:
        expected = int(np.searchsorted(pixel_bounds(n_rows, height), row, side="right")) - 1
        tolerance = 1
    else:
        expected = (row * height) // n_rows
        tolerance = height // n_rows + 1
    assert abs((height - 1 - pixel_from_top) - expected) <= tolerance


def test_image_equals_pooled_offline_spectrogram() -> None:
    rng = np.random.default_rng(5)
    y = rng.standard_normal(30_000).astype(np.float32)
    params = SpectrogramParams(sr=16000, n_fft=256, hop_length=64)
    image = spectrogram_image([y[:12345], y[12345:]], n_samples=y.size, params=params, width=40, height=129)
    full = spectrogram(y, params)
    b = pixel_bounds(full.shape[1], 40)
    expected = np.stack([full[:, b[c] : b[c + 1]].max(axis=1) for c in range(40)], axis=1)[::-1]
    np.testing.assert_allclose(image, expected, rtol=1e-6)


def test_image_rejects_a_block_count_mismatch() -> None:
    params = SpectrogramParams(sr=8000, n_fft=64)
    with pytest.raises(ParameterError, match="n_samples does not match"):
        spectrogram_image([np.zeros(1000, np.float32)], n_samples=2000, params=params, width=10, height=10)


def test_colorize_maps_loudest_to_top_colour_and_silence_to_bottom() -> None:
    lut = colormap_lut("viridis")
    power = np.array([[1.0, 1e-3], [1e-12, 0.0]], dtype=np.float32)
    rgb = colorize(power, ImageOptions(colormap="viridis", db_range=60.0))
    assert tuple(rgb[0, 0]) == tuple(lut[-1])
    assert tuple(rgb[1, 0]) == tuple(lut[0]) and tuple(rgb[1, 1]) == tuple(lut[0])
    # -30 dB of a 60 dB range: the middle of the table.
    assert abs(int(np.argmin(np.abs(lut.astype(int) - rgb[0, 1].astype(int)).sum(axis=1))) - 128) <= 2
    silent = colorize(np.zeros((3, 3), np.float32), ImageOptions(colormap="viridis"))
    assert (silent == lut[0]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0}, r"width=0: must be an integer in \[1, 32768\]"),
        ({"height": 40000}, r"height=40000"),
        ({"colormap": "jet"}, r"colormap='jet': unknown"),
        ({"db_range": 0.0}, r"db_range=0.0: must be a number of dB > 0"),
    ],
)
def test_image_options_validate(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        ImageOptions(**kwargs)  # type: ignore[arg-type]


def test_pooling_rows_first_gives_the_same_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Max pooling is separable: the low-memory order (rows, then columns) changes no pixel."""
    sr = 8000
    y = np.random.default_rng(3).standard_normal(sr).astype(np.float32)
    params = SpectrogramParams(sr=sr, n_fft=1024, hop_length=7)
    blocks = [y[i : i + 1000] for i in range(0, sr, 1000)]
    plain = spectrogram_image(blocks, n_samples=sr, params=params, width=300, height=100)
    monkeypatch.setattr(image_module, "_ROW_ACCUMULATOR_MAX", 0)
    assert image_module._rows_first(513, 1143, 300, 100)
    rows_first = spectrogram_image(blocks, n_samples=sr, params=params, width=300, height=100)
    np.testing.assert_array_equal(rows_first, plain)


def test_the_memory_estimate_grows_with_the_image_not_the_hop() -> None:
    params = SpectrogramParams(sr=44100, n_fft=65536, hop_length=1)
    small = image_memory(params, 88200, 1200, 600)
    assert small < 500e6  # bounded steps: a hop of one sample does not hold every frame
    big = image_memory(params, 88200, 32768, 32768)
    assert big > IMAGE_BYTES_PER_PIXEL * 32768**2
