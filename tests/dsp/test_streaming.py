"""StreamingSpectrogram: any partition of the signal gives the offline spectrogram."""

from __future__ import annotations

import itertools
import warnings

import librosa
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from spectroview.dsp import (
    PAD_MODES,
    WINDOWS,
    ParameterError,
    SpectrogramParams,
    StreamingSpectrogram,
    spectrogram,
)
from spectroview.dsp.params import largest_n_mels
from tests.dsp.helpers import assert_rel_close, noise_and_tones


def offline_or_empty(y: np.ndarray, params: SpectrogramParams, n_rows: int) -> np.ndarray:
    """``spectrogram(y, params)``, or no columns where the offline call refuses the input."""
    if len(y) == 0 or (not params.center and len(y) < params.n_fft):
        with pytest.raises(ParameterError):
            spectrogram(y, params)
        return np.zeros((n_rows, 0), dtype=np.float32)
    return spectrogram(y, params)


@st.composite
def stream_cases(draw: st.DrawFn) -> tuple[SpectrogramParams, np.ndarray, list[int]]:
    sr = draw(st.sampled_from([8000, 22050]))
    n_fft = draw(st.one_of(st.integers(16, 40), st.integers(16, 512)))
    hop = draw(st.one_of(st.integers(1, 3 * n_fft), st.sampled_from([n_fft, n_fft // 2, max(1, n_fft // 4)])))
    scale = draw(st.sampled_from(["linear", "mel", "log"]))
    htk = draw(st.booleans())
    n_mels = largest_n_mels(sr=sr, n_fft=n_fft, fmin=0.0, fmax=sr / 2, htk=htk, start=draw(st.integers(1, 12)))
    params = SpectrogramParams(
        sr=sr,
        n_fft=n_fft,
        hop_length=hop,
        win_length=draw(st.one_of(st.none(), st.integers(1, n_fft))),
        window=draw(st.sampled_from((*WINDOWS, "rectangular"))),
        center=draw(st.booleans()),
        pad_mode=draw(st.sampled_from(PAD_MODES)),
        power=draw(st.sampled_from([2.0, 1.0])),
        scale=scale,
        n_mels=n_mels,
        htk=htk,
        bins_per_octave=draw(st.integers(1, 12)),
    )
    half = n_fft // 2
    n = draw(st.one_of(st.integers(0, 5), st.integers(half - 2, half + 2), st.integers(0, 4 * n_fft + 50)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    y = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal(n).astype(dtype)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=8)))  # repeated cuts make empty blocks
    return params, y, cuts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream_cases())
@example(  # log rows of one frame batched alone and among seven: BLAS rounds one sum differently
    (
        SpectrogramParams(sr=8000, n_fft=16, hop_length=1, scale="log", bins_per_octave=2),
        np.array([0.12573022, -0.13210486, 0.64042264, 0.10490011, -0.5356694, 0.36159506], np.float32),
        [],
    )
)
def test_any_partition_equals_offline(case: tuple[SpectrogramParams, np.ndarray, list[int]]) -> None:
    params, y, cuts = case
    stream = StreamingSpectrogram(params.sr, params)
    expected = offline_or_empty(y, params, stream.n_rows)
    n_total = expected.shape[1]
    assert stream.pending_frames(len(y)) == n_total

    pieces = []
    bounds = [0, *cuts, len(y)]
    for a, b in itertools.pairwise(bounds):
        cols = stream.push(y[a:b])
        assert cols.dtype == np.float32 and cols.shape[0] == stream.n_rows
        pieces.append(cols)
        done = sum(p.shape[1] for p in pieces)
        assert stream.n_frames == done
        assert done + stream.pending_frames(len(y) - b) == n_total
    pieces.append(stream.flush())
    assert_rel_close(np.concatenate(pieces, axis=1), expected, rel=1e-6)

    # The same partition in small bounded steps into one reused buffer: every step fits it.
    reused = StreamingSpectrogram(params.sr, params)
    steps = [
        c.copy() for a, b in itertools.pairwise(bounds) for c in reused.push_bounded(y[a:b], max_bytes=1, reuse=True)
    ]
    steps += [c.copy() for c in reused.flush_bounded(max_bytes=1, reuse=True)]
    stepped = np.concatenate([np.zeros((stream.n_rows, 0), np.float32), *steps], axis=1)
    if params.scale == "linear":  # whole FFT groups: bit for bit whatever the batching
        np.testing.assert_array_equal(stepped, np.concatenate(pieces, axis=1))
    else:  # the rows' BLAS sums may round differently with their place in a batch
        assert_rel_close(stepped, expected, rel=1e-6)

    if params.scale == "linear" and n_total:
        # ... and hence librosa's STFT.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            stft = librosa.stft(
                y,
                n_fft=params.n_fft,
                hop_length=params.hop,
                win_length=params.win,
                window=params.window,
                center=params.center,
                pad_mode=params.pad_mode,
            )
        assert_rel_close(expected, np.abs(stft) ** params.power, rel=1e-5)


@pytest.mark.parametrize("center", [False, True])
def test_hop_above_n_fft_streams_like_offline(center: bool) -> None:
    """hop_length > n_fft: the samples between frames must be skipped, not carried."""
    params = SpectrogramParams(sr=1000, n_fft=16, hop_length=100, center=center)
    y = noise_and_tones(1000, 0.3)
    expected = spectrogram(y, params)
    stream = StreamingSpectrogram(1000, params)
    first = stream.push(y[:20])
    assert first.shape[1] == 1
    assert 1 + stream.pending_frames(len(y) - 20) == expected.shape[1]
    got = np.concatenate([first, stream.push(y[20:]), stream.flush()], axis=1)
    assert_rel_close(got, expected, rel=1e-6)


@pytest.mark.parametrize(
    "pad_mode",
    [
        "constant",
        "edge",
        "reflect",
        "symmetric",
    ],
)
@pytest.mark.parametrize("blocks", [0, 3])
def test_empty_stream_gives_no_columns(pad_mode: str, blocks: int) -> None:
    """No samples, no columns: as the offline spectrogram refuses an empty signal."""
    stream = StreamingSpectrogram(8000, SpectrogramParams(n_fft=256, hop_length=64, pad_mode=pad_mode))
    assert all(stream.push(np.zeros(0)).shape == (129, 0) for _ in range(blocks))
    assert stream.pending_frames() == 0
    assert stream.flush().shape == (129, 0)


# ---------------------------------------------------------------------------
# out=, pending_frames, end of stream
# ---------------------------------------------------------------------------

PARAMS = SpectrogramParams(sr=8000, n_fft=256, hop_length=64)


@pytest.mark.parametrize("scale", ["linear", "mel", "log"])
def test_push_and_flush_write_into_out(scale: str) -> None:
    params = SpectrogramParams(sr=8000, n_fft=256, hop_length=64, scale=scale, n_mels=20, pad_mode="reflect")
    y = noise_and_tones(8000, 0.25)
    expected = spectrogram(y, params)
    stream = StreamingSpectrogram(8000, params)
    ring = np.full((stream.n_rows, expected.shape[1] + 7), np.nan, dtype=np.float32)
    col = 0
    for block in np.array_split(y, 5):
        got = stream.push(block, out=ring[:, col:])
        assert np.shares_memory(got, ring)
        assert got.shape == (stream.n_rows, got.shape[1])
        col += got.shape[1]
    tail = stream.flush(out=ring[:, col:])
    assert np.shares_memory(tail, ring) or tail.shape[1] == 0
    col += tail.shape[1]
    assert col == expected.shape[1]
    assert_rel_close(ring[:, :col], expected, rel=1e-6)
    assert np.isnan(ring[:, col:]).all()  # nothing written past the new columns


@pytest.mark.parametrize(
    "out",
    [
        np.zeros((128, 100), dtype=np.float32),  # wrong number of rows
        np.zeros((129, 3), dtype=np.float32),  # too few columns
        np.zeros((129, 100), dtype=np.float64),  # wrong dtype
    ],
)
def test_push_rejects_unusable_out(out: np.ndarray) -> None:
    stream = StreamingSpectrogram(8000, PARAMS)
    with pytest.raises(ParameterError, match=r"^out\.shape=.*need float32 \(129, >= \d+\)"):
        stream.push(np.zeros(2000), out=out)


def test_flush_rejects_unusable_out() -> None:
    stream = StreamingSpectrogram(8000, PARAMS)
    stream.push(np.zeros(2000))
    with pytest.raises(ParameterError, match=r"^out\.shape="):
        stream.flush(out=np.zeros((129, 0), dtype=np.float32))


@pytest.mark.parametrize(
    ("params", "n", "frames"),
    [
        (PARAMS, 1000, 1 + 1000 // 64),
        (PARAMS, 1, 1),
        (SpectrogramParams(sr=8000, n_fft=256, hop_length=64, center=False), 1000, 1 + (1000 - 256) // 64),
        (SpectrogramParams(sr=8000, n_fft=256, hop_length=64, center=False), 255, 0),
        (SpectrogramParams(sr=8000, n_fft=255, hop_length=50, pad_mode="edge"), 3, 1),
        (SpectrogramParams(sr=8000, n_fft=255, hop_length=50, pad_mode="edge"), 999, 1 + (999 + 254 - 255) // 50),
    ],
)
def test_pending_frames_before_any_push(params: SpectrogramParams, n: int, frames: int) -> None:
    stream = StreamingSpectrogram(8000, params)
    assert stream.pending_frames(n) == frames
    stream.push(np.zeros(n))
    assert stream.n_frames + stream.flush().shape[1] == frames


def test_columns_arrive_as_soon_as_their_last_sample_does() -> None:
    stream = StreamingSpectrogram(8000, PARAMS)  # centred: frame t ends at t*64 + 128
    assert stream.push(np.zeros(127)).shape[1] == 0
    assert stream.push(np.zeros(1)).shape[1] == 1
    assert stream.push(np.zeros(63)).shape[1] == 0
    assert stream.push(np.zeros(1)).shape[1] == 1
    assert stream.pending_frames() == 192 // 64 + 1 - 2


def test_stream_ends_at_flush() -> None:
    stream = StreamingSpectrogram(8000, PARAMS)
    head = stream.push(np.ones(1000)).shape[1]
    assert head + stream.flush().shape[1] == 1 + 1000 // 64
    assert stream.flush().shape == (129, 0)
    with pytest.raises(ParameterError, match=r"^push\(\) after flush\(\)"):
        stream.push(np.ones(10))


def test_uncentred_flush_returns_nothing() -> None:
    stream = StreamingSpectrogram(8000, SpectrogramParams(n_fft=256, hop_length=64, center=False))
    stream.push(np.ones(1000))
    assert stream.flush().shape == (129, 0)


def test_push_rejects_multichannel_block() -> None:
    with pytest.raises(ParameterError, match=r"^block\.shape=\(2, 10\): must be 1-D"):
        StreamingSpectrogram(8000, PARAMS).push(np.zeros((2, 10)))


def test_template_params_are_bound_to_the_stream_rate() -> None:
    stream = StreamingSpectrogram(16000, SpectrogramParams(n_fft=512, scale="mel", n_mels=40))
    assert stream.params.sr == 16000 and stream.n_rows == 40
    with pytest.raises(ParameterError, match=r"^fmax=6000\.0: must be <= sr/2 = 4000 Hz"):
        StreamingSpectrogram(8000, SpectrogramParams(fmax=6000.0))


@pytest.mark.parametrize(
    ("n_fft", "hop", "center", "pad_mode", "n"),
    [
        (512, 1, True, "constant", 3000),
        (512, 1, True, "reflect", 3000),
        (512, 1, True, "constant", 200),  # shorter than n_fft // 2 + 1: the whole signal padded at flush
        (256, 3, False, "constant", 4000),
        (64, 200, True, "edge", 5000),  # hop > n_fft
    ],
)
def test_bounded_steps_equal_one_push_and_stay_under_the_budget(
    n_fft: int, hop: int, center: bool, pad_mode: str, n: int
) -> None:
    params = SpectrogramParams(sr=8000, n_fft=n_fft, hop_length=hop, center=center, pad_mode=pad_mode)
    y = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    whole = StreamingSpectrogram(8000, params)
    expected = np.concatenate([whole.push(y), whole.flush()], axis=1)
    stream = StreamingSpectrogram(8000, params)
    budget = 40 * 4 * stream.n_rows  # 40 columns a step
    pieces = [*stream.push_bounded(y[:1234], max_bytes=budget), *stream.push_bounded(y[1234:], max_bytes=budget)]
    pieces += list(stream.flush_bounded(max_bytes=budget))
    assert max(p.shape[1] for p in pieces) <= 40
    got = np.concatenate(pieces, axis=1)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert list(stream.flush_bounded()) == []  # ended: nothing more


@pytest.mark.parametrize(
    ("n_fft", "hop", "center", "pad_mode"),
    [(512, 128, True, "constant"), (64, 200, True, "reflect"), (256, 3, False, "constant")],
)
def test_reused_steps_equal_fresh_steps_and_share_one_buffer(n_fft: int, hop: int, center: bool, pad_mode: str) -> None:
    params = SpectrogramParams(sr=8000, n_fft=n_fft, hop_length=hop, center=center, pad_mode=pad_mode)
    y = np.random.default_rng(n_fft).standard_normal(20000).astype(np.float32)
    budget = 10 * 4 * (n_fft // 2 + 1)  # 10 columns a step
    fresh = StreamingSpectrogram(8000, params)
    expected = [*fresh.push_bounded(y[:7000], max_bytes=budget), *fresh.push_bounded(y[7000:], max_bytes=budget)]
    expected += list(fresh.flush_bounded(max_bytes=budget))
    stream = StreamingSpectrogram(8000, params)
    got, buffers = [], set()
    for piece in (y[:7000], y[7000:]):
        for cols in stream.push_bounded(piece, max_bytes=budget, reuse=True):
            got.append(cols.copy())  # the next step overwrites it
            buffers.add(cols.base.__array_interface__["data"][0] if cols.base is not None else id(cols))
    for cols in stream.flush_bounded(max_bytes=budget, reuse=True):
        got.append(cols.copy())
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    # Steps wrote into the same memory (it grows once when a later step is longer than the first).
    assert len(got) >= 8 and len(buffers) <= 2
