/*
 * cmd_zset.c - the sorted-set command family: ZADD and its relatives, the
 * range reads and deletes by rank, score and lex, the pops (blocking too),
 * ZRANDMEMBER, ZSCAN, and the set algebra ZUNION/ZINTER/ZDIFF with their
 * STORE forms and ZINTERCARD.
 *
 * Every handler follows Redis 7.0's observable behaviour: the order in
 * which arguments are validated (so which error a bad call gets: options
 * and scores before the key's type for ZADD, the key's type before the
 * options for ZUNION and friends), the exact error words, the reply shapes
 * in RESP2 and RESP3, and the number of changes counted as dirty. Scores
 * are replied with resp_w_double(): a bulk "%.17g" in RESP2, a double in
 * RESP3. WITHSCORES replies are flat member,score lists in RESP2 and lists
 * of [member, score] pairs in RESP3, except where Redis keeps them flat
 * (ZPOPMIN without a count, BZPOPMIN).
 *
 * Databases come only from cmd_db(ctx, key), per key: ZUNIONSTORE and the
 * other multi-key commands may run on a coordinator with their keys spread
 * over parked shards. Commands whose keys are given by a count (numkeys)
 * export getkeys functions for routing; a malformed count makes them return
 * -1, and the handler then replies the error before it touches any key.
 *
 * The value itself (encodings, ranges, iteration) is t_zset's; this file
 * only parses, looks up, and replies. A key whose set becomes empty is
 * deleted. ZADD, ZINCRBY and the store commands signal the key ready for
 * blocked BZPOP*; in-place changes signal it modified (WATCH).
 *
 * Sources of the set algebra may be plain sets (KV_SET), whose members count
 * with score 1, as in Redis.
 *
 * Blocking pops call cmd_block() when every key is missing; the blocking
 * layer runs the command again when one of its keys is signalled ready. On
 * such a re-run (CTX_RERUN, when the server defines it) a key that now holds
 * another type is treated as missing, as Redis 7.0 leaves such a client
 * blocked instead of replying WRONGTYPE.
 *
 * ZRANDMEMBER with a negative count repeats members, so its reply grows
 * with the count alone; a count whose reply could not fit in
 * proto-max-bulk-len bytes (at least 8 bytes an element) is refused with
 * "value is out of range" instead of building an unbounded reply (Redis
 * would try, and exhaust memory).
 */
#include "cmd.h"
#include "cfg.h"
#include "kv.h"
#include "mem.h"
#include "resp_write.h"
#include "strutil.h"
#include "t_set.h"
#include "t_zset.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_NAN		"resulting score is not a number (NaN)"
#define ERR_RANGE	"min or max is not a float"
#define ERR_LEX		"min or max not valid string range item"

/* ---- lookups ---- */

static unsigned lk_flags(const struct cmd_ctx *ctx, bool read)
{
	return (read ? KV_LK_READ : 0) | (ctx->flags & CTX_NO_TOUCH ? KV_LK_NOTOUCH : 0);
}

/* The live entry of argv[i] in its owning db (stored in *dbp if not NULL).
 * read: counts a keyspace hit or miss (Redis's lookupKeyRead). */
static struct kv_entry *z_lookup(struct cmd_ctx *ctx, int i, bool read, struct kv_db **dbp)
{
	const struct cmd_arg *k = &ctx->argv[i];
	struct kv_db *db = cmd_db(ctx, k->p, k->len);

	if (dbp)
		*dbp = db;
	return kv_lookup(db, k->p, k->len, lk_flags(ctx, read));
}

static struct zset *zset_of(const struct kv_entry *e)
{
	return e->v.ptr;
}

/* True if e is missing or a sorted set; otherwise replies WRONGTYPE. */
static bool z_type_ok(struct cmd_ctx *ctx, const struct kv_entry *e)
{
	if (e && e->type != KV_ZSET) {
		cmd_reply_wrongtype(ctx);
		return false;
	}
	return true;
}

static bool is_rerun(const struct cmd_ctx *ctx)
{
#ifdef CTX_RERUN
	return (ctx->flags & CTX_RERUN) != 0;
#else
	(void)ctx;
	return false;
#endif
}

/* Deletes key argv[i] (entry e of db) if its set is empty; returns whether
 * it did. */
static bool z_drop_if_empty(struct kv_db *db, struct kv_entry *e)
{
	if (zset_len(zset_of(e)))
		return false;
	kv_delete_entry(db, e);
	return true;
}

/* Installs z as the value of argv[i] (replacing anything, clearing the TTL)
 * and wakes its blocked poppers. */
static void z_store(struct cmd_ctx *ctx, int i, struct kv_db *db, struct zset *z)
{
	const struct cmd_arg *k = &ctx->argv[i];

	kv_set_obj(db, k->p, k->len, KV_ZSET, KV_ENC_OTHER, z);
	kv_signal_ready(db, k->p, k->len);
}

/* ---- argument helpers ---- */

/* Redis's getLongFromObjectOrReply with a NULL message. */
static bool arg_long(struct cmd_ctx *ctx, int i, long long *out)
{
	return cmd_arg_ll(ctx, i, out);
}

/* An integer in [min, max], else the error msg (for a bad integer too). */
static bool arg_range_msg(struct cmd_ctx *ctx, int i, long long min, long long max,
			  long long *out, const char *msg)
{
	if (!strutil_to_ll(ctx->argv[i].p, ctx->argv[i].len, out) || *out < min || *out > max) {
		resp_w_error(ctx->w, msg);
		return false;
	}
	return true;
}

static bool arg_double(const struct cmd_arg *a, double *out)
{
	return strutil_to_d(a->p, a->len, out);
}

/* A score pair in a reply: member then score, inside a [m, s] pair in
 * RESP3 when nested. */
static void reply_elem(struct cmd_ctx *ctx, const char *m, size_t mlen, double score,
		       bool withscores, bool nested)
{
	if (nested)
		resp_w_array(ctx->w, 2);
	resp_w_bulk(ctx->w, m, mlen);
	if (withscores)
		resp_w_double(ctx->w, score);
}

/* ---- ZADD, ZINCRBY ---- */

static void zadd_generic(struct cmd_ctx *ctx, unsigned in)
{
	const struct cmd_arg *key = &ctx->argv[1];
	int si = 2, n;
	bool ch = false, incr;
	long long added = 0, updated = 0, processed = 0;
	double score = 0, *scores;
	struct kv_db *db;
	struct kv_entry *e;
	struct zset *z;
	bool created = false;

	for (; si < ctx->argc; si++) {
		if (cmd_arg_is(ctx, si, "nx"))
			in |= ZSET_IN_NX;
		else if (cmd_arg_is(ctx, si, "xx"))
			in |= ZSET_IN_XX;
		else if (cmd_arg_is(ctx, si, "ch"))
			ch = true;
		else if (cmd_arg_is(ctx, si, "incr"))
			in |= ZSET_IN_INCR;
		else if (cmd_arg_is(ctx, si, "gt"))
			in |= ZSET_IN_GT;
		else if (cmd_arg_is(ctx, si, "lt"))
			in |= ZSET_IN_LT;
		else
			break;
	}
	incr = in & ZSET_IN_INCR;
	n = ctx->argc - si;
	if (n == 0 || n % 2) {
		cmd_reply_syntax(ctx);
		return;
	}
	n /= 2;
	if ((in & ZSET_IN_NX) && (in & ZSET_IN_XX)) {
		resp_w_error(ctx->w, "XX and NX options at the same time are not compatible");
		return;
	}
	if (((in & ZSET_IN_NX) && (in & (ZSET_IN_GT | ZSET_IN_LT))) ||
	    ((in & ZSET_IN_GT) && (in & ZSET_IN_LT))) {
		resp_w_error(ctx->w, "GT, LT, and/or NX options at the same time are not compatible");
		return;
	}
	if (incr && n > 1) {
		resp_w_error(ctx->w, "INCR option supports a single increment-element pair");
		return;
	}
	/* Every score is parsed before anything changes: all or nothing. */
	scores = mem_alloc((size_t)n * sizeof(*scores));
	for (int j = 0; j < n; j++) {
		if (!arg_double(&ctx->argv[si + 2 * j], &scores[j])) {
			cmd_reply_notfloat(ctx);
			goto out;
		}
	}
	e = z_lookup(ctx, 1, false, &db);
	if (!z_type_ok(ctx, e))
		goto out;
	if (e) {
		z = zset_of(e);
	} else {
		if (in & ZSET_IN_XX)
			goto reply;
		z = zset_new(1, ctx->argv[si + 1].len);
		created = true;
	}
	for (int j = 0; j < n; j++) {
		const struct cmd_arg *m = &ctx->argv[si + 2 * j + 1];
		unsigned out;
		double ns = 0;

		if (zset_add(z, scores[j], m->p, m->len, in, &out, &ns) < 0) {
			/* Only an INCR of an existing member gets here: a new
			 * key has no such member, so z was not just created. */
			resp_w_error(ctx->w, ERR_NAN);
			goto out;
		}
		added += (out & ZSET_OUT_ADDED) != 0;
		updated += (out & ZSET_OUT_UPDATED) != 0;
		processed += !(out & ZSET_OUT_NOP);
		score = ns;
	}
	if (created) {
		if (zset_len(z))
			z_store(ctx, 1, db, z);
		else
			zset_free(z);
	} else if (added || updated) {
		kv_signal_modified(db, key->p, key->len);
		if (added)
			kv_signal_ready(db, key->p, key->len);
	}
	ctx->dirty += (uint64_t)(added + updated);
reply:
	if (incr) {
		if (processed)
			resp_w_double(ctx->w, score);
		else
			resp_w_null(ctx->w);
	} else {
		resp_w_int(ctx->w, ch ? added + updated : added);
	}
out:
	mem_free(scores);
}

