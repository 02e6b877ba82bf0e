# nearcast quick start. `make demo` and `make test` each install what is missing, build and run.
BUILD      ?= build
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
FUZZ_SECONDS ?= 45

.PHONY: all deps build demo test bench sanitize fuzz clean \
        bench-proximity bench-tracker bench-seeder bench-peer bench-supernodes bench-deference bench-sim bench-economics

all: build

deps:
	./scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# A whole CDN on one machine: tracker, two origins, ~30 peers in four emulated networks, a
# report in $(BUILD)/demo/ (demo/run.sh; needs root for its loopback-only network namespace).
demo: build
	./demo/run.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	cmake --build $(BUILD) --target bench

bench-proximity: build
	cmake --build $(BUILD) --target bench-proximity

bench-tracker: build
	cmake --build $(BUILD) --target bench-tracker

bench-seeder: build
	cmake --build $(BUILD) --target bench-seeder

bench-peer: build
	cmake --build $(BUILD) --target bench-peer

bench-sim: build
	cmake --build $(BUILD) --target bench-sim

bench-supernodes: build
	cmake --build $(BUILD) --target bench-supernodes

bench-deference: build
	cmake --build $(BUILD) --target bench-deference

bench-economics: build
	cmake --build $(BUILD) --target bench-economics

# ASan + UBSan build of everything, with the tests.
sanitize: deps
	cmake -S . -B build-sanitize -DNEARCAST_SANITIZE=ON -DNEARCAST_BENCH=OFF $(CMAKE_ARGS)
	cmake --build build-sanitize -j $(JOBS)
	cd build-sanitize && ctest --output-on-failure -j $(JOBS)

# libFuzzer targets (tests/fuzz/), each run for FUZZ_SECONDS: twelve targets, about nine minutes by
# default. Not part of CI. `tests/fuzz/run-fuzzers build-fuzz SECONDS TARGET...` runs some of them.
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DNEARCAST_FUZZ=ON -DNEARCAST_TESTS=OFF -DNEARCAST_BENCH=OFF $(CMAKE_ARGS)
	cmake --build build-fuzz -j $(JOBS) --target fuzz-targets
	./tests/fuzz/run-fuzzers build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) build-sanitize build-fuzz
