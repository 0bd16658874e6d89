#!/usr/bin/env bash
# tests/tls/gen-certs.sh DIR - test certificates for the TLS tests, made with
# the openssl CLI. Everything is throwaway: unencrypted EC P-256 keys.
#
#   ca.{crt,key}                  the test CA that strata trusts
#   server.{crt,key}              strata's certificate (localhost, 127.0.0.1, ::1)
#   client.{crt,key}              a client certificate signed by the test CA
#   client-expired.{crt,key}      signed by the test CA, expired in 2020
#   other-ca.{crt,key}            a second CA that strata does not trust
#   client-other-ca.{crt,key}     a client certificate signed by that other CA
#
# The files are written to a temporary directory and moved in at the end, so
# an interrupted run never leaves half a set behind.
set -euo pipefail

out=${1:?usage: gen-certs.sh DIR}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
work=$(mktemp -d "${TMPDIR:-/tmp}/strata-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

days=3650

newkey() {	# newkey NAME: an EC P-256 key NAME.key
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
}

self_signed_ca() {	# self_signed_ca NAME CN
	newkey "$1"
	openssl req -x509 -new -key "$1.key" -sha256 -days "$days" -subj "/O=strata tests/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign -out "$1.crt"
}

# 'openssl ca' signs the leaf certificates because it is the one command of
# OpenSSL 3.0 that takes explicit validity dates, which the expired
# certificate needs. Each CA gets its own small database.
ca_db() {	# ca_db CA
	mkdir -p "db-$1"
	: > "db-$1/index.txt"
	echo 1000 > "db-$1/serial"
	cat > "db-$1/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = db-$1/index.txt
new_certs_dir = db-$1
serial = db-$1/serial
default_md = sha256
policy = any_name
unique_subject = no
[ any_name ]
organizationName = optional
commonName = supplied
[ server_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
[ client_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
CNF
}

leaf() {	# leaf CA NAME CN EXT [DATES...]
	local ca=$1 name=$2 cn=$3 ext=$4
	shift 4
	newkey "$name"
	openssl req -new -key "$name.key" -subj "/O=strata tests/CN=$cn" -out "$name.csr"
	openssl ca -batch -notext -config "db-$ca/ca.cnf" -cert "$ca.crt" -keyfile "$ca.key" \
		-extensions "$ext" -in "$name.csr" -out "$name.crt" "$@" 2>/dev/null
	rm -f "$name.csr"
}

self_signed_ca ca "strata test CA"
self_signed_ca other-ca "untrusted test CA"
ca_db ca
ca_db other-ca
leaf ca server localhost server_ext -days "$days"
leaf ca client "test client" client_ext -days "$days"
leaf ca client-expired "expired client" client_ext \
	-startdate 20200101000000Z -enddate 20200201000000Z
leaf other-ca client-other-ca "client of another CA" client_ext -days "$days"

chmod 644 ./*.crt
chmod 600 ./*.key
rm -rf "$out.new"
mkdir "$out.new"
mv ./*.crt ./*.key "$out.new/"
rm -rf "$out"
mv "$out.new" "$out"
