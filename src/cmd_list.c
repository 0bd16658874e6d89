/*
 * cmd_list.c - the list command family: pushes and pops at both ends,
 * reads and edits by index and value, moves between lists, the multi-key
 * LMPOP, and the blocking BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP.
 *
 * Values are struct t_list (t_list.h) held by entries of type KV_LIST with
 * the KV_ENC_OTHER encoding. A list key never holds an empty list: every
 * command that removes elements deletes the key when the last one goes, so
 * "missing" and "empty" are the same state, as in Redis.
 *
 * Redis 7.0's observable behaviour is followed exactly: which arguments are
 * validated before the key is looked up and which after (LINDEX and LSET
 * check the type before the index, LRANGE and LTRIM parse the range
 * first), the exact error words (several options report their own text
 * even for a non-integer, e.g. "COUNT can't be negative"), the reply of a
 * missing key (0, nil, null array, empty array or +OK depending on the
 * command and, for LPOP/RPOP, on whether a count was given), and the
 * RESP2/RESP3 null shapes, which resp_write chooses from ctx->w. Read-only
 * commands look keys up as reads (keyspace hits and misses), the others as
 * writes.
 *
 * Signals: every push ends with kv_signal_modified() and kv_signal_ready()
 * on the key (a blocked client may be waiting for it); every other in-place
 * change ends with kv_signal_modified(). Creating and deleting a key goes
 * through kv, which signals by itself. ctx->dirty counts elements pushed
 * and removed, one per LSET/LINSERT/LMOVE, as Redis's server.dirty does.
 *
 * Databases come from cmd_db() per key: LMOVE, RPOPLPUSH and LMPOP may run
 * on a coordinator with their keys spread over parked shards.
 *
 * Blocking commands try to serve at once exactly like their non-blocking
 * forms; when every key is missing they call cmd_block() instead of
 * replying. The blocking machinery runs the command again from the start
 * when a key is signalled ready (so a re-run parses and checks everything
 * again, and may block again if another client took the elements first),
 * and sends the timeout reply itself. In such a re-run (CTX_RERUN) a source
 * key of another type means "keep waiting", not WRONGTYPE. Under
 * CTX_NO_BLOCK (inside MULTI, or a wait over several shards whose deadline
 * passed) cmd_block() replies the timeout reply at once.
 */
#include "cmd.h"
#include "cfg.h"
#include "conn.h"
#include "kv.h"
#include "mem.h"
#include "resp_write.h"
#include "strutil.h"
#include "t_list.h"
#include "util.h"

#include <limits.h>
#include <string.h>

/* Values up to this size are copied on the stack when they must outlive
 * the node they came from (LMOVE). */
#define LIST_COPY_STACK 256

static unsigned lk_flags(const struct cmd_ctx *ctx, bool read)
{
	return (read ? KV_LK_READ : 0) | (ctx->flags & CTX_NO_TOUCH ? KV_LK_NOTOUCH : 0);
}

/*
 * Looks up the key argv[i] in its owning db (stored in *dbp when dbp is not
 * NULL); read says whether the lookup counts as a keyspace hit or miss.
 * Returns true with *ep the list's entry or NULL if the key is missing, or
 * replies WRONGTYPE and returns false if the key holds another type.
 */
static bool list_lookup(struct cmd_ctx *ctx, int i, bool read, struct kv_db **dbp,
			struct kv_entry **ep)
{
	const struct cmd_arg *k = &ctx->argv[i];
	struct kv_db *db = cmd_db(ctx, k->p, k->len);
	struct kv_entry *e = kv_lookup(db, k->p, k->len, lk_flags(ctx, read));

	if (dbp)
		*dbp = db;
	if (e && e->type != KV_LIST) {
		cmd_reply_wrongtype(ctx);
		return false;
	}
	*ep = e;
	return true;
}

/*
 * list_lookup() for the source keys of a blocking command. When the command
 * runs again because a key got ready (CTX_RERUN), a source key of another
 * type counts as missing: Redis serves a waiting client only from a key of
 * the type it waits for, so the client keeps waiting instead of getting
 * WRONGTYPE. A first run replies WRONGTYPE as usual.
 */
static bool list_lookup_source(struct cmd_ctx *ctx, int i, struct kv_db **dbp,
			       struct kv_entry **ep)
{
	if (ctx->flags & CTX_RERUN) {
		const struct cmd_arg *k = &ctx->argv[i];
		struct kv_db *db = cmd_db(ctx, k->p, k->len);
		struct kv_entry *e = kv_lookup(db, k->p, k->len, lk_flags(ctx, false));

		*dbp = db;
		*ep = e && e->type == KV_LIST ? e : NULL;
		return true;
	}
	return list_lookup(ctx, i, false, dbp, ep);
}

