"""Bad stack config: one clear error naming key, value and what is allowed, before any resource."""

from __future__ import annotations

import json

import pytest

import render
from settings import SettingsError, load_settings

P = "litellm-observability"
REFRESH_INTERVAL = ("a Go duration above zero such as 15m or 1h: at 0 ESO never re-reads the "
                    "secret, so a rotated password would not reach the cluster")
SSLMODE = ("require, the only mode for now: verify-ca and verify-full need CloudNativePG's "
           "CA in Grafana, which the datasource does not carry yet, and the policy pack "
           "refuses disable, allow and prefer, which may connect without TLS")
POSTGRES_VERSION = ("one of 1400, 1500, 1600, 1700: the role is a member of pg_read_all_data, "
                    "which PostgreSQL has only from 14")

# (config section, key, bad value, the exact error message)
BAD_VALUES = [
    ("cluster", "name", "", f"config {P}:cluster.name = '' is invalid: a non-empty string; "
     "a DNS label: lower-case letters, digits and '-', at most 50 characters "
     "(CNPG appends -rw/-ro to it)"),
    ("cluster", "name", "LiteLLM_PG", f"config {P}:cluster.name = 'LiteLLM_PG' is invalid: "
     "a DNS label: lower-case letters, digits and '-', at most 50 characters "
     "(CNPG appends -rw/-ro to it)"),
    ("cluster", "name", "a" * 51, f"config {P}:cluster.name = '{'a' * 51}' is invalid: at most "
     "50 characters; a DNS label: lower-case letters, digits and '-', at most 50 characters "
     "(CNPG appends -rw/-ro to it)"),
    ("cluster", "namespace", 7, f"config {P}:cluster.namespace = 7 is invalid: a string; "
     "a namespace: a DNS label, at most 63 characters"),
    ("cluster", "database", "LiteLLM", f"config {P}:cluster.database = 'LiteLLM' is invalid: "
     "a plain Postgres identifier: lower-case letters, digits and '_', not starting with a "
     "digit, at most 63 characters"),
    ("cluster", "service", "primary", f"config {P}:cluster.service = 'primary' is invalid: "
     "one of rw, ro, r"),
    ("cluster", "replicas", 2, f"config {P}:cluster.replicas = 2 is invalid: an unknown key; "
     "cluster takes name, namespace, database, service"),
    ("role", "name", "postgres", f"config {P}:role.name = 'postgres' is invalid: a plain "
     "Postgres identifier (lower-case letters, digits and '_', not starting with a digit, at "
     "most 63 characters) that is not reserved (postgres, public, pg_*, CNPG's own roles)"),
    ("role", "name", "pg_grafana", f"config {P}:role.name = 'pg_grafana' is invalid: a plain "
     "Postgres identifier (lower-case letters, digits and '_', not starting with a digit, at "
     "most 63 characters) that is not reserved (postgres, public, pg_*, CNPG's own roles)"),
    ("role", "name", "grafana-ro", f"config {P}:role.name = 'grafana-ro' is invalid: a plain "
     "Postgres identifier (lower-case letters, digits and '_', not starting with a digit, at "
     "most 63 characters) that is not reserved (postgres, public, pg_*, CNPG's own roles)"),
    ("role", "name", "streaming_replica", f"config {P}:role.name = 'streaming_replica' is "
     "invalid: a plain Postgres identifier (lower-case letters, digits and '_', not starting "
     "with a digit, at most 63 characters) that is not reserved (postgres, public, pg_*, "
     "CNPG's own roles)"),
    ("role", "name", "grafana_", f"config {P}:role.name = 'grafana_' is invalid: a value that "
     "gives the role's Secret a valid Kubernetes name; here it would be 'litellm-pg-grafana-' "
     "(cluster.name, '-', role.name with '_' as '-'), and an object name must be a DNS "
     "subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter "
     "or digit, at most 253 characters"),
    ("role", "mode", "Patch", f"config {P}:role.mode = 'Patch' is invalid: "
     "one of patch, databaseRole"),
    ("role", "connectionLimit", 0, f"config {P}:role.connectionLimit = 0 is invalid: "
     "an integer from 1 to 100"),
    ("role", "connectionLimit", -1, f"config {P}:role.connectionLimit = -1 is invalid: "
     "an integer from 1 to 100"),
    ("role", "connectionLimit", "5", f"config {P}:role.connectionLimit = '5' is invalid: "
     "an integer from 1 to 100"),
    ("role", "connectionLimit", True, f"config {P}:role.connectionLimit = True is invalid: "
     "an integer from 1 to 100"),
    ("role", "reclaimPolicy", "keep", f"config {P}:role.reclaimPolicy = 'keep' is invalid: "
     "one of retain, delete"),
    ("secret", "id", "litellm/grafana", f"config {P}:secret.id = 'litellm/grafana' is "
     "invalid: a Secret Manager id: letters, digits, '_' and '-', at most 255 characters"),
    ("secret", "locations", "europe-west1", f"config {P}:secret.locations = 'europe-west1' is "
     "invalid: a list of distinct GCP regions such as [europe-west1, europe-west4]"),
    ("secret", "labels", {"Team": "x"}, f"config {P}:secret.labels = {{'Team': 'x'}} is "
     "invalid: a mapping of Secret Manager labels: keys start with a lower-case letter, keys "
     "and values use lower-case letters, digits, '_' and '-', at most 63 characters"),
    ("secret", "rotation", "", f"config {P}:secret.rotation = '' is invalid: a string or "
     "integer of at most 64 characters, e.g. \"2026-12\""),
    ("secret", "refreshInterval", "hourly", f"config {P}:secret.refreshInterval = 'hourly' is "
     f"invalid: {REFRESH_INTERVAL}"),
    ("secret", "refreshInterval", "0s", f"config {P}:secret.refreshInterval = '0s' is "
     f"invalid: {REFRESH_INTERVAL}"),
    ("secret", "refreshInterval", "0m", f"config {P}:secret.refreshInterval = '0m' is "
     f"invalid: {REFRESH_INTERVAL}"),
    ("secret", "refreshInterval", "0h0m", f"config {P}:secret.refreshInterval = '0h0m' is "
     f"invalid: {REFRESH_INTERVAL}"),
    ("secret", "refreshInterval", "0.0s", f"config {P}:secret.refreshInterval = '0.0s' is "
     f"invalid: {REFRESH_INTERVAL}"),
    ("secret", "esoServiceAccount", "eso@example.com", f"config {P}:secret.esoServiceAccount "
     "= 'eso@example.com' is invalid: a Google service account email "
     "(name@project.iam.gserviceaccount.com)"),
    ("secret", "project", "My Project", f"config {P}:secret.project = 'My Project' is invalid: "
     "a GCP project id: 6-30 lower-case letters, digits and '-', starting with a letter"),
    ("grafana", "namespace", "Monitoring", f"config {P}:grafana.namespace = 'Monitoring' is "
     "invalid: a namespace: a DNS label, at most 63 characters"),
    ("grafana", "maxOpenConns", 6, f"config {P}:grafana.maxOpenConns = 6 is invalid: an "
     "integer from 1 to role.connectionLimit (5): Grafana must not open more connections "
     "than the role may hold"),
    ("grafana", "maxOpenConns", 0, f"config {P}:grafana.maxOpenConns = 0 is invalid: an "
     "integer from 1 to role.connectionLimit (5): Grafana must not open more connections "
     "than the role may hold"),
    ("grafana", "sslmode", "verify-full", f"config {P}:grafana.sslmode = 'verify-full' is "
     f"invalid: {SSLMODE}"),
    ("grafana", "sslmode", "verify-ca", f"config {P}:grafana.sslmode = 'verify-ca' is invalid: "
     f"{SSLMODE}"),
    ("grafana", "sslmode", "disable", f"config {P}:grafana.sslmode = 'disable' is invalid: "
     f"{SSLMODE}"),
    ("grafana", "sslmode", "allow", f"config {P}:grafana.sslmode = 'allow' is invalid: "
     f"{SSLMODE}"),
    ("grafana", "sslmode", "prefer", f"config {P}:grafana.sslmode = 'prefer' is invalid: "
     f"{SSLMODE}"),
    ("grafana", "postgresVersion", 15, f"config {P}:grafana.postgresVersion = 15 is "
     f"invalid: {POSTGRES_VERSION}"),
    ("grafana", "postgresVersion", 1200, f"config {P}:grafana.postgresVersion = 1200 is "
     f"invalid: {POSTGRES_VERSION}"),
    ("grafana", "postgresVersion", 1300, f"config {P}:grafana.postgresVersion = 1300 is "
     f"invalid: {POSTGRES_VERSION}"),
    ("grafana", "datasourceUid", "litellm spend", f"config {P}:grafana.datasourceUid = "
     "'litellm spend' is invalid: a Grafana uid: letters, digits, '_' and '-', at most 40 "
     "characters"),
    ("grafana", "datasourceUid", "_spend", f"config {P}:grafana.datasourceUid = '_spend' is "
     "invalid: a value that gives the datasource Secret a valid Kubernetes name; here it would "
     "be '-spend-datasource' (the uid in lower case with '_' as '-', then '-datasource'), and "
     "an object name must be a DNS subdomain: lower-case letters, digits, '-' and '.', "
     "starting and ending with a letter or digit, at most 253 characters"),
    ("grafana", "datasourceUid", "-spend", f"config {P}:grafana.datasourceUid = '-spend' is "
     "invalid: a value that gives the datasource Secret a valid Kubernetes name; here it would "
     "be '-spend-datasource' (the uid in lower case with '_' as '-', then '-datasource'), and "
     "an object name must be a DNS subdomain: lower-case letters, digits, '-' and '.', "
     "starting and ending with a letter or digit, at most 253 characters"),
    ("grafana", "datasourceName", "Spend $HOME", f"config {P}:grafana.datasourceName = "
     "'Spend $HOME' is invalid: printable text without $, {, }, \" or \\"),
    ("grafana", "datasourceLabel", {"grafana_datasource": ""}, f"config {P}:grafana."
     "datasourceLabel = {'grafana_datasource': ''} is invalid: a one-entry mapping "
     "{key: value} with a Kubernetes label key and a non-empty label value, e.g. "
     "{grafana_dashboard: \"1\"}"),
    ("grafana", "dashboardLabel", "grafana_dashboard", f"config {P}:grafana.dashboardLabel = "
     "'grafana_dashboard' is invalid: a one-entry mapping {key: value} with a Kubernetes "
     "label key and a non-empty label value, e.g. {grafana_dashboard: \"1\"}"),
    ("grafana", "folderAnnotation", "grafana folder", f"config {P}:grafana.folderAnnotation "
     "= 'grafana folder' is invalid: a Kubernetes annotation key such as grafana_folder"),
    ("grafana", "folder", "LiteLLM/Spend", f"config {P}:grafana.folder = 'LiteLLM/Spend' is "
     "invalid: a folder title without '/'"),
    ("grafana", "dashbordLabel", {"a": "1"}, f"config {P}:grafana.dashbordLabel = "
     "{'a': '1'} is invalid: an unknown key; grafana takes namespace, datasourceName, "
     "datasourceUid, sslmode, postgresVersion, maxOpenConns, datasourceLabel, "
     "dashboardLabel, folderAnnotation, folder"),
]


