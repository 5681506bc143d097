"""JSON log lines with the request id; ID numbers, phone numbers and SQL parameters never reach a log line."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_OLD_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{6}(\d{3})(?![0-9A-Za-z])")  # 15 digits (before 1999)
# a mobile, bare or with the country code: 13912345678, +8613912345678, 86 139 1234 5678, +86-139-1234-5678
_PHONE = re.compile(r"(?<![\d+])((?:\+?86[\s-]?)?1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})(?!\d)")
# the values a database error may quote: SQLAlchemy's `[parameters: …]` line (hidden at the engine too,
# shared/db.py), asyncpg's "invalid input for query argument $1: '…' (reason)", PostgreSQL's DETAIL
# "Key (column)=(value) already exists"
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")
_QUERY_ARGUMENT = re.compile(r"(query argument \$\d+): [^\n]*?(?= \([a-z]|$)", re.MULTILINE)
_KEY_VALUE = re.compile(r"(Key \([^)\n]*\)=)\((?:[^()\n]|\([^()\n]*\))*\)")


def scrub(text: str) -> str:
    """Mask SQL parameters and values quoted by database errors, and anything shaped like a mainland ID
    number (18 or 15 digits) or mobile number."""
    text = _SQL_PARAMETERS.sub("[parameters: hidden]", text)
    text = _QUERY_ARGUMENT.sub(r"\1: (hidden)", text)
    text = _KEY_VALUE.sub(r"\1(hidden)", text)
    text = _ID_NUMBER.sub(lambda m: m.group(1)[:4] + "*" * 10 + m.group(2), text)
    text = _OLD_ID_NUMBER.sub(lambda m: m.group(1)[:4] + "*" * 8 + m.group(2), text)
    return _PHONE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        for key in ("method", "path", "status", "duration_ms", "event_id", "event_type"):
            value = record.__dict__.get(key)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("apscheduler").setLevel("WARNING")
    logging.getLogger("httpx").setLevel("WARNING")
