# msai: two commands do everything on a fresh Debian machine.
#   make demo   install what is missing, build, evaluate the bundled images, print where the output is
#   make test   install what is missing, build, run the whole test suite
SHELL := /bin/bash
DEB_PACKAGES := libopencv-dev libturbojpeg0-dev libgmp-dev libpng-dev libsqlite3-dev libzstd-dev liblz4-dev libqoi-dev libjxl-dev pkg-config chromium
SWIFT ?= swift
DEMO_OUT ?= runs/demo

PREFIX ?= $(HOME)/.local

.PHONY: all deps build release install test test-core demo bench eval-detect clean vectors

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

# The core's own package first (seconds, no C library), then everything else.
test: deps test-core
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest

# The core alone: GF(251), membranes, scrambling, metrics, the stream parsers and state machines.
test-core:
	$(SWIFT) test --package-path Core --disable-xctest

demo: release
	scripts/demo.sh $(DEMO_OUT)

# Median timings of detection (1 and 2 OpenCV threads), masking, scrambling and codecs.
bench: deps
	$(SWIFT) build -c release --product msai-bench
	GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=536870912 .build/release/msai-bench

# Precision and recall per class of each detector and of the default policy, against Datasets/labels/.
eval-detect: release
	.build/release/msai eval-detect --labels Datasets/labels/instances.json --list-errors

# Regenerates the known-answer vectors with an independent Python implementation.
vectors:
	python3 Tests/MSAITests/Vectors/make_vectors.py > Tests/MSAITests/Vectors/vectors.json

clean:
	rm -rf .build Core/.build runs