static struct t_list *entry_list(const struct kv_entry *e)
{
	return e->v.ptr;
}

/* Creates an empty list at key in db (which must not have the key). */
static struct kv_entry *list_create(struct kv_db *db, const struct cmd_arg *key)
{
	return kv_set_obj(db, key->p, key->len, KV_LIST, KV_ENC_OTHER,
			  t_list_new(cfg.list_max_listpack_size));
}

/* Deletes the key of e if its list became empty. */
static void list_drop_if_empty(struct kv_db *db, struct kv_entry *e)
{
	if (t_list_len(entry_list(e)) == 0)
		kv_delete_entry(db, e);
}

/* The signals of a push to key (see the essay above). */
static void list_signal_push(struct kv_db *db, const struct cmd_arg *key)
{
	kv_signal_modified(db, key->p, key->len);
	kv_signal_ready(db, key->p, key->len);
}

static void reply_val(struct cmd_ctx *ctx, const struct lpack_val *v)
{
	resp_w_bulk(ctx->w, v->p, v->len);
}

/* Parses LEFT or RIGHT from argv[i] (any case); replies a syntax error and
 * returns false for anything else. */
static bool list_arg_end(struct cmd_ctx *ctx, int i, enum t_list_end *end)
{
	if (cmd_arg_is(ctx, i, "left")) {
		*end = T_LIST_HEAD;
	} else if (cmd_arg_is(ctx, i, "right")) {
		*end = T_LIST_TAIL;
	} else {
		cmd_reply_syntax(ctx);
		return false;
	}
	return true;
}

/* Redis's getRangeLongFromObjectOrReply: an integer of argv[i] within
 * [min, max]; a non-integer or a value outside gets msg. */
static bool list_arg_range(struct cmd_ctx *ctx, int i, long long min, long long max,
			   const char *msg, long long *out)
{
	if (!cmd_arg_ll_msg(ctx, i, out, msg))
		return false;
	if (*out < min || *out > max) {
		resp_w_error(ctx->w, msg);
		return false;
	}
	return true;
}

/* Replies elements [start, end] (inclusive, negative from the tail, clamped)
 * of l as an array, walking backwards when reverse: Redis's
 * addListRangeReply. */
static void list_reply_range(struct cmd_ctx *ctx, struct t_list *l, long long start,
			     long long end, bool reverse)
{
	long long len = (long long)t_list_len(l);
	struct t_list_iter it;
	struct lpack_val v;
	long long n;

	if (!cmd_range_clamp(&start, &end, len)) {
		resp_w_array(ctx->w, 0);
		return;
	}
	n = end - start + 1;
	resp_w_array(ctx->w, (size_t)n);
	t_list_iter_init(l, reverse ? end : start, !reverse, &it);
	while (n-- > 0) {
		bool more = t_list_iter_next(&it, &v);

		ASSERT(more);
		reply_val(ctx, &v);
	}
}

/* Pops up to count elements from the given end of key's list and replies
 * them as an array, in popping order; deletes the key if it empties. */
static void list_pop_range_reply(struct cmd_ctx *ctx, struct kv_db *db, struct kv_entry *e,
				 const struct cmd_arg *key, enum t_list_end where, long long count)
{
	struct t_list *l = entry_list(e);
	long long len = (long long)t_list_len(l);
	long long n = count > len ? len : count;

	if (where == T_LIST_HEAD)
		list_reply_range(ctx, l, 0, n - 1, false);
	else
		list_reply_range(ctx, l, -n, -1, true);
	t_list_pop(l, where, (size_t)n);
	ctx->dirty += (uint64_t)n;
	list_drop_if_empty(db, e);
	kv_signal_modified(db, key->p, key->len);
}

/* Pops one element from the given end and replies it as a bulk string,
 * preceded by the key in a two-element array when with_key (BLPOP). */
static void list_pop_one_reply(struct cmd_ctx *ctx, struct kv_db *db, struct kv_entry *e,
			       const struct cmd_arg *key, enum t_list_end where, bool with_key)
{
	struct t_list *l = entry_list(e);
	struct lpack_val v;
	bool found = t_list_peek(l, where, &v);

	ASSERT(found);
	if (with_key) {
		resp_w_array(ctx->w, 2);
		resp_w_bulk(ctx->w, key->p, key->len);
	}
	reply_val(ctx, &v);
	t_list_pop(l, where, 1);
	ctx->dirty++;
	list_drop_if_empty(db, e);
	kv_signal_modified(db, key->p, key->len);
}

/* ---- pushes ---- */

