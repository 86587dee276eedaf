"""The stack outputs other stacks may rely on: version 1 of the contract, output by output."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

OUTPUTS_VERSION = "1"
"""The contract's version, exported as `outputsVersion`; raised only by a breaking change."""


@dataclass(frozen=True)
class StackOutput:
    """One exported output: its name, the shape of its value and what it means."""

    name: str
    """The output's name, as `pulumi stack output` and a StackReference read it."""
    type: Any
    """`str`, `list[str]` or `dict[str, str]`; outputs are never secret."""
    meaning: str
    """One sentence a consumer can act on."""

    def type_name(self) -> str:
        """The type as written in the contract table, e.g. `dict[str, str]`."""
        return self.type.__name__ if isinstance(self.type, type) else str(self.type)

    def accepts(self, value: Any) -> bool:
        """Whether a resolved value has this output's type, element types included."""
        origin, args = typing.get_origin(self.type), typing.get_args(self.type)
        if origin is None:
            return isinstance(value, self.type)
        if origin is list:
            return isinstance(value, list) and all(isinstance(v, args[0]) for v in value)
        if origin is dict:
            return isinstance(value, dict) and all(
                isinstance(k, args[0]) and isinstance(v, args[1]) for k, v in value.items())
        raise TypeError(f"output {self.name}: unsupported contract type {self.type!r}")


OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput("outputsVersion", str,
                f"Version of this contract, \"{OUTPUTS_VERSION}\"; a consumer refuses others."),
    StackOutput("gsmProject", str, "GCP project holding the role's password in Secret Manager."),
    StackOutput("gsmSecretId", str, "Secret Manager secret id of the password."),
    StackOutput("gsmSecretName", str,
                "The secret's resource name, projects/NUMBER/secrets/ID, for IAM bindings."),
    StackOutput("roleName", str, "The read-only Postgres role Grafana logs in as."),
    StackOutput("roleMode", str,
                "How the role is declared: patch (Cluster spec.managed.roles) or databaseRole."),
    StackOutput("roleSecretName", str,
                "The basic-auth Secret CloudNativePG reads the role's password from."),
    StackOutput("roleSecretNamespace", str, "Namespace of that Secret: the Cluster's namespace."),
    StackOutput("clusterName", str, "The CloudNativePG Cluster the role lives on."),
    StackOutput("database", str, "The database holding LiteLLM's spend tables."),
    StackOutput("datasourceName", str, "The Grafana datasource's display name."),
    StackOutput("datasourceUid", str,
                "The datasource's fixed uid; dashboards of other stacks reference it."),
    StackOutput("datasourceUrl", str,
                "host:port Grafana connects to, the CNPG -rw, -ro or -r service."),
    StackOutput("datasourceSecretName", str,
                "The Secret in grafanaNamespace holding the datasource provisioning file."),
    StackOutput("grafanaNamespace", str, "Namespace where Grafana's sidecars pick objects up."),
    StackOutput("dashboardConfigMaps", list[str],
                "Names of the dashboard ConfigMaps in grafanaNamespace, one per dashboard."),
    StackOutput("dashboardUids", dict[str, str],
                "Each dashboard file's fixed uid, by file name; link as GRAFANA_URL/d/UID."),
)
"""Every output, in the order the contract table lists them."""


def by_name() -> dict[str, StackOutput]:
    """The contract's outputs keyed by name."""
    return {output.name: output for output in OUTPUTS}
