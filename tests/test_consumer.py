"""Every stack exports exactly the outputs contract, and the consumer example reads it."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

import outputs_contract
import render

ROOT = Path(__file__).resolve().parent.parent
CONSUMER = ROOT / "consumer" / "__main__.py"
CONSUMER_PROJECT = "litellm-spend-consumer"
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml")
                for p in ROOT.glob("Pulumi.*.yaml"))
SPEND_STACK = "acme/litellm-observability/lab"


@pytest.fixture(scope="module", params=STACKS)
def stack_run(request) -> render.ProgramRun:
    """The program run under mocks with one stack's config file."""
    return render.run_program(render.stack_config(request.param), stack=request.param)


@pytest.fixture(scope="module")
def lab_outputs() -> dict[str, Any]:
    """The lab stack's outputs as this program produces them, for the consumer to read."""
    return render.run_program(render.stack_config("lab")).outputs


def test_the_example_stacks_are_there():
    assert {"lab", "prod"} <= set(STACKS)


def test_each_stack_exports_exactly_the_contract_with_its_types(stack_run):
    contract = outputs_contract.by_name()
    assert sorted(stack_run.outputs) == sorted(contract)
    wrong = {name: value for name, value in stack_run.outputs.items()
             if not contract[name].accepts(value)}
    assert wrong == {}
    assert stack_run.outputs["outputsVersion"] == outputs_contract.OUTPUTS_VERSION == "1"


def test_no_output_is_secret_or_carries_the_password(stack_run):
    (password,) = stack_run.of_type("random:index/randomPassword:RandomPassword")
    value = render._fake_password(password.name, password.inputs)
    # The needle is real: the mocked password does reach Secret Manager in this run.
    (version,) = stack_run.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    assert version.secret_paths == ["secretData"]
    assert version.inputs["secretData"]["value"] == value

    assert stack_run.secret_outputs == set()
    assert value not in json.dumps(stack_run.outputs)


def test_contract_types_are_checked_element_by_element():
    uids = outputs_contract.by_name()["dashboardUids"]
    maps = outputs_contract.by_name()["dashboardConfigMaps"]
    assert uids.accepts({"a.json": "a"}) and not uids.accepts({"a.json": 1})
    assert maps.accepts(["a"]) and not maps.accepts(["a", None]) and not maps.accepts("a")


def test_docs_table_lists_the_contract_exactly():
    text = (ROOT / "README.md").read_text()
    section = text.split("\n### Outputs\n", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| (.+?) \|$", section, re.MULTILINE)
    assert rows == [(o.name, o.type_name(), o.meaning) for o in outputs_contract.OUTPUTS]


class StackReferenceMocks(pulumi.runtime.Mocks):
    """Mocks answering a StackReference with given outputs; the consumer creates nothing else."""

    def __init__(self, outputs: dict[str, Any]):
        self.outputs = outputs
        self.references: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ != "pulumi:pulumi:StackReference":
            raise AssertionError(f"the consumer registered {args.typ} {args.name}")
        self.references.append(args.resource_id)
        return args.resource_id, {"name": args.resource_id, "outputs": self.outputs,
                                  "secretOutputNames": []}

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def run_consumer(outputs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The consumer's exports and the stacks it referenced, run under mocks."""
    mocks = StackReferenceMocks(outputs)
    runtime_settings.set_root_resource(None)
    pulumi.runtime.set_all_config({
        f"{CONSUMER_PROJECT}:spendStack": SPEND_STACK,
        f"{CONSUMER_PROJECT}:grafanaUrl": "https://grafana.lab.example.com/",
    })
    pulumi.runtime.set_mocks(mocks, project=CONSUMER_PROJECT, stack="lab", preview=False)
    root = runtime_settings.get_root_resource()
    _sync_await(run_pulumi_func(lambda: runpy.run_path(str(CONSUMER), run_name="__main__")))
    exports = {name: _sync_await(pulumi.Output.from_input(value).future())
               for name, value in root.outputs.items()}
    return exports, mocks.references


def test_consumer_builds_dashboard_links_from_the_lab_outputs(lab_outputs):
    exports, references = run_consumer(lab_outputs)
    assert references == [SPEND_STACK]
    assert exports == {
        "outputsVersion": "1",
        "datasourceUid": lab_outputs["datasourceUid"],
        "grafanaNamespace": lab_outputs["grafanaNamespace"],
        "dashboardLinks": {file_name: f"https://grafana.lab.example.com/d/{uid}"
                           for file_name, uid in lab_outputs["dashboardUids"].items()},
    }
    assert exports["datasourceUid"] == "litellm-spend"
    assert exports["dashboardLinks"] != {}


def test_consumer_refuses_another_contract_version(lab_outputs):
    with pytest.raises(ValueError) as refused:
        run_consumer(dict(lab_outputs, outputsVersion="2"))
    assert str(refused.value) == (
        f"stack {SPEND_STACK} exports outputsVersion '2', but this program reads version 1; "
        "see the README (Using it in a team, Outputs) for what changed")
