"""Command line: ``spectroview [FILE]`` and the headless subcommands.

``render``, ``features`` and ``devices`` run without a display.  Every error
a user can cause is one line ``spectroview: error: ...`` on stderr with exit
status 2, and nothing is written to the output path; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from glob import escape as glob_escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from spectroview import __version__
from spectroview._atomic import atomic_files, atomic_write, output_clash, same_file
from spectroview._resources import DEMO_NAME, resource_path
from spectroview.audio.errors import AudioError
from spectroview.audio.extensions import AUDIO_EXTENSIONS, is_audio_path
from spectroview.dsp.names import (
    FMIN_DEFAULT,
    LOG_FMIN_DEFAULT,
    N_FFT_DEFAULT,
    N_FFT_MAX,
    N_FFT_MIN,
    N_MELS_DEFAULT,
    SCALE_DEFAULT,
    SCALES,
    WINDOW_DEFAULT,
    WINDOWS,
    ParameterError,
)
from spectroview.render.colormap_data import COLORMAPS

if TYPE_CHECKING:  # numpy and the engine are imported by the commands that use them (start-up time)
    import numpy as np

    from spectroview.audio.files import FileSource
    from spectroview.dsp import SpectrogramParams

PROG = "spectroview"
SUBCOMMANDS = ("render", "features", "devices")

#: Parameter names in engine messages -> the option a CLI user typed.
_OPTION_OF = {
    "n_fft": "--n-fft",
    "hop_length": "--hop",
    "win_length": "--win-length",
    "n_mels": "--n-mels",
    "fmin": "--fmin",
    "fmax": "--fmax",
    "window": "--window",
    "width": "--width",
    "height": "--height",
    "colormap": "--colormap",
    "db_range": "--db-range",
    "sr": "--sr",
}


class CliError(Exception):
    """A usage problem found after parsing; printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: the user sees what was wrong.
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _user_message(exc: BaseException) -> str:
    text = str(exc)
    name, sep, rest = text.partition("=")
    if sep and name in _OPTION_OF:
        # The API's "None" defaults are the options' absence on the command line.
        rest = rest.replace(" (or None for win_length//4)", " (leave it out for a quarter of the window)")
        rest = rest.replace(" (or None for n_fft)", " (leave it out for --n-fft)")
        rest = rest.replace(" (or None for sr/2)", " (leave it out for half the sample rate)")
        return f"{_OPTION_OF[name]} {rest}"
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be >= 1")
    return value


def _size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT, e.g. 1200x600")
    width, height = _positive_int(w), _positive_int(h)
    if width > _WINDOW_MAX or height > _WINDOW_MAX:
        raise argparse.ArgumentTypeError(f"{text!r}: at most {_WINDOW_MAX} pixels a side")
    return width, height


#: Largest window side --size accepts (px): Qt paints nothing beyond about this.
_WINDOW_MAX = 16384


