/*
 * shard.c - a shard thread: its io_uring event loop, its cron, the hops that
 * carry commands and replies between shards, and parking.
 *
 * One loop turn: submit what is queued and wait for at least one completion
 * (unless work is already waiting), handle every completion (accepts,
 * receives, sends, the cron tick, the wake-up eventfd), run the batches other
 * shards pushed to the inbox, then push this turn's outgoing batches and send
 * each dirty client's output once.
 *
 * Hop batch wire format (in memory, between threads of one process): a
 * sequence of ops, each a struct hop_op header followed by `len` payload
 * bytes padded to 8. A request's payload is the argument vector as
 * [u32 argc][u32 len, bytes]...; a reply's payload is the RESP reply bytes.
 * A batch belongs to the sender until it is pushed, then to the receiver,
 * which frees it (ownership passes with the message, never a shared pointer).
 *
 * user_data of ring operations: small constants for the shard's own
 * operations, a client pointer with the low bits tagging recv or send.
 */
#include "server.h"
#include "blob.h"
#include "block.h"
#include "multi.h"
#include "pubsub.h"
#include "conn.h"
#include "acl.h"
#include "cfg.h"
#include "lathist.h"
#include "log.h"
#include "mem.h"
#include "slot.h"
#include "util.h"

#include <errno.h>
#include <linux/futex.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sched.h>
#include <sys/syscall.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

struct server srv;
_Thread_local struct shard *shard_self;

/* An accept's user_data: UD_ACCEPT + (listener set generation mod
 * UD_ACCEPT_GENS) * SHARD_MAX_LISTEN + listener index. */
enum { UD_TIMER = 2, UD_EVENT = 3, UD_BLOCK_TIMER = 4, UD_ACCEPT = 16 };
#define UD_ACCEPT_GENS 16
#define UD_ACCEPT_END (UD_ACCEPT + UD_ACCEPT_GENS * SHARD_MAX_LISTEN)
#define UD_TAG_RECV 1
#define UD_TAG_SEND 2
#define UD_TAG_BLOB 3
#define UD_TAG_POLL 4
#define UD_TAG_MASK 7

enum { HOP_REQ = 1, HOP_REPLY = 2, HOP_CANCEL = 3, HOP_BLOB = 4 };

/* Redis 7.0's protected mode refusal, word for word (clients and operators
 * search for it). */
#define SHARD_DENIED_MSG \
	"-DENIED Redis is running in protected mode because protected mode is enabled and " \
	"no password is set for the default user. In this mode connections are only " \
	"accepted from the loopback interface. If you want to connect from external " \
	"computers to Redis you may adopt one of the following solutions: 1) Just disable " \
	"protected mode sending the command 'CONFIG SET protected-mode no' from the " \
	"loopback interface by connecting to Redis from the same host the server is " \
	"running, however MAKE SURE Redis is not publicly accessible from internet if you " \
	"do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can " \
	"just disable the protected mode by editing the Redis configuration file, and " \
	"setting the protected mode option to 'no', and then restarting the server. 3) If " \
	"you started the server manually just for testing, restart it with the " \
	"'--protected-mode no' option. 4) Setup a an authentication password for the " \
	"default user. NOTE: You only need to do one of the above things in order for the " \
	"server to start accepting connections from the outside.\r\n"

struct hop_op {
	uint8_t kind;		/* HOP_REQ or HOP_REPLY */
	uint8_t dbid;
	uint8_t proto;
	uint8_t pad;
	uint32_t ctxflags;	/* CTX_* to run the request with */
	uint32_t cmd_id;	/* cmd_def.id of the request */
	uint32_t len;		/* payload bytes */
	void *cookie;		/* the sender's pending output segment */
	void *blob;		/* HOP_REQ: the upload its value is (struct blob_put), or NULL */
};

struct hop_batch {
	struct hop_batch *next;	/* inbox link */
	int src;		/* sending shard */
	struct sbuf data;	/* ops */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* Spins politely: pause first, then yield the CPU, because on a small
 * machine the thread we wait for may need this core to run. */
static void spin_wait(unsigned *spins)
{
	if (++*spins < 256)
		cpu_relax();
	else
		sched_yield();
}

int shard_of_key(const char *key, size_t klen)
{
	return (int)(slot_of_key(key, klen) % (unsigned)srv.nshards);
}

int cmd_shard_of(const char *key, size_t klen)
{
	return shard_of_key(key, klen);
}

void shard_wake(struct shard *sh)
{
	uint64_t one = 1;

	if (write(sh->event_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN means the counter is already nonzero: awake enough. */
	}
}

struct io_uring_sqe *shard_sqe(struct shard *sh)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&sh->ring);

	while (!sqe) {
		io_uring_submit(&sh->ring);
		sqe = io_uring_get_sqe(&sh->ring);
	}
	return sqe;
}

/* --- parking --- */

static void futex_wait32(_Atomic uint32_t *addr, uint32_t val)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake32(_Atomic uint32_t *addr)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/*
 * A parked shard spins briefly, then sleeps on a futex: a coordinator that
 * runs a batch of parked commands may hold us for hundreds of microseconds,
 * and on a machine with few cores our spinning would take the core it needs.
 * park_seq changes on every release; the sleeper waits on it, and the
 * coordinator wakes it only if it announced it sleeps (park_sleeping), with
 * sequentially consistent accesses on both sides (Dekker).
 */
