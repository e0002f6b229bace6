"""Validate the Kubernetes manifests without a cluster: every overlay is built with kustomize and each
resource is checked against its schema.

    python deploy/k8s/validate.py [dev prod]

* Built-in kinds: the Kubernetes OpenAPI schemas shipped by kubernetes-validate (PyPI), strict
  (unknown fields are errors), for the oldest and newest Kubernetes versions we support.
* CRD kinds: the CRDs' own OpenAPI schemas, fetched by this file from registries, pinned by version
  and sha256 and cached under .runtime/crds/:
  - ScaledObject (keda.sh/v1alpha1): KEDA v2.18.3, Go module github.com/kedacore/keda/v2 (its
    config/crd/bases), via the Go module proxy (`go mod download`);
  - ServiceMonitor and PrometheusRule (monitoring.coreos.com/v1): prometheus-operator v0.85.0, Go
    module github.com/prometheus-operator/prometheus-operator (example/prometheus-operator-crd);
  - KafkaTopic (kafka.strimzi.io/v1): Strimzi 1.0.0's CRD schema as compiled by the npm package
    @kubernetes-models/strimzi-kafka-operator 1.0.1 (lock file beside this script; run with node),
    since Strimzi publishes its CRD YAML on no registry reachable here.
  CRD schemas are checked strictly too: an object with declared properties accepts no others unless
  the CRD says `x-kubernetes-preserve-unknown-fields`.

kustomize: `kubectl kustomize` when kubectl is installed, else kustomize v5.5.0 built from its Go
module into .runtime/bin.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy/k8s"
RUNTIME = Path(os.environ.get("ADRELAY_RUNTIME_DIR", ROOT / ".runtime")).resolve()
CACHE = RUNTIME / "crds"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5@v5.5.0"
STRIMZI_NODE_DIR = K8S / "validation/strimzi"


class ManifestError(Exception):
    """A manifest failed validation, or a schema could not be obtained."""


@dataclass(frozen=True)
class GoModuleCrd:
    """A CRD YAML file inside a Go module's zip, pinned by module version and file sha256."""

    module: str
    version: str
    path: str
    sha256: str

    @property
    def cache_file(self) -> Path:
        return CACHE / f"{self.module.replace('/', '_')}@{self.version}" / Path(self.path).name

    def fetch(self) -> Path:
        if self.cache_file.exists() and _sha256(self.cache_file.read_bytes()) == self.sha256:
            return self.cache_file
        go = shutil.which("go")
        if not go:
            raise ManifestError("the go command is needed to fetch CRDs from the Go module proxy")
        with tempfile.TemporaryDirectory() as empty:  # outside any go.mod
            result = subprocess.run(
                [go, "mod", "download", "-json", f"{self.module}@{self.version}"],
                capture_output=True,
                text=True,
                cwd=empty,
                env={**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"},
            )
        info = json.loads(result.stdout or "{}")
        if result.returncode != 0 or "Dir" not in info:
            raise ManifestError(f"go mod download {self.module}@{self.version} failed: {result.stderr}{info}")
        data = (Path(info["Dir"]) / self.path).read_bytes()
        if _sha256(data) != self.sha256:
            raise ManifestError(
                f"{self.module}@{self.version}/{self.path}: sha256 {_sha256(data)} != pinned {self.sha256}"
            )
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        self.cache_file.write_bytes(data)
        return self.cache_file


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


KEDA = ("github.com/kedacore/keda/v2", "v2.18.3")
PROMETHEUS_OPERATOR = ("github.com/prometheus-operator/prometheus-operator", "v0.85.0")
CRDS: dict[tuple[str, str], GoModuleCrd] = {
    ("keda.sh/v1alpha1", "ScaledObject"): GoModuleCrd(
        *KEDA,
        "config/crd/bases/keda.sh_scaledobjects.yaml",
        "44e8d3444bb884ed5c8dc4f1b118944a54fe9c81534048793c20b9394ae1de2c",
    ),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): GoModuleCrd(
        *PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
        "1dae27b7189b5ce7b9ab764656c18b4c75a45cde1e6f3af6a5e84c4317628919",
    ),
    ("monitoring.coreos.com/v1", "PrometheusRule"): GoModuleCrd(
        *PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
        "98fd16c9ab79fba8dcd6ef62c957c98cd6546ab74ce0a4ecf09ddf2fda03020e",
    ),
}
NODE_KINDS = {("kafka.strimzi.io/v1", "KafkaTopic")}


