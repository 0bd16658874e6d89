#!/usr/bin/env bash
# bench/large.sh — large values: strata, redis-server and memcached side by
# side, against the limits of the machine measured in the same run.
#
# 1. Limits. fio writes and then reads a file in the run's temp dir with
#    O_DIRECT through io_uring, 1 MiB blocks (sequential, time-bounded);
#    iperf3 measures loopback TCP over 127.0.0.1 with as many streams as
#    the benchmark has connections, spread over one client/server pair per
#    CPU (iperf3 3.x runs each process in one thread, so a single pair
#    measures one core's copying, not the machine's). A SET can go no
#    faster than the lower of disk write and TCP, a GET than the lower of
#    disk read and TCP.
# 2. Throughput. For each value size (64 KiB, 1 MiB, 16 MiB) the three
#    servers are started fresh, each in its own dir under the temp dir, and
#    bench/largebench (built here with gcc) runs a SET phase then a GET
#    phase of LARGE_SECONDS each over a data set of LARGE_DATASET bytes,
#    with LARGE_CONNS connections, against one server at a time, in
#    alternation (strata, redis, memcached, strata, ...) for LARGE_ROUNDS
#    rounds; per server and op the round with the higher MB/s is kept.
#      strata     its blob tier with the defaults (blob-threshold 64kb,
#                 blob-fsync everysec); without a blob tier it keeps the
#                 values in RAM, and the table is simply that.
#      redis      values in RAM, save "" and appendonly no.
#      memcached  extstore in a file of the temp dir, with -m 256 MB of RAM:
#                 the budget that the target allows strata (maxmemory 128mb
#                 + 128 MB), so it has to use its disk. Its item size limit
#                 (-I) and write buffer are raised to fit the value; a size
#                 whose SETs it refuses is reported n/a with its error.
# 3. Memory. strata with maxmemory 128mb stores LARGE_RSS_BYTES (5 GiB) of
#    LARGE_RSS_SIZE values under distinct keys and reads each back; the
#    client samples the server's VmRSS every 20 ms and reads its VmHWM.
#    Target: peak below maxmemory + 128 MB, with every value stored and
#    read back. Skipped, saying why, when the temp dir's disk has less than
#    twice that plus 2 GiB free.
#
# Writes the "Large values" section of bench/RESULTS.md (between the markers
# below; bench/run.sh keeps it when it rewrites the rest) and
# bench/large.png; raw data of every run in bench/work/large-raw.csv. Every
# process it starts is stopped by PID, and the temp dir is removed, on any
# exit. A default run takes about 8 minutes (fio 2 × 10 s, iperf3 5 s,
# 3 sizes × 3 servers × 2 rounds × 20 s, the memory test); no phase starts
# after LARGE_TIMEOUT, and the memory test gets what is left of it but at
# least 60 s, so a run ends within 15 minutes.
#
# Environment (defaults; LARGE_QUICK=1 changes the marked ones to a short
# validation run of about half a minute):
#   STRATA_SERVER_BIN    src/strata-server
#   STRATA_ARGS          "--shards 2 --blob-threshold 64kb --blob-fsync everysec"
#   REDIS_SERVER_BIN     redis-server on PATH
#   MEMCACHED_BIN        memcached on PATH
#   LARGE_SIZES          "64k 1m 16m"
#   LARGE_CONNS          8
#   LARGE_SECONDS        10     (quick: 1)   per phase, whole seconds
#   LARGE_ROUNDS         2      (quick: 1)
#   LARGE_DATASET        1g     (quick: 512m) distinct bytes per size
#   LARGE_MC_MEMORY_MB   256
#   LARGE_FIO_SIZE       4g     (quick: 256m)
#   LARGE_FIO_SECONDS    10     (quick: 2)   per direction
#   LARGE_IPERF_SECONDS  5      (quick: 2)
#   LARGE_RSS_SIZE       1m
#   LARGE_RSS_BYTES      5g     (quick: 512m)
#   LARGE_RSS_MAXMEMORY  128mb
#   LARGE_TMPDIR         bench/work (a temp dir is made inside; not tmpfs)
#   LARGE_TIMEOUT        780    no new phase after this many seconds
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
work="$here/work"
results_md="$here/RESULTS.md"
results_png="$here/large.png"
mark_begin="<!-- bench/large.sh: begin -->"
mark_end="<!-- bench/large.sh: end -->"

