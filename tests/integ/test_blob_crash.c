/*
 * test_blob_crash.c - a large value acknowledged with +OK survives kill -9.
 *
 * DESIGN.md section 3: "under every setting, a write acknowledged with +OK
 * survives a crash of the server process (kill -9)". Each of CRASH_CYCLES
 * cycles (20, or STRATA_CRASH_CYCLES):
 *
 *  1. starts strata on one fixed data dir (--shards 2, --blob-fsync
 *     everysec);
 *  2. runs WRITERS threads, each owning KEYS_PER_WRITER keys, that SET
 *     values of 64 KiB to 4 MiB (and now and then DEL a key), one command
 *     in flight per thread. A key's state is recorded only once the server
 *     answered: the generation acknowledged by +OK (or "deleted" by a DEL's
 *     reply), and the command in flight, if any;
 *  3. SIGKILLs the server 50 to 800 ms after the writers started;
 *  4. runs strata-check-blob --deep on the dir of the killed server;
 *  5. restarts the server on the same dir and reads every key: it must hold
 *     its acknowledged generation, byte for byte, or be absent if its last
 *     acknowledged command deleted it (or it never had a value); the only
 *     other thing allowed is the result of the command that was in flight
 *     at the kill (its SET's generation, whole, or the absence a DEL in
 *     flight would leave). A key whose acknowledged DEL the crash undid
 *     (it holds, whole, the very generation the DEL removed) is counted
 *     apart and fails its own check: DEL answers only after its index
 *     delete committed;
 *  6. stops it with SIGTERM and runs strata-check-blob --deep again.
 *
 * A value is self-describing: a 64-byte text header "crash <key> <gen>
 * <len> <sum>" followed by bytes generated from the key and generation, so
 * that any value read back is checked whole, and a value of some other
 * generation or key is recognised as such. What a key holds after a cycle,
 * as read, is what the next cycle starts from.
 *
 * After the cycles, two targeted kills:
 *  - values made in memory (MSET, APPEND, SETRANGE, COPY, SET inside
 *    MULTI: blob.c's spills), killed right after their answer, must all be
 *    there after the restart, whole;
 *  - deletes and metadata changes of large keys (DEL, UNLINK, GETDEL,
 *    EXPIRE, PEXPIREAT, PERSIST, GETEX, RENAME, MOVE, then FLUSHALL),
 *    pipelined and killed right after the last answer, must all hold after
 *    the restart: no deleted key back, every TTL as it was answered.
 *
 * A cycle passes when every check in it passed. The program prints
 * "# N passed, M failed" over the cycles at the end and takes about
 * 2-5 s a cycle; the watchdog is 280 s unless STRATA_TEST_TIMEOUT says
 * otherwise. blob-specific: it skips on redis-server and on an external
 * server.
 */
#include "harness.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRASH_CYCLES 20
#define WRITERS 3
#define KEYS_PER_WRITER 6
#define NKEYS (WRITERS * KEYS_PER_WRITER)
#define HDR 64			/* bytes of the text header */
#define MIN_LEN (64u << 10)
#define MAX_LEN (4u << 20)
#define KILL_MIN_MS 50
#define KILL_MAX_MS 800

#define IN_FLIGHT_NONE 0
#define IN_FLIGHT_DEL (-1)

/* One key. Written by its writer thread only while writers run, read by
 * the main thread after they joined. */
struct key {
	char name[32];
	int64_t acked;		/* generation acknowledged last, 0: absent */
	int64_t deleted;	/* generation an acknowledged DEL removed last, 0: none */
	int64_t in_flight;	/* generation of a SET sent and not answered, IN_FLIGHT_* */
	int64_t next_gen;	/* generations only grow, across cycles */
};

static struct key keys[NKEYS];
static struct harness_server *srv;
static const char *crash_dir;	/* the data dir, removed at exit */

/* Registered before harness_init(): runs after the harness stopped the
 * servers, also after a bail-out. */
static void remove_crash_dir(void)
{
	if (crash_dir)
		harness_remove_tree(crash_dir);
}

/* Replies that are neither +OK nor a DEL's integer, while the server ran. */
static int bad_replies;
static char bad_reply[256];
static pthread_mutex_t bad_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t key_seed(const char *name, int64_t gen)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return mix64(h ^ mix64((uint64_t)gen));
}

