"""The consumer watchdog: a service whose consumer stops delivering while messages wait restarts itself.

faust-streaming has open reports of a consumer that, after missing its session (a long GC pause, a
stopped container, a broker hiccup), rejoins its group, is assigned its partitions, and then fetches
nothing, logging nothing (faust-streaming/faust#175, #523, #629). Nothing is lost — the offsets stay
uncommitted — but the service is silently useless until someone restarts it. The watchdog compares
what the agents were handed (`DeliveryProgress`) with the broker's view of the group's lag
(`BrokerOffsets`): when a partition assigned here has uncommitted messages, no message reached an agent
for `stall_after_s`, and none is being handled (a handler retrying through a database outage is slow,
not stalled), the service restarts in place. Every service is built to survive a kill at any point,
so the restart is safe; the redelivered messages meet the inbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiokafka import TopicPartition

from adrelay.messaging.offsets import BrokerOffsets

log = logging.getLogger(__name__)


@dataclass
class DeliveryProgress:
    """What the service's agents have been handed: when the last message arrived, how many are in hand."""

    last_delivery: float = field(default_factory=time.monotonic)
    in_flight: int = 0

    def started(self) -> None:
        self.in_flight += 1
        self.last_delivery = time.monotonic()

    def finished(self) -> None:
        self.in_flight -= 1
        self.last_delivery = time.monotonic()


def stall_reason(
    *, idle_s: float, in_flight: int, lag: dict[TopicPartition, int], stall_after_s: float
) -> str | None:
    """Why the consumer counts as stalled, or None: messages wait, none in hand, none delivered lately."""
    waiting = {tp: n for tp, n in lag.items() if n > 0}
    if in_flight or idle_s < stall_after_s or not waiting:
        return None
    where = ", ".join(f"{tp.topic}[{tp.partition}]={n}" for tp, n in sorted(waiting.items()))
    return f"no message delivered for {idle_s:.0f} s while {sum(waiting.values())} wait ({where})"


class ConsumerWatchdog:
    def __init__(
        self,
        *,
        service: str,
        group: str,
        offsets: BrokerOffsets,
        progress: DeliveryProgress,
        assignment: Callable[[], Iterable[TopicPartition]],
        stall_after_s: float,
        on_stall: Callable[[str], None],
    ) -> None:
        self.service = service
        self.group = group
        self.offsets = offsets
        self.progress = progress
        self.assignment = assignment
        self.stall_after_s = stall_after_s
        self.on_stall = on_stall
        self.check_every_s = max(min(stall_after_s / 4, 5.0), 0.5)
        self._window_start = time.monotonic()

    def _idle_s(self) -> float:
        return time.monotonic() - max(self.progress.last_delivery, self._window_start)

    async def check(self) -> str | None:
        if self.progress.in_flight or self._idle_s() < self.stall_after_s:
            return None  # the common case costs no broker round trip
        partitions = list(self.assignment())
        if not partitions:
            return None
        lag = await self.offsets.lag(self.group, partitions)
        # Read again: a message may have arrived while the offsets were on their way.
        idle = self._idle_s()
        return stall_reason(
            idle_s=idle, in_flight=self.progress.in_flight, lag=lag, stall_after_s=self.stall_after_s
        )

    async def run(self) -> None:
        await self.offsets.start()
        try:
            while True:
                before = time.monotonic()
                await asyncio.sleep(self.check_every_s)
                if time.monotonic() - before > 2 * self.check_every_s + 1.0:
                    # This process was frozen (SIGSTOP, a suspended VM) or its loop blocked: the
                    # consumer has had no chance to deliver, so it gets a fresh window.
                    self._window_start = time.monotonic()
                    continue
                try:
                    reason = await self.check()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the broker may be away; that is not a stall of ours
                    log.warning("consumer watchdog could not read offsets: %r", exc)
                    continue
                if reason is not None:
                    log.error("consumer of %s stalled: %s; restarting in place", self.group, reason)
                    self.on_stall(reason)
                    return
        finally:
            await self.offsets.stop()
