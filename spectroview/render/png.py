"""Minimal PNG writer and reader using only numpy and the standard library.

The writer produces 8-bit truecolour (RGB) or greyscale, non-interlaced
images with filter type 0 (None) on every scanline, which keeps encoding a
pure numpy copy plus one ``zlib.compress`` call. The reader decodes those
files and, more generally, any 8-bit non-interlaced greyscale, RGB,
grey+alpha or RGBA PNG with any of the five standard filter types; it exists
so tests can inspect images without PIL.

Format reference: PNG Specification, Third Edition (W3C),
https://www.w3.org/TR/png-3/.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator

import numpy as np

from spectroview._atomic import atomic_write

__all__ = ["decode_png", "encode_png", "read_png", "write_png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# PNG colour type -> channels per pixel, for 8-bit samples.
_CHANNELS_BY_COLOUR_TYPE = {0: 1, 2: 3, 4: 2, 6: 4}

# Chunk lengths are limited to 2**31 - 1 bytes; split IDAT well below that.
_MAX_IDAT_LENGTH = 1 << 30

# Width and height must be in 1 .. 2**31 - 1.
_MAX_DIMENSION = (1 << 31) - 1


def _chunk(chunk_type: bytes, body: bytes | memoryview) -> list[bytes | memoryview]:
    """Return the pieces of one chunk: length, type, data, CRC (over type+data)."""
    crc = zlib.crc32(body, zlib.crc32(chunk_type))
    return [struct.pack(">I", len(body)) + chunk_type, body, struct.pack(">I", crc)]


def _validate_image(rgb: np.ndarray) -> tuple[np.ndarray, int, int, int]:
    """Check an image and return ``(array, height, width, colour_type)``."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise ValueError(f"rgb: expected dtype uint8, got {rgb.dtype}")
    if rgb.ndim == 3 and rgb.shape[2] == 3:
        colour_type = 2
    elif rgb.ndim == 2:
        colour_type = 0
    else:
        raise ValueError(
            f"rgb: expected shape (height, width, 3) for RGB or (height, width) for greyscale, got {rgb.shape}"
        )
    height, width = rgb.shape[:2]
    if not (1 <= height <= _MAX_DIMENSION and 1 <= width <= _MAX_DIMENSION):
        raise ValueError(f"rgb: height and width must be in 1..{_MAX_DIMENSION}, got {rgb.shape}")
    return rgb, height, width, colour_type


def encode_png(rgb: np.ndarray, *, compress_level: int = 6) -> bytes:
    """Encode an image as PNG file contents.

    Parameters
    ----------
    rgb : numpy.ndarray
        dtype uint8; shape (height, width, 3) for RGB or (height, width) for
        greyscale. Row 0 is the top of the image. Need not be contiguous;
        other array-likes are converted with :func:`numpy.asarray`.
    compress_level : int, optional
        zlib level, 0 (store, fastest) to 9 (smallest, slowest). Default 6.

    Returns
    -------
    bytes
        A complete PNG file: signature, IHDR, IDAT chunk(s), IEND.

    Raises
    ------
    ValueError
        If `rgb` has the wrong dtype or shape, or `compress_level` is
        not an int in 0..9.
    """
    return b"".join(_png_pieces(rgb, compress_level))


#: Scanline bytes encoded per step (the encoder's memory, whatever the image size).
_STRIP_BYTES = 4 << 20


def _png_pieces(rgb: np.ndarray, compress_level: int) -> Iterator[bytes | memoryview]:
    """The bytes of a PNG file, in order, made strip by strip (validation happens before the first)."""
    rgb, height, width, colour_type = _validate_image(rgb)
    if isinstance(compress_level, bool) or not isinstance(compress_level, int) or not 0 <= compress_level <= 9:
        raise ValueError(f"compress_level={compress_level!r}: expected an int from 0 to 9")
    return _png_stream(rgb, height, width, colour_type, compress_level)


