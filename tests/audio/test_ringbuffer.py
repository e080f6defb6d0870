"""Tests of :mod:`spectroview.audio.ringbuffer`."""

from __future__ import annotations

import gc
import re
import sys
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spectroview.audio.errors import AudioError
from spectroview.audio.ringbuffer import RingBuffer, RingBufferError


def ramp(start: int, stop: int, channels: int = 1) -> np.ndarray:
    """Frames whose values encode their absolute index, float32-exact.

    Frame ``i`` channel ``c`` holds ``i * channels + c``; shape ``(n,)`` for
    mono, else ``(n, channels)``.
    """
    values = np.arange(start * channels, stop * channels, dtype=np.float32)
    return values if channels == 1 else values.reshape(-1, channels)


# -- construction -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity": 0}, "capacity=0: must be >= 1"),
        ({"capacity": -3}, "capacity=-3: must be >= 1"),
        ({"capacity": 8, "channels": 0}, "channels=0: must be >= 1"),
    ],
)
def test_constructor_rejects_non_positive_sizes(kwargs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        RingBuffer(**kwargs)


@pytest.mark.parametrize("capacity", [2.5, "8", True])
def test_constructor_rejects_non_integer_capacity(capacity):
    with pytest.raises(TypeError, match=r"^capacity=.*: must be an int >= 1$"):
        RingBuffer(capacity)


def test_new_buffer_is_empty():
    rb = RingBuffer(16, channels=2)
    assert (rb.capacity, rb.channels) == (16, 2)
    assert (rb.write_index, rb.oldest_index, rb.read_index, rb.dropped) == (0, 0, 0, 0)
    assert len(rb) == 0
    assert rb.pop().shape == (0, 2)
    assert rb.read(0, 0).shape == (0, 2)


def test_ringbuffer_error_is_an_audio_error():
    assert issubclass(RingBufferError, AudioError)


# -- writing and reading -------------------------------------------------------


def test_write_smaller_than_capacity():
    rb = RingBuffer(10)
    rb.write(ramp(0, 4))
    assert rb.write_index == 4
    assert rb.oldest_index == 0
    assert len(rb) == 4
    out = rb.read(0, 4)
    assert out.dtype == np.float32
    assert out.shape == (4,)
    np.testing.assert_array_equal(out, ramp(0, 4))
    np.testing.assert_array_equal(rb.read(1, 3), ramp(1, 3))


def test_wrap_around_across_mirror_boundary():
    rb = RingBuffer(8)
    rb.write(ramp(0, 6))
    # Positions 6, 7, then 0..2: this block straddles the end of the first half.
    rb.write(ramp(6, 11))
    assert (rb.write_index, rb.oldest_index, len(rb)) == (11, 3, 8)
    np.testing.assert_array_equal(rb.read(3, 11), ramp(3, 11))
    np.testing.assert_array_equal(rb.read(5, 9), ramp(5, 9))
    np.testing.assert_array_equal(rb.read(10, 11), ramp(10, 11))


@pytest.mark.parametrize("channels", [1, 3])
def test_reads_by_absolute_index_across_many_wraps(channels):
    capacity = 37
    rb = RingBuffer(capacity, channels=channels)
    rng = np.random.default_rng(1)
    reference = rng.standard_normal((40 * capacity, channels)).astype(np.float32)
    if channels == 1:
        reference = reference[:, 0]
    written = 0
    while written < len(reference):
        n = int(rng.integers(1, capacity + 1))
        rb.write(reference[written : written + n])
        written = min(written + n, len(reference))
        assert rb.write_index == written
        # Every window inside what is held, including the full capacity.
        oldest = max(0, written - capacity)
        for _ in range(5):
            start, stop = sorted(int(i) for i in rng.integers(oldest, written + 1, size=2))
            np.testing.assert_array_equal(rb.read(start, stop), reference[start:stop])
        np.testing.assert_array_equal(rb.read(oldest, written), reference[oldest:written])


def test_mono_buffer_accepts_n_by_1_blocks():
    rb = RingBuffer(8)
    rb.write(ramp(0, 5).reshape(-1, 1))
    rb.write(ramp(5, 7))
    rb.write(ramp(7, 12).reshape(-1, 1))
    out = rb.read(4, 12)
    assert out.shape == (8,)
    np.testing.assert_array_equal(out, ramp(4, 12))


def test_multichannel_read_shape_and_values():
    rb = RingBuffer(5, channels=2)
    rb.write(ramp(0, 7, channels=2))
    out = rb.read(2, 7)
    assert out.shape == (5, 2)
    np.testing.assert_array_equal(out, ramp(2, 7, channels=2))


def test_write_casts_other_real_dtypes_without_scaling():
    rb = RingBuffer(4)
    rb.write(np.array([1, -2, 32767], dtype=np.int16))
    rb.write(np.array([0.5], dtype=np.float64))
    np.testing.assert_array_equal(rb.read(0, 4), np.array([1, -2, 32767, 0.5], np.float32))


def test_write_of_empty_block_changes_nothing():
    rb = RingBuffer(4)
    rb.write(ramp(0, 3))
    rb.write(np.zeros(0, np.float32))
    assert rb.write_index == 3
    np.testing.assert_array_equal(rb.read(0, 3), ramp(0, 3))


def test_write_accepts_non_contiguous_blocks():
    rb = RingBuffer(8, channels=2)
    interleaved = ramp(0, 12, channels=4)
    rb.write(interleaved[:, ::2])
    np.testing.assert_array_equal(rb.read(4, 12), interleaved[4:12, ::2])


@pytest.mark.parametrize(
    ("channels", "block", "message"),
    [
        (2, np.zeros(4, np.float32), "expected shape (n, 2) for a 2-channel buffer"),
        (2, np.zeros((4, 3), np.float32), "expected shape (n, 2)"),
        (1, np.zeros((4, 2), np.float32), "expected shape (n,) or (n, 1)"),
        (1, np.zeros((4, 1, 1), np.float32), "expected shape (n,) or (n, 1)"),
        (1, np.zeros(4, np.complex64), "cannot be stored as float32"),
        (1, [0.0, 1.0], "block must be a numpy array"),
    ],
)
def test_write_rejects_malformed_blocks_without_changing_state(channels, block, message):
    rb = RingBuffer(8, channels=channels)
    with pytest.raises(RingBufferError, match=re.escape(message)):
        rb.write(block)
    assert rb.write_index == 0


# -- views and copies ----------------------------------------------------------


def test_read_returns_read_only_view_of_storage():
    rb = RingBuffer(8)
    rb.write(ramp(0, 13))
    view = rb.read(6, 13)
    assert np.shares_memory(view, rb._frames)
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0] = 99.0


