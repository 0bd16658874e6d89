/*
 * cmd_hash.c - the hash command family: HSET HSETNX HMSET HGET HMGET
 * HGETALL HKEYS HVALS HDEL HLEN HEXISTS HSTRLEN HINCRBY HINCRBYFLOAT
 * HRANDFIELD HSCAN, over the value type of t_hash.h.
 *
 * Every handler follows Redis 7.0's observable behaviour: the order in
 * which arguments are checked (HINCRBY parses its increment before looking
 * at the key; HSCAN parses its cursor before the key and its options after
 * the type check; HRANDFIELD checks its count, then its syntax, then the
 * key), the exact error words, and the reply shapes in both protocols:
 * HGETALL is a map in RESP3; HRANDFIELD WITHVALUES is a flat array in RESP2
 * and an array of [field, value] pairs in RESP3.
 *
 * Writes. A command that creates a hash builds it in full and then installs
 * it with kv_set_obj(), which signals the new key; a command that changes
 * an existing hash changes it in place and calls kv_signal_modified(). When
 * the last field of a hash goes, the key is deleted (kv signals that). No
 * error can happen after a write has begun, so a failed command never
 * leaves an empty hash behind (Redis creates the key first, and relies on
 * the same fact). ctx->dirty counts as Redis's server.dirty does: one per
 * pair HSET/HMSET was given, one per field HDEL removed, one per HSETNX or
 * HINCRBY* that wrote.
 *
 * Reads count a keyspace hit or miss (KV_LK_READ) exactly where Redis uses
 * lookupKeyRead: every read command, including HMGET on a missing key.
 *
 * HRANDFIELD with a negative count returns that many independent picks.
 * Redis builds such a reply however large it gets (a client asking for
 * 2^62 picks exhausts the server's memory); strata refuses a negative count
 * beyond HASH_RANDOM_MAX picks with "value is out of range", the words
 * Redis uses for a WITHVALUES count that could overflow.
 */
#include "cmd.h"
#include "cfg.h"
#include "kv.h"
#include "mem.h"
#include "resp_write.h"
#include "strutil.h"
#include "t_hash.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest text Redis's string2ld reads (MAX_LONG_DOUBLE_CHARS), and the
 * room strutil_ld_to_str() needs. */
#define HASH_LD_CHARS	5120
/* Largest number of independent picks HRANDFIELD builds in one reply. */
#define HASH_RANDOM_MAX	(1LL << 30)

#define ERR_NOT_INT	"hash value is not an integer"
#define ERR_NOT_FLOAT	"hash value is not a float"

/* ---- lookups ---- */

static unsigned lk_flags(const struct cmd_ctx *ctx, bool read)
{
	return (read ? KV_LK_READ : 0) | (ctx->flags & CTX_NO_TOUCH ? KV_LK_NOTOUCH : 0);
}

/*
 * The hash at argv[1]. Returns true with *hp set to the hash, or to NULL
 * when the key does not exist; returns false after replying WRONGTYPE when
 * the key holds another type. read chooses between Redis's lookupKeyRead
 * (counts a hit or miss) and lookupKeyWrite.
 */
static bool hash_lookup(struct cmd_ctx *ctx, bool read, struct kv_db **dbp, struct hash **hp)
{
	const struct cmd_arg *k = &ctx->argv[1];
	struct kv_db *db = cmd_db(ctx, k->p, k->len);
	struct kv_entry *e = kv_lookup(db, k->p, k->len, lk_flags(ctx, read));

	if (dbp)
		*dbp = db;
	*hp = NULL;
	if (!e)
		return true;
	if (e->type != KV_HASH) {
		cmd_reply_wrongtype(ctx);
		return false;
	}
	*hp = hash_of(e);
	return true;
}

/* The hash at argv[1] for a write: the existing one, or a new empty one
 * (*created set) that hash_commit() installs. NULL after WRONGTYPE. */
static struct hash *hash_for_write(struct cmd_ctx *ctx, struct kv_db **dbp, bool *created)
{
	struct hash *h;

	if (!hash_lookup(ctx, false, dbp, &h))
		return NULL;
	*created = h == NULL;
	return h ? h : hash_create();
}

