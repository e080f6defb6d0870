"""``spectroview devices``: a list, or one clean error with an install hint when PortAudio is missing."""

from __future__ import annotations

import pytest

from tests.cli.helpers import assert_clean_error, run_cli, run_python


def test_devices_lists_or_explains() -> None:
    proc = run_cli("devices")
    if proc.returncode == 0:
        assert proc.stderr == ""
        lines = proc.stdout.splitlines()
        assert lines == ["no audio devices found"] or (len(lines) >= 3 and "idx" in lines[0])
    else:
        line = assert_clean_error(proc)
        assert "PortAudio" in line or "sounddevice" in line or "audio devices" in line


# What the process sees when the PortAudio library (OSError from sounddevice's
# import) or the sounddevice module (ImportError) is missing.
_BLOCK_IMPORT = """
import sys

class _Missing:
    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            raise {exc}
        return None

sys.modules.pop("sounddevice", None)
sys.meta_path.insert(0, _Missing())
from spectroview.cli import main
sys.exit(main(["devices"]))
"""


@pytest.mark.parametrize(
    ("exc", "hint"),
    [
        ('OSError("PortAudio library not found")', "libportaudio2"),
        ('ImportError("No module named sounddevice")', "pip install sounddevice"),
    ],
)
def test_missing_portaudio_is_one_clean_error_with_a_hint(exc: str, hint: str) -> None:
    proc = run_python(_BLOCK_IMPORT.format(exc=exc))
    line = assert_clean_error(proc)
    assert hint in line, line
