#!/usr/bin/env bash
# tests/fuzz/run.sh [HARNESS...] — builds the libFuzzer harnesses, replays
# their committed corpus, then fuzzes each for a while.
#
# HARNESS is resp_parse, resp_write or dispatch (default: all); each is
# tests/fuzz/fuzz_<name>.c with its corpus in tests/fuzz/corpus/<name>/ and
# an optional dictionary tests/fuzz/fuzz_<name>.dict. For each harness:
#
#  1. build build/fuzz/fuzz_<name> with clang, -fsanitize=fuzzer,address,
#     undefined, linked with the modules it tests;
#  2. regressions: run it once over every committed corpus file;
#  3. fuzz for FUZZ_SECONDS (default 60; 0 skips this step) with
#     -max_len=4096, on a copy of the corpus in build/fuzz/corpus/<name>/.
#     The committed corpus never grows by itself: to keep an input found
#     here, copy it into tests/fuzz/corpus/<name>/ with a name saying what
#     it is.
#
# A crash, leak, timeout or out-of-memory fails the step; libFuzzer writes
# the input to build/fuzz/artifacts/<name>/ and its path is printed
# (reproduce with: build/fuzz/fuzz_<name> <path>). Each step 2 and 3 counts
# as one run; the last line is "N passed, M failed" and the exit status is
# non-zero when M > 0.
#
# Environment: FUZZ_SECONDS, FUZZ_CC (default clang), FUZZ_TIMEOUT (seconds
# one input may take, default 10).
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1

seconds=${FUZZ_SECONDS:-60}
cc=${FUZZ_CC:-clang}
unit_timeout=${FUZZ_TIMEOUT:-10}
out=build/fuzz
# shellcheck disable=SC2054  # the commas belong to -fsanitize=
cflags=(-O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc)

# The modules each harness links, besides the harness itself, and the
# libraries beyond libm. dispatch is a whole server in process: every module
# but main.c (and check_blob.c, the offline tool's main).
pkgs="liburing lmdb libssl libcrypto"
server_sources=$(find src -maxdepth 1 -name '*.c' ! -name main.c ! -name check_blob.c | sort | tr '\n' ' ')
server_libs="$(pkg-config --libs $pkgs 2>/dev/null || echo -luring -llmdb -lssl -lcrypto) -pthread"
declare -A sources=(
	[resp_parse]="src/resp_parse.c src/util.c"
	[resp_write]="src/resp_write.c src/sbuf.c src/mem.c src/util.c"
	[dispatch]="$server_sources"
)
declare -A libs=(
	[dispatch]="$server_libs"
)
# The server's own warning exception (see the Makefile) for its sources.
declare -A extra_cflags=(
	[dispatch]="-Wno-missing-field-initializers $(pkg-config --cflags $pkgs 2>/dev/null)"
)

if [[ $# -gt 0 ]]; then
	harnesses=("$@")
else
	harnesses=(resp_parse resp_write dispatch)
fi

passed=0
failed=0
log=$(mktemp "${TMPDIR:-/tmp}/strata-fuzz.XXXXXX")
trap 'rm -f "$log"' EXIT

pass() {
	echo "PASS $*"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

# Prints the inputs libFuzzer saved (crash-, leak-, timeout-, oom-...) and
# the end of its report.
report_failure() {
	local found=0 path

	while read -r path; do
		echo "    reproducer: $path"
		found=1
	done < <(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
	if [[ $found -eq 0 ]]; then
		path=$(sed -n 's/^Running: //p' "$log" | tail -n 1)
		[[ -n $path ]] && echo "    reproducer: $path"
	fi
	echo "    ---- libFuzzer's report, shadow memory dumps left out ----"
	awk '/^INFO: |^#[0-9]|^Dictionary: |^Running: |^Executed / { next }
	     /^Shadow bytes around/ { skip = 1 }
	     /^SUMMARY|^MS: |Test unit written/ { skip = 0 }
	     !skip' "$log" | tail -n 50 | sed 's/^/    /'
}

# The value of libFuzzer's final "stat::<name>: <value>" line.
fuzz_stat() {
	sed -n "s/^stat::$1: *//p" "$log" | tail -n 1
}

for h in "${harnesses[@]}"; do
	src=tests/fuzz/fuzz_$h.c
	bin=$out/fuzz_$h
	corpus=tests/fuzz/corpus/$h
	work=$out/corpus/$h
	artifacts=$out/artifacts/$h/
	dict=()
	[[ -f tests/fuzz/fuzz_$h.dict ]] && dict=(-dict="tests/fuzz/fuzz_$h.dict")
	runs=2
	[[ $seconds -eq 0 ]] && runs=1

	if [[ ! -f $src || -z ${sources[$h]+x} ]]; then
		echo "run.sh: unknown harness '$h'" >&2
		for ((i = 0; i < runs; i++)); do
			fail "$h: no such harness"
		done
		continue
	fi
	mkdir -p "$out" "$artifacts"
	# shellcheck disable=SC2086  # the source list is split on purpose
	if ! "$cc" "${cflags[@]}" ${extra_cflags[$h]:-} -o "$bin" "$src" ${sources[$h]} ${libs[$h]:-} -lm > "$log" 2>&1; then
		sed 's/^/    /' "$log"
		for ((i = 0; i < runs; i++)); do
			fail "$h: build failed"
		done
		continue
	fi

	# 2. Regressions: every committed input, once, whatever its size.
	mapfile -t inputs < <(find "$corpus" -maxdepth 1 -type f 2>/dev/null | sort)
	if [[ ${#inputs[@]} -eq 0 ]]; then
		fail "$h regressions: no corpus in $corpus"
	elif timeout -k 10 600 "$bin" -timeout="$unit_timeout" \
			-artifact_prefix="$artifacts" "${inputs[@]}" > "$log" 2>&1; then
		pass "$h regressions: ${#inputs[@]} corpus inputs"
	else
		fail "$h regressions (exit status $?)"
		report_failure
	fi

	# 3. Fuzzing, on a fresh copy of the corpus.
	[[ $seconds -eq 0 ]] && continue
	rm -rf "$work"
	mkdir -p "$work"
	[[ ${#inputs[@]} -gt 0 ]] && cp "${inputs[@]}" "$work"/
	timeout -k 10 $((seconds + 300)) "$bin" -max_len=4096 -max_total_time="$seconds" \
		-timeout="$unit_timeout" -print_final_stats=1 -artifact_prefix="$artifacts" \
		"${dict[@]}" "$work" > "$log" 2>&1
	rc=$?
	execs=$(fuzz_stat number_of_executed_units)
	rate=$(fuzz_stat average_exec_per_sec)
	size=$(find "$work" -maxdepth 1 -type f | wc -l)
	if [[ $rc -eq 0 && -n $execs ]]; then
		pass "$h fuzz ${seconds}s: ${execs} execs, ${rate} execs/s, corpus ${#inputs[@]} -> $size"
	else
		fail "$h fuzz ${seconds}s (exit status $rc): ${execs:-?} execs, ${rate:-?} execs/s"
		report_failure
	fi
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