/* The length of generation gen of key: 64 KiB to 4 MiB, log-uniform. */
static size_t value_len(const char *name, int64_t gen)
{
	uint64_t r = key_seed(name, gen);
	size_t base = (size_t)MIN_LEN << (r % 6);	/* 64 KiB .. 2 MiB */
	size_t len = base + (size_t)((r >> 8) % base);

	return len > MAX_LEN ? MAX_LEN : len;
}

/* Writes generation gen of key into buf (value_len bytes). */
static void value_make(char *buf, const char *name, int64_t gen)
{
	size_t len = value_len(name, gen);
	uint64_t seed = key_seed(name, gen), sum = 1469598103934665603ull;
	char hdr[HDR + 1];

	for (size_t i = HDR; i < len; i += 8) {
		uint64_t w = mix64(seed + i);
		size_t n = len - i < 8 ? len - i : 8;

		memcpy(buf + i, &w, n);
	}
	for (size_t i = HDR; i < len; i++)
		sum = (sum ^ (unsigned char)buf[i]) * 1099511628211ull;
	memset(hdr, ' ', HDR);
	snprintf(hdr, sizeof(hdr), "crash %s %" PRId64 " %zu %016" PRIx64, name, gen, len, sum);
	hdr[strlen(hdr)] = ' ';
	hdr[HDR - 1] = '\n';
	memcpy(buf, hdr, HDR);
}

/*
 * The generation a value read back for key holds, if it is one whole
 * generation of that key; else -1 with *why set.
 */
static int64_t value_check(const char *p, size_t len, const char *name, const char **why)
{
	char hdr[HDR + 1], kname[32];
	long long gen;
	size_t hlen;
	char *want;
	int64_t ret = -1;

	if (len < HDR) {
		*why = "shorter than its header";
		return -1;
	}
	memcpy(hdr, p, HDR);
	hdr[HDR] = '\0';
	if (sscanf(hdr, "crash %31s %lld %zu", kname, &gen, &hlen) != 3) {
		*why = "no header";
		return -1;
	}
	if (strcmp(kname, name) != 0) {
		*why = "the value of another key";
		return -1;
	}
	if (gen <= 0 || hlen != len || len != value_len(name, gen)) {
		*why = "a length that does not match its generation";
		return -1;
	}
	want = malloc(len);
	if (!want)
		harness_bail("out of memory");
	value_make(want, name, gen);
	if (memcmp(want, p, len) == 0)
		ret = gen;
	else
		*why = "bytes that differ from its generation";
	free(want);
	return ret;
}

static void note_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note_bad(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&bad_lock);
	if (!bad_replies++) {
		va_start(ap, fmt);
		vsnprintf(bad_reply, sizeof(bad_reply), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&bad_lock);
}

struct writer {
	int id;
	uint64_t rng;
	int sets, dels;
};

/* Runs until the connection fails (the server was killed). */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	redisContext *c = harness_try_connect(srv);
	char *buf = malloc(MAX_LEN);

	if (!buf)
		harness_bail("out of memory");
	if (!c) {
		note_bad("writer %d could not connect", w->id);
		free(buf);
		return NULL;
	}
	for (;;) {
		struct key *k = &keys[w->id * KEYS_PER_WRITER +
				      (int)((w->rng = mix64(w->rng)) % KEYS_PER_WRITER)];
		bool del = (w->rng = mix64(w->rng)) % 10 == 0;
		redisReply *r;

		if (del) {
			k->in_flight = IN_FLIGHT_DEL;
			r = redisCommand(c, "DEL %s", k->name);
			if (!r)
				break;
			if (r->type == REDIS_REPLY_INTEGER) {
				if (k->acked)
					k->deleted = k->acked;
				k->acked = 0;
				k->in_flight = IN_FLIGHT_NONE;
				w->dels++;
			} else {
				note_bad("DEL %s answered type %d", k->name, r->type);
			}
		} else {
			int64_t gen = k->next_gen++;
			size_t len = value_len(k->name, gen);

			value_make(buf, k->name, gen);
			k->in_flight = gen;
			r = redisCommand(c, "SET %s %b", k->name, buf, len);
			if (!r)
				break;
			if (r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) {
				k->acked = gen;
				k->in_flight = IN_FLIGHT_NONE;
				w->sets++;
			} else {
				note_bad("SET %s (%zu bytes) answered %s", k->name, len,
					 r->type == REDIS_REPLY_ERROR ? r->str : "not +OK");
			}
		}
		freeReplyObject(r);
	}
	redisFree(c);
	free(buf);
	return NULL;
}

