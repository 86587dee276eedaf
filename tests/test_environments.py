"""Each stack file is a valid environment, and prod differs from lab where it must."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import render
from settings import PROJECT, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml")
                for p in ROOT.glob("Pulumi.*.yaml"))
KUBERNETES_KINDS_BY_MODE = {
    "patch": "kubernetes:postgresql.cnpg.io/v1:ClusterPatch",
    "databaseRole": "kubernetes:postgresql.cnpg.io/v1:DatabaseRole",
}


def stack_settings(stack: str) -> Settings:
    """A stack file's config validated the way `__main__.py` reads it from Pulumi config."""
    config = render.stack_config(stack)
    sections = {key.removeprefix(f"{PROJECT}:"): value for key, value in config.items()
                if key.startswith(f"{PROJECT}:")}
    return load_settings(sections, gcp_project=config.get("gcp:project"))


@pytest.fixture(scope="module")
def runs() -> dict[str, render.ProgramRun]:
    """Every stack's program run under mocks."""
    return {stack: render.run_program(render.stack_config(stack), stack=stack)
            for stack in STACKS}


def datasource(run: render.ProgramRun) -> dict[str, Any]:
    """The datasource entry of the provisioning file the datasource ExternalSecret renders."""
    template = run.named("litellm-spend-external-secret").inputs["spec"]["target"]["template"]
    (text,) = template["data"].values()
    # The password is an ESO expression, not YAML; it is not what these tests look at.
    document = yaml.safe_load(text.replace("{{", "'{{").replace("}}", "}}'"))
    (entry,) = document["datasources"]
    return entry


def test_the_example_stacks_are_there():
    assert {"lab", "prod"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_sets_only_keys_the_program_reads(stack):
    config = render.stack_config(stack)
    # A key under another namespace (a misspelt project name) would be silently ignored.
    namespaces = {key.partition(":")[0] for key in config}
    assert namespaces == {"gcp", PROJECT}
    assert set(config) - {"gcp:project"} <= {f"{PROJECT}:{s}" for s in
                                             ("cluster", "role", "secret", "grafana")}
    assert isinstance(stack_settings(stack), Settings)


def test_environments_share_no_gcp_project_and_no_secret():
    secrets = [(stack_settings(s).secret.project, stack_settings(s).secret.id) for s in STACKS]
    projects = [project for project, _ in secrets]
    assert len(set(projects)) == len(STACKS)
    assert len(set(secrets)) == len(STACKS)


def test_lab_and_prod_settings_differ_where_their_clusters_differ():
    lab, prod = stack_settings("lab"), stack_settings("prod")
    assert (lab.secret.project, prod.secret.project) == ("litellm-lab-4821", "litellm-prod-7305")
    assert (lab.cluster.service, prod.cluster.service) == ("rw", "ro")
    assert (lab.role.mode, prod.role.mode) == ("patch", "databaseRole")
    assert (lab.secret.locations, prod.secret.locations) == ((), ("europe-west1", "europe-west4"))
    assert (lab.secret.eso_service_account, prod.secret.eso_service_account) == (
        None, "external-secrets@litellm-prod-7305.iam.gserviceaccount.com")
    assert (lab.max_open_conns, prod.max_open_conns) == (5, 8)
    assert prod.max_open_conns < prod.role.connection_limit == 10


def test_prod_datasource_reads_from_the_replicas_service(runs):
    assert runs["prod"].outputs["datasourceUrl"] == "litellm-pg-ro.litellm.svc:5432"
    assert datasource(runs["prod"])["url"] == "litellm-pg-ro.litellm.svc:5432"
    assert datasource(runs["prod"])["jsonData"]["maxOpenConns"] == 8
    assert datasource(runs["lab"])["url"] == "litellm-pg-rw.litellm.svc:5432"


@pytest.mark.parametrize("stack", STACKS)
def test_role_mode_decides_between_cluster_patch_and_database_role(runs, stack):
    mode = stack_settings(stack).role.mode
    role_types = {r.type for r in runs[stack].resources
                  if r.type in KUBERNETES_KINDS_BY_MODE.values()}
    assert role_types == {KUBERNETES_KINDS_BY_MODE[mode]}
    assert runs[stack].outputs["roleMode"] == mode


def test_prod_registers_a_retained_database_role_and_no_cluster_patch(runs):
    (role,) = runs["prod"].of_type("kubernetes:postgresql.cnpg.io/v1:DatabaseRole")
    assert role.inputs["spec"]["cluster"] == {"name": "litellm-pg"}
    assert role.inputs["spec"]["databaseRoleReclaimPolicy"] == "retain"
    assert role.inputs["spec"]["connectionLimit"] == 10
    assert runs["prod"].of_type("kubernetes:postgresql.cnpg.io/v1:ClusterPatch") == []
    assert ("info: role grafana_ro: DatabaseRole litellm-pg-grafana-ro (reclaim policy retain); "
            "CNPG 1.30 or later needed") in runs["prod"].logs


def test_prod_secret_is_replicated_to_its_locations_and_readable_by_eso_only(runs):
    (secret,) = runs["prod"].of_type("gcp:secretmanager/secret:Secret")
    assert secret.inputs["project"] == "litellm-prod-7305"
    assert secret.inputs["replication"] == {"userManaged": {"replicas": [
        {"location": "europe-west1"}, {"location": "europe-west4"}]}}
    (member,) = runs["prod"].of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert member.inputs == {
        "project": "litellm-prod-7305",
        "secretId": "litellm-grafana-ro-password",
        "role": "roles/secretmanager.secretAccessor",
        "member": "serviceAccount:external-secrets@litellm-prod-7305.iam.gserviceaccount.com",
    }


def test_lab_secret_replicates_automatically_with_no_iam_binding(runs):
    (secret,) = runs["lab"].of_type("gcp:secretmanager/secret:Secret")
    assert secret.inputs["replication"] == {"auto": {}}
    assert runs["lab"].of_type("gcp:secretmanager/secretIamMember:SecretIamMember") == []