quick=${LARGE_QUICK:-0}
[[ $quick == 0 ]] && q="" || q=1
strata_bin=${STRATA_SERVER_BIN:-$root/src/strata-server}
redis_bin=${REDIS_SERVER_BIN:-$(command -v redis-server || echo /usr/bin/redis-server)}
mc_bin=${MEMCACHED_BIN:-$(command -v memcached || echo /usr/bin/memcached)}
sizes=${LARGE_SIZES:-64k 1m 16m}
conns=${LARGE_CONNS:-8}
seconds=${LARGE_SECONDS:-${q:+1}}; seconds=${seconds:-10}
rounds=${LARGE_ROUNDS:-${q:+1}}; rounds=${rounds:-2}
dataset=${LARGE_DATASET:-${q:+512m}}; dataset=${dataset:-1g}
mc_memory_mb=${LARGE_MC_MEMORY_MB:-256}
fio_size=${LARGE_FIO_SIZE:-${q:+256m}}; fio_size=${fio_size:-4g}
fio_seconds=${LARGE_FIO_SECONDS:-${q:+2}}; fio_seconds=${fio_seconds:-10}
iperf_seconds=${LARGE_IPERF_SECONDS:-${q:+2}}; iperf_seconds=${iperf_seconds:-5}
rss_size=${LARGE_RSS_SIZE:-1m}
rss_bytes=${LARGE_RSS_BYTES:-${q:+512m}}; rss_bytes=${rss_bytes:-5g}
rss_maxmemory=${LARGE_RSS_MAXMEMORY:-128mb}
tmp_parent=${LARGE_TMPDIR:-$work}
total_timeout=${LARGE_TIMEOUT:-780}
deadline=$((SECONDS + total_timeout))

# show_cmd ARGS...: the command as one line to read, quoting only the
# arguments that need it.
show_cmd() {
	local a out=""
	for a in "$@"; do
		[[ -n $a && $a != *[[:space:]\'\"]* ]] || a="'$a'"
		out+="${out:+ }$a"
	done
	printf '%s' "$out"
}

die() { printf 'bench/large.sh: %s\n' "$*" >&2; exit 2; }
say() { printf 'large: %s\n' "$*"; }

# bytes SIZE: "64k", "1m", "5g", "128mb" or plain bytes, in bytes (1024s).
bytes() {
	local s=${1,,}
	s=${s%b}
	case $s in
	*k) echo $(( ${s%k} << 10 )) ;;
	*m) echo $(( ${s%m} << 20 )) ;;
	*g) echo $(( ${s%g} << 30 )) ;;
	*[!0-9]* | "") die "bad size '$1'" ;;
	*) echo "$s" ;;
	esac
}

# human BYTES: "64 KiB", "1 MiB", "16 MiB", "5 GiB".
human() {
	local b=$1
	if (( b >= 1 << 30 && b % (1 << 30) == 0 )); then echo "$(( b >> 30 )) GiB"
	elif (( b >= 1 << 20 && b % (1 << 20) == 0 )); then echo "$(( b >> 20 )) MiB"
	elif (( b >= 1 << 10 && b % (1 << 10) == 0 )); then echo "$(( b >> 10 )) KiB"
	else echo "$b B"; fi
}

for b in "$strata_bin" "$redis_bin" "$mc_bin"; do
	[[ -x $b ]] || die "server binary $b not found (build strata with 'make'; the others come from deps/packages.txt: 'make deps')"
done
for t in gcc fio iperf3 redis-cli; do
	command -v "$t" >/dev/null || die "$t missing (deps/packages.txt; 'make deps')"
done
if [[ -n ${STRATA_ARGS+set} ]]; then
	# shellcheck disable=SC2206 # splitting on spaces is the documented interface
	strata_args=(${STRATA_ARGS})
elif [[ $(basename "$strata_bin") == redis-server* ]]; then
	strata_args=(--save '' --appendonly no --bind 127.0.0.1)   # validation
else
	strata_args=(--shards 2 --blob-threshold 64kb --blob-fsync everysec)
fi
dataset_bytes=$(bytes "$dataset")
rss_size_bytes=$(bytes "$rss_size")
rss_total=$(bytes "$rss_bytes")
rss_maxmemory_bytes=$(bytes "$rss_maxmemory")
rss_limit_kb=$(( (rss_maxmemory_bytes + (128 << 20)) >> 10 ))
size_list=()
for s in $sizes; do size_list+=("$(bytes "$s")"); done

# ---------------------------------------------------------------------------
# Processes. Every one is started as a direct child, so $! is its PID.

declare -A pid=() port=() cmdline=()
run_tmp=""

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

# listening PORT: true when a socket listens on 127.0.0.1:PORT.
listening() {
	awk -v h="$(printf '%04X' "$1")" 'FNR > 1 { split($2, a, ":"); if (a[2] == h && $4 == "0A") f = 1 }
		END { exit !f }' /proc/net/tcp
}