static struct harness_server *start_on(const char *dir)
{
	return harness_server_start("--shards", "2", "--dir", dir, "--blob-fsync", "everysec");
}

/* kill -9 of the server, then a new one on the same dir; *c is replaced. */
static void kill_and_restart(struct harness_server **srv, redisContext **c, const char *dir)
{
	kill((*srv)->pid, SIGKILL);
	redisFree(*c);
	harness_server_wait_exit(*srv, 5000);
	harness_server_stop(*srv);
	*srv = start_on(dir);
	*c = harness_connect(*srv);
}

/*
 * Checks every key after a restart; returns the number of bad keys, and in
 * *undone the number of keys whose acknowledged DEL the crash undid (they
 * hold, whole, the generation that DEL removed): none may be, as DEL
 * answers only once its index delete committed.
 */
static int verify_keys(redisContext *c, int cycle, int *undone)
{
	int bad = 0, present = 0;
	long long blob_keys;

	for (int i = 0; i < NKEYS; i++) {
		struct key *k = &keys[i];
		redisReply *r = redisCommand(c, "GET %s", k->name);
		const char *why = NULL;
		int64_t got = -1;
		bool ok;

		if (!r)
			harness_bail("cycle %d: GET %s: %s", cycle, k->name, c->errstr);
		if (r->type == REDIS_REPLY_NIL) {
			got = 0;
			ok = k->acked == 0 || k->in_flight == IN_FLIGHT_DEL;
			if (!ok)
				why = "absent";
		} else if (r->type == REDIS_REPLY_STRING) {
			got = value_check(r->str, r->len, k->name, &why);
			ok = got > 0 && (got == k->acked || got == k->in_flight);
			if (got > 0 && !ok && k->acked == 0 && got == k->deleted) {
				harness_diag("cycle %d: %s: an acknowledged DEL of generation %" PRId64
					     " was undone by the crash", cycle, k->name, got);
				(*undone)++;
				ok = true;
			} else if (got > 0 && !ok) {
				why = got < k->acked ? "a generation older than the acknowledged one" :
				      k->acked == 0 ? "a generation after an acknowledged DEL" :
				      "a generation newer than the acknowledged one, not in flight";
			}
		} else {
			ok = false;
			why = "neither a string nor nil";
		}
		if (!ok) {
			harness_diag("cycle %d: %s acked %" PRId64 ", in flight %" PRId64
				     ", read %" PRId64 " (%zu bytes): %s", cycle, k->name, k->acked,
				     k->in_flight, got, r->type == REDIS_REPLY_STRING ? r->len : 0,
				     why ? why : "?");
			bad++;
		}
		freeReplyObject(r);
		/* What it holds now is what the next cycle starts from. */
		k->acked = got > 0 ? got : 0;
		k->deleted = 0;
		k->in_flight = IN_FLIGHT_NONE;
		if (got > 0)
			present++;
	}
	blob_keys = harness_info_int(c, "blobstore", "blob_keys");
	if (blob_keys != present) {
		harness_diag("cycle %d: blob_keys %lld, %d keys hold a value", cycle, blob_keys, present);
		bad++;
	}
	return bad;
}

static bool check_dir(const char *dir, int cycle, const char *when)
{
	char out[2048];
	int st = harness_check_blob(dir, true, out, sizeof(out));

	if (st < 0) {
		skip(out, "cycle %d: strata-check-blob --deep %s", cycle, when);
		return true;
	}
	if (st != 0)
		harness_diag("cycle %d: strata-check-blob %s: %s", cycle, when, out);
	return check(st == 0 && strstr(out, "result: clean"),
		     "cycle %d: strata-check-blob --deep is clean %s (status %d)", cycle, when, st);
}

/*
 * Values made by MSET, APPEND, SETRANGE, COPY and SET inside MULTI are made
 * in memory and written in the background (blob.c's spills); their answer
 * waits until they are written and their records committed. Each round makes
 * some, SIGKILLs the server right after the answer and reads them back.
 */
