/*
 * tls.c - TLS through OpenSSL, with the I/O left to the caller.
 *
 * Each connection's SSL reads and writes through one BIO of our own, which
 * is only a pair of byte queues: `in` holds ciphertext the caller received
 * and the SSL has not read yet, `out` ciphertext the SSL wrote and the
 * caller has not taken yet. Reading an empty `in` says "retry", so SSL_read
 * returns SSL_ERROR_WANT_READ instead of blocking; writing to `out` always
 * succeeds, so the SSL never wants to write. Our own BIO rather than
 * OpenSSL's memory BIO because the queues are sbufs: `out` is handed to the
 * caller by swapping buffers instead of copying, and both give back their
 * memory when idle instead of keeping the largest burst a connection ever
 * had.
 *
 * Receive (tls_conn_recv): the received ciphertext is appended to `in`,
 * then SSL_read runs until it wants more, each call appending at most one
 * record's plaintext to the client's query buffer. The handshake is driven
 * by those same SSL_read calls (the SSL is in accept state); its replies,
 * and the session tickets TLSv1.3 sends after it, accumulate in `out`.
 *
 * Send (tls_conn_seal): replies are taken from the client's write buffer by
 * swapping it with `stage`, then encrypted TLS_SEAL_CHUNK bytes per call, so
 * a 16 MiB reply never has 16 MiB of ciphertext in memory at once and one
 * call never holds the loop for long. The caller sends what comes out, and
 * calls again when that is sent.
 *
 * Failure: the first fatal error (a handshake that fails, a record that
 * does not decrypt, an alert from the peer) is sticky. From then on nothing
 * is read and no reply is encrypted; only the alert the SSL wrote, if any,
 * still leaves, so a client refused during the handshake learns why.
 */
#include "tls.h"
#include "cfg.h"
#include "log.h"
#include "mem.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define TLS_READ_ROOM (16 * 1024 + 256)	/* free space for one record's plaintext */
#define TLS_IDLE_KEEP (64 * 1024)	/* an idle queue keeps a buffer up to this */
#define TLS_LOG_PER_SEC 10		/* failure warnings per second per thread */

struct tls_conn {
	SSL *ssl;		/* owns the BIO below */
	struct sbuf in;		/* received ciphertext; in.p[0..in_off) already read */
	size_t in_off;
	struct sbuf out;	/* ciphertext the SSL wrote, not yet taken by seal */
	struct sbuf stage;	/* replies taken from the caller; [0..stage_off) encrypted */
	size_t stage_off;
	int err;		/* 0, or the sticky -EPROTO / -ECONNRESET */
	char why[256];		/* OpenSSL's reason for -EPROTO, for the log */
};

static SSL_CTX *tls_ctx;		/* the context new connections get, or NULL */
static BIO_METHOD *tls_bio_method;	/* our queue BIO, made by the first configure */

/* ---- the queue BIO ---- */

static int tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int tls_bio_read(BIO *b, char *buf, int len)
{
	struct tls_conn *t = BIO_get_data(b);
	size_t n = MIN(t->in.len - t->in_off, (size_t)(len > 0 ? len : 0));

	BIO_clear_retry_flags(b);
	if (!n) {
		BIO_set_retry_read(b);
		return -1;
	}
	memcpy(buf, t->in.p + t->in_off, n);
	t->in_off += n;
	return (int)n;
}

static int tls_bio_write(BIO *b, const char *buf, int len)
{
	struct tls_conn *t = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	sbuf_append(&t->out, buf, (size_t)len);
	return len;
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls_conn *t = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;	/* written bytes are already where the caller takes them */
	case BIO_CTRL_PENDING:
		return (long)(t->in.len - t->in_off);
	default:
		return 0;
	}
}