def refused_run(config, **options) -> tuple[str, list[render.Registration]]:
    """Run the program with a config it must refuse: the error and what was registered."""
    monitor = render.RecordingMonitor(render.ClusterMocks({}))
    with pytest.raises(SettingsError) as raised:
        render.run_program(config, monitor=monitor, **options)
    return str(raised.value), monitor.registrations


@pytest.mark.parametrize("section,key,value,message", BAD_VALUES,
                         ids=[f"{s}.{k}={v!r}"[:60] for s, k, v, _ in BAD_VALUES])
def test_bad_value_fails_before_any_resource_with_one_clear_error(
        section, key, value, message, lab_config):
    lab_config.setdefault(f"{P}:{section}", {})[key] = value

    assert refused_run(lab_config) == (message, [])


def test_missing_gcp_project_is_named(lab_config):
    del lab_config["gcp:project"]
    assert refused_run(lab_config) == (
        f"config {P}:secret.project (or gcp:project) = (missing) is invalid: a GCP project id; "
        "set gcp:project or secret.project", [])


def test_the_program_refuses_a_misspelt_top_level_key(lab_config):
    lab_config[f"{P}:roles"] = {"name": "x"}
    assert refused_run(lab_config) == (
        f"config {P}:roles = {{'name': 'x'}} is invalid: an unknown key; this program reads "
        "cluster, role, secret, grafana", [])


