/*
 * cmd_set.c - the set command family: SADD SREM SISMEMBER SMISMEMBER
 * SMEMBERS SCARD SPOP SRANDMEMBER SMOVE, the algebra SINTER SINTERCARD
 * SUNION SDIFF and their STORE forms, and SSCAN.
 *
 * Behaviour is Redis 7.0's, observable detail included: the order in which
 * arguments and types are checked (and so which error a bad call gets), the
 * error words, RESP3 set replies ('~') for SMEMBERS, SINTER, SUNION, SDIFF
 * and SPOP with a count but arrays for SRANDMEMBER, SMISMEMBER and SSCAN,
 * which lookups count as keyspace hits or misses (reads do, writes do not),
 * and what counts as dirty. The encodings a command leaves behind are
 * Redis's too, because OBJECT ENCODING shows them: results of the algebra
 * are built into a set that starts as an intset, SDIFF chooses between
 * Redis's two algorithms the same way (they can end in different
 * encodings), and SPOP of most of a set keeps the rest in a new set created
 * for its first member.
 *
 * Keys: a multi-key command may run on a coordinator with its keys spread
 * over parked shards, so every key's database comes from cmd_db(ctx, key),
 * never from the first key's. Two arguments naming the same key find the
 * same entry, which is how "the same set" is recognised (SMOVE to itself,
 * SDIFF of a set with itself). A STORE command builds its whole result
 * before it replaces the destination, which may be one of its sources.
 *
 * Empty sets do not exist: a command that removes the last member deletes
 * the key, and a STORE whose result is empty deletes the destination.
 * Changes to a set in place are announced with kv_signal_modified() (WATCH);
 * kv does that itself when it creates, replaces or deletes a key.
 *
 * Bounds: SRANDMEMBER with a negative count repeats members, so its reply
 * is not bounded by the set. Redis writes whatever is asked; strata has no
 * output-buffer limit to stop a runaway reply, so it refuses counts below
 * -SET_RAND_REPEAT_MAX with an error instead of exhausting memory.
 */
