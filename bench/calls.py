"""What an adapter sends, seen from inside the bench process: every platform call with the step it
belongs to, its timing, the time spent in the rate limiter before it, and whether the answer was a
throttle.

The recorder wraps the adapter's own `PlatformHttp` instances (instance attributes; no product code
changes): the outer `request` (rate-limit acquisition + the call) and the inner httpx client's
`request` (the call alone). The current step comes from a context variable set around the adapter's
`create`, `check_ready` and `activate`, which the engine runs inside each step's own task.

Throttles are recognised as each platform answers them: Meta's error codes 80004/80000 (and 4, 17,
32, 613) in an error body, TikTok's envelope codes 40100/40016/40133 in an HTTP 200 answer (the
sandbox request log records only the HTTP status, so these can only be seen here), Snapchat's HTTP 429.
"""

from __future__ import annotations

import contextvars
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from adrelay.platforms.base import PlatformAdapter
from adrelay.platforms.http import PlatformHttp

CURRENT_STEP: contextvars.ContextVar[str | None] = contextvars.ContextVar("bench_step", default=None)
CURRENT_PHASE: contextvars.ContextVar[str] = contextvars.ContextVar("bench_phase", default="other")

META_THROTTLE_CODES = frozenset({4, 17, 32, 613, 80000, 80004})
TIKTOK_THROTTLE_CODES = frozenset({40016, 40100, 40133})


@dataclass
class Call:
    platform: str
    publish_id: str | None
    step: str | None
    phase: str  # "create", "ready", "activate", "other"
    method: str
    path: str
    queued_at: float  # when the adapter asked (before the rate limiter)
    sent_at: float  # when the request went out
    answered_at: float
    status: int | None
    throttled: bool

    @property
    def seconds(self) -> float:
        return self.answered_at - self.sent_at

    @property
    def limiter_seconds(self) -> float:
        return self.sent_at - self.queued_at


CURRENT_PUBLISH: contextvars.ContextVar[str | None] = contextvars.ContextVar("bench_publish", default=None)


class CallRecorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.throttles: Counter[str] = Counter()
        self.enabled = True

    def clear(self) -> None:
        self.calls.clear()
        self.throttles.clear()

    # ---- attaching ---------------------------------------------------------------------------------
    def attach(self, adapter: PlatformAdapter) -> None:
        platform = adapter.platform.value
        for http in _platform_https(adapter):
            self._wrap_http(platform, http)
        for name, phase in (("create", "create"), ("check_ready", "ready"), ("lookup", "lookup")):
            self._wrap_step_method(adapter, name, phase)
        original_activate = adapter.activate

        async def activate(ctx: Any, objects: Any) -> None:
            token_phase = CURRENT_PHASE.set("activate")
            token_publish = CURRENT_PUBLISH.set(ctx.publish_id)
            try:
                await original_activate(ctx, objects)
            finally:
                CURRENT_PHASE.reset(token_phase)
                CURRENT_PUBLISH.reset(token_publish)

        adapter.activate = activate  # type: ignore[method-assign]

    def _wrap_step_method(self, adapter: PlatformAdapter, name: str, phase: str) -> None:
        original: Callable[..., Awaitable[Any]] = getattr(adapter, name)

        async def wrapped(step: Any, ctx: Any, *args: Any) -> Any:
            tokens = (
                CURRENT_STEP.set(step.key),
                CURRENT_PHASE.set(phase),
                CURRENT_PUBLISH.set(ctx.publish_id),
            )
            try:
                return await original(step, ctx, *args)
            finally:
                CURRENT_STEP.reset(tokens[0])
                CURRENT_PHASE.reset(tokens[1])
                CURRENT_PUBLISH.reset(tokens[2])

        setattr(adapter, name, wrapped)

    def _wrap_http(self, platform: str, http: PlatformHttp) -> None:
        outer = http.request
        inner = http.client.request
        queued: contextvars.ContextVar[float] = contextvars.ContextVar("bench_queued", default=0.0)

        async def outer_request(method: str, url: str, **kwargs: Any) -> httpx.Response:
            token = queued.set(time.perf_counter())
            try:
                return await outer(method, url, **kwargs)
            finally:
                queued.reset(token)

        async def inner_request(method: str, url: Any, **kwargs: Any) -> httpx.Response:
            sent = time.perf_counter()
            asked = queued.get() or sent
            status: int | None = None
            throttled = False
            try:
                response = await inner(method, url, **kwargs)
                status = response.status_code
                throttled = _is_throttle(platform, response)
                return response
            finally:
                if self.enabled:
                    self.calls.append(
                        Call(
                            platform,
                            CURRENT_PUBLISH.get(),
                            CURRENT_STEP.get(),
                            CURRENT_PHASE.get(),
                            method,
                            str(httpx.URL(str(url)).path),
                            asked,
                            sent,
                            time.perf_counter(),
                            status,
                            throttled,
                        )
                    )
                    if throttled:
                        self.throttles[platform] += 1

        http.request = outer_request  # type: ignore[method-assign]
        http.client.request = inner_request  # type: ignore[method-assign]

    # ---- reading -----------------------------------------------------------------------------------
    def of(self, publish_id: str, phase: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.publish_id == publish_id and (phase is None or c.phase == phase)]


def _platform_https(adapter: PlatformAdapter) -> list[PlatformHttp]:
    """Every PlatformHttp the adapter holds, one or two attribute levels down."""
    found: dict[int, PlatformHttp] = {}

    def visit(obj: Any, depth: int) -> None:
        if isinstance(obj, PlatformHttp):
            found[id(obj)] = obj
            return
        if depth == 0 or not hasattr(obj, "__dict__"):
            return
        for value in vars(obj).values():
            visit(value, depth - 1)

    visit(adapter, 3)
    return list(found.values())


def _is_throttle(platform: str, response: httpx.Response) -> bool:
    if platform == "snapchat":
        return response.status_code == 429
    if platform == "tiktok":
        body = _json(response)
        return isinstance(body, dict) and body.get("code") in TIKTOK_THROTTLE_CODES
    if platform == "meta":
        if response.status_code < 400:
            return False
        body = _json(response)
        error = body.get("error") if isinstance(body, dict) else None
        return isinstance(error, dict) and error.get("code") in META_THROTTLE_CODES
    return False


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def longest_chain(intervals: Iterable[tuple[float, float]], slack_s: float = 0.002) -> int:
    """The longest run of calls each sent after the previous one was answered (observed sequential
    depth): what the wall clock of one publish is made of, dependent or merely serialized."""
    items = sorted(intervals, key=lambda iv: iv[1])
    depth: list[int] = []
    for i, (start, _end) in enumerate(items):
        best = 0
        for j in range(i):
            if items[j][1] <= start + slack_s:
                best = max(best, depth[j])
        depth.append(best + 1)
    return max(depth, default=0)
