/*
 * fuzz_dispatch.c - libFuzzer harness for whole-command dispatch: the bytes
 * clients send, through a real server instance living in this process.
 *
 * The server. LLVMFuzzerInitialize sets up what main.c sets up (config,
 * command table, ACLs, the kv hooks) with FUZZ_SHARDS shards (default 2).
 * Shard 0 is driven by this thread through shard_loop_turn(): its io_uring
 * ring, its listening socket (an abstract AF_UNIX socket) and every client
 * are real, so requests take the path they take in strata-server: accept,
 * RECV, resp_parse, client_dispatch, shard_exec, the command table, the
 * keyspace and the data types, MULTI, pub/sub, ACLs, blocking commands,
 * output segments and SEND. The other shards run shard_main() on threads of
 * their own, so a key they own is reached by a hop and a command over
 * several shards parks them, as in the server. FUZZ_SHARDS=1 makes a run
 * deterministic, at the price of those paths.
 *
 * The input. Up to four clients; the bytes are what they send:
 *
 *     <bytes for client 0> @@1 <bytes for client 1> @@0 <more for 0> ...
 *
 * "@@" followed by a digit 0-3 switches to that client (connected the
 * first time it is named); any other byte is request data, RESP or inline,
 * pipelined, split anywhere. Each piece is sent and the server runs until
 * it is quiet (no completion, nothing to read, no hop in flight) before
 * the next piece, so the interleaving of the clients is the input's. At the
 * end every client shuts down its writing side, the server must close and
 * free every connection, and the server's state is reset (next paragraph).
 * So "GET a\r\n" alone is a valid input, and a file of the corpus reads as a
 * session.
 *
 * State does not carry over: after each input the keys of every database,
 * the waiter, watch and pub/sub registries, the ACL users, the
 * configuration and the client ids go back to their initial state, with
 * the other shards parked (so the clients of every input have ids 1 to 4,
 * in the order they connect). Statistics and the command table stay.
 *
 * The filter. Commands that would stop the process, make it sleep or write
 * files outside the test are not sent: a client's stream is cut just before
 * the first of them (found by parsing the stream as the server will, with
 * resp_parse and the server's limits; a command of a client is never
 * parsed differently later, so the server sees a prefix of these commands).
 * Filtered:
 *   SHUTDOWN                          stops the server (srv.stop);
 *   DEBUG SLEEP                       stops the shard for a while;
 *   CONFIG SET logfile                creates and writes a file anywhere;
 *   CONFIG SET proto-max-bulk-len     the harness keeps it at its minimum,
 *                                     1 MB, so SETRANGE/SETBIT/APPEND cannot
 *                                     build 512 MB strings from 30 bytes;
 *   SRANDMEMBER, HRANDFIELD and ZRANDMEMBER with a count below -100000
 *                                     a reply of that many elements is what
 *                                     Redis sends too, but it takes seconds
 *                                     and gigabytes here (libFuzzer counts
 *                                     it as a timeout or out-of-memory).
 * Blocking commands are not filtered. When the input ends, the harness
 * waits for the ones whose timeout comes within FUZZ_WAIT_MS (default 50)
 * so their timeout replies are fuzzed too; one blocked for longer or for
 * ever is cancelled by its client's disconnection, a path worth fuzzing
 * too. (Between pieces of the input nothing waits: a timeout may or may
 * not have fired.)
 *
 * Oracles, besides ASan, UBSan and LeakSanitizer:
 *  - every reply stream is a sequence of complete, valid RESP values
 *    (RESP2 types only for a client that never ran HELLO); a truncated last
 *    reply is allowed only if the server closed that connection first;
 *  - for a client whose commands cannot legitimately change the number of
 *    replies (no CLIENT, ACL or CONFIG anywhere in the input; no
 *    (un)subscribe, QUIT or blocking command of its own) the server sends
 *    exactly one reply per command, plus the protocol error if the stream
 *    had one, and closes the connection only after a protocol error;
 *  - no input hangs: each step must settle within FUZZ_STEP_MS (default
 *    5000) and every connection must be freed after its client leaves;
 *  - after the reset, the memory the server accounts (mem_used) is back to
 *    what it was after the first input, give or take 1 MB of caches, and
 *    the descriptor of every connection is closed.
 * A failed oracle prints what it saw and aborts, which libFuzzer reports as
 * a crash with the input saved.
 *
 * Environment: FUZZ_SHARDS (2), FUZZ_STEP_MS (5000), FUZZ_WAIT_MS (50), and
 * FUZZ_TRACE=1 to print each client's replies and keep the server's log on
 * stdout.
 */
