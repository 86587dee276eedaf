"""Stack settings, read once from Pulumi config and validated before any resource exists."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Mapping

from manifests import names

PROJECT = "litellm-observability"

# Kubernetes object names (RFC 1123 subdomain) and namespaces / label-free names (RFC 1123 label).
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# A label key is an optional DNS-subdomain prefix and a name of at most 63 characters.
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
# Unquoted Postgres identifiers; CNPG quotes role names, but a lower-case plain identifier
# is the only kind that reads the same in Grafana, psql and the CNPG status.
_PG_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_PG_RESERVED_ROLES = {"postgres", "public", "none", "current_role", "current_user",
                      "session_user", "streaming_replica", "cnpg_pooler_pgbouncer"}
_GSM_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_GCP_LOCATION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_GSM_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_GSM_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(?:ns|us|ms|s|m|h)")
_EMAIL = re.compile(r"^[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$")

ROLE_MODES = ("patch", "databaseRole")
RECLAIM_POLICIES = ("retain", "delete")
# Only `require` for now: verify-ca and verify-full need CNPG's CA in Grafana, which the
# datasource does not carry yet, and the policy pack refuses every mode that may skip TLS.
SSL_MODES = ("require",)
SERVICES = ("rw", "ro", "r")
# The role is a member of pg_read_all_data, which PostgreSQL has only from 14.
POSTGRES_VERSIONS = (1400, 1500, 1600, 1700)
MAX_CONNECTION_LIMIT = 100
SECTIONS = ("cluster", "role", "secret", "grafana")


class SettingsError(ValueError):
    """A stack config value that the program refuses, named with what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str):
        if value is _MISSING:
            shown = "(missing)"
        elif value is _SECRET:
            shown = "(secret)"
        else:
            shown = repr(value)
        super().__init__(f"config {PROJECT}:{key} = {shown} is invalid: {allowed}")
        self.key = key
        self.value = value
        self.allowed = allowed


_MISSING = object()
_SECRET = object()


@dataclass(frozen=True)
class ClusterSettings:
    """Where LiteLLM's CloudNativePG Cluster runs."""

    name: str = "litellm-pg"
    """The CNPG Cluster's name; default `litellm-pg`."""
    namespace: str = "litellm"
    """The Cluster's namespace, where the role's Secret is rendered; default `litellm`."""
    database: str = "litellm"
    """The database LiteLLM writes spend to; default `litellm`."""
    service: str = "rw"
    """CNPG service Grafana connects to: `rw` (default), `ro` (needs replicas) or `r`."""


@dataclass(frozen=True)
class RoleSettings:
    """The read-only Postgres role Grafana logs in as."""

    name: str = "grafana_ro"
    """Role name; a plain lower-case Postgres identifier, not reserved; default `grafana_ro`."""
    mode: str = "patch"
    """`patch` (any CNPG release) merges into `spec.managed.roles`; `databaseRole` (CNPG 1.30+)."""
    connection_limit: int = 5
    """Most concurrent connections the role may hold, 1..100; default 5."""
    reclaim_policy: str = "retain"
    """`databaseRole` mode only: `retain` (default) keeps the role when the object is deleted."""


@dataclass(frozen=True)
class SecretSettings:
    """The password's home in Google Secret Manager and how ESO reads it."""

    project: str
    """GCP project of the secret; default `gcp:project`."""
    id: str = "litellm-grafana-ro-password"
    """Secret Manager secret id; default `litellm-grafana-ro-password`."""
    locations: tuple[str, ...] = ()
    """User-managed replication locations; empty (default) means automatic replication."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on the secret; `managed-by: pulumi` is always added."""
    rotation: str = "0"
    """Any string; changing it generates a new password and secret version, nothing else."""
    cluster_secret_store: str = "gcp-secret-manager"
    """The ESO ClusterSecretStore that reads this project's Secret Manager."""
    refresh_interval: str = "1h"
    """How often ESO re-reads the secret (a Go duration above zero); default `1h`."""
    eso_service_account: str | None = None
    """ESO's Google service account; when set, it gets secretAccessor on this secret only."""