void shard_check_park(struct shard *sh)
{
	uint64_t req = atomic_load_explicit(&sh->park_req, memory_order_acquire);

	if (likely(!req))
		return;
	while (req) {
		unsigned spins = 0;
		uint64_t next;

		/* Release: our writes so far are visible to the coordinator. */
		atomic_store_explicit(&sh->park_ack, req, memory_order_release);
		while ((next = atomic_load_explicit(&sh->park_req, memory_order_acquire)) == req) {
			if (++spins < 2000) {
				cpu_relax();
				continue;
			}
			uint32_t seq = atomic_load(&sh->park_seq);

			atomic_store(&sh->park_sleeping, 1);
			if (atomic_load(&sh->park_req) == req)
				futex_wait32(&sh->park_seq, seq);
			atomic_store(&sh->park_sleeping, 0);
		}
		req = next;
	}
	kv_clock_update();
}

void shard_park(struct shard *sh, uint64_t mask)
{
	unsigned spins = 0;
	int expect = -1;
	uint64_t gen;

	while (!atomic_compare_exchange_weak(&srv.coord_token, &expect, sh->id)) {
		expect = -1;
		shard_check_park(sh);
		spin_wait(&spins);
	}
	gen = atomic_fetch_add(&srv.park_gen, 1) + 1;
	for (int i = 0; i < srv.nshards; i++) {
		if (i == sh->id || !(mask & (1ull << i)))
			continue;
		atomic_store_explicit(&srv.shards[i].park_req, gen, memory_order_release);
		shard_wake(&srv.shards[i]);
	}
	for (int i = 0; i < srv.nshards; i++) {
		if (i == sh->id || !(mask & (1ull << i)))
			continue;
		spins = 0;
		while (atomic_load_explicit(&srv.shards[i].park_ack, memory_order_acquire) != gen)
			spin_wait(&spins);
	}
	sh->stats.parks++;
}

void shard_unpark(struct shard *sh, uint64_t mask)
{
	for (int i = 0; i < srv.nshards; i++) {
		if (i == sh->id || !(mask & (1ull << i)))
			continue;
		struct shard *t = &srv.shards[i];

		atomic_store(&t->park_req, 0);
		atomic_fetch_add(&t->park_seq, 1);
		if (atomic_load(&t->park_sleeping))
			futex_wake32(&t->park_seq);
	}
	atomic_store_explicit(&srv.coord_token, -1, memory_order_release);
}

/* --- running commands --- */

/* Makes room under maxmemory before a command that may grow memory. Returns
 * false if the command must be refused with -OOM. */
bool shard_make_room(struct shard *sh)
{
	if (!cfg.maxmemory || mem_used() <= (size_t)cfg.maxmemory)
		return true;
	if (cfg.maxmemory_policy == MAXMEM_NOEVICTION)
		return false;
	while (mem_used() > (size_t)cfg.maxmemory) {
		if (!kv_evict_one(sh->dbs, cfg.databases, cfg.maxmemory_policy, cfg.maxmemory_samples)) {
			/* Nothing here to evict under the policy: the others evict in
			 * their cron; refuse only if no shard has anything. */
			for (int i = 0; i < srv.nshards; i++)
				if (&srv.shards[i] != sh)
					shard_wake(&srv.shards[i]);
			return srv.nshards > 1;
		}
	}
	return true;
}

void shard_count_error(void *arg, const char *code, size_t len)
{
	struct shard *sh = arg;
	struct err_stat *e;

	sh->stats.errors++;
	if (len >= ERRSTAT_CODE_MAX)
		len = ERRSTAT_CODE_MAX - 1;
	for (int i = 0; i < sh->nerrstats; i++) {
		e = &sh->errstats[i];
		if (!strncmp(e->code, code, len) && e->code[len] == '\0') {
			e->count++;
			return;
		}
	}
	if (sh->nerrstats == ERRSTAT_MAX)
		return;
	e = &sh->errstats[sh->nerrstats++];
	memcpy(e->code, code, len);
	e->code[len] = '\0';
	e->count = 1;
}

void shard_reset_stats(struct shard *sh)
{
	memset(&sh->stats, 0, sizeof(sh->stats));
	memset(&sh->kstats, 0, sizeof(sh->kstats));
	memset(sh->cmdstats, 0, sizeof(*sh->cmdstats) * (size_t)cmd_count_all());
	sh->nerrstats = 0;
	for (int id = 0; id < cmd_count_all(); id++) {
		mem_free(sh->lat[id]);
		sh->lat[id] = NULL;
	}
}

void shard_free_stats(struct shard *sh)
{
	shard_reset_stats(sh);
	mem_free(sh->cmdstats);
	mem_free(sh->lat);
	mem_free(sh->errstats);
	sh->cmdstats = NULL;
	sh->lat = NULL;
	sh->errstats = NULL;
}