#include "server.h"
#include "acl.h"
#include "block.h"
#include "cfg.h"
#include "cmd.h"
#include "conn.h"
#include "kv.h"
#include "kv_dict.h"
#include "log.h"
#include "mem.h"
#include "multi.h"
#include "pubsub.h"
#include "resp_parse.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define NCLIENTS	4
#define MARKER		"@@"
#define MARKER_LEN	2
#define OUT_CAP		(64u * 1024 * 1024)	/* reply bytes kept per client */
#define RESP_DEPTH_MAX	32			/* nesting of a valid reply */
#define MEM_SLACK	(1024 * 1024)		/* caches that may outlive a reset */
#define RANDMEMBER_MIN	(-100000)		/* filter: most negative count */

#define CHECK(e) \
	do { if (!(e)) check_fail(#e, __LINE__); } while (0)

static _Noreturn void check_fail(const char *expr, int line)
{
	fprintf(stderr, "fuzz_dispatch.c:%d: check failed: %s\n", line, expr);
	abort();
}

/* Set in LLVMFuzzerInitialize; everything runs on libFuzzer's thread,
 * which is shard 0's. */
static struct shard *sh0;		/* the shard this thread drives */
static int listen_fd;			/* shard 0's listener (abstract AF_UNIX) */
static struct sockaddr_un listen_addr;	/* where clients connect */
static socklen_t listen_addrlen;
static size_t mem_baseline;		/* mem_used() after the first reset */
static int server_fds[64];		/* descriptors of this input's connections */
static int nserver_fds;
static int64_t step_ms = 5000;		/* FUZZ_STEP_MS: longest a step may take */
static int64_t wait_ms = 50;		/* FUZZ_WAIT_MS: see wait_for_timeouts() */
static bool tracing;			/* FUZZ_TRACE: print the replies */

/* ---- byte buffers (plain malloc: not counted by mem_used) ---------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n) {
		size_t ncap = MAX(b->cap * 2, b->len + n + 256);

		b->p = realloc(b->p, ncap);
		CHECK(b->p != NULL);
		b->cap = ncap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- the input: clients and pieces ------------------------------------- */

struct piece {
	int client;
	size_t off, len;	/* in that client's stream */
};

/* What parsing a client's stream as the server will found. */
struct scan {
	size_t cut;		/* bytes sent: up to the first filtered command */
	size_t ncmds;		/* commands before the cut (argc > 0) */
	bool proto_error;	/* the stream ends in a protocol error */
	bool hello;		/* HELLO among them: RESP3 replies possible */
	bool counts_vary;	/* (un)subscribe, QUIT, blocking: replies != commands */
	bool global;		/* CLIENT, ACL or CONFIG: may change other clients */
};

struct fclient {
	struct buf in;		/* everything the input gives this client */
	struct scan scan;
	struct buf out;		/* replies read */
	bool out_overflow;	/* more than OUT_CAP bytes: not all kept */
	size_t sent;		/* bytes of in sent so far */
	int fd;			/* -1 before the connection */
	bool write_closed;	/* the server stopped reading (EPIPE...) */
	bool eof;		/* the server closed the connection */
	bool eof_early;		/* ... before the client shut down */
};

static struct fclient clients[NCLIENTS];
static struct piece *pieces;
static size_t npieces, cappieces;

static void piece_add(int client, size_t off, size_t len)
{
	if (!len)
		return;
	if (npieces == cappieces) {
		cappieces = cappieces ? cappieces * 2 : 16;
		pieces = realloc(pieces, cappieces * sizeof(*pieces));
		CHECK(pieces != NULL);
	}
	pieces[npieces++] = (struct piece){ client, off, len };
}

/* Splits the input on "@@<digit 0-3>" into per-client streams and the
 * pieces in input order. */
static void input_split(const uint8_t *data, size_t size)
{
	int cur = 0;
	size_t from = 0, i = 0;

	npieces = 0;
	while (i < size) {
		if (size - i > MARKER_LEN && !memcmp(data + i, MARKER, MARKER_LEN) &&
		    data[i + MARKER_LEN] >= '0' && data[i + MARKER_LEN] < '0' + NCLIENTS) {
			piece_add(cur, clients[cur].in.len, i - from);
			buf_put(&clients[cur].in, data + from, i - from);
			cur = data[i + MARKER_LEN] - '0';
			i += MARKER_LEN + 1;
			from = i;
		} else {
			i++;
		}
	}
	piece_add(cur, clients[cur].in.len, size - from);
	buf_put(&clients[cur].in, data + from, size - from);
}

/* ---- the filter and the prescan ------------------------------------------ */

static bool arg_is(const struct buf *b, const struct resp_arg *a, const char *lit)
{
	return a->len == strlen(lit) && !strncasecmp(b->p + a->off, lit, a->len);
}

static bool arg_any(const struct buf *b, const struct resp_arg *a, const char *const *lits)
{
	for (; *lits; lits++)
		if (arg_is(b, a, *lits))
			return true;
	return false;
}

/* Is argv a command the harness must not send? See the file's comment. */
static bool filtered(const struct buf *b, const struct resp_arg *argv, size_t argc)
{
	static const char *const randmember[] = { "srandmember", "hrandfield",
						  "zrandmember", NULL };

	if (arg_is(b, &argv[0], "shutdown"))
		return true;
	if (argc >= 2 && arg_is(b, &argv[0], "debug") && arg_is(b, &argv[1], "sleep"))
		return true;
	if (argc >= 2 && arg_is(b, &argv[0], "config") && arg_is(b, &argv[1], "set")) {
		for (size_t i = 2; i < argc; i += 2)
			if (arg_is(b, &argv[i], "logfile") ||
			    arg_is(b, &argv[i], "proto-max-bulk-len"))
				return true;
	}
	if (argc >= 3 && arg_any(b, &argv[0], randmember)) {
		char num[32];
		long long n;
		char *end;

		if (argv[2].len < sizeof(num)) {
			memcpy(num, b->p + argv[2].off, argv[2].len);
			num[argv[2].len] = '\0';
			errno = 0;
			n = strtoll(num, &end, 10);
			if (end != num && (n < RANDMEMBER_MIN || errno == ERANGE))
				return true;
		}
	}
	return false;
}

static void scan_note(struct scan *s, const struct buf *b, const struct resp_arg *argv)
{
	static const char *const varying[] = {
		"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
		"sunsubscribe", "quit", "blpop", "brpop", "blmove", "brpoplpush", "blmpop",
		"bzpopmin", "bzpopmax", "bzmpop", "monitor", "wait", NULL,
	};
	static const char *const global[] = { "client", "acl", "config", NULL };

	if (arg_is(b, &argv[0], "hello"))
		s->hello = true;
	if (arg_any(b, &argv[0], varying))
		s->counts_vary = true;
	if (arg_any(b, &argv[0], global))
		s->global = true;
}

/*
 * Parses a client's whole stream the way conn.c will (same parser, same
 * limits, commands of no argument skipped) and finds where to cut it.
 */
static void prescan(struct fclient *fc)
{
	struct buf copy = { 0 };
	struct resp_arg *argv = NULL;
	struct resp_parser p;
	size_t cap = 0, start = 0;
	struct scan *s = &fc->scan;

	memset(s, 0, sizeof(*s));
	s->cut = fc->in.len;
	if (!fc->in.len)
		return;
	buf_put(&copy, fc->in.p, fc->in.len);
	memset(&p, 0, sizeof(p));
	p.max_bulk_len = (uint64_t)cfg.proto_max_bulk_len;
	resp_parser_reset(&p, 0);
	for (;;) {
		size_t argc = 0, consumed = 0;
		int st = resp_parse(&p, copy.p, copy.len, argv, cap, &argc, &consumed);

		if (st == RESP_NEED_ARGV) {
			cap = MIN((size_t)p.argc, MAX(cap * 2, (size_t)16));
			argv = realloc(argv, cap * sizeof(*argv));
			CHECK(argv != NULL);
			continue;
		}
		if (st == RESP_NEED_MORE)
			break;
		if (st == RESP_ERROR) {
			s->proto_error = true;
			break;
		}
		if (argc > 0) {
			if (filtered(&copy, argv, argc)) {
				s->cut = start;
				break;
			}
			scan_note(s, &copy, argv);
			s->ncmds++;
		}
		start = consumed;
		resp_parser_reset(&p, consumed);
	}
	free(argv);
	buf_free(&copy);
}

/* ---- driving the server -------------------------------------------------- */

/* Reads what the server sent each client; returns the bytes read. */
static size_t read_replies(void)
{
	size_t total = 0;

	for (int i = 0; i < NCLIENTS; i++) {
		struct fclient *fc = &clients[i];
		char tmp[65536];

		if (fc->fd < 0 || fc->eof)
			continue;
		for (;;) {
			ssize_t n = recv(fc->fd, tmp, sizeof(tmp), MSG_DONTWAIT);

			if (n > 0) {
				total += (size_t)n;
				if (fc->out.len + (size_t)n <= OUT_CAP)
					buf_put(&fc->out, tmp, (size_t)n);
				else
					fc->out_overflow = true;
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				fc->eof = true;
				total++;	/* an event too */
			}
			break;
		}
	}
	return total;
}

/* Are the shards run by threads idle: asleep with nothing in their inbox? */
static bool others_idle(void)
{
	for (int i = 1; i < srv.nshards; i++) {
		struct shard *sh = &srv.shards[i];

		if (!atomic_load(&sh->sleeping) || atomic_load(&sh->inbox))
			return false;
	}
	return true;
}

/* Remembers the descriptors of the server's connections, which must all be
 * closed once the clients have left. */
static void note_server_fds(void)
{
	for (int i = 0; i < sh0->nclients; i++) {
		int fd = sh0->clients[i]->fd, k;

		for (k = 0; k < nserver_fds && server_fds[k] != fd; k++)
			;
		if (k == nserver_fds && k < (int)ARRAY_SIZE(server_fds))
			server_fds[nserver_fds++] = fd;
	}
}

/* One turn of shard 0 and a read of every client; true if anything
 * happened or may still be on its way. */
static bool pump(void)
{
	unsigned n = shard_loop_turn(sh0, false);
	size_t got = read_replies();

	note_server_fds();

	return n || got || io_uring_sq_ready(&sh0->ring) || atomic_load(&sh0->inbox) ||
	       !others_idle();
}

static void dump_state(const char *why)
{
	fprintf(stderr, "fuzz_dispatch: %s\n", why);
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		fprintf(stderr, "  shard %d: %d clients, %d waiters, %d polled, inbox %s, sleeping %d\n",
			s, sh->nclients, sh->nwaiters, sh->npoll,
			atomic_load(&sh->inbox) ? "busy" : "empty", atomic_load(&sh->sleeping));
		for (int i = 0; i < sh->nclients; i++) {
			struct client *c = sh->clients[i];

			fprintf(stderr, "    client id=%llu flags=0x%x hops=%d inflight=%d "
				"rbuf=%zu rpos=%zu wbuf=%zu sending=%zu\n",
				(unsigned long long)c->id, c->flags, c->hops, c->inflight,
				c->rbuf.len, c->rpos, c->wbuf.len, c->sending.len);
		}
	}
}

/* Runs the server until it is quiet: two turns in a row with nothing done. */
static void settle(void)
{
	int64_t deadline = util_monotonic_us() + step_ms * 1000;
	int quiet = 0;

	while (quiet < 2) {
		if (pump()) {
			quiet = 0;
			if (!others_idle())
				sched_yield();	/* two cores, shared: let them run */
		} else {
			quiet++;
		}
		if (util_monotonic_us() > deadline) {
			dump_state("the server does not settle (a hang?)");
			abort();
		}
	}
}

static void client_connect(struct fclient *fc)
{
	fc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fc->fd >= 0);
	CHECK(connect(fc->fd, (struct sockaddr *)&listen_addr, listen_addrlen) == 0);
	settle();	/* accepted now, so clients are created in input order */
}

