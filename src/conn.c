/*
 * conn.c - client connections: receive, parse, dispatch, ordered replies.
 *
 * Receive. One RECV is in flight per client, into the free tail of rbuf. The
 * buffer is compacted only when arming the next RECV (never while the kernel
 * may write into it); compaction resets the parser to the start of the
 * incomplete command, so a command is re-scanned at most once. A large bulk
 * makes the parser report the size it needs, and the buffer is grown to it
 * in one step.
 *
 * Dispatch. Each complete command is looked up, checked (arity, auth), and
 * routed by the shards of its keys: run here, sent as a hop to the one other
 * shard that owns its keys, or run here with the shards it needs parked. A
 * parked command waits until the client's earlier hops have answered (the
 * client pauses parsing), so a client's commands take effect in the order it
 * sent them.
 *
 * Output: see conn.h. Backpressure: while more than CLIENT_OUT_HIGH bytes
 * wait to be sent, the client's commands already received are left unrun
 * and no new RECV is armed, so a client that does not read its replies
 * stops being served instead of growing the server without bound; its
 * queued commands run once its output has drained.
 *
 * Memory of a connection. A RECV asks for recv_size bytes of free space,
 * CLIENT_RECV_START at first, doubled each time a read fills it (up to
 * CLIENT_RECV_MAX); a large bulk grows the buffer toward its announced size
 * but at most doubling what has arrived, so a client that announces much
 * and sends little holds little. A client idle for CLIENT_IDLE_MS with no
 * partial command gives back its buffers: its RECV is cancelled and replaced
 * by a POLL, which holds no buffer (CL_IN_IDLE); a new connection starts
 * that way too. What a client holds is client_mem(), summed per shard in
 * sh->client_mem at every change (receive, flush, send, cron) for INFO and
 * maxmemory-clients, which evicts the largest clients at the end of a turn.
 *
 * Limits, with Redis's names: proto-max-bulk-len and the multibulk count
 * (the parser), client-query-buffer-limit (the query buffer plus the parsed
 * arguments of the incomplete command), client-output-buffer-limit (checked
 * after every command, hop reply and cron tick; 17 KiB for a client that
 * must authenticate first, as Redis 7.0.15 with its CVE-2025-21605 fix),
 * maxclients and protected mode (shard.c, at accept), timeout (cron).
 *
 * TLS. A TLS client differs from a plain one in four places, and a plain one
 * takes exactly today's path through each (one test of c->tls):
 *   - client_tls_received(), from client_on_recv(): the bytes a RECV put
 *     after rbuf's data are ciphertext; they become plaintext in rbuf;
 *   - client_tls_seal(), from client_send(): `sending` is filled with the
 *     ciphertext of wbuf's replies (in TLS_SEAL_CHUNK pieces) instead of
 *     being swapped with wbuf;
 *   - client_has_output(), from client_flush_dirty() and client_on_send():
 *     whether there is anything to send counts the TLS records too
 *     (handshake, alerts, replies taken and not yet encrypted);
 *   - client_pending_output() counts those records and replies.
 * A TLS failure is logged, closes the client once its alert is sent, and
 * never touches other clients.
 */
#include "conn.h"
#include "blob.h"
#include "block.h"
#include "multi.h"
#include "pubsub.h"
#include "cfg.h"
#include "acl.h"
#include "log.h"
#include "mem.h"
#include "strutil.h"
#include "tls.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CLIENT_RECV_START 512		/* first RECV, and after idling */
#define CLIENT_RECV_MAX (16 * 1024)	/* recv_size grows up to this */
#define CLIENT_OUT_HIGH (64u * 1024 * 1024)
#define CLIENT_IDLE_MS 2000		/* idle this long gives back buffers (Redis: 2 s) */
#define CLIENT_UNAUTH_OUT_MAX (16 * 1024 + 1024)	/* see client_check_output_limit */
#define CLIENT_EVICT_MIN (128 * 1024)	/* maxmemory-clients never below (Redis) */
#define CLIENT_ARGS_KEEP 1024		/* argument slots kept between commands */
#define CLIENT_HOPS_MAX 256		/* commands in flight to other shards per client */
#define UD_TAG_RECV 1
#define UD_TAG_SEND 2
#define UPLOAD_BUFS 4			/* upload buffers in flight per large SET */
#define UPLOAD_START (16u << 10)	/* value bytes received before they go to upload buffers */
#define STREAM_HIGH (1u << 20)		/* a streamed reply waits while this much is unsent */
#define CLIENT_PAUSED_INPUT (1u << 20)	/* input read ahead while a client is paused */

#define UD_TAG_POLL 4

static void client_process(struct client *c);
static void client_arm_recv(struct client *c);
static struct sbuf *client_out(struct client *c);
static void client_unpoll(struct client *c);
static void upload_end(struct client *c, bool abort);
static void seg_release_stalls(struct outseg *s, bool cancel);
static bool stream_may_ack(const struct client *c, const struct outseg *s);

/* Output waiting to be handed to the kernel (see the TLS note above). */
static inline bool client_has_output(const struct client *c)
{
	if (c->tls)
		return tls_conn_has_output(c->tls, c->wbuf.len);
	return c->wbuf.len != 0;
}
static void client_mem_update(struct client *c);

void client_mark_dirty(struct client *c)
{
	if (c->flags & CL_DIRTY)
		return;
	c->flags |= CL_DIRTY;
	c->dirty_next = c->sh->dirty;
	c->sh->dirty = c;
}

static void addr_to_str(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	}
	snprintf(buf, cap, "%s:%d", ip, port);
}

struct client *client_create(struct shard *sh, int fd, bool tls)
{
	struct client *c = mem_calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cfg.tcp_keepalive > 0) {
		int idle = cfg.tcp_keepalive, intvl = MAX(cfg.tcp_keepalive / 3, 1), cnt = 3;

		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
	c->id = atomic_fetch_add(&srv.next_client_id, 1) + 1;
	c->fd = fd;
	c->sh = sh;
	c->proto = RESP2;
	c->ctime_ms = c->last_ms = util_mstime();
	c->user = acl_user_hold(acl_default_user());
	if (!acl_default_needs_auth())
		c->flags |= CL_AUTHED;
	sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_to_str(&ss, c->addr, sizeof(c->addr));
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_to_str(&ss, c->laddr, sizeof(c->laddr));
	c->parser.max_bulk_len = (uint64_t)cfg.proto_max_bulk_len;
	c->parser.unauthenticated = !(c->flags & CL_AUTHED);
	resp_parser_reset(&c->parser, 0);
	/* No input buffer until the client sends something. */
	c->recv_size = CLIENT_RECV_START;
	c->flags |= CL_IN_IDLE;

	if (sh->nclients == sh->capclients) {
		sh->capclients = sh->capclients ? sh->capclients * 2 : 64;
		sh->clients = mem_realloc(sh->clients, (size_t)sh->capclients * sizeof(*sh->clients));
	}
	c->slot = sh->nclients;
	sh->clients[sh->nclients++] = c;
	if (tls) {
		int rc = tls_conn_create(&c->tls);

		if (rc < 0) {
			log_warning("Error creating TLS state for a client: %s (addr=%s)",
				    strerror(-rc), c->addr);
			client_close(c);
			return NULL;
		}
	}
	client_arm_recv(c);
	client_mem_update(c);
	return c;
}

static void client_free(struct client *c)
{
	struct shard *sh = c->sh;
	struct outseg *s = c->seg_head;

	multi_discard(c);
	multi_unwatch(c);
	pubsub_unsubscribe_all(c, false);
	atomic_fetch_sub_explicit(&sh->client_mem, c->mem, memory_order_relaxed);
	c->mem = 0;
	acl_user_release(c->user);
	c->user = NULL;
	sh->clients[c->slot] = sh->clients[--sh->nclients];
	sh->clients[c->slot]->slot = c->slot;

	while (s) {
		struct outseg *next = s->next;

		sbuf_free(&s->buf);
		mem_free(s);
		s = next;
	}
	if (c->fd >= 0)
		close(c->fd);
	sbuf_free(&c->rbuf);
	sbuf_free(&c->wbuf);
	sbuf_free(&c->sending);
	free(c->recv_orphan);
	mem_free(c->args);
	mem_free(c->argv);
	mem_free(c->name);
	mem_free(c->lib_name);
	mem_free(c->lib_ver);
	tls_conn_destroy(c->tls);
	mem_free(c);
}

static void client_try_free(struct client *c)
{
	if ((c->flags & CL_CLOSING) && !(c->flags & (CL_DIRTY | CL_RESUME | CL_PARKQ)) &&
	    c->inflight == 0 && c->hops == 0 && c->blob_refs == 0)
		client_free(c);
}

