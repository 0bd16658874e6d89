#!/usr/bin/env bash
# redis-tests/run.sh [--record] [UNIT...]
#
# Runs units of the real Redis 7.0.15 test suite, in external mode, against
# strata (or any server binary named by $STRATA_SERVER_BIN), and compares
# the results with redis-tests/expected.txt.
#
#  1. The suite comes from Debian's source package "redis", fetched at run
#     time into redis-tests/work/ (gitignored) with apt-get source, adding a
#     deb-src entry for the Debian mirrors when there is none. It is fetched
#     again only when the cached copy's version differs from the installed
#     redis-server's source version.
#  2. The working copy of the harness is adapted (see PATCHES below and
#     redis-tests/README.md) so that it runs against a server that does not
#     implement everything Redis does.
#  3. Each unit of redis-tests/units.txt (or the UNITs given) gets a fresh
#     server on a free 127.0.0.1 port with its own temporary --dir, runs
#     under a timeout, and the server is stopped by PID afterwards.
#  4. "[ok]", "[err]", "[skip]" and "[ignore]" lines are parsed. The run
#     fails when a test listed as "pass" in expected.txt did not pass (error
#     or not run), or when the server died during a unit. Passing tests not
#     listed as "pass" are reported as newly passing; that is no failure.
#     The last line is "N passed, M failed" (N: distinct tests that passed;
#     M: expected passes that did not, plus server crashes).
#
# --record rewrites expected.txt from this run for the units run: every
# passing test becomes a "pass" line; every other test a "skip" line, keeping
# the reason already written for it, else the harness's reason, else the
# first line of its error.
#
# Environment:
#   STRATA_SERVER_BIN          server binary (default: src/strata-server)
#   STRATA_SERVER_KIND         strata | redis (default: redis when the binary
#                              is named redis-server*, else strata)
#   STRATA_SERVER_ARGS         extra server arguments, split on spaces
#   REDIS_TESTS_ARGS           extra runtest arguments, split on spaces
#   REDIS_TESTS_UNIT_TIMEOUT   seconds per unit (default 600)
#   REDIS_TESTS_TIMEOUT        seconds for the whole run (default 2400)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
work="$here/work"
src="$work/redis-src"             # unpacked Debian source of redis
src_version_file="$work/redis-src.version"
units_file="$here/units.txt"
expected="$here/expected.txt"

record=0
units=()
for arg in "$@"; do
	case $arg in
	--record) record=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0 ;;
	-*) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
	*) units+=("$arg") ;;
	esac
