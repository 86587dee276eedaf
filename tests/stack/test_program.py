"""The program, run under Pulumi's mocks: every resource, its exact inputs and what it waits on."""

from __future__ import annotations

import json

import pytest
import yaml

import spend_dashboards
from manifests.dashboards import DASHBOARD_DIR, load_dashboards, with_datasource_uid

MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi",
              "app.kubernetes.io/part-of": "litellm-observability"}
GRAFANA_RO = {
    "name": "grafana_ro",
    "ensure": "present",
    "comment": "Read-only access for Grafana's LiteLLM spend dashboards (managed by Pulumi)",
    "login": True,
    "superuser": False,
    "createdb": False,
    "createrole": False,
    "inherit": True,
    "replication": False,
    "bypassrls": False,
    "connectionLimit": 5,
    "inRoles": ["pg_read_all_data"],
    "passwordSecret": {"name": "litellm-pg-grafana-ro"},
}


def _short(urns):
    return sorted(urn.split("::")[-1] for urn in urns)


def _dashboard_config_maps():
    return [f"grafana-dashboard-{name.removesuffix('.json')}" for name in load_dashboards()]


def test_lab_stack_registers_each_part_once_under_its_component(lab_run):
    registered = [(r.type, r.name, r.parent.split("::")[-1]) for r in lab_run.resources]
    stack = "litellm-observability-lab"
    assert sorted(registered) == sorted([
        ("litellm-observability:index:RolePassword", "grafana-ro", stack),
        ("random:index/randomPassword:RandomPassword", "grafana-ro-password", "grafana-ro"),
        ("gcp:secretmanager/secret:Secret", "grafana-ro-secret", "grafana-ro"),
        ("gcp:secretmanager/secretVersion:SecretVersion", "grafana-ro-version", "grafana-ro"),
        ("litellm-observability:index:RoleCredentials", "grafana-ro", stack),
        ("kubernetes:external-secrets.io/v1:ExternalSecret", "grafana-ro-external-secret",
         "grafana-ro"),
        ("litellm-observability:index:ReadOnlyRole", "grafana-ro", stack),
        ("kubernetes:postgresql.cnpg.io/v1:Cluster", "grafana-ro-live-cluster", "grafana-ro"),
        ("kubernetes:postgresql.cnpg.io/v1:ClusterPatch", "grafana-ro-cluster-patch",
         "grafana-ro"),
        ("litellm-observability:index:SpendDatasource", "litellm-spend", stack),
        ("kubernetes:external-secrets.io/v1:ExternalSecret", "litellm-spend-external-secret",
         "litellm-spend"),
        ("litellm-observability:index:SpendDashboards", "litellm-spend", stack),
    ] + [("kubernetes:core/v1:ConfigMap", name, "litellm-spend")
         for name in _dashboard_config_maps()])


def test_password_is_generated_with_a_safe_alphabet_and_rotates_by_keeper(lab_run):
    password = lab_run.named("grafana-ro-password")
    assert password.inputs == {
        "length": 40, "special": True, "overrideSpecial": "-_",
        "minLower": 1, "minUpper": 1, "minNumeric": 1, "minSpecial": 0,
        "keepers": {"rotation": "2026-12"},
    }


def test_secret_manager_secret_and_version_hold_the_password_as_a_secret(lab_run):
    secret = lab_run.named("grafana-ro-secret")
    assert secret.inputs == {
        "project": "litellm-lab-4821",
        "secretId": "litellm-grafana-ro-password",
        "replication": {"auto": {}},
        "labels": {"environment": "lab", "managed-by": "pulumi"},
    }
    version = lab_run.named("grafana-ro-version")
    assert version.inputs["secret"] == "grafana-ro-secret-id"
    assert version.secret_paths == ["secretData"]
    assert _short(version.dependencies) == ["grafana-ro-password", "grafana-ro-secret"]


def test_user_managed_replication_and_eso_accessor_when_configured(run_stack, lab_config):
    lab_config["litellm-observability:secret"].update(
        locations=["europe-west1", "europe-west4"],
        esoServiceAccount="external-secrets@litellm-lab-4821.iam.gserviceaccount.com")
    run = run_stack(lab_config)
    assert run.named("grafana-ro-secret").inputs["replication"] == {
        "userManaged": {"replicas": [{"location": "europe-west1"},
                                     {"location": "europe-west4"}]}}
    accessor = run.named("grafana-ro-eso-accessor")
    assert accessor.type == "gcp:secretmanager/secretIamMember:SecretIamMember"
    assert accessor.inputs == {
        "project": "litellm-lab-4821",
        "secretId": "litellm-grafana-ro-password",
        "role": "roles/secretmanager.secretAccessor",
        "member": "serviceAccount:external-secrets@litellm-lab-4821.iam.gserviceaccount.com",
    }


