"""The jobs behind one pane without Qt: views with generation ids, the overview after the view, failures."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from spectroview.dsp import SpectrogramParams
from spectroview.session import jobs as jobs_module
from spectroview.session.jobs import PaneJobs, SourceRef
from spectroview.session.scheduler import Scheduler
from spectroview.session.view import ViewImage

SR = 16000
PARAMS = SpectrogramParams(sr=SR, n_fft=512, hop_length=128)
TIMEOUT = 20.0


def tone_file(path: Path, freq: float, seconds: float = 3.0) -> SourceRef:
    n = int(SR * seconds)
    y = 0.5 * np.sin(2 * np.pi * freq * np.arange(n) / SR)
    soundfile.write(path, y.astype(np.float32), SR, subtype="FLOAT")
    return SourceRef(path, n)


def peak_hz(image: ViewImage) -> float:
    row = int(np.argmax(image.levels.mean(axis=1)))
    return row * SR / image.params.n_fft


class Events:
    """Every signal of a PaneJobs, in order."""

    def __init__(self, pane: PaneJobs) -> None:
        self.log: list[tuple[str, Any]] = []
        pane.image_ready.connect(lambda image: self.log.append(("image", image)))
        pane.strip_ready.connect(lambda image: self.log.append(("strip", image)))
        pane.overview_progress.connect(lambda fraction: self.log.append(("progress", fraction)))
        pane.overview_ready.connect(lambda: self.log.append(("overview", None)))
        pane.failed.connect(lambda message: self.log.append(("failed", message)))

    def of(self, kind: str) -> list[Any]:
        return [value for k, value in self.log if k == kind]

    def kinds(self) -> list[str]:
        return [k for k, _ in self.log if k != "progress"]


def wait_for(scheduler: Scheduler, condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Run delivered results on this thread until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        left = deadline - time.monotonic()
        assert left > 0, "timed out"
        scheduler.run_pending(min(left, 0.5))


@pytest.fixture(autouse=True)
def overview_waits_for_the_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback timer out of the way: the overview starts when the view is done."""
    monkeypatch.setattr(jobs_module, "OVERVIEW_DELAY", 60.0)


def test_a_view_comes_back_with_its_generation(tmp_path: Path, scheduler: Scheduler) -> None:
    source = tone_file(tmp_path / "tone.wav", 1000.0)
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    assert pane.request_view(0.0, 1.0, 100) == pane.generation  # no source: nothing asked
    assert events.log == []
    pane.set_source(source, PARAMS)
    generation = pane.request_view(0.5, 1.0, 400)
    assert generation == pane.generation
    wait_for(scheduler, lambda: bool(events.of("image")))
    (image,) = events.of("image")
    assert isinstance(image, ViewImage)
    assert image.generation == generation
    assert image.params == PARAMS
    assert image.origin == "direct" and image.complete
    assert image.x0 <= 0.5 and image.x1 >= 1.0
    assert abs(peak_hz(image) - 1000.0) <= SR / PARAMS.n_fft
    assert pane.latest is image
    assert events.of("failed") == []


def test_only_the_newest_of_quick_requests_is_delivered(tmp_path: Path, scheduler: Scheduler) -> None:
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(tone_file(tmp_path / "tone.wav", 1000.0), PARAMS)
    ids = [pane.request_view(0.1 * i, 0.1 * i + 0.5, 300) for i in range(6)]
    assert ids == sorted(set(ids))
    assert scheduler.wait_idle(TIMEOUT)
    images = events.of("image")
    assert [image.generation for image in images] == [ids[-1]]
    assert images[0].x0 <= 0.5 <= 1.0 <= images[0].x1  # the last request's range