@dataclass(frozen=True)
class GrafanaSettings:
    """Where Grafana's sidecars look and how the datasource appears."""

    namespace: str = "monitoring"
    """Grafana's namespace, watched by its sidecars; default `monitoring`."""
    datasource_name: str = "LiteLLM spend"
    """Datasource display name; default `LiteLLM spend`."""
    datasource_uid: str = "litellm-spend"
    """Fixed datasource uid the dashboards reference; default `litellm-spend`."""
    sslmode: str = "require"
    """libpq sslmode Grafana uses; `require` (the default) is the only one for now."""
    postgres_version: int = 1500
    """`jsonData.postgresVersion` (major × 100), 1400 or later; default 1500."""
    max_open_conns: int | None = None
    """Grafana's connection pool size; at most the role's connection limit (the default)."""
    datasource_label: tuple[str, str] = ("grafana_datasource", "1")
    """Label the datasource sidecar selects Secrets by; default `grafana_datasource: "1"`."""
    dashboard_label: tuple[str, str] = ("grafana_dashboard", "1")
    """Label the dashboard sidecar selects ConfigMaps by; default `grafana_dashboard: "1"`."""
    folder_annotation: str = "grafana_folder"
    """Annotation the dashboard sidecar reads the folder from; default `grafana_folder`."""
    folder: str = "LiteLLM"
    """Grafana folder of the dashboards; default `LiteLLM`."""


@dataclass(frozen=True)
class Settings:
    """Everything one environment (stack) sets."""

    cluster: ClusterSettings
    role: RoleSettings
    secret: SecretSettings
    grafana: GrafanaSettings

    @property
    def max_open_conns(self) -> int:
        """Grafana's pool: the configured size, else the role's connection limit."""
        configured = self.grafana.max_open_conns
        return configured if configured is not None else self.role.connection_limit


