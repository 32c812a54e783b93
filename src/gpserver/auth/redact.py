"""Tokens and passwords never reach a log line: every log record of every logger is redacted.

Installed as the process's log record factory, so it covers loggers and handlers made later
(uvicorn's access log prints the query string, which may hold ``token=``; a test's capture
handler sees the redacted record too). The message and each argument are redacted separately:
uvicorn's access formatter unpacks the arguments.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_SECRET_PARAM = re.compile(
    r"(?i)((?:\b|_)(?:token|agstoken|password)(?:=|%3D)|\"(?:token|password)\"\s*:\s*\")[^&\s\"';,]+"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
# The shape of our own tokens (``<base64url payload>.<43-char HMAC-SHA256>``), wherever they appear.
_SIGNED = re.compile(r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
MASK = "***"
_installed = False


_SIGNED_MIN = 60  # the shortest signed token: 16 + 1 + 43 characters


def redact(text: str) -> str:
    """The text with token and password values masked (a log line without a secret's keyword and too
    short for a signed token is returned after one ``lower()``: this runs for every access-log line)."""
    low = text.lower()
    if "token" in low or "password" in low:
        text = _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, text)
    if "bearer" in low:
        text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return _SIGNED.sub(MASK, text) if len(text) >= _SIGNED_MIN else text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place: each argument (keeping their number, which formatters such as
    uvicorn's access log rely on), then the whole message when a secret is only visible there."""
    if isinstance(record.args, tuple):
        record.args = tuple(_clean(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _clean(v) for k, v in record.args.items()}
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it when the record is emitted
        return record
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


def install() -> None:
    """Wrap the log record factory once per process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
