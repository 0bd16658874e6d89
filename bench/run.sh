#!/usr/bin/env bash
# bench/run.sh — strata and redis-server 7 side by side, same client, same run.
#
# Starts both servers on free 127.0.0.1 ports and runs the same
# redis-benchmark workloads against each, in alternation (strata, redis,
# strata, redis, ...) for BENCH_ROUNDS rounds, so that the machine's drift
# hits both alike. Every test (SET, GET, ...) is its own redis-benchmark run,
# which lets the CPU time each server spent on it be read from
# /proc/PID/stat (utime + stime of all its threads, before and after).
# For each server and test the round with the higher ops/s is kept, with
# that run's latencies and CPU time.
#
# Writes bench/RESULTS.md (machine, commands, table with strata/redis
# ratios) and bench/results.png (ratio bars per test); raw data of every run
# in bench/work/raw.csv. The "Large values" section that bench/large.sh
# keeps between its markers in RESULTS.md is carried over unchanged. Both
# servers are stopped by PID at the end.
#
# Environment:
#   STRATA_SERVER_BIN   strata binary (default: src/strata-server)
#   STRATA_ARGS         its extra arguments (default: "--shards 2", or ""
#                       when the binary is a redis-server, for validation)
#   REDIS_SERVER_BIN    reference server (default: redis-server on PATH)
#   BENCH_ROUNDS        rounds per test and server (default 2)
#   BENCH_CLIENTS       connections (default 50)
#   BENCH_KEYSPACE      -r, random keys (default 100000)
#   BENCH_N             requests, unpipelined 100-byte tests (default 100000)
#   BENCH_N_PIPE        requests, -P 16 tests (default 1000000; MSET a tenth)
#   BENCH_N_LARGE       requests, 4096-byte tests (default 50000)
#   BENCH_TIMEOUT       limit of the whole run in seconds (default 1500)
#   BENCH_SUITES        "core" (SET GET INCR MSET, 100 B and 4 KiB values)
#                       and/or "full" (redis-benchmark's whole default test
#                       set at -P 1 and -P 16); default "core full"
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
work="$here/work"
results_md="$here/RESULTS.md"
results_png="$here/results.png"

strata_bin=${STRATA_SERVER_BIN:-$root/src/strata-server}
redis_bin=${REDIS_SERVER_BIN:-$(command -v redis-server || echo /usr/bin/redis-server)}
rounds=${BENCH_ROUNDS:-2}
clients=${BENCH_CLIENTS:-50}
keyspace=${BENCH_KEYSPACE:-100000}
n_small=${BENCH_N:-100000}
n_pipe=${BENCH_N_PIPE:-1000000}
n_large=${BENCH_N_LARGE:-50000}
total_timeout=${BENCH_TIMEOUT:-1500}
suites=${BENCH_SUITES:-core full}
run_timeout=120
deadline=$((SECONDS + total_timeout))

die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 2; }

for b in "$strata_bin" "$redis_bin"; do
	[[ -x $b ]] || die "server binary $b not found (build strata with 'make', or set STRATA_SERVER_BIN / REDIS_SERVER_BIN)"
done
command -v redis-benchmark >/dev/null || die "redis-benchmark missing (package redis-tools)"
redis_args=(--save '' --appendonly no --bind 127.0.0.1)
if [[ -n ${STRATA_ARGS+set} ]]; then
	# shellcheck disable=SC2206 # splitting on spaces is the documented interface
	strata_args=(${STRATA_ARGS})
elif [[ $(basename "$strata_bin") == redis-server* ]]; then
	strata_args=("${redis_args[@]}")     # validation: two equal servers
else
	strata_args=(--shards 2)
fi
clk_tck=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------
# Servers.

# Prints a TCP port on 127.0.0.1 that no socket of this machine uses.
free_port() {
	local p hex
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 20000))
		hex=$(printf '%04X' "$p")
		if ! awk -v h="$hex" 'FNR > 1 { split($2, a, ":"); if (a[2] == h) f = 1 }
			END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

answers_ping() {
	local reply=""
	{
		exec 3<>"/dev/tcp/127.0.0.1/$1" &&
			printf 'PING\r\n' >&3 &&
			IFS= read -r -t 2 reply <&3
	} 2>/dev/null || true
	exec 3>&- 2>/dev/null || true
	[[ $reply == +PONG* ]]
}

declare -A pid=() port=() cmdline=()
run_tmp=""