def test_the_overview_is_built_after_the_view(tmp_path: Path, scheduler: Scheduler) -> None:
    source = tone_file(tmp_path / "tone.wav", 1000.0)
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(source, PARAMS)
    assert pane.overview is not None and not pane.overview.complete
    generation = pane.request_view(0.0, 0.5, 200)
    wait_for(scheduler, lambda: bool(events.of("overview")))
    assert events.kinds() == ["image", "overview"]
    assert events.of("image")[0].generation == generation
    progress = events.of("progress")
    assert progress and progress[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in progress)
    assert pane.overview is not None and pane.overview.complete
    assert scheduler.wait_idle(TIMEOUT)
    assert pane.is_idle()
    # A whole-file view at a narrow width now comes from the finished overview.
    generation = pane.request_view(0.0, 3.0, 50)
    assert scheduler.wait_idle(TIMEOUT)
    image = events.of("image")[-1]
    assert image.generation == generation
    assert image.origin == "overview" and image.complete
    assert abs(peak_hz(image) - 1000.0) <= SR / PARAMS.n_fft
    # And the strip of the whole file.
    pane.request_strip(40)
    assert scheduler.wait_idle(TIMEOUT)
    (strip,) = events.of("strip")
    assert strip.levels.shape[1] <= 40 and strip.complete


def test_without_a_view_the_overview_starts_shortly(
    tmp_path: Path, scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_module, "OVERVIEW_DELAY", 0.05)
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(tone_file(tmp_path / "tone.wav", 1000.0), PARAMS)
    wait_for(scheduler, lambda: bool(events.of("overview")))
    assert events.kinds() == ["overview"]
    assert pane.overview is not None and pane.overview.complete


def test_a_new_file_drops_the_previous_files_results(tmp_path: Path, scheduler: Scheduler) -> None:
    first = tone_file(tmp_path / "first.wav", 1000.0, seconds=3.0)
    second = tone_file(tmp_path / "second.wav", 3000.0, seconds=2.0)
    other_params = SpectrogramParams(sr=SR, n_fft=1024, hop_length=256)
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(first, PARAMS)
    pane.request_view(0.0, 1.0, 300)
    # The first file's view finishes, but only arrives once the second file is shown.
    pane.set_source(second, other_params)
    assert pane.latest is None
    assert scheduler.wait_idle(TIMEOUT)
    assert events.log == []
    generation = pane.request_view(0.0, 1.0, 300)
    wait_for(scheduler, lambda: bool(events.of("overview")))
    assert scheduler.wait_idle(TIMEOUT)
    (image,) = events.of("image")
    assert image.generation == generation
    assert image.params == other_params
    assert abs(peak_hz(image) - 3000.0) <= SR / other_params.n_fft
    assert events.kinds() == ["image", "overview"]
    assert pane.overview is not None and pane.overview.n_samples == second.n_samples


def test_a_new_file_with_the_same_parameters_drops_the_previous_view(tmp_path: Path, scheduler: Scheduler) -> None:
    first = tone_file(tmp_path / "first.wav", 1000.0)
    second = tone_file(tmp_path / "second.wav", 3000.0)
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(first, PARAMS)
    pane.request_view(0.0, 1.0, 300)
    pane.set_source(second, PARAMS)
    generation = pane.request_view(0.0, 1.0, 300)
    assert scheduler.wait_idle(TIMEOUT)
    images = events.of("image")
    assert [image.generation for image in images] == [generation]
    assert abs(peak_hz(images[0]) - 3000.0) <= SR / PARAMS.n_fft


def test_a_running_overview_of_the_previous_file_is_dropped(tmp_path: Path, scheduler: Scheduler) -> None:
    first = tone_file(tmp_path / "first.wav", 1000.0, seconds=3.0)
    second = tone_file(tmp_path / "second.wav", 3000.0, seconds=2.0)
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(first, PARAMS)
    pane.request_view(0.0, 0.5, 200)
    wait_for(scheduler, lambda: bool(events.of("image")))  # the first file's overview now starts
    old = pane.overview
    pane.set_source(second, PARAMS)
    assert pane.overview is not old
    assert scheduler.wait_idle(TIMEOUT)
    assert events.kinds() == ["image"]  # the first file's overview never reports
    pane.request_view(0.0, 0.5, 200)
    wait_for(scheduler, lambda: bool(events.of("overview")))
    assert events.kinds() == ["image", "image", "overview"]
    assert pane.overview is not None and pane.overview.n_samples == second.n_samples and pane.overview.complete