void shard_exec(struct shard *sh, struct client *cl, const struct cmd_def *cmd, int argc,
		const struct cmd_arg *argv, int dbid, int proto, uint32_t ctxflags,
		struct sbuf *out, struct exec_result *res)
{
	struct resp_w w = { .b = out, .proto = proto, .nerr = 0,
			    .on_error = shard_count_error, .err_arg = sh };
	struct cmd_ctx ctx = {
		.sh = sh, .cl = cl, .cmd = cmd, .argc = argc, .argv = argv,
		.dbid = dbid, .flags = ctxflags, .w = &w, .dirty = 0,
	};
	int id = cmd_id(cmd);
	struct cmd_stat *cs = &sh->cmdstats[id];
	struct blob_prog *prog;
	size_t before;
	uint64_t t0, spent;

	if (res) {
		res->blocked = false;
		res->prog = NULL;
	}
	if ((cmd->flags & CMD_DENYOOM) && !shard_make_room(sh)) {
		resp_w_error(&w, "-OOM command not allowed when used memory > 'maxmemory'.");
		cs->rejected++;
		return;
	}
	t0 = util_cycles();
	before = out->len;
	blob_exec_begin(out, before);
	cmd->fn(&ctx);
	prog = blob_exec_end(out, before, (ctx.flags & CTX_BLOCKED) != 0);
	if (res)
		res->prog = prog;
	else
		ASSERT(!prog);	/* nested (EXEC): the outer call collects the holes */
	spent = util_cycles() - t0;
	cs->cycles += spent;
	cs->calls++;
	if (w.nerr)
		cs->failed++;
	if (cfg.latency_tracking) {
		if (!sh->lat[id])
			sh->lat[id] = mem_calloc(1, sizeof(*sh->lat[id]));
		lathist_record(sh->lat[id], spent * 1000 / util_cycles_per_us);
	}
	sh->stats.commands++;
	sh->stats.dirty += ctx.dirty;
	if (ctx.flags & CTX_BLOCKED) {
		ASSERT(res);	/* only callers that can park a waiter run blocking commands */
		res->blocked = true;
		res->deadline = ctx.block_deadline;
		res->null_array = ctx.block_null_array;
	}
}

/* --- hops --- */

/*
 * While shard_run_hop() writes a reply straight into the batch going back to
 * src, a blob message the command sends to src (a load request to the file
 * of a value it reads, BM_FREE of a value it drops) must not land inside the
 * reply: its length would take the message in, and a reply cut back (a
 * blocked command, a streamed one) would drop it. Such messages wait here
 * and follow the reply.
 */
static _Thread_local int hop_reply_to = -1;
static _Thread_local struct sbuf hop_deferred;

static struct hop_batch *shard_out_batch(struct shard *sh, int target)
{
	struct hop_batch *b = sh->out[target];

	if (!b) {
		b = mem_calloc(1, sizeof(*b));
		b->src = sh->id;
		sh->out[target] = b;
	}
	return b;
}

static void hop_pad(struct sbuf *b)
{
	static const char zero[8];
	size_t pad = (8 - (b->len & 7)) & 7;

	sbuf_append(b, zero, pad);
}

void shard_hop_send(struct shard *sh, int target, void *cookie, const struct cmd_def *cmd,
		    int argc, const struct cmd_arg *argv, int dbid, int proto, uint32_t ctxflags,
		    struct blob_put *put)
{
	struct hop_batch *b = shard_out_batch(sh, target);
	struct hop_op op = {
		.kind = HOP_REQ, .dbid = (uint8_t)dbid, .proto = (uint8_t)proto,
		.ctxflags = ctxflags, .cmd_id = (uint32_t)cmd_id(cmd), .cookie = cookie,
		.blob = put,
	};
	size_t len = 4, hdr = b->data.len;
	uint32_t n = (uint32_t)argc;

	for (int i = 0; i < argc; i++)
		len += 4 + argv[i].len;
	ASSERT(len <= UINT32_MAX);
	op.len = (uint32_t)len;
	sbuf_reserve(&b->data, sizeof(op) + len + 8);
	sbuf_append(&b->data, &op, sizeof(op));
	sbuf_append(&b->data, &n, 4);
	for (int i = 0; i < argc; i++) {
		uint32_t l = (uint32_t)argv[i].len;

		sbuf_append(&b->data, &l, 4);
		sbuf_append(&b->data, argv[i].p, argv[i].len);
	}
	ASSERT(b->data.len - hdr == sizeof(op) + len);
	hop_pad(&b->data);
	sh->stats.hops_out++;
}

void shard_hop_reply(struct shard *sh, int target, void *cookie, const char *p, size_t len)
{
	struct hop_batch *b = shard_out_batch(sh, target);
	struct hop_op op = { .kind = HOP_REPLY, .cookie = cookie, .len = (uint32_t)len };

	sbuf_append(&b->data, &op, sizeof(op));
	sbuf_append(&b->data, p, len);
	hop_pad(&b->data);
}

void shard_blob_send(struct shard *sh, int target, const struct blob_msg *m)
{
	struct hop_op op = { .kind = HOP_BLOB, .len = (uint32_t)sizeof(*m) };
	struct sbuf *out = target == hop_reply_to ? &hop_deferred :
			   &shard_out_batch(sh, target)->data;

	sbuf_append(out, &op, sizeof(op));
	sbuf_append(out, m, sizeof(*m));
	hop_pad(out);
}

void shard_hop_cancel(struct shard *sh, int target, void *cookie)
{
	struct hop_batch *b = shard_out_batch(sh, target);
	struct hop_op op = { .kind = HOP_CANCEL, .cookie = cookie };

	sbuf_append(&b->data, &op, sizeof(op));
}