done
# units.txt: "UNIT [--normal] [server arguments...]". --normal runs the unit
# in the suite's normal mode (the harness starts its own servers, see
# section 3b); the arguments are added to strata's command line for that
# unit only (not to a redis-server's).
declare -A unit_extra=() unit_mode=()
while read -r u rest; do
	[[ -n $u ]] || continue
	unit_mode[$u]=external
	if [[ $rest == --normal || $rest == "--normal "* ]]; then
		unit_mode[$u]=normal
		rest=${rest#--normal}
		rest=${rest# }
	fi
	unit_extra[$u]=$rest
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$units_file")
if [[ ${#units[@]} -eq 0 ]]; then
	mapfile -t units < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$units_file" | awk '{ print $1 }')
fi

unit_timeout=${REDIS_TESTS_UNIT_TIMEOUT:-600}
total_timeout=${REDIS_TESTS_TIMEOUT:-2400}
deadline=$((SECONDS + total_timeout))

server_bin=${STRATA_SERVER_BIN:-$root/src/strata-server}
if [[ $server_bin == */* ]]; then
	[[ $server_bin == /* ]] || server_bin="$PWD/$server_bin"
else
	server_bin=$(command -v "$server_bin" || echo "$server_bin")
fi
if [[ ! -x $server_bin ]]; then
	echo "run.sh: server binary $server_bin not found; build it with 'make' or set STRATA_SERVER_BIN" >&2
	exit 2
fi
kind=${STRATA_SERVER_KIND:-}
if [[ -z $kind ]]; then
	case $(basename "$server_bin") in
	redis-server*) kind=redis ;;
	*) kind=strata ;;
	esac
fi
server_args=()
if [[ $kind == redis ]]; then
	# The stand-in: no snapshots, no AOF, loopback only.
	server_args=(--save '' --appendonly no --bind 127.0.0.1)
fi
# shellcheck disable=SC2206 # splitting on spaces is the documented interface
server_args+=(${STRATA_SERVER_ARGS:-})
# shellcheck disable=SC2206
extra_runtest_args=(${REDIS_TESTS_ARGS:-})
# The harness listens on baseport - 32 and starts its own servers from
# baseport up (8000 ports): a random base, drawn again for each unit, keeps
# runs that share a machine from colliding on the default 21111 (unless the
# caller chose one). It stays below Linux's ephemeral ports (32768 and up),
# which the many loopback clients of a run take. The harness checks that
# its own port is free before it listens, but another process can take it
# in between; a unit whose harness could not listen ran nothing, and is
# started again on another base (twice at most).
random_baseport=0
if [[ " ${REDIS_TESTS_ARGS:-} " != *" --baseport "* ]]; then
	random_baseport=1
fi

sudo=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
fi

log() { printf '%s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

# ---------------------------------------------------------------------------
# 1. The suite: Debian's source package of redis, cached in work/.

# Adds deb-src entries mirroring the Debian "deb" entries when no Debian
# deb-src entry exists. One-line sources.list entries get a .list file, deb822
# .sources stanzas a .sources file; with no Debian entry at all, the standard
# mirrors for this release are used.
ensure_deb_src() {
	local lists=() sources=() f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] && lists+=("$f")
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] && sources+=("$f")
	done
	if [[ ${#lists[@]} -gt 0 ]] &&
		grep -Eqs '^[[:space:]]*deb-src[[:space:]].*debian' "${lists[@]}"; then
		return 0
	fi
	# deb822: a stanza is enabled unless "Enabled: no".
	# shellcheck disable=SC2016 # an awk program, not shell
	local stanza_awk='BEGIN { RS = ""; FS = "\n" }
		{
			types = ""; uris = ""; enabled = 1
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Types:/) types = $i
				if ($i ~ /^URIs:/) uris = $i
				if ($i ~ /^Enabled:[ \t]*[Nn]o/) enabled = 0
			}
			if (!enabled || uris !~ /debian/) next
			if (mode == "has-src") { if (types ~ /deb-src/) found = 1; next }
			if (types !~ /(^Types:|[ \t])deb([ \t]|$)/ || types ~ /deb-src/) next
			for (i = 1; i <= NF; i++)
				print ($i ~ /^Types:/ ? "Types: deb-src" : $i)
			print ""
		}
		END { if (mode == "has-src") exit !found }'
	if [[ ${#sources[@]} -gt 0 ]] &&
		awk -v mode=has-src "$stanza_awk" "${sources[@]}"; then
		return 0
	fi

	local new_list="" new_sources=""
	if [[ ${#lists[@]} -gt 0 ]]; then
		new_list=$(sed -n -e 's/^[[:space:]]*deb\([[:space:]].*debian.*\)$/deb-src\1/p' "${lists[@]}")
	fi
	if [[ ${#sources[@]} -gt 0 ]]; then
		new_sources=$(awk -v mode=gen "$stanza_awk" "${sources[@]}")
	fi
	if [[ -z $new_list && -z $new_sources ]]; then
		local codename
		# shellcheck disable=SC1091
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
		new_sources="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	fi
	log "run.sh: adding deb-src entries for Debian's archive (needed by 'apt-get source redis')"
	if [[ -n $new_list ]]; then
		printf '# Added by strata redis-tests/run.sh for apt-get source.\n%s\n' "$new_list" |
			"${sudo[@]}" tee /etc/apt/sources.list.d/strata-deb-src.list >/dev/null
	fi
	if [[ -n $new_sources ]]; then
		printf '# Added by strata redis-tests/run.sh for apt-get source.\n%s\n' "$new_sources" |
			"${sudo[@]}" tee /etc/apt/sources.list.d/strata-deb-src.sources >/dev/null
	fi
}

# The Debian source version the suite should come from: that of the
# installed redis-server, so the suite and the oracle are the same Redis.
wanted_version() {
	dpkg-query -W -f='${db:Status-Abbrev} ${source:Version}\n' redis-server 2>/dev/null |
		awk '$1 == "ii" { print $2 }'
}

fetch_suite() {
	local want have=""
	want=$(wanted_version)
	[[ -f $src_version_file ]] && have=$(cat "$src_version_file")
	if [[ -n $have && -f $src/tests/test_helper.tcl ]] &&
		[[ -z $want || $want == "$have" ]]; then
		return 0
	fi
	command -v dpkg-source >/dev/null || die "dpkg-source missing (package dpkg-dev); run deps/install.sh"
	log "run.sh: fetching the Redis test suite: apt-get source redis${want:+=$want}"
	ensure_deb_src
	mkdir -p "$work"
	local dl="$work/download" apt_log="$work/apt.log"
	rm -rf "$dl"
	mkdir -p "$dl"
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -q -o DPkg::Lock::Timeout=120)
	"${apt[@]}" update > "$apt_log" 2>&1 || { tail -n 20 "$apt_log" >&2; die "apt-get update failed"; }
	# apt-get source runs unprivileged: no sudo, so the files are ours.
	if ! (cd "$dl" && { { [[ -n $want ]] && timeout 600 apt-get -q source --only-source "redis=$want"; } ||
		timeout 600 apt-get -q source --only-source redis; }) >> "$apt_log" 2>&1; then
		tail -n 20 "$apt_log" >&2
		die "apt-get source redis failed (log: $apt_log)"
	fi
	local dsc dir version
	dsc=$(find "$dl" -maxdepth 1 -name 'redis_*.dsc' | head -n 1)
	dir=$(find "$dl" -mindepth 1 -maxdepth 1 -type d -name 'redis-*' | head -n 1)
	[[ -n $dsc && -n $dir && -f $dir/tests/test_helper.tcl ]] || die "no test suite in the source package (see $dl)"
	version=$(sed -n 's/^Version: *//p' "$dsc" | head -n 1)
	case $version in
	*:7.0.15-* | 7.0.15-*) ;;
	*) log "run.sh: warning: source version $version is not Redis 7.0.15; expected.txt was recorded with 7.0.15" ;;
	esac
	rm -rf "$src"
	mv "$dir" "$src"
	printf '%s\n' "$version" > "$src_version_file"
	rm -rf "$dl"
}

# ---------------------------------------------------------------------------
# 2. PATCHES to the working copy of the harness. Each is a sed expression and
# the text it must leave behind; the check fails loudly if the harness
# changed so that a patch no longer applies.
#
# - support/server.tcl, run_external_server_test: before every test block the
#   harness sends FLUSHALL, FUNCTION FLUSH, SELECT 9. An error from FUNCTION
#   FLUSH is not caught and aborts the whole unit, so a server without
#   functions could run no unit at all. Wrap it in catch.
patch_suite() {
	local f="$src/tests/support/server.tcl"
	sed -i 's/^\([[:space:]]*\)r function flush[[:space:]]*$/\1catch {r function flush}/' "$f"
	grep -q '^[[:space:]]*catch {r function flush}$' "$f" ||
		die "could not patch 'r function flush' in $f: the harness changed"
}

# ---------------------------------------------------------------------------
# 3. Servers.

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

# True when a server answers PING with +PONG on 127.0.0.1:$1.
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

srv_pid=""
srv_port=""
srv_dir=""

# Starts a fresh server; sets srv_pid, srv_port, srv_dir. Retries on another
# port when the server exits at start-up (port taken in a race).
start_server() {
	local attempt extra=()
	# shellcheck disable=SC2206 # the per-unit arguments are words
	[[ $kind == strata ]] && extra=(${unit_extra[$unit]:-})
	for attempt in 1 2 3; do
		srv_port=$(free_port) || die "no free port"
		srv_dir=$(mktemp -d "$run_tmp/server.XXXXXX")
		"$server_bin" --port "$srv_port" --dir "$srv_dir" "${server_args[@]}" "${extra[@]}" \
			> "$srv_dir/server.log" 2>&1 < /dev/null &
		srv_pid=$!
		for _ in $(seq 1 100); do
			if ! kill -0 "$srv_pid" 2>/dev/null; then
				break
			fi
			if answers_ping "$srv_port"; then
				return 0
			fi
			sleep 0.1
		done
		if kill -0 "$srv_pid" 2>/dev/null; then
			log "run.sh: server pid $srv_pid does not answer PING on port $srv_port after 10s"
			stop_server
			return 1
		fi
		wait "$srv_pid" 2>/dev/null || true
		log "run.sh: server exited at start-up (attempt $attempt, port $srv_port); end of its log:"
		tail -n 15 "$srv_dir/server.log" | sed 's/^/    /'
		srv_pid=""
	done
	return 1
}

# Stops the server by PID: SIGTERM, then SIGKILL after 10 s.
stop_server() {
	[[ -n $srv_pid ]] || return 0
	kill -TERM "$srv_pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$srv_pid" 2>/dev/null; then
		log "run.sh: server pid $srv_pid ignored SIGTERM for 10s; sending SIGKILL"
		kill -KILL "$srv_pid" 2>/dev/null || true
	fi
	wait "$srv_pid" 2>/dev/null || true
	srv_pid=""
}

# ---------------------------------------------------------------------------
# 3b. Normal mode. Units marked --normal in units.txt run the way the suite
# runs without --host: each test block starts its own server with
# "src/redis-server <generated redis.conf> [--name value ...]", reading the
# log it writes to stdout for " PID: <pid>" and "Ready to accept", and stops
# it with SIGTERM. The working copy has no Redis binaries, so run.sh puts
# there:
#   src/redis-server  a wrapper that execs the server under test (same PID,
#                     so the harness's PID checks and kills reach it),
#                     appending the unit's arguments from units.txt;
#   src/redis-cli     and src/redis-benchmark: links to the installed ones
#                     (tests run them against the servers they start).
# For strata, the wrapper first edits the generated config file in place,
# dropping the directives of the table below -- settings of Redis features
# strata does not have, which the suite's tests/assets/default.conf sets for
# every server -- and says on the server's stderr which line it dropped and
# why. Any other directive strata does not know stays in the file, and strata
# refuses to start on it, so nothing is ignored silently. The file is edited
# in place (not copied) because tests read it back (CONFIG REWRITE checks)
# and restart servers from it.
#
# Each server's PID and log files are recorded; after the unit, a server
# still running is stopped by PID, and one that started ("Ready to accept")
# but never logged its clean exit ("is now ready to exit") counts as a crash.

# Directive<TAB>why strata's copy of the config leaves it out.
normal_mode_drops="notify-keyspace-events	strata has no keyspace notifications
pidfile	every server of the suite names the same /var/run/redis.pid; the harness never reads it
unixsocket	strata listens on TCP only (no unix socket)
unixsocketperm	strata listens on TCP only (no unix socket)
latency-monitor-threshold	strata has no latency monitor (LATENCY)
repl-diskless-sync-delay	strata has no replication
slave-serve-stale-data	strata has no replication
replica-serve-stale-data	strata has no replication
rdbcompression	strata writes no RDB snapshots
dbfilename	strata writes no RDB snapshots
appendfsync	strata has no append-only file
no-appendfsync-on-rewrite	strata has no append-only file
activerehashing	strata's hash tables always rehash incrementally; there is no switch
enable-protected-configs	strata has no protected configs: every CONFIG SET is allowed
enable-debug-command	strata has no switch for DEBUG: it is always enabled
enable-module-command	strata has no modules
propagation-error-behavior	strata has no replication or AOF to propagate to"

# Writes the wrapper of section 3b for unit $1.
install_normal_wrapper() {
	local extra=() w="$src/src/redis-server" drops="$run_tmp/normal-drops.tsv" tool
	# shellcheck disable=SC2206 # the per-unit arguments are words
	[[ $kind == strata ]] && extra=(${unit_extra[$1]:-})
	printf '%s\n' "$normal_mode_drops" > "$drops"
	: > "$run_tmp/normal-pids.tsv"
	{
		printf '#!/usr/bin/env bash\n'
		printf '# Written by redis-tests/run.sh for %s; see section 3b of run.sh.\n' "$1"
		printf 'server_bin=%q\nkind=%q\ndrops=%q\npids=%q\n' "$server_bin" "$kind" "$drops" \
			"$run_tmp/normal-pids.tsv"
		printf 'extra=('
		[[ ${#extra[@]} -eq 0 ]] || printf ' %q' "${extra[@]}"
		printf ' )\n'
		cat <<'WRAPPER'
printf '%s\t%s\t%s\n' "$$" "$(readlink "/proc/$$/fd/1")" "$(readlink "/proc/$$/fd/2")" >> "$pids"
if [[ $kind == strata && $# -ge 1 && $1 != -* && -f $1 ]]; then
	tmp="$1.strata-wrapper.$$"
	awk -F '\t' -v conf="$1" '
		FILENAME == ARGV[1] { why[$1] = $2; next }
		{
			d = $1; sub(/^[ \t]+/, "", d); sub(/[ \t].*/, "", d); d = tolower(d)
			if (d in why) {
				printf "strata wrapper: dropped line %d of %s, \"%s\": %s\n", FNR, conf, $0, why[d] > "/dev/stderr"
				next
			}
			print
		}' "$drops" "$1" > "$tmp" && mv "$tmp" "$1"
fi
exec "$server_bin" "$@" "${extra[@]}"
WRAPPER
	} > "$w"
	chmod +x "$w"
	for tool in redis-cli redis-benchmark; do
		rm -f "$src/src/$tool"
		if command -v "$tool" >/dev/null; then
			ln -s "$(command -v "$tool")" "$src/src/$tool"
		fi
	done
}

# After a normal-mode unit: stops the servers still running, and reports as
# crashed ("UNIT crashed - ...") every one that started but did not exit
# cleanly, keeping its logs in work/results/.
reap_normal_servers() { # UNIT
	local pid out err exe n=0
	while IFS=$'\t' read -r pid out err; do
		[[ -n $pid ]] || continue
		n=$((n + 1))
		if kill -0 "$pid" 2>/dev/null; then
			exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
			if [[ $exe == "$(readlink -f "$server_bin")" ]]; then
				log "run.sh: $1: server pid $pid still running after the unit; stopping it"
				srv_pid=$pid
				stop_server
			fi
		fi
		[[ -f $out ]] || continue
		if grep -q "^$pid:[A-Z] .*Ready to accept" "$out" &&
			! grep -q "^$pid:[A-Z] .*is now ready to exit" "$out"; then
			local keep="$work/results/${1//\//_}.server-$pid"
			cp "$out" "$keep.log"
			[[ -f $err ]] && cp "$err" "$keep.stderr"
			printf '%s\tcrashed\t-\tserver pid %s did not exit cleanly (log: %s)\n' "$1" "$pid" \
				"${keep#"$root"/}.log" >> "$observed"
			log "$1: server pid $pid did not exit cleanly; end of its log and stderr:"
			tail -n 10 "$out" | sed 's/^/    /'
			[[ -f $err ]] && tail -n 10 "$err" | sed 's/^/    /'
		fi
	done < "$run_tmp/normal-pids.tsv"
	log "run.sh: $1: the harness started $n server(s)"
}

runner_pid=""
run_tmp=""
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	if [[ -n $runner_pid ]]; then
		kill -TERM "$runner_pid" 2>/dev/null || true
		wait "$runner_pid" 2>/dev/null || true
	fi
	stop_server
	if [[ -n $run_tmp ]]; then
		rm -rf "$run_tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# 4. Parsing. One line per event, tab-separated:
#   UNIT ok NAME | UNIT err NAME DETAIL | UNIT skip NAME REASON
#   UNIT blockerr - DETAIL | UNIT exception - DETAIL | UNIT done
#   UNIT crashed - DETAIL | UNIT notrun - REASON
parse_unit_log() { # UNIT LOGFILE
	awk -v unit="$1" -v curfile="tests/$1.tcl" '
		function clean(s) { gsub(/\033\[[0-9;]*m/, "", s); gsub(/\t/, " ", s); sub(/\r$/, "", s); return s }
		# The harness drops the first 10 characters of a non-assertion
		# error ("ERR unknow"); the full text follows on the next line.
		function flush_err(   detail) {
			if (pending == "") return
			detail = d1
			if (d2 != "" && length(d2) > length(d1) &&
			    substr(d2, length(d2) - length(d1) + 1) == d1) detail = d2
			detail = substr(detail, 1, 160)
			if (pending_block) print unit "\tblockerr\t-\t" pending_name
			else print unit "\terr\t" pending_name "\t" detail
			pending = ""
		}
		{ line = clean($0) }
		pending != "" {
			if (line ~ /^\[[a-zA-Z0-9\/ ]+\]: / || line == "" || ndetail == 2) flush_err()
			else { if (++ndetail == 1) d1 = line; else d2 = line; next }
		}
		line ~ /^\[ok\]: / {
			name = substr(line, 7); sub(/ \([0-9]+ ms\)$/, "", name)
			print unit "\tok\t" name; next
		}
		line ~ /^\[err\]: / {
			name = substr(line, 8); sfx = " in " curfile
			pending = 1; pending_block = 0; ndetail = 0; d1 = ""; d2 = ""
			if (length(name) > length(sfx) &&
			    substr(name, length(name) - length(sfx) + 1) == sfx)
				pending_name = substr(name, 1, length(name) - length(sfx))
			else { pending_name = name; pending_block = 1 }
			next
		}
		line ~ /^\[skip\]: / {
			print unit "\tskip\t" substr(line, 9) "\tskipped by the harness"; next
		}
		line ~ /^\[ignore\]: / {
			rest = substr(line, 11)
			if (match(rest, /: (Tag: |Not supported |large memory flag not provided)/))
				print unit "\tskip\t" substr(rest, 1, RSTART - 1) "\t" substr(rest, RSTART + 2)
			next
		}
		line ~ /^\[exception\]: / || line ~ /^\[TIMEOUT\]/ {
			print unit "\texception\t-\t" substr(line, 1, 160); next
		}
		line ~ /^\[[0-9]+\/[0-9]+ done\]: / { print unit "\tdone"; next }
		END { flush_err() }
	' "$2"
}

# ---------------------------------------------------------------------------
# Main.

command -v tclsh >/dev/null || die "tclsh missing (package tcl); run deps/install.sh"
fetch_suite
patch_suite
mkdir -p "$work/results"
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-redis-tests.XXXXXX")
observed="$work/results/observed.tsv"
: > "$observed"

log "run.sh: Redis suite $(cat "$src_version_file") against $server_bin ($kind)"
for unit in "${units[@]}"; do
	[[ -f $src/tests/$unit.tcl ]] || die "no unit $unit in the suite"
	remaining=$((deadline - SECONDS))
	if [[ $remaining -lt 30 ]]; then
		log "$unit: not run: the whole run hit its ${total_timeout}s limit"
		printf '%s\tnotrun\t-\twhole-run time limit\n' "$unit" >> "$observed"
		continue
	fi
	limit=$unit_timeout
	[[ $remaining -lt $limit ]] && limit=$remaining

	out="$work/results/${unit//\//_}.log"
	mode=${unit_mode[$unit]:-external}
	if [[ $mode == normal ]]; then
		# The harness starts and stops the servers (section 3b). Its
		# tests/tmp is emptied first and kept after the run (--dont-clean)
		# so the servers' logs can be checked here.
		install_normal_wrapper "$unit"
		rm -rf "$src/tests/tmp"
		mkdir -p "$src/tests/tmp"
		target=(--dont-clean)
	else
		if ! start_server; then
			log "$unit: not run: the server did not start"
			printf '%s\tcrashed\t-\tserver did not start\n' "$unit" >> "$observed"
			continue
		fi
		target=(--host 127.0.0.1 --port "$srv_port")
	fi
	start=$SECONDS
	for attempt in 1 2 3; do
		base=()
		[[ $random_baseport -eq 1 ]] && base=(--baseport $((10000 + RANDOM % 14000)))
		(cd "$src" && TERM=dumb exec timeout -k 10 "$limit" tclsh tests/test_helper.tcl \
			"${target[@]}" --single "$unit" \
			--tags -needs:debug --durable "${extra_runtest_args[@]}" "${base[@]}") \
			> "$out" 2>&1 < /dev/null &
		runner_pid=$!
		rc=0
		wait "$runner_pid" || rc=$?
		runner_pid=""
		if [[ $random_baseport -eq 1 ]] &&
			grep -q '^couldn.t open socket: address already in use' "$out" &&
			! grep -q '^\[ok\]:\|^\[err\]:' "$out"; then
			log "run.sh: $unit: the harness could not listen on its port (attempt $attempt); again on another base port"
			continue
		fi
		break
	done
	secs=$((SECONDS - start))

	parse_unit_log "$unit" "$out" >> "$observed"
	if [[ $rc -eq 124 ]]; then
		printf '%s\texception\t-\ttimed out after %ss\n' "$unit" "$limit" >> "$observed"
	fi
	if [[ $mode == normal ]]; then
		reap_normal_servers "$unit"
	elif ! kill -0 "$srv_pid" 2>/dev/null; then
		wait "$srv_pid" 2>/dev/null || true
		printf '%s\tcrashed\t-\tserver died during the unit (log: %s)\n' "$unit" "$srv_dir/server.log" >> "$observed"
		log "$unit: the server died; end of its log:"
		tail -n 20 "$srv_dir/server.log" | sed 's/^/    /'
		cp "$srv_dir/server.log" "$work/results/${unit//\//_}.server.log"
		srv_pid=""
	else
		stop_server
	fi
	[[ $mode == normal ]] || rm -rf "$srv_dir"

	awk -F '\t' -v u="$unit" -v secs="$secs" -v out="${out#"$root"/}" '
		$1 != u { next }
		$2 == "ok" { ok++ } $2 == "err" { err++ } $2 == "skip" { skip++ }
		$2 == "done" { done = 1 }
		$2 == "exception" || $2 == "blockerr" { note = note "; " $4 }
		END {
			printf "%s: %d ok, %d err, %d skipped, %ds%s (%s)\n", u, ok, err, skip, secs,
				done ? "" : ", DID NOT FINISH", out
			if (note != "") print "    " substr(note, 3)
		}' "$observed"
done

# ---------------------------------------------------------------------------
# Comparison with expected.txt, or --record.

[[ -f $expected ]] || : > "$expected"
units_list=$(printf '%s\n' "${units[@]}")

if [[ $record -eq 1 ]]; then
	new="$expected.new"
	awk -F '\t' -v units="$units_list" -v order="$(sed -e 's/#.*//' "$units_file" | awk 'NF { print $1 }')" '
		BEGIN {
			n = split(units, ul, "\n"); for (i = 1; i <= n; i++) sel[ul[i]] = 1
			m = split(order, ol, "\n")
			for (i = 1; i <= m; i++) if (!(ol[i] in rank)) rank[ol[i]] = i
			for (i = 1; i <= n; i++) if (!(ul[i] in rank)) rank[ul[i]] = m + i
		}
		FILENAME == ARGV[1] { file = 1 } FILENAME != ARGV[1] { file = 2 }
		file == 1 {                         # old expected.txt
			if ($0 ~ /^#/ || NF < 3) next
			k = $1 SUBSEP $3
			if ($2 == "skip" && $4 != "") oldreason[k] = $4
			if (!(k in oldseen)) { oldseen[k] = 1; oldorder[++no] = k; oldunit[k] = $1; oldname[k] = $3; oldkind[k] = $2 }
			next
		}
		{                                   # observed.tsv
			if ($2 != "ok" && $2 != "err" && $2 != "skip") next
			k = $1 SUBSEP $3
			if (!(k in seen)) { seen[k] = 1; obs[++nobs] = k; obsunit[k] = $1; obsname[k] = $3 }
			if ($2 == "ok") okc[k]++
			if ($2 == "err") { errc[k]++; if (!(k in errd)) errd[k] = $4 }
			if ($2 == "skip" && !(k in skipr)) skipr[k] = $4
		}
		function emit(u, line) { lines[u] = lines[u] line "\n" }
		END {
			for (i = 1; i <= nobs; i++) {
				k = obs[i]; u = obsunit[k]; nm = obsname[k]
				if (okc[k] > 0 && errc[k] == 0) { emit(u, u "\tpass\t" nm); npass++; continue }
				if (k in oldreason) r = oldreason[k]
				else if (k in skipr) r = "harness: " skipr[k]
				else r = "fails: " (errd[k] != "" ? errd[k] : "error")
				emit(u, u "\tskip\t" nm "\t" r); nskip++
			}
			for (i = 1; i <= no; i++) {
				k = oldorder[i]; u = oldunit[k]
				if (!(u in sel)) { keep[u] = keep[u] u "\t" oldkind[k] "\t" oldname[k] (k in oldreason ? "\t" oldreason[k] : "") "\n"; continue }
				if (k in seen) continue
				r = (k in oldreason) ? oldreason[k] : "not reached in the recorded run"
				emit(u, u "\tskip\t" oldname[k] "\t" r); nskip++
			}
			print "# Expected results of redis-tests/run.sh (Redis 7.0.15 suite; external mode, or normal mode for the units marked --normal in units.txt)."
			print "# UNIT<TAB>pass<TAB>test name            must pass, or the run fails"
			print "# UNIT<TAB>skip<TAB>test name<TAB>reason  not expected to pass, and why"
			print "# Rewritten by: redis-tests/run.sh --record   (reasons of skip lines are kept)"
			# units in units.txt order, then any others
			nu = 0
			for (u in lines) all[u] = 1
			for (u in keep) all[u] = 1
			for (u in all) uo[++nu] = u
			for (i = 2; i <= nu; i++) { v = uo[i]; j = i - 1
				while (j > 0 && (rank[uo[j]] + 0 > rank[v] + 0 || (rank[uo[j]] + 0 == rank[v] + 0 && uo[j] > v))) { uo[j + 1] = uo[j]; j-- }
				uo[j + 1] = v }
			for (i = 1; i <= nu; i++) printf "%s%s", keep[uo[i]], lines[uo[i]]
		}' "$expected" "$observed" > "$new"
	mv "$new" "$expected"
	npass=$(grep -c "$(printf '\tpass\t')" "$expected" || true)
	nskip=$(grep -c "$(printf '\tskip\t')" "$expected" || true)
	log "run.sh: wrote ${expected#"$root"/}: $npass pass and $nskip skip lines"
	exit 0
fi

result=0
awk -F '\t' -v units="$units_list" '
	BEGIN { n = split(units, ul, "\n"); for (i = 1; i <= n; i++) sel[ul[i]] = 1 }
	FILENAME == ARGV[1] { file = 1 } FILENAME != ARGV[1] { file = 2 }
	file == 1 {
		if ($0 ~ /^#/ || NF < 3 || !($1 in sel)) next
		k = $1 SUBSEP $3
		if ($2 == "pass" && !(k in want)) { want[k] = 1; wo[++nw] = k }
		next
	}
	{
		k = $1 SUBSEP $3
		if ($2 == "ok") okc[k]++
		else if ($2 == "err") { errc[k]++; if (!(k in errd)) errd[k] = $4 }
		else if ($2 == "skip") skipr[k] = $4
		else if ($2 == "crashed") { crashes++; print "FAIL " $1 ": " $4 }
		else if ($2 == "notrun") print "NOT RUN " $1 ": " $4
		if (($2 == "ok" || $2 == "err" || $2 == "skip") && !(k in seen)) { seen[k] = 1; so[++ns] = k }
	}
	END {
		for (i = 1; i <= ns; i++) {
			k = so[i]
			if (okc[k] > 0 && errc[k] == 0) {
				passed++
				if (!(k in want)) { split(k, p, SUBSEP); print "NEW  " p[1] ": " p[2] " (newly passing)"; newly++ }
			}
		}
		for (i = 1; i <= nw; i++) {
			k = wo[i]
			if (okc[k] > 0 && errc[k] == 0) continue
			split(k, p, SUBSEP)
			if (errc[k] > 0) why = "error: " errd[k]
			else if (k in skipr) why = "skipped: " skipr[k]
			else why = "not run"
			print "FAIL " p[1] ": " p[2] " -- " why
			failed++
		}
		if (newly > 0) printf "%d test(s) newly passing: run redis-tests/run.sh --record to list them\n", newly
		printf "%d passed, %d failed\n", passed, failed + crashes
		exit (failed + crashes > 0)
	}' "$expected" "$observed" || result=1
exit "$result"
