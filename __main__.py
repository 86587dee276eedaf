"""Grafana reads LiteLLM's spend through a read-only role: settings, graph, outputs."""

import pulumi

from components.read_only_role import ReadOnlyRole
from components.role_credentials import RoleCredentials
from components.role_password import RolePassword
from components.spend_dashboards import SpendDashboards
from components.spend_datasource import SpendDatasource
from manifests import names
from manifests.dashboards import load_dashboards
from settings import load_stack_config


def engine_config() -> tuple[dict[str, str], set[str]]:
    """Every config key the engine gave this run, with its raw text, and the secret ones."""
    # pulumi.Config answers only for keys it is asked about, so a misspelt key would pass
    # unseen. The keys are listed where the runtime keeps them: its own map (mocks, the
    # automation API) and PULUMI_CONFIG (the CLI's language host).
    runtime = pulumi.runtime
    keys = set(runtime.config.CONFIG.get()) | set(runtime.get_config_env())
    secret = {key for key in keys if runtime.is_config_secret(key)}
    secret |= set(runtime.get_config_secret_keys_env())
    return {key: runtime.get_config(key) for key in sorted(keys)}, secret


stack_config, secret_keys = engine_config()
settings = load_stack_config(stack_config, secret_keys,
                             gcp_project=pulumi.Config("gcp").get("project"))
dashboard_files = load_dashboards()

password = RolePassword("grafana-ro", settings.secret)
credentials = RoleCredentials(
    "grafana-ro", settings, pulumi.ResourceOptions(depends_on=[password.version]))
role = ReadOnlyRole("grafana-ro", settings, pulumi.ResourceOptions(depends_on=[credentials]))
datasource = SpendDatasource(
    "litellm-spend", settings, pulumi.ResourceOptions(depends_on=[password.version, role]))
dashboards = SpendDashboards(
    "litellm-spend", settings, dashboard_files, pulumi.ResourceOptions(depends_on=[datasource]))

pulumi.export("outputsVersion", "1")
pulumi.export("gsmSecretId", password.secret_id)
pulumi.export("gsmSecretName", password.secret_name)
pulumi.export("gsmProject", settings.secret.project)
pulumi.export("roleName", role.role_name)
pulumi.export("roleMode", settings.role.mode)
pulumi.export("roleSecretName", credentials.secret_name)
pulumi.export("roleSecretNamespace", settings.cluster.namespace)
pulumi.export("clusterName", settings.cluster.name)
pulumi.export("database", settings.cluster.database)
pulumi.export("datasourceName", settings.grafana.datasource_name)
pulumi.export("datasourceUid", settings.grafana.datasource_uid)
pulumi.export("datasourceUrl", f"{names.service_host(settings)}:5432")
pulumi.export("datasourceSecretName", datasource.secret_name)
pulumi.export("grafanaNamespace", settings.grafana.namespace)
pulumi.export("dashboardConfigMaps", dashboards.config_maps)
pulumi.export("dashboardUids", dashboards.uids)