/* LPUSH, RPUSH, LPUSHX, RPUSHX: xx pushes only onto an existing list. */
static void list_push_generic(struct cmd_ctx *ctx, enum t_list_end where, bool xx)
{
	const struct cmd_arg *key = &ctx->argv[1];
	struct kv_db *db;
	struct kv_entry *e;
	struct t_list *l;

	if (!list_lookup(ctx, 1, false, &db, &e))
		return;
	if (!e) {
		if (xx) {
			resp_w_int(ctx->w, 0);
			return;
		}
		e = list_create(db, key);
	}
	l = entry_list(e);
	for (int j = 2; j < ctx->argc; j++)
		t_list_push(l, where, ctx->argv[j].p, ctx->argv[j].len);
	ctx->dirty += (uint64_t)(ctx->argc - 2);
	resp_w_int(ctx->w, (long long)t_list_len(l));
	list_signal_push(db, key);
}

static void cmd_lpush(struct cmd_ctx *ctx)
{
	list_push_generic(ctx, T_LIST_HEAD, false);
}

static void cmd_rpush(struct cmd_ctx *ctx)
{
	list_push_generic(ctx, T_LIST_TAIL, false);
}

static void cmd_lpushx(struct cmd_ctx *ctx)
{
	list_push_generic(ctx, T_LIST_HEAD, true);
}

static void cmd_rpushx(struct cmd_ctx *ctx)
{
	list_push_generic(ctx, T_LIST_TAIL, true);
}

/* ---- pops ---- */

/* LPOP and RPOP: without a count a bulk string (nil for a missing key);
 * with one an array (a null array for a missing key, an empty one for a
 * count of 0). */
static void list_pop_generic(struct cmd_ctx *ctx, enum t_list_end where)
{
	bool has_count = ctx->argc == 3;
	long long count = 0;
	struct kv_db *db;
	struct kv_entry *e;

	if (ctx->argc > 3) {
		cmd_reply_arity(ctx);
		return;
	}
	if (has_count && !list_arg_range(ctx, 2, 0, LLONG_MAX,
					 "value is out of range, must be positive", &count))
		return;
	if (!list_lookup(ctx, 1, false, &db, &e))
		return;
	if (!e) {
		if (has_count)
			resp_w_null_array(ctx->w);
		else
			resp_w_null(ctx->w);
		return;
	}
	if (!has_count)
		list_pop_one_reply(ctx, db, e, &ctx->argv[1], where, false);
	else if (count == 0)
		resp_w_array(ctx->w, 0);
	else
		list_pop_range_reply(ctx, db, e, &ctx->argv[1], where, count);
}

static void cmd_lpop(struct cmd_ctx *ctx)
{
	list_pop_generic(ctx, T_LIST_HEAD);
}

static void cmd_rpop(struct cmd_ctx *ctx)
{
	list_pop_generic(ctx, T_LIST_TAIL);
}

/* ---- reads ---- */

static void cmd_llen(struct cmd_ctx *ctx)
{
	struct kv_entry *e;

	if (!list_lookup(ctx, 1, true, NULL, &e))
		return;
	resp_w_int(ctx->w, e ? (long long)t_list_len(entry_list(e)) : 0);
}

static void cmd_lrange(struct cmd_ctx *ctx)
{
	long long start, end;
	struct kv_entry *e;

	if (!cmd_arg_ll(ctx, 2, &start) || !cmd_arg_ll(ctx, 3, &end))
		return;
	if (!list_lookup(ctx, 1, true, NULL, &e))
		return;
	if (!e) {
		resp_w_array(ctx->w, 0);
		return;
	}
	list_reply_range(ctx, entry_list(e), start, end, false);
}

static void cmd_lindex(struct cmd_ctx *ctx)
{
	struct kv_entry *e;
	struct lpack_val v;
	long long index;

	if (!list_lookup(ctx, 1, true, NULL, &e))
		return;
	if (!e) {
		resp_w_null(ctx->w);
		return;
	}
	if (!cmd_arg_ll(ctx, 2, &index))
		return;
	if (t_list_index(entry_list(e), index, &v))
		reply_val(ctx, &v);
	else
		resp_w_null(ctx->w);
}

/*
 * LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]: the index
 * of the rank-th match (negative rank: searching from the tail), or with
 * COUNT an array of up to num (0 = all) matches from that one on; MAXLEN
 * bounds how many elements are compared.
 */