void shard_block_timer(struct shard *sh, int64_t deadline_ms)
{
	struct io_uring_sqe *sqe;
	int64_t rel;

	if (!deadline_ms || (sh->block_timer_at && sh->block_timer_at <= deadline_ms))
		return;
	sh->block_timer_at = deadline_ms;
	rel = deadline_ms - kv_now_ms;
	if (rel < 1)
		rel = 1;
	sh->block_ts.tv_sec = rel / 1000;
	sh->block_ts.tv_nsec = (rel % 1000) * 1000000;
	sqe = shard_sqe(sh);
	io_uring_prep_timeout(sqe, &sh->block_ts, 0, 0);
	io_uring_sqe_set_data64(sqe, UD_BLOCK_TIMER);
}


/* Runs a request op from another shard and appends the reply op to the
 * batch going back to it. */
static void shard_run_hop(struct shard *sh, int src, const struct hop_op *op, const char *p)
{
	struct hop_batch *rb = shard_out_batch(sh, src);
	struct hop_op rop = { .kind = HOP_REPLY, .cookie = op->cookie };
	const struct cmd_def *cmd = cmd_by_id((int)op->cmd_id);
	struct exec_result res;
	uint32_t argc, off = 4;
	size_t hdr;

	memcpy(&argc, p, 4);
	if (argc > sh->hop_cap) {
		sh->hop_cap = argc * 2;
		sh->hop_argv = mem_realloc(sh->hop_argv, sh->hop_cap * sizeof(*sh->hop_argv));
	}
	for (uint32_t i = 0; i < argc; i++) {
		uint32_t l;

		memcpy(&l, p + off, 4);
		sh->hop_argv[i].p = p + off + 4;
		sh->hop_argv[i].len = l;
		off += 4 + l;
	}
	sh->stats.hops_in++;
	if (op->blob) {
		/* A SET whose value was uploaded: it runs once written. */
		blob_put_exec(sh, op->blob, cmd, (int)argc, sh->hop_argv, op->dbid, op->proto,
			      op->ctxflags, src, op->cookie);
		return;
	}
	hdr = rb->data.len;
	sbuf_append(&rb->data, &rop, sizeof(rop));
	hop_reply_to = src;
	shard_exec(sh, NULL, cmd, (int)argc, sh->hop_argv, op->dbid, op->proto, op->ctxflags,
		   &rb->data, &res);
	hop_reply_to = -1;
	if (res.prog) {
		/* A reply that streams large values: the program goes back
		 * instead, in the same place of the batch. */
		rb->data.len = hdr;
		blob_prog_deliver(sh, src, op->cookie, res.prog);
	} else if (res.blocked) {
		/* No reply until the waiter is served or times out. */
		rb->data.len = hdr;
		block_add(sh, cmd, (int)argc, sh->hop_argv, op->dbid, op->proto, op->ctxflags,
			  res.deadline, res.null_array, src, op->cookie);
	} else {
		rop.len = (uint32_t)(rb->data.len - hdr - sizeof(rop));
		memcpy(rb->data.p + hdr, &rop, sizeof(rop));
		hop_pad(&rb->data);
	}
	if (hop_deferred.len) {
		sbuf_append(&rb->data, hop_deferred.p, hop_deferred.len);
		hop_deferred.len = 0;
	}
	block_serve_ready(sh);
}

static void shard_run_batch(struct shard *sh, struct hop_batch *b)
{
	size_t off = 0;

	while (off < b->data.len) {
		struct hop_op op;

		memcpy(&op, b->data.p + off, sizeof(op));
		off += sizeof(op);
		if (op.kind == HOP_REQ)
			shard_run_hop(sh, b->src, &op, b->data.p + off);
		else if (op.kind == HOP_CANCEL)
			block_cancel(sh, b->src, op.cookie);
		else if (op.kind == HOP_BLOB)
			blob_on_msg(sh, b->src, (const struct blob_msg *)(b->data.p + off));
		else
			client_apply_hop_reply(op.cookie, b->data.p + off, op.len);
		off += (op.len + 7) & ~(size_t)7;
		shard_check_park(sh);
	}
	sbuf_free(&b->data);
	mem_free(b);
}

static void shard_drain_inbox(struct shard *sh)
{
	struct hop_batch *b, *rev = NULL;

	b = atomic_exchange(&sh->inbox, NULL);
	if (!b)
		return;
	/* The stack holds newest first; run in arrival order so that each
	 * sender's batches stay FIFO. */
	while (b) {
		struct hop_batch *next = b->next;

		b->next = rev;
		rev = b;
		b = next;
	}
	while (rev) {
		struct hop_batch *next = rev->next;

		shard_run_batch(sh, rev);
		rev = next;
	}
}

static void shard_flush_hops(struct shard *sh)
{
	for (int t = 0; t < srv.nshards; t++) {
		struct hop_batch *b = sh->out[t];
		struct shard *ts = &srv.shards[t];

		if (!b)
			continue;
		sh->out[t] = NULL;
		b->next = atomic_load(&ts->inbox);
		while (!atomic_compare_exchange_weak(&ts->inbox, &b->next, b))
			;
		/* Pairs with the target's store of sleeping then load of inbox:
		 * either it sees our batch or we see it asleep and wake it. */
		if (atomic_exchange(&ts->sleeping, 0))
			shard_wake(ts);
	}
}