void client_close(struct client *c)
{
	struct shard *sh = c->sh;

	if (c->flags & CL_CLOSING)
		return;
	c->flags |= CL_CLOSING;
	client_mem_update(c);	/* a closing client counts no more */
	if (c->flags & CL_POLL)
		client_unpoll(c);
	/* Completes any RECV or SEND in flight so their buffers come back; the
	 * client stays in sh->clients (skipped by CLIENT LIST) until freed. */
	shutdown(c->fd, SHUT_RDWR);
	atomic_fetch_sub(&srv.nclients, 1);
	if (c->up)
		upload_end(c, true);	/* its blob space is given back */
	for (struct outseg *s = c->seg_head; s; s = s->next)
		seg_release_stalls(s, true);
	if (c->block_cookie) {
		struct outseg *s = c->block_cookie;
		uint32_t was_dirty = c->flags & CL_DIRTY;

		/* The waiter's owner answers with an empty reply, which releases
		 * the client. CL_DIRTY keeps c alive through a local cancel. */
		c->flags |= CL_DIRTY;
		if (c->block_shard == sh->id)
			block_cancel(sh, sh->id, s);
		else
			shard_hop_cancel(sh, c->block_shard, s);
		c->flags = (c->flags & ~CL_DIRTY) | was_dirty;
	}
	if (!(c->flags & CL_DIRTY))
		client_try_free(c);
}

void client_close_all(struct shard *sh)
{
	/* The ring is gone, so nothing is in flight; hop replies will never
	 * come. Free every client, closed or not. */
	while (sh->nclients) {
		struct client *c = sh->clients[0];

		if (!(c->flags & CL_CLOSING))
			atomic_fetch_sub(&srv.nclients, 1);
		client_free(c);
	}
	sh->dirty = NULL;
	sh->resume = NULL;
	sh->parkq = NULL;
	sh->pollq = NULL;
	mem_free(sh->clients);
	sh->clients = NULL;
}

/* --- output --- */

#define SEG_FREE_MAX 256	/* output segments kept for reuse per shard */
#define SEG_BUF_KEEP 4096	/* a reused segment keeps a buffer up to this */

/* Output segments are recycled per shard: a hop makes one, and at -P 16
 * half the commands hop, so malloc/free per segment showed in profiles. */
static struct outseg *seg_get(struct client *c)
{
	struct shard *sh = c->sh;
	struct outseg *s = sh->seg_free;

	if (s) {
		sh->seg_free = s->next;
		sh->nseg_free--;
		s->buf.len = 0;
	} else {
		s = mem_calloc(1, sizeof(*s));
	}
	s->next = NULL;
	s->c = c;
	s->pending = false;
	s->discard = false;
	s->nstall = 0;
	return s;
}

static void seg_put(struct shard *sh, struct outseg *s)
{
	if (sh->nseg_free >= SEG_FREE_MAX) {
		sbuf_free(&s->buf);
		mem_free(s);
		return;
	}
	if (s->buf.cap > SEG_BUF_KEEP)
		sbuf_free(&s->buf);
	s->next = sh->seg_free;
	sh->seg_free = s;
	sh->nseg_free++;
}

void client_free_segs(struct shard *sh)
{
	while (sh->seg_free) {
		struct outseg *s = sh->seg_free;

		sh->seg_free = s->next;
		sbuf_free(&s->buf);
		mem_free(s);
	}
	sh->nseg_free = 0;
}

size_t client_pending_output(const struct client *c)
{
	size_t n = c->wbuf.len + (c->sending.len - c->sent);

	for (const struct outseg *s = c->seg_head; s; s = s->next)
		n += s->buf.len;
	if (c->tls)
		n += tls_conn_pending(c->tls);
	return n;
}

/*
 * A client that must still authenticate gets little output room whatever
 * the class limits say, so it cannot make the server hold replies it never
 * reads (Redis 7.0.15, CVE-2025-21605: over 1 KiB in its reply list, which
 * comes after a 16 KiB buffer; here both are counted together).
 */
static bool client_must_auth(const struct client *c)
{
	return !(c->flags & CL_AUTHED) && acl_default_needs_auth();
}

bool client_check_output_limit(struct client *c, int cls)
{
	long long hard = cfg.cobl[cls][0], soft = cfg.cobl[cls][1], secs = cfg.cobl[cls][2];
	bool unauth = client_must_auth(c);
	size_t pending;

	if (!hard && !soft && !unauth)
		return false;
	pending = client_pending_output(c);
	if ((unauth && pending > CLIENT_UNAUTH_OUT_MAX) ||
	    (hard && pending >= (size_t)hard) ||
	    (soft && pending >= (size_t)soft && c->soft_since_ms &&
	     kv_now_ms - c->soft_since_ms > secs * 1000)) {
		if (!(c->flags & CL_CLOSE_ASAP))
			log_warning("Client id=%llu addr=%s closed for overcoming of output buffer limits.",
				    (unsigned long long)c->id, c->addr);
		/* The owner closes it when its pending receive fails; nothing
		 * more is queued for it meanwhile. */
		c->flags |= CL_CLOSE_ASAP;
		shutdown(c->fd, SHUT_RDWR);
		return true;
	}
	if (soft && pending >= (size_t)soft) {
		if (!c->soft_since_ms)
			c->soft_since_ms = kv_now_ms;
	} else {
		c->soft_since_ms = 0;
	}
	return false;
}

static int client_out_class(const struct client *c)
{
	return pubsub_count(c) ? COBL_PUBSUB : COBL_NORMAL;
}

/* Too much output waiting: run no more of its commands, read no more. */
static bool client_out_full(const struct client *c)
{
	return client_pending_output(c) > CLIENT_OUT_HIGH;
}

/* --- memory of clients --- */

static size_t upload_mem(const struct client *c);

static size_t client_input_mem(const struct client *c)
{
	return c->rbuf.cap + c->argcap * (sizeof(*c->args) + sizeof(*c->argv)) + upload_mem(c);
}

static size_t client_output_mem(const struct client *c)
{
	size_t n = c->wbuf.cap + c->sending.cap;

	for (const struct outseg *s = c->seg_head; s; s = s->next)
		n += sizeof(*s) + s->buf.cap;
	return n;
}

size_t client_mem(const struct client *c)
{
	return mem_usable(c) + client_input_mem(c) + client_output_mem(c) + c->multi_mem +
	       mem_usable(c->name) + mem_usable(c->lib_name) + mem_usable(c->lib_ver);
}

/* Brings c's share of sh->client_mem up to date. Runs on the owner's thread,
 * or on a coordinator's while the owner is parked. */
static void client_mem_update(struct client *c)
{
	size_t m = (c->flags & (CL_CLOSING | CL_CLOSE_ASAP)) ? 0 : client_mem(c);

	if (m == c->mem)
		return;
	/* Unsigned arithmetic: adding m - mem modulo 2^64 also subtracts. */
	atomic_fetch_add_explicit(&c->sh->client_mem, m - c->mem, memory_order_relaxed);
	c->mem = m;
}

size_t client_mem_total(void)
{
	size_t n = 0;

	for (int i = 0; i < srv.nshards; i++)
		n += atomic_load_explicit(&srv.shards[i].client_mem, memory_order_relaxed);
	return n;
}

void client_recent_max(size_t *in, size_t *out)
{
	*in = *out = 0;
	for (int i = 0; i < srv.nshards; i++) {
		for (int k = 0; k < CLIENT_PEAK_SLOTS; k++) {
			*in = MAX(*in, srv.shards[i].peak_in[k]);
			*out = MAX(*out, srv.shards[i].peak_out[k]);
		}
	}
}

/* maxmemory-clients in bytes, 0 for none: a percentage is of maxmemory
 * (none without maxmemory), and never less than 128 KiB, as in Redis, so a
 * bad setting cannot lock every client out. */
static size_t client_eviction_limit(void)
{
	long long v = cfg.maxmemory_clients;
	size_t lim;

	if (v < 0 && cfg.maxmemory > 0)
		lim = (size_t)((double)cfg.maxmemory * (double)-v / 100.0);
	else if (v > 0)
		lim = (size_t)v;
	else
		return 0;
	return MAX(lim, (size_t)CLIENT_EVICT_MIN);
}

/*
 * Redis evicts the clients of its largest memory bucket first; with every
 * shard parked we simply take the largest evictable client, again and again
 * until the total is under the limit. A client of another shard is cut off
 * as CLIENT KILL does (its owner closes it when its pending operation
 * ends); its memory leaves the total at once so it is not counted twice.
 */
