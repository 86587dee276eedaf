"""What the stack must never apply, as CrossGuard policies over the resources it registers.

Each policy's check is a plain function `(args, report_violation)`, so tests call it
directly with a resource's type and inputs. Resource inputs arrive from the engine as
read-only mappings and sequences (unknown values raise during preview), so the checks use
`Mapping` and `Sequence`, never `dict` or `list`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any, Iterator

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

SECRET_TYPES = ("kubernetes:core/v1:Secret", "kubernetes:core/v1:SecretPatch")
CONFIG_MAP_TYPES = ("kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:ConfigMapPatch")
EXTERNAL_SECRET_TYPE = "kubernetes:external-secrets.io/v1:ExternalSecret"
CLUSTER_TYPES = ("kubernetes:postgresql.cnpg.io/v1:Cluster",
                 "kubernetes:postgresql.cnpg.io/v1:ClusterPatch")
DATABASE_ROLE_TYPE = "kubernetes:postgresql.cnpg.io/v1:DatabaseRole"
RETIRED_ESO_API = "external-secrets.io/v1beta1"

ENFORCEMENT = EnforcementLevel.MANDATORY
"""Every rule guards against a leak or an escalation: a violation must stop the run."""

DEFAULT_ROLE_NAME = "grafana_ro"
ELEVATED_ATTRIBUTES = ("superuser", "createdb", "createrole", "replication", "bypassrls")
# libpq's allow and prefer fall back to a plain connection when TLS is refused.
NON_TLS_SSLMODES = ("disable", "allow", "prefer")

# An ESO template expression; ESO substitutes it from Secret Manager when it renders the
# Secret, so a value made of templates only holds a reference, never the password itself.
_ESO_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_TEMPLATE_MARK = "__eso_template__"
_PASSWORD_KEY = re.compile(r"pass(word|wd)", re.IGNORECASE)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> Sequence[Any]:
    return value if isinstance(value, Sequence) and not isinstance(value, str) else ()


def is_template_only(text: str) -> bool:
    """Whether a value is nothing but ESO template expressions (and whitespace)."""
    return _ESO_TEMPLATE.search(text) is not None and _ESO_TEMPLATE.sub("", text).strip() == ""


def _decoded(value: Any) -> str | None:
    """A Secret's `data` value as text; None when it is not base64 of UTF-8."""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError):
        return None


