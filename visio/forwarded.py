"""Who is really calling when a proxy relays the request (`VISIO_FORWARDED_ALLOW_IPS`).

nginx connects to visio from loopback and names the client in `X-Forwarded-For`. That
header is anyone's to write, so it is believed only from the proxies named in the setting,
and only as far as they vouch for it: read from the right, the first address that is not
one of those proxies is the client. Anything else (no proxy, an address not named) is the
peer itself. The sign-in throttle counts failures per client address with it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# nginx on the same machine, as deploy/ sets it up.
DEFAULT_TRUSTED = "127.0.0.1,::1"


def parse_trusted(text: str) -> tuple[Network, ...] | None:
    """The proxies of `VISIO_FORWARDED_ALLOW_IPS`: addresses or networks separated by commas,
    or `*` for any peer (a proxy that is the only way in, as in a container network); None
    for `*`. `ValueError` names a part that is no address."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if parts == ["*"]:
        return None
    networks = []
    for part in parts:
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"not an address or a network: {part!r}") from None
    return tuple(networks)


def _trusted(address: str, proxies: tuple[Network, ...] | None) -> bool:
    if proxies is None:
        return True
    try:
        found = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(found in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], proxies: tuple[Network, ...] | None
) -> str:
    """The calling client's address: `peer` unless it is a trusted proxy, then the right-most
    address of `forwarded_for` (every X-Forwarded-For header, in order) that is not one."""
    if not peer or not _trusted(peer, proxies):
        return peer or ""
    chain = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(chain):
        if not _trusted(hop, proxies):
            return hop
    return chain[0] if chain else peer
