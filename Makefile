# strata - one plain GNU Makefile.
#
#   make            build src/strata-server and src/strata-check-blob (installs
#                   missing Debian packages first)
#   make run        build and start the server on conf/strata.conf
#   make test       build and run every test: unit, integration, Redis suite, ASan,
#                   then each fuzzer for FUZZ_SECONDS (60)
#   make test-unit / test-integ / test-redis / asan / fuzz / bench / bench-large / clean / install
#   make certs      test CA and certificates for TLS in build/tls (openssl CLI)
#   make test-tls   the TLS tests alone (they also run in test-integ)

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
SERVER_OBJS := $(filter-out $(BUILD)/src/check_blob.o,$(OBJS))
# The offline checker of a data directory's blob tier: the blob modules and
# what they stand on, nothing of the server.
CHECK_BLOB := src/strata-check-blob
CHECK_BLOB_OBJS := $(addprefix $(BUILD)/src/,check_blob.o blob_index.o blob_alloc.o log.o mem.o util.o)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_SRCS := $(filter-out tests/integ/harness.c,$(wildcard tests/integ/test_*.c))
INTEG_BINS := $(INTEG_SRCS:tests/integ/%.c=$(BUILD)/tests/integ/%)
INTEG_LIB  := $(BUILD)/tests/integ/harness.o

DEPS_STAMP := build/.deps-ok

# Test certificates (tests/tls/gen-certs.sh): shared by every BUILD, made
# again when the script changes. The expired one is dated 2020.
TLS_CERTS  := build/tls/client-other-ca.key
TLS_TEST   := tests/tls/run.sh

.PHONY: all run test test-unit test-integ test-tls test-redis asan fuzz bench bench-large clean install deps certs

all: $(DEPS_STAMP) $(SERVER) $(CHECK_BLOB)

# deps/install.sh installs only what is missing; the stamp records that it ran
# for this version of the package list.
$(DEPS_STAMP): deps/install.sh deps/packages.txt
	@bash deps/install.sh
	@mkdir -p $(dir $@) && touch $@

deps:
	@bash deps/install.sh

ifeq ($(BUILD),build/release)
$(SERVER): $(SERVER_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(CHECK_BLOB): $(CHECK_BLOB_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
else
$(SERVER): ;
$(CHECK_BLOB): ;
endif

$(BUILD)/server: $(SERVER_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# What the unit tests run, built with this BUILD's flags (sanitizers in asan).
$(BUILD)/strata-check-blob: $(CHECK_BLOB_OBJS)
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

test-unit: $(DEPS_STAMP) $(UNIT_BINS) $(BUILD)/strata-check-blob
	@STRATA_CHECK_BLOB_BIN=$(BUILD)/strata-check-blob bash tests/run-unit.sh $(UNIT_BINS)

test-integ: $(DEPS_STAMP) $(INTEG_BINS) $(BUILD)/server $(TLS_CERTS)
	@STRATA_SERVER_BIN=$(BUILD)/server bash tests/run-integ.sh $(INTEG_BINS) $(TLS_TEST)

# redis-cli --tls, openssl s_client and redis-py against a server with a
# plain port and a TLS port.
test-tls: $(DEPS_STAMP) $(BUILD)/server $(TLS_CERTS)
	@STRATA_SERVER_BIN=$(BUILD)/server bash $(TLS_TEST)

certs: $(TLS_CERTS)

$(TLS_CERTS): tests/tls/gen-certs.sh
	@bash tests/tls/gen-certs.sh build/tls

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

# Large values (64 KiB to 16 MiB): strata, redis-server and memcached with
# extstore against fio's and iperf3's limits; LARGE_QUICK=1 for a short run.
bench-large: all
	@bash bench/large.sh

install: all
	install -d $(DESTDIR)$(prefix)/bin $(DESTDIR)$(prefix)/etc/strata
	install -m 755 $(SERVER) $(DESTDIR)$(prefix)/bin/strata-server
	install -m 755 $(CHECK_BLOB) $(DESTDIR)$(prefix)/bin/strata-check-blob
	install -m 644 conf/strata.conf $(DESTDIR)$(prefix)/etc/strata/strata.conf

clean:
	rm -rf build $(SERVER) $(CHECK_BLOB)

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d)
