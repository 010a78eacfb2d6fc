# gltf-cloud: the commands a newcomer and CI use. `make test` is what .ci/run calls.
SHELL := /bin/bash
CARGO ?= cargo
VENV ?= .venv
PYTHON := $(VENV)/bin/python
# Mesa's device-select layer prints "XDG_RUNTIME_DIR is invalid" for every Vulkan instance without it.
export NODEVICE_SELECT := 1

.PHONY: all build release test test-rust test-python lint fmt deps deps-system demo bench gallery clean fuzz soak

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

## bench: pydrake's RenderEngineVtk vs our server through RenderEngineGltfClient, as ratios; then
## the scene API: RemoteRenderer vs RenderEngineVtk vs RenderEngineGltfClient per image, and what
## a scene moving to another replica costs.
bench: deps release
	$(PYTHON) scripts/bench.py --binary $(CURDIR)/target/release/gltf-cloud
	$(PYTHON) scripts/bench_scene_api.py --binary $(CURDIR)/target/release/gltf-cloud
	$(PYTHON) scripts/bench_scene_move.py --binary $(CURDIR)/target/release/gltf-cloud

## gallery: each RenderEngineVtkParams set of tests/python/vtk_looks.py rendered by RenderEngineVtk
## and by our server started with the same params file, side by side with a difference image, in
## out/gallery/index.html (never committed; docs/looks.md quotes its numbers).
gallery: deps build
	GLTF_CLOUD_BIN=$(CURDIR)/target/debug/gltf-cloud $(PYTHON) scripts/gallery.py --out $(CURDIR)/out/gallery

## soak: the hostile-client runs too slow or too big for CI: the render-request attacks (time and
## peak memory of each; issue 21's stalled uploads, stalled HTTP/2 streams and never-read answers,
## with a normal render beside each), a 1 100-connection idle flood against each server at its
## defaults, and 1 100 silent /client WebSockets beside a real client starting a simulation (the
## venv's websocket-client drives the real one).
soak: deps build
	python3 scripts/attack_budget.py --binary $(CURDIR)/target/debug/gltf-cloud
	python3 scripts/soak_connections.py --binary $(CURDIR)/target/debug/gltf-cloud
	$(PYTHON) scripts/soak_silent_clients.py --binary $(CURDIR)/target/debug/gltf-cloud

## fuzz: each network parser under libFuzzer (nightly, cargo-fuzz) for FUZZ_SECONDS each. New inputs
## go to fuzz/corpus-run/ (ignored); crashes to fuzz/artifacts/: add a fixed one to fuzz/corpus/.
## No sanitizer by default: the crate has no unsafe code, and an ASan build of wgpu takes long.
FUZZ_SECONDS ?= 60
FUZZ_SANITIZER ?= none
FUZZ_TARGETS := drake_fields multipart_form scene_api_frame scene_api_scene gltf_load mesh_file image_decode webots_client_message pyfloat
fuzz:
	@cargo +nightly fuzz --version >/dev/null 2>&1 || { echo "needs: rustup toolchain install nightly; cargo install cargo-fuzz"; exit 1; }
	cargo +nightly fuzz build -O -s $(FUZZ_SANITIZER)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus-run/$$t; \
		echo "== $$t ($(FUZZ_SECONDS) s)"; \
		cargo +nightly fuzz run -O -s $(FUZZ_SANITIZER) $$t fuzz/corpus-run/$$t fuzz/corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 || exit 1; \
	done
