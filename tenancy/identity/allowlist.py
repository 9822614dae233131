"""An API client's IP allowlist: IPv4/IPv6 CIDRs checked with :mod:`ipaddress`.

Empty means no address is allowed; ``*`` (:data:`ANY`) means any address, which only the operator
may permit (``allow_any`` of :mod:`tenancy.identity.api_clients`). An IPv4-mapped IPv6 network is
stored and compared as IPv4.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import Any

from core.errors import Invalid, problem

ANY = "*"

_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")  # IPv4-mapped IPv6: stored and compared as IPv4

# What :func:`parse_allowlist` takes, as JSON Schema for the contract (a subset that admits only good
# entries): an IPv4 or IPv6 address (a network of one), or an IPv4 network of /16, /24 or /32 written
# with its host bits zero (/16 is the widest the default client policy lets a tenant's admin allow).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
ALLOWLIST_ENTRY_SCHEMA = {"anyOf": [
    {"format": "ipv4"}, {"format": "ipv6"},
    {"pattern": rf"^(?:{_OCTET}\.{_OCTET}\.0\.0/16|{_OCTET}\.{_OCTET}\.{_OCTET}\.0/24|"
                rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/32)$"}]}

def parse_allowlist(entries: str | Iterable[str], field: str = "allowlist") -> list[str]:
    """Normalised CIDRs (a bare address becomes /32 or /128); every bad entry named in words."""
    if isinstance(entries, str):
        entries = entries.replace(",", " ").split()
    networks: list[str] = []
    problems = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=True)
        except ValueError as error:
            problems.append(_cidr_problem(field, entry, error))
            continue
        if network.version == 6 and network.subnet_of(_MAPPED):  # ::ffff:192.0.2.0/120 is 192.0.2.0/24
            network = ipaddress.IPv4Network((int(network.network_address) & 0xFFFFFFFF, network.prefixlen - 96))
        if str(network) not in networks:
            networks.append(str(network))
    if problems:
        raise Invalid("The IP allowlist has entries that are not IPv4/IPv6 networks (CIDR).",
                      "許可する接続元（IP アドレス）に、CIDR 表記として正しくないものがあります。", problems=problems)
    return networks


def _cidr_problem(field: str, entry: str, error: ValueError) -> dict[str, str]:
    address, _, prefix = entry.partition("/")
    try:
        version = ipaddress.ip_address(address).version
    except ValueError:
        version = None
    if version and prefix:
        most = 32 if version == 4 else 128
        if not prefix.isdigit() or int(prefix) > most:
            return problem(field, f"{entry!r}: the prefix length of an IPv{version} network is 0 to {most}, not /{prefix}.",
                           f"「{entry}」: IPv{version} のプレフィックス長は 0〜{most} です（/{prefix} は使えません）。")
        if "host bits" in str(error):
            suggested = ipaddress.ip_network(entry, strict=False)
            return problem(field, f"{entry!r} has bits set after the prefix; did you mean {suggested}?",
                           f"「{entry}」はネットワークアドレスではありません。{suggested} のことですか。")
    return problem(field, f"{entry!r} is not an IPv4 or IPv6 address or network (e.g. 192.0.2.0/24, 2001:db8::/32).",
                   f"「{entry}」は IPv4/IPv6 のアドレスまたはネットワークではありません（例: 192.0.2.0/24、2001:db8::/32）。")


@functools.lru_cache(maxsize=4096)
def _networks(allowlist: str) -> tuple[Any, ...] | None:
    """None: any address."""
    if allowlist.strip() == ANY:
        return None
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allowlist.split())


def address_allowed(allowlist: str, address: str | None) -> bool:
    """Whether ``address`` is inside the space-separated ``allowlist`` (``*``: any address)."""
    networks = _networks(allowlist or "")
    if networks is None:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == network.version and ip in network for network in networks)
