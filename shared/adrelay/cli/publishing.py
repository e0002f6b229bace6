"""`adrelay publish | plan | status | watch | retry`: the orchestrator's HTTP API from a shell.

Files are YAML or JSON holding a PublishCampaign command (campaign, targets, policies, idempotency
key). `ADRELAY_API_URL` (default http://127.0.0.1:6066) names the orchestrator.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx
import yaml
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.tree import Tree

TERMINAL = {"published", "partially_published", "rejected", "failed", "rolled_back", "needs_manual_cleanup"}
STATE_STYLE = {
    "published": "bold green", "active": "green", "succeeded": "green", "rolled_back": "yellow",
    "partially_published": "yellow", "needs_manual_cleanup": "bold red", "failed": "red", "rejected": "red",
    "awaiting_reauth": "magenta", "rolling_back": "yellow", "publishing": "cyan", "activating": "cyan",
    "pending": "dim", "received": "dim",
}  # fmt: skip


def api_url() -> str:
    return os.environ.get("ADRELAY_API_URL", "http://127.0.0.1:6066").rstrip("/")


def load_command(path: str) -> dict[str, Any]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    data = yaml.safe_load(text) if not path.endswith(".json") else json.loads(text)
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: expected a mapping (a PublishCampaign command)")
    return data


def _client() -> httpx.Client:
    return httpx.Client(base_url=api_url(), timeout=60)


def _call(method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        with _client() as client:
            return client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"orchestrator at {api_url()} unreachable: {exc}") from exc


def styled(state: str) -> str:
    return f"[{STATE_STYLE.get(state, 'white')}]{state}[/]"


def status_tree(view: dict[str, Any]) -> Tree:
    """The result as a tree: publish → platform → campaign → ad sets → ads, with every external id."""
    tree = Tree(
        f"[bold]{view['campaign_name']}[/] ({view['campaign_id']}) publish {view['publish_id']}: "
        f"{styled(view['status'])}" + (f" — {view['reason']}" if view.get("reason") else "")
    )
    for issue in view.get("issues", []):
        tree.add(
            f"[{'red' if issue.get('severity') == 'error' else 'yellow'}]{issue.get('severity')}[/] "
            f"{issue.get('platform') or ''} {issue['path']}: {issue['message']}"
        )
    for platform, run in view["platforms"].items():
        node = tree.add(f"[bold]{platform}[/] {styled(run['state'])} account {run['account_id']}")
        ids = run.get("external_ids") or {}
        if ids.get("campaign"):
            campaign = node.add(f"campaign {ids['campaign']}")
            for ref, ext in (ids.get("ad_sets") or {}).items():
                campaign.add(f"ad set {ref} → {ext}")
            for ref, ext in (ids.get("ads") or {}).items():
                review = (run.get("review") or {}).get(ref, {}).get("review")
                suffix = f" review: {styled(review)}" if review else ""
                campaign.add(f"ad {ref} → {ext}{suffix}")
            for ref, ext in (ids.get("creatives") or {}).items():
                campaign.add(f"[dim]creative {ref} → {ext}[/]")
            for ref, ext in (ids.get("media") or {}).items():
                campaign.add(f"[dim]media {ref} → {ext}[/]")
        error = run.get("error")
        if error:
            node.add(
                f"[red]{error.get('category')}[/]"
                + (
                    f" ({error.get('platform_code')}"
                    + (f"/{error['platform_subcode']}" if error.get("platform_subcode") else "")
                    + ")"
                    if error.get("platform_code")
                    else ""
                )
                + f" at {error.get('step') or '?'}: {error.get('message')}"
                + (f" — blamed: {', '.join(error['blamed_fields'])}" if error.get("blamed_fields") else "")
            )
        for left in run.get("left_objects") or []:
            node.add(
                f"[bold red]left for manual cleanup[/]: {left['kind']} {left['external_id']} ({left['reason']})"
            )
    return tree


def timeline_table(view: dict[str, Any]) -> Table:
    table = Table("at", "platform", "event", "detail", box=None, pad_edge=False)
    for event in view["timeline"]:
        detail = {
            k: v for k, v in event.items() if k not in {"at", "platform", "kind"} and v not in (None, [], {})
        }
        table.add_row(
            event["at"][11:23], event.get("platform") or "", event["kind"], json.dumps(detail)[:100]
        )
    return table


def fetch(publish_id: str) -> dict[str, Any] | None:
    response = _call("GET", f"/publishes/{publish_id}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    view: dict[str, Any] = response.json()
    return view


def watch_until_done(publish_id: str, console: Console, timeout_s: float = 600.0) -> dict[str, Any]:
    """Live progress per platform and step, until the publish reaches a terminal state."""
    progress = Progress(
        TextColumn("{task.fields[platform]:>9}"),
        BarColumn(bar_width=32),
        TextColumn("{task.completed:>3.0f}/{task.total:<3.0f}"),
        TextColumn("{task.fields[state]}"),
        TextColumn("[dim]{task.fields[step]}[/]"),
        console=console,
    )
    tasks: dict[str, TaskID] = {}
    header = Table.grid()
    deadline = time.monotonic() + timeout_s
    view: dict[str, Any] | None = None
    with Live(Group(header, progress), console=console, refresh_per_second=8, transient=False) as live:
        while time.monotonic() < deadline:
            view = fetch(publish_id)
            if view is None:
                live.update(Group(f"waiting for publish {publish_id} to be recorded…", progress))
                time.sleep(0.3)
                continue
            for platform, run in view["platforms"].items():
                total = max(run["steps_total"] or 0, 1)
                fields = {
                    "platform": platform,
                    "state": styled(run["state"]),
                    "step": run.get("current_step") or "",
                }
                if platform not in tasks:
                    tasks[platform] = progress.add_task(platform, total=total, **fields)
                done = (
                    run["steps_done"] if run["state"] not in {"succeeded", "active", "activating"} else total
                )
                progress.update(tasks[platform], total=total, completed=done, **fields)
            live.update(Group(f"publish {publish_id}: {styled(view['status'])}", progress))
            if view["status"] in TERMINAL:
                break
            time.sleep(0.25)
    console.print()
    if view is None:
        raise click.ClickException(f"publish {publish_id} never appeared")
    return view


def register(main: click.Group) -> None:
    @main.command()
    @click.argument("file")
    @click.option("--watch/--no-watch", "follow", default=False, help="follow the publish live")
    def publish(file: str, follow: bool) -> None:
        """Submit a PublishCampaign command from FILE (YAML or JSON; - for stdin)."""
        response = _call("POST", "/publishes", json=load_command(file))
        body = response.json()
        if response.status_code >= 400:
            click.echo(json.dumps(body, indent=2), err=True)
            sys.exit(1)
        click.echo(f"publish {body['publish_id']}: {body['status']}")
        if follow:
            console = Console()
            view = watch_until_done(body["publish_id"], console)
            console.print(status_tree(view))

    @main.command()
    @click.argument("file")
    @click.option("--json", "as_json", is_flag=True)
    def plan(file: str, as_json: bool) -> None:
        """Show what publishing FILE would create, its validation and Meta's own verdict. Writes nothing."""
        response = _call("POST", "/plan", json=load_command(file))
        body = response.json()
        if as_json or response.status_code >= 400:
            click.echo(json.dumps(body, indent=2))
            sys.exit(0 if response.status_code < 400 and body.get("valid") else 1)
        console = Console()
        console.print(f"valid: {'[green]yes[/]' if body['valid'] else '[red]no[/]'}")
        for issue in body["errors"] + body["warnings"]:
            colour = "red" if issue.get("severity") == "error" else "yellow"
            console.print(
                f"[{colour}]{issue.get('severity')}[/] {issue.get('platform') or ''} {issue['path']}: {issue['message']}"
            )
        for platform, detail in body["platforms"].items():
            tree = Tree(
                f"[bold]{platform}[/] account {detail['account_id']}"
                + (f" minimums {detail['minimums']}" if detail.get("minimums") else "")
            )
            for obj in detail["objects"]:
                node = tree.add(f"{obj['kind']} {obj['step']}: {obj['endpoint']}")
                node.add(json.dumps(obj["payload"], ensure_ascii=False)[:400])
            for issue in detail.get("platform_verdict") or []:
                tree.add(f"[yellow]platform verdict[/] {issue['path']}: {issue['message']}")
            console.print(tree)
        sys.exit(0 if body["valid"] else 1)

    @main.command()
    @click.argument("publish_id")
    @click.option("--json", "as_json", is_flag=True)
    def status(publish_id: str, as_json: bool) -> None:
        """The state of a publish per platform, every external id, every error and the timeline."""
        view = fetch(publish_id)
        if view is None:
            raise click.ClickException(f"no publish {publish_id}")
        if as_json:
            click.echo(json.dumps(view, indent=2))
            return
        console = Console()
        console.print(status_tree(view))
        console.print(timeline_table(view))

    @main.command()
    @click.argument("publish_id")
    @click.option("--timeout", default=600.0, show_default=True)
    def watch(publish_id: str, timeout: float) -> None:
        """Follow a publish live until it ends."""
        console = Console()
        view = watch_until_done(publish_id, console, timeout)
        console.print(status_tree(view))

    @main.command()
    @click.argument("publish_id")
    @click.option("--platform", type=click.Choice(["meta", "tiktok", "snapchat"]))
    def retry(publish_id: str, platform: str | None) -> None:
        """Finish only the unfinished work of a publish that was not rolled back."""
        response = _call(
            "POST", f"/publishes/{publish_id}/retry", json={"platform": platform} if platform else {}
        )
        body = response.json()
        if response.status_code >= 400:
            raise click.ClickException(body.get("error", response.text))
        click.echo(f"retrying {', '.join(body['retried'])} of {publish_id} (attempt {body['attempt']})")
