# nnpipe: build libnn.a, the nn-* programs, the unit tests; run the tests.
#
#   make                 build bin/nn-* (warnings are errors in CI only)
#   make check           unit tests, then the bats suites
#   make check SANITIZE=1  the same with ASan and UBSan, built in build/san/
#   make fuzz            run each libFuzzer target FUZZ_SECONDS [60] (clang)
#   make fuzz-smoke      run each libFuzzer target for 10 s
#   make demo            train on the shipped digits through nn-run
#   make install PREFIX=/usr/local DESTDIR=

CC      ?= cc
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
PKGS     = libpng openblas msgpack zlib
NN_CFLAGS = -std=c11 -D_XOPEN_SOURCE=700 -Wall -Wextra -Wpedantic \
            -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
LDLIBS  = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread

# CI sets CI=true: there a warning fails the build.
ifeq ($(CI),true)
NN_CFLAGS += -Werror
endif

# SANITIZE=1 builds everything with AddressSanitizer and UBSan into
# build/san/ (programs in build/san/bin/), so the normal build is left
# alone.  UBSan stops at its first report instead of printing and
# carrying on.
ifeq ($(SANITIZE),1)
SAN_FLAGS  = -fsanitize=address,undefined -fno-sanitize-recover=all
NN_CFLAGS += $(SAN_FLAGS) -fno-omit-frame-pointer
LDFLAGS   += $(SAN_FLAGS)
BUILD      = build/san
BIN        = build/san/bin
SAN_DEFAULTS = $(BUILD)/san_defaults.o
else
BUILD      = build
BIN        = bin
endif

# The bats suites put $REPO/bin first on PATH, REPO being the folder
# above tests/.  `make check SANITIZE=1` runs them from build/san/root,
# a tree of links to this one whose bin/ holds hard links to the
# sanitized programs: nn-run finds datasets/ and the other programs
# beside the folder it was started from, which a symbolic link would
# resolve to build/san/bin.  Every sanitizer report is written under
# build/san/logs, and any report fails the run, even from a test that
# ignores stderr.
#
# The options below are compiled into every sanitized program
# (build/san/san_defaults.c), so they hold wherever it runs, even
# through ssh, which passes no environment; ASAN_OPTIONS and the like
# can still override them.  ASan keeps freed blocks poisoned in a
# quarantine of 256 MiB by default, so the peak RSS of a streaming
# program grows with its input and the constant-memory tests fail;
# 16 MiB still catches a use after free within the next 16 MiB of frees.
# LSAN_SUPPRESS lists leak suppressions (leak:PATTERN), none today:
# every program frees what it allocated before a normal exit.
SAN_LOGS = $(CURDIR)/build/san/logs
ASAN_DEFAULTS = detect_leaks=1:quarantine_size_mb=16
LSAN_DEFAULTS = print_suppressions=0
UBSAN_DEFAULTS = print_stacktrace=1
LSAN_SUPPRESS =
ifeq ($(SANITIZE),1)
TEST_ROOT = $(BUILD)/root/
TEST_ENV  = ASAN_OPTIONS=$(ASAN_DEFAULTS):log_path=$(SAN_LOGS)/asan \
            UBSAN_OPTIONS=$(UBSAN_DEFAULTS):log_path=$(SAN_LOGS)/ubsan \
            NN_SANITIZED=1
endif