static void cmd_zadd(struct cmd_ctx *ctx)
{
	zadd_generic(ctx, 0);
}

static void cmd_zincrby(struct cmd_ctx *ctx)
{
	zadd_generic(ctx, ZSET_IN_INCR);
}

/* ---- point reads and removal ---- */

static void cmd_zrem(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1];
	struct kv_db *db;
	struct kv_entry *e = z_lookup(ctx, 1, false, &db);
	long long deleted = 0;
	bool dropped = false;

	if (!e) {
		resp_w_int(ctx->w, 0);
		return;
	}
	if (!z_type_ok(ctx, e))
		return;
	for (int j = 2; j < ctx->argc; j++) {
		deleted += zset_del(zset_of(e), ctx->argv[j].p, ctx->argv[j].len);
		if (z_drop_if_empty(db, e)) {
			dropped = true;
			break;
		}
	}
	if (deleted && !dropped)
		kv_signal_modified(db, key->p, key->len);
	ctx->dirty += (uint64_t)deleted;
	resp_w_int(ctx->w, deleted);
}

static void cmd_zscore(struct cmd_ctx *ctx)
{
	struct kv_entry *e = z_lookup(ctx, 1, true, NULL);
	double s;

	if (!e) {
		resp_w_null(ctx->w);
		return;
	}
	if (!z_type_ok(ctx, e))
		return;
	if (zset_score(zset_of(e), ctx->argv[2].p, ctx->argv[2].len, &s))
		resp_w_double(ctx->w, s);
	else
		resp_w_null(ctx->w);
}

static void cmd_zmscore(struct cmd_ctx *ctx)
{
	struct kv_entry *e = z_lookup(ctx, 1, true, NULL);

	if (!z_type_ok(ctx, e))
		return;
	resp_w_array(ctx->w, (size_t)ctx->argc - 2);
	for (int j = 2; j < ctx->argc; j++) {
		double s;

		if (e && zset_score(zset_of(e), ctx->argv[j].p, ctx->argv[j].len, &s))
			resp_w_double(ctx->w, s);
		else
			resp_w_null(ctx->w);
	}
}

static void cmd_zcard(struct cmd_ctx *ctx)
{
	struct kv_entry *e = z_lookup(ctx, 1, true, NULL);

	if (!z_type_ok(ctx, e))
		return;
	resp_w_int(ctx->w, e ? (long long)zset_len(zset_of(e)) : 0);
}

static void cmd_zcount(struct cmd_ctx *ctx)
{
	struct zset_range r;
	struct kv_entry *e;

	if (!zset_parse_range(ctx->argv[2].p, ctx->argv[2].len, ctx->argv[3].p, ctx->argv[3].len,
			      &r)) {
		resp_w_error(ctx->w, ERR_RANGE);
		return;
	}
	e = z_lookup(ctx, 1, true, NULL);
	if (!z_type_ok(ctx, e))
		return;
	resp_w_int(ctx->w, e ? (long long)zset_count(zset_of(e), &r) : 0);
}

static void cmd_zlexcount(struct cmd_ctx *ctx)
{
	struct zset_lex_range r;
	struct kv_entry *e;

	if (!zset_parse_lex_range(ctx->argv[2].p, ctx->argv[2].len, ctx->argv[3].p,
				  ctx->argv[3].len, &r)) {
		resp_w_error(ctx->w, ERR_LEX);
		return;
	}
	e = z_lookup(ctx, 1, true, NULL);
	if (!z_type_ok(ctx, e))
		return;
	resp_w_int(ctx->w, e ? (long long)zset_lex_count(zset_of(e), &r) : 0);
}

static void zrank_generic(struct cmd_ctx *ctx, bool rev)
{
	struct kv_entry *e = z_lookup(ctx, 1, true, NULL);
	long long rank;

	if (!e) {
		resp_w_null(ctx->w);
		return;
	}
	if (!z_type_ok(ctx, e))
		return;
	rank = zset_rank(zset_of(e), ctx->argv[2].p, ctx->argv[2].len, rev);
	if (rank >= 0)
		resp_w_int(ctx->w, rank);
	else
		resp_w_null(ctx->w);
}

static void cmd_zrank(struct cmd_ctx *ctx)
{
	zrank_generic(ctx, false);
}

static void cmd_zrevrank(struct cmd_ctx *ctx)
{
	zrank_generic(ctx, true);
}

/* ---- ZRANGE and its relatives ---- */

enum zr_type { ZR_AUTO, ZR_RANK, ZR_SCORE, ZR_LEX };
enum zr_dir { ZR_DIR_AUTO, ZR_FORWARD, ZR_REVERSE };

/* Where a range goes: the client (ZRANGE...) or a new set (ZRANGESTORE). */
struct zr_out {
	struct cmd_ctx *ctx;
	int dst;		/* argv index of ZRANGESTORE's destination, 0 = reply */
	bool withscores;	/* reply scores */
	bool nested;		/* RESP3: [member, score] pairs */
	struct zset *z;		/* the set being built (store) */
	size_t off;		/* deferred reply header */
	bool deferred;
	size_t n;		/* elements emitted */
};

/* Starts the output; len is the number of elements if known, else -1. */
static void zr_begin(struct zr_out *o, long long len)
{
	if (o->dst) {
		o->z = zset_new(len > 0 ? (size_t)len : 0, 0);
		return;
	}
	if (len > 0) {
		resp_w_array(o->ctx->w, (size_t)len * (o->withscores && !o->nested ? 2 : 1));
		o->deferred = false;
	} else {
		o->off = resp_w_defer(o->ctx->w);
		o->deferred = true;
	}
}

static void zr_emit(struct zr_out *o, const struct zset_elem *e)
{
	o->n++;
	if (o->dst) {
		unsigned out;

		zset_add(o->z, e->score, e->m, e->mlen, 0, &out, NULL);
		return;
	}
	reply_elem(o->ctx, e->m, e->mlen, e->score, o->withscores, o->nested);
}

static void zr_end(struct zr_out *o)
{
	struct cmd_ctx *ctx = o->ctx;

	if (o->dst) {
		const struct cmd_arg *k = &ctx->argv[o->dst];
		struct kv_db *db = cmd_db(ctx, k->p, k->len);

		if (o->n) {
			z_store(ctx, o->dst, db, o->z);
			resp_w_int(ctx->w, (long long)o->n);
		} else {
			zset_free(o->z);
			resp_w_int(ctx->w, 0);
			if (kv_delete(db, k->p, k->len))
				ctx->dirty++;
			return;
		}
		ctx->dirty++;
		return;
	}
	if (o->deferred)
		resp_w_defer_end(ctx->w, o->off,
				 '*', o->n * (o->withscores && !o->nested ? 2 : 1));
}

