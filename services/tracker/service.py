"""The tracker: performance syncs, ad review outcomes and platform webhooks. Wiring only; the
behaviour lives in `adrelay.tracker`.
"""

from adrelay.messaging.service import ServiceRuntime
from adrelay.tracker.wiring import build


def main() -> ServiceRuntime:
    return build()


if __name__ == "__main__":
    main().run()
