/*
 * cmd_keys.c - the keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN,
 * RANDOMKEY, RENAME, RENAMENX, COPY, MOVE, TOUCH, OBJECT, the EXPIRE family,
 * TTL and friends, PERSIST, DBSIZE, FLUSHDB, FLUSHALL and SWAPDB, with Redis
 * 7.0's replies and error texts.
 *
 * Routing. A command with keys reaches its databases only through cmd_db()
 * and cmd_db_id(), one call per key, so a multi-key command whose keys span
 * shards (DEL, EXISTS, RENAME, COPY) works on whichever shard owns each key;
 * kv_move() and kv_copy() carry a value across shards. Whole-keyspace
 * commands (KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB) are
 * CMD_ALL_SHARDS and visit every shard's database of the same index through
 * cmd_shard_db(), while the other shards are parked.
 *
 * SCAN cursor. The reply cursor packs the shard index with that shard's dict
 * cursor:
 *
 *	cursor = dict_cursor * nshards + shard
 *
 * A shard's keys are scanned with its dict's reverse-binary cursor until it
 * returns 0; the scan then moves on to the next shard with dict cursor 0, and
 * after the last shard the reply cursor is 0. The dict cursor is what
 * dict_scan() returned, so every guarantee of a dict scan holds per shard:
 * every key present for the whole scan is returned at least once, through
 * growth, shrink and rehash; a key may be returned more than once. With one
 * shard the cursor is exactly the dict's, as in Redis. A dict cursor is
 * smaller than its table, so the product never overflows 64 bits. The same
 * number of shards must serve the whole scan (a restart with another
 * "shards" setting restarts the scan, like Redis after a restart).
 *
 * Expiry. Lookups go through kv_lookup(), which expires lazily. KEYS and
 * SCAN must not change a dict while they walk it, so the expired keys they
 * meet are only noted (their names copied, since a scan may pass the same
 * entry twice) and removed through kv_lookup() once the walk is over: KEYS
 * after each shard's dict, SCAN after each dict_scan() step (a dict may
 * change between two steps as it may between two SCAN calls).
 *
 * A past time given to EXPIRE and friends deletes the key and answers 1, as
 * Redis does on a master.
 *
 * FLUSHDB and FLUSHALL accept ASYNC and SYNC and free everything
 * synchronously either way: a value is at most one allocation per entry (or
 * a blob reference whose extents the blob tier frees in the background), so
 * there is no large object graph to hand to another thread. UNLINK is DEL
 * for the same reason.
 *
 * OBJECT REFCOUNT answers 1: strata never shares a value between keys
 * (Redis answers INT_MAX for its shared small integers).
 */
#include "cfg.h"
#include "cmd.h"
#include "blob.h"
#include "kv.h"
#include "mem.h"
#include "resp_write.h"
#include "sbuf.h"
#include "strutil.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_OF(n) ((struct kv_entry *)((char *)(n) - offsetof(struct kv_entry, node)))

#define ERR_SAME_OBJECT "source and destination objects are the same"
#define ERR_DB_RANGE "DB index is out of range"

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* Lookup flags for this context: CLIENT NO-TOUCH leaves access data alone. */
static unsigned lk_flags(const struct cmd_ctx *ctx, unsigned flags)
{
	if (ctx->flags & CTX_NO_TOUCH)
		flags |= KV_LK_NOTOUCH;
	return flags;
}

static struct kv_db *arg_db(struct cmd_ctx *ctx, int i)
{
	return cmd_db(ctx, ctx->argv[i].p, ctx->argv[i].len);
}

static bool args_equal(const struct cmd_ctx *ctx, int i, int j)
{
	return ctx->argv[i].len == ctx->argv[j].len &&
	       memcmp(ctx->argv[i].p, ctx->argv[j].p, ctx->argv[i].len) == 0;
}

/*
 * argv[i] as an int (Redis getIntFromObjectOrReply): a strict integer, else
 * "value is not an integer or out of range"; outside the int range, "value is
 * out of range, ...". A non-NULL msg replaces both texts. Replies on failure.
 */
static bool arg_int(struct cmd_ctx *ctx, int i, int *out, const char *msg)
{
	long long v;

	if (!strutil_to_ll(ctx->argv[i].p, ctx->argv[i].len, &v)) {
		if (msg)
			resp_w_error(ctx->w, msg);
		else
			cmd_reply_notint(ctx);
		return false;
	}
	if (v < INT_MIN || v > INT_MAX) {
		if (msg)
			resp_w_error(ctx->w, msg);
		else
			resp_w_errorf(ctx->w, "value is out of range, value must between %d and %d",
				      INT_MIN, INT_MAX);
		return false;
	}
	*out = (int)v;
	return true;
}

static bool db_index_valid(int id)
{
	return id >= 0 && id < cfg.databases;
}

/*
 * Names of expired keys met during a walk, to remove once it is over. Each
 * record is a size_t length followed by the key bytes, in an accounted sbuf.
 */
struct key_list {
	struct sbuf b;
};

static void key_list_add(struct key_list *l, const char *key, size_t len)
{
	sbuf_append(&l->b, &len, sizeof(len));
	sbuf_append(&l->b, key, len);
}

/* Expires (through kv_lookup, so counted like any lazy expiry) every key in
 * l that is still expired in db, and empties l. */
static void key_list_expire(struct key_list *l, struct kv_db *db)
{
	size_t off = 0;

	while (off < l->b.len) {
		size_t len;

		memcpy(&len, l->b.p + off, sizeof(len));
		off += sizeof(len);
		(void)kv_lookup(db, l->b.p + off, len, KV_LK_NOTOUCH);
		off += len;
	}
	l->b.len = 0;
}

