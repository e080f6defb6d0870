"""Lock-free single-writer/single-reader ring buffer of audio frames.

The writer is a PortAudio audio callback; the reader is a GUI timer or a
worker that feeds the spectrogram.  Only numpy is used here: no Qt, no
sounddevice, no locks.

Layout
------
Storage is a preallocated ``float32`` array of ``2 * capacity`` frames (shape
``(2 * capacity,)`` for mono, ``(2 * capacity, channels)`` otherwise).  The
frame with absolute index ``i`` is stored twice, at positions
``i % capacity`` and ``i % capacity + capacity`` (a *mirrored* buffer).  Any
run of up to ``capacity`` consecutive frames therefore starts at position
``start % capacity`` and is one contiguous slice, so a read can return a
numpy view without copying or concatenating.

Absolute indices
----------------
Frames are addressed by their absolute index, the number of frames written
before them since construction (or the last :meth:`RingBuffer.clear`).  At
the stream's sample rate ``sr``, frame ``i`` was captured ``i / sr`` seconds
after the first one.  Frames discarded by an oversized write still advance
the index, so indices stay a sample clock.

Concurrency contract
--------------------
There must be exactly one writer thread (calling :meth:`RingBuffer.write`)
and one reader thread (calling everything else that changes state:
:meth:`RingBuffer.read`, :meth:`RingBuffer.pop`).  The protocol relies on
CPython with the GIL: storing or loading a Python ``int`` attribute is atomic
and seen by the other thread in program order.  It has not been checked on
free-threaded builds.

The writer keeps two counters, both only ever increased:

1. ``_reserve_index`` is set to the end of the block *before* any storage is
   touched.  While a write is in progress, frames below
   ``_reserve_index - capacity`` may already be overwritten.
2. ``write_index`` is set to the same value *after* the data are in place.

A reader that loads ``write_index`` first only ever addresses complete
frames.  After taking its slice (a copy, or just the view) it loads
``_reserve_index`` again; every frame below ``_reserve_index - capacity``
may have been overwritten meanwhile and is rejected (:meth:`RingBuffer.read`
raises) or trimmed and counted as dropped (:meth:`RingBuffer.pop`).  The
guarantee is therefore: a copy returned by a read is exactly what was
written; a view is exactly what was written at the moment it is returned,
and stays so only until the writer has written another
``capacity - (write_index - start)`` frames.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spectroview.audio.errors import AudioError

__all__ = ["RingBuffer", "RingBufferError"]


class RingBufferError(AudioError):
    """Misuse of a :class:`RingBuffer`, or a request for frames it no longer
    (or not yet) holds."""


def _positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 1, else raise."""
    if isinstance(value, bool):
        raise TypeError(f"{name}={value!r}: must be an int >= 1")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}={value!r}: must be an int >= 1") from None
    if number < 1:
        raise ValueError(f"{name}={number}: must be >= 1")
    return number


