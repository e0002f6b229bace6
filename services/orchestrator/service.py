"""The orchestrator: takes PublishCampaign commands, fans out CampaignPublishRequested, aggregates
the publishers' results. Wiring only; the behaviour lives in `adrelay.orchestrator`.
"""

from adrelay.messaging.service import ServiceRuntime
from adrelay.orchestrator.wiring import build


def main() -> ServiceRuntime:
    return build()


if __name__ == "__main__":
    main().run()
