"""An example applied to the emulator as a user's account would hold it.

``deployed_module`` creates the sandbox's stand-ins for what the file assumes exists (its VPC,
AMIs, roles given by ARN), compiles the file with their ids, and runs ``terraform init`` and
``apply`` on a moto-pointed copy of the output (for a child module, through a root module that
calls it). Used by every test that needs a real deployment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from batchform.build import analyze, render_environment
from batchform.emit import emit
from batchform.model import Environment
from batchform.overlay import load_chain, show
from batchform.sandbox.emulator import MotoServer
from batchform.sandbox.override import moto_copy
from batchform.sandbox.standins import (
    create_stand_ins,
    name_placement_groups,
    refused_jobs,
    without_refused_jobs,
)
from tests.harness import terraform as tf
from tests.harness.yaml_files import read_yaml


@dataclass(frozen=True)
class Deployment:
    module: Path  # the applied copy, with its state; removed when the context exits
    config: Path  # the file as applied (stand-in ids substituted)
    env: Environment
    # the ids the file wrote -> the stand-ins' ids that replaced them (sandbox/standins.py)
    replacements: Mapping[str, str] = field(default_factory=dict)


Apply = Callable[[Path, dict[str, str]], object]
"""How a moto-pointed module is applied: ``(module directory, process environment)``."""


def init_and_apply(module: Path, env: dict[str, str]) -> None:
    """``terraform init`` and ``apply`` (importing what moto answered as duplicates)."""
    tf.init(module, env)
    tf.apply(module, env)


@contextmanager
def deployed_module(
    server: MotoServer, config: Path, work: Path, apply: Apply = init_and_apply
) -> Iterator[Deployment]:
    """``config`` compiled and applied to ``server``, which must hold nothing of it yet.
    ``apply`` replaces the default init + apply (the benchmarks time theirs, with targets)."""
    analysis = analyze(config)
    assert analysis.env is not None
    stand_ins = create_stand_ins(analysis.env, server)
    patched = work / f"applied-{config.name}"
    # The merged file, as the sandbox does: an id to replace may sit in a base the file extends,
    # and the patched copy lives elsewhere than the bases (compiler/batchform/overlay.py).
    patched.write_text(stand_ins.apply(show(load_chain(str(config)))), encoding="utf-8")
    patched.write_text(
        as_moto_holds_it(patched.read_text(encoding="utf-8"), analysis.env), encoding="utf-8"
    )
    analysis = analyze(patched)
    env = analysis.env
    assert env is not None and not analysis.failed()
    emit(render_environment(env, config.name), work / "source" / env.name)
    # A child module gets the provider of the root module that wraps it (sandbox/override.py),
    # in the file's region, as the configuration embedding it would configure it.
    region = env.region if env.terraform.output == "module" else None
    with moto_copy(work / "source" / env.name, server.url, region=region) as module:
        apply(module, server.env())
        yield Deployment(module, patched, env, dict(stand_ins.replacements))


def as_moto_holds_it(text: str, env: Environment) -> str:
    """The file as the sandbox applies it to moto (compiler/batchform/sandbox/standins.py):
    placement groups named instead of created, multi-container job definitions (and the
    schedules submitting them) left out. A file with neither comes back unchanged."""
    named, _ = name_placement_groups(env)
    kept, _ = without_refused_jobs(named)
    if kept is env:
        return text
    data = read_yaml(text)
    for key, ce in (data.get("compute_environments") or {}).items():
        group = kept.compute_environments[key].placement_group
        if isinstance(group, str) and isinstance(ce.get("placement_group"), dict):
            ce["placement_group"] = group
    refused = refused_jobs(env)
    for key in refused:
        data["job_definitions"].pop(key)
    if data.get("schedules"):
        data["schedules"] = {
            k: s for k, s in data["schedules"].items() if s["job_definition"] not in refused
        }
    return yaml.safe_dump(data, sort_keys=False)


__all__ = ["Apply", "Deployment", "as_moto_holds_it", "deployed_module", "init_and_apply"]