static void spill_kill(const char *dir)
{
	size_t len = 300u << 10;
	char *v = malloc(len);
	int lost = 0, total = 0;

	if (!v)
		harness_bail("out of memory");
	memset(v, 'm', len);
	for (int round = 0; round < 5; round++) {
		static const char *const names[5][2] = {
			{ "spill:a", "spill:b" }, { "spill:1", NULL }, { "spill:m", NULL },
			{ "spill:r", NULL }, { "spill:c", NULL },
		};
		redisContext *c;
		redisReply *r;

		srv = start_on(dir);
		c = harness_connect(srv);
		if (round == 0) {
			expect_status(cmd(c, "MSET spill:a %b spill:b %b", v, len, v, len), "OK",
				      "spill round %d: MSET of two large values", round);
		} else if (round == 1) {
			expect_int(cmd(c, "APPEND spill:1 %b", v, len), (long long)len,
				   "spill round %d: APPEND of a large value", round);
		} else if (round == 2) {
			run(c, "MULTI");
			run(c, "SET spill:m %b", v, len);
			r = cmd(c, "EXEC");
			check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
			      r->element[0]->type == REDIS_REPLY_STATUS,
			      "spill round %d: EXEC of a large SET answers [OK]", round);
			if (r)
				freeReplyObject(r);
		} else if (round == 3) {
			run(c, "SET spill:r small");
			expect_int(cmd(c, "SETRANGE spill:r %lld x", (long long)len - 1), (long long)len,
				   "spill round %d: SETRANGE grows a small value past the threshold",
				   round);
		} else {
			run(c, "SET spill:src %b", v, len);	/* an upload: durable when answered */
			expect_int(cmd(c, "COPY spill:src spill:c"), 1,
				   "spill round %d: COPY of a large value", round);
		}
		kill_and_restart(&srv, &c, dir);
		for (int k = 0; k < 2 && names[round][k]; k++) {
			r = redisCommand(c, "STRLEN %s", names[round][k]);
			total++;
			if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != (long long)len) {
				harness_diag("spill round %d: %s lost after kill -9", round,
					     names[round][k]);
				lost++;
			}
			if (r)
				freeReplyObject(r);
		}
		run(c, "FLUSHALL");
		redisFree(c);
		harness_server_stop(srv);
	}
	harness_diag("kill -9 right after MSET, APPEND, MULTI/SET, SETRANGE, COPY of large values: "
		     "%d of %d lost", lost, total);
	check(lost == 0, "values acknowledged by MSET, APPEND, MULTI/SET, SETRANGE and COPY "
	      "survive kill -9 (%d of %d lost)", lost, total);
	free(v);
}

/* Keys of meta_kill, by what is done to them. */
#define META_PER 8		/* keys per kind of change */
enum { M_DEL, M_UNLINK, M_GETDEL, M_EXPIRE, M_PEXPIREAT, M_PERSIST, M_GETEX, M_RENAME, M_MOVE,
       M_KINDS };
static const char *const meta_kind[M_KINDS] = {
	"DEL", "UNLINK", "GETDEL", "EXPIRE", "PEXPIREAT", "PERSIST", "GETEX", "RENAME", "MOVE",
};

/*
 * Deletes and metadata changes of large keys answer once their index
 * mutations committed. Sets META_PER large keys for each kind of change;
 * then, one kind a round, pipelines its changes on one connection and
 * SIGKILLs the server as soon as the last answer came. After a restart each
 * key is checked: deleted keys
 * stay deleted, renamed and moved keys are only under their new name, and
 * each TTL is the one answered (a TTL set is there, a TTL removed is gone).
 * A last round does FLUSHALL, kills, and expects no key at all.
 */