def test_a_deleted_file_fails_with_its_name(tmp_path: Path, scheduler: Scheduler) -> None:
    path = tmp_path / "gone.wav"
    source = tone_file(path, 1000.0)
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(source, PARAMS)
    path.unlink()
    pane.request_view(0.0, 1.0, 300)
    assert scheduler.wait_idle(TIMEOUT)  # no exception comes out of the delivery
    failures = events.of("failed")
    assert failures
    assert all("gone.wav" in message for message in failures)
    assert events.of("image") == [] and events.of("overview") == []
    assert "gone.wav" in pane.last_error
    assert pane.latest is None


def test_a_missing_file_fails_with_its_name(tmp_path: Path, scheduler: Scheduler) -> None:
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(SourceRef(tmp_path / "never-there.wav", SR), PARAMS)
    pane.request_view(0.0, 1.0, 300)
    assert scheduler.wait_idle(TIMEOUT)
    failures = events.of("failed")
    assert failures and all("never-there.wav" in message for message in failures)
    assert events.of("image") == []


def test_clear_drops_everything(tmp_path: Path, scheduler: Scheduler) -> None:
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(tone_file(tmp_path / "tone.wav", 1000.0), PARAMS)
    pane.request_view(0.0, 1.0, 300)
    pane.clear()
    assert pane.overview is None and pane.source is None
    assert scheduler.wait_idle(TIMEOUT)
    assert events.log == []
    assert pane.is_idle()


def test_the_overview_never_starts_while_the_view_runs(
    tmp_path: Path, scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_module, "OVERVIEW_DELAY", 0.05)
    view_running, view_started, release = threading.Event(), threading.Event(), threading.Event()
    overview_started_during_view: list[bool] = []
    compute_view = jobs_module.compute_view
    submit = scheduler.submit

    def slow_view(*args: Any, **kwargs: Any) -> ViewImage:
        view_running.set()
        view_started.set()
        try:
            assert release.wait(TIMEOUT)
            return compute_view(*args, **kwargs)
        finally:
            view_running.clear()

    def watched_submit(*args: Any, **kwargs: Any) -> None:
        # The overview is the pane's one job outside the lanes; noted as it starts, on this thread.
        overview_started_during_view.append(view_running.is_set())
        submit(*args, **kwargs)

    monkeypatch.setattr(jobs_module, "compute_view", slow_view)
    monkeypatch.setattr(scheduler, "submit", watched_submit)
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(tone_file(tmp_path / "tone.wav", 1000.0), PARAMS)
    pane.request_view(0.0, 0.5, 200)
    assert view_started.wait(TIMEOUT)
    assert scheduler.run_pending(TIMEOUT) >= 1  # the delay's timer has fired, the view still runs
    release.set()
    wait_for(scheduler, lambda: bool(events.of("overview")))
    assert events.kinds() == ["image", "overview"]
    assert overview_started_during_view == [False]


