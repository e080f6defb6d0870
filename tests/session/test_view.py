"""View computation without Qt: levels in dBFS, direct vs overview, level of detail, preview."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from spectroview.audio.files import FileSource
from spectroview.dsp import WINDOWS, SpectrogramParams, fft_frequencies, row_frequencies, spectrogram
from spectroview.session.view import Overview, compute_direct, compute_view, full_scale_reference, levels_dbfs

SR = 8000


def wav(path: Path, y: np.ndarray) -> FileSource:
    soundfile.write(path, y.astype(np.float32), SR, subtype="FLOAT")
    return FileSource(path)


def sine(freq: float, seconds: float, amplitude: float = 1.0) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(SR * seconds)) / SR)


@pytest.mark.parametrize("scale", ["linear", "mel", "log"])
def test_a_full_scale_sine_reads_zero_dbfs_at_its_row(tmp_path: Path, scale: str) -> None:
    params = SpectrogramParams(sr=SR, n_fft=512, hop_length=128, scale=scale, n_mels=40)  # type: ignore[arg-type]
    centres, _ = row_frequencies(params)
    # A frequency on a row centre that is also a bin centre, so its peak is reachable.
    bins = fft_frequencies(sr=SR, n_fft=512)
    row = len(centres) // 2
    freq = float(bins[np.argmin(np.abs(bins - centres[row]))])
    with wav(tmp_path / "s.wav", sine(freq, 1.0)) as source:
        image = compute_direct(source, params, 0.3, 0.7, 100)
    peak = float(image.levels[:, image.levels.shape[1] // 2].max())
    assert peak == pytest.approx(0.0, abs=1.0 if scale != "linear" else 0.05)


def test_levels_of_silence_are_far_below_any_scale() -> None:
    ref = np.ones(3)
    out = levels_dbfs(np.zeros((3, 2), np.float32), ref, 2.0)
    assert (out <= -300).all() and out.dtype == np.float32
    assert full_scale_reference(SpectrogramParams(sr=SR, n_fft=64)).shape == (33,)


def test_overview_of_the_whole_file_equals_the_direct_computation(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    params = SpectrogramParams(sr=SR, n_fft=256, hop_length=64)
    with wav(tmp_path / "n.wav", 0.1 * rng.standard_normal(SR * 3)) as source:
        overview = Overview(source.info.frames, params)
        assert overview.build(source)
        assert overview.complete and overview.frames_per_column == 1.0
        duration = source.info.duration
        a = overview.view(0.0, duration, 120)
        b = compute_direct(source, params, 0.0, duration, 120)
    assert a.levels.shape == b.levels.shape == (129, 120)
    np.testing.assert_allclose(a.levels, b.levels, atol=1e-4)
    assert a.x0 == pytest.approx(b.x0) and a.x1 == pytest.approx(b.x1)


def test_a_one_sample_click_survives_a_long_overview(tmp_path: Path) -> None:
    y = np.zeros(SR * 600, np.float32)  # 10 minutes
    y[SR * 377 + 5] = 0.9
    params = SpectrogramParams(sr=SR, n_fft=256, hop_length=64)
    with wav(tmp_path / "c.wav", y) as source:
        overview = Overview(source.info.frames, params)
        overview.build(source)
        assert overview.frames_per_column > 1  # it really pools
        image = overview.view(0.0, 600.0, 300)
    loud = image.levels.max(axis=0)
    col = int(np.argmax(loud))
    t = image.x0 + (col + 0.5) * (image.x1 - image.x0) / image.levels.shape[1]
    assert abs(t - 377.0) < 2 * (image.x1 - image.x0) / image.levels.shape[1]
    assert np.count_nonzero(loud > -150) <= 2


def test_preview_shows_the_whole_file_before_the_exact_pass(tmp_path: Path) -> None:
    params = SpectrogramParams(sr=SR, n_fft=256, hop_length=64)
    with wav(tmp_path / "t.wav", sine(1000.0, 300.0, 0.5)) as source:
        overview = Overview(source.info.frames, params)
        empty = overview.view(0.0, 300.0, 200)
        assert not empty.complete and empty.levels.max() < -200
        overview.build_preview(source, columns=64)
        preview = overview.view(0.0, 300.0, 200)
        assert not preview.complete
        rows = np.argmax(preview.levels, axis=0)
        assert (rows == round(1000 / (SR / 256))).all()  # the tone everywhere, at its bin
        cancelled_after = [0]

        def cancel() -> bool:
            cancelled_after[0] += 1
            return cancelled_after[0] > 2

        assert not overview.build(source, cancelled=cancel, blocksize=1 << 16)
        partial = overview.view(0.0, 300.0, 200)
        assert not partial.complete and 0 < overview.fraction_done < 1
        assert (np.argmax(partial.levels, axis=0) == rows).all()


def test_compute_view_is_direct_zoomed_in_and_overview_zoomed_out(tmp_path: Path) -> None:
    params = SpectrogramParams(sr=SR, n_fft=256, hop_length=64)
    with wav(tmp_path / "t.wav", sine(440.0, 200.0, 0.5)) as source:
        overview = Overview(source.info.frames, params)
        overview.build(source)
        near = compute_view(source, params, 10.0, 11.0, 800, overview=overview)
        far = compute_view(source, params, 0.0, 200.0, 800, overview=overview)
        other = compute_view(
            source, SpectrogramParams(sr=SR, n_fft=512, hop_length=128), 0.0, 200.0, 800, overview=overview
        )
    assert near.origin == "direct" and near.levels.shape[1] <= 800
    assert far.origin == "overview" and far.levels.shape[1] == 800
    assert other.origin == "direct"  # an overview of other parameters is never used


def test_waveform_envelope_holds_the_extremes(tmp_path: Path) -> None:
    y = np.zeros(SR * 20, np.float32)
    y[SR * 3] = 0.7
    y[SR * 15] = -0.6
    params = SpectrogramParams(sr=SR, n_fft=256, hop_length=64)
    with wav(tmp_path / "w.wav", y) as source:
        overview = Overview(source.info.frames, params)
        overview.build(source)
        far = overview.view(0.0, 20.0, 100)
        near = compute_direct(source, params, 2.5, 3.5, 100)
    assert far.wave_max.max() == pytest.approx(0.7) and far.wave_min.min() == pytest.approx(-0.6)
    assert near.wave_max.max() == pytest.approx(0.7) and near.wave_min.min() == pytest.approx(0.0)


def test_reassigned_view_is_sharper_and_reads_the_same_level(tmp_path: Path) -> None:
    params = SpectrogramParams(sr=SR, n_fft=512, hop_length=128)
    freq = 1000.3 * SR / 22050  # between bins
    with wav(tmp_path / "r.wav", sine(freq, 2.0, 0.5)) as source:
        plain = compute_direct(source, params, 0.5, 1.5, 100)
        sharp = compute_view(source, params, 0.5, 1.5, 100, reassigned=True)
    assert sharp.origin == "reassigned" and sharp.levels.shape == plain.levels.shape
    col_plain, col_sharp = plain.levels[:, 30], sharp.levels[:, 30]
    assert (col_sharp > col_sharp.max() - 10).sum() < (col_plain > col_plain.max() - 10).sum()
    assert col_sharp.max() == pytest.approx(-6.02, abs=0.3)  # a 0.5 sine is -6 dBFS, all its energy in one row


@pytest.mark.parametrize("window", WINDOWS)
def test_full_scale_dc_sine_and_nyquist_cosine_read_0_dbfs_on_every_window(window: str) -> None:
    # 0 dBFS per bin: a full-scale sine in its bin, a full-scale DC in bin 0, a full-scale
    # cosine at Nyquist in the last bin; so a DC of 0.25 reads -12.04 and a 0.05 Nyquist cosine -26.02.
    sr, n_fft = 16000, 1024
    params = SpectrogramParams(n_fft=n_fft, hop_length=256, window=window).with_sr(sr)
    reference = full_scale_reference(params)
    n = np.arange(sr)

    def level(y: np.ndarray, row: int) -> float:
        return float(levels_dbfs(spectrogram(y.astype(np.float32), params), reference, params.power)[row, 20])

    assert level(np.full(sr, 0.25), 0) == pytest.approx(20 * np.log10(0.25), abs=0.01)
    assert level(0.05 * (-1.0) ** n, n_fft // 2) == pytest.approx(20 * np.log10(0.05), abs=0.01)
    k = 100  # a sine on bin k
    assert level(0.5 * np.sin(2 * np.pi * k * n / n_fft), k) == pytest.approx(20 * np.log10(0.5), abs=0.01)
    assert level(np.full(sr, 1.0), 0) == pytest.approx(0.0, abs=0.01)