static void zrange_by_rank(struct zr_out *o, const struct zset *z, long long start,
			   long long end, bool rev)
{
	long long len = (long long)zset_len(z);
	struct zset_iter it;
	struct zset_elem e;
	long long n;

	if (!cmd_range_clamp(&start, &end, len)) {
		zr_begin(o, 0);
		zr_end(o);
		return;
	}
	n = end - start + 1;
	zr_begin(o, n);
	zset_iter_rank(&it, z, (size_t)start, rev);
	while (n-- > 0 && zset_iter_next(&it, &e))
		zr_emit(o, &e);
	zr_end(o);
}

/* The walk of a score or lex range with LIMIT offset count: a negative
 * offset selects nothing (Redis skips to the end), a negative count means
 * no limit. */
static void zrange_walk(struct zr_out *o, const struct zset *z, struct zset_iter *it,
			long long offset, long long limit)
{
	struct zset_elem e;

	zr_begin(o, -1);
	if (offset < 0 || (offset > 0 && (unsigned long long)offset >= zset_len(z))) {
		zr_end(o);
		return;
	}
	zset_iter_skip(it, (size_t)offset);
	while (limit != 0 && zset_iter_next(it, &e)) {
		zr_emit(o, &e);
		if (limit > 0)
			limit--;
	}
	zr_end(o);
}

/*
 * ZRANGE, ZRANGESTORE and the older Z[REV]RANGE[BYSCORE|BYLEX]: argv[src]
 * is the source key, then min, max and the options. type and dir are fixed
 * by the older commands and AUTO for ZRANGE/ZRANGESTORE, which then take
 * BYSCORE, BYLEX and REV.
 */
static void zrange_generic(struct cmd_ctx *ctx, int src, int dst, enum zr_type type,
			   enum zr_dir dir)
{
	struct zr_out o = { .ctx = ctx, .dst = dst };
	int mini = src + 1, maxi = src + 2;
	long long start = 0, end = 0, offset = 0, limit = -1;
	bool withscores = false, has_limit = false;
	struct zset_range sr;
	struct zset_lex_range lr;
	struct zset_iter it;
	struct kv_entry *e;
	const struct zset *z;