static BIO_METHOD *tls_bio_method_get(void)
{
	BIO_METHOD *m;

	if (tls_bio_method)
		return tls_bio_method;
	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "strata queue");
	if (!m)
		return NULL;
	if (!BIO_meth_set_create(m, tls_bio_create) || !BIO_meth_set_read(m, tls_bio_read) ||
	    !BIO_meth_set_write(m, tls_bio_write) || !BIO_meth_set_ctrl(m, tls_bio_ctrl)) {
		BIO_meth_free(m);
		return NULL;
	}
	tls_bio_method = m;
	return m;
}

/* ---- the server context ---- */

/* OpenSSL's oldest queued error as "error:XXXXXXXX:lib::reason", and clears
 * the queue. */
static void tls_openssl_error(char *buf, size_t cap)
{
	unsigned long e = ERR_peek_error();

	if (e)
		ERR_error_string_n(e, buf, cap);
	else
		snprintf(buf, cap, "unknown error");
	ERR_clear_error();
}

/* tls-protocols as SSL_OP_NO_* options: every version not named is turned
 * off. Names are Redis's, in any case; "" means "TLSv1.2 TLSv1.3". Returns
 * false on an unknown name or none at all. */
static bool tls_protocol_options(const char *spec, long *no_opts)
{
	static const struct {
		const char *name;
		long op;
	} versions[] = {
		{ "TLSv1", SSL_OP_NO_TLSv1 },
		{ "TLSv1.1", SSL_OP_NO_TLSv1_1 },
		{ "TLSv1.2", SSL_OP_NO_TLSv1_2 },
		{ "TLSv1.3", SSL_OP_NO_TLSv1_3 },
	};
	char *copy, *tok, *save = NULL;
	long all = 0, on = 0;
	bool ok = true;

	if (!spec || !*spec)
		spec = "TLSv1.2 TLSv1.3";
	for (size_t i = 0; i < ARRAY_SIZE(versions); i++)
		all |= versions[i].op;
	copy = mem_strndup(spec, strlen(spec));
	for (tok = strtok_r(copy, " \t", &save); tok && ok; tok = strtok_r(NULL, " \t", &save)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(versions); i++)
			if (!strcasecmp(tok, versions[i].name))
				break;
		if (i == ARRAY_SIZE(versions))
			ok = false;
		else
			on |= versions[i].op;
	}
	mem_free(copy);
	*no_opts = all & ~on;
	return ok && on;
}