void client_evict(struct shard *sh)
{
	/* After finding nothing to evict, this thread waits a little before it
	 * parks everyone again, and says so at most every 10 s. */
	static _Thread_local int64_t quiet_until, warned_at;
	size_t limit = client_eviction_limit();
	uint64_t mask = srv.nshards >= 64 ? ~0ull : (1ull << srv.nshards) - 1;

	if (!limit || client_mem_total() < limit || kv_now_ms < quiet_until)
		return;
	shard_park(sh, mask);
	while (client_mem_total() >= limit) {
		struct client *victim = NULL;
		struct sbuf info = { 0 };

		for (int s = 0; s < srv.nshards; s++) {
			struct shard *o = &srv.shards[s];

			for (int i = 0; i < o->nclients; i++) {
				struct client *c = o->clients[i];

				if (c->flags & (CL_CLOSING | CL_CLOSE_ASAP | CL_NO_EVICT))
					continue;
				if (!victim || c->mem > victim->mem)
					victim = c;
			}
		}
		if (!victim) {
			if (kv_now_ms - warned_at >= 10000) {
				log_warning("Over client maxmemory after evicting all evictable clients");
				warned_at = kv_now_ms;
			}
			quiet_until = kv_now_ms + 100;
			break;
		}
		client_info_line(victim, &info);
		if (info.len)
			info.len--;	/* the newline */
		log_notice("Evicting client: %.*s", (int)info.len, info.p);
		sbuf_free(&info);
		sh->stats.evicted_clients++;
		victim->flags |= CL_CLOSE_ASAP;
		client_mem_update(victim);
		if (victim->sh == sh)
			client_close(victim);
		else
			shutdown(victim->fd, SHUT_RDWR);
	}
	shard_unpark(sh, mask);
}

struct sbuf *client_out_buf(struct client *c)
{
	return client_out(c);
}

/* Where the reply of a command run now must go to stay in order. */
static struct sbuf *client_out(struct client *c)
{
	struct outseg *s;

	if (!c->seg_tail)
		return &c->wbuf;
	if (!c->seg_tail->pending)
		return &c->seg_tail->buf;
	s = seg_get(c);
	c->seg_tail->next = s;
	c->seg_tail = s;
	return &s->buf;
}

static struct outseg *client_add_pending(struct client *c, bool discard)
{
	struct outseg *s = seg_get(c);

	s->pending = true;
	s->discard = discard;
	if (c->seg_tail)
		c->seg_tail->next = s;
	else
		c->seg_head = s;
	c->seg_tail = s;
	c->hops++;
	return s;
}

/* Moves the ready segments at the head of the queue into wbuf. */
static void client_drain_segs(struct client *c)
{
	while (c->seg_head && !c->seg_head->pending) {
		struct outseg *s = c->seg_head;

		sbuf_append(&c->wbuf, s->buf.p, s->buf.len);
		c->seg_head = s->next;
		if (!c->seg_head)
			c->seg_tail = NULL;
		seg_put(c->sh, s);
	}
	if (c->seg_head && c->seg_head->buf.len) {
		/* A streamed reply that now heads the queue: its bytes so far. */
		sbuf_append(&c->wbuf, c->seg_head->buf.p, c->seg_head->buf.len);
		c->seg_head->buf.len = 0;
	}
}

void client_apply_hop_reply(void *cookie, const char *p, size_t len)
{
	struct outseg *s = cookie;
	struct client *c = s->c;

	if (s == c->block_cookie)
		c->block_cookie = NULL;
	if (s == c->seg_head) {
		/* The common case: the oldest reply we wait for. It goes
		 * straight to wbuf, with no stop in the segment. */
		if (!s->discard && !(c->flags & CL_CLOSING))
			sbuf_append(&c->wbuf, p, len);
		c->seg_head = s->next;
		if (!c->seg_head)
			c->seg_tail = NULL;
		seg_put(c->sh, s);
	} else {
		if (!s->discard && !(c->flags & CL_CLOSING))
			sbuf_append(&s->buf, p, len);
		s->pending = false;
	}
	c->hops--;
	client_drain_segs(c);
	if (c->flags & CL_CLOSING) {
		client_try_free(c);
		return;
	}
	client_check_output_limit(c, client_out_class(c));
	client_mark_dirty(c);
	if ((c->flags & CL_PAUSED) && c->hops == 0 && !(c->flags & CL_RESUME)) {
		/* Resumed at the end of the turn (client_run_resumed), never here:
		 * we may be inside another command, even holding the coordinator
		 * token, and running this client's commands now could nest. */
		c->flags |= CL_RESUME;
		c->resume_next = c->sh->resume;
		c->sh->resume = c;
	}
}

/*
 * One parking window for every client that queued a multi-shard command this
 * turn: park the union of their shards once, then let each client run on
 * from its queued command. Commands that need shards outside the window
 * queue again for the next turn. At -P 16 this turns hundreds of park/unpark
 * round trips into one.
 */
void client_run_parkq(struct shard *sh)
{
	uint64_t mask = sh->parkq_mask | (1ull << sh->id);
	struct client **batch;
	int n = 0;

	if (!sh->parkq)
		return;
	/* Snapshot the queue: a client may queue itself again while it runs. */
	for (struct client *c = sh->parkq; c; c = c->parkq_next)
		n++;
	batch = mem_alloc((size_t)n * sizeof(*batch));
	n = 0;
	for (struct client *c = sh->parkq; c; c = c->parkq_next) {
		c->flags &= ~CL_PARKQ;
		batch[n++] = c;
	}
	sh->parkq = NULL;
	sh->parkq_mask = 0;
	shard_park(sh, mask);
	sh->parked_mask = mask;
	for (int i = 0; i < n; i++) {
		struct client *c = batch[i];

		c->flags &= ~CL_PAUSED;
		if (!(c->flags & CL_CLOSING))
			client_process(c);
	}
	sh->parked_mask = 0;
	shard_unpark(sh, mask);
	for (int i = 0; i < n; i++) {
		struct client *c = batch[i];

		if (c->flags & CL_CLOSING)
			client_try_free(c);
		else
			client_arm_recv(c);
	}
	mem_free(batch);
}

void client_run_resumed(struct shard *sh)
{
	while (sh->resume) {
		struct client *c = sh->resume;

		sh->resume = c->resume_next;
		c->flags &= ~(CL_RESUME | CL_PAUSED);
		if (c->flags & CL_CLOSING) {
			client_try_free(c);
			continue;
		}
		client_process(c);
		client_arm_recv(c);
	}
}

/* TLS hook "bytes to send": fills the empty `sending` with ciphertext, the
 * records the SSL has ready and the next piece of wbuf's replies. Returns
 * false when there is nothing to send. */
static bool client_tls_seal(struct client *c)
{
	tls_conn_seal(c->tls, &c->wbuf, &c->sending);
	c->sent = 0;
	return c->sending.len != 0;
}

static void client_send(struct client *c)
{
	struct io_uring_sqe *sqe;

	if (!c->sending.len && c->tls && !client_tls_seal(c))
		return;
	if (!c->sending.len) {
		struct sbuf t;

		if (!c->wbuf.len)
			return;
		t = c->sending;
		c->sending = c->wbuf;
		c->wbuf = t;
		c->sent = 0;
	}
	sqe = shard_sqe(c->sh);
	io_uring_prep_send(sqe, c->fd, c->sending.p + c->sent, c->sending.len - c->sent,
			   MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | UD_TAG_SEND);
	c->flags |= CL_SEND;
	c->inflight++;
}

void client_flush_dirty(struct shard *sh)
{
	struct client *c = sh->dirty;

	sh->dirty = NULL;
	while (c) {
		struct client *next = c->dirty_next;

		c->flags &= ~CL_DIRTY;
		if (c->flags & CL_CLOSING) {
			client_try_free(c);
		} else if (!(c->flags & CL_SEND) && !client_has_output(c) &&
			   (c->flags & CL_CLOSE_AFTER_REPLY) && !c->hops) {
			client_close(c);	/* may free c */
		} else {
			if (!(c->flags & CL_SEND) && client_has_output(c))
				client_send(c);
			client_mem_update(c);
		}
		c = next;
	}
}

void client_on_send(struct client *c, int res)
{
	c->flags &= ~CL_SEND;
	c->inflight--;
	if (c->flags & CL_CLOSING) {
		client_try_free(c);
		return;
	}
	if (res < 0) {
		client_close(c);
		return;
	}
	c->sh->stats.net_out += (uint64_t)res;
	c->last_ms = kv_now_ms;	/* a write is an interaction too, as in Redis */
	c->sent += (size_t)res;
	if (c->seg_head && c->seg_head->nstall && stream_may_ack(c, c->seg_head))
		seg_release_stalls(c->seg_head, false);
	if (c->sent < c->sending.len) {
		client_send(c);
		return;
	}
	c->sending.len = 0;
	c->sent = 0;
	sbuf_shrink_idle(&c->sending, 64 * 1024);
	if (client_has_output(c) || (c->flags & CL_CLOSE_AFTER_REPLY))
		client_mark_dirty(c);
	/* Backpressure may have left commands unrun and no RECV armed. */
	if (c->rpos < c->rbuf.len && !client_out_full(c))
		client_process(c);
	client_arm_recv(c);
	client_mem_update(c);
}


/* --- large values: uploads and streamed replies (blob.h) --- */