/* Ends a write to the hash of argv[1]: installs a new hash, or signals the
 * change of an existing one. */
static void hash_commit(struct cmd_ctx *ctx, struct kv_db *db, struct hash *h, bool created)
{
	const struct cmd_arg *k = &ctx->argv[1];

	if (created)
		kv_set_obj(db, k->p, k->len, KV_HASH, KV_ENC_OTHER, h);
	else
		kv_signal_modified(db, k->p, k->len);
}

static void reply_str(struct cmd_ctx *ctx, const struct hash_str *s)
{
	resp_w_bulk(ctx->w, s->p, s->len);
}

/* ---- HSET, HMSET, HSETNX ---- */

/* HSET and HMSET: the same work, different replies. */
static void hash_set_generic(struct cmd_ctx *ctx, bool reply_count)
{
	struct kv_db *db;
	struct hash *h;
	size_t maxlen = 0, sum = 0;
	long long added = 0;
	bool created;

	if (ctx->argc % 2 == 1) {
		cmd_reply_arity(ctx);
		return;
	}
	h = hash_for_write(ctx, &db, &created);
	if (!h)
		return;
	for (int j = 2; j < ctx->argc; j++) {
		maxlen = MAX(maxlen, ctx->argv[j].len);
		sum += ctx->argv[j].len;
	}
	hash_prepare(h, maxlen, sum);
	for (int j = 2; j < ctx->argc; j += 2)
		added += hash_set(h, ctx->argv[j].p, ctx->argv[j].len,
				  ctx->argv[j + 1].p, ctx->argv[j + 1].len);
	hash_commit(ctx, db, h, created);
	ctx->dirty += (uint64_t)(ctx->argc - 2) / 2;
	if (reply_count)
		resp_w_int(ctx->w, added);
	else
		resp_w_ok(ctx->w);
}

static void cmd_hset(struct cmd_ctx *ctx)
{
	hash_set_generic(ctx, true);
}

static void cmd_hmset(struct cmd_ctx *ctx)
{
	hash_set_generic(ctx, false);
}

static void cmd_hsetnx(struct cmd_ctx *ctx)
{
	const struct cmd_arg *f = &ctx->argv[2], *v = &ctx->argv[3];
	struct kv_db *db;
	struct hash *h;
	bool created;

	h = hash_for_write(ctx, &db, &created);
	if (!h)
		return;
	if (!created && hash_get(h, f->p, f->len, NULL)) {
		resp_w_int(ctx->w, 0);
		return;
	}
	hash_prepare(h, MAX(f->len, v->len), f->len + v->len);
	hash_set(h, f->p, f->len, v->p, v->len);
	hash_commit(ctx, db, h, created);
	ctx->dirty++;
	resp_w_int(ctx->w, 1);
}

/* ---- HGET, HMGET, HEXISTS, HSTRLEN, HLEN ---- */

static void cmd_hget(struct cmd_ctx *ctx)
{
	struct hash_str v;
	struct hash *h;

	if (!hash_lookup(ctx, true, NULL, &h))
		return;
	if (h && hash_get(h, ctx->argv[2].p, ctx->argv[2].len, &v))
		reply_str(ctx, &v);
	else
		resp_w_null(ctx->w);
}

static void cmd_hmget(struct cmd_ctx *ctx)
{
	struct hash_str v;
	struct hash *h;

	if (!hash_lookup(ctx, true, NULL, &h))
		return;
	resp_w_array(ctx->w, (size_t)ctx->argc - 2);
	for (int j = 2; j < ctx->argc; j++) {
		if (h && hash_get(h, ctx->argv[j].p, ctx->argv[j].len, &v))
			reply_str(ctx, &v);
		else
			resp_w_null(ctx->w);
	}
}

static void cmd_hexists(struct cmd_ctx *ctx)
{
	struct hash *h;

	if (!hash_lookup(ctx, true, NULL, &h))
		return;
	resp_w_int(ctx->w, h && hash_get(h, ctx->argv[2].p, ctx->argv[2].len, NULL));
}

