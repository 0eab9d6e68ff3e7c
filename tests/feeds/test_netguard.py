"""The public-address guard: literal addresses of every kind, names through a resolver given by the
test (no DNS), schemes, malformed URLs, and the allow-private switch."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from riskmine.feeds.netguard import UnsafeUrlError, address_problem, check_url, require_public_url


class TableResolver:
    """Answers from a table, as the system resolver would (OSError for an unknown name); records calls."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return self.table[host]


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback address 127.0.0.1"),
        ("127.8.9.10", "loopback address 127.8.9.10"),
        ("::1", "loopback address ::1"),
        ("10.1.2.3", "private address 10.1.2.3"),
        ("172.16.0.1", "private address 172.16.0.1"),
        ("192.168.0.1", "private address 192.168.0.1"),
        ("fc00::1", "private address fc00::1"),
        ("169.254.169.254", "link-local address 169.254.169.254"),
        ("fe80::1", "link-local address fe80::1"),
        ("100.64.0.1", "shared address 100.64.0.1"),
        ("224.0.0.251", "multicast address 224.0.0.251"),
        ("ff02::1", "multicast address ff02::1"),
        ("240.0.0.1", "reserved address 240.0.0.1"),
        ("255.255.255.255", "reserved address 255.255.255.255"),
        ("0.0.0.0", "unspecified address 0.0.0.0"),
        ("::", "unspecified address ::"),
        ("::ffff:127.0.0.1", "loopback address 127.0.0.1 (embedded in the IPv6 address ::ffff:7f00:1)"),
        ("::ffff:10.0.0.1", "private address 10.0.0.1 (embedded in the IPv6 address ::ffff:a00:1)"),
        ("64:ff9b::a9fe:a9fe", "link-local address 169.254.169.254 (embedded in the IPv6 address 64:ff9b::a9fe:a9fe)"),
        ("2002:c0a8:101::1", "private address 192.168.1.1 (embedded in the IPv6 address 2002:c0a8:101::1)"),
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_address_kinds(address: str, problem: str | None) -> None:
    assert address_problem(address) == problem


def test_allow_private_lets_private_kinds_through_but_never_the_others() -> None:
    for address in ("127.0.0.1", "::1", "10.0.0.1", "169.254.1.1", "100.64.0.1", "::ffff:127.0.0.1"):
        assert address_problem(address, allow_private=True) is None
    for address in ("0.0.0.0", "224.0.0.1", "240.0.0.1", "::"):
        assert address_problem(address, allow_private=True) is not None
    assert address_problem("not-an-ip") == "'not-an-ip' is not an IP address"


def test_literal_urls() -> None:
    ok = check_url("https://8.8.8.8/path?q=1")
    assert ok.allowed and ok.addresses == ("8.8.8.8",) and ok.reason is None
    bad = check_url("http://[::1]:8080/admin")
    assert not bad.allowed and bad.reason == "loopback address ::1; only public addresses are fetched"
    assert check_url("http://127.0.0.1:8000/", allow_private=True).allowed


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://8.8.8.8/file", "ftp: is not allowed; give an http:// or https:// address"),
        ("file:///etc/passwd", "file: is not allowed"),
        ("javascript:alert(1)", "javascript: is not allowed"),
        ("//8.8.8.8/x", "no scheme is not allowed"),
        ("http:///path", "the address names no host"),
        ("http://8.8.8.8:99999/", "the address is not a valid URL"),
        ("http://exa mple.com/", "the address contains spaces or control characters"),
        ("http://example.com/a\r\nHost: x", "the address contains spaces or control characters"),
        ("", "the address is empty"),
        ("http://x.example/" + "a" * 3000, "the address is longer than 2,000 characters"),
    ],
)
def test_malformed_or_wrong_scheme(url: str, reason: str) -> None:
    verdict = check_url(url, resolver=TableResolver({}))
    assert not verdict.allowed and verdict.reason is not None and verdict.reason.startswith(reason)


def test_names_are_checked_on_every_address_they_resolve_to() -> None:
    resolve = TableResolver(
        {
            "news.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
            "mixed.example.com": ["93.184.216.34", "10.0.0.7"],
            "rebind.example.com": ["::ffff:127.0.0.1"],
            "empty.example.com": [],
        }
    )
    ok = check_url("https://news.example.com/a", resolver=resolve)
    assert ok.allowed and len(ok.addresses) == 2
    assert resolve.calls[-1] == ("news.example.com", 443)
    mixed = check_url("http://mixed.example.com:8080/", resolver=resolve)
    assert not mixed.allowed
    assert (
        mixed.reason
        == "host 'mixed.example.com' resolves to private address 10.0.0.7; only public addresses are fetched"
    )
    assert resolve.calls[-1] == ("mixed.example.com", 8080)
    assert not check_url("http://rebind.example.com/", resolver=resolve).allowed
    empty = check_url("http://empty.example.com/", resolver=resolve)
    assert empty.reason == "host 'empty.example.com' resolves to no address"
    unknown = check_url("http://nowhere.example.com/", resolver=resolve)
    assert not unknown.allowed and unknown.reason is not None
    assert unknown.reason.startswith("host 'nowhere.example.com' could not be resolved")


def test_require_public_url_raises_with_the_reason() -> None:
    assert require_public_url("http://8.8.8.8/").allowed
    with pytest.raises(UnsafeUrlError, match=r"http://10\.0\.0\.1/: private address 10\.0\.0\.1"):
        require_public_url("http://10.0.0.1/")
