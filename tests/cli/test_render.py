"""``spectroview render``: what the image shows (frequency rows, click columns, colours, channels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from spectroview.dsp import SpectrogramParams, row_frequencies
from spectroview.render.colormaps import colormap_lut
from spectroview.render.png import read_png
from tests.cli.helpers import (
    assert_clean_error,
    brightest_row,
    grey_levels,
    pixel_of_row,
    render,
    render_image,
    tone,
)


@pytest.fixture(scope="module")
def tone_files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """1 kHz tones, 1 s, PCM_16, at a few sample rates."""
    d = tmp_path_factory.mktemp("tones")
    files = {}
    for sr in (8000, 16000, 22050):
        files[sr] = d / f"tone_{sr}.wav"
        soundfile.write(files[sr], tone(1000.0, sr, 1.0), sr, subtype="PCM_16")
    return files


# -- image size ----------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(1, 1), (37, 23), (300, 7), (500, 300)])
def test_image_has_the_requested_size(tmp_path: Path, width: int, height: int) -> None:
    # 0.25 s at 8 kHz, hop 512: 4 frames, so widths above 4 repeat frames, 1 pools them all.
    src = tmp_path / "short.wav"
    soundfile.write(src, tone(440.0, 8000, 0.25), 8000, subtype="PCM_16")
    out = tmp_path / "out" / "out.png"
    out.parent.mkdir()
    rgb = render_image(src, out, "--width", width, "--height", height, "--n-fft", 1024, "--hop", 512)
    assert rgb.shape == (height, width, 3)
    assert rgb.dtype == np.uint8
    assert [p.name for p in out.parent.iterdir()] == ["out.png"]  # no temporary file left


def test_one_sample_file_renders(tmp_path: Path) -> None:
    src = tmp_path / "one.wav"
    soundfile.write(src, np.array([0.5]), 8000, subtype="PCM_16")
    rgb = render_image(src, tmp_path / "out.png", "--width", 30, "--height", 20, warnings=1)
    assert rgb.shape == (20, 30, 3)
    # The window (2048 samples) is longer than the file: said, as the viewer says it.
    proc = render(src, tmp_path / "again.png", "--width", 30, "--height", 20)
    assert "window 2048 samples (0.256 s) is longer than the file (1 samples" in proc.stderr


def test_default_file_is_the_bundled_demo(tmp_path: Path) -> None:
    out = tmp_path / "demo.png"
    rgb = render_image(None, out, "--width", 120, "--height", 40, "--n-fft", 512)
    assert rgb.shape == (40, 120, 3)
    # The demo is speech, tones, clicks...: not a blank image.
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 10


# -- frequency axis ------------------------------------------------------------


@pytest.mark.parametrize(("sr", "n_fft", "height"), [(8000, 256, 64), (8000, 256, 200), (22050, 1024, 100)])
def test_linear_scale_tone_row(tone_files: dict[int, Path], tmp_path: Path, sr: int, n_fft: int, height: int) -> None:
    out = tmp_path / "out.png"
    options = ("--scale", "linear", "--n-fft", n_fft, "--width", 40, "--height", height, "--colormap", "grey")
    levels = grey_levels(render_image(tone_files[sr], out, *options))
    n_rows = 1 + n_fft // 2
    tone_bin = round(1000.0 * n_fft / sr)
    expected = pixel_of_row(tone_bin, n_rows, height)
    assert abs(brightest_row(levels) - expected) <= 1
    # The tone is a line, not a wash: rows far from it are much darker.
    row_means = levels.mean(axis=1)
    far = np.abs(np.arange(height) - expected) > max(3, height // 10)
    assert row_means[far].max() < row_means.max() - 50


@pytest.mark.parametrize(
    ("scale", "n_fft", "n_mels", "height"),
    [
        ("mel", 1024, 64, 64),
        ("mel", 1024, 64, 48),
        ("mel", 1024, 40, 100),
        ("log", 2048, 128, 100),
        ("log", 2048, 128, 400),
    ],
)
def test_mel_and_log_scale_tone_row(
    tone_files: dict[int, Path], tmp_path: Path, scale: str, n_fft: int, n_mels: int, height: int
) -> None:
    sr = 16000
    out = tmp_path / "out.png"
    options = ("--scale", scale, "--n-fft", n_fft, "--n-mels", n_mels, "--width", 40, "--height", height)
    levels = grey_levels(render_image(tone_files[sr], out, *options, "--colormap", "grey"))
    params = SpectrogramParams(sr=sr, n_fft=n_fft, scale=scale, n_mels=n_mels)  # type: ignore[arg-type]
    centres, _ = row_frequencies(params)
    tone_row = int(np.argmin(np.abs(centres - 1000.0)))
    expected = pixel_of_row(tone_row, centres.size, height)
    assert abs(brightest_row(levels) - expected) <= 1, (brightest_row(levels), expected)


def test_scales_put_the_tone_in_different_rows(tone_files: dict[int, Path], tmp_path: Path) -> None:
    rows = {}
    for scale in ("linear", "log", "mel"):
        out = tmp_path / f"{scale}.png"
        levels = grey_levels(
            render_image(tone_files[16000], out, "--scale", scale, "--width", 20, "--height", 100, "--colormap", "grey")
        )
        rows[scale] = brightest_row(levels)
    # 1 kHz of 8 kHz: near the bottom on the linear axis, higher on mel, higher still on log.
    assert rows["linear"] > rows["mel"] > rows["log"]


# -- time axis: max pooling keeps one-frame events --------------------------------


@pytest.mark.parametrize("width", [200, 173])
def test_click_train_columns_survive_pooling(tmp_path: Path, width: int) -> None:
    sr, seconds, n_fft, hop = 8000, 60, 256, 128
    n = sr * seconds
    click_samples = [int(t * sr) for t in (3.3, 11.71, 20.05, 29.9, 41.337, 50.0, 58.8)]
    y = np.zeros(n, dtype=np.float32)
    y[click_samples] = 0.9
    src = tmp_path / "clicks.wav"
    soundfile.write(src, y, sr, subtype="PCM_16")
    out = tmp_path / "clicks.png"
    options = ("--n-fft", n_fft, "--hop", hop, "--width", width, "--height", 32, "--colormap", "grey")
    levels = grey_levels(render_image(src, out, *options))
    assert levels.shape == (32, width)

    # ~19 frames per column and a click is loud in only one or two of them:
    # picking one frame per column would miss most clicks.
    n_frames = 1 + n // hop
    bounds = -((-np.arange(width + 1) * n_frames) // width)  # column c: frames [bounds[c], bounds[c+1])
    expected = {int(np.searchsorted(bounds, round(s / hop), side="right")) - 1 for s in click_samples}
    column_means = levels.mean(axis=0)
    for c in expected:
        assert column_means[c] > 200, (c, column_means[c - 2 : c + 3])
    lit = set(np.nonzero(column_means > 0)[0].tolist())
    near = {c + d for c in expected for d in (-1, 0, 1)}
    assert lit <= near, sorted(lit - near)
    # Silence elsewhere is exactly the bottom colour.
    dark = [c for c in range(width) if c not in near]
    assert np.all(levels[:, dark] == 0)


# -- colours -----------------------------------------------------------------------


def test_grey_colormap_changes_colours_not_ordering(tmp_path: Path) -> None:
    sr = 16000
    rng = np.random.default_rng(7)
    y = tone(1000.0, sr, 0.5) + tone(3000.0, sr, 0.5, amplitude=0.05) + 0.01 * rng.standard_normal(sr // 2)
    src = tmp_path / "mix.wav"
    soundfile.write(src, y / np.abs(y).max() * 0.9, sr, subtype="FLOAT")
    options = ("--width", 50, "--height", 60, "--n-fft", 512)
    magma = render_image(src, tmp_path / "magma.png", *options, "--colormap", "magma")
    grey = render_image(src, tmp_path / "grey.png", *options, "--colormap", "grey")
    default = render_image(src, tmp_path / "default.png", *options)
    assert np.array_equal(default, magma)  # magma is the default
    assert not np.array_equal(magma, grey)
    assert np.any(magma[..., 0] != magma[..., 1])  # magma is coloured
    levels = grey_levels(grey)
    assert len(np.unique(levels)) > 20

    # Every magma pixel is the table entry of the same level as the grey pixel.
    lut = colormap_lut("magma")
    index_of = {tuple(rgb): i for i, rgb in enumerate(lut.tolist())}
    assert len(index_of) == 256
    magma_levels = np.array([index_of[tuple(p)] for p in magma.reshape(-1, 3).tolist()]).reshape(levels.shape)
    assert np.array_equal(magma_levels, levels)
    # ... so the brightest row is the same whichever map is used.
    luminance = magma.astype(float) @ np.array([0.2126, 0.7152, 0.0722])
    assert brightest_row(luminance) == brightest_row(levels)


def test_gray_is_an_alias_of_grey(tone_files: dict[int, Path], tmp_path: Path) -> None:
    options = ("--width", 20, "--height", 20)
    a = render_image(tone_files[8000], tmp_path / "a.png", *options, "--colormap", "grey")
    b = render_image(tone_files[8000], tmp_path / "b.png", *options, "--colormap", "gray")
    assert np.array_equal(a, b)


def test_db_range_changes_contrast(tone_files: dict[int, Path], tmp_path: Path) -> None:
    options = ("--width", 20, "--height", 64, "--n-fft", 256, "--colormap", "grey")
    wide = grey_levels(render_image(tone_files[8000], tmp_path / "wide.png", *options, "--db-range", 120))
    narrow = grey_levels(render_image(tone_files[8000], tmp_path / "narrow.png", *options, "--db-range", 20))
    # Fewer dB shown: everything but the peak is darker (or as dark).
    assert np.all(narrow <= wide)
    assert narrow.sum() < wide.sum()
    assert narrow.max() == wide.max() == 255


# -- channels ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stereo_tone_in_right(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sr = 8000
    y = np.zeros((sr, 2))
    y[:, 1] = tone(1000.0, sr, 1.0)
    path = tmp_path_factory.mktemp("stereo") / "right.wav"
    soundfile.write(path, y, sr, subtype="PCM_16")
    return path


CHANNEL_OPTIONS = ("--n-fft", "256", "--width", "30", "--height", "64", "--colormap", "grey")


def test_channel_2_shows_the_tone(stereo_tone_in_right: Path, tmp_path: Path) -> None:
    levels = grey_levels(render_image(stereo_tone_in_right, tmp_path / "c2.png", *CHANNEL_OPTIONS, "--channel", 2))
    assert abs(brightest_row(levels) - pixel_of_row(32, 129, 64)) <= 1
    assert levels.max() == 255


def test_channel_1_is_silent(stereo_tone_in_right: Path, tmp_path: Path) -> None:
    levels = grey_levels(render_image(stereo_tone_in_right, tmp_path / "c1.png", *CHANNEL_OPTIONS, "--channel", 1))
    assert np.all(levels == 0)


def test_default_mixes_channels_down(stereo_tone_in_right: Path, tmp_path: Path) -> None:
    levels = grey_levels(render_image(stereo_tone_in_right, tmp_path / "mix.png", *CHANNEL_OPTIONS))
    assert abs(brightest_row(levels) - pixel_of_row(32, 129, 64)) <= 1


@pytest.mark.parametrize("channel", ["3", "99"])
def test_channel_beyond_the_file_is_an_error(stereo_tone_in_right: Path, tmp_path: Path, channel: str) -> None:
    out = tmp_path / "out" / "c.png"
    out.parent.mkdir()
    proc = render(stereo_tone_in_right, out, "--channel", channel)
    assert_clean_error(proc, out, mentions=[f"--channel {channel}", "2 channel"])


# -- non-finite samples ------------------------------------------------------------------


def test_nan_and_inf_render_as_silence_with_one_warning(tmp_path: Path) -> None:
    sr = 8000
    y = tone(1000.0, sr, 1.0).astype(np.float32)
    bad = [100, 2000, 2001, 5000]
    y[bad] = [np.nan, np.inf, -np.inf, np.nan]
    src = tmp_path / "nan.wav"
    soundfile.write(src, y, sr, subtype="FLOAT")
    clean = y.copy()
    clean[bad] = 0.0
    ref = tmp_path / "clean.wav"
    soundfile.write(ref, clean, sr, subtype="FLOAT")

    options = ("--width", 40, "--height", 30, "--n-fft", 256)
    proc = render(src, tmp_path / "nan.png", *options)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("spectroview: warning: ")
    assert str(src) in lines[0] and "4 non-finite" in lines[0]
    got = read_png(tmp_path / "nan.png")
    want = render_image(ref, tmp_path / "clean.png", *options)
    assert np.array_equal(got, want)