# answers PORT REQUEST PREFIX: true when the server on PORT replies to
# REQUEST with a line starting with PREFIX.
answers() {
	local reply=""
	{
		exec 3<>"/dev/tcp/127.0.0.1/$1" &&
			printf '%s\r\n' "$2" >&3 &&
			IFS= read -r -t 2 reply <&3
	} 2>/dev/null || true
	exec 3>&- 2>/dev/null || true
	[[ $reply == "$3"* ]]
}

# start_server NAME PROTO CMD...: CMD may hold PORT and DIR, which are
# replaced by a free port and a fresh dir; waits until it answers.
start_server() {
	local name=$1 proto=$2 dir p attempt a args
	shift 2
	dir="$run_tmp/$name"
	for attempt in 1 2 3; do
		p=$(free_port) || die "no free port"
		rm -rf "$dir" && mkdir -p "$dir"
		args=()
		for a in "$@"; do
			a=${a//PORT/$p}
			args+=("${a//DIR/$dir}")
		done
		"${args[@]}" > "$run_tmp/$name.log" 2>&1 < /dev/null &
		pid[$name]=$!
		port[$name]=$p
		cmdline[$name]=$(show_cmd "$@")
		for _ in $(seq 1 100); do
			kill -0 "${pid[$name]}" 2>/dev/null || break
			if [[ $proto == resp ]] && answers "$p" PING +PONG; then return 0; fi
			if [[ $proto == memcache ]] && answers "$p" version VERSION; then return 0; fi
			sleep 0.1
		done
		if kill -0 "${pid[$name]}" 2>/dev/null; then
			stop_server "$name"
			die "$name does not answer on port $p after 10s"
		fi
		wait "${pid[$name]}" 2>/dev/null || true
		unset "pid[$name]"
		echo "bench/large.sh: $name exited at start-up (attempt $attempt); end of its log:" >&2
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
	rm -rf "${run_tmp:?}/$name"
}

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	local n
	for n in "${!pid[@]}"; do
		stop_server "$n"
	done
	if [[ -n $run_tmp ]]; then
		rm -rf "$run_tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

past_deadline() { [[ $SECONDS -ge $deadline ]]; }

# ---------------------------------------------------------------------------
# Set-up: the client, the temp dir.

mkdir -p "$work" "$tmp_parent"
lb="$work/largebench"
if [[ ! -x $lb || $here/largebench.c -nt $lb ]]; then
	gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -o "$lb" "$here/largebench.c" ||
		die "building bench/largebench.c failed"
fi
run_tmp=$(mktemp -d "$tmp_parent/large.XXXXXX")
fstype=$(stat -f -c %T "$run_tmp")
[[ $fstype != tmpfs ]] || die "$run_tmp is on tmpfs, which has no O_DIRECT: set LARGE_TMPDIR to a dir on a disk"
disk_dev=$(df -P "$run_tmp" | awk 'NR == 2 { print $1 }')
free_kb() { df -Pk "$run_tmp" | awk 'NR == 2 { print $4 }'; }
raw="$work/large-raw.csv"
echo "size,op,round,server,keys,ops,ok,misses,errors,bytes,secs,mb_s,ops_s,p50_ms,p99_ms,max_ms,status" > "$raw"
say "temp dir $run_tmp ($fstype on $disk_dev, $(( $(free_kb) >> 20 )) GiB free)${q:+; quick mode}"

# ---------------------------------------------------------------------------
# 1. Limits.

# fio_mb_s RW: MB/s of one fio job on $run_tmp/fio.dat. Terse v3 gives KiB/s
# in field 7 (read) and field 48 (write).
fio_cmd="fio --name=NAME --filename=TMP/fio.dat --ioengine=io_uring --direct=1 --bs=1M --iodepth=8 --rw=RW --size=$fio_size --runtime=$fio_seconds --time_based --output-format=terse --terse-version=3"
fio_mb_s() {
	local rw=$1 out field
	[[ $rw == read ]] && field=7 || field=48
	out=$(timeout -k 5 $((fio_seconds + 120)) fio --name="seq$rw" --filename="$run_tmp/fio.dat" \
		--ioengine=io_uring --direct=1 --bs=1M --iodepth=8 --rw="$rw" --size="$fio_size" \
		--runtime="$fio_seconds" --time_based --output-format=terse --terse-version=3 \
		2> "$run_tmp/fio-$rw.err") || { sed 's/^/    /' "$run_tmp/fio-$rw.err" >&2; echo "-"; return 0; }
	printf '%s\n' "$out" | awk -F ';' -v f="$field" 'NR == 1 { printf "%.1f", $f * 1024 / 1e6 }'
}
disk_write=$(fio_mb_s write)
disk_read=$(fio_mb_s read)
rm -f "$run_tmp/fio.dat"
say "disk O_DIRECT 1 MiB sequential: write $disk_write MB/s, read $disk_read MB/s"

# One iperf3 server and client per CPU (at most one per connection), the
# $conns streams dealt out among them; the receivers' rates are added up.
pairs=$(nproc)
(( pairs <= conns )) || pairs=$conns
iperf_cmd="$pairs × (iperf3 -s -1 -B 127.0.0.1 -p P_i & iperf3 -c 127.0.0.1 -p P_i -P STREAMS_i -t $iperf_seconds -f m), $conns streams in all"
iperf_ports=()
for i in $(seq 1 "$pairs"); do
	p=$(free_port) || die "no free port"
	iperf3 -s -1 -B 127.0.0.1 -p "$p" > "$run_tmp/iperf-server.$i.log" 2>&1 < /dev/null &
	pid[iperf3-s$i]=$!
	for _ in $(seq 1 50); do
		listening "$p" && break
		sleep 0.1
	done
	iperf_ports+=("$p")
done
for i in $(seq 1 "$pairs"); do
	streams=$(( conns / pairs + (i <= conns % pairs ? 1 : 0) ))
	timeout -k 5 $((iperf_seconds + 30)) iperf3 -c 127.0.0.1 -p "${iperf_ports[i - 1]}" -P "$streams" \
		-t "$iperf_seconds" -f m > "$run_tmp/iperf-client.$i.log" 2>&1 < /dev/null &
	pid[iperf3-c$i]=$!
done
for i in $(seq 1 "$pairs"); do
	wait "${pid[iperf3-c$i]}" 2>/dev/null || true
	unset "pid[iperf3-c$i]"
	stop_server "iperf3-s$i"
done
# The last "receiver" line of a client is its total ([SUM] with -P > 1).
tcp=$(awk '/receiver/ { v = ""; for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1); last[FILENAME] = v }
	END { n = 0; for (f in last) if (last[f] != "") { sum += last[f]; n++ }
		if (n == 0) print "-"; else printf "%.1f", sum / 8 }' "$run_tmp"/iperf-client.*.log)
say "loopback TCP, $conns streams over $pairs iperf3 pair(s): $tcp MB/s"

# limit DISK: the lower of DISK and tcp, "-" if neither is known.
limit_of() {
	awk -v a="$1" -v b="$tcp" 'BEGIN {
		if (a == "-" && b == "-") { print "-"; exit }
		if (a == "-") { print b; exit }
		if (b == "-") { print a; exit }
		print (a + 0 < b + 0) ? a : b }'
}
limit_set=$(limit_of "$disk_write")
limit_get=$(limit_of "$disk_read")

# ---------------------------------------------------------------------------
# 2. Throughput, size by size.

# The memcached command for values of SIZE bytes: -I the smallest power of
# two MiB at least twice the value (the item also holds key and header, and
# memcached refuses -I above ext_wbuf_size or half of -m).
mc_cmd() {
	local size=$1 item_mb=1 ext_gb
	while (( item_mb << 20 < 2 * size )); do item_mb=$((item_mb * 2)); done
	ext_gb=$(( (2 * dataset_bytes + (1 << 30) - 1) >> 30 ))
	local cmd=("$mc_bin")
	[[ $(id -u) -eq 0 ]] && cmd+=(-u root)
	cmd+=(-l 127.0.0.1 -p PORT -U 0 -t 2 -m "$mc_memory_mb" -I "${item_mb}m"
		-o "ext_path=DIR/extstore:${ext_gb}G,ext_wbuf_size=$(( item_mb > 4 ? item_mb : 4 ))")
	printf '%s\n' "${cmd[@]}"
}

# field LINE NAME: the value of NAME=... in a largebench line.
field() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F '=' -v k="$2" '$1 == k { print $2; exit }'; }

