"""The window stays responsive during the heaviest analysis: nothing that scales with the data runs on the GUI thread."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication

from tests.benchmarks.responsiveness import make_file, scripted_run

#: The event loop's 99th-percentile gap (ms) may not exceed a frame at 20 fps, and no single
#: stall may reach 250 ms.  Done inline, the pitch track alone froze the window for 0.5-0.7 s
#: (1.7 s before); with two cores shared by the jobs, rare stalls of 50-150 ms remain (CPU and
#: GIL contention), which the benchmark (tests/benchmarks/responsiveness.py) reports as its
#: max_gap_ms: a timing bound tight enough to flake would not say more.
P99_GAP_MS = 50.0
MAX_GAP_MS = 250.0


@pytest.mark.slow
def test_the_event_loop_keeps_running_during_a_32768_window_pitch_track_and_slice(make_window, tmp_path: Path) -> None:
    path = make_file(tmp_path / "long.wav")
    window = make_window((1600, 1000))
    result = scripted_run(QApplication.instance(), window, path)
    # The work was done: the picture is the 32768 window, the pitch track is drawn.
    assert window.params.n_fft == 32768 and window.jobs.latest.params.n_fft == 32768
    assert window.model.time_range == pytest.approx((0.0, 120.0))
    assert len(window.panel.pitch_curve.getData()[0]) > 1000
    assert window.slice.current is not None and window.slice.current.rows_db.size == 16385
    assert result["ticks"] > 50
    assert result["p99_gap_ms"] <= P99_GAP_MS, result
    assert result["max_gap_ms"] <= MAX_GAP_MS, result
