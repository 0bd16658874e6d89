/*
 * cmd_string.c - the string command family: GET, SET and its relatives,
 * counters, ranges, the multi-key MGET/MSET/MSETNX, and LCS.
 *
 * Every handler follows Redis 7.0's observable behaviour: the order in which
 * arguments are validated (and so which error a bad call gets), the exact
 * error words, the reply shapes, which lookups count as keyspace hits or
 * misses, which writes keep a TTL, and how many changes count as dirty.
 * Where Redis validates lazily (GETEX checks its expire only once the key is
 * known to exist, LCS parses options only after the type check), so do we.
 *
 * Databases come only from cmd_db(ctx, key), per key: a multi-key command
 * may run on a coordinator with its keys spread over parked shards, so two
 * keys of one call may live in two different struct kv_db. Nothing here uses
 * ctx->cl, which is NULL when the command runs on a shard other than the
 * client's.
 *
 * Reading a value's bytes goes through a few helpers and nowhere else:
 * str_reply_value() for commands that return the whole value (GET and its
 * kin, MGET), which streams a large value from the blob tier as a hole in the
 * reply (blob_reply_range), GETRANGE which streams only its range, and
 * str_value() / str_value_load() for commands that compute on the bytes
 * (APPEND, SETRANGE, LCS): a large value on disk is read into memory first,
 * the command waiting for it like a blocked command, and run again. Values
 * are stored through str_store(), which puts blob-threshold bytes and more
 * on the blob tier; a SET whose value was uploaded (blob_ctx_put) installs
 * the upload instead. Commands that need only the length (STRLEN, the size
 * checks of APPEND and SETRANGE) use kv_str_len(), which never touches the
 * disk.
 *
 * Expire times are carried as absolute unix milliseconds: relative EX/PX
 * are added to kv_now_ms (the clock frozen for this command), with the same
 * overflow checks as Redis ("invalid expire time in 'set' command"). A SET
 * with an absolute time already past stores the key with that TTL, and it
 * is gone at the next access, exactly as in Redis 7.0; GETEX with a past
 * EXAT/PXAT deletes the key at once, also as Redis does.
 */
#include "cmd.h"
#include "blob.h"
#include "cfg.h"
#include "kv.h"
#include "mem.h"
#include "resp_write.h"
#include "strutil.h"
#include "util.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Longest text Redis's string2ld accepts is one byte less than this; a
 * longer value is "not a valid float" without being read. */
#define STR_LD_MAX_CHARS 5120

/* ---- value access: the seam the blob tier extends ---- */

/* A readable view of a string value. */
struct str_view {
	const char *p;		/* the bytes; valid until the entry changes */
	size_t len;		/* their number */
	char tmp[KV_INT_BUF];	/* holds the decimal text of an INT value */
};

static unsigned lk_flags(const struct cmd_ctx *ctx, bool read)
{
	return (read ? KV_LK_READ : 0) | (ctx->flags & CTX_NO_TOUCH ? KV_LK_NOTOUCH : 0);
}

/* The live entry of argv[i] in its owning db (stored in *dbp). read says
 * whether the lookup counts as a keyspace hit or miss, as Redis's
 * lookupKeyRead does and lookupKeyWrite does not. */
static struct kv_entry *str_lookup(struct cmd_ctx *ctx, int i, bool read, struct kv_db **dbp)
{
	const struct cmd_arg *k = &ctx->argv[i];
	struct kv_db *db = cmd_db(ctx, k->p, k->len);

	if (dbp)
		*dbp = db;
	return kv_lookup(db, k->p, k->len, lk_flags(ctx, read));
}

/* Fills v with the bytes of the string entry e and returns true, or returns
 * false for a value that is not in memory (a blob). */
static bool str_value(const struct kv_entry *e, struct str_view *v)
{
	if (e->enc == KV_ENC_BLOB) {
		v->p = blob_mem(e, &v->len);
		return v->p != NULL;
	}
	v->p = kv_str_view(e, &v->len, v->tmp);
	return true;
}

/* Like str_value() for a command that computes on the bytes: a large value
 * not in memory is read first (the command is run again once it is), or
 * refused where the command cannot wait. False means the reply is done. */
static bool str_value_load(struct cmd_ctx *ctx, struct kv_db *db, struct kv_entry *e,
			   struct str_view *v)
{
	if (str_value(e, v))
		return true;
	if (blob_need_bytes(ctx, db, e) && str_value(e, v))
		return true;
	return false;
}

/* Stores a string value: on the blob tier from blob-threshold bytes up. */
static struct kv_entry *str_store(struct kv_db *db, const char *key, size_t klen, const char *p,
				  size_t n, unsigned flags)
{
	if (blob_wants(n))
		return blob_set_mem(db, key, klen, p, n, flags);
	return kv_set_str(db, key, klen, p, n, flags);
}

