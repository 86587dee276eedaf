"""RolePassword: the generated password and its home in Google Secret Manager."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components import TYPE_PREFIX, child_options
from settings import SecretSettings

# Letters, digits, '-' and '_' only: nothing Grafana's $-expansion, YAML, a URL or a shell
# would read specially. The datasource template escapes anyway; this keeps it belt and braces.
PASSWORD_SPECIALS = "-_"
PASSWORD_LENGTH = 40


class RolePassword(pulumi.ComponentResource):
    """A random password stored as a Secret Manager secret version."""

    secret_id: pulumi.Output[str]
    """The Secret Manager secret id, e.g. `litellm-grafana-ro-password`."""
    secret_name: pulumi.Output[str]
    """The secret's resource name, `projects/<number>/secrets/<id>`."""
    version: pulumi.Output[pulumi.Resource]

    def __init__(self, name: str, secret: SecretSettings,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE_PREFIX + "RolePassword", name, None, opts)
        child = child_options(self, opts)

        # The keeper is the only input that can replace the password: changing
        # secret.rotation rotates it, and nothing else in the stack does.
        password = random.RandomPassword(
            f"{name}-password",
            length=PASSWORD_LENGTH,
            special=True,
            override_special=PASSWORD_SPECIALS,
            min_lower=1, min_upper=1, min_numeric=1, min_special=0,
            keepers={"rotation": secret.rotation},
            opts=child,
        )

        replication = (
            {"user_managed": {"replicas": [{"location": loc} for loc in secret.locations]}}
            if secret.locations else {"auto": {}}
        )
        self.secret = gcp.secretmanager.Secret(
            f"{name}-secret",
            project=secret.project,
            secret_id=secret.id,
            replication=replication,
            labels={**secret.labels, "managed-by": "pulumi"},
            opts=child,
        )

        self.version = gcp.secretmanager.SecretVersion(
            f"{name}-version",
            secret=self.secret.id,
            secret_data=pulumi.Output.secret(password.result),
            opts=child,
        )

        if secret.eso_service_account:
            gcp.secretmanager.SecretIamMember(
                f"{name}-eso-accessor",
                project=secret.project,
                secret_id=self.secret.secret_id,
                role="roles/secretmanager.secretAccessor",
                member=f"serviceAccount:{secret.eso_service_account}",
                opts=child,
            )

        self.secret_id = self.secret.secret_id
        self.secret_name = self.secret.name
        self.register_outputs({"secret_id": self.secret_id, "secret_name": self.secret_name})