	for (int j = src + 3; j < ctx->argc; j++) {
		int left = ctx->argc - j - 1;

		if (!dst && cmd_arg_is(ctx, j, "withscores")) {
			withscores = true;
		} else if (cmd_arg_is(ctx, j, "limit") && left >= 2) {
			if (!arg_long(ctx, j + 1, &offset) || !arg_long(ctx, j + 2, &limit))
				return;
			has_limit = true;
			j += 2;
		} else if (dir == ZR_DIR_AUTO && cmd_arg_is(ctx, j, "rev")) {
			dir = ZR_REVERSE;
		} else if (type == ZR_AUTO && cmd_arg_is(ctx, j, "bylex")) {
			type = ZR_LEX;
		} else if (type == ZR_AUTO && cmd_arg_is(ctx, j, "byscore")) {
			type = ZR_SCORE;
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	if (dir == ZR_DIR_AUTO)
		dir = ZR_FORWARD;
	if (type == ZR_AUTO)
		type = ZR_RANK;
	/* LIMIT with a count of -1 is no LIMIT at all, as in Redis. */
	if (has_limit && limit != -1 && type == ZR_RANK) {
		resp_w_error(ctx->w, "syntax error, LIMIT is only supported in combination "
			     "with either BYSCORE or BYLEX");
		return;
	}
	if (withscores && type == ZR_LEX) {
		resp_w_error(ctx->w, "syntax error, WITHSCORES not supported in combination "
			     "with BYLEX");
		return;
	}
	if (dir == ZR_REVERSE && type != ZR_RANK) {
		int t = mini;

		mini = maxi;
		maxi = t;
	}
	switch (type) {
	case ZR_SCORE:
		if (!zset_parse_range(ctx->argv[mini].p, ctx->argv[mini].len, ctx->argv[maxi].p,
				      ctx->argv[maxi].len, &sr)) {
			resp_w_error(ctx->w, ERR_RANGE);
			return;
		}
		break;
	case ZR_LEX:
		if (!zset_parse_lex_range(ctx->argv[mini].p, ctx->argv[mini].len,
					  ctx->argv[maxi].p, ctx->argv[maxi].len, &lr)) {
			resp_w_error(ctx->w, ERR_LEX);
			return;
		}
		break;
	default:
		if (!arg_long(ctx, mini, &start) || !arg_long(ctx, maxi, &end))
			return;
		break;
	}
	o.withscores = withscores;
	o.nested = withscores && ctx->w->proto >= RESP3;

	e = z_lookup(ctx, src, true, NULL);
	if (!e) {
		if (dst) {
			zr_begin(&o, -1);
			zr_end(&o);
		} else {
			resp_w_array(ctx->w, 0);
		}
		return;
	}
	if (!z_type_ok(ctx, e))
		return;
	z = zset_of(e);
	switch (type) {
	case ZR_SCORE:
		zset_iter_score(&it, z, &sr, dir == ZR_REVERSE);
		zrange_walk(&o, z, &it, offset, limit);
		break;
	case ZR_LEX:
		zset_iter_lex(&it, z, &lr, dir == ZR_REVERSE);
		zrange_walk(&o, z, &it, offset, limit);
		break;
	default:
		zrange_by_rank(&o, z, start, end, dir == ZR_REVERSE);
		break;
	}
}

static void cmd_zrange(struct cmd_ctx *ctx)
{
	zrange_generic(ctx, 1, 0, ZR_AUTO, ZR_DIR_AUTO);
}

static void cmd_zrangestore(struct cmd_ctx *ctx)
{
	zrange_generic(ctx, 2, 1, ZR_AUTO, ZR_DIR_AUTO);
}

static void cmd_zrevrange(struct cmd_ctx *ctx)
{
	zrange_generic(ctx, 1, 0, ZR_RANK, ZR_REVERSE);
}

static void cmd_zrangebyscore(struct cmd_ctx *ctx)
{
	zrange_generic(ctx, 1, 0, ZR_SCORE, ZR_FORWARD);
}

static void cmd_zrevrangebyscore(struct cmd_ctx *ctx)
{
	zrange_generic(ctx, 1, 0, ZR_SCORE, ZR_REVERSE);
}

static void cmd_zrangebylex(struct cmd_ctx *ctx)
{
	zrange_generic(ctx, 1, 0, ZR_LEX, ZR_FORWARD);
}

static void cmd_zrevrangebylex(struct cmd_ctx *ctx)
{
	zrange_generic(ctx, 1, 0, ZR_LEX, ZR_REVERSE);
}

/* ---- ZREMRANGEBY* ---- */

static void zremrange_generic(struct cmd_ctx *ctx, enum zr_type type)
{
	const struct cmd_arg *key = &ctx->argv[1];
	struct zset_range sr;
	struct zset_lex_range lr;
	long long start = 0, end = 0;
	size_t deleted;
	struct kv_db *db;
	struct kv_entry *e;
	struct zset *z;

	if (type == ZR_RANK) {
		if (!arg_long(ctx, 2, &start) || !arg_long(ctx, 3, &end))
			return;
	} else if (type == ZR_SCORE) {
		if (!zset_parse_range(ctx->argv[2].p, ctx->argv[2].len, ctx->argv[3].p,
				      ctx->argv[3].len, &sr)) {
			resp_w_error(ctx->w, ERR_RANGE);
			return;
		}
	} else if (!zset_parse_lex_range(ctx->argv[2].p, ctx->argv[2].len, ctx->argv[3].p,
					 ctx->argv[3].len, &lr)) {
		resp_w_error(ctx->w, ERR_LEX);
		return;
	}
	e = z_lookup(ctx, 1, false, &db);
	if (!e) {
		resp_w_int(ctx->w, 0);
		return;
	}
	if (!z_type_ok(ctx, e))
		return;
	z = zset_of(e);
	if (type == ZR_RANK) {
		long long len = (long long)zset_len(z);

		if (!cmd_range_clamp(&start, &end, len)) {
			resp_w_int(ctx->w, 0);
			return;
		}
		deleted = zset_del_rank(z, (size_t)start, (size_t)end);
	} else if (type == ZR_SCORE) {
		deleted = zset_del_range(z, &sr);
	} else {
		deleted = zset_del_lex(z, &lr);
	}
	if (deleted && !z_drop_if_empty(db, e))
		kv_signal_modified(db, key->p, key->len);
	ctx->dirty += deleted;
	resp_w_int(ctx->w, (long long)deleted);
}

static void cmd_zremrangebyrank(struct cmd_ctx *ctx)
{
	zremrange_generic(ctx, ZR_RANK);
}

static void cmd_zremrangebyscore(struct cmd_ctx *ctx)
{
	zremrange_generic(ctx, ZR_SCORE);
}

static void cmd_zremrangebylex(struct cmd_ctx *ctx)
{
	zremrange_generic(ctx, ZR_LEX);
}

/* ---- ZUNION, ZINTER, ZDIFF and their STORE forms, ZINTERCARD ---- */

enum zop { ZOP_UNION, ZOP_INTER, ZOP_DIFF };

/* One input: a sorted set, a plain set (members score 1) or nothing. */
struct zsrc {
	const struct zset *z;	/* a sorted set (borrowed), or NULL */
	struct set *s;		/* a plain set (borrowed), or NULL */
	double weight;		/* WEIGHTS factor, 1 by default */
	size_t len;		/* members; 0 for a missing key */
};

static bool zsrc_find(const struct zsrc *src, const char *m, size_t mlen, double *score)
{
	if (src->z)
		return zset_score(src->z, m, mlen, score);
	if (src->s && set_contains(src->s, m, mlen)) {
		*score = 1.0;
		return true;
	}
	return false;
}

static bool zsrc_same(const struct zsrc *a, const struct zsrc *b)
{
	return (a->z && a->z == b->z) || (a->s && a->s == b->s);
}

/* Calls fn(m, mlen, score, arg) for every element of src, in order for a
 * sorted set. */
static void zsrc_each(const struct zsrc *src,
		      void (*fn)(const char *m, size_t mlen, double score, void *arg), void *arg)
{
	if (src->z) {
		struct zset_iter it;
		struct zset_elem e;

		zset_iter_rank(&it, src->z, 0, false);
		while (zset_iter_next(&it, &e))
			fn(e.m, e.mlen, e.score, arg);
	} else if (src->s) {
		struct set_iter it;
		struct set_elem e;

		set_iter_init(&it, src->s);
		while (set_iter_next(&it, &e)) {
			size_t len;
			const char *p = set_elem_str(&e, &len);

			fn(p, len, 1.0, arg);
		}
	}
}

/* Redis's zunionInterAggregate. */
static void zagg(double *target, double v, int agg)
{
	if (agg == ZSET_AGG_SUM) {
		*target += v;
		if (isnan(*target))
			*target = 0;
	} else if (agg == ZSET_AGG_MIN) {
		*target = v < *target ? v : *target;
	} else {
		*target = v > *target ? v : *target;
	}
}

struct zop_state {
	struct zsrc *src;
	int nsrc;
	int agg;
	struct zset *dst;		/* result (not for cardinality only) */
	unsigned long long card;	/* ZINTERCARD */
	unsigned long long limit;	/* ZINTERCARD LIMIT, 0 = none */
	int cur;			/* the source being walked (union) */
};

static void zunion_one(const char *m, size_t mlen, double score, void *arg)
{
	struct zop_state *st = arg;
	double v = st->src[st->cur].weight * score;

	if (isnan(v))
		v = 0;
	zset_accumulate(st->dst, m, mlen, v, st->agg);
}

static void zinter_one(const char *m, size_t mlen, double score, void *arg)
{
	struct zop_state *st = arg;
	double v = st->src[0].weight * score;
	unsigned out;
	int j;

	if (st->limit && st->card >= st->limit)
		return;
	if (isnan(v))
		v = 0;
	for (j = 1; j < st->nsrc; j++) {
		double o;

		if (zsrc_same(&st->src[j], &st->src[0]))
			o = score;
		else if (!zsrc_find(&st->src[j], m, mlen, &o))
			break;
		zagg(&v, o * st->src[j].weight, st->agg);
	}
	if (j < st->nsrc)
		return;
	st->card++;
	if (st->dst)
		zset_add(st->dst, v, m, mlen, 0, &out, NULL);
}

static void zdiff_one(const char *m, size_t mlen, double score, void *arg)
{
	struct zop_state *st = arg;
	unsigned out;
	double o;

	for (int j = 1; j < st->nsrc; j++)
		if (zsrc_find(&st->src[j], m, mlen, &o))
			return;
	zset_add(st->dst, score, m, mlen, 0, &out, NULL);
}

/* Stable insertion sort by cardinality: Redis sorts the inputs of a union
 * or intersection smallest first, and the order decides the order in which
 * floating-point scores are added. */
static void zsrc_sort(struct zsrc *src, int n)
{
	for (int i = 1; i < n; i++) {
		struct zsrc t = src[i];
		int j = i - 1;

		while (j >= 0 && src[j].len > t.len) {
			src[j + 1] = src[j];
			j--;
		}
		src[j + 1] = t;
	}
}

/*
 * The body of all seven: numkeys at argv[ki], the keys after it, then the
 * options. dst is the argv index of the destination (STORE forms) or 0;
 * card is ZINTERCARD.
 */
static void zsetop_generic(struct cmd_ctx *ctx, int dst, int ki, enum zop op, bool card)
{
	struct zop_state st = { .agg = ZSET_AGG_SUM };
	bool withscores = false;
	long long n, limit = 0;
	int j;

	if (!arg_long(ctx, ki, &n))
		return;
	if (n < 1) {
		char name[64];

		resp_w_errorf(ctx->w, "at least 1 input key is needed for '%s' command",
			      cmd_fullname(ctx->cmd, name, sizeof(name)));
		return;
	}
	if (n > ctx->argc - ki - 1) {
		cmd_reply_syntax(ctx);
		return;
	}
	st.nsrc = (int)n;
	st.src = mem_calloc((size_t)n, sizeof(*st.src));
	for (int i = 0; i < st.nsrc; i++) {
		struct kv_entry *e = z_lookup(ctx, ki + 1 + i, true, NULL);

		st.src[i].weight = 1.0;
		if (!e)
			continue;
		if (e->type == KV_ZSET) {
			st.src[i].z = zset_of(e);
			st.src[i].len = zset_len(st.src[i].z);
		} else if (e->type == KV_SET) {
			st.src[i].s = set_of(e);
			st.src[i].len = set_size(st.src[i].s);
		} else {
			cmd_reply_wrongtype(ctx);
			goto out;
		}
	}
	for (j = ki + 1 + st.nsrc; j < ctx->argc;) {
		int left = ctx->argc - j;

		if (op != ZOP_DIFF && !card && left >= st.nsrc + 1 && cmd_arg_is(ctx, j, "weights")) {
			j++;
			for (int i = 0; i < st.nsrc; i++, j++) {
				if (!arg_double(&ctx->argv[j], &st.src[i].weight)) {
					resp_w_error(ctx->w, "weight value is not a float");
					goto out;
				}
			}
		} else if (op != ZOP_DIFF && !card && left >= 2 && cmd_arg_is(ctx, j, "aggregate")) {
			if (cmd_arg_is(ctx, j + 1, "sum")) {
				st.agg = ZSET_AGG_SUM;
			} else if (cmd_arg_is(ctx, j + 1, "min")) {
				st.agg = ZSET_AGG_MIN;
			} else if (cmd_arg_is(ctx, j + 1, "max")) {
				st.agg = ZSET_AGG_MAX;
			} else {
				cmd_reply_syntax(ctx);
				goto out;
			}
			j += 2;
		} else if (!dst && !card && cmd_arg_is(ctx, j, "withscores")) {
			withscores = true;
			j++;
		} else if (card && left >= 2 && cmd_arg_is(ctx, j, "limit")) {
			if (!arg_range_msg(ctx, j + 1, 0, LLONG_MAX, &limit, "LIMIT can't be negative"))
				goto out;
			j += 2;
		} else {
			cmd_reply_syntax(ctx);
			goto out;
		}
	}
	if (op != ZOP_DIFF)
		zsrc_sort(st.src, st.nsrc);
	st.limit = (unsigned long long)limit;
	if (!card)
		st.dst = zset_new(SIZE_MAX, 0);

	if (op == ZOP_INTER) {
		if (st.src[0].len)
			zsrc_each(&st.src[0], zinter_one, &st);
	} else if (op == ZOP_UNION) {
		for (st.cur = 0; st.cur < st.nsrc; st.cur++)
			zsrc_each(&st.src[st.cur], zunion_one, &st);
	} else if (st.src[0].len) {
		bool self = false;

		for (int i = 1; i < st.nsrc; i++)
			self |= zsrc_same(&st.src[i], &st.src[0]);
		if (!self)
			zsrc_each(&st.src[0], zdiff_one, &st);
	}

	if (dst) {
		const struct cmd_arg *k = &ctx->argv[dst];
		struct kv_db *db = cmd_db(ctx, k->p, k->len);
		size_t len = zset_len(st.dst);

		if (len) {
			zset_compact(st.dst);
			z_store(ctx, dst, db, st.dst);
			st.dst = NULL;
			resp_w_int(ctx->w, (long long)len);
			ctx->dirty++;
		} else {
			resp_w_int(ctx->w, 0);
			if (kv_delete(db, k->p, k->len))
				ctx->dirty++;
		}
	} else if (card) {
		resp_w_int(ctx->w, (long long)st.card);
	} else {
		bool nested = withscores && ctx->w->proto >= RESP3;
		size_t len = zset_len(st.dst);
		struct zset_iter it;
		struct zset_elem e;

		resp_w_array(ctx->w, withscores && !nested ? len * 2 : len);
		zset_iter_rank(&it, st.dst, 0, false);
		while (zset_iter_next(&it, &e))
			reply_elem(ctx, e.m, e.mlen, e.score, withscores, nested);
	}
out:
	zset_free(st.dst);
	mem_free(st.src);
}

static void cmd_zunionstore(struct cmd_ctx *ctx)
{
	zsetop_generic(ctx, 1, 2, ZOP_UNION, false);
}

static void cmd_zinterstore(struct cmd_ctx *ctx)
{
	zsetop_generic(ctx, 1, 2, ZOP_INTER, false);
}

static void cmd_zdiffstore(struct cmd_ctx *ctx)
{
	zsetop_generic(ctx, 1, 2, ZOP_DIFF, false);
}

static void cmd_zunion(struct cmd_ctx *ctx)
{
	zsetop_generic(ctx, 0, 1, ZOP_UNION, false);
}

static void cmd_zinter(struct cmd_ctx *ctx)
{
	zsetop_generic(ctx, 0, 1, ZOP_INTER, false);
}

static void cmd_zintercard(struct cmd_ctx *ctx)
{
	zsetop_generic(ctx, 0, 1, ZOP_INTER, true);
}

static void cmd_zdiff(struct cmd_ctx *ctx)
{
	zsetop_generic(ctx, 0, 1, ZOP_DIFF, false);
}

/* ---- pops ---- */

/* How a pop replies (Redis's genericZpopCommand). */
struct zpop_shape {
	bool max;		/* ZPOPMAX and MAX */
	bool emitkey;		/* the key name comes first (BZPOP*, *ZMPOP) */
	bool nested;		/* [member, score] pairs */
	bool nil_when_empty;	/* null array rather than an empty one (*ZMPOP) */
	long long count;	/* elements; -1 for a plain single pop */
};

/* Pops from the set of key argv[ki] (entry e in db, non-empty) and
 * replies. */
static void zpop_from(struct cmd_ctx *ctx, int ki, struct kv_db *db, struct kv_entry *e,
		      const struct zpop_shape *sh)
{
	struct zset *z = zset_of(e);
	const struct cmd_arg *key = &ctx->argv[ki];
	long long count = sh->count < 0 ? 1 : sh->count;
	size_t len = zset_len(z), n = (size_t)count < len ? (size_t)count : len;
	struct zset_iter it;
	struct zset_elem el;

	if (!sh->nested && !sh->emitkey) {
		resp_w_array(ctx->w, n * 2);
	} else if (sh->nested && !sh->emitkey) {
		resp_w_array(ctx->w, n);
	} else if (!sh->nested) {
		resp_w_array(ctx->w, n * 2 + 1);
		resp_w_bulk(ctx->w, key->p, key->len);
	} else {
		resp_w_array(ctx->w, 2);
		resp_w_bulk(ctx->w, key->p, key->len);
		resp_w_array(ctx->w, n);
	}
	zset_iter_rank(&it, z, 0, sh->max);
	for (size_t i = 0; i < n && zset_iter_next(&it, &el); i++)
		reply_elem(ctx, el.m, el.mlen, el.score, true, sh->nested);
	if (sh->max)
		zset_del_rank(z, len - n, len - 1);
	else
		zset_del_rank(z, 0, n - 1);
	ctx->dirty += n;
	if (!z_drop_if_empty(db, e))
		kv_signal_modified(db, key->p, key->len);
}

/* The non-blocking pop over keys argv[first..first+nkeys). */
static void zpop_generic(struct cmd_ctx *ctx, int first, int nkeys,
			 const struct zpop_shape *sh)
{
	struct kv_entry *e = NULL;
	struct kv_db *db = NULL;
	int i;

	for (i = first; i < first + nkeys; i++) {
		e = z_lookup(ctx, i, false, &db);
		if (!e)
			continue;
		if (!z_type_ok(ctx, e))
			return;
		break;
	}
	if (!e) {
		if (sh->nil_when_empty)
			resp_w_null_array(ctx->w);
		else
			resp_w_array(ctx->w, 0);
		return;
	}
	if (sh->count == 0) {
		resp_w_array(ctx->w, 0);
		return;
	}
	zpop_from(ctx, i, db, e, sh);
}

/* The blocking pop: serves the first non-empty key of
 * argv[first..first+nkeys), else blocks until deadline. */
static void bzpop_generic(struct cmd_ctx *ctx, int first, int nkeys, int64_t deadline,
			  const struct zpop_shape *sh)
{
	for (int i = first; i < first + nkeys; i++) {
		struct kv_db *db;
		struct kv_entry *e = z_lookup(ctx, i, false, &db);

		if (!e)
			continue;
		if (e->type != KV_ZSET) {
			if (is_rerun(ctx))
				continue;
			cmd_reply_wrongtype(ctx);
			return;
		}
		if (zset_len(zset_of(e)) == 0)
			continue;
		zpop_from(ctx, i, db, e, sh);
		return;
	}
	cmd_block(ctx, deadline, true);
}

static void zpop_minmax(struct cmd_ctx *ctx, bool max)
{
	struct zpop_shape sh = { .max = max, .count = -1 };

	if (ctx->argc > 3) {
		cmd_reply_syntax(ctx);
		return;
	}
	if (ctx->argc == 3 && !arg_range_msg(ctx, 2, 0, LLONG_MAX, &sh.count,
					     "value is out of range, must be positive"))
		return;
	sh.nested = ctx->w->proto >= RESP3 && sh.count != -1;
	zpop_generic(ctx, 1, 1, &sh);
}

static void cmd_zpopmin(struct cmd_ctx *ctx)
{
	zpop_minmax(ctx, false);
}

static void cmd_zpopmax(struct cmd_ctx *ctx)
{
	zpop_minmax(ctx, true);
}

static void bzpop_minmax(struct cmd_ctx *ctx, bool max)
{
	struct zpop_shape sh = { .max = max, .emitkey = true, .count = -1 };
	int64_t deadline;

	if (!cmd_arg_timeout(ctx, ctx->argc - 1, &deadline))
		return;
	bzpop_generic(ctx, 1, ctx->argc - 2, deadline, &sh);
}

static void cmd_bzpopmin(struct cmd_ctx *ctx)
{
	bzpop_minmax(ctx, false);
}

static void cmd_bzpopmax(struct cmd_ctx *ctx)
{
	bzpop_minmax(ctx, true);
}

/* ZMPOP numkeys key... MIN|MAX [COUNT n] and BZMPOP timeout numkeys ...:
 * numkeys at argv[ki]. */
static void zmpop_generic(struct cmd_ctx *ctx, int ki, bool blocking)
{
	struct zpop_shape sh = { .emitkey = true, .nested = true, .nil_when_empty = true,
				 .count = -1 };
	long long nkeys;
	int wi;
	int64_t deadline;

	if (!arg_range_msg(ctx, ki, 1, LLONG_MAX, &nkeys, "numkeys should be greater than 0"))
		return;
	if (nkeys >= ctx->argc - ki - 1) {
		cmd_reply_syntax(ctx);
		return;
	}
	wi = ki + (int)nkeys + 1;
	if (cmd_arg_is(ctx, wi, "min")) {
		sh.max = false;
	} else if (cmd_arg_is(ctx, wi, "max")) {
		sh.max = true;
	} else {
		cmd_reply_syntax(ctx);
		return;
	}
	for (int j = wi + 1; j < ctx->argc; j++) {
		if (sh.count == -1 && cmd_arg_is(ctx, j, "count") && j + 1 < ctx->argc) {
			j++;
			if (!arg_range_msg(ctx, j, 1, LLONG_MAX, &sh.count,
					   "count should be greater than 0"))
				return;
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	if (sh.count == -1)
		sh.count = 1;
	if (!blocking) {
		zpop_generic(ctx, ki + 1, (int)nkeys, &sh);
		return;
	}
	if (!cmd_arg_timeout(ctx, 1, &deadline))
		return;
	bzpop_generic(ctx, ki + 1, (int)nkeys, deadline, &sh);
}

static void cmd_zmpop(struct cmd_ctx *ctx)
{
	zmpop_generic(ctx, 1, false);
}

static void cmd_bzmpop(struct cmd_ctx *ctx)
{
	zmpop_generic(ctx, 2, true);
}

/* ---- ZRANDMEMBER ---- */

static _Thread_local uint64_t zr_rng;

static uint64_t zr_rand(void)
{
	uint64_t x = zr_rng;

	if (unlikely(!x))
		x = (uint64_t)util_ustime() ^ 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&zr_rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	zr_rng = x ? x : 1;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n). */
static size_t zr_below(size_t n)
{
	uint64_t lim = UINT64_MAX - UINT64_MAX % n, r;

	do
		r = zr_rand();
	while (r >= lim);
	return (size_t)(r % n);
}

static void zr_reply_rank(struct cmd_ctx *ctx, const struct zset *z, size_t rank,
			  bool withscores, bool nested)
{
	struct zset_elem e;

	zset_at_rank(z, rank, &e);
	reply_elem(ctx, e.m, e.mlen, e.score, withscores, nested);
}

/* A listpack element kept for repeated picks. */
struct zr_pick {
	const char *m;		/* view into the listpack; NULL for an integer */
	size_t mlen;
	bool is_int;
	long long ll;		/* the member, when is_int */
	double score;
};

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static void zrandmember_count(struct cmd_ctx *ctx, long long l, bool withscores)
{
	struct kv_entry *e = z_lookup(ctx, 1, true, NULL);
	bool nested = withscores && ctx->w->proto >= RESP3;
	unsigned long long count;
	const struct zset *z;
	size_t size;

	if (!e) {
		resp_w_array(ctx->w, 0);
		return;
	}
	if (!z_type_ok(ctx, e))
		return;
	z = zset_of(e);
	size = zset_len(z);
	count = l < 0 ? (unsigned long long)-l : (unsigned long long)l;
	if (count == 0) {
		resp_w_array(ctx->w, 0);
		return;
	}
	if (l < 0 || count == 1) {
		/* With repetitions: independent uniform picks. */
		if (count > (unsigned long long)cfg.proto_max_bulk_len / 8) {
			resp_w_error(ctx->w, "value is out of range");
			return;
		}
		resp_w_array(ctx->w, withscores && !nested ? count * 2 : count);
		if (zset_is_listpack(z)) {
			/* Index the pairs once instead of walking per pick. An
			 * integer member is read into the element's own buffer,
			 * so it is kept as its value and formatted per reply. */
			struct zr_pick *all = mem_alloc(size * sizeof(*all));
			struct zset_iter it;
			struct zset_elem el;
			size_t k = 0;

			zset_iter_rank(&it, z, 0, false);
			while (zset_iter_next(&it, &el)) {
				all[k].is_int = el.lv.is_int;
				all[k].ll = el.lv.ll;
				all[k].m = el.lv.is_int ? NULL : el.m;
				all[k].mlen = el.mlen;
				all[k].score = el.score;
				k++;
			}
			for (unsigned long long i = 0; i < count; i++) {
				const struct zr_pick *pk = &all[zr_below(size)];
				char ibuf[LPACK_INTBUF];
				const char *m = pk->m;
				size_t mlen = pk->mlen;

				if (pk->is_int) {
					mlen = (size_t)strutil_ll_to_str(ibuf, sizeof(ibuf), pk->ll);
					m = ibuf;
				}
				reply_elem(ctx, m, mlen, pk->score, withscores, nested);
			}
			mem_free(all);
		} else {
			for (unsigned long long i = 0; i < count; i++)
				zr_reply_rank(ctx, z, zr_below(size), withscores, nested);
		}
		return;
	}
	if (count >= size) {
		struct zset_iter it;
		struct zset_elem el;

		resp_w_array(ctx->w, withscores && !nested ? size * 2 : size);
		zset_iter_rank(&it, z, 0, false);
		while (zset_iter_next(&it, &el))
			reply_elem(ctx, el.m, el.mlen, el.score, withscores, nested);
		return;
	}
	/* Distinct members: Floyd's sampling of count ranks out of size,
	 * replied in random order. */
	size_t *ranks = mem_alloc((size_t)count * sizeof(size_t));
	size_t *sorted = mem_alloc((size_t)count * sizeof(size_t));
	size_t k = 0;

	for (size_t j = size - (size_t)count; j < size; j++) {
		size_t t = zr_below(j + 1);
		bool dup = bsearch(&t, sorted, k, sizeof(size_t), cmp_size) != NULL;
		size_t v = dup ? j : t, pos = k;

		ranks[k] = v;
		while (pos > 0 && sorted[pos - 1] > v) {
			sorted[pos] = sorted[pos - 1];
			pos--;
		}
		sorted[pos] = v;
		k++;
	}
	/* Shuffle, so the order says nothing about the ranks. */
	for (size_t i = k; i > 1; i--) {
		size_t j = zr_below(i), t = ranks[i - 1];

		ranks[i - 1] = ranks[j];
		ranks[j] = t;
	}
	resp_w_array(ctx->w, withscores && !nested ? k * 2 : k);
	for (size_t i = 0; i < k; i++)
		zr_reply_rank(ctx, z, ranks[i], withscores, nested);
	mem_free(ranks);
	mem_free(sorted);
}

static void cmd_zrandmember(struct cmd_ctx *ctx)
{
	struct kv_entry *e;
	const struct zset *z;

	if (ctx->argc >= 3) {
		long long l;
		bool withscores = false;

		if (!arg_long(ctx, 2, &l))
			return;
		if (l == LLONG_MIN) {
			resp_w_errorf(ctx->w, "value is out of range, value must between %lld and %lld",
				      -LLONG_MAX, LLONG_MAX);
			return;
		}
		if (ctx->argc > 4 || (ctx->argc == 4 && !cmd_arg_is(ctx, 3, "withscores"))) {
			cmd_reply_syntax(ctx);
			return;
		}
		if (ctx->argc == 4) {
			withscores = true;
			if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
				resp_w_error(ctx->w, "value is out of range");
				return;
			}
		}
		zrandmember_count(ctx, l, withscores);
		return;
	}
	e = z_lookup(ctx, 1, true, NULL);
	if (!e) {
		resp_w_null(ctx->w);
		return;
	}
	if (!z_type_ok(ctx, e))
		return;
	z = zset_of(e);
	zr_reply_rank(ctx, z, zr_below(zset_len(z)), false, false);
}

/* ---- ZSCAN ---- */

/* Members and scores collected by one ZSCAN call: copied, since a listpack
 * hands its elements out through a buffer that lives only for the
 * callback. */
struct zscan_state {
	const char *pat;	/* MATCH pattern, NULL for all */
	size_t plen;
	char *buf;		/* len-prefixed member, score, member, score... */
	size_t len, cap;
	size_t nout;		/* strings kept (members and scores) */
	size_t seen;		/* strings visited, for COUNT */
};

static void zscan_put(struct zscan_state *st, const char *p, size_t n)
{
	if (st->len + sizeof(size_t) + n > st->cap) {
		st->cap = MAX(st->cap * 2, st->len + sizeof(size_t) + n + 256);
		st->buf = mem_realloc(st->buf, st->cap);
	}
	memcpy(st->buf + st->len, &n, sizeof(size_t));
	memcpy(st->buf + st->len + sizeof(size_t), p, n);
	st->len += sizeof(size_t) + n;
	st->nout++;
}

static void zscan_cb(const char *m, size_t mlen, const char *s, size_t slen, void *arg)
{
	struct zscan_state *st = arg;

	st->seen += 2;
	if (st->pat && !strutil_glob_match(st->pat, st->plen, m, mlen, false))
		return;
	zscan_put(st, m, mlen);
	zscan_put(st, s, slen);
}

/* A cursor as Redis parses it (strtoul): no leading space, nothing after
 * the number, no overflow; a sign is allowed and "-1" wraps. */
static bool parse_cursor(const struct cmd_arg *a, uint64_t *out)
{
	char *s = mem_strndup(a->p, a->len), *end;
	unsigned long long v;
	bool ok;

	errno = 0;
	v = strtoull(s, &end, 10);
	ok = !isspace((unsigned char)s[0]) && *end == '\0' && errno != ERANGE;
	mem_free(s);
	*out = v;
	return ok;
}

static void cmd_zscan(struct cmd_ctx *ctx)
{
	struct zscan_state st = { 0 };
	long long count = 10, maxiter;
	uint64_t cursor;
	struct kv_entry *e;
	char cbuf[24];
	size_t off = 0;

	if (!parse_cursor(&ctx->argv[2], &cursor)) {
		resp_w_error(ctx->w, "invalid cursor");
		return;
	}
	e = z_lookup(ctx, 1, true, NULL);
	if (!e) {
		resp_w_array(ctx->w, 2);
		resp_w_bulk(ctx->w, "0", 1);
		resp_w_array(ctx->w, 0);
		return;
	}
	if (!z_type_ok(ctx, e))
		return;
	for (int j = 3; j < ctx->argc; j += 2) {
		if (cmd_arg_is(ctx, j, "count") && j + 1 < ctx->argc) {
			if (!arg_long(ctx, j + 1, &count))
				return;
			if (count < 1) {
				cmd_reply_syntax(ctx);
				return;
			}
		} else if (cmd_arg_is(ctx, j, "match") && j + 1 < ctx->argc) {
			st.pat = ctx->argv[j + 1].p;
			st.plen = ctx->argv[j + 1].len;
			if (st.plen == 1 && st.pat[0] == '*')
				st.pat = NULL;
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	/* Members and scores both count, as in Redis (COUNT doubled); at
	 * most ten dict steps per element asked for. */
	count = count > LLONG_MAX / 20 ? LLONG_MAX / 20 : count;
	count *= 2;
	maxiter = count * 10;
	do {
		cursor = zset_scan(zset_of(e), cursor, zscan_cb, &st);
	} while (cursor && maxiter-- && st.seen < (unsigned long long)count);

	resp_w_array(ctx->w, 2);
	resp_w_bulk(ctx->w, cbuf, (size_t)snprintf(cbuf, sizeof(cbuf), "%" PRIu64, cursor));
	resp_w_array(ctx->w, st.nout);
	while (off < st.len) {
		size_t n;

		memcpy(&n, st.buf + off, sizeof(size_t));
		resp_w_bulk(ctx->w, st.buf + off + sizeof(size_t), n);
		off += sizeof(size_t) + n;
	}
	mem_free(st.buf);
}

/* ---- key extraction for numkeys commands ---- */

/* Keys given by a count at argv[ci], starting at argv[ci + 1], plus a
 * destination at argv[dst] when dst > 0. -1 if the count is malformed. */
static int numkeys_getkeys(int argc, const struct cmd_arg *argv, int *out, int cap,
			   int ci, int dst)
{
	long long n;
	int k = 0;

	if (ci >= argc || !strutil_to_ll(argv[ci].p, argv[ci].len, &n) || n < 1 ||
	    n > argc - ci - 1)
		return -1;
	if (dst) {
		if (k < cap)
			out[k] = dst;
		k++;
	}
	for (int i = 0; i < (int)n; i++, k++)
		if (k < cap)
			out[k] = ci + 1 + i;
	return k;
}

static int zstore_getkeys(int argc, const struct cmd_arg *argv, int *out, int cap)
{
	return numkeys_getkeys(argc, argv, out, cap, 2, 1);
}

static int znum_getkeys(int argc, const struct cmd_arg *argv, int *out, int cap)
{
	return numkeys_getkeys(argc, argv, out, cap, 1, 0);
}

static int bzmpop_getkeys(int argc, const struct cmd_arg *argv, int *out, int cap)
{
	return numkeys_getkeys(argc, argv, out, cap, 2, 0);
}

/* ---- the table ---- */

#define ZRD_FAST (ACL(ACL_READ) | ACL(ACL_SORTEDSET) | ACL(ACL_FAST))
#define ZRD_SLOW (ACL(ACL_READ) | ACL(ACL_SORTEDSET) | ACL(ACL_SLOW))
#define ZWR_FAST (ACL(ACL_WRITE) | ACL(ACL_SORTEDSET) | ACL(ACL_FAST))
#define ZWR_SLOW (ACL(ACL_WRITE) | ACL(ACL_SORTEDSET) | ACL(ACL_SLOW))

#define Z_CMD(nm, f, ar, fl, fk, lk, st, acl_, since_, sum, cx)				\
	{ .name = (nm), .fn = (f), .arity = (ar), .flags = (fl), .first_key = (fk),	\
	  .last_key = (lk), .key_step = (st), .acl = (acl_), .group = "sorted-set",	\
	  .since = (since_), .summary = (sum), .complexity = (cx) }
#define Z_CMDK(nm, f, ar, fl, fk, lk, st, acl_, since_, sum, cx, gk)			\
	{ .name = (nm), .fn = (f), .arity = (ar), .flags = (fl) | CMD_MOVABLE_KEYS,	\
	  .first_key = (fk), .last_key = (lk), .key_step = (st), .acl = (acl_),		\
	  .group = "sorted-set", .since = (since_), .summary = (sum), .complexity = (cx),	\
	  .getkeys = (gk) }

const struct cmd_def cmd_zset_defs[] = {
	Z_CMD("zadd", cmd_zadd, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, ZWR_FAST,
	      "1.2.0", "Adds members with scores to a sorted set, or updates their scores; "
	      "NX, XX, GT, LT, CH and INCR refine what happens.",
	      "O(log(N)) per member added or updated, N being the set's size."),
	Z_CMD("zincrby", cmd_zincrby, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, ZWR_FAST,
	      "1.2.0", "Adds an increment to the score of a member, creating it (and the key) "
	      "if needed.", "O(log(N)), N being the set's size."),
	Z_CMD("zrem", cmd_zrem, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, ZWR_FAST, "1.2.0",
	      "Removes members from a sorted set; the key goes when the set is empty.",
	      "O(M*log(N)), M members removed from a set of N."),
	Z_CMD("zscore", cmd_zscore, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, ZRD_FAST, "1.2.0",
	      "Returns the score of a member.", "O(1)"),
	Z_CMD("zmscore", cmd_zmscore, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, ZRD_FAST, "6.2.0",
	      "Returns the scores of several members, null for each absent one.",
	      "O(N), N members asked for."),
	Z_CMD("zcard", cmd_zcard, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, ZRD_FAST, "1.2.0",
	      "Returns the number of members of a sorted set.", "O(1)"),
	Z_CMD("zcount", cmd_zcount, 4, CMD_READONLY | CMD_FAST, 1, 1, 1, ZRD_FAST, "2.0.0",
	      "Counts the members whose score lies in a range.",
	      "O(log(N)), N being the set's size."),
	Z_CMD("zlexcount", cmd_zlexcount, 4, CMD_READONLY | CMD_FAST, 1, 1, 1, ZRD_FAST, "2.8.9",
	      "Counts the members in a lexicographic range (for members of equal score).",
	      "O(log(N)), N being the set's size."),
	Z_CMD("zrange", cmd_zrange, -4, CMD_READONLY, 1, 1, 1, ZRD_SLOW, "1.2.0",
	      "Returns members in a range of ranks, scores (BYSCORE) or members (BYLEX), "
	      "optionally reversed, limited and with scores.",
	      "O(log(N)+M), M members returned from a set of N."),
	Z_CMD("zrangestore", cmd_zrangestore, -5, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, ZWR_SLOW,
	      "6.2.0", "Stores a range of a sorted set, as ZRANGE selects it, in another key.",
	      "O(log(N)+M), M members stored from a set of N."),
	Z_CMD("zrevrange", cmd_zrevrange, -4, CMD_READONLY, 1, 1, 1, ZRD_SLOW, "1.2.0",
	      "Returns members in a range of ranks counted from the highest score.",
	      "O(log(N)+M), M members returned from a set of N."),
	Z_CMD("zrangebyscore", cmd_zrangebyscore, -4, CMD_READONLY, 1, 1, 1, ZRD_SLOW, "1.0.5",
	      "Returns members whose score lies in a range, lowest first.",
	      "O(log(N)+M), M members returned from a set of N."),
	Z_CMD("zrevrangebyscore", cmd_zrevrangebyscore, -4, CMD_READONLY, 1, 1, 1, ZRD_SLOW,
	      "2.2.0", "Returns members whose score lies in a range, highest first.",
	      "O(log(N)+M), M members returned from a set of N."),
	Z_CMD("zrangebylex", cmd_zrangebylex, -4, CMD_READONLY, 1, 1, 1, ZRD_SLOW, "2.8.9",
	      "Returns members in a lexicographic range, lowest first.",
	      "O(log(N)+M), M members returned from a set of N."),
	Z_CMD("zrevrangebylex", cmd_zrevrangebylex, -4, CMD_READONLY, 1, 1, 1, ZRD_SLOW, "2.8.9",
	      "Returns members in a lexicographic range, highest first.",
	      "O(log(N)+M), M members returned from a set of N."),
	Z_CMD("zrank", cmd_zrank, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, ZRD_FAST, "2.0.0",
	      "Returns the rank of a member, counted from the lowest score.",
	      "O(log(N)), N being the set's size."),
	Z_CMD("zrevrank", cmd_zrevrank, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, ZRD_FAST, "2.0.0",
	      "Returns the rank of a member, counted from the highest score.",
	      "O(log(N)), N being the set's size."),
	Z_CMD("zpopmin", cmd_zpopmin, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, ZWR_FAST, "5.0.0",
	      "Removes and returns the members with the lowest scores.",
	      "O(log(N)*M), M members popped from a set of N."),
	Z_CMD("zpopmax", cmd_zpopmax, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, ZWR_FAST, "5.0.0",
	      "Removes and returns the members with the highest scores.",
	      "O(log(N)*M), M members popped from a set of N."),
	Z_CMD("bzpopmin", cmd_bzpopmin, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING | CMD_FAST,
	      1, -2, 1, ZWR_FAST | ACL(ACL_BLOCKING), "5.0.0",
	      "Pops the lowest-scored member of the first non-empty sorted set, waiting "
	      "for one if all are empty.", "O(log(N)), N being the set's size."),
	Z_CMD("bzpopmax", cmd_bzpopmax, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING | CMD_FAST,
	      1, -2, 1, ZWR_FAST | ACL(ACL_BLOCKING), "5.0.0",
	      "Pops the highest-scored member of the first non-empty sorted set, waiting "
	      "for one if all are empty.", "O(log(N)), N being the set's size."),
	Z_CMDK("bzmpop", cmd_bzmpop, -5, CMD_WRITE | CMD_BLOCKING, 0, 0, 0,
	       ZWR_SLOW | ACL(ACL_BLOCKING), "7.0.0",
	       "Pops members with the lowest or highest scores from the first non-empty of "
	       "several sorted sets, waiting for one if all are empty.",
	       "O(K)+O(M*log(N)), K keys, M members popped, N the set's size.", bzmpop_getkeys),
	Z_CMDK("zmpop", cmd_zmpop, -4, CMD_WRITE, 0, 0, 0, ZWR_SLOW, "7.0.0",
	       "Pops members with the lowest or highest scores from the first non-empty of "
	       "several sorted sets.",
	       "O(K)+O(M*log(N)), K keys, M members popped, N the set's size.", znum_getkeys),
	Z_CMD("zrandmember", cmd_zrandmember, -2, CMD_READONLY, 1, 1, 1, ZRD_SLOW, "6.2.0",
	      "Returns random members, distinct for a positive count and possibly repeated "
	      "for a negative one, optionally with scores.",
	      "O(N), N members returned."),
	Z_CMDK("zunionstore", cmd_zunionstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, ZWR_SLOW,
	       "2.0.0", "Stores the union of sorted sets, with weights and an aggregate, "
	       "in a key.", "O(N)+O(M*log(M)), N input members, M result members.",
	       zstore_getkeys),
	Z_CMDK("zinterstore", cmd_zinterstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, ZWR_SLOW,
	       "2.0.0", "Stores the intersection of sorted sets, with weights and an "
	       "aggregate, in a key.",
	       "O(N*K)+O(M*log(M)), N members of the smallest input, K inputs, M results.",
	       zstore_getkeys),
	Z_CMDK("zdiffstore", cmd_zdiffstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, ZWR_SLOW,
	       "6.2.0", "Stores the members of the first sorted set missing from all the "
	       "others in a key.", "O(L+(N-K)log(N)), L input members, N first set, K results.",
	       zstore_getkeys),
	Z_CMDK("zunion", cmd_zunion, -3, CMD_READONLY, 0, 0, 0, ZRD_SLOW, "6.2.0",
	       "Returns the union of sorted sets, with weights and an aggregate.",
	       "O(N)+O(M*log(M)), N input members, M result members.", znum_getkeys),
	Z_CMDK("zinter", cmd_zinter, -3, CMD_READONLY, 0, 0, 0, ZRD_SLOW, "6.2.0",
	       "Returns the intersection of sorted sets, with weights and an aggregate.",
	       "O(N*K)+O(M*log(M)), N members of the smallest input, K inputs, M results.",
	       znum_getkeys),
	Z_CMDK("zintercard", cmd_zintercard, -3, CMD_READONLY, 0, 0, 0, ZRD_SLOW, "7.0.0",
	       "Counts the members of the intersection of sorted sets, stopping at LIMIT.",
	       "O(N*K), N members of the smallest input, K inputs.", znum_getkeys),
	Z_CMDK("zdiff", cmd_zdiff, -3, CMD_READONLY, 0, 0, 0, ZRD_SLOW, "6.2.0",
	       "Returns the members of the first sorted set missing from all the others.",
	       "O(L+(N-K)log(N)), L input members, N first set, K results.", znum_getkeys),
	Z_CMD("zremrangebyscore", cmd_zremrangebyscore, 4, CMD_WRITE, 1, 1, 1, ZWR_SLOW, "1.2.0",
	      "Removes the members whose score lies in a range.",
	      "O(log(N)+M), M members removed from a set of N."),
	Z_CMD("zremrangebyrank", cmd_zremrangebyrank, 4, CMD_WRITE, 1, 1, 1, ZWR_SLOW, "2.0.0",
	      "Removes the members in a range of ranks.",
	      "O(log(N)+M), M members removed from a set of N."),
	Z_CMD("zremrangebylex", cmd_zremrangebylex, 4, CMD_WRITE, 1, 1, 1, ZWR_SLOW, "2.8.9",
	      "Removes the members in a lexicographic range.",
	      "O(log(N)+M), M members removed from a set of N."),
	Z_CMD("zscan", cmd_zscan, -3, CMD_READONLY, 1, 1, 1, ZRD_SLOW, "2.8.0",
	      "Walks the members and scores of a sorted set a few at a time with a cursor.",
	      "O(1) per call, O(N) for a complete walk."),
	{ .name = NULL },
};
