"""Output files of ``execute``: one unguessable directory per request, served read-only.

A tool writes into ``ToolContext.output_dir`` (``<data_dir>/outputs/<32 hex>/``); the file is
answered as ``{"url": "<ctx>/rest/directories/arcgisoutput/<32 hex>/<name>"}`` and served by
``gpserver.api.directories``. Directories (and uploaded items) older than
``GPSERVER_OUTPUT_RETENTION_HOURS`` are deleted, checked at most every ten minutes as new ones
are made (ArcGIS also cleans output files periodically, spec 13.4).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gpserver.uploads import ITEM_ID, purge_dirs

TOKEN = re.compile(r"[0-9a-f]{32}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")
ROUTE = "/rest/directories/arcgisoutput"
_SWEEP_SECONDS = 600


@dataclass(frozen=True, slots=True)
class OutputDir:
    """One request's output directory and the URL it is served under."""

    token: str
    path: Path
    base_url: str

    def url_for(self, file: Path) -> str:
        """The download URL of a file in this directory."""
        if file.parent != self.path or not NAME.fullmatch(file.name):
            raise ValueError(f"{file.name!r} is not an output file of this directory")
        return f"{self.base_url}{ROUTE}/{self.token}/{file.name}"


class OutputArea:
    """Makes output directories, finds their files, deletes old ones."""

    def __init__(self, root: Path, *, retention_hours: float, uploads_root: Path | None = None) -> None:
        self.root = root
        self.retention = retention_hours * 3600
        self.uploads_root = uploads_root
        self._next_sweep = 0.0
        self._lock = threading.Lock()

    def new(self, base_url: str) -> OutputDir:
        """A fresh directory (created when the tool writes its first file)."""
        self.sweep()
        token = secrets.token_hex(16)
        return OutputDir(token, self.root / token, base_url)

    def file(self, token: str, name: str) -> Path | None:
        """The file named by a URL's two segments, or ``None`` (names are checked first)."""
        if not TOKEN.fullmatch(token) or not NAME.fullmatch(name) or ".." in name:
            return None
        path = self.root / token / name
        return path if path.is_file() else None

    def sweep(self, *, force: bool = False) -> int:
        """Delete expired output directories and uploaded items (at most every ten minutes)."""
        now = time.monotonic()
        with self._lock:
            if not force and now < self._next_sweep:
                return 0
            self._next_sweep = now + _SWEEP_SECONDS
        count = purge_dirs(self.root, self.retention, TOKEN)
        if self.uploads_root is not None:
            count += purge_dirs(self.uploads_root, self.retention, ITEM_ID)
        return count
