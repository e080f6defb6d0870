"""Start-up: each entry point imports only what it uses.

``--version`` and every ``--help`` answer without numpy (0.08 s to import) or
scipy (0.25 s); the engine's names load on first use.  Timings are in the
benchmarks (``tests/benchmarks/startup.py``); these tests check what is loaded,
in a fresh interpreter so that other tests' imports cannot hide one.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

_RUN = """
import sys
from spectroview.cli import main
try:
    status = main({argv!r})
except SystemExit as exc:
    status = exc.code
print("STATUS", status, file=sys.stderr)
print("\\n".join(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(argv: list[str]) -> tuple[int, set[str], str]:
    out = subprocess.run([sys.executable, "-c", _RUN.format(argv=argv)], capture_output=True, text=True, timeout=60)
    lines = out.stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("STATUS "))
    return int(lines[at].split()[1]), set(lines[at + 1 :]), out.stdout


HEAVY = {"numpy", "scipy", "scipy.fft", "soundfile", "av", "sounddevice", "PySide6", "pyqtgraph", "psutil"}


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["--help"],
        ["-h"],
        ["render", "--help"],
        ["features", "--help"],
        ["devices", "--help"],
    ],
)
def test_version_and_help_import_no_numpy(argv: list[str]) -> None:
    status, loaded, stdout = _modules_after(argv)
    assert status == 0
    assert stdout.strip(), "nothing was printed"
    assert not loaded & HEAVY, f"{' '.join(argv)} imported {sorted(loaded & HEAVY)}"


def test_help_still_names_the_engines_defaults_and_choices() -> None:
    # The help is built from numpy-free names (spectroview.dsp.names): they are the
    # same values SpectrogramParams uses.
    from spectroview.dsp import WINDOWS, SpectrogramParams
    from spectroview.render.colormaps import COLORMAPS

    _, _, text = _modules_after(["render", "--help"])
    flat = " ".join(text.split())
    d = SpectrogramParams()
    assert f"default {d.n_fft}" in flat
    assert f"default {d.window}" in flat
    assert f"default {d.n_mels}" in flat
    assert ", ".join(WINDOWS) in flat
    assert all(name in flat for name in COLORMAPS)


def test_engine_loads_without_scipy() -> None:
    # The parameter object, the dB mapping and a linear-frequency STFT need numpy and
    # ducc0 only; scipy (0.25 s with scipy.fft) loads only for the mel/log
    # projections (scipy.sparse) and peak refinement (scipy.signal).
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from spectroview.dsp import SpectrogramParams, ParameterError, power_to_db, stft_power\n"
        "p = SpectrogramParams(sr=8000.0, n_fft=256)\n"
        "power_to_db(stft_power(np.ones(4000, np.float32), n_fft=256))\n"
        "print('scipy' in sys.modules, 'ducc0' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "True"]


def test_unknown_engine_name_is_an_attribute_error() -> None:
    import spectroview.dsp

    with pytest.raises(AttributeError, match="no_such_name"):
        _ = spectroview.dsp.no_such_name
    assert "stft_power" in dir(spectroview.dsp)
