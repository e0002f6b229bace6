"""The metric selectors a dashboard or a rule file queries, extracted from their PromQL.

Good enough for the expressions the project writes (no string literals outside label matchers,
no subquery offsets): tests use it to ask Prometheus whether every selector returns series and to
name the metrics a panel depends on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy/grafana/dashboards/adrelay.json"
ALERTS = REPO / "deploy/prometheus/alerts.yml"

LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
OPERATOR_WORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}
# Aggregations may put `by (...)` between their name and their parenthesis: never selectors.
AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}  # fmt: skip
IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


@dataclass(frozen=True)
class Selector:
    """`name{matchers}` as written; `name` may be empty when `__name__` is matched instead."""

    name: str
    matchers: str

    def __str__(self) -> str:
        return f"{self.name}{{{self.matchers}}}" if self.matchers else self.name

    def metric_names(self) -> list[str]:
        """The metric name, or the alternatives of a `__name__=~"a|b"` matcher."""
        if self.name:
            return [self.name]
        found = re.search(r'__name__\s*=~?\s*"([^"]*)"', self.matchers)
        if not found:
            return []
        pattern = found.group(1)
        group = re.fullmatch(r"\(([^()]*)\)(.*)", pattern)
        if group:
            return [alt + group.group(2) for alt in group.group(1).split("|")]
        return pattern.split("|")


def _matching(text: str, start: int, opening: str, closing: str) -> int:
    """Index just past the bracket that closes the one at `start` (quotes respected)."""
    depth, i, quote = 0, start, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced {opening} in {text!r}")


def selectors(expr: str) -> list[Selector]:
    """Every vector selector of a PromQL expression, in order."""
    out: list[Selector] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch == "[":  # a range or subquery: durations and Grafana variables, no selectors
            i = _matching(expr, i, "[", "]")
            continue
        if ch == "{":
            end = _matching(expr, i, "{", "}")
            out.append(Selector("", expr[i + 1 : end - 1].strip()))
            i = end
            continue
        if ch.isdigit() or (ch == "." and i + 1 < len(expr) and expr[i + 1].isdigit()):
            number = re.match(r"[0-9.eE+\-]+[a-z]*", expr[i:])
            i += len(number.group(0)) if number else 1
            continue
        ident = IDENT.match(expr, i)
        if not ident:
            i += 1
            continue
        word = ident.group(0)
        j = ident.end()
        while j < len(expr) and expr[j].isspace():
            j += 1
        if word in LABEL_LIST_KEYWORDS:
            i = _matching(expr, j, "(", ")") if j < len(expr) and expr[j] == "(" else j
            continue
        if word in OPERATOR_WORDS or word in AGGREGATIONS or (j < len(expr) and expr[j] == "("):
            i = j
            continue
        if j < len(expr) and expr[j] == "{":
            end = _matching(expr, j, "{", "}")
            out.append(Selector(word, expr[j + 1 : end - 1].strip()))
            i = end
        else:
            out.append(Selector(word, ""))
            i = j
    return out


def dashboard_exprs(path: Path = DASHBOARD) -> dict[str, str]:
    """`panel title/refId` → expression, for every target of every panel."""
    dashboard = json.loads(path.read_text())
    out: dict[str, str] = {}

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets", []):
                out[f"{panel['title']}/{target['refId']}"] = target["expr"]
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    return out


def rule_exprs(path: Path = ALERTS) -> dict[str, str]:
    """alert name → expression."""
    rules = yaml.safe_load(path.read_text())
    return {
        rule.get("alert") or rule["record"]: rule["expr"]
        for group in rules["groups"]
        for rule in group["rules"]
    }


def all_selectors() -> dict[str, list[str]]:
    """selector text → where it is used (dashboard panels and alert rules)."""
    used: dict[str, list[str]] = {}
    for where, expr in {**dashboard_exprs(), **{f"alert {k}": v for k, v in rule_exprs().items()}}.items():
        for selector in selectors(expr):
            used.setdefault(str(selector), []).append(where)
    return used