/* Replies e's whole value as a bulk string (a large value on disk as a hole
 * in the reply, streamed by the client's shard). */
static void str_reply_value(struct cmd_ctx *ctx, const struct kv_entry *e)
{
	struct str_view v;

	if (e->enc == KV_ENC_BLOB) {
		/* Streamed from disk unless its bytes are in memory. */
		blob_reply_range(ctx->w, e, 0, kv_str_len(e));
		return;
	}
	str_value(e, &v);
	resp_w_bulk(ctx->w, v.p, v.len);
}

/* Redis's getGenericCommand: replies the value of argv[1] (null if absent)
 * and returns true, or replies an error (WRONGTYPE) and returns false. */
static bool str_get_reply(struct cmd_ctx *ctx)
{
	struct kv_entry *e = str_lookup(ctx, 1, true, NULL);

	if (!e) {
		resp_w_null(ctx->w);
		return true;
	}
	if (e->type != KV_STRING) {
		cmd_reply_wrongtype(ctx);
		return false;
	}
	str_reply_value(ctx, e);
	return true;
}

/* True if a string of size + append bytes would be within
 * proto-max-bulk-len; otherwise replies the error and returns false. */
static bool str_check_length(struct cmd_ctx *ctx, unsigned long long size,
			     unsigned long long append)
{
	unsigned long long max = (unsigned long long)cfg.proto_max_bulk_len;

	if (size > max || append > max - size) {
		resp_w_error(ctx->w, "string exceeds maximum allowed size (proto-max-bulk-len)");
		return false;
	}
	return true;
}

/* ---- SET and friends: options and expire times ---- */

#define SETF_NX		0x01
#define SETF_XX		0x02
#define SETF_GET	0x04
#define SETF_KEEPTTL	0x08
#define SETF_PERSIST	0x10
#define SETF_EX		0x20
#define SETF_PX		0x40
#define SETF_EXAT	0x80
#define SETF_PXAT	0x100
#define SETF_ANY_EXPIRE	(SETF_EX | SETF_PX | SETF_EXAT | SETF_PXAT)

/* The options after the value (SET) or the key (GETEX), from argv[start].
 * SET takes NX XX GET KEEPTTL EX PX EXAT PXAT; GETEX takes EX PX EXAT PXAT
 * PERSIST. An option that conflicts with one already given is a syntax
 * error, as in Redis; the same expire option twice is allowed (the last
 * wins). On success *expire_arg is the index of the expire argument or 0.
 * On error replies "syntax error" and returns false. */
static bool str_parse_opts(struct cmd_ctx *ctx, int start, bool is_set,
			   unsigned *flags, int *expire_arg)
{
	unsigned f = 0;

	*expire_arg = 0;
	for (int j = start; j < ctx->argc; j++) {
		bool has_next = j + 1 < ctx->argc;
		unsigned exp = 0;

		if (is_set && cmd_arg_is(ctx, j, "nx") && !(f & SETF_XX)) {
			f |= SETF_NX;
		} else if (is_set && cmd_arg_is(ctx, j, "xx") && !(f & SETF_NX)) {
			f |= SETF_XX;
		} else if (is_set && cmd_arg_is(ctx, j, "get")) {
			f |= SETF_GET;
		} else if (is_set && cmd_arg_is(ctx, j, "keepttl") &&
			   !(f & (SETF_PERSIST | SETF_ANY_EXPIRE))) {
			f |= SETF_KEEPTTL;
		} else if (!is_set && cmd_arg_is(ctx, j, "persist") &&
			   !(f & (SETF_KEEPTTL | SETF_ANY_EXPIRE))) {
			f |= SETF_PERSIST;
		} else {
			if (cmd_arg_is(ctx, j, "ex"))
				exp = SETF_EX;
			else if (cmd_arg_is(ctx, j, "px"))
				exp = SETF_PX;
			else if (cmd_arg_is(ctx, j, "exat"))
				exp = SETF_EXAT;
			else if (cmd_arg_is(ctx, j, "pxat"))
				exp = SETF_PXAT;
			/* An expire option excludes KEEPTTL, PERSIST and every
			 * other expire option, but not itself. */
			if (!exp || !has_next ||
			    (f & (SETF_KEEPTTL | SETF_PERSIST | (SETF_ANY_EXPIRE & ~exp)))) {
				cmd_reply_syntax(ctx);
				return false;
			}
			f |= exp;
			*expire_arg = ++j;
		}
	}
	*flags = f;
	return true;
}

static void str_reply_bad_expire(struct cmd_ctx *ctx)
{
	resp_w_errorf(ctx->w, "invalid expire time in '%s' command", ctx->cmd->name);
}

