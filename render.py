"""Run the Pulumi program offline under Pulumi's mocks and write what it would apply.

`uv run python render.py lab` runs `__main__.py` itself (not a copy) with the settings of
`Pulumi.lab.yaml`, records every resource it registers, and writes each Kubernetes object
and dashboard file to `rendered/lab/`. No Pulumi CLI, credentials or cluster are needed.
"""

from __future__ import annotations

import argparse
import json
import logging
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parent
PROGRAM = ROOT / "__main__.py"
PROJECT = "litellm-observability"
SECRET_SIG = rpc._special_secret_sig  # how Pulumi marks a secret value on the wire
SIG_KEY = rpc._special_sig_key
# A Cluster with no managed roles, for renders that are not given the live one.
OBJECT_FIELDS = ("apiVersion", "kind", "metadata", "spec", "type", "data", "stringData")
EMPTY_CLUSTER_SPEC: dict[str, Any] = {"instances": 1, "storage": {"size": "1Gi"}}


@dataclass
class Registration:
    """One resource the program registered, as the engine would receive it."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    custom: bool
    read_id: str | None = None
    retain_on_delete: bool = False
    additional_secret_outputs: list[str] = field(default_factory=list)
    secret_paths: list[str] = field(default_factory=list)


@dataclass
class ProgramRun:
    """Everything one run of the program produced."""

    resources: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    logs: list[str]

    def named(self, name: str) -> Registration:
        """The resource registered under `name`."""
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def of_type(self, type_: str) -> list[Registration]:
        """Resources of one type token, in registration order."""
        return [r for r in self.resources if r.type == type_]

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object the program creates or patches, as applied."""
        objects = []
        for r in self.resources:
            if not r.type.startswith("kubernetes:") or r.read_id is not None:
                continue
            objects.append({key: r.inputs[key] for key in OBJECT_FIELDS if key in r.inputs})
        return objects


def _plain(value: Any) -> Any:
    """Properties as the program wrote them: the wire carries every number as a float."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _secret_paths(value: Any, path: str = "") -> list[str]:
    """Paths of values marked secret inside a serialized property map."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return [path or "."]
        found = []
        for key, item in value.items():
            found += _secret_paths(item, f"{path}.{key}" if path else key)
        return found
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _secret_paths(item, f"{path}[{i}]")]
    return []


def _struct_to_python(struct: Any) -> Any:
    """A protobuf Struct as plain Python, keeping Pulumi's secret wrappers visible."""
    from google.protobuf import json_format
    return json_format.MessageToDict(struct)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Pulumi's mock monitor that also keeps each registration's parent and dependencies."""

    def __init__(self, mocks: pulumi_mocks.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(Registration(
                type=request.type, name=request.name, urn=response.urn,
                inputs=_plain(rpc.deserialize_properties(request.object)),
                parent=request.parent, dependencies=list(request.dependencies),
                custom=request.custom,
                retain_on_delete=bool(request.retainOnDelete),
                additional_secret_outputs=list(request.additionalSecretOutputs),
                secret_paths=_secret_paths(_struct_to_python(request.object)),
            ))
        return response

    def ReadResource(self, request):
        response = super().ReadResource(request)
        self.registrations.append(Registration(
            type=request.type, name=request.name, urn=response.urn,
            inputs=_plain(rpc.deserialize_properties(request.properties)),
            parent=request.parent, dependencies=list(request.dependencies),
            custom=True, read_id=request.id,
        ))
        return response


class ClusterMocks(pulumi_mocks.Mocks):
    """Mocks that answer reads of the CNPG Cluster with a given live object."""

    def __init__(self, live_cluster_spec: dict[str, Any]):
        self.live_cluster_spec = live_cluster_spec

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        if args.resource_id and args.typ == "kubernetes:postgresql.cnpg.io/v1:Cluster":
            namespace, _, name = args.resource_id.partition("/")
            return args.resource_id, {
                "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                "metadata": {"name": name, "namespace": namespace},
                "spec": self.live_cluster_spec,
            }
        state = dict(args.inputs)
        if args.typ == "gcp:secretmanager/secret:Secret":
            # The provider computes the resource name from the project's number.
            state["name"] = f"projects/123456789012/secrets/{args.inputs['secretId']}"
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = _fake_password(args.name, args.inputs)
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs):
        return {}


def _fake_password(name: str, inputs: dict[str, Any]) -> str:
    """A deterministic stand-in for the random provider's result, distinct per rotation."""
    rotation = (inputs.get("keepers") or {}).get("rotation", "")
    return f"Mock{name}Pw-{rotation}-" + "x" * 8


