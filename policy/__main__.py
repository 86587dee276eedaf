"""The policy pack `pulumi preview --policy-pack policy` runs: every rule, all mandatory."""

from pulumi_policy import PolicyPack

from rules import ENFORCEMENT, POLICIES

PolicyPack(
    name="litellm-observability",
    enforcement_level=ENFORCEMENT,
    policies=POLICIES,
)
