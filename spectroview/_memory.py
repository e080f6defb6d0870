"""How much memory this process may still allocate, for checks before large allocations.

The smaller of the machine's available memory (``psutil.virtual_memory().available``:
free plus reclaimable cache) and what the process's own limits leave
(``RLIMIT_AS`` against its virtual size, ``RLIMIT_DATA`` against its data
segment), so a request that cannot fit is refused with a message instead of
being killed by the kernel's out-of-memory killer halfway through.
"""

from __future__ import annotations

import resource

import psutil

__all__ = ["available_bytes", "format_bytes"]


def available_bytes() -> int:
    """Bytes this process can still allocate, about (>= 0)."""
    available = int(psutil.virtual_memory().available)
    info = psutil.Process().memory_info()
    for limit, used in ((resource.RLIMIT_AS, info.vms), (resource.RLIMIT_DATA, getattr(info, "data", 0))):
        soft, _hard = resource.getrlimit(limit)
        if soft != resource.RLIM_INFINITY:
            available = min(available, soft - used)
    return max(0, available)


def format_bytes(n: float) -> str:
    """``n`` bytes as "12.9 GB", "350 MB" (decimal units, as file managers show them)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if n < 100 * size else f"{n / size:.0f} {unit}"
    return f"{int(n)} bytes"