static void cmd_lpos(struct cmd_ctx *ctx)
{
	const struct cmd_arg *ele = &ctx->argv[2];
	long long rank = 1, count = -1, maxlen = 0;	/* count -1: no COUNT */
	long long index = 0, matches = 0, found = -1, len;
	size_t nreplied = 0, off = 0;
	struct t_list_iter it;
	struct lpack_val v;
	struct kv_entry *e;
	bool forward = true, no_count_limit = false;

	for (int j = 3; j < ctx->argc; j++) {
		bool more = j + 1 < ctx->argc;

		if (more && cmd_arg_is(ctx, j, "rank")) {
			if (!cmd_arg_ll(ctx, ++j, &rank))
				return;
			if (rank == 0) {
				resp_w_error(ctx->w, "RANK can't be zero: use 1 to start from the "
					     "first match, 2 from the second ... or use negative "
					     "to start from the end of the list");
				return;
			}
		} else if (more && cmd_arg_is(ctx, j, "count")) {
			if (!list_arg_range(ctx, ++j, 0, LLONG_MAX, "COUNT can't be negative", &count))
				return;
		} else if (more && cmd_arg_is(ctx, j, "maxlen")) {
			if (!list_arg_range(ctx, ++j, 0, LLONG_MAX, "MAXLEN can't be negative",
					    &maxlen))
				return;
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	if (rank == LLONG_MIN) {
		/* Redis 7.0 negates this rank into itself: every match then
		 * counts (as rank 1 from the tail) and COUNT never stops the
		 * walk. Kept for identical replies. */
		rank = 1;
		forward = false;
		no_count_limit = true;
	} else if (rank < 0) {
		rank = -rank;
		forward = false;
	}
	if (!list_lookup(ctx, 1, true, NULL, &e))
		return;
	if (!e) {
		if (count != -1)
			resp_w_array(ctx->w, 0);
		else
			resp_w_null(ctx->w);
		return;
	}
	len = (long long)t_list_len(entry_list(e));
	if (count != -1)
		off = resp_w_defer(ctx->w);
	t_list_iter_init(entry_list(e), forward ? 0 : -1, forward, &it);
	while ((maxlen == 0 || index < maxlen) && t_list_iter_next(&it, &v)) {
		if (t_list_iter_eq(&it, ele->p, ele->len)) {
			matches++;
			if (matches >= rank) {
				found = forward ? index : len - index - 1;
				if (count == -1)
					break;
				resp_w_int(ctx->w, found);
				nreplied++;
				if (count && !no_count_limit && matches - rank + 1 >= count)
					break;
			}
		}
		index++;
	}
	if (count != -1)
		resp_w_defer_end(ctx->w, off, '*', nreplied);
	else if (found != -1)
		resp_w_int(ctx->w, found);
	else
		resp_w_null(ctx->w);
}

/* ---- edits ---- */

static void cmd_lset(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1], *val = &ctx->argv[3];
	struct kv_db *db;
	struct kv_entry *e;
	long long index;

	if (!list_lookup(ctx, 1, false, &db, &e))
		return;
	if (!e) {
		resp_w_error(ctx->w, "no such key");
		return;
	}
	if (!cmd_arg_ll(ctx, 2, &index))
		return;
	if (!t_list_set(entry_list(e), index, val->p, val->len)) {
		resp_w_error(ctx->w, "index out of range");
		return;
	}
	ctx->dirty++;
	resp_w_ok(ctx->w);
	kv_signal_modified(db, key->p, key->len);
}

/* LINSERT key BEFORE|AFTER pivot element: the new length, 0 for a missing
 * key, -1 when the pivot is not found. */
static void cmd_linsert(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1], *pivot = &ctx->argv[3], *val = &ctx->argv[4];
	struct t_list_iter it;
	struct lpack_val v;
	struct kv_db *db;
	struct kv_entry *e;
	struct t_list *l;
	bool after;

	if (cmd_arg_is(ctx, 2, "after")) {
		after = true;
	} else if (cmd_arg_is(ctx, 2, "before")) {
		after = false;
	} else {
		cmd_reply_syntax(ctx);
		return;
	}
	if (!list_lookup(ctx, 1, false, &db, &e))
		return;
	if (!e) {
		resp_w_int(ctx->w, 0);
		return;
	}
	l = entry_list(e);
	t_list_iter_init(l, 0, true, &it);
	while (t_list_iter_next(&it, &v)) {
		if (t_list_iter_eq(&it, pivot->p, pivot->len)) {
			t_list_iter_insert(&it, after, val->p, val->len);
			ctx->dirty++;
			resp_w_int(ctx->w, (long long)t_list_len(l));
			kv_signal_modified(db, key->p, key->len);
			return;
		}
	}
	resp_w_int(ctx->w, -1);
}

/* LREM key count element: removes up to |count| (0 = all) matches, from
 * the tail when count < 0; replies how many went. */
