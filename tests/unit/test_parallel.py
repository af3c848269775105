"""Rank-local failures raised on every rank (femli.parallel)."""

from __future__ import annotations

import threading

import pytest
from mpi4py import MPI

from femli.messages import ConfigError
from femli.parallel import RankError, on_root, together
from femli.study import StudyError

COMM = MPI.COMM_WORLD


class Renamed(Exception):
    """Picklable (module level), but unpickled as Renamed(message): another message."""

    def __init__(self, name):
        super().__init__(f"bad name {name!r}")


@pytest.mark.mpi
def test_on_root_runs_the_job_once_and_shares_its_result():
    calls = []
    result = on_root(COMM, lambda: calls.append(COMM.rank) or {"answer": 42})
    assert result == {"answer": 42}
    assert calls == ([0] if COMM.rank == 0 else [])


@pytest.mark.mpi
def test_on_root_raises_the_error_of_rank_0_on_every_rank():
    def job():
        raise PermissionError("results/ is read-only (test)")

    with pytest.raises(PermissionError, match="read-only"):
        on_root(COMM, job)


@pytest.mark.mpi
def test_an_error_that_cannot_be_sent_arrives_as_its_text():
    class Local(Exception):
        def __init__(self, lock):
            super().__init__("with a lock")
            self.lock = lock  # cannot be pickled

    def job():
        raise Local(threading.Lock())

    expected = Local if COMM.rank == COMM.size - 1 else RankError  # the failing rank: its own
    with pytest.raises(expected, match="with a lock"), together(COMM):
        if COMM.rank == COMM.size - 1:
            job()


@pytest.mark.mpi
def test_together_raises_on_every_rank_when_one_rank_fails():
    last = COMM.size - 1
    with pytest.raises(ValueError, match=f"rank {last} fails"), together(COMM):
        if COMM.rank == last:
            raise ValueError(f"rank {last} fails")
    with together(COMM):  # nothing raised: nothing happens
        pass


@pytest.mark.mpi
def test_on_root_can_keep_a_large_result_on_rank_0():
    result = on_root(COMM, lambda: list(range(5)), share=False)
    assert result == (list(range(5)) if COMM.rank == 0 else None)


@pytest.mark.mpi
@pytest.mark.parametrize("error", [ConfigError, StudyError])
def test_a_list_of_problems_reaches_every_rank_word_for_word(error):
    def job():
        raise error(["a: must be > 0", "b: not a number"], "case.toml")

    with pytest.raises(error, match=r"^case\.toml: a: must be > 0; b: not a number$") as info:
        on_root(COMM, job)
    assert info.value.problems == ["a: must be > 0", "b: not a number"]


@pytest.mark.mpi
def test_an_error_that_unpickles_into_another_message_arrives_as_its_text():
    def job():
        raise Renamed("x")

    with pytest.raises(RankError, match=r"^rank 0: Renamed: bad name 'x'$"):
        on_root(COMM, job)
