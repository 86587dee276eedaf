"""ReadOnlyRole: the role on LiteLLM's CNPG Cluster, by Cluster patch or DatabaseRole."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import TYPE_PREFIX, child_options
from manifests import names, role
from settings import Settings


class LiveCluster(pulumi.CustomResource):
    """A read of the existing CNPG Cluster (the stack never creates or owns it)."""

    spec: pulumi.Output[dict[str, Any]]

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions):
        # pulumi-kubernetes' CustomResource.get registers no output properties in Python, so
        # `.spec` of a read would not exist; declaring the read here exposes it.
        cluster_id = f"{settings.cluster.namespace}/{settings.cluster.name}"
        super().__init__(
            f"kubernetes:{names.CNPG_API}:Cluster", name,
            {"apiVersion": None, "kind": None, "metadata": None, "spec": None},
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=cluster_id)),
        )


def live_roles(spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The Cluster's `spec.managed.roles`, empty when it declares none."""
    return list(((spec or {}).get("managed") or {}).get("roles") or [])


class ReadOnlyRole(pulumi.ComponentResource):
    """The login role Grafana reads LiteLLM's spend as."""

    role_name: pulumi.Output[str]
    """The Postgres role's name."""

    def __init__(self, name: str, settings: Settings,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE_PREFIX + "ReadOnlyRole", name, None, opts)
        child = child_options(self, opts)
        live = LiveCluster(f"{name}-live-cluster", settings, pulumi.ResourceOptions(parent=self))

        if settings.role.mode == "patch":
            pulumi.log.info(
                f"role {settings.role.name}: merged into spec.managed.roles of Cluster "
                f"{settings.cluster.namespace}/{settings.cluster.name}; roles already "
                "there are kept as they are")
            manifest = live.spec.apply(
                lambda spec: role.cluster_patch(settings, live_roles(spec)))
            k8s.apiextensions.CustomResourcePatch(
                f"{name}-cluster-patch",
                api_version=names.CNPG_API,
                kind="Cluster",
                metadata=manifest.apply(lambda m: m["metadata"]),
                spec=manifest.apply(lambda m: m["spec"]),
                # Deleting the patch would hand the whole atomic list back without us and
                # could strand the role Grafana still logs in with: leave the Cluster as is.
                opts=child_options(self, opts, retain_on_delete=True),
            )
        else:
            pulumi.log.info(
                f"role {settings.role.name}: DatabaseRole {names.database_role(settings)} "
                f"(reclaim policy {settings.role.reclaim_policy}); CNPG 1.30 or later needed")
            live.spec.apply(lambda spec: _warn_if_inline(settings, live_roles(spec)))
            manifest = role.database_role(settings)
            k8s.apiextensions.CustomResource(
                f"{name}-database-role",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=child,
            )

        self.role_name = pulumi.Output.from_input(settings.role.name)
        self.register_outputs({"role_name": self.role_name})


def _warn_if_inline(settings: Settings, roles: list[dict[str, Any]]) -> None:
    """Tell the operator when a former `patch` entry still shadows the DatabaseRole."""
    if any(entry.get("name") == settings.role.name for entry in roles):
        pulumi.log.warn(
            f"Cluster {settings.cluster.namespace}/{settings.cluster.name} still lists role "
            f"{settings.role.name} in spec.managed.roles, which takes precedence over the "
            "DatabaseRole; remove that entry (see README, 'Switching role modes') so the "
            "DatabaseRole takes over. The role keeps working meanwhile.")
