"""The SSRF policy: blocked targets get 0 connections, in every spelling, through redirects and
DNS rebinding; an explicitly allowed loopback port is reached.

A listener on 127.0.0.1 counts the connections it accepts; a wrapper around the network backend
counts every connection the client even tries (for targets that must never be dialled, like
169.254.169.254, which tests may not reach anyway).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpcore
import httpx
import pytest

from frontdesk.core.config import Settings
from frontdesk.core.outbound import (
    BlockedDestination,
    OutboundPolicy,
    check_url,
    is_public,
    outbound_client,
    parse_address,
    policy_from_settings,
)
from tests.robustness.counters import record


@dataclass
class Listener:
    """An HTTP server on 127.0.0.1 that counts connections; answers 200, or a redirect."""

    port: int = 0
    connections: int = 0
    redirect_to: str | None = None
    server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if self.redirect_to:
            head = f"HTTP/1.1 302 Found\r\nLocation: {self.redirect_to}\r\n"
        else:
            head = "HTTP/1.1 200 OK\r\n"
        writer.write(f"{head}Content-Length: 2\r\nConnection: close\r\n\r\nok".encode())
        await writer.drain()
        writer.close()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    found = Listener()
    found.server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = found.server.sockets[0].getsockname()[1]
    yield found
    found.server.close()
    await found.server.wait_closed()


@pytest.fixture
async def other_listener() -> AsyncIterator[Listener]:
    found = Listener()
    found.server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = found.server.sockets[0].getsockname()[1]
    yield found
    found.server.close()
    await found.server.wait_closed()


@dataclass
class CountingBackend(httpcore.AsyncNetworkBackend):
    """The real network backend, counting the connections it is asked to make."""

    inner: httpcore.AsyncNetworkBackend = field(default_factory=httpcore.AnyIOBackend)
    attempts: list[tuple[str, int]] = field(default_factory=list)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append((host, port))
        return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def loopback_spellings(port: int) -> list[str]:
    """127.0.0.1 as every resolver reads it."""
    return [
        f"http://127.0.0.1:{port}/",
        f"http://localhost:{port}/",
        f"http://LocalHost:{port}/",
        f"http://127.1:{port}/",
        f"http://127.0.1:{port}/",
        f"http://2130706433:{port}/",  # decimal
        f"http://0x7f000001:{port}/",  # hex
        f"http://0x7f.0x0.0x0.0x1:{port}/",
        f"http://0177.0.0.1:{port}/",  # octal
        f"http://017700000001:{port}/",
        f"http://127.0.0.2:{port}/",
        f"http://0.0.0.0:{port}/",
        f"http://0:{port}/",
        f"http://[::1]:{port}/",
        f"http://[::]:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped
        f"http://[::ffff:7f00:1]:{port}/",
        f"http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/",
        f"http://[::127.0.0.1]:{port}/",  # IPv4-compatible
        f"http://[64:ff9b::127.0.0.1]:{port}/",  # NAT64
        f"https://127.0.0.1:{port}/",
    ]


#: Never dialled by tests: the policy must refuse them before any connection.
PRIVATE_TARGETS = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fd00:ec2::254]/latest/meta-data/",  # its IPv6 twin (ULA)
    "http://169.254.0.1/",
    "http://2852039166/",  # 169.254.169.254 in decimal
    "http://0xa9fea9fe/",  # and in hex
    "http://[::ffff:169.254.169.254]/",
    "http://10.0.0.1/",
    "http://10.255.255.255:8080/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://0300.0250.0.1/",  # 192.168.0.1 in octal
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://198.18.0.1/",
    "http://192.0.0.8/",
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://255.255.255.255/",
    "http://[fc00::1]/",  # ULA
    "http://[fe80::1]/",  # link-local
    "http://[ff02::1]/",  # multicast
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:192.168.0.1]/",
    "http://[2002:a9fe:a9fe::]/",  # 6to4 around 169.254.169.254
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
]

REFUSED_URLS = [
    "file:///etc/passwd",
    "gopher://127.0.0.1:70/",
    "ftp://example.com/",
    "dict://127.0.0.1:11211/",
    "http://user:secret@example.com/",
    "http:///nohost",
]


async def test_blocked_loopback_spellings_make_no_connection(listener: Listener) -> None:
    counting = CountingBackend()
    async with outbound_client(OutboundPolicy(), inner=counting) as client:
        for url in loopback_spellings(listener.port):
            with pytest.raises((BlockedDestination, httpx.InvalidURL)):
                await client.get(url)
    assert listener.connections == 0
    assert counting.attempts == []


async def test_private_and_metadata_targets_are_never_dialled() -> None:
    counting = CountingBackend()
    async with outbound_client(OutboundPolicy(), inner=counting) as client:
        for url in PRIVATE_TARGETS + REFUSED_URLS:
            # httpx itself refuses some spellings (octal quads) as an invalid URL: refused too.
            with pytest.raises((BlockedDestination, httpx.InvalidURL)):
                await client.get(url)
    assert counting.attempts == []
    record(
        "ssrf",
        "any",
        {
            "blocked_urls": len(PRIVATE_TARGETS + REFUSED_URLS + loopback_spellings(1)),
            "connections_to_blocked": 0,
        },
    )


async def test_an_allowed_loopback_port_is_reached_and_nothing_else(
    listener: Listener, other_listener: Listener
) -> None:
    policy = OutboundPolicy.from_entries([f"127.0.0.1:{listener.port}"])
    async with outbound_client(policy) as client:
        response = await client.get(f"http://127.0.0.1:{listener.port}/hook")
        assert response.status_code == 200
        assert response.text == "ok"
        # The same address on another port is not allowed.
        with pytest.raises(BlockedDestination):
            await client.get(f"http://127.0.0.1:{other_listener.port}/")
    assert listener.connections == 1
    assert other_listener.connections == 0


async def test_a_redirect_to_a_blocked_target_is_not_followed(
    listener: Listener, other_listener: Listener
) -> None:
    policy = OutboundPolicy.from_entries([f"127.0.0.1:{listener.port}"])
    async with outbound_client(policy) as client:
        for target in [
            f"http://127.0.0.1:{other_listener.port}/",
            f"http://2130706433:{other_listener.port}/",
            f"http://[::ffff:127.0.0.1]:{other_listener.port}/",
            "http://169.254.169.254/latest/meta-data/",
            "file:///etc/passwd",
        ]:
            listener.redirect_to = target
            with pytest.raises(BlockedDestination):
                await client.get(f"http://127.0.0.1:{listener.port}/start")
    assert other_listener.connections == 0
    assert listener.connections == 5


async def test_dns_rebinding_cannot_switch_the_address_after_the_check(
    listener: Listener,
) -> None:
    """A name is resolved once per connection, checked, and connected to by the checked address:
    a resolver that answers an allowed address first and a blocked one next never gets its
    second answer past the check."""
    answers = ["127.0.0.1", "127.0.0.3"]
    lookups: list[str] = []

    async def flipping(host: str, port: int) -> list[str]:
        lookups.append(host)
        return [answers[min(len(lookups) - 1, 1)]]

    counting = CountingBackend()
    policy = OutboundPolicy.from_entries([f"127.0.0.1:{listener.port}"], resolver=flipping)
    async with outbound_client(policy, inner=counting) as client:
        first = await client.get(f"http://rebind.example.com:{listener.port}/")
        assert first.status_code == 200
        with pytest.raises(BlockedDestination):
            await client.get(f"http://rebind.example.com:{listener.port}/")
    assert lookups == ["rebind.example.com", "rebind.example.com"]
    assert counting.attempts == [("127.0.0.1", listener.port)]
    assert listener.connections == 1


async def test_a_name_with_one_blocked_address_is_refused(listener: Listener) -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "127.0.0.1"]

    counting = CountingBackend()
    async with outbound_client(OutboundPolicy(resolver=mixed), inner=counting) as client:
        with pytest.raises(BlockedDestination):
            await client.get(f"http://two.example.com:{listener.port}/")
    assert counting.attempts == []


def test_address_parsing_reads_what_the_resolver_reads() -> None:
    for spelling in ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1"]:
        assert parse_address(spelling) == ipaddress.IPv4Address("127.0.0.1")
        assert socket.gethostbyname(spelling) == "127.0.0.1"
    assert parse_address("example.com") is None
    assert parse_address("deadbeef.example") is None
    assert parse_address("[::1]") == ipaddress.IPv6Address("::1")


def test_public_addresses_pass() -> None:
    for address in ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"]:
        assert is_public(ipaddress.ip_address(address)), address
        check_url(
            f"https://[{address}]/" if ":" in address else f"https://{address}/", OutboundPolicy()
        )
    check_url("https://hooks.example.com/path?q=1", OutboundPolicy())


def test_the_allow_list_comes_from_the_settings() -> None:
    settings = Settings(outbound_allow="10.1.0.0/16, 127.0.0.1:9000, [::1]:9001")  # type: ignore[arg-type]
    policy = policy_from_settings(settings)
    assert policy.permits(ipaddress.ip_address("10.1.2.3"), 443)
    assert policy.permits(ipaddress.ip_address("127.0.0.1"), 9000)
    assert policy.permits(ipaddress.ip_address("::ffff:127.0.0.1"), 9000)
    assert policy.permits(ipaddress.ip_address("::1"), 9001)
    assert not policy.permits(ipaddress.ip_address("127.0.0.1"), 9001)
    assert not policy.permits(ipaddress.ip_address("10.2.0.1"), 443)
    with pytest.raises(ValueError, match="outbound_allow"):
        Settings(outbound_allow="not-an-address")  # type: ignore[arg-type]