/* Converts the expire argument argv[i], in seconds or milliseconds, relative
 * (EX, PX) or absolute (EXAT, PXAT), into absolute unix ms in *when. Rejects
 * as Redis does: not an integer, <= 0, or a result that overflows. */
static bool str_parse_expire(struct cmd_ctx *ctx, int i, bool seconds, bool relative,
			     int64_t *when)
{
	long long v;

	if (!cmd_arg_ll(ctx, i, &v))
		return false;
	if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
		str_reply_bad_expire(ctx);
		return false;
	}
	if (seconds)
		v *= 1000;
	if (relative) {
		if (kv_now_ms > 0 && v > LLONG_MAX - kv_now_ms) {
			str_reply_bad_expire(ctx);
			return false;
		}
		v += kv_now_ms;
	}
	if (v <= 0) {
		str_reply_bad_expire(ctx);
		return false;
	}
	*when = v;
	return true;
}

static bool str_flags_expire(struct cmd_ctx *ctx, unsigned f, int arg, int64_t *when)
{
	return str_parse_expire(ctx, arg, f & (SETF_EX | SETF_EXAT), f & (SETF_EX | SETF_PX), when);
}

/*
 * The body of SET, SETNX, SETEX and PSETEX (Redis's setGenericCommand):
 * key argv[1], value argv[vi], options in f, expire argument argv[ea] (0 for
 * none). The expire is validated first, then GET replies the old value (or
 * fails on a wrong type, setting nothing), then NX/XX decide. Without GET
 * the reply is +OK or null, or with int_replies (SETNX) :1 or :0.
 */
static void str_set_generic(struct cmd_ctx *ctx, unsigned f, int vi, int ea, bool int_replies)
{
	const struct cmd_arg *key = &ctx->argv[1], *val = &ctx->argv[vi];
	struct kv_db *db = cmd_db(ctx, key->p, key->len);
	struct blob_put *put = blob_ctx_put(ctx);
	unsigned kf = f & SETF_KEEPTTL ? KV_SET_KEEPTTL : 0;
	struct kv_entry *e;
	int64_t when = 0;
	bool found;

	if (ea && !str_flags_expire(ctx, f, ea, &when))
		return;
	if (put && blob_put_error(put)) {
		/* The value could not be written (disk full, I/O error). */
		resp_w_error(ctx->w, blob_put_error(put));
		return;
	}
	if ((f & SETF_GET) && !str_get_reply(ctx))
		return;
	found = kv_lookup(db, key->p, key->len, lk_flags(ctx, false)) != NULL;
	if (((f & SETF_NX) && found) || ((f & SETF_XX) && !found)) {
		if (f & SETF_GET)
			return;
		if (int_replies)
			resp_w_int(ctx->w, 0);
		else
			resp_w_null(ctx->w);
		return;
	}
	if (put) {
		blob_put_install(ctx, db, key->p, key->len, kf, ea ? when : -1);
	} else {
		e = str_store(db, key->p, key->len, val->p, val->len, kf);
		if (ea)
			kv_set_expire(db, e, when);
	}
	ctx->dirty++;
	if (f & SETF_GET)
		return;
	if (int_replies)
		resp_w_int(ctx->w, 1);
	else
		resp_w_ok(ctx->w);
}

/* ---- handlers ---- */

static void cmd_get(struct cmd_ctx *ctx)
{
	str_get_reply(ctx);
}

static void cmd_set(struct cmd_ctx *ctx)
{
	unsigned f;
	int ea;

	if (!str_parse_opts(ctx, 3, true, &f, &ea))
		return;
	str_set_generic(ctx, f, 2, ea, false);
}

static void cmd_setnx(struct cmd_ctx *ctx)
{
	str_set_generic(ctx, SETF_NX, 2, 0, true);
}

static void cmd_setex(struct cmd_ctx *ctx)
{
	str_set_generic(ctx, SETF_EX, 3, 2, false);
}

static void cmd_psetex(struct cmd_ctx *ctx)
{
	str_set_generic(ctx, SETF_PX, 3, 2, false);
}

static void cmd_getset(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1], *val = &ctx->argv[2];
	struct kv_db *db = cmd_db(ctx, key->p, key->len);
	struct blob_put *put = blob_ctx_put(ctx);

	if (put && blob_put_error(put)) {
		resp_w_error(ctx->w, blob_put_error(put));
		return;
	}
	if (!str_get_reply(ctx))
		return;
	if (put)
		blob_put_install(ctx, db, key->p, key->len, 0, -1);
	else
		str_store(db, key->p, key->len, val->p, val->len, 0);
	ctx->dirty++;
}

static void cmd_getdel(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1];

	if (!str_get_reply(ctx))
		return;
	if (kv_delete(cmd_db(ctx, key->p, key->len), key->p, key->len))
		ctx->dirty++;
}

