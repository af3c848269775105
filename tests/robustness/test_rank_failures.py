"""A file rank 0 cannot write fails the run on every rank, with the same error (and
exit code): never rank 0 alone while the others carry on into the next collective."""

from __future__ import annotations

import json

import pytest
from mpi4py import MPI
from shared_cases import TINY

from femli.case.checks import parse_case
from femli.cli import classify
from femli.outputs import metrics
from femli.pipeline import run_case

COMM = MPI.COMM_WORLD


@pytest.mark.mpi
def test_a_result_file_rank_0_cannot_write_fails_the_run_on_every_rank(mpi_tmp_path, monkeypatch):
    """Before, rank 0 raised alone and the other ranks returned a completed run."""

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device (test)")

    monkeypatch.setattr(metrics, "write_surface_csv", no_space)
    out = mpi_tmp_path / "full_disk"
    with pytest.raises(OSError, match="No space left") as info:
        run_case(parse_case(TINY), out, COMM)
    assert classify(info.value)[0] == 2  # same exit code on every rank
    COMM.barrier()
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed" and "No space left" in status["error"]
    assert not (out / "metrics.json").exists()
