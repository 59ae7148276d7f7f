"""The built-in notification templates: ``templates/<name>/subject.txt``, ``body.txt`` and
``body.html``. HTML is autoescaped; text is not (it is not HTML). A template may use
``data`` (the payload's data) and ``recipient`` (``name``, ``email``; empty for webhooks).
A missing template, or a ``data`` key a template needs, is a permanent failure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2

from jobrunner.domain.errors import PermanentError

_PARTS = ("subject.txt", "body.txt", "body.html")


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("jobrunner.notifications", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )


def template_exists(name: str) -> bool:
    try:
        for part in _PARTS:
            _environment().get_template(f"{name}/{part}")
    except jinja2.TemplateNotFound:
        return False
    return True


def render(name: str, data: dict[str, Any], recipient: dict[str, str] | None = None) -> Rendered:
    if not template_exists(name):
        raise PermanentError(f"Invalid notification payload: unknown template '{name}'")
    context = {"data": data, "recipient": recipient or {}}
    try:
        subject, text, html = (_environment().get_template(f"{name}/{part}").render(context) for part in _PARTS)
    except jinja2.UndefinedError as exc:
        raise PermanentError(f"Invalid notification payload: template '{name}' needs {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise PermanentError(f"template '{name}' failed: {exc}") from exc
    # A subject is one header line: no line breaks may reach it.
    return Rendered(re.sub(r"\s+", " ", subject).strip()[:250], text, html)