static void meta_kill(const char *dir)
{
	size_t len = 64u << 10;
	char *v = malloc(len);
	int undone[M_KINDS] = { 0 }, bad_replies = 0;
	int64_t at = harness_unix_ms() + 3600 * 1000;
	redisContext *c;
	redisReply *r;

	if (!v)
		harness_bail("out of memory");
	memset(v, 't', len);
	srv = start_on(dir);
	c = harness_connect(srv);
	run(c, "FLUSHALL");
	for (int k = 0; k < M_KINDS; k++)
		for (int i = 0; i < META_PER; i++) {
			/* Keys whose TTL is removed start with one. */
			if (k == M_PERSIST || k == M_GETEX)
				run(c, "SET meta:%d:%d %b EX 100000", k, i, v, len);
			else
				run(c, "SET meta:%d:%d %b", k, i, v, len);
		}
	redisFree(c);
	harness_server_stop(srv);
	/* One kind a round, so each is killed right after its own answers. */
	for (int k = 0; k < M_KINDS; k++) {
		srv = start_on(dir);
		c = harness_connect(srv);
		for (int i = 0; i < META_PER; i++) {
			switch (k) {
			case M_DEL: redisAppendCommand(c, "DEL meta:%d:%d", k, i); break;
			case M_UNLINK: redisAppendCommand(c, "UNLINK meta:%d:%d", k, i); break;
			case M_GETDEL: redisAppendCommand(c, "GETDEL meta:%d:%d", k, i); break;
			case M_EXPIRE: redisAppendCommand(c, "EXPIRE meta:%d:%d 100000", k, i); break;
			case M_PEXPIREAT:
				redisAppendCommand(c, "PEXPIREAT meta:%d:%d %lld", k, i, (long long)at);
				break;
			case M_PERSIST: redisAppendCommand(c, "PERSIST meta:%d:%d", k, i); break;
			case M_GETEX: redisAppendCommand(c, "GETEX meta:%d:%d PERSIST", k, i); break;
			case M_RENAME:
				redisAppendCommand(c, "RENAME meta:%d:%d meta:r:%d", k, i, i);
				break;
			default: redisAppendCommand(c, "MOVE meta:%d:%d 1", k, i); break;
			}
		}
		for (int i = 0; i < META_PER; i++) {
			bool ok;

			if (redisGetReply(c, (void **)&r) != REDIS_OK || !r)
				harness_bail("meta: %s reply %d: %s", meta_kind[k], i, c->errstr);
			if (k == M_GETDEL || k == M_GETEX)
				ok = r->type == REDIS_REPLY_STRING && r->len == len;
			else if (k == M_RENAME)
				ok = r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK");
			else
				ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
			if (!ok && !bad_replies++)
				harness_diag("meta: %s answered type %d", meta_kind[k], r->type);
			freeReplyObject(r);
		}
		kill(srv->pid, SIGKILL);
		redisFree(c);
		harness_server_wait_exit(srv, 5000);
		harness_server_stop(srv);
	}
	check_int(bad_replies, 0, "meta: every DEL, UNLINK, GETDEL, EXPIRE, PEXPIREAT, PERSIST, "
		  "GETEX, RENAME and MOVE answered as on a live key");

	srv = start_on(dir);
	c = harness_connect(srv);
	for (int k = 0; k < M_KINDS; k++)
		for (int i = 0; i < META_PER; i++) {
			long long ttl, exists;

			r = cmd(c, "EXISTS meta:%d:%d", k, i);
			exists = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
			if (r)
				freeReplyObject(r);
			r = cmd(c, "PTTL meta:%d:%d", k, i);
			ttl = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -100;
			if (r)
				freeReplyObject(r);
			switch (k) {
			case M_EXPIRE:
				if (exists != 1 || ttl <= 0 || ttl > 100000 * 1000LL)
					undone[k]++;
				break;
			case M_PEXPIREAT:
				if (exists != 1 || ttl <= 3500 * 1000LL || ttl > 3600 * 1000LL)
					undone[k]++;
				break;
			case M_PERSIST:
			case M_GETEX:
				if (exists != 1 || ttl != -1)
					undone[k]++;
				break;
			default:	/* deleted, renamed or moved away */
				if (exists != 0)
					undone[k]++;
				break;
			}
			if (k == M_RENAME) {
				r = cmd(c, "STRLEN meta:r:%d", i);
				if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != (long long)len)
					undone[k]++;
				if (r)
					freeReplyObject(r);
			}
			if (k == M_MOVE) {
				run(c, "SELECT 1");
				r = cmd(c, "STRLEN meta:%d:%d", k, i);
				if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != (long long)len)
					undone[k]++;
				if (r)
					freeReplyObject(r);
				run(c, "SELECT 0");
			}
		}
	for (int k = 0; k < M_KINDS; k++)
		check_int(undone[k], 0, "meta: every acknowledged %s of a large key holds after kill -9",
			  meta_kind[k]);

	/* FLUSHALL: every large key, both databases, gone for good. */
	expect_status(cmd(c, "FLUSHALL"), "OK", "meta: FLUSHALL");
	kill_and_restart(&srv, &c, dir);
	check_int(harness_info_int(c, "blobstore", "blob_keys"), 0,
		  "meta: an acknowledged FLUSHALL holds after kill -9 (no large key is back)");
	redisFree(c);
	harness_server_stop(srv);
	check_dir(dir, 0, "after the targeted kills");
	free(v);
}

