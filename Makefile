# strata - one plain GNU Makefile.
#
#   make            build src/strata-server (installs missing Debian packages first)
#   make run        build and start the server on conf/strata.conf
#   make test       build and run every test: unit, integration, Redis suite, ASan,
#                   then each fuzzer for FUZZ_SECONDS (60)
#   make test-unit / test-integ / test-redis / asan / fuzz / bench / clean / install

CC      ?= cc
PKGS    := liburing lmdb libssl libcrypto
CFLAGS  ?= -O2 -g
# SANFLAGS is added by the asan target; kept apart so that overriding it never
# drops the flags below.
SANFLAGS ?=
override CFLAGS += $(SANFLAGS)
# Command tables use positional initializers whose optional trailing fields
# (subcmds, getkeys) are left to zero; -Wextra would flag each of them.
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers -pthread -MMD -MP -D_GNU_SOURCE
override CFLAGS += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -luring -llmdb -lssl -lcrypto) -lm -pthread
prefix  ?= /usr/local
DESTDIR ?=

# BUILD selects an object directory so the sanitizer build never mixes with
# the normal one.
BUILD   ?= build/release
SRCS    := $(wildcard src/*.c)
OBJS    := $(SRCS:src/%.c=$(BUILD)/src/%.o)
LIBOBJS := $(filter-out $(BUILD)/src/main.o $(BUILD)/src/check_blob.o,$(OBJS))
SERVER  := src/strata-server

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_SRCS := $(filter-out tests/integ/harness.c,$(wildcard tests/integ/test_*.c))
INTEG_BINS := $(INTEG_SRCS:tests/integ/%.c=$(BUILD)/tests/integ/%)
INTEG_LIB  := $(BUILD)/tests/integ/harness.o

DEPS_STAMP := build/.deps-ok

.PHONY: all run test test-unit test-integ test-redis asan fuzz bench clean install deps

all: $(DEPS_STAMP) $(SERVER)

# deps/install.sh installs only what is missing; the stamp records that it ran
# for this version of the package list.
$(DEPS_STAMP): deps/install.sh deps/packages.txt
	@bash deps/install.sh
	@mkdir -p $(dir $@) && touch $@

deps:
	@bash deps/install.sh

ifeq ($(BUILD),build/release)
$(SERVER): $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
else
$(SERVER): ;
endif

$(BUILD)/server: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(LIBOBJS) $(LDLIBS) -lcmocka

$(BUILD)/tests/integ/%.o: tests/integ/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -Itests/integ -c -o $@ $<

$(BUILD)/tests/integ/%: $(BUILD)/tests/integ/%.o $(INTEG_LIB)
	$(CC) $(CFLAGS) -o $@ $^ -lhiredis -lm -pthread

run: all
	./$(SERVER) conf/strata.conf

test: all
	$(MAKE) test-unit test-integ
	$(MAKE) test-redis
	$(MAKE) asan
	$(MAKE) fuzz

test-unit: $(DEPS_STAMP) $(UNIT_BINS)
	@bash tests/run-unit.sh $(UNIT_BINS)

test-integ: $(DEPS_STAMP) $(INTEG_BINS) $(BUILD)/server
	@STRATA_SERVER_BIN=$(BUILD)/server bash tests/run-integ.sh $(INTEG_BINS)

test-redis: all
	@bash redis-tests/run.sh

# ASan + UBSan build of the unit and integration suites, in its own BUILD dir.
asan: $(DEPS_STAMP)
	$(MAKE) BUILD=build/asan CC=clang CFLAGS="-O1 -g" \
		SANFLAGS="-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		test-unit test-integ

# libFuzzer harnesses (clang, ASan + UBSan): the committed corpus as
# regressions, then FUZZ_SECONDS (default 60) of fuzzing each, in build/fuzz;
# tests/fuzz/run.sh. Part of make test, after the asan step: with three
# harnesses it adds about four minutes.
fuzz: $(DEPS_STAMP)
	@bash tests/fuzz/run.sh

bench: all
	@bash bench/run.sh

install: all
	install -d $(DESTDIR)$(prefix)/bin $(DESTDIR)$(prefix)/etc/strata
	install -m 755 $(SERVER) $(DESTDIR)$(prefix)/bin/strata-server
	install -m 644 conf/strata.conf $(DESTDIR)$(prefix)/etc/strata/strata.conf

clean:
	rm -rf build $(SERVER)

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d)