def _check(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise SettingsError(key, value, allowed)


def _string(key: str, value: Any, pattern: re.Pattern[str], allowed: str,
            max_len: int = 253) -> str:
    _check(isinstance(value, str), key, value, f"a string; {allowed}")
    _check(value != "", key, value, f"a non-empty string; {allowed}")
    _check(len(value) <= max_len, key, value, f"at most {max_len} characters; {allowed}")
    _check(bool(pattern.match(value)), key, value, allowed)
    return value


def _integer(key: str, value: Any, low: int, high: int) -> int:
    # bool is an int in Python; `true` in YAML is never a count.
    _check(isinstance(value, int) and not isinstance(value, bool), key, value,
           f"an integer from {low} to {high}")
    _check(low <= value <= high, key, value, f"an integer from {low} to {high}")
    return value


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    _check(value in choices, key, value, "one of " + ", ".join(choices))
    return value


def _label(key: str, value: Any) -> tuple[str, str]:
    allowed = ("a one-entry mapping {key: value} with a Kubernetes label key and a "
               "non-empty label value, e.g. {grafana_dashboard: \"1\"}")
    _check(isinstance(value, Mapping) and len(value) == 1, key, value, allowed)
    (name, text), = value.items()
    _check(isinstance(name, str) and _valid_label_key(name), key, value, allowed)
    _check(isinstance(text, str) and text != "" and len(text) <= 63
           and bool(_LABEL_VALUE.match(text)), key, value, allowed)
    return name, text


def _valid_label_key(name: str) -> bool:
    prefix, _, local = name.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(local) <= 63 and bool(_LABEL_NAME.match(local))


def _section(config: Mapping[str, Any], key: str, known: tuple[str, ...]) -> dict[str, Any]:
    """One structured setting as a dict, refusing keys that the program would ignore."""
    value = config.get(key, {})
    _check(isinstance(value, Mapping), key, value, "a mapping of " + ", ".join(known))
    for name in sorted(set(value) - set(known)):
        raise SettingsError(f"{key}.{name}", value[name],
                            f"an unknown key; {key} takes " + ", ".join(known))
    return dict(value)


def _read(section: dict[str, Any], prefix: str, name: str, default: Any,
          parse: Callable[[str, Any], Any]) -> Any:
    if name not in section:
        return default
    return parse(f"{prefix}.{name}", section[name])


def _cluster(config: Mapping[str, Any]) -> ClusterSettings:
    s = _section(config, "cluster", ("name", "namespace", "database", "service"))
    d = ClusterSettings()
    return ClusterSettings(
        # CNPG derives `<name>-rw` services from the Cluster name, so it must be a DNS label.
        name=_read(s, "cluster", "name", d.name, lambda k, v: _string(
            k, v, _DNS_LABEL, "a DNS label: lower-case letters, digits and '-', at most 50 "
            "characters (CNPG appends -rw/-ro to it)", 50)),
        namespace=_read(s, "cluster", "namespace", d.namespace, lambda k, v: _string(
            k, v, _DNS_LABEL, "a namespace: a DNS label, at most 63 characters", 63)),
        database=_read(s, "cluster", "database", d.database, lambda k, v: _string(
            k, v, _PG_IDENTIFIER, "a plain Postgres identifier: lower-case letters, digits "
            "and '_', not starting with a digit, at most 63 characters", 63)),
        service=_read(s, "cluster", "service", d.service,
                      lambda k, v: _choice(k, v, SERVICES)),
    )


def _role(config: Mapping[str, Any]) -> RoleSettings:
    s = _section(config, "role", ("name", "mode", "connectionLimit", "reclaimPolicy"))
    d = RoleSettings()
    return RoleSettings(
        name=_read(s, "role", "name", d.name, _role_name),
        mode=_read(s, "role", "mode", d.mode, lambda k, v: _choice(k, v, ROLE_MODES)),
        connection_limit=_read(s, "role", "connectionLimit", d.connection_limit,
                               lambda k, v: _integer(k, v, 1, MAX_CONNECTION_LIMIT)),
        reclaim_policy=_read(s, "role", "reclaimPolicy", d.reclaim_policy,
                             lambda k, v: _choice(k, v, RECLAIM_POLICIES)),
    )


def _role_name(key: str, value: Any) -> str:
    allowed = ("a plain Postgres identifier (lower-case letters, digits and '_', not starting "
               "with a digit, at most 63 characters) that is not reserved (postgres, public, "
               "pg_*, CNPG's own roles)")
    name = _string(key, value, _PG_IDENTIFIER, allowed, 63)
    _check(name not in _PG_RESERVED_ROLES and not name.startswith("pg_"), key, value, allowed)
    return name


def _secret(config: Mapping[str, Any], gcp_project: Any) -> SecretSettings:
    s = _section(config, "secret", ("project", "id", "locations", "labels", "rotation",
                                    "clusterSecretStore", "refreshInterval",
                                    "esoServiceAccount"))
    project = s.get("project", gcp_project)
    key = "secret.project" if "project" in s else "secret.project (or gcp:project)"
    _check(project is not None, key, _MISSING if project is None else project,
           "a GCP project id; set gcp:project or secret.project")
    _string(key, project, _GCP_PROJECT, "a GCP project id: 6-30 lower-case letters, digits "
            "and '-', starting with a letter", 30)
    d = SecretSettings(project=project)
    return SecretSettings(
        project=project,
        id=_read(s, "secret", "id", d.id, lambda k, v: _string(
            k, v, _GSM_SECRET_ID, "a Secret Manager id: letters, digits, '_' and '-', "
            "at most 255 characters", 255)),
        locations=_read(s, "secret", "locations", d.locations, _locations),
        labels=_read(s, "secret", "labels", d.labels, _gsm_labels),
        rotation=_read(s, "secret", "rotation", d.rotation, _rotation),
        cluster_secret_store=_read(s, "secret", "clusterSecretStore", d.cluster_secret_store,
                                   lambda k, v: _string(k, v, _DNS_SUBDOMAIN,
                                                        "a Kubernetes object name")),
        refresh_interval=_read(s, "secret", "refreshInterval", d.refresh_interval,
                               _refresh_interval),
        eso_service_account=_read(s, "secret", "esoServiceAccount", None,
                                  lambda k, v: _string(k, v, _EMAIL,
                                                       "a Google service account email "
                                                       "(name@project.iam.gserviceaccount.com)")),
    )


def _refresh_interval(key: str, value: Any) -> str:
    allowed = ("a Go duration above zero such as 15m or 1h: at 0 ESO never re-reads the "
               "secret, so a rotated password would not reach the cluster")
    text = _string(key, value, _DURATION, allowed, 32)
    _check(any(float(number) > 0 for number in _DURATION_PART.findall(text)), key, value,
           allowed)
    return text


def _locations(key: str, value: Any) -> tuple[str, ...]:
    allowed = "a list of distinct GCP regions such as [europe-west1, europe-west4]"
    _check(isinstance(value, list), key, value, allowed)
    for item in value:
        _check(isinstance(item, str) and bool(_GCP_LOCATION.match(item)), key, value, allowed)
    _check(len(set(value)) == len(value), key, value, allowed)
    return tuple(value)


def _gsm_labels(key: str, value: Any) -> dict[str, str]:
    allowed = ("a mapping of Secret Manager labels: keys start with a lower-case letter, keys "
               "and values use lower-case letters, digits, '_' and '-', at most 63 characters")
    _check(isinstance(value, Mapping), key, value, allowed)
    for name, text in value.items():
        _check(isinstance(name, str) and bool(_GSM_LABEL_KEY.match(name)), key, value, allowed)
        _check(isinstance(text, str) and bool(_GSM_LABEL_VALUE.match(text)), key, value, allowed)
    return dict(value)


def _rotation(key: str, value: Any) -> str:
    allowed = "a string or integer of at most 64 characters, e.g. \"2026-12\""
    _check(isinstance(value, (str, int)) and not isinstance(value, bool), key, value, allowed)
    text = str(value)
    _check(0 < len(text) <= 64, key, value, allowed)
    return text


def _grafana(config: Mapping[str, Any], role: RoleSettings) -> GrafanaSettings:
    s = _section(config, "grafana", ("namespace", "datasourceName", "datasourceUid", "sslmode",
                                     "postgresVersion", "maxOpenConns", "datasourceLabel",
                                     "dashboardLabel", "folderAnnotation", "folder"))
    d = GrafanaSettings()
    return GrafanaSettings(
        namespace=_read(s, "grafana", "namespace", d.namespace, lambda k, v: _string(
            k, v, _DNS_LABEL, "a namespace: a DNS label, at most 63 characters", 63)),
        datasource_name=_read(s, "grafana", "datasourceName", d.datasource_name,
                              lambda k, v: _string(k, v, re.compile(r"^[^\x00-\x1f$\"\\{}]+$"),
                                                   "printable text without $, {, }, \" or "
                                                   "\\", 100)),
        datasource_uid=_read(s, "grafana", "datasourceUid", d.datasource_uid,
                             lambda k, v: _string(k, v, re.compile(r"^[A-Za-z0-9_-]+$"),
                                                  "a Grafana uid: letters, digits, '_' and "
                                                  "'-', at most 40 characters", 40)),
        sslmode=_read(s, "grafana", "sslmode", d.sslmode, _sslmode),
        postgres_version=_read(s, "grafana", "postgresVersion", d.postgres_version,
                               _postgres_version),
        max_open_conns=_read(s, "grafana", "maxOpenConns", None,
                             lambda k, v: _pool_size(k, v, role.connection_limit)),
        datasource_label=_read(s, "grafana", "datasourceLabel", d.datasource_label, _label),
        dashboard_label=_read(s, "grafana", "dashboardLabel", d.dashboard_label, _label),
        folder_annotation=_read(s, "grafana", "folderAnnotation", d.folder_annotation,
                                _annotation_key),
        folder=_read(s, "grafana", "folder", d.folder, lambda k, v: _string(
            k, v, re.compile(r"^[^\x00-\x1f/]+$"), "a folder title without '/'", 100)),
    )


def _pool_size(key: str, value: Any, connection_limit: int) -> int:
    allowed = (f"an integer from 1 to role.connectionLimit ({connection_limit}): Grafana must "
               "not open more connections than the role may hold")
    _check(isinstance(value, int) and not isinstance(value, bool), key, value, allowed)
    _check(1 <= value <= connection_limit, key, value, allowed)
    return value


def _sslmode(key: str, value: Any) -> str:
    _check(value in SSL_MODES, key, value,
           "require, the only mode for now: verify-ca and verify-full need CloudNativePG's CA "
           "in Grafana, which the datasource does not carry yet, and the policy pack refuses "
           "disable, allow and prefer, which may connect without TLS")
    return value


def _postgres_version(key: str, value: Any) -> int:
    _check(value in POSTGRES_VERSIONS and not isinstance(value, bool), key, value,
           "one of " + ", ".join(str(v) for v in POSTGRES_VERSIONS) + ": the role is a member "
           "of pg_read_all_data, which PostgreSQL has only from 14")
    return value


def _annotation_key(key: str, value: Any) -> str:
    _check(isinstance(value, str) and _valid_label_key(value), key, value,
           "a Kubernetes annotation key such as grafana_folder")
    return value


# What each derived Kubernetes object name is made of, for the error that refuses it.
_DERIVED_NAMES: tuple[tuple[str, str, Callable[[Settings], str], str], ...] = (
    ("role.name", "the role's Secret", names.role_secret,
     "cluster.name, '-', role.name with '_' as '-'"),
    ("role.name", "the DatabaseRole", names.database_role,
     "cluster.name, '-', role.name with '_' as '-'"),
    ("grafana.datasourceUid", "the datasource Secret", names.datasource_secret,
     "the uid in lower case with '_' as '-', then '-datasource'"),
)


def _check_derived_names(settings: Settings) -> None:
    """Refuse settings that are valid one by one but name an object the API server rejects."""
    # manifests/names.py derives the names; checking what it returns keeps the two in step.
    values = {"role.name": settings.role.name,
              "grafana.datasourceUid": settings.grafana.datasource_uid}
    for key, what, derive, recipe in _DERIVED_NAMES:
        name = derive(settings)
        _check(len(name) <= 253 and bool(_DNS_SUBDOMAIN.match(name)), key, values[key],
               f"a value that gives {what} a valid Kubernetes name; here it would be "
               f"{name!r} ({recipe}), and an object name must be a DNS subdomain: lower-case "
               "letters, digits, '-' and '.', starting and ending with a letter or digit, at "
               "most 253 characters")


def load_settings(config: Mapping[str, Any], gcp_project: Any = None,
                  secret_keys: Collection[str] = ()) -> Settings:
    """Validate a stack's config mapping (keys without the project prefix) into Settings.

    An error about a key in `secret_keys` (set with `pulumi config set --secret`) shows
    `(secret)` in place of the value.
    """
    try:
        return _validated(config, gcp_project)
    except SettingsError as error:
        refused = error
    # Raised outside the except block, so the refused value is not kept as its context either.
    if refused.key.split(".")[0] not in secret_keys:
        raise refused
    raise SettingsError(refused.key, _SECRET, refused.allowed)


def _validated(config: Mapping[str, Any], gcp_project: Any) -> Settings:
    for name in sorted(set(config) - set(SECTIONS)):
        raise SettingsError(name, config[name],
                            "an unknown key; this program reads " + ", ".join(SECTIONS))
    role = _role(config)
    settings = Settings(
        cluster=_cluster(config),
        role=role,
        secret=_secret(config, gcp_project),
        grafana=_grafana(config, role),
    )
    _check_derived_names(settings)
    return settings


def load_stack_config(stack_config: Mapping[str, str], secret_keys: Collection[str] = (),
                      gcp_project: Any = None) -> Settings:
    """Settings from the engine's whole config, `namespace:key` to the value's raw text.

    Every key of this project is read, so a misspelt one is refused rather than ignored.
    """
    prefix = f"{PROJECT}:"
    own = {key.removeprefix(prefix): _parse(raw) for key, raw in stack_config.items()
           if key.startswith(prefix)}
    secret = {key.removeprefix(prefix) for key in secret_keys if key.startswith(prefix)}
    return load_settings(own, gcp_project, secret)


def _parse(raw: str) -> Any:
    # Pulumi passes a structured value as JSON text and a plain one as typed; a plain value
    # stays a string, so the check of its key says what is allowed instead of a JSON error.
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
