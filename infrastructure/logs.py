"""JSON logs on stdout, one object a line."""

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


def configure_logging(level: str) -> None:
    # The lines name no source file, thread or process: skip gathering them for every record (the logging HOWTO's
    # "Optimization": finding the caller's frame alone is a stack walk a record; the access log writes one a request).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Their INFO lines narrate every start of the embedded servers and every migration step.
    # taskiq's receiver logs every delivery at INFO; the worker logs one line per refund attempt instead.
    for chatty in ("pgserver", "yoyo", "taskiq.receiver.receiver"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