/* A context from cfg, or NULL after logging why. */
static SSL_CTX *tls_ctx_build(void)
{
	static const unsigned char sid_ctx[] = "strata";
	char why[256];
	SSL_CTX *ctx;
	long no_versions;
	int verify;

	ERR_clear_error();
	if (!cfg.tls_cert_file || !*cfg.tls_cert_file) {
		log_warning("No tls-cert-file configured!");
		return NULL;
	}
	if (!cfg.tls_key_file || !*cfg.tls_key_file) {
		log_warning("No tls-key-file configured!");
		return NULL;
	}
	if (cfg.tls_auth_clients != TLS_AUTH_NO && !*cfg.tls_ca_cert_file && !*cfg.tls_ca_cert_dir) {
		log_warning("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
			    "tls-auth-clients is enabled!");
		return NULL;
	}
	if (!tls_protocol_options(cfg.tls_protocols, &no_versions)) {
		log_warning("Invalid tls-protocols specified. Use a combination of 'TLSv1', "
			    "'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		tls_openssl_error(why, sizeof(why));
		log_warning("Failed to create TLS context: %s", why);
		return NULL;
	}
	/* No renegotiation: a client could make us redo handshakes at will. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | no_versions);
	if (cfg.tls_prefer_server_ciphers)
		SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Sessions resume from the server's cache and from tickets; resuming
	 * with client verification on needs a session id context. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, 20480);
	SSL_CTX_set_timeout(ctx, 300);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_dh_auto(ctx, 1);

	if (SSL_CTX_use_certificate_chain_file(ctx, cfg.tls_cert_file) <= 0) {
		tls_openssl_error(why, sizeof(why));
		log_warning("Failed to load certificate: %s: %s", cfg.tls_cert_file, why);
		goto out_free_ctx;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg.tls_key_file, SSL_FILETYPE_PEM) <= 0) {
		tls_openssl_error(why, sizeof(why));
		log_warning("Failed to load private key: %s: %s", cfg.tls_key_file, why);
		goto out_free_ctx;
	}
	if (!SSL_CTX_check_private_key(ctx)) {
		tls_openssl_error(why, sizeof(why));
		log_warning("Private key does not match the certificate: %s", why);
		goto out_free_ctx;
	}
	if ((*cfg.tls_ca_cert_file || *cfg.tls_ca_cert_dir) &&
	    SSL_CTX_load_verify_locations(ctx, *cfg.tls_ca_cert_file ? cfg.tls_ca_cert_file : NULL,
					  *cfg.tls_ca_cert_dir ? cfg.tls_ca_cert_dir : NULL) <= 0) {
		tls_openssl_error(why, sizeof(why));
		log_warning("Failed to configure CA certificate(s) file/directory: %s", why);
		goto out_free_ctx;
	}
	if (*cfg.tls_ciphers && !SSL_CTX_set_cipher_list(ctx, cfg.tls_ciphers)) {
		ERR_clear_error();
		log_warning("Failed to configure ciphers: %s", cfg.tls_ciphers);
		goto out_free_ctx;
	}
	if (*cfg.tls_ciphersuites && !SSL_CTX_set_ciphersuites(ctx, cfg.tls_ciphersuites)) {
		ERR_clear_error();
		log_warning("Failed to configure ciphersuites: %s", cfg.tls_ciphersuites);
		goto out_free_ctx;
	}
	switch (cfg.tls_auth_clients) {
	case TLS_AUTH_NO:
		verify = SSL_VERIFY_NONE;
		break;
	case TLS_AUTH_OPTIONAL:
		verify = SSL_VERIFY_PEER;	/* a certificate, if given, must verify */
		break;
	default:
		verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		break;
	}
	SSL_CTX_set_verify(ctx, verify, NULL);
	return ctx;

out_free_ctx:
	SSL_CTX_free(ctx);
	return NULL;
}

int tls_configure(void)
{
	SSL_CTX *ctx;

	if (!tls_bio_method_get()) {
		log_warning("Failed to create the TLS I/O method");
		return -1;
	}
	ctx = tls_ctx_build();
	if (!ctx)
		return -1;
	/* Connections made on the old context hold their own reference. */
	SSL_CTX_free(tls_ctx);
	tls_ctx = ctx;
	return 0;
}

bool tls_is_configured(void)
{
	return tls_ctx != NULL;
}

void tls_free(void)
{
	SSL_CTX_free(tls_ctx);
	tls_ctx = NULL;
	BIO_meth_free(tls_bio_method);
	tls_bio_method = NULL;
}

/* ---- connections ---- */

int tls_conn_create(struct tls_conn **out)
{
	struct tls_conn *t;
	BIO *bio;

	if (!tls_ctx)
		return -EINVAL;
	t = mem_calloc(1, sizeof(*t));
	t->ssl = SSL_new(tls_ctx);
	if (!t->ssl)
		goto out_free;
	bio = BIO_new(tls_bio_method);
	if (!bio)
		goto out_free_ssl;
	BIO_set_data(bio, t);
	/* One BIO both ways: the SSL takes our single reference. */
	SSL_set_bio(t->ssl, bio, bio);
	SSL_set_accept_state(t->ssl);
	*out = t;
	return 0;

out_free_ssl:
	SSL_free(t->ssl);
out_free:
	ERR_clear_error();
	mem_free(t);
	return -ENOMEM;
}

void tls_conn_destroy(struct tls_conn *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	sbuf_free(&t->in);
	sbuf_free(&t->out);
	sbuf_free(&t->stage);
	mem_free(t);
}

