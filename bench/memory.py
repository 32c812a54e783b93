"""Resident memory from /proc (Linux): current RSS and the peak since the last reset."""

from __future__ import annotations

from pathlib import Path


def _status(pid: int | str, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def rss(pid: int | str = "self") -> int:
    """Current resident set size in bytes."""
    return _status(pid, "VmRSS")


def peak_rss(pid: int | str = "self") -> int:
    """Peak resident set size (VmHWM) in bytes, since start or the last :func:`reset_peak`."""
    return _status(pid, "VmHWM")


def reset_peak(pid: int | str = "self") -> bool:
    """Reset VmHWM to the current RSS (``echo 5 > /proc/pid/clear_refs``); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False
