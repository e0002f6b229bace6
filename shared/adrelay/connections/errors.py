"""What the connections module refuses, in words an operator can act on (never a token)."""

from __future__ import annotations


class ConnectionsError(Exception):
    """Base of the module's own refusals (the HTTP surface maps each to a 4xx)."""

    status = 400


class ConnectionNotFound(ConnectionsError):
    status = 404


class ConnectionExists(ConnectionsError):
    status = 409


class ConnectionRevoked(ConnectionsError):
    """An operator revoked the connection: nothing publishes with it until it is re-authorized."""

    status = 409


class InvalidRequest(ConnectionsError):
    """Unknown platform, bad id, missing credentials."""

    status = 400


class ConnectRejected(ConnectionsError):
    """The platform refused what the person brought (invalid or expired token or code, missing
    permission, no ad account reached)."""

    status = 422


class PlatformUnavailable(ConnectionsError):
    """The platform could not be asked now (unreachable, throttled, 5xx): try again later."""

    status = 503