def test_view_is_overwritten_but_copy_is_not():
    rb = RingBuffer(4)
    rb.write(ramp(0, 4))
    view = rb.read(0, 4)
    copy = rb.read(0, 4, copy=True)
    assert not np.shares_memory(copy, rb._frames)
    assert copy.flags.writeable
    rb.write(ramp(4, 8))
    np.testing.assert_array_equal(copy, ramp(0, 4))
    # Documented behaviour of views: the writer reuses their memory.
    np.testing.assert_array_equal(view, ramp(4, 8))


def test_pop_returns_view_unless_copy_requested():
    rb = RingBuffer(8)
    rb.write(ramp(0, 10))
    view = rb.pop(max_frames=3)
    assert np.shares_memory(view, rb._frames)
    assert not view.flags.writeable
    copy = rb.pop(copy=True)
    assert not np.shares_memory(copy, rb._frames)
    np.testing.assert_array_equal(view, ramp(2, 5))
    np.testing.assert_array_equal(copy, ramp(5, 10))


# -- range errors --------------------------------------------------------------


def test_read_of_overwritten_range_raises_with_range_in_message():
    rb = RingBuffer(1024)
    rb.write(ramp(0, 1174))
    expected = "read(100, 200): samples before 150 were overwritten (available [150, 1174))"
    with pytest.raises(RingBufferError, match=f"^{re.escape(expected)}$"):
        rb.read(100, 200)


def test_read_of_unwritten_range_raises():
    rb = RingBuffer(16)
    rb.write(ramp(0, 10))
    expected = "read(5, 12): samples from 10 on are not yet written (available [0, 10))"
    with pytest.raises(RingBufferError, match=f"^{re.escape(expected)}$"):
        rb.read(5, 12)


@pytest.mark.parametrize(
    ("start", "stop", "message"),
    [
        (-1, 2, "read(-1, 2): start must be >= 0"),
        (3, 2, "read(3, 2): start must be <= stop"),
    ],
)
def test_read_rejects_malformed_ranges(start, stop, message):
    rb = RingBuffer(16)
    rb.write(ramp(0, 10))
    with pytest.raises(RingBufferError, match=f"^{re.escape(message)}$"):
        rb.read(start, stop)


def test_pop_rejects_negative_max_frames():
    rb = RingBuffer(4)
    with pytest.raises(RingBufferError, match=r"^pop\(max_frames=-1\): must be >= 0 or None$"):
        rb.pop(-1)


# -- reader cursor and drops ---------------------------------------------------


