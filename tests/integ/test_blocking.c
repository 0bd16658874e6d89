/*
 * test_blocking.c - clients blocked on keys: BLPOP, BRPOP, BLMOVE,
 * BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
 *
 * The server is started with "--shards N", N from STRATA_TEST_SHARDS
 * (default 2; dropped for redis-server). Which of these commands the server
 * has is asked with COMMAND INFO first; a check that needs a missing one is
 * reported as skipped with the reason, so the program passes on a server
 * that does not have list or sorted set commands yet.
 *
 * A blocked client is a connection of its own. The test cannot choose its
 * shard, but for strata it can find it: EXISTS of a key of shard s hops
 * unless the connection lives on s, and INFO's shard_hops counts hops. Each
 * wake-up check then blocks on a key another shard owns, so the waiter lives
 * on the key's shard while the client and its reply live on another. Before
 * pushing, the test waits until CLIENT LIST shows the command as the
 * client's last one (it sends a PING first, so a stale name cannot match),
 * plus a short pause for the command to reach the key's shard. A command
 * over keys of two shards (BLPOP a b, BLMOVE a b, BZPOPMIN a b) must wait
 * too, as it does on redis-server, which has no slots to cross.
 *
 * Every expected reply is what redis-server 7.0.15 answers, including the
 * RESP2 null array that every blocking command answers on timeout (BLMOVE
 * too), while inside MULTI BLMOVE and BRPOPLPUSH answer a null bulk.
 */
#include "harness.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETTLE_MS 50		/* pause after the client shows as blocked */

static struct harness_server *srv;
static int nshards = 1;		/* 1 for redis-server */

/* ---- keys and shards ---- */

static unsigned slot_of(const char *s, size_t len)
{
	return harness_key_slot(s, len);
}

/* Writes into buf the first "<prefix>:<n>" whose slot is residue mod 8
 * (so its shard is residue mod N for N = 1, 2, 4, 8). */
static void pick_key(char *buf, size_t len, const char *prefix, unsigned residue)
{
	char pre[64];

	snprintf(pre, sizeof(pre), "%s:", prefix);
	harness_pick_key(buf, len, pre, "", 8, residue);
}

/* The shard of a key without a hash tag (0 on redis-server). */
static int key_shard(const char *key)
{
	return (int)(slot_of(key, strlen(key)) % (unsigned)nshards);
}

/* The shard to put keys on for a client on shard `shard`: another one. */
static unsigned away_from(int shard)
{
	return shard >= 0 && nshards > 1 ? (unsigned)((shard + 1) % nshards) : 0;
}

/* A hash tag "{<prefix>:<n>}" whose slot is residue mod 8: keys made from it
 * share one slot. */
static void pick_tag(char *buf, size_t len, const char *prefix, unsigned residue)
{
	char pre[64];

	snprintf(pre, sizeof(pre), "{%s:", prefix);
	harness_pick_key(buf, len, pre, "}", 8, residue);
}

/* The shard a strata connection lives on, or -1 (redis-server, or unsure). */
static int conn_shard(redisContext *c)
{
	if (nshards <= 1)
		return -1;
	for (int s = 0; s < nshards; s++) {
		char probe[32];
		long long before, after;

		pick_key(probe, sizeof(probe), "probe", (unsigned)s);
		before = harness_info_int(c, "stats", "shard_hops");
		freeReplyObject(cmd(c, "EXISTS %s", probe));
		after = harness_info_int(c, "stats", "shard_hops");
		if (before != LLONG_MIN && after == before)
			return s;
	}
	return -1;
}

/* ---- what the server has ---- */

static const char *const wanted[] = {
	"blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin", "bzpopmax", "bzmpop",
	"rpush", "lrange", "lmove", "zadd", "zrange",
};
#define NWANTED (sizeof(wanted) / sizeof(wanted[0]))
static bool have_cmd[NWANTED];

static bool has(const char *name)
{
	for (size_t i = 0; i < NWANTED; i++)
		if (!strcmp(wanted[i], name))
			return have_cmd[i];
	return false;
}

/*
 * True if the server has every command of the NULL-terminated list;
 * otherwise reports `what` as skipped, naming the missing one.
 */
static bool need(const char *what, ...)
{
	va_list ap;
	const char *name;

	va_start(ap, what);
	while ((name = va_arg(ap, const char *))) {
		if (!has(name)) {
			char reason[96];

			va_end(ap);
			snprintf(reason, sizeof(reason), "the server has no %s (not in COMMAND INFO)", name);
			skip(reason, "%s", what);
			return false;
		}
	}
	va_end(ap);
	return true;
}

static void probe_commands(redisContext *c)
{
	char missing[256] = "";

	for (size_t i = 0; i < NWANTED; i++) {
		redisReply *r = cmd(c, "COMMAND INFO %s", wanted[i]);

		have_cmd[i] = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
			      r->element[0]->type == REDIS_REPLY_ARRAY;
		if (!have_cmd[i])
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), " %s",
				 wanted[i]);
		if (r)
			freeReplyObject(r);
	}
	harness_diag("commands missing from COMMAND INFO:%s", *missing ? missing : " none");
}

/* ---- blocked clients ---- */

struct blocked {
	redisContext *c;
	long long id;		/* CLIENT ID */
	int shard;		/* conn_shard(), -1 if unknown */
};

