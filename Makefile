# Front door for tock. `make run` and `make test` work on a fresh Debian machine:
# both install what is missing (scripts/deps.sh) before building.
SHELL := /bin/bash
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON ?= /usr/bin/python3

.PHONY: all build run test test-unit test-api bench bench-events format deps clean

all: build

deps:
	@scripts/deps.sh all

build:
	@scripts/deps.sh build
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $(JOBS)
	@echo "built build/tock"

run: build
	@./build/tock serve

# The test build uses AddressSanitizer + UndefinedBehaviorSanitizer; every test
# (C units via ctest, black-box API tests via pytest) runs against it.
test:
	@scripts/deps.sh test
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTOCK_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS)
	@TOCK_BIN=$(CURDIR)/build-asan/tock $(PYTHON) -m pytest -q -p no:cacheprovider tests/api
	@TOCK_BIN=$(CURDIR)/build-asan/tock tests/mcp/run.sh

test-unit:
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTOCK_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS)

test-api:
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTOCK_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@TOCK_BIN=$(CURDIR)/build-asan/tock $(PYTHON) -m pytest -q -p no:cacheprovider tests/api

bench: build
	@scripts/deps.sh bench
	@bench/run.sh

# The event pipeline: API -> outbox -> relay -> Kafka (mock cluster) -> audit.
bench-events: build
	@scripts/deps.sh bench
	@$(PYTHON) bench/events.py

format:
	@clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h')

clean:
	rm -rf build build-asan
