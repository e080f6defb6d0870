"""A one-hour file is usable without decoding it into memory."""

from __future__ import annotations

import resource
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from spectroview.audio.files import FileSource

SR, CHANNELS, SECONDS = 44100, 2, 3600


def sparse_hour_wav(path: Path, marks: dict[int, float]) -> int:
    """A 16-bit stereo WAV of one hour, sparse on disk: silence except a few marked frames.

    Returns the frame count.  ``marks`` maps frame -> value (both channels).
    """
    frames = SR * SECONDS
    data_bytes = frames * CHANNELS * 2
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, CHANNELS, SR, SR * CHANNELS * 2, CHANNELS * 2, 16)
    header += b"data" + struct.pack("<I", data_bytes)
    with open(path, "wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + data_bytes)  # a hole: no disk blocks, reads as zeros
        for frame, value in marks.items():
            fh.seek(len(header) + frame * CHANNELS * 2)
            fh.write(struct.pack("<hh", round(value * 32767), round(value * 32767)))
    return frames


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


@pytest.mark.slow
def test_hour_long_stereo_file_reads_anywhere_with_bounded_memory(tmp_path: Path) -> None:
    marks = {0: 0.5, SR * 1800 + 7: -0.25, SR * SECONDS - 1: 0.75}
    path = tmp_path / "hour.wav"
    frames = sparse_hour_wav(path, marks)
    rss_before = rss_mb()
    tracemalloc.start()
    try:
        with FileSource(path) as source:
            assert source.info.frames == frames and source.info.duration == pytest.approx(3600.0)
            # Random access by seeking: exactly the marked samples.
            for frame, value in marks.items():
                assert source.read(frame, frame + 1)[0] == pytest.approx(value, abs=1e-4)
            # A pass over the whole hour, block by block.
            peak_value, n = 0.0, 0
            for block in source.blocks(1 << 18):
                peak_value = max(peak_value, float(np.abs(block).max()))
                n += block.shape[0]
        peak_traced = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert n == frames and peak_value == pytest.approx(0.75, abs=1e-4)
    decoded_mb = frames * CHANNELS * 4 / 2**20  # 1211 MB as float32
    assert peak_traced < 20, f"{peak_traced:.1f} MB traced for a {decoded_mb:.0f} MB file"
    assert rss_mb() - rss_before < 100
