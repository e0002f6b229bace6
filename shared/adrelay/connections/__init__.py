"""Platform connections: connect an ad account, keep its token alive, know when a person must
re-authenticate. One module the orchestrator, the publishers and the tracker all use; the only writer
of `platform_connections` (tokens encrypted at rest, see `crypto`)."""

from adrelay.connections.crypto import TokenCipher, TokenKeyError, generate_key
from adrelay.connections.errors import (
    ConnectionExists,
    ConnectionNotFound,
    ConnectionRevoked,
    ConnectionsError,
    ConnectRejected,
    InvalidRequest,
    PlatformUnavailable,
)
from adrelay.connections.manager import PRODUCER, ConnectionManager, Context
from adrelay.connections.models import CheckResult, Connection, ConnectionStatus
from adrelay.connections.reasons import AccountProblem
from adrelay.connections.tokens import ConnectionTokens

__all__ = [
    "PRODUCER",
    "AccountProblem",
    "CheckResult",
    "ConnectRejected",
    "Connection",
    "ConnectionExists",
    "ConnectionManager",
    "ConnectionNotFound",
    "ConnectionRevoked",
    "ConnectionStatus",
    "ConnectionTokens",
    "ConnectionsError",
    "Context",
    "InvalidRequest",
    "PlatformUnavailable",
    "TokenCipher",
    "TokenKeyError",
    "generate_key",
]