servers=(strata redis memcached)
strata_cmdline=$(show_cmd "$strata_bin" --port PORT --dir DIR "${strata_args[@]}")
redis_cmdline=$(show_cmd "$redis_bin" --port PORT --dir DIR --save '' --appendonly no --bind 127.0.0.1)
declare -A proto=([strata]=resp [redis]=resp [memcached]=memcache)
declare -A mc_cmdline=()
timed_out=0

# bench_one SIZE ROUND SERVER KEYS: one SET+GET run, two raw lines.
bench_one() {
	local size=$1 round=$2 srv=$3 keys=$4 out rc status line op
	if ! kill -0 "${pid[$srv]}" 2>/dev/null; then
		echo "large: $srv died; end of its log:" >&2
		tail -n 5 "$run_tmp/$srv.log" | sed 's/^/    /' >&2
		for op in set get; do echo "$size,$op,$round,$srv,,,,,,,,,,,,,died" >> "$raw"; done
		return 0
	fi
	rc=0
	out=$(timeout -k 5 $((2 * seconds + 120)) "$lb" -p "${port[$srv]}" -P "${proto[$srv]}" \
		-s "$size" -c "$conns" -t "$seconds" -k "$keys" 2> "$run_tmp/lb.err") || rc=$?
	status=ok
	if [[ $rc -ne 0 ]]; then
		status="failed: $(grep -v 'error replies' "$run_tmp/lb.err" | head -n 1 | tr ',' ';')"
		status=${status:0:160}
		echo "large: $srv $(human "$size") round $round: largebench exit $rc: $(cat "$run_tmp/lb.err")" >&2
	elif [[ -s $run_tmp/lb.err ]]; then
		sed "s/^/large: $srv $(human "$size"): /" "$run_tmp/lb.err" >&2
		# "largebench: set: N error replies; the first: REPLY" -> note
		grep -o 'the first: .*' "$run_tmp/lb.err" | head -n 1 | sed 's/^the first: //' | tr ',' ';' \
			> "$run_tmp/first-error.$srv.$size" || true
	fi
	for op in set get; do
		line=$(printf '%s\n' "$out" | grep "^phase=$op " || true)
		if [[ -z $line ]]; then
			echo "$size,$op,$round,$srv,,,,,,,,,,,,,${status/#ok/no output}" >> "$raw"
			continue
		fi
		echo "$size,$op,$round,$srv,$(field "$line" keys),$(field "$line" ops),$(field "$line" ok),$(field "$line" misses),$(field "$line" errors),$(field "$line" bytes),$(field "$line" secs),$(field "$line" mb_s),$(field "$line" ops_s),$(field "$line" p50_ms),$(field "$line" p99_ms),$(field "$line" max_ms),$status" >> "$raw"
	done
}