# ---- kustomize -----------------------------------------------------------------------------------
def kustomize_command() -> list[str]:
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    binary = RUNTIME / "bin/kustomize"
    if not binary.exists():
        go = shutil.which("go")
        if not go:
            raise ManifestError("neither kubectl nor go is installed: cannot build the overlays")
        subprocess.run(
            [go, "install", KUSTOMIZE_MODULE],
            check=True,
            env={**os.environ, "GOBIN": str(binary.parent), "GOTOOLCHAIN": "local"},
        )
    return [str(binary), "build"]


def build(overlay: str) -> list[dict[str, Any]]:
    """The resources of one overlay, as `kubectl apply -k` would send them."""
    result = subprocess.run(
        [*kustomize_command(), str(K8S / "overlays" / overlay)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise ManifestError(f"kustomize build of {overlay} failed:\n{result.stderr}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


# ---- schemas -------------------------------------------------------------------------------------
def crd_schema(api_version: str, kind: str, strict: bool = True) -> dict[str, Any]:
    """The openAPIV3Schema of the CRD version serving `api_version`."""
    source = CRDS[(api_version, kind)]
    crd = yaml.safe_load(source.fetch().read_text())
    group, _, version = api_version.partition("/")
    if crd["spec"]["group"] != group or crd["spec"]["names"]["kind"] != kind:
        raise ManifestError(f"{source.path} defines {crd['spec']['names']['kind']}, not {kind}")
    for served in crd["spec"]["versions"]:
        if served["name"] == version and served.get("served", True):
            schema = copy.deepcopy(served["schema"]["openAPIV3Schema"])
            return _strict(schema) if strict else schema
    raise ManifestError(f"{source.module}@{source.version} serves no {api_version} {kind}")


def _strict(schema: Any) -> Any:
    """Unknown fields become errors where the CRD declares the object's properties."""
    if isinstance(schema, dict):
        for value in schema.values():
            _strict(value)
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        for item in schema:
            _strict(item)
    return schema


def _label(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind', '?')} {doc.get('metadata', {}).get('name', '?')}"


def validate_builtin(doc: dict[str, Any]) -> list[str]:
    import kubernetes_validate

    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{_label(doc)} (Kubernetes {version}): {exc.message} at {list(exc.path)}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{_label(doc)}: no Kubernetes {version} schema for {doc.get('apiVersion')}")
    return errors


def validate_crd(doc: dict[str, Any]) -> list[str]:
    import jsonschema

    schema = crd_schema(doc["apiVersion"], doc["kind"])
    validator = jsonschema.Draft7Validator(schema)
    return [f"{_label(doc)}: {e.message} at {list(e.path)}" for e in validator.iter_errors(doc)]


def validate_with_node(docs: list[dict[str, Any]]) -> list[str]:
    """Strimzi kinds through the compiled CRD schemas (npm ci from the pinned lock file, once)."""
    if not docs:
        return []
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise ManifestError("node and npm are needed to validate Strimzi resources")
    work = CACHE / "strimzi-node"
    lock = (STRIMZI_NODE_DIR / "package-lock.json").read_bytes()
    stamp = work / ".lock-sha256"
    if not stamp.exists() or stamp.read_text() != _sha256(lock):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(STRIMZI_NODE_DIR / name, work / name)
        result = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ManifestError(f"npm ci of the Strimzi schemas failed:\n{result.stderr}")
        stamp.write_text(_sha256(lock))
    shutil.copy(STRIMZI_NODE_DIR / "validate.mjs", work / "validate.mjs")
    result = subprocess.run(
        [node, str(work / "validate.mjs")], input=json.dumps(docs), capture_output=True, text=True, cwd=work
    )
    if result.returncode != 0:
        raise ManifestError(f"node validate.mjs failed:\n{result.stderr}")
    return [f"KafkaTopic {r['name']}: {e}" for r in json.loads(result.stdout) for e in r["errors"]]


def validate(docs: Iterable[dict[str, Any]]) -> list[str]:
    """Every error of every resource (empty: all valid)."""
    errors: list[str] = []
    node_docs = []
    for doc in docs:
        key = (doc.get("apiVersion", ""), doc.get("kind", ""))
        if key in CRDS:
            errors += validate_crd(doc)
        elif key in NODE_KINDS:
            node_docs.append(doc)
        else:
            errors += validate_builtin(doc)
    return errors + validate_with_node(node_docs)


def main(argv: list[str]) -> int:
    failed = False
    for overlay in argv or list(OVERLAYS):
        docs = build(overlay)
        errors = validate(docs)
        print(f"{overlay}: {len(docs)} resources, {len(errors)} errors")
        for error in errors:
            print(f"  {error}")
        failed = failed or bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