def _add_analysis_options(p: argparse.ArgumentParser, *, scale: bool = True, saved: bool = False) -> None:
    """The analysis options; with ``saved`` (the viewer) every default is None: what is not given keeps the saved setting."""
    g = p.add_argument_group("analysis" + (" (options not given keep the viewer's saved settings)" if saved else ""))

    def default(value: object, text: str) -> tuple[object, str]:
        return (None, "") if saved else (value, f"; default {text}")

    n_fft, n_fft_text = default(N_FFT_DEFAULT, str(N_FFT_DEFAULT))
    g.add_argument(
        "--n-fft",
        type=int,
        default=n_fft,
        metavar="N",
        help=f"FFT window size in samples ({N_FFT_MIN}-{N_FFT_MAX}{n_fft_text})",
    )
    g.add_argument("--hop", type=int, default=None, metavar="N", help="hop length in samples (default: n_fft/4)")
    g.add_argument(
        "--win-length", type=int, default=None, metavar="N", help="window length in samples (default: n_fft)"
    )
    window, window_text = default(WINDOW_DEFAULT, WINDOW_DEFAULT)
    g.add_argument(
        "--window", default=window, metavar="NAME", help=f"window function: {', '.join(WINDOWS)}{window_text}"
    )
    if scale:
        value, text = default(SCALE_DEFAULT, SCALE_DEFAULT)
        g.add_argument("--scale", choices=SCALES, default=value, help=f"frequency axis{text}")
    value, text = default(N_MELS_DEFAULT, str(N_MELS_DEFAULT))
    g.add_argument("--n-mels", type=int, default=value, metavar="N", help=f"mel bands on the mel scale{text}")
    value, text = default(FMIN_DEFAULT, f"{FMIN_DEFAULT:g}, log: {LOG_FMIN_DEFAULT:g}")
    g.add_argument(
        "--fmin",
        type=float,
        default=value,
        metavar="HZ",
        help=f"lowest frequency in Hz (mel/log scales{text})",
    )
    g.add_argument("--fmax", type=float, default=None, metavar="HZ", help="highest frequency in Hz (default sr/2)")
    g.add_argument(
        "--channel",
        type=_positive_int,
        default=None,
        metavar="N",
        help="channel to analyse, 1-based (default: mix all)",
    )
    g.add_argument(
        "--stream",
        type=_positive_int,
        default=None,
        metavar="N",
        help="audio stream to read in files with several (video files, MKA), 1-based (default 1)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of the subcommands (``spectroview SUBCOMMAND ...``)."""
    parser = _Parser(
        prog=PROG,
        description="Spectroview: spectrogram viewer and analyzer. "
        "'spectroview [FILE]' opens the viewer; the subcommands work without a display.",
        epilog="the viewer: spectroview [FILE] [--screenshot OUT.png] [--size WxH] [--mic [--device NAME]] "
        "[--n-fft N] [--hop N] [--scale linear|log|mel] ...; 'spectroview FILE --help' lists every option",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    r = sub.add_parser(
        "render",
        help="render a spectrogram image (PNG) without a display",
        description="Render FILE's spectrogram to a PNG. When the file has more frames than the image has "
        "columns, each column shows the maximum power of all the frames it covers (likewise rows), "
        "so short events are never skipped.",
    )
    r.add_argument("file", nargs="?", default=None, metavar="FILE", help="audio file (default: the bundled demo)")
    r.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG file to write")
    r.add_argument(
        "--width", type=_positive_int, default=1200, metavar="PX", help="image width in pixels (default 1200)"
    )
    r.add_argument(
        "--height", type=_positive_int, default=600, metavar="PX", help="image height in pixels (default 600)"
    )
    _add_analysis_options(r)
    r.add_argument("--colormap", default="magma", choices=(*COLORMAPS, "gray"), help="colour map (default magma)")
    r.add_argument(
        "--db-range",
        type=float,
        default=80.0,
        metavar="DB",
        help="dynamic range shown in dB below the loudest cell (default 80)",
    )

    f = sub.add_parser(
        "features",
        help="write a log-mel feature matrix (NPY) and a JSON sidecar",
        description="Write FILE's log-mel spectrogram, 10*log10(max(1e-10, mel power)), as float32 "
        "(n_mels, n_frames) NPY, and OUT.json with every parameter and the axes. "
        "With --preset ast, write instead what the Audio Spectrogram Transformer sees: FILE resampled to "
        "16 kHz, Kaldi fbank as torchaudio.compliance.kaldi.fbank computes it for AST (25 ms frames every "
        "10 ms, 128 mel bands 20-8000 Hz, natural log), zero-padded or cut to 1024 frames, then "
        "(x + 4.2677393) / (2 * 4.5689974): float32 (128, 1024), rows low to high frequency. "
        "The preset fixes every analysis option except --channel (the AST reference reads the first "
        "channel of a multichannel file: --channel 1 does the same; the default mixes all channels).",
    )
    f.add_argument(
        "file",
        metavar="FILE",
        help="audio file; or a directory DIR: every audio file under it (recursively; extensions "
        f"{' '.join(AUDIO_EXTENSIONS)}, any case) gives an NPY and its sidecar under -o OUTDIR, mirroring "
        "DIR's subfolders (a.wav -> OUTDIR/a.npy, OUTDIR/a.json), computed on all cores; unreadable files "
        "are skipped and listed at the end (exit status 1), then a summary line goes to stdout",
    )
    f.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.npy",
        help="NPY file to write (sidecar: OUT.json); with a directory, the output directory (created if missing)",
    )
    f.add_argument(
        "--preset",
        choices=_FEATURE_PRESETS,
        default="logmel",
        help="logmel: the log-mel spectrogram set by the options below (default); "
        "ast: the Audio Spectrogram Transformer's input (128 x 1024), see above",
    )
    f.add_argument(
        "--patches",
        nargs="?",
        const="",
        default=None,
        metavar="OUT_PATCHES.npy",
        help="with --preset ast: also write the model's 16x16 patches (stride 10), float32 (N, 16, 16) in "
        "token order (row-major over a 12 x 101 frequency x time grid), to OUT_PATCHES.npy; without a value "
        "to OUT.patches.npy beside OUT.npy (then give --patches after FILE)",
    )
    f.add_argument(
        "--sr",
        type=_positive_int,
        default=None,
        metavar="HZ",
        help="resample to this rate first (default: the file's rate)",
    )
    _add_analysis_options(f, scale=False)
    f.add_argument(
        "--normalize",
        action="store_true",
        help="standardize to zero mean and unit variance (with a directory: each file by its own mean and std)",
    )
    f.add_argument(
        "--dataset-stats",
        action="store_true",
        help="with a directory (implies --normalize): a first pass computes the mean and std of the log-mel "
        "values of all the files together and writes them to OUTDIR/stats.json; every file is then "
        "standardized with those same values. Not with --preset ast (fixed AudioSet statistics)",
    )
    # The options --preset ast fixes read None when not given, so that giving
    # one (even at its default value) is refused; the logmel preset restores
    # the usual defaults from here.
    logmel_defaults = {dest: f.get_default(dest) for dest in _AST_FIXED_OPTIONS}
    f.set_defaults(**dict.fromkeys(logmel_defaults), _logmel_defaults=logmel_defaults)

    sub.add_parser("devices", help="list audio input and output devices", description="List PortAudio devices.")
    return parser


def _params_from(args: argparse.Namespace, sr: float, *, scale: str) -> SpectrogramParams:
    from spectroview.dsp import SpectrogramParams

    return SpectrogramParams(
        sr=sr,
        n_fft=args.n_fft,
        hop_length=args.hop,
        win_length=args.win_length,
        window=args.window,
        scale=scale,  # type: ignore[arg-type]
        n_mels=args.n_mels,
        fmin=args.fmin,
        fmax=args.fmax,
    )


def _open_source(path: str | None, channel: int | None, stream: int | None = None) -> FileSource:
    from spectroview.audio.files import FileSource

    target = resource_path(DEMO_NAME) if path is None else path
    # A long compressed file is scanned first (an hour of MP3: about a second).
    progress = _Progress("scanning", 1000)
    try:
        source = FileSource(
            target, stream=None if stream is None else stream - 1, progress=lambda f: progress(round(1000 * f))
        )
    finally:
        progress.close()
    if channel is not None:
        n = source.info.channels
        if channel > n:
            source.close()
            raise CliError(f"--channel {channel}: {source.path} has {n} channel(s) (allowed 1-{n})")
        source.channel = channel - 1
    return source


def _refuse_clash(inputs: list[str | os.PathLike[str] | None], outputs: list[Path | None]) -> None:
    """Before anything is computed: no output may land on an input or on another output."""
    message = output_clash([p for p in inputs if p is not None], [p for p in outputs if p is not None])
    if message:
        raise CliError(message)


def _check_hop(args: argparse.Namespace, n: int, sr: float) -> None:
    """A hop given on the command line must not exceed the signal (``n`` samples at ``sr``)."""
    if args.hop is not None and n > 0 and args.hop > n:
        raise CliError(f"--hop {args.hop}: longer than the signal ({n} samples, {n / sr:.3g} s); at most {n}")


def _check_image_memory(params: SpectrogramParams, n_samples: int, width: int, height: int) -> None:
    """Refuse an image that cannot fit in memory, before allocating it; name a size that fits."""
    from spectroview._memory import available_bytes, format_bytes
    from spectroview.render.image import image_memory

    budget = 0.9 * available_bytes()
    need = image_memory(params, n_samples, width, height)
    if need <= budget:
        return
    lo, hi = 0.0, 1.0  # the largest scale of both sides that fits, by bisection
    for _ in range(40):
        mid = (lo + hi) / 2
        w, h = max(1, int(width * mid)), max(1, int(height * mid))
        lo, hi = (mid, hi) if image_memory(params, n_samples, w, h) <= budget else (lo, mid)
    w, h = int(width * lo), int(height * lo)
    fits = (
        f"at most {w}x{h} fits (the same shape)" if w >= 1 and h >= 1 else "no image size fits: try a smaller --n-fft"
    )
    raise CliError(
        f"--width {width} --height {height}: the image needs about {format_bytes(need)} of memory and "
        f"{format_bytes(budget)} is available; {fits}"
    )


def _check_disk(out: Path, need: int, params: SpectrogramParams) -> None:
    """Refuse an output larger than the free space of its folder, before writing; name a hop that fits."""
    from spectroview._memory import format_bytes

    try:
        free = shutil.disk_usage(out.parent).free
    except OSError:
        return  # cannot tell: the write itself reports a full disk
    margin = 1 << 20  # the sidecar and the file system's own needs
    if need + margin <= free:
        return
    # Columns (and bytes) fall as 1 / hop.
    fits = (
        f"a --hop of at least {math.ceil(params.hop * need / (free - margin))} fits"
        if free > margin
        else "free some space"
    )
    raise CliError(
        f"-o {out}: the features need about {format_bytes(need)} and {out.parent} has {format_bytes(free)} free; {fits}"
    )


def _check_output(path: str, suffix: str, option: str = "-o") -> Path:
    out = Path(path)
    if out.suffix.lower() != suffix:
        raise CliError(f"{option} {path}: the output must be a {suffix} file")
    if out.is_dir():
        raise CliError(f"{option} {path}: is a directory")
    if not out.parent.is_dir():
        what = "is not a directory" if out.parent.exists() else "does not exist"
        raise CliError(f"{option} {path}: {out.parent} {what}")
    return out


@contextlib.contextmanager
def _library_stderr_silenced() -> Iterator[None]:
    """Keep C libraries' own diagnostics off the terminal while decoding.

    libmpg123 (inside libsndfile) prints "Note: Trying to resync..." and the
    like straight to file descriptor 2, which would break the rule of one
    error line.  File descriptor 2 goes to /dev/null meanwhile; Python's
    ``sys.stderr`` (our messages, and tracebacks of real bugs) writes to a
    duplicate of the original, so nothing of ours is lost.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # e.g. replaced by a test harness
        yield
        return
    sys.stderr.flush()
    original = sys.stderr
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    sys.stderr = open(saved, "w", buffering=1, closefd=False, encoding=original.encoding, errors="backslashreplace")
    os.dup2(devnull, fd)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)
        sys.stderr = original
        os.close(saved)
        os.close(devnull)


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _warn_damage(source: FileSource) -> None:
    """One warning line per problem found so far (a truncated tail, damaged packets); the source still open."""
    for text in source.warnings:
        _warn(f"{source.path}: {text}")


class _Progress:
    """Percent on stderr for work longer than a second, only on a terminal."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, max(1, total)
        self.start = time.monotonic()
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done: int) -> None:
        if self.enabled and time.monotonic() - self.start > 1.0:
            sys.stderr.write(f"\r{self.label} {100 * done // self.total:3d}%")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * (len(self.label) + 6) + "\r")


