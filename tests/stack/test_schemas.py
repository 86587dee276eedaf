"""Every object the stack applies validates against the real schemas it will meet in a cluster."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

CRD_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "crds"
CRD_FILES = {
    ("postgresql.cnpg.io", "Cluster"): "postgresql.cnpg.io_clusters.yaml",
    ("postgresql.cnpg.io", "DatabaseRole"): "postgresql.cnpg.io_databaseroles.yaml",
    ("external-secrets.io", "ExternalSecret"): "external-secrets.io_externalsecrets.yaml",
}
KUBERNETES_VERSION = "1.33.0"


def crd_schema(api_version: str, kind: str) -> dict:
    """The served version's openAPIV3Schema from the upstream CRD file."""
    group, version = api_version.split("/")
    crd = yaml.safe_load((CRD_DIR / CRD_FILES[(group, kind)]).read_text())
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    return served["schema"]["openAPIV3Schema"]


def strict(schema: dict) -> dict:
    """The schema with every object closed, as the API server prunes unknown fields."""
    # CRDs leave additionalProperties unset because the API server silently drops unknown
    # fields; closing objects here turns such a silent drop into a test failure.
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node \
                    and "additionalProperties" not in node \
                    and not node.get("x-kubernetes-preserve-unknown-fields"):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def validate_custom(obj: dict) -> None:
    """Validate a custom resource against its CRD, strictly; raise on any error."""
    schema = strict(crd_schema(obj["apiVersion"], obj["kind"]))
    jsonschema.Draft7Validator(schema).validate(obj)


def _objects(run):
    return {(o["kind"], o["metadata"]["name"]): o for o in run.kubernetes_objects()}


def _cluster_patch_as_applied(patch: dict) -> dict:
    # A Cluster patch carries only the fields it manages; the CRD requires spec.instances on
    # a whole Cluster, so it is validated merged into a minimal live Cluster.
    merged = copy.deepcopy(patch)
    merged["spec"] = dict(patch["spec"], instances=1)
    return merged


def test_validator_rejects_what_the_api_server_would_drop_or_refuse():
    bad_role = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "DatabaseRole",
                "metadata": {"name": "x"},
                "spec": {"name": "x", "cluster": {"name": "c"}, "connectionLimt": 5}}
    with pytest.raises(jsonschema.ValidationError, match="connectionLimt"):
        validate_custom(bad_role)
    missing_cluster = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "DatabaseRole",
                       "metadata": {"name": "x"}, "spec": {"name": "x"}}
    with pytest.raises(jsonschema.ValidationError, match="'cluster' is a required property"):
        validate_custom(missing_cluster)


def test_v1beta1_external_secrets_are_not_served_by_eso_2_9():
    with pytest.raises(ValueError, match="not enough values to unpack"):
        crd_schema("external-secrets.io/v1beta1", "ExternalSecret")


def test_patch_mode_objects_validate_against_cnpg_and_eso_crds(lab_run):
    objects = _objects(lab_run)
    validate_custom(_cluster_patch_as_applied(objects[("Cluster", "litellm-pg")]))
    validate_custom(objects[("ExternalSecret", "litellm-pg-grafana-ro")])
    validate_custom(objects[("ExternalSecret", "litellm-spend-datasource")])


def test_merged_roles_of_others_validate_too(run_stack, lab_config):
    others = [{"name": "analyst", "login": True, "inRoles": ["pg_monitor"],
               "passwordSecret": {"name": "analyst-password"}, "comment": "finance"}]
    run = run_stack(lab_config, live_cluster_spec={"managed": {"roles": others}})
    validate_custom(_cluster_patch_as_applied(_objects(run)[("Cluster", "litellm-pg")]))


def test_database_role_mode_object_validates_against_cnpg_1_30(run_stack, lab_config):
    lab_config["litellm-observability:role"]["mode"] = "databaseRole"
    run = run_stack(lab_config)
    validate_custom(_objects(run)[("DatabaseRole", "litellm-pg-grafana-ro")])


def test_core_objects_validate_against_kubernetes_schemas(lab_run):
    core = [o for o in lab_run.kubernetes_objects() if o["apiVersion"] == "v1"]
    assert {o["kind"] for o in core} == {"ConfigMap"}
    for obj in core:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_core_validator_is_live():
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
           "data": {"a.json": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)
