"""The client's address behind a proxy: X-Forwarded-For believed only from trusted proxies."""

from __future__ import annotations

import pytest

from visio.forwarded import DEFAULT_TRUSTED, client_address, parse_trusted

LOCAL = parse_trusted(DEFAULT_TRUSTED)


@pytest.mark.parametrize(
    ("peer", "headers", "proxies", "client"),
    [
        # No proxy: the peer, whatever it claims.
        ("203.0.113.7", ["198.51.100.1"], LOCAL, "203.0.113.7"),
        ("203.0.113.7", [], LOCAL, "203.0.113.7"),
        # nginx on loopback names the client.
        ("127.0.0.1", ["203.0.113.7"], LOCAL, "203.0.113.7"),
        ("::1", ["2001:db8::5"], LOCAL, "2001:db8::5"),
        # A client writing its own X-Forwarded-For: nginx appends the real address; the
        # right-most untrusted hop wins, never the forged one on the left.
        ("127.0.0.1", ["10.9.9.9, 203.0.113.7"], LOCAL, "203.0.113.7"),
        ("127.0.0.1", ["10.9.9.9", "203.0.113.7"], LOCAL, "203.0.113.7"),
        # Two proxies both trusted (a network named).
        ("10.0.0.2", ["203.0.113.7, 10.0.0.1"], parse_trusted("10.0.0.0/8"), "203.0.113.7"),
        # Loopback without the header: the peer.
        ("127.0.0.1", [], LOCAL, "127.0.0.1"),
        # Rubbish in the chain is an untrusted hop: it is what the throttle counts.
        ("127.0.0.1", ["not-an-address"], LOCAL, "not-an-address"),
        # Any peer trusted (a container network whose only way in is the proxy).
        ("172.18.0.5", ["203.0.113.7"], parse_trusted("*"), "203.0.113.7"),
        (None, ["203.0.113.7"], LOCAL, ""),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: str | None, headers: list[str], proxies: object, client: str
) -> None:
    assert client_address(peer, headers, proxies) == client  # type: ignore[arg-type]


def test_a_setting_that_is_no_address_is_refused() -> None:
    with pytest.raises(ValueError, match="nginx"):
        parse_trusted("127.0.0.1, nginx")
