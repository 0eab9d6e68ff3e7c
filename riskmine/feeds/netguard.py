"""The public-address guard for URLs that come from users (a station's feed URL, a public report's link).

Such a URL is fetched only when its scheme is http or https and every address its host resolves to
is a public one: loopback, private, link-local, shared (carrier-grade NAT), multicast, reserved and
unspecified addresses are refused, and so are IPv6 addresses that embed one of those (IPv4-mapped
``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``). ``allow_private`` (the setting
RISKMINE_ALLOW_PRIVATE_URLS) lets loopback, private, link-local and shared addresses through, for
development and tests; multicast, reserved and unspecified addresses are never fetched.

Checking every resolved address (not just the first) closes the trick of a name that resolves to a
public and a private address at once. The resolver is a parameter, so tests pass their own and never
touch DNS.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from riskmine.schema.errors import RiskmineError

__all__ = [
    "ALLOWED_SCHEMES",
    "IPAddress",
    "Resolver",
    "UnsafeUrlError",
    "UrlVerdict",
    "address_problem",
    "check_url",
    "require_public_url",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses the host resolves to (as text).
Resolver = Callable[[str, int], Sequence[str]]
ALLOWED_SCHEMES = ("http", "https")
MAX_URL_CHARS = 2_000

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
# Kinds of address let through by allow_private; the others are never fetched.
_PRIVATE_KINDS = frozenset({"loopback", "private", "link-local", "shared"})


class UnsafeUrlError(RiskmineError, ValueError):
    """A user-supplied URL that must not be fetched; the message says why."""

    code = "unsafe_url"
    status = 422


@dataclass(frozen=True)
class UrlVerdict:
    """Whether a URL may be fetched, why not, and the addresses its host resolved to."""

    url: str
    allowed: bool
    reason: str | None = None
    addresses: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "reason": self.reason, "addresses": list(self.addresses)}


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return None


def _kind(ip: IPAddress) -> str | None:
    """The kind of non-public address ip is ('loopback', 'private', ...), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_multicast:
        return "multicast"
    if ip.is_link_local:
        return "link-local"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def address_problem(address: str | IPAddress, *, allow_private: bool = False) -> str | None:
    """Why an address must not be fetched (e.g. 'loopback address 127.0.0.1'), or None when it may be."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return f"{address!r} is not an IP address"
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    kind = _kind(inner) if inner is not None else _kind(ip)
    if kind is None or (allow_private and kind in _PRIVATE_KINDS):
        return None
    if inner is not None:
        return f"{kind} address {inner} (embedded in the IPv6 address {ip})"
    return f"{kind} address {ip}"


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, *, allow_private: bool = False, resolver: Resolver | None = None) -> UrlVerdict:
    """The verdict on a user-supplied URL: its scheme, host and every address the host resolves to."""
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        return UrlVerdict(str(url), False, "the address is empty")
    if len(text) > MAX_URL_CHARS:
        return UrlVerdict(text[:100], False, f"the address is longer than {MAX_URL_CHARS:,} characters")
    if any(ord(ch) < 0x21 for ch in text):
        return UrlVerdict(text, False, "the address contains spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        return UrlVerdict(text, False, f"the address is not a valid URL ({exc})")
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        return UrlVerdict(text, False, f"{shown} is not allowed; give an http:// or https:// address")
    host = parts.hostname
    if not host:
        return UrlVerdict(text, False, "the address names no host")
    port = port or (443 if scheme == "https" else 80)
    literal = _literal(host)
    if literal is not None:
        addresses: Sequence[str] = [str(literal)]
    else:
        try:
            host.encode("idna")
        except UnicodeError:
            return UrlVerdict(text, False, f"host {host!r} is not a valid host name")
        try:
            addresses = list((resolver or system_resolver)(host, port))
        except (OSError, UnicodeError) as exc:
            return UrlVerdict(text, False, f"host {host!r} could not be resolved ({exc})")
        if not addresses:
            return UrlVerdict(text, False, f"host {host!r} resolves to no address")
    for address in addresses:
        problem = address_problem(address, allow_private=allow_private)
        if problem is not None:
            reason = problem if literal is not None else f"host {host!r} resolves to {problem}"
            return UrlVerdict(text, False, f"{reason}; only public addresses are fetched", tuple(addresses))
    return UrlVerdict(text, True, None, tuple(addresses))


def require_public_url(url: str, *, allow_private: bool = False, resolver: Resolver | None = None) -> UrlVerdict:
    """The verdict for a URL that may be fetched; UnsafeUrlError (saying why) for one that may not."""
    verdict = check_url(url, allow_private=allow_private, resolver=resolver)
    if not verdict.allowed:
        raise UnsafeUrlError(f"{verdict.url[:200]}: {verdict.reason}")
    return verdict