static void cmd_getex(struct cmd_ctx *ctx)
{
	struct kv_db *db;
	struct kv_entry *e;
	int64_t when = 0;
	unsigned f;
	int ea;

	if (!str_parse_opts(ctx, 2, false, &f, &ea))
		return;
	e = str_lookup(ctx, 1, true, &db);
	if (!e) {
		resp_w_null(ctx->w);
		return;
	}
	if (e->type != KV_STRING) {
		cmd_reply_wrongtype(ctx);
		return;
	}
	if (ea && !str_flags_expire(ctx, f, ea, &when))
		return;
	str_reply_value(ctx, e);
	if ((f & (SETF_EXAT | SETF_PXAT)) && when <= kv_now_ms) {
		kv_delete_entry(db, e);
		ctx->dirty++;
	} else if (ea) {
		kv_set_expire(db, e, when);
		ctx->dirty++;
	} else if ((f & SETF_PERSIST) && e->expire_ms) {
		kv_set_expire(db, e, 0);
		ctx->dirty++;
	}
}

static void cmd_mget(struct cmd_ctx *ctx)
{
	resp_w_array(ctx->w, (size_t)ctx->argc - 1);
	for (int j = 1; j < ctx->argc; j++) {
		struct kv_entry *e = str_lookup(ctx, j, true, NULL);

		if (!e || e->type != KV_STRING)
			resp_w_null(ctx->w);
		else
			str_reply_value(ctx, e);
	}
}

/* MSET and MSETNX: with nx, nothing is set if any key exists. */
static void str_mset_generic(struct cmd_ctx *ctx, bool nx)
{
	if (ctx->argc % 2 == 0) {
		cmd_reply_arity(ctx);
		return;
	}
	if (nx) {
		for (int j = 1; j < ctx->argc; j += 2) {
			if (str_lookup(ctx, j, false, NULL)) {
				resp_w_int(ctx->w, 0);
				return;
			}
		}
	}
	for (int j = 1; j < ctx->argc; j += 2) {
		const struct cmd_arg *k = &ctx->argv[j], *v = &ctx->argv[j + 1];

		str_store(cmd_db(ctx, k->p, k->len), k->p, k->len, v->p, v->len, 0);
	}
	ctx->dirty += (uint64_t)(ctx->argc - 1) / 2;
	if (nx)
		resp_w_int(ctx->w, 1);
	else
		resp_w_ok(ctx->w);
}

static void cmd_mset(struct cmd_ctx *ctx)
{
	str_mset_generic(ctx, false);
}

static void cmd_msetnx(struct cmd_ctx *ctx)
{
	str_mset_generic(ctx, true);
}

static void cmd_append(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1], *add = &ctx->argv[2];
	struct kv_db *db;
	struct kv_entry *e = str_lookup(ctx, 1, false, &db);
	size_t total;

	if (!e) {
		str_store(db, key->p, key->len, add->p, add->len, 0);
		total = add->len;
	} else {
		size_t olen;
		struct kv_raw *r;

		if (e->type != KV_STRING) {
			cmd_reply_wrongtype(ctx);
			return;
		}
		olen = kv_str_len(e);
		if (!str_check_length(ctx, olen, add->len))
			return;
		total = olen + add->len;
		if (e->enc == KV_ENC_BLOB) {
			struct str_view v;
			char *nv;

			if (!str_value_load(ctx, db, e, &v))
				return;
			nv = mem_alloc(total);
			memcpy(nv, v.p, olen);
			memcpy(nv + olen, add->p, add->len);
			blob_set_mem(db, key->p, key->len, nv, total, KV_SET_KEEPTTL);
			mem_free(nv);
		} else {
			r = kv_str_make_raw(e, total);
			memcpy(r->data + olen, add->p, add->len);
			kv_signal_modified(db, key->p, key->len);
			if (blob_wants(total))	/* grew past the threshold */
				blob_set_mem(db, key->p, key->len, r->data, total, KV_SET_KEEPTTL);
		}
	}
	ctx->dirty++;
	resp_w_int(ctx->w, (long long)total);
}

static void cmd_strlen(struct cmd_ctx *ctx)
{
	struct kv_entry *e = str_lookup(ctx, 1, true, NULL);

	if (!e) {
		resp_w_int(ctx->w, 0);
		return;
	}
	if (e->type != KV_STRING) {
		cmd_reply_wrongtype(ctx);
		return;
	}
	resp_w_int(ctx->w, (long long)kv_str_len(e));
}

/* GETRANGE and SUBSTR: inclusive offsets, negative ones from the end,
 * clamped to the string; an empty bulk string when nothing is selected. */
