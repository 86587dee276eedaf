"""The generated dashboards: committed as generated, valid models, and following conventions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import dashboard

import spend_dashboards
from spend_dashboards import DASHBOARD_DIR, build_all, queries, render
from spend_dashboards.postgres_query import DATASOURCE_TYPE

MODELS = build_all()
DATASOURCE = {"type": DATASOURCE_TYPE, "uid": "${datasource}"}
RANGE_PANELS = {
    "Totals", "Spend per day", "Spend by model",
    "Spend by key", "Spend by team", "Tokens per day", "Tokens by model", "Requests per day",
    "Failure rate per day", "Cost per 1K tokens by model",
}


def _panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in model["panels"] if panel["type"] != "row"]


def _all_panels() -> list[tuple[str, dict[str, Any]]]:
    return [(model["uid"], panel) for model in MODELS.values() for panel in _panels(model)]


def _variables(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in model["templating"]["list"]}


def test_committed_files_are_what_the_generator_writes() -> None:
    for name, model in MODELS.items():
        committed = (DASHBOARD_DIR / name).read_text(encoding="utf-8")
        assert committed == render(model), (
            f"{name} is stale: run `uv run python -m spend_dashboards` and commit the result")


def test_the_dashboard_folder_holds_only_generated_dashboards() -> None:
    # The stack ships every *.json in the folder as a ConfigMap.
    assert sorted(path.name for path in DASHBOARD_DIR.glob("*.json")) == sorted(MODELS)


def test_rendering_sorts_keys_indents_two_spaces_and_ends_with_a_newline() -> None:
    assert render({"b": 1, "a": [1]}) == '{\n  "a": [\n    1\n  ],\n  "b": 1\n}\n'


def test_dashboards_have_fixed_uids_shared_tags_and_utc() -> None:
    assert {name: model["uid"] for name, model in MODELS.items()} == {
        "litellm-spend.json": "litellm-spend",
        "litellm-budgets.json": "litellm-budgets",
    }
    for model in MODELS.values():
        assert model["tags"] == ["litellm", "spend"]
        assert model["timezone"] == "utc"
        assert model["time"] == {"from": "now-30d/d", "to": "now"}


def test_models_read_back_through_the_sdk_unchanged() -> None:
    # The SDK's models follow Grafana 11.6's dashboard schema; a field it does not know,
    # or a value of the wrong shape, would not survive the round trip.
    register_default_plugins()
    spend_dashboards.postgres_query.register()
    for model in MODELS.values():
        parsed = dashboard.Dashboard.from_json(model)
        assert json.loads(json.dumps(parsed, cls=JSONEncoder)) == model


def test_datasource_variable_defaults_to_the_given_uid() -> None:
    for model in build_all("other-uid").values():
        datasource = _variables(model)["datasource"]
        assert datasource["type"] == "datasource"
        assert datasource["query"] == DATASOURCE_TYPE
        assert datasource["current"] == {"selected": True, "text": "other-uid",
                                         "value": "other-uid"}
    assert _variables(MODELS["litellm-spend.json"])["datasource"]["current"]["value"] == (
        "litellm-spend")


def test_every_panel_and_target_uses_the_datasource_variable() -> None:
    for uid, panel in _all_panels():
        assert panel["datasource"] == DATASOURCE, (uid, panel["title"])
        assert [target["datasource"] for target in panel["targets"]] == [DATASOURCE]
    for model in MODELS.values():
        for variable in model["templating"]["list"]:
            if variable["type"] == "query":
                assert variable["datasource"] == DATASOURCE


def test_every_panel_has_a_description_a_unit_and_a_unique_id() -> None:
    for model in MODELS.values():
        ids = [panel["id"] for panel in model["panels"]]
        assert len(ids) == len(set(ids)), model["uid"]
        for panel in _panels(model):
            assert len(panel["description"]) > 40, panel["title"]
            assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, panel["title"]


def _units(panel: dict[str, Any]) -> dict[str, str]:
    units = {"*": panel["fieldConfig"]["defaults"]["unit"]}
    for override in panel["fieldConfig"]["overrides"]:
        for prop in override["properties"]:
            if prop["id"] == "unit":
                units[override["matcher"]["options"]] = prop["value"]
    return units


def test_units_are_usd_for_spend_short_for_counts_and_percent_for_shares() -> None:
    units = {panel["title"]: _units(panel) for _, panel in _all_panels()}
    assert units == {
        "Totals": {"*": "currencyUSD", "Requests": "short", "Failure rate": "percentunit",
                   "Tokens": "short"},
        "Spend per day": {"*": "currencyUSD"},
        "Spend by model": {"*": "currencyUSD"},
        "Spend by key": {"*": "currencyUSD", "Requests": "short", "Tokens": "short"},
        "Spend by team": {"*": "currencyUSD"},
        "Tokens per day": {"*": "short"},
        "Tokens by model": {"*": "short"},
        "Requests per day": {"*": "short"},
        "Failure rate per day": {"*": "percentunit"},
        "Cost per 1K tokens by model": {"*": "currencyUSD", "Tokens": "short"},
        "Keys at or over budget": {"*": "short"},
        "Keys closest to their budget": {"*": "percentunit"},
        "Key budgets": {"*": "currencyUSD", "Utilisation": "percentunit",
                        "Next reset": "dateTimeAsIso", "Increase until": "dateTimeAsIso"},
        "Teams at or over budget": {"*": "short"},
        "Teams closest to their budget": {"*": "percentunit"},
        "Team budgets": {"*": "currencyUSD", "Utilisation": "percentunit",
                         "Next reset": "dateTimeAsIso"},
    }


@pytest.mark.parametrize("title", ["Key budgets", "Team budgets"])
def test_a_missing_budget_shows_as_unlimited_never_as_zero(title: str) -> None:
    panel = next(panel for _, panel in _all_panels() if panel["title"] == title)
    mapped = {}
    for override in panel["fieldConfig"]["overrides"]:
        for prop in override["properties"]:
            if prop["id"] == "mappings":
                (mapping,) = prop["value"]
                assert mapping["type"] == "special"
                assert mapping["options"]["match"] == "null"
                mapped[override["matcher"]["options"]] = mapping["options"]["result"]["text"]
    assert mapped == {"Budget": "unlimited", "Remaining": "unlimited",
                      "Utilisation": "no budget"}


def test_team_key_and_model_are_multi_select_with_a_cheap_all() -> None:
    spend = _variables(MODELS["litellm-spend.json"])
    budgets = _variables(MODELS["litellm-budgets.json"])
    assert list(spend) == ["datasource", "team", "key", "model", "breakdown"]
    assert list(budgets) == ["datasource", "team", "key"]
    for variable in [spend["team"], spend["key"], spend["model"], budgets["team"],
                     budgets["key"]]:
        assert variable["multi"] is True
        assert variable["includeAll"] is True
        assert variable["allValue"] == "'__all'"
        assert variable["current"]["value"] == ["$__all"]
        assert variable["refresh"] == 2  # on time range change
        assert variable["sort"] == 5  # alphabetical, case-insensitive
        assert "LiteLLM_SpendLogs" not in variable["query"]


def test_range_panels_state_that_they_count_whole_utc_days() -> None:
    for _, panel in _all_panels():
        whole_days = "Counts whole UTC days" in panel["description"]
        assert whole_days == (panel["title"] in RANGE_PANELS), panel["title"]


def test_query_records_cover_every_target_and_query_variable() -> None:
    in_models = set()
    for model in MODELS.values():
        for panel in _panels(model):
            for target in panel["targets"]:
                in_models.add((model["uid"], panel["title"], target["refId"], target["rawSql"]))
        for variable in model["templating"]["list"]:
            if variable["type"] == "query":
                in_models.add((model["uid"], f"${variable['name']}", variable["name"],
                               variable["query"]))
    records = queries()
    assert {(r.dashboard_uid, r.panel_title, r.ref_id, r.sql) for r in records} == in_models
    assert len(records) == len(in_models)


def test_range_panels_carry_a_spend_logs_twin_and_budget_panels_none() -> None:
    for record in queries():
        if record.panel_title in RANGE_PANELS or record.panel_title == "$model":
            assert record.straightforward is not None, record.panel_title
            assert "LiteLLM_SpendLogs" in record.straightforward
            assert "LiteLLM_DailyUserSpend" not in record.straightforward
        else:
            assert record.straightforward is None, record.panel_title


def test_time_series_targets_are_marked_as_such() -> None:
    formats = {r.panel_title: r.format for r in queries() if r.format == "time_series"}
    assert sorted(formats) == ["Failure rate per day", "Requests per day", "Spend per day",
                               "Tokens per day"]