/* Sends bytes of a client's stream, letting the server run when the socket
 * is full. */
static void client_send_bytes(struct fclient *fc, size_t from, size_t len)
{
	int64_t deadline = util_monotonic_us() + step_ms * 1000;

	while (len && !fc->write_closed) {
		ssize_t n = send(fc->fd, fc->in.p + from, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			from += (size_t)n;
			len -= (size_t)n;
			fc->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fc->write_closed = true;	/* the server closed us */
			break;
		}
		pump();
		if (util_monotonic_us() > deadline) {
			dump_state("the server stopped reading a client");
			abort();
		}
	}
}

static int server_clients(void)
{
	int n = 0;

	for (int s = 0; s < srv.nshards; s++)
		n += srv.shards[s].nclients;
	return n;
}

/*
 * The earliest deadline of a blocked command, unix ms, or 0: the block
 * timers of the shards holding waiters and the deadlines of the clients
 * polled across shards. The other shards are parked to read theirs.
 */
static int64_t next_block_deadline(void)
{
	uint64_t others = (srv.nshards >= 64 ? ~0ull : (1ull << srv.nshards) - 1) & ~1ull;
	int64_t next = 0;
	bool blocked = false;

	for (int i = 0; i < sh0->nclients; i++) {
		struct client *c = sh0->clients[i];

		if (c->flags & CL_POLL) {
			if (c->poll_deadline && (!next || c->poll_deadline < next))
				next = c->poll_deadline;
		} else if (c->block_cookie) {
			blocked = true;
		}
	}
	if (!blocked)
		return next;
	if (others)
		shard_park(sh0, others);
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		if (sh->nwaiters && sh->block_timer_at && (!next || sh->block_timer_at < next))
			next = sh->block_timer_at;
	}
	if (others)
		shard_unpark(sh0, others);
	return next;
}

