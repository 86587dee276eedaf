"""The password lives only in Secret Manager's version and Pulumi's encrypted state."""

from __future__ import annotations

import gc
import json
import logging
import re
import string
import traceback

import pytest
import yaml
from hypothesis import given, settings as hypothesis_settings, strategies as st

import render
from manifests.datasource import PASSWORD_TEMPLATE
from settings import SettingsError, load_settings
from manifests import datasource

P = "litellm-observability"


def go_to_json(text: str) -> str:
    """A Go string as sprig's toJson (encoding/json.Marshal) writes it, HTML escaping included."""
    # Written out rather than json.dumps: Go escapes <, >, &, U+2028 and U+2029 and writes
    # \b and \f as \u0008 and \u000c; the test must see exactly what ESO emits.
    short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    out = []
    for char in text:
        if char in short:
            out.append(short[char])
        elif ord(char) < 0x20 or char in "<>&\u2028\u2029":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def eso_render(template: str, password: str) -> str:
    """Render the datasource template as ESO's v2 engine does for this one expression."""
    assert template.count("{{") == 1 and PASSWORD_TEMPLATE in template
    return template.replace(PASSWORD_TEMPLATE, go_to_json(password.replace("$", "$$")))


def grafana_expand(value: str, environment: dict[str, str]) -> str:
    """Grafana's provisioning rule: `$$` is a literal `$`, `$NAME`/`${NAME}` read the env."""
    def expand(part: str) -> str:
        return re.sub(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
                      lambda m: environment.get(m.group(1) or m.group(2), ""), part)
    return "$".join(expand(part) for part in value.split("$$"))


def provisioned_password(password: str) -> str:
    """What Grafana ends up using as the password, from the template through provisioning."""
    template = datasource.provisioning_template(load_settings({}, "litellm-lab-4821"))
    document = yaml.safe_load(eso_render(template, password))
    raw = document["datasources"][0]["secureJsonData"]["password"]
    return grafana_expand(raw, {"HOME": "/root", "PASSWORD": "leak"})


PRINTABLE = st.text(
    alphabet=st.one_of(st.sampled_from(string.printable),
                       st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))),
    min_size=1, max_size=64)


@hypothesis_settings(max_examples=400, deadline=None)
@given(PRINTABLE)
def test_any_printable_password_survives_template_yaml_and_grafana_expansion(password):
    assert provisioned_password(password) == password


def test_the_tricky_ones_explicitly():
    for password in ["$HOME", "${PASSWORD}", "$$", "a$", "'\"", "x: y", "- [a]", "#c", "\\n",
                     "{{ .x }}", "<&>", "tab\there", "line\nbreak", "\u2028"]:
        assert provisioned_password(password) == password


def test_the_grafana_emulation_would_catch_a_missing_escape():
    template = datasource.provisioning_template(load_settings({}, "litellm-lab-4821"))
    unescaped = template.replace(PASSWORD_TEMPLATE, go_to_json("pa${HOME}ss"))
    raw = yaml.safe_load(unescaped)["datasources"][0]["secureJsonData"]["password"]
    assert grafana_expand(raw, {"HOME": "/root"}) == "pa/rootss"


def _all_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _all_strings(item)


def test_password_appears_nowhere_but_the_secret_version(lab_run, tmp_path):
    password = render._fake_password("grafana-ro-password", {"keepers": {"rotation": "2026-12"}})
    holders = [r.name for r in lab_run.resources
               if any(password in text for text in _all_strings(r.inputs))]
    assert holders == ["grafana-ro-version"]
    assert lab_run.named("grafana-ro-version").secret_paths == ["secretData"]

    assert not any(password in text for text in _all_strings(lab_run.outputs))
    assert not any(password in line for line in lab_run.logs)
    for obj in lab_run.kubernetes_objects():
        assert password not in json.dumps(obj)

    written = render.write_render(lab_run, tmp_path / "lab")
    assert written
    for path in written:
        assert password not in path.read_text(encoding="utf-8"), path


