"""The read-only role as CloudNativePG declares it, and the Cluster patch that keeps others'."""

from __future__ import annotations

import copy
from typing import Any

from manifests import names
from settings import Settings

ROLE_COMMENT = "Read-only access for Grafana's LiteLLM spend dashboards (managed by Pulumi)"


def managed_role(settings: Settings) -> dict[str, Any]:
    """The role as one entry of a Cluster's `spec.managed.roles` (CNPG RoleConfiguration)."""
    # Every attribute is spelled out, defaults included, so that a later edit by hand to
    # the live Cluster cannot leave an elevated attribute that this entry silently inherits.
    return {
        "name": settings.role.name,
        "ensure": "present",
        "comment": ROLE_COMMENT,
        "login": True,
        "superuser": False,
        "createdb": False,
        "createrole": False,
        "inherit": True,
        "replication": False,
        "bypassrls": False,
        "connectionLimit": settings.role.connection_limit,
        "inRoles": ["pg_read_all_data"],
        "passwordSecret": {"name": names.role_secret(settings)},
    }


def merge_roles(live_roles: list[dict[str, Any]] | None,
                role: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the live roles with `role` put in by name; every other entry is kept unchanged."""
    # CNPG's CRD declares spec.managed.roles without list-map keys, so server-side apply owns
    # it as one atomic value: whatever list is applied replaces the live one whole. Keeping
    # the other entries as read (same order, same content) is what stops a patch from
    # silently unmanaging the roles that other teams declared on the Cluster.
    merged = [copy.deepcopy(entry) for entry in live_roles or []]
    for index, entry in enumerate(merged):
        if entry.get("name") == role["name"]:
            merged[index] = copy.deepcopy(role)
            return merged
    return merged + [copy.deepcopy(role)]


def cluster_patch(settings: Settings, live_roles: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The Cluster object the `patch` mode applies: only `spec.managed.roles`, merged."""
    return {
        "apiVersion": names.CNPG_API,
        "kind": "Cluster",
        "metadata": {
            "name": settings.cluster.name,
            "namespace": settings.cluster.namespace,
            # The list is atomic, so applying it conflicts with whichever manager wrote it
            # last; forcing is safe only because the list applied is the live one plus ours.
            "annotations": {"pulumi.com/patchForce": "true"},
        },
        "spec": {"managed": {"roles": merge_roles(live_roles, managed_role(settings))}},
    }


def database_role(settings: Settings) -> dict[str, Any]:
    """The DatabaseRole object the `databaseRole` mode (CNPG 1.30+) creates."""
    spec = dict(managed_role(settings),
                cluster={"name": settings.cluster.name},
                databaseRoleReclaimPolicy=settings.role.reclaim_policy)
    return {
        "apiVersion": names.CNPG_API,
        "kind": "DatabaseRole",
        "metadata": {
            "name": names.database_role(settings),
            "namespace": settings.cluster.namespace,
            "labels": dict(names.MANAGED_BY),
        },
        "spec": spec,
    }
