"""The policy pack: each rule passes the stack's real resources and rejects a tampered one."""

from __future__ import annotations

import base64
import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, ResourceValidationArgs

import render
from manifests.datasource import PASSWORD_TEMPLATE
from policy import rules

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policy"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
DATABASE_ROLE = "kubernetes:postgresql.cnpg.io/v1:DatabaseRole"
CLUSTER_PATCH = "kubernetes:postgresql.cnpg.io/v1:ClusterPatch"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
LITELLM_APP_ROLE = {"name": "litellm", "login": True, "createdb": True, "connectionLimit": -1}
"""Another team's role on the Cluster, elevated on purpose: the patch must carry it as is."""


def violations(check: Callable, resource_type: str, props: dict[str, Any], name: str = "r",
               config: dict[str, Any] | None = None) -> list[str]:
    """The messages one validation function reports for one resource."""
    found: list[str] = []
    urn = f"urn:pulumi:lab::litellm-observability::{resource_type}::{name}"
    args = ResourceValidationArgs(resource_type, props, urn, name, None, None, config)
    check(args, lambda message, urn=None: found.append(message))
    return found


def stack_run(stack: str, live_cluster_spec: dict[str, Any] | None = None) -> render.ProgramRun:
    """The program run under mocks with `Pulumi.<stack>.yaml`, as the render does."""
    return render.run_program(render.stack_config(stack), live_cluster_spec, stack=stack)


@pytest.fixture(scope="module")
def lab() -> render.ProgramRun:
    return stack_run("lab", {"instances": 1, "managed": {"roles": [LITELLM_APP_ROLE]}})


@pytest.fixture(scope="module")
def prod() -> render.ProgramRun:
    return stack_run("prod")


def inputs(run: render.ProgramRun, name: str) -> dict[str, Any]:
    """A copy of one registered resource's inputs, free to tamper with."""
    return copy.deepcopy(run.named(name).inputs)


def datasource_file(props: dict[str, Any]) -> str:
    """The provisioning file inside the datasource ExternalSecret's template."""
    (text,) = props["spec"]["target"]["template"]["data"].values()
    return text


