"""Feature matrices for a folder of audio files, on a Dask cluster.

Every file is one task (:func:`feature_task`) on ``dask.distributed``: a
:class:`~distributed.LocalCluster` of worker processes by default (nothing
to set up), or an existing cluster by its scheduler's address; the same code
runs in both.  Each task writes its outputs atomically (temporary files
renamed together), so a task retried after its worker died never leaves a
duplicate or a half-written pair; Dask reschedules the tasks of a lost
worker by itself.  Dataset statistics are a tree reduction of the files'
(count, mean, squared deviations) on the cluster.  ``workers=0`` runs the
same tasks in this process, one after another (the serial reference).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import logging
import math
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

from spectroview._atomic import atomic_write
from spectroview._memory import reuse_large_blocks
from spectroview.audio.errors import AudioError
from spectroview.audio.extensions import AUDIO_EXTENSIONS, is_audio_path
from spectroview.batch.errors import BatchError
from spectroview.batch.features import (
    FeatureOutcome,
    FeatureRequest,
    RunningStats,
    feature_stats,
    resume_key,
    write_features,
)
from spectroview.dsp.names import ParameterError

__all__ = [
    "MANIFEST_COLUMNS",
    "DatasetItem",
    "ItemResult",
    "feature_task",
    "find_audio_files",
    "output_names",
    "run_dataset",
    "write_manifest",
]

#: Columns of the manifest, in order.
MANIFEST_COLUMNS = ("file", "output", "shape", "duration_s", "status", "error", "warnings")
#: Name of the dataset statistics ``--dataset-stats`` writes in OUTDIR.
STATS_NAME = "stats.json"
#: Merged per reduction task.
_FAN_IN = 8


@dataclass(frozen=True)
class DatasetItem:
    """One file of the dataset: its path, its relative name, where its outputs go."""

    source: str
    rel: str
    out: str
    patches: str | None = None

    def targets(self) -> list[Path]:
        out = Path(self.out)
        return [out, out.with_suffix(".json"), *([Path(self.patches)] if self.patches else [])]


@dataclass(frozen=True)
class ItemResult:
    """What became of one file: ``status`` "written", "resumed" (kept from an earlier run) or "skipped"."""

    item: DatasetItem
    status: str
    outcome: FeatureOutcome | None = None
    error: str | None = None


def skip_reason(source: str, exc: BaseException) -> str:
    """The one-line reason a file was skipped, without its path (the skip line shows it)."""
    if isinstance(exc, MemoryError):
        return "out of memory"
    text = str(exc).strip().replace("\n", " ") or type(exc).__name__
    for prefix in (f"{source}: ", f"{Path(source)}: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def feature_task(item: DatasetItem, request: FeatureRequest, action: str = "write") -> ItemResult:
    """One file, on a worker: ``action`` "write" (the outputs) or "stats" (only the values' statistics).

    A file that cannot be read or analysed is reported (status "skipped");
    a failure to write (disk full, permission) is raised: it concerns every file.
    """
    reuse_large_blocks()  # idempotent; a worker process's first task sets it
    with _one_thread():
        try:
            if action == "stats":
                outcome = feature_stats(item.source, request)
            else:
                outcome = write_features(item.source, item.out, request, patches_out=item.patches)
        except (AudioError, BatchError, ParameterError, MemoryError) as exc:
            return ItemResult(item, "skipped", error=skip_reason(item.source, exc))
    return ItemResult(item, "written", outcome)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """One BLAS thread per task: the cluster's parallelism is its worker processes."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


def merge_stats(*parts: tuple[int, float, float]) -> tuple[int, float, float]:
    """Combine (count, mean, sum of squared deviations) triples (Chan et al. 1979); a reduction step."""
    total = RunningStats()
    for count, mean, m2 in parts:
        total.merge(count, mean, m2)
    return total.count, total.mean, total.m2


def _stats_of(result: ItemResult) -> tuple[int, float, float]:
    o = result.outcome
    return (0, 0.0, 0.0) if o is None else (o.count, o.mean, o.m2)


def find_audio_files(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The audio files under ``root`` (relative, sorted) and the subfolders that could not be listed."""
    found: list[Path] = []
    unlisted: list[tuple[str, str]] = []

    def onerror(exc: OSError) -> None:
        unlisted.append((str(exc.filename or root), f"cannot list the directory ({exc.strerror or exc})"))

    for folder, subfolders, names in os.walk(root, onerror=onerror):
        # Hidden folders (.git, .cache, ...) and files are not the dataset's.
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        base = Path(folder)
        for name in sorted(n for n in names if not n.startswith(".")):
            if not is_audio_path(name):
                continue
            if (base / name).is_file():
                found.append((base / name).relative_to(root))
            else:  # a link to nothing, a link loop, a socket...: said, not silently left out
                unlisted.append((str(base / name), "not a regular file (a broken or looping link?)"))
    return found, unlisted


def output_names(files: list[Path], *, patches: bool, reserved: set[str]) -> dict[Path, Path]:
    """Relative NPY path of each relative source: ``a/b.wav`` -> ``a/b.npy``.

    Sources whose outputs would clash (``b.wav`` and ``b.flac``, or ``stats.wav``
    and --dataset-stats's ``stats.json``) keep their extension: ``a/b.wav.npy``.
    Names are compared ignoring case, for case-insensitive file systems.

    Raises
    ------
    BatchError
        Two sources would still write the same file.
    """

    def outputs(npy: Path) -> list[str]:
        names = [npy, npy.with_suffix(".json")]
        if patches:
            names.append(npy.with_suffix(".patches.npy"))
        return [n.as_posix().lower() for n in names]

    plain = {rel: rel.with_suffix(".npy") for rel in files}
    uses: dict[str, int] = {}
    for npy in plain.values():
        for name in outputs(npy):
            uses[name] = uses.get(name, 0) + 1
    chosen = {
        rel: npy
        if all(uses[name] == 1 and name not in reserved for name in outputs(npy))
        else rel.with_name(rel.name + ".npy")
        for rel, npy in plain.items()
    }
    seen: dict[str, Path] = {}
    for rel, npy in chosen.items():
        for name in outputs(npy):
            if name in seen or name in reserved:
                other = seen.get(name)
                raise BatchError(f"{rel} and {other or name}: would write the same output file {name}; rename one")
            seen[name] = rel
    return chosen


def no_audio_message(root: Path) -> str:
    return f"{root}: no audio files (ending in {', '.join(AUDIO_EXTENSIONS)}) in it or its subfolders"


def is_current(item: DatasetItem, request: FeatureRequest) -> bool:
    """Whether ``item``'s outputs exist, whole, from the same request and the same source (``--resume``)."""
    targets = item.targets()
    if not all(p.is_file() for p in targets):
        return False
    try:
        meta = json.loads(targets[1].read_text())
        want = resume_key(item.source, request, item.patches is not None)
        if not isinstance(meta, dict) or meta.get("resume_key") != json.loads(json.dumps(want)):
            return False
        return _whole_npy(targets[0], meta.get("shape"))
    except (OSError, ValueError):
        return False


def _whole_npy(path: Path, shape: object) -> bool:
    """Whether ``path`` is a float32 NPY of ``shape`` with every byte there (not cut short)."""
    import numpy as np

    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        found, _fortran, dtype = read_header(fh)
        offset = fh.tell()
    size = int(np.prod(found)) * dtype.itemsize
    return list(found) == shape and dtype == np.float32 and path.stat().st_size == offset + size


def remove_stray_temps(items: Sequence[DatasetItem]) -> None:
    """Temporary files of tasks whose worker was killed mid-write (they are named after their target)."""
    for item in items:
        for path in item.targets():
            for stray in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
                with contextlib.suppress(OSError):
                    stray.unlink()


class _Runner:
    """Where tasks run: this process (``workers=0``), a new local cluster, or a cluster at ``scheduler``."""

    def __init__(self, *, workers: int, scheduler: str | None) -> None:
        self.workers, self.scheduler = workers, scheduler
        self.client: Any = None
        self.cluster: Any = None

    @property
    def distributed(self) -> bool:
        return self.scheduler is not None or self.workers > 0

    def _connect(self) -> Any:
        """The client, started on first use (a run with nothing to compute starts no cluster)."""
        if self.client is None:
            from distributed import Client, LocalCluster

            if self.scheduler is not None:
                try:
                    self.client = Client(self.scheduler, timeout="10s")
                except (OSError, ValueError, TypeError) as exc:
                    raise BatchError(
                        f"--scheduler {self.scheduler}: cannot reach a Dask scheduler there ({exc})"
                    ) from None
            else:
                with warnings.catch_warnings():
                    # The library's notes ("port 8787 in use") are not the user's concern.
                    warnings.simplefilter("ignore")
                    try:
                        self.cluster = LocalCluster(
                            n_workers=self.workers,
                            threads_per_worker=1,
                            processes=True,
                            dashboard_address=":0",
                            silence_logs=logging.CRITICAL,
                        )
                    except (OSError, RuntimeError) as exc:
                        raise BatchError(
                            f"--workers {self.workers}: a local Dask cluster did not start ({exc}); "
                            "--workers 0 computes in this process"
                        ) from None
                self.client = Client(self.cluster)
        return self.client

    def map(
        self,
        fn: Callable[..., ItemResult],
        items: Sequence[DatasetItem],
        progress: Callable[[], None],
        **kwargs: Any,
    ) -> list[ItemResult]:
        """``fn(item, **kwargs)`` for every item; results in the items' order."""
        if not self.distributed or not items:
            here = []
            for item in items:
                here.append(fn(item, **kwargs))
                progress()
            return here
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        client = self._connect()
        futures = client.map(fn, list(items), pure=False, **kwargs)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[ItemResult | None] = [None] * len(futures)
        try:
            for future in as_completed(futures):
                i = index[future.key]
                if future.status == "error":
                    exc = future.exception()
                    if not isinstance(exc, KilledWorker):
                        raise exc  # a writing error or a bug: it concerns every file
                    # Dask retried it on other workers and each died (a decoder crash, the
                    # system's out-of-memory killer): this file fails, the others go on.
                    results[i] = ItemResult(
                        items[i],
                        "skipped",
                        error="its worker process died each time it was tried (a crash or out of memory)",
                    )
                else:
                    results[i] = future.result()
                progress()
            return [r for r in results if r is not None]
        except BaseException:
            client.cancel(futures)
            raise

    def reduce_stats(self, results: list[ItemResult]) -> tuple[int, float, float]:
        """The files' statistics merged, as a tree of reduction tasks on the cluster."""
        parts: list[Any] = [_stats_of(r) for r in results]
        if not self.distributed or not parts:
            return merge_stats(*parts)
        client = self._connect()
        level = client.scatter(parts)
        while len(level) > 1:
            level = [
                client.submit(merge_stats, *level[i : i + _FAN_IN], pure=False) for i in range(0, len(level), _FAN_IN)
            ]
        return tuple(client.gather(level[0]))  # type: ignore[return-value]

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close(timeout=5)
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close(timeout=10)


@dataclass
class DatasetReport:
    """The run's results, per item, in the items' order; the dataset statistics if computed."""

    results: list[ItemResult]
    stats: dict[str, Any] | None = None


def run_dataset(
    items: Sequence[DatasetItem],
    request: FeatureRequest,
    *,
    workers: int,
    scheduler: str | None = None,
    resume: bool = False,
    dataset_stats: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DatasetReport:
    """Write every item's features on a cluster (or in this process: ``workers=0``).

    Parameters
    ----------
    items : sequence of DatasetItem
    request : FeatureRequest
        The same for every file.
    workers : int
        Worker processes of the local cluster (0: this process, serially);
        ignored with ``scheduler``.
    scheduler : str or None
        Address of an existing Dask scheduler (``tcp://host:8786``) whose
        workers can import spectroview and see the files.
    resume : bool
        Keep outputs whose sidecar records the same request and source.
    dataset_stats : path or None
        Standardize with the mean and std of every file's values together,
        reduced on the cluster and recorded in this JSON file.
    progress : callable(done, total), optional

    Raises
    ------
    OSError
        An output cannot be written; KeyboardInterrupt: stopped.  Either way
        the running tasks are cancelled, the workers stopped, and no
        half-written file is left.
    """
    items = list(items)
    total = len(items) * (2 if dataset_stats else 1)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    runner = _Runner(workers=workers, scheduler=scheduler)
    if scheduler is not None:
        runner._connect()  # a wrong address is said before any work
    # The parallelism is across files: one engine thread per task.  In this
    # process too, so that every run cuts each file's frames into the same
    # blocks and writes the same bits (BLAS may round a mel row differently
    # with its place in a batch).
    request = dataclasses.replace(request, threads=1)
    try:
        stats_doc = None
        skipped: dict[str, ItemResult] = {}
        todo = items
        if dataset_stats is not None:
            stats_doc = _reusable_stats(Path(dataset_stats), items, request) if resume else None
            if stats_doc is None:
                first = runner.map(feature_task, todo, step, request=request, action="stats")
                skipped = {r.item.source: r for r in first if r.status == "skipped"}
                ok = [r for r in first if r.status != "skipped"]
                count, mean, m2 = runner.reduce_stats(ok)
                stats_doc = _stats_document([r.item for r in ok], skipped, request, count, mean, m2)
                _write_text(dataset_stats, json.dumps(stats_doc, indent=2) + "\n")
            else:
                done += len(items)
            reasons = stats_doc.get("skipped", {})
            skipped.update(
                {
                    i.source: ItemResult(i, "skipped", error=reasons.get(i.rel) or "not in the dataset statistics")
                    for i in items
                    if i.rel not in set(stats_doc["files"]) and i.source not in skipped
                }
            )
            todo = [i for i in items if i.source not in skipped]
            request = dataclasses.replace(
                request, dataset=(stats_doc["mean"], stats_doc["std"]), stats_path=str(dataset_stats)
            )
        resumed = {i.source: ItemResult(i, "resumed") for i in todo if resume and is_current(i, request)}
        for _ in resumed:
            step()
        run = [i for i in todo if i.source not in resumed]
        written = {r.item.source: r for r in runner.map(feature_task, run, step, request=request)}
        results = [resumed.get(i.source) or written.get(i.source) or skipped[i.source] for i in items]
        return DatasetReport(results, stats_doc)
    finally:
        runner.close()
        remove_stray_temps(items)


def _stats_document(
    items: list[DatasetItem],
    skipped: dict[str, ItemResult],
    request: FeatureRequest,
    count: int,
    mean: float,
    m2: float,
) -> dict[str, Any]:
    fe = request.front_end
    std = math.sqrt(m2 / count) if count else 0.0
    return {
        "mean": mean,
        "std": std,
        "count": count,
        "files": [i.rel for i in items],
        "skipped": {r.item.rel: r.error for r in skipped.values()},
        "sources": {
            i.rel: resume_key(i.source, request, False)["source"] for i in [*items, *(r.item for r in skipped.values())]
        },
        "preset": fe.name,
        "request": request.key(),
        "params": fe.recipe()["parameters"],
        "values": fe.recipe()["values"] + ", before standardization",
        "std_kind": "population (ddof=0) over every value of every file",
        "usage": "each file's NPY holds (values - mean) / std",
    }


def _reusable_stats(path: Path, items: list[DatasetItem], request: FeatureRequest) -> dict[str, Any] | None:
    """An earlier run's statistics, if they were computed over these same files with the same request."""
    try:
        doc = json.loads(path.read_text())
        sources = {i.rel: resume_key(i.source, request, False)["source"] for i in items}
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("request") != json.loads(json.dumps(request.key())):
        return None
    # The same files (those skipped then included), none changed since: the statistics still describe the dataset.
    if set(doc.get("files", ())) | set(doc.get("skipped", {})) != set(sources):
        return None
    if any(doc.get("sources", {}).get(rel) != sources[rel] for rel in sources):
        return None
    return doc


def check_stats_path(path: str | os.PathLike[str]) -> None:
    """Refuse to replace a ``stats.json`` that is not an earlier one of ``--dataset-stats``.

    Raises
    ------
    BatchError
    """
    target = Path(path)
    if not target.exists():
        return
    try:
        doc = json.loads(target.read_text())
        ours = isinstance(doc, dict) and {"request", "count", "mean", "std"} <= set(doc)
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise BatchError(
            f"{target}: exists and is not the dataset statistics of spectroview features; not replaced "
            "(move it, or choose another -o)"
        )


def check_manifest_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if a manifest can be written there: a .csv, or a .parquet with pyarrow installed.

    Raises
    ------
    BatchError
        Another suffix, or Parquet without pyarrow.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if target.exists() and not target.is_file():
        raise BatchError(f"--manifest {target}: exists and is not a file")
    if target.exists() and suffix == ".csv":
        with open(target, errors="replace") as fh:
            first = fh.readline().strip()
        if first.split(",")[:3] != list(MANIFEST_COLUMNS[:3]):
            raise BatchError(f"--manifest {target}: exists and is not a manifest of spectroview; not replaced")
    if target.parent != Path() and not target.parent.is_dir() and target.parent.exists():
        raise BatchError(f"--manifest {target}: {target.parent} is not a directory")
    if suffix not in (".csv", ".parquet"):
        raise BatchError(f"--manifest {target}: must end in .csv or .parquet")
    if suffix == ".parquet":
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise BatchError(
                f"--manifest {target}: Parquet needs pyarrow (pip install pyarrow); or name a .csv"
            ) from None
    return target


def write_manifest(
    path: str | os.PathLike[str],
    results: Sequence[ItemResult],
    root: Path,
    outdir: Path,
    *,
    unlisted: Sequence[tuple[str, str]] = (),
) -> None:
    """The run's manifest, one row per file (:data:`MANIFEST_COLUMNS`): CSV, or Parquet for a ``.parquet`` name.

    Raises
    ------
    BatchError
        Parquet without pyarrow installed.
    """
    rows = []
    for r in results:
        o = r.outcome
        out = Path(r.item.out)
        if r.status == "resumed":
            with contextlib.suppress(OSError, ValueError, KeyError):
                meta = json.loads(out.with_suffix(".json").read_text())
                o = FeatureOutcome(
                    source=r.item.source,
                    shape=tuple(meta["shape"]),
                    duration_s=meta["source"]["duration_s"],
                    samplerate=0,
                    nonfinite=0,
                    warnings=(),
                )
        rows.append(
            {
                "file": r.item.rel,
                "output": out.relative_to(outdir).as_posix() if r.status != "skipped" else "",
                "shape": "x".join(map(str, o.shape)) if o is not None else "",
                "duration_s": o.duration_s if o is not None else None,
                "status": r.status,
                "error": r.error or "",
                "warnings": "; ".join(o.warnings) if o is not None else "",
            }
        )
    for where, reason in unlisted:  # entries that were never files to compute (broken links, unreadable folders)
        name = Path(where)
        with contextlib.suppress(ValueError):
            name = name.relative_to(root)
        rows.append(
            {
                "file": name.as_posix(),
                "output": "",
                "shape": "",
                "duration_s": None,
                "status": "skipped",
                "error": reason,
                "warnings": "",
            }
        )
    target = check_manifest_path(path)
    if target.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows)
        atomic_write(target, lambda tmp: pq.write_table(table, tmp))
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write_text(target, buffer.getvalue())


def _write_text(path: str | os.PathLike[str], text: str) -> None:
    def write(tmp: str) -> None:
        Path(tmp).write_text(text)

    atomic_write(path, write)