def test_role_credentials_are_a_basic_auth_secret_rendered_by_eso(lab_run):
    external_secret = lab_run.named("grafana-ro-external-secret")
    assert {k: external_secret.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")} == {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "litellm-pg-grafana-ro", "namespace": "litellm",
                     "labels": MANAGED_BY,
                     "annotations": {"pulumi.com/waitFor": "condition=Ready"}},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "gcp-secret-manager"},
            "target": {
                "name": "litellm-pg-grafana-ro",
                "creationPolicy": "Orphan",
                "deletionPolicy": "Retain",
                "template": {
                    "type": "kubernetes.io/basic-auth",
                    "metadata": {"labels": {"cnpg.io/reload": "true", **MANAGED_BY}},
                    "data": {"username": "grafana_ro", "password": "{{ .password }}"},
                    "engineVersion": "v2",
                    "mergePolicy": "Replace",
                },
            },
            "data": [{"secretKey": "password",
                      "remoteRef": {"key": "litellm-grafana-ro-password", "version": "latest",
                                    "conversionStrategy": "Default",
                                    "decodingStrategy": "None"}}],
        },
    }
    assert _short(external_secret.dependencies) == ["grafana-ro-version"]


def test_patch_mode_adds_the_role_to_a_cluster_without_managed_roles(lab_run):
    patch = lab_run.named("grafana-ro-cluster-patch")
    assert patch.inputs == {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "litellm-pg", "namespace": "litellm",
                     "annotations": {"pulumi.com/patchForce": "true"}},
        "spec": {"managed": {"roles": [GRAFANA_RO]}},
    }
    assert patch.retain_on_delete is True
    assert _short(patch.dependencies) == ["grafana-ro-external-secret",
                                          "grafana-ro-live-cluster"]
    live = lab_run.named("grafana-ro-live-cluster")
    assert live.read_id == "litellm/litellm-pg"


def test_patch_keeps_roles_owned_by_others_byte_for_byte(run_stack, lab_config):
    app = {"name": "litellm", "ensure": "present", "login": True, "comment": "LiteLLM's app",
           "passwordSecret": {"name": "litellm-app"}, "inRoles": ["pg_monitor"],
           "connectionLimit": -1, "inherit": True}
    analyst = {"name": "analyst", "ensure": "present", "login": True, "superuser": False,
               "comment": "finance team, managed by Argo CD", "validUntil": "2027-01-01T00:00:00Z",
               "inRoles": ["pg_read_all_data", "pg_monitor"],
               "passwordSecret": {"name": "analyst-password"}}
    stale = dict(GRAFANA_RO, connectionLimit=2, comment="older settings")
    live = {"instances": 3, "managed": {"roles": [app, stale, analyst]}}

    run = run_stack(lab_config, live_cluster_spec=live)

    roles = run.named("grafana-ro-cluster-patch").inputs["spec"]["managed"]["roles"]
    # Kubernetes keeps no key order in objects; the same entries, in the same order, with the
    # same canonical serialization is what "unchanged" means to the API server.
    canonical = [json.dumps(role, sort_keys=True) for role in roles]
    assert canonical == [json.dumps(role, sort_keys=True) for role in (app, GRAFANA_RO, analyst)]
    assert run.named("grafana-ro-cluster-patch").inputs["spec"] == {"managed": {"roles": roles}}


def test_database_role_mode_creates_a_retained_database_role_and_no_patch(run_stack,
                                                                            lab_config):
    lab_config["litellm-observability:role"]["mode"] = "databaseRole"
    run = run_stack(lab_config)
    assert run.of_type("kubernetes:postgresql.cnpg.io/v1:ClusterPatch") == []
    database_role = run.named("grafana-ro-database-role")
    assert database_role.type == "kubernetes:postgresql.cnpg.io/v1:DatabaseRole"
    assert database_role.inputs == {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "DatabaseRole",
        "metadata": {"name": "litellm-pg-grafana-ro", "namespace": "litellm",
                     "labels": MANAGED_BY},
        "spec": dict(GRAFANA_RO, cluster={"name": "litellm-pg"},
                     databaseRoleReclaimPolicy="retain"),
    }
    assert _short(database_role.dependencies) == ["grafana-ro-external-secret"]
    assert not [line for line in run.logs if line.startswith("warning:")]