static void blocked_open(struct blocked *b)
{
	struct timeval tv = { 4, 0 };	/* longer than any wait in the test */
	redisReply *r;

	b->c = harness_connect(srv);
	redisSetTimeout(b->c, tv);
	r = cmd(b->c, "CLIENT ID");
	b->id = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	if (r)
		freeReplyObject(r);
	b->shard = conn_shard(b->c);
}

static void blocked_close(struct blocked *b)
{
	redisFree(b->c);
	b->c = NULL;
}

/* Sends a command without reading its reply. */
static void vsend_only(redisContext *c, const char *fmt, va_list ap)
{
	int done = 0;

	if (redisvAppendCommand(c, fmt, ap) != REDIS_OK)
		harness_bail("cannot format %s", fmt);
	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			harness_bail("send %s: %s", fmt, c->errstr);
}

/* Waits until CLIENT LIST shows cmd=<name> for client id; true if it did. */
static bool wait_blocked(redisContext *ctl, long long id, const char *name)
{
	int64_t end = harness_mono_ms() + 5000;
	char want[64];

	snprintf(want, sizeof(want), " cmd=%s ", name);
	while (harness_mono_ms() < end) {
		redisReply *r = cmd(ctl, "CLIENT LIST ID %lld", id);
		bool seen = r && r->type == REDIS_REPLY_STRING && strstr(r->str, want);

		if (r)
			freeReplyObject(r);
		if (seen) {
			harness_sleep_ms(SETTLE_MS);
			return true;
		}
		harness_sleep_ms(10);
	}
	return false;
}

/*
 * Makes b's client send a blocking command (named name in CLIENT LIST) and
 * waits until it is blocked. The reply is read later with next_reply().
 */
