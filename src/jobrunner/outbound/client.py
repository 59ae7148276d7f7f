"""The one guarded HTTP client for outbound requests (webhooks, sync batches).

- The destination is checked on the *resolved* addresses at connect time, inside the
  connection (an httpcore network backend): the host is resolved once, every address must
  be permitted by the ``DestinationPolicy``, and the socket connects to a checked address,
  so a name that resolves differently later (DNS rebinding) gains nothing. TLS still
  verifies the certificate against the URL's host name.
- No redirects, no proxies from the environment, a deadline for the whole request, and at
  most ``max_response_bytes`` of the answer are read.

A refused destination raises ``DestinationNotAllowed`` (a permanent failure) before any
byte is sent; every other failure is an ``httpx.HTTPError``."""

from __future__ import annotations

import asyncio
import logging
import socket
import typing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpcore
import httpx

from jobrunner.domain.errors import DestinationNotAllowed, PermanentError
from jobrunner.outbound.policy import DestinationPolicy, IPAddress, ip_literal
from jobrunner.settings import Settings

log = logging.getLogger("jobrunner.outbound")

NOT_ALLOWED = "the destination is not allowed"
INVALID_URL = "the target URL is not valid"


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, but ``connect_tcp`` resolves the host itself, refuses it
    unless every address is permitted, then connects to a checked address."""

    def __init__(self, policy: DestinationPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port, timeout)
        refused = [str(address) for address in addresses if not self._policy.permits(address)]
        if refused:
            log.warning("outbound request to %s:%s refused: resolves to %s", host, port, ", ".join(refused))
            raise DestinationNotAllowed(NOT_ALLOWED)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationNotAllowed(NOT_ALLOWED)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int, timeout: float | None) -> list[IPAddress]:
    literal = ip_literal(host)
    if literal is not None:
        return [literal]
    try:
        async with asyncio.timeout(timeout):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
    except UnicodeError as exc:  # not a host name at all (IDNA refuses it)
        log.warning("outbound request to %r refused: %s", host[:300], exc)
        raise PermanentError(INVALID_URL) from exc
    except OSError as exc:
        raise httpcore.ConnectError(f"resolving {host} failed: {exc}") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ip_literal(str(sockaddr[0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no address")
    return addresses


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: DestinationPolicy) -> None:
        super().__init__(trust_env=False, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=10,
            max_keepalive_connections=5,
            retries=0,
            network_backend=GuardedBackend(policy),
        )


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    status_code: int
    headers: httpx.Headers
    content: bytes
    """At most ``max_response_bytes`` of the body."""


class OutboundClient:
    def __init__(self, client: httpx.AsyncClient, max_response_bytes: int) -> None:
        self._client = client
        self._max_response_bytes = max_response_bytes

    async def post(self, url: str, *, content: bytes, headers: dict[str, str], timeout: float) -> OutboundResponse:
        """POST within ``timeout`` seconds in all (connect, send, answer); reads at most
        ``max_response_bytes`` of the answer. Raises ``DestinationNotAllowed``, a
        ``PermanentError`` for a URL that cannot be sent, or an ``httpx.HTTPError``
        (``httpx.TimeoutException`` past the deadline)."""
        try:
            request = self._client.build_request("POST", url, content=content, headers=headers, timeout=timeout)
        except (httpx.InvalidURL, ValueError) as exc:
            # Saved before URLs were checked (outbound/urls.py); never sent.
            log.warning("outbound request to %r refused: %s", url[:300], exc)
            raise PermanentError(INVALID_URL) from exc
        try:
            async with asyncio.timeout(timeout):
                response = await self._client.send(request, stream=True)
                try:
                    body = bytearray()
                    async for chunk in response.aiter_raw():
                        body += chunk[: self._max_response_bytes - len(body)]
                        if len(body) >= self._max_response_bytes:
                            break
                    return OutboundResponse(response.status_code, response.headers, bytes(body))
                finally:
                    await response.aclose()
        except TimeoutError as exc:
            raise httpx.TimeoutException(f"no complete answer within {timeout:g} s") from exc


def policy_from(settings: Settings) -> DestinationPolicy:
    return DestinationPolicy.from_networks(settings.outbound_allowed_networks)


@asynccontextmanager
async def outbound_client(settings: Settings) -> AsyncIterator[OutboundClient]:
    """The guarded client; keep one per job (connections are reused within it)."""
    async with httpx.AsyncClient(
        transport=_GuardedTransport(policy_from(settings)), follow_redirects=False, trust_env=False
    ) as client:
        yield OutboundClient(client, settings.outbound_max_response_bytes)