def with_datasource_file(props: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The datasource ExternalSecret with one line of its provisioning file changed."""
    data = props["spec"]["target"]["template"]["data"]
    (key, text), = data.items()
    assert text.count(old) == 1, f"{old!r} is not once in the datasource file"
    data[key] = text.replace(old, new)
    return props


def test_every_resource_of_each_stack_passes_every_policy(lab, prod):
    for run in (lab, prod):
        found = [(r.name, policy.name, message)
                 for r in run.resources if r.custom and r.read_id is None
                 for policy in rules.POLICIES
                 for message in violations(policy.validate, r.type, r.inputs, r.name)]
        assert found == []


# no-password-at-rest

def test_eso_templates_and_dashboards_hold_no_password(lab):
    for name in ("grafana-ro-external-secret", "litellm-spend-external-secret"):
        assert violations(rules.check_no_password_at_rest, EXTERNAL_SECRET,
                          inputs(lab, name), name) == []
    config_map = lab.of_type(CONFIG_MAP)[0]
    assert violations(rules.check_no_password_at_rest, CONFIG_MAP, config_map.inputs) == []


def test_literal_password_in_the_role_secret_template_is_rejected(lab):
    props = inputs(lab, "grafana-ro-external-secret")
    props["spec"]["target"]["template"]["data"]["password"] = "hunter2-literal"
    assert violations(rules.check_no_password_at_rest, EXTERNAL_SECRET, props, "creds") == [
        "ExternalSecret 'creds', key 'password': holds a literal password; the password must "
        "come from Secret Manager through an ESO template such as {{ .password }}"]


def test_literal_secure_json_data_password_in_the_datasource_is_rejected(lab):
    props = inputs(lab, "litellm-spend-external-secret")
    with_datasource_file(props, PASSWORD_TEMPLATE, "hunter2-literal")
    assert violations(rules.check_no_password_at_rest, EXTERNAL_SECRET, props, "ds") == [
        "ExternalSecret 'ds', key 'litellm-spend.yaml': datasource 'LiteLLM spend' has a "
        "literal secureJsonData.password; it must be an ESO template reference"]


def test_plain_secret_with_a_password_is_rejected_in_string_data_and_data():
    by_string = {"metadata": {"name": "pw"}, "stringData": {"password": "hunter2"}}
    by_data = {"metadata": {"name": "pw"},
               "data": {"PGPASSWORD": base64.b64encode(b"hunter2").decode()}}
    assert violations(rules.check_no_password_at_rest, SECRET, by_string, "pw") == [
        "Secret 'pw', key 'password': holds a literal password; the password must come from "
        "Secret Manager through an ESO template such as {{ .password }}"]
    assert violations(rules.check_no_password_at_rest, SECRET, by_data, "pw") == [
        "Secret 'pw', key 'PGPASSWORD': holds a literal password; the password must come from "
        "Secret Manager through an ESO template such as {{ .password }}"]


def test_config_map_with_the_datasource_file_or_a_password_key_is_rejected(lab):
    text = datasource_file(inputs(lab, "litellm-spend-external-secret"))
    props = {"metadata": {"name": "ds"}, "data": {"ds.yaml": text, "password": "x"}}
    assert violations(rules.check_no_password_at_rest, CONFIG_MAP, props, "ds") == [
        "ConfigMap 'ds', key 'ds.yaml': a ConfigMap must not carry a datasource's "
        "secureJsonData; provision datasources from a Secret",
        "ConfigMap 'ds', key 'password': a ConfigMap must not carry a password; render it "
        "into a Secret with an ExternalSecret",
    ]


# read-only-role

def test_the_patch_and_the_database_role_as_built_are_read_only(lab, prod):
    patch = inputs(lab, "grafana-ro-cluster-patch")
    assert patch["spec"]["managed"]["roles"][0] == LITELLM_APP_ROLE  # kept, and not judged
    assert violations(rules.check_read_only_role, CLUSTER_PATCH, patch) == []
    assert violations(rules.check_read_only_role, DATABASE_ROLE,
                      inputs(prod, "grafana-ro-database-role")) == []


@pytest.mark.parametrize("attribute", ["superuser", "createdb", "createrole", "replication",
                                       "bypassrls"])
def test_an_elevated_attribute_on_the_role_is_rejected(lab, prod, attribute):
    patch = inputs(lab, "grafana-ro-cluster-patch")
    patch["spec"]["managed"]["roles"][1][attribute] = True
    database_role = inputs(prod, "grafana-ro-database-role")
    database_role["spec"][attribute] = True
    assert violations(rules.check_read_only_role, CLUSTER_PATCH, patch, "patch") == [
        f"Cluster 'patch' spec.managed.roles: role 'grafana_ro' has {attribute}: true; "
        "Grafana's role must stay read-only"]
    assert violations(rules.check_read_only_role, DATABASE_ROLE, database_role, "dbr") == [
        f"DatabaseRole 'dbr': role 'grafana_ro' has {attribute}: true; "
        "Grafana's role must stay read-only"]


@pytest.mark.parametrize("limit", [-1, 0, None, "5"])
def test_a_role_without_a_positive_connection_limit_is_rejected(prod, limit):
    props = inputs(prod, "grafana-ro-database-role")
    if limit is None:
        del props["spec"]["connectionLimit"]
    else:
        props["spec"]["connectionLimit"] = limit
    assert violations(rules.check_read_only_role, DATABASE_ROLE, props, "dbr") == [
        f"DatabaseRole 'dbr': role 'grafana_ro' has connectionLimit {limit!r}; it must be a "
        "positive number so Grafana cannot starve LiteLLM"]


def test_role_name_config_picks_the_entry_judged_in_a_cluster_patch():
    entry = {"name": "reporting_ro", "superuser": True, "connectionLimit": 3}
    props = {"spec": {"managed": {"roles": [entry]}}}
    assert violations(rules.check_read_only_role, CLUSTER_PATCH, props, "patch") == []
    assert violations(rules.check_read_only_role, CLUSTER_PATCH, props, "patch",
                      {"roleName": "reporting_ro"}) == [
        "Cluster 'patch' spec.managed.roles: role 'reporting_ro' has superuser: true; "
        "Grafana's role must stay read-only"]


# external-secrets-v1

def test_external_secrets_of_the_v1_api_pass(lab):
    for name in ("grafana-ro-external-secret", "litellm-spend-external-secret"):
        assert violations(rules.check_external_secrets_api, EXTERNAL_SECRET,
                          inputs(lab, name), name) == []


def test_an_external_secrets_v1beta1_object_is_rejected(lab):
    props = inputs(lab, "grafana-ro-external-secret")
    props["apiVersion"] = "external-secrets.io/v1beta1"
    store_type = "kubernetes:external-secrets.io/v1beta1:ClusterSecretStore"
    expected = ("{}: external-secrets.io/v1beta1 is deprecated and no longer served by "
                "current External Secrets Operator releases; use external-secrets.io/v1")
    assert violations(rules.check_external_secrets_api,
                      "kubernetes:external-secrets.io/v1beta1:ExternalSecret", props, "creds") == [
        expected.format("kubernetes:external-secrets.io/v1beta1:ExternalSecret 'creds'")]
    assert violations(rules.check_external_secrets_api, store_type, {}, "store") == [
        expected.format(f"{store_type} 'store'")]


# datasource-locked-and-tls

def test_the_datasource_as_built_is_locked_and_tls(lab, prod):
    for run in (lab, prod):
        props = inputs(run, "litellm-spend-external-secret")
        assert violations(rules.check_datasource_locked_and_tls, EXTERNAL_SECRET, props) == []


def test_an_editable_datasource_is_rejected(lab):
    props = with_datasource_file(inputs(lab, "litellm-spend-external-secret"),
                                 "editable: false", "editable: true")
    assert violations(rules.check_datasource_locked_and_tls, EXTERNAL_SECRET, props, "ds") == [
        "ExternalSecret 'ds', key 'litellm-spend.yaml': datasource 'LiteLLM spend' is "
        "editable: true; provisioned datasources must be read-only in Grafana"]


@pytest.mark.parametrize("sslmode", ["disable", "allow", "prefer"])
def test_a_datasource_that_may_connect_without_tls_is_rejected(lab, sslmode):
    props = with_datasource_file(inputs(lab, "litellm-spend-external-secret"),
                                 "sslmode: require", f"sslmode: {sslmode}")
    assert violations(rules.check_datasource_locked_and_tls, EXTERNAL_SECRET, props, "ds") == [
        f"ExternalSecret 'ds', key 'litellm-spend.yaml': datasource 'LiteLLM spend' has "
        f"sslmode '{sslmode}', which allows a connection without TLS; use require, "
        "verify-ca or verify-full"]


def test_a_datasource_file_in_a_plain_secret_is_judged_too():
    document = {"apiVersion": 1, "datasources": [
        {"name": "spend", "editable": False, "jsonData": {"sslmode": "disable"}}]}
    props = {"stringData": {"spend.yaml": yaml.safe_dump(document)}}
    assert violations(rules.check_datasource_locked_and_tls, SECRET, props, "s") == [
        "Secret 's', key 'spend.yaml': datasource 'spend' has sslmode 'disable', which allows "
        "a connection without TLS; use require, verify-ca or verify-full"]


# The pack as the Pulumi CLI runs it

@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack started the way the CLI starts a Python pack, reached over its gRPC port."""
    # The engine address is not dialled unless a policy logs; a closed port stands in for it.
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."], cwd=POLICY_DIR,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            pytest.fail(f"the policy pack did not start: {process.communicate()[1]}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.communicate()


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, resource: render.Registration,
            props: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(policy, message) of each diagnostic the pack returns for a resource."""
    struct = json_format.ParseDict(resource.inputs if props is None else props,
                                   struct_pb2.Struct())
    response = stub.Analyze(analyzer_pb2.AnalyzeRequest(
        type=resource.type, properties=struct, urn=resource.urn, name=resource.name))
    return [(d.policyName, d.message) for d in response.diagnostics]


def test_the_pack_declares_every_rule_as_mandatory(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "litellm-observability"
    assert [(p.name, p.enforcementLevel) for p in info.policies] == [
        (name, analyzer_pb2.MANDATORY) for name in (
            "no-password-at-rest", "read-only-role", "external-secrets-v1",
            "datasource-locked-and-tls")]
    assert rules.ENFORCEMENT is EnforcementLevel.MANDATORY


def test_the_running_pack_passes_the_stacks_and_rejects_a_superuser_role(analyzer, lab, prod):
    for run in (lab, prod):
        found = [(r.name, analyze(analyzer, r)) for r in run.resources
                 if r.custom and r.read_id is None]
        assert [(name, diagnostics) for name, diagnostics in found if diagnostics] == []

    database_role = prod.named("grafana-ro-database-role")
    props = copy.deepcopy(database_role.inputs)
    props["spec"]["superuser"] = True
    assert analyze(analyzer, database_role, props) == [(
        "read-only-role",
        "The role has no elevated attribute and a positive connection limit.\n"
        "DatabaseRole 'grafana-ro-database-role': role 'grafana_ro' has superuser: true; "
        "Grafana's role must stay read-only")]


def test_the_pack_runs_in_the_projects_locked_environment():
    runtime = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())["runtime"]
    assert runtime["name"] == "python"
    assert (POLICY_DIR / runtime["options"]["virtualenv"]).resolve() == ROOT / ".venv"
