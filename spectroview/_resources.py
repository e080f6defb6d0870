"""Where the bundled resources (demo audio, icons) are.

Installed, they are the package ``spectroview.resources`` (pyproject maps the
repository's top-level ``resources/`` there); in a source checkout they are
that folder itself.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DEMO_NAME", "resource_path"]

DEMO_NAME = "demo.flac"


def resource_path(name: str) -> Path:
    """Path of the bundled resource ``name`` (e.g. ``"demo.flac"``)."""
    try:
        candidate = Path(str(resources.files("spectroview.resources").joinpath(name)))
        if candidate.is_file():
            return candidate
    except ModuleNotFoundError:
        pass
    candidate = Path(__file__).resolve().parent.parent / "resources" / name
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(f"bundled resource {name!r} is missing from this installation")