for size in "${size_list[@]}"; do
	if past_deadline; then timed_out=1; break; fi
	keys=$(( dataset_bytes / size ))
	(( keys >= 2 * conns )) || keys=$(( 2 * conns ))
	mapfile -t mc < <(mc_cmd "$size")
	mc_cmdline[$size]=$(show_cmd "${mc[@]}")
	start_server strata resp "$strata_bin" --port PORT --dir DIR "${strata_args[@]}"
	start_server redis resp "$redis_bin" --port PORT --dir DIR --save '' --appendonly no --bind 127.0.0.1
	strata_cmdline=${cmdline[strata]} redis_cmdline=${cmdline[redis]}
	start_server memcached memcache "${mc[@]}"
	for round in $(seq 1 "$rounds"); do
		for srv in "${servers[@]}"; do
			if past_deadline; then timed_out=1; break 2; fi
			bench_one "$size" "$round" "$srv" "$keys"
		done
	done
	for srv in "${servers[@]}"; do stop_server "$srv"; done
	say "$(human "$size") done ($((SECONDS))s)"
done

# ---------------------------------------------------------------------------
# 3. Memory: strata with maxmemory storing many times more.

rss_status="" rss_set="" rss_get="" rss_info="" rss_first_error="" rss_cmdline=""
rss_need_kb=$(( (2 * rss_total + (2 << 30)) >> 10 ))
if past_deadline; then
	rss_status="Not run: the run hit its ${total_timeout} s limit first"
elif (( $(free_kb) < rss_need_kb )); then
	rss_status="Skipped: $(( $(free_kb) >> 20 )) GiB free on $disk_dev, and this test needs $(( rss_need_kb >> 20 )) GiB (twice the data plus 2 GiB)"
