"""The model's inputs over a long range: windows on one frame grid, each the reference's input, all exported."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from spectroview.audio.files import FileSource
from spectroview.dsp.ast import AST_MEAN, AST_STD, ast_fbank
from spectroview.session.analysis import MODEL_WINDOW_SECONDS, export_model_windows, model_input, model_windows


def flat(windows: list[tuple[float, float]]) -> list[float]:
    return [t for window in windows for t in window]


def test_windows_follow_each_other_at_the_models_length_and_end_at_the_range() -> None:
    assert MODEL_WINDOW_SECONDS == pytest.approx(1024 * 160 / 16000)
    assert flat(model_windows(0.0, 25.0, 60.0)) == pytest.approx(flat([(0.0, 10.24), (10.24, 20.48), (20.48, 25.0)]))
    assert flat(model_windows(1.0, 11.24, 60.0)) == pytest.approx(flat([(1.0, 11.24)]))  # exactly one input: one window
    assert flat(model_windows(5.0, 5.0, 60.0)) == pytest.approx(flat([(5.0, 15.24)]))  # no range: one input from there
    assert flat(model_windows(55.0, 99.0, 60.0)) == pytest.approx(flat([(55.0, 60.0)]))  # cut at the file's end
    assert flat(model_windows(-3.0, 2.0, 60.0)) == pytest.approx(flat([(0.0, 2.0)]))


def test_each_window_is_the_next_1024_frames_of_the_ranges_grid_and_the_selection_end_is_padding(
    tmp_path: Path,
) -> None:
    sr = 16000  # the model's rate: no resampling, so the frames can be compared exactly
    rng = np.random.default_rng(5)
    y = (0.1 * rng.standard_normal(25 * sr)).astype(np.float32)
    path = tmp_path / "noise.wav"
    soundfile.write(path, y, sr, subtype="FLOAT")
    whole = (ast_fbank(y[sr:], sr=sr) - AST_MEAN) / (2 * AST_STD)  # (128, frames) from 1 s on
    windows = model_windows(1.0, 23.0, 25.0)
    assert len(windows) == 3
    with FileSource(path) as source:
        inputs = [model_input(source, a, windows[-1][1]) for a, _ in windows]
    for k, data in enumerate(inputs[:2]):
        assert data.n_frames == 1024
        np.testing.assert_allclose(data.features, whole[:, 1024 * k : 1024 * (k + 1)], atol=2e-5)
    last = inputs[2]
    # 23 - 21.48 s = 1.52 s: 1 + (24320 - 400) // 160 frames, then the reference's padding (a zero fbank).
    assert last.n_frames == 1 + (round(1.52 * sr) - 400) // 160
    np.testing.assert_allclose(last.features[:, : last.n_frames], whole[:, 2048 : 2048 + last.n_frames], atol=2e-5)
    assert np.all(last.features[:, last.n_frames :] == np.float32((0 - AST_MEAN) / (2 * AST_STD)))
    assert last.t1 == pytest.approx(21.48 + ((last.n_frames - 1) * 160 + 400) / sr)
    assert last.t1 <= 23.0  # nothing after the selection's end was read


def test_export_writes_every_window_and_a_sidecar_together(tmp_path: Path) -> None:
    # A compressed file at 44.1 kHz from the ffmpeg command line (resampled to 16 kHz inside).
    path = tmp_path / "tones.m4a"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=700:duration=14:sample_rate=44100",
         "-c:a", "aac", "-b:a", "96k", str(path)],
        check=True,
    )  # fmt: skip
    out = tmp_path / "out" / "windows.npy"
    out.parent.mkdir()
    seen: list[tuple[int, int]] = []
    with FileSource(path) as source:
        windows = model_windows(0.5, source.info.duration, source.info.duration)
        npy, sidecar = export_model_windows(
            source, windows, out, channel=None, progress=lambda d, t: seen.append((d, t))
        )
        expected = [model_input(source, a, windows[-1][1]) for a, _ in windows]
    assert (npy, sidecar) == (out, out.with_suffix(".json")) and seen == [(1, 2), (2, 2)]
    array = np.load(out)
    assert array.shape == (2, 128, 1024) and array.dtype == np.float32
    for k, data in enumerate(expected):
        np.testing.assert_array_equal(array[k], data.features)
    meta = json.loads(sidecar.read_text())
    assert meta["preset"] == "ast" and meta["shape"] == [2, 128, 1024] and meta["constants"]["n_mels"] == 128
    assert [w["start_s"] for w in meta["windows"]] == pytest.approx([0.5, 10.74], abs=1e-4)
    assert [w["valid_columns"] for w in meta["windows"]] == [1024, expected[1].n_frames] and expected[1].n_frames < 1024
    assert meta["source"]["path"] == str(path) and meta["channel"] == "mix"
    assert sorted(p.name for p in out.parent.iterdir()) == ["windows.json", "windows.npy"]  # no temporaries left