def cmd_render(args: argparse.Namespace) -> int:
    from spectroview.audio.files import prefetched
    from spectroview.render.image import ImageOptions, colorize, spectrogram_image
    from spectroview.render.png import write_png

    out = _check_output(args.output, ".png")
    _refuse_clash([args.file], [out])
    options = ImageOptions(width=args.width, height=args.height, colormap=args.colormap, db_range=args.db_range)
    with _open_source(args.file, args.channel, args.stream) as source:
        params = _params_from(args, source.info.samplerate, scale=args.scale)
        _check_hop(args, source.info.frames, source.info.samplerate)
        _check_image_memory(params, source.info.frames, options.width, options.height)
        from spectroview.session.resolve import window_longer_than_file

        longer = window_longer_than_file(params.n_fft, source.info.frames, source.info.samplerate)
        if longer:
            _warn(f"{source.path}: {longer}")
        progress = _Progress("rendering", source.info.frames)
        # closing(): on any exception the reader thread is stopped and joined
        # before the file it reads from is closed.
        with contextlib.closing(prefetched(source.blocks(1 << 19))) as blocks:
            try:
                power = spectrogram_image(
                    blocks,
                    n_samples=source.info.frames,
                    params=params,
                    width=options.width,
                    height=options.height,
                    progress=progress,
                )
            finally:
                progress.close()
        nonfinite = source.nonfinite_count
        damage = source.warnings  # after reading: damage met on the way is known too
    rgb = colorize(power, options)
    write_png(out, rgb, compress_level=1)
    for text in damage:
        _warn(f"{source.path}: {text}")
    if nonfinite:
        _warn(f"{source.path}: {nonfinite} non-finite samples (NaN/Inf) rendered as silence")
    return 0


_FEATURE_PRESETS = ("logmel", "ast")

#: Options of ``features`` that --preset ast fixes (argparse dest -> option).
_AST_FIXED_OPTIONS = {
    "sr": "--sr",
    "n_fft": "--n-fft",
    "hop": "--hop",
    "win_length": "--win-length",
    "window": "--window",
    "n_mels": "--n-mels",
    "fmin": "--fmin",
    "fmax": "--fmax",
    "normalize": "--normalize",
}