#include "cmd.h"
#include "kv.h"
#include "mem.h"
#include "resp_write.h"
#include "strutil.h"
#include "t_set.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SPOP with a count: below remaining * this, pop one by one; above, keep
 * the remaining members in a new set instead (Redis's two strategies). */
#define SPOP_MOVE_STRATEGY_MUL 5
/* SRANDMEMBER with a count: when the set is smaller than count * this,
 * copy the set and drop members; else draw members until enough. */
#define SRANDMEMBER_SUB_STRATEGY_MUL 3
/* Most members SRANDMEMBER with a negative count may return (see above). */
#define SET_RAND_REPEAT_MAX (1ll << 25)

#define SET_ERR_POSITIVE "value is out of range, must be positive"

/* ---- lookups and replies ---- */

/* How a command looks a key up: a read counts a keyspace hit or miss
 * (Redis's lookupKeyRead), a write does not (lookupKeyWrite). */
enum set_lookup_kind { LOOKUP_WRITE = 0, LOOKUP_READ };

static unsigned lk_flags(const struct cmd_ctx *ctx, enum set_lookup_kind kind)
{
	return (kind == LOOKUP_READ ? KV_LK_READ : 0) |
	       (ctx->flags & CTX_NO_TOUCH ? KV_LK_NOTOUCH : 0);
}

/* The live entry of the key argv[i] in its owning db (stored in *dbp). */
static struct kv_entry *set_lookup(struct cmd_ctx *ctx, int i, enum set_lookup_kind kind,
				   struct kv_db **dbp)
{
	const struct cmd_arg *k = &ctx->argv[i];
	struct kv_db *db = cmd_db(ctx, k->p, k->len);

	if (dbp)
		*dbp = db;
	return kv_lookup(db, k->p, k->len, lk_flags(ctx, kind));
}

/* True (after replying WRONGTYPE) if e exists and is not a set. */
static bool set_wrongtype(struct cmd_ctx *ctx, const struct kv_entry *e)
{
	if (e && e->type != KV_SET) {
		cmd_reply_wrongtype(ctx);
		return true;
	}
	return false;
}

static void set_reply_elem(struct cmd_ctx *ctx, struct set_elem *e)
{
	if (e->p)
		resp_w_bulk(ctx->w, e->p, e->len);
	else
		resp_w_bulk_ll(ctx->w, e->ll);
}

/* The reply shape of a list of members. */
enum set_shape { SHAPE_ARRAY = 0, SHAPE_SET };

/* Every member of s, as a RESP3 set ('~', an array in RESP2) or an array. */
static void set_reply_all(struct cmd_ctx *ctx, struct set *s, enum set_shape shape)
{
	struct set_iter it;
	struct set_elem e;

	if (shape == SHAPE_SET)
		resp_w_set(ctx->w, set_size(s));
	else
		resp_w_array(ctx->w, set_size(s));
	set_iter_init(&it, s);
	while (set_iter_next(&it, &e))
		set_reply_elem(ctx, &e);
}

static void set_reply_empty_set(struct cmd_ctx *ctx)
{
	resp_w_set(ctx->w, 0);
}

/* Installs a new set value at argv[i] (replacing anything there). */
static void set_store_new(struct kv_db *db, const struct cmd_arg *k, struct set *s)
{
	kv_set_obj(db, k->p, k->len, KV_SET, KV_ENC_OTHER, s);
}

/* After members were removed from e's set in place: deletes the key if the
 * set is now empty, else announces the change. Returns true if deleted. */
static bool set_after_removal(struct kv_db *db, struct kv_entry *e)
{
	if (set_size(set_of(e)) == 0) {
		kv_delete_entry(db, e);
		return true;
	}
	kv_signal_modified(db, e->key, e->klen);
	return false;
}

/* ---- single-key commands ---- */

/* SADD key member [member ...] */
static void cmd_sadd(struct cmd_ctx *ctx)
{
	const struct cmd_arg *k = &ctx->argv[1];
	struct kv_db *db;
	struct kv_entry *e = set_lookup(ctx, 1, LOOKUP_WRITE, &db);
	struct set *s;
	long long added = 0;

	if (set_wrongtype(ctx, e))
		return;
	s = e ? set_of(e) : set_create_for(ctx->argv[2].p, ctx->argv[2].len);
	for (int j = 2; j < ctx->argc; j++)
		added += set_add(s, ctx->argv[j].p, ctx->argv[j].len);
	if (!e)
		set_store_new(db, k, s);
	else if (added)
		kv_signal_modified(db, k->p, k->len);
	ctx->dirty += (uint64_t)added;
	resp_w_int(ctx->w, added);
}

/* SREM key member [member ...] */
static void cmd_srem(struct cmd_ctx *ctx)
{
	struct kv_db *db;
	struct kv_entry *e = set_lookup(ctx, 1, LOOKUP_WRITE, &db);
	long long deleted = 0;

	if (!e) {
		resp_w_int(ctx->w, 0);
		return;
	}
	if (set_wrongtype(ctx, e))
		return;
	for (int j = 2; j < ctx->argc; j++) {
		if (!set_remove(set_of(e), ctx->argv[j].p, ctx->argv[j].len))
			continue;
		deleted++;
		if (set_size(set_of(e)) == 0)
			break;
	}
	if (deleted) {
		set_after_removal(db, e);
		ctx->dirty += (uint64_t)deleted;
	}
	resp_w_int(ctx->w, deleted);
}

/* SISMEMBER key member */
static void cmd_sismember(struct cmd_ctx *ctx)
{
	struct kv_entry *e = set_lookup(ctx, 1, LOOKUP_READ, NULL);

	if (set_wrongtype(ctx, e))
		return;
	resp_w_int(ctx->w, e && set_contains(set_of(e), ctx->argv[2].p, ctx->argv[2].len));
}

/* SMISMEMBER key member [member ...]: a missing key is an empty set. */
static void cmd_smismember(struct cmd_ctx *ctx)
{
	struct kv_entry *e = set_lookup(ctx, 1, LOOKUP_READ, NULL);

	if (set_wrongtype(ctx, e))
		return;
	resp_w_array(ctx->w, (size_t)ctx->argc - 2);
	for (int j = 2; j < ctx->argc; j++)
		resp_w_int(ctx->w, e && set_contains(set_of(e), ctx->argv[j].p, ctx->argv[j].len));
}

/* SCARD key */
static void cmd_scard(struct cmd_ctx *ctx)
{
	struct kv_entry *e = set_lookup(ctx, 1, LOOKUP_READ, NULL);

	if (set_wrongtype(ctx, e))
		return;
	resp_w_int(ctx->w, e ? (long long)set_size(set_of(e)) : 0);
}

/* SMEMBERS key */
static void cmd_smembers(struct cmd_ctx *ctx)
{
	struct kv_entry *e = set_lookup(ctx, 1, LOOKUP_READ, NULL);

	if (set_wrongtype(ctx, e))
		return;
	if (!e)
		set_reply_empty_set(ctx);
	else
		set_reply_all(ctx, set_of(e), SHAPE_SET);
}

/* SPOP key count, count > 0, on an existing set e: replies a set of the
 * popped members. */
static void set_pop_count(struct cmd_ctx *ctx, struct kv_db *db, struct kv_entry *e,
			  unsigned long long count)
{
	struct set *s = set_of(e), *keep = NULL;
	size_t size = set_size(s);
	unsigned long long remaining;
	struct set_elem el;
	struct set_iter it;

	ctx->dirty += count >= size ? size : count;
	if (count >= size) {
		/* The whole set. Redis serves this through SUNION's code,
		 * whose read lookup counts a keyspace hit. */
		kv_lookup(db, e->key, e->klen, lk_flags(ctx, LOOKUP_READ));
		set_reply_all(ctx, s, SHAPE_SET);
		kv_delete_entry(db, e);
		return;
	}
	resp_w_set(ctx->w, count);
	remaining = size - count;
	if (remaining * SPOP_MOVE_STRATEGY_MUL > count) {
		/* Few to pop: draw and remove them one by one. */
		while (count--) {
			set_random(s, &el);
			set_reply_elem(ctx, &el);
			set_remove_elem(s, &el);
		}
	} else {
		/* Most of the set: move the few that stay to a new set, reply
		 * what is left of the old one, and swap the contents so the
		 * key (and its TTL) stays. */
		while (remaining--) {
			set_random(s, &el);
			if (!keep) {
				size_t len;
				const char *p = set_elem_str(&el, &len);

				keep = set_create_for(p, len);
			}
			set_add_elem(keep, &el);
			set_remove_elem(s, &el);
		}
		set_iter_init(&it, s);
		while (set_iter_next(&it, &el))
			set_reply_elem(ctx, &el);
		set_swap(s, keep);
		set_destroy(keep);
	}
	kv_signal_modified(db, e->key, e->klen);
}

/* SPOP key [count] */
static void cmd_spop(struct cmd_ctx *ctx)
{
	struct kv_db *db;
	struct kv_entry *e;
	struct set_elem el;
	long long count = 0;

	if (ctx->argc > 3) {
		cmd_reply_syntax(ctx);
		return;
	}
	if (ctx->argc == 3 && !cmd_arg_ll_msg(ctx, 2, &count, SET_ERR_POSITIVE))
		return;
	if (count < 0) {
		resp_w_error(ctx->w, SET_ERR_POSITIVE);
		return;
	}
	e = set_lookup(ctx, 1, LOOKUP_WRITE, &db);
	if (!e) {
		if (ctx->argc == 3)
			set_reply_empty_set(ctx);
		else
			resp_w_null(ctx->w);
		return;
	}
	if (set_wrongtype(ctx, e))
		return;
	if (ctx->argc == 3) {
		if (count == 0)
			set_reply_empty_set(ctx);
		else
			set_pop_count(ctx, db, e, (unsigned long long)count);
		return;
	}
	set_random(set_of(e), &el);
	set_reply_elem(ctx, &el);
	set_remove_elem(set_of(e), &el);
	set_after_removal(db, e);
	ctx->dirty++;
}

/* SRANDMEMBER key count on an existing set, count != 0; uniq false for a
 * negative count (members may repeat). */
static void set_randmember_count(struct cmd_ctx *ctx, struct set *s,
				 unsigned long long count, bool uniq)
{
	size_t size = set_size(s);
	struct set *pick;
	struct set_elem el;

	if (!uniq || count == 1) {
		/* Independent draws, in random order. */
		resp_w_array(ctx->w, count);
		while (count--) {
			set_random(s, &el);
			set_reply_elem(ctx, &el);
		}
		return;
	}
	if (count >= size) {
		set_reply_all(ctx, s, SHAPE_ARRAY);
		return;
	}
	if (count * SRANDMEMBER_SUB_STRATEGY_MUL > size) {
		/* Close to the whole set: copy it, then drop random members. */
		pick = set_dup(s);
		while (set_size(pick) > count) {
			set_random(pick, &el);
			set_remove_elem(pick, &el);
		}
	} else {
		/* A small part: draw until count distinct members. */
		pick = set_create();
		while (set_size(pick) < count) {
			set_random(s, &el);
			set_add_elem(pick, &el);
		}
	}
	set_reply_all(ctx, pick, SHAPE_ARRAY);
	set_destroy(pick);
}

/* SRANDMEMBER key [count] */
static void cmd_srandmember(struct cmd_ctx *ctx)
{
	struct kv_entry *e;
	struct set_elem el;
	long long l = 0;

	if (ctx->argc > 3) {
		cmd_reply_syntax(ctx);
		return;
	}
	if (ctx->argc == 3) {
		if (!cmd_arg_ll(ctx, 2, &l))
			return;
		if (l == LLONG_MIN) {
			resp_w_errorf(ctx->w, "value is out of range, value must between %lld and %lld",
				      -LLONG_MAX, LLONG_MAX);
			return;
		}
		if (l < -SET_RAND_REPEAT_MAX) {
			resp_w_errorf(ctx->w, "value is out of range, a negative count must be at "
				      "least %lld", -SET_RAND_REPEAT_MAX);
			return;
		}
	}
	e = set_lookup(ctx, 1, LOOKUP_READ, NULL);
	if (!e) {
		if (ctx->argc == 3)
			resp_w_array(ctx->w, 0);
		else
			resp_w_null(ctx->w);
		return;
	}
	if (set_wrongtype(ctx, e))
		return;
	if (ctx->argc == 3) {
		if (l == 0)
			resp_w_array(ctx->w, 0);
		else
			set_randmember_count(ctx, set_of(e), (unsigned long long)(l < 0 ? -l : l),
					     l > 0);
		return;
	}
	set_random(set_of(e), &el);
	set_reply_elem(ctx, &el);
}

/* SMOVE source destination member */
static void cmd_smove(struct cmd_ctx *ctx)
{
	const struct cmd_arg *dk = &ctx->argv[2], *m = &ctx->argv[3];
	struct kv_db *sdb, *ddb;
	struct kv_entry *src = set_lookup(ctx, 1, LOOKUP_WRITE, &sdb);
	struct kv_entry *dst = set_lookup(ctx, 2, LOOKUP_WRITE, &ddb);
	struct set *ds;

	if (!src) {
		resp_w_int(ctx->w, 0);
		return;
	}
	if (set_wrongtype(ctx, src) || set_wrongtype(ctx, dst))
		return;
	if (src == dst) {
		resp_w_int(ctx->w, set_contains(set_of(src), m->p, m->len));
		return;
	}
	if (!set_remove(set_of(src), m->p, m->len)) {
		resp_w_int(ctx->w, 0);
		return;
	}
	set_after_removal(sdb, src);
	ctx->dirty++;
	if (!dst) {
		ds = set_create_for(m->p, m->len);
		set_add(ds, m->p, m->len);
		set_store_new(ddb, dk, ds);
		ctx->dirty++;
	} else if (set_add(set_of(dst), m->p, m->len)) {
		/* Only a real addition changes the destination (WATCH). */
		kv_signal_modified(ddb, dk->p, dk->len);
		ctx->dirty++;
	}
	resp_w_int(ctx->w, 1);
}

/* ---- the algebra ---- */

/* Looks up n keys from argv[first] into sets[] (NULL for a missing key)
 * and counts the missing ones in *missing. Every key is checked, even past
 * a missing one, as Redis does; returns false after replying WRONGTYPE. */
static bool set_lookup_many(struct cmd_ctx *ctx, int first, int n, struct set **sets,
			    int *missing)
{
	*missing = 0;
	for (int j = 0; j < n; j++) {
		struct kv_entry *e = set_lookup(ctx, first + j, LOOKUP_READ, NULL);

		if (set_wrongtype(ctx, e))
			return false;
		sets[j] = e ? set_of(e) : NULL;
		*missing += !e;
	}
	return true;
}

/* Ends a STORE command: res becomes the value of the destination if it is
 * not empty (reply: its size), else res is freed and the destination
 * deleted (reply 0). */
static void set_store_result(struct cmd_ctx *ctx, const struct cmd_arg *dk, struct set *res)
{
	struct kv_db *db = cmd_db(ctx, dk->p, dk->len);
	size_t n = res ? set_size(res) : 0;

	if (n > 0) {
		set_store_new(db, dk, res);
		ctx->dirty++;
	} else {
		set_destroy(res);
		if (kv_delete(db, dk->p, dk->len))
			ctx->dirty++;
	}
	resp_w_int(ctx->w, (long long)n);
}

static int set_cmp_size(const void *a, const void *b)
{
	size_t x = set_size(*(struct set *const *)a), y = set_size(*(struct set *const *)b);

	return x < y ? -1 : x > y;
}

/* Descending size, missing sets (NULL) last. */
static int set_cmp_size_desc(const void *a, const void *b)
{
	const struct set *sa = *(struct set *const *)a, *sb = *(struct set *const *)b;
	size_t x = sa ? set_size(sa) : 0, y = sb ? set_size(sb) : 0;

	return x > y ? -1 : x < y;
}

/* What set_inter() does with the intersection. */
enum set_inter_mode { INTER_REPLY, INTER_STORE, INTER_CARD };

/*
 * SINTER, SMEMBERS-like replies, SINTERSTORE (dst) and SINTERCARD (card,
 * stopping at limit if limit > 0), over the n keys from argv[first]. The
 * smallest set is walked and each member tested against the others.
 */
static void set_inter(struct cmd_ctx *ctx, int first, int n, enum set_inter_mode mode,
		      const struct cmd_arg *dk, unsigned long long limit)
{
	struct set **sets = mem_alloc((size_t)n * sizeof(*sets));
	struct set *res = NULL;
	unsigned long long card = 0;
	struct set_iter it;
	struct set_elem el;
	size_t off = 0;
	int missing;

	if (!set_lookup_many(ctx, first, n, sets, &missing))
		goto out;
	if (missing) {
		/* The intersection with an empty set is empty. */
		if (mode == INTER_STORE)
			set_store_result(ctx, dk, NULL);
		else if (mode == INTER_CARD)
			resp_w_int(ctx->w, 0);
		else
			set_reply_empty_set(ctx);
		goto out;
	}
	qsort(sets, (size_t)n, sizeof(*sets), set_cmp_size);
	if (mode == INTER_STORE)
		res = set_create();
	else if (mode == INTER_REPLY)
		off = resp_w_defer(ctx->w);

	set_iter_init(&it, sets[0]);
	while (set_iter_next(&it, &el)) {
		int j;

		for (j = 1; j < n; j++) {
			if (sets[j] != sets[0] && !set_contains_elem(sets[j], &el))
				break;
		}
		if (j < n)
			continue;
		if (mode == INTER_CARD) {
			if (++card == limit)
				break;
		} else if (mode == INTER_REPLY) {
			set_reply_elem(ctx, &el);
			card++;
		} else {
			set_add_elem(res, &el);
		}
	}

	if (mode == INTER_CARD)
		resp_w_int(ctx->w, (long long)card);
	else if (mode == INTER_REPLY)
		resp_w_defer_end(ctx->w, off, '~', card);
	else
		set_store_result(ctx, dk, res);
out:
	mem_free(sets);
}

enum set_op { SET_OP_UNION, SET_OP_DIFF };

/*
 * SUNION, SDIFF and their STORE forms (dk != NULL) over the n keys from
 * argv[first]. The result is built in a new set that starts as an intset,
 * as Redis does, which decides the encoding a STORE leaves.
 */
static void set_union_diff(struct cmd_ctx *ctx, int first, int n, enum set_op op,
			   const struct cmd_arg *dk)
{
	struct set **sets = mem_alloc((size_t)n * sizeof(*sets));
	struct set *res;
	struct set_iter it;
	struct set_elem el;
	bool sameset = false;
	int missing, algo = 1;

	if (!set_lookup_many(ctx, first, n, sets, &missing)) {
		mem_free(sets);
		return;
	}
	for (int j = 1; j < n; j++)
		sameset |= sets[j] && sets[j] == sets[0];

	if (op == SET_OP_DIFF && sets[0] && !sameset) {
		/* Algorithm 1 walks the first set testing each member against
		 * the others: size(first) * n. Algorithm 2 adds the first set
		 * and removes every other: the sum of the sizes. Algorithm 1
		 * gets a factor two of credit for its lower constant. */
		unsigned long long one = 0, two = 0;

		for (int j = 0; j < n; j++) {
			if (!sets[j])
				continue;
			one += set_size(sets[0]);
			two += set_size(sets[j]);
		}
		algo = one / 2 <= two ? 1 : 2;
		/* Largest first: a member is likelier to be found early. */
		if (algo == 1 && n > 1)
			qsort(sets + 1, (size_t)n - 1, sizeof(*sets), set_cmp_size_desc);
	}

	res = set_create();
	if (op == SET_OP_UNION) {
		for (int j = 0; j < n; j++) {
			if (!sets[j])
				continue;
			set_iter_init(&it, sets[j]);
			while (set_iter_next(&it, &el))
				set_add_elem(res, &el);
		}
	} else if (sets[0] && !sameset && algo == 1) {
		set_iter_init(&it, sets[0]);
		while (set_iter_next(&it, &el)) {
			int j;

			for (j = 1; j < n; j++) {
				if (sets[j] && set_contains_elem(sets[j], &el))
					break;
			}
			if (j == n)
				set_add_elem(res, &el);
		}
	} else if (sets[0] && !sameset) {
		for (int j = 0; j < n; j++) {
			if (!sets[j])
				continue;
			set_iter_init(&it, sets[j]);
			while (set_iter_next(&it, &el)) {
				if (j == 0)
					set_add_elem(res, &el);
				else
					set_remove_elem(res, &el);
			}
			/* Nothing left to remove from. */
			if (set_size(res) == 0)
				break;
		}
	}
	/* SDIFF of a set with itself, or of a missing first set: empty. */

	if (dk) {
		set_store_result(ctx, dk, res);
	} else {
		set_reply_all(ctx, res, SHAPE_SET);
		set_destroy(res);
	}
	mem_free(sets);
}

static void cmd_sinter(struct cmd_ctx *ctx)
{
	set_inter(ctx, 1, ctx->argc - 1, INTER_REPLY, NULL, 0);
}

static void cmd_sinterstore(struct cmd_ctx *ctx)
{
	set_inter(ctx, 2, ctx->argc - 2, INTER_STORE, &ctx->argv[1], 0);
}

static void cmd_sunion(struct cmd_ctx *ctx)
{
	set_union_diff(ctx, 1, ctx->argc - 1, SET_OP_UNION, NULL);
}

static void cmd_sunionstore(struct cmd_ctx *ctx)
{
	set_union_diff(ctx, 2, ctx->argc - 2, SET_OP_UNION, &ctx->argv[1]);
}

static void cmd_sdiff(struct cmd_ctx *ctx)
{
	set_union_diff(ctx, 1, ctx->argc - 1, SET_OP_DIFF, NULL);
}

static void cmd_sdiffstore(struct cmd_ctx *ctx)
{
	set_union_diff(ctx, 2, ctx->argc - 2, SET_OP_DIFF, &ctx->argv[1]);
}

/* SINTERCARD's numkeys: 1 .. argc - 2, or -1. */
static long long sintercard_numkeys(int argc, const struct cmd_arg *argv)
{
	long long n;

	if (!strutil_to_ll(argv[1].p, argv[1].len, &n) || n < 1)
		return -1;
	if (n > argc - 2)
		return -2;
	return n;
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
static void cmd_sintercard(struct cmd_ctx *ctx)
{
	long long numkeys = sintercard_numkeys(ctx->argc, ctx->argv), limit = 0;

	if (numkeys == -1) {
		resp_w_error(ctx->w, "numkeys should be greater than 0");
		return;
	}
	if (numkeys == -2) {
		resp_w_error(ctx->w, "Number of keys can't be greater than number of args");
		return;
	}
	for (int j = 2 + (int)numkeys; j < ctx->argc; j++) {
		if (cmd_arg_is(ctx, j, "limit") && j + 1 < ctx->argc) {
			j++;
			if (!strutil_to_ll(ctx->argv[j].p, ctx->argv[j].len, &limit) ||
			    limit < 0) {
				resp_w_error(ctx->w, "LIMIT can't be negative");
				return;
			}
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	set_inter(ctx, 2, (int)numkeys, INTER_CARD, NULL, (unsigned long long)limit);
}

/* Keys of SINTERCARD: argv[2 .. 2 + numkeys). */
static int sintercard_getkeys(int argc, const struct cmd_arg *argv, int *out, int cap)
{
	long long n = sintercard_numkeys(argc, argv);

	if (n < 0)
		return -1;
	for (int i = 0; i < n && i < cap; i++)
		out[i] = 2 + i;
	return (int)n;
}

/* ---- SSCAN ---- */

/*
 * A cursor as Redis reads it (strtoul): decimal with an optional sign ("-1"
 * wraps around), no leading white space, nothing after the digits, no
 * overflow. The empty string reads as 0.
 */
static bool sscan_parse_cursor(const struct cmd_arg *a, uint64_t *out)
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

/* Members a scan step found (views valid for this command: the set does
 * not change while it runs). */
struct sscan_state {
	struct set_elem *v;	/* found members (mem_alloc'd) */
	size_t n;		/* members in v */
	size_t cap;		/* room in v */
};

static void sscan_cb(struct set_elem *e, void *arg)
{
	struct sscan_state *st = arg;

	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->v = mem_realloc(st->v, st->cap * sizeof(*st->v));
	}
	st->v[st->n] = *e;
	/* buf moved with the copy: an integer has p == NULL, so nothing
	 * points into it. */
	st->n++;
}

/* SSCAN key cursor [MATCH pattern] [COUNT count] */
static void cmd_sscan(struct cmd_ctx *ctx)
{
	struct sscan_state st = { 0 };
	const char *pat = NULL;
	size_t plen = 0, nmatch = 0;
	long long count = 10;
	uint64_t cursor, budget;
	struct kv_entry *e;
	struct set *s;
	size_t off;
	char buf[24];
	int blen;

	if (!sscan_parse_cursor(&ctx->argv[2], &cursor)) {
		resp_w_error(ctx->w, "invalid cursor");
		return;
	}
	e = set_lookup(ctx, 1, LOOKUP_READ, NULL);
	if (!e) {
		resp_w_array(ctx->w, 2);
		resp_w_bulk_cstr(ctx->w, "0");
		resp_w_array(ctx->w, 0);
		return;
	}
	if (set_wrongtype(ctx, e))
		return;
	for (int i = 3; i < ctx->argc; i += 2) {
		bool has_arg = i + 1 < ctx->argc;

		if (has_arg && cmd_arg_is(ctx, i, "count")) {
			if (!cmd_arg_ll(ctx, i + 1, &count))
				return;
			if (count < 1) {
				cmd_reply_syntax(ctx);
				return;
			}
		} else if (has_arg && cmd_arg_is(ctx, i, "match")) {
			pat = ctx->argv[i + 1].p;
			plen = ctx->argv[i + 1].len;
			if (plen == 1 && pat[0] == '*')
				pat = NULL;	/* matches everything */
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}

	/* As Redis: stop once COUNT members were seen, or after 10 * COUNT
	 * more bucket visits (a sparse table must not stall the server). */
	s = set_of(e);
	budget = (uint64_t)count > UINT64_MAX / 10 ? UINT64_MAX : (uint64_t)count * 10;
	do {
		cursor = set_scan(s, cursor, sscan_cb, &st);
	} while (cursor && budget-- && st.n < (uint64_t)count);

	resp_w_array(ctx->w, 2);
	blen = snprintf(buf, sizeof(buf), "%" PRIu64, cursor);
	resp_w_bulk(ctx->w, buf, (size_t)blen);
	off = resp_w_defer(ctx->w);
	for (size_t i = 0; i < st.n; i++) {
		size_t len;
		const char *p = set_elem_str(&st.v[i], &len);

		if (pat && !strutil_glob_match(pat, plen, p, len, false))
			continue;
		resp_w_bulk(ctx->w, p, len);
		nmatch++;
	}
	resp_w_defer_end(ctx->w, off, '*', nmatch);
	mem_free(st.v);
}

/* ---- the table ---- */

#define RD_FAST (ACL(ACL_READ) | ACL(ACL_SET) | ACL(ACL_FAST))
#define RD_SLOW (ACL(ACL_READ) | ACL(ACL_SET) | ACL(ACL_SLOW))
#define WR_FAST (ACL(ACL_WRITE) | ACL(ACL_SET) | ACL(ACL_FAST))
#define WR_SLOW (ACL(ACL_WRITE) | ACL(ACL_SET) | ACL(ACL_SLOW))

#define SET_CMD(nm, f, ar, fl, fk, lk, st, acl_, since_, sum, cx)			\
	{ .name = (nm), .fn = (f), .arity = (ar), .flags = (fl), .first_key = (fk),	\
	  .last_key = (lk), .key_step = (st), .acl = (acl_), .group = "set",		\
	  .since = (since_), .summary = (sum), .complexity = (cx) }

const struct cmd_def cmd_set_defs[] = {
	SET_CMD("sadd", cmd_sadd, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		"1.0.0", "Adds members to a set, creating the key if needed.",
		"O(1) for each member added, so O(N) to add N members."),
	SET_CMD("srem", cmd_srem, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, WR_FAST, "1.0.0",
		"Removes members from a set, deleting the key when it becomes empty.",
		"O(N), N being the number of members to remove."),
	SET_CMD("sismember", cmd_sismember, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, RD_FAST,
		"1.0.0", "Tells whether a value is a member of a set.", "O(1)"),
	SET_CMD("smismember", cmd_smismember, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, RD_FAST,
		"6.2.0", "Tells, for each of several values, whether it is a member of a set.",
		"O(N), N being the number of values asked about."),
	SET_CMD("smembers", cmd_smembers, 2, CMD_READONLY, 1, 1, 1, RD_SLOW, "1.0.0",
		"Returns every member of a set.", "O(N), N being the set's cardinality."),
	SET_CMD("scard", cmd_scard, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, RD_FAST, "1.0.0",
		"Returns the number of members of a set.", "O(1)"),
	SET_CMD("spop", cmd_spop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, WR_FAST, "1.0.0",
		"Removes and returns one or more random members of a set, deleting the key "
		"when it becomes empty.",
		"O(1) without a count, else O(N), N being the count."),
	SET_CMD("srandmember", cmd_srandmember, -2, CMD_READONLY, 1, 1, 1, RD_SLOW, "1.0.0",
		"Returns random members of a set: distinct ones for a positive count, "
		"possibly repeated ones for a negative count.",
		"O(1) without a count, else O(N), N being the absolute count."),
	SET_CMD("smove", cmd_smove, 4, CMD_WRITE | CMD_FAST, 1, 2, 1, WR_FAST, "1.0.0",
		"Moves a member from one set to another.", "O(1)"),
	SET_CMD("sinter", cmd_sinter, -2, CMD_READONLY, 1, -1, 1, RD_SLOW, "1.0.0",
		"Returns the members common to every given set.",
		"O(N*M) worst case, N being the smallest set's cardinality and M the "
		"number of sets."),
	{ .name = "sintercard", .fn = cmd_sintercard, .arity = -3,
	  .flags = CMD_READONLY | CMD_MOVABLE_KEYS, .first_key = 0, .last_key = 0,
	  .key_step = 0, .acl = RD_SLOW, .group = "set", .since = "7.0.0",
	  .summary = "Returns how many members the given sets have in common, "
		     "optionally counting no further than a limit.",
	  .complexity = "O(N*M) worst case, N being the smallest set's cardinality "
			"and M the number of sets.",
	  .getkeys = sintercard_getkeys },
	SET_CMD("sunion", cmd_sunion, -2, CMD_READONLY, 1, -1, 1, RD_SLOW, "1.0.0",
		"Returns the members of any of the given sets.",
		"O(N), N being the total number of members of the sets."),
	SET_CMD("sdiff", cmd_sdiff, -2, CMD_READONLY, 1, -1, 1, RD_SLOW, "1.0.0",
		"Returns the members of the first set that none of the other sets has.",
		"O(N), N being the total number of members of the sets."),
	SET_CMD("sinterstore", cmd_sinterstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, WR_SLOW,
		"1.0.0", "Stores the intersection of sets in a key, deleting the key when "
		"it is empty.",
		"O(N*M) worst case, N being the smallest set's cardinality and M the "
		"number of sets."),
	SET_CMD("sunionstore", cmd_sunionstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, WR_SLOW,
		"1.0.0", "Stores the union of sets in a key, deleting the key when it is "
		"empty.", "O(N), N being the total number of members of the sets."),
	SET_CMD("sdiffstore", cmd_sdiffstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, WR_SLOW,
		"1.0.0", "Stores the difference of sets in a key, deleting the key when it "
		"is empty.", "O(N), N being the total number of members of the sets."),
	SET_CMD("sscan", cmd_sscan, -3, CMD_READONLY, 1, 1, 1, RD_SLOW, "2.8.0",
		"Walks the members of a set a few at a time with a cursor, optionally "
		"filtered by a glob pattern.",
		"O(1) per call, O(N) for a complete walk of N members."),
	{ .name = NULL },
};
