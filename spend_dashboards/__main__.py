"""Regenerate dashboards/litellm/*.json: `uv run python -m spend_dashboards`."""

from spend_dashboards import write_all

for path in write_all():
    print(f"wrote {path}")
