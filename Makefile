# femli: two commands do all set-up on a fresh machine.
#   make demo   creates .venv if missing, runs the built-in default case into results/demo
#   make test   creates .venv if missing, runs ruff, mypy and the test suite (serial and 2 MPI ranks)
#   make docker builds the user image (docker/Dockerfile) with this checkout's git commit
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTEST_FLAGS ?= -q
# MPI tests reuse one process per rank; keep pytest's cache out of the way of two ranks
MPI_PYTEST := $(BIN)/mpiexec -n 2 $(BIN)/python -m pytest -p no:cacheprovider
# a rank that fails inside a collective can leave its partner waiting forever: bound each run
GUARD := timeout -k 20 1200

.PHONY: env demo test lint format test-serial test-mpi bench clean docker

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

# the user image; DOCKER="buildah --storage-driver vfs" DOCKER_FLAGS="--isolation chroot"
# builds it without a Docker engine. GIT_COMMIT: HEAD, "-dirty" with uncommitted changes.
DOCKER ?= docker
DOCKER_FLAGS ?=
IMAGE ?= femli
GIT_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
docker:
	$(DOCKER) build $(DOCKER_FLAGS) -f docker/Dockerfile --build-arg GIT_COMMIT=$(GIT_COMMIT) -t $(IMAGE) .

clean:
	rm -rf results .pytest_cache .ruff_cache