static void cmd_lrem(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1], *ele = &ctx->argv[3];
	unsigned long long limit, removed = 0;
	struct t_list_iter it;
	struct lpack_val v;
	struct kv_db *db;
	struct kv_entry *e;
	long long count;
	bool forward;

	if (!cmd_arg_ll(ctx, 2, &count))
		return;
	if (!list_lookup(ctx, 1, false, &db, &e))
		return;
	if (!e) {
		resp_w_int(ctx->w, 0);
		return;
	}
	forward = count >= 0;
	limit = count >= 0 ? (unsigned long long)count : 0ull - (unsigned long long)count;
	t_list_iter_init(entry_list(e), forward ? 0 : -1, forward, &it);
	while (t_list_iter_next(&it, &v)) {
		if (t_list_iter_eq(&it, ele->p, ele->len)) {
			t_list_iter_delete(&it);
			removed++;
			if (limit && removed == limit)
				break;
		}
	}
	ctx->dirty += removed;
	if (removed) {
		list_drop_if_empty(db, e);
		kv_signal_modified(db, key->p, key->len);
	}
	resp_w_int(ctx->w, (long long)removed);
}

/* LTRIM key start stop: keeps only [start, stop] (inclusive, negative from
 * the tail); an empty range deletes the key. */
static void cmd_ltrim(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1];
	long long start, end, len, ltrim, rtrim;
	struct kv_db *db;
	struct kv_entry *e;
	struct t_list *l;

	if (!cmd_arg_ll(ctx, 2, &start) || !cmd_arg_ll(ctx, 3, &end))
		return;
	if (!list_lookup(ctx, 1, false, &db, &e))
		return;
	if (!e) {
		resp_w_ok(ctx->w);
		return;
	}
	l = entry_list(e);
	len = (long long)t_list_len(l);
	if (!cmd_range_clamp(&start, &end, len)) {
		ltrim = len;
		rtrim = 0;
	} else {
		ltrim = start;
		rtrim = len - end - 1;
	}
	t_list_del_range(l, 0, (size_t)ltrim);
	t_list_del_range(l, -rtrim, (size_t)rtrim);
	ctx->dirty += (uint64_t)(ltrim + rtrim);
	list_drop_if_empty(db, e);
	kv_signal_modified(db, key->p, key->len);
	resp_w_ok(ctx->w);
}

/* ---- moves ---- */

/*
 * The body of LMOVE, RPOPLPUSH and their blocking forms once the source is
 * known to be a non-empty list (src_e in src_db): checks the destination's
 * type first, then pops from the source, pushes onto the destination
 * (created if missing; it may be the source itself) and replies the
 * element. The element is copied out of its node before the pop frees it.
 */
static void list_move(struct cmd_ctx *ctx, struct kv_db *src_db, struct kv_entry *src_e,
		      enum t_list_end from, enum t_list_end to)
{
	const struct cmd_arg *src = &ctx->argv[1], *dst = &ctx->argv[2];
	char stack[LIST_COPY_STACK], *copy;
	struct kv_db *dst_db;
	struct kv_entry *dst_e;
	struct lpack_val v;
	size_t len;
	bool found;

	if (!list_lookup(ctx, 2, false, &dst_db, &dst_e))
		return;
	found = t_list_peek(entry_list(src_e), from, &v);
	ASSERT(found);
	len = v.len;
	copy = len <= sizeof(stack) ? stack : mem_alloc(len);
	memcpy(copy, v.p, len);
	t_list_pop(entry_list(src_e), from, 1);
	if (!dst_e)
		dst_e = list_create(dst_db, dst);
	t_list_push(entry_list(dst_e), to, copy, len);
	list_signal_push(dst_db, dst);
	resp_w_bulk(ctx->w, copy, len);
	if (copy != stack)
		mem_free(copy);
	/* With src == dst the entry is the same and not empty again. */
	list_drop_if_empty(src_db, src_e);
	kv_signal_modified(src_db, src->p, src->len);
	ctx->dirty++;
}

/* LMOVE and RPOPLPUSH once the ends are known: nil for a missing source. */
static void list_move_generic(struct cmd_ctx *ctx, enum t_list_end from, enum t_list_end to)
{
	struct kv_db *db;
	struct kv_entry *e;

	if (!list_lookup(ctx, 1, false, &db, &e))
		return;
	if (!e) {
		resp_w_null(ctx->w);
		return;
	}
	list_move(ctx, db, e, from, to);
}

static void cmd_lmove(struct cmd_ctx *ctx)
{
	enum t_list_end from, to;

	if (!list_arg_end(ctx, 3, &from) || !list_arg_end(ctx, 4, &to))
		return;
	list_move_generic(ctx, from, to);
}

static void cmd_rpoplpush(struct cmd_ctx *ctx)
{
	list_move_generic(ctx, T_LIST_TAIL, T_LIST_HEAD);
}

