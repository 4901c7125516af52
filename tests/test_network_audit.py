"""The network audit that other tests rely on to prove "no connection was attempted"."""

from __future__ import annotations

import socket
from typing import Any


def test_the_audit_sees_connects_and_lookups(network_audit: Any) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(("localhost", server.getsockname()[1]), timeout=5):
            pass
    kinds = {event for event, _ in network_audit.events}
    assert {"socket.connect", "socket.getaddrinfo"} <= kinds
    assert network_audit.foreign() == []  # loopback only


def test_foreign_targets_are_told_apart(network_audit: Any) -> None:
    # Fed by hand: a test must never really connect off loopback.
    network_audit("socket.connect", (None, ("192.0.2.1", 80)))
    network_audit("socket.getaddrinfo", ("hooks.example.invalid", 443))
    network_audit("socket.connect", (None, ("127.0.0.1", 80)))
    assert network_audit.foreign() == [
        ("socket.connect", ("192.0.2.1", 80)),
        ("socket.getaddrinfo", "hooks.example.invalid"),
    ]