/*
 * Blocked commands whose timeout falls within FUZZ_WAIT_MS of the end of
 * the input are waited for, so that timeouts (block timers, the polling of
 * commands blocked across shards, their replies) are fuzzed too; a command
 * blocked for longer, or for ever, is left to be cancelled by the client's
 * departure.
 */
static void wait_for_timeouts(void)
{
	int64_t end = util_mstime() + wait_ms;
	int64_t next;

	while ((next = next_block_deadline()) && next <= end) {
		while (util_mstime() <= next + 1) {
			if (!pump())
				usleep(200);
		}
		settle();
	}
}

/* Every client leaves: the server must close and free each connection. */
static void clients_leave(void)
{
	int64_t deadline = util_monotonic_us() + step_ms * 1000;
	bool open = false;

	for (int i = 0; i < NCLIENTS; i++) {
		struct fclient *fc = &clients[i];

		if (fc->fd < 0)
			continue;
		fc->eof_early = fc->eof;
		shutdown(fc->fd, SHUT_WR);
		open = true;
	}
	if (!open)
		return;
	for (;;) {
		bool busy = pump(), all_eof = true;

		for (int i = 0; i < NCLIENTS; i++)
			if (clients[i].fd >= 0 && !clients[i].eof)
				all_eof = false;
		if (!busy && all_eof && server_clients() == 0)
			break;
		if (util_monotonic_us() > deadline) {
			dump_state("a connection is not freed after its client left");
			abort();
		}
		if (busy && !others_idle())
			sched_yield();
	}
	for (int i = 0; i < NCLIENTS; i++) {
		if (clients[i].fd >= 0) {
			close(clients[i].fd);
			clients[i].fd = -1;
		}
	}
}