static bool block_on(struct blocked *b, redisContext *ctl, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool block_on(struct blocked *b, redisContext *ctl, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (b->c->err) {
		/* An earlier reply never came: start over with a new client. */
		redisFree(b->c);
		blocked_open(b);
	}
	run(b->c, "PING");	/* so CLIENT LIST's cmd= is not a stale match */
	va_start(ap, fmt);
	vsend_only(b->c, fmt, ap);
	va_end(ap);
	return check(wait_blocked(ctl, b->id, name), "client %lld is blocked in %s", b->id, name);
}

/* connected_clients once closes still in flight have been seen: the same
 * count twice, 100 ms apart (at most 2 s). */
static long long settled_clients(redisContext *c)
{
	long long n = harness_info_int(c, "clients", "connected_clients"), prev;

	for (int i = 0; i < 20; i++) {
		harness_sleep_ms(100);
		prev = n;
		n = harness_info_int(c, "clients", "connected_clients");
		if (n == prev)
			break;
	}
	return n;
}

/* Polls INFO clients until connected_clients is want, up to 2 s. */
static long long wait_clients(redisContext *c, long long want)
{
	int64_t end = harness_mono_ms() + 2000;
	long long n;

	for (;;) {
		n = harness_info_int(c, "clients", "connected_clients");
		if (n == want || harness_mono_ms() > end)
			return n;
		harness_sleep_ms(10);
	}
}

/* The next reply on c; NULL on an I/O error. */
static redisReply *next_reply(redisContext *c)
{
	void *r = NULL;

	if (redisGetReply(c, &r) != REDIS_OK)
		return NULL;
	return r;
}

/* "key on shard X, client on shard Y" for descriptions. */
static const char *where(const struct blocked *b, const char *key, char *buf, size_t len)
{
	if (b->shard < 0)
		snprintf(buf, len, "slot %u", slot_of(key, strlen(key)));
	else
		snprintf(buf, len, "key on shard %d, client on shard %d", key_shard(key), b->shard);
	return buf;
}

/* ---- wake-ups ---- */

static void test_wake_list(redisContext *c)
{
	struct blocked b, b2;
	char k[32], k2[32], kx[32], tag[32], src[48], dst[48], w[96];
	char want[160];

	blocked_open(&b);
	pick_key(k, sizeof(k), "bl", away_from(b.shard));
	pick_key(k2, sizeof(k2), "bl2", away_from(b.shard));
	pick_key(kx, sizeof(kx), "blx", b.shard >= 0 ? (unsigned)b.shard : 1);
	pick_tag(tag, sizeof(tag), "bm", away_from(b.shard));
	snprintf(src, sizeof(src), "%s:src", tag);
	snprintf(dst, sizeof(dst), "%s:dst", tag);
	where(&b, k, w, sizeof(w));
	harness_diag("list wake-ups: %s", w);

	if (need("BLPOP woken by RPUSH", "blpop", "rpush", "lrange", NULL)) {
		run(c, "DEL %s", k);
		block_on(&b, c, "blpop", "BLPOP %s 3", k);
		expect_int(cmd(c, "RPUSH %s a b", k), 2, "RPUSH to the waited key answers its length 2");
		snprintf(want, sizeof(want), "['%s','a']", k);
		expect_reply(next_reply(b.c), want, "BLPOP is served the head (%s)", w);
		expect_reply(cmd(c, "LRANGE %s 0 -1", k), "['b']", "the rest stays in the list");
	}
	if (need("BRPOP woken by RPUSH", "brpop", "rpush", "lrange", NULL)) {
		run(c, "DEL %s", k);
		block_on(&b, c, "brpop", "BRPOP %s 3", k);
		expect_int(cmd(c, "RPUSH %s a b", k), 2, "RPUSH a b");
		snprintf(want, sizeof(want), "['%s','b']", k);
		expect_reply(next_reply(b.c), want, "BRPOP is served the tail (%s)", w);
		expect_reply(cmd(c, "LRANGE %s 0 -1", k), "['a']", "the head stays in the list");
	}
	if (need("BLPOP on two keys of one shard", "blpop", "rpush", NULL)) {
		run(c, "DEL %s %s", k, k2);
		block_on(&b, c, "blpop", "BLPOP %s %s 3", k, k2);
		expect_int(cmd(c, "RPUSH %s x", k2), 1, "RPUSH to the second key");
		snprintf(want, sizeof(want), "['%s','x']", k2);
		expect_reply(next_reply(b.c), want, "BLPOP over two keys is served by the second");
	}
	if (need("BLPOP on keys of two shards", "blpop", "rpush", NULL)) {
		run(c, "DEL %s %s", k, kx);
		block_on(&b, c, "blpop", "BLPOP %s %s 3", kx, k);
		expect_int(cmd(c, "RPUSH %s y", k), 1, "RPUSH to %s (slot %u)", k, slot_of(k, strlen(k)));
		snprintf(want, sizeof(want), "['%s','y']", k);
		expect_reply(next_reply(b.c), want,
			     "BLPOP over %s (slot %u) and %s (slot %u) waits and is served", kx,
			     slot_of(kx, strlen(kx)), k, slot_of(k, strlen(k)));
		run(c, "DEL %s %s", k, kx);
	}
	if (need("BLMOVE woken by RPUSH", "blmove", "rpush", "lrange", NULL)) {
		run(c, "DEL %s %s", src, dst);
		block_on(&b, c, "blmove", "BLMOVE %s %s LEFT RIGHT 3", src, dst);
		expect_int(cmd(c, "RPUSH %s x y", src), 2, "RPUSH x y to the source");
		expect_str(next_reply(b.c), "x", "BLMOVE LEFT RIGHT answers the moved element");
		expect_reply(cmd(c, "LRANGE %s 0 -1", src), "['y']", "the source keeps y");
		expect_reply(cmd(c, "LRANGE %s 0 -1", dst), "['x']", "the destination got x");
	}
	if (need("BRPOPLPUSH woken by RPUSH", "brpoplpush", "rpush", "lrange", NULL)) {
		run(c, "DEL %s %s", src, dst);
		block_on(&b, c, "brpoplpush", "BRPOPLPUSH %s %s 3", src, dst);
		expect_int(cmd(c, "RPUSH %s x y", src), 2, "RPUSH x y to the source");
		expect_str(next_reply(b.c), "y", "BRPOPLPUSH answers the tail");
		expect_reply(cmd(c, "LRANGE %s 0 -1", dst), "['y']", "pushed to the destination");
		expect_reply(cmd(c, "LRANGE %s 0 -1", src), "['x']", "the source keeps x");
	}
	if (need("BLMOVE between keys of two shards", "blmove", "rpush", "lrange", NULL)) {
		run(c, "DEL %s %s", k, kx);
		block_on(&b, c, "blmove", "BLMOVE %s %s RIGHT LEFT 3", k, kx);
		expect_int(cmd(c, "RPUSH %s p", k), 1, "RPUSH p to the source");
		expect_str(next_reply(b.c), "p", "BLMOVE from %s (slot %u) to %s (slot %u) waits and "
			   "moves", k, slot_of(k, strlen(k)), kx, slot_of(kx, strlen(kx)));
		expect_reply(cmd(c, "LRANGE %s 0 -1", kx), "['p']", "the destination got p");
		run(c, "DEL %s %s", k, kx);
	}
	if (need("BLMPOP woken by RPUSH", "blmpop", "rpush", "lrange", NULL)) {
		run(c, "DEL %s %s", k, k2);
		block_on(&b, c, "blmpop", "BLMPOP 3 2 %s %s LEFT COUNT 2", k, k2);
		expect_int(cmd(c, "RPUSH %s a b c", k2), 3, "RPUSH a b c to the second key");
		snprintf(want, sizeof(want), "['%s',['a','b']]", k2);
		expect_reply(next_reply(b.c), want, "BLMPOP COUNT 2 is served two elements");
		expect_reply(cmd(c, "LRANGE %s 0 -1", k2), "['c']", "c stays");
	}
	if (need("BLPOP woken by LMOVE into the key", "blpop", "rpush", "lmove", NULL)) {
		run(c, "DEL %s %s", k, kx);
		block_on(&b, c, "blpop", "BLPOP %s 3", k);
		expect_int(cmd(c, "RPUSH %s v", kx), 1, "RPUSH v to another list");
		expect_str(cmd(c, "LMOVE %s %s LEFT LEFT", kx, k), "v", "LMOVE it into the waited key");
		snprintf(want, sizeof(want), "['%s','v']", k);
		expect_reply(next_reply(b.c), want, "BLPOP is served what LMOVE pushed");
	}
	if (need("BLPOP woken by pushes in MULTI/EXEC", "blpop", "rpush", "lrange", NULL)) {
		run(c, "DEL %s", k);
		block_on(&b, c, "blpop", "BLPOP %s 3", k);
		run(c, "MULTI");
		run(c, "RPUSH %s a", k);
		run(c, "SET %s other-shard", kx);
		run(c, "RPUSH %s b", k);
		expect_reply(cmd(c, "EXEC"), "[1,+OK,2]",
			     "EXEC of two RPUSHes and a SET on another shard runs all before serving");
		snprintf(want, sizeof(want), "['%s','a']", k);
		expect_reply(next_reply(b.c), want, "then BLPOP is served the head");
		expect_reply(cmd(c, "LRANGE %s 0 -1", k), "['b']", "b stays");
		run(c, "DEL %s %s", k, kx);
	}
	if (need("BLPOP waits on its own database", "blpop", "rpush", "lrange", NULL)) {
		run(c, "DEL %s", k);
		run(b.c, "SELECT 1");
		run(b.c, "DEL %s", k);
		block_on(&b, c, "blpop", "BLPOP %s 3", k);
		expect_int(cmd(c, "RPUSH %s db0", k), 1, "RPUSH to the same name in db 0");
		run(c, "SELECT 1");
		expect_int(cmd(c, "RPUSH %s db1", k), 1, "RPUSH to it in db 1");
		snprintf(want, sizeof(want), "['%s','db1']", k);
		expect_reply(next_reply(b.c), want, "BLPOP in db 1 is served from db 1 only");
		run(c, "SELECT 0");
		expect_reply(cmd(c, "LRANGE %s 0 -1", k), "['db0']", "db 0's list is untouched");
		run(b.c, "SELECT 0");
	}
	if (need("a chain of two BLMOVEs", "blmove", "rpush", "lrange", NULL)) {
		char a[48], bb[48], cc[48];

		blocked_open(&b2);
		pick_tag(tag, sizeof(tag), "ch", away_from(b.shard));
		snprintf(a, sizeof(a), "%s:a", tag);
		snprintf(bb, sizeof(bb), "%s:b", tag);
		snprintf(cc, sizeof(cc), "%s:c", tag);
		run(c, "DEL %s %s %s", a, bb, cc);
		block_on(&b, c, "blmove", "BLMOVE %s %s LEFT LEFT 3", a, bb);
		block_on(&b2, c, "blmove", "BLMOVE %s %s LEFT LEFT 3", bb, cc);
		expect_int(cmd(c, "RPUSH %s x", a), 1, "RPUSH x to the head of the chain");
		expect_str(next_reply(b.c), "x", "the first BLMOVE moves x on");
		expect_str(next_reply(b2.c), "x", "which wakes the second BLMOVE");
		expect_reply(cmd(c, "LRANGE %s 0 -1", cc), "['x']", "x ends in the last list");
		expect_int(cmd(c, "EXISTS %s %s", a, bb), 0, "the first two lists are empty");
		blocked_close(&b2);
	}
	run(c, "FLUSHALL");
	blocked_close(&b);
}

static void test_wake_zset(redisContext *c)
{
	struct blocked b;
	char z[32], zx[32], w[96], want[160];

	blocked_open(&b);
	pick_key(z, sizeof(z), "bz", away_from(b.shard));
	pick_key(zx, sizeof(zx), "bzx", b.shard >= 0 ? (unsigned)b.shard : 1);
	where(&b, z, w, sizeof(w));
	harness_diag("sorted set wake-ups: %s", w);

	if (need("BZPOPMIN woken by ZADD", "bzpopmin", "zadd", "zrange", NULL)) {
		run(c, "DEL %s", z);
		block_on(&b, c, "bzpopmin", "BZPOPMIN %s 3", z);
		expect_int(cmd(c, "ZADD %s 2 b 1 a", z), 2, "ZADD two members");
		snprintf(want, sizeof(want), "['%s','a','1']", z);
		expect_reply(next_reply(b.c), want, "BZPOPMIN is served the lowest (%s)", w);
		expect_reply(cmd(c, "ZRANGE %s 0 -1", z), "['b']", "b stays");
	}
	if (need("BZPOPMAX woken by ZADD", "bzpopmax", "zadd", "zrange", NULL)) {
		run(c, "DEL %s", z);
		block_on(&b, c, "bzpopmax", "BZPOPMAX %s 3", z);
		expect_int(cmd(c, "ZADD %s 1 a 2 b", z), 2, "ZADD two members");
		snprintf(want, sizeof(want), "['%s','b','2']", z);
		expect_reply(next_reply(b.c), want, "BZPOPMAX is served the highest");
		expect_reply(cmd(c, "ZRANGE %s 0 -1", z), "['a']", "a stays");
	}
	if (need("BZMPOP woken by ZADD", "bzmpop", "zadd", "zrange", NULL)) {
		run(c, "DEL %s", z);
		block_on(&b, c, "bzmpop", "BZMPOP 3 1 %s MIN COUNT 2", z);
		expect_int(cmd(c, "ZADD %s 1 a 2 b 3 c", z), 3, "ZADD three members");
		snprintf(want, sizeof(want), "['%s',[['a','1'],['b','2']]]", z);
		expect_reply(next_reply(b.c), want, "BZMPOP MIN COUNT 2 is served two pairs");
		expect_reply(cmd(c, "ZRANGE %s 0 -1", z), "['c']", "c stays");
	}
	if (need("BZPOPMIN on keys of two shards", "bzpopmin", "zadd", NULL)) {
		run(c, "DEL %s %s", z, zx);
		block_on(&b, c, "bzpopmin", "BZPOPMIN %s %s 3", zx, z);
		expect_int(cmd(c, "ZADD %s 5 m", z), 1, "ZADD to %s", z);
		snprintf(want, sizeof(want), "['%s','m','5']", z);
		expect_reply(next_reply(b.c), want, "BZPOPMIN over %s (slot %u) and %s (slot %u) waits "
			     "and is served", zx, slot_of(zx, strlen(zx)), z, slot_of(z, strlen(z)));
	}
	run(c, "FLUSHALL");
	blocked_close(&b);
}

/* ---- timeouts and errors ---- */

/* Runs a blocking command expected to time out; checks nil and its time. */
static void timed_nil(redisContext *c, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void timed_nil(redisContext *c, const char *what, const char *fmt, ...)
{
	int64_t t0 = harness_mono_ms();
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	expect_nil(r, "%s times out with a nil reply", what);
	check_int_range(harness_mono_ms() - t0, 150, 1000, "%s took 150..1000 ms", what);
}

/* Sends a command of space-separated words as a RESP multibulk. */
static void raw_cmd(struct harness_raw *raw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void raw_cmd(struct harness_raw *raw, const char *fmt, ...)
{
	char line[512], buf[1024];
	const char *w[32];
	size_t wl[32], off;
	int n = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (const char *p = line; *p && n < 32;) {
		const char *e = strchr(p, ' ');

		w[n] = p;
		wl[n] = e ? (size_t)(e - p) : strlen(p);
		n++;
		p = e ? e + 1 : p + strlen(p);
	}
	off = (size_t)snprintf(buf, sizeof(buf), "*%d\r\n", n);
	for (int i = 0; i < n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "$%zu\r\n%.*s\r\n", wl[i],
					(int)wl[i], w[i]);
	raw_send(raw, buf, off);
}

static void test_timeouts(redisContext *c)
{
	struct blocked b;
	char k[32], k2[32], w[96];
	struct harness_raw *raw;

	blocked_open(&b);
	pick_key(k, sizeof(k), "bt", away_from(b.shard));
	pick_key(k2, sizeof(k2), "bt2", away_from(b.shard));
	if (need("BLPOP timeouts", "blpop", NULL)) {
		for (int s = 0; s < nshards; s++) {
			char ks[32];

			pick_key(ks, sizeof(ks), "bts", (unsigned)s);
			timed_nil(b.c, "BLPOP", "BLPOP %s 0.2", ks);
			harness_diag("BLPOP timeout above: %s", where(&b, ks, w, sizeof(w)));
		}
		expect_err(cmd(b.c, "BLPOP %s -1", k), "ERR timeout is negative", "BLPOP negative timeout");
		expect_err(cmd(b.c, "BLPOP %s abc", k), "ERR timeout is not a float or out of range",
			   "BLPOP timeout not a number");
		run(c, "SET %s x", k);
		expect_err(cmd(b.c, "BLPOP %s 1", k),
			   "WRONGTYPE Operation against a key holding the wrong kind of value",
			   "BLPOP on a string answers WRONGTYPE at once");
		run(c, "DEL %s", k);
	}
	if (need("BRPOP timeout", "brpop", NULL))
		timed_nil(b.c, "BRPOP", "BRPOP %s 0.2", k);
	if (need("BLMOVE timeout", "blmove", NULL))
		timed_nil(b.c, "BLMOVE", "BLMOVE %s %s LEFT LEFT 0.2", k, k2);
	if (need("BLMPOP timeout", "blmpop", NULL)) {
		timed_nil(b.c, "BLMPOP", "BLMPOP 0.2 2 %s %s RIGHT", k, k2);
		expect_err(cmd(b.c, "BLMPOP 1 0 %s LEFT", k), "ERR numkeys should be greater than 0",
			   "BLMPOP numkeys 0");
	}
	if (need("BZPOPMIN timeout", "bzpopmin", NULL)) {
		timed_nil(b.c, "BZPOPMIN", "BZPOPMIN %s 0.2", k);
		expect_err(cmd(b.c, "BZPOPMIN %s -1", k), "ERR timeout is negative",
			   "BZPOPMIN negative timeout");
	}
	if (need("BZMPOP timeout", "bzmpop", NULL))
		timed_nil(b.c, "BZMPOP", "BZMPOP 0.2 1 %s MAX", k);
	if (need("BZPOPMIN on a list", "bzpopmin", "rpush", NULL)) {
		run(c, "RPUSH %s x", k);
		expect_err(cmd(b.c, "BZPOPMIN %s 1", k),
			   "WRONGTYPE Operation against a key holding the wrong kind of value",
			   "BZPOPMIN on a list answers WRONGTYPE at once");
		run(c, "DEL %s", k);
	}
	blocked_close(&b);

	/* Exact timeout replies: a null array in RESP2, whatever the command. */
	raw = raw_connect(srv);
	{
		static const char *const lines[][2] = {
			{ "blpop", "BLPOP %s 0.05" },
			{ "brpop", "BRPOP %s 0.05" },
			{ "blmove", "BLMOVE %s %s-d LEFT RIGHT 0.05" },
			{ "brpoplpush", "BRPOPLPUSH %s %s-d 0.05" },
			{ "blmpop", "BLMPOP 0.05 1 %s LEFT" },
			{ "bzpopmin", "BZPOPMIN %s 0.05" },
			{ "bzpopmax", "BZPOPMAX %s 0.05" },
			{ "bzmpop", "BZMPOP 0.05 1 %s MIN" },
		};

		for (int proto = 2; proto <= 3; proto++) {
			if (proto == 3) {
				char *hello;

				raw_cmd(raw, "HELLO 3");
				hello = raw_read_reply(raw, 10000, NULL);
				free(hello);
			}
			for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
				char what[64];

				snprintf(what, sizeof(what), "RESP%d %s timeout reply", proto, lines[i][0]);
				if (!need(what, lines[i][0], NULL))
					continue;
				if (strstr(lines[i][1], "%s-d"))
					raw_cmd(raw, lines[i][1], k, k);
				else
					raw_cmd(raw, lines[i][1], k);
				expect_raw_reply(raw, proto == 2 ? "*-1\r\n" : "_\r\n", "%s is %s", what,
						 proto == 2 ? "a null array" : "a RESP3 null");
			}
		}
	}
	raw_close(raw);
}

/* ---- order, CLIENT UNBLOCK, disconnects ---- */

static void test_fifo(redisContext *c)
{
	struct blocked b[3];
	char k[32], want[96];

	if (!need("FIFO order of blocked clients", "blpop", "rpush", "lrange", NULL))
		return;
	for (int i = 0; i < 3; i++)
		blocked_open(&b[i]);
	pick_key(k, sizeof(k), "bf", away_from(b[0].shard));
	harness_diag("FIFO: key on shard %d, clients on shards %d %d %d", key_shard(k), b[0].shard,
		     b[1].shard, b[2].shard);
	run(c, "DEL %s", k);
	for (int i = 0; i < 3; i++)
		block_on(&b[i], c, "blpop", "BLPOP %s 3", k);
	check_int(harness_info_int(c, "clients", "blocked_clients"), 3,
		  "INFO clients blocked_clients counts the 3 blocked clients");
	expect_int(cmd(c, "RPUSH %s a b c", k), 3, "one RPUSH of three elements");
	for (int i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "['%s','%c']", k, 'a' + i);
		expect_reply(next_reply(b[i].c), want, "client %d (blocked %s) gets '%c'", i,
			     i == 0 ? "first" : i == 1 ? "second" : "third", 'a' + i);
	}
	expect_empty_array(cmd(c, "LRANGE %s 0 -1", k), "the list is empty");
	check_int(harness_info_int(c, "clients", "blocked_clients"), 0,
		  "blocked_clients is 0 once they are served");

	block_on(&b[1], c, "blpop", "BLPOP %s 3", k);
	block_on(&b[0], c, "blpop", "BLPOP %s 3", k);
	expect_int(cmd(c, "RPUSH %s x", k), 1, "RPUSH x");
	snprintf(want, sizeof(want), "['%s','x']", k);
	expect_reply(next_reply(b[1].c), want, "the client that blocked first gets x");
	expect_int(cmd(c, "RPUSH %s y", k), 1, "RPUSH y");
	snprintf(want, sizeof(want), "['%s','y']", k);
	expect_reply(next_reply(b[0].c), want, "the other one gets y");
	for (int i = 0; i < 3; i++)
		blocked_close(&b[i]);
	run(c, "DEL %s", k);
}

static void test_unblock(redisContext *c)
{
	struct blocked b;
	char k[32], k2[32];

	expect_int(cmd(c, "CLIENT UNBLOCK 999999999"), 0, "CLIENT UNBLOCK of an unknown id is 0");
	expect_err(cmd(c, "CLIENT UNBLOCK 1 FOO"), "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
		   "CLIENT UNBLOCK with a bad reason");
	expect_err(cmd(c, "CLIENT UNBLOCK abc"), "ERR value is not an integer or out of range",
		   "CLIENT UNBLOCK of a non-number");
	blocked_open(&b);
	expect_int(cmd(c, "CLIENT UNBLOCK %lld", b.id), 0,
		   "CLIENT UNBLOCK of a client that is not blocked is 0");
	if (!need("CLIENT UNBLOCK of a blocked client", "blpop", "rpush", "lrange", NULL)) {
		blocked_close(&b);
		return;
	}
	pick_key(k, sizeof(k), "bu", away_from(b.shard));
	pick_key(k2, sizeof(k2), "bu2", away_from(b.shard));
	run(c, "DEL %s", k);

	block_on(&b, c, "blpop", "BLPOP %s 0", k);
	expect_int(cmd(c, "CLIENT UNBLOCK %lld", b.id), 1, "CLIENT UNBLOCK of a blocked BLPOP is 1");
	expect_nil(next_reply(b.c), "the BLPOP answers nil, as on timeout");
	expect_status(cmd(b.c, "PING"), "PONG", "and the client goes on");

	block_on(&b, c, "blpop", "BLPOP %s 0", k);
	expect_int(cmd(c, "CLIENT UNBLOCK %lld TIMEOUT", b.id), 1, "CLIENT UNBLOCK TIMEOUT");
	expect_nil(next_reply(b.c), "the BLPOP answers nil");

	block_on(&b, c, "blpop", "BLPOP %s 0", k);
	expect_int(cmd(c, "CLIENT UNBLOCK %lld ERROR", b.id), 1, "CLIENT UNBLOCK ERROR");
	expect_err(next_reply(b.c), "UNBLOCKED client unblocked via CLIENT UNBLOCK",
		   "the BLPOP answers the -UNBLOCKED error");
	expect_int(cmd(c, "CLIENT UNBLOCK %lld", b.id), 0, "it is no longer blocked");

	expect_int(cmd(c, "RPUSH %s v", k), 1, "RPUSH after the unblocks");
	expect_reply(cmd(c, "LRANGE %s 0 -1", k), "['v']", "no leftover waiter took the value");
	run(c, "DEL %s", k);

	if (need("CLIENT UNBLOCK of BLMOVE", "blmove", NULL)) {
		block_on(&b, c, "blmove", "BLMOVE %s %s LEFT LEFT 0", k, k2);
		expect_int(cmd(c, "CLIENT UNBLOCK %lld", b.id), 1, "CLIENT UNBLOCK of a blocked BLMOVE");
		expect_nil(next_reply(b.c), "BLMOVE answers nil");
	}
	if (need("CLIENT UNBLOCK of BZPOPMIN", "bzpopmin", NULL)) {
		block_on(&b, c, "bzpopmin", "BZPOPMIN %s 0", k);
		expect_int(cmd(c, "CLIENT UNBLOCK %lld ERROR", b.id), 1,
			   "CLIENT UNBLOCK ERROR of a blocked BZPOPMIN");
		expect_err(next_reply(b.c), "UNBLOCKED client unblocked via CLIENT UNBLOCK",
			   "BZPOPMIN answers the -UNBLOCKED error");
	}
	blocked_close(&b);
}

static void test_disconnect(redisContext *c)
{
	struct blocked b1, b2;
	char k[32], want[96];
	long long clients;

	if (!need("a blocked client that disconnects", "blpop", "rpush", "lrange", NULL))
		return;
	blocked_open(&b1);
	pick_key(k, sizeof(k), "bd", away_from(b1.shard));
	run(c, "DEL %s", k);
	block_on(&b1, c, "blpop", "BLPOP %s 0", k);
	clients = settled_clients(c);
	blocked_close(&b1);
	check_int(wait_clients(c, clients - 1), clients - 1, "the blocked client is gone");
	expect_int(cmd(c, "RPUSH %s v", k), 1, "RPUSH after it left");
	expect_reply(cmd(c, "LRANGE %s 0 -1", k), "['v']", "the value stays in the list");
	run(c, "DEL %s", k);

	blocked_open(&b1);
	block_on(&b1, c, "blpop", "BLPOP %s 0", k);
	clients = settled_clients(c);
	expect_int(cmd(c, "CLIENT KILL ID %lld", b1.id), 1, "CLIENT KILL of a blocked client");
	check_int(wait_clients(c, clients - 1), clients - 1, "the killed client is gone");
	expect_int(cmd(c, "RPUSH %s v", k), 1, "RPUSH after the kill");
	expect_reply(cmd(c, "LRANGE %s 0 -1", k), "['v']", "the value stays in the list");
	blocked_close(&b1);
	run(c, "DEL %s", k);

	blocked_open(&b1);
	blocked_open(&b2);
	block_on(&b1, c, "blpop", "BLPOP %s 0", k);
	block_on(&b2, c, "blpop", "BLPOP %s 0", k);
	clients = settled_clients(c);
	blocked_close(&b1);
	check_int(wait_clients(c, clients - 1), clients - 1, "the first of two blocked clients left");
	expect_int(cmd(c, "RPUSH %s w", k), 1, "RPUSH");
	snprintf(want, sizeof(want), "['%s','w']", k);
	expect_reply(next_reply(b2.c), want, "the second blocked client is served");
	expect_empty_array(cmd(c, "LRANGE %s 0 -1", k), "and the list is empty");
	blocked_close(&b2);
}

/* A RESP3 client served after blocking gets RESP3 types (a double score). */
static void test_resp3_served(redisContext *c)
{
	struct harness_raw *raw;
	char k[32], want[128], *id;
	long long rid;

	if (!need("RESP3 replies of served blocked clients", "blpop", "bzpopmin", "rpush", "zadd", NULL))
		return;
	raw = raw_connect(srv);
	raw_cmd(raw, "HELLO 3");
	free(raw_read_reply(raw, 10000, NULL));
	raw_cmd(raw, "CLIENT ID");
	id = raw_read_reply(raw, 10000, NULL);
	rid = id && id[0] == ':' ? atoll(id + 1) : -1;
	free(id);
	pick_key(k, sizeof(k), "b3", 1);
	run(c, "DEL %s", k);

	raw_cmd(raw, "BZPOPMIN %s 3", k);
	check(wait_blocked(c, rid, "bzpopmin"), "the RESP3 client is blocked in BZPOPMIN");
	expect_int(cmd(c, "ZADD %s 1.5 a", k), 1, "ZADD 1.5 a");
	snprintf(want, sizeof(want), "*3\r\n$%zu\r\n%s\r\n$1\r\na\r\n,1.5\r\n", strlen(k), k);
	expect_raw_reply(raw, want, "served BZPOPMIN in RESP3 has a double score");

	raw_cmd(raw, "PING");
	expect_raw_reply(raw, "+PONG\r\n", "PING");
	raw_cmd(raw, "BLPOP %s 3", k);
	check(wait_blocked(c, rid, "blpop"), "the RESP3 client is blocked in BLPOP");
	expect_int(cmd(c, "RPUSH %s w", k), 1, "RPUSH w");
	snprintf(want, sizeof(want), "*2\r\n$%zu\r\n%s\r\n$1\r\nw\r\n", strlen(k), k);
	expect_raw_reply(raw, want, "served BLPOP in RESP3");
	raw_close(raw);
	run(c, "DEL %s", k);
}

/* ---- MULTI and pipelining ---- */

static void test_in_multi(redisContext *c)
{
	static const char *const lines[][3] = {
		{ "blpop", "BLPOP %s 0", "*-1\r\n" },
		{ "brpop", "BRPOP %s 0", "*-1\r\n" },
		{ "blmove", "BLMOVE %s %s-d LEFT LEFT 0", "$-1\r\n" },
		{ "brpoplpush", "BRPOPLPUSH %s %s-d 0", "$-1\r\n" },
		{ "blmpop", "BLMPOP 0 1 %s LEFT", "*-1\r\n" },
		{ "bzpopmin", "BZPOPMIN %s 0", "*-1\r\n" },
		{ "bzpopmax", "BZPOPMAX %s 0", "*-1\r\n" },
		{ "bzmpop", "BZMPOP 0 1 %s MIN", "*-1\r\n" },
	};
	struct harness_raw *raw = raw_connect(srv);
	char k[32], body[256] = "", want[300];
	size_t n = 0;
	int64_t t0;

	pick_key(k, sizeof(k), "bmul", 1);
	run(c, "DEL %s", k);
	raw_cmd(raw, "MULTI");
	expect_raw_reply(raw, "+OK\r\n", "MULTI");
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!has(lines[i][0]))
			continue;
		if (strstr(lines[i][1], "%s-d"))
			raw_cmd(raw, lines[i][1], k, k);
		else
			raw_cmd(raw, lines[i][1], k);
		expect_raw_reply(raw, "+QUEUED\r\n", "%s is queued", lines[i][0]);
		strcat(body, lines[i][2]);
		n++;
	}
	if (!n)
		skip("the server has no blocking command", "blocking commands inside MULTI");
	t0 = harness_mono_ms();
	raw_cmd(raw, "EXEC");
	snprintf(want, sizeof(want), "*%zu\r\n%s", n, body);
	expect_raw_reply(raw, want, "EXEC of %zu blocking commands on missing keys answers at once, "
			 "nulls as their non-blocking forms", n);
	check_int_range(harness_mono_ms() - t0, 0, 500, "EXEC did not wait");

	if (need("BLPOP inside MULTI with data", "blpop", "rpush", NULL)) {
		run(c, "RPUSH %s a", k);
		raw_cmd(raw, "MULTI");
		expect_raw_reply(raw, "+OK\r\n", "MULTI");
		raw_cmd(raw, "BLPOP %s 0", k);
		expect_raw_reply(raw, "+QUEUED\r\n", "BLPOP is queued");
		raw_cmd(raw, "EXEC");
		snprintf(want, sizeof(want), "*1\r\n*2\r\n$%zu\r\n%s\r\n$1\r\na\r\n", strlen(k), k);
		expect_raw_reply(raw, want, "BLPOP inside MULTI pops what is there");
	}
	raw_close(raw);
	run(c, "FLUSHALL");
}

