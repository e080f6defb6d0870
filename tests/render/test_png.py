"""Tests for spectroview.render.png."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from spectroview.render import png as png_module
from spectroview.render.png import (
    PNG_SIGNATURE,
    decode_png,
    encode_png,
    read_png,
    write_png,
)

SIZES = [(1, 1), (7, 13), (13, 7), (1, 50), (50, 1), (64, 100)]


def random_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def gradient_rgb(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    r = x * 255 // max(width - 1, 1)
    g = y * 255 // max(height - 1, 1)
    b = (x + y) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    """Split PNG bytes into (type, body, stored CRC), independently of png.py."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out = []
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunk_type = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        out.append((chunk_type, body, crc))
        pos += 12 + length
    assert pos == len(data)
    return out


# --- encoding -------------------------------------------------------------


@pytest.mark.parametrize(("height", "width"), SIZES)
def test_round_trip_rgb(height: int, width: int) -> None:
    rgb = random_rgb(height, width)
    decoded = decode_png(encode_png(rgb))
    assert decoded.shape == (height, width, 3)
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, rgb)


@pytest.mark.parametrize(("height", "width"), SIZES)
def test_round_trip_grey(height: int, width: int) -> None:
    grey = random_rgb(height, width)[:, :, 1]
    decoded = decode_png(encode_png(grey))
    assert decoded.shape == (height, width)
    np.testing.assert_array_equal(decoded, grey)


def test_round_trip_non_contiguous_input() -> None:
    base = random_rgb(20, 30)
    for view in (base[::2, ::3], np.asfortranarray(base), base[:, :, ::-1]):
        np.testing.assert_array_equal(decode_png(encode_png(view)), view)


@pytest.mark.parametrize("level", range(10))
def test_all_compress_levels_round_trip(level: int) -> None:
    rgb = gradient_rgb(31, 17)
    np.testing.assert_array_equal(decode_png(encode_png(rgb, compress_level=level)), rgb)


def test_higher_level_compresses_repetitive_image_better() -> None:
    # Identical rows (like a steady tone's spectrogram) deflate well even
    # with filter type None.
    rgb = np.broadcast_to(gradient_rgb(1, 300), (200, 300, 3))
    stored = encode_png(rgb, compress_level=0)
    compressed = encode_png(rgb, compress_level=9)
    assert len(stored) > rgb.nbytes
    assert len(compressed) < len(stored) / 20
    np.testing.assert_array_equal(decode_png(compressed), rgb)


@pytest.mark.parametrize(
    ("image", "colour_type"),
    [(random_rgb(7, 13), 2), (random_rgb(7, 13)[:, :, 0], 0)],
)
def test_signature_and_ihdr(image: np.ndarray, colour_type: int) -> None:
    data = encode_png(image)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[8:16] == b"\x00\x00\x00\x0dIHDR"
    width, height, depth, ctype, comp, filt, interlace = struct.unpack(">IIBBBBB", data[16:29])
    assert (width, height) == (13, 7)
    assert (depth, ctype, comp, filt, interlace) == (8, colour_type, 0, 0, 0)


def test_chunk_layout_and_crcs() -> None:
    data = encode_png(random_rgb(40, 25))
    parsed = chunks(data)
    types = [t for t, _, _ in parsed]
    assert types[0] == b"IHDR"
    assert types[-1] == b"IEND"
    assert set(types[1:-1]) == {b"IDAT"}
    assert parsed[-1][1] == b""
    for chunk_type, body, crc in parsed:
        assert zlib.crc32(chunk_type + body) == crc, chunk_type


