"""Fixtures that run the real program under Pulumi's mocks."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

import render

LAB = render.stack_config("lab")


@pytest.fixture
def lab_config() -> dict[str, Any]:
    """The lab stack's config, as `Pulumi.lab.yaml` sets it (a copy tests may change)."""
    return copy.deepcopy(LAB)


@pytest.fixture
def run_stack() -> Callable[..., render.ProgramRun]:
    """Run `__main__.py` with a config and, optionally, the live Cluster's spec."""
    return render.run_program


@pytest.fixture(scope="module")
def lab_run() -> render.ProgramRun:
    """One run of the lab stack against a Cluster that manages no roles yet."""
    return render.run_program(copy.deepcopy(LAB))
