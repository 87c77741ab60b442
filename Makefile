# Two commands do everything on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
DEB_PACKAGES := libsqlite3-dev libzstd-dev libxxhash-dev wrk pkg-config postgresql sqlite3
CONFIG ?= config/cachette.yaml
SWIFT ?= swift

.PHONY: deps commit-info build run static install dist test integration bench instructions micro fuzz format format-check clean

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

# An install that needs neither the build tree nor a Swift runtime: the binary, built
# with the Swift standard library and Foundation linked in, in $(PREFIX)/bin, and its
# data (the tokenizer vocabularies with their licence, the shipped prices, the
# dashboard) in $(PREFIX)/share/cachette, where the binary looks first. DESTDIR is
# honoured; the static build has a scratch folder of its own.
PREFIX ?= /usr/local
STATIC_BUILD := .build-static
VERSION = $(shell sed -n 's/.*current = "\(.*\)"/\1/p' Sources/CachetteServer/Server/CachetteVersion.swift)
ARCH = $(shell uname -m)
static: deps
	$(SWIFT) build -c release --static-swift-stdlib --product cachette --scratch-path $(STATIC_BUILD)

install: static
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/cachette"
	install -m 0755 -s $(STATIC_BUILD)/release/cachette "$(DESTDIR)$(PREFIX)/bin/cachette"
	for bundle in $(STATIC_BUILD)/release/Cachette_*.resources; do \
	  rm -rf "$(DESTDIR)$(PREFIX)/share/cachette/$$(basename $$bundle)"; cp -R "$$bundle" "$(DESTDIR)$(PREFIX)/share/cachette/"; \
	done

# cachette-VERSION-linux-ARCH.tar.gz: bin, share, the example configs, the README and
# the licences, with SHA256SUMS beside it.
dist: static
	rm -rf .build-dist && mkdir -p .build-dist/stage
	$(MAKE) --no-print-directory install PREFIX= DESTDIR="$(CURDIR)/.build-dist/stage"
	install -d .build-dist/stage/share/cachette/examples/systemd
	install -m 0644 config/cachette.yaml config/litellm.yaml .build-dist/stage/share/cachette/examples/
	install -m 0644 config/systemd/cachette.service config/systemd/cachette.env .build-dist/stage/share/cachette/examples/systemd/
	install -m 0644 README.md .build-dist/stage/share/cachette/
	install -m 0644 Sources/CachetteCore/Resources/LICENSE-tiktoken .build-dist/stage/share/cachette/
	tar -C .build-dist/stage -czf .build-dist/cachette-$(VERSION)-linux-$(ARCH).tar.gz --owner=0 --group=0 .
	cd .build-dist && sha256sum cachette-$(VERSION)-linux-$(ARCH).tar.gz > SHA256SUMS && cat SHA256SUMS

# Core's tests are CPU-bound and would hold both cooperative threads of a two-core
# machine for seconds, starving the servers the server tests run: each target runs
# in a process of its own.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter CachetteCoreTests
	$(SWIFT) test --skip-build --filter CachetteSharedTests
	$(SWIFT) test --skip-build --filter CachetteServerTests

# The real openai and litellm packages (PyPI, pinned in Tests/Integration/requirements.txt)
# against the sidecar in front of a local fake upstream, LiteLLM's proxy included; then
# the dashboard in Debian's headless Chromium through Selenium (screenshots land in
# .build-integration/); then `make install` into a temporary prefix, run with the
# checkout hidden (Tests/Integration/install.py).
INTEGRATION_VENV := .build-integration/venv
BROWSER_PACKAGES := chromium chromium-driver
integration: deps
	$(call install-missing,$(BROWSER_PACKAGES) systemd)
	$(SWIFT) build --product cachette
	@test -x $(INTEGRATION_VENV)/bin/python || python3 -m venv $(INTEGRATION_VENV) || { \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv && python3 -m venv $(INTEGRATION_VENV); }
	$(INTEGRATION_VENV)/bin/pip install -q --disable-pip-version-check -r Tests/Integration/requirements.txt
	LITELLM_LOCAL_MODEL_COST_MAP=True $(INTEGRATION_VENV)/bin/python Tests/Integration/run.py
	$(INTEGRATION_VENV)/bin/python Tests/Integration/guardrail.py
	$(INTEGRATION_VENV)/bin/python Tests/Integration/telemetry.py
	$(INTEGRATION_VENV)/bin/python Tests/Integration/dashboard.py
	$(INTEGRATION_VENV)/bin/python Tests/Integration/install.py

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
  Benchmarks/BenchUpstream Benchmarks/CompressionBench Benchmarks/StreamReplay Benchmarks/TokenizerSpeed Benchmarks/BareProxy Benchmarks/ClientProbe Benchmarks/BareNIO
format:
	$(SWIFT) format --in-place --recursive $(FORMAT_PATHS)

format-check:
	$(SWIFT) format lint --strict --recursive $(FORMAT_PATHS)

clean:
	rm -rf .build Benchmarks/.build