else
	start_server strata resp "$strata_bin" --port PORT --dir DIR "${strata_args[@]}" --maxmemory "$rss_maxmemory"
	rss_cmdline=${cmdline[strata]}
	rc=0
	rss_timeout=$(( deadline - SECONDS > 60 ? deadline - SECONDS : 60 ))
	out=$(timeout -k 5 "$rss_timeout" "$lb" -p "${port[strata]}" -P resp -s "$rss_size_bytes" -c "$conns" \
		-n "$rss_total" -w "${pid[strata]}" -x "rss:" 2> "$run_tmp/lb.err") || rc=$?
	rss_set=$(printf '%s\n' "$out" | grep '^phase=set ' || true)
	rss_get=$(printf '%s\n' "$out" | grep '^phase=get ' || true)
	rss_first_error=$(grep -o 'the first: .*' "$run_tmp/lb.err" | head -n 1 | sed 's/^the first: //' || true)
	rss_info=$(timeout 10 redis-cli -h 127.0.0.1 -p "${port[strata]}" info memory 2>/dev/null |
		tr -d '\r' | grep -E '^(used_memory|used_memory_rss|maxmemory):' | tr '\n' ' ' || true)
	blob_info=$(timeout 10 redis-cli -h 127.0.0.1 -p "${port[strata]}" info blobstore 2>/dev/null |
		tr -d '\r' | grep -v '^#' | grep . | tr '\n' ' ' || true)
	[[ -n $blob_info ]] && rss_info="$rss_info; INFO blobstore: $blob_info"
	kill -0 "${pid[strata]}" 2>/dev/null || rss_status="strata died during the test"
	stop_server strata
	if [[ $rc -ne 0 ]]; then
		rss_status="failed: largebench exit $rc: $(head -n 1 "$run_tmp/lb.err")"
	fi
	say "memory: $rss_set"
	say "memory: $rss_get"
fi
[[ -z $rss_status ]] || say "memory: $rss_status"

strata_version=$("$strata_bin" --version 2>/dev/null | head -n 1 || true)
redis_version=$("$redis_bin" --version 2>/dev/null | head -n 1 || true)
mc_version=$("$mc_bin" -V 2>/dev/null | head -n 1 || true)
git_rev=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
[[ $timed_out -eq 0 ]] || echo "bench/large.sh: stopped at the ${total_timeout}s limit; results are partial" >&2

# ---------------------------------------------------------------------------
# 4. Table: best round per (size, op, server).

summary="$work/large-summary.tsv"
awk -F ',' '
	NR == 1 { next }
	{
		k = $1 SUBSEP $2 SUBSEP $4
		if ($17 != "ok") { if (!(k in best)) fail[k] = $17; next }
		if (!(k in best) || $12 + 0 > mb[k]) { best[k] = $0; mb[k] = $12 + 0 }
	}
	END {
		for (k in best) { split(best[k], f, ","); split(k, p, SUBSEP)
			printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p[1], p[2], p[3], f[12], f[15], f[6], f[7], f[8], f[9], "ok" }
		for (k in fail) if (!(k in best)) { split(k, p, SUBSEP)
			printf "%s\t%s\t%s\t-\t-\t0\t0\t0\t0\t%s\n", p[1], p[2], p[3], fail[k] }
	}' "$raw" > "$summary"

declare -A mbs=() p99=() note=()
while IFS=$'\t' read -r size op srv mb pp ops ok misses errors status; do
	k="$size,$op,$srv"
	if [[ $status != ok ]]; then
		mbs[$k]="-"; p99[$k]="-"; note[$k]="$srv $op: $status"
		continue
	fi
	if [[ $ok -eq 0 ]]; then
		mbs[$k]="n/a"; p99[$k]="-"
	else
		mbs[$k]=$mb; p99[$k]=$pp
	fi
	n=""
	if [[ $errors -gt 0 ]]; then
		first=$(cat "$run_tmp/first-error.$srv.$size" 2>/dev/null || true)
		n=$(awk -v e="$errors" -v o="$ops" 'BEGIN { printf "%.0f%% refused", 100 * e / o }')
		[[ -n $first ]] && n="$n (${first//|/\\|})"
	fi
	if [[ $misses -gt 0 ]]; then
		n="${n:+$n, }$(awk -v h="$ok" -v o="$ops" 'BEGIN { printf "%.0f%% hits", 100 * h / o }')"
	fi
	[[ -z $n ]] || note[$k]="$srv $op: $n"
done < "$summary"

