"""Named crash points for chaos tests: `ADRELAY_CRASH_AT=<point>` kills the process there (SIGKILL).

A point is a name such as `outbox:after_send` or `meta:create_campaign:after_send`. Several may be
given, comma-separated; `<point>@N` fires on the N-th time the point is reached. Production never
sets the variable; the check is a dictionary lookup.

A stall point (`consumer:stall`) does not kill: the code there waits forever, as a stuck dependency
would. It holds only in a process's first life; a restart in place (the consumer watchdog's remedy)
clears it, so a test can watch the remedy work.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_hits: Counter[str] = Counter()

RESTARTS_ENV = "ADRELAY_RESTARTS_IN_PLACE"


def restarts_in_place() -> int:
    """How many times this process has restarted itself in place (os.exec) so far."""
    return int(os.environ.get(RESTARTS_ENV) or 0)


def _points() -> dict[str, int]:
    out: dict[str, int] = {}
    for item in os.environ.get("ADRELAY_CRASH_AT", "").split(","):
        item = item.strip()
        if not item:
            continue
        name, _, nth = item.partition("@")
        out[name] = int(nth) if nth else 1
    return out


_configured = _points()


def reload() -> None:
    global _configured
    _configured = _points()
    _hits.clear()


def point(name: str) -> None:
    """Kill this process right here if the configuration names this point."""
    if not _configured:
        return
    nth = _configured.get(name)
    if nth is None:
        return
    _hits[name] += 1
    if _hits[name] == nth:
        os.write(2, f"crash point {name} reached: SIGKILL\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)


def stalls(name: str) -> bool:
    """Whether the configuration makes this point stall now (see the module's docstring)."""
    if not _configured or name not in _configured or restarts_in_place():
        return False
    _hits[name] += 1
    if _hits[name] == _configured[name]:
        os.write(2, f"stall point {name} reached: waiting forever\n".encode())
        return True
    return False