def stack_config(stack: str) -> dict[str, Any]:
    """The `config:` mapping of `Pulumi.<stack>.yaml`."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
        raise SystemExit(f"no stack file {path.name}; stacks here: {', '.join(stacks)}")
    return (yaml.safe_load(path.read_text()) or {}).get("config") or {}


def run_program(config: dict[str, Any], live_cluster_spec: dict[str, Any] | None = None,
                stack: str = "lab", preview: bool = True,
                monitor: RecordingMonitor | None = None, secret_keys: tuple[str, ...] = (),
                logs: list[str] | None = None) -> ProgramRun:
    """Run `__main__.py` under mocks with a stack's config and return what it registered.

    `secret_keys` are the config keys set as secrets; `logs`, when given, collects the log
    lines even if the run fails.
    """
    if monitor is None:
        monitor = RecordingMonitor(ClusterMocks(
            EMPTY_CLUSTER_SPEC if live_cluster_spec is None else live_cluster_spec))
    logs = [] if logs is None else logs
    logger = logging.getLogger(f"render.{stack}")
    logger.propagate = False
    logger.handlers = [_ListHandler(logs)]
    logger.setLevel(logging.DEBUG)

    runtime_settings.set_root_resource(None)
    # The secret keys are always set: the runtime keeps them between runs otherwise.
    pulumi.runtime.set_all_config({
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in config.items()
    }, secret_keys=list(secret_keys))
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack,
                             preview=preview, logger=logger, monitor=monitor)
    root = runtime_settings.get_root_resource()

    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(PROGRAM), run_name="__main__")))
    except BaseException:
        _forget_failed_run()
        raise

    outputs, secret_outputs = {}, set()
    for name, value in root.outputs.items():
        output = pulumi.Output.from_input(value)
        outputs[name] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret_outputs.add(name)
    # Registrations arrive from several threads; sorting by URN makes every run read the same.
    resources = sorted(monitor.registrations, key=lambda r: r.urn)
    return ProgramRun(resources, outputs, secret_outputs, logs)


def _forget_failed_run() -> None:
    """Let go of what a failed run left in Pulumi's runtime, so the next run starts clean."""
    # Pulumi's mocks reset neither: the next run would wait on the unfinished outputs and
    # raise this run's error again, and the recorded error would keep the failed run's
    # objects (and its unawaited futures) alive.
    with runtime_settings.SETTINGS.lock:
        unfinished = list(runtime_settings.SETTINGS.outputs)
        runtime_settings.SETTINGS.outputs.clear()
    for task in unfinished:
        task.cancel()
    runtime_settings.SETTINGS.rpc_manager.clear()


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.levelname.lower()}: {record.getMessage()}")


def write_render(run: ProgramRun, out: Path) -> list[Path]:
    """Write each Kubernetes object as YAML and each dashboard as JSON under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.rglob("*"):
        if old.is_file():
            old.unlink()
    written = []
    for obj in run.kubernetes_objects():
        meta = obj["metadata"]
        path = out / "kubernetes" / f"{obj['kind'].lower()}-{meta['namespace']}-{meta['name']}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(obj, sort_keys=False))  # fields in OBJECT_FIELDS order
        written.append(path)
        if obj["kind"] == "ConfigMap":
            for file_name, text in obj["data"].items():
                dashboard = out / "dashboards" / file_name
                dashboard.parent.mkdir(parents=True, exist_ok=True)
                dashboard.write_text(text)
                written.append(dashboard)
    cloud = [{"type": r.type, "name": r.name,
              "inputs": {k: v for k, v in r.inputs.items()
                         if k.split(".")[0] not in {p.split(".")[0] for p in r.secret_paths}}}
             for r in run.resources if r.type.startswith(("gcp:", "random:"))]
    summary = out / "cloud-resources.yaml"
    summary.write_text(yaml.safe_dump(cloud, sort_keys=False))
    outputs = out / "stack-outputs.json"
    outputs.write_text(json.dumps(run.outputs, indent=2, sort_keys=True) + "\n")
    return written + [summary, outputs]


def main(argv: list[str] | None = None) -> int:
    """Render one stack to a folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="lab", help="stack name (Pulumi.<stack>.yaml)")
    parser.add_argument("--out", type=Path, help="folder to write to; default rendered/<stack>")
    parser.add_argument("--live-cluster", type=Path,
                        help="YAML of the live CNPG Cluster (kubectl get cluster -o yaml), so "
                             "the patch shows the roles it keeps; default: no managed roles")
    args = parser.parse_args(argv)

    live_spec = None
    if args.live_cluster:
        live_spec = (yaml.safe_load(args.live_cluster.read_text()) or {}).get("spec") or {}
    from settings import SettingsError
    try:
        run = run_program(stack_config(args.stack), live_spec, stack=args.stack)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or ROOT / "rendered" / args.stack
    written = write_render(run, out)
    for line in run.logs:
        if not line.startswith("debug:"):
            print(line)
    print(f"{len(run.resources)} resources registered; wrote {len(written)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