static void cmd_getrange(struct cmd_ctx *ctx)
{
	long long start, end, len;
	struct kv_entry *e;
	struct str_view v = { 0 };

	if (!cmd_arg_ll(ctx, 2, &start) || !cmd_arg_ll(ctx, 3, &end))
		return;
	e = str_lookup(ctx, 1, true, NULL);
	if (!e) {
		resp_w_bulk(ctx->w, "", 0);
		return;
	}
	if (e->type != KV_STRING) {
		cmd_reply_wrongtype(ctx);
		return;
	}
	if (e->enc == KV_ENC_BLOB)
		v.len = kv_str_len(e);	/* read below, only the range */
	else
		str_value(e, &v);
	len = (long long)v.len;
	/* Both from the end and backwards: empty, even where clamping both
	 * to 0 would select the first byte. */
	if (start < 0 && end < 0 && start > end) {
		resp_w_bulk(ctx->w, "", 0);
		return;
	}
	if (start < 0)
		start = start < -len ? 0 : len + start;
	if (end < 0)
		end = end < -len ? 0 : len + end;
	if (end >= len)
		end = len - 1;
	if (len == 0 || start > end) {
		resp_w_bulk(ctx->w, "", 0);
		return;
	}
	if (e->enc == KV_ENC_BLOB)
		blob_reply_range(ctx->w, e, (uint64_t)start, (uint64_t)(end - start + 1));
	else
		resp_w_bulk(ctx->w, v.p + start, (size_t)(end - start + 1));
}

static void cmd_setrange(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1], *val = &ctx->argv[3];
	struct kv_db *db;
	struct kv_entry *e;
	struct kv_raw *r;
	long long off;
	size_t olen;

	if (!cmd_arg_ll(ctx, 2, &off))
		return;
	if (off < 0) {
		resp_w_error(ctx->w, "offset is out of range");
		return;
	}
	e = str_lookup(ctx, 1, false, &db);
	if (!e) {
		/* Nothing to write on a missing key creates nothing. */
		if (val->len == 0) {
			resp_w_int(ctx->w, 0);
			return;
		}
		if (!str_check_length(ctx, (unsigned long long)off, val->len))
			return;
		e = kv_set_str(db, key->p, key->len, "", 0, 0);
		olen = 0;
	} else {
		if (e->type != KV_STRING) {
			cmd_reply_wrongtype(ctx);
			return;
		}
		olen = kv_str_len(e);
		if (val->len == 0) {
			resp_w_int(ctx->w, (long long)olen);
			return;
		}
		if (!str_check_length(ctx, (unsigned long long)off, val->len))
			return;
		if (e->enc == KV_ENC_BLOB) {
			struct str_view v;
			size_t nlen = MAX(olen, (size_t)off + val->len);
			char *nv;

			if (!str_value_load(ctx, db, e, &v))
				return;
			nv = mem_calloc(1, nlen);
			memcpy(nv, v.p, olen);
			memcpy(nv + off, val->p, val->len);
			blob_set_mem(db, key->p, key->len, nv, nlen, KV_SET_KEEPTTL);
			mem_free(nv);
			ctx->dirty++;
			resp_w_int(ctx->w, (long long)nlen);
			return;
		}
	}
	/* Grows with zeros up to the end of the write if needed. */
	r = kv_str_make_raw(e, (size_t)off + val->len);
	memcpy(r->data + off, val->p, val->len);
	kv_signal_modified(db, key->p, key->len);
	ctx->dirty++;
	resp_w_int(ctx->w, (long long)r->len);
	if (blob_wants(r->len))	/* grew past the threshold */
		blob_set_mem(db, key->p, key->len, r->data, r->len, KV_SET_KEEPTTL);
}

/* INCR, DECR, INCRBY, DECRBY: adds by to the integer at argv[1] (0 if
 * absent), keeping its TTL, and replies the result. */
static void str_incr_by(struct cmd_ctx *ctx, long long by)
{
	const struct cmd_arg *key = &ctx->argv[1];
	struct kv_db *db;
	struct kv_entry *e = str_lookup(ctx, 1, false, &db);
	long long v = 0;

	if (e) {
		if (e->type != KV_STRING) {
			cmd_reply_wrongtype(ctx);
			return;
		}
		/* A blob is far longer than any integer's text. */
		if (e->enc == KV_ENC_BLOB || !kv_str_get_ll(e, &v)) {
			cmd_reply_notint(ctx);
			return;
		}
	}
	if ((by < 0 && v < 0 && by < LLONG_MIN - v) ||
	    (by > 0 && v > 0 && by > LLONG_MAX - v)) {
		resp_w_error(ctx->w, "increment or decrement would overflow");
		return;
	}
	v += by;
	kv_set_int(db, key->p, key->len, v, KV_SET_KEEPTTL);
	ctx->dirty++;
	resp_w_int(ctx->w, v);
}

static void cmd_incr(struct cmd_ctx *ctx)
{
	str_incr_by(ctx, 1);
}