def test_database_role_mode_warns_while_a_patched_entry_still_shadows_it(run_stack,
                                                                         lab_config):
    lab_config["litellm-observability:role"]["mode"] = "databaseRole"
    run = run_stack(lab_config, live_cluster_spec={"managed": {"roles": [GRAFANA_RO]}})
    warnings = [line for line in run.logs if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "still lists role grafana_ro in spec.managed.roles" in warnings[0]
    assert run.of_type("kubernetes:postgresql.cnpg.io/v1:ClusterPatch") == []


def test_each_mode_is_logged_once(lab_run):
    info = [line for line in lab_run.logs if line.startswith("info:")]
    assert info == ["info: role grafana_ro: merged into spec.managed.roles of Cluster "
                    "litellm/litellm-pg; roles already there are kept as they are"]


def test_datasource_secret_is_labelled_for_the_sidecar_and_waits_for_role_and_password(
        lab_run):
    external_secret = lab_run.named("litellm-spend-external-secret")
    spec = external_secret.inputs["spec"]
    assert external_secret.inputs["metadata"] == {
        "name": "litellm-spend-datasource", "namespace": "monitoring", "labels": MANAGED_BY,
        "annotations": {"pulumi.com/waitFor": "condition=Ready"}}
    assert spec["target"]["creationPolicy"] == "Owner"
    assert spec["target"]["template"]["metadata"] == {
        "labels": {"grafana_datasource": "1", **MANAGED_BY}}
    assert list(spec["target"]["template"]["data"]) == ["litellm-spend.yaml"]
    assert _short(external_secret.dependencies) == [
        "grafana-ro-cluster-patch", "grafana-ro-live-cluster", "grafana-ro-version"]


def test_datasource_file_points_grafana_at_the_cluster_as_the_role(lab_run):
    spec = lab_run.named("litellm-spend-external-secret").inputs["spec"]
    template = spec["target"]["template"]["data"]["litellm-spend.yaml"]
    assert template.count("{{") == 1
    rendered = yaml.safe_load(template.replace(
        '{{ .password | replace "$" "$$" | toJson }}', '"<password>"'))
    assert rendered == {"apiVersion": 1, "datasources": [{
        "name": "LiteLLM spend",
        "uid": "litellm-spend",
        "type": "grafana-postgresql-datasource",
        "access": "proxy",
        "url": "litellm-pg-rw.litellm.svc:5432",
        "user": "grafana_ro",
        "isDefault": False,
        "editable": False,
        "jsonData": {"database": "litellm", "sslmode": "require", "postgresVersion": 1500,
                     "timescaledb": False, "maxOpenConns": 5, "maxIdleConns": 2,
                     "connMaxLifetime": 14400},
        "secureJsonData": {"password": "<password>"},
    }]}


def test_datasource_pool_follows_configured_size_and_service(run_stack, lab_config):
    lab_config["litellm-observability:role"]["connectionLimit"] = 8
    lab_config["litellm-observability:grafana"]["maxOpenConns"] = 3
    lab_config["litellm-observability:cluster"]["service"] = "ro"
    run = run_stack(lab_config)
    template = run.named("litellm-spend-external-secret").inputs["spec"]["target"][
        "template"]["data"]["litellm-spend.yaml"]
    datasource = yaml.safe_load(template.split("  secureJsonData:")[0])["datasources"][0]
    assert datasource["url"] == "litellm-pg-ro.litellm.svc:5432"
    assert (datasource["jsonData"]["maxOpenConns"], datasource["jsonData"]["maxIdleConns"]) \
        == (3, 2)
    assert run.named("grafana-ro-cluster-patch").inputs["spec"]["managed"]["roles"][0][
        "connectionLimit"] == 8


def test_dashboards_ship_exactly_the_committed_files_after_the_datasource(lab_run):
    # The lab's datasourceUid is the default the files were generated for.
    assert lab_run.outputs["datasourceUid"] == spend_dashboards.DEFAULT_DATASOURCE_UID
    files = {path.name: path.read_text(encoding="utf-8")
             for path in sorted(DASHBOARD_DIR.glob("*.json"))}
    config_maps = lab_run.of_type("kubernetes:core/v1:ConfigMap")
    assert {name: text for cm in config_maps for name, text in cm.inputs["data"].items()} \
        == files
    for cm in config_maps:
        (file_name,) = cm.inputs["data"]
        assert cm.inputs["metadata"] == {
            "name": "grafana-dashboard-" + file_name.removesuffix(".json"),
            "namespace": "monitoring",
            "labels": {"grafana_dashboard": "1", **MANAGED_BY},
            "annotations": {"grafana_folder": "LiteLLM"},
        }
        assert _short(cm.dependencies) == ["litellm-spend-external-secret"]


def test_dashboards_open_on_the_stack_datasource_when_its_uid_is_not_the_default(
        run_stack, lab_config):
    lab_config["litellm-observability:grafana"]["datasourceUid"] = "spend-prod"
    run = run_stack(lab_config)

    shipped = {name: text for cm in run.of_type("kubernetes:core/v1:ConfigMap")
               for name, text in cm.inputs["data"].items()}
    assert shipped == {name: spend_dashboards.render(model)
                       for name, model in spend_dashboards.build_all("spend-prod").items()}
    for text in shipped.values():
        (variable,) = [v for v in json.loads(text)["templating"]["list"]
                       if v["name"] == "datasource"]
        assert variable["current"] == {"selected": True, "text": "spend-prod",
                                       "value": "spend-prod"}
    # The dashboards' own uids stay as committed: links to them do not move.
    assert {name: json.loads(text)["uid"] for name, text in shipped.items()} == {
        "litellm-spend.json": "litellm-spend", "litellm-budgets.json": "litellm-budgets"}


def test_a_dashboard_without_its_datasource_variable_is_refused_by_name():
    with pytest.raises(ValueError) as raised:
        with_datasource_uid("litellm-costs.json", '{"uid": "litellm-costs"}', "spend-prod")
    assert str(raised.value) == ("dashboard litellm-costs.json has 0 template variables named "
                                 "'datasource'; it needs one, to pick the stack's datasource")


def test_stack_outputs_name_everything_other_stacks_need(lab_run):
    files = load_dashboards()
    assert lab_run.outputs == {
        "outputsVersion": "1",
        "gsmSecretId": "litellm-grafana-ro-password",
        "gsmSecretName": "projects/123456789012/secrets/litellm-grafana-ro-password",
        "gsmProject": "litellm-lab-4821",
        "roleName": "grafana_ro",
        "roleMode": "patch",
        "roleSecretName": "litellm-pg-grafana-ro",
        "roleSecretNamespace": "litellm",
        "clusterName": "litellm-pg",
        "database": "litellm",
        "datasourceName": "LiteLLM spend",
        "datasourceUid": "litellm-spend",
        "datasourceUrl": "litellm-pg-rw.litellm.svc:5432",
        "datasourceSecretName": "litellm-spend-datasource",
        "grafanaNamespace": "monitoring",
        "dashboardConfigMaps": _dashboard_config_maps(),
        "dashboardUids": {name: json.loads(text)["uid"] for name, text in files.items()},
    }
    assert lab_run.secret_outputs == set()


def test_switching_to_database_role_writes_nothing_to_the_cluster(run_stack, lab_config):
    analyst = {"name": "analyst", "login": True, "passwordSecret": {"name": "analyst-pw"}}
    patched = run_stack(lab_config, live_cluster_spec={"managed": {"roles": [analyst]}})
    applied_roles = patched.named("grafana-ro-cluster-patch").inputs["spec"]["managed"]["roles"]
    # The patch is released without a call to the cluster, so the live list stays as applied.
    assert patched.named("grafana-ro-cluster-patch").retain_on_delete is True

    lab_config["litellm-observability:role"]["mode"] = "databaseRole"
    switched = run_stack(lab_config, live_cluster_spec={"managed": {"roles": applied_roles}})

    cluster_writes = [r for r in switched.resources
                      if r.type.startswith("kubernetes:postgresql.cnpg.io/v1:Cluster")
                      and r.read_id is None]
    assert cluster_writes == []
    assert switched.named("grafana-ro-live-cluster").read_id == "litellm/litellm-pg"
