"""The overview cache: a re-opened file takes its exact overview from disk; a changed file never does.

Files are made by the ffmpeg command line where it is installed (FLAC with tags,
as a recorder writes), else by libsndfile.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from spectroview.dsp import SpectrogramParams
from spectroview.session import jobs as jobs_module
from spectroview.session.jobs import PaneJobs, SourceRef
from spectroview.session.overview_cache import OverviewCache, default_directory
from spectroview.session.scheduler import Scheduler
from spectroview.session.view import Overview, compute_view
from tests.audio.media import FFMPEG, ffmpeg, lavfi_tones
from tests.session.test_jobs import Events, wait_for

SR = 16000
PARAMS = SpectrogramParams(sr=SR, n_fft=512, hop_length=128)


def recording(path: Path, seconds: float = 4.0, freq: float = 1000.0) -> SourceRef:
    if FFMPEG and path.suffix == ".flac":
        ffmpeg(
            *lavfi_tones([freq, 3 * freq], sr=SR, seconds=seconds, noise=0.05),
            "-metadata",
            "title=dawn chorus",
            "-c:a",
            "flac",
            path,
        )
    else:
        t = np.arange(int(SR * seconds)) / SR
        soundfile.write(path, (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    return SourceRef(path, soundfile.info(str(path)).frames)


def built(source: SourceRef, params: SpectrogramParams = PARAMS) -> Overview:
    overview = Overview(source.n_samples, params)
    with source.open() as reader:
        assert overview.build(reader)
    return overview


def test_a_stored_overview_loads_bit_for_bit(tmp_path: Path) -> None:
    source = recording(tmp_path / "dawn.flac")
    cache = OverviewCache(tmp_path / "cache")
    original = built(source)
    original.warnings = ("a damaged frame: silence in its place",)
    entry = cache.store(source, original)
    assert entry is not None and entry.parent == tmp_path / "cache" and entry.suffix == ".npz"

    again = Overview(source.n_samples, PARAMS)
    assert not again.complete
    assert cache.load(source, again)
    assert again.complete and again.frames_done == again.n_frames
    assert again.warnings == original.warnings
    for a, b in zip(again.arrays(), original.arrays(), strict=True):
        np.testing.assert_array_equal(a, b)
    # ... and it draws the same view as the overview it came from.
    np.testing.assert_array_equal(again.view(0.5, 3.5, 300).levels, original.view(0.5, 3.5, 300).levels)


def test_an_incomplete_overview_is_not_stored(tmp_path: Path) -> None:
    source = recording(tmp_path / "a.wav")
    cache = OverviewCache(tmp_path / "cache")
    assert cache.store(source, Overview(source.n_samples, PARAMS)) is None
    assert not (tmp_path / "cache").exists()


def test_a_changed_file_or_other_parameters_miss(tmp_path: Path) -> None:
    path = tmp_path / "field.flac"
    source = recording(path)
    cache = OverviewCache(tmp_path / "cache")
    cache.store(source, built(source))
    assert cache.load(source, Overview(source.n_samples, PARAMS))

    other = SpectrogramParams(sr=SR, n_fft=1024, hop_length=128)
    assert not cache.load(source, Overview(source.n_samples, other))
    assert not cache.load(SourceRef(path, source.n_samples, channel=0), Overview(source.n_samples, PARAMS))

    # The recorder appends to the file: same name, new size and time.
    changed = recording(path, seconds=5.0, freq=500.0)
    fresh = Overview(changed.n_samples, PARAMS)
    assert not cache.load(changed, fresh) and not fresh.complete
    # Only the modification time changes (same size, new contents): a miss too.
    cache.store(changed, built(changed))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert not cache.load(changed, Overview(changed.n_samples, PARAMS))


def test_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    cache = OverviewCache(tmp_path / "cache")
    sources = [recording(tmp_path / f"r{i}.wav", freq=300.0 * (i + 1)) for i in range(4)]
    overviews = [built(s) for s in sources]
    entries = []
    for i in range(3):
        entries.append(cache.store(sources[i], overviews[i]))
        past = time.time() - 100 + i  # distinct times, oldest first
        os.utime(entries[-1], (past, past))
    one = entries[0].stat().st_size
    cache.max_bytes = 3 * one + one // 2  # room for three
    assert cache.load(sources[0], Overview(sources[0].n_samples, PARAMS))  # r0 is used again
    entries.append(cache.store(sources[3], overviews[3]))
    present = [e.exists() for e in entries]
    assert present == [True, False, True, True]  # r1, the least recently used, went
    assert cache.size() <= cache.max_bytes
    assert cache.clear() == 3 and cache.size() == 0


def test_the_entry_just_stored_stays_even_beyond_the_bound(tmp_path: Path) -> None:
    source = recording(tmp_path / "a.wav")
    cache = OverviewCache(tmp_path / "cache", max_bytes=0)
    entry = cache.store(source, built(source))
    assert entry is not None and entry.exists()


@pytest.mark.parametrize("damage", ["random", "truncated", "foreign", "one byte"])
def test_a_damaged_entry_is_removed_and_rebuilt(tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    source = recording(tmp_path / "a.wav")
    cache = OverviewCache(tmp_path / "cache")
    original = built(source)
    entry = cache.store(source, original)
    assert entry is not None
    if damage == "random":
        entry.write_bytes(np.random.default_rng(1).bytes(5000))
    elif damage == "truncated":
        entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    elif damage == "one byte":  # inside the stored columns, past every header: only the CRC tells
        data = bytearray(entry.read_bytes())
        data[len(data) // 2] ^= 0x40
        entry.write_bytes(bytes(data))
    else:  # another file's entry under this name: its description does not match
        other = recording(tmp_path / "b.wav", freq=200.0)
        os.replace(cache.store(other, built(other)), entry)
    fresh = Overview(source.n_samples, PARAMS)
    with caplog.at_level(logging.INFO, logger="spectroview.session.overview_cache"):
        assert not cache.load(source, fresh)
    assert not fresh.complete and not fresh.arrays()[0].any()  # nothing half-filled
    assert not entry.exists()
    assert "unusable" in caplog.text and "rebuilt" in caplog.text
    assert cache.store(source, original) == entry  # and it is rebuilt


def test_non_finite_power_in_an_entry_is_refused(tmp_path: Path) -> None:
    source = recording(tmp_path / "a.wav")
    cache = OverviewCache(tmp_path / "cache")
    overview = built(source)
    overview.arrays()[0][5, 7] = np.nan
    cache.store(source, overview)
    fresh = Overview(source.n_samples, PARAMS)
    assert not cache.load(source, fresh) and not fresh.complete


def test_an_unwritable_folder_costs_nothing_but_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = recording(tmp_path / "a.wav")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    cache = OverviewCache(blocker / "overviews")
    with caplog.at_level(logging.INFO, logger="spectroview.session.overview_cache"):
        assert cache.store(source, built(source)) is None
        assert cache.store(source, built(source)) is None
    assert caplog.text.count("cannot write") == 1  # said once
    assert not cache.load(source, Overview(source.n_samples, PARAMS))


def test_crashed_writes_are_swept(tmp_path: Path) -> None:
    source = recording(tmp_path / "a.wav")
    cache = OverviewCache(tmp_path / "cache")
    cache.directory.mkdir()
    stale, recent = cache.directory / ".x.npz.abc.tmp", cache.directory / ".y.npz.def.tmp"
    stale.write_bytes(b"half")
    recent.write_bytes(b"being written")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    cache.store(source, built(source))
    assert not stale.exists() and recent.exists()


def test_the_default_folder_is_the_users_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_directory() == tmp_path / "xdg" / "spectroview" / "overviews"
    assert OverviewCache().directory == default_directory()


# -- in the pane's jobs ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def overview_waits_for_the_view(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs_module, "OVERVIEW_DELAY", 60.0)


def test_a_reopened_file_shows_its_complete_overview_first_and_builds_nothing(
    tmp_path: Path, scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = recording(tmp_path / "day.flac", seconds=6.0)
    cache = OverviewCache(tmp_path / "cache")
    first = PaneJobs(scheduler, "a", cache=cache)
    events = Events(first)
    first.set_source(source, PARAMS)
    first.request_view(0.0, 6.0, 200)
    wait_for(scheduler, lambda: bool(events.of("overview")))
    assert scheduler.wait_idle(20.0)
    assert len(list(cache.directory.glob("*.npz"))) == 1
    stored = first.overview
    assert stored is not None

    builds: list[Overview] = []
    real_build = Overview.build

    def counting_build(self: Overview, *args, **kwargs) -> bool:
        builds.append(self)
        return real_build(self, *args, **kwargs)

    monkeypatch.setattr(Overview, "build", counting_build)
    second = PaneJobs(scheduler, "b", cache=cache)
    events2 = Events(second)
    second.set_source(source, PARAMS)
    second.request_view(0.0, 6.0, 200)
    wait_for(scheduler, lambda: bool(events2.of("image")) and bool(events2.of("overview")))
    assert scheduler.wait_idle(20.0)
    (image,) = events2.of("image")
    assert image.origin == "overview" and image.complete  # the first image is already exact
    assert events2.kinds().count("overview") == 1
    assert builds == []  # nothing was computed again
    assert second.overview is not None and second.overview.complete
    np.testing.assert_array_equal(second.overview.arrays()[0], stored.arrays()[0])
    with source.open() as reader:
        np.testing.assert_array_equal(image.levels, compute_view(reader, PARAMS, 0.0, 6.0, 200, overview=stored).levels)


def test_without_a_cache_entry_the_overview_is_built_and_stored(tmp_path: Path, scheduler: Scheduler) -> None:
    source = recording(tmp_path / "a.wav")
    cache = OverviewCache(tmp_path / "cache")
    pane = PaneJobs(scheduler, "a", cache=cache)
    events = Events(pane)
    pane.set_source(source, PARAMS)
    pane.request_view(0.0, 1.0, 100)
    wait_for(scheduler, lambda: bool(events.of("overview")))
    assert pane.overview is not None and pane.overview.complete
    assert events.of("progress")  # it was built, with progress
    assert scheduler.wait_idle(20.0)  # stored after it was shown
    assert cache.load(source, Overview(source.n_samples, PARAMS))