/* A growable vector of entries. */
struct entry_vec {
	struct kv_entry **v;
	size_t n, cap;
};

static void entry_vec_push(struct entry_vec *ev, struct kv_entry *e)
{
	if (ev->n == ev->cap) {
		ev->cap = ev->cap ? ev->cap * 2 : 16;
		ev->v = mem_realloc(ev->v, ev->cap * sizeof(*ev->v));
	}
	ev->v[ev->n++] = e;
}

/* xorshift64*: RANDOMKEY's choice of shard; per thread, seeded from the
 * clock and the state's own address. */
static uint64_t rng_next(void)
{
	static _Thread_local uint64_t s;

	if (s == 0)
		s = ((uint64_t)util_ustime() ^ (uint64_t)(uintptr_t)&s) | 1;
	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545F4914F6CDD1DULL;
}

/* ------------------------------------------------------------------------
 * DEL UNLINK EXISTS TOUCH TYPE
 * ---------------------------------------------------------------------- */

/* DEL key [key ...] and UNLINK (freeing is cheap: see the top comment). */
static void keys_cmd_del(struct cmd_ctx *ctx)
{
	long long n = 0;

	for (int i = 1; i < ctx->argc; i++)
		if (kv_delete(arg_db(ctx, i), ctx->argv[i].p, ctx->argv[i].len))
			n++;
	ctx->dirty += (uint64_t)n;
	resp_w_int(ctx->w, n);
}

/* EXISTS key [key ...]: a key named twice counts twice. */
static void keys_cmd_exists(struct cmd_ctx *ctx)
{
	long long n = 0;
	unsigned fl = lk_flags(ctx, KV_LK_READ | KV_LK_NOTOUCH);

	for (int i = 1; i < ctx->argc; i++)
		if (kv_lookup(arg_db(ctx, i), ctx->argv[i].p, ctx->argv[i].len, fl))
			n++;
	resp_w_int(ctx->w, n);
}

/* TOUCH key [key ...]: touches even under CLIENT NO-TOUCH (its purpose). */
static void keys_cmd_touch(struct cmd_ctx *ctx)
{
	long long n = 0;

	for (int i = 1; i < ctx->argc; i++)
		if (kv_lookup(arg_db(ctx, i), ctx->argv[i].p, ctx->argv[i].len, KV_LK_READ))
			n++;
	resp_w_int(ctx->w, n);
}

static void keys_cmd_type(struct cmd_ctx *ctx)
{
	struct kv_entry *e = kv_lookup(arg_db(ctx, 1), ctx->argv[1].p, ctx->argv[1].len,
				       lk_flags(ctx, KV_LK_READ | KV_LK_NOTOUCH));

	resp_w_simple(ctx->w, e ? kv_type_name(e->type) : "none");
}

/* ------------------------------------------------------------------------
 * KEYS SCAN RANDOMKEY DBSIZE
 * ---------------------------------------------------------------------- */

/* KEYS pattern: walks every shard's dict; expired keys are skipped during the
 * walk and removed after it. */
static void keys_cmd_keys(struct cmd_ctx *ctx)
{
	const char *pat = ctx->argv[1].p;
	size_t plen = ctx->argv[1].len;
	bool allkeys = plen == 1 && pat[0] == '*';
	struct key_list expired = { { 0 } };
	size_t off = resp_w_defer(ctx->w);
	size_t n = 0;
	int nshards = cmd_nshards(ctx);

	for (int s = 0; s < nshards; s++) {
		struct kv_db *db = cmd_shard_db(ctx, s, ctx->dbid);
		struct dict_iter it;
		struct dict_node *node;

		dict_iter_init(&it, db->dict);
		while ((node = dict_iter_next(&it)) != NULL) {
			struct kv_entry *e = ENTRY_OF(node);

			if (!allkeys && !strutil_glob_match(pat, plen, e->key, e->klen, false))
				continue;
			if (kv_is_expired(e)) {
				key_list_add(&expired, e->key, e->klen);
				continue;
			}
			resp_w_bulk(ctx->w, e->key, e->klen);
			n++;
		}
		key_list_expire(&expired, db);
	}
	sbuf_free(&expired.b);
	resp_w_defer_end(ctx->w, off, '*', n);
}

/* What SCAN's dict callback sees. */
struct scan_state {
	const char *pat;	/* MATCH pattern, or NULL for every key */
	size_t plen;
	const char *type;	/* TYPE name, or NULL for any type */
	size_t tlen;
	size_t visited;		/* entries seen (what COUNT bounds, as in Redis) */
	struct entry_vec hits;	/* live entries passing the filters */
	struct key_list expired; /* names of expired entries seen */
};

/* Runs inside kv_scan: must not change the db. Hits are kept as entry
 * pointers: they stay valid until the reply is written, since the command
 * removes only expired entries and a hit is live for the whole command (one
 * kv_now_ms). A hit may appear twice (a scan may visit a node twice). */
static void scan_cb(struct kv_entry *e, void *arg)
{
	struct scan_state *st = arg;

	st->visited++;
	if (st->pat && !strutil_glob_match(st->pat, st->plen, e->key, e->klen, false))
		return;
	if (st->type && !strutil_eq_nocase(st->type, st->tlen, kv_type_name(e->type)))
		return;
	if (kv_is_expired(e)) {
		key_list_add(&st->expired, e->key, e->klen);
		return;
	}
	entry_vec_push(&st->hits, e);
}

