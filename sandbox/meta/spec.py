"""The official codegen spec (v25.0) as lookup tables: params per edge, node fields, enums.

Validation reads required flags, types and enum values from here rather than from hand-written
lists, so the sandbox accepts exactly what the spec declares (`spec/SOURCES.md` says where the files
come from).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

SPEC_DIR = Path(__file__).parent / "spec"

# Our object kinds → codegen node names.
NODE_OF_KIND = {
    "adaccount": "AdAccount",
    "campaign": "Campaign",
    "adset": "AdSet",
    "ad": "Ad",
    "adcreative": "AdCreative",
    "adimage": "AdImage",
    "advideo": "AdVideo",
    "adreportrun": "AdReportRun",
}

# Graph names nodes by their internal type in "nonexisting field" errors.
GRAPH_TYPE_OF_KIND = {
    "adaccount": "AdAccount",
    "campaign": "AdCampaignGroup",
    "adset": "AdCampaign",
    "ad": "Adgroup",
    "adcreative": "AdCreative",
    "adimage": "AdImage",
    "advideo": "Video",
    "adlabel": "AdLabel",
    "adreportrun": "AdReportRun",
    "page": "Page",
    "instagram_account": "IGUser",
    "pixel": "AdsPixel",
    "user": "User",
}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool


@cache
def _node(node: str) -> dict:
    return json.loads((SPEC_DIR / f"{node}.json").read_text())


@lru_cache(maxsize=1)
def enums() -> dict[str, list[str]]:
    rows = json.loads((SPEC_DIR / "enum_types.subset.json").read_text())
    return {row["name"]: list(row["values"]) for row in rows}


def params(node: str, method: str, edge: str | None) -> list[Param] | None:
    """Params of `METHOD /{node}/{edge}` (edge None = the node itself); None if the spec lacks it."""
    for api in _node(node).get("apis", []):
        if api["method"] == method and api.get("endpoint") == edge:
            return [Param(p["name"], p["type"], bool(p.get("required"))) for p in api.get("params", [])]
    return None


def fields(node: str) -> dict[str, str]:
    """Readable fields of a node with their spec types."""
    return {f["name"]: f["type"] for f in _node(node).get("fields", [])}


def enum_values(type_name: str) -> list[str] | None:
    """Values of an enum type (`list<X>` unwrapped), None when the type is not an enum."""
    inner = element_type(type_name)
    return enums().get(inner)


def element_type(type_name: str) -> str:
    return type_name[5:-1] if type_name.startswith("list<") and type_name.endswith(">") else type_name


def country_codes() -> frozenset[str]:
    """ISO country codes Meta accepts (the spec's regulated-countries enum lists every country)."""
    return frozenset(enums()["adaccounttargetingsearch_regulated_countries_enum_param"])
