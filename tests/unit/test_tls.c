/*
 * test_tls.c - the TLS module against an OpenSSL client, with no socket.
 *
 * The client is an ordinary OpenSSL SSL on memory BIOs; the bytes it writes
 * are handed to tls_conn_recv() (whole, one at a time, or split at every
 * point), and what tls_conn_seal() gives back is written into the client's
 * read BIO. The certificate is made here with OpenSSL's API: a self-signed
 * EC key pair that serves as the server's certificate, as the one CA the
 * server trusts, and as the client's certificate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cfg.h"
#include "log.h"
#include "mem.h"
#include "sbuf.h"
#include "tls.h"
#include "util.h"

static char tmpdir[] = "/tmp/test_tls.XXXXXX";
static char cert_path[300], key_path[300];
static X509 *cert;
static EVP_PKEY *key;

/* A client and the server connection it talks to. */
struct pair {
	SSL_CTX *cctx;
	SSL *cli;
	BIO *cli_in, *cli_out;		/* the client's read and write BIOs */
	struct tls_conn *srv;
	struct sbuf plain;		/* plaintext the server received */
	int rc;				/* last tls_conn_recv() result */
};

enum client_auth { CLIENT_NO_CERT, CLIENT_CERT };

/* ---- certificate ---- */

static void make_certificate(void)
{
	X509_NAME *name;
	FILE *f;

	key = EVP_EC_gen("P-256");
	assert_non_null(key);
	cert = X509_new();
	assert_non_null(cert);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
				   -1, -1, 0);
	X509_set_issuer_name(cert, name);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);

	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", tmpdir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
	f = fopen(cert_path, "w");
	assert_non_null(f);
	assert_true(PEM_write_X509(f, cert));
	fclose(f);
	f = fopen(key_path, "w");
	assert_non_null(f);
	assert_true(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
}

/* cfg for a server on our certificate, with client auth as given. */
static void configure(const char *auth)
{
	char *err = NULL;

	if (cfg_set("tls-cert-file", cert_path, &err) || cfg_set("tls-key-file", key_path, &err) ||
	    cfg_set("tls-ca-cert-file", cert_path, &err) || cfg_set("tls-auth-clients", auth, &err))
		fail_msg("cfg_set: %s", err);
	assert_int_equal(tls_configure(), 0);
}

/* ---- the pair ---- */

static void pair_open(struct pair *p, enum client_auth auth, int max_version)
{
	memset(p, 0, sizeof(*p));
	p->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(p->cctx);
	if (max_version)
		SSL_CTX_set_max_proto_version(p->cctx, max_version);
	if (auth == CLIENT_CERT) {
		assert_int_equal(SSL_CTX_use_certificate(p->cctx, cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(p->cctx, key), 1);
	}
	X509_STORE_add_cert(SSL_CTX_get_cert_store(p->cctx), cert);
	SSL_CTX_set_verify(p->cctx, SSL_VERIFY_PEER, NULL);
	p->cli = SSL_new(p->cctx);
	p->cli_in = BIO_new(BIO_s_mem());
	p->cli_out = BIO_new(BIO_s_mem());
	SSL_set_bio(p->cli, p->cli_in, p->cli_out);
	SSL_set_connect_state(p->cli);
	assert_int_equal(tls_conn_create(&p->srv), 0);
}

static void pair_close(struct pair *p)
{
	tls_conn_destroy(p->srv);
	SSL_free(p->cli);
	SSL_CTX_free(p->cctx);
	sbuf_free(&p->plain);
}

/* Moves what the client wrote to the server, step bytes per call (0: all
 * at once). Returns the number of bytes moved. */
static size_t to_server(struct pair *p, size_t step)
{
	char *data;
	long n = BIO_get_mem_data(p->cli_out, &data);
	size_t moved = 0;

	while ((size_t)n > moved && p->rc == 0) {
		size_t k = step ? MIN(step, (size_t)n - moved) : (size_t)n - moved;

		p->rc = tls_conn_recv(p->srv, data + moved, k, &p->plain);
		moved += k;
	}
	(void)BIO_reset(p->cli_out);
	return moved;
}

/* Moves what the server has to send to the client; returns the byte count. */
static size_t to_client(struct pair *p)
{
	struct sbuf empty = { 0 }, out = { 0 };
	size_t total = 0;

	while (tls_conn_has_output(p->srv, 0)) {
		tls_conn_seal(p->srv, &empty, &out);
		BIO_write(p->cli_in, out.p, (int)out.len);
		total += out.len;
		out.len = 0;
	}
	sbuf_free(&out);
	sbuf_free(&empty);
	return total;
}

/* Runs the handshake to its end on both sides; false if it failed. */
static bool handshake(struct pair *p, size_t step)
{
	for (int round = 0; round < 10; round++) {
		int r = SSL_do_handshake(p->cli);

		if (r != 1 && SSL_get_error(p->cli, r) != SSL_ERROR_WANT_READ)
			return false;
		to_server(p, step);
		to_client(p);
		if (p->rc < 0)
			return false;
		if (r == 1 && SSL_is_init_finished(p->cli)) {
			/* The server finishes on the client's last flight. */
			char c;

			SSL_read(p->cli, &c, 1);	/* takes the session tickets */
			ERR_clear_error();
			return true;
		}
	}
	return false;
}

/* What the client reads now, appended to out. */
static void client_read(struct pair *p, struct sbuf *out)
{
	for (;;) {
		size_t got = 0;

		sbuf_reserve(out, 16384);
		if (SSL_read_ex(p->cli, out->p + out->len, out->cap - out->len, &got) != 1)
			break;
		out->len += got;
	}
	ERR_clear_error();
}

/* ---- tests ---- */

static void test_handshake_and_request_whole(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p, CLIENT_CERT, 0);
	assert_true(handshake(&p, 0));
	assert_int_equal(SSL_write(p.cli, "PING\r\n", 6), 6);
	to_server(&p, 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.plain.len, 6);
	assert_memory_equal(p.plain.p, "PING\r\n", 6);
	pair_close(&p);
}