LIB_SRC  = $(wildcard lib/*.c)
LIB_OBJ  = $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
TOOLS    = $(patsubst tools/%.c,$(BIN)/%,$(wildcard tools/*.c))
UNITS    = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

all: $(TOOLS)

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(NN_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libnn.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BIN)/%: tools/%.c $(BUILD)/libnn.a $(SAN_DEFAULTS)
	@mkdir -p $(@D) $(BUILD)/tools
	$(CC) $(NN_CFLAGS) -MF $(BUILD)/tools/$*.d $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(BUILD)/libnn.a $(SAN_DEFAULTS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libnn.a $(SAN_DEFAULTS)
	@mkdir -p $(@D)
	$(CC) $(NN_CFLAGS) -MF $@.d $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(BUILD)/libnn.a $(SAN_DEFAULTS) $(LDLIBS)

# The sanitizer runtimes call these functions for their default options.
SPACE := $(subst x,,x x)
build/san/san_defaults.c: Makefile
	@mkdir -p $(@D)
	@printf '%s\n' \
	    'const char *__asan_default_options(void);' \
	    'const char *__lsan_default_options(void);' \
	    'const char *__lsan_default_suppressions(void);' \
	    'const char *__ubsan_default_options(void);' \
	    'const char *__asan_default_options(void) { return "$(ASAN_DEFAULTS)"; }' \
	    'const char *__lsan_default_options(void) { return "$(LSAN_DEFAULTS)"; }' \
	    'const char *__ubsan_default_options(void) { return "$(UBSAN_DEFAULTS)"; }' \
	    'const char *__lsan_default_suppressions(void)' \
	    '{ return "$(subst $(SPACE),\n,$(strip $(LSAN_SUPPRESS)))\n"; }' >$@

build/san/san_defaults.o: build/san/san_defaults.c
	$(CC) $(NN_CFLAGS) $(CFLAGS) -c -o $@ $<

# demo and check first install missing packages (scripts/install-deps),
# then build in a fresh make, whose pkg-config calls see them.
# The suites that train networks run a second time in 32-bit.
TRAIN_TESTS = $(wildcard tests/nn-train*.bats tests/nn-run.bats \
                tests/nn-predict.bats tests/checkpoint.bats \
                tests/pipeline.bats tests/golden.bats)

check: deps
	$(MAKE) all units
ifeq ($(SANITIZE),1)
	@rm -rf $(SAN_LOGS) $(BUILD)/root && mkdir -p $(SAN_LOGS) $(BUILD)/root
	@for f in *; do case $$f in bin|build) ;; \
	    *) ln -s ../../../$$f $(BUILD)/root/$$f ;; esac; done
	@mkdir $(BUILD)/root/bin && ln $(TOOLS) $(BUILD)/root/bin/
endif
	@for t in $(UNITS); do echo "== $$t"; $(TEST_ENV) $$t || exit 1; done
	$(TEST_ENV) bats $(TEST_ROOT)tests/
	$(TEST_ENV) NN_PRECISION=32 bats $(addprefix $(TEST_ROOT),$(TRAIN_TESTS))
ifeq ($(SANITIZE),1)
	@if [ -n "$$(ls -A $(SAN_LOGS))" ]; then \
	    echo "sanitizer reports in $(SAN_LOGS):"; \
	    head -n 30 $(SAN_LOGS)/*; exit 1; fi
endif

# libFuzzer targets, built with clang into build/fuzz/ (tests/fuzz/run
# and docs/hardening.md describe the runs).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS    = -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJ      = $(LIB_SRC:lib/%.c=build/fuzz/lib/%.o)
FUZZERS       = $(patsubst tests/fuzz/fuzz_%.c,build/fuzz/fuzz_%,\
                    $(wildcard tests/fuzz/fuzz_*.c))

build/fuzz/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(NN_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/libnn.a: $(FUZZ_OBJ)
	$(AR) rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libnn.a
	$(FUZZ_CC) $(NN_CFLAGS) -MF $@.d $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ \
	    $< build/fuzz/libnn.a $(LDLIBS)

fuzz: $(FUZZERS)
	tests/fuzz/run $(FUZZ_SECONDS) $(FUZZERS)

fuzz-smoke: $(FUZZERS)
	tests/fuzz/run 10 $(FUZZERS)

demo: deps
	$(MAKE) all
	bin/nn-run --dataset=numbers --model=NLayers --layers=100 \
	    --optimizer=Adam --nbr-epochs=30 --max-minibatch-size=100

units: $(UNITS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin

deps:
	scripts/install-deps

clean:
	rm -rf build bin

.PHONY: all check demo install deps units clean fuzz fuzz-smoke bench
.SECONDARY: $(LIB_OBJ)

-include $(LIB_OBJ:.o=.d) $(TOOLS:$(BIN)/%=$(BUILD)/tools/%.d) $(UNITS:=.d)
-include $(FUZZ_OBJ:.o=.d) $(FUZZERS:=.d)
include pipelines/studies.mk

# Time nnpipe against PyTorch and rewrite docs/benchmarks.md (minutes;
# bench/run --help lists its options, passed as BENCH_ARGS="...").
bench:
	scripts/install-deps --bench
	$(MAKE) all
	@mkdir -p build/bench
	$(CC) $(NN_CFLAGS) -MF build/bench/gemm_floor.d $(CFLAGS) $(LDFLAGS) \
	    -o build/bench/gemm_floor bench/gemm_floor.c $(LDLIBS)
	bench/run $(BENCH_ARGS)
