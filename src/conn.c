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
 * wait to be sent, no new RECV is armed, so a client that does not read its
 * replies stops being read too instead of growing the server without bound.
 */
#include "conn.h"
#include "block.h"
#include "multi.h"
#include "pubsub.h"
#include "cfg.h"
#include "acl.h"
#include "log.h"
#include "mem.h"
#include "strutil.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CLIENT_RECV_MIN (16 * 1024)
#define CLIENT_OUT_HIGH (64u * 1024 * 1024)
#define UD_TAG_RECV 1
#define UD_TAG_SEND 2

struct io_uring_sqe *shard_sqe(struct shard *sh);
static void client_process(struct client *c);
static void client_arm_recv(struct client *c);
static struct sbuf *client_out(struct client *c);
static void client_unpoll(struct client *c);

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

struct client *client_create(struct shard *sh, int fd)
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

	if (sh->nclients == sh->capclients) {
		sh->capclients = sh->capclients ? sh->capclients * 2 : 64;
		sh->clients = mem_realloc(sh->clients, (size_t)sh->capclients * sizeof(*sh->clients));
	}
	c->slot = sh->nclients;
	sh->clients[sh->nclients++] = c;
	client_arm_recv(c);
	return c;
}

static void client_free(struct client *c)
{
	struct shard *sh = c->sh;
	struct outseg *s = c->seg_head;

	multi_discard(c);
	multi_unwatch(c);
	pubsub_unsubscribe_all(c, false);
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
	mem_free(c->args);
	mem_free(c->argv);
	mem_free(c->name);
	mem_free(c->lib_name);
	mem_free(c->lib_ver);
	mem_free(c);
}

static void client_try_free(struct client *c)
{
	if ((c->flags & CL_CLOSING) && !(c->flags & (CL_DIRTY | CL_RESUME | CL_PARKQ)) &&
	    c->inflight == 0 && c->hops == 0)
		client_free(c);
}

void client_close(struct client *c)
{
	struct shard *sh = c->sh;

	if (c->flags & CL_CLOSING)
		return;
	c->flags |= CL_CLOSING;
	if (c->flags & CL_POLL)
		client_unpoll(c);
	/* Completes any RECV or SEND in flight so their buffers come back; the
	 * client stays in sh->clients (skipped by CLIENT LIST) until freed. */
	shutdown(c->fd, SHUT_RDWR);
	atomic_fetch_sub(&srv.nclients, 1);
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
	return n;
}

