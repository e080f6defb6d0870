"""The window's process caps glibc's malloc arenas (spectroview._memory.limit_malloc_arenas)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Eight threads allocating at once, then the number of arenas glibc's malloc_info lists.
CODE = r"""
import ctypes, os, sys, tempfile, threading
from spectroview._memory import limit_malloc_arenas
ok = limit_malloc_arenas(1) if sys.argv[1] == "cap" else None
barrier = threading.Barrier(8)
keep = []
def work():
    barrier.wait()
    for _ in range(200):
        keep.append(bytearray(100_000))
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fdopen.restype = ctypes.c_void_p
with tempfile.TemporaryFile("w+") as f:
    stream = libc.fdopen(os.dup(f.fileno()), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    f.seek(0)
    print(ok, f.read().count("<heap nr="))
"""

GLIBC = bool(hasattr(os, "confstr") and os.confstr("CS_GNU_LIBC_VERSION"))


def _arenas(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", CODE, mode], capture_output=True, text=True, check=True)
    ok, count = out.stdout.split()
    return ok, int(count)


@pytest.mark.skipif(not GLIBC, reason="malloc arenas are glibc's")
def test_arena_cap_takes_effect_on_glibc() -> None:
    assert _arenas("default")[1] > 1  # the threads did get arenas of their own
    assert _arenas("cap") == ("True", 1)
