"""SpendDashboards: one ConfigMap per dashboard file, for Grafana's dashboard sidecar."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components import TYPE_PREFIX, child_options
from manifests import dashboards
from settings import Settings


class SpendDashboards(pulumi.ComponentResource):
    """The dashboards, as labelled ConfigMaps filed in the Grafana folder."""

    config_maps: pulumi.Output[list[str]]
    """The ConfigMaps' names, one per dashboard file."""
    uids: pulumi.Output[dict[str, str]]
    """Each dashboard file's fixed uid."""

    def __init__(self, name: str, settings: Settings, files: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE_PREFIX + "SpendDashboards", name, None, opts)
        for file_name, text in files.items():
            manifest = dashboards.config_map(settings, file_name, text)
            k8s.core.v1.ConfigMap(
                manifest["metadata"]["name"],
                metadata=manifest["metadata"],
                data=manifest["data"],
                opts=child_options(self, opts),
            )
        self.config_maps = pulumi.Output.from_input(
            [dashboards.config_map_name(file_name) for file_name in files])
        self.uids = pulumi.Output.from_input(
            {file_name: dashboards.dashboard_uid(text) for file_name, text in files.items()})
        self.register_outputs({"config_maps": self.config_maps, "uids": self.uids})
