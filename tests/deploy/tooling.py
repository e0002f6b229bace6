"""The deploy scripts (deploy/k8s/validate.py, deploy/monitoring/monitor.py) imported by path: they are
scripts run with the project's Python, not modules of the adrelay package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_script(name: str, relative: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def k8s_validate() -> ModuleType:
    return load_script("adrelay_k8s_validate", "deploy/k8s/validate.py")


def monitor() -> ModuleType:
    return load_script("adrelay_monitor", "deploy/monitoring/monitor.py")