def test_the_program_refuses_a_misspelt_key_the_cli_passes_in_its_environment(
        lab_config, monkeypatch):
    # The CLI's language host passes the stack's config as JSON text in PULUMI_CONFIG.
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"{P}:grafanna": '{"folder":"LiteLLM"}'}))
    assert refused_run(lab_config) == (
        f"config {P}:grafanna = {{'folder': 'LiteLLM'}} is invalid: an unknown key; this "
        "program reads cluster, role, secret, grafana", [])


def test_the_program_refuses_a_section_given_as_plain_text(lab_config):
    lab_config[f"{P}:role"] = "grafana_ro"
    assert refused_run(lab_config) == (
        f"config {P}:role = 'grafana_ro' is invalid: a mapping of name, mode, "
        "connectionLimit, reclaimPolicy", [])


def test_unknown_top_level_key_is_refused():
    with pytest.raises(SettingsError) as raised:
        load_settings({"roles": {"name": "x"}}, "litellm-lab-4821")
    assert str(raised.value) == (f"config {P}:roles = {{'name': 'x'}} is invalid: an unknown "
                                 "key; this program reads cluster, role, secret, grafana")


def test_a_section_that_is_not_a_mapping_is_refused():
    with pytest.raises(SettingsError) as raised:
        load_settings({"role": "grafana_ro"}, "litellm-lab-4821")
    assert str(raised.value) == (f"config {P}:role = 'grafana_ro' is invalid: a mapping of "
                                 "name, mode, connectionLimit, reclaimPolicy")


def test_defaults_serve_the_lab():
    settings = load_settings({}, "litellm-lab-4821")
    assert (settings.cluster.name, settings.cluster.namespace, settings.grafana.namespace,
            settings.role.name, settings.role.mode, settings.secret.id,
            settings.max_open_conns) == (
        "litellm-pg", "litellm", "monitoring", "grafana_ro", "patch",
        "litellm-grafana-ro-password", 5)


def test_a_refresh_interval_above_zero_is_accepted_even_with_a_zero_part():
    intervals = [load_settings({"secret": {"refreshInterval": text}}, "litellm-lab-4821")
                 .secret.refresh_interval for text in ("0h30m", "1ns", "0.5s")]
    assert intervals == ["0h30m", "1ns", "0.5s"]
