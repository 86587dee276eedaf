"""The offline render: the main job a reviewer runs without a cloud."""

from __future__ import annotations

import yaml

import render
from manifests.dashboards import load_dashboards


def test_render_writes_every_object_dashboard_and_output(tmp_path, capsys):
    assert render.main(["lab", "--out", str(tmp_path)]) == 0

    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    dashboards = load_dashboards()
    assert written == sorted(
        ["cloud-resources.yaml", "stack-outputs.json",
         "kubernetes/cluster-litellm-litellm-pg.yaml",
         "kubernetes/externalsecret-litellm-litellm-pg-grafana-ro.yaml",
         "kubernetes/externalsecret-monitoring-litellm-spend-datasource.yaml"]
        + [f"kubernetes/configmap-monitoring-grafana-dashboard-{n.removesuffix('.json')}.yaml"
           for n in dashboards]
        + [f"dashboards/{n}" for n in dashboards])
    for name, text in dashboards.items():
        assert (tmp_path / "dashboards" / name).read_text(encoding="utf-8") == text
    cloud = yaml.safe_load((tmp_path / "cloud-resources.yaml").read_text())
    by_name = {r["name"]: r for r in cloud}
    assert {(r["type"], r["name"]) for r in cloud} == {
        ("random:index/randomPassword:RandomPassword", "grafana-ro-password"),
        ("gcp:secretmanager/secret:Secret", "grafana-ro-secret"),
        ("gcp:secretmanager/secretVersion:SecretVersion", "grafana-ro-version"),
    }
    assert by_name["grafana-ro-version"]["inputs"] == {"secret": "grafana-ro-secret-id"}
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == (f"{12 + len(dashboards)} resources registered; wrote "
                                    f"{len(written)} files to {tmp_path}")


def test_render_with_the_live_cluster_shows_the_roles_it_keeps(tmp_path):
    live = tmp_path / "cluster.yaml"
    live.write_text(yaml.safe_dump({
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
        "metadata": {"name": "litellm-pg", "namespace": "litellm"},
        "spec": {"instances": 2, "managed": {"roles": [{"name": "analyst", "login": True}]}},
    }))
    assert render.main(["lab", "--out", str(tmp_path / "out"), "--live-cluster", str(live)]) == 0
    patch = yaml.safe_load(
        (tmp_path / "out" / "kubernetes" / "cluster-litellm-litellm-pg.yaml").read_text())
    assert [r["name"] for r in patch["spec"]["managed"]["roles"]] == ["analyst", "grafana_ro"]


def test_render_of_a_bad_stack_file_prints_the_error_and_exits_2(tmp_path, monkeypatch,
                                                                  capsys):
    config = render.stack_config("lab")
    config["litellm-observability:role"]["mode"] = "alter"
    monkeypatch.setattr(render, "stack_config", lambda stack: config)
    assert render.main(["lab", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == ("error: config litellm-observability:role.mode = "
                                       "'alter' is invalid: one of patch, databaseRole\n")
    assert list(tmp_path.iterdir()) == []


def test_render_of_a_section_given_as_plain_text_prints_what_is_allowed(tmp_path, monkeypatch,
                                                                        capsys):
    config = render.stack_config("lab")
    config["litellm-observability:role"] = "grafana_ro"
    monkeypatch.setattr(render, "stack_config", lambda stack: config)
    assert render.main(["lab", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == ("error: config litellm-observability:role = "
                                       "'grafana_ro' is invalid: a mapping of name, mode, "
                                       "connectionLimit, reclaimPolicy\n")
    assert list(tmp_path.iterdir()) == []