def test_scanlines_use_filter_none_and_raw_pixels() -> None:
    rgb = random_rgb(5, 4)
    idat = b"".join(b for t, b, _ in chunks(encode_png(rgb)) if t == b"IDAT")
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(5, 1 + 12)
    assert not raw[:, 0].any()
    np.testing.assert_array_equal(raw[:, 1:], rgb.reshape(5, 12))


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((4, 4, 3), dtype=np.float32), "uint8"),
        (np.zeros((4, 4, 3), dtype=np.uint16), "uint8"),
        (np.zeros((4, 4, 4), dtype=np.uint8), "shape"),
        (np.zeros((4, 4, 3, 1), dtype=np.uint8), "shape"),
        (np.zeros(12, dtype=np.uint8), "shape"),
        (np.zeros((0, 4, 3), dtype=np.uint8), "height and width"),
        (np.zeros((4, 0), dtype=np.uint8), "height and width"),
        ([[1, 2], [3, 4]], "uint8"),
    ],
)
def test_encode_rejects_bad_images(image: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        encode_png(image)


@pytest.mark.parametrize("level", [-1, 10, 6.0, True, "6"])
def test_encode_rejects_bad_compress_level(level: object) -> None:
    with pytest.raises(ValueError, match="compress_level"):
        encode_png(random_rgb(2, 2), compress_level=level)  # type: ignore[arg-type]


# --- writing files --------------------------------------------------------


def test_write_png_round_trip_and_no_leftovers(tmp_path: Path) -> None:
    rgb = random_rgb(7, 13)
    target = tmp_path / "out.png"
    write_png(target, rgb, compress_level=1)
    assert os.listdir(tmp_path) == ["out.png"]
    assert target.read_bytes() == encode_png(rgb, compress_level=1)
    np.testing.assert_array_equal(read_png(target), rgb)
    np.testing.assert_array_equal(read_png(str(target)), rgb)


def test_write_png_replaces_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old contents that are longer than nothing")
    grey = random_rgb(3, 5)[:, :, 0]
    write_png(str(target), grey)
    np.testing.assert_array_equal(read_png(target), grey)
    assert os.listdir(tmp_path) == ["out.png"]


def test_write_png_into_missing_directory_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.png"
    with pytest.raises(FileNotFoundError):
        write_png(target, random_rgb(2, 2))
    assert os.listdir(tmp_path) == []


def test_write_png_over_directory_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    with pytest.raises(OSError):
        write_png(target, random_rgb(2, 2))
    assert os.listdir(tmp_path) == ["taken"]
    assert target.is_dir()


def test_failed_replace_keeps_old_file_and_removes_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"previous image")

    def failing_replace(src: str, dst: str) -> None:
        assert os.path.dirname(src) == str(tmp_path)  # temp is beside target
        assert os.path.getsize(src) > 0  # and fully written
        raise OSError("simulated failure")

    monkeypatch.setattr(png_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        write_png(target, random_rgb(4, 4))
    assert os.listdir(tmp_path) == ["out.png"]
    assert target.read_bytes() == b"previous image"


def test_invalid_image_touches_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    with pytest.raises(ValueError):
        write_png(target, np.zeros((2, 2, 3), dtype=np.float64))
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_written_file_has_ordinary_permissions(tmp_path: Path) -> None:
    # Same mode as a plainly opened file (umask applied), not mkstemp's 0o600.
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    target = tmp_path / "out.png"
    write_png(target, random_rgb(2, 2))
    assert target.stat().st_mode == reference.stat().st_mode


@pytest.mark.skipif(shutil.which("file") is None, reason="needs file(1)")
@pytest.mark.parametrize(
    ("image", "kind"),
    [
        (random_rgb(7, 13), "8-bit/color RGB"),
        (random_rgb(7, 13)[:, :, 0], "8-bit grayscale"),
    ],
)
def test_file_command_recognises_png(tmp_path: Path, image: np.ndarray, kind: str) -> None:
    target = tmp_path / "out.png"
    write_png(target, image)
    result = subprocess.run(["file", "-b", str(target)], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("PNG image data, 13 x 7")
    assert kind in result.stdout


# --- decoding -------------------------------------------------------------


def test_decode_rejects_bad_signature() -> None:
    data = encode_png(random_rgb(2, 2))
    with pytest.raises(ValueError, match="signature"):
        decode_png(b"\x89PNX" + data[4:])


def test_decode_rejects_corrupt_crc() -> None:
    data = bytearray(encode_png(random_rgb(2, 2)))
    data[20] ^= 0x01  # inside the IHDR body
    with pytest.raises(ValueError, match="CRC"):
        decode_png(bytes(data))


def test_decode_rejects_truncated_file() -> None:
    data = encode_png(random_rgb(8, 8))
    with pytest.raises(ValueError, match="truncated"):
        decode_png(data[:-20])


def _filter_row(kind: int, row: bytes, prior: bytes, bpp: int) -> bytes:
    """Reference PNG filter from the specification, byte by byte."""
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        if kind == 0:
            pred = 0
        elif kind == 1:
            pred = a
        elif kind == 2:
            pred = b
        elif kind == 3:
            pred = (a + b) // 2
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        out.append((x - pred) % 256)
    return bytes(out)


@pytest.mark.parametrize("channels", [1, 3])
def test_decode_all_filter_types(channels: int) -> None:
    height, width = 15, 9
    image = random_rgb(height, width, seed=3)
    image[: height // 2] = gradient_rgb(height // 2, width)  # smooth and noisy
    if channels == 1:
        image = image[:, :, 0].copy()
    raw_rows = image.reshape(height, -1)
    prior = bytes(raw_rows.shape[1])
    stream = bytearray()
    for y in range(height):
        kind = y % 5
        row = raw_rows[y].tobytes()
        stream += bytes([kind]) + _filter_row(kind, row, prior, channels)
        prior = row
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    compressed = zlib.compress(bytes(stream))
    data = (
        PNG_SIGNATURE
        + chunk(b"IHDR", ihdr)
        + chunk(b"tEXt", b"Comment\x00ignored")
        + chunk(b"IDAT", compressed[:10])  # image data may span chunks
        + chunk(b"IDAT", compressed[10:])
        + chunk(b"IEND", b"")
    )
    np.testing.assert_array_equal(decode_png(data), image)


# --- interoperability with an independent codec (Qt's libpng) --------------


@pytest.fixture(scope="module")
def qt_gui():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return pytest.importorskip("PySide6.QtGui")


def test_qt_decodes_our_png(qt_gui) -> None:
    QImage = qt_gui.QImage
    rgb = random_rgb(13, 7, seed=5)
    image = QImage.fromData(encode_png(rgb), "PNG")
    assert not image.isNull()
    assert (image.width(), image.height()) == (7, 13)
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    stride = image.bytesPerLine()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=13 * stride)
    pixels = buffer.reshape(13, stride)[:, : 7 * 3].reshape(13, 7, 3)
    np.testing.assert_array_equal(pixels, rgb)


def test_we_decode_qt_png(qt_gui) -> None:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    QImage = qt_gui.QImage
    height, width = 40, 50
    rgb = gradient_rgb(height, width)
    rgb[height // 2 :] = random_rgb(height // 2, width, seed=7)
    rgb = np.ascontiguousarray(rgb)
    image = QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888).copy()
    encoded = QByteArray()
    device = QBuffer(encoded)
    device.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(device, "PNG")
    data = bytes(encoded.data())
    # libpng picks filters adaptively; make sure this test covers several.
    idat = b"".join(b for t, b, _ in chunks(data) if t == b"IDAT")
    filters = np.frombuffer(zlib.decompress(idat), np.uint8)[:: 1 + 3 * width]
    assert len(set(filters.tolist())) >= 3
    np.testing.assert_array_equal(decode_png(data), rgb)
