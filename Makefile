# msai: two commands do everything on a fresh Debian machine.
#   make demo   install what is missing, build, evaluate the bundled images, print where the output is
#   make test   install what is missing, build, run the whole test suite
SHELL := /bin/bash
DEB_PACKAGES := libopencv-dev libturbojpeg0-dev libjpeg-dev libgmp-dev libpng-dev libsqlite3-dev libzstd-dev liblz4-dev libqoi-dev libjxl-dev pkg-config chromium time postgresql
SWIFT ?= swift
DEMO_OUT ?= runs/demo

PREFIX ?= $(HOME)/.local

.PHONY: all deps build release install test test-core fuzz fuzz-build fuzz-smoke load schemathesis demo bench deface eval-detect clean vectors

all: build

# Installs only the Debian packages that are absent (apt-get update runs only then).
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "Debian packages present:$(foreach p,$(DEB_PACKAGES), $(p))"; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product msai

# Copies the release binary to $(PREFIX)/bin (default ~/.local/bin; PREFIX=/usr/local for everyone).
install: release
	install -d "$(PREFIX)/bin"
	install -m 0755 .build/release/msai "$(PREFIX)/bin/msai"
	@echo "installed $(PREFIX)/bin/msai; run it from the repository's folder, or set MSAI_MODELS to its Models/"

# The core's own package first (seconds, no C library), then everything else, then a short
# run of each fuzzer (the regressions it once found are replayed by the suite too). The suite
# runs beside a private PostgreSQL (its own folder, port and password; stopped at the end).
TEST_POSTGRES := /tmp/msai-test-postgres-$(shell id -u)
test: deps test-core
	$(SWIFT) build --build-tests
	url=$$(scripts/test-postgres.sh start $(TEST_POSTGRES)) && trap 'scripts/test-postgres.sh stop $(TEST_POSTGRES)' EXIT && \
	  MSAI_TEST_POSTGRES="$$url" $(SWIFT) test --skip-build --disable-xctest
	$(MAKE) fuzz-smoke

# The core alone: GF(251), membranes, scrambling, metrics, the stream parsers and state machines.
test-core:
	$(SWIFT) test --package-path Core --disable-xctest

demo: release
	scripts/demo.sh $(DEMO_OUT)

# Median timings of detection (1 and 2 OpenCV threads), masking, scrambling and codecs.
# Its edge section runs msai up and msai edge on Datasets/vtest.avi as processes, beside deface
# (installed by make deface when PyPI can be reached; the bench says when it is absent).
# BENCH=edge (or detect, core, roles, storage, codecs, jpeg) runs one section.
bench: release
	-$(MAKE) deface
	$(SWIFT) build -c release --product msai-bench
	GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=536870912 .build/release/msai-bench $(BENCH)

# deface (the peer for edge speed: CenterFace on onnxruntime) from PyPI, in a venv under .build.
DEFACE_VENV := .build/deface-venv
deface:
	@test -x $(DEFACE_VENV)/bin/deface || { python3 -m venv $(DEFACE_VENV) && $(DEFACE_VENV)/bin/pip install --quiet 'deface==1.5.0' 'onnxruntime==1.32.0'; }

# The data center and the cloud as processes on loopback (TLS) under 16 edges sending frames, 48
# slow clients and 4 uploads of 64 MiB at once, bounded in count and time: accepted frames/s,
# p50/p99, busy answers, the data center's peak RSS, and every 201 checked in the database. Then
# the data center on a private PostgreSQL (fsync on), one process and two, and two with one killed
# mid-run, beside one on SQLite: frames/s, p50/p99, CPU and bytes per frame, nothing lost.
load: release
	$(SWIFT) build -c release --product msai-load
	url=$$(scripts/test-postgres.sh start $(TEST_POSTGRES)-load durable) && trap 'scripts/test-postgres.sh stop $(TEST_POSTGRES)-load' EXIT && \
	  .build/release/msai-load postgres="$$url" $(LOAD_ARGS)

# Property-based tests generated from docs/openapi by schemathesis (from PyPI, in a venv under
# .build) against the roles as msai up starts them over TLS on loopback: every answer documented,
# no schema-valid request refused, 405 for undeclared methods; MAX_EXAMPLES per operation (50).
schemathesis: release
	scripts/schemathesis.sh .build/release/msai

# Precision and recall per class of each detector and of the default policy, against Datasets/labels/.
eval-detect: release
	.build/release/msai eval-detect --labels Datasets/labels/instances.json --list-errors

# Regenerates the known-answer vectors with an independent Python implementation.
vectors:
	python3 Tests/MSAITests/Vectors/make_vectors.py > Tests/MSAITests/Vectors/vectors.json

# The fuzzers: what msai reads from peers (MJPEG, UDP datagrams, masked frames, PNG, QOI, JPEG)
# under libFuzzer and AddressSanitizer, each for FUZZ_SECONDS from seeds made from the fixtures
# plus Fuzz/regressions/TARGET. A crash stops it; its input is left in Fuzz/crashes/: fix the
# cause, then move the input to Fuzz/regressions/TARGET/, which the suite replays.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := mjpeg udp frame png qoi jpeg
FUZZ_BUILD := --scratch-path .build-fuzz --product msai-fuzz -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer,address \
	-Xcc -fsanitize=fuzzer-no-link,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld

fuzz-build: deps
	$(SWIFT) build --product msai-fuzz
	$(SWIFT) build $(FUZZ_BUILD)

fuzz: fuzz-build
	rm -rf .build-fuzz/corpus && .build/debug/msai-fuzz corpus .build-fuzz/corpus
	mkdir -p Fuzz/crashes
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p Fuzz/regressions/$$t; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  MSAI_FUZZ_TARGET=$$t .build-fuzz/debug/msai-fuzz .build-fuzz/corpus/$$t Fuzz/regressions/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix=Fuzz/crashes/$$t- 2>&1 | grep -E "^(Done|stat::number_of_executed_units|==|SUMMARY|INFO: Seed)" ; \
	  test $${PIPESTATUS[0]} -eq 0 || { echo "fuzz $$t: a crash; its input is in Fuzz/crashes/"; exit 1; }; \
	done

# A few seconds of each fuzzer: what make test runs.
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=8

clean:
	rm -rf .build Core/.build .build-fuzz runs
