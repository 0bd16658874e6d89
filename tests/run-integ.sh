#!/usr/bin/env bash
# tests/run-integ.sh BIN... — runs integration test programs and totals them.
#
# The programs are hiredis clients that start a server themselves (binary
# from $STRATA_SERVER_BIN, passed through the environment unchanged) or use
# $STRATA_TEST_SERVER=host:port. Each prints TAP-like lines:
#     ok N - name
#     not ok N - name
# optionally a plan "1..N" and the directives "# SKIP" (counted as skipped)
# and "# TODO" on a "not ok" (counted as skipped, not failed). Each program
# is bounded by INTEG_TIMEOUT seconds (default 300).
#
# Failures: every "not ok"; every test announced by the plan but never
# reported; a "Bail out!". A program that crashes, times out or exits non-zero
# while reporting no failure counts as one failure.
#
# The last line printed is "N passed, M failed"; the exit status is non-zero
# when M > 0.
set -uo pipefail

timeout_s=${INTEG_TIMEOUT:-300}
if [[ -n ${STRATA_SERVER_BIN:-} ]]; then
	export STRATA_SERVER_BIN
fi

total_pass=0
total_fail=0
total_skip=0
out=$(mktemp "${TMPDIR:-/tmp}/strata-integ.XXXXXX")
trap 'rm -f "$out"' EXIT

if [[ $# -eq 0 ]]; then
	echo "run-integ: no integration test programs given" >&2
fi

for bin in "$@"; do
	name=$(basename "$bin")
	if [[ ! -x $bin ]]; then
		echo "FAIL $name: not an executable file: $bin"
		total_fail=$((total_fail + 1))
		continue
	fi
	start=$SECONDS
	timeout -k 10 "$timeout_s" "$bin" > "$out" 2>&1 < /dev/null
	rc=$?

	read -r pass fail skip plan seen bail < <(awk '
		/^[ \t]*ok( |$)/ || /^[ \t]*not ok( |$)/ {
			seen++
			notok = ($1 == "not")
			if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/ ||
			    (notok && $0 ~ /#[ \t]*[Tt][Oo][Dd][Oo]/)) skip++
			else if (notok) fail++
			else pass++
			next
		}
		/^1\.\.[0-9]+/ { split($1, a, "\\.\\."); plan = a[2] + 0; next }
		/^Bail out!/ { bail = 1 }
		END { printf "%d %d %d %d %d %d\n", pass, fail, skip, plan, seen, bail }' "$out")

	why=""
	if [[ $plan -gt $seen ]]; then
		fail=$((fail + plan - seen))
		why="$((plan - seen)) planned test(s) not reported"
	fi
	if [[ $bail -eq 1 ]]; then
		why="${why:+$why; }bailed out"
		[[ $fail -eq 0 ]] && fail=1
	fi
	if [[ $rc -eq 124 ]]; then
		why="${why:+$why; }timed out after ${timeout_s}s"
	elif [[ $rc -gt 128 ]]; then
		why="${why:+$why; }crashed (signal $((rc - 128)))"
	elif [[ $rc -ne 0 ]]; then
		why="${why:+$why; }exited with status $rc"
	fi
	if [[ $rc -ne 0 && $fail -eq 0 ]]; then
		fail=1
	fi
	if [[ $seen -eq 0 && $fail -eq 0 ]]; then
		why="reported no test"
		fail=1
	fi

	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
	secs=$((SECONDS - start))
	skipped=""
	[[ $skip -gt 0 ]] && skipped=", $skip skipped"
	if [[ $fail -eq 0 ]]; then
		echo "PASS $name ($pass passed$skipped, ${secs}s)"
	else
		echo "---- output of $name ----"
		cat "$out"
		echo "---- end of $name ----"
		echo "FAIL $name ($pass passed, $fail failed$skipped${why:+; $why})"
	fi
done

if [[ $total_skip -gt 0 ]]; then
	echo "($total_skip skipped)"
fi
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