def cmd_features(args: argparse.Namespace) -> int:
    # "is not": --fmin 0 counts as given (0.0 == False), an unset --normalize does not.
    given = [
        option
        for dest, option in _AST_FIXED_OPTIONS.items()
        if getattr(args, dest, None) is not None and getattr(args, dest, None) is not False
    ]
    directory = Path(args.file).is_dir()
    if getattr(args, "dataset_stats", False) and not directory:
        raise CliError(f"--dataset-stats: goes with a directory; {args.file} is not one")
    if args.preset == "ast":
        if given:
            raise CliError(
                f"{', '.join(given)}: cannot be combined with --preset ast, which fixes the analysis "
                "(16 kHz, 25 ms frames every 10 ms, 512-point FFT, 128 Kaldi mel bands 20-8000 Hz, "
                "AudioSet normalization); only --channel applies"
            )
        if getattr(args, "dataset_stats", False):
            raise CliError(
                "--dataset-stats: cannot be combined with --preset ast, which normalizes with AudioSet's "
                "fixed mean and std"
            )
        return _features_dir(args) if directory else _features_ast(args)
    if args.patches is not None:
        raise CliError("--patches: goes with --preset ast")
    for dest, value in getattr(args, "_logmel_defaults", {}).items():
        if getattr(args, dest, None) is None:
            setattr(args, dest, value)
    if directory:
        return _features_dir(args)
    out = _check_output(args.output, ".npy")
    _refuse_clash([args.file], [out, out.with_suffix(".json")])
    done = _logmel_file(args.file, out, args, normalize=bool(args.normalize), show_progress=True)
    for text in done.warnings:
        _warn(f"{done.source}: {text}")
    if done.nonfinite:
        _warn(f"{done.source}: {done.nonfinite} non-finite samples (NaN/Inf) treated as silence")
    return 0


@dataclasses.dataclass(frozen=True)
class _LogmelDone:
    """One file of ``features``: where it came from, what was found, its values' statistics."""

    source: Path
    nonfinite: int
    warnings: tuple[str, ...]
    samplerate: int
    count: int
    mean: float
    m2: float


def _logmel_file(
    path: str | os.PathLike[str],
    out: Path | None,
    args: argparse.Namespace,
    *,
    normalize: bool = False,
    dataset: tuple[float, float] | None = None,
    stats_path: str | None = None,
    show_progress: bool = False,
) -> _LogmelDone:
    """Stream ``path``'s log-mel matrix into ``out`` (NPY, then its JSON sidecar), or only its statistics.

    Memory does not grow with the file: decoding, resampling (soxr HQ), the
    STFT and the writing go block by block.  ``normalize`` standardizes by
    the file's own mean and std (a second pass over the written matrix),
    ``dataset`` by the given ``(mean, std)``.
    """
    from spectroview.audio.resample import resampled_length
    from spectroview.batch.features import (
        LOGMEL_AMIN,
        NpyColumnWriter,
        RunningStats,
        logmel_blocks,
        logmel_frames,
        source_entry,
    )

    # The NPY and its sidecar are replaced together, or neither is.
    group: contextlib.AbstractContextManager[tuple[str, ...]] = (
        atomic_files([out, out.with_suffix(".json")]) if out is not None else contextlib.nullcontext(("", ""))
    )
    with group as temps, _open_source(os.fspath(path), args.channel, getattr(args, "stream", None)) as source:
        info = source.info
        sr = args.sr or info.samplerate
        params = _params_from(args, sr, scale="mel")
        _check_hop(args, resampled_length(info.frames, info.samplerate, sr), sr)
        n_frames = logmel_frames(info.frames, info.samplerate, params)
        if out is not None:
            _check_disk(out, 4 * params.n_mels * n_frames, params)
        stats = RunningStats()
        progress = _Progress("features", info.frames) if show_progress else None
        entry: dict | None = None
        try:
            if out is None:
                for columns in logmel_blocks(source, params, progress=progress):
                    stats.add(columns)
            else:

                def write(tmp: str) -> None:
                    nonlocal entry
                    writer = NpyColumnWriter(tmp, params.n_mels, n_frames)
                    try:
                        for columns in logmel_blocks(source, params, progress=progress):
                            stats.add(columns)
                            writer.write(columns)
                        if dataset is not None:
                            mean, std = dataset
                            entry = {"mean": mean, "std": std, "scope": "dataset", "stats": stats_path}
                            writer.standardize(mean, std)
                        elif normalize:
                            entry = {"mean": stats.mean, "std": stats.std}
                            writer.standardize(stats.mean, stats.std)
                    except BaseException:
                        writer.abort()  # the error that stopped the writing is the one to report
                        raise
                    writer.close()

                write(temps[0])
        finally:
            if progress is not None:
                progress.close()
        done = _LogmelDone(
            source=source.path,
            nonfinite=source.nonfinite_count,
            warnings=source.warnings,
            samplerate=sr,
            count=stats.count,
            mean=stats.mean,
            m2=stats.m2,
        )
        if out is None:
            return done
        from spectroview.dsp import frame_times, row_frequencies

        centres, edges = row_frequencies(params)
        times = frame_times(n_frames, params)
        meta = {
            "spectroview": __version__,
            "source": source_entry(info, warnings=done.warnings),
            "channel": "mix" if args.channel is None else args.channel,
            "params": dataclasses.asdict(params),
            # What None stands for in params: the values used.
            "params_used": {"hop_length": params.hop, "win_length": params.win, "fmax": params.fmax_for(sr)},
            "resampled": sr != info.samplerate,
            "resampler": "soxr HQ (librosa's default res_type='soxr_hq')" if sr != info.samplerate else None,
            "values": f"10*log10(max({LOGMEL_AMIN:g}, mel power)) dB re 1.0 (full-scale samples are +-1)",
            "normalize": entry,
            "shape": [params.n_mels, n_frames],
            "dtype": "float32",
            "axes": {
                "rows": "mel bands, low to high",
                "mel_center_hz": centres.tolist(),
                "mel_edge_hz": edges.tolist(),
                "columns": "frames; time of frame t's centre in seconds = time_start_s + t * time_step_s",
                "time_start_s": float(times[0]) if times.size else 0.0,
                "time_step_s": params.hop / sr,
            },
            "nonfinite_samples_zeroed": done.nonfinite,
        }
        Path(temps[1]).write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n")
    return done


def _write_json(path: Path, doc: dict) -> None:
    def write(tmp: str) -> None:
        Path(tmp).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")

    atomic_write(path, write)


