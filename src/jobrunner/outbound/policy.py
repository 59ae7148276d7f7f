"""Which IP addresses outbound requests may reach: public unicast only, unless the
operator allows a network explicitly (``JOBRUNNER_OUTBOUND_ALLOWED_NETWORKS``).

Refused: loopback, private, shared (CGNAT), link-local, multicast, unspecified, reserved,
documentation and every other non-global range, in IPv4 and IPv6; IPv6 addresses that
embed an IPv4 one are judged by it: IPv4-mapped ones as that address, 6to4 and NAT64
ones by both."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_networks(cls, networks: Iterable[str]) -> DestinationPolicy:
        return cls(tuple(ipaddress.ip_network(item, strict=False) for item in networks))

    def permits(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:a.b.c.d is a.b.c.d
        if any(address.version == net.version and address in net for net in self.allowed):
            return True
        return all(_public(candidate) for candidate in _views(address))


def _views(address: IPAddress) -> list[IPAddress]:
    """The address and any IPv4 address it carries."""
    views: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour is not None:
            views.append(address.sixtofour)
        if address in _NAT64:
            views.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return views


def _public(address: IPAddress) -> bool:
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def ip_literal(host: str) -> IPAddress | None:
    """The address a host name stands for without DNS: dotted, IPv6 (brackets optional,
    zone dropped), and every spelling the C resolver accepts (``2130706433``, ``0x7f.1``,
    ``017700000001``, ``127.1``); None for a name."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None
