"""Atomic results: folder swaps that survive a kill between renames, stale temporary
files removed at the next start, provenance in every result folder."""

from __future__ import annotations

import json

import pytest
from folder_checks import check_completed
from mpi4py import MPI
from shared_cases import TINY

from femli.case.checks import parse_case
from femli.outputs.files import (
    atomic_write_json,
    clean_stale,
    fresh_dir,
    recover_dir,
    replace_dir,
)
from femli.outputs.folder import claim, tracking
from femli.pipeline import run_case


def test_replace_dir_and_recover_a_cut_short_swap(tmp_path):
    final, tmp = tmp_path / "fields", tmp_path / "fields.tmp"
    with tracking(tmp_path):  # as in a run: the folders are recorded as femli's
        for content in ("old", "new"):
            fresh_dir(tmp)
            (tmp / "a.txt").write_text(content)
            replace_dir(tmp, final)
        assert (final / "a.txt").read_text() == "new" and not tmp.exists()
        # killed between "fields -> fields.old" and "fields.tmp -> fields":
        final.rename(tmp_path / "fields.old")
        tmp.mkdir()
        (tmp / "a.txt").write_text("newer, maybe partial")
        recover_dir(final)  # no completion marker: the old complete folder comes back
        assert (final / "a.txt").read_text() == "new"
        assert not tmp.exists() and not (tmp_path / "fields.old").exists()
        # the same with a complete new folder (its marker written last): the new one wins
        final.rename(tmp_path / "fields.old")
        tmp.mkdir()
        atomic_write_json(tmp / "state.json", {"t": 1.0})
        recover_dir(final, "state.json")
        assert json.loads((final / "state.json").read_text()) == {"t": 1.0}


def test_clean_stale_removes_only_temporary_files_of_recorded_names(tmp_path):
    with tracking(tmp_path):
        for name in ("metrics.json", "plots/a.png", "surface.png"):
            claim(tmp_path / name)
        claim(tmp_path / "fields.tmp")
    keep = [tmp_path / "metrics.json", tmp_path / "plots" / "a.png", tmp_path / "x.tmp.keep"]
    keep += [tmp_path / ".draft.tmp", tmp_path / "sub" / ".cache.tmp"]  # the user's
    keep += [tmp_path / ".notes.txt.abcd1234.tmp"]  # femli's form, of a name it never wrote
    stale = [
        tmp_path / ".metrics.json.k2j3ab_9.tmp",
        tmp_path / ".surface.png.tmp.png",
        tmp_path / "plots" / ".a.png.tmp.png",
        tmp_path / ".femli-probe.abc.tmp",
    ]
    for path in keep + stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    (tmp_path / "fields.tmp").mkdir()
    (tmp_path / "checkpoint.tmp").mkdir()  # not recorded: not femli's
    removed = clean_stale(tmp_path, {"fields": None, "checkpoint": "state.json"})
    assert sorted(removed) == sorted(stale)
    assert all(p.exists() for p in keep) and not (tmp_path / "fields.tmp").exists()
    assert (tmp_path / "checkpoint.tmp").is_dir()


@pytest.mark.mpi
def test_a_run_cleans_up_after_a_killed_one_and_records_provenance(mpi_tmp_path):
    out = mpi_tmp_path / "case"
    if MPI.COMM_WORLD.rank == 0:
        out.mkdir()
        with tracking(out):  # what a killed run leaves, recorded as it wrote it
            fresh_dir(out / "fields.old")  # a swap cut short: old fields kept aside
            (out / "fields.old" / "solution.xdmf").write_text("<Xdmf/>")
            claim(out / "metrics.json")
            (out / ".metrics.json.abcd1234.tmp").write_text("{")
            atomic_write_json(out / "status.json", {"status": "failed"})  # the previous run
    MPI.COMM_WORLD.barrier()
    config = parse_case(TINY)
    run_case(config, out, MPI.COMM_WORLD)
    MPI.COMM_WORLD.barrier()
    check_completed(out, config.digest())
    assert (out / "fields" / "solution.xdmf").is_file()  # recovered, not lost
    record = json.loads((out / "provenance.json").read_text())
    assert record["exit_status"] == "completed" and record["mpi_size"] == MPI.COMM_WORLD.size
    assert record["config_sha256"] == config.digest() and record["case"] == "tiny"
    assert record["started"] <= record["finished"]
    assert {"femli", "dolfinx", "petsc", "gmsh", "mpi", "python"} <= set(record["software"])
    assert "git_commit" in record and record["femli"] == record["software"]["femli"]
