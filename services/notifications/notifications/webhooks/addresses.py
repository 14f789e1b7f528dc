"""Where partners' webhooks may go: public HTTPS addresses only, checked when a URL is given and
again before every attempt (a host may resolve elsewhere by then: DNS rebinding)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from mpp_shared.problems import Problem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_SECONDS = 5.0
# IPv6 prefixes that carry an IPv4 address a gateway will reach: NAT64 (RFC 6052, RFC 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


@dataclass(frozen=True)
class Target:
    """A checked URL and the addresses its host resolved to, in the resolver's order."""

    url: httpx.URL
    addresses: tuple[IPAddress, ...]


class RefusedUrl(Exception):
    """A webhook URL this service will not call, with why in both languages."""

    def __init__(self, reason: str, indonesian: str, english: str) -> None:
        self.reason = reason
        self.message = {"id": indonesian, "en": english}
        super().__init__(english)

    def problem(self) -> Problem:
        """The 422 problem naming the `url` field."""
        return Problem(
            422,
            "validation",
            detail={
                "id": "Alamat webhook tidak dapat dipakai.",
                "en": "The webhook URL cannot be used.",
            },
            errors=[{"field": "url", "in": "body", "message": self.message}],
            reason=self.reason,
        )


def refused_reason(address: IPAddress) -> str | None:
    """Why an address is off limits (private, loopback ...), or None for a public one."""
    for inner in _embedded_ipv4(address):
        reason = refused_reason(inner)
        if reason:
            return reason
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # Shared (carrier-grade NAT), documentation and benchmarking ranges are none of the
        # above but still not the public internet.
        ("not-global", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (mapped, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if any(address in network for network in _NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [inner for inner in found if inner is not None]


def parse(url: str, *, allow_private: bool) -> httpx.URL:
    """The URL if its form is acceptable: http(s), a host, no credentials; https in production."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise RefusedUrl(
            "malformed", "Alamat URL tidak valid.", "The URL is not a valid URL."
        ) from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in schemes:
        raise RefusedUrl(
            "scheme",
            "Alamat webhook harus memakai https://.",
            "The webhook URL must use https://.",
        )
    if parsed.userinfo:
        raise RefusedUrl(
            "credentials",
            "Alamat webhook tidak boleh memuat nama pengguna atau kata sandi; "
            "periksa tanda tangan webhook-signature sebagai gantinya.",
            "The webhook URL must not hold a user name or password; verify the "
            "webhook-signature header instead.",
        )
    if not parsed.host:
        raise RefusedUrl(
            "host", "Alamat webhook tidak memuat host.", "The webhook URL has no host."
        )
    return parsed


async def resolve(url: str, *, allow_private: bool) -> Target:
    """Parse the URL and resolve its host; RefusedUrl if any address is off limits."""
    parsed = parse(url, allow_private=allow_private)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        found = await asyncio.wait_for(
            asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM),
            RESOLVE_SECONDS,
        )
    except (OSError, TimeoutError, UnicodeError):
        raise RefusedUrl(
            "unresolvable",
            f"Host {parsed.host} tidak dapat ditemukan.",
            f"The host {parsed.host} could not be resolved.",
        ) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        # Drop an IPv6 zone ("fe80::1%eth0"): ipaddress reads the address without it.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise RefusedUrl(
            "unresolvable",
            f"Host {parsed.host} tidak memiliki alamat.",
            f"The host {parsed.host} has no address.",
        )
    if not allow_private:
        # Every address, not just the first: a client may connect to any of them.
        for address in addresses:
            reason = refused_reason(address)
            if reason:
                raise RefusedUrl(
                    reason,
                    f"Host {parsed.host} mengarah ke alamat jaringan internal ({reason}); "
                    "webhook hanya dikirim ke alamat publik.",
                    f"The host {parsed.host} points at an internal address ({reason}); "
                    "webhooks only go to public addresses.",
                )
    return Target(url=parsed, addresses=tuple(addresses))


async def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse (422 problem) a URL partners may not receive webhooks at."""
    try:
        await resolve(url, allow_private=allow_private)
    except RefusedUrl as refused:
        raise refused.problem() from None


def pinned(target: Target, address: IPAddress) -> tuple[httpx.URL, dict[str, str], str]:
    """The URL with its host replaced by a checked address, the Host header and the TLS server
    name: the request reaches the address that was checked, never a second DNS answer."""
    host_header = target.url.netloc.decode("ascii")
    server_name = target.url.raw_host.decode("ascii")
    return target.url.copy_with(host=str(address)), {"Host": host_header}, server_name