/* ---- the reply oracle ---------------------------------------------------- */

struct rv {
	const char *p;
	size_t n, pos;
	bool resp3;		/* RESP3 types allowed */
	const char *why;	/* the first invalid thing seen */
};

enum { RV_BAD = -1, RV_SHORT = 0, RV_OK = 1 };

/* The line at pos, up to CRLF (exclusive); no CR or LF inside. */
static int rv_line(struct rv *v, const char **line, size_t *len)
{
	const char *s = v->p + v->pos;
	size_t room = v->n - v->pos;

	for (size_t i = 0; i < room; i++) {
		if (s[i] == '\n') {
			v->why = "LF without CR";
			return RV_BAD;
		}
		if (s[i] != '\r')
			continue;
		if (i + 1 == room)
			return RV_SHORT;
		if (s[i + 1] != '\n') {
			v->why = "CR without LF";
			return RV_BAD;
		}
		*line = s;
		*len = i;
		v->pos += i + 2;
		return RV_OK;
	}
	return RV_SHORT;
}

/* A decimal integer as Redis writes one: optional '-', no leading zero. */
static bool rv_is_int(const char *s, size_t len, long long *out)
{
	char tmp[32];
	char *end;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (tmp[0] == '-' ? (len == 1 || tmp[1] == '0') : (tmp[0] == '0' && len > 1))
		return false;
	for (size_t i = tmp[0] == '-'; i < len; i++)
		if (tmp[i] < '0' || tmp[i] > '9')
			return false;
	errno = 0;
	*out = strtoll(tmp, &end, 10);
	return errno == 0;
}

