"""Allocator settings for array-heavy runs (backtest): keep freed memory for reuse.

A backtest allocates and frees many arrays as long as the candle series (pandas rolling
windows, shifts, masks: 1.5 MB each for 188k candles). By default glibc serves every block
over 128 KB (growing up to 32 MB as blocks are freed) with a fresh ``mmap`` and gives freed
heap tops back to the kernel, so the next array of that size faults its pages in again. On
a small VM a page fault costs microseconds (about 3.5 us per 4 KB page on the 2-vCPU VM where
the benchmarks ran), which is more than the arithmetic on those pages.

:func:`keep_freed_memory` sets glibc's ``M_MMAP_THRESHOLD`` to its maximum (blocks up to
32 MB come from the heap) and ``M_TRIM_THRESHOLD`` to 1 GB (freed memory stays mapped for
the next array), the documented ``mallopt(3)`` knobs, also reachable through the
``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` environment variables. The peak
resident set barely moves (benchmarks/backtest_speed.py: 208 MB for loading and backtesting
1M candles, 205 MB without); memory freed after the peak is kept for reuse rather than returned,
which suits the one-off ``bot.py backtest`` process that applies it.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit glibc
TRIM_THRESHOLD = 1024 * 1024 * 1024

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Apply the settings above once per process. Returns whether they are in effect (False on
    a C library without ``mallopt``, e.g. macOS or musl; nothing changes there)."""
    global _applied  # noqa: PLW0603 -- once per process: mallopt changes the whole process
    if _applied is None:
        _applied = _mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) and _mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return _applied


def _mallopt(param: int, value: int) -> bool:
    """``mallopt(param, value)`` of the C library this process runs on; False where there is none
    (macOS) or it refuses (musl's stub returns 0)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols, libc among them
    except (OSError, AttributeError):
        return False
    return bool(mallopt(ctypes.c_int(param), ctypes.c_int(value)))
