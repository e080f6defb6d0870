"""``render`` of low-bitrate lossy files: the picture of an uninterrupted decode, with steady columns for steady sound.

libsndfile's MP3 reader once drew broadband vertical lines wherever a block
read began (its seeks decode the bit reservoir wrong for ~3000 samples):
a steady chord must give columns that are all alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spectroview.render.png import read_png
from tests.audio.media import lavfi_tones, make, need_ffmpeg
from tests.cli.helpers import assert_ok, grey_levels, reference_image, run_cli


@pytest.mark.parametrize(
    ("name", "codec", "steady"),
    [
        ("cbr32.mp3", ("-c:a", "libmp3lame", "-b:a", "32k"), True),
        ("vbr9.mp3", ("-c:a", "libmp3lame", "-q:a", "9"), True),
        ("vorbis_q0.ogg", ("-c:a", "libvorbis", "-q:a", "0"), True),
        # FFmpeg's own AAC encoder puts a few broadband bursts into a steady
        # chord (the uninterrupted decode has them too): only the equality holds.
        ("aac128.m4a", ("-c:a", "aac", "-b:a", "128k", "-aac_pns", "0"), False),
    ],
)
def test_steady_chord_renders_steady_columns(tmp_path: Path, name: str, codec: tuple[str, ...], steady: bool) -> None:
    need_ffmpeg()
    # 40 s: several of render's 2^19-sample blocks (11.9 s at 44.1 kHz).
    src = make(tmp_path / name, lavfi_tones([440.0, 554.4, 659.3], sr=44100, seconds=40, channels=2), *codec)
    out = tmp_path / "chord.png"
    assert_ok(run_cli("render", src, "-o", out, "--width", "400", "--height", "200", "--colormap", "grey"))
    rgb = read_png(out)
    # Exactly the picture of one uninterrupted decode (a plain PyAV decode, no seeking).
    np.testing.assert_array_equal(rgb, reference_image(src, width=400, height=200, n_fft=2048))
    if not steady:
        return
    levels = grey_levels(rgb).astype(np.float64)  # (rows, columns), 0..255
    body = levels[:, 10:-10]  # the first and last second see the file's edges (the encoders' too)
    tone_rows = body.mean(axis=1) > np.percentile(body.mean(axis=1), 97)
    quiet = body[~tone_rows]
    # Every column's background (all but the tones' rows) is as dark as the typical column's.
    per_column = quiet.mean(axis=0)
    assert per_column.max() <= np.median(per_column) + 6.0, (per_column.max(), np.median(per_column))
    # And no column is brighter than the tones anywhere.
    assert quiet.max() <= body[tone_rows].max()