static int rv_value(struct rv *v, int depth);

static int rv_aggregate(struct rv *v, long long n, int depth)
{
	for (long long i = 0; i < n; i++) {
		int rc = rv_value(v, depth + 1);

		if (rc != RV_OK)
			return rc;
	}
	return RV_OK;
}

/* One reply at v->pos. */
static int rv_value(struct rv *v, int depth)
{
	const char *line;
	size_t len;
	long long n;
	char type;
	int rc;

	if (depth > RESP_DEPTH_MAX) {
		v->why = "replies nested too deep";
		return RV_BAD;
	}
	if (v->pos == v->n)
		return RV_SHORT;
	type = v->p[v->pos++];
	if (strchr("_,#(=!%~>|", type) && !v->resp3) {
		v->why = "a RESP3 type to a client that never sent HELLO";
		return RV_BAD;
	}
	rc = rv_line(v, &line, &len);
	if (rc != RV_OK)
		return rc;
	switch (type) {
	case '+':
		return RV_OK;
	case '-':
		if (len == 0 || line[0] < 'A' || line[0] > 'Z') {
			v->why = "an error reply without an upper-case code";
			return RV_BAD;
		}
		return RV_OK;
	case ':':
	case '(':
		if (!rv_is_int(line, len, &n) && !(type == '(' && len > 0)) {
			v->why = "a malformed integer";
			return RV_BAD;
		}
		return RV_OK;
	case '_':
		if (len) {
			v->why = "a null with data";
			return RV_BAD;
		}
		return RV_OK;
	case '#':
		if (len != 1 || (line[0] != 't' && line[0] != 'f')) {
			v->why = "a malformed boolean";
			return RV_BAD;
		}
		return RV_OK;
	case ',': {
		char tmp[64], *end;

		if (len == 0 || len >= sizeof(tmp)) {
			v->why = "a malformed double";
			return RV_BAD;
		}
		memcpy(tmp, line, len);
		tmp[len] = '\0';
		strtod(tmp, &end);
		if (*end) {
			v->why = "a malformed double";
			return RV_BAD;
		}
		return RV_OK;
	}
	case '$':
	case '=':
	case '!':
		if (!rv_is_int(line, len, &n) || n < -1 || (n == -1 && type != '$')) {
			v->why = "a malformed bulk length";
			return RV_BAD;
		}
		if (n == -1)
			return RV_OK;
		if (v->n - v->pos < (size_t)n + 2)
			return RV_SHORT;
		if (type == '=' && (n < 4 || v->p[v->pos + 3] != ':')) {
			v->why = "a verbatim string without its format";
			return RV_BAD;
		}
		if (v->p[v->pos + n] != '\r' || v->p[v->pos + n + 1] != '\n') {
			v->why = "a bulk longer than its length";
			return RV_BAD;
		}
		v->pos += (size_t)n + 2;
		return RV_OK;
	case '*':
	case '~':
	case '>':
	case '%':
	case '|':
		if (!rv_is_int(line, len, &n) || n < -1 || (n == -1 && type != '*')) {
			v->why = "a malformed aggregate length";
			return RV_BAD;
		}
		if (n <= 0)
			return RV_OK;
		if (type == '%' || type == '|')
			n *= 2;
		rc = rv_aggregate(v, n, depth);
		if (rc != RV_OK || type != '|')
			return rc;
		return rv_value(v, depth);	/* the value the attribute is about */
	default:
		v->why = "an unknown type byte";
		return RV_BAD;
	}
}

static void print_escaped(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '\n')
			fputs("\\n\n", f);
		else if (ch == '\r')
			fputs("\\r", f);
		else if (ch < 32 || ch >= 127 || ch == '\\')
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
}

