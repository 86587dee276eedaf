"""The Grafana datasource provisioning file, as the template ESO renders with the password."""

from __future__ import annotations

from typing import Any

import yaml

from manifests import names
from settings import Settings

DATASOURCE_TYPE = "grafana-postgresql-datasource"

# ESO renders this Go template (sprig functions) with the secret's value bound to .password.
# Grafana expands $NAME and ${NAME} in provisioning files and turns $$ into $, so every $ is
# doubled first; toJson then makes the value one double-quoted scalar, which YAML reads back
# exactly whatever quotes, backslashes, colons or newlines the password holds.
PASSWORD_TEMPLATE = '{{ .password | replace "$" "$$" | toJson }}'
_PASSWORD_SLOT = "__PASSWORD_FROM_SECRET_MANAGER__"


def datasource(settings: Settings) -> dict[str, Any]:
    """The datasource entry, everything but the password."""
    pool = settings.max_open_conns
    return {
        "name": settings.grafana.datasource_name,
        "uid": settings.grafana.datasource_uid,
        "type": DATASOURCE_TYPE,
        "access": "proxy",
        "url": f"{names.service_host(settings)}:5432",
        "user": settings.role.name,
        "isDefault": False,
        "editable": False,
        "jsonData": {
            "database": settings.cluster.database,
            "sslmode": settings.grafana.sslmode,
            "postgresVersion": settings.grafana.postgres_version,
            "timescaledb": False,
            # Grafana's pool must fit inside the role's CONNECTION LIMIT, or refreshes fail
            # with "too many connections for role" instead of queueing.
            "maxOpenConns": pool,
            "maxIdleConns": min(2, pool),
            "connMaxLifetime": 14400,
        },
        "secureJsonData": {"password": _PASSWORD_SLOT},
    }


def provisioning_template(settings: Settings) -> str:
    """The provisioning file as an ESO template; the password appears only as a reference."""
    document = {"apiVersion": 1, "datasources": [datasource(settings)]}
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    return text.replace(_PASSWORD_SLOT, PASSWORD_TEMPLATE)