/* Frees batches nobody will run (shutdown). Replies are dropped with them:
 * their clients are closed. */
static void shard_free_batches(struct shard *sh)
{
	struct hop_batch *b = atomic_exchange(&sh->inbox, NULL);

	while (b) {
		struct hop_batch *next = b->next;

		sbuf_free(&b->data);
		mem_free(b);
		b = next;
	}
	for (int t = 0; t < srv.nshards; t++) {
		if (sh->out[t]) {
			sbuf_free(&sh->out[t]->data);
			mem_free(sh->out[t]);
			sh->out[t] = NULL;
		}
	}
}

/* --- listening sockets --- */

/*
 * Every shard has its own listening socket for each bind address, all on
 * the same port with SO_REUSEPORT, so the kernel deals new connections out
 * to the shards. CONFIG SET port / bind opens a new set for every shard
 * while the shards are parked, and each shard swaps it in at the top of its
 * next loop turn (shard_relisten): it cancels the accepts of its old
 * sockets, closes them and arms accepts on the new ones. An accept's
 * user_data carries the generation of its set, so a completion of an old
 * socket is never mistaken for one of the new set at the same index.
 *
 * listen_bind / listen_port: what the shards listen on, or will once their
 * pending set is in. Written at start and by the coordinator of CONFIG SET.
 */
static char *listen_bind;
static int listen_port;

/* A listening socket for one address; returns the fd or -errno. */
static int listen_on(const char *addr, int port)
{
	struct addrinfo hints, *res, *ai;
	char portstr[16];
	int fd = -EADDRNOTAVAIL, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (!strcmp(addr, "*"))
		addr = "0.0.0.0";
	rc = getaddrinfo(addr, portstr, &hints, &res);
	if (rc)
		return -EINVAL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			fd = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, cfg.tcp_backlog) == 0)
			break;
		rc = -errno;
		close(fd);
		fd = rc;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * Appends, for every shard s, one socket per address of bind on port to
 * sets[s][n[s] ..], marking each in tlsf[s] as a tls-port listener or not. A
 * '-' before an address makes it optional, as in Redis. port 0 opens
 * nothing. Returns 0, or -1 (logged) with every socket this call opened
 * closed: a required address failed, or no address at all could be used.
 */
static int listen_open(const char *bind, int port, bool tls, int (*sets)[SHARD_MAX_LISTEN],
		       bool (*tlsf)[SHARD_MAX_LISTEN], int *n)
{
	char *copy, *tok, *save = NULL;
	int opened = 0, addrs = 0, base[MAX_SHARDS];

	if (port == 0)
		return 0;
	for (int s = 0; s < srv.nshards; s++)
		base[s] = n[s];
	copy = mem_strndup(bind, strlen(bind));
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		bool optional = tok[0] == '-';
		const char *addr = optional ? tok + 1 : tok;
		bool ok = true;

		addrs++;
		for (int s = 0; s < srv.nshards; s++) {
			int fd;

			if (n[s] == SHARD_MAX_LISTEN) {
				log_warning("Too many listening sockets: at most %d addresses and ports",
					    SHARD_MAX_LISTEN);
				ok = false;
				break;
			}
			fd = listen_on(addr, port);
			if (fd < 0) {
				if (!optional)
					log_warning("Could not create server %s listening socket %s:%d: %s",
						    tls ? "TLS" : "TCP", addr, port, strerror(-fd));
				ok = false;
				break;
			}
			tlsf[s][n[s]] = tls;
			sets[s][n[s]++] = fd;
		}
		if (!ok) {
			/* Undo the partial set for this address. */
			for (int s = 0; s < srv.nshards; s++)
				if (n[s] > base[s] + opened)
					close(sets[s][--n[s]]);
			if (!optional)
				goto fail;
			continue;
		}
		opened++;
	}
	if (addrs && !opened)
		goto fail;	/* bind "" listens nowhere, as Redis allows */
	mem_free(copy);
	return 0;
fail:
	for (int s = 0; s < srv.nshards; s++)
		while (n[s] > base[s])
			close(sets[s][--n[s]]);
	mem_free(copy);
	return -1;
}

/* The plain port and the TLS port on every bind address, into sets. */
static int listen_open_all(int (*sets)[SHARD_MAX_LISTEN], bool (*tlsf)[SHARD_MAX_LISTEN],
			   int *n)
{
	for (int s = 0; s < srv.nshards; s++)
		n[s] = 0;
	/* SO_REUSEPORT would let both bind one port and share its clients. */
	if (cfg.port && cfg.port == cfg.tls_port) {
		log_warning("port and tls-port are both %d: they must differ.", cfg.port);
		return -1;
	}
	if (listen_open(cfg.bind, cfg.port, false, sets, tlsf, n) < 0) {
		log_warning("Failed listening on port %d (tcp), aborting.", cfg.port);
		return -1;
	}
	if (listen_open(cfg.bind, cfg.tls_port, true, sets, tlsf, n) < 0) {
		log_warning("Failed listening on port %d (tls), aborting.", cfg.tls_port);
		for (int s = 0; s < srv.nshards; s++)
			while (n[s])
				close(sets[s][--n[s]]);
		return -1;
	}
	return 0;
}

