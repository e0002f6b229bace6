"""`python -m bench [publishers|e2e|all] [--quick] …` — see bench/README.md."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import e2e, publishers
from bench.runtime import BenchRuntime, repo_root
from bench.stats import load, write_results


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("which", nargs="?", default="all", choices=["all", "publishers", "e2e"])
    parser.add_argument("--quick", action="store_true", help="small numbers and ~30 s of sustained load")
    parser.add_argument(
        "--platforms", default="meta,tiktok,snapchat", help="publishers benchmark: which platforms"
    )
    parser.add_argument("--serial", type=int, help="publishers: serial publishes per platform (default 10)")
    parser.add_argument("--campaigns", type=int, help="publishers: campaigns in the burst (default 30)")
    parser.add_argument(
        "--rate-seconds", type=float, help="publishers: seconds at the rate limit (default 90)"
    )
    parser.add_argument(
        "--latency-publishes", type=int, help="e2e: publishes for the latency rows (default 20)"
    )
    parser.add_argument(
        "--latency-gap", type=float, help="e2e: seconds between latency publishes (default 4)"
    )
    parser.add_argument("--duration", type=float, help="e2e: seconds of sustained load (default 300)")
    parser.add_argument(
        "--inflight", type=int, help="e2e: publishes kept in flight when sustained (default 8)"
    )
    parser.add_argument("--repeat", type=int, help="e2e: sustained runs (default 2)")
    parser.add_argument("--baseline", type=int, help="e2e: sequential baseline publishes (default 10)")
    parser.add_argument(
        "--meta-accounts", type=int, default=1, help="e2e: spread publishes over N Meta ad accounts"
    )
    parser.add_argument("--reuse-media", action="store_true", help="every campaign uses the same media")
    parser.add_argument("--out", type=Path, help="result directory (default .runtime/bench/<time>-<run>)")
    parser.add_argument(
        "--keep-database", action="store_true", help="leave the bench database for inspection"
    )
    return parser.parse_args(argv)


def publisher_options(args: argparse.Namespace) -> publishers.Options:
    quick = args.quick
    return publishers.Options(
        platforms=[p.strip() for p in args.platforms.split(",") if p.strip()],
        serial=args.serial or (5 if quick else 10),
        burst=args.campaigns or (10 if quick else 30),
        rate_seconds=args.rate_seconds if args.rate_seconds is not None else (30.0 if quick else 90.0),
        reuse_media=args.reuse_media,
    )


def e2e_options(args: argparse.Namespace) -> e2e.Options:
    quick = args.quick
    return e2e.Options(
        latency_publishes=args.latency_publishes or (6 if quick else 20),
        latency_gap_s=args.latency_gap,
        duration_s=args.duration if args.duration is not None else (30.0 if quick else 300.0),
        inflight=args.inflight or 8,
        repeat=args.repeat or (1 if quick else 2),
        baseline=args.baseline or (3 if quick else 10),
        reuse_media=args.reuse_media,
        meta_accounts=args.meta_accounts,
    )


async def main(args: argparse.Namespace) -> int:
    run_id = uuid.uuid4().hex[:8]
    run_dir = args.out
    if run_dir is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        run_dir = repo_root() / ".runtime" / "bench" / f"{stamp}-{run_id}"
    rt = BenchRuntime(run_dir, run_id)
    logging.basicConfig(
        filename=str(run_dir / "bench.log"),
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    print(f"bench run {rt.run_id}: results in {run_dir}; machine load {load()}", flush=True)
    started = time.monotonic()
    results: dict[str, Any] = {}
    try:
        await rt.start()
        print(f"database {rt.database_url.rsplit('/', 1)[-1]}, topic prefix {rt.prefix}", flush=True)
        if args.which in ("all", "publishers"):
            data = await publishers.run(rt, publisher_options(args))
            md = publishers.markdown(data)
            paths = write_results(run_dir, "publishers", data, md)
            results["publishers"] = data
            print("\n" + md, flush=True)
            print(f"written: {paths[0]} and {paths[1]}", flush=True)
        if args.which in ("all", "e2e"):
            data = await e2e.run(rt, e2e_options(args))
            md = e2e.markdown(data)
            paths = write_results(run_dir, "e2e", data, md)
            results["e2e"] = data
            print("\n" + md, flush=True)
            print(f"written: {paths[0]} and {paths[1]}", flush=True)
    finally:
        await rt.close(keep_database=args.keep_database)
    print(f"bench finished in {time.monotonic() - started:.0f} s; machine load {load()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