def _png_stream(
    rgb: np.ndarray, height: int, width: int, colour_type: int, compress_level: int
) -> Iterator[bytes | memoryview]:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    yield PNG_SIGNATURE
    yield from _chunk(b"IHDR", ihdr)
    # Each scanline is a filter-type byte followed by the raw samples. Using
    # filter 0 (None) everywhere lets numpy build a strip of them in one copy
    # instead of a Python loop per row; each strip's compressed bytes go out
    # as IDAT chunks (a PNG may split its zlib stream over any number).
    row_bytes = rgb.size // height
    rows = max(1, _STRIP_BYTES // (1 + row_bytes))
    compressor = zlib.compressobj(compress_level)
    scanlines = np.zeros((min(rows, height), 1 + row_bytes), dtype=np.uint8)
    for r0 in range(0, height, rows):
        strip = rgb[r0 : r0 + rows]
        lines = scanlines[: strip.shape[0]]
        lines[:, 1:] = strip.reshape(strip.shape[0], row_bytes)
        yield from _idat(compressor.compress(lines.data))
    yield from _idat(compressor.flush())
    yield from _chunk(b"IEND", b"")


def _idat(data: bytes) -> Iterator[bytes | memoryview]:
    view = memoryview(data)
    for start in range(0, len(view), _MAX_IDAT_LENGTH):
        yield from _chunk(b"IDAT", view[start : start + _MAX_IDAT_LENGTH])


def write_png(path: str | os.PathLike[str], rgb: np.ndarray, *, compress_level: int = 6) -> None:
    """Write an image to a PNG file atomically, encoding it strip by strip.

    The data goes to a temporary file in the destination directory, flushed
    to disk, then renamed over `path` (:func:`spectroview._atomic.atomic_write`),
    so `path` either keeps its old contents or gets the complete new file; a
    failure never leaves a partial file or the temporary file behind.  The
    encoder holds a few MiB whatever the image size (no copy of the image).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file. Its directory must exist. An existing file is
        replaced (as a new file: a symbolic link is replaced rather than followed).
    rgb : numpy.ndarray
        dtype uint8; shape (height, width, 3) for RGB or (height, width) for
        greyscale.
    compress_level : int, optional
        zlib level 0..9, see :func:`encode_png`.

    Raises
    ------
    ValueError
        If the image or `compress_level` is invalid (nothing is written).
    OSError
        If the file cannot be created, written or renamed.
    """
    pieces = _png_pieces(rgb, compress_level)  # validates before the file system is touched

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            for piece in pieces:
                f.write(piece)
            f.flush()
            # Without fsync a crash soon after the rename can leave an empty
            # file on some file systems.
            os.fsync(f.fileno())

    atomic_write(os.fsdecode(path), write)


def _unfilter_average(line: np.ndarray, prior: np.ndarray, bpp: int) -> None:
    """Undo filter type 3 (Average) in place; sequential, so a plain loop."""
    cur = bytearray(line.tobytes())
    up = prior.tobytes()
    for i in range(len(cur)):
        left = cur[i - bpp] if i >= bpp else 0
        cur[i] = (cur[i] + ((left + up[i]) >> 1)) & 0xFF
    line[:] = np.frombuffer(cur, dtype=np.uint8)


def _unfilter_paeth(line: np.ndarray, prior: np.ndarray, bpp: int) -> None:
    """Undo filter type 4 (Paeth) in place; sequential, so a plain loop."""
    cur = bytearray(line.tobytes())
    up = prior.tobytes()
    for i in range(len(cur)):
        if i >= bpp:
            a, c = cur[i - bpp], up[i - bpp]
        else:
            a = c = 0
        b = up[i]
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        if pa <= pb and pa <= pc:
            pred = a
        elif pb <= pc:
            pred = b
        else:
            pred = c
        cur[i] = (cur[i] + pred) & 0xFF
    line[:] = np.frombuffer(cur, dtype=np.uint8)


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNG file contents to an array.

    Supports 8-bit, non-interlaced greyscale, RGB, grey+alpha and RGBA
    images with any standard filter types. Chunk CRCs are verified;
    ancillary chunks are ignored. Meant for tests and small files: rows using
    the Average or Paeth filter are decoded by a pure Python loop.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    numpy.ndarray
        dtype uint8, shape (height, width) for greyscale, otherwise
        (height, width, channels) with channels 3 (RGB), 2 (grey+alpha) or
        4 (RGBA).

    Raises
    ------
    ValueError
        If the data is not a PNG, is truncated or corrupt, or uses a feature
        outside the supported subset.
    """
    data = bytes(data)
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG file: bad signature")
    pos = 8
    header: tuple[int, ...] | None = None
    idat: list[bytes] = []
    while True:
        if pos + 12 > len(data):
            raise ValueError("truncated PNG: no IEND chunk")
        length, chunk_type = struct.unpack_from(">I4s", data, pos)
        body_end = pos + 8 + length
        if body_end + 4 > len(data):
            raise ValueError(f"truncated PNG: {chunk_type!r} chunk is cut short")
        body = data[pos + 8 : body_end]
        (crc,) = struct.unpack_from(">I", data, body_end)
        if zlib.crc32(body, zlib.crc32(chunk_type)) != crc:
            raise ValueError(f"corrupt PNG: CRC mismatch in {chunk_type!r} chunk")
        pos = body_end + 4
        if header is None and chunk_type != b"IHDR":
            raise ValueError("corrupt PNG: first chunk is not IHDR")
        if chunk_type == b"IHDR":
            if length != 13:
                raise ValueError(f"corrupt PNG: IHDR length {length}, expected 13")
            header = struct.unpack(">IIBBBBB", body)
        elif chunk_type == b"IDAT":
            idat.append(body)
        elif chunk_type == b"IEND":
            break
        elif not chunk_type[0] & 0x20 and chunk_type != b"PLTE":
            # Bit 5 of the first byte clear (upper case) marks a critical
            # chunk, which a decoder must not skip.
            raise ValueError(f"unsupported PNG: critical chunk {chunk_type!r}")

    assert header is not None
    width, height, bit_depth, colour_type, compression, filter_method, interlace = header
    if bit_depth != 8 or colour_type not in _CHANNELS_BY_COLOUR_TYPE:
        raise ValueError(
            f"unsupported PNG: bit depth {bit_depth}, colour type {colour_type} "
            "(only 8-bit grey, RGB, grey+alpha, RGBA)"
        )
    if compression != 0 or filter_method != 0 or interlace != 0:
        raise ValueError(
            f"unsupported PNG: compression {compression}, filter method "
            f"{filter_method}, interlace {interlace} (need 0, 0, 0)"
        )
    if width == 0 or height == 0:
        raise ValueError(f"corrupt PNG: size {width}x{height}")
    if not idat:
        raise ValueError("corrupt PNG: no IDAT chunk")

    bpp = _CHANNELS_BY_COLOUR_TYPE[colour_type]
    stride = width * bpp
    expected = height * (1 + stride)
    # Bounding the output protects against a stream that inflates far beyond
    # what the header promises.
    raw = zlib.decompressobj().decompress(b"".join(idat), expected + 1)
    if len(raw) != expected:
        raise ValueError(f"corrupt PNG: {len(raw)} bytes of image data, expected {expected}")

    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, 1 + stride)
    filter_types = rows[:, 0]
    if np.any(filter_types > 4):
        raise ValueError(f"corrupt PNG: filter type {filter_types.max()} (max 4)")
    pixels = rows[:, 1:].copy()
    if filter_types.any():
        prior = np.zeros(stride, dtype=np.uint8)
        for y in range(height):
            line = pixels[y]
            filter_type = filter_types[y]
            if filter_type == 1:  # Sub: running sum per channel, modulo 256
                line[:] = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(-1)
            elif filter_type == 2:  # Up
                line += prior
            elif filter_type == 3:
                _unfilter_average(line, prior, bpp)
            elif filter_type == 4:
                _unfilter_paeth(line, prior, bpp)
            prior = line
    if bpp == 1:
        return pixels.reshape(height, width)
    return pixels.reshape(height, width, bpp)


def read_png(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a PNG file; see :func:`decode_png` for what is supported.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.

    Returns
    -------
    numpy.ndarray
        dtype uint8, shape (height, width) or (height, width, channels).
    """
    with open(path, "rb") as f:
        return decode_png(f.read())
