"""The built-in notification templates: ``templates/<name>/subject.txt``, ``body.txt`` and
``body.html``. HTML is autoescaped; text is not (it is not HTML). A template may use
``data`` (the payload's data), ``recipient`` (``name``, ``email``; empty for webhooks)
and ``dependencies`` (the jobs the notification depends on, by name: ``jobId``,
``jobType``, ``status``, ``result``; empty for none).
A missing template, or a ``data`` key a template needs, is a permanent failure.

Links go through the ``link`` filter: only ``http``/``https`` URLs with a host and
``mailto:`` addresses, without spaces or control characters, at most 2,048 characters;
anything else (``javascript:``, ``data:``, relative links) is a permanent failure, so a
payload can never put a script behind a link in an email."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jinja2

from jobrunner.domain.errors import PermanentError

_PARTS = ("subject.txt", "body.txt", "body.html")


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


LINK_SCHEMES = ("http", "https", "mailto")
MAX_LINK_LENGTH = 2048
_UNSAFE_IN_LINK = re.compile(r"[\x00-\x20\x7f-\x9f]")
_BAD_LINK = "Invalid notification payload: a link must be an http, https or mailto URL"


def safe_link(value: Any) -> str:
    """The link, if it is an http(s) URL with a host or a mailto: address; else a
    permanent failure (the ``link`` filter of the templates)."""
    if not isinstance(value, str) or not value or len(value) > MAX_LINK_LENGTH or _UNSAFE_IN_LINK.search(value):
        raise PermanentError(_BAD_LINK)
    try:
        parts = urlsplit(value)
    except ValueError:
        raise PermanentError(_BAD_LINK) from None
    scheme = parts.scheme.lower()
    if (
        scheme not in LINK_SCHEMES
        or (scheme == "mailto" and not parts.path)
        or (scheme != "mailto" and not parts.hostname)
    ):
        raise PermanentError(_BAD_LINK)
    return value


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("jobrunner.notifications", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )
    environment.filters["link"] = safe_link
    return environment


def template_exists(name: str) -> bool:
    try:
        for part in _PARTS:
            _environment().get_template(f"{name}/{part}")
    except jinja2.TemplateNotFound:
        return False
    return True


def render(
    name: str,
    data: dict[str, Any],
    recipient: dict[str, str] | None = None,
    dependencies: dict[str, dict[str, Any]] | None = None,
) -> Rendered:
    if not template_exists(name):
        raise PermanentError(f"Invalid notification payload: unknown template '{name}'")
    context = {"data": data, "recipient": recipient or {}, "dependencies": dependencies or {}}
    try:
        subject, text, html = (_environment().get_template(f"{name}/{part}").render(context) for part in _PARTS)
    except jinja2.UndefinedError as exc:
        raise PermanentError(f"Invalid notification payload: template '{name}' needs {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise PermanentError(f"template '{name}' failed: {exc}") from exc
    # A subject is one header line: no line breaks may reach it.
    return Rendered(re.sub(r"\s+", " ", subject).strip()[:250], text, html)
