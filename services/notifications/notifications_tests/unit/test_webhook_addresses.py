"""Which webhook URLs are refused: internal addresses, plain http in production, credentials.

No network: literal addresses, and `localhost` from the hosts file.
"""

from __future__ import annotations

import ipaddress

import pytest

from mpp_shared.problems import Problem
from notifications.webhooks import addresses
from notifications.webhooks.deliveries import retry_delay

INTERNAL = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused(address: str) -> None:
    assert addresses.refused_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_accepted(address: str) -> None:
    assert addresses.refused_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.0.0.5/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:192.168.0.1]/hook",
    ],
)
async def test_internal_urls_are_a_422_in_production(url: str) -> None:
    with pytest.raises(Problem) as refused:
        await addresses.check_url(url, allow_private=False)
    assert refused.value.status == 422
    assert refused.value.errors[0]["field"] == "url"


async def test_plain_http_is_refused_in_production_even_to_a_public_address() -> None:
    with pytest.raises(Problem) as refused:
        await addresses.check_url("http://1.1.1.1/hook", allow_private=False)
    assert refused.value.extensions["reason"] == "scheme"


async def test_a_public_https_address_is_accepted() -> None:
    await addresses.check_url("https://1.1.1.1/hook", allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://partner:s3cret@1.1.1.1/hook", "credentials"),
        ("ftp://1.1.1.1/hook", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("not a url", "scheme"),
        ("https:///hook", "host"),
    ],
)
async def test_malformed_urls_are_refused_even_outside_production(url: str, reason: str) -> None:
    with pytest.raises(Problem) as refused:
        await addresses.check_url(url, allow_private=True)
    assert refused.value.extensions["reason"] in (reason, "malformed")


async def test_loopback_and_http_are_allowed_outside_production() -> None:
    await addresses.check_url("http://localhost:8080/hook", allow_private=True)
    await addresses.check_url("http://127.0.0.1:8080/hook", allow_private=True)


async def test_a_resolved_address_is_what_the_request_goes_to() -> None:
    target = await addresses.resolve("https://1.1.1.1:8443/hook?x=1", allow_private=False)
    url, host, server_name = addresses.pinned(target, target.addresses[0])
    assert str(url) == "https://1.1.1.1:8443/hook?x=1"
    assert host == {"Host": "1.1.1.1:8443"}
    assert server_name == "1.1.1.1"


def test_a_pinned_ipv6_address_is_bracketed_and_the_host_kept() -> None:
    target = addresses.Target(
        url=addresses.parse("https://partner.example:8443/h", allow_private=False),
        addresses=(ipaddress.ip_address("2606:4700:4700::1111"),),
    )
    url, host, server_name = addresses.pinned(target, target.addresses[0])
    assert str(url) == "https://[2606:4700:4700::1111]:8443/h"
    assert host == {"Host": "partner.example:8443"}
    assert server_name == "partner.example"


def test_retries_back_off_exponentially_with_jitter_and_honour_retry_after() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 10)]
    for got, base in zip(delays, (5, 30, 120, 600, 3600, 10800, 21600, 43200, 86400), strict=True):
        assert base * 0.8 <= got <= base * 1.2
    assert retry_delay(30).total_seconds() <= 86400 * 1.2
    assert retry_delay(1, retry_after=300).total_seconds() == 300