/*
 * An upload: the bulk payload of a large SET, received into aligned buffers
 * that go to the key's shard as they fill (at most UPLOAD_BUFS at a time, so
 * a 1 GB value never holds more than that here). The command up to its value
 * is kept re-encoded in `prefix`, with an empty value ("$0\r\n"); once the
 * body is in, the prefix is put back in front of what follows the body (its
 * "\r\n", the options, the next commands), and the command is parsed and
 * dispatched as usual, carrying the upload instead of its value.
 */
struct upload {
	struct blob_put *put;
	struct client *c;
	uint64_t len, got;		/* value bytes expected, received */
	size_t bufsize;
	char *cur;			/* buffer being filled */
	size_t fill;
	char *spare[UPLOAD_BUFS];
	int nspare, nbufs, out;		/* free, allocated, at the key's shard */
	struct sbuf prefix;
	bool body_done, ended, mem;	/* mem: made from a value already in memory */
};

/* The upload buffers of the value being received. */
static size_t upload_mem(const struct client *c)
{
	return c->up ? (size_t)c->up->nbufs * c->up->bufsize : 0;
}

/* Argument index of the value of a SET-family call, or 0. */
static int upload_value_index(const char *name, size_t n, int64_t argc)
{
	if (n == 3 && !strncasecmp(name, "set", 3))
		return argc >= 3 ? 2 : 0;
	if ((n == 5 && !strncasecmp(name, "setnx", 5)) || (n == 6 && !strncasecmp(name, "getset", 6)))
		return argc == 3 ? 2 : 0;
	if ((n == 5 && !strncasecmp(name, "setex", 5)) || (n == 6 && !strncasecmp(name, "psetex", 6)))
		return argc == 4 ? 3 : 0;
	return 0;
}

static void upload_free(struct upload *up)
{
	for (int i = 0; i < up->nspare; i++)
		blob_buf_put(up->spare[i], up->bufsize);
	blob_buf_put(up->cur, up->bufsize);
	sbuf_free(&up->prefix);
	mem_free(up);
}

/* Takes a buffer to fill, if one is free (or may be made). */
static void upload_buf(struct upload *up)
{
	if (up->cur)
		return;
	if (up->nspare) {
		up->cur = up->spare[--up->nspare];
	} else if (up->nbufs < UPLOAD_BUFS || up->mem) {
		up->cur = blob_buf_get(up->bufsize);
		up->nbufs++;
	}
	up->fill = 0;
}

static void upload_send(struct client *c, struct upload *up)
{
	size_t pad = (up->fill + blob_align() - 1) / blob_align() * blob_align();

	memset(up->cur + up->fill, 0, pad - up->fill);
	blob_put_data(c->sh, up->put, up->cur, up->got - up->fill, up->fill);
	up->out++;
	c->blob_refs++;
	up->cur = NULL;
	up->fill = 0;
}

/* Copies value bytes into the buffers; returns how many it took. */
static size_t upload_feed(struct client *c, struct upload *up, const char *p, size_t n)
{
	size_t used = 0;

	while (n && up->got < up->len) {
		size_t take;

		upload_buf(up);
		if (!up->cur)
			break;
		take = MIN(n, up->bufsize - up->fill);
		take = (size_t)MIN((uint64_t)take, up->len - up->got);
		memcpy(up->cur + up->fill, p, take);
		up->fill += take;
		up->got += take;
		p += take;
		n -= take;
		used += take;
		if (up->fill == up->bufsize || up->got == up->len)
			upload_send(c, up);
	}
	return used;
}

static void upload_body_done(struct client *c)
{
	struct upload *up = c->up;

	c->flags &= ~CL_UPLOAD;
	up->body_done = true;
	sbuf_append(&c->rbuf, up->prefix.p, up->prefix.len);
	resp_parser_reset(&c->parser, c->rpos);
}

/* The upload's command was dispatched (abort: it will not run). */
static void upload_end(struct client *c, bool abort)
{
	struct upload *up = c->up;

	if (!up)
		return;
	c->up = NULL;
	c->flags &= ~CL_UPLOAD;
	if (abort)
		blob_put_abort(c->sh, up->put);
	up->ended = true;
	for (int i = 0; i < up->nspare; i++)
		blob_buf_put(up->spare[i], up->bufsize);
	up->nspare = 0;
	if (c->flags & CL_RECV)
		c->recv_orphan = up->cur;	/* the kernel may still write there */
	else
		blob_buf_put(up->cur, up->bufsize);
	up->cur = NULL;
	if (up->out == 0)
		upload_free(up);
}

void conn_put_ack(struct shard *sh, void *cookie, void *buf)
{
	struct upload *up = cookie;
	struct client *c = up->c;

	(void)sh;
	up->out--;
	c->blob_refs--;
	if (!up->ended && !up->body_done && up->nspare < UPLOAD_BUFS) {
		up->spare[up->nspare++] = buf;
		if ((c->flags & CL_UPLOAD) && !(c->flags & CL_RECV))
			client_arm_recv(c);
	} else {
		blob_buf_put(buf, up->bufsize);
	}
	if (up->ended && up->out == 0)
		upload_free(up);
	if (c->flags & CL_CLOSING)
		client_try_free(c);
}

/*
 * Called when the parser waits for the rest of a bulk: if it is the value of
 * a SET-family command and large enough, the body goes to upload buffers.
 */
static bool upload_start(struct client *c)
{
	struct resp_parser *p = &c->parser;
	const struct resp_arg *a0, *key;
	struct upload *up;
	uint64_t have;
	int vi;

	/* A TLS client's bytes are decrypted into rbuf, and may run past the
	 * value: it stays on the rbuf path (its value is uploaded whole from
	 * there at dispatch). */
	if (c->tls || c->up || (c->flags & (CL_MULTI | CL_RECV | CL_UPLOAD)) || p->kind != '*' ||
	    p->bulk_len < 0 || !blob_wants((uint64_t)p->bulk_len) || p->nargs < 2)
		return false;
	if (!(c->flags & CL_AUTHED) && acl_default_needs_auth())
		return false;
	have = c->rbuf.len - p->pos;
	/* Only once some of it arrived: a client that announces a large value
	 * and sends nothing holds no upload buffer. What arrived in rbuf is
	 * copied to the first buffer, so this is kept small (at 256 KiB, the
	 * copy was an eighth of the server's CPU under 1 MiB SETs). */
	if (have >= (uint64_t)p->bulk_len || have < UPLOAD_START)
		return false;
	a0 = &c->args[0];
	vi = upload_value_index(c->rbuf.p + a0->off, a0->len, p->argc);
	if (!vi || p->nargs != vi)
		return false;
	up = mem_calloc(1, sizeof(*up));
	up->c = c;
	up->len = (uint64_t)p->bulk_len;
	up->bufsize = blob_upload_bufsize(up->len);
	if (have > (uint64_t)UPLOAD_BUFS * up->bufsize) {
		mem_free(up);
		return false;
	}
	key = &c->args[1];
	up->put = blob_put_new(c->sh, shard_of_key(c->rbuf.p + key->off, key->len), up->len, up);
	sbuf_printf(&up->prefix, "*%lld\r\n", (long long)p->argc);
	for (int i = 0; i < vi; i++) {
		sbuf_printf(&up->prefix, "$%zu\r\n", c->args[i].len);
		sbuf_append(&up->prefix, c->rbuf.p + c->args[i].off, c->args[i].len);
		sbuf_append(&up->prefix, "\r\n", 2);
	}
	sbuf_append(&up->prefix, "$0\r\n", 4);
	c->up = up;
	c->flags |= CL_UPLOAD;
	upload_feed(c, up, c->rbuf.p + p->pos, (size_t)have);
	c->rbuf.len = c->rpos;
	resp_parser_reset(&c->parser, c->rpos);
	return true;
}

/* An upload of a value that arrived whole in the query buffer. */
static struct blob_put *upload_from_mem(struct client *c, const struct cmd_arg *key,
					const struct cmd_arg *val)
{
	struct upload *up = mem_calloc(1, sizeof(*up));

	up->c = c;
	up->mem = true;
	up->len = val->len;
	up->bufsize = blob_upload_bufsize(up->len);
	up->put = blob_put_new(c->sh, shard_of_key(key->p, key->len), up->len, up);
	upload_feed(c, up, val->p, val->len);
	up->body_done = true;
	up->ended = true;
	if (up->out == 0)
		upload_free(up);
	return up->put;
}

/* Output of a streamed reply into its segment. */
static void seg_emit(void *arg, const char *p, size_t n)
{
	struct outseg *s = arg;
	struct client *c = s->c;

	if (s == c->seg_head) {
		sbuf_append(&c->wbuf, p, n);
		client_mark_dirty(c);
	} else {
		sbuf_append(&s->buf, p, n);
	}
}

static void seg_release_stalls(struct outseg *s, bool cancel)
{
	for (int i = 0; i < s->nstall; i++)
		blob_chunk_ack(s->c->sh, s->stall_st[i], s->stall_buf[i], cancel);
	s->nstall = 0;
}

