"""RoleCredentials: the role's basic-auth Secret, rendered by ESO from Secret Manager."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components import TYPE_PREFIX, child_options
from manifests import external_secrets
from settings import Settings


def external_secret(name: str, manifest: dict, opts: pulumi.ResourceOptions
                    ) -> k8s.apiextensions.CustomResource:
    """Register an ExternalSecret manifest as it is."""
    return k8s.apiextensions.CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )


class RoleCredentials(pulumi.ComponentResource):
    """The ExternalSecret whose Secret CloudNativePG reads the role's password from."""

    secret_name: pulumi.Output[str]
    """The basic-auth Secret's name in the Cluster's namespace."""

    def __init__(self, name: str, settings: Settings,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE_PREFIX + "RoleCredentials", name, None, opts)
        manifest = external_secrets.role_credentials(settings)
        self.external_secret = external_secret(
            f"{name}-external-secret", manifest, child_options(self, opts))
        self.secret_name = pulumi.Output.from_input(manifest["spec"]["target"]["name"])
        self.register_outputs({"secret_name": self.secret_name})