def test_pop_consumes_in_order_and_respects_max_frames():
    rb = RingBuffer(10)
    rb.write(ramp(0, 7))
    assert rb.available == 7
    np.testing.assert_array_equal(rb.pop(max_frames=3), ramp(0, 3))
    assert rb.read_index == 3
    np.testing.assert_array_equal(rb.pop(), ramp(3, 7))
    assert rb.pop().size == 0
    assert rb.available == 0
    rb.write(ramp(7, 9))
    np.testing.assert_array_equal(rb.pop(), ramp(7, 9))
    assert rb.dropped == 0


def test_overrun_counts_exact_drops_and_keeps_most_recent_capacity():
    capacity = 100
    rb = RingBuffer(capacity)
    for start in range(0, 350, 25):
        rb.write(ramp(start, start + 25))
    assert rb.write_index == 350
    # Counted as soon as the frames are overwritten, before the reader looks.
    assert rb.dropped == 250
    out = rb.pop()
    np.testing.assert_array_equal(out, ramp(250, 350))
    assert rb.dropped == 250
    assert rb.read_index == 350
    rb.write(ramp(350, 360))
    np.testing.assert_array_equal(rb.pop(), ramp(350, 360))
    assert rb.dropped == 250


def test_oversized_single_write_keeps_last_capacity_frames_and_counts_the_rest():
    rb = RingBuffer(8, channels=2)
    rb.write(ramp(0, 3, channels=2))
    rb.write(ramp(3, 23, channels=2))
    assert rb.write_index == 23
    assert rb.oldest_index == 15
    assert rb.dropped == 15
    np.testing.assert_array_equal(rb.read(15, 23), ramp(15, 23, channels=2))
    np.testing.assert_array_equal(rb.pop(), ramp(15, 23, channels=2))
    assert rb.dropped == 15


def test_oversized_write_after_partial_pop_counts_only_unread_frames():
    rb = RingBuffer(4)
    rb.write(ramp(0, 3))
    np.testing.assert_array_equal(rb.pop(max_frames=2), ramp(0, 2))
    rb.write(ramp(3, 13))
    # Frames 2..8 never reached the reader: 7 drops.
    np.testing.assert_array_equal(rb.pop(), ramp(9, 13))
    assert rb.dropped == 7


def test_clear_resets_indices_and_drops():
    rb = RingBuffer(4)
    rb.write(ramp(0, 10))
    rb.clear()
    assert (rb.write_index, rb.read_index, rb.dropped, len(rb)) == (0, 0, 0, 0)
    rb.write(ramp(100, 102))
    np.testing.assert_array_equal(rb.pop(), ramp(100, 102))


# -- writer racing a reader, simulated deterministically -----------------------


class _WriterDuringCopy(RingBuffer):
    """Runs the queued writes in the middle of the reader's copy, as an audio
    callback preempting the reader would."""

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self.pending: list[np.ndarray] = []

    def _copy_out(self, view):
        while self.pending:
            self.write(self.pending.pop(0))
        return super()._copy_out(view)


def test_pop_trims_and_counts_frames_overwritten_during_copy():
    rb = _WriterDuringCopy(10)
    rb.write(ramp(0, 10))
    rb.pending.append(ramp(10, 14))
    out = rb.pop(copy=True)
    # Frames 0..3 were replaced by 10..13 while being copied.
    np.testing.assert_array_equal(out, ramp(4, 10))
    assert rb.read_index == 10
    assert rb.dropped == 4
    np.testing.assert_array_equal(rb.pop(copy=True), ramp(10, 14))
    assert rb.dropped == 4


def test_pop_drops_everything_when_lapped_during_copy():
    rb = _WriterDuringCopy(5)
    rb.write(ramp(0, 5))
    rb.pending.append(ramp(5, 12))
    out = rb.pop(copy=True)
    assert out.size == 0
    assert rb.dropped == 7
    np.testing.assert_array_equal(rb.pop(copy=True), ramp(7, 12))
    assert rb.read_index == 12
    assert rb.dropped == 7


def test_read_raises_when_overwritten_during_copy():
    rb = _WriterDuringCopy(10)
    rb.write(ramp(0, 10))
    rb.pending.append(ramp(10, 13))
    expected = "read(2, 8): samples before 3 were overwritten during the read (available [3, 13))"
    with pytest.raises(RingBufferError, match=f"^{re.escape(expected)}$"):
        rb.read(2, 8, copy=True)
    # A range the concurrent write did not reach is still returned intact.
    np.testing.assert_array_equal(rb.read(3, 13, copy=True), ramp(3, 13))


# -- real-time safety ----------------------------------------------------------


