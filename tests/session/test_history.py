"""Zoom history without Qt: ViewHistory's steps and the model's back/forward."""

from __future__ import annotations

from pathlib import Path

import pytest

from spectroview.session.history import View, ViewHistory
from spectroview.session.model import ViewerModel
from tests.session.test_model import write_wav


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_gesture_is_one_step_and_a_new_change_drops_the_way_forward() -> None:
    clock = Clock()
    history = ViewHistory(settle=0.5, clock=clock)
    whole, half, quarter = View(0, 8), View(0, 4), View(0, 2)
    history.changing(whole)  # a wheel turn: three events 0.1 s apart, one step
    for _ in range(2):
        clock.now += 0.1
        history.changing(View(0, 6))
    clock.now += 1.0
    history.changing(half)
    assert history.back(quarter) == half
    assert history.back(half) == whole
    assert history.back(whole) is None and not history.can_go_back
    assert history.forward(whole) == half and history.forward(half) == quarter
    assert history.forward(quarter) is None
    history.back(quarter)  # at half; a change there forgets quarter
    clock.now += 0.1
    history.changing(half)
    assert not history.can_go_forward


def test_views_equal_up_to_rounding_are_one_step_and_the_history_is_bounded() -> None:
    clock = Clock()
    history = ViewHistory(settle=0.5, limit=3, clock=clock)
    assert View(0, 1, (100.0, 200.0)).near(View(1e-12, 1, (100.0, 200.0 + 1e-10)))
    assert not View(0, 1, None).near(View(0, 1, (0.0, 8000.0)))
    for k in range(6):
        clock.now += 1.0
        history.changing(View(0, 10 - k))
    clock.now += 1.0
    history.changing(View(0, 5 + 1e-12))  # the same view as the last step: not a second one
    steps = []
    current = View(0, 1)
    while (view := history.back(current)) is not None:
        steps.append(view)
        current = view
    assert steps == [View(0, 5), View(0, 6), View(0, 7)]  # the newest three


def test_the_model_goes_back_and_forward_through_time_and_frequency(tmp_path: Path) -> None:
    info = write_wav(tmp_path / "a.wav", 16000, 8.0)
    model = ViewerModel()
    clock = Clock()
    model.history = ViewHistory(settle=0.5, clock=clock)
    bands: list[object] = []
    ranges: list[tuple[float, float]] = []
    states: list[tuple[bool, bool]] = []
    model.band_changed.connect(bands.append)
    model.range_changed.connect(lambda a, b: ranges.append((a, b)))
    model.history_changed.connect(lambda back, fwd: states.append((back, fwd)))
    model.open(info)
    assert states[-1] == (False, False) and not model.go_back()
    clock.now += 1
    model.set_time_range(2.0, 4.0)
    assert states[-1] == (True, False)
    clock.now += 1
    model.set_freq_range((500.0, 2000.0))
    clock.now += 1
    model.set_time_range(2.5, 3.0)
    assert model.go_back()
    assert model.time_range == (2.0, 4.0) and model.freq_range == (500.0, 2000.0) and bands[-1] == (500.0, 2000.0)
    assert model.go_back() and model.freq_range is None and model.time_range == (2.0, 4.0)
    assert model.go_back() and model.time_range == (0.0, 8.0) and ranges[-1] == (0.0, 8.0)
    assert not model.go_back() and states[-1] == (False, True)
    assert model.go_forward() and model.go_forward() and model.go_forward()
    assert model.view == View(2.5, 3.0, (500.0, 2000.0)) and states[-1] == (True, False)
    # An echo of the view applied (float rounding on the way through the widgets) is not a step.
    assert model.go_back() and model.time_range == (2.0, 4.0)
    model.set_freq_range((500.0 + 1e-9, 2000.0))
    assert model.history.can_go_forward  # still there: nothing changed
    clock.now += 1
    model.set_freq_range((100.0, 2000.0))  # a real change: the way forward is gone
    assert not model.history.can_go_forward and states[-1] == (True, False)
    # Another file: a history of its own.
    model.open(info)
    assert not model.history.can_go_back and states[-1] == (False, False)


def test_the_play_cursor_is_the_models_clamped_and_reset_with_each_file(tmp_path: Path) -> None:
    info = write_wav(tmp_path / "a.wav", 16000, 2.0)
    model = ViewerModel()
    seen: list[float] = []
    model.play_cursor_changed.connect(seen.append)
    model.open(info)
    model.set_play_cursor(1.25)
    model.set_play_cursor(99.0)
    assert seen == [0.0, 1.25, pytest.approx(2.0)] and model.play_cursor == pytest.approx(2.0)
    model.set_play_cursor(float("nan"))
    assert model.play_cursor == 0.0
    model.set_play_cursor(1.0)
    model.open(info)
    assert model.play_cursor == 0.0 and seen[-1] == 0.0
