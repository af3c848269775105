# femli: two commands do all set-up on a fresh machine.
#   make demo   creates .venv if missing, runs the built-in default case into results/demo
#   make test   creates .venv if missing, runs ruff, mypy and the test suite (serial and 2 MPI ranks)
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTEST_FLAGS ?= -q
# MPI tests reuse one process per rank; keep pytest's cache out of the way of two ranks
MPI_PYTEST := $(BIN)/mpiexec -n 2 $(BIN)/python -m pytest -p no:cacheprovider
# a rank that fails inside a collective can leave its partner waiting forever: bound each run
GUARD := timeout -k 20 1200

.PHONY: env demo test lint format test-serial test-mpi bench clean

env:
	@bash scripts/bootstrap.sh

demo: env
	$(BIN)/femli demo --output results/demo

lint: env
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: env
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test-serial: env
	$(GUARD) $(BIN)/python -m pytest $(PYTEST_FLAGS)

test-mpi: env
	$(GUARD) $(MPI_PYTEST) $(PYTEST_FLAGS) -m mpi

test: lint test-serial test-mpi

# scaling benchmark (tens of minutes; not part of test): benchmarks/README.md
bench: env
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf results .pytest_cache .ruff_cache