@pytest.mark.parametrize(("channels", "mono_2d"), [(1, False), (1, True), (2, False)])
def test_write_does_not_allocate(channels, mono_2d):
    capacity = 3000
    rb = RingBuffer(capacity, channels=channels)
    # 4096 frames > capacity also exercises the oversized path; a single
    # temporary copy of the block would be >= 16 kB, above the limit below.
    blocks = [ramp(0, n, channels) for n in (1024, 777, 4096)]
    if mono_2d:
        blocks = [b.reshape(-1, 1) for b in blocks]
    for block in blocks:  # warm up caches (ints, numpy internals)
        rb.write(block)
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for i in range(1000):
            rb.write(blocks[i % 3])
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        if gc_was_enabled:
            gc.enable()
    assert current - baseline < 10_000
    assert peak - baseline < 10_000


# -- property test against a reference model -----------------------------------

_operation = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 80), st.booleans()),
    st.tuples(st.just("pop"), st.one_of(st.none(), st.integers(0, 40)), st.booleans()),
    st.tuples(st.just("read"), st.integers(-50, 10), st.integers(0, 60)),
)


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.integers(1, 32),
    channels=st.sampled_from([1, 2, 3]),
    operations=st.lists(_operation, max_size=40),
)
def test_matches_reference_model(capacity, channels, operations):
    rb = RingBuffer(capacity, channels=channels)
    written = 0  # the reference data are ramp(0, written, channels)
    cursor = 0
    dropped = 0
    popped = 0
    for op in operations:
        if op[0] == "write":
            _, n, as_2d = op
            block = ramp(written, written + n, channels)
            if channels == 1 and as_2d:
                block = block.reshape(-1, 1)
            rb.write(block)
            written += n
        elif op[0] == "pop":
            _, max_frames, copy = op
            start = max(cursor, written - capacity)
            stop = written if max_frames is None else min(written, start + max_frames)
            dropped += start - cursor
            out = rb.pop(max_frames, copy=copy)
            np.testing.assert_array_equal(out, ramp(start, stop, channels))
            cursor = stop
            popped += len(out)
        else:
            # Offsets relative to the oldest frame, so both valid and invalid
            # ranges are drawn.
            _, offset, length = op
            start = max(0, written - capacity) + offset
            stop = start + length
            if start < 0 or start < written - capacity or stop > written:
                with pytest.raises(RingBufferError):
                    rb.read(start, stop)
            else:
                np.testing.assert_array_equal(rb.read(start, stop), ramp(start, stop, channels))
        oldest = max(0, written - capacity)
        assert rb.write_index == written
        assert rb.oldest_index == oldest
        assert len(rb) == written - oldest
        assert rb.read_index == cursor
        assert rb.dropped == dropped + max(0, oldest - cursor)
        assert rb.available == written - max(cursor, oldest)
    # Draining the reader accounts for every frame written: popped or dropped.
    popped += len(rb.pop())
    assert rb.read_index == written
    assert popped + rb.dropped == written


# -- real threads ----------------------------------------------------------------


def test_threaded_writer_and_popping_reader_keep_data_intact():
    # Large blocks make numpy release the GIL while copying, so writes really
    # do land inside the reader's copies; the lead lets the writer lap the
    # reader now and then, so drops happen too.
    capacity = 16_384
    max_block = 8_192
    lead = capacity + capacity // 4
    total = 3_000_000  # < 2**24, so the float32 ramp is exact
    rb = RingBuffer(capacity)
    done = threading.Event()
    abort = threading.Event()

    def writer() -> None:
        try:
            rng = np.random.default_rng(7)
            data = ramp(0, total)
            written = 0
            while written < total and not abort.is_set():
                # Busy-wait pacing (no sleep): an unthrottled writer would
                # lap the reader constantly and few frames would be popped.
                while rb.write_index - rb.read_index > lead and not abort.is_set():
                    pass
                n = int(rng.integers(1, max_block))
                rb.write(data[written : written + n])
                written = min(total, written + n)
        finally:
            done.set()

    popped = 0
    n_pops = 0
    bad_chunks: list[tuple[int, int]] = []
    max_frames_cycle = [None, None, 300, None, 1]
    old_interval = sys.getswitchinterval()
    # Frequent thread switches make the writer run between the reader's steps.
    sys.setswitchinterval(1e-6)
    pool = ThreadPoolExecutor(max_workers=1)
    writer_result = pool.submit(writer)
    try:
        while True:
            finished = done.is_set()
            out = rb.pop(max_frames_cycle[n_pops % 5], copy=True)
            end = rb.read_index
            if not np.array_equal(out, ramp(end - len(out), end)):
                bad_chunks.append((end - len(out), end))
            popped += len(out)
            n_pops += 1
            if finished and rb.available == 0:
                break
    finally:
        abort.set()
        pool.shutdown(wait=True)
        sys.setswitchinterval(old_interval)

    writer_result.result()  # re-raises anything the writer raised
    assert bad_chunks == []
    assert rb.write_index == total
    assert rb.read_index == total
    assert popped > 0
    assert popped + rb.dropped == total
