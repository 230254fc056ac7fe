"""Outbound HTTP that cannot be pointed into the private network (SSRF).

Every URL the product fetches on a user's behalf (webhooks, and anything later) goes through
`outbound_client(policy)`. Two walls:

- `check_url` refuses what is not http(s), carries credentials, or names an address literal
  that is not public — in any spelling a resolver accepts (`2130706433`, `0x7f.1`, `0177.0.0.1`,
  `[::ffff:127.0.0.1]`, ...), because the check runs on what the name resolves to.
- At connect time the transport resolves the host once, refuses the connection unless every
  address is allowed, and connects to that checked address itself. No second lookup happens, so
  a name that resolves to a public address for the check and to 127.0.0.1 for the connection
  (DNS rebinding) cannot slip through. Each redirect is a new request, checked again.

Allowed: globally routable unicast addresses, plus what `OutboundPolicy.allow` names explicitly
(`FRONTDESK_OUTBOUND_ALLOW`: networks like `10.1.2.0/24`, or `host:port` pairs like
`127.0.0.1:9000` for a receiver on the same machine).
"""

from __future__ import annotations

import ipaddress
import socket
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

from frontdesk.core.config import Settings
from frontdesk.core.errors import FrontdeskError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_REDIRECTS = 5
#: Ranges that `is_global` lets through but that still reach someone's private network.
_NOT_PUBLIC: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64, which reaches the IPv4 address inside
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64
    ipaddress.ip_network("2002::/16"),  # 6to4
    ipaddress.ip_network("2001::/32"),  # Teredo
)


class BlockedDestination(FrontdeskError):
    status = 422
    code = "blocked_destination"
    title = "The URL points at an address outbound requests may not reach"


@dataclass(frozen=True)
class OutboundPolicy:
    """What outbound requests may reach besides public addresses."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_endpoints: frozenset[tuple[IPAddress, int]] = frozenset()
    resolver: Resolver | None = field(default=None, compare=False)

    @classmethod
    def from_entries(
        cls, entries: Iterable[str], resolver: Resolver | None = None
    ) -> OutboundPolicy:
        """`10.0.0.0/8` allows a network on any port; `127.0.0.1:9000` one address and port."""
        networks: list[IPNetwork] = []
        endpoints: set[tuple[IPAddress, int]] = set()
        for entry in entries:
            host, port = split_endpoint(entry)
            if port is None:
                networks.append(ipaddress.ip_network(host, strict=False))
            else:
                endpoints.add((unwrapped(ipaddress.ip_address(host)), port))
        return cls(tuple(networks), frozenset(endpoints), resolver)

    def permits(self, address: IPAddress, port: int) -> bool:
        address = unwrapped(address)
        if (address, port) in self.allowed_endpoints:
            return True
        if any(address in network for network in self.allowed_networks):
            return True
        return is_public(address)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        literal = parse_address(host)
        if literal is not None:
            return [literal]
        names = await (self.resolver or system_resolver)(host, port)
        return [ipaddress.ip_address(name.split("%", 1)[0]) for name in names]


def split_endpoint(entry: str) -> tuple[str, int | None]:
    entry = entry.strip()
    if entry.startswith("["):  # [::1]:9000
        host, _, port = entry[1:].partition("]:")
        return host, int(port) if port else None
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return host, int(port)
    return entry, None


def unwrapped(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible (`::a.b.c.d`) IPv6
    address stands for: the socket reaches that IPv4 address."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    packed = address.packed
    if packed[:12] == bytes(12) and int.from_bytes(packed[12:]) > 1:
        return ipaddress.IPv4Address(packed[12:])
    return address


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address: no loopback, private, link-local (169.254.169.254,
    the cloud metadata service), ULA, CGNAT, multicast, reserved or unspecified address, in any
    IPv6 wrapping; IPv6 forms that tunnel to IPv4 (NAT64, 6to4, Teredo) are refused outright."""
    address = unwrapped(address)
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return False
    if any(address in network for network in _NOT_PUBLIC):
        return False
    return address.is_global


def parse_address(host: str) -> IPAddress | None:
    """An address literal in any form a resolver would accept, else None (a name).

    `inet_aton` reads what `getaddrinfo` reads: `127.1`, `2130706433`, `0x7f000001`,
    `0177.0.0.1`. Reading it the same way means the check sees the address the socket would.
    """
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not host or not all(c in "0123456789abcdefxABCDEFX." for c in host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_url(url: str | httpx.URL, policy: OutboundPolicy) -> None:
    """Refuse what can be refused without resolving: the scheme, credentials, a blocked literal."""
    parts = urlsplit(str(url))
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise BlockedDestination(f"the scheme {parts.scheme!r} is not allowed", field="url")
    if parts.username is not None or parts.password is not None:
        raise BlockedDestination("credentials in the URL are not allowed", field="url")
    host = parts.hostname
    if not host:
        raise BlockedDestination("the URL has no host", field="url")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise BlockedDestination("the URL's port is not valid", field="url") from exc
    literal = parse_address(host)
    if literal is not None and not policy.permits(literal, port):
        raise BlockedDestination(f"{host} is not a public address", field="url")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every address, connects to the checked address."""

    def __init__(self, policy: OutboundPolicy, inner: httpcore.AsyncNetworkBackend) -> None:
        self.policy = policy
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.policy.resolve(host, port)
        except (OSError, ValueError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        blocked = [a for a in addresses if not self.policy.permits(a, port)]
        if not addresses or blocked:
            raise BlockedDestination(f"{host} resolves to an address that is not allowed")
        return await self.inner.connect_tcp(
            str(addresses[0]),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedDestination("outbound requests do not use local sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with every connection made through `GuardedBackend`."""

    def __init__(
        self, policy: OutboundPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        super().__init__(trust_env=False, retries=0)
        # httpx builds its pool without a way to pass a network backend; this one is the same
        # pool (the default TLS context) with the guarded backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=GuardedBackend(policy, inner or httpcore.AnyIOBackend()),
        )


def outbound_client(
    policy: OutboundPolicy,
    *,
    timeout: float = 10.0,
    follow_redirects: bool = True,
    inner: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """An HTTP client for user-supplied URLs: no proxies from the environment, every request
    (each redirect too) checked by `check_url`, every connection by `GuardedBackend`."""

    async def check(request: httpx.Request) -> None:
        check_url(request.url, policy)

    return httpx.AsyncClient(
        transport=GuardedTransport(policy, inner),
        timeout=timeout,
        follow_redirects=follow_redirects,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,
        event_hooks={"request": [check]},
    )


def policy_from_settings(settings: Settings) -> OutboundPolicy:
    return OutboundPolicy.from_entries(settings.outbound_allow)
