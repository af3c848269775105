"""Run kinds are the one seam between a case and what is solved (:mod:`femli.runs`): a
fourth kind is one new class, registered, and ``run_case`` runs it (its solver, its
files, its metrics, its failure record) with nothing else changed."""

from __future__ import annotations

import copy
import json
import tomllib

import pytest
from mpi4py import MPI
from shared_cases import GROWTH, TINY

from femli import runs
from femli.case.checks import parse_case
from femli.outputs.disk import FolderError
from femli.outputs.files import atomic_write_bytes
from femli.parallel import on_root
from femli.pipeline import output_names, run_case
from femli.solve.newton import SolverError


class Probe(runs.Stationary):
    """A fourth kind (where plate/strip cycling would go): the steady state of cases named
    ``probe*``, recording the load it reached and writing ``probe.txt``; ``fail``: its
    solve fails."""

    name = "probe"

    def __init__(self) -> None:
        self.loads: list[float] = []
        self.fail = False

    def applies(self, config) -> bool:
        return config.name.startswith("probe")

    def output_names(self, config) -> list[str]:
        return ["probe.txt"]

    def run(self, config, solver, output, summary, callback=None, checkpoint=None) -> dict:
        if self.fail:
            raise SolverError("probe: told to fail")
        super().run(config, solver, output, summary, callback, checkpoint)
        self.loads.append(solver.load)
        text = f"load {solver.load}\n".encode()
        on_root(solver.model.domain.comm, lambda: atomic_write_bytes(output / "probe.txt", text))
        return {"probe": {"load": solver.load}}


@pytest.fixture
def probe(monkeypatch) -> Probe:
    """:class:`Probe` registered (first in ``runs.KINDS``) for one test."""
    monkeypatch.setattr(runs, "KINDS", list(runs.KINDS))
    assert runs.register(Probe) is Probe
    return runs.KINDS[0]


def users_file(path) -> None:
    path.parent.mkdir()
    path.write_text("mine")


def probe_case():
    return parse_case(copy.deepcopy(TINY) | {"name": "probe"})


def test_every_case_has_its_kind():
    growth = parse_case(tomllib.loads(GROWTH))
    transient = parse_case(copy.deepcopy(TINY) | {"time": {"t_end": 0.1}})
    kinds = [runs.kind_of(c).name for c in (parse_case(TINY), transient, growth)]
    assert kinds == ["stationary", "transient", "growth"]


@pytest.mark.mpi
def test_a_registered_kind_runs_through_run_case(mpi_tmp_path, probe):
    config = probe_case()
    assert runs.kind_of(config) is probe and runs.kind_of(parse_case(TINY)).name == "stationary"
    assert "probe.txt" in output_names(config)
    out = mpi_tmp_path / "probe"
    metrics = run_case(config, out, MPI.COMM_WORLD)
    assert probe.loads == [1.0] and metrics["probe"] == {"load": 1.0}
    assert (out / "probe.txt").read_text() == "load 1.0\n"
    assert json.loads((out / "metrics.json").read_text())["probe"] == {"load": 1.0}
    written = json.loads((out / ".femli-manifest.json").read_text())["written"]
    assert "probe.txt" in written  # femli's file: a clean start removes it
    foreign = mpi_tmp_path / "foreign"  # a user's probe.txt is not overwritten
    on_root(MPI.COMM_WORLD, lambda: users_file(foreign / "probe.txt"))
    with pytest.raises(FolderError, match=r"probe\.txt"):
        run_case(config, foreign, MPI.COMM_WORLD)


@pytest.mark.mpi
def test_a_registered_kind_records_its_failure(mpi_tmp_path, probe):
    probe.fail = True
    out = mpi_tmp_path / "failed"
    with pytest.raises(SolverError, match="told to fail"):
        run_case(probe_case(), out, MPI.COMM_WORLD)
    MPI.COMM_WORLD.barrier()
    status = json.loads((out / "status.json").read_text())
    assert (status["status"], status["run"], status["load_reached"]) == ("failed", "probe", 0.0)
    assert status["last_state"] == "fields/" and (out / "fields" / "solution.vtu").is_file()