static void cmd_hstrlen(struct cmd_ctx *ctx)
{
	struct hash_str v;
	struct hash *h;

	if (!hash_lookup(ctx, true, NULL, &h))
		return;
	if (h && hash_get(h, ctx->argv[2].p, ctx->argv[2].len, &v))
		resp_w_int(ctx->w, (long long)v.len);
	else
		resp_w_int(ctx->w, 0);
}

static void cmd_hlen(struct cmd_ctx *ctx)
{
	struct hash *h;

	if (!hash_lookup(ctx, true, NULL, &h))
		return;
	resp_w_int(ctx->w, h ? (long long)hash_len(h) : 0);
}

/* ---- HGETALL, HKEYS, HVALS ---- */

static void hash_getall_generic(struct cmd_ctx *ctx, bool fields, bool values)
{
	struct hash_iter it;
	struct hash_str f, v;
	struct hash *h;
	size_t n;

	if (!hash_lookup(ctx, true, NULL, &h))
		return;
	n = h ? hash_len(h) : 0;
	if (fields && values)
		resp_w_map(ctx->w, n);
	else
		resp_w_array(ctx->w, n);
	if (!h)
		return;
	hash_iter_init(&it, h);
	while (hash_iter_next(&it, &f, &v)) {
		if (fields)
			reply_str(ctx, &f);
		if (values)
			reply_str(ctx, &v);
	}
}

static void cmd_hgetall(struct cmd_ctx *ctx)
{
	hash_getall_generic(ctx, true, true);
}

static void cmd_hkeys(struct cmd_ctx *ctx)
{
	hash_getall_generic(ctx, true, false);
}

static void cmd_hvals(struct cmd_ctx *ctx)
{
	hash_getall_generic(ctx, false, true);
}

/* ---- HDEL ---- */

static void cmd_hdel(struct cmd_ctx *ctx)
{
	const struct cmd_arg *k = &ctx->argv[1];
	struct kv_db *db;
	struct hash *h;
	long long deleted = 0;
	bool removed = false;

	if (!hash_lookup(ctx, false, &db, &h))
		return;
	if (!h) {
		resp_w_int(ctx->w, 0);
		return;
	}
	for (int j = 2; j < ctx->argc; j++) {
		if (!hash_delete(h, ctx->argv[j].p, ctx->argv[j].len))
			continue;
		deleted++;
		if (hash_len(h) == 0) {
			kv_delete(db, k->p, k->len);	/* frees h */
			removed = true;
			break;
		}
	}
	if (deleted && !removed)
		kv_signal_modified(db, k->p, k->len);
	ctx->dirty += (uint64_t)deleted;
	resp_w_int(ctx->w, deleted);
}

/* ---- HINCRBY, HINCRBYFLOAT ---- */

static void cmd_hincrby(struct cmd_ctx *ctx)
{
	const struct cmd_arg *f = &ctx->argv[2];
	struct kv_db *db;
	struct hash *h;
	struct hash_str cur;
	long long incr, v = 0;
	char buf[KV_INT_BUF];
	int n;
	bool created;

	if (!cmd_arg_ll(ctx, 3, &incr))
		return;
	h = hash_for_write(ctx, &db, &created);
	if (!h)
		return;
	if (!created && hash_get(h, f->p, f->len, &cur) && !strutil_to_ll(cur.p, cur.len, &v)) {
		resp_w_error(ctx->w, ERR_NOT_INT);
		return;
	}
	if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
	    (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
		if (created)
			hash_destroy(h);
		resp_w_error(ctx->w, "increment or decrement would overflow");
		return;
	}
	v += incr;
	n = strutil_ll_to_str(buf, sizeof(buf), v);
	hash_set(h, f->p, f->len, buf, (size_t)n);
	hash_commit(ctx, db, h, created);
	ctx->dirty++;
	resp_w_int(ctx->w, v);
}

