"""Work off the GUI thread without Qt: lanes in which the newest request wins."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import pytest

from spectroview.audio.errors import AudioError
from spectroview.dsp import ParameterError
from spectroview.session.scheduler import Scheduler

TIMEOUT = 10.0


def blocked_job(started: threading.Event, release: threading.Event, value: Any) -> Callable[[], Any]:
    def job() -> Any:
        started.set()
        assert release.wait(TIMEOUT)
        return value

    return job


def test_a_result_comes_back_through_run_pending(scheduler: Scheduler) -> None:
    results: list[Any] = []
    lane = scheduler.lane("view")
    assert scheduler.lane("view") is lane
    generation = lane.submit(lambda: 6 * 7, results.append)
    assert generation == 1
    assert results == []  # nothing is delivered before the caller runs the results
    assert scheduler.wait_idle(TIMEOUT)
    assert results == [42]
    assert not scheduler.busy and not lane.busy


def test_the_newest_request_wins(scheduler: Scheduler) -> None:
    lane = scheduler.lane("view")
    started, release = threading.Event(), threading.Event()
    ran: list[int] = []
    ran_lock = threading.Lock()
    delivered: list[int] = []

    def job(i: int) -> Callable[[], int]:
        def run() -> int:
            with ran_lock:
                ran.append(i)
            return i

        return run

    first = lane.submit(blocked_job(started, release, 1), delivered.append)
    assert started.wait(TIMEOUT)
    generations = [lane.submit(job(i), delivered.append) for i in range(2, 6)]
    assert [first, *generations] == [1, 2, 3, 4, 5]
    assert lane.busy
    release.set()
    assert scheduler.wait_idle(TIMEOUT)
    # The running first job was superseded: its result is dropped.  The waiting
    # requests 2..4 were replaced before they ran; only the newest ran and came back, once.
    assert delivered == [5]
    assert ran == [5]
    assert not lane.busy


def test_the_running_result_is_delivered_while_it_is_the_newest(scheduler: Scheduler) -> None:
    lane = scheduler.lane("view")
    started, release = threading.Event(), threading.Event()
    delivered: list[Any] = []
    lane.submit(blocked_job(started, release, "only"), delivered.append)
    assert started.wait(TIMEOUT)
    release.set()
    assert scheduler.wait_idle(TIMEOUT)
    assert delivered == ["only"]


def test_at_most_one_job_runs_in_a_lane(scheduler: Scheduler) -> None:
    lane = scheduler.lane("view")
    lock = threading.Lock()
    active = 0
    most = 0
    delivered: list[int] = []

    def job(i: int) -> Callable[[], int]:
        def run() -> int:
            nonlocal active, most
            with lock:
                active += 1
                most = max(most, active)
            threading.Event().wait(0.002)  # some work, so overlaps would show
            with lock:
                active -= 1
            return i

        return run

    for i in range(40):
        lane.submit(job(i), delivered.append)
        if i % 3 == 0:
            scheduler.run_pending()
    assert scheduler.wait_idle(TIMEOUT)
    assert most == 1
    assert delivered and delivered[-1] == 39
    assert delivered == sorted(set(delivered))  # never an older result after a newer one


def test_two_lanes_run_side_by_side(scheduler: Scheduler) -> None:
    a_started, b_started = threading.Event(), threading.Event()
    results: list[str] = []

    def a() -> str:
        a_started.set()
        return "a" if b_started.wait(TIMEOUT) else "a alone"

    def b() -> str:
        b_started.set()
        return "b" if a_started.wait(TIMEOUT) else "b alone"

    scheduler.lane("a.view").submit(a, results.append)
    scheduler.lane("b.view").submit(b, results.append)
    assert scheduler.wait_idle(TIMEOUT)
    assert sorted(results) == ["a", "b"]


def test_user_errors_come_back_as_the_result(scheduler: Scheduler) -> None:
    results: list[Any] = []
    audio_error = AudioError("x.wav: no such file")
    parameter_error = ParameterError("n_fft=3: must be an integer in [16, 65536]")

    def raise_(exc: BaseException) -> Callable[[], Any]:
        def run() -> Any:
            raise exc

        return run

    scheduler.lane("one").submit(raise_(audio_error), results.append)
    scheduler.lane("two").submit(raise_(parameter_error), results.append)
    assert scheduler.wait_idle(TIMEOUT)
    assert len(results) == 2
    assert any(r is audio_error for r in results)
    assert any(r is parameter_error for r in results)


def test_a_bug_comes_back_as_an_internal_error(scheduler: Scheduler, caplog: pytest.LogCaptureFixture) -> None:
    results: list[Any] = []

    def broken() -> Any:
        raise KeyError("missing")

    scheduler.lane("view").submit(broken, results.append)
    with caplog.at_level("ERROR", logger="spectroview.session.scheduler"):
        assert scheduler.wait_idle(TIMEOUT)
    assert len(results) == 1
    (error,) = results
    assert type(error) is RuntimeError
    assert str(error).startswith("internal error: ")
    assert "KeyError" in str(error) and "missing" in str(error)
    assert "Traceback" in caplog.text and "broken" in caplog.text


def test_a_value_error_that_is_not_a_parameter_error_is_a_bug(scheduler: Scheduler) -> None:
    results: list[Any] = []

    def broken() -> Any:
        raise ValueError("boom")

    scheduler.lane("view").submit(broken, results.append)
    assert scheduler.wait_idle(TIMEOUT)
    assert len(results) == 1 and type(results[0]) is RuntimeError
    assert str(results[0]) == "internal error: ValueError: boom"


def test_cancel_drops_the_running_result_and_the_waiting_request(scheduler: Scheduler) -> None:
    lane = scheduler.lane("view")
    started, release = threading.Event(), threading.Event()
    delivered: list[Any] = []
    ran_second = threading.Event()
    lane.submit(blocked_job(started, release, "running"), delivered.append)
    assert started.wait(TIMEOUT)
    lane.submit(ran_second.set, delivered.append)
    lane.cancel()
    release.set()
    assert scheduler.wait_idle(TIMEOUT)
    assert delivered == []
    assert not ran_second.is_set()
    assert not lane.busy
    # The lane works on afterwards.
    lane.submit(lambda: "after", delivered.append)
    assert scheduler.wait_idle(TIMEOUT)
    assert delivered == ["after"]


def test_deliver_runs_results_on_the_thread_that_calls_it() -> None:
    delivered: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
    deliver_threads: list[threading.Thread] = []
    done_threads: list[threading.Thread] = []
    job_threads: list[threading.Thread] = []

    def deliver(fn: Callable[[], None]) -> None:
        deliver_threads.append(threading.current_thread())
        delivered.put(fn)

    release = threading.Event()

    def job() -> int:
        job_threads.append(threading.current_thread())
        assert release.wait(TIMEOUT)  # ends after submit returned: its result is handed over by the worker
        return 1

    def on_done(result: Any) -> None:
        assert result == 1
        done_threads.append(threading.current_thread())

    s = Scheduler(deliver)
    try:
        s.lane("view").submit(job, on_done)
        release.set()
        fn = delivered.get(timeout=TIMEOUT)
        assert done_threads == []  # not before the owner runs it
        assert s.busy
        fn()
        assert not s.busy
        assert s.run_pending() == 0  # nothing went to the built-in queue
    finally:
        s.shutdown()
    me = threading.current_thread()
    assert done_threads == [me]
    assert job_threads and job_threads[0] is not me
    assert deliver_threads and deliver_threads[0] is not me  # called from the worker


def test_post_runs_on_the_delivering_thread(scheduler: Scheduler) -> None:
    threads: list[threading.Thread] = []
    poster = threading.Thread(target=lambda: scheduler.post(lambda: threads.append(threading.current_thread())))
    poster.start()
    poster.join(TIMEOUT)
    assert threads == []
    assert scheduler.run_pending(TIMEOUT) == 1
    assert threads == [threading.current_thread()]


def test_on_idle_fires_once_when_the_last_job_is_delivered(scheduler: Scheduler) -> None:
    events: list[str] = []
    scheduler.on_idle(lambda: events.append("idle"))
    started, release = threading.Event(), threading.Event()
    view = scheduler.lane("view")
    view.submit(blocked_job(started, release, "superseded"), lambda r: events.append(f"view {r}"))
    assert started.wait(TIMEOUT)
    view.submit(lambda: "newest", lambda r: events.append(f"view {r}"))
    scheduler.lane("slice").submit(lambda: "slice", lambda r: events.append(f"slice {r}"))
    # The slice is delivered while the view still runs: not idle yet.
    assert scheduler.run_pending(TIMEOUT) == 1
    assert events == ["slice slice"]
    release.set()
    assert scheduler.wait_idle(TIMEOUT)
    assert events == ["slice slice", "view newest", "idle"]
    # And again for the next burst of work.
    scheduler.lane("slice").submit(lambda: "again", lambda r: events.append(f"slice {r}"))
    assert scheduler.wait_idle(TIMEOUT)
    assert events[-2:] == ["slice again", "idle"]
    assert events.count("idle") == 2


def test_on_idle_fires_when_a_cancelled_job_ends(scheduler: Scheduler) -> None:
    idle: list[bool] = []
    scheduler.on_idle(lambda: idle.append(scheduler.busy))
    lane = scheduler.lane("view")
    started, release = threading.Event(), threading.Event()
    lane.submit(blocked_job(started, release, 1), lambda r: pytest.fail("a cancelled result was delivered"))
    assert started.wait(TIMEOUT)
    lane.cancel()
    release.set()
    assert scheduler.wait_idle(TIMEOUT)
    assert idle == [False]


def test_after_shutdown_nothing_runs_or_comes_back() -> None:
    s = Scheduler()
    started, release = threading.Event(), threading.Event()
    results: list[Any] = []
    s.lane("view").submit(blocked_job(started, release, "late"), results.append)
    assert started.wait(TIMEOUT)
    release.set()
    s.shutdown(wait=True)
    ran = threading.Event()
    s.lane("other").submit(ran.set, results.append)
    s.post(lambda: results.append("posted"))
    s.run_pending()
    assert results == []
    assert not ran.is_set()
