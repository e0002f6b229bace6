"""The snapchat publisher: consumes CampaignPublishRequested and platform commands for snapchat. Wiring only;
the engine lives in `adrelay.engine`, the platform adapter in `adrelay.platforms.snapchat`.
"""

from adrelay.messaging.service import ServiceRuntime
from adrelay.model import Platform
from adrelay.publisher.wiring import build


def main() -> ServiceRuntime:
    return build(Platform.SNAPCHAT)


if __name__ == "__main__":
    main().run()