cell() { printf '%s' "${1:--}"; }
num() { if [[ $1 =~ ^[0-9.]+$ ]]; then printf '%s' "$1"; else printf -- '-'; fi; }
table="$work/large-table.md"
chart_dat="$work/large-chart.dat"
{
	echo "| value | op | strata MB/s | redis MB/s | memcached MB/s | limit MB/s | strata / limit | ≥ 70%? | strata p99 ms | redis p99 ms | memcached p99 ms | notes |"
	echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | --- |"
} > "$table"
: > "$chart_dat"
for size in "${size_list[@]}"; do
	for op in set get; do
		[[ $op == set ]] && lim=$limit_set || lim=$limit_get
		s=${mbs[$size,$op,strata]:--}
		pct=$(awk -v s="$s" -v l="$lim" 'BEGIN { if (s ~ /^[0-9.]+$/ && l ~ /^[0-9.]+$/ && l > 0) printf "%.0f%%", 100 * s / l; else printf "-" }')
		met="–"
		if (( size >= 1 << 20 )) && [[ $pct != - ]]; then
			met=$(awk -v p="${pct%\%}" 'BEGIN { print (p >= 70) ? "yes" : "no" }')
		fi
		notes=""
		for srv in "${servers[@]}"; do
			[[ -z ${note[$size,$op,$srv]:-} ]] || notes="${notes:+$notes; }${note[$size,$op,$srv]}"
		done
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(human "$size")" "${op^^}" \
			"$s" "$(cell "${mbs[$size,$op,redis]:-}")" "$(cell "${mbs[$size,$op,memcached]:-}")" "$lim" "$pct" "$met" \
			"$(cell "${p99[$size,$op,strata]:-}")" "$(cell "${p99[$size,$op,redis]:-}")" \
			"$(cell "${p99[$size,$op,memcached]:-}")" "$notes" >> "$table"
		printf '"%s %s"\t%s\t%s\t%s\t%s\n' "$(human "$size")" "${op^^}" "$(num "$s")" \
			"$(num "${mbs[$size,$op,redis]:-}")" "$(num "${mbs[$size,$op,memcached]:-}")" "$(num "$lim")" >> "$chart_dat"
	done
done
cat "$table"

# ---------------------------------------------------------------------------
# Chart: MB/s per value size and op, the three servers and the limit.

chart_note="(no chart: gnuplot missing)"
if command -v gnuplot >/dev/null && [[ -s $chart_dat ]]; then
	term="pngcairo size 1200,560 font 'sans,10'"
	gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 || term="png size 1200,560"
	if gnuplot > "$work/large-gnuplot.log" 2>&1 <<-EOF; then
		set terminal $term
		set output '$results_png'
		set title "Large values, $conns connections: MB/s of values moved (higher is better)"
		set style data histogram
		set style histogram cluster gap 1
		set style fill solid 0.8 border -1
		set boxwidth 0.9
		set termoption noenhanced
		set ylabel "MB/s (10^6 bytes)"
		set yrange [0:*]
		set offsets 0, 0, graph 0.08, 0
		set grid ytics
		set key tmargin center horizontal
		set datafile missing "-"
		plot '$chart_dat' using 2:xtic(1) title "strata" lc rgb "#1f77b4", \
		     '' using 3 title "redis-server (RAM)" lc rgb "#d62728", \
		     '' using 4 title "memcached + extstore" lc rgb "#2ca02c", \
		     '' using 5 title "limit: min(disk O_DIRECT, loopback TCP)" lc rgb "#7f7f7f"
	EOF
		chart_note="![large values](large.png)"
	else
		chart_note="(chart failed: see bench/work/large-gnuplot.log)"
	fi
fi

# ---------------------------------------------------------------------------
# The "Large values" section of RESULTS.md.

