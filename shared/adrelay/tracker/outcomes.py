"""An ad's review outcome as a platform reports it (webhook delivery or a read of the ad), in one
shape for every platform, so the tracker applies deliveries and polls the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from adrelay.events.payloads import PolicyViolation

Review = Literal["pending", "approved", "disapproved"]
ViolationKind = Literal["text", "image", "video", "targeting", "landing_page", "other"]

# Words in a platform's reason that say what part of the ad it is about (first match wins).
_KINDS: tuple[tuple[ViolationKind, tuple[str, ...]], ...] = (
    ("landing_page", ("landing page", "landing_page", "destination", "website", "url")),
    ("targeting", ("targeting", "audience", "age", "minors")),
    ("video", ("video",)),
    ("image", ("image", "picture", "photo", "thumbnail")),
    ("text", ("text", "headline", "copy", "caption", "grammar", "language")),
)


@dataclass(frozen=True)
class ReviewOutcome:
    """`complete` False: the platform said less than the ad's read would (a disapproval without its
    reasons); `review` None: it said the ad changed, not how. Either way the ad is read."""

    external_ad_id: str
    review: Review | None
    violations: tuple[PolicyViolation, ...] = ()
    suggestions: tuple[str, ...] = ()
    account_id: str | None = None
    observed_at: datetime | None = None
    complete: bool = True


def violation(message: str, ad_id: str | None = None) -> PolicyViolation:
    """A platform's reason as a violation, its kind guessed from the words it uses."""
    words = set(re.findall(r"[a-z_]+", message.lower()))
    lowered = " ".join(re.findall(r"[a-z_]+", message.lower()))
    kind: ViolationKind = next(
        (k for k, keys in _KINDS if any((key in lowered) if " " in key else (key in words) for key in keys)),
        "other",
    )
    return PolicyViolation(kind=kind, message=message[:1000], ad_id=ad_id)
