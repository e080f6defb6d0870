"""Writes that leave the user's files whole: all or nothing, never onto an input.

- :func:`atomic_write` writes one file through a temporary file beside it,
  then renames it over the target: a failure (a full disk, a file-size
  limit, an interrupt) leaves the target as it was and no temporary file
  behind; a symlink at the target is replaced, never written through.
- :func:`atomic_files` does the same for a group (an NPY and its JSON
  sidecar): every member is written first, then all are renamed; if a
  rename fails, the members already renamed are put back.
- :func:`output_clash` says whether an output would land on an input or on
  another output of the same run (same path, a link to it, or a hard link).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

__all__ = ["atomic_files", "atomic_write", "output_clash", "same_file"]


def _temp_beside(path: Path) -> str:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # name the file the user asked for, not our hidden temporary one
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
    os.close(fd)
    return tmp


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    A failure (or an interrupt) leaves ``path`` as it was and no temporary file behind.
    """
    with atomic_files([path]) as (tmp,):
        write(tmp)


@contextlib.contextmanager
def atomic_files(paths: Sequence[str | os.PathLike[str]]) -> Iterator[tuple[str, ...]]:
    """Temporary files beside ``paths``, renamed over them together when the block ends without error.

    Yields the temporary paths in the order of ``paths``.  On an error in
    the block, the temporary files are removed and the targets are untouched;
    if a rename fails midway, the targets renamed so far get their old
    contents back (or are removed if they did not exist).

    Raises
    ------
    OSError
        From creating, writing or renaming (the targets then are as they were).
    """
    targets = [Path(p) for p in paths]
    temps: list[str] = []
    try:
        for target in targets:
            temps.append(_temp_beside(target))
        try:
            yield tuple(temps)
        except OSError as exc:
            if exc.filename is None and exc.errno is not None:  # a write through a descriptor: name the output
                raise OSError(exc.errno, exc.strerror, os.fspath(targets[0])) from exc
            raise
        mode = 0o666 & ~_umask()  # what a plain open() would give (mkstemp makes 0o600)
        for tmp in temps:
            os.chmod(tmp, mode)
        _replace_all(targets, temps)
    except BaseException:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def _replace_all(targets: list[Path], temps: list[str]) -> None:
    if len(targets) == 1:
        os.replace(temps[0], targets[0])
        return
    # Keep the old members (hard links: the targets never go missing), rename, and undo on failure.
    backups: list[str | None] = []
    try:
        for target in targets:
            if target.exists() or target.is_symlink():
                backup: str | None = _temp_beside(target)
                assert backup is not None
                os.unlink(backup)
                os.link(target, backup, follow_symlinks=False)
                backups.append(backup)
            else:
                backups.append(None)
    except OSError:
        for kept in backups:
            if kept is not None:
                with contextlib.suppress(OSError):
                    os.unlink(kept)
        backups = [None] * len(targets)  # no links (another file system feature): best effort
    done: list[int] = []
    try:
        for i, (target, tmp) in enumerate(zip(targets, temps, strict=True)):
            os.replace(tmp, target)
            done.append(i)
    except BaseException:
        for i in done:
            old = backups[i]
            with contextlib.suppress(OSError):
                if old is not None:
                    os.replace(old, targets[i])
                    backups[i] = None
                else:
                    os.unlink(targets[i])
        raise
    finally:
        for left in backups:
            if left is not None:
                with contextlib.suppress(OSError):
                    os.unlink(left)


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """``a`` and ``b`` are the same file (the same path, a symlink to it, or a hard link)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet): compare where the names lead
        return os.path.realpath(a) == os.path.realpath(b)


def output_clash(inputs: Iterable[str | os.PathLike[str]], outputs: Iterable[str | os.PathLike[str]]) -> str | None:
    """Why these outputs cannot be written (one lands on an input or on another output), or None.

    The message names both files, e.g. ``"a.npy: is the input a.npy"``.
    """
    ins = [Path(p) for p in inputs]
    outs = [Path(p) for p in outputs]
    for i, out in enumerate(outs):
        for source in ins:
            if same_file(out, source):
                return f"{out}: is the input {source}; choose another output name (nothing was written)"
        for other in outs[:i]:
            if same_file(out, other):
                return f"{out}: is also written as {other} by this run; choose another output name"
    return None
