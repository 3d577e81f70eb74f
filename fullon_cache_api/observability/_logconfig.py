"""Logging of the standalone server (``serve`` and ``demo``), configured from the environment.

Only the command line calls `configure_logging`: the library adds no handlers, so a host's
logging (fullon_log / loguru included) decides where our ``fullon.api.cache.*`` records go.

- ``LOG_LEVEL``: debug, info, warning, error or critical (default info; ``--log-level`` wins);
- ``LOG_FORMAT``: ``text`` (default) or ``json``: one JSON object per line, with the ``extra``
  fields of each record (``operation``, ``route``, ``params``, ``latency_ms``, ``cache_hit``,
  ``status`` for requests);
- ``LOG_FILE_PATH``: also write to this file, rotated by size: ``LOG_FILE_MAX_BYTES``
  (default 10 MiB; ``10MB``, ``512KB`` and ``1GB`` are accepted) and ``LOG_FILE_BACKUPS``
  (rotated files kept, default 5).

Records are handed to a queue in the event loop and written by a writer thread, so a slow
terminal, disk or rotation never stalls a request; request lines, one per request, take a
cheaper lane to the same thread (`_requestlog`) and are written in batches. Every handler
carries `RedactSecrets`, so no record, whoever logs it (uvicorn's WebSocket and handshake lines
included), shows a token, a key or a password; it runs in the writer thread too, and request
lines are redacted by the same patterns.
"""

from __future__ import annotations

import copy
import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import msgspec

from .._settings import SettingsError
from ..security import RedactSecrets
from ._requestlog import FLUSH_SECONDS, RequestLane, install, uninstall

__all__ = ["JsonFormatter", "LogConfig", "configure_logging"]

LEVELS = ("debug", "info", "warning", "error", "critical")
_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
# Attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured duplicate of the message
}


class LogConfig(msgspec.Struct, frozen=True, kw_only=True):
    """How the standalone server logs: level, line format and an optional rotated file."""

    level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    format: Literal["text", "json"] = "text"
    file_path: str | None = None
    file_max_bytes: int = 10 * 1024**2
    file_backups: int = 5

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, level: str | None = None
    ) -> LogConfig:
        """Read ``LOG_*`` from `environ` (default ``os.environ``); an explicit `level` wins."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        chosen = level or _get(env, "LOG_LEVEL")
        if chosen:
            values["level"] = _choice("LOG_LEVEL", chosen.lower(), LEVELS)
        if raw_format := _get(env, "LOG_FORMAT"):
            values["format"] = _choice("LOG_FORMAT", raw_format.lower(), ("text", "json"))
        if path := _get(env, "LOG_FILE_PATH"):
            values["file_path"] = path
        if size := _get(env, "LOG_FILE_MAX_BYTES"):
            values["file_max_bytes"] = _size("LOG_FILE_MAX_BYTES", size)
        if backups := _get(env, "LOG_FILE_BACKUPS"):
            values["file_backups"] = _count("LOG_FILE_BACKUPS", backups)
        return cls(**values)


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise SettingsError(f"{name}={raw!r} is invalid: expected one of {', '.join(allowed)}")
    return raw


def _size(name: str, raw: str) -> int:
    found = re.fullmatch(r"(\d+)\s*([KMG]?B?)", raw.strip().upper())
    if found is None or int(found.group(1)) < 1:
        raise SettingsError(f"{name}={raw!r} is invalid: expected bytes, e.g. 10485760 or 10MB")
    return int(found.group(1)) * _UNITS[found.group(2).removesuffix("B")]


def _count(name: str, raw: str) -> int:
    if not raw.isdigit():
        raise SettingsError(f"{name}={raw!r} is invalid: expected an integer >= 0")
    return int(raw)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's extras."""

    _encoder = msgspec.json.Encoder(enc_hook=str)

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                document.setdefault(key, value)
        exc_text = record.exc_text or (
            self.formatException(record.exc_info) if record.exc_info else None
        )
        if exc_text:
            document["exc_info"] = exc_text
        if record.stack_info:
            document["stack_info"] = record.stack_info
        return self._encoder.encode(document).decode()


def _file_handler(config: LogConfig) -> logging.Handler:
    """The rotated file; one that cannot be opened is a configuration error (exit 2)."""
    assert config.file_path is not None
    try:
        return logging.handlers.RotatingFileHandler(
            config.file_path,
            maxBytes=config.file_max_bytes,
            backupCount=config.file_backups,
            encoding="utf-8",
        )
    except OSError as exc:
        raise SettingsError(
            f"LOG_FILE_PATH={config.file_path!r} cannot be opened: {exc.strerror or exc}"
        ) from None