int shard_listen_start(void)
{
	static int sets[MAX_SHARDS][SHARD_MAX_LISTEN];
	static bool tlsf[MAX_SHARDS][SHARD_MAX_LISTEN];
	int n[MAX_SHARDS];

	if (listen_open_all(sets, tlsf, n) < 0)
		return -1;
	for (int s = 0; s < srv.nshards; s++) {
		memcpy(srv.shards[s].listen_fds, sets[s], sizeof(sets[s]));
		memcpy(srv.shards[s].listen_tls, tlsf[s], sizeof(tlsf[s]));
		srv.shards[s].nlisten = n[s];
	}
	listen_bind = mem_strndup(cfg.bind, strlen(cfg.bind));
	listen_port = cfg.port;
	return 0;
}

int shard_listen_change(char *reason, size_t cap, const char *failure)
{
	static int sets[MAX_SHARDS][SHARD_MAX_LISTEN];
	static bool tlsf[MAX_SHARDS][SHARD_MAX_LISTEN];
	int n[MAX_SHARDS];

	/* Loading the config file (nothing listens yet), or no change. */
	if (!srv.shards || !listen_bind)
		return 0;
	if (listen_port == cfg.port && !strcmp(listen_bind, cfg.bind))
		return 0;
	if (listen_open_all(sets, tlsf, n) < 0) {
		snprintf(reason, cap, "%s", failure);
		return -1;
	}
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		/* A set opened earlier and never swapped in is dropped. */
		if (sh->relisten)
			for (int i = 0; i < sh->new_nlisten; i++)
				close(sh->new_listen_fds[i]);
		memcpy(sh->new_listen_fds, sets[s], sizeof(sets[s]));
		memcpy(sh->new_listen_tls, tlsf[s], sizeof(tlsf[s]));
		sh->new_nlisten = n[s];
		sh->relisten = true;
	}
	mem_free(listen_bind);
	listen_bind = mem_strndup(cfg.bind, strlen(cfg.bind));
	listen_port = cfg.port;
	log_notice("Listening on port %d of '%s' from now on", listen_port, listen_bind);
	return 0;
}

/* --- ring operations of the shard itself --- */

static uint64_t accept_ud(const struct shard *sh, int i)
{
	return UD_ACCEPT + (uint64_t)(sh->listen_gen % UD_ACCEPT_GENS) * SHARD_MAX_LISTEN +
	       (uint64_t)i;
}

static void shard_arm_accept(struct shard *sh, int i)
{
	struct io_uring_sqe *sqe = shard_sqe(sh);

	io_uring_prep_multishot_accept(sqe, sh->listen_fds[i], NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, accept_ud(sh, i));
}

/* Swaps in the listening set CONFIG SET opened (see above). A connection an
 * old socket accepted before the cancel took effect is still served. */
static void shard_relisten(struct shard *sh)
{
	for (int i = 0; i < sh->nlisten; i++) {
		struct io_uring_sqe *sqe = shard_sqe(sh);

		io_uring_prep_cancel64(sqe, accept_ud(sh, i), 0);
		io_uring_sqe_set_data64(sqe, 0);
		close(sh->listen_fds[i]);
	}
	memcpy(sh->listen_fds, sh->new_listen_fds, sizeof(sh->listen_fds));
	memcpy(sh->listen_tls, sh->new_listen_tls, sizeof(sh->listen_tls));
	sh->nlisten = sh->new_nlisten;
	sh->new_nlisten = 0;
	sh->relisten = false;
	sh->listen_gen++;
	for (int i = 0; i < sh->nlisten; i++)
		shard_arm_accept(sh, i);
}

static void shard_arm_timer(struct shard *sh)
{
	struct io_uring_sqe *sqe = shard_sqe(sh);
	int hz = cfg.hz < 1 ? 1 : cfg.hz > 500 ? 500 : cfg.hz;

	sh->tick.tv_sec = 0;
	sh->tick.tv_nsec = 1000000000LL / hz;
	if (hz == 1) {
		sh->tick.tv_sec = 1;
		sh->tick.tv_nsec = 0;
	}
	io_uring_prep_timeout(sqe, &sh->tick, 0, 0);
	io_uring_sqe_set_data64(sqe, UD_TIMER);
}

static void shard_arm_event(struct shard *sh)
{
	struct io_uring_sqe *sqe = shard_sqe(sh);

	io_uring_prep_read(sqe, sh->event_fd, &sh->event_buf, sizeof(sh->event_buf), 0);
	io_uring_sqe_set_data64(sqe, UD_EVENT);
}

/* Whether the peer of fd connects from the loopback interface (127.0.0.0/8
 * or ::1), the test Redis's protected mode applies. */
static bool shard_peer_is_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
	return ss.ss_family == AF_UNIX;
}

/* Refuses a new connection with a one-line error: the socket is fresh, so
 * the few bytes fit its send buffer and the write does not block. */
static void shard_refuse(struct shard *sh, int fd, const char *msg)
{
	sh->stats.rejected_conns++;
	if (msg && write(fd, msg, strlen(msg)) < 0) {
		/* The client is refused either way. */
	}
	close(fd);
}