# start_server NAME BINARY ARGS...: on a free port, in a temporary --dir.
start_server() {
	local name=$1 bin=$2 dir p attempt
	shift 2
	for attempt in 1 2 3; do
		p=$(free_port) || die "no free port"
		dir="$run_tmp/$name"
		rm -rf "$dir" && mkdir -p "$dir"
		"$bin" --port "$p" --dir "$dir" "$@" > "$run_tmp/$name.log" 2>&1 < /dev/null &
		pid[$name]=$!
		port[$name]=$p
		cmdline[$name]="$bin --port P --dir DIR$(printf ' %q' "$@")"
		for _ in $(seq 1 100); do
			kill -0 "${pid[$name]}" 2>/dev/null || break
			if answers_ping "$p"; then
				return 0
			fi
			sleep 0.1
		done
		if kill -0 "${pid[$name]}" 2>/dev/null; then
			stop_server "$name"
			die "$name does not answer PING on port $p after 10s"
		fi
		wait "${pid[$name]}" 2>/dev/null || true
		unset "pid[$name]"
		echo "bench/run.sh: $name exited at start-up (attempt $attempt); end of its log:" >&2
		tail -n 10 "$run_tmp/$name.log" | sed 's/^/    /' >&2
	done
	die "$name did not start"
}

stop_server() {
	local name=$1 p=${pid[$1]:-}
	[[ -n $p ]] || return 0
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null || true
	unset "pid[$name]"
}

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	stop_server strata
	stop_server redis
	if [[ -n $run_tmp ]]; then
		rm -rf "$run_tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# utime + stime of every thread of process $1, in clock ticks.
