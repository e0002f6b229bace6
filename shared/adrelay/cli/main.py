"""`adrelay`: run services and operate adrelay from a shell."""

from __future__ import annotations

import asyncio
import runpy
import sys
from pathlib import Path

import click

from adrelay.config import Settings

REPO = Path(__file__).resolve().parents[3]
SERVICES = ("orchestrator", "meta-publisher", "tiktok-publisher", "snapchat-publisher", "tracker")


@click.group()
def main() -> None:
    """adrelay: publish one campaign to Meta, TikTok and Snapchat, reliably."""


@main.command()
@click.argument("name", type=click.Choice(SERVICES))
def serve(name: str) -> None:
    """Run one service in this process (until SIGTERM)."""
    path = REPO / "services" / name / "service.py"
    module = runpy.run_path(str(path), run_name="adrelay_service")
    module["main"]().run()


@main.group()
def topics() -> None:
    """The topic catalogue."""


@topics.command("create")
def topics_create() -> None:
    """Create every catalogue topic and its dead-letter topic that does not exist yet."""
    from adrelay.messaging.admin import ensure_topics

    created = asyncio.run(ensure_topics(Settings().kafka_bootstrap_servers))
    click.echo(f"{created} topics created")


@topics.command("list")
def topics_list() -> None:
    """Print the catalogue (name, partitions, retention, cleanup policy)."""
    from adrelay import topics as catalogue

    for declaration in catalogue.declarations():
        click.echo(
            f"{declaration.name:48} partitions={declaration.partitions:<3} "
            f"retention.ms={declaration.config['retention.ms']:<12} "
            f"cleanup.policy={declaration.config['cleanup.policy']}"
        )


@main.group()
def db() -> None:
    """The PostgreSQL schema."""


@db.command("migrate")
def db_migrate() -> None:
    """Apply every pending migration."""
    from adrelay.storage.migrate import upgrade

    upgrade(Settings().database_url)
    click.echo("schema at the newest migration")


@main.group()
def contract() -> None:
    """The published event contract (JSON Schema, AsyncAPI)."""


@contract.command("write")
def contract_write() -> None:
    """Regenerate contract/ from the models."""
    from adrelay.events import schema

    for path in schema.write():
        click.echo(f"wrote {path.relative_to(REPO)}")


@contract.command("check")
def contract_check() -> None:
    """Fail when the checked-in contract differs from the models."""
    from adrelay.events import schema

    stale = schema.stale()
    if stale:
        click.echo(f"stale contract files: {', '.join(stale)} (run `adrelay contract write`)", err=True)
        sys.exit(1)
    click.echo("contract up to date")


def _register_subcommands() -> None:
    from adrelay.cli import operations, publishing
    from adrelay.cli.connections import connections

    publishing.register(main)
    main.add_command(connections)
    operations.register(main)


_register_subcommands()

if __name__ == "__main__":
    main()
