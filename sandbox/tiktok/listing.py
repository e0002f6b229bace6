"""What the `/…/get/` and `/file/…/search/` endpoints share: paging, `fields`, the `filtering`
object, fuzzy names, `primary_status` and the configurable read lag.

Only the filters the real endpoint documents are honoured (lookup-by-tag.md §2.5); unknown filter
keys are ignored (or rejected, per the `unknown_filter_keys` switch) — never used to filter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sandbox.common.store import SandboxObject
from sandbox.tiktok.errors import param_error
from sandbox.tiktok.params import UNKNOWN_MSG, Params

if TYPE_CHECKING:
    from sandbox.tiktok.api import Ctx


def page_args(params: Params, *, default_size: int = 10, max_size: int = 1000) -> tuple[int, int]:
    page = params.integer("page", default=1, minimum=1, maximum=10**9)
    size = params.integer("page_size", default=default_size, minimum=1, maximum=max_size)
    assert page is not None and size is not None
    return page, size


def paginate(rows: Sequence[Any], page: int, page_size: int) -> tuple[list[Any], dict[str, int]]:
    total = len(rows)
    start = (page - 1) * page_size
    info = {
        "page": page,
        "page_size": page_size,
        "total_number": total,
        "total_page": math.ceil(total / page_size) if total else 0,
    }
    return list(rows[start : start + page_size]), info


def select_fields(rows: list[dict[str, Any]], params: Params, allowed: Iterable[str]) -> list[dict[str, Any]]:
    """Apply the `fields` parameter (a JSON list); unknown names are refused."""
    wanted = params.string_list("fields", min_items=1, max_items=200)
    if wanted is None:
        return rows
    allowed_set = set(allowed)
    for name in wanted:
        if name not in allowed_set:
            raise param_error("fields", f"Invalid field {name!r}.")
    return [{k: row.get(k) for k in wanted} for row in rows]


def filtering(ctx: Ctx, known: Iterable[str]) -> Params:
    """The `filtering` object; keys the endpoint does not document are ignored or rejected."""
    flt = ctx.params.nested("filtering") or Params({}, prefix="filtering.")
    known_set = set(known)
    unknown = [k for k in flt.data if k not in known_set]
    if unknown and ctx.switch("unknown_filter_keys") == "reject":
        raise flt.error(unknown[0], UNKNOWN_MSG)
    return Params(
        {k: v for k, v in flt.data.items() if k in known_set}, prefix="filtering.", strict_ids=flt.strict_ids
    )


def fuzzy(value: str, needle: str) -> bool:
    """Name filters are fuzzy on the platform; the sandbox uses case-insensitive substring matching."""
    return needle.casefold() in value.casefold()


def primary_status_ok(primary: str, obj: SandboxObject, delivering: bool) -> bool:
    if primary == "STATUS_ALL":
        return True
    if primary == "STATUS_DELETE":
        return obj.deleted
    if obj.deleted:
        return False
    if primary == "STATUS_NOT_DELETE":
        return True
    if primary == "STATUS_DISABLE":
        return obj.fields.get("operation_status") == "DISABLE"
    if primary == "STATUS_DELIVERY_OK":
        return delivering
    if primary == "STATUS_NOT_DELIVERY":
        return not delivering
    return True


def visible(ctx: Ctx, obj: SandboxObject) -> bool:
    """Lists trail writes by `list_read_lag_ms` (config)."""
    lag = ctx.sb.config.list_read_lag_ms / 1000.0
    return lag <= 0 or ctx.now - obj.created_at >= lag


def creation_window(flt: Params, obj: SandboxObject) -> bool:
    start = flt.time_value("creation_filter_start_time")
    end = flt.time_value("creation_filter_end_time")
    if start is not None and obj.created_at < start.timestamp():
        return False
    return not (end is not None and obj.created_at > end.timestamp())
