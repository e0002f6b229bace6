"""Which rate limits each TikTok call must respect, and what a throttle answer blocks.

TikTok publishes its limits instead of reporting usage in headers (platform-apis §2.9): per app 10 QPS /
600 QPM (Basic tier, `settings.app_qps`), `/ad/create/` 5 QPS / 150 QPM (`settings.ad_create_qps`),
`/report/task/create/` 2 QPS. A token bucket cannot model a fixed minute window exactly, so each scope
refills at the lower of QPS and QPM/60 and bursts up to its QPS: a minute never exceeds QPM by more than
one burst. The only feedback is a throttle code in the body (40100/40016 app, 40133 advertiser), which
blocks the app scope until the platform's window reopens.
"""

from __future__ import annotations

from dataclasses import dataclass

from adrelay.platforms.http import Limit
from adrelay.platforms.settings import TikTokSettings

APP_QPM = 600.0  # [S] api-evangelist rate-limits v1.3, Basic tier
# Published per-endpoint limits beyond the app's own: path → (QPS, QPM). [S] same source.
ENDPOINT_QPM = {"/ad/create/": 150.0}
REPORT_TASK_CREATE_QPS = 2.0


@dataclass(frozen=True)
class TikTokLimits:
    settings: TikTokSettings

    def app_scope(self) -> str:
        return f"tiktok:app:{self.settings.app_id}"

    def endpoint_scope(self, path: str) -> str:
        return f"tiktok:endpoint:{self.settings.app_id}:{path}"

    def for_path(self, path: str) -> list[Limit]:
        """The app's limit for every call, plus the endpoint's own where TikTok publishes one."""
        app_qps = self.settings.app_qps
        limits = [Limit(self.app_scope(), min(app_qps, APP_QPM / 60.0), app_qps)]
        endpoint_qps = self._endpoint_qps(path)
        if endpoint_qps is not None:
            qpm = ENDPOINT_QPM.get(path)
            rate = endpoint_qps if qpm is None else min(endpoint_qps, qpm / 60.0)
            limits.append(Limit(self.endpoint_scope(path), rate, endpoint_qps))
        return limits

    def _endpoint_qps(self, path: str) -> float | None:
        if path == "/ad/create/":
            return self.settings.ad_create_qps
        if path == "/report/task/create/":
            return REPORT_TASK_CREATE_QPS
        return None

    def scopes_to_block(self, path: str) -> list[str]:
        """What a throttle answer on `path` blocks: the app scope (the code does not say whether the
        app-wide or the endpoint window ran out, and blocking the wider one for a second is cheap)."""
        scopes = [self.app_scope()]
        if self._endpoint_qps(path) is not None:
            scopes.append(self.endpoint_scope(path))
        return scopes