static bool stream_may_ack(const struct client *c, const struct outseg *s)
{
	return s == c->seg_head && c->wbuf.len + (c->sending.len - c->sent) < STREAM_HIGH;
}

/* Runs prog on until it finishes (the segment is complete) or starts a read. */
static void prog_continue(struct shard *sh, struct outseg *s, struct blob_prog *prog)
{
	struct client *c = s->c;

	if (!(c->flags & (CL_CLOSING | CL_CLOSE_ASAP)) && !s->discard &&
	    !blob_prog_step(sh, prog, sh->id, seg_emit, s))
		return;
	blob_prog_free(sh, prog);
	seg_release_stalls(s, false);
	client_apply_hop_reply(s, "", 0);
}

void conn_prog(struct shard *sh, void *cookie, struct blob_prog *prog)
{
	blob_prog_set_cookie(prog, cookie);
	prog_continue(sh, cookie, prog);
}

void conn_chunk(struct shard *sh, struct blob_stream *st, void *buf, size_t off, size_t n,
		bool last)
{
	struct blob_prog *prog = blob_stream_prog(st);
	struct outseg *s = blob_prog_cookie(prog);
	struct client *c = s->c;
	bool gone = (c->flags & (CL_CLOSING | CL_CLOSE_ASAP)) || s->discard;

	if (!buf) {
		/* The stream ended early: cancelled, or a read failed, after
		 * which the reply can no longer be framed. */
		if (off && !gone) {
			log_warning("Closing client id=%llu: a large value could not be read",
				    (unsigned long long)c->id);
			c->flags |= CL_CLOSE_ASAP;
			shutdown(c->fd, SHUT_RDWR);
		}
		blob_chunk_ack(sh, st, NULL, false);
	} else if (gone) {
		blob_chunk_ack(sh, st, buf, true);
	} else {
		seg_emit(s, (const char *)buf + off, n);
		if (stream_may_ack(c, s) || s->nstall == (int)ARRAY_SIZE(s->stall_buf)) {
			blob_chunk_ack(sh, st, buf, false);
		} else {
			s->stall_st[s->nstall] = st;
			s->stall_buf[s->nstall++] = buf;
		}
	}
	if (last)
		prog_continue(sh, s, prog);
}

/* --- input --- */

/* Is a complete command held in the parser (a DISPATCH_RETRY)? Everywhere
 * else the parser is reset after each command. */
static bool client_holds_parsed(const struct client *c)
{
	return c->parser.argc >= 0 && c->parser.nargs == c->parser.argc;
}

static void client_arm_recv(struct client *c)
{
	struct io_uring_sqe *sqe;
	size_t want = c->recv_size;

	/* A paused client is still read (its input waits in rbuf, bounded by
	 * client-query-buffer-limit): that is how a blocked client's
	 * disconnect is noticed, so its waiter does not take data for nobody. */
	if (c->flags & (CL_RECV | CL_CLOSING | CL_CLOSE_AFTER_REPLY))
		return;
	if (client_out_full(c))
		return;
	/* A paused client's input waits in rbuf: past this much, stop reading
	 * (a client pipelining large SETs pauses after each one). */
	if ((c->flags & CL_PAUSED) && c->rbuf.len - c->rpos >= CLIENT_PAUSED_INPUT)
		return;
	if (c->flags & CL_UPLOAD) {
		struct upload *up = c->up;

		upload_buf(up);
		if (!up->cur)
			return;		/* every buffer is at the key's shard */
		sqe = shard_sqe(c->sh);
		io_uring_prep_recv(sqe, c->fd, up->cur + up->fill,
				   (size_t)MIN((uint64_t)(up->bufsize - up->fill), up->len - up->got), 0);
		io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | UD_TAG_RECV);
		c->flags |= CL_RECV;
		c->inflight++;
		return;
	}
	if (c->flags & CL_IN_IDLE) {
		/* Idle: wait for input without lending the kernel a buffer. */
		sqe = shard_sqe(c->sh);
		io_uring_prep_poll_add(sqe, c->fd, POLLIN);
		io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | UD_TAG_POLL);
		c->flags |= CL_RECV;
		c->inflight++;
		return;
	}
	/* Not under a command kept parsed for a retry: its offsets would move. */
	if (c->rpos && !client_holds_parsed(c)) {
		sbuf_consume(&c->rbuf, c->rpos);
		c->rpos = 0;
		resp_parser_reset(&c->parser, 0);
	}
	if (c->parser.need > c->rbuf.len) {
		/* Toward a large bulk, but at most doubling what has arrived:
		 * announcing 512 MB and sending a byte buys no 512 MB buffer. */
		size_t missing = (size_t)(c->parser.need - c->rbuf.len);

		want = MAX(want, MIN(missing, MAX(c->rbuf.len, (size_t)CLIENT_RECV_MAX)));
	}
	if (!c->rbuf.len && c->rbuf.cap > 1024 * 1024)
		sbuf_free(&c->rbuf);	/* idle: give back a large buffer */
	if (!c->rbuf.len && c->argcap > CLIENT_ARGS_KEEP) {
		/* ... and the arrays of a command with very many arguments. */
		mem_free(c->args);
		mem_free(c->argv);
		c->args = NULL;
		c->argv = NULL;
		c->argcap = 0;
	}
	sbuf_reserve(&c->rbuf, want);
	sqe = shard_sqe(c->sh);
	io_uring_prep_recv(sqe, c->fd, c->rbuf.p + c->rbuf.len, c->rbuf.cap - c->rbuf.len, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | UD_TAG_RECV);
	c->flags |= CL_RECV;
	c->inflight++;
}

/* TLS hook "bytes received": the n bytes the RECV put after rbuf's data are
 * ciphertext; the plaintext they complete takes their place in rbuf. The
 * records the SSL wants to send (handshake, alert) go at the next flush; a
 * failure closes the client once they are sent. */
static void client_tls_received(struct client *c, size_t n)
{
	if (tls_conn_recv(c->tls, c->rbuf.p + c->rbuf.len, n, &c->rbuf) < 0) {
		tls_conn_log_failure(c->tls, c->addr, c->laddr);
		c->flags |= CL_CLOSE_AFTER_REPLY;
		client_mark_dirty(c);
	} else if (client_has_output(c)) {
		client_mark_dirty(c);
	}
}

void client_on_poll(struct client *c, int res)
{
	c->flags &= ~(CL_RECV | CL_IN_IDLE);
	c->inflight--;
	if (c->flags & CL_CLOSING) {
		client_try_free(c);
		return;
	}
	if (res < 0 && res != -ECANCELED) {
		client_close(c);
		return;
	}
	/* Readable (or hung up: the RECV then tells). */
	client_arm_recv(c);
	client_mem_update(c);
}

/* Idle for CLIENT_IDLE_MS: gives back what the client holds but needs only
 * while active, as Redis's clientsCronResizeQueryBuffer does. The RECV in
 * flight owns rbuf, so it is cancelled; client_on_recv then frees the
 * buffer and arms a POLL. */
static void client_shrink_idle(struct client *c)
{
	c->recv_size = CLIENT_RECV_START;
	if (!(c->flags & CL_SEND)) {
		if (!c->wbuf.len)
			sbuf_free(&c->wbuf);
		if (!c->sending.len)
			sbuf_free(&c->sending);
	}
	if (c->rbuf.len || c->up || (c->flags & (CL_PAUSED | CL_IN_IDLE | CL_IN_SHRINK)))
		return;	/* a partial or waiting command (or upload) still needs its buffers */
	mem_free(c->args);
	mem_free(c->argv);
	c->args = NULL;
	c->argv = NULL;
	c->argcap = 0;
	if (c->flags & CL_RECV) {
		struct io_uring_sqe *sqe = shard_sqe(c->sh);

		io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)c | UD_TAG_RECV, 0);
		io_uring_sqe_set_data64(sqe, 0);	/* its own completion is ignored */
		c->flags |= CL_IN_SHRINK;
	} else {
		sbuf_free(&c->rbuf);
		c->flags |= CL_IN_IDLE;
	}
}

