"""Finished overviews kept on disk, so a long file re-opens with its exact overview at once.

Audacity and Ardour keep peak files for the same reason: a day-long field
recording takes minutes to analyse, and is opened again and again.  An entry
is one uncompressed NPZ (the pooled power columns, the waveform envelope and a
JSON description) in the user's cache folder (``platformdirs.user_cache_dir``,
e.g. ``~/.cache/spectroview/overviews``), named by a hash of

- the file's identity: resolved path, size and modification time (ns), and
  the stream and channel read;
- everything that shapes the columns: the analysis parameters, the number of
  samples, the overview's geometry (columns x rows) and :data:`FORMAT`.

A file changed in place (new size or mtime) or other parameters give another
name, so a stale entry is never read; it ages out.  The folder is bounded
(:data:`DEFAULT_MAX_BYTES`): after each store the least recently used entries
are removed (a hit refreshes its entry's time).  Every write is atomic (a
temporary file, then a rename), so another window or a crash never leaves a
half entry; a damaged or foreign entry is removed and rebuilt.  The cache is
an optimisation: any failure to read or write it is logged once and the
overview is computed as if there were none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import struct
import threading
import time
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from spectroview import __version__
from spectroview._atomic import atomic_write

if TYPE_CHECKING:
    from spectroview.session.jobs import SourceRef
    from spectroview.session.view import Overview

__all__ = ["DEFAULT_MAX_BYTES", "FORMAT", "OverviewCache", "default_directory"]

log = logging.getLogger(__name__)

#: Version of the entry layout and of what the columns mean; bumped when either changes.
FORMAT = 1
#: Default bound of the folder: about 15 of the largest overviews (64 MB each).
DEFAULT_MAX_BYTES = 1 << 30
_SUFFIX = ".npz"
#: A temporary file older than this is a crashed write's, and is removed (s).
_STALE_TEMP_S = 3600.0


def default_directory() -> Path:
    """``<user cache folder>/spectroview/overviews`` (``$XDG_CACHE_HOME`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("spectroview", appauthor=False)) / "overviews"


def _read_stored(path: Path, archive: zipfile.ZipFile, name: str) -> np.ndarray | None:
    """Member ``name`` of the NPZ ``path``, read in one call if it is stored uncompressed.

    ``np.load`` reads a member through zipfile in small steps of Python (with
    the CRC): 0.18 s for 67 MB, where one ``numpy.fromfile`` and one zlib
    CRC take 0.05 s, both without holding the GIL for long.  The CRC is still
    checked.  Returns None for a member stored otherwise (compressed, Fortran
    order, an object dtype): the caller reads it the usual way.

    Raises
    ------
    ValueError
        The member's data does not match its CRC, or ends early.
    """
    info = archive.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)  # the local file header: its name and extra field lengths at 26..30
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise ValueError(f"{name}: no local header where the directory says")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        fh.seek(start)
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
        if fortran or dtype.hasobject:
            return None
        header_len = fh.tell() - start
        count = math.prod(shape)
        if header_len + count * dtype.itemsize != info.file_size:
            raise ValueError(f"{name}: {info.file_size} bytes stored, the header describes another size")
        data = np.fromfile(fh, dtype=dtype, count=count)
        if data.size != count:
            raise ValueError(f"{name}: ends early")
        fh.seek(start)
        crc = zlib.crc32(data.data, zlib.crc32(fh.read(header_len)))
    if crc != info.CRC:
        raise ValueError(f"{name}: CRC mismatch (damaged)")
    return data.reshape(shape)


#: Bytes of an array written per step by :func:`_write_npz`.
_WRITE_STEP = 1 << 20


def _write_npz(fh: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed NPZ of ``arrays``, as ``np.savez`` writes it, without copies of the data.

    ``np.savez`` copies each member through 16 MB buffers on its way into the
    zip file: 16 MB more at the viewer's memory peak (an overview is stored
    just as it completes).  Here each member's own bytes are written in
    steps of :data:`_WRITE_STEP`.  ``np.load`` and :func:`_read_stored` read
    the result.
    """
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            data = array if array.flags.c_contiguous else np.ascontiguousarray(array)
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, np.lib.format.header_data_from_array_1_0(data))
                raw = data.reshape(-1).view(np.uint8).data  # a memoryview of the bytes, no copy
                for start in range(0, raw.nbytes, _WRITE_STEP):
                    member.write(raw[start : start + _WRITE_STEP])


class OverviewCache:
    """A size-bounded folder of finished overviews, least recently used out first.

    Parameters
    ----------
    directory : path, optional
        Default :func:`default_directory`; created on the first store.
    max_bytes : int
        Bound of the folder's entries (bytes); the entry just stored is kept
        even if it alone is larger.

    Thread-safe: jobs of several panes load and store from worker threads.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes={max_bytes}: must be >= 0")
        self.directory = Path(directory) if directory is not None else default_directory()
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()
        self._said: set[str] = set()  # failures logged once each

    # -- naming ----------------------------------------------------------------------
    def describe(self, source: SourceRef, overview: Overview) -> dict[str, Any] | None:
        """What an entry for ``overview`` of ``source`` must match; None if the file cannot be stat'ed."""
        try:
            path = Path(source.path).resolve()
            st = path.stat()
        except OSError:
            return None
        params = {k: v for k, v in dataclasses.asdict(overview.params).items()}
        return {
            "format": FORMAT,
            "path": str(path),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "stream": source.stream,
            "channel": source.channel,
            "n_samples": overview.n_samples,
            "params": params,
            "n_cols": overview.n_cols,
            "n_rows": overview.n_rows,
        }

    def entry_path(self, description: dict[str, Any]) -> Path:
        text = json.dumps(description, sort_keys=True, allow_nan=False)
        return self.directory / (hashlib.sha256(text.encode()).hexdigest()[:40] + _SUFFIX)

    # -- reading -------------------------------------------------------------------------
    def load(self, source: SourceRef, overview: Overview) -> bool:
        """Fill ``overview`` from its entry, if there is one; returns whether it did.

        On a hit the overview is complete (as after :meth:`Overview.build`),
        with the warnings the build that stored it met.
        """
        description = self.describe(source, overview)
        if description is None:
            return False
        path = self.entry_path(description)
        try:
            with np.load(path, allow_pickle=False) as entry:
                meta = json.loads(str(entry["meta"]))
                if meta.get("description") != description:
                    raise ValueError("its description does not match (a hash collision or a foreign file)")
                wave_min, wave_max = entry["wave_min"], entry["wave_max"]
                columns = _read_stored(path, entry.zip, "columns.npy")
                if columns is None:  # not as store() writes it: numpy's own way
                    columns = entry["columns"]
                warnings = tuple(meta.get("warnings", ()))
                overview.restore(columns, wave_min, wave_max, warnings, copy=False)  # just loaded: ours
        except FileNotFoundError:
            return False
        except Exception as exc:
            self._say(f"overview cache: {path.name} is unusable ({exc}); it is rebuilt")
            self._remove(path)
            return False
        try:
            os.utime(path)  # most recently used
        except OSError:
            pass
        return True

    # -- writing ---------------------------------------------------------------------------
    def store(self, source: SourceRef, overview: Overview) -> Path | None:
        """Keep a complete ``overview``; returns the entry written (None if not written).

        Then removes the least recently used entries beyond :attr:`max_bytes`.
        """
        if not overview.complete:
            return None
        description = self.describe(source, overview)
        if description is None:
            return None
        path = self.entry_path(description)
        meta = json.dumps(
            {"description": description, "warnings": list(overview.warnings), "spectroview": __version__},
            allow_nan=False,
        )
        columns, wave_min, wave_max = overview.arrays()

        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                _write_npz(fh, {"meta": np.array(meta), "columns": columns, "wave_min": wave_min, "wave_max": wave_max})

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write(path, write)
        except OSError as exc:
            self._say(f"overview cache: cannot write in {self.directory} ({exc.strerror or exc})")
            return None
        self.evict(keep=path)
        return path

    def evict(self, *, keep: Path | None = None) -> int:
        """Remove least recently used entries until the folder is within :attr:`max_bytes`; returns how many."""
        with self._lock:
            try:
                names = list(os.scandir(self.directory))
            except OSError:
                return 0
            entries = []
            now = time.time()
            for item in names:
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                if item.name.endswith(".tmp") and now - st.st_mtime > _STALE_TEMP_S:
                    self._remove(Path(item.path))
                elif item.name.endswith(_SUFFIX) and item.is_file(follow_symlinks=False):
                    entries.append((st.st_mtime_ns, st.st_size, Path(item.path)))
            total = sum(size for _, size, _ in entries)
            removed = 0
            for _, size, path in sorted(entries, key=lambda e: e[0]):
                if total <= self.max_bytes:
                    break
                if keep is not None and path == keep:
                    continue
                if self._remove(path):
                    total -= size
                    removed += 1
            return removed

    def clear(self) -> int:
        """Remove every entry; returns how many."""
        with self._lock:
            try:
                paths = [Path(p.path) for p in os.scandir(self.directory) if p.name.endswith(_SUFFIX)]
            except OSError:
                return 0
            return sum(self._remove(p) for p in paths)

    def size(self) -> int:
        """Bytes of the entries in the folder."""
        try:
            return sum(p.stat().st_size for p in self.directory.glob("*" + _SUFFIX))
        except OSError:
            return 0

    # -- helpers ---------------------------------------------------------------------------
    def _remove(self, path: Path) -> bool:
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            self._say(f"overview cache: cannot remove {path} ({exc.strerror or exc})")
            return False
        return True

    def _say(self, text: str) -> None:
        # INFO, not WARNING: the cache only saves time, and what stops it (a
        # full disk, a read-only home) is what the user meets first elsewhere;
        # a second line about it would bury the one that matters.
        if text not in self._said:
            self._said.add(text)
            log.info("%s", text)