static void cmd_hincrbyfloat(struct cmd_ctx *ctx)
{
	const struct cmd_arg *f = &ctx->argv[2], *a = &ctx->argv[3];
	struct kv_db *db;
	struct hash *h;
	struct hash_str cur;
	long double incr, v = 0;
	char buf[HASH_LD_CHARS];
	int n;
	bool created;

	if (a->len >= HASH_LD_CHARS || !strutil_to_ld(a->p, a->len, &incr)) {
		cmd_reply_notfloat(ctx);
		return;
	}
	if (isnan(incr) || isinf(incr)) {
		resp_w_error(ctx->w, "value is NaN or Infinity");
		return;
	}
	h = hash_for_write(ctx, &db, &created);
	if (!h)
		return;
	if (!created && hash_get(h, f->p, f->len, &cur) &&
	    (cur.len >= HASH_LD_CHARS || !strutil_to_ld(cur.p, cur.len, &v))) {
		resp_w_error(ctx->w, ERR_NOT_FLOAT);
		return;
	}
	v += incr;
	if (isnan(v) || isinf(v)) {
		if (created)
			hash_destroy(h);
		resp_w_error(ctx->w, "increment would produce NaN or Infinity");
		return;
	}
	n = strutil_ld_to_str(buf, sizeof(buf), v);
	hash_set(h, f->p, f->len, buf, (size_t)n);
	hash_commit(ctx, db, h, created);
	ctx->dirty++;
	resp_w_bulk(ctx->w, buf, (size_t)n);
}

/* ---- HRANDFIELD ---- */

struct rand_reply {
	struct cmd_ctx *ctx;
	bool withvalues;	/* reply values too */
	bool pairs;		/* RESP3: each pick an array [field, value] */
};

static void rand_emit(const struct hash_str *f, const struct hash_str *v, void *arg)
{
	const struct rand_reply *r = arg;

	if (r->pairs)
		resp_w_array(r->ctx->w, 2);
	reply_str(r->ctx, f);
	if (r->withvalues)
		reply_str(r->ctx, v);
}

/* HRANDFIELD key count [WITHVALUES], count already parsed into l. */
static void hash_randfield_count(struct cmd_ctx *ctx, long long l, bool withvalues)
{
	struct rand_reply r = {
		.ctx = ctx,
		.withvalues = withvalues,
		.pairs = withvalues && ctx->w->proto == RESP3,
	};
	uint64_t count, size, nreply;
	struct hash *h;

	if (!hash_lookup(ctx, true, NULL, &h))
		return;
	if (!h || l == 0) {
		resp_w_array(ctx->w, 0);
		return;
	}
	size = hash_len(h);
	count = l < 0 ? (uint64_t)-l : (uint64_t)l;
	nreply = l < 0 ? count : MIN(count, size);
	resp_w_array(ctx->w, withvalues && !r.pairs ? nreply * 2 : nreply);
	if (l < 0 || count == 1) {
		/* independent picks (one pick is the same either way) */
		hash_random_pairs(h, count, rand_emit, &r);
	} else if (count >= size) {
		struct hash_iter it;
		struct hash_str f, v;

		hash_iter_init(&it, h);
		while (hash_iter_next(&it, &f, &v))
			rand_emit(&f, &v, &r);
	} else {
		hash_random_distinct(h, count, rand_emit, &r);
	}
}

static void cmd_hrandfield(struct cmd_ctx *ctx)
{
	struct rand_reply r = { .ctx = ctx };
	bool withvalues = false;
	struct hash *h;
	long long l;

	if (ctx->argc >= 3) {
		if (!cmd_arg_ll(ctx, 2, &l))
			return;
		if (l == LLONG_MIN) {
			resp_w_errorf(ctx->w, "value is out of range, value must between %lld and %lld",
				      -LLONG_MAX, LLONG_MAX);
			return;
		}
		if (ctx->argc > 4 || (ctx->argc == 4 && !cmd_arg_is(ctx, 3, "withvalues"))) {
			cmd_reply_syntax(ctx);
			return;
		}
		withvalues = ctx->argc == 4;
		if ((withvalues && (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2)) ||
		    l < -HASH_RANDOM_MAX) {
			resp_w_error(ctx->w, "value is out of range");
			return;
		}
		hash_randfield_count(ctx, l, withvalues);
		return;
	}
	if (!hash_lookup(ctx, true, NULL, &h))
		return;
	if (!h) {
		resp_w_null(ctx->w);
		return;
	}
	hash_random_pairs(h, 1, rand_emit, &r);
}