void client_on_recv(struct client *c, int res)
{
	c->flags &= ~(CL_RECV | CL_IN_SHRINK);
	c->inflight--;
	if (c->flags & CL_CLOSING) {
		client_try_free(c);
		return;
	}
	if (res == -ECANCELED) {
		/* Only client_shrink_idle cancels a RECV. If input came in the
		 * meantime, the buffer is kept and read again. */
		if (!c->rbuf.len) {
			sbuf_free(&c->rbuf);
			c->flags |= CL_IN_IDLE;
		}
		client_arm_recv(c);
		client_mem_update(c);
		return;
	}
	if (res <= 0) {
		client_close(c);
		return;
	}
	c->sh->stats.net_in += (uint64_t)res;
	c->last_ms = kv_now_ms;
	if (c->flags & CL_UPLOAD) {
		struct upload *up = c->up;

		up->fill += (size_t)res;
		up->got += (uint64_t)res;
		if (up->fill == up->bufsize || up->got == up->len)
			upload_send(c, up);
		if (up->got < up->len) {
			client_arm_recv(c);
			return;
		}
		upload_body_done(c);
	} else {
		/* A read that filled the space offered: more is likely waiting. */
		if (c->rbuf.len + (size_t)res == c->rbuf.cap && c->recv_size < CLIENT_RECV_MAX)
			c->recv_size *= 2;
		if (c->tls)
			client_tls_received(c, (size_t)res);
		else
			sbuf_added(&c->rbuf, (size_t)res);
	}
	client_process(c);
	if (c->flags & CL_CLOSE_ASAP) {
		client_close(c);	/* cut off (output limit, killed): may free c */
		return;
	}
	if (c->flags & CL_CLOSING)
		return;
	/* The unrun input and the arguments parsed so far from its incomplete
	 * command (a huge count of empty arguments costs more in arrays than
	 * in bytes received) together stay under client-query-buffer-limit. */
	if (c->rbuf.len - c->rpos +
	    (size_t)c->parser.nargs * (sizeof(*c->args) + sizeof(*c->argv)) >
	    (size_t)cfg.client_query_buffer_limit) {
		log_warning("Closing client that reached max query buffer length (id=%llu addr=%s)",
			    (unsigned long long)c->id, c->addr);
		client_close(c);
		return;
	}
	client_arm_recv(c);
	client_mem_update(c);
}

static void client_reply_error(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void client_reply_error(struct client *c, const char *fmt, ...)
{
	struct resp_w w = { .b = client_out(c), .proto = c->proto,
			    .on_error = shard_count_error, .err_arg = c->sh };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp_w_error(&w, msg);
	client_mark_dirty(c);
}

static void client_unknown_command(struct client *c, int argc, const struct cmd_arg *argv)
{
	char args[512];
	size_t n = 0;

	args[0] = '\0';
	for (int i = 1; i < argc && n < 128; i++) {
		int room = 128 - (int)n;
		int w = snprintf(args + n, sizeof(args) - n, "'%.*s' ",
				 (int)MIN(argv[i].len, (size_t)room), argv[i].p);

		if (w < 0)
			break;
		n += (size_t)w;
		if (n >= sizeof(args))
			n = sizeof(args) - 1;
	}
	client_reply_error(c, "unknown command '%.*s', with args beginning with: %s",
			   (int)MIN(argv[0].len, (size_t)128), argv[0].p, args);
}

/* Bit mask of the shards owning the keys of this call. */
static uint64_t client_key_mask(const struct cmd_def *cmd, int argc, const struct cmd_arg *argv)
{
	int idx[64];
	int n = cmd_keys(cmd, argc, argv, idx, 64);
	uint64_t mask = 0;

	if (n <= 0)
		return 0;
	if (n <= 64) {
		for (int i = 0; i < n; i++)
			mask |= 1ull << shard_of_key(argv[idx[i]].p, argv[idx[i]].len);
	} else {
		int *big = mem_alloc((size_t)n * sizeof(int));

		cmd_keys(cmd, argc, argv, big, n);
		for (int i = 0; i < n; i++)
			mask |= 1ull << shard_of_key(argv[big[i]].p, argv[big[i]].len);
		mem_free(big);
	}
	return mask;
}

static __thread struct client *conn_current;

void client_acl_log(struct client *c, int reason, int context, const char *user, size_t ulen,
		    const char *object, size_t olen)
{
	struct sbuf info = { 0 };

	if (!user)
		user = acl_user_name(c->user ? c->user : acl_default_user(), &ulen);
	client_info_line(c, &info);
	if (info.len && info.p[info.len - 1] == '\n')
		info.len--;
	acl_log_add(reason, context, user, ulen, object, olen, info.p ? info.p : "", info.len);
	sbuf_free(&info);
}

/* The ACL hook (acl_on_user_changed): every other shard is parked. A
 * deleted user's clients are disconnected; when its rules changed, only
 * its Pub/Sub clients subscribed to what the new rules refuse are, as in
 * Redis 7.0. */
void conn_acl_user_changed(struct acl_user *u, bool deleted);
void conn_acl_user_changed(struct acl_user *u, bool deleted)
{
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		for (int i = 0; i < sh->nclients; i++) {
			struct client *c = sh->clients[i];

			if (c->user != u || (c->flags & CL_CLOSING))
				continue;
			if (!deleted && pubsub_allowed_for(c, u))
				continue;
			if (deleted) {
				acl_user_release(c->user);
				c->user = acl_user_hold(acl_default_user());
				c->flags &= ~CL_AUTHED;
			}
			if (c == conn_current) {
				c->flags |= CL_CLOSE_AFTER_REPLY;
			} else {
				c->flags |= CL_CLOSE_ASAP;
				shutdown(c->fd, SHUT_RDWR);
			}
		}
	}
}

enum dispatch {
	DISPATCH_DONE,		/* ran or routed: go on with the next command */
	DISPATCH_RETRY,		/* not run: pause until our hops are answered, then
				 * parse this command again */
	DISPATCH_PAUSE,		/* ran, but blocks the client (a blocking command):
				 * pause until its reply arrives */
};