static void shard_on_accept(struct shard *sh, uint64_t ud, struct io_uring_cqe *cqe)
{
	int i = (int)((ud - UD_ACCEPT) % SHARD_MAX_LISTEN);
	bool current = (ud - UD_ACCEPT) / SHARD_MAX_LISTEN == sh->listen_gen % UD_ACCEPT_GENS;

	if (current && !(cqe->flags & IORING_CQE_F_MORE) && !atomic_load(&srv.stop))
		shard_arm_accept(sh, i);
	if (cqe->res < 0) {
		if (current && cqe->res != -ECANCELED)
			log_warning("Accepting client connection: %s", strerror(-cqe->res));
		return;
	}
	sh->stats.conns_received++;
	if (atomic_fetch_add(&srv.nclients, 1) >= cfg.maxclients) {
		atomic_fetch_sub(&srv.nclients, 1);
		/* Before a handshake a TLS client could not read it: it only
		 * sees the connection close. */
		shard_refuse(sh, cqe->res, sh->listen_tls[i] ? NULL : "-ERR max number of clients reached\r\n");
		return;
	}
	/* Protected mode, as Redis 7.0 (clientAcceptHandler): with no password
	 * for the default user, only loopback peers are served, whatever the
	 * bind addresses. Checked after maxclients, as there. */
	if (cfg.protected_mode && acl_user_is_nopass(acl_default_user()) &&
	    !shard_peer_is_loopback(cqe->res)) {
		atomic_fetch_sub(&srv.nclients, 1);
		shard_refuse(sh, cqe->res, sh->listen_tls[i] ? NULL : SHARD_DENIED_MSG);
		return;
	}
	/* A tls-port listener makes a TLS client. */
	client_create(sh, cqe->res, sh->listen_tls[i]);
}

/* The earlier of two deadlines, 0 meaning none. */
static int64_t earliest(int64_t a, int64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

/* Periodic work: active expiry, rehash, eviction, client timeouts. Each part
 * is bounded so one tick holds the loop for about a millisecond. */
static void shard_cron(struct shard *sh)
{
	int64_t budget = 1000;
	int active = 0;

	kv_clock_update();
	for (int i = 0; i < cfg.databases; i++)
		if (kv_db_volatile(&sh->dbs[i]))
			active++;
	for (int i = 0; i < cfg.databases; i++) {
		if (kv_db_volatile(&sh->dbs[i]))
			kv_active_expire(&sh->dbs[i], budget / active);
		kv_db_cron(&sh->dbs[i], 100);
	}
	if (cfg.maxmemory && cfg.maxmemory_policy != MAXMEM_NOEVICTION) {
		int64_t t0 = util_monotonic_us();

		while (mem_used() > (size_t)cfg.maxmemory &&
		       kv_evict_one(sh->dbs, cfg.databases, cfg.maxmemory_policy,
				    cfg.maxmemory_samples))
			if (util_monotonic_us() - t0 > 1000)
				break;
	}
	shard_block_timer(sh, earliest(block_expire(sh), client_poll_blocked(sh)));
	multi_sweep(sh);
	client_cron(sh);
	blob_cron(sh);
	mem_used_peak_update();
}

static void shard_handle_cqe(struct shard *sh, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);

	if (ud >= UD_ACCEPT && ud < UD_ACCEPT_END) {
		shard_on_accept(sh, ud, cqe);
		return;
	}
	switch (ud) {
	case UD_TIMER:
		shard_cron(sh);
		if (!atomic_load(&srv.stop))
			shard_arm_timer(sh);
		return;
	case UD_EVENT:
		if (!atomic_load(&srv.stop))
			shard_arm_event(sh);
		return;
	case UD_BLOCK_TIMER:
		sh->block_timer_at = 0;
		kv_clock_update();
		shard_block_timer(sh, earliest(block_expire(sh), client_poll_blocked(sh)));
		return;
	case 0:
		return;
	}
	if ((ud & UD_TAG_MASK) == UD_TAG_RECV)
		client_on_recv((struct client *)(uintptr_t)(ud & ~(uint64_t)UD_TAG_MASK), cqe->res);
	else if ((ud & UD_TAG_MASK) == UD_TAG_SEND)
		client_on_send((struct client *)(uintptr_t)(ud & ~(uint64_t)UD_TAG_MASK), cqe->res);
	else if ((ud & UD_TAG_MASK) == UD_TAG_BLOB)
		blob_on_cqe(sh, (void *)(uintptr_t)(ud & ~(uint64_t)UD_TAG_MASK), cqe->res);
	else if ((ud & UD_TAG_MASK) == UD_TAG_POLL)
		client_on_poll((struct client *)(uintptr_t)(ud & ~(uint64_t)UD_TAG_MASK), cqe->res);
}

/*
 * Shutdown: large values acknowledged from memory (blob spills: MSET,
 * APPEND, SETRANGE, SET inside MULTI) may still be queued or being written.
 * Runs the blob tier's part of the loop until they are written and their
 * index records submitted (blob_close() commits those), bounded in time.
 * Other completions are dropped: the clients are closed next.
 */
#define SHARD_BLOB_DRAIN_US (30 * 1000000LL)