rss_section() {
	if [[ -n $rss_status && -z $rss_set ]]; then
		echo "$rss_status."
		return
	fi
	local set_ok get_ok n hwm rss rss2 verdict why=""
	n=$(( (rss_total + rss_size_bytes - 1) / rss_size_bytes ))
	set_ok=$(field "$rss_set" ok); get_ok=$(field "$rss_get" ok)
	hwm=$(field "$rss_get" hwm_kb); [[ -n $hwm ]] || hwm=$(field "$rss_set" hwm_kb)
	rss=$(field "$rss_set" rss_max_kb); rss2=$(field "$rss_get" rss_max_kb)
	(( ${rss2:-0} <= ${rss:-0} )) || rss=$rss2
	[[ ${set_ok:-0} -eq $n ]] || why="${why:+$why; }stored $set_ok of $n values"
	[[ ${get_ok:-0} -eq $n ]] || why="${why:+$why; }read back ${get_ok:-0} of $n"
	[[ ${hwm:-0} -gt 0 && $hwm -lt $rss_limit_kb ]] || why="${why:+$why; }peak ${hwm:-?} kB is not under $rss_limit_kb kB"
	[[ -z $rss_status ]] || why="${why:+$why; }$rss_status"
	[[ -z $why ]] && verdict="**met**" || verdict="**not met**: $why"
	cat <<-EOF
	strata: \`$rss_cmdline\`; $n values of $(human "$rss_size_bytes") ($(human "$rss_total")) under distinct
	keys, $conns connections, SET all then GET all; VmRSS sampled every 20 ms,
	VmHWM read at the end.

	| values | stored (SET OK) | read back (GET hit) | SET MB/s | GET MB/s | peak RSS (VmHWM) | max sampled VmRSS | limit: maxmemory + 128 MB |
	| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
	| $n × $(human "$rss_size_bytes") | $set_ok | ${get_ok:--} | $(field "$rss_set" mb_s) | $(field "$rss_get" mb_s) | $(( ${hwm:-0} >> 10 )) MiB | $(( ${rss:-0} >> 10 )) MiB | $(( rss_limit_kb >> 10 )) MiB |

	Target $verdict.${rss_first_error:+ First refused SET: \`$rss_first_error\`.}
	At the end: ${rss_info:-(INFO not read)}
	EOF
}

quick_note=""
[[ -z $q ]] || quick_note="
> **Quick validation run** (LARGE_QUICK=1): phases of ${seconds} s, a
> $(human "$dataset_bytes") data set, short fio and iperf3 runs and a
> $(human "$rss_total") memory test, on a machine shared with other work. The
> figures only show that the script works; they are no result for strata."
[[ $(basename "$strata_bin") != redis-server* ]] || quick_note="$quick_note
> **Validation run**: the strata column was a redis-server."
[[ $timed_out -eq 0 ]] || quick_note="$quick_note
> The run hit its ${total_timeout} s limit: some figures are missing."

section="$work/large-section.md"
{
	echo "$mark_begin"
	cat <<-EOF
	## Large values

	Written by \`bench/large.sh\` (\`make bench-large\`) on $(date -u '+%Y-%m-%d %H:%M UTC'), strata at \`$git_rev\`,
	$(nproc) CPUs, $(uname -sr), temp dir on $fstype ($disk_dev).
	$quick_note

	### Limits of the machine, same run

	- disk, O_DIRECT, io_uring, 1 MiB blocks, queue depth 8, sequential:
	  write **$disk_write MB/s**, read **$disk_read MB/s**
	  (\`${fio_cmd//TMP/\$tmp}\`, RW = write then read)
	- loopback TCP: **$tcp MB/s** (\`$iperf_cmd\`; iperf3 runs one thread
	  per process, hence one pair per CPU)
	- limit of a SET: $limit_set MB/s, of a GET: $limit_get MB/s (the lower of
	  disk in that direction and TCP)

	### Servers

	- strata: \`$strata_cmdline\`${strata_version:+ ($strata_version)}
	- redis: \`$redis_cmdline\`${redis_version:+ ($redis_version)}: values in RAM
	- memcached${mc_version:+ ($mc_version)}, extstore in a file of the temp dir, per value size:
	EOF
	for size in "${size_list[@]}"; do
		[[ -z ${mc_cmdline[$size]:-} ]] || echo "  - $(human "$size"): \`${mc_cmdline[$size]}\`"
	done
	cat <<-EOF

	### Throughput

	Client: \`bench/largebench -P resp|memcache -s SIZE -c $conns -t $seconds -k KEYS\`,
	$conns connections with one request in flight each; per size a SET phase of
	$seconds s over KEYS = $(human "$dataset_bytes") / SIZE keys (later SETs overwrite),
	then a GET phase of $seconds s over the keys written, checking every
	value's length and 6 × 64-byte windows of its content. Servers started
	fresh for each size; $rounds round(s) alternating strata, redis,
	memcached; best round per server and op. MB/s counts value bytes of SETs
	answered OK and of GET hits, 1 MB = 10^6 bytes; p99 is over all requests
	of that round (misses included). "n/a": no request succeeded. Target:
	strata at ≥ 70% of the limit for 1 MiB and up. Raw data:
	\`bench/work/large-raw.csv\`.

	EOF
	cat "$table"
	echo
	echo "$chart_note"
	echo
	echo "### Memory: strata with maxmemory $rss_maxmemory"
	echo
	rss_section
	echo "$mark_end"
} > "$section"

# Replace the marked section of RESULTS.md, or append it.
if [[ -f $results_md ]] && grep -qF "$mark_begin" "$results_md"; then
	awk -v b="$mark_begin" -v e="$mark_end" -v f="$section" '
		$0 == b { while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0; next }
		!skip' "$results_md" > "$results_md.tmp"
	mv "$results_md.tmp" "$results_md"
else
	{ [[ -f $results_md ]] && echo; cat "$section"; } >> "$results_md"
fi
made_png=""
[[ $chart_note == "!["* ]] && made_png=" and ${results_png#"$root"/}"
say "wrote the Large values section of ${results_md#"$root"/}$made_png in ${SECONDS}s"
