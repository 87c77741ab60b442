# Two commands do everything on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
DEB_PACKAGES := libsqlite3-dev libzstd-dev libxxhash-dev wrk pkg-config postgresql sqlite3
CONFIG ?= config/cachette.yaml
SWIFT ?= swift

.PHONY: deps commit-info build run test integration bench instructions micro fuzz format format-check clean

# Installs only what is missing; apt-get update runs only when something is.
define install-missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

deps: commit-info
	$(call install-missing,$(DEB_PACKAGES))

# The commit `cachette --version` names, written only when it changes (so nothing
# else recompiles).
commit-info:
	@commit=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	if [ -n "$$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$$commit-dirty"; fi; \
	line="#define CACHETTE_COMMIT \"$$commit\""; \
	[ "$$(cat Sources/CBuildInfo/commit.h 2>/dev/null)" = "$$line" ] || echo "$$line" > Sources/CBuildInfo/commit.h

build: deps
	$(SWIFT) build -c release --product cachette

run: build
	.build/release/cachette serve --config $(CONFIG)

# Core's tests are CPU-bound and would hold both cooperative threads of a two-core
# machine for seconds, starving the servers the server tests run: each target runs
# in a process of its own.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter CachetteCoreTests
	$(SWIFT) test --skip-build --filter CachetteServerTests

# The real openai and litellm packages (PyPI, pinned in Tests/Integration/requirements.txt)
# against the sidecar in front of a local fake upstream, LiteLLM's proxy included; then
# the dashboard in Debian's headless Chromium through Selenium (screenshots land in
# .build-integration/).
INTEGRATION_VENV := .build-integration/venv
BROWSER_PACKAGES := chromium chromium-driver
integration: deps
	$(call install-missing,$(BROWSER_PACKAGES))
	$(SWIFT) build --product cachette
	@test -x $(INTEGRATION_VENV)/bin/python || python3 -m venv $(INTEGRATION_VENV) || { \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv && python3 -m venv $(INTEGRATION_VENV); }
	$(INTEGRATION_VENV)/bin/pip install -q --disable-pip-version-check -r Tests/Integration/requirements.txt
	LITELLM_LOCAL_MODEL_COST_MAP=True $(INTEGRATION_VENV)/bin/python Tests/Integration/run.py
	$(INTEGRATION_VENV)/bin/python Tests/Integration/dashboard.py

# End-to-end: wrk against a release sidecar in front of a local fake upstream, then
# the shared tier (replicas on a throwaway PostgreSQL), then the dashboard's endpoints
# on a million-row ledger, then the tokenizer next to tiktoken on the same texts, then
# prompt compression on a corpus, then Anthropic prompt-cache steering against the
# billing fake (prompt-cache.sh), then RSS over a million unique misses (BENCH_REQUESTS).
# nginx serving a static file is the machine's yardstick in load.sh; perf counts the
# CPU and thread switches each miss costs.
bench: deps
	$(call install-missing,nginx linux-perf)
	Benchmarks/scripts/load.sh
	$(MAKE) instructions
	Benchmarks/scripts/shared.sh
	Benchmarks/scripts/shared-load.sh
	Benchmarks/scripts/dashboard.sh
	Benchmarks/scripts/tokenizer.sh
	Benchmarks/scripts/compression.sh
	Benchmarks/scripts/prompt-cache.sh
	Benchmarks/scripts/rss.sh

# Instructions per request under valgrind's callgrind (this VM's perf counts no
# instructions): a bare Hummingbird handler, the hit, the bare proxy, the miss.
# CACHETTE_BINARY measures another build; INSTRUCTIONS_SECONDS sets each window.
instructions: deps
	$(call install-missing,valgrind gcc)
	Benchmarks/scripts/instructions.sh

# Micro-benchmarks (ordo-one/benchmark): key computation, store get/put, zstd.
micro: deps
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark --target CachetteBenchmarks

# libFuzzer on keying, streams, translation, compression, the tokenizer, the config
# loader, cache import lines and stored entries, FUZZ_SECONDS each (default 60);
# non-zero on a crash. See Fuzz/run.sh.
fuzz: deps
	Fuzz/run.sh

# swift format (shipped with the toolchain) with the settings in .swift-format: layout
# only, no lint rules. CI fails on a tree that `make format` would change.
FORMAT_PATHS := Sources Tests Fuzz Package.swift Benchmarks/Package.swift Benchmarks/CachetteBenchmarks \
  Benchmarks/BenchUpstream Benchmarks/CompressionBench Benchmarks/StreamReplay Benchmarks/TokenizerSpeed Benchmarks/BareProxy Benchmarks/ClientProbe
format:
	$(SWIFT) format --in-place --recursive $(FORMAT_PATHS)

format-check:
	$(SWIFT) format lint --strict --recursive $(FORMAT_PATHS)

clean:
	rm -rf .build Benchmarks/.build
