"""Command line: ``spectroview [FILE]`` and the headless subcommands.

``render``, ``features`` and ``devices`` run without a display.  Every error
a user can cause is one line ``spectroview: error: ...`` on stderr with exit
status 2, and nothing is written to the output path; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from spectroview import __version__
from spectroview._atomic import output_clash, same_file
from spectroview._resources import DEMO_NAME, resource_path
from spectroview.audio.errors import AudioError
from spectroview.audio.extensions import AUDIO_EXTENSIONS
from spectroview.batch.errors import BatchError
from spectroview.dsp.names import (
    FMIN_DEFAULT,
    FRONT_END_ALIASES,
    FRONT_ENDS,
    LOG_FMIN_DEFAULT,
    LOGS,
    N_FFT_DEFAULT,
    N_FFT_MAX,
    N_FFT_MIN,
    N_MELS_DEFAULT,
    PAD_MODES,
    SCALE_DEFAULT,
    SCALES,
    WINDOW_DEFAULT,
    WINDOWS,
    ParameterError,
)
from spectroview.render.colormap_data import COLORMAPS

if TYPE_CHECKING:  # numpy and the engine are imported by the commands that use them (start-up time)
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
    "channel": "--channel",
    "power": "--power",
    "top_db": "--top-db",
    "pad_mode": "--pad-mode",
    "log": "--log",
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


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value}: must be >= {minimum}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


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
    _add_source_options(g)


def _add_source_options(g: Any) -> None:
    """--channel and --stream."""
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
        help="write what a model reads (log-mel, torchaudio, PANNs, Whisper, AST) as NPY with a JSON sidecar",
        description="Write FILE's features as float32 (n_mels, n_frames) NPY, rows low to high frequency, and "
        "OUT.json naming the preset, its reference implementation, every parameter, the source and the axes. "
        "Presets: librosa (default; alias logmel): power_to_db(melspectrogram(y, sr)), at the file's rate, "
        "n_fft 2048, hop 512, 128 Slaney mels. torchaudio: torchaudio.transforms.MelSpectrogram's defaults "
        "(16 kHz, n_fft 400, hop 200, 128 HTK mels without normalization, reflect padding, power, no log). "
        "panns: 32 kHz, n_fft 1024, hop 320, 64 mels 50-14000 Hz, dB. whisper / whisper-128: Whisper's "
        "encoder input for the first 30 s (80 or 128 mels x 3000 frames). ast: the Audio Spectrogram "
        "Transformer's input for the first 10.24 s (128 x 1024, Kaldi fbank, AudioSet normalization). "
        "The file is resampled to the preset's rate with soxr HQ. librosa and torchaudio take the analysis "
        "options below; the other presets are fixed as their models were trained (only --channel and "
        "--stream apply). With a directory, every audio file becomes one task on a Dask cluster.",
    )
    f.add_argument(
        "file",
        metavar="FILE",
        help="audio file; or a directory DIR: every audio file under it (recursively; extensions "
        f"{' '.join(AUDIO_EXTENSIONS)}, any case) gives an NPY and its sidecar under -o OUTDIR, mirroring "
        "DIR's subfolders (a.wav -> OUTDIR/a.npy, OUTDIR/a.json); unreadable files are skipped and listed at "
        "the end (exit status 1), a manifest is written, and a summary line goes to stdout",
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
        choices=(*FRONT_ENDS, *FRONT_END_ALIASES),
        default="librosa",
        metavar="NAME",
        help=f"the front end: {', '.join(FRONT_ENDS)} (default librosa; logmel is an alias)",
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
    g = f.add_argument_group("analysis (librosa and torchaudio presets; default: the preset's)")
    g.add_argument("--sr", type=_positive_int, default=None, metavar="HZ", help="resample to this rate first")
    g.add_argument("--n-fft", type=int, default=None, metavar="N", help=f"FFT size ({N_FFT_MIN}-{N_FFT_MAX})")
    g.add_argument(
        "--hop",
        type=int,
        default=None,
        metavar="N",
        help="hop length in samples (default: the preset's; with --n-fft or --win-length: a quarter of the "
        "window for librosa, half for torchaudio, as they do)",
    )
    g.add_argument("--win-length", type=int, default=None, metavar="N", help="window length (default: --n-fft)")
    g.add_argument("--window", default=None, metavar="NAME", help=f"window function: {', '.join(WINDOWS)}")
    g.add_argument("--n-mels", type=int, default=None, metavar="N", help="mel bands")
    g.add_argument("--fmin", type=float, default=None, metavar="HZ", help="lowest mel frequency in Hz")
    g.add_argument("--fmax", type=float, default=None, metavar="HZ", help="highest mel frequency in Hz (sr/2)")
    g.add_argument("--mel-scale", choices=("slaney", "htk"), default=None, help="mel formula")
    g.add_argument("--mel-norm", choices=("slaney", "none"), default=None, help="filter area normalization")
    g.add_argument("--power", type=int, choices=(1, 2), default=None, help="1: magnitude, 2: power")
    g.add_argument(
        "--center",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="centre frames on t * hop (padding the ends with --pad-mode)",
    )
    g.add_argument("--pad-mode", choices=PAD_MODES, default=None, help="padding of centred frames")
    g.add_argument(
        "--log",
        choices=LOGS,
        default=None,
        help="db: 10 log10 (power) or 20 log10 (magnitude), librosa's power_to_db/amplitude_to_db with ref 1; "
        "ln, log10; none: the mel values",
    )
    g.add_argument(
        "--top-db", type=float, default=None, metavar="DB", help="with --log db: raise values below max - DB to it"
    )
    s = f.add_argument_group("source")
    _add_source_options(s)
    f.add_argument(
        "--normalize",
        action="store_true",
        help="standardize to zero mean and unit variance (with a directory: each file by its own mean and std)",
    )
    d = f.add_argument_group("directories (Dask)")
    d.add_argument(
        "--dataset-stats",
        action="store_true",
        help="with a directory (implies --normalize): the mean and std of the values of all the files together, "
        "reduced on the cluster and written to OUTDIR/stats.json; every file is standardized with them. "
        "Not with whisper or ast (their normalization is fixed)",
    )
    d.add_argument(
        "--workers",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help="worker processes of the local Dask cluster (default: one per core); 0: in this process, one file "
        "after another",
    )
    d.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="use an existing Dask cluster (e.g. tcp://10.0.0.5:8786), whose workers have spectroview installed "
        "and see DIR and OUTDIR at the same paths",
    )
    d.add_argument(
        "--resume",
        action="store_true",
        help="keep outputs whose sidecar records the same preset, parameters and source file (size and time); "
        "compute the others",
    )
    d.add_argument(
        "--manifest",
        default=None,
        metavar="PATH",
        help="where the manifest goes: one row per file (file, output, shape, duration_s, status, error, warnings); .csv or "
        ".parquet (needs pyarrow); default OUTDIR/manifest.csv",
    )

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
    from spectroview.audio.files import open_counted

    target = resource_path(DEMO_NAME) if path is None else path
    # A long compressed file is scanned first (an hour of MP3: about a second).
    progress = _Progress("scanning", 1000)
    try:
        return open_counted(target, channel=channel, stream=stream, progress=lambda f: progress(round(1000 * f)))
    finally:
        progress.close()


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

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = max(1, total)
        if self.enabled and time.monotonic() - self.start > 1.0:
            sys.stderr.write(f"\r{self.label} {100 * done // self.total:3d}%")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * (len(self.label) + 6) + "\r")


def cmd_render(args: argparse.Namespace) -> int:
    from spectroview._memory import reuse_large_blocks
    from spectroview.audio.files import prefetched
    from spectroview.render.image import ImageOptions, colorize, spectrogram_image
    from spectroview.render.png import write_png

    reuse_large_blocks()  # MB-sized blocks reused, not mapped afresh each time (5-8 % of a render)

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


#: Options of ``features`` that only the librosa and torchaudio presets take (argparse dest -> option).
_FRONT_END_OPTIONS = {
    "sr": "--sr",
    "n_fft": "--n-fft",
    "hop": "--hop",
    "win_length": "--win-length",
    "window": "--window",
    "n_mels": "--n-mels",
    "fmin": "--fmin",
    "fmax": "--fmax",
    "mel_scale": "--mel-scale",
    "mel_norm": "--mel-norm",
    "power": "--power",
    "center": "--center/--no-center",
    "pad_mode": "--pad-mode",
    "log": "--log",
    "top_db": "--top-db",
}
#: Presets that take them.
_OPEN_PRESETS = ("librosa", "logmel", "torchaudio")


def _front_end_from(args: argparse.Namespace) -> Any:
    """The front end ``features`` computes: the preset with the options given (refused by a fixed preset)."""
    from spectroview.dsp.frontends import front_end

    given = {dest: getattr(args, dest) for dest in _FRONT_END_OPTIONS if getattr(args, dest, None) is not None}
    if given and args.preset not in _OPEN_PRESETS:
        fixed = front_end(args.preset)
        raise CliError(
            f"{', '.join(_FRONT_END_OPTIONS[d] for d in given)}: cannot be combined with --preset {args.preset}, "
            f"which fixes the analysis as its model was trained ({fixed.description.split(': ', 1)[1]}); "
            "only --channel and --stream apply"
        )
    names = {"hop": "hop_length", "mel_scale": "htk", "mel_norm": "norm"}
    changes = {names.get(dest, dest): value for dest, value in given.items()}
    if "htk" in changes:
        changes["htk"] = changes["htk"] == "htk"
    if "norm" in changes:
        changes["norm"] = None if changes["norm"] == "none" else "slaney"
    if "power" in changes:
        changes["power"] = float(changes["power"])
    return front_end(args.preset, **changes)


def _feature_request(args: argparse.Namespace, *, normalize: bool) -> Any:
    from spectroview.batch.features import FeatureRequest

    fe = _front_end_from(args)
    if (normalize or getattr(args, "dataset_stats", False)) and not fe.streaming:
        option = "--dataset-stats" if getattr(args, "dataset_stats", False) else "--normalize"
        raise CliError(
            f"{option}: cannot be combined with --preset {fe.name}, which normalizes as its model was trained"
        )
    if args.patches is not None and fe.kind != "ast":
        raise CliError("--patches: goes with --preset ast")
    return FeatureRequest(
        front_end=fe,
        channel=args.channel,
        stream=getattr(args, "stream", None),
        normalize=normalize,
        check_hop=args.hop is not None,
    )


def cmd_features(args: argparse.Namespace) -> int:
    from spectroview._memory import reuse_large_blocks

    reuse_large_blocks()
    if not args.file.strip():
        raise CliError("FILE: empty; name an audio file or a folder ('.' for this one)")
    directory = Path(args.file).is_dir()
    if getattr(args, "dataset_stats", False) and not directory:
        raise CliError(f"--dataset-stats: goes with a directory; {args.file} is not one")
    for option, value in (("--resume", args.resume), ("--scheduler", args.scheduler), ("--workers", args.workers)):
        if value not in (None, False) and not directory:
            raise CliError(f"{option}: goes with a directory; {args.file} is not one")
    if args.manifest is not None and not directory:
        raise CliError(f"--manifest: goes with a directory; {args.file} is not one")
    request = _feature_request(args, normalize=bool(args.normalize))
    if directory:
        return _features_dir(args, request)
    out = _check_output(args.output, ".npy")
    patches_out = None
    if args.patches is not None:
        patches_out = (
            out.with_suffix(".patches.npy") if args.patches == "" else _check_output(args.patches, ".npy", "--patches")
        )
        if same_file(patches_out, out):
            raise CliError(f"--patches {args.patches}: is the -o file; choose another name")
    _refuse_clash([args.file], [out, patches_out, out.with_suffix(".json")])
    from spectroview.batch.features import write_features

    progress = _Progress("features", 1)
    try:
        done = write_features(args.file, out, request, patches_out=patches_out, progress=progress)
    finally:
        progress.close()
    for text in done.warnings:
        _warn(f"{done.source}: {text}")
    if done.nonfinite:
        _warn(f"{done.source}: {done.nonfinite} non-finite samples (NaN/Inf) treated as silence")
    return 0


class _CountProgress:
    """``label  42% (21/50)`` on stderr for work longer than a second, only on a terminal."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, max(1, total)
        self.start = time.monotonic()
        self.enabled = sys.stderr.isatty()
        self.width = 0

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = max(1, total)
        if self.enabled and time.monotonic() - self.start > 1.0:
            text = f"\r{self.label} {100 * done // self.total:3d}% ({done}/{self.total})"
            self.width = max(self.width, len(text))
            sys.stderr.write(text)
            sys.stderr.flush()

    def close(self) -> None:
        if self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _features_dir(args: argparse.Namespace, request: Any) -> int:
    """``features DIR -o OUTDIR``: every audio file under DIR, one Dask task each."""
    from spectroview.batch.dataset import (
        STATS_NAME,
        DatasetItem,
        check_manifest_path,
        check_stats_path,
        find_audio_files,
        no_audio_message,
        output_names,
        run_dataset,
        write_manifest,
    )

    root = Path(args.file)
    if not args.output.strip():
        raise CliError("-o: empty; name the output directory")
    if args.scheduler is not None and args.workers is not None:
        raise CliError("--workers: not with --scheduler (the cluster there has its own workers)")
    outdir = Path(args.output).absolute()
    dataset_stats = bool(getattr(args, "dataset_stats", False))
    if outdir.exists() and not outdir.is_dir():
        raise CliError(f"-o {args.output}: exists and is not a directory (with a directory FILE, -o is a directory)")
    if args.patches not in (None, ""):
        raise CliError(
            f"--patches {args.patches}: with a directory, give --patches without a value "
            "(each file's patches go beside its NPY as NAME.patches.npy)"
        )
    manifest = check_manifest_path(args.manifest if args.manifest else outdir / "manifest.csv")
    if args.manifest and not manifest.resolve().parent.is_dir():
        raise CliError(f"--manifest {args.manifest}: its folder {manifest.parent} does not exist")
    files, unlisted = find_audio_files(root)
    if not files:
        if unlisted:
            raise CliError(f"{unlisted[0][0]}: {unlisted[0][1]}")
        raise CliError(no_audio_message(root))
    reserved = {STATS_NAME} if dataset_stats else set()
    reserved |= {manifest.relative_to(outdir).as_posix().lower()} if manifest.parent == outdir else set()
    if dataset_stats:
        check_stats_path(outdir / STATS_NAME)
    names = output_names(files, patches=args.patches is not None, reserved=reserved)
    created = [
        d for d in (outdir, *(outdir / f for f in sorted({npy.parent for npy in names.values()}))) if not d.exists()
    ]
    workers = max(1, min(os.cpu_count() or 1, len(files))) if args.workers is None else args.workers
    items = []
    # Absolute paths: the tasks may run on workers started in other folders (--scheduler).
    for rel in files:
        out = (outdir / names[rel]).absolute()
        patches = str(out.with_suffix(".patches.npy")) if args.patches is not None else None
        source = str((root / rel).absolute())
        items.append(DatasetItem(source=source, rel=rel.as_posix(), out=str(out), patches=patches))
    progress = _CountProgress("features", len(files))
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        for folder in sorted({npy.parent for npy in names.values()}):
            (outdir / folder).mkdir(parents=True, exist_ok=True)
        report = run_dataset(
            items,
            request,
            workers=workers,
            scheduler=args.scheduler,
            resume=bool(args.resume),
            dataset_stats=str(outdir / STATS_NAME) if dataset_stats else None,
            progress=progress,
        )
        write_manifest(manifest, report.results, root, outdir, unlisted=unlisted)
    except BaseException:
        # Interrupted or a failed write: the folders this run made and left empty go too.
        for folder in sorted(created, key=lambda d: len(d.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
        raise
    finally:
        progress.close()
    skipped = dict(unlisted)
    for r in report.results:
        o = r.outcome
        if r.status == "skipped":
            skipped[r.item.source] = r.error or "skipped"
            continue
        if o is not None:
            for text in o.warnings:
                _warn(f"{r.item.source}: {text}")
    for r in report.results:
        if r.outcome is not None and r.outcome.nonfinite and r.status != "skipped":
            _warn(f"{r.item.source}: {r.outcome.nonfinite} non-finite samples (NaN/Inf) treated as silence")
    for source, reason in sorted(skipped.items()):
        print(f"{PROG}: skipped {source}: {reason}", file=sys.stderr)
    written = sum(r.status == "written" for r in report.results)
    resumed = sum(r.status == "resumed" for r in report.results)
    kept = f" (kept {resumed} from an earlier run)" if args.resume else ""
    print(f"wrote {written} feature files to {outdir}{kept}; skipped {len(skipped)}")
    return 1 if skipped else 0


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
    except (AudioError, ParameterError, CliError, BatchError) as exc:
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