def _stored_files(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Each (key, text) a Secret, ConfigMap or ExternalSecret template puts in its object."""
    if resource_type in SECRET_TYPES:
        for key, value in _mapping(props.get("stringData")).items():
            if isinstance(value, str):
                yield key, value
        for key, value in _mapping(props.get("data")).items():
            text = _decoded(value)
            if text is not None:
                yield key, text
    elif resource_type in CONFIG_MAP_TYPES:
        for key, value in _mapping(props.get("data")).items():
            if isinstance(value, str):
                yield key, value
    elif resource_type == EXTERNAL_SECRET_TYPE:
        template = _mapping(_mapping(_mapping(props.get("spec")).get("target")).get("template"))
        for key, value in _mapping(template.get("data")).items():
            if isinstance(value, str):
                yield key, value


def datasources(text: str) -> list[Mapping[str, Any]]:
    """The datasources of a Grafana provisioning file; empty for any other text."""
    # An ESO template is not YAML (`{{` opens a flow mapping); each becomes a plain marker.
    try:
        document = yaml.safe_load(_ESO_TEMPLATE.sub(_TEMPLATE_MARK, text))
    except yaml.YAMLError:
        return []
    if not isinstance(document, Mapping):
        return []
    return [entry for entry in _items(document.get("datasources")) if isinstance(entry, Mapping)]


def _where(args: ResourceValidationArgs, key: str) -> str:
    return f"{args.resource_type.split(':')[-1]} {args.name!r}, key {key!r}"


def check_no_password_at_rest(args: ResourceValidationArgs,
                              report_violation: ReportViolation) -> None:
    """Reject a Secret, ConfigMap or ESO template that holds a password instead of a reference."""
    for key, text in _stored_files(args.resource_type, args.props):
        if args.resource_type in CONFIG_MAP_TYPES:
            # A ConfigMap is readable by anyone who may read the namespace's configuration.
            if _PASSWORD_KEY.search(key):
                report_violation(f"{_where(args, key)}: a ConfigMap must not carry a password; "
                                 "render it into a Secret with an ExternalSecret")
            if "secureJsonData" in text:
                report_violation(f"{_where(args, key)}: a ConfigMap must not carry a datasource's "
                                 "secureJsonData; provision datasources from a Secret")
            continue

        if _PASSWORD_KEY.search(key) and text.strip() and not is_template_only(text):
            report_violation(f"{_where(args, key)}: holds a literal password; the password must "
                             "come from Secret Manager through an ESO template such as "
                             "{{ .password }}")
        for source in datasources(text):
            secure = _mapping(source.get("secureJsonData"))
            for field, value in secure.items():
                if value != _TEMPLATE_MARK:
                    report_violation(
                        f"{_where(args, key)}: datasource {source.get('name')!r} has a literal "
                        f"secureJsonData.{field}; it must be an ESO template reference")


def _check_role(where: str, role: Mapping[str, Any], report_violation: ReportViolation) -> None:
    for attribute in ELEVATED_ATTRIBUTES:
        if role.get(attribute) is True:
            report_violation(f"{where}: role {role.get('name')!r} has {attribute}: true; "
                             "Grafana's role must stay read-only")
    limit = role.get("connectionLimit")
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0:
        # CloudNativePG's default is -1: as many connections as the server allows.
        report_violation(f"{where}: role {role.get('name')!r} has connectionLimit {limit!r}; "
                         "it must be a positive number so Grafana cannot starve LiteLLM")


def check_read_only_role(args: ResourceValidationArgs,
                         report_violation: ReportViolation) -> None:
    """Reject the stack's CNPG role when it has an elevated attribute or no connection limit."""
    role_name = args.get_config().get("roleName", DEFAULT_ROLE_NAME)
    spec = _mapping(args.props.get("spec"))
    if args.resource_type == DATABASE_ROLE_TYPE:
        # The stack creates DatabaseRoles only for its own role, so every one is checked.
        _check_role(f"DatabaseRole {args.name!r}", spec, report_violation)
    elif args.resource_type in CLUSTER_TYPES:
        # A Cluster patch carries the roles of other teams unchanged; only ours is judged.
        for entry in _items(_mapping(spec.get("managed")).get("roles")):
            if isinstance(entry, Mapping) and entry.get("name") == role_name:
                _check_role(f"Cluster {args.name!r} spec.managed.roles", entry, report_violation)


def check_external_secrets_api(args: ResourceValidationArgs,
                               report_violation: ReportViolation) -> None:
    """Reject any object of the external-secrets.io/v1beta1 API."""
    if (args.resource_type.startswith(f"kubernetes:{RETIRED_ESO_API}:")
            or args.props.get("apiVersion") == RETIRED_ESO_API):
        report_violation(f"{args.resource_type} {args.name!r}: {RETIRED_ESO_API} is deprecated "
                         "and no longer served by current External Secrets Operator releases; "
                         "use external-secrets.io/v1")


def check_datasource_locked_and_tls(args: ResourceValidationArgs,
                                    report_violation: ReportViolation) -> None:
    """Reject a provisioned datasource that users may edit or that may connect without TLS."""
    for key, text in _stored_files(args.resource_type, args.props):
        for source in datasources(text):
            name = source.get("name")
            if source.get("editable") is True:
                report_violation(f"{_where(args, key)}: datasource {name!r} is editable: true; "
                                 "provisioned datasources must be read-only in Grafana")
            sslmode = _mapping(source.get("jsonData")).get("sslmode")
            if sslmode in NON_TLS_SSLMODES:
                report_violation(f"{_where(args, key)}: datasource {name!r} has sslmode "
                                 f"{sslmode!r}, which allows a connection without TLS; use "
                                 "require, verify-ca or verify-full")


POLICIES = [
    ResourceValidationPolicy(
        name="no-password-at-rest",
        description="No Secret, ConfigMap or ESO template holds the role's password itself.",
        validate=check_no_password_at_rest,
    ),
    ResourceValidationPolicy(
        name="read-only-role",
        description="The role has no elevated attribute and a positive connection limit.",
        validate=check_read_only_role,
        config_schema=PolicyConfigSchema(properties={
            "roleName": {"type": "string", "default": DEFAULT_ROLE_NAME,
                         "description": "The stack's role.name, checked in Cluster patches."},
        }),
    ),
    ResourceValidationPolicy(
        name="external-secrets-v1",
        description="External Secrets objects use the served external-secrets.io/v1 API.",
        validate=check_external_secrets_api,
    ),
    ResourceValidationPolicy(
        name="datasource-locked-and-tls",
        description="Provisioned datasources are not editable and always connect over TLS.",
        validate=check_datasource_locked_and_tls,
    ),
]
"""Every policy of the pack, in the order the engine reports them."""
