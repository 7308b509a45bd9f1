# nnpipe: build libnn.a, the nn-* programs, the unit tests; run the tests.
#
#   make                 build bin/nn-* (warnings are errors in CI only)
#   make check           unit tests, then the bats suites
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

# SANITIZE=1 builds everything with AddressSanitizer and UBSan.
ifeq ($(SANITIZE),1)
NN_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS   += -fsanitize=address,undefined
endif

LIB_SRC  = $(wildcard lib/*.c)
LIB_OBJ  = $(LIB_SRC:lib/%.c=build/lib/%.o)
TOOLS    = $(patsubst tools/%.c,bin/%,$(wildcard tools/*.c))
UNITS    = $(patsubst tests/unit/%.c,build/tests/%,$(wildcard tests/unit/test_*.c))

all: $(TOOLS)

build/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(NN_CFLAGS) $(CFLAGS) -c -o $@ $<

build/libnn.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

bin/%: tools/%.c build/libnn.a
	@mkdir -p $(@D) build/tools
	$(CC) $(NN_CFLAGS) -MF build/tools/$*.d $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    build/libnn.a $(LDLIBS)

build/tests/%: tests/unit/%.c build/libnn.a
	@mkdir -p $(@D)
	$(CC) $(NN_CFLAGS) -MF $@.d $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    build/libnn.a $(LDLIBS)

# demo and check first install missing packages (scripts/install-deps),
# then build in a fresh make, whose pkg-config calls see them.
check: deps
	$(MAKE) all units
	@for t in $(UNITS); do echo "== $$t"; $$t || exit 1; done
	bats tests/

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

.PHONY: all check demo install deps units clean
.SECONDARY: $(LIB_OBJ)

-include $(LIB_OBJ:.o=.d) $(TOOLS:bin/%=build/tools/%.d) $(UNITS:=.d)
