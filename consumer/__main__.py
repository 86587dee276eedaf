"""Another stack's view of LiteLLM spend: the datasource and dashboard links, by StackReference."""

from __future__ import annotations

from typing import Any

import pulumi

SUPPORTED_OUTPUTS_VERSION = "1"
"""The contract version this program was written against (`outputsVersion` of the stack)."""


def checked_version(stack: str, version: Any) -> str:
    """The stack's contract version, refused unless it is the one this program reads."""
    if version != SUPPORTED_OUTPUTS_VERSION:
        raise ValueError(
            f"stack {stack} exports outputsVersion {version!r}, but this program reads version "
            f"{SUPPORTED_OUTPUTS_VERSION}; see the README (Using it in a team, Outputs) "
            "for what changed")
    return version


def dashboard_links(grafana_url: str, uids: dict[str, str]) -> dict[str, str]:
    """Each dashboard's stable link, `<grafana>/d/<uid>`, by dashboard file name."""
    base = grafana_url.rstrip("/")
    return {file_name: f"{base}/d/{uid}" for file_name, uid in sorted(uids.items())}


config = pulumi.Config()
spend_stack_name = config.require("spendStack")
grafana_url = config.require("grafanaUrl")
spend_stack = pulumi.StackReference(spend_stack_name)

# Everything read below waits on the version check, so an incompatible stack fails the
# update instead of handing out values whose meaning changed.
version = spend_stack.require_output("outputsVersion").apply(
    lambda v: checked_version(spend_stack_name, v))


def _after_check(name: str) -> pulumi.Output[Any]:
    return pulumi.Output.all(version, spend_stack.require_output(name)).apply(lambda a: a[1])


pulumi.export("outputsVersion", version)
pulumi.export("datasourceUid", _after_check("datasourceUid"))
pulumi.export("grafanaNamespace", _after_check("grafanaNamespace"))
pulumi.export("dashboardLinks", _after_check("dashboardUids").apply(
    lambda uids: dashboard_links(grafana_url, uids)))
