#!/usr/bin/env bash
# tests/run-unit.sh BIN... — runs cmocka unit test programs and totals them.
#
# Each program runs on its own, bounded by UNIT_TIMEOUT seconds (default 300).
# Test cases are counted from cmocka's summary lines, summed over every group
# a program runs:
#     [  PASSED  ] k test(s).
#     [  FAILED  ] k test(s), listed below:
# A program that crashes, times out, or exits non-zero without reporting a
# failed case counts as one more failed case; so does one that prints no
# cmocka summary at all. Output of a program with failures is shown in full.
#
# The last line printed is "N passed, M failed"; the exit status is non-zero
# when M > 0.
set -uo pipefail

timeout_s=${UNIT_TIMEOUT:-300}
export CMOCKA_MESSAGE_OUTPUT=stdout    # the format parsed below, not TAP/XML

total_pass=0
total_fail=0
out=$(mktemp "${TMPDIR:-/tmp}/strata-unit.XXXXXX")
trap 'rm -f "$out"' EXIT

if [[ $# -eq 0 ]]; then
	echo "run-unit: no unit test programs given" >&2
fi

for bin in "$@"; do
	name=$(basename "$bin")
	if [[ ! -x $bin ]]; then
		echo "FAIL $name: not an executable file: $bin"
		total_fail=$((total_fail + 1))
		continue
	fi
	timeout -k 10 "$timeout_s" "$bin" > "$out" 2>&1 < /dev/null
	rc=$?

	# Sum every "[  PASSED  ] k test(s)." and "[  FAILED  ] k test(s)" line;
	# "[  FAILED  ] test_name" lines (no count) are not summary lines.
	read -r pass fail summaries < <(awk '
		/^\[  PASSED  \] [0-9]+ test\(s\)/ { p += $4; n++ }
		/^\[  FAILED  \] [0-9]+ test\(s\)/ { f += $4; n++ }
		END { printf "%d %d %d\n", p, f, n }' "$out")

	why=""
	if [[ $rc -eq 124 ]]; then
		why="timed out after ${timeout_s}s"
	elif [[ $rc -gt 128 ]]; then
		why="crashed (signal $((rc - 128)))"
	elif [[ $rc -ne 0 && $fail -eq 0 ]]; then
		why="exited with status $rc without a failed test case"
	elif [[ $summaries -eq 0 ]]; then
		why="printed no cmocka summary"
	fi
	if [[ -n $why ]]; then
		fail=$((fail + 1))
	fi

	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	if [[ $fail -eq 0 ]]; then
		echo "PASS $name ($pass passed)"
	else
		echo "---- output of $name ----"
		cat "$out"
		echo "---- end of $name ----"
		echo "FAIL $name ($pass passed, $fail failed${why:+; $why})"
	fi
done

echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