static void test_handshake_and_request_one_byte_at_a_time(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p, CLIENT_CERT, 0);
	assert_true(handshake(&p, 1));
	assert_int_equal(SSL_write(p.cli, "*1\r\n$4\r\nPING\r\n", 14), 14);
	assert_true(to_server(&p, 1) > 14);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.plain.len, 14);
	assert_memory_equal(p.plain.p, "*1\r\n$4\r\nPING\r\n", 14);
	pair_close(&p);
}

/* Three records split in two at every byte: the plaintext is whole each
 * time, and none comes out before its record is complete. */
static void test_records_split_at_every_point(void **state)
{
	static const char *const msgs[] = { "SET k v\r\n", "GET k\r\n", "PING\r\n" };
	const char want[] = "SET k v\r\nGET k\r\nPING\r\n";
	struct pair p;
	long n = 1;

	(void)state;
	/* Records are bound to one connection's keys: each split point gets a
	 * fresh connection, whose client writes the same three records. */
	for (long split = 0; split <= n; split++) {
		char *data;

		pair_open(&p, CLIENT_CERT, 0);
		assert_true(handshake(&p, 0));
		for (size_t i = 0; i < 3; i++)
			SSL_write(p.cli, msgs[i], (int)strlen(msgs[i]));
		n = BIO_get_mem_data(p.cli_out, &data);
		assert_true(n > 3 * 22);
		assert_int_equal(tls_conn_recv(p.srv, data, (size_t)split, &p.plain), 0);
		assert_true(p.plain.len <= sizeof(want) - 1);
		assert_memory_equal(p.plain.p, want, p.plain.len);
		assert_int_equal(tls_conn_recv(p.srv, data + split, (size_t)(n - split), &p.plain), 0);
		assert_int_equal(p.plain.len, sizeof(want) - 1);
		assert_memory_equal(p.plain.p, want, sizeof(want) - 1);
		(void)BIO_reset(p.cli_out);
		pair_close(&p);
	}
}

/* The ciphertext may come from the free space of the plaintext buffer
 * itself, as it does from a client's query buffer. */
static void test_ciphertext_inside_the_plaintext_buffer(void **state)
{
	struct pair p;
	char *data;
	long n;

	(void)state;
	pair_open(&p, CLIENT_CERT, 0);
	assert_true(handshake(&p, 0));
	SSL_write(p.cli, "0123456789", 10);
	n = BIO_get_mem_data(p.cli_out, &data);
	sbuf_reserve(&p.plain, (size_t)n + 16384);
	memcpy(p.plain.p, data, (size_t)n);
	assert_int_equal(tls_conn_recv(p.srv, p.plain.p, (size_t)n, &p.plain), 0);
	assert_int_equal(p.plain.len, 10);
	assert_memory_equal(p.plain.p, "0123456789", 10);
	pair_close(&p);
}

/* A large reply: seal takes it all at once, empties the caller's buffer,
 * and gives it back encrypted in TLS_SEAL_CHUNK pieces. */
