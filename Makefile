# gltf-cloud: the commands a newcomer and CI use. `make test` is what .ci/run calls.
SHELL := /bin/bash
CARGO ?= cargo
VENV ?= .venv
PYTHON := $(VENV)/bin/python
# Mesa's device-select layer prints "XDG_RUNTIME_DIR is invalid" for every Vulkan instance without it.
export NODEVICE_SELECT := 1

.PHONY: all build release test test-rust test-python lint fmt deps deps-system demo bench clean

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

## deps: system packages (C compiler, Vulkan loader + lavapipe) and the test venv with pydrake; idempotent.
deps:
	VENV=$(VENV) ./scripts/install-deps.sh

## deps-system: only the system packages and the Rust version check: what the build and demo need.
deps-system:
	./scripts/install-deps.sh --system-only

## demo: render the example scenes (color, depth, label) on a local render server into out/.
demo: deps-system build
	./scripts/demo.sh

## test: everything CI runs: Rust unit and integration tests, then the pydrake conformance tests.
test: deps test-rust test-python

test-rust:
	$(CARGO) test --all-targets

test-python: build
	GLTF_CLOUD_BIN=$(CURDIR)/target/debug/gltf-cloud $(PYTHON) -m pytest -v -s tests/python

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean
	rm -rf out

## bench: pydrake's RenderEngineVtk vs our server through RenderEngineGltfClient, as ratios.
bench: deps release
	$(PYTHON) scripts/bench.py --binary $(CURDIR)/target/release/gltf-cloud