static void shard_blob_drain(struct shard *sh)
{
	int64_t deadline = util_monotonic_us() + SHARD_BLOB_DRAIN_US;

	while (blob_draining(sh)) {
		struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;

		if (util_monotonic_us() >= deadline) {
			log_warning("Shard %d: large values still unwritten at shutdown", sh->id);
			return;
		}
		blob_turn(sh);
		io_uring_submit_and_wait_timeout(&sh->ring, &cqe, 1, &ts, NULL);
		io_uring_for_each_cqe(&sh->ring, head, cqe) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);

			if (ud >= UD_ACCEPT + SHARD_MAX_LISTEN && (ud & UD_TAG_MASK) == UD_TAG_BLOB)
				blob_on_cqe(sh, (void *)(uintptr_t)(ud & ~(uint64_t)UD_TAG_MASK),
					    cqe->res);
			n++;
		}
		io_uring_cq_advance(&sh->ring, n);
	}
}

int shard_setup(struct shard *sh, int id)
{
	sh->id = id;
	sh->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sh->event_fd < 0)
		return -errno;
	sh->dbs = mem_calloc((size_t)cfg.databases, sizeof(*sh->dbs));
	for (int i = 0; i < cfg.databases; i++) {
		kv_db_init(&sh->dbs[i], i, &sh->kstats);
		sh->dbs[i].owner = id;
	}
	sh->cmdstats = mem_calloc((size_t)cmd_count_all(), sizeof(*sh->cmdstats));
	sh->lat = mem_calloc((size_t)cmd_count_all(), sizeof(*sh->lat));
	sh->errstats = mem_calloc(ERRSTAT_MAX, sizeof(*sh->errstats));
	return 0;
}

static int shard_ring_init(struct shard *sh)
{
	struct io_uring_params p;
	int ret;

	/* DEFER_TASKRUN (6.1+): completion work runs when this thread asks for
	 * events, not by interrupting it: at -P 16 it cut CPU per GET from 0.86
	 * to 0.77 us. It requires a single submitter, which a shard is. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL;
	ret = io_uring_queue_init_params((unsigned)cfg.io_uring_entries, &sh->ring, &p);
	if (ret < 0) {
		/* Older kernels: fall back to a plain ring. */
		memset(&p, 0, sizeof(p));
		ret = io_uring_queue_init_params((unsigned)cfg.io_uring_entries, &sh->ring, &p);
	}
	return ret;
}

int shard_loop_start(struct shard *sh)
{
	int ret;

	shard_self = sh;
	ret = shard_ring_init(sh);
	if (ret < 0) {
		log_warning("Shard %d: io_uring setup failed: %s", sh->id, strerror(-ret));
		return ret;
	}
	for (int i = 0; i < sh->nlisten; i++)
		shard_arm_accept(sh, i);
	shard_arm_timer(sh);
	shard_arm_event(sh);
	return 0;
}

unsigned shard_loop_turn(struct shard *sh, bool may_sleep)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	if (sh->relisten)
		shard_relisten(sh);
	if (may_sleep)
		atomic_store(&sh->sleeping, 1);
	if (!may_sleep || atomic_load(&sh->inbox) || atomic_load(&sh->park_req) ||
	    blob_pending(sh)) {
		atomic_store(&sh->sleeping, 0);
		/* With DEFER_TASKRUN completions are only reaped when we
		 * ask for events, so never just submit. */
		io_uring_submit_and_get_events(&sh->ring);
	} else {
		io_uring_submit_and_wait(&sh->ring, 1);
		atomic_store(&sh->sleeping, 0);
	}
	shard_check_park(sh);
	kv_clock_update();
	io_uring_for_each_cqe(&sh->ring, head, cqe) {
		shard_handle_cqe(sh, cqe);
		n++;
		shard_check_park(sh);
	}
	io_uring_cq_advance(&sh->ring, n);
	shard_drain_inbox(sh);
	blob_turn(sh);
	client_run_resumed(sh);
	client_run_parkq(sh);
	shard_flush_hops(sh);
	client_flush_dirty(sh);
	if (cfg.maxmemory_clients)
		client_evict(sh);
	return n;
}

void shard_loop_end(struct shard *sh)
{
	shard_blob_drain(sh);
	blob_shard_stop(sh);
	kv_evict_pool_free();
	for (int i = 0; i < sh->nlisten; i++)
		close(sh->listen_fds[i]);
	if (sh->relisten)
		for (int i = 0; i < sh->new_nlisten; i++)
			close(sh->new_listen_fds[i]);
	io_uring_queue_exit(&sh->ring);	/* cancels every operation in flight */
	client_close_all(sh);
	client_free_segs(sh);
	shard_free_batches(sh);
	sbuf_free(&hop_deferred);
	block_free_all(sh);
	multi_free_all(sh);
	pubsub_free_all(sh);
}

void *shard_main(void *arg)
{
	struct shard *sh = arg;

	if (shard_loop_start(sh) < 0) {
		atomic_store(&srv.stop, 1);
		return NULL;
	}
	while (!atomic_load(&srv.stop))
		shard_loop_turn(sh, true);
	/* Shutdown. A coordinator may still be finishing a parked command that
	 * needs us: keep answering park requests until every shard is out of
	 * its loop, after which no coordinator can exist. */
	atomic_fetch_add(&srv.exited, 1);
	for (unsigned spins = 0; atomic_load(&srv.exited) < srv.nshards;)
		{ shard_check_park(sh); spin_wait(&spins); }
	shard_loop_end(sh);
	return NULL;
}