_STOP = logging.makeLogRecord({"msg": "stop"})
# What the writer thread is handed: a record, or request lines already formatted.
_Item = logging.LogRecord | str


class _Handoff(logging.handlers.QueueHandler):
    """Hands records to the writer thread with their message and traceback already text,
    after the request lines queued before them (so the log keeps their order)."""

    def __init__(
        self, records: queue.SimpleQueue[_Item], lane: RequestLane, order: threading.Lock
    ) -> None:
        super().__init__(records)
        self.lane, self.order = lane, order

    def enqueue(self, record: logging.LogRecord) -> None:
        with self.order:  # see `_Writer.run`
            if lines := self.lane.take():
                self.queue.put_nowait(lines)
            self.queue.put_nowait(record)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return record


def configure_logging(config: LogConfig, *, stream: TextIO | None = None) -> Callable[[], None]:
    """Send every record at `config.level` or above to stderr (or `stream`) and the file.

    Request lines take the fast lane (`_requestlog`): formatted by the event loop from kept
    parts, written in batches by the writer thread. Returns the undo: it writes what is
    queued, closes the handlers and restores the root logger as it was. Other handlers on the
    root logger (a test runner's) are left alone.
    """
    formatter: logging.Formatter = (
        JsonFormatter() if config.format == "json" else logging.Formatter(_TEXT_FORMAT)
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if config.file_path:
        handlers.append(_file_handler(config))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactSecrets())
    records: queue.SimpleQueue[_Item] = queue.SimpleQueue()
    lane, order = RequestLane(config.format), threading.Lock()
    writer = _Writer(records, lane, handlers, order)
    handoff = _Handoff(records, lane, order)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handoff)
    root.setLevel(config.level.upper())
    writer.start()
    install(lane)

    def undo() -> None:
        uninstall(lane)
        root.removeHandler(handoff)
        root.setLevel(previous_level)
        writer.stop()  # writes what is still queued
        for handler in handlers:
            handler.close()

    return undo


class _Writer(threading.Thread):
    """The thread that writes: records handed over one by one (`_Handoff`, each after the
    request lines queued before it), and request lines in batches, at least every
    `FLUSH_SECONDS`."""

    def __init__(
        self,
        records: queue.SimpleQueue[_Item],
        lane: RequestLane,
        handlers: list[logging.Handler],
        order: threading.Lock,
    ) -> None:
        super().__init__(name="fullon-cache-api-log", daemon=True)
        self.records, self.lane, self.handlers, self.order = records, lane, handlers, order

    def run(self) -> None:
        while True:
            try:
                item = self.records.get(timeout=FLUSH_SECONDS)
            except queue.Empty:
                # Request lines only: write what accumulated, unless a record came meanwhile
                # (the lines before it are queued ahead of it; `order` keeps the two apart).
                with self.order:
                    item = self.lane.take() if self.records.empty() else ""
            if item is _STOP:
                self._write(self.lane.take())
                return
            if isinstance(item, str):
                self._write(item)
            else:
                for handler in self.handlers:
                    handler.handle(item)

    def stop(self) -> None:
        """Write everything queued, then end the thread."""
        self.records.put(_STOP)
        self.join()

    def _write(self, lines: str) -> None:
        if lines:
            for handler in self.handlers:
                _append(handler, lines)


def _append(handler: logging.Handler, text: str) -> None:
    """Write `text` (whole lines) through `handler`'s stream, rotating a file first when the
    lines would take it past its size limit, as `RotatingFileHandler` does per record."""
    if not isinstance(handler, logging.StreamHandler):
        return
    handler.acquire()
    try:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            _append_rotating(handler, text)
        else:
            handler.stream.write(text)
        handler.flush()
    except Exception:
        handler.handleError(logging.makeLogRecord({"msg": "request log lines"}))
    finally:
        handler.release()


def _append_rotating(handler: logging.handlers.RotatingFileHandler, text: str) -> None:
    """Write as many whole lines at once as the file takes before its next rollover."""
    if handler.stream is None:  # closed by an earlier rollover (delay=True)
        handler.stream = handler._open()
    if handler.maxBytes <= 0:
        handler.stream.write(text)
        return
    size, chunk = handler.stream.tell(), list[str]()
    for line in text.splitlines(keepends=True):
        if chunk and size + len(line) >= handler.maxBytes:
            handler.stream.write("".join(chunk))
            handler.doRollover()
            size, chunk = 0, []
        chunk.append(line)
        size += len(line)
    handler.stream.write("".join(chunk))
