"""The live spectrogram engine without audio hardware: a ring buffer written by the test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spectroview.audio.ringbuffer import RingBuffer
from spectroview.dsp import ParameterError, SpectrogramParams, spectrogram
from spectroview.session.live import LiveSpectrogram, meter
from spectroview.session.view import full_scale_reference, levels_dbfs

SR = 16000
PARAMS = SpectrogramParams(n_fft=512, hop_length=128)


def tone(freq: float, seconds: float, amplitude: float = 0.5, start: int = 0) -> np.ndarray:
    n = np.arange(start, start + int(SR * seconds))
    return (amplitude * np.sin(2 * np.pi * freq * n / SR)).astype(np.float32)


def test_columns_equal_the_offline_spectrogram_for_any_update_rhythm() -> None:
    ring = RingBuffer(SR * 20)
    live = LiveSpectrogram(ring, SR, PARAMS, history_seconds=10.0)
    y = tone(1000.0, 3.0) + 0.01 * np.random.default_rng(0).standard_normal(SR * 3).astype(np.float32)
    rng = np.random.default_rng(1)
    pos = 0
    while pos < y.size:
        n = int(rng.integers(1, 3000))
        ring.write(y[pos : pos + n])
        pos += n
        if rng.random() < 0.5:
            live.update()
    live.update()
    view = live.view()
    params = PARAMS.with_sr(SR)
    offline = spectrogram(y, params)[:, : live.columns_done]
    expected = levels_dbfs(offline, full_scale_reference(params), 2.0)
    got = view.levels[:, view.levels.shape[1] - live.columns_done :]
    np.testing.assert_allclose(got, expected, atol=1e-3)
    assert view.filled == live.columns_done
    assert view.x1 == pytest.approx((live.columns_done - 0.5) * 128 / SR)


def test_the_view_is_a_contiguous_slice_of_the_ring_not_a_copy() -> None:
    ring = RingBuffer(SR * 20)
    live = LiveSpectrogram(ring, SR, PARAMS, history_seconds=2.0)
    for second in range(5):  # wraps the 2 s picture twice
        ring.write(tone(500.0 + 500 * second, 1.0, start=second * SR))
        live.update()
    view = live.view()
    assert np.shares_memory(view.levels, live._image)
    assert view.levels.shape == (257, live.n_cols)
    # Oldest to newest: the last second is 2.5 kHz, the one before 2 kHz.
    rows = np.argmax(view.levels, axis=0)
    bin_hz = SR / 512
    assert abs(rows[-10] * bin_hz - 2500) <= bin_hz
    assert abs(rows[5] * bin_hz - 2000) <= bin_hz


def test_new_parameters_recompute_the_history_from_the_ring() -> None:
    ring = RingBuffer(SR * 20)
    live = LiveSpectrogram(ring, SR, PARAMS, history_seconds=4.0)
    ring.write(tone(1000.0, 3.0))
    live.update()
    before = live.latest_time()
    live.set_params(SpectrogramParams(n_fft=2048, hop_length=256))
    view = live.view()
    assert view.levels.shape[0] == 1025
    assert view.filled >= int(2.9 * SR / 256)  # the picture is full again at once
    bin_hz = SR / 2048
    rows = np.argmax(view.levels[:, -view.filled + 10 :], axis=0)
    assert np.all(np.abs(rows * bin_hz - 1000) <= bin_hz)
    assert live.latest_time() == pytest.approx(before, abs=2048 / SR)  # same stream clock


def test_a_reader_that_falls_behind_skips_and_counts() -> None:
    ring = RingBuffer(SR)  # one second
    live = LiveSpectrogram(ring, SR, PARAMS, history_seconds=2.0)
    ring.write(tone(1000.0, 3.0))  # three seconds without an update
    live.update()
    # Two seconds were overwritten; it goes on a quarter ring later (a margin
    # against being lapped again), on the frame grid.
    assert 2 * SR + SR // 4 <= live.skipped <= 2 * SR + SR // 4 + 128
    assert live.columns_done > 0 and np.argmax(live.view().levels[:, -1]) == round(1000 / (SR / 512))


def test_history_length_is_validated() -> None:
    with pytest.raises(ParameterError, match=r"history_seconds=1.0: must be in \[2, 60\] s"):
        LiveSpectrogram(RingBuffer(100), SR, PARAMS, history_seconds=1.0)


def test_meter_reads_a_full_scale_sine_as_zero_dbfs() -> None:
    m = meter(tone(1000.0, 1.0, amplitude=1.0))
    assert m.peak_db == pytest.approx(0.0, abs=0.01) and m.rms_db == pytest.approx(0.0, abs=0.01)
    quiet = meter(tone(1000.0, 1.0, amplitude=0.1))
    assert quiet.peak_db == pytest.approx(-20.0, abs=0.01)
    assert meter(np.zeros(10, np.float32)).peak_db == -math.inf


def test_display_indices_follow_the_levels_and_a_copied_view_is_frozen() -> None:
    ring = RingBuffer(SR * 20)
    live = LiveSpectrogram(ring, SR, PARAMS, history_seconds=2.0)
    live.set_display(-60.0, 0.0, rows=64)
    ring.write(tone(1000.0, 1.0, amplitude=1.0))
    live.update()
    view = live.view()
    assert view.indices is not None and view.indices.shape == (64, live.n_cols) and view.indices.dtype == np.uint8
    # The pooled row holding 1 kHz is near the top colour; silence is index 0.
    row = (round(1000 / (SR / 512)) * 64) // 257
    assert view.indices[row, -5] >= 250 and view.indices[:, 0].max() == 0
    frozen = live.view(copy=True)
    ring.write(np.zeros(SR, np.float32))
    live.update()
    assert frozen.indices[row, -5] >= 250  # the snapshot did not change
    assert live.view().indices[row, -5] == 0  # the live picture moved on
    with pytest.raises(ParameterError, match=r"floor_db=0\.0: must be below ceiling_db=0\.0"):
        live.set_display(0.0, 0.0)


def test_a_hop_too_small_for_the_history_is_refused_and_changes_nothing() -> None:
    ring = RingBuffer(SR * 70)
    live = LiveSpectrogram(ring, SR, PARAMS, history_seconds=60.0)
    ring.write(tone(1000.0, 1.0))
    live.update()
    before = (live.params, live.n_cols, live.columns_done)
    with pytest.raises(ParameterError, match=r"hop_length=1: .* too much for live mode; use hop_length >= \d+"):
        live.set_params(SpectrogramParams(n_fft=8192, hop_length=1))
    assert (live.params, live.n_cols, live.columns_done) == before
    ring.write(tone(1000.0, 0.5, start=SR))
    assert live.update() > 0  # still working


def test_each_update_converts_only_its_new_columns_and_the_view_names_its_ring() -> None:
    ring = RingBuffer(SR * 20)
    live = LiveSpectrogram(ring, SR, PARAMS, history_seconds=2.0)
    live.set_display(-60.0, 0.0, rows=64)
    assert live.columns_indexed == 0
    total = 0
    for i, n in enumerate((700, 128, 5000, 1, 3333, 40000)):
        ring.write(tone(500.0 + 300 * i, n / SR))
        new = live.update()
        total += min(new, live.n_cols)  # (more than the picture holds: only the newest are kept)
        assert live.columns_indexed == total  # no whole-picture conversion per update
        view = live.view()
        assert view.columns_done == live.columns_done
        assert view.ring is not None and view.ring.shape == (64, 2 * live.n_cols)
        np.testing.assert_array_equal(view.indices, view.ring[:, view.ring_start : view.ring_start + live.n_cols])
        # Column c of the stream is at c % n and n + c % n of the ring.
        newest = (live.columns_done - 1) % live.n_cols
        np.testing.assert_array_equal(view.ring[:, newest], view.indices[:, -1])
        np.testing.assert_array_equal(view.ring[:, live.n_cols + newest], view.indices[:, -1])
