"""What an integration's target URL may look like, checked when it is saved (422 in our
words) so that nothing malformed reaches the database or the client:

- at most ``MAX_URL_LENGTH`` characters, no whitespace or control characters (NUL included);
- scheme ``http`` or ``https``; a host; no ``user:password@``; a port from 1 to 65535;
- a host name of at most 253 characters, labels of 1-63 letters, digits, ``-`` or ``_``
  (not starting or ending with ``-``; international names are converted with IDNA);
- a literal IP address (in any spelling: ``2130706433``, ``0x7f.1``, ``[::1]``) must be one
  the destination policy permits. Names are checked when a request connects (their
  addresses can change), so a name that resolves to a private address is accepted here
  and refused at delivery."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

from jobrunner.outbound.policy import DestinationPolicy, ip_literal

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x20\x7f-\x9f]")


class BadURL(ValueError):
    """The URL is refused; the message says why, in our words."""


def check_target_url(url: str, policy: DestinationPolicy) -> str:
    """The URL (its scheme in lower case), if an integration may use it; else ``BadURL``."""
    if len(url) > MAX_URL_LENGTH:
        raise BadURL(f"must be at most {MAX_URL_LENGTH} characters")
    if _FORBIDDEN_CHARACTERS.search(url):
        raise BadURL("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadURL("is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise BadURL("must be an http or https URL")
    if "@" in parts.netloc:
        raise BadURL("must not carry a user name or password")
    host = parts.hostname or ""
    if not host:
        raise BadURL("must name a host")
    if port == 0:
        raise BadURL("must have a port from 1 to 65535")
    address = ip_literal(host)
    if address is not None:
        if not policy.permits(address):
            raise BadURL(
                "points to an address that is not allowed (loopback, private, link-local, multicast or reserved)"
            )
    else:
        _check_host_name(host)
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise BadURL("is not a valid URL") from None
    return parts.scheme.lower() + url[len(parts.scheme) :]


def _check_host_name(host: str) -> None:
    if "[" in host or ":" in host:
        raise BadURL("is not a valid URL")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise BadURL("has an invalid host name") from None
    ascii_host = ascii_host.removesuffix(".").lower()
    if len(ascii_host) > MAX_HOST_LENGTH:
        raise BadURL(f"has a host name longer than {MAX_HOST_LENGTH} characters")
    if not all(_LABEL.match(label) for label in ascii_host.split(".")):
        raise BadURL("has an invalid host name (labels of 1-63 letters, digits, '-' or '_')")