cpu_ticks() {
	local stat
	stat=$(< "/proc/$1/stat")
	stat=${stat##*) }              # fields from 3 (state) on; comm may hold spaces
	# shellcheck disable=SC2086
	set -- $stat
	echo $(( ${12} + ${13} ))
}

# ---------------------------------------------------------------------------
# Workloads: label, pipeline, value size, requests, test names.

# redis-benchmark's default test set (what it runs without -t), one test a
# run; an LRANGE run first fills its list with LPUSHes of its own.
full_tests="ping_inline ping_mbulk set get incr lpush rpush lpop rpop sadd hset spop zadd zpopmin lrange_100 lrange_300 lrange_500 lrange_600 mset"
workloads=()
if [[ " $suites " == *" core "* ]]; then
	workloads+=(
		"P1 d100|1|100|$n_small|set get incr mset"
		"P16 d100|16|100|$n_pipe|set get incr mset"
		"P1 d4096|1|4096|$n_large|set get"
	)
fi
if [[ " $suites " == *" full "* ]]; then
	workloads+=(
		"full P1|1|3|$n_small|$full_tests"
		"full P16|16|3|$n_pipe|$full_tests"
	)
fi

mkdir -p "$work"
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
raw="$work/raw.csv"
echo "workload,test,round,server,requests,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms,cpu_us_per_op" > "$raw"

start_server strata "$strata_bin" "${strata_args[@]}"
start_server redis "$redis_bin" "${redis_args[@]}"
echo "bench: strata pid ${pid[strata]} port ${port[strata]}: ${cmdline[strata]}"
echo "bench: redis  pid ${pid[redis]} port ${port[redis]}: ${cmdline[redis]}"

bench_cmd_template="redis-benchmark -h 127.0.0.1 -p PORT -c $clients -n N -P PIPELINE -d SIZE -r $keyspace -t TEST --csv"
timed_out=0

# bench_one WORKLOAD TEST ROUND SERVER N PIPELINE SIZE: one run, one raw line.
bench_one() {
	local wl=$1 test=$2 round=$3 srv=$4 n=$5 pipeline=$6 size=$7 out before after row
	kill -0 "${pid[$srv]}" 2>/dev/null || die "$srv (pid ${pid[$srv]}) died; end of its log: $(tail -n 5 "$run_tmp/$srv.log")"
	before=$(cpu_ticks "${pid[$srv]}")
	out=$(timeout -k 5 "$run_timeout" redis-benchmark -h 127.0.0.1 -p "${port[$srv]}" \
		-c "$clients" -n "$n" -P "$pipeline" -d "$size" -r "$keyspace" -t "$test" --csv 2>&1) || true
	after=$(cpu_ticks "${pid[$srv]}" 2>/dev/null || echo "$before")
	# The data row: "NAME","rps","avg","min","p50","p95","p99","max", the one
	# named for the test (an LRANGE run also prints its LPUSH fill).
	row=$(printf '%s\n' "$out" | awk -v t="$(printf '%s' "$test" | tr 'a-z' 'A-Z')" '
		/^"[^"]+","[0-9.]+",/ {
			name = $0; sub(/^"/, "", name); sub(/".*/, "", name)
			if (index(name, t) != 1) next
			gsub(/"/, ""); sub(/^[^,]*,/, ""); print; exit
		}')
	if [[ -z $row ]]; then
		echo "bench: $srv $wl $test round $round: no result: $(printf '%s' "$out" | tail -n 2)" >&2
		row=",,,,,,"
	fi
	awk -v t="$((after - before))" -v hz="$clk_tck" -v n="$n" -v pre="$wl,$test,$round,$srv,$n,$row" \
		'BEGIN { printf "%s,%.3f\n", pre, t * 1e6 / hz / n }' >> "$raw"
}

for w in "${workloads[@]}"; do
	IFS='|' read -r wl pipeline size n tests <<< "$w"
	for srv in strata redis; do
		timeout 10 redis-cli -h 127.0.0.1 -p "${port[$srv]}" flushall > /dev/null 2>&1 ||
			echo "bench: FLUSHALL on $srv failed" >&2
	done
	for test in $tests; do
		tn=$n
		# MSET sets 10 keys a request, LRANGE returns up to 600 elements: fewer
		# requests when pipelined, so each run takes seconds, not minutes.
		[[ $test == mset && $pipeline -gt 1 ]] && tn=$((n / 10))
		[[ $test == lrange_* && $pipeline -gt 1 ]] && tn=$((n / 20))
		[[ $test == lrange_* && $pipeline -eq 1 ]] && tn=$((n / 2))
		for round in $(seq 1 "$rounds"); do
			for srv in strata redis; do
				if [[ $SECONDS -ge $deadline ]]; then
					timed_out=1
					break 4
				fi
				bench_one "$wl" "$test" "$round" "$srv" "$tn" "$pipeline" "$size"
			done
		done
		echo "bench: $wl $test done ($((SECONDS))s)"
	done
done
[[ $timed_out -eq 0 ]] || echo "bench: stopped at the ${total_timeout}s limit; results are partial" >&2

strata_version=$("$strata_bin" --version 2>/dev/null | head -n 1 || true)
redis_version=$("$redis_bin" --version 2>/dev/null | head -n 1 || true)
git_rev=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
stop_server strata
stop_server redis

# ---------------------------------------------------------------------------
# Best round per (workload, test, server); table; ratios.

summary="$work/summary.tsv"
awk -F ',' '
	NR == 1 || $6 == "" { next }
	{
		k = $1 SUBSEP $2 SUBSEP $4
		if (!(k in best) || $6 + 0 > rps[k]) { best[k] = $0; rps[k] = $6 + 0 }
		if (!(($1 SUBSEP $2) in seen)) { seen[$1 SUBSEP $2] = 1; order[++n] = $1 SUBSEP $2 }
	}
	END {
		for (i = 1; i <= n; i++) {
			split(order[i], p, SUBSEP)
			ks = order[i] SUBSEP "strata"; kr = order[i] SUBSEP "redis"
			if (!(ks in best) || !(kr in best)) continue
			split(best[ks], s, ","); split(best[kr], r, ",")
			printf "%s %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p[1], toupper(p[2]),
				s[6], r[6], s[9], r[9], s[11], r[11], s[13], r[13]
		}
	}' "$raw" > "$summary"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

table="$work/table.md"
ratios="$work/ratios.dat"
{
	echo "| test | strata ops/s | redis ops/s | ops/s ratio | strata p50 ms | redis p50 ms | strata p99 ms | redis p99 ms | p99 ratio | strata CPU µs/op | redis CPU µs/op | CPU ratio |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$table"
: > "$ratios"
printf '%-18s %11s %11s %6s %8s %8s %8s %8s %8s %8s %6s\n' test strata redis ratio \
	s-p50 r-p50 s-p99 r-p99 s-us/op r-us/op ratio
while IFS=$'\t' read -r name srps rrps sp50 rp50 sp99 rp99 scpu rcpu; do
	qr=$(ratio "$srps" "$rrps")
	pr=$(ratio "$sp99" "$rp99")
	cr=$(ratio "$scpu" "$rcpu")
	printf '%-18s %11.0f %11.0f %6s %8s %8s %8s %8s %8s %8s %6s\n' "$name" "$srps" "$rrps" "$qr" \
		"$sp50" "$rp50" "$sp99" "$rp99" "$scpu" "$rcpu" "$cr"
	printf '| %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$srps" "$rrps" "$qr" \
		"$sp50" "$rp50" "$sp99" "$rp99" "$pr" "$scpu" "$rcpu" "$cr" >> "$table"
	printf '"%s"\t%s\t%s\n' "$name" "$qr" "$cr" >> "$ratios"
done < "$summary"

# ---------------------------------------------------------------------------
# Chart: ops/s ratio and CPU-per-op ratio, strata / redis, per test.

chart_note="(no chart: gnuplot missing)"
if command -v gnuplot >/dev/null && [[ -s $ratios ]]; then
	term="pngcairo size 1900,640 font 'sans,9'"
	gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 || term="png size 1900,640"
	if gnuplot > "$work/gnuplot.log" 2>&1 <<-EOF; then
		set terminal $term
		set output '$results_png'
		set title "strata / redis-server 7, same client, same run (higher ops/s ratio and lower CPU ratio are better)"
		set style data histogram
		set style histogram cluster gap 1
		set style fill solid 0.8 border -1
		set boxwidth 0.9
		set termoption noenhanced
		set xtics rotate by -60 scale 0 font ',8'
		set ylabel "ratio strata / redis"
		set yrange [0:*]
		set grid ytics
		set key tmargin center horizontal
		set datafile missing "-"
		plot '$ratios' using 2:xtic(1) title "ops/s ratio", \
		     '' using 3 title "CPU per op ratio", \
		     1 with lines lc rgb "black" dt 2 notitle
	EOF
		chart_note="![ratios](results.png)"
	else
		chart_note="(chart failed: see bench/work/gnuplot.log)"
	fi
fi

# ---------------------------------------------------------------------------
# RESULTS.md

validation_note=""
if [[ $(basename "$strata_bin") == redis-server* ]]; then
	validation_note="
> **Validation run**: the binary in the strata column was a redis-server, not
> strata. These figures only show the script and the noise between two equal
> servers; they are no result for strata."
fi
partial_note=""
[[ $timed_out -eq 0 ]] || partial_note="
> The run hit its ${total_timeout} s limit: some tests are missing."

# bench/large.sh's section, kept as it is.
large_section=""
if [[ -f $results_md ]]; then
	large_section=$(awk '$0 == "<!-- bench/large.sh: begin -->" { f = 1 } f; $0 == "<!-- bench/large.sh: end -->" { f = 0 }' "$results_md")
fi

{
	cat <<-EOF
	# strata vs redis-server — side-by-side benchmark

	Written by \`bench/run.sh\` (\`make bench\`) on $(date -u '+%Y-%m-%d %H:%M UTC'), strata at \`$git_rev\`.
	Absolute numbers depend on the machine and carry little; the ratios,
	measured in one run with the same client, are the result.
	$validation_note$partial_note

	## Machine

	- CPUs: $(nproc) online, $(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	- kernel: $(uname -sr)
	- memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	- client and both servers on this one machine, over 127.0.0.1

	## Servers

	- strata: \`${cmdline[strata]}\`${strata_version:+ ($strata_version)}
	- redis: \`${cmdline[redis]}\`${redis_version:+ ($redis_version)}, io-threads default (1)

	Both run side by side for the whole benchmark; only one is loaded at a time.

	## Commands

	Each test is one run of

	    $bench_cmd_template

	with, per workload:

	| workload | PIPELINE | SIZE | N | TEST |
	| --- | ---: | ---: | ---: | --- |
	| P1 d100 | 1 | 100 | $n_small | set, get, incr, mset |
	| P16 d100 | 16 | 100 | $n_pipe (mset: $((n_pipe / 10))) | set, get, incr, mset |
	| P1 d4096 | 1 | 4096 | $n_large | set, get |
	| full P1 | 1 | 3 | $n_small (lrange: $((n_small / 2))) | redis-benchmark's default set: $full_tests |
	| full P16 | 16 | 3 | $n_pipe (mset: $((n_pipe / 10)), lrange: $((n_pipe / 20))) | the same |

	The "full" workloads are redis-benchmark's default run (no -t, 3-byte
	values) split into one run per test; an LRANGE run first fills its list
	with LPUSHes of its own, which count in its CPU time for both servers.

	FLUSHALL on both servers before each workload. For each test, $rounds
	rounds alternate strata, redis, strata, redis, ...; for each server the
	round with the higher ops/s is kept, with its latencies. CPU µs/op is the
	server's utime + stime over the run (from /proc/PID/stat, all threads)
	divided by the requests (an MSET of 10 keys is one request). Ratios are
	strata / redis: above 1 is better for ops/s, below 1 is better for p99
	and CPU. Raw data of every run: \`bench/work/raw.csv\`.

	## Results

	EOF
	cat "$table"
	echo
	echo "$chart_note"
	if [[ -n $large_section ]]; then
		echo
		printf '%s\n' "$large_section"
	fi
} > "$results_md"

made_png=""
[[ $chart_note == "!["* ]] && made_png=" and ${results_png#"$root"/}"
echo "bench: wrote ${results_md#"$root"/}$made_png in ${SECONDS}s"