static _Noreturn void reply_fail(int i, const struct fclient *fc, const char *why, size_t at)
{
	fprintf(stderr, "fuzz_dispatch: client %d: %s (reply byte %zu of %zu; %zu commands%s)\n",
		i, why, at, fc->out.len, fc->scan.ncmds,
		fc->scan.proto_error ? " and a protocol error" : "");
	fprintf(stderr, "---- replies ----\n");
	print_escaped(stderr, fc->out.p, MIN(fc->out.len, (size_t)8192));
	fprintf(stderr, "\n----\n");
	abort();
}

static void check_replies(bool any_global)
{
	for (int i = 0; i < NCLIENTS; i++) {
		struct fclient *fc = &clients[i];
		struct rv v = { fc->out.p, fc->out.len, 0, fc->scan.hello, NULL };
		size_t replies = 0, expect;
		int rc = RV_OK;

		if (tracing && fc->out.len) {
			fprintf(stderr, "---- client %d replies ----\n", i);
			print_escaped(stderr, fc->out.p, fc->out.len);
			fprintf(stderr, "\n");
		}
		if (fc->out_overflow)
			continue;
		while (v.pos < v.n) {
			size_t at = v.pos;

			rc = rv_value(&v, 0);
			if (rc == RV_BAD)
				reply_fail(i, fc, v.why, at);
			if (rc == RV_SHORT) {
				/* Only a connection cut by the server may end
				 * inside a reply. */
				if (!fc->eof_early)
					reply_fail(i, fc, "the last reply is incomplete", at);
				break;
			}
			replies++;
		}
		if (any_global || fc->scan.counts_vary || fc->write_closed)
			continue;
		expect = fc->scan.ncmds + fc->scan.proto_error;
		if (replies != expect) {
			char why[128];

			snprintf(why, sizeof(why), "%zu replies for %zu commands", replies, expect);
			reply_fail(i, fc, why, v.pos);
		}
		if (fc->eof_early && !fc->scan.proto_error)
			reply_fail(i, fc, "the server closed the connection", v.pos);
	}
}

/* ---- state between inputs ------------------------------------------------ */

/* What main.c installs. */
static const struct kv_server_hooks fuzz_kv_hooks = {
	.ready = block_key_ready,
	.modified = multi_key_modified,
	.flushed = multi_db_flushed,
	.swapped = block_db_swapped,
};

void conn_acl_user_changed(struct acl_user *u, bool deleted);

/* The harness's configuration on top of the defaults. */
static void config_apply(void)
{
	char *err = NULL;

	cfg_init_defaults();
	if (!tracing && cfg_set("logfile", "/dev/null", &err) < 0) {
		fprintf(stderr, "fuzz_dispatch: %s\n", err);
		abort();
	}
	CHECK(cfg_set("proto-max-bulk-len", "1mb", &err) == 0);
}

/* Back to the state after start-up, with the other shards parked. */
static void server_reset(void)
{
	uint64_t all = srv.nshards >= 64 ? ~0ull : (1ull << srv.nshards) - 1;

	shard_park(sh0, all);
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		CHECK(sh->nclients == 0 && sh->nwaiters == 0 && sh->npoll == 0);
		/* Statistics too: latency histograms are allocated on a
		 * command's first call and would read as a leak. */
		shard_reset_stats(sh);
		client_free_segs(sh);
		block_free_all(sh);
		multi_free_all(sh);
		pubsub_free_all(sh);
		for (int d = 0; d < cfg.databases; d++) {
			kv_db_destroy(&sh->dbs[d]);
			kv_db_init(&sh->dbs[d], d, &sh->kstats);
			sh->dbs[d].owner = s;
		}
	}
	config_apply();
	acl_free_all();
	acl_init();
	atomic_store(&srv.stop, 0);
	/* Clients are 1, 2, 3, 4 in the order they connect, so an input can
	 * name them (CLIENT KILL ID 2, CLIENT UNBLOCK 1). */
	atomic_store(&srv.next_client_id, 0);
	shard_unpark(sh0, all);
}

/* Every connection freed must have closed its descriptor (ours are closed
 * too by now, so nothing reused the numbers). */
static void check_fds_closed(void)
{
	for (int k = 0; k < nserver_fds; k++) {
		if (fcntl(server_fds[k], F_GETFD) >= 0 || errno != EBADF) {
			fprintf(stderr, "fuzz_dispatch: descriptor %d of a freed connection "
				"is still open\n", server_fds[k]);
			abort();
		}
	}
	nserver_fds = 0;
}

