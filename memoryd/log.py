"""structlog setup: JSON lines to a rotated file, readable lines on the console.

Every log call names one stable event (``log.info("index_scan", ...)``); context such as
``thread_id``, ``job_kind`` or ``run_id`` is bound as key-value pairs, never formatted into
the event name.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import Any

import structlog

from memoryd.fsutil import ensure_private_dir

LOG_FILE_NAME = "memoryd.log"

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Log files hold paths and previews of the user's sessions: keep them 0600."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8")


def configure(
    level: str = "info",
    log_dir: Path | None = None,
    *,
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 5,
    console: bool = True,
) -> Path | None:
    """Route structlog through stdlib logging. Returns the log file path, if any.

    The console gets colourful lines on a terminal and JSON lines otherwise (so journald and
    pipes get something machine-readable); the file always gets JSON lines."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    root.setLevel(level.upper())

    json_fmt = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
    )
    log_path: Path | None = None
    if log_dir is not None:
        ensure_private_dir(log_dir)
        log_path = log_dir / LOG_FILE_NAME
        fh = _PrivateRotatingFileHandler(
            log_path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        fh.setFormatter(json_fmt)
        root.addHandler(fh)
    if console:
        ch = logging.StreamHandler(sys.stderr)
        if sys.stderr.isatty():
            ch.setFormatter(
                structlog.stdlib.ProcessorFormatter(
                    foreign_pre_chain=_SHARED,
                    processors=[
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.dev.ConsoleRenderer(),
                    ],
                )
            )
        else:
            ch.setFormatter(json_fmt)
        root.addHandler(ch)

    structlog.configure(
        processors=[
            # Drop calls below the level before any other processor runs: the hot paths log
            # at info and debug, and most deployments keep only warnings.
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return log_path
