"""What every platform sandbox shares: server, faults, request log, inspection, state file."""

from sandbox.common.config import SandboxConfig
from sandbox.common.faults import FaultRule
from sandbox.common.server import PlatformSandbox, json_response, serve
from sandbox.common.store import ObjectStore, SandboxObject, WindowRateLimiter

__all__ = [
    "FaultRule",
    "ObjectStore",
    "PlatformSandbox",
    "SandboxConfig",
    "SandboxObject",
    "WindowRateLimiter",
    "json_response",
    "serve",
]
