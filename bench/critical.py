"""The critical path of one publish, from the adapter's actual calls and the step dependency graph.

The dependent round trips of a publish are the longest path through the plan's step graph (media →
creative, campaign → ad set, ad set + creative → ad, …) where each step weighs the number of calls it
made in turn (a Snapchat media step: create the record, upload, read its status; a Meta video: upload,
read its status). Calls are counted per step from a single publish, recorded in the bench process and
checked against the sandbox's request log. Activation adds, after every platform succeeded, its own
chain: three levels (ads, then ad sets, then the campaign — every adapter switches children on first)
times the calls one object needs in turn (Snapchat reads the object and PUTs it back: two).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adrelay.platforms.base import Step
from bench.calls import Call, longest_chain

ACTIVATION_LEVELS = 3  # ads → ad sets / groups / squads → campaign


@dataclass
class StepGraphPath:
    round_trips: int
    steps: list[str]
    calls_per_step: dict[str, int]
    calls: int

    def describe(self) -> str:
        return " → ".join(f"{s}x{self.calls_per_step.get(s, 0)}" for s in self.steps)


def publish_critical_path(plan: Sequence[Step], calls: Sequence[Call]) -> StepGraphPath:
    """Longest path through the step graph, each step weighted by its calls."""
    per_step: Counter[str] = Counter(
        c.step for c in calls if c.step is not None and c.phase in {"create", "ready"}
    )
    by_key = {s.key: s for s in plan}
    memo: dict[str, tuple[int, list[str]]] = {}

    def longest(key: str) -> tuple[int, list[str]]:
        if key not in memo:
            step = by_key[key]
            best: tuple[int, list[str]] = (0, [])
            for dep in step.depends_on:
                if dep in by_key:
                    candidate = longest(dep)
                    if candidate[0] > best[0]:
                        best = candidate
            memo[key] = (best[0] + per_step.get(key, 0), [*best[1], key])
        return memo[key]

    total, path = max((longest(s.key) for s in plan), key=lambda t: t[0])
    return StepGraphPath(total, path, dict(per_step), sum(per_step.values()))


@dataclass
class ActivationPath:
    calls: int
    objects: int
    calls_per_object: int
    round_trips: int  # by dependency: levels x calls one object needs in turn
    as_implemented: int  # the longest run of calls the adapter made one after another
    notes: list[str] = field(default_factory=list)


def activation_path(calls: Sequence[Call], objects: int) -> ActivationPath:
    made = [c for c in calls if c.phase == "activate"]
    per_object = max(1, round(len(made) / objects)) if objects and len(made) >= objects else 1
    observed = longest_chain([(c.sent_at, c.answered_at) for c in made])
    return ActivationPath(len(made), objects, per_object, ACTIVATION_LEVELS * per_object, observed)


def observed_depth(calls: Sequence[Call]) -> int:
    return longest_chain([(c.sent_at, c.answered_at) for c in calls])


def to_json(path: StepGraphPath | ActivationPath, latency_ms: float) -> dict[str, Any]:
    if isinstance(path, StepGraphPath):
        return {
            "round_trips": path.round_trips,
            "ms": path.round_trips * latency_ms,
            "path": path.describe(),
            "calls": path.calls,
            "calls_per_step": path.calls_per_step,
        }
    return {
        "round_trips": path.round_trips,
        "ms": path.round_trips * latency_ms,
        "calls": path.calls,
        "objects": path.objects,
        "calls_per_object": path.calls_per_object,
        "as_implemented_round_trips": path.as_implemented,
    }


def ratio(value_ms: float, critical_ms: float) -> float:
    return round(value_ms / critical_ms, 2) if critical_ms > 0 and not math.isnan(value_ms) else math.nan