/* BLMOVE and BRPOPLPUSH: as LMOVE, blocking while the source is missing
 * (whatever the destination holds). Redis 7.0 answers a timeout with a
 * null array (RESP2 "*-1", the reply of every list blocked on a timeout)
 * but a call inside MULTI, which may not block, with a plain null ("$-1").
 * So inside MULTI the null is replied here; every other case goes to
 * cmd_block(), including a source and destination on two shards, which
 * strata cannot wait on (CTX_NO_BLOCK outside MULTI): that answers as if
 * the wait had timed out at once. ctx->cl is the client whenever the call
 * runs on the client's thread, which EXEC and parked commands always do. */
static bool list_in_multi(const struct cmd_ctx *ctx)
{
	return ctx->cl && (ctx->cl->flags & CL_MULTI);
}

static void list_bmove_generic(struct cmd_ctx *ctx, enum t_list_end from, enum t_list_end to,
			       int64_t deadline)
{
	struct kv_db *db;
	struct kv_entry *e;

	if (!list_lookup_source(ctx, 1, &db, &e))
		return;
	if (!e) {
		if ((ctx->flags & CTX_NO_BLOCK) && list_in_multi(ctx))
			resp_w_null(ctx->w);
		else
			cmd_block(ctx, deadline, true);
		return;
	}
	list_move(ctx, db, e, from, to);
}

static void cmd_blmove(struct cmd_ctx *ctx)
{
	enum t_list_end from, to;
	int64_t deadline;

	if (!list_arg_end(ctx, 3, &from) || !list_arg_end(ctx, 4, &to) ||
	    !cmd_arg_timeout(ctx, 5, &deadline))
		return;
	list_bmove_generic(ctx, from, to, deadline);
}

static void cmd_brpoplpush(struct cmd_ctx *ctx)
{
	int64_t deadline;

	if (!cmd_arg_timeout(ctx, 3, &deadline))
		return;
	list_bmove_generic(ctx, T_LIST_TAIL, T_LIST_HEAD, deadline);
}

/* ---- multi-key pops ---- */

/*
 * Serves the first non-empty list among argv[first .. first + nkeys):
 * count < 0 pops one element and replies [key, element] (BLPOP, BRPOP);
 * count > 0 pops up to count and replies [key, [elements]] (LMPOP,
 * BLMPOP). Returns false, replying nothing, if every key is missing; a key
 * of another type replies WRONGTYPE (and returns true) as soon as it is
 * met, as in Redis, except in a blocking re-run (list_lookup_source()).
 */
static bool list_serve_first(struct cmd_ctx *ctx, int first, int nkeys, enum t_list_end where,
			     long long count, bool blocking)
{
	for (int j = first; j < first + nkeys; j++) {
		struct kv_db *db;
		struct kv_entry *e;

		if (!(blocking ? list_lookup_source(ctx, j, &db, &e) :
				 list_lookup(ctx, j, false, &db, &e)))
			return true;
		if (!e)
			continue;
		if (count < 0) {
			list_pop_one_reply(ctx, db, e, &ctx->argv[j], where, true);
		} else {
			resp_w_array(ctx->w, 2);
			resp_w_bulk(ctx->w, ctx->argv[j].p, ctx->argv[j].len);
			list_pop_range_reply(ctx, db, e, &ctx->argv[j], where, count);
		}
		return true;
	}
	return false;
}

/* BLPOP and BRPOP key [key ...] timeout. */
static void list_bpop_generic(struct cmd_ctx *ctx, enum t_list_end where)
{
	int64_t deadline;

	if (!cmd_arg_timeout(ctx, ctx->argc - 1, &deadline))
		return;
	if (!list_serve_first(ctx, 1, ctx->argc - 2, where, -1, true))
		cmd_block(ctx, deadline, true);
}

static void cmd_blpop(struct cmd_ctx *ctx)
{
	list_bpop_generic(ctx, T_LIST_HEAD);
}

static void cmd_brpop(struct cmd_ctx *ctx)
{
	list_bpop_generic(ctx, T_LIST_TAIL);
}

/*
 * The arguments of LMPOP (numkeys at argv[1]) and BLMPOP (timeout at
 * argv[1], numkeys at argv[2]): numkeys key [key ...] LEFT|RIGHT
 * [COUNT count]. Validates in Redis's order and words; on success stores
 * the number of keys, the end and the count (1 by default).
 */
static bool list_mpop_args(struct cmd_ctx *ctx, int numkeys_idx, int *nkeys,
			   enum t_list_end *where, long long *count)
{
	long long numkeys;
	int where_idx;