/* Makes t dead with err, keeping OpenSSL's reason for the log. */
static void tls_conn_fail(struct tls_conn *t, int err)
{
	long verify = SSL_get_verify_result(t->ssl);
	size_t n;

	t->err = err;
	if (err != -EPROTO) {
		ERR_clear_error();
		return;
	}
	tls_openssl_error(t->why, sizeof(t->why));
	n = strlen(t->why);
	if (verify != X509_V_OK && n < sizeof(t->why))
		snprintf(t->why + n, sizeof(t->why) - n, " (%s)",
			 X509_verify_cert_error_string(verify));
}

int tls_conn_recv(struct tls_conn *t, const char *cipher, size_t n, struct sbuf *plain)
{
	if (t->err)
		return t->err;
	/* Copied first: cipher may lie in plain's free space. */
	sbuf_append(&t->in, cipher, n);
	for (;;) {
		size_t got = 0;

		sbuf_reserve(plain, TLS_READ_ROOM);
		ERR_clear_error();
		if (SSL_read_ex(t->ssl, plain->p + plain->len, plain->cap - plain->len, &got) == 1) {
			plain->len += got;
			continue;
		}
		switch (SSL_get_error(t->ssl, 0)) {
		case SSL_ERROR_WANT_READ:
			break;
		case SSL_ERROR_ZERO_RETURN:
			tls_conn_fail(t, -ECONNRESET);
			break;
		default:
			tls_conn_fail(t, -EPROTO);
			break;
		}
		break;
	}
	if (t->in_off == t->in.len || t->err) {
		t->in.len = 0;
		t->in_off = 0;
		sbuf_shrink_idle(&t->in, TLS_IDLE_KEEP);
	}
	return t->err;
}

void tls_conn_seal(struct tls_conn *t, struct sbuf *plain, struct sbuf *out)
{
	if (t->err) {
		plain->len = 0;
		t->stage.len = 0;
		t->stage_off = 0;
	} else {
		if (t->stage_off == t->stage.len && plain->len && SSL_is_init_finished(t->ssl)) {
			struct sbuf tmp = t->stage;

			t->stage = *plain;
			*plain = tmp;
			plain->len = 0;
			t->stage_off = 0;
		}
		if (t->stage_off < t->stage.len) {
			size_t n = MIN(t->stage.len - t->stage_off, (size_t)TLS_SEAL_CHUNK), done = 0;

			ERR_clear_error();
			/* Writing to our queue cannot fall short: all or an error. */
			if (SSL_write_ex(t->ssl, t->stage.p + t->stage_off, n, &done) == 1)
				t->stage_off += done;
			else
				tls_conn_fail(t, -EPROTO);
			if (t->stage_off == t->stage.len || t->err) {
				t->stage.len = 0;
				t->stage_off = 0;
				sbuf_shrink_idle(&t->stage, TLS_IDLE_KEEP);
			}
		}
	}
	if (!t->out.len)
		return;
	if (!out->len) {
		struct sbuf tmp = *out;

		*out = t->out;
		t->out = tmp;
	} else {
		sbuf_append(out, t->out.p, t->out.len);
		t->out.len = 0;
	}
}

bool tls_conn_has_output(const struct tls_conn *t, size_t plain_len)
{
	if (t->out.len)
		return true;
	if (t->err)
		return false;
	return t->stage_off < t->stage.len || (plain_len && SSL_is_init_finished(t->ssl));
}

size_t tls_conn_pending(const struct tls_conn *t)
{
	return t->out.len + (t->stage.len - t->stage_off);
}

void tls_conn_log_failure(const struct tls_conn *t, const char *addr, const char *laddr)
{
	static _Thread_local int64_t window;	/* the second being counted */
	static _Thread_local unsigned logged, dropped;
	int64_t now = util_mstime() / 1000;

	if (t->err != -EPROTO)
		return;
	if (now != window) {
		if (dropped)
			log_warning("%u more TLS connection errors not logged", dropped);
		window = now;
		logged = dropped = 0;
	}
	if (logged >= TLS_LOG_PER_SEC) {
		dropped++;
		return;
	}
	logged++;
	log_warning("Error accepting a client connection: %s (addr=%s laddr=%s)", t->why, addr,
		    laddr);
}