static void test_seal_sends_a_large_reply_in_chunks(void **state)
{
	const size_t size = 3 * TLS_SEAL_CHUNK + 17;
	struct sbuf reply = { 0 }, out = { 0 }, got = { 0 };
	struct pair p;
	int calls = 0;

	(void)state;
	pair_open(&p, CLIENT_CERT, 0);
	assert_true(handshake(&p, 0));
	sbuf_reserve(&reply, size);
	for (size_t i = 0; i < size; i++)
		reply.p[i] = (char)('a' + i % 26);
	reply.len = size;
	assert_true(tls_conn_has_output(p.srv, reply.len));
	while (tls_conn_has_output(p.srv, reply.len)) {
		tls_conn_seal(p.srv, &reply, &out);
		assert_int_equal(reply.len, 0);
		assert_true(out.len > 0 && out.len < TLS_SEAL_CHUNK + TLS_SEAL_CHUNK / 16);
		assert_true(tls_conn_pending(p.srv) <= size);
		BIO_write(p.cli_in, out.p, (int)out.len);
		out.len = 0;
		calls++;
	}
	assert_int_equal(calls, 4);
	assert_int_equal(tls_conn_pending(p.srv), 0);
	client_read(&p, &got);
	assert_int_equal(got.len, size);
	for (size_t i = 0; i < size; i++)
		if (got.p[i] != (char)('a' + i % 26))
			fail_msg("byte %zu differs", i);
	sbuf_free(&reply);
	sbuf_free(&out);
	sbuf_free(&got);
	pair_close(&p);
}

/* Replies written while a chunk is still being encrypted wait in the
 * caller's buffer and follow in order. */
static void test_replies_stay_in_order_across_chunks(void **state)
{
	struct sbuf wbuf = { 0 }, out = { 0 }, got = { 0 }, want = { 0 };
	struct pair p;

	(void)state;
	pair_open(&p, CLIENT_CERT, 0);
	assert_true(handshake(&p, 0));
	for (int i = 0; i < 2 * TLS_SEAL_CHUNK / 10; i++)
		sbuf_printf(&wbuf, "+%08d\r\n", i);
	sbuf_append(&want, wbuf.p, wbuf.len);
	tls_conn_seal(p.srv, &wbuf, &out);
	assert_int_equal(wbuf.len, 0);
	sbuf_append_str(&wbuf, "+LATER\r\n");
	sbuf_append_str(&want, "+LATER\r\n");
	while (tls_conn_has_output(p.srv, wbuf.len)) {
		BIO_write(p.cli_in, out.p, (int)out.len);
		out.len = 0;
		tls_conn_seal(p.srv, &wbuf, &out);
	}
	BIO_write(p.cli_in, out.p, (int)out.len);
	client_read(&p, &got);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.p, want.p, want.len);
	sbuf_free(&wbuf);
	sbuf_free(&out);
	sbuf_free(&got);
	sbuf_free(&want);
	pair_close(&p);
}

static void test_no_reply_is_taken_before_the_handshake(void **state)
{
	struct sbuf wbuf = { 0 }, out = { 0 };
	struct pair p;

	(void)state;
	pair_open(&p, CLIENT_CERT, 0);
	sbuf_append_str(&wbuf, "+OK\r\n");
	assert_false(tls_conn_has_output(p.srv, wbuf.len));
	tls_conn_seal(p.srv, &wbuf, &out);
	assert_int_equal(wbuf.len, 5);
	assert_int_equal(out.len, 0);
	sbuf_free(&wbuf);
	sbuf_free(&out);
	pair_close(&p);
}

/* A plain-text client on the TLS port: the handshake fails at once, and the
 * failure is sticky. */
static void test_plaintext_request_fails_the_handshake(void **state)
{
	struct sbuf wbuf = { 0 }, out = { 0 };
	struct pair p;

	(void)state;
	pair_open(&p, CLIENT_CERT, 0);
	assert_int_equal(tls_conn_recv(p.srv, "*1\r\n$4\r\nPING\r\n", 14, &p.plain), -EPROTO);
	assert_int_equal(p.plain.len, 0);
	assert_int_equal(tls_conn_recv(p.srv, "x", 1, &p.plain), -EPROTO);
	/* After the alert (if any) nothing more leaves, replies included. */
	sbuf_append_str(&wbuf, "+PONG\r\n");
	tls_conn_seal(p.srv, &wbuf, &out);
	assert_int_equal(wbuf.len, 0);
	assert_false(tls_conn_has_output(p.srv, 7));
	sbuf_free(&wbuf);
	sbuf_free(&out);
	pair_close(&p);
}

static void test_close_notify_ends_the_connection(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p, CLIENT_CERT, 0);
	assert_true(handshake(&p, 0));
	SSL_shutdown(p.cli);
	to_server(&p, 0);
	assert_int_equal(p.rc, -ECONNRESET);
	pair_close(&p);
}