bool client_check_output_limit(struct client *c, int cls)
{
	long long hard = cfg.cobl[cls][0], soft = cfg.cobl[cls][1], secs = cfg.cobl[cls][2];
	size_t pending;

	if (!hard && !soft)
		return false;
	pending = client_pending_output(c);
	if ((hard && pending > (size_t)hard) ||
	    (soft && pending > (size_t)soft && c->soft_since_ms &&
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
	if (soft && pending > (size_t)soft) {
		if (!c->soft_since_ms)
			c->soft_since_ms = kv_now_ms;
	} else {
		c->soft_since_ms = 0;
	}
	return false;
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

static void client_send(struct client *c)
{
	struct io_uring_sqe *sqe;

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
		} else if (!(c->flags & CL_SEND)) {
			if (c->wbuf.len)
				client_send(c);
			else if ((c->flags & CL_CLOSE_AFTER_REPLY) && !c->hops)
				client_close(c);
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
	c->sent += (size_t)res;
	if (c->sent < c->sending.len) {
		client_send(c);
		return;
	}
	c->sending.len = 0;
	c->sent = 0;
	sbuf_shrink_idle(&c->sending, 64 * 1024);
	if (c->wbuf.len || (c->flags & CL_CLOSE_AFTER_REPLY))
		client_mark_dirty(c);
	client_arm_recv(c);	/* may have been held back by backpressure */
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
	size_t want = CLIENT_RECV_MIN;

	/* A paused client is still read (its input waits in rbuf, bounded by
	 * client-query-buffer-limit): that is how a blocked client's
	 * disconnect is noticed, so its waiter does not take data for nobody. */
	if (c->flags & (CL_RECV | CL_CLOSING | CL_CLOSE_AFTER_REPLY))
		return;
	if (c->wbuf.len + c->sending.len > CLIENT_OUT_HIGH)
		return;
	/* Not under a command kept parsed for a retry: its offsets would move. */
	if (c->rpos && !client_holds_parsed(c)) {
		sbuf_consume(&c->rbuf, c->rpos);
		c->rpos = 0;
		resp_parser_reset(&c->parser, 0);
	}
	if (c->parser.need > c->rbuf.len && c->parser.need - c->rbuf.len > want)
		want = (size_t)(c->parser.need - c->rbuf.len);
	if (!c->rbuf.len && c->rbuf.cap > 1024 * 1024)
		sbuf_free(&c->rbuf);	/* idle: give back a large buffer */
	sbuf_reserve(&c->rbuf, want);
	sqe = shard_sqe(c->sh);
	io_uring_prep_recv(sqe, c->fd, c->rbuf.p + c->rbuf.len, c->rbuf.cap - c->rbuf.len, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | UD_TAG_RECV);
	c->flags |= CL_RECV;
	c->inflight++;
}

void client_on_recv(struct client *c, int res)
{
	c->flags &= ~CL_RECV;
	c->inflight--;
	if (c->flags & CL_CLOSING) {
		client_try_free(c);
		return;
	}
	if (res <= 0) {
		client_close(c);
		return;
	}
	sbuf_added(&c->rbuf, (size_t)res);
	c->sh->stats.net_in += (uint64_t)res;
	c->last_ms = kv_now_ms;
	client_process(c);
	if (c->flags & CL_CLOSING)
		return;
	if (c->rbuf.len - c->rpos > (size_t)cfg.client_query_buffer_limit) {
		log_warning("Closing client that reached max query buffer length (id=%llu addr=%s)",
			    (unsigned long long)c->id, c->addr);
		client_close(c);
		return;
	}
	client_arm_recv(c);
}

static void client_reply_error(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void client_reply_error(struct client *c, const char *fmt, ...)
{
	struct resp_w w = { .b = client_out(c), .proto = c->proto };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp_w_error(&w, msg);
	c->sh->stats.errors++;
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

void conn_acl_user_changed(struct acl_user *u, bool deleted);
void conn_acl_user_changed(struct acl_user *u, bool deleted)
{
	if (!deleted)
		return;
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		for (int i = 0; i < sh->nclients; i++) {
			struct client *c = sh->clients[i];

			if (c->user != u || (c->flags & CL_CLOSING))
				continue;
			acl_user_release(c->user);
			c->user = acl_user_hold(acl_default_user());
			c->flags &= ~CL_AUTHED;
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
	bool discard, is_exec, parked;
	char name[128];

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
		struct resp_w w = { .b = client_out(c), .proto = c->proto };

		resp_w_error(&w, "-NOAUTH Authentication required.");
		if (c->flags & CL_MULTI)
			c->flags |= CL_MULTI_ERR;
		sh->stats.errors++;
		sh->cmdstats[cmd_id(cmd)].rejected++;
		client_mark_dirty(c);
		return DISPATCH_DONE;
	}
	{
		int bad, res = acl_check(c->user, cmd, argc, argv, &bad);

		if (res != ACL_OK) {
			char msg[256];

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
	/* Run here with other shards parked: keys on several shards, or a
	 * command that must run on the client's thread (EXEC, WATCH). */
	parked = (mask & ~self) &&
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
	if (!parked && mask && mask != self) {
		int target = __builtin_ctzll(mask);
		struct outseg *s;

		discard = (c->flags & (CL_REPLY_OFF | CL_REPLY_SKIP)) != 0;
		c->flags &= ~CL_REPLY_SKIP;
		s = client_add_pending(c, discard);
		shard_hop_send(sh, target, s, cmd, argc, argv, c->dbid, c->proto, ctxflags);
		if (cmd->flags & CMD_BLOCKING) {
			/* It may block over there: hold the client until it answers. */
			c->block_cookie = s;
			c->block_shard = target;
			return DISPATCH_PAUSE;
		}
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
		if (res.blocked && parked) {
			/* Keys on several shards: keep the command and poll it. */
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
		if (client_check_output_limit(c, pubsub_count(c) ? COBL_PUBSUB : COBL_NORMAL))
			return DISPATCH_PAUSE;
	}
	return DISPATCH_DONE;
}

/* Parses and runs every complete command in the query buffer. */
static void client_process(struct client *c)
{
	while (c->rpos < c->rbuf.len &&
	       !(c->flags & (CL_CLOSING | CL_PAUSED | CL_CLOSE_AFTER_REPLY))) {
		size_t argc = 0, consumed = 0;
		enum dispatch d;
		int st;

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
		if (st == RESP_NEED_MORE)
			break;
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

void client_cron(struct shard *sh)
{
	int64_t now = util_mstime();

	if (cfg.timeout <= 0)
		return;
	for (int i = 0; i < sh->nclients; i++) {
		struct client *c = sh->clients[i];

		if (!(c->flags & CL_CLOSING) && !c->hops &&
		    now - c->last_ms > (int64_t)cfg.timeout * 1000) {
			log_verbose("Closing idle client");
			client_close(c);
		}
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
		    "sub=%d psub=%d ssub=0 multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 "
		    "rbs=%zu rbp=%zu obl=%zu oll=%d omem=%zu tot-mem=%zu events=r cmd=%s "
		    "user=default redir=-1 resp=%d lib-name=%s lib-ver=%s\n",
		    (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
		    (long long)((now - c->ctime_ms) / 1000), (long long)((now - c->last_ms) / 1000),
		    flags, c->dbid, c->nsub, c->npsub, (c->flags & CL_MULTI) ? c->nmq : -1,
		    c->rbuf.len - c->rpos, c->rbuf.cap - c->rbuf.len,
		    c->rbuf.cap, c->rbuf.len, c->wbuf.len, c->seg_head ? 1 : 0,
		    c->wbuf.cap + c->sending.cap, sizeof(*c) + c->rbuf.cap + c->wbuf.cap + c->sending.cap,
		    c->last_cmd ? cmd_fullname(c->last_cmd, cmdname, sizeof(cmdname)) : "NULL",
		    c->proto, c->lib_name ? c->lib_name : "", c->lib_ver ? c->lib_ver : "");
}