class RingBuffer:
    """Fixed-capacity mirrored ring buffer of ``float32`` audio frames.

    Parameters
    ----------
    capacity : int
        Number of frames held, >= 1.  The most recent ``capacity`` frames can
        always be read.
    channels : int, optional
        Number of channels per frame, >= 1 (default 1).

    Raises
    ------
    ValueError
        If ``capacity`` or ``channels`` is < 1.
    TypeError
        If ``capacity`` or ``channels`` is not an integer.

    Notes
    -----
    Reads return shape ``(n,)`` for a mono buffer and ``(n, channels)``
    otherwise, dtype ``float32``.  Values are stored as given (cast to
    ``float32``, no scaling), so integer PCM blocks keep their integer range.

    See the module docstring for the single-writer/single-reader contract.
    Memory use is ``2 * capacity * channels * 4`` bytes.
    """

    def __init__(self, capacity: int, *, channels: int = 1) -> None:
        self._capacity = _positive_int("capacity", capacity)
        self._channels = _positive_int("channels", channels)
        n_positions = 2 * self._capacity
        shape = (n_positions,) if self._channels == 1 else (n_positions, self._channels)
        self._frames: NDArray[np.float32] = np.zeros(shape, dtype=np.float32)
        # Same memory as 2-D, so a mono buffer takes (n, 1) blocks, as
        # sounddevice delivers them, without a per-write reshape.
        self._frames_2d: NDArray[np.float32] = self._frames.reshape(n_positions, self._channels)
        self._write_index = 0
        self._reserve_index = 0
        self._read_index = 0
        self._dropped = 0

    # -- properties ---------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Number of frames the buffer holds when full."""
        return self._capacity

    @property
    def channels(self) -> int:
        """Number of channels per frame."""
        return self._channels

    @property
    def write_index(self) -> int:
        """Absolute index one past the newest complete frame.

        Equals the total number of frames ever written, including those an
        oversized write discarded.  Only increases (until :meth:`clear`).
        """
        return self._write_index

    @property
    def oldest_index(self) -> int:
        """Absolute index of the oldest frame still held:
        ``max(0, write_index - capacity)``."""
        return max(0, self._write_index - self._capacity)

    @property
    def read_index(self) -> int:
        """Absolute index of the reader cursor used by :meth:`pop`.

        After a pop the returned frames always end at ``read_index``, so the
        first of ``n`` returned frames has index ``read_index - n``.
        """
        return self._read_index

    @property
    def available(self) -> int:
        """Number of frames :meth:`pop` would return now (if the writer
        stood still)."""
        return min(self._write_index - self._read_index, self._capacity)

    @property
    def dropped(self) -> int:
        """Total number of frames the reader cursor has lost, as an int.

        Includes frames overwritten before :meth:`pop` got to them (counted
        as soon as they are overwritten, not only at the next pop), frames
        discarded by an oversized :meth:`write`, and frames overwritten while
        :meth:`pop` was taking them.  After the writer stops and the reader
        pops everything, ``frames popped + dropped == write_index``.
        """
        lapped = self._write_index - self._capacity - self._read_index
        return self._dropped + max(0, lapped)

    def __len__(self) -> int:
        """Number of frames currently held: ``write_index - oldest_index``."""
        return min(self._write_index, self._capacity)

    def __repr__(self) -> str:
        return (
            f"RingBuffer(capacity={self._capacity}, channels={self._channels}, "
            f"write_index={self._write_index}, read_index={self._read_index}, "
            f"dropped={self.dropped})"
        )

    # -- writer side --------------------------------------------------------

    def write(self, block: NDArray[Any]) -> None:
        """Append a block of frames; real-time safe.

        Never blocks, takes no lock, allocates no sample memory and does not
        log, so it may be called from the audio callback.  If the block is
        longer than ``capacity`` only its last ``capacity`` frames are kept;
        the others still advance :attr:`write_index` and count as
        :attr:`dropped`.

        Parameters
        ----------
        block : numpy.ndarray
            Frames, shape ``(n, channels)``; for a mono buffer also ``(n,)``.
            Any real dtype; values are cast to ``float32`` without scaling.
            A ``float32`` block is copied with no conversion.

        Raises
        ------
        RingBufferError
            If ``block`` is not an ndarray, has the wrong shape, or a complex
            (or other non-real) dtype.  Never for valid blocks.
        """
        if not isinstance(block, np.ndarray):
            raise RingBufferError(f"write(block of type {type(block).__name__}): block must be a numpy array")
        if block.ndim == 1 and self._channels == 1:
            storage = self._frames
        elif block.ndim == 2 and block.shape[1] == self._channels:
            storage = self._frames_2d
        else:
            expected = "(n,) or (n, 1)" if self._channels == 1 else f"(n, {self._channels})"
            raise RingBufferError(
                f"write(block of shape {block.shape}): expected shape {expected} for a {self._channels}-channel buffer"
            )
        if not np.can_cast(block.dtype, np.float32, casting="same_kind"):
            raise RingBufferError(f"write(block of dtype {block.dtype}): cannot be stored as float32")

        n_frames = block.shape[0]
        if n_frames == 0:
            return
        capacity = self._capacity
        end = self._write_index + n_frames
        if n_frames > capacity:
            block = block[n_frames - capacity :]
            n_frames = capacity

        # Announced before touching storage: a concurrent reader must learn
        # that frames below end - capacity may be garbage from now on.
        self._reserve_index = end
        position = (end - n_frames) % capacity
        head = min(n_frames, capacity - position)
        storage[position : position + head] = block[:head]
        storage[position + capacity : position + capacity + head] = block[:head]
        if head < n_frames:
            tail = n_frames - head
            storage[:tail] = block[head:]
            storage[capacity : capacity + tail] = block[head:]
        # Published last, so a reader that loads write_index first only
        # addresses frames that are completely in place.
        self._write_index = end

    # -- reader side --------------------------------------------------------

    def read(self, start: int, stop: int, *, copy: bool = False) -> NDArray[np.float32]:
        """Return the frames with absolute indices ``[start, stop)``.

        Does not move the reader cursor.

        Parameters
        ----------
        start, stop : int
            Absolute frame indices, ``oldest_index <= start <= stop <=
            write_index``.
        copy : bool, optional
            If False (default), return a read-only view into the storage.
            The view is valid when returned but is overwritten in place once
            the writer has written ``capacity - (write_index - start)`` more
            frames; use ``copy=True`` to keep the data.

        Returns
        -------
        numpy.ndarray
            ``float32``, shape ``(stop - start,)`` for mono, else
            ``(stop - start, channels)``.

        Raises
        ------
        RingBufferError
            If the range is reversed or negative, reaches frames not yet
            written, or includes frames already overwritten (also if they
            were overwritten while this read was taking them).
        """
        start = operator.index(start)
        stop = operator.index(stop)
        write_index = self._write_index
        if start < 0:
            raise RingBufferError(f"read({start}, {stop}): start must be >= 0")
        if start > stop:
            raise RingBufferError(f"read({start}, {stop}): start must be <= stop")
        oldest = max(0, write_index - self._capacity)
        held = f"(available [{oldest}, {write_index}))"
        if start < oldest:
            raise RingBufferError(f"read({start}, {stop}): samples before {oldest} were overwritten {held}")
        if stop > write_index:
            raise RingBufferError(f"read({start}, {stop}): samples from {write_index} on are not yet written {held}")
        frames = self._take(start, stop, copy)
        overwritten = self._reserve_index - self._capacity
        if start < overwritten:
            write_index = self._write_index
            raise RingBufferError(
                f"read({start}, {stop}): samples before {overwritten} were overwritten "
                f"during the read (available [{max(0, overwritten)}, {write_index}))"
            )
        return frames

    def pop(self, max_frames: int | None = None, *, copy: bool = False) -> NDArray[np.float32]:
        """Return the frames after the reader cursor and advance the cursor.

        Returns the frames ``[read_index, write_index)``, at most
        ``max_frames`` of them (oldest first).  If the writer has lapped the
        reader, the lost frames are added to :attr:`dropped` and the returned
        frames start at :attr:`oldest_index`.  Frames overwritten while they
        were being taken are trimmed from the front and also counted as
        dropped, so the result always ends at the new :attr:`read_index`.

        Parameters
        ----------
        max_frames : int or None, optional
            Upper bound on the number of frames returned, >= 0; None (default)
            for all available.
        copy : bool, optional
            If False (default), return a read-only view into the storage,
            valid under the same terms as in :meth:`read`.  If True, return
            a new array that no later write can change.

        Returns
        -------
        numpy.ndarray
            ``float32``, shape ``(n,)`` for mono, else ``(n, channels)``, with
            ``0 <= n <= min(capacity, max_frames)``.

        Raises
        ------
        RingBufferError
            If ``max_frames`` is negative.
        """
        if max_frames is not None:
            max_frames = operator.index(max_frames)
            if max_frames < 0:
                raise RingBufferError(f"pop(max_frames={max_frames}): must be >= 0 or None")
        write_index = self._write_index
        cursor = self._read_index
        start = max(cursor, write_index - self._capacity)
        stop = write_index if max_frames is None else min(write_index, start + max_frames)
        frames = self._take(start, stop, copy)
        overwritten = self._reserve_index - self._capacity
        n_lost = min(max(0, overwritten - start), stop - start)
        self._dropped += (start - cursor) + n_lost
        self._read_index = stop
        return frames[n_lost:]

    def clear(self) -> None:
        """Forget all frames and reset every index and :attr:`dropped` to 0.

        Not thread-safe: call it only while no :meth:`write` can run
        (e.g. with the audio stream stopped), since the writer's counters are
        reset too.
        """
        self._write_index = 0
        self._reserve_index = 0
        self._read_index = 0
        self._dropped = 0

    def _take(self, start: int, stop: int, copy: bool) -> NDArray[np.float32]:
        """Slice absolute frames ``[start, stop)`` out of the mirrored storage.

        Requires ``0 <= stop - start <= capacity``.
        """
        position = start % self._capacity
        view = self._frames[position : position + (stop - start)]
        if copy:
            return self._copy_out(view)
        view.flags.writeable = False
        return view

    def _copy_out(self, view: NDArray[np.float32]) -> NDArray[np.float32]:
        """Copy frames for the reader.

        A separate method so that tests can run a write in the middle of a
        read, which is the race the reserve/publish protocol must survive.
        """
        return view.copy()
