"""Structured logs, through structlog.

Two kinds of lines, one format:

- **events** (``EventLog``): one line per request and per job event, with named fields
  (``EventLog("jobrunner.request").info("request", method=..., status=...)``);
- **messages** of the standard library's ``logging`` (ours, uvicorn's, asyncpg's),
  rendered by structlog's ``ProcessorFormatter`` in the same format, with the request id of
  the request they happen in.

``configure_logging`` (called by the process entry points, service.py) picks JSON (one
object a line, when stderr is not a terminal) or structlog's readable console format, and
the level. Until it is called (an application that embeds ``create_app``, the tests)
events go to the standard library's logger of the same name, so the host's logging
configuration decides.

Never put a secret in a field: no header, no token, no raw path (a route template instead).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import time
from contextvars import ContextVar
from collections.abc import MutableMapping
from typing import IO, Any, Literal

import orjson
import structlog

__all__ = ["REQUEST_ID", "EventLog", "configure_logging", "log_is_json"]

# The id of the request being served (api/middleware.py sets it; problem bodies and
# log lines carry it).
REQUEST_ID: ContextVar[str | None] = ContextVar("jobrunner_request_id", default=None)

LogFormat = Literal["auto", "json", "console"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class _Timestamp:
    """ISO 8601 UTC timestamps with milliseconds; the seconds part is formatted once a
    second (structlog's TimeStamper formats a datetime per line, which the hot paths feel)."""

    __slots__ = ("_second", "_prefix")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, _logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        event["timestamp"] = f"{self._prefix}.{int((now - second) * 1000):03d}Z"
        return event


def _request_id(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id is not None and "request_id" not in event:
        event["request_id"] = request_id
    return event


def _drop_color_message(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """uvicorn passes a colored copy of some messages as an extra: not for a log file."""
    event.pop("color_message", None)
    return event


def _orjson(event: MutableMapping[str, Any], **_kw: Any) -> bytes:
    return orjson.dumps(event, default=str)


class _FlushOncePerLoopTurn:
    """A binary stream that keeps the lines written during the event loop's current turn
    and writes them, in one write, at its end: the lines of many requests or jobs
    finishing together cost one system call. Outside a running loop, at once."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._lines: list[bytes] = []
        atexit.register(self._flush_now)  # lines of the loop's last turn

    def write(self, data: bytes) -> None:
        self._lines.append(data)

    def flush(self) -> None:
        if len(self._lines) > 1:
            return  # a write at the end of this turn is already due
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._flush_now()
            return
        loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            self._raw.write(b"".join(lines))
            self._raw.flush()


_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error"}


class _Sink:
    """Where configured events go, at the chosen level: JSON objects written straight to
    the stream (the hot paths write one per request and per job event, so the same keys as
    structlog's JSON renderer, without its processor chain), or structlog's console
    renderer on a terminal."""

    def __init__(self, level: int, json: bool, stream: Any) -> None:
        self.level = level
        self._stamp = _Timestamp()
        self._out: _FlushOncePerLoopTurn | None = None
        self.logger: Any = None
        if json:
            self._out = _FlushOncePerLoopTurn(stream.buffer if hasattr(stream, "buffer") else stream)
            return
        # bind(): a bound logger now, not a proxy that binds on every line.
        self.logger = structlog.wrap_logger(
            structlog.PrintLogger(stream),
            processors=[
                structlog.processors.add_log_level,
                self._stamp,
                structlog.dev.ConsoleRenderer(colors=stream.isatty()),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(level),
        ).bind()

    def emit(self, level: int, event: str, name: str, fields: dict[str, Any]) -> None:
        out = self._out
        if out is None:
            self.logger.log(level, event, logger=name, **fields)
            return
        line: dict[str, Any] = {"event": event, "logger": name}
        line.update(fields)
        line["level"] = _LEVEL_NAMES[level]
        self._stamp(None, "", line)
        out.write(orjson.dumps(line, default=str, option=orjson.OPT_APPEND_NEWLINE))
        out.flush()


_sink: _Sink | None = None


class EventLog:
    """A named source of event lines (``jobrunner.request``, ``jobrunner.job``). Cheap
    below the level (one comparison)."""

    __slots__ = ("name", "_stdlib")

    def __init__(self, name: str) -> None:
        self.name = name
        self._stdlib = logging.getLogger(name)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit(logging.ERROR, event, fields)

    def enabled(self, level: int) -> bool:
        """Whether a line at ``level`` would be written (skip building one that would not)."""
        sink = _sink
        return self._stdlib.isEnabledFor(level) if sink is None else level >= sink.level

    def _emit(self, level: int, event: str, fields: dict[str, Any]) -> None:
        sink = _sink
        if sink is None:
            if self._stdlib.isEnabledFor(level):
                self._stdlib.log(level, "%s %s", event, fields, extra=fields)
            return
        if level >= sink.level:
            sink.emit(level, event, self.name, fields)


def log_is_json(log_format: LogFormat, stream: IO[str] | None = None) -> bool:
    """JSON unless asked for the console format, or ``auto`` on a terminal."""
    if log_format != "auto":
        return log_format == "json"
    stream = stream or sys.stderr
    return not (hasattr(stream, "isatty") and stream.isatty())


def configure_logging(level: str = "info", log_format: LogFormat = "auto", stream: IO[str] | None = None) -> None:
    """Every line of this process to ``stream`` (stderr) at ``level`` and above: JSON
    objects, or readable lines on a terminal (``log_format`` decides over ``auto``)."""
    global _sink
    stream = stream or sys.stderr
    numeric = _LEVELS[level.lower()]
    json = log_is_json(log_format, stream)
    _sink = _Sink(numeric, json, stream)
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=lambda event, **kw: _orjson(event).decode())
        if json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            _drop_color_message,
            _request_id,
            _Timestamp(),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([structlog.processors.format_exc_info] if json else []),
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.set_name("jobrunner")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "jobrunner"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # uvicorn's own loggers: through ours, no access log (api/middleware.py writes one line
    # per request).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = name != "uvicorn.access"