static void check_no_leak(void)
{
	size_t used = mem_used();

	if (!mem_baseline) {
		mem_baseline = used;
		return;
	}
	if (used > mem_baseline + MEM_SLACK) {
		fprintf(stderr, "fuzz_dispatch: accounted memory grew from %zu to %zu bytes "
			"after a reset: leaked or miscounted\n", mem_baseline, used);
		abort();
	}
}

/* ---- libFuzzer ----------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t seed[16] = "strata-fuzzing!";
	sigset_t pipe_set;
	const char *env;
	int nshards = 2;

	(void)argc;
	(void)argv;
	tracing = getenv("FUZZ_TRACE") != NULL;
	if ((env = getenv("FUZZ_SHARDS")))
		nshards = atoi(env);
	if (nshards < 1 || nshards > MAX_SHARDS)
		nshards = 2;
	if ((env = getenv("FUZZ_STEP_MS")))
		step_ms = atoll(env) > 0 ? atoll(env) : step_ms;
	if ((env = getenv("FUZZ_WAIT_MS")))
		wait_ms = atoll(env) >= 0 ? atoll(env) : wait_ms;

	config_apply();
	log_min_level = cfg.loglevel;
	dict_set_seed(seed);
	memcpy(srv.run_id, "0123456789abcdef0123456789abcdef01234567", 40);
	util_cycles_calibrate();
	cmd_init();
	acl_init();
	acl_on_user_changed = conn_acl_user_changed;
	kv_server_hooks = &fuzz_kv_hooks;
	srv.nshards = nshards;
	srv.start_ms = util_mstime();
	srv.start_mono_us = util_monotonic_us();
	srv.lastsave = srv.start_ms / 1000;
	atomic_store(&srv.coord_token, -1);
	srv.shards = mem_calloc((size_t)nshards, sizeof(*srv.shards));
	for (int i = 0; i < nshards; i++)
		CHECK(shard_setup(&srv.shards[i], i) == 0);
	sh0 = &srv.shards[0];

	/* An abstract socket: no file, and unique per process. */
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(listen_fd >= 0);
	memset(&listen_addr, 0, sizeof(listen_addr));
	listen_addr.sun_family = AF_UNIX;
	snprintf(listen_addr.sun_path + 1, sizeof(listen_addr.sun_path) - 1,
		 "strata-fuzz-dispatch-%d", (int)getpid());
	listen_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				     strlen(listen_addr.sun_path + 1));
	CHECK(bind(listen_fd, (struct sockaddr *)&listen_addr, listen_addrlen) == 0);
	CHECK(listen(listen_fd, 64) == 0);
	sh0->listen_fds[0] = listen_fd;
	sh0->nlisten = 1;

	/* As main.c: SIGPIPE blocked in every thread (the server's sends say
	 * MSG_NOSIGNAL, but the maxclients refusal is a plain write). */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	CHECK(shard_loop_start(sh0) == 0);
	for (int i = 1; i < nshards; i++)
		CHECK(pthread_create(&srv.shards[i].thread, NULL, shard_main, &srv.shards[i]) == 0);
	for (int i = 0; i < NCLIENTS; i++)
		clients[i].fd = -1;
	settle();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool any_global = false;

	for (int i = 0; i < NCLIENTS; i++) {
		memset(&clients[i], 0, sizeof(clients[i]));
		clients[i].fd = -1;
	}
	input_split(data, size);
	for (int i = 0; i < NCLIENTS; i++) {
		prescan(&clients[i]);
		any_global |= clients[i].scan.global;
	}

	for (size_t k = 0; k < npieces; k++) {
		struct fclient *fc = &clients[pieces[k].client];
		size_t from = pieces[k].off, to = MIN(pieces[k].off + pieces[k].len, fc->scan.cut);

		if (from >= to)
			continue;	/* past the cut */
		if (fc->fd < 0)
			client_connect(fc);
		client_send_bytes(fc, from, to - from);
		settle();
	}
	wait_for_timeouts();
	clients_leave();
	check_fds_closed();
	check_replies(any_global);
	for (int i = 0; i < NCLIENTS; i++) {
		buf_free(&clients[i].in);
		buf_free(&clients[i].out);
	}
	server_reset();
	check_no_leak();
	return 0;
}