static void test_pipeline(redisContext *c)
{
	struct harness_raw *raw;
	char k[32], x[32], buf[256], want[96];
	char *got;

	if (!need("commands pipelined after a BLPOP", "blpop", "rpush", NULL))
		return;
	pick_key(k, sizeof(k), "bp", 0);
	pick_key(x, sizeof(x), "bpx", 1);
	run(c, "DEL %s %s", k, x);
	raw = raw_connect(srv);
	snprintf(buf, sizeof(buf),
		 "*3\r\n$5\r\nBLPOP\r\n$%zu\r\n%s\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n"
		 "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$1\r\ny\r\n", strlen(k), k, strlen(x), x);
	raw_send(raw, buf, strlen(buf));
	got = raw_read_reply(raw, 300, NULL);
	check(got == NULL, "nothing is answered while the BLPOP at the head of the pipeline waits");
	free(got);
	expect_nil(cmd(c, "GET %s", x), "the SET pipelined after the BLPOP has not run");
	expect_int(cmd(c, "RPUSH %s v", k), 1, "RPUSH wakes the BLPOP");
	snprintf(want, sizeof(want), "*2\r\n$%zu\r\n%s\r\n$1\r\nv\r\n", strlen(k), k);
	expect_raw_reply(raw, want, "first the BLPOP reply");
	expect_raw_reply(raw, "+PONG\r\n", "then PING's");
	expect_raw_reply(raw, "+OK\r\n", "then SET's");
	expect_str(cmd(c, "GET %s", x), "y", "and the SET ran");
	raw_close(raw);
	run(c, "DEL %s %s", k, x);
}

int main(void)
{
	const char *shards = getenv("STRATA_TEST_SHARDS");
	redisContext *c;
	long long n;

	harness_init("test_blocking: clients blocked on keys");
	srv = harness_server_start("--shards", shards && *shards ? shards : "2");
	c = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");
	n = harness_info_int(c, "server", "shards");
	nshards = n > 1 && n <= 64 ? (int)n : 1;
	probe_commands(c);

	test_wake_list(c);
	test_wake_zset(c);
	test_timeouts(c);
	test_fifo(c);
	test_unblock(c);
	test_disconnect(c);
	test_resp3_served(c);
	test_in_multi(c);
	test_pipeline(c);

	redisFree(c);
	harness_server_stop(srv);
	return harness_done();
}