def test_generated_password_is_kept_secret_in_state(lab_run):
    generator = lab_run.named("grafana-ro-password")
    assert set(generator.additional_secret_outputs) >= {"result"}
    assert lab_run.named("grafana-ro-version").secret_paths == ["secretData"]
    assert lab_run.secret_outputs == set()


def test_rotation_changes_only_the_password_and_its_version(lab_config):
    before = render.run_program(lab_config)
    lab_config[f"{P}:secret"]["rotation"] = "2027-01"
    after = render.run_program(lab_config)

    assert [r.urn for r in before.resources] == [r.urn for r in after.resources]
    changed = [b.name for b, a in zip(before.resources, after.resources)
               if b.inputs != a.inputs]

    assert sorted(changed) == ["grafana-ro-password", "grafana-ro-version"]
    assert after.named("grafana-ro-password").inputs["keepers"] == {"rotation": "2027-01"}
    assert before.outputs == after.outputs


class RefusingMocks(render.ClusterMocks):
    """The lab's mocks, except that the provider refuses one resource with a given message."""

    def __init__(self, refused: str, message: str):
        super().__init__(render.EMPTY_CLUSTER_SPEC)
        self.refused = refused
        self.message = message

    def new_resource(self, args):
        if args.name == self.refused:
            raise RuntimeError(self.message)
        return super().new_resource(args)


def failed_run(config, refused: str, message: str, caplog) -> tuple[str, str, list[str]]:
    """Run the program with one resource refused: the error, all error text, what registered."""
    monitor = render.RecordingMonitor(RefusingMocks(refused, message))
    logs: list[str] = []
    try:
        render.run_program(config, monitor=monitor, logs=logs)
    except Exception as error:  # whichever error the run ends with is what the operator sees
        text = "".join(traceback.format_exception(error)) + "\n".join(logs)
        shown = str(error)
    else:
        raise AssertionError(f"the run must fail when {refused} is refused")
    # Other outputs of the failed run may hold errors nobody awaited; asyncio reports each
    # on stderr when it is collected, as a real run's process does when it exits.
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        gc.collect()
    return shown, text + caplog.text, [r.name for r in monitor.registrations]


MOCK_PASSWORD = render._fake_password("grafana-ro-password", {"keepers": {"rotation": "2026-12"}})


@pytest.mark.parametrize("refused", ["grafana-ro-version", "grafana-ro-external-secret",
                                     "litellm-spend-external-secret"])
def test_errors_never_echo_a_secret_value(lab_config, refused, caplog):
    error, text, registered = failed_run(lab_config, refused, "the API server is unavailable",
                                         caplog)

    assert MOCK_PASSWORD not in text
    assert error == "the API server is unavailable"
    # The failure came after the password was generated, so an error could have carried it.
    assert "grafana-ro-password" in registered


def test_the_echo_check_sees_a_password_that_an_error_carries(lab_config, caplog):
    _, text, _ = failed_run(lab_config, "grafana-ro-external-secret",
                            f"refused: password {MOCK_PASSWORD}", caplog)
    assert MOCK_PASSWORD in text


def test_a_secret_config_value_is_never_echoed_by_the_error_that_refuses_it(lab_config):
    lab_config[f"{P}:grafanaPassword"] = "Hunter2-Leaked"
    with pytest.raises(SettingsError) as raised:
        render.run_program(lab_config, secret_keys=(f"{P}:grafanaPassword",))
    assert str(raised.value) == (f"config {P}:grafanaPassword = (secret) is invalid: an "
                                 "unknown key; this program reads cluster, role, secret, "
                                 "grafana")
    assert raised.value.__context__ is None


def test_a_secret_section_the_cli_names_in_its_environment_is_not_echoed_either(
        lab_config, monkeypatch):
    # The CLI's language host lists the secret keys as JSON in PULUMI_CONFIG_SECRET_KEYS.
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps([f"{P}:role"]))
    lab_config[f"{P}:role"]["connectionLimit"] = 4321
    with pytest.raises(SettingsError) as raised:
        render.run_program(lab_config)
    assert str(raised.value) == (f"config {P}:role.connectionLimit = (secret) is invalid: "
                                 "an integer from 1 to 100")
