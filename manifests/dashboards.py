"""The ConfigMaps that carry each dashboard file to Grafana's dashboard sidecar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import spend_dashboards
from manifests import names
from settings import Settings

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboards" / "litellm"
DATASOURCE_VARIABLE = "datasource"
"""The template variable every dashboard picks its datasource through."""


def load_dashboards(folder: Path = DASHBOARD_DIR) -> dict[str, str]:
    """Every `*.json` file in the folder, by file name, as committed (byte for byte)."""
    files = {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.json"))}
    if not files:
        raise FileNotFoundError(f"no dashboard files (*.json) in {folder}")
    for name, text in files.items():
        model = json.loads(text)
        if not isinstance(model.get("uid"), str) or not model["uid"]:
            raise ValueError(f"dashboard {folder / name} has no uid; every dashboard needs a "
                             "fixed uid so links to it stay stable")
    return files


def dashboard_uid(text: str) -> str:
    """The dashboard's fixed uid."""
    return json.loads(text)["uid"]


def config_map_name(file_name: str) -> str:
    """`litellm-spend.json` ships as ConfigMap `grafana-dashboard-litellm-spend`."""
    return "grafana-dashboard-" + file_name.removesuffix(".json").lower().replace("_", "-")


def with_datasource_uid(file_name: str, text: str, uid: str) -> str:
    """The dashboard file with its datasource variable defaulting to the datasource `uid`."""
    model = json.loads(text)
    variables = [variable for variable in model.get("templating", {}).get("list", [])
                 if variable.get("name") == DATASOURCE_VARIABLE]
    if len(variables) != 1:
        raise ValueError(f"dashboard {file_name} has {len(variables)} template variables named "
                         f"{DATASOURCE_VARIABLE!r}; it needs one, to pick the stack's datasource")
    (variable,) = variables

    current = {**variable.get("current", {}), "text": uid, "value": uid}
    # On the uid the file was generated for, the committed file ships byte for byte.
    if variable.get("current") == current:
        return text
    variable["current"] = current
    # Rendered as the generator writes its files: the text is what `spend_dashboards` would
    # commit for this uid.
    return spend_dashboards.render(model)


def config_map(settings: Settings, file_name: str, text: str) -> dict[str, Any]:
    """One dashboard file in a ConfigMap, labelled for the sidecar and filed in the folder.

    The file's datasource variable defaults to the stack's datasource uid.
    """
    label, value = settings.grafana.dashboard_label
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(file_name),
            "namespace": settings.grafana.namespace,
            "labels": {label: value, **names.MANAGED_BY},
            "annotations": {settings.grafana.folder_annotation: settings.grafana.folder},
        },
        "data": {file_name: with_datasource_uid(file_name, text, settings.grafana.datasource_uid)},
    }
