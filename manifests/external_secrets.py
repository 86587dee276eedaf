"""The ExternalSecrets that render the role's Secret and Grafana's datasource Secret."""

from __future__ import annotations

from typing import Any

from manifests import datasource, names
from settings import Settings

PASSWORD_KEY = "password"


def _external_secret(settings: Settings, name: str, namespace: str, creation_policy: str,
                     template: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": names.ESO_API,
        "kind": "ExternalSecret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(names.MANAGED_BY),
            # Pulumi waits for ESO to render the Secret before creating what reads it.
            "annotations": {"pulumi.com/waitFor": "condition=Ready"},
        },
        "spec": {
            "refreshInterval": settings.secret.refresh_interval,
            "secretStoreRef": {"kind": "ClusterSecretStore",
                               "name": settings.secret.cluster_secret_store},
            "target": {
                "name": name,
                "creationPolicy": creation_policy,
                "deletionPolicy": "Retain",
                "template": dict(template, engineVersion="v2", mergePolicy="Replace"),
            },
            "data": [{
                "secretKey": PASSWORD_KEY,
                "remoteRef": {"key": settings.secret.id, "version": "latest",
                              "conversionStrategy": "Default", "decodingStrategy": "None"},
            }],
        },
    }


def role_credentials(settings: Settings) -> dict[str, Any]:
    """The basic-auth Secret CloudNativePG sets the role's password from."""
    return _external_secret(
        # Orphan: the role outlives the stack (it is retained), so must the Secret CNPG
        # reads its password from, or CNPG would report the role as unreconcilable.
        settings, names.role_secret(settings), settings.cluster.namespace, "Orphan", {
            "type": "kubernetes.io/basic-auth",
            # CNPG watches Secrets with this label and re-applies the password on change.
            "metadata": {"labels": {"cnpg.io/reload": "true", **names.MANAGED_BY}},
            # CNPG refuses a passwordSecret whose username differs from the role name.
            "data": {"username": settings.role.name,
                     "password": "{{ ." + PASSWORD_KEY + " }}"},
        })


def datasource_secret(settings: Settings) -> dict[str, Any]:
    """The Secret Grafana's datasource sidecar loads, holding the provisioning file."""
    label, value = settings.grafana.datasource_label
    return _external_secret(
        settings, names.datasource_secret(settings), settings.grafana.namespace, "Owner", {
            "type": "Opaque",
            "metadata": {"labels": {label: value, **names.MANAGED_BY}},
            "data": {names.datasource_file(settings):
                     datasource.provisioning_template(settings)},
        })
