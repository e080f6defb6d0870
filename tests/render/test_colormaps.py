"""Tests for spectroview.render.colormaps."""

from __future__ import annotations

import os

# pyqtgraph (the reference for the tables) pulls in Qt; no display is needed.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import subprocess
import sys

import numpy as np
import pytest

from spectroview.render.colormaps import COLORMAPS, apply_colormap, colormap_lut

pyqtgraph = pytest.importorskip("pyqtgraph")

CC0_MAPS = ("viridis", "magma", "inferno", "plasma", "cividis")


def test_colormaps_offered_in_menu_order_without_alias() -> None:
    assert COLORMAPS == (*CC0_MAPS, "grey")


@pytest.mark.parametrize("name", COLORMAPS)
def test_lut_shape_dtype_and_read_only(name: str) -> None:
    lut = colormap_lut(name)
    assert lut.shape == (256, 3)
    assert lut.dtype == np.uint8
    with pytest.raises(ValueError, match="read-only"):
        lut[0, 0] = 1
    # Cached: the same table is handed out every time.
    assert colormap_lut(name) is lut


@pytest.mark.parametrize("name", CC0_MAPS)
def test_lut_matches_pyqtgraph(name: str) -> None:
    reference = pyqtgraph.colormap.get(name).getLookupTable(nPts=256, alpha=False)
    assert reference.shape == (256, 3)
    diff = np.abs(colormap_lut(name).astype(int) - reference.astype(int))
    assert diff.max() <= 1


@pytest.mark.parametrize("name", CC0_MAPS)
def test_lut_matches_bundled_csv(name: str) -> None:
    csv = os.path.join(os.path.dirname(pyqtgraph.__file__), "colors", "maps", f"{name}.csv")
    with open(csv, encoding="utf-8") as f:
        rows = [[float(c) for c in line.split(",")[:3]] for line in f if line.strip() and not line.startswith(";")]
    assert len(rows) == 256
    expected = np.floor(np.asarray(rows) * 255 + 0.5).astype(int)
    np.testing.assert_array_equal(colormap_lut(name), expected)


def test_luts_are_distinct() -> None:
    tables = [colormap_lut(name).tobytes() for name in COLORMAPS]
    assert len(set(tables)) == len(COLORMAPS)


def test_grey_is_monotone_from_black_to_white() -> None:
    lut = colormap_lut("grey").astype(int)
    np.testing.assert_array_equal(lut[:, 0], np.arange(256))
    np.testing.assert_array_equal(lut[:, 1], lut[:, 0])
    np.testing.assert_array_equal(lut[:, 2], lut[:, 0])


@pytest.mark.parametrize("alias", ["gray", "Gray", " GREY "])
def test_gray_alias_and_case(alias: str) -> None:
    assert colormap_lut(alias) is colormap_lut("grey")
    assert "gray" not in COLORMAPS


def test_name_is_case_insensitive() -> None:
    assert colormap_lut("Viridis") is colormap_lut("viridis")


@pytest.mark.parametrize("bad", ["foo", "", "jet", None])
def test_unknown_name_lists_choices(bad: object) -> None:
    message = f"colormap={bad!r}: unknown; choose one of viridis, magma, inferno, plasma, cividis, grey"
    with pytest.raises(ValueError) as excinfo:
        colormap_lut(bad)  # type: ignore[arg-type]
    assert str(excinfo.value) == message
    with pytest.raises(ValueError, match="unknown"):
        apply_colormap(np.zeros((2, 2)), bad, vmin=0, vmax=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["magma", "grey"])
def test_apply_colormap_ends_clipping_and_nan(name: str) -> None:
    lut = colormap_lut(name)
    values = np.array([[-80.0, 0.0, -200.0, 50.0, np.nan, np.inf, -np.inf]], dtype=np.float32)
    rgb = apply_colormap(values, name, vmin=-80.0, vmax=0.0)
    assert rgb.shape == (1, 7, 3)
    assert rgb.dtype == np.uint8
    expected = lut[[0, 255, 0, 255, 0, 255, 0]]
    np.testing.assert_array_equal(rgb[0], expected)


def test_apply_colormap_uses_equal_width_bins() -> None:
    # The centre of bin k of 256 equal bins over [vmin, vmax] must get entry k;
    # so must a value just above the bin's lower edge.
    vmin, vmax = -100.0, 20.0
    width = (vmax - vmin) / 256
    k = np.arange(256)
    values = np.stack([vmin + (k + 0.5) * width, vmin + (k + 0.01) * width])
    rgb = apply_colormap(values, "viridis", vmin=vmin, vmax=vmax)
    lut = colormap_lut("viridis")
    np.testing.assert_array_equal(rgb[0], lut)
    np.testing.assert_array_equal(rgb[1], lut)


def test_apply_colormap_grey_is_monotone_in_value() -> None:
    values = np.linspace(-1.0, 2.0, 1001)[None, :]
    rgb = apply_colormap(values, "grey", vmin=0.0, vmax=1.0)
    level = rgb[0, :, 0].astype(int)
    assert np.all(np.diff(level) >= 0)
    assert level[0] == 0
    assert level[-1] == 255


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint8])
def test_apply_colormap_accepts_real_dtypes_and_keeps_layout(dtype: type) -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(0, 110, size=(5, 9)).astype(dtype)
    # A 128-wide range makes each bin exactly 0.5 wide, so integer values
    # never sit near a rounding-sensitive bin edge.
    rgb = apply_colormap(values, "plasma", vmin=-28, vmax=100)
    assert rgb.shape == (5, 9, 3)
    assert rgb.flags.c_contiguous
    # Row/column order preserved: compare with a per-pixel computation.
    idx = np.minimum((values.astype(int) + 28) * 2, 255)
    np.testing.assert_array_equal(rgb, colormap_lut("plasma")[idx])


def test_apply_colormap_does_not_modify_input() -> None:
    values = np.array([[np.nan, -5.0, 5.0]], dtype=np.float32)
    before = values.copy()
    apply_colormap(values, "inferno", vmin=0.0, vmax=1.0)
    np.testing.assert_array_equal(values, before)


@pytest.mark.parametrize("shape", [(10,), (2, 3, 4), ()])
def test_apply_colormap_rejects_non_2d(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="2-D"):
        apply_colormap(np.zeros(shape), "viridis", vmin=0, vmax=1)


def test_apply_colormap_rejects_non_numeric() -> None:
    with pytest.raises(ValueError, match="dtype"):
        apply_colormap(np.zeros((2, 2), dtype=complex), "viridis", vmin=0, vmax=1)


@pytest.mark.parametrize(("vmin", "vmax"), [(1.0, 1.0), (2.0, 1.0), (np.nan, 1.0), (0.0, np.inf)])
def test_apply_colormap_rejects_bad_range(vmin: float, vmax: float) -> None:
    with pytest.raises(ValueError, match="vmin < vmax"):
        apply_colormap(np.zeros((2, 2)), "viridis", vmin=vmin, vmax=vmax)


def test_render_modules_import_no_gui_or_imaging_library() -> None:
    # Run in a fresh interpreter: this test process has imported pyqtgraph.
    code = (
        "import sys\n"
        "import spectroview.render.colormaps, spectroview.render.png\n"
        "banned = ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'matplotlib', 'PIL')\n"
        "print(','.join(m for m in banned if m in sys.modules))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == ""
