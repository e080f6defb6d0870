"""The layer rules of ../shared/DESIGN.md, checked.

dsp/ is numpy + scipy only; audio/ and render/ have no Qt; nothing outside
spectroview/ui imports Qt; the package never imports librosa (a test-only
reference).  Each check runs in a fresh interpreter so that modules loaded by
other tests cannot hide an import.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import spectroview

ROOT = Path(spectroview.__file__).resolve().parent


def _modules(subpackage: str) -> list[str]:
    pkg = ROOT / subpackage
    return [f"spectroview.{subpackage}.{m.name}" for m in pkgutil.iter_modules([str(pkg)])] + [
        f"spectroview.{subpackage}"
    ]


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT.parent)
    return set(out.stdout.split())


QT_MODULES = {"PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6"}


@pytest.mark.parametrize("subpackage", ["dsp", "audio", "batch", "render", "session"])
def test_non_ui_layers_do_not_load_qt_or_librosa(subpackage: str) -> None:
    loaded = _loaded_after_import(_modules(subpackage))
    assert not (loaded & (QT_MODULES | {"librosa"})), (
        f"spectroview.{subpackage} loads {loaded & (QT_MODULES | {'librosa'})}"
    )


def _imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("subpackage", "allowed"),
    [
        ("dsp", {"numpy", "scipy", "ducc0", "spectroview"}),
        ("audio", {"numpy", "scipy", "soundfile", "sounddevice", "av", "soxr", "spectroview"}),
        ("batch", {"numpy", "spectroview", "distributed", "threadpoolctl", "pyarrow"}),
        ("render", {"numpy", "spectroview"}),
        ("session", {"numpy", "scipy", "psygnal", "platformdirs", "spectroview"}),
    ],
)
def test_layers_import_only_their_stack(subpackage: str, allowed: set[str]) -> None:
    offenders = {}
    for path in (ROOT / subpackage).glob("*.py"):
        top = {name.split(".")[0] for name in _imported_names(path)} - set(sys.stdlib_module_names)
        if top - allowed:
            offenders[path.name] = sorted(top - allowed)
    assert not offenders, offenders


def test_dsp_and_render_stay_below_audio_and_cli() -> None:
    for sub, forbidden in (
        ("dsp", ("spectroview.audio", "spectroview.render", "spectroview.cli")),
        ("render", ("spectroview.audio", "spectroview.cli")),
    ):
        for path in (ROOT / sub).glob("*.py"):
            bad = [n for n in _imported_names(path) if n.startswith(forbidden)]
            assert not bad, f"{sub}/{path.name} imports {bad}"


def test_no_qt_import_statements_outside_ui() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "ui":
            continue
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and any(q in stripped.split()[1] for q in QT_MODULES):
                offenders.append(f"{rel}: {stripped}")
    assert not offenders, offenders


def test_importing_spectroview_and_cli_needs_no_portaudio() -> None:
    # sounddevice (and so PortAudio) is imported only when devices are used.
    loaded = _loaded_after_import(["spectroview", "spectroview.cli", "spectroview.audio.files"])
    assert "sounddevice" not in loaded


def test_decoders_and_resampler_are_imported_when_used() -> None:
    # PyAV (0.1 s) and soxr load with the first file that needs them, not with the program.
    loaded = _loaded_after_import(["spectroview", "spectroview.cli", "spectroview.audio.files"])
    assert not loaded & {"av", "soxr", "soundfile"}, loaded & {"av", "soxr", "soundfile"}


def test_import_contracts_hold() -> None:
    # The contracts in pyproject.toml ([tool.importlinter]): layers, Qt only in ui/, dsp/ numpy-only.
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (it is in the test extras)")
    out = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout, out.stdout