int main(void)
{
	const char *env = getenv("STRATA_CRASH_CYCLES");
	int cycles = env && atoi(env) > 0 ? atoi(env) : CRASH_CYCLES;
	static char dir[64] = "/tmp/strata-crash-XXXXXX";
	int passed = 0, failed = 0, total_sets = 0, total_undone = 0;
	uint64_t rng = mix64((uint64_t)harness_unix_ms());
	int64_t t0;

	setenv("STRATA_TEST_TIMEOUT", "280", 0);
	atexit(remove_crash_dir);
	harness_init("test_blob_crash: acknowledged large values survive kill -9");
	{
		/* Only strata has a blob tier to crash. */
		struct harness_server *probe = harness_server_start();
		bool skipit = probe->is_redis || probe->external;

		harness_server_stop(probe);
		if (skipit) {
			skip("blob-specific", "crash cycles");
			return harness_done();
		}
	}
	if (!mkdtemp(dir))
		harness_bail("mkdtemp: %m");
	crash_dir = dir;
	harness_diag("data dir %s, %d cycles, seed %" PRIx64, dir, cycles, rng);
	for (int i = 0; i < NKEYS; i++) {
		snprintf(keys[i].name, sizeof(keys[i].name), "crash:%d:%d", i / KEYS_PER_WRITER,
			 i % KEYS_PER_WRITER);
		keys[i].next_gen = 1;
	}
	t0 = harness_mono_ms();
	for (int cycle = 1; cycle <= cycles; cycle++) {
		struct writer w[WRITERS];
		pthread_t th[WRITERS];
		int kill_ms = KILL_MIN_MS + (int)((rng = mix64(rng)) % (KILL_MAX_MS - KILL_MIN_MS + 1));
		int sets = 0, dels = 0, bad, undone = 0;
		bool ok = true;
		redisContext *c;

		srv = start_on(dir);
		bad_replies = 0;
		for (int i = 0; i < WRITERS; i++) {
			w[i] = (struct writer){ .id = i, .rng = mix64(rng + (uint64_t)i) };
			if (pthread_create(&th[i], NULL, writer_main, &w[i]))
				harness_bail("pthread_create failed");
		}
		harness_sleep_ms(kill_ms);
		kill(srv->pid, SIGKILL);
		for (int i = 0; i < WRITERS; i++) {
			pthread_join(th[i], NULL);
			sets += w[i].sets;
			dels += w[i].dels;
		}
		ok &= check(harness_server_wait_exit(srv, 5000), "cycle %d: the server died of SIGKILL",
			    cycle);
		harness_server_stop(srv);
		if (bad_replies)
			harness_diag("cycle %d: %d bad replies, first: %s", cycle, bad_replies, bad_reply);
		ok &= check_int(bad_replies, 0, "cycle %d: every reply before the kill was +OK or an integer",
				cycle);
		ok &= check_dir(dir, cycle, "after SIGKILL");

		srv = start_on(dir);
		c = harness_connect(srv);
		bad = verify_keys(c, cycle, &undone);
		harness_diag("cycle %d: killed after %d ms, %d SETs and %d DELs acknowledged", cycle,
			     kill_ms, sets, dels);
		ok &= check_int(bad, 0, "cycle %d: every acknowledged write reads back after restart",
				cycle);
		total_undone += undone;
		total_sets += sets;
		redisFree(c);
		harness_server_stop(srv);	/* SIGTERM */
		ok &= check_dir(dir, cycle, "after SIGTERM");
		if (ok)
			passed++;
		else
			failed++;
	}
	check(total_sets >= cycles, "the writers had %d SETs acknowledged over %d cycles", total_sets,
	      cycles);
	check_int(total_undone, 0, "no acknowledged DEL was undone by a crash");
	harness_diag("%d passed, %d failed (crash cycles, %lld s)", passed, failed,
		     (long long)(harness_mono_ms() - t0) / 1000);
	check(cycles >= CRASH_CYCLES || getenv("STRATA_CRASH_CYCLES"),
	      "%d crash cycles ran", cycles);
	spill_kill(dir);
	meta_kill(dir);
	harness_remove_tree(dir);
	return harness_done();
}
