"""Names of the objects the stack creates, derived from settings in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # settings.py checks these names while it validates, so it imports this module.
    from settings import Settings

CNPG_API = "postgresql.cnpg.io/v1"
ESO_API = "external-secrets.io/v1"
MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi",
              "app.kubernetes.io/part-of": "litellm-observability"}


def role_secret(settings: Settings) -> str:
    """The basic-auth Secret CloudNativePG reads the role's password from."""
    return f"{settings.cluster.name}-{settings.role.name.replace('_', '-')}"


def database_role(settings: Settings) -> str:
    """The DatabaseRole object's name (`databaseRole` mode)."""
    return role_secret(settings)


def datasource_secret(settings: Settings) -> str:
    """The Secret in Grafana's namespace that holds the datasource provisioning file."""
    return f"{settings.grafana.datasource_uid.lower().replace('_', '-')}-datasource"


def datasource_file(settings: Settings) -> str:
    """The provisioning file's key in the datasource Secret."""
    return f"{settings.grafana.datasource_uid}.yaml"


def service_host(settings: Settings) -> str:
    """The CNPG service Grafana connects to, e.g. `litellm-pg-rw.litellm.svc`."""
    cluster = settings.cluster
    return f"{cluster.name}-{cluster.service}.{cluster.namespace}.svc"
