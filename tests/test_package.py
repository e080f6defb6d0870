"""The package as a user gets it: resources found, the demo what it claims to be."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from spectroview import dsp
from spectroview._resources import DEMO_NAME, resource_path
from spectroview.render.png import read_png

DEMO = resource_path(DEMO_NAME)
META = json.loads(resource_path("demo.json").read_text())


def test_demo_is_small_short_mono_flac() -> None:
    info = soundfile.info(str(DEMO))
    assert info.format == "FLAC" and info.channels == 1
    assert info.samplerate in (22050, 44100)
    assert info.duration <= 20.0
    assert DEMO.stat().st_size <= 1_000_000
    assert info.frames == META["n_samples"]


def _segment(name: str) -> dict:
    return next(s for s in META["segments"] if s["name"] == name)


def test_demo_close_tones_resolve_at_2048_but_not_at_256() -> None:
    y, sr = soundfile.read(str(DEMO), dtype="float32")
    seg = _segment("close_tones")
    part = y[seg["start_sample"] : seg["end_sample"]]

    def peaks(n_fft: int) -> int:
        spectrum = dsp.stft_power(part, n_fft=n_fft, hop_length=n_fft // 4).mean(axis=1)
        freqs = dsp.fft_frequencies(sr=sr, n_fft=n_fft)
        band = (freqs > 900) & (freqs < 1150)
        s = spectrum[band]
        is_peak = (s[1:-1] > s[:-2]) & (s[1:-1] > s[2:]) & (s[1:-1] > 0.1 * s.max())
        return int(is_peak.sum())

    assert peaks(2048) == 2
    assert peaks(256) == 1


def test_demo_clicks_are_where_the_sidecar_says() -> None:
    y, _ = soundfile.read(str(DEMO), dtype="float32")
    seg = _segment("click_train")
    part = np.abs(y[seg["start_sample"] : seg["end_sample"]])
    found = np.flatnonzero(part > 0.5 * part.max()) + seg["start_sample"]
    assert found.tolist() == seg["click_samples"]


def test_console_script_finds_the_bundled_demo_from_anywhere(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("spectroview")
    if not script.exists():
        script_path = shutil.which("spectroview")
        if script_path is None:
            pytest.skip("spectroview is not installed in this environment (make test installs it)")
        script = Path(script_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = tmp_path / "demo.png"
    # cwd outside the repository: the installed package must find its own resources.
    proc = subprocess.run(
        [str(script), "render", "-o", str(out), "--width", "64", "--height", "32"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert read_png(out).shape == (32, 64, 3)