def _features_ast(args: argparse.Namespace) -> int:
    """``features --preset ast``: the AST model's input, its patches and the sidecar."""
    out = _check_output(args.output, ".npy")
    patches_out = None
    if args.patches is not None:
        patches_out = (
            out.with_suffix(".patches.npy") if args.patches == "" else _check_output(args.patches, ".npy", "--patches")
        )
        if same_file(patches_out, out):
            raise CliError(f"--patches {args.patches}: is the -o file; choose another name")
    _refuse_clash([args.file], [out, patches_out, out.with_suffix(".json")])
    done = _ast_file(args.file, out, patches_out, args.channel, args.stream)
    for text in done.warnings:
        _warn(f"{done.source}: {text}")
    if done.nonfinite:
        _warn(f"{done.source}: {done.nonfinite} non-finite samples (NaN/Inf) treated as silence")
    return 0


def _ast_file(
    src: str | os.PathLike[str], out: Path, patches_out: Path | None, channel: int | None, stream: int | None = None
) -> _LogmelDone:
    """Compute and write ``src``'s AST features (and patches) and sidecar."""
    from spectroview.audio.resample import resample, resampled_length
    from spectroview.batch.features import source_entry
    from spectroview.dsp import ast

    sidecar = out.with_suffix(".json")
    with _open_source(os.fspath(src), channel, stream) as source:
        info = source.info
        n16 = resampled_length(info.frames, info.samplerate, ast.AST_SR)
        n_frames = ast.ast_n_frames(n16)
        if n_frames == 0:
            raise CliError(
                f"{source.path}: too short for --preset ast ({info.frames} samples at {info.samplerate} Hz); "
                f"one frame needs {1000 * ast.AST_FRAME_LENGTH / ast.AST_SR:g} ms"
            )
        target = ast.AST_TARGET_LENGTH
        # Only the first target_length frames reach the model: read those plus
        # a second (far beyond soxr's filter, a few hundred samples), not an
        # hour-long file; the samples used are those of the whole file resampled.
        needed = (target - 1) * ast.AST_FRAME_SHIFT + ast.AST_FRAME_LENGTH
        stop = min(info.frames, -(-needed * info.samplerate // ast.AST_SR) + info.samplerate)
        y16 = resample(source.read(0, stop), orig_sr=info.samplerate, target_sr=ast.AST_SR)
        if stop < info.frames:
            y16 = y16[:needed]
        nonfinite = source.nonfinite_count
    features = ast.ast_features(y16, sr=ast.AST_SR, target_length=target, mean=ast.AST_MEAN, std=ast.AST_STD)
    patches = grid = None
    if patches_out is not None:
        patches, grid = ast.ast_patches(features, patch=ast.AST_PATCH, stride=ast.AST_PATCH_STRIDE)
    centres, edges = ast.ast_row_frequencies()
    pad_value = (0.0 - ast.AST_MEAN) / (2.0 * ast.AST_STD)
    step = ast.AST_FRAME_SHIFT / ast.AST_SR
    meta = {
        "spectroview": __version__,
        "preset": "ast",
        "source": source_entry(info, warnings=source.warnings),
        "channel": "mix" if channel is None else channel,
        "source_samplerate": info.samplerate,
        "samplerate": ast.AST_SR,
        "resampled": info.samplerate != ast.AST_SR,
        "resampler": "soxr HQ (librosa's default res_type='soxr_hq')" if info.samplerate != ast.AST_SR else None,
        **ast.ast_recipe(target),
        "n_frames": n_frames,
        "padding": {
            "action": "padded" if n_frames < target else "cut" if n_frames > target else "none",
            "padded_frames": max(0, target - n_frames),
            "cut_frames": max(0, n_frames - target),
            "pad_value": pad_value,
        },
        "shape": list(features.shape),
        "dtype": "float32",
        "axes": {
            "rows": "mel bands on the Kaldi scale, low to high",
            "mel_center_hz": centres.tolist(),
            "mel_edge_hz": edges.tolist(),
            "columns": "frames; frame t covers [t * time_step_s, t * time_step_s + frame_length_s) of the "
            "source (Kaldi snip_edges, no padding); its centre is time_start_s + t * time_step_s; "
            "columns >= valid_columns are padding",
            "frame_start_s": 0.0,
            "frame_length_s": ast.AST_FRAME_LENGTH / ast.AST_SR,
            "time_start_s": float(ast.ast_frame_times(1)[0]),
            "time_step_s": step,
            "valid_columns": min(n_frames, target),
        },
        "patches": None
        if patches is None or grid is None or patches_out is None
        else {
            "path": str(patches_out),
            "shape": list(patches.shape),
            "dtype": "float32",
            "grid": list(grid),
            "order": "row-major over (frequency, time): patch i * grid[1] + j = "
            "features[stride*i : stride*i + patch, stride*j : stride*j + patch], as AST's Conv2d patch "
            "embedding flattens them",
        },
        "nonfinite_samples_zeroed": nonfinite,
    }

    def write_sidecar(tmp: str) -> None:
        Path(tmp).write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n")

    # The matrix, its patches and the sidecar are replaced together, or none is.
    with_patches = patches is not None and patches_out is not None
    group = [out, sidecar] + ([patches_out] if with_patches else [])
    with atomic_files(group) as temps:  # type: ignore[arg-type]
        _save_npy(temps[0], features)
        write_sidecar(temps[1])
        if patches is not None and with_patches:
            _save_npy(temps[2], patches)
    return _LogmelDone(
        source=source.path,
        nonfinite=nonfinite,
        warnings=source.warnings,
        samplerate=ast.AST_SR,
        count=0,
        mean=0.0,
        m2=0.0,
    )


#: Name of the dataset statistics ``features DIR --dataset-stats`` writes in OUTDIR.
_STATS_NAME = "stats.json"


@dataclasses.dataclass(frozen=True)
class _DirJob:
    """One file of ``features DIR``: what a worker process computes and writes."""

    source: str
    out: str
    patches: str | None
    args: argparse.Namespace
    #: "stats": only the log-mel sums (first pass of --dataset-stats); "write": the outputs.
    action: str = "write"
    #: (mean, std) of the dataset when --dataset-stats, else None.
    dataset: tuple[float, float] | None = None
    #: Where those are recorded (OUTDIR/stats.json).
    stats_path: str | None = None


@dataclasses.dataclass(frozen=True)
class _DirResult:
    source: str
    error: str | None = None
    nonfinite: int = 0
    #: Log-mel values of the file: count, mean and sum of squared deviations from that mean.
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    samplerate: int = 0
    warnings: tuple[str, ...] = ()


def _skip_reason(source: str, exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory"
    text = _user_message(exc).strip().replace("\n", " ") or type(exc).__name__
    # The audio layer's messages start with the path, which the skip line already shows.
    for prefix in (f"{source}: ", f"{Path(source)}: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


class _Stopped(BaseException):
    """SIGTERM in a worker during a job: unwinds it (its temporary files go), then the worker exits."""


_IN_JOB = False  # in a worker process: a job is running


def _worker_sigterm(signum: int, _frame: object) -> None:
    if _IN_JOB:
        raise _Stopped
    os._exit(128 + signum)  # idle: nothing to tidy


def _dir_worker_init() -> None:
    """Workers leave Ctrl-C to the parent (which stops them with SIGTERM); one BLAS thread each."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_sigterm)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def _dir_job(job: _DirJob) -> _DirResult:
    """Run in a worker process: a file that cannot be read or analysed is reported, not raised.

    Writing errors (disk full, permission denied) are raised: they concern every file.
    """
    global _IN_JOB
    _IN_JOB = True
    try:
        return _dir_job_run(job)
    except _Stopped:
        os._exit(143)  # unwound: the job's temporary files are gone
    finally:
        _IN_JOB = False


def _dir_job_run(job: _DirJob) -> _DirResult:
    args = job.args
    try:
        if args.preset == "ast":
            # Computes and writes in one go; a failure to write is an OSError.
            done = _ast_file(
                job.source,
                Path(job.out),
                None if job.patches is None else Path(job.patches),
                args.channel,
                getattr(args, "stream", None),
            )
        else:
            done = _logmel_file(
                job.source,
                None if job.action == "stats" else Path(job.out),
                args,
                normalize=bool(args.normalize),
                dataset=job.dataset,
                stats_path=job.stats_path,
            )
    except (AudioError, CliError, ParameterError, MemoryError) as exc:
        return _DirResult(job.source, error=_skip_reason(job.source, exc))
    return _DirResult(
        job.source,
        nonfinite=done.nonfinite,
        count=done.count,
        mean=done.mean,
        m2=done.m2,
        samplerate=done.samplerate,
        warnings=done.warnings,
    )


class _CountProgress:
    """``label  42% (21/50)`` on stderr for work longer than a second, only on a terminal."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, max(1, total)
        self.start = time.monotonic()
        self.enabled = sys.stderr.isatty()
        self.width = 0

    def __call__(self, done: int) -> None:
        if self.enabled and time.monotonic() - self.start > 1.0:
            text = f"\r{self.label} {100 * done // self.total:3d}% ({done}/{self.total})"
            self.width = max(self.width, len(text))
            sys.stderr.write(text)
            sys.stderr.flush()

    def close(self) -> None:
        if self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _audio_files(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The audio files under ``root`` (relative, sorted) and the subfolders that could not be listed."""
    found: list[Path] = []
    unlisted: list[tuple[str, str]] = []

    def onerror(exc: OSError) -> None:
        unlisted.append((str(exc.filename or root), f"cannot list the directory ({exc.strerror or exc})"))

    for folder, subfolders, names in os.walk(root, onerror=onerror):
        subfolders.sort()
        base = Path(folder)
        for name in sorted(names):
            if is_audio_path(name) and (base / name).is_file():
                found.append((base / name).relative_to(root))
    return found, unlisted


def _output_names(files: list[Path], *, patches: bool, reserved: set[str]) -> dict[Path, Path]:
    """Relative NPY path of each relative source: ``a/b.wav`` -> ``a/b.npy``.

    Sources whose outputs would clash (``b.wav`` and ``b.flac``, or ``stats.wav``
    and --dataset-stats's ``stats.json``) keep their extension: ``a/b.wav.npy``.
    Names are compared ignoring case, for case-insensitive file systems.
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
                raise CliError(f"{rel} and {other or name}: would write the same output file {name}; rename one")
            seen[name] = rel
    return chosen


def _run_dir_jobs(jobs: list[_DirJob], workers: int, progress: _CountProgress, done: int) -> list[_DirResult]:
    """Run ``jobs`` on ``workers`` processes (in this one if 1), results in the jobs' order."""
    results: dict[int, _DirResult] = {}
    if workers <= 1:
        for i, job in enumerate(jobs):
            results[i] = _dir_job(job)
            progress(done + len(results))
        return [results[i] for i in range(len(jobs))]
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=workers, initializer=_dir_worker_init)
    try:
        futures = {pool.submit(_dir_job, job): i for i, job in enumerate(jobs)}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            for future in finished:
                results[futures[future]] = future.result()  # a writing error or a bug: raised here
            progress(done + len(results))
    except BaseException:
        _stop_workers(pool, jobs)
        raise
    pool.shutdown()
    return [results[i] for i in range(len(jobs))]


def _stop_workers(pool: Any, jobs: list[_DirJob]) -> None:
    """Ctrl-C, SIGTERM or an error: no new job starts, the running ones stop and leave nothing half-written."""
    # ProcessPoolExecutor has no public way to stop running workers before Python 3.14
    # (terminate_workers); its process table is the documented-in-source _processes.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: the job unwinds (atomic writes remove their temporary files)
    deadline = time.monotonic() + 5.0
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1.0)
    for job in jobs:  # a worker killed mid-write cannot tidy; its temporary files are named after the target
        for target in filter(None, (job.out, job.patches, job.out and str(Path(job.out).with_suffix(".json")))):
            path = Path(target)
            for stray in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
                with contextlib.suppress(OSError):
                    stray.unlink()


def _combine_stats(results: list[_DirResult]) -> tuple[int, float, float]:
    """Count, mean and population std of all the files' values together."""
    from spectroview.batch.features import RunningStats

    total = RunningStats()
    for r in results:
        total.merge(r.count, r.mean, r.m2)
    return total.count, total.mean, total.std


def _features_dir(args: argparse.Namespace) -> int:
    """``features DIR -o OUTDIR``: every audio file under DIR, on all cores."""
    root = Path(args.file)
    outdir = Path(args.output)
    dataset_stats = bool(getattr(args, "dataset_stats", False))
    if outdir.exists() and not outdir.is_dir():
        raise CliError(f"-o {args.output}: exists and is not a directory (with a directory FILE, -o is a directory)")
    if args.patches not in (None, ""):
        raise CliError(
            f"--patches {args.patches}: with a directory, give --patches without a value "
            "(each file's patches go beside its NPY as NAME.patches.npy)"
        )
    if args.preset != "ast":
        # Refuse options that are wrong for every file now; sample-rate-dependent ones per file.
        _params_from(args, args.sr, scale="mel")
    files, unlisted = _audio_files(root)
    if not files:
        if unlisted:
            raise CliError(f"{unlisted[0][0]}: {unlisted[0][1]}")
        raise CliError(f"{root}: no audio files (ending in {', '.join(AUDIO_EXTENSIONS)}) in it or its subfolders")
    reserved = {_STATS_NAME} if dataset_stats else set()
    names = _output_names(files, patches=args.patches is not None, reserved=reserved)
    created = [
        d for d in (outdir, *(outdir / f for f in sorted({npy.parent for npy in names.values()}))) if not d.exists()
    ]
    outdir.mkdir(parents=True, exist_ok=True)
    for folder in sorted({npy.parent for npy in names.values()}):
        (outdir / folder).mkdir(parents=True, exist_ok=True)

    def job(rel: Path, **kw: object) -> _DirJob:
        out = outdir / names[rel]
        patches = str(out.with_suffix(".patches.npy")) if args.patches is not None else None
        return _DirJob(source=str(root / rel), out=str(out), patches=patches, args=args, **kw)  # type: ignore[arg-type]

    workers = max(1, min(os.cpu_count() or 1, len(files)))
    progress = _CountProgress("features", len(files) * (2 if dataset_stats else 1))
    skipped: dict[str, str] = dict(unlisted)
    warned: dict[str, int] = {}
    damaged: dict[str, tuple[str, ...]] = {}
    written: list[Path] = []
    try:
        todo = list(files)
        dataset = stats_path = None
        if dataset_stats:
            first = _run_dir_jobs([job(rel, action="stats") for rel in todo], workers, progress, 0)
            for r in first:
                if r.error is not None:
                    skipped[r.source] = r.error
                else:
                    if r.nonfinite:
                        warned[r.source] = r.nonfinite
                    if r.warnings:
                        damaged[r.source] = r.warnings
            ok = [(rel, r) for rel, r in zip(todo, first, strict=True) if r.error is None]
            todo = [rel for rel, _ in ok]
            count, mean, std = _combine_stats([r for _, r in ok])
            dataset = (mean, std)
            if todo:
                stats_doc = {
                    "spectroview": __version__,
                    "mean": mean,
                    "std": std,
                    "count": count,
                    "files": [rel.as_posix() for rel in todo],
                    "preset": args.preset,
                    "params": {
                        "sr": args.sr,
                        "n_fft": args.n_fft,
                        "hop_length": args.hop,
                        "win_length": args.win_length,
                        "window": args.window,
                        "n_mels": args.n_mels,
                        "fmin": args.fmin,
                        "fmax": args.fmax,
                        "channel": "mix" if args.channel is None else args.channel,
                        "stream": getattr(args, "stream", None) or 1,
                    },
                    "samplerates": sorted({r.samplerate for _, r in ok}),
                    "values": "10*log10(max(1e-10, mel power)) dB re 1.0, before standardization",
                    "std_kind": "population (ddof=0) over every value of every file",
                    "usage": "each file's NPY holds (logmel - mean) / std",
                }
                stats_path = str(outdir / _STATS_NAME)
                _write_json(Path(stats_path), stats_doc)
        second = _run_dir_jobs(
            [job(rel, dataset=dataset, stats_path=stats_path) for rel in todo],
            workers,
            progress,
            progress.total - len(todo),
        )
        for rel, r in zip(todo, second, strict=True):
            if r.error is not None:
                skipped[r.source] = r.error
            else:
                written.append(outdir / names[rel])
                if r.nonfinite:
                    warned[r.source] = r.nonfinite
                if r.warnings:
                    damaged[r.source] = r.warnings
    except BaseException:
        # Interrupted or a failed write: the folders this run made and left empty go too.
        for folder in sorted(created, key=lambda d: len(d.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
        raise
    finally:
        progress.close()
    for source, texts in sorted(damaged.items()):
        for text in texts:
            _warn(f"{source}: {text}")
    for source, n in sorted(warned.items()):
        _warn(f"{source}: {n} non-finite samples (NaN/Inf) treated as silence")
    for source, reason in sorted(skipped.items()):
        print(f"{PROG}: skipped {source}: {reason}", file=sys.stderr)
    print(f"wrote {len(written)} feature files to {outdir}; skipped {len(skipped)}")
    return 1 if skipped else 0


def _save_npy(path: str, array: np.ndarray) -> None:
    import numpy as np

    with open(path, "wb") as fh:
        np.save(fh, array)


def cmd_devices(args: argparse.Namespace) -> int:
    from spectroview.audio.devices import list_devices

    devices = list_devices()
    if not devices:
        print("no audio devices found")
        return 0
    print(f"{'':2} {'idx':>3}  {'name':40} {'host API':12} {'in':>3} {'out':>3} {'rate Hz':>8}")
    for d in devices:
        mark = ("<" if d.is_default_input else " ") + (">" if d.is_default_output else " ")
        print(
            f"{mark} {d.index:>3}  {d.name[:40]:40} {d.hostapi[:12]:12} "
            f"{d.max_input_channels:>3} {d.max_output_channels:>3} {d.default_samplerate:>8.0f}"
        )
    print("< default input, > default output")
    return 0


def _gui(argv: Sequence[str]) -> int:
    parser = _Parser(
        prog=PROG,
        description="Open the spectrogram viewer on FILE (default: the bundled demo). "
        "Subcommands (render, features, devices) work without a display; see 'spectroview COMMAND --help'.",
    )
    parser.add_argument("file", nargs="?", default=None, metavar="FILE", help="audio file (default: the bundled demo)")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--screenshot", metavar="OUT.png", help="save a PNG of the whole window once the view is computed, then exit"
    )
    parser.add_argument("--size", type=_size, default=None, metavar="WxH", help="window size in pixels, e.g. 1280x800")
    parser.add_argument("--mic", action="store_true", help="start in live mode with the microphone")
    parser.add_argument(
        "--device", default=None, metavar="NAME", help="input device for --mic: index or part of its name"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        metavar="S",
        help="with --mic --screenshot: capture this long first (default 3)",
    )
    _add_analysis_options(parser, saved=True)
    parser.add_argument("--colormap", default=None, choices=(*COLORMAPS, "gray"), help="colour map")
    parser.add_argument(
        "--db-range", type=float, default=None, metavar="DB", help="dB shown below 0 dBFS (sets the floor)"
    )
    args = parser.parse_args(argv)
    from spectroview._display import (
        has_display,
        install_command,
        missing_window_libraries,
        uses_x11,
        x11_connect_error,
    )

    if args.screenshot is not None:
        if not args.screenshot.strip():
            raise CliError("--screenshot '': give the PNG file to write")
        _refuse_clash([args.file], [_check_output(args.screenshot, ".png", "--screenshot")])
        if not has_display():
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    elif not has_display():
        raise CliError(
            "no display (DISPLAY and WAYLAND_DISPLAY are unset): the viewer needs one; "
            "'spectroview render FILE -o OUT.png' or 'spectroview FILE --screenshot OUT.png' work without"
        )

    if uses_x11():
        missing = missing_window_libraries()  # Qt itself would abort with several lines, naming the wrong one
        if missing:
            raise CliError(
                f"the window cannot open: Qt's X11 plugin needs {', '.join(missing)}, not found on this system; "
                f"install with: {install_command(missing)}"
            )
        why = x11_connect_error()  # Qt would abort the process (and blame libxcb-cursor0)
        if why is not None:
            raise CliError(
                f"cannot open a window on the X display {os.environ.get('DISPLAY', '')!r} (DISPLAY): {why}; "
                "'spectroview FILE --screenshot OUT.png' works without a display"
            )
    if args.mic and args.file is not None:
        raise CliError("--mic: give either FILE or --mic, not both")
    if (args.device is not None or args.seconds is not None) and not args.mic:
        raise CliError("--device and --seconds go with --mic")
    if args.seconds is not None and not 0 < args.seconds <= 600:
        raise CliError(f"--seconds {args.seconds}: must be in (0, 600]")
    # Only what the user gave (every default is None): it wins over the saved settings.
    overrides: dict[str, object] = {}
    for option, name in (
        ("n_fft", "n_fft"),
        ("hop", "hop_length"),
        ("win_length", "win_length"),
        ("window", "window"),
        ("scale", "scale"),
        ("n_mels", "n_mels"),
        ("fmin", "fmin"),
        ("fmax", "fmax"),
    ):
        value = getattr(args, option)
        if value is not None:
            overrides[name] = value
    if args.colormap:
        overrides["colormap"] = "grey" if args.colormap == "gray" else args.colormap
    if args.db_range is not None:
        from spectroview.session.settings import DB_MIN

        if not math.isfinite(args.db_range) or not 0 < args.db_range <= -DB_MIN:
            raise CliError(f"--db-range {args.db_range}: must be a number of dB in (0, {-DB_MIN:g}]")
        overrides["db_floor"] = -args.db_range
    if args.channel is not None:
        overrides["channel"] = args.channel - 1
    stream = None
    if args.stream is not None:
        if args.file is None:
            raise CliError("--stream goes with FILE")
        stream = args.stream - 1
    from spectroview._memory import limit_malloc_arenas

    limit_malloc_arenas()  # before any thread: the window's workers would each hold freed memory
    if args.file is not None:
        # Fail on the command line, before any window, for a file that cannot open
        # (its warnings are the window's to say, once).
        with _open_source(args.file, args.channel, args.stream) as source:
            _check_hop(args, source.info.frames, source.info.samplerate)
    try:
        from spectroview.ui.app import run
    except ImportError as exc:
        raise CliError(f"the viewer needs PySide6 and pyqtgraph: {exc}") from None
    device: int | str | None = args.device
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device)
    import faulthandler

    with _library_stderr_silenced():  # decoders' own chatter: the window says what matters, once
        faulthandler.enable(file=sys.stderr)  # ... but a crash's stacks still reach the terminal
        return run(
            args.file,
            overrides=overrides,
            screenshot=args.screenshot,
            size=args.size,
            demo=None if args.mic else resource_path(DEMO_NAME),
            mic=args.mic,
            device=device,
            seconds=3.0 if args.seconds is None else args.seconds,
            stream=stream,
        )


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "render": cmd_render,
    "features": cmd_features,
    "devices": cmd_devices,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spectroview`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if (argv and argv[0] in SUBCOMMANDS) or argv[:1] in (["-h"], ["--help"]):
            args = build_parser().parse_args(argv)
            if args.command in ("render", "features"):
                with _library_stderr_silenced(), _sigterm_unwinds():
                    return COMMANDS[args.command](args)
            return COMMANDS[args.command](args)
        if argv[:1] == ["--version"]:
            build_parser().parse_args(argv)
        return _gui(argv)
    except (AudioError, ParameterError, CliError) as exc:
        print(f"{PROG}: error: {_user_message(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        # Disk full, permission denied on the output, ...: the user's to fix.
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{PROG}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except MemoryError as exc:
        # E.g. --width 32768 --height 32768: a user's request, not a bug.
        reason = (str(exc).splitlines() or ["allocation failed"])[0]
        print(f"{PROG}: error: out of memory ({reason}); try a smaller image or a shorter file", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 143


class _Terminated(BaseException):
    """SIGTERM, raised where the main thread is, so every write unwinds as for Ctrl-C."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    import signal

    def terminated(_signum: int, _frame: object) -> None:
        raise _Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