	if (!list_arg_range(ctx, numkeys_idx, 1, LONG_MAX, "numkeys should be greater than 0",
			    &numkeys))
		return false;
	if (numkeys >= ctx->argc - numkeys_idx - 1) {
		cmd_reply_syntax(ctx);
		return false;
	}
	where_idx = numkeys_idx + (int)numkeys + 1;
	if (!list_arg_end(ctx, where_idx, where))
		return false;
	*count = -1;
	for (int j = where_idx + 1; j < ctx->argc; j++) {
		if (*count == -1 && j + 1 < ctx->argc && cmd_arg_is(ctx, j, "count")) {
			if (!list_arg_range(ctx, ++j, 1, LONG_MAX, "count should be greater than 0",
					    count))
				return false;
		} else {
			cmd_reply_syntax(ctx);
			return false;
		}
	}
	if (*count == -1)
		*count = 1;
	*nkeys = (int)numkeys;
	return true;
}

static void cmd_lmpop(struct cmd_ctx *ctx)
{
	enum t_list_end where;
	long long count;
	int nkeys;

	if (!list_mpop_args(ctx, 1, &nkeys, &where, &count))
		return;
	if (!list_serve_first(ctx, 2, nkeys, where, count, false))
		resp_w_null_array(ctx->w);
}

static void cmd_blmpop(struct cmd_ctx *ctx)
{
	enum t_list_end where;
	int64_t deadline;
	long long count;
	int nkeys;

	if (!list_mpop_args(ctx, 2, &nkeys, &where, &count) ||
	    !cmd_arg_timeout(ctx, 1, &deadline))
		return;
	if (!list_serve_first(ctx, 3, nkeys, where, count, true))
		cmd_block(ctx, deadline, true);
}

/* Keys of LMPOP / BLMPOP: numkeys at argv[numkeys_idx], the keys after it.
 * A numkeys that is not a positive integer, or more keys than arguments,
 * is malformed (-1): the handler then replies the error. */
static int list_mpop_keys(int numkeys_idx, int argc, const struct cmd_arg *argv, int *out,
			  int cap)
{
	long long n;

	if (argc <= numkeys_idx ||
	    !strutil_to_ll(argv[numkeys_idx].p, argv[numkeys_idx].len, &n) ||
	    n < 1 || n > argc - numkeys_idx - 1)
		return -1;
	for (int i = 0; i < n && i < cap; i++)
		out[i] = numkeys_idx + 1 + i;
	return (int)n;
}

static int lmpop_getkeys(int argc, const struct cmd_arg *argv, int *out, int cap)
{
	return list_mpop_keys(1, argc, argv, out, cap);
}

static int blmpop_getkeys(int argc, const struct cmd_arg *argv, int *out, int cap)
{
	return list_mpop_keys(2, argc, argv, out, cap);
}

/* ---- the table ---- */

#define RD_FAST (ACL(ACL_READ) | ACL(ACL_LIST) | ACL(ACL_FAST))
#define RD_SLOW (ACL(ACL_READ) | ACL(ACL_LIST) | ACL(ACL_SLOW))
#define WR_FAST (ACL(ACL_WRITE) | ACL(ACL_LIST) | ACL(ACL_FAST))
#define WR_SLOW (ACL(ACL_WRITE) | ACL(ACL_LIST) | ACL(ACL_SLOW))
#define WR_BLOCK (WR_SLOW | ACL(ACL_BLOCKING))

#define LIST_CMD(nm, f, ar, fl, fk, lk, st, acl_, since_, sum, cx)			\
	{ .name = (nm), .fn = (f), .arity = (ar), .flags = (fl), .first_key = (fk),	\
	  .last_key = (lk), .key_step = (st), .acl = (acl_), .group = "list",		\
	  .since = (since_), .summary = (sum), .complexity = (cx) }