/*
 * A SCAN cursor as Redis parses it (strtoul): decimal, an optional sign
 * ("-1" wraps to the largest value), no leading space, nothing after it, no
 * overflow. The empty string is cursor 0.
 */
static bool parse_cursor(const struct cmd_arg *a, uint64_t *out)
{
	char *s = mem_strndup(a->p, a->len);
	char *end;
	unsigned long long v;
	bool ok;

	errno = 0;
	v = strtoull(s, &end, 10);
	ok = !(s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')) && *end == '\0' &&
	     errno != ERANGE;
	mem_free(s);
	*out = v;
	return ok;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
static void keys_cmd_scan(struct cmd_ctx *ctx)
{
	struct scan_state st = { 0 };
	uint64_t cursor, dcur, budget;
	long long count = 10;
	unsigned nshards = (unsigned)cmd_nshards(ctx);
	unsigned shard;
	char buf[24];
	int blen;

	if (!parse_cursor(&ctx->argv[1], &cursor)) {
		resp_w_error(ctx->w, "invalid cursor");
		return;
	}
	for (int i = 2; i < ctx->argc; i += 2) {
		bool has_arg = i + 1 < ctx->argc;

		if (has_arg && cmd_arg_is(ctx, i, "count")) {
			if (!strutil_to_ll(ctx->argv[i + 1].p, ctx->argv[i + 1].len, &count)) {
				cmd_reply_notint(ctx);
				return;
			}
			if (count < 1) {
				cmd_reply_syntax(ctx);
				return;
			}
		} else if (has_arg && cmd_arg_is(ctx, i, "match")) {
			st.pat = ctx->argv[i + 1].p;
			st.plen = ctx->argv[i + 1].len;
			if (st.plen == 1 && st.pat[0] == '*')
				st.pat = NULL;
		} else if (has_arg && cmd_arg_is(ctx, i, "type")) {
			st.type = ctx->argv[i + 1].p;
			st.tlen = ctx->argv[i + 1].len;
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}

	/* As Redis: stop once COUNT entries were seen, or after 10 * COUNT
	 * bucket visits that found little (sparse tables). */
	budget = (uint64_t)count > UINT64_MAX / 10 ? UINT64_MAX : (uint64_t)count * 10;
	shard = (unsigned)(cursor % nshards);
	dcur = cursor / nshards;
	for (;;) {
		struct kv_db *db = cmd_shard_db(ctx, (int)shard, ctx->dbid);

		dcur = kv_scan(db, dcur, scan_cb, &st);
		/* Between two dict scan calls the db may change (as between two
		 * SCAN commands); the hits kept are live, so unaffected. */
		key_list_expire(&st.expired, db);
		if (dcur == 0 && ++shard == nshards)
			break;		/* the whole keyspace was visited */
		if (--budget == 0 || st.visited >= (uint64_t)count)
			break;
	}
	cursor = shard == nshards ? 0 : dcur * nshards + shard;

	resp_w_array(ctx->w, 2);
	blen = snprintf(buf, sizeof(buf), "%" PRIu64, cursor);
	resp_w_bulk(ctx->w, buf, (size_t)blen);
	resp_w_array(ctx->w, st.hits.n);
	for (size_t i = 0; i < st.hits.n; i++)
		resp_w_bulk(ctx->w, st.hits.v[i]->key, st.hits.v[i]->klen);
	mem_free(st.hits.v);

	sbuf_free(&st.expired.b);
}

/* RANDOMKEY: a shard chosen with probability proportional to its size, then
 * a random live key of it. kv_random() drops expired keys it meets, so a
 * shard whose keys had all expired reads as empty on the next try. */
static void keys_cmd_randomkey(struct cmd_ctx *ctx)
{
	int nshards = cmd_nshards(ctx);

	for (int attempt = 0; attempt < 4 * nshards + 4; attempt++) {
		uint64_t total = 0, r;
		int s;

		for (s = 0; s < nshards; s++)
			total += kv_db_size(cmd_shard_db(ctx, s, ctx->dbid));
		if (total == 0)
			break;
		r = rng_next() % total;
		for (s = 0; s < nshards - 1; s++) {
			uint64_t size = kv_db_size(cmd_shard_db(ctx, s, ctx->dbid));

			if (r < size)
				break;
			r -= size;
		}
		struct kv_entry *e = kv_random(cmd_shard_db(ctx, s, ctx->dbid));
		if (e) {
			resp_w_bulk(ctx->w, e->key, e->klen);
			return;
		}
	}
	resp_w_null(ctx->w);
}

/* DBSIZE: keys of the selected db over every shard (expired keys not yet
 * removed included, as in Redis). */
static void keys_cmd_dbsize(struct cmd_ctx *ctx)
{
	long long n = 0;
	int nshards = cmd_nshards(ctx);

	for (int s = 0; s < nshards; s++)
		n += (long long)kv_db_size(cmd_shard_db(ctx, s, ctx->dbid));
	resp_w_int(ctx->w, n);
}

/* ------------------------------------------------------------------------
 * RENAME RENAMENX MOVE COPY
 * ---------------------------------------------------------------------- */

static void rename_generic(struct cmd_ctx *ctx, bool nx)
{
	const struct cmd_arg *dk = &ctx->argv[2];
	struct kv_db *src = arg_db(ctx, 1), *dst;
	struct kv_entry *e, *old;

	e = kv_lookup(src, ctx->argv[1].p, ctx->argv[1].len, lk_flags(ctx, 0));
	if (!e) {
		resp_w_error(ctx->w, "no such key");
		return;
	}
	if (args_equal(ctx, 1, 2)) {
		if (nx)
			resp_w_int(ctx->w, 0);
		else
			resp_w_ok(ctx->w);
		return;
	}
	dst = arg_db(ctx, 2);
	old = kv_lookup(dst, dk->p, dk->len, lk_flags(ctx, 0));
	if (old) {
		if (nx) {
			resp_w_int(ctx->w, 0);
			return;
		}
		kv_delete_entry(dst, old);
	}
	kv_move(src, e, dst, dk->p, dk->len);
	ctx->dirty++;
	if (nx)
		resp_w_int(ctx->w, 1);
	else
		resp_w_ok(ctx->w);
}

static void keys_cmd_rename(struct cmd_ctx *ctx)
{
	rename_generic(ctx, false);
}

static void keys_cmd_renamenx(struct cmd_ctx *ctx)
{
	rename_generic(ctx, true);
}

/* MOVE key db: 0 if the key is missing or already in the target db. */
static void keys_cmd_move(struct cmd_ctx *ctx)
{
	const struct cmd_arg *k = &ctx->argv[1];
	struct kv_db *src, *dst;
	struct kv_entry *e;
	int dbid;

	if (!arg_int(ctx, 2, &dbid, NULL))
		return;
	if (!db_index_valid(dbid)) {
		resp_w_error(ctx->w, ERR_DB_RANGE);
		return;
	}
	if (dbid == ctx->dbid) {
		resp_w_error(ctx->w, ERR_SAME_OBJECT);
		return;
	}
	src = cmd_db(ctx, k->p, k->len);
	e = kv_lookup(src, k->p, k->len, lk_flags(ctx, 0));
	if (!e) {
		resp_w_int(ctx->w, 0);
		return;
	}
	dst = cmd_db_id(ctx, k->p, k->len, dbid);
	if (kv_lookup(dst, k->p, k->len, lk_flags(ctx, 0))) {
		resp_w_int(ctx->w, 0);
		return;
	}
	kv_move(src, e, dst, k->p, k->len);
	ctx->dirty++;
	resp_w_int(ctx->w, 1);
}

/* Whether kv_copy() can duplicate e: it copies strings held in memory and
 * other types that have a dup function (a value on the blob tier is copied
 * by COPY itself, from its bytes). */
static bool entry_copyable(const struct kv_entry *e)
{
	return e->type == KV_STRING ||
	       (kv_type_ops(e->type) && kv_type_ops(e->type)->dup);
}

/* COPY source destination [DB destination-db] [REPLACE] */
static void keys_cmd_copy(struct cmd_ctx *ctx)
{
	const struct cmd_arg *sk = &ctx->argv[1], *dk = &ctx->argv[2];
	int dbid = ctx->dbid;
	bool replace = false;
	struct kv_db *src, *dst;
	struct kv_entry *e, *old;

	for (int i = 3; i < ctx->argc; i++) {
		if (cmd_arg_is(ctx, i, "replace")) {
			replace = true;
		} else if (cmd_arg_is(ctx, i, "db") && i + 1 < ctx->argc) {
			if (!arg_int(ctx, i + 1, &dbid, NULL))
				return;
			if (!db_index_valid(dbid)) {
				resp_w_error(ctx->w, ERR_DB_RANGE);
				return;
			}
			i++;
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	if (dbid == ctx->dbid && args_equal(ctx, 1, 2)) {
		resp_w_error(ctx->w, ERR_SAME_OBJECT);
		return;
	}
	src = cmd_db(ctx, sk->p, sk->len);
	e = kv_lookup(src, sk->p, sk->len, lk_flags(ctx, KV_LK_READ));
	if (!e) {
		resp_w_int(ctx->w, 0);
		return;
	}
	dst = cmd_db_id(ctx, dk->p, dk->len, dbid);
	old = kv_lookup(dst, dk->p, dk->len, lk_flags(ctx, 0));
	if (old && !replace) {
		resp_w_int(ctx->w, 0);
		return;
	}
	/* Check before deleting the destination: a failed copy must not have
	 * destroyed it. */
	if (!entry_copyable(e)) {
		resp_w_error(ctx->w, "unknown type object");
		return;
	}
	/* A large value on disk is read first (the command runs again then). */
	if (e->enc == KV_ENC_BLOB && !blob_need_bytes(ctx, src, e))
		return;
	if (old)
		kv_delete_entry(dst, old);
	ctx->dirty++;
	if (e->enc == KV_ENC_BLOB) {
		size_t len;
		const char *p = blob_mem(e, &len);
		struct kv_entry *ne = blob_set_mem(dst, dk->p, dk->len, p, len, 0);

		if (e->expire_ms)
			kv_set_expire(dst, ne, e->expire_ms);
		resp_w_int(ctx->w, 1);
		return;
	}
	if (!kv_copy(e, dst, dk->p, dk->len)) {
		resp_w_error(ctx->w, "unknown type object");
		return;
	}
	resp_w_int(ctx->w, 1);
}

/* ------------------------------------------------------------------------
 * EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME PEXPIRETIME PERSIST
 * ---------------------------------------------------------------------- */

#define EXP_NX 0x1
#define EXP_XX 0x2
#define EXP_GT 0x4
#define EXP_LT 0x8

/*
 * The four EXPIRE commands. basetime is 0 for the *AT forms and now
 * otherwise; seconds says the argument is in seconds. Options are checked
 * before the time (as Redis does), and a time whose conversion to absolute
 * milliseconds overflows is "invalid expire time". A key without TTL counts
 * as an infinite TTL for GT and LT.
 */
static void expire_generic(struct cmd_ctx *ctx, long long basetime, bool seconds)
{
	const struct cmd_arg *k = &ctx->argv[1];
	unsigned opt = 0;
	long long when, cur;
	struct kv_db *db;
	struct kv_entry *e;

	for (int i = 3; i < ctx->argc; i++) {
		if (cmd_arg_is(ctx, i, "nx")) {
			opt |= EXP_NX;
		} else if (cmd_arg_is(ctx, i, "xx")) {
			opt |= EXP_XX;
		} else if (cmd_arg_is(ctx, i, "gt")) {
			opt |= EXP_GT;
		} else if (cmd_arg_is(ctx, i, "lt")) {
			opt |= EXP_LT;
		} else {
			resp_w_errorf(ctx->w, "Unsupported option %.*s",
				      (int)ctx->argv[i].len, ctx->argv[i].p);
			return;
		}
	}
	if ((opt & EXP_NX) && (opt & (EXP_XX | EXP_GT | EXP_LT))) {
		resp_w_error(ctx->w, "NX and XX, GT or LT options at the same time are not compatible");
		return;
	}
	if ((opt & EXP_GT) && (opt & EXP_LT)) {
		resp_w_error(ctx->w, "GT and LT options at the same time are not compatible");
		return;
	}

	if (!strutil_to_ll(ctx->argv[2].p, ctx->argv[2].len, &when)) {
		cmd_reply_notint(ctx);
		return;
	}
	if (seconds) {
		if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)
			goto out_invalid;
		when *= 1000;
	}
	if (when > LLONG_MAX - basetime)
		goto out_invalid;
	when += basetime;

	db = cmd_db(ctx, k->p, k->len);
	e = kv_lookup(db, k->p, k->len, lk_flags(ctx, 0));
	if (!e) {
		resp_w_int(ctx->w, 0);
		return;
	}
	cur = e->expire_ms ? e->expire_ms : -1;
	if (((opt & EXP_NX) && cur != -1) ||
	    ((opt & EXP_XX) && cur == -1) ||
	    ((opt & EXP_GT) && (cur == -1 || when <= cur)) ||
	    ((opt & EXP_LT) && cur != -1 && when >= cur)) {
		resp_w_int(ctx->w, 0);
		return;
	}

	if (when <= kv_now_ms)
		kv_delete_entry(db, e);		/* already past: the key goes now */
	else
		kv_set_expire(db, e, when);	/* when > now > 0: never "no TTL" */
	ctx->dirty++;
	resp_w_int(ctx->w, 1);
	return;

out_invalid:
	resp_w_errorf(ctx->w, "invalid expire time in '%s' command", ctx->cmd->name);
}

static void keys_cmd_expire(struct cmd_ctx *ctx)
{
	expire_generic(ctx, kv_now_ms, true);
}

static void keys_cmd_pexpire(struct cmd_ctx *ctx)
{
	expire_generic(ctx, kv_now_ms, false);
}

static void keys_cmd_expireat(struct cmd_ctx *ctx)
{
	expire_generic(ctx, 0, true);
}

static void keys_cmd_pexpireat(struct cmd_ctx *ctx)
{
	expire_generic(ctx, 0, false);
}

/* TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 without the key, -1 without a TTL;
 * seconds are rounded to nearest, as Redis does. */
static void ttl_generic(struct cmd_ctx *ctx, bool ms, bool absolute)
{
	const struct cmd_arg *k = &ctx->argv[1];
	struct kv_entry *e = kv_lookup(cmd_db(ctx, k->p, k->len), k->p, k->len,
				       lk_flags(ctx, KV_LK_READ | KV_LK_NOTOUCH));
	long long t;

	if (!e) {
		resp_w_int(ctx->w, -2);
		return;
	}
	if (!e->expire_ms) {
		resp_w_int(ctx->w, -1);
		return;
	}
	t = absolute ? e->expire_ms : e->expire_ms - kv_now_ms;
	if (t < 0)
		t = 0;
	/* (t + 500) / 1000 without overflowing near LLONG_MAX. */
	resp_w_int(ctx->w, ms ? t : t / 1000 + (t % 1000 >= 500));
}

static void keys_cmd_ttl(struct cmd_ctx *ctx)
{
	ttl_generic(ctx, false, false);
}

static void keys_cmd_pttl(struct cmd_ctx *ctx)
{
	ttl_generic(ctx, true, false);
}

static void keys_cmd_expiretime(struct cmd_ctx *ctx)
{
	ttl_generic(ctx, false, true);
}

static void keys_cmd_pexpiretime(struct cmd_ctx *ctx)
{
	ttl_generic(ctx, true, true);
}

static void keys_cmd_persist(struct cmd_ctx *ctx)
{
	struct kv_db *db = arg_db(ctx, 1);
	struct kv_entry *e = kv_lookup(db, ctx->argv[1].p, ctx->argv[1].len, lk_flags(ctx, 0));

	if (!e || !e->expire_ms) {
		resp_w_int(ctx->w, 0);
		return;
	}
	kv_set_expire(db, e, 0);
	ctx->dirty++;
	resp_w_int(ctx->w, 1);
}

/* ------------------------------------------------------------------------
 * FLUSHDB FLUSHALL SWAPDB
 * ---------------------------------------------------------------------- */

/* FLUSHDB/FLUSHALL [ASYNC|SYNC]: both free synchronously (see the top). */
static bool flush_args_ok(struct cmd_ctx *ctx)
{
	if (ctx->argc == 1)
		return true;
	if (ctx->argc == 2 && (cmd_arg_is(ctx, 1, "sync") || cmd_arg_is(ctx, 1, "async")))
		return true;
	cmd_reply_syntax(ctx);
	return false;
}

static void keys_cmd_flushdb(struct cmd_ctx *ctx)
{
	int nshards = cmd_nshards(ctx);
	uint64_t removed = 0;

	if (!flush_args_ok(ctx))
		return;
	for (int s = 0; s < nshards; s++)
		removed += kv_db_flush(cmd_shard_db(ctx, s, ctx->dbid));
	ctx->dirty += removed;
	resp_w_ok(ctx->w);
}

static void keys_cmd_flushall(struct cmd_ctx *ctx)
{
	int nshards = cmd_nshards(ctx);
	uint64_t removed = 0;

	if (!flush_args_ok(ctx))
		return;
	for (int id = 0; id < cfg.databases; id++)
		for (int s = 0; s < nshards; s++)
			removed += kv_db_flush(cmd_shard_db(ctx, s, id));
	ctx->dirty += removed + 1;	/* Redis counts the flush itself too */
	resp_w_ok(ctx->w);
}

/* SWAPDB index1 index2: swapped on every shard while all are parked, so no
 * command sees one shard swapped and another not. */
static void keys_cmd_swapdb(struct cmd_ctx *ctx)
{
	int nshards = cmd_nshards(ctx);
	int a, b;

	if (!arg_int(ctx, 1, &a, "invalid first DB index") ||
	    !arg_int(ctx, 2, &b, "invalid second DB index"))
		return;
	if (!db_index_valid(a) || !db_index_valid(b)) {
		resp_w_error(ctx->w, ERR_DB_RANGE);
		return;
	}
	if (a != b)
		for (int s = 0; s < nshards; s++)
			kv_db_swap(cmd_shard_db(ctx, s, a), cmd_shard_db(ctx, s, b));
	ctx->dirty++;
	resp_w_ok(ctx->w);
}

/* ------------------------------------------------------------------------
 * OBJECT
 * ---------------------------------------------------------------------- */

#define LFU_POLICY(p) ((p) == MAXMEM_ALLKEYS_LFU || (p) == MAXMEM_VOLATILE_LFU)

/* The entry OBJECT asks about, or NULL after replying null. */
static struct kv_entry *object_lookup(struct cmd_ctx *ctx)
{
	const struct cmd_arg *k = &ctx->argv[2];
	struct kv_entry *e = kv_lookup(cmd_db(ctx, k->p, k->len), k->p, k->len,
				       KV_LK_READ | KV_LK_NOTOUCH);

	if (!e)
		resp_w_null(ctx->w);
	return e;
}

static void keys_cmd_object_encoding(struct cmd_ctx *ctx)
{
	struct kv_entry *e = object_lookup(ctx);

	if (e)
		resp_w_bulk_cstr(ctx->w, kv_enc_name(e));
}

static void keys_cmd_object_idletime(struct cmd_ctx *ctx)
{
	struct kv_entry *e = object_lookup(ctx);

	if (!e)
		return;
	if (LFU_POLICY(cfg.maxmemory_policy)) {
		resp_w_error(ctx->w, "An LFU maxmemory policy is selected, idle time not tracked. "
			     "Please note that when switching between policies at runtime LRU "
			     "and LFU data will take some time to adjust.");
		return;
	}
	resp_w_int(ctx->w, (long long)(kv_idle_ms(e) / 1000));
}

static void keys_cmd_object_freq(struct cmd_ctx *ctx)
{
	struct kv_entry *e = object_lookup(ctx);

	if (!e)
		return;
	if (!LFU_POLICY(cfg.maxmemory_policy)) {
		resp_w_error(ctx->w, "An LFU maxmemory policy is not selected, access frequency "
			     "not tracked. Please note that when switching between policies at "
			     "runtime LRU and LFU data will take some time to adjust.");
		return;
	}
	resp_w_int(ctx->w, kv_lfu_freq(e));
}

static void keys_cmd_object_refcount(struct cmd_ctx *ctx)
{
	if (object_lookup(ctx))
		resp_w_int(ctx->w, 1);	/* values are never shared */
}

static void keys_cmd_object_help(struct cmd_ctx *ctx)
{
	static const char *const lines[] = {
		"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
		"HELP",
		"    Prints this help.",
	};

	cmd_reply_help(ctx, lines, ARRAY_SIZE(lines));
}

/* ------------------------------------------------------------------------
 * The table
 * ---------------------------------------------------------------------- */

#define KS_R	(ACL(ACL_KEYSPACE) | ACL(ACL_READ))
#define KS_W	(ACL(ACL_KEYSPACE) | ACL(ACL_WRITE))

static const struct cmd_def object_subcmds[] = {
	{ .name = "encoding", .fn = keys_cmd_object_encoding, .arity = 3,
	  .flags = CMD_READONLY, .first_key = 2, .last_key = 2, .key_step = 1,
	  .acl = KS_R | ACL(ACL_SLOW), .group = "generic", .since = "2.2.3",
	  .summary = "Show how a key's value is stored internally",
	  .complexity = "O(1)" },
	{ .name = "freq", .fn = keys_cmd_object_freq, .arity = 3,
	  .flags = CMD_READONLY, .first_key = 2, .last_key = 2, .key_step = 1,
	  .acl = KS_R | ACL(ACL_SLOW), .group = "generic", .since = "4.0.0",
	  .summary = "Show a key's logarithmic access frequency counter (LFU policies)",
	  .complexity = "O(1)" },
	{ .name = "help", .fn = keys_cmd_object_help, .arity = 2,
	  .flags = CMD_LOADING | CMD_STALE,
	  .acl = ACL(ACL_KEYSPACE) | ACL(ACL_SLOW), .group = "generic", .since = "6.2.0",
	  .summary = "List the OBJECT subcommands",
	  .complexity = "O(1)" },
	{ .name = "idletime", .fn = keys_cmd_object_idletime, .arity = 3,
	  .flags = CMD_READONLY, .first_key = 2, .last_key = 2, .key_step = 1,
	  .acl = KS_R | ACL(ACL_SLOW), .group = "generic", .since = "2.2.3",
	  .summary = "Show the seconds since a key was last accessed",
	  .complexity = "O(1)" },
	{ .name = "refcount", .fn = keys_cmd_object_refcount, .arity = 3,
	  .flags = CMD_READONLY, .first_key = 2, .last_key = 2, .key_step = 1,
	  .acl = KS_R | ACL(ACL_SLOW), .group = "generic", .since = "2.2.3",
	  .summary = "Show how many references a key's value has (always 1 here)",
	  .complexity = "O(1)" },
	{ .name = NULL },
};

const struct cmd_def cmd_keys_defs[] = {
	{ .name = "del", .fn = keys_cmd_del, .arity = -2,
	  .flags = CMD_WRITE, .first_key = 1, .last_key = -1, .key_step = 1,
	  .acl = KS_W | ACL(ACL_SLOW), .group = "generic", .since = "1.0.0",
	  .summary = "Remove keys",
	  .complexity = "O(N) in the number of keys, plus the size of each value removed" },
	{ .name = "unlink", .fn = keys_cmd_del, .arity = -2,
	  .flags = CMD_WRITE | CMD_FAST, .first_key = 1, .last_key = -1, .key_step = 1,
	  .acl = KS_W | ACL(ACL_FAST), .group = "generic", .since = "4.0.0",
	  .summary = "Remove keys (the same as DEL in strata)",
	  .complexity = "O(N) in the number of keys" },
	{ .name = "exists", .fn = keys_cmd_exists, .arity = -2,
	  .flags = CMD_READONLY | CMD_FAST, .first_key = 1, .last_key = -1, .key_step = 1,
	  .acl = KS_R | ACL(ACL_FAST), .group = "generic", .since = "1.0.0",
	  .summary = "Count how many of the given keys exist, repeats included",
	  .complexity = "O(N) in the number of keys" },
	{ .name = "type", .fn = keys_cmd_type, .arity = 2,
	  .flags = CMD_READONLY | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_R | ACL(ACL_FAST), .group = "generic", .since = "1.0.0",
	  .summary = "Name the type of a key's value",
	  .complexity = "O(1)" },
	{ .name = "keys", .fn = keys_cmd_keys, .arity = 2,
	  .flags = CMD_READONLY | CMD_ALL_SHARDS,
	  .acl = KS_R | ACL(ACL_SLOW) | ACL(ACL_DANGEROUS), .group = "generic", .since = "1.0.0",
	  .summary = "List every key matching a glob pattern",
	  .complexity = "O(N) in the number of keys in the database" },
	{ .name = "scan", .fn = keys_cmd_scan, .arity = -2,
	  .flags = CMD_READONLY | CMD_ALL_SHARDS,
	  .acl = KS_R | ACL(ACL_SLOW), .group = "generic", .since = "2.8.0",
	  .summary = "Walk the keyspace a few keys per call with a cursor",
	  .complexity = "O(1) per call, O(N) for a whole walk" },
	{ .name = "randomkey", .fn = keys_cmd_randomkey, .arity = 1,
	  .flags = CMD_READONLY | CMD_ALL_SHARDS,
	  .acl = KS_R | ACL(ACL_SLOW), .group = "generic", .since = "1.0.0",
	  .summary = "Return some key of the database, picked at random",
	  .complexity = "O(1)" },
	{ .name = "rename", .fn = keys_cmd_rename, .arity = 3,
	  .flags = CMD_WRITE, .first_key = 1, .last_key = 2, .key_step = 1,
	  .acl = KS_W | ACL(ACL_SLOW), .group = "generic", .since = "1.0.0",
	  .summary = "Give a key a new name, replacing any key of that name",
	  .complexity = "O(1)" },
	{ .name = "renamenx", .fn = keys_cmd_renamenx, .arity = 3,
	  .flags = CMD_WRITE | CMD_FAST, .first_key = 1, .last_key = 2, .key_step = 1,
	  .acl = KS_W | ACL(ACL_FAST), .group = "generic", .since = "1.0.0",
	  .summary = "Give a key a new name unless that name is taken",
	  .complexity = "O(1)" },
	{ .name = "copy", .fn = keys_cmd_copy, .arity = -3,
	  .flags = CMD_WRITE | CMD_DENYOOM | CMD_BLOB_BYTES, .first_key = 1, .last_key = 2, .key_step = 1,
	  .acl = KS_W | ACL(ACL_SLOW), .group = "generic", .since = "6.2.0",
	  .summary = "Duplicate a key's value and TTL under another name or database",
	  .complexity = "O(1) for strings, O(N) in the elements of a collection" },
	{ .name = "move", .fn = keys_cmd_move, .arity = 3,
	  .flags = CMD_WRITE | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_W | ACL(ACL_FAST), .group = "generic", .since = "1.0.0",
	  .summary = "Move a key into another database unless it exists there",
	  .complexity = "O(1)" },
	{ .name = "touch", .fn = keys_cmd_touch, .arity = -2,
	  .flags = CMD_READONLY | CMD_FAST, .first_key = 1, .last_key = -1, .key_step = 1,
	  .acl = KS_R | ACL(ACL_FAST), .group = "generic", .since = "3.2.1",
	  .summary = "Mark keys as just accessed; count those that exist",
	  .complexity = "O(N) in the number of keys" },
	{ .name = "object", .fn = NULL, .arity = -2,
	  .flags = CMD_CONTAINER,
	  .acl = ACL(ACL_SLOW), .group = "generic", .since = "2.2.3",
	  .summary = "Introspect how a key's value is stored",
	  .complexity = "Depends on subcommand.", .subcmds = object_subcmds },
	{ .name = "expire", .fn = keys_cmd_expire, .arity = -3,
	  .flags = CMD_WRITE | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_W | ACL(ACL_FAST), .group = "generic", .since = "1.0.0",
	  .summary = "Set a key's time to live in seconds",
	  .complexity = "O(1)" },
	{ .name = "pexpire", .fn = keys_cmd_pexpire, .arity = -3,
	  .flags = CMD_WRITE | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_W | ACL(ACL_FAST), .group = "generic", .since = "2.6.0",
	  .summary = "Set a key's time to live in milliseconds",
	  .complexity = "O(1)" },
	{ .name = "expireat", .fn = keys_cmd_expireat, .arity = -3,
	  .flags = CMD_WRITE | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_W | ACL(ACL_FAST), .group = "generic", .since = "1.2.0",
	  .summary = "Make a key expire at a Unix time in seconds",
	  .complexity = "O(1)" },
	{ .name = "pexpireat", .fn = keys_cmd_pexpireat, .arity = -3,
	  .flags = CMD_WRITE | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_W | ACL(ACL_FAST), .group = "generic", .since = "2.6.0",
	  .summary = "Make a key expire at a Unix time in milliseconds",
	  .complexity = "O(1)" },
	{ .name = "ttl", .fn = keys_cmd_ttl, .arity = 2,
	  .flags = CMD_READONLY | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_R | ACL(ACL_FAST), .group = "generic", .since = "1.0.0",
	  .summary = "Seconds left before a key expires",
	  .complexity = "O(1)" },
	{ .name = "pttl", .fn = keys_cmd_pttl, .arity = 2,
	  .flags = CMD_READONLY | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_R | ACL(ACL_FAST), .group = "generic", .since = "2.6.0",
	  .summary = "Milliseconds left before a key expires",
	  .complexity = "O(1)" },
	{ .name = "expiretime", .fn = keys_cmd_expiretime, .arity = 2,
	  .flags = CMD_READONLY | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_R | ACL(ACL_FAST), .group = "generic", .since = "7.0.0",
	  .summary = "The Unix time in seconds at which a key expires",
	  .complexity = "O(1)" },
	{ .name = "pexpiretime", .fn = keys_cmd_pexpiretime, .arity = 2,
	  .flags = CMD_READONLY | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_R | ACL(ACL_FAST), .group = "generic", .since = "7.0.0",
	  .summary = "The Unix time in milliseconds at which a key expires",
	  .complexity = "O(1)" },
	{ .name = "persist", .fn = keys_cmd_persist, .arity = 2,
	  .flags = CMD_WRITE | CMD_FAST, .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = KS_W | ACL(ACL_FAST), .group = "generic", .since = "2.2.0",
	  .summary = "Drop a key's time to live so it never expires",
	  .complexity = "O(1)" },
	{ .name = "dbsize", .fn = keys_cmd_dbsize, .arity = 1,
	  .flags = CMD_READONLY | CMD_FAST | CMD_ALL_SHARDS,
	  .acl = KS_R | ACL(ACL_FAST), .group = "server", .since = "1.0.0",
	  .summary = "Count the keys of the selected database",
	  .complexity = "O(1) per shard" },
	{ .name = "flushdb", .fn = keys_cmd_flushdb, .arity = -1,
	  .flags = CMD_WRITE | CMD_ALL_SHARDS,
	  .acl = KS_W | ACL(ACL_SLOW) | ACL(ACL_DANGEROUS), .group = "server", .since = "1.0.0",
	  .summary = "Remove every key of the selected database",
	  .complexity = "O(N) in the number of keys in the database" },
	{ .name = "flushall", .fn = keys_cmd_flushall, .arity = -1,
	  .flags = CMD_WRITE | CMD_ALL_SHARDS,
	  .acl = KS_W | ACL(ACL_SLOW) | ACL(ACL_DANGEROUS), .group = "server", .since = "1.0.0",
	  .summary = "Remove every key of every database",
	  .complexity = "O(N) in the number of keys in all databases" },
	{ .name = "swapdb", .fn = keys_cmd_swapdb, .arity = 3,
	  .flags = CMD_WRITE | CMD_FAST | CMD_ALL_SHARDS,
	  .acl = KS_W | ACL(ACL_FAST) | ACL(ACL_DANGEROUS), .group = "server", .since = "4.0.0",
	  .summary = "Exchange the contents of two databases",
	  .complexity = "O(1) per shard" },
	{ .name = NULL },
};