/* Runs or routes one command. */
/* An error that refuses the command: inside MULTI it also dooms EXEC. */
static void client_reject(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void client_reject(struct client *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	client_reply_error(c, "%s", msg);
	if (c->flags & CL_MULTI)
		c->flags |= CL_MULTI_ERR;
}

/* EXEC refused before it could run: the transaction is discarded and the
 * reason given, as Redis's execCommandAbort does. */
static void client_exec_abort(struct client *c, const char *why)
{
	client_reply_error(c, "-EXECABORT Transaction discarded because of: %s", why);
	multi_discard(c);
	multi_unwatch(c);
}

#define CLIENT_POLL_MS 10	/* retry period of a command blocked across shards */

static void client_unpoll(struct client *c)
{
	struct shard *sh = c->sh;

	for (struct client **pp = &sh->pollq; *pp; pp = &(*pp)->poll_next) {
		if (*pp == c) {
			*pp = c->poll_next;
			sh->npoll--;
			break;
		}
	}
	c->flags &= ~CL_POLL;
	c->poll_deadline = 0;
}

int64_t client_poll_blocked(struct shard *sh)
{
	int64_t next = 0;

	for (struct client *c = sh->pollq; c; c = c->poll_next) {
		if (c->flags & (CL_CLOSING | CL_RESUME | CL_PARKQ) || c->hops)
			continue;
		/* Run it again at the end of this turn. */
		c->flags |= CL_RESUME;
		c->resume_next = sh->resume;
		sh->resume = c;
	}
	if (sh->pollq)
		next = kv_now_ms + CLIENT_POLL_MS;
	return next;
}

/* Commands that run at once even inside MULTI. */
static bool is_tx_control(const struct cmd_def *cmd)
{
	static const char *const names[] = { "exec", "discard", "multi", "watch", "quit", "reset" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(cmd->name, names[i]))
			return true;
	return false;
}

/* Runs or routes one command. */
static enum dispatch client_dispatch(struct client *c, int argc, const struct cmd_arg *argv)
{
	const struct cmd_def *cmd = cmd_lookup(argv[0].p, argv[0].len);
	struct shard *sh = c->sh;
	uint64_t mask, self = 1ull << sh->id;
	uint32_t ctxflags = (c->flags & CL_NO_TOUCH) ? CTX_NO_TOUCH : 0;
	bool discard, is_exec, parked, upload;
	char name[128];
	int vi;

	if (!cmd) {
		client_unknown_command(c, argc, argv);
		if (c->flags & CL_MULTI)
			c->flags |= CL_MULTI_ERR;
		return DISPATCH_DONE;
	}
	if ((cmd->flags & CMD_CONTAINER) && !(argc == 1 && cmd->fn)) {
		const struct cmd_def *sub;

		if (argc < 2) {
			client_reject(c, "wrong number of arguments for '%s' command", cmd->name);
			return DISPATCH_DONE;
		}
		sub = cmd_lookup_sub(cmd, argv[1].p, argv[1].len);
		if (!sub) {
			char up[64];
			size_t i;

			for (i = 0; cmd->name[i] && i < sizeof(up) - 1; i++)
				up[i] = (char)(cmd->name[i] >= 'a' && cmd->name[i] <= 'z' ?
					       cmd->name[i] - 32 : cmd->name[i]);
			up[i] = '\0';
			client_reject(c, "unknown subcommand '%.*s'. Try %s HELP.",
				      (int)MIN(argv[1].len, (size_t)128), argv[1].p, up);
			return DISPATCH_DONE;
		}
		cmd = sub;
	}
	if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity)) {
		if (!strcmp(cmd->name, "exec")) {	/* even outside MULTI, as Redis */
			client_exec_abort(c, "wrong number of arguments for 'exec' command");
			return DISPATCH_DONE;
		}
		client_reject(c, "wrong number of arguments for '%s' command",
			      cmd_fullname(cmd, name, sizeof(name)));
		sh->cmdstats[cmd_id(cmd)].rejected++;
		return DISPATCH_DONE;
	}
	if (!(c->flags & CL_AUTHED) && acl_default_needs_auth() && !(cmd->flags & CMD_NO_AUTH)) {
		struct resp_w w = { .b = client_out(c), .proto = c->proto,
				    .on_error = shard_count_error, .err_arg = sh };

		resp_w_error(&w, "-NOAUTH Authentication required.");
		if (c->flags & CL_MULTI)
			c->flags |= CL_MULTI_ERR;
		sh->cmdstats[cmd_id(cmd)].rejected++;
		client_mark_dirty(c);
		if (client_check_output_limit(c, COBL_NORMAL))
			return DISPATCH_PAUSE;
		return DISPATCH_DONE;
	}
	{
		int bad, res = acl_check(c->user, cmd, argc, argv, &bad);

		if (res != ACL_OK) {
			char msg[256];

			if (res == ACL_DENIED_CMD)
				cmd_fullname(cmd, name, sizeof(name));
			client_acl_log(c, res, (c->flags & CL_MULTI) ? ACL_LOG_MULTI : ACL_LOG_TOPLEVEL,
				       NULL, 0, res == ACL_DENIED_CMD ? name : argv[bad].p,
				       res == ACL_DENIED_CMD ? strlen(name) : argv[bad].len);

			client_reject(c, "%s", acl_denied_msg(res, cmd, msg, sizeof(msg)));
			sh->cmdstats[cmd_id(cmd)].rejected++;
			return DISPATCH_DONE;
		}
	}
	if (c->proto == RESP2 && pubsub_count(c) && !pubsub_allowed_in_context(cmd)) {
		char msg[256];

		snprintf(msg, sizeof(msg), "Can't execute '%s': only (P|S)SUBSCRIBE / "
			 "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
			 cmd_fullname(cmd, name, sizeof(name)));
		if (!strcmp(cmd->name, "exec"))
			client_exec_abort(c, msg);
		else
			client_reject(c, "%s", msg);
		sh->cmdstats[cmd_id(cmd)].rejected++;
		return DISPATCH_DONE;
	}
	if ((c->flags & CL_MULTI) && !is_tx_control(cmd)) {
		struct resp_w w = { .b = client_out(c), .proto = c->proto };

		if (cmd->flags & CMD_NO_MULTI) {
			client_reject(c, "Command not allowed inside a transaction");
			return DISPATCH_DONE;
		}
		/* Queuing takes memory without bound: over maxmemory every
		 * command is refused here, as Redis does. */
		if (cfg.maxmemory && !shard_make_room(sh)) {
			client_reject(c, "-OOM command not allowed when used memory > 'maxmemory'.");
			return DISPATCH_DONE;
		}
		multi_queue(c, cmd, argc, argv);
		resp_w_simple(&w, "QUEUED");
		client_mark_dirty(c);
		return DISPATCH_DONE;
	}

	is_exec = !strcmp(cmd->name, "exec");
	if (is_exec && (c->flags & CL_MULTI) && cfg.maxmemory && multi_has_denyoom(c) &&
	    !shard_make_room(sh)) {
		client_exec_abort(c, "OOM command not allowed when used memory > 'maxmemory'.");
		return DISPATCH_DONE;
	}
	if (is_exec)
		mask = ((c->flags & CL_MULTI) ? multi_exec_mask(c) : 0) | self;
	else if (cmd->flags & CMD_ALL_SHARDS)
		mask = srv.nshards >= 64 ? ~0ull : (1ull << srv.nshards) - 1;
	else
		mask = client_key_mask(cmd, argc, argv);
	/* A SET of a large value goes to the key's shard with its upload. */
	vi = upload_value_index(cmd->name, strlen(cmd->name), argc);
	upload = vi && ((c->up && c->up->body_done) || blob_wants(argv[vi].len));
	/* Run here with other shards parked: keys on several shards, or a
	 * command that must run on the client's thread (EXEC, WATCH). */
	parked = !upload && (mask & ~self) &&
		 ((mask & (mask - 1)) || is_exec || (cmd->flags & CMD_PARK_KEYS) ||
		  /* inside a window, a parked shard's key needs no hop */
		  (!c->hops && !(mask & ~sh->parked_mask) && !(cmd->flags & CMD_BLOCKING)));
	if (parked) {
		/* Wait for our hops, so our earlier commands have taken effect. */
		if (c->hops)
			return DISPATCH_RETRY;
		if ((mask | self) & ~sh->parked_mask) {
			/* Not inside a window covering these shards: join the next
			 * one, run for all queued clients at the end of the turn. */
			if (!(c->flags & CL_PARKQ)) {
				c->flags |= CL_PARKQ;
				c->parkq_next = sh->parkq;
				sh->parkq = c;
			}
			sh->parkq_mask |= mask;
			return DISPATCH_RETRY;
		}
		/* A blocking command over several shards cannot leave a waiter
		 * on one of them: it is polled (client_poll_blocked) until it is
		 * served or its deadline passes, then answers its timeout. */
		if ((cmd->flags & CMD_BLOCKING) && (c->flags & CL_POLL)) {
			/* A retry is a re-run: a wrong-type key means keep waiting. */
			ctxflags |= CTX_RERUN;
			if (c->poll_deadline && kv_now_ms >= c->poll_deadline)
				ctxflags |= CTX_NO_BLOCK;
		}
	}

	if (c->flags & CL_REPLY_SKIP_NEXT) {
		c->flags &= ~CL_REPLY_SKIP_NEXT;
		c->flags |= CL_REPLY_SKIP;
	}
	c->last_cmd = cmd;
	if (upload) {
		struct cmd_arg *av = mem_alloc((size_t)argc * sizeof(*av));
		struct blob_put *put;
		struct outseg *s;
		int target;

		memcpy(av, argv, (size_t)argc * sizeof(*av));
		if (c->up && c->up->body_done) {
			put = c->up->put;
			upload_end(c, false);
		} else {
			put = upload_from_mem(c, &argv[1], &argv[vi]);
			av[vi].len = 0;		/* the value travels in the upload */
		}
		target = blob_put_owner(put);
		discard = (c->flags & (CL_REPLY_OFF | CL_REPLY_SKIP)) != 0;
		c->flags &= ~CL_REPLY_SKIP;
		s = client_add_pending(c, discard);
		/* Even to ourselves it travels as a message: the upload's
		 * buffers went that way, and the command must come after them. */
		shard_hop_send(sh, target, s, cmd, argc, av, c->dbid, c->proto, ctxflags, put);
		mem_free(av);
		/* Held until it answers: what follows sees the new value. */
		return DISPATCH_PAUSE;
	}
	if (!parked && mask && mask != self) {
		int target = __builtin_ctzll(mask);
		struct outseg *s;

		discard = (c->flags & (CL_REPLY_OFF | CL_REPLY_SKIP)) != 0;
		c->flags &= ~CL_REPLY_SKIP;
		s = client_add_pending(c, discard);
		shard_hop_send(sh, target, s, cmd, argc, argv, c->dbid, c->proto, ctxflags, NULL);
		if (cmd->flags & CMD_BLOCKING) {
			/* It may block over there: hold the client until it answers. */
			c->block_cookie = s;
			c->block_shard = target;
			return DISPATCH_PAUSE;
		}
		/* It may wait there for a large value's bytes to be read: what
		 * follows must not overtake it. */
		if (cmd->flags & CMD_BLOB_BYTES)
			return DISPATCH_PAUSE;
		return DISPATCH_DONE;
	}

	{
		struct sbuf *out = client_out(c);
		size_t before = out->len;
		struct exec_result res;

		if (parked)
			ctxflags |= CTX_PARKED;	/* inside the window of client_run_parkq */
		conn_current = c;
		shard_exec(sh, c, cmd, argc, argv, c->dbid, c->proto, ctxflags, out, &res);
		if (res.blocked && (parked || is_exec)) {
			/* Keys on several shards: keep the command and poll it.
			 * So is EXEC waiting for large values to be read
			 * (multi.c): it has no keys a waiter could wait on. */
			block_serve_ready(sh);
			if (!(c->flags & CL_POLL)) {
				c->flags |= CL_POLL;
				c->poll_deadline = res.deadline;
				c->poll_next = sh->pollq;
				sh->pollq = c;
				sh->npoll++;
			}
			shard_block_timer(sh, kv_now_ms + CLIENT_POLL_MS);
			return DISPATCH_RETRY;
		}
		if (c->flags & CL_POLL)
			client_unpoll(c);
		if (res.prog) {
			/* The reply streams large values: it runs as a program
			 * into a segment of its own (its bytes left out). */
			discard = (c->flags & (CL_REPLY_OFF | CL_REPLY_SKIP)) != 0;
			c->flags &= ~CL_REPLY_SKIP;
			if (discard)
				blob_prog_free(sh, res.prog);
			else
				blob_prog_deliver(sh, sh->id, client_add_pending(c, false), res.prog);
			block_serve_ready(sh);
			return DISPATCH_DONE;
		}
		if (res.blocked) {
			/* A single-shard command that blocks here: a waiter on our keys. */
			discard = (c->flags & (CL_REPLY_OFF | CL_REPLY_SKIP)) != 0;
			c->flags &= ~CL_REPLY_SKIP;
			c->block_cookie = client_add_pending(c, discard);
			c->block_shard = sh->id;
			block_add(sh, cmd, argc, argv, c->dbid, c->proto, ctxflags, res.deadline,
				  res.null_array, sh->id, c->block_cookie);
		}
		/* Serve clients blocked on keys this command pushed to, while the
		 * shards holding them are still parked. */
		block_serve_ready(sh);
		if (res.blocked)
			return DISPATCH_PAUSE;
		/* The command may have changed the reply mode (CLIENT REPLY). */
		discard = (c->flags & (CL_REPLY_OFF | CL_REPLY_SKIP)) != 0 &&
			  !pubsub_reply_is_push(cmd, c->proto);
		c->flags &= ~CL_REPLY_SKIP;
		if (discard)
			out->len = before;
		else
			client_mark_dirty(c);
	}
	return DISPATCH_DONE;
}

