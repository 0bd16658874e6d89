/*
 * tls.h - TLS through OpenSSL memory BIOs.
 *
 * OpenSSL never touches a socket here. A TLS connection is a state machine
 * between two byte streams that the caller moves with io_uring like any
 * other: ciphertext the kernel received goes in (tls_conn_recv), plaintext
 * comes out into the client's query buffer; replies go in (tls_conn_seal),
 * ciphertext comes out into the buffer the caller SENDs. So nothing here
 * blocks or makes a system call, and a shard's loop runs TLS clients the way
 * it runs plain ones.
 *
 * One server context (SSL_CTX) is built from the tls-* options of cfg by
 * tls_configure(): at start when tls-port is set, and again by CONFIG SET of
 * a tls-* option, which swaps in the new context only if it builds. A
 * connection keeps the context it was created with (OpenSSL counts the
 * references), so a swap never disturbs clients already connected.
 *
 * Threads: tls_configure() and tls_free() run on the main thread before the
 * shards start or after they stop, or under CONFIG SET, while every other
 * shard is parked. A struct tls_conn belongs to the shard thread of its
 * client. OpenSSL's error queue is per thread, so errors never mix.
 */
#ifndef STRATA_TLS_H
#define STRATA_TLS_H

#include "sbuf.h"

#include <stdbool.h>
#include <stddef.h>

struct tls_conn;

/* Builds a server context from cfg's tls-* options and makes it the one new
 * connections use. Returns 0, or -1 after logging the reason at warning
 * level (Redis's wording: "Failed to load certificate: ...", "Invalid
 * tls-protocols specified. ...", ...); the previous context, if any, stays
 * in use then. */
int tls_configure(void);
/* True once tls_configure() has succeeded: CONFIG SET of a tls-* option
 * then rebuilds the context. */
bool tls_is_configured(void);
/* Drops the server context (shutdown). Connections still open keep theirs. */
void tls_free(void);

/* A server-side connection in the accepting state, on the current context.
 * Returns 0 and *out, or -EINVAL when no context is configured, or -ENOMEM.
 * The caller owns *out: tls_conn_destroy() frees it. */
int tls_conn_create(struct tls_conn **out);
/* Frees t; NULL is a no-op. */
void tls_conn_destroy(struct tls_conn *t);

/*
 * Hands n bytes of received ciphertext to t, and appends to plain every
 * plaintext byte they complete (growing plain as needed). The handshake
 * advances here too. cipher may point into plain's free space (the caller's
 * receive buffer): it is copied before plain is written.
 *
 * Returns 0 (possibly with no plaintext yet: a partial record, a handshake
 * message), or a negative errno once the connection is over: -EPROTO for a
 * failed handshake, a bad record or a fatal alert from the peer, and
 * -ECONNRESET for the peer's close_notify. Either way the connection is dead
 * from then on: later calls return the same error, and the caller should
 * send what tls_conn_seal() still gives (an alert) and close.
 */
int tls_conn_recv(struct tls_conn *t, const char *cipher, size_t n, struct sbuf *plain);

/*
 * Appends to out the next ciphertext to send: records the SSL has produced
 * (handshake messages, session tickets, alerts), then replies. Replies are
 * taken from plain: all of it at once (plain is swapped with an internal
 * staging buffer, so nothing is copied, and is empty afterwards) whenever
 * the previous ones are all encrypted; and they are encrypted at most
 * TLS_SEAL_CHUNK bytes per call, so a large reply is sent in pieces, one per
 * call, without holding its whole ciphertext. Before the handshake is done
 * plain is left untouched; after a failure it is dropped.
 */
void tls_conn_seal(struct tls_conn *t, struct sbuf *plain, struct sbuf *out);
#define TLS_SEAL_CHUNK (256 * 1024)

/* True when tls_conn_seal() would give ciphertext, with plain_len bytes of
 * replies waiting in its plain argument: records waiting to be sent, replies
 * taken and not yet encrypted, or new replies it can take. False for a
 * failed connection once its last records are taken, whatever plain holds. */
bool tls_conn_has_output(const struct tls_conn *t, size_t plain_len);
/* Bytes of replies taken by tls_conn_seal() and not yet encrypted (for the
 * output buffer accounting). */
size_t tls_conn_pending(const struct tls_conn *t);

/* Logs why t failed, at warning level, as Redis does ("Error accepting a
 * client connection: <OpenSSL reason> (addr=... laddr=...)"), at most a few
 * times a second per thread; nothing for a close_notify. */
void tls_conn_log_failure(const struct tls_conn *t, const char *addr, const char *laddr);

#endif