static void test_client_without_certificate_refused_with_an_alert(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p, CLIENT_NO_CERT, 0);
	assert_false(handshake(&p, 0));
	assert_int_equal(p.rc, -EPROTO);
	/* The client learns why: the alert reached it. */
	assert_true(SSL_get_error(p.cli, SSL_read(p.cli, (char[1]){ 0 }, 1)) == SSL_ERROR_SSL);
	ERR_clear_error();
	pair_close(&p);
}

static void test_auth_optional_serves_a_client_without_certificate(void **state)
{
	struct pair p;

	(void)state;
	configure("optional");
	pair_open(&p, CLIENT_NO_CERT, 0);
	assert_true(handshake(&p, 0));
	pair_close(&p);
	configure("yes");
}

static void test_auth_no_serves_a_client_without_certificate(void **state)
{
	struct pair p;

	(void)state;
	configure("no");
	pair_open(&p, CLIENT_NO_CERT, 0);
	assert_true(handshake(&p, 0));
	pair_close(&p);
	configure("yes");
}

static void test_protocols_limit_the_versions(void **state)
{
	char *err = NULL;
	struct pair p;

	(void)state;
	assert_int_equal(cfg_set("tls-protocols", "tlsv1.3", &err), 0);
	assert_int_equal(tls_configure(), 0);
	pair_open(&p, CLIENT_CERT, TLS1_2_VERSION);
	assert_false(handshake(&p, 0));
	pair_close(&p);
	pair_open(&p, CLIENT_CERT, 0);
	assert_true(handshake(&p, 0));
	assert_int_equal(SSL_version(p.cli), TLS1_3_VERSION);
	pair_close(&p);
	assert_int_equal(cfg_set("tls-protocols", "TLSv1.2", &err), 0);
	assert_int_equal(tls_configure(), 0);
	pair_open(&p, CLIENT_CERT, 0);
	assert_true(handshake(&p, 0));
	assert_int_equal(SSL_version(p.cli), TLS1_2_VERSION);
	pair_close(&p);
	assert_int_equal(cfg_set("tls-protocols", "", &err), 0);
	assert_int_equal(tls_configure(), 0);
}

/* A context that cannot be built leaves the old one in place. */
static void test_failed_configure_keeps_the_old_context(void **state)
{
	static const char *const bad[][2] = {
		{ "tls-protocols", "TLSv1.2 SSLv3" },
		{ "tls-ciphers", "NO-SUCH-CIPHER" },
		{ "tls-ciphersuites", "TLS_NO_SUCH_SUITE" },
		{ "tls-cert-file", "/nonexistent/cert.pem" },
		{ "tls-key-file", "/nonexistent/key.pem" },
		{ "tls-ca-cert-file", "" },
	};
	int saved = log_min_level;
	char *err = NULL;
	struct pair p;

	(void)state;
	log_min_level = LOG_WARNING + 1;	/* the reasons are logged: keep quiet */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char old[300];

		assert_true(cfg_get_one(bad[i][0], old, sizeof(old)));
		/* CONFIG SET goes through the same rebuild and says so. */
		assert_int_equal(cfg_set(bad[i][0], bad[i][1], &err), -1);
		assert_non_null(strstr(err, "Unable to update TLS configuration. Check server logs."));
		mem_free(err);
		err = NULL;
		assert_true(tls_is_configured());
		pair_open(&p, CLIENT_CERT, 0);
		assert_true(handshake(&p, 0));
		pair_close(&p);
	}
	log_min_level = saved;
}

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	cfg_init_defaults();
	make_certificate();
	configure("yes");
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[300];

	(void)state;
	tls_free();
	cfg_free();
	X509_free(cert);
	EVP_PKEY_free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_request_whole),
		cmocka_unit_test(test_handshake_and_request_one_byte_at_a_time),
		cmocka_unit_test(test_records_split_at_every_point),
		cmocka_unit_test(test_ciphertext_inside_the_plaintext_buffer),
		cmocka_unit_test(test_seal_sends_a_large_reply_in_chunks),
		cmocka_unit_test(test_replies_stay_in_order_across_chunks),
		cmocka_unit_test(test_no_reply_is_taken_before_the_handshake),
		cmocka_unit_test(test_plaintext_request_fails_the_handshake),
		cmocka_unit_test(test_close_notify_ends_the_connection),
		cmocka_unit_test(test_client_without_certificate_refused_with_an_alert),
		cmocka_unit_test(test_auth_optional_serves_a_client_without_certificate),
		cmocka_unit_test(test_auth_no_serves_a_client_without_certificate),
		cmocka_unit_test(test_protocols_limit_the_versions),
		cmocka_unit_test(test_failed_configure_keeps_the_old_context),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
