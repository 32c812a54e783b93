"""CPU time from /proc (Linux): where a burst's CPU goes, process group by process group."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

Groups = Callable[[], dict[str, list[int]]]  # group name -> its pids, looked up when called
_TICK = os.sysconf("SC_CLK_TCK")


def seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def pids_named(word: str) -> list[int]:
    """Processes whose command line contains ``word`` (e.g. every PostgreSQL backend)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if word.encode() in (entry / "cmdline").read_bytes():
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


class Meter:
    """CPU spent by each group between :meth:`start` and :meth:`per` (pids fixed at start)."""

    def __init__(self, groups: Groups) -> None:
        self.groups = groups
        self.pids: dict[str, list[int]] = {}
        self.before: dict[str, float] = {}

    def start(self) -> None:
        self.pids = self.groups()
        self.before = {name: sum(map(seconds, pids)) for name, pids in self.pids.items()}

    def per(self, n: int) -> dict[str, float]:
        """Milliseconds of CPU per item of ``n`` since :meth:`start`, by group."""
        return {name: (sum(map(seconds, pids)) - self.before[name]) / n * 1e3 for name, pids in self.pids.items()}
