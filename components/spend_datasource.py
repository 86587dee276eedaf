"""SpendDatasource: the Grafana datasource Secret, rendered by ESO with the password."""

from __future__ import annotations

import pulumi

from components import TYPE_PREFIX, child_options
from components.role_credentials import external_secret
from manifests import external_secrets
from settings import Settings


class SpendDatasource(pulumi.ComponentResource):
    """The ExternalSecret whose Secret Grafana's sidecar provisions as a datasource."""

    secret_name: pulumi.Output[str]
    """The datasource Secret's name in Grafana's namespace."""

    def __init__(self, name: str, settings: Settings,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE_PREFIX + "SpendDatasource", name, None, opts)
        manifest = external_secrets.datasource_secret(settings)
        self.external_secret = external_secret(
            f"{name}-external-secret", manifest, child_options(self, opts))
        self.secret_name = pulumi.Output.from_input(manifest["spec"]["target"]["name"])
        self.register_outputs({"secret_name": self.secret_name})
