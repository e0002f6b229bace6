"""The tiktok publisher: consumes CampaignPublishRequested and platform commands for tiktok. Wiring only;
the engine lives in `adrelay.engine`, the platform adapter in `adrelay.platforms.tiktok`.
"""

from adrelay.messaging.service import ServiceRuntime
from adrelay.model import Platform
from adrelay.publisher.wiring import build


def main() -> ServiceRuntime:
    return build(Platform.TIKTOK)


if __name__ == "__main__":
    main().run()
