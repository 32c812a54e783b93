"""Uploaded items (spec 12): files a client uploads to a GP service, then names by ``itemID``.

Layout: ``<data_dir>/uploads/<itemID>/<safe name>`` plus ``item.json``. Item ids are ``i`` + a
UUID and are checked against that pattern before any path is built; file names are reduced to
their last component and to ``[A-Za-z0-9._-]``, so no name can leave the item's directory. An item
belongs to the service it was uploaded to. Items older than ``GPSERVER_OUTPUT_RETENTION_HOURS``
are deleted by :meth:`UploadStore.purge`.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from gpserver.errors import InvalidRequestError, LimitExceededError, NotFoundError

ITEM_ID = re.compile(r"i[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1024 * 1024


def safe_name(name: str) -> str:
    """The last path component of a client's file name, reduced to ``[A-Za-z0-9._-]``."""
    base = re.split(r"[/\\]", name or "")[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip("._-")[-120:]
    return cleaned or "upload"


def extension(name: str) -> str:
    """Lower-case extension without the dot (``""`` when none)."""
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


@dataclass(frozen=True, slots=True)
class Item:
    """An uploaded item."""

    item_id: str
    item_name: str
    description: str
    date: int
    service: str
    size: int
    committed: bool = True

    def to_json(self) -> dict[str, Any]:
        """The ``item`` object of the upload and item resources."""
        return {
            "itemID": self.item_id,
            "itemName": self.item_name,
            "description": self.description,
            "date": self.date,
            "committed": self.committed,
        }


class UploadStore:
    """Saves, finds and deletes uploaded items under one directory."""

    def __init__(self, root: Path, *, max_bytes: int, extensions: list[str]) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.extensions = [e.lower().lstrip(".") for e in extensions]

    def save(self, service: str, filename: str, source: BinaryIO, description: str = "") -> Item:
        """Store a file (refused past ``max_bytes`` or with an extension not allowed)."""
        name = safe_name(filename)
        ext = extension(name)
        if ext not in self.extensions:
            raise InvalidRequestError(
                "Upload failed.",
                details=[f"Files of type '{ext or '(none)'}' may not be uploaded; allowed: {self.extensions}"],
            )
        item_id = f"i{uuid.uuid4()}"
        folder = self.root / item_id
        folder.mkdir(parents=True, mode=0o700)
        size = 0
        try:
            with (folder / name).open("wb") as out:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise LimitExceededError(
                            "Upload failed.", details=[f"The file is larger than the limit of {self.max_bytes} bytes."]
                        )
                    out.write(chunk)
            item = Item(item_id, name, description[:1000], int(time.time() * 1000), service.lower(), size)
            (folder / "item.json").write_bytes(orjson.dumps(asdict(item)))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return item

    def _folder(self, item_id: str) -> Path:
        if not ITEM_ID.fullmatch(item_id):
            raise NotFoundError("Invalid URL", details=[f"Item '{item_id[:60]}' does not exist."])
        return self.root / item_id

    def get(self, service: str, item_id: str) -> Item:
        """An item of this service, or NotFoundError."""
        meta = self._folder(item_id) / "item.json"
        try:
            item = Item(**orjson.loads(meta.read_bytes()))
        except (OSError, orjson.JSONDecodeError, TypeError):
            raise NotFoundError("Invalid URL", details=[f"Item '{item_id}' does not exist."]) from None
        if item.service != service.lower():
            raise NotFoundError("Invalid URL", details=[f"Item '{item_id}' does not exist."])
        return item

    def path(self, service: str, item_id: str) -> tuple[Item, Path]:
        """An item and its file."""
        item = self.get(service, item_id)
        return item, self._folder(item_id) / item.item_name

    def delete(self, service: str, item_id: str) -> None:
        """Delete an item (NotFoundError when there is none)."""
        self.get(service, item_id)
        shutil.rmtree(self._folder(item_id), ignore_errors=True)

    def purge(self, older_than_seconds: float) -> int:
        """Delete items older than the given age; the number deleted."""
        return purge_dirs(self.root, older_than_seconds, ITEM_ID)


def purge_dirs(root: Path, older_than_seconds: float, pattern: re.Pattern[str]) -> int:
    """Delete sub-directories of ``root`` named by ``pattern`` and not modified for the given age."""
    if not root.is_dir():
        return 0
    cutoff, count = time.time() - older_than_seconds, 0
    for child in root.iterdir():
        try:
            if pattern.fullmatch(child.name) and child.is_dir() and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
                count += 1
        except OSError:
            continue
    return count