/* ---- HSCAN ---- */

/* A SCAN cursor as Redis reads it (strtoul over the C string): decimal,
 * optional sign, no leading space, nothing after it, no overflow. */
static bool parse_cursor(const struct cmd_arg *a, uint64_t *out)
{
	char *s = mem_strndup(a->p, a->len), *end;
	unsigned long long v;
	bool ok;

	errno = 0;
	v = strtoull(s, &end, 10);
	ok = !(s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')) && *end == '\0' && errno != ERANGE;
	mem_free(s);
	*out = v;
	return ok;
}

struct scan_acc {
	struct resp_w w;	/* writes the elements into buf */
	struct sbuf buf;	/* the elements, to go after the cursor */
	const char *pat;	/* MATCH pattern, or NULL for all */
	size_t plen;
	uint64_t n;		/* elements written (fields and values) */
};

static void scan_emit(const struct hash_str *f, const struct hash_str *v, void *arg)
{
	struct scan_acc *acc = arg;

	if (acc->pat && !strutil_glob_match(acc->pat, acc->plen, f->p, f->len, false))
		return;
	resp_w_bulk(&acc->w, f->p, f->len);
	resp_w_bulk(&acc->w, v->p, v->len);
	acc->n += 2;
}

/* HSCAN key cursor [MATCH pattern] [COUNT count] */
static void cmd_hscan(struct cmd_ctx *ctx)
{
	struct scan_acc acc = { .w = { .b = &acc.buf, .proto = ctx->w->proto } };
	uint64_t cursor, maxiter;
	long long count = 10;
	char cbuf[24];
	struct hash *h;
	int n;

	if (!parse_cursor(&ctx->argv[2], &cursor)) {
		resp_w_error(ctx->w, "invalid cursor");
		return;
	}
	if (!hash_lookup(ctx, true, NULL, &h))
		return;
	if (!h) {
		resp_w_array(ctx->w, 2);
		resp_w_bulk(ctx->w, "0", 1);
		resp_w_array(ctx->w, 0);
		return;
	}
	for (int j = 3; j < ctx->argc; j += 2) {
		bool has_arg = j + 1 < ctx->argc;

		if (has_arg && cmd_arg_is(ctx, j, "count")) {
			if (!cmd_arg_ll(ctx, j + 1, &count))
				return;
			if (count < 1) {
				cmd_reply_syntax(ctx);
				return;
			}
		} else if (has_arg && cmd_arg_is(ctx, j, "match")) {
			const struct cmd_arg *p = &ctx->argv[j + 1];

			/* "*" matches everything: the same as no pattern */
			acc.pat = p->len == 1 && p->p[0] == '*' ? NULL : p->p;
			acc.plen = p->len;
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	/* Redis counts fields and values, and stops after ten times COUNT
	 * buckets in a sparse table. */
	count = count > LLONG_MAX / 20 ? LLONG_MAX / 20 : count;
	count *= 2;
	maxiter = (uint64_t)count * 10;
	do {
		cursor = hash_scan(h, cursor, scan_emit, &acc);
	} while (cursor && maxiter-- && acc.n < (uint64_t)count);

	n = snprintf(cbuf, sizeof(cbuf), "%llu", (unsigned long long)cursor);
	resp_w_array(ctx->w, 2);
	resp_w_bulk(ctx->w, cbuf, (size_t)n);
	resp_w_array(ctx->w, acc.n);
	resp_w_raw(ctx->w, acc.buf.p, acc.buf.len);
	sbuf_free(&acc.buf);
}

/* ---- the table ---- */

#define RD_FAST (ACL(ACL_READ) | ACL(ACL_HASH) | ACL(ACL_FAST))
#define RD_SLOW (ACL(ACL_READ) | ACL(ACL_HASH) | ACL(ACL_SLOW))
#define WR_FAST (ACL(ACL_WRITE) | ACL(ACL_HASH) | ACL(ACL_FAST))

#define HASH_CMD(nm, f, ar, fl, acl_, since_, sum, cx)					\
	{ .name = (nm), .fn = (f), .arity = (ar), .flags = (fl), .first_key = 1,	\
	  .last_key = 1, .key_step = 1, .acl = (acl_), .group = "hash",		\
	  .since = (since_), .summary = (sum), .complexity = (cx) }

const struct cmd_def cmd_hash_defs[] = {
	HASH_CMD("hset", cmd_hset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, WR_FAST, "2.0.0",
		 "Sets one or more fields of a hash, creating the key if needed; returns how "
		 "many fields are new.",
		 "O(1) for each field/value pair added, so O(N) to add N pairs."),
	HASH_CMD("hsetnx", cmd_hsetnx, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, WR_FAST, "2.0.0",
		 "Sets a field of a hash only when the field does not exist yet.", "O(1)"),
	HASH_CMD("hmset", cmd_hmset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, WR_FAST, "2.0.0",
		 "Sets one or more fields of a hash (the older form of HSET, replying OK).",
		 "O(N), N being the number of fields set."),
	HASH_CMD("hget", cmd_hget, 3, CMD_READONLY | CMD_FAST, RD_FAST, "2.0.0",
		 "Returns the value of one field of a hash.", "O(1)"),
	HASH_CMD("hmget", cmd_hmget, -3, CMD_READONLY | CMD_FAST, RD_FAST, "2.0.0",
		 "Returns the values of several fields of a hash, null for each missing one.",
		 "O(N), N being the number of fields asked for."),
	HASH_CMD("hgetall", cmd_hgetall, 2, CMD_READONLY, RD_SLOW, "2.0.0",
		 "Returns every field of a hash with its value.",
		 "O(N), N being the size of the hash."),
	HASH_CMD("hkeys", cmd_hkeys, 2, CMD_READONLY, RD_SLOW, "2.0.0",
		 "Returns every field name of a hash.", "O(N), N being the size of the hash."),
	HASH_CMD("hvals", cmd_hvals, 2, CMD_READONLY, RD_SLOW, "2.0.0",
		 "Returns every value of a hash.", "O(N), N being the size of the hash."),
	HASH_CMD("hdel", cmd_hdel, -3, CMD_WRITE | CMD_FAST, WR_FAST, "2.0.0",
		 "Removes fields from a hash, and the key with its last field; returns how "
		 "many were removed.", "O(N), N being the number of fields removed."),
	HASH_CMD("hlen", cmd_hlen, 2, CMD_READONLY | CMD_FAST, RD_FAST, "2.0.0",
		 "Returns the number of fields of a hash.", "O(1)"),
	HASH_CMD("hexists", cmd_hexists, 3, CMD_READONLY | CMD_FAST, RD_FAST, "2.0.0",
		 "Tells whether a field exists in a hash.", "O(1)"),
	HASH_CMD("hstrlen", cmd_hstrlen, 3, CMD_READONLY | CMD_FAST, RD_FAST, "3.2.0",
		 "Returns the length in bytes of the value of a field of a hash.", "O(1)"),
	HASH_CMD("hincrby", cmd_hincrby, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, WR_FAST, "2.0.0",
		 "Adds an integer to the integer value of a field of a hash, creating it at 0 "
		 "if needed.", "O(1)"),
	HASH_CMD("hincrbyfloat", cmd_hincrbyfloat, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, WR_FAST,
		 "2.6.0", "Adds a floating point number to the value of a field of a hash, "
		 "creating it at 0 if needed.", "O(1)"),
	HASH_CMD("hrandfield", cmd_hrandfield, -2, CMD_READONLY, RD_SLOW, "6.2.0",
		 "Returns one or more random fields of a hash, optionally with their values.",
		 "O(N), N being the number of fields returned."),
	HASH_CMD("hscan", cmd_hscan, -3, CMD_READONLY, RD_SLOW, "2.8.0",
		 "Walks the fields and values of a hash a few at a time with a cursor.",
		 "O(1) per call; O(N) for a full walk, N being the size of the hash."),
	{ .name = NULL },
};