/* Parses and runs every complete command in the query buffer. */
static void client_process(struct client *c)
{
	while (c->rpos < c->rbuf.len &&
	       !(c->flags & (CL_CLOSING | CL_PAUSED | CL_CLOSE_AFTER_REPLY | CL_CLOSE_ASAP)) &&
	       !client_out_full(c)) {
		size_t argc = 0, consumed = 0;
		enum dispatch d;
		int st;

		if (c->hops >= CLIENT_HOPS_MAX) {
			/* Their replies may be large and are not counted by
			 * client_out_full() before they come back: wait for them
			 * (resumed at hops == 0, client_apply_hop_reply). */
			c->flags |= CL_PAUSED;
			break;
		}
		c->parser.unauthenticated = !(c->flags & CL_AUTHED);
		st = resp_parse(&c->parser, c->rbuf.p, c->rbuf.len, c->args, c->argcap, &argc,
				&consumed);
		if (st == RESP_NEED_ARGV) {
			/* Grow toward the announced count, never to it at once: a
			 * 13-byte "*2147483647" must not buy a 32 GiB argv. */
			size_t ncap = MIN((size_t)c->parser.argc, MAX(c->argcap * 2, (size_t)16));

			c->args = mem_realloc(c->args, ncap * sizeof(*c->args));
			c->argv = mem_realloc(c->argv, ncap * sizeof(*c->argv));
			c->argcap = ncap;
			continue;
		}
		if (st == RESP_NEED_MORE) {
			/* A large value of a SET still to come: it is received
			 * into upload buffers instead of the query buffer. */
			if (blob_wants((uint64_t)MAX(c->parser.bulk_len, 0)))
				upload_start(c);
			break;
		}
		if (st == RESP_ERROR) {
			char msg[256];

			resp_parse_strerror(&c->parser, msg, sizeof(msg));
			client_reply_error(c, "%s", msg);
			c->flags |= CL_CLOSE_AFTER_REPLY;
			c->rpos = c->rbuf.len;
			break;
		}
		if (argc == 0) {
			c->rpos = consumed;
			resp_parser_reset(&c->parser, consumed);
			continue;
		}
		if (argc > c->argcap) {
			/* Cannot happen: the parser reports NEED_ARGV first. */
			ASSERT(argc <= c->argcap);
		}
		for (size_t i = 0; i < argc; i++) {
			c->argv[i].p = c->rbuf.p + c->args[i].off;
			c->argv[i].len = c->args[i].len;
		}
		d = client_dispatch(c, (int)argc, c->argv);
		if (c->up && c->up->body_done && d != DISPATCH_RETRY)
			upload_end(c, true);	/* refused before it could run */
		if (d == DISPATCH_RETRY) {
			/* Keep the command, parsed: resumed, resp_parse answers
			 * it again from its state without reading the buffer,
			 * which an inline command has unescaped in place and
			 * could not be parsed again. */
			c->flags |= CL_PAUSED;
			break;
		}
		c->rpos = consumed;
		resp_parser_reset(&c->parser, consumed);
		/* Over its output limit the client is cut off (CL_CLOSE_ASAP). */
		client_check_output_limit(c, client_out_class(c));
		if (d == DISPATCH_PAUSE) {
			c->flags |= CL_PAUSED;
			break;
		}
	}
	if (c->rpos == c->rbuf.len && !(c->flags & CL_RECV)) {
		c->rbuf.len = 0;
		c->rpos = 0;
		resp_parser_reset(&c->parser, 0);
	}
}

/*
 * Every tick, every client of the shard (a few loads each: 10,000 clients
 * take well under a millisecond): clients cut off by another thread are
 * closed; the timeout, which spares blocked and pub/sub clients as in
 * Redis; the soft output limit, which must fire even when no new output
 * comes; idle buffers given back; buffer peaks for INFO; the memory share.
 */
void client_cron(struct shard *sh)
{
	int64_t now = util_mstime();
	int slot = (int)((now / 1000) % CLIENT_PEAK_SLOTS);

	/* The slot of the coming second starts from zero. */
	sh->peak_in[(slot + 1) % CLIENT_PEAK_SLOTS] = 0;
	sh->peak_out[(slot + 1) % CLIENT_PEAK_SLOTS] = 0;
	/* Backwards: freeing a client moves the last one into its place. */
	for (int i = sh->nclients - 1; i >= 0; i--) {
		struct client *c = sh->clients[i];

		if (c->flags & CL_CLOSING)
			continue;
		if (c->flags & CL_CLOSE_ASAP) {
			client_close(c);
			continue;
		}
		if (cfg.timeout > 0 && !c->hops && !(c->flags & CL_POLL) && !pubsub_count(c) &&
		    now - c->last_ms > (int64_t)cfg.timeout * 1000) {
			log_verbose("Closing idle client");
			client_close(c);
			continue;
		}
		if (client_pending_output(c) && client_check_output_limit(c, client_out_class(c))) {
			client_close(c);
			continue;
		}
		if (now - c->last_ms >= CLIENT_IDLE_MS)
			client_shrink_idle(c);
		sh->peak_in[slot] = MAX(sh->peak_in[slot], client_input_mem(c));
		sh->peak_out[slot] = MAX(sh->peak_out[slot], client_output_mem(c));
		client_mem_update(c);
	}
}

void client_info_line(struct client *c, struct sbuf *out)
{
	char flags[16], cmdname[128];
	int64_t now = util_mstime();
	int nf = 0;

	if (c->flags & CL_CLOSE_AFTER_REPLY)
		flags[nf++] = 'c';
	if (c->flags & CL_NO_EVICT)
		flags[nf++] = 'e';
	if (c->flags & CL_NO_TOUCH)
		flags[nf++] = 'T';
	if (pubsub_count(c))
		flags[nf++] = 'P';
	if (c->flags & CL_MULTI)
		flags[nf++] = 'x';
	if (c->block_cookie)
		flags[nf++] = 'b';
	if (!nf)
		flags[nf++] = 'N';
	flags[nf] = '\0';
	sbuf_printf(out,
		    "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d "
		    "sub=%d psub=%d ssub=%d multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu multi-mem=%zu "
		    "rbs=%zu rbp=%zu obl=%zu oll=%d omem=%zu tot-mem=%zu events=r cmd=%s "
		    "user=%s redir=-1 resp=%d lib-name=%s lib-ver=%s\n",
		    (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
		    (long long)((now - c->ctime_ms) / 1000), (long long)((now - c->last_ms) / 1000),
		    flags, c->dbid, c->nsub, c->npsub, c->nssub, (c->flags & CL_MULTI) ? c->nmq : -1,
		    c->rbuf.len - c->rpos, c->rbuf.cap - c->rbuf.len,
		    c->argcap * (sizeof(*c->args) + sizeof(*c->argv)), c->multi_mem,
		    c->wbuf.cap, c->wbuf.len, c->wbuf.len, c->seg_head ? 1 : 0,
		    client_output_mem(c), client_mem(c),
		    c->last_cmd ? cmd_fullname(c->last_cmd, cmdname, sizeof(cmdname)) : "NULL",
		    acl_user_name(c->user ? c->user : acl_default_user(), NULL),
		    c->proto, c->lib_name ? c->lib_name : "", c->lib_ver ? c->lib_ver : "");
}
