# One entry point for set-up, build, tests, demo and benchmarks. Every target sets up what it needs
# (idempotently), so `make demo` and `make test` work on a fresh Debian machine with Python 3.11.

SHELL := /bin/bash
export EDGESAM_VENV ?= $(HOME)/.cache/edgesam_ros/venv
IN_ENV := tools/in_env.sh
# Tests and benchmarks must not oversubscribe the two cores of the reference machine.
export OMP_NUM_THREADS ?= 2
COLCON_FLAGS := --symlink-install --base-paths . --event-handlers console_direct- \
	--cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE=$(EDGESAM_VENV)/bin/python

.PHONY: env triton build test lint demo bench model clean

env:
	tools/setup_env.sh

# Triton Inference Server for the Triton backend tests and `bench triton` (own venv, pinned in
# tools/triton/requirements.txt).
triton:
	tools/setup_triton.sh

build: env
	$(IN_ENV) colcon build $(COLCON_FLAGS)

lint: env
	$(IN_ENV) ruff check edgesam_ros test tools launch

# The node and bag tests run on a random-weight tiny export (fast, deterministic); it is rebuilt
# whenever the model or exporter code changes.
TEST_MODEL := .cache/random_tiny
$(TEST_MODEL)/decoder.onnx: $(wildcard edgesam_ros/models/*.py edgesam_ros/export/*.py) | build
	$(IN_ENV) edgesam-ros export --variant tiny --random-init -o $(TEST_MODEL)

test: build triton lint $(TEST_MODEL)/decoder.onnx
	$(IN_ENV) python -m pytest test

demo: build
	$(IN_ENV) edgesam-ros demo --out out

bench: build triton
	$(IN_ENV) edgesam-ros bench

# Retrains the bundled model from scratch and overwrites edgesam_ros/weights/ (about 70 minutes
# on the 2-core reference machine; the exact recipe is in edgesam_ros/weights/MODEL_CARD.md).
model: build
	$(IN_ENV) edgesam-ros train --out runs/tiny --threads 2 --stage2-steps 7000 --stage3-steps 700 \
		--checkpoint-every 500 --export edgesam_ros/weights

clean:
	rm -rf build install log out .cache .pytest_cache .ruff_cache
