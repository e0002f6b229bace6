"""Command line for running sandboxes: one platform (`python -m sandbox.meta --port N`) or all three
(`python -m sandbox --meta-port N --tiktok-port N --snapchat-port N`)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import signal
from pathlib import Path
from typing import Any

from sandbox.common.config import SandboxConfig
from sandbox.common.server import PlatformSandbox, serve

PLATFORMS = {
    "meta": ("sandbox.meta", "MetaSandbox", 18081),
    "tiktok": ("sandbox.tiktok", "TikTokSandbox", 18082),
    "snapchat": ("sandbox.snapchat", "SnapchatSandbox", 18083),
}


def build(platform: str, config: dict[str, Any] | None = None) -> PlatformSandbox:
    module_name, class_name, _ = PLATFORMS[platform]
    cls = getattr(importlib.import_module(module_name), class_name)
    cfg = SandboxConfig()
    if config:
        cfg.update(config)
    sandbox: PlatformSandbox = cls(cfg)
    return sandbox


def _config_from(args: argparse.Namespace, platform: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if args.config:
        raw = json.loads(Path(args.config).read_text())
        config.update(raw.get(platform, raw if "switches" in raw else {}))
    if args.latency_ms is not None:
        config["base_latency_ms"] = args.latency_ms
    if args.jitter_ms is not None:
        config["jitter_ms"] = args.jitter_ms
    if args.state_dir:
        config["state_file"] = str(Path(args.state_dir) / f"{platform}.json")
    return config


def _run(pairs: list[tuple[PlatformSandbox, int]], host: str) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(serve(pairs, host))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(main())


def _common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--config", help="JSON file with SandboxConfig keys (per platform or flat)")
    parser.add_argument("--latency-ms", type=int, default=None)
    parser.add_argument("--jitter-ms", type=int, default=None)
    parser.add_argument("--state-dir", help="keep state in <dir>/<platform>.json across restarts")


def main_one(platform: str) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m sandbox.{platform}")
    parser.add_argument("--port", type=int, default=PLATFORMS[platform][2])
    _common_args(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _run([(build(platform, _config_from(args, platform)), args.port)], args.host)


def main_all() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    for platform, (_, _, port) in PLATFORMS.items():
        parser.add_argument(f"--{platform}-port", type=int, default=port)
    _common_args(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    pairs = [(build(p, _config_from(args, p)), getattr(args, f"{p}_port")) for p in PLATFORMS]
    _run(pairs, args.host)
