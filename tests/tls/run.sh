#!/usr/bin/env bash
# tests/tls/run.sh - TLS tests: redis-cli --tls, openssl s_client, redis-py.
#
# Starts the server under test ($STRATA_SERVER_BIN, default
# build/release/server) on free loopback ports, with a plain port and a
# tls-port at once, and stops it by its PID. The certificates come from
# tests/tls/gen-certs.sh (make certs), in $TLS_CERT_DIR (default build/tls),
# made here if missing.
#
# STRATA_SERVER_BIN=/usr/bin/redis-server runs the same checks against
# Redis 7.0, the reference: every check passes there too, so a failure on
# strata is strata's.
#
# Output is TAP-like ("ok N - name" / "not ok N - name", then why), so
# tests/run-integ.sh can total it; the last line is "N passed, M failed" and
# the exit status is non-zero when M > 0.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${STRATA_SERVER_BIN:-$root/build/release/server}
certs=${TLS_CERT_DIR:-$root/build/tls}
[[ $bin == */* ]] || bin=$(command -v "$bin")
[[ $bin == /* ]] || bin=$root/$bin
[[ $certs == /* ]] || certs=$root/$certs
py=/usr/bin/python3	# Debian's, which has python3-redis

if [[ ! -f $certs/client-other-ca.key ]]; then
	bash "$root/tests/tls/gen-certs.sh" "$certs" || { echo "Bail out! cannot make certificates"; exit 1; }
fi
if [[ ! -x $bin ]]; then
	echo "Bail out! no server binary at $bin"
	exit 1
fi
is_redis=0
[[ $(basename "$bin") == redis-server* ]] && is_redis=1

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-tls.XXXXXX")
server_pid=""
server_name=""

cleanup() {
	if [[ -n $server_pid ]]; then	# a bail-out: stop it, say nothing
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

npass=0
nfail=0
ntest=0

pass() {
	ntest=$((ntest + 1))
	npass=$((npass + 1))
	echo "ok $ntest - $1"
}

fail() {	# fail NAME WHY
	ntest=$((ntest + 1))
	nfail=$((nfail + 1))
	echo "not ok $ntest - $1"
	printf '%s\n' "$2" | sed 's/^/#   /'
}

check_eq() {	# check_eq NAME EXPECTED GOT
	if [[ $2 == "$3" ]]; then
		pass "$1"
	else
		fail "$1" "expected: $(printf '%q' "$2")
got:      $(printf '%q' "$3")"
	fi
}

check() {	# check NAME WHY-IF-FALSE COMMAND...: passes when COMMAND succeeds
	local name=$1 why=$2
	shift 2
	if "$@"; then
		pass "$name"
	else
		fail "$name" "$why"
	fi
}

free_port() {
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME [ARG...]: the server on fresh ports PORT and TPORT, with
# the test certificates and ARGs; waits until it answers PING on PORT.
start_server() {
	local name=$1
	shift
	server_name=$name
	local dir=$work/$name
	mkdir -p "$dir"
	PORT=$(free_port)
	TPORT=$(free_port)
	while [[ $TPORT == "$PORT" ]]; do TPORT=$(free_port); done
	LOG=$dir/log
	local args=(--port "$PORT" --tls-port "$TPORT" --bind 127.0.0.1 --dir "$dir"
		--tls-cert-file "$certs/server.crt" --tls-key-file "$certs/server.key"
		--tls-ca-cert-file "$certs/ca.crt")
	if [[ $is_redis == 1 ]]; then
		args+=(--save "" --appendonly no)
	else
		args+=(--shards 2)
	fi
	"$bin" "${args[@]}" "$@" > "$LOG" 2>&1 < /dev/null &
	server_pid=$!
	for _ in $(seq 100); do
		[[ $(redis-cli -p "$PORT" ping 2>/dev/null) == PONG ]] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "Bail out! server $name did not start; its log:"
	sed 's/^/#   /' "$LOG"
	exit 1
}

stop_server() {
	local rc
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
		rc=$?
		server_pid=""
		# Under ASan/UBSan a report makes the exit status non-zero and
		# lands in the log.
		if [[ $rc -eq 0 ]] && ! grep -qE 'Sanitizer|runtime error:' "$LOG"; then
			pass "the server ($server_name) exits cleanly on SIGTERM"
		else
			fail "the server ($server_name) exits cleanly on SIGTERM" \
				"exit status $rc; log: $(grep -A20 -E 'Sanitizer|runtime error:' "$LOG" | head -40)"
		fi
	fi
}

server_alive() {
	kill -0 "$server_pid" 2>/dev/null
}

# redis-cli over TLS with a client certificate CERT (default client; none
# for no certificate).
tcli_as() {
	local cert=$1
	shift
	local auth=()
	[[ $cert != none ]] && auth=(--cert "$certs/$cert.crt" --key "$certs/$cert.key")
	timeout 60 redis-cli -h 127.0.0.1 -p "$TPORT" --tls --cacert "$certs/ca.crt" "${auth[@]}" "$@"
}
tcli() { tcli_as client "$@"; }
pcli() { timeout 60 redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }

# openssl s_client's handshake summary: "Protocol version" and
# "Ciphersuite" lines, or "refused" when the handshake fails.
handshake() {	# handshake [s_client options...]
	local out
	out=$(timeout 20 openssl s_client -brief -connect "127.0.0.1:$TPORT" \
		-CAfile "$certs/ca.crt" -cert "$certs/client.crt" -key "$certs/client.key" \
		"$@" < /dev/null 2>&1)
	if [[ $? -ne 0 ]] || ! grep -q '^CONNECTION ESTABLISHED' <<< "$out"; then
		echo refused
		return
	fi
	grep -E '^(Protocol version|Ciphersuite):' <<< "$out"
}

# A refusal: redis-cli exits non-zero and never printed PONG.
refused() {	# refused CERT
	local out rc
	out=$(tcli_as "$1" ping 2>&1)
	rc=$?
	[[ $rc -ne 0 && $out != *PONG* ]]
}

###########################################################################
echo "# server under test: $bin"
start_server main

check_eq "PING over TLS answers PONG" "PONG" "$(tcli ping 2>&1)"
check_eq "SET over TLS answers OK" "OK" "$(tcli set tls:k hello 2>&1)"
check_eq "GET over TLS returns the value" "hello" "$(tcli get tls:k 2>&1)"
check_eq "the plain port serves at the same time" "hello" "$(pcli get tls:k 2>&1)"
pcli set plain:k world > /dev/null
check_eq "a key set on the plain port is read over TLS" "world" "$(tcli get plain:k 2>&1)"
check_eq "QUIT over TLS answers OK" "OK" "$(tcli quit 2>&1)"

# 16 MiB of random bytes, binary-safe, both ways, then read back over the
# plain port too. redis-cli --raw ends the value with a newline.
head -c $((16 << 20)) /dev/urandom > "$work/big.in"
check_eq "SET of a 16 MiB value over TLS (redis-cli -x)" "OK" \
	"$(tcli -x set tls:big < "$work/big.in" 2>&1)"
check_eq "STRLEN of the 16 MiB value" "16777216" "$(tcli strlen tls:big 2>&1)"
tcli --raw get tls:big > "$work/big.tls" 2>&1
check_eq "GET of the 16 MiB value over TLS is 16 MiB and a newline" "16777217" \
	"$(stat -c %s "$work/big.tls")"
check "GET of the 16 MiB value over TLS returns the same bytes" "bytes differ" \
	cmp -s -n $((16 << 20)) "$work/big.in" "$work/big.tls"
pcli --raw get tls:big > "$work/big.plain" 2>&1
check "the 16 MiB value set over TLS reads the same on the plain port" "bytes differ" \
	cmp -s "$work/big.tls" "$work/big.plain"
# Three of them pipelined on one connection: replies stay whole and in order.
printf 'GET tls:big\nGET tls:k\nGET tls:big\n' | tcli --raw > "$work/big.x3" 2>&1
{ cat "$work/big.in"; printf '\nhello\n'; cat "$work/big.in"; printf '\n'; } > "$work/big.x3.want"
check "pipelined 16 MiB GETs over TLS come back whole and in order" \
	"got $(stat -c %s "$work/big.x3") bytes, not the $(stat -c %s "$work/big.x3.want") expected" \
	cmp -s "$work/big.x3.want" "$work/big.x3"

# A client that goes away in the middle of a 16 MiB reply.
for _ in 1 2 3; do
	tcli get tls:big > /dev/null 2>&1 &
	reader=$!
	sleep 0.05
	kill "$reader" 2>/dev/null
	wait "$reader" 2>/dev/null
done
check_eq "clients leaving in the middle of a 16 MiB reply harm nothing" "hello" "$(tcli get tls:k 2>&1)"

# Replies that come from another shard or another client: a blocked pop
# woken by a push on the plain port, and pub/sub messages.
tcli blpop tls:list 10 > "$work/blpop.out" 2>&1 &
popper=$!
tcli subscribe tls:chan > "$work/sub.out" 2>&1 &
subscriber=$!
for _ in $(seq 50); do
	[[ $(pcli pubsub numsub tls:chan | tail -1) == 1 && $(pcli info clients | grep -c 'blocked_clients:1') == 1 ]] && break
	sleep 0.1
done
pcli rpush tls:list woken > /dev/null
pcli publish tls:chan "to a TLS subscriber" > /dev/null
wait "$popper"
check_eq "BLPOP over TLS is woken by RPUSH on the plain port" $'tls:list\nwoken' "$(cat "$work/blpop.out")"
sleep 0.2
kill "$subscriber" 2>/dev/null
wait "$subscriber" 2>/dev/null
check_eq "a TLS subscriber receives PUBLISH from the plain port" \
	$'subscribe\ntls:chan\n1\nmessage\ntls:chan\nto a TLS subscriber' "$(cat "$work/sub.out")"

# redis-cli --pipe: 20000 commands in one stream.
for i in $(seq 10000); do printf 'SET pipe:%d %d\r\nINCR pipe:%d\r\n' "$i" "$i" "$i"; done > "$work/pipe.txt"
check_eq "redis-cli --pipe over TLS: 20000 replies, no error" \
	"errors: 0, replies: 20000" \
	"$(tcli --pipe < "$work/pipe.txt" 2>&1 | grep -o 'errors: [0-9]*, replies: [0-9]*')"
check_eq "the piped commands took effect" "5001" "$(tcli get pipe:5000 2>&1)"

# Client certificates under tls-auth-clients yes (the default).
check_eq "tls-auth-clients defaults to yes" $'tls-auth-clients\nyes' \
	"$(tcli config get tls-auth-clients 2>&1)"
check "a client without a certificate is refused" "it was served" refused none
check "a client with an expired certificate is refused" "it was served" refused client-expired
check "a client with a certificate of another CA is refused" "it was served" \
	refused client-other-ca
check_eq "the server goes on after refusals" "PONG" "$(tcli ping 2>&1)"
check "the log names the refusal" "no such line in $LOG" \
	grep -q 'Error accepting a client connection' "$LOG"
if [[ $is_redis == 0 ]]; then	# strata adds the verification result
	check "the log says which certificate check failed" "no such line in $LOG" \
		grep -q 'certificate verify failed (certificate has expired)' "$LOG"
fi

# Plaintext to the TLS port: the handshake fails, the connection closes.
out=$(pcli -p "$TPORT" ping 2>&1)
check "redis-cli without --tls on the TLS port is refused" "got: $out" \
	test "$out" != PONG -a -n "$out"
timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "PING\r\n" >&3; cat <&3' _ "$TPORT" \
	> "$work/plain.out" 2>&1
rc=$?
# Closed means end of file, or a reset when the server closes with our PING
# unread (Redis does).
closed=0
[[ $rc -eq 0 ]] || grep -q 'Connection reset by peer' "$work/plain.out" && closed=1
check "plaintext PING on the TLS port gets no PONG and the connection closes" \
	"exit $rc (124: still open after 10 s), got: $(od -An -c "$work/plain.out" | head -c 300)" \
	test "$closed" -eq 1 -a "$(grep -c PONG "$work/plain.out")" -eq 0
check_eq "TLS still works after plaintext on the TLS port" "PONG" "$(tcli ping 2>&1)"
check_eq "the plain port still works after plaintext on the TLS port" "PONG" "$(pcli ping 2>&1)"

# A connection that never finishes its handshake holds up nobody.
exec 3<>"/dev/tcp/127.0.0.1/$TPORT"
printf '\x16\x03\x01\x02\x00\x01' >&3	# the start of a ClientHello, then silence
check_eq "a stalled handshake does not block other TLS clients" "PONG" "$(tcli ping 2>&1)"
exec 3>&-

# Many clients and handshakes at once, pipelined.
out=$(timeout 120 redis-benchmark -h 127.0.0.1 -p "$TPORT" --tls --cacert "$certs/ca.crt" \
	--cert "$certs/client.crt" --key "$certs/client.key" -n 20000 -c 50 -P 8 -d 300 \
	-t set,get -q 2>&1)
check "redis-benchmark over TLS: 50 clients, SET and GET, pipelined" "$out" \
	test "$(grep -c 'requests per second' <<< "$out")" -eq 2

# redis-py over TLS.
if "$py" -c 'import redis' 2>/dev/null; then
	out=$("$py" "$root/tests/tls/redis_py.py" 127.0.0.1 "$TPORT" "$certs" 2>&1)
	want="ping True
set True
get b'v1'
incr [1, 2, 3]
hset 2
hgetall [(b'a', b'1'), (b'b', b'2')]
pipeline True
multi [True, True, [b'a', b'b']]
value_1mib (1048576, True)
value_16mib (16777216, True)
strlen 16777216
no_cert ConnectionError
after True"
	while IFS= read -r line; do
		name=${line%% *}
		check_eq "redis-py over TLS: $name" "$line" "$(grep -m1 "^$name " <<< "$out")"
	done <<< "$want"
else
	fail "redis-py over TLS" "$py has no redis module: install python3-redis (deps/packages.txt)"
fi

# CONFIG GET / SET of the TLS options; a change applies to new connections.
check_eq "CONFIG GET tls-port" "$(printf 'tls-port\n%s' "$TPORT")" "$(tcli config get tls-port 2>&1)"
check_eq "CONFIG SET of a missing certificate is refused" \
	"ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs." \
	"$(tcli config set tls-cert-file "$work/none.crt" 2>&1)"
check_eq "the certificate is unchanged after the refusal" \
	"$(printf 'tls-cert-file\n%s' "$certs/server.crt")" "$(tcli config get tls-cert-file 2>&1)"
check_eq "TLS goes on with the old context after the refusal" "PONG" "$(tcli ping 2>&1)"
check_eq "CONFIG SET tls-protocols of an unknown version is refused" \
	"ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Unable to update TLS configuration. Check server logs." \
	"$(tcli config set tls-protocols TLSv9 2>&1)"
check_eq "CONFIG SET tls-auth-clients takes yes, no or optional only" \
	"ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - argument(s) must be one of the following: no, yes, optional" \
	"$(tcli config set tls-auth-clients maybe 2>&1)"
check_eq "CONFIG SET tls-ciphers of an unknown cipher is refused" \
	"ERR CONFIG SET failed (possibly related to argument 'tls-ciphers') - Unable to update TLS configuration. Check server logs." \
	"$(tcli config set tls-ciphers NO-SUCH-CIPHER 2>&1)"
check_eq "CONFIG SET tls-ciphersuites of an unknown suite is refused" \
	"ERR CONFIG SET failed (possibly related to argument 'tls-ciphersuites') - Unable to update TLS configuration. Check server logs." \
	"$(tcli config set tls-ciphersuites TLS_NO_SUCH_SUITE 2>&1)"

check_eq "CONFIG SET tls-auth-clients optional" "OK" "$(tcli config set tls-auth-clients optional 2>&1)"
check_eq "optional: a client without a certificate is served" "PONG" "$(tcli_as none ping 2>&1)"
check_eq "optional: a client with a good certificate is served" "PONG" "$(tcli ping 2>&1)"
check "optional: a certificate of another CA is still refused" "it was served" \
	refused client-other-ca
check "optional: an expired certificate is still refused" "it was served" refused client-expired
check_eq "CONFIG SET tls-auth-clients no" "OK" "$(tcli config set tls-auth-clients no 2>&1)"
check_eq "no: a client without a certificate is served" "PONG" "$(tcli_as none ping 2>&1)"
check_eq "CONFIG SET tls-auth-clients yes" "OK" "$(tcli config set tls-auth-clients yes 2>&1)"
check "yes again: a client without a certificate is refused" "it was served" refused none

# Protocol versions and ciphers, seen from openssl s_client.
check_eq "by default TLSv1.3 is offered" "Protocol version: TLSv1.3" \
	"$(handshake | grep Protocol)"
check_eq "by default TLSv1.2 is accepted" "Protocol version: TLSv1.2" \
	"$(handshake -tls1_2 | grep Protocol)"
check_eq "by default TLSv1.1 is refused" "refused" "$(handshake -tls1_1)"
check_eq "CONFIG SET tls-protocols TLSv1.3" "OK" "$(tcli config set tls-protocols TLSv1.3 2>&1)"
check_eq "tls-protocols TLSv1.3: a TLSv1.2 client is refused" "refused" "$(handshake -tls1_2)"
check_eq "tls-protocols TLSv1.3: a TLSv1.3 client is served" "Protocol version: TLSv1.3" \
	"$(handshake -tls1_3 | grep Protocol)"
check_eq "CONFIG SET tls-ciphersuites" "OK" \
	"$(tcli config set tls-ciphersuites TLS_CHACHA20_POLY1305_SHA256 2>&1)"
check_eq "tls-ciphersuites: the configured suite is chosen" \
	"Ciphersuite: TLS_CHACHA20_POLY1305_SHA256" "$(handshake | grep Ciphersuite)"
check_eq "tls-ciphersuites: a client without it is refused" "refused" \
	"$(handshake -ciphersuites TLS_AES_256_GCM_SHA384)"
check_eq "CONFIG SET tls-protocols TLSv1.2 and tls-ciphers" "OK" \
	"$(tcli config set tls-protocols TLSv1.2 tls-ciphers ECDHE-ECDSA-AES128-GCM-SHA256 2>&1)"
check_eq "tls-protocols TLSv1.2: a TLSv1.3-only client is refused" "refused" "$(handshake -tls1_3)"
check_eq "tls-ciphers: the configured cipher is chosen" \
	"Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256" "$(handshake | grep Ciphersuite)"
check_eq "tls-ciphers: a client without it is refused" "refused" \
	"$(handshake -cipher ECDHE-ECDSA-AES256-GCM-SHA384)"
check_eq "redis-cli works over TLSv1.2 too" "hello" "$(tcli get tls:k 2>&1)"
check "the server is alive at the end" "it exited" server_alive
stop_server

# Start-up refuses a TLS configuration that cannot work, and says why.
bad_start() {	# bad_start NAME LOG-LINE ARG...
	local name=$1 line=$2
	shift 2
	local dir=$work/bad
	mkdir -p "$dir"
	local args=(--port 0 --tls-port "$(free_port)" --bind 127.0.0.1 --dir "$dir" "$@")
	if [[ $is_redis == 1 ]]; then args+=(--save ""); else args+=(--shards 1); fi
	timeout 20 "$bin" "${args[@]}" > "$dir/log" 2>&1 < /dev/null
	local rc=$?
	if [[ $rc -ne 0 && $rc -ne 124 ]] && grep -qF "$line" "$dir/log"; then
		pass "$name"
	else
		fail "$name" "exit $rc; log: $(cat "$dir/log")"
	fi
}
bad_start "start-up without tls-cert-file fails" "Failed to configure TLS. Check logs for more info." \
	--tls-key-file "$certs/server.key" --tls-ca-cert-file "$certs/ca.crt"
bad_start "start-up with a missing certificate fails" "Failed to load certificate" \
	--tls-cert-file "$work/none.crt" --tls-key-file "$certs/server.key" \
	--tls-ca-cert-file "$certs/ca.crt"
bad_start "start-up with the wrong private key fails" "Failed to configure TLS" \
	--tls-cert-file "$certs/server.crt" --tls-key-file "$certs/client.key" \
	--tls-ca-cert-file "$certs/ca.crt"
bad_start "start-up with client auth and no CA fails" "tls-ca-cert-file or tls-ca-cert-dir" \
	--tls-cert-file "$certs/server.crt" --tls-key-file "$certs/server.key"
if [[ $is_redis == 0 ]]; then	# Redis fails too, on EADDRINUSE, with another message
	same=$(free_port)
	bad_start "start-up with port equal to tls-port fails" "they must differ" \
		--port "$same" --tls-port "$same" --tls-cert-file "$certs/server.crt" \
		--tls-key-file "$certs/server.key" --tls-ca-cert-file "$certs/ca.crt"
fi

# tls-auth-clients no needs no CA at all.
start_server noca --tls-auth-clients no --tls-ca-cert-file ""
check_eq "tls-auth-clients no from the command line serves a client without a certificate" \
	"PONG" "$(tcli_as none ping 2>&1)"
stop_server

echo "$npass passed, $nfail failed"
[[ $nfail -eq 0 ]]