static void cmd_decr(struct cmd_ctx *ctx)
{
	str_incr_by(ctx, -1);
}

static void cmd_incrby(struct cmd_ctx *ctx)
{
	long long by;

	if (cmd_arg_ll(ctx, 2, &by))
		str_incr_by(ctx, by);
}

static void cmd_decrby(struct cmd_ctx *ctx)
{
	long long by;

	if (!cmd_arg_ll(ctx, 2, &by))
		return;
	if (by == LLONG_MIN) {
		resp_w_error(ctx->w, "decrement would overflow");
		return;
	}
	str_incr_by(ctx, -by);
}

static void cmd_incrbyfloat(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1], *arg = &ctx->argv[2];
	struct kv_db *db;
	struct kv_entry *e = str_lookup(ctx, 1, false, &db);
	long double v = 0, by;
	char buf[STR_LD_MAX_CHARS];
	int n;

	if (e) {
		struct str_view sv;

		if (e->type != KV_STRING) {
			cmd_reply_wrongtype(ctx);
			return;
		}
		if (e->enc == KV_ENC_INT) {
			v = (long double)e->v.i;
		} else if (!str_value(e, &sv) || sv.len >= STR_LD_MAX_CHARS ||
			   !strutil_to_ld(sv.p, sv.len, &v)) {
			/* A blob is too long to be a number: no need to read it. */
			cmd_reply_notfloat(ctx);
			return;
		}
	}
	if (arg->len >= STR_LD_MAX_CHARS || !strutil_to_ld(arg->p, arg->len, &by)) {
		cmd_reply_notfloat(ctx);
		return;
	}
	v += by;
	if (isnan(v) || isinf(v)) {
		resp_w_error(ctx->w, "increment would produce NaN or Infinity");
		return;
	}
	n = strutil_ld_to_str(buf, sizeof(buf), v);
	kv_set_str(db, key->p, key->len, buf, (size_t)n, KV_SET_KEEPTTL | KV_SET_NOINT);
	ctx->dirty++;
	resp_w_bulk(ctx->w, buf, (size_t)n);
}

/* ---- LCS ---- */

/* One run of matching bytes found while walking back through the table:
 * a[a0..a1] equals b[b0..b1]. */
struct lcs_run {
	uint32_t a0, a1, b0, b1;
	bool open;
};

static void lcs_emit(struct cmd_ctx *ctx, struct lcs_run *run, long long minlen,
		     bool withlen, size_t *nruns)
{
	uint32_t mlen = run->a1 - run->a0 + 1;

	run->open = false;
	if (minlen && (long long)mlen < minlen)
		return;
	resp_w_array(ctx->w, withlen ? 3 : 2);
	resp_w_array(ctx->w, 2);
	resp_w_int(ctx->w, run->a0);
	resp_w_int(ctx->w, run->a1);
	resp_w_array(ctx->w, 2);
	resp_w_int(ctx->w, run->b0);
	resp_w_int(ctx->w, run->b1);
	if (withlen)
		resp_w_int(ctx->w, mlen);
	(*nruns)++;
}