const struct cmd_def cmd_list_defs[] = {
	LIST_CMD("lpush", cmd_lpush, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		 "1.0.0", "Adds elements at the head of a list, creating the key if needed.",
		 "O(1) per element added."),
	LIST_CMD("rpush", cmd_rpush, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		 "1.0.0", "Adds elements at the tail of a list, creating the key if needed.",
		 "O(1) per element added."),
	LIST_CMD("lpushx", cmd_lpushx, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		 "2.2.0", "Adds elements at the head of a list, only if the list exists.",
		 "O(1) per element added."),
	LIST_CMD("rpushx", cmd_rpushx, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		 "2.2.0", "Adds elements at the tail of a list, only if the list exists.",
		 "O(1) per element added."),
	LIST_CMD("lpop", cmd_lpop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, WR_FAST, "1.0.0",
		 "Removes and returns the first element, or the first count elements, of a "
		 "list; the key goes when the list empties.",
		 "O(N), N being the number of elements returned."),
	LIST_CMD("rpop", cmd_rpop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, WR_FAST, "1.0.0",
		 "Removes and returns the last element, or the last count elements, of a "
		 "list; the key goes when the list empties.",
		 "O(N), N being the number of elements returned."),
	LIST_CMD("llen", cmd_llen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, RD_FAST, "1.0.0",
		 "Returns the number of elements of a list.", "O(1)"),
	LIST_CMD("lrange", cmd_lrange, 4, CMD_READONLY, 1, 1, 1, RD_SLOW, "1.0.0",
		 "Returns the elements of a list between two inclusive indexes.",
		 "O(S+N), S being the distance of start from the nearer end counted in "
		 "nodes, N the number of elements returned."),
	LIST_CMD("lindex", cmd_lindex, 3, CMD_READONLY, 1, 1, 1, RD_SLOW, "1.0.0",
		 "Returns the element of a list at an index.",
		 "O(N), N being the number of nodes walked to reach the index."),
	LIST_CMD("lset", cmd_lset, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, WR_SLOW, "1.0.0",
		 "Replaces the element of a list at an index.",
		 "O(N), N being the number of nodes walked to reach the index."),
	LIST_CMD("linsert", cmd_linsert, 5, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, WR_SLOW, "2.2.0",
		 "Inserts an element before or after the first element equal to a pivot.",
		 "O(N), N being the number of elements before the pivot."),
	LIST_CMD("lrem", cmd_lrem, 4, CMD_WRITE, 1, 1, 1, WR_SLOW, "1.0.0",
		 "Removes elements equal to a value, from the head or the tail, up to a count.",
		 "O(N+M), N being the length of the list and M the number of elements removed."),
	LIST_CMD("ltrim", cmd_ltrim, 4, CMD_WRITE, 1, 1, 1, WR_SLOW, "1.0.0",
		 "Keeps only the elements of a list between two inclusive indexes.",
		 "O(N), N being the number of elements removed."),
	LIST_CMD("lpos", cmd_lpos, -3, CMD_READONLY, 1, 1, 1, RD_SLOW, "6.0.6",
		 "Returns the indexes of the elements of a list equal to a value.",
		 "O(N), N being the number of elements compared."),
	LIST_CMD("lmove", cmd_lmove, 5, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, WR_SLOW, "6.2.0",
		 "Pops an element from one end of a list and pushes it at an end of another "
		 "(or the same) list, returning it.", "O(1)"),
	LIST_CMD("rpoplpush", cmd_rpoplpush, 3, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, WR_SLOW,
		 "1.2.0", "Pops the last element of a list and pushes it at the head of another "
		 "list, returning it (LMOVE source destination RIGHT LEFT).", "O(1)"),
	{ .name = "lmpop", .fn = cmd_lmpop, .arity = -4, .flags = CMD_WRITE | CMD_MOVABLE_KEYS,
	  .acl = WR_SLOW, .group = "list", .since = "7.0.0",
	  .summary = "Pops elements from the first non-empty list among several keys.",
	  .complexity = "O(N+M), N being the number of keys tried and M the number of "
			"elements returned.",
	  .getkeys = lmpop_getkeys },
	LIST_CMD("blpop", cmd_blpop, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING, 1, -2, 1,
		 WR_BLOCK, "2.0.0", "Pops the first element of the first non-empty list among "
		 "several keys, waiting for one when all are empty.",
		 "O(N), N being the number of keys."),
	LIST_CMD("brpop", cmd_brpop, -3, CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING, 1, -2, 1,
		 WR_BLOCK, "2.0.0", "Pops the last element of the first non-empty list among "
		 "several keys, waiting for one when all are empty.",
		 "O(N), N being the number of keys."),
	LIST_CMD("blmove", cmd_blmove, 6, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT | CMD_BLOCKING,
		 1, 2, 1, WR_BLOCK, "6.2.0", "Moves an element from one list to another like "
		 "LMOVE, waiting for the source to have one.", "O(1)"),
	LIST_CMD("brpoplpush", cmd_brpoplpush,
		 4, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT | CMD_BLOCKING, 1, 2, 1, WR_BLOCK,
		 "2.2.0", "Moves the last element of a list to the head of another like "
		 "RPOPLPUSH, waiting for the source to have one.", "O(1)"),
	{ .name = "blmpop", .fn = cmd_blmpop, .arity = -5,
	  .flags = CMD_WRITE | CMD_BLOCKING | CMD_MOVABLE_KEYS, .acl = WR_BLOCK, .group = "list",
	  .since = "7.0.0",
	  .summary = "Pops elements from the first non-empty list among several keys like "
		     "LMPOP, waiting for one when all are empty.",
	  .complexity = "O(N+M), N being the number of keys tried and M the number of "
			"elements returned.",
	  .getkeys = blmpop_getkeys },
	{ .name = NULL },
};