def test_new_levels_recolour_the_latest_image_without_computing(
    tmp_path: Path, scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    pane.set_source(tone_file(tmp_path / "tone.wav", 1000.0), PARAMS)
    pane.request_view(0.5, 1.0, 300, height=120, levels=(-90.0, 0.0))
    wait_for(scheduler, lambda: bool(events.of("image")))
    first = events.of("image")[-1]
    calls: list[str] = []
    monkeypatch.setattr(jobs_module, "compute_view", lambda *a, **k: calls.append("view"))
    monkeypatch.setattr("spectroview.dsp.stft.rfft", lambda *a, **k: calls.append("fft"))
    pane.recolour((-60.0, -10.0))
    wait_for(scheduler, lambda: len(events.of("image")) == 2)
    again = events.of("image")[-1]
    assert calls == []  # no view, no FFT
    assert again.generation == first.generation and again.index_levels == (-60.0, -10.0)
    np.testing.assert_array_equal(again.levels, first.levels)
    assert again.display is not None and again.indices is not None
    expected = np.clip((again.display + 60.0) * (256.0 / 50.0), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(again.indices, expected)
    assert not np.array_equal(again.indices, first.indices)
    pane.recolour((-60.0, -10.0))  # the same levels again: nothing to do
    assert scheduler.wait_idle(TIMEOUT)
    assert len(events.of("image")) == 2


def test_a_parameter_change_reads_no_samples_again_until_the_file_changes(
    tmp_path: Path, scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spectroview.audio.files import FileSource

    reads: list[tuple[int, int]] = []
    read = FileSource.read

    def counted(self: FileSource, start: int = 0, stop: int | None = None, **kwargs: Any) -> np.ndarray:
        if threading.current_thread().name.startswith("spectroview-job"):  # a view's read (not an overview's)
            reads.append((start, stop or 0))
        return read(self, start, stop, **kwargs)

    monkeypatch.setattr(FileSource, "read", counted)
    path = tmp_path / "tone.wav"
    source = tone_file(path, 1000.0)
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    for n_fft in (512, 1024, 256):
        pane.set_source(source, SpectrogramParams(sr=SR, n_fft=n_fft, hop_length=n_fft // 4))
        pane.request_view(1.0, 2.0, 300)
        wait_for(scheduler, lambda n=n_fft: bool(events.of("image")) and events.of("image")[-1].params.n_fft == n)
    views = events.of("image")
    assert [image.params.n_fft for image in views] == [512, 1024, 256]
    assert len(reads) == 1  # the first view's samples (with a margin) served the others
    for image in views:  # each still its own exact spectrogram
        assert abs(peak_hz(image) - 1000.0) <= SR / image.params.n_fft
    # The file rewritten in place (same length, other content): read again, not served stale.
    before = path.stat()
    other = 0.5 * np.sin(2 * np.pi * 3000.0 * np.arange(3 * SR) / SR)
    soundfile.write(path, other.astype(np.float32), SR, subtype="FLOAT")
    # A later modification time, whatever the filesystem's timestamp resolution.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    pane.request_view(1.0, 2.0, 300)
    wait_for(scheduler, lambda: len(events.of("image")) == 4)
    assert len(reads) == 2
    assert abs(peak_hz(events.of("image")[-1]) - 3000.0) <= SR / 256


def test_a_build_pauses_while_a_view_runs(
    tmp_path: Path, scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The overview build yields to interactive jobs between its engine steps."""
    running, release = threading.Event(), threading.Event()
    steps_during_view: list[int] = []
    pane = PaneJobs(scheduler, "a")
    source = tone_file(tmp_path / "long.wav", 1000.0, seconds=600.0)
    pane.set_source(source, PARAMS)
    overview = pane.overview
    assert overview is not None
    pane._start_deferred(overview)  # the build starts now, without a view first
    wait_for(scheduler, lambda: overview.frames_done > 0, timeout=TIMEOUT)

    def held_view() -> int:
        before = overview.frames_done
        steps_during_view.append(overview.n_frames - before)  # what was left to build
        running.set()
        assert release.wait(TIMEOUT)
        steps_during_view.append(overview.frames_done - before)
        return 0

    scheduler.lane("a.test").submit(held_view, lambda _result: None)
    assert running.wait(TIMEOUT)
    time.sleep(0.3)  # long enough for many engine steps, were the build not paused
    release.set()
    assert scheduler.wait_idle(60.0)
    assert overview.complete
    left, during = steps_during_view
    assert left > 4 * (1 << 18) // PARAMS.hop  # the build had far to go when the view started ...
    assert during <= 2 * (1 << 18) // PARAMS.hop  # ... and made at most the step under way meanwhile


def test_after_a_parameter_change_the_overview_waits_for_quiet_views(
    tmp_path: Path, scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_module, "SETTLE_DELAY", 0.3)
    pane = PaneJobs(scheduler, "a")
    events = Events(pane)
    source = tone_file(tmp_path / "tone.wav", 1000.0)
    pane.set_source(source, PARAMS)
    pane.request_view(0.0, 0.5, 200)
    wait_for(scheduler, lambda: bool(events.of("overview")))  # a file just opened: built at once
    other = SpectrogramParams(sr=SR, n_fft=1024, hop_length=256)
    pane.set_source(source, other)
    pane.request_view(0.0, 0.5, 200)
    wait_for(scheduler, lambda: len(events.of("image")) == 2)
    shown = time.monotonic()
    started: list[float] = []
    pane.overview_progress.connect(lambda _f: started.append(time.monotonic()))
    wait_for(scheduler, lambda: len(events.of("overview")) == 2)
    assert started and started[0] - shown >= 0.25
    assert pane.overview is not None and pane.overview.complete and pane.overview.params == other