/* The length of the LCS of a and b in O(min) memory, for LEN alone. */
static uint32_t lcs_length(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
	uint32_t *prev = mem_calloc((size_t)blen + 1, sizeof(uint32_t));
	uint32_t *cur = mem_calloc((size_t)blen + 1, sizeof(uint32_t));
	uint32_t res;

	for (uint32_t i = 1; i <= alen; i++) {
		uint32_t *t;

		for (uint32_t j = 1; j <= blen; j++) {
			if (a[i - 1] == b[j - 1])
				cur[j] = prev[j - 1] + 1;
			else
				cur[j] = MAX(prev[j], cur[j - 1]);
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	res = prev[blen];
	mem_free(prev);
	mem_free(cur);
	return res;
}

/*
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]
 *
 * The classic dynamic programme: t[i][j] is the LCS length of the first i
 * bytes of a and the first j bytes of b. Walking back from t[alen][blen]
 * (on a tie, stepping back in b first, as Redis does, so the same string and
 * ranges come out) yields the subsequence from its end, and each diagonal
 * run of matches is one range of the IDX reply, latest first. The table is
 * (alen+1)*(blen+1) 32-bit cells, refused over proto-max-bulk-len as Redis
 * refuses it.
 */
static void cmd_lcs(struct cmd_ctx *ctx)
{
	struct kv_entry *ea = str_lookup(ctx, 1, true, NULL);
	struct kv_entry *eb = str_lookup(ctx, 2, true, NULL);
	struct str_view va = { .p = "", .len = 0 }, vb = { .p = "", .len = 0 };
	bool getlen = false, getidx = false, withlen = false;
	long long minlen = 0;
	unsigned long long cells, bytes;
	uint32_t alen, blen, *t, llen, i, j, pos;
	char *result = NULL;
	struct lcs_run run = { 0 };
	size_t nruns = 0, off = 0;

	if ((ea && ea->type != KV_STRING) || (eb && eb->type != KV_STRING)) {
		resp_w_error(ctx->w, "The specified keys must contain string values");
		return;
	}
	/* ea may equal eb (the same key twice): the views stay valid, nothing
	 * below changes either entry. */
	if ((ea && !str_value_load(ctx, cmd_db(ctx, ctx->argv[1].p, ctx->argv[1].len), ea, &va)) ||
	    (eb && !str_value_load(ctx, cmd_db(ctx, ctx->argv[2].p, ctx->argv[2].len), eb, &vb)))
		return;
	for (int k = 3; k < ctx->argc; k++) {
		if (cmd_arg_is(ctx, k, "idx")) {
			getidx = true;
		} else if (cmd_arg_is(ctx, k, "len")) {
			getlen = true;
		} else if (cmd_arg_is(ctx, k, "withmatchlen")) {
			withlen = true;
		} else if (cmd_arg_is(ctx, k, "minmatchlen") && k + 1 < ctx->argc) {
			if (!cmd_arg_ll(ctx, k + 1, &minlen))
				return;
			if (minlen < 0)
				minlen = 0;
			k++;
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	if (getidx && getlen) {
		resp_w_error(ctx->w, "If you want both the length and indexes, please just use IDX.");
		return;
	}
	if (va.len >= UINT32_MAX - 1 || vb.len >= UINT32_MAX - 1) {
		resp_w_error(ctx->w, "String too long for LCS");
		return;
	}
	alen = (uint32_t)va.len;
	blen = (uint32_t)vb.len;
	cells = ((unsigned long long)alen + 1) * ((unsigned long long)blen + 1);
	bytes = cells * sizeof(uint32_t);
	if (bytes / sizeof(uint32_t) != cells || bytes >= SIZE_MAX) {
		resp_w_error(ctx->w, "Insufficient memory, failed allocating transient memory for LCS");
		return;
	}
	if (bytes > (unsigned long long)cfg.proto_max_bulk_len) {
		resp_w_error(ctx->w, "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
		return;
	}
	if (getlen) {
		resp_w_int(ctx->w, lcs_length(va.p, alen, vb.p, blen));
		return;
	}

#define T(x, y) t[(size_t)(x) * ((size_t)blen + 1) + (y)]
	t = mem_alloc((size_t)bytes);
	for (j = 0; j <= blen; j++)
		T(0, j) = 0;
	for (i = 1; i <= alen; i++) {
		T(i, 0) = 0;
		for (j = 1; j <= blen; j++) {
			if (va.p[i - 1] == vb.p[j - 1])
				T(i, j) = T(i - 1, j - 1) + 1;
			else
				T(i, j) = MAX(T(i - 1, j), T(i, j - 1));
		}
	}
	llen = T(alen, blen);

	if (getidx) {
		resp_w_map(ctx->w, 2);
		resp_w_bulk_cstr(ctx->w, "matches");
		off = resp_w_defer(ctx->w);
	} else {
		result = mem_alloc(llen ? llen : 1);
	}
	i = alen;
	j = blen;
	pos = llen;
	while (i > 0 && j > 0) {
		if (va.p[i - 1] == vb.p[j - 1]) {
			i--;
			j--;
			if (result)
				result[--pos] = va.p[i];
			if (!run.open) {
				run = (struct lcs_run){ .a0 = i, .a1 = i, .b0 = j, .b1 = j,
							.open = true };
			} else {
				run.a0 = i;
				run.b0 = j;
			}
		} else {
			if (T(i - 1, j) > T(i, j - 1))
				i--;
			else
				j--;
			if (run.open && getidx)
				lcs_emit(ctx, &run, minlen, withlen, &nruns);
			run.open = false;
		}
	}
	if (run.open && getidx)
		lcs_emit(ctx, &run, minlen, withlen, &nruns);
#undef T
	mem_free(t);

	if (getidx) {
		resp_w_defer_end(ctx->w, off, '*', nruns);
		resp_w_bulk_cstr(ctx->w, "len");
		resp_w_int(ctx->w, llen);
	} else {
		resp_w_bulk(ctx->w, result, llen);
		mem_free(result);
	}
}

/* ---- the table ---- */

#define RD_FAST (ACL(ACL_READ) | ACL(ACL_STRING) | ACL(ACL_FAST))
#define RD_SLOW (ACL(ACL_READ) | ACL(ACL_STRING) | ACL(ACL_SLOW))
#define WR_FAST (ACL(ACL_WRITE) | ACL(ACL_STRING) | ACL(ACL_FAST))
#define WR_SLOW (ACL(ACL_WRITE) | ACL(ACL_STRING) | ACL(ACL_SLOW))

#define STR_CMD(nm, f, ar, fl, fk, lk, st, acl_, since_, sum, cx)			\
	{ .name = (nm), .fn = (f), .arity = (ar), .flags = (fl), .first_key = (fk),	\
	  .last_key = (lk), .key_step = (st), .acl = (acl_), .group = "string",	\
	  .since = (since_), .summary = (sum), .complexity = (cx) }

const struct cmd_def cmd_string_defs[] = {
	STR_CMD("get", cmd_get, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, RD_FAST, "1.0.0",
		"Returns the string value stored at a key.", "O(1)"),
	STR_CMD("set", cmd_set, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, WR_SLOW, "1.0.0",
		"Stores a string value at a key, optionally with an expiry, only if the key "
		"exists or does not, and optionally returning the previous value.", "O(1)"),
	STR_CMD("setnx", cmd_setnx, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		"1.0.0", "Stores a string value at a key that does not exist yet.", "O(1)"),
	STR_CMD("setex", cmd_setex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, WR_SLOW, "2.0.0",
		"Stores a string value at a key with a time to live in seconds.", "O(1)"),
	STR_CMD("psetex", cmd_psetex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, WR_SLOW, "2.6.0",
		"Stores a string value at a key with a time to live in milliseconds.", "O(1)"),
	STR_CMD("mget", cmd_mget, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, RD_FAST, "1.0.0",
		"Returns the string values of several keys, null for any that is missing "
		"or not a string.", "O(N), N being the number of keys."),
	STR_CMD("mset", cmd_mset, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, WR_SLOW, "1.0.1",
		"Stores several key-value pairs in one atomic step.",
		"O(N), N being the number of keys."),
	STR_CMD("msetnx", cmd_msetnx, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, WR_SLOW, "1.0.1",
		"Stores several key-value pairs atomically, but only when none of the keys "
		"exists.", "O(N), N being the number of keys."),
	STR_CMD("getset", cmd_getset, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		"1.0.0", "Stores a new string value at a key and returns the value it replaced.",
		"O(1)"),
	STR_CMD("getdel", cmd_getdel, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, WR_FAST, "6.2.0",
		"Returns the string value of a key and removes the key.", "O(1)"),
	STR_CMD("getex", cmd_getex, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, WR_FAST, "6.2.0",
		"Returns the string value of a key, optionally changing or removing its "
		"time to live.", "O(1)"),
	STR_CMD("append", cmd_append, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST | CMD_BLOB_BYTES, 1, 1, 1, WR_FAST,
		"2.0.0", "Adds bytes to the end of a string value, creating the key if needed.",
		"O(1) amortized, the value growing geometrically."),
	STR_CMD("strlen", cmd_strlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, RD_FAST, "2.2.0",
		"Returns the length in bytes of a string value.", "O(1)"),
	STR_CMD("getrange", cmd_getrange, 4, CMD_READONLY, 1, 1, 1, RD_SLOW, "2.4.0",
		"Returns the bytes of a string value between two inclusive offsets.",
		"O(N), N being the length of the returned part."),
	STR_CMD("substr", cmd_getrange, 4, CMD_READONLY, 1, 1, 1, RD_SLOW, "1.0.0",
		"Returns the bytes of a string value between two inclusive offsets "
		"(the old name of GETRANGE).", "O(N), N being the length of the returned part."),
	STR_CMD("setrange", cmd_setrange, 4, CMD_WRITE | CMD_DENYOOM | CMD_BLOB_BYTES, 1, 1, 1, WR_SLOW, "2.2.0",
		"Overwrites part of a string value from an offset, padding with zero bytes "
		"if the value is shorter.", "O(M), M being the length of the written bytes."),
	STR_CMD("incr", cmd_incr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		"1.0.0", "Adds one to the integer value of a key.", "O(1)"),
	STR_CMD("decr", cmd_decr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		"1.0.0", "Subtracts one from the integer value of a key.", "O(1)"),
	STR_CMD("incrby", cmd_incrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		"1.0.0", "Adds an integer to the integer value of a key.", "O(1)"),
	STR_CMD("decrby", cmd_decrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, WR_FAST,
		"1.0.0", "Subtracts an integer from the integer value of a key.", "O(1)"),
	STR_CMD("incrbyfloat", cmd_incrbyfloat, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1,
		WR_FAST, "2.6.0", "Adds a floating point number to the numeric value of a key.",
		"O(1)"),
	STR_CMD("lcs", cmd_lcs, -3, CMD_READONLY | CMD_BLOB_BYTES, 1, 2, 1, RD_SLOW, "7.0.0",
		"Finds the longest common subsequence of the string values of two keys.",
		"O(N*M), N and M being the lengths of the two values."),
	{ .name = NULL },
};
