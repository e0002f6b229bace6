"""Docker HEALTHCHECK: GET /healthz of the service this container runs; exit 0 when it answers 200.

The service comes from PID 1's command line (`adrelay serve <name>`), its port from
`ADRELAY_WEB_PORT` or the service's default web port, as the service itself chooses it.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path


def port() -> int:
    from adrelay.config import SERVICE_WEB_PORTS

    if os.environ.get("ADRELAY_WEB_PORT"):
        return int(os.environ["ADRELAY_WEB_PORT"])
    argv = Path("/proc/1/cmdline").read_bytes().decode(errors="replace").split("\0")
    service = next((arg for arg in argv if arg in SERVICE_WEB_PORTS), "orchestrator")
    return SERVICE_WEB_PORTS[service]


def main() -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port()}/healthz", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthz failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
