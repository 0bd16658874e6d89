/*
 * cmd_sort.c - SORT and SORT_RO: the elements of a list, set or sorted set,
 * ordered numerically or as strings, optionally weighted by other keys (BY),
 * projected through other keys (GET), cut by LIMIT, and either replied or
 * stored as a list (STORE, SORT only).
 *
 * Redis 7.0's observable behaviour is followed:
 *  - Options are parsed first, left to right; an unknown word, or a keyword
 *    without enough arguments after it, is a syntax error (so SORT_RO, which
 *    knows no STORE, calls "STORE x" a syntax error). Only then is the key
 *    looked up: a missing key sorts as an empty list, a key of another type
 *    than list, set or sorted set is WRONGTYPE.
 *  - A BY pattern without '*' means "do not sort" (nosort): a list keeps its
 *    order and a sorted set its score order, both walked backwards by DESC,
 *    with LIMIT applied to that order. A set has no order to keep: with
 *    STORE it is sorted ALPHA instead (so the stored list is reproducible),
 *    without STORE it comes in its iteration order. A later BY with '*'
 *    does not undo nosort, as in Redis.
 *  - Numeric weights are read with strtod(3) over the C string (leading
 *    white space, hex and "infinity" accepted, "" is 0, bytes after a NUL
 *    ignored); trailing bytes, ERANGE or NaN make the whole command answer
 *    "One or more scores can't be converted into double". Equal weights are
 *    ordered by the elements' bytes. ALPHA compares bytes: as strcoll(3)
 *    in the C locale (up to a NUL) when replying, as memcmp then length when
 *    storing; with ALPHA BY, an element whose weight is missing sorts first.
 *    The sort is stable (glibc's qsort is a merge sort), which decides the
 *    order of equal ALPHA BY weights the same way Redis does.
 *  - Patterns: "#" is the element itself; otherwise the first '*' is
 *    replaced by the element, and a "->field" after it (with a non-empty
 *    field) reads that field of a hash instead of a string key. A pattern
 *    without '*' finds nothing. Like Redis, the '*' and "->" searches stop
 *    at a NUL in the pattern. A key of the wrong type counts as missing: a
 *    missing BY weight is 0 (numeric) and a missing GET value is a null
 *    reply, or "" in a stored list.
 *  - STORE replaces the destination with a list of the result (its TTL
 *    goes), or deletes it when the result is empty; the reply is the number
 *    of elements. kv_set_obj() and kv_delete() signal the change, so a
 *    WATCH of the destination fails and a client blocked on it wakes up.
 *  - A sorted set is converted to a skiplist before sorting, as Redis's
 *    SORT (even SORT_RO) does, so OBJECT ENCODING reads the same afterwards.
 *  - Lookups of the key and of pattern keys count as reads (keyspace hits
 *    and misses).
 *
 * Not implemented: Redis refuses BY and GET patterns to users whose ACL
 * does not grant access to every key ("... denied due to insufficient ACL
 * permissions"); acl.h has no such test yet, so strata allows them.
 *
 * Threads: BY and GET patterns name keys that may live on any shard, so
 * both commands are flagged CMD_ALL_SHARDS: each call parks every other
 * shard and runs on the client's thread, which then reaches any key's
 * database through cmd_db(). While it runs nothing else changes any key,
 * so views into values stay valid until the result is stored.
 *
 * A value in the blob tier (KV_ENC_BLOB) cannot be read here yet: a BY or
 * GET that meets one makes the command answer the blob-tier error, before
 * any reply or store is made.
 */
#include "cmd.h"
#include "cfg.h"
#include "kv.h"
#include "mem.h"
#include "resp_write.h"
#include "strutil.h"
#include "t_hash.h"
#include "t_list.h"
#include "t_set.h"
#include "t_zset.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Room for an integer's text or a small value copied out of a view that
 * does not outlive its reader (lpack, hash and set integers). */
#define SORT_SMALL 32

/* One element to sort. Items never move once loaded (the sort orders an
 * array of pointers to them), so p may point into the item's own buf. */
struct sort_item {
	const char *p;		/* the element's bytes: a view into the value, or buf */
	size_t len;		/* bytes at p */
	double score;		/* numeric weight; 0 when BY finds nothing */
	char *cmp;		/* ALPHA BY weight (mem_alloc'd), NULL when missing */
	size_t cmplen;		/* bytes at cmp */
	char buf[SORT_SMALL];	/* the element's text when its reader's buffer goes away */
};

/* A BY or GET pattern, split once. */
struct sort_pat {
	const char *p;		/* the pattern's bytes (view of an argument) */
	size_t len;		/* its length */
	bool self;		/* "#": the element itself */
	bool has_star;		/* a '*' before any NUL: keys can be formed */
	size_t prefixlen;	/* bytes before the '*' */
	size_t postfixlen;	/* bytes after the '*' that belong to the key */
	const char *field;	/* "->field": the hash field (view), or NULL */
	size_t fieldlen;	/* its length */
};

/* A value found through a pattern: a view, or a copy in buf. */
struct sort_val {
	const char *p;		/* NULL when nothing was found */
	size_t len;
	char buf[SORT_SMALL];
};

/* What the options asked for. */
struct sort_opts {
	bool desc;		/* DESC */
	bool alpha;		/* ALPHA */
	bool dontsort;		/* BY without '*' */
	long long limit_start;	/* LIMIT offset (0 when absent) */
	long long limit_count;	/* LIMIT count (-1 when absent: all) */
	const struct cmd_arg *by;	/* BY pattern, or NULL */
	const struct cmd_arg *store;	/* STORE destination, or NULL */
	struct sort_pat bypat;	/* by, split */
	struct sort_pat *gets;	/* GET patterns (mem_alloc'd, room for argc) */
	int ngets;		/* how many */
};

/* The comparison's settings (Redis keeps them in globals). */
struct sort_mode {
	bool desc;		/* DESC: every comparison is reversed */
	bool alpha;		/* ALPHA: compare bytes, not weights */
	bool bypattern;		/* ALPHA compares the BY weights, not the elements */
	bool store;		/* STORE: ALPHA compares every byte, not up to a NUL */
};

static unsigned sort_lk_flags(const struct cmd_ctx *ctx)
{
	return KV_LK_READ | (ctx->flags & CTX_NO_TOUCH ? KV_LK_NOTOUCH : 0);
}

static void sort_reply_blob(struct cmd_ctx *ctx)
{
	resp_w_error(ctx->w, "large value is in the blob tier, which this command cannot read yet");
}

/* Length of s as a C string: up to the first NUL, at most len. */
static size_t sort_cstrlen(const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);

	return nul ? (size_t)(nul - s) : len;
}

/* Splits a pattern the way Redis's lookupKeyByPattern reads it. */
static void sort_pat_init(struct sort_pat *pat, const struct cmd_arg *a)
{
	size_t clen = sort_cstrlen(a->p, a->len);
	const char *star = memchr(a->p, '*', clen);

	memset(pat, 0, sizeof(*pat));
	pat->p = a->p;
	pat->len = a->len;
	pat->self = clen == 1 && a->p[0] == '#';
	if (!star)
		return;
	pat->has_star = true;
	pat->prefixlen = (size_t)(star - a->p);
	/* "->" after the '*', followed by at least one byte before a NUL. */
	for (const char *f = star + 1; f + 2 < a->p + clen; f++) {
		if (f[0] == '-' && f[1] == '>') {
			pat->field = f + 2;
			pat->fieldlen = a->len - (size_t)(pat->field - a->p);
			break;
		}
	}
	pat->postfixlen = a->len - pat->prefixlen - 1 - (pat->field ? pat->fieldlen + 2 : 0);
}

/* Keeps v's bytes in out: as a view when they outlive the reader (they lie
 * outside [tmp, tmp + tmplen)), else copied into buf (len <= SORT_SMALL). */
static const char *sort_keep(const char *p, size_t len, const void *tmp, size_t tmplen,
			     char buf[SORT_SMALL])
{
	const char *t = tmp;

	if (p >= t && p < t + tmplen) {
		ASSERT(len <= SORT_SMALL);
		memcpy(buf, p, len);
		return buf;
	}
	return p;
}

/*
 * Looks up what pat names for the element el[0..elen): the element itself
 * for "#", else a string key or a hash field. Fills *out (p NULL when
 * nothing is there) and returns 0, or returns -1 for a value in the blob
 * tier. *key and *keycap are a scratch buffer (mem_alloc'd, grown as needed).
 */
static int sort_lookup(struct cmd_ctx *ctx, const struct sort_pat *pat, const char *el,
		       size_t elen, struct sort_val *out, char **key, size_t *keycap)
{
	size_t klen = pat->prefixlen + elen + pat->postfixlen;
	struct kv_entry *e;

	out->p = NULL;
	out->len = 0;
	if (pat->self) {
		out->p = el;
		out->len = elen;
		return 0;
	}
	if (!pat->has_star)
		return 0;
	if (klen > *keycap) {
		*keycap = klen < 64 ? 64 : klen;
		*key = mem_realloc(*key, *keycap);
	}
	memcpy(*key, pat->p, pat->prefixlen);
	memcpy(*key + pat->prefixlen, el, elen);
	memcpy(*key + pat->prefixlen + elen, pat->p + pat->prefixlen + 1, pat->postfixlen);
	e = kv_lookup(cmd_db(ctx, *key, klen), *key, klen, sort_lk_flags(ctx));
	if (!e)
		return 0;
	if (pat->field) {
		struct hash_str v;

		if (e->type != KV_HASH || !hash_get(hash_of(e), pat->field, pat->fieldlen, &v))
			return 0;
		out->p = sort_keep(v.p, v.len, &v, sizeof(v), out->buf);
		out->len = v.len;
	} else {
		char tmp[KV_INT_BUF];

		if (e->type != KV_STRING)
			return 0;
		if (e->enc == KV_ENC_BLOB)
			return -1;
		out->p = kv_str_view(e, &out->len, tmp);
		out->p = sort_keep(out->p, out->len, tmp, sizeof(tmp), out->buf);
	}
	return 0;
}

/*
 * A numeric weight as Redis reads it: strtod(3) over the bytes as a C
 * string, which must be consumed up to its NUL, without ERANGE, not NaN.
 */
static bool sort_parse_weight(const char *p, size_t len, double *out)
{
	char stack[64];
	char *s = len < sizeof(stack) ? stack : mem_alloc(len + 1);
	char *end;
	bool ok;

	memcpy(s, p, len);
	s[len] = '\0';
	errno = 0;
	*out = strtod(s, &end);
	ok = *end == '\0' && errno != ERANGE && !isnan(*out);
	if (s != stack)
		mem_free(s);
	return ok;
}

/* Binary comparison: memcmp, then the shorter first (compareStringObjects). */
static int sort_cmp_bin(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* strcoll(3) in the C locale, as the server's collation is: bytes as
 * unsigned, each string ending at its first NUL. */
static int sort_cmp_coll(const char *a, size_t alen, const char *b, size_t blen)
{
	for (size_t i = 0;; i++) {
		unsigned char ca = i < alen ? (unsigned char)a[i] : 0;
		unsigned char cb = i < blen ? (unsigned char)b[i] : 0;

		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (!ca)
			return 0;
	}
}

static int sort_cmp(const struct sort_item *a, const struct sort_item *b,
		    const struct sort_mode *m)
{
	int c;

	if (!m->alpha) {
		if (a->score > b->score)
			c = 1;
		else if (a->score < b->score)
			c = -1;
		else
			c = sort_cmp_bin(a->p, a->len, b->p, b->len);
	} else if (m->bypattern) {
		if (!a->cmp || !b->cmp)
			c = a->cmp == b->cmp ? 0 : !a->cmp ? -1 : 1;
		else if (m->store)
			c = sort_cmp_bin(a->cmp, a->cmplen, b->cmp, b->cmplen);
		else
			c = sort_cmp_coll(a->cmp, a->cmplen, b->cmp, b->cmplen);
	} else if (m->store) {
		c = sort_cmp_bin(a->p, a->len, b->p, b->len);
	} else {
		c = sort_cmp_coll(a->p, a->len, b->p, b->len);
	}
	return m->desc ? -c : c;
}

/* Stable merge sort of v[0..n) with tmp as scratch of the same size. */
static void sort_merge(struct sort_item **v, struct sort_item **tmp, size_t n,
		       const struct sort_mode *m)
{
	size_t half = n / 2, i = 0, j = half, k = 0;

	if (n < 2)
		return;
	sort_merge(v, tmp, half, m);
	sort_merge(v + half, tmp, n - half, m);
	if (sort_cmp(v[half - 1], v[half], m) <= 0)
		return;		/* already in order */
	while (i < half && j < n)
		tmp[k++] = sort_cmp(v[j], v[i], m) < 0 ? v[j++] : v[i++];
	while (i < half)
		tmp[k++] = v[i++];
	/* what is left of the right half is already in place */
	memcpy(v, tmp, k * sizeof(*v));
}

/* Sets item it to the bytes p[0..len), copied into its buf when they lie in
 * the reader's temporary [tmp, tmp + tmplen). */
static void sort_item_set(struct sort_item *it, const char *p, size_t len, const void *tmp,
			  size_t tmplen)
{
	it->p = sort_keep(p, len, tmp, tmplen, it->buf);
	it->len = len;
	it->score = 0;
	it->cmp = NULL;
	it->cmplen = 0;
}

/*
 * Parses the options of argv[2..]; replies an error and returns false on a
 * syntax error or a bad LIMIT. o->gets must have room for argc patterns.
 */
static bool sort_parse(struct cmd_ctx *ctx, bool readonly, struct sort_opts *o)
{
	for (int j = 2; j < ctx->argc; j++) {
		int left = ctx->argc - j - 1;

		if (cmd_arg_is(ctx, j, "asc")) {
			o->desc = false;
		} else if (cmd_arg_is(ctx, j, "desc")) {
			o->desc = true;
		} else if (cmd_arg_is(ctx, j, "alpha")) {
			o->alpha = true;
		} else if (cmd_arg_is(ctx, j, "limit") && left >= 2) {
			if (!cmd_arg_ll(ctx, j + 1, &o->limit_start) ||
			    !cmd_arg_ll(ctx, j + 2, &o->limit_count))
				return false;
			j += 2;
		} else if (!readonly && cmd_arg_is(ctx, j, "store") && left >= 1) {
			o->store = &ctx->argv[++j];
		} else if (cmd_arg_is(ctx, j, "by") && left >= 1) {
			o->by = &ctx->argv[++j];
			sort_pat_init(&o->bypat, o->by);
			if (!o->bypat.has_star)
				o->dontsort = true;
		} else if (cmd_arg_is(ctx, j, "get") && left >= 1) {
			sort_pat_init(&o->gets[o->ngets++], &ctx->argv[++j]);
		} else {
			cmd_reply_syntax(ctx);
			return false;
		}
	}
	return true;
}

/*
 * Loads the items of the value v of type type (len elements) into items
 * and returns how many. For a list or sorted set under nosort only ranks
 * [*start, *end] are loaded (in DESC order when desc), and *start and *end are
 * rebased to index the loaded items.
 */
static size_t sort_load(int type, void *v, size_t len, const struct sort_opts *o,
			long long *start, long long *end, struct sort_item *items)
{
	size_t n = 0;

	if (type == KV_LIST && o->dontsort) {
		if (*end >= *start) {
			size_t want = (size_t)(*end - *start + 1);
			long long from = o->desc ? (long long)len - *start - 1 : *start;
			struct t_list_iter it;
			struct lpack_val lv;

			t_list_iter_init(v, from, !o->desc, &it);
			while (n < want && t_list_iter_next(&it, &lv)) {
				sort_item_set(&items[n], lv.p, lv.len, &lv, sizeof(lv));
				n++;
			}
			*end -= *start;
			*start = 0;
		}
	} else if (type == KV_LIST) {
		struct t_list_iter it;
		struct lpack_val lv;

		t_list_iter_init(v, 0, true, &it);
		while (t_list_iter_next(&it, &lv)) {
			sort_item_set(&items[n], lv.p, lv.len, &lv, sizeof(lv));
			n++;
		}
	} else if (type == KV_SET) {
		struct set_iter it;
		struct set_elem se;

		set_iter_init(&it, v);
		while (set_iter_next(&it, &se)) {
			size_t elen;
			const char *p = set_elem_str(&se, &elen);

			sort_item_set(&items[n], p, elen, &se, sizeof(se));
			n++;
		}
	} else {
		/* A sorted set: under nosort ranks start..end in score order (or
		 * reverse), else every member. */
		size_t want = len, from = 0;
		struct zset_iter it;
		struct zset_elem ze;

		if (o->dontsort) {
			want = *end >= *start ? (size_t)(*end - *start + 1) : 0;
			from = *start > 0 ? (size_t)*start : 0;
		}
		zset_iter_rank(&it, v, from, o->dontsort && o->desc);
		while (n < want && zset_iter_next(&it, &ze)) {
			sort_item_set(&items[n], ze.m, ze.mlen, &ze, sizeof(ze));
			n++;
		}
		if (o->dontsort) {
			*end -= *start;
			*start = 0;
		}
	}
	return n;
}

/*
 * Computes the weights of items[0..n) (BY lookups or the elements
 * themselves). Returns 0, -EDOM if a numeric weight is not a number, or
 * -1 for a weight in the blob tier.
 */
static int sort_weigh(struct cmd_ctx *ctx, const struct sort_opts *o, struct sort_item *items,
		      size_t n, char **key, size_t *keycap)
{
	int res = 0;

	for (size_t j = 0; j < n; j++) {
		struct sort_item *it = &items[j];
		struct sort_val val;
		const char *p = it->p;
		size_t len = it->len;

		if (o->by) {
			if (sort_lookup(ctx, &o->bypat, it->p, it->len, &val, key, keycap) < 0)
				return -1;
			if (!val.p)
				continue;
			p = val.p;
			len = val.len;
		}
		if (o->alpha) {
			if (o->by) {
				it->cmp = mem_alloc(len ? len : 1);
				memcpy(it->cmp, p, len);
				it->cmplen = len;
			}
		} else if (!sort_parse_weight(p, len, &it->score)) {
			res = -EDOM;	/* Redis goes on reading the other weights */
		}
	}
	return res;
}

/*
 * Resolves the GET patterns for output items order[start..end] into vals
 * (ngets per item, in order). Returns 0, or -1 for a value in the blob
 * tier.
 */
static int sort_resolve(struct cmd_ctx *ctx, const struct sort_opts *o,
			struct sort_item *const *order, long long start, long long end,
			struct sort_val *vals, char **key, size_t *keycap)
{
	size_t k = 0;

	for (long long j = start; j <= end; j++)
		for (int g = 0; g < o->ngets; g++)
			if (sort_lookup(ctx, &o->gets[g], order[j]->p, order[j]->len, &vals[k++],
					key, keycap) < 0)
				return -1;
	return 0;
}

/* Writes the result: an array of the elements, or of the GET values (a
 * null for a missing one). */
static void sort_reply(struct cmd_ctx *ctx, const struct sort_opts *o,
		       struct sort_item *const *order, long long start, long long end,
		       const struct sort_val *vals, size_t outlen)
{
	size_t k = 0;

	resp_w_array(ctx->w, outlen);
	for (long long j = start; j <= end; j++) {
		if (!o->ngets)
			resp_w_bulk(ctx->w, order[j]->p, order[j]->len);
		for (int g = 0; g < o->ngets; g++, k++) {
			if (vals[k].p)
				resp_w_bulk(ctx->w, vals[k].p, vals[k].len);
			else
				resp_w_null(ctx->w);
		}
	}
}

/* STORE: the destination becomes a list of the result ("" for a missing
 * GET value), or is deleted when the result is empty; replies the count. */
static void sort_store(struct cmd_ctx *ctx, const struct sort_opts *o,
		       struct sort_item *const *order, long long start, long long end,
		       const struct sort_val *vals, size_t outlen)
{
	const struct cmd_arg *dk = o->store;
	struct kv_db *db = cmd_db(ctx, dk->p, dk->len);
	size_t k = 0;

	if (outlen == 0) {
		if (kv_delete(db, dk->p, dk->len))
			ctx->dirty++;
	} else {
		struct t_list *l = t_list_new(cfg.list_max_listpack_size);

		for (long long j = start; j <= end; j++) {
			if (!o->ngets)
				t_list_push(l, T_LIST_TAIL, order[j]->p, order[j]->len);
			for (int g = 0; g < o->ngets; g++, k++)
				t_list_push(l, T_LIST_TAIL, vals[k].p ? vals[k].p : "", vals[k].len);
		}
		/* Every read above is done: replacing the destination may free
		 * the sorted value itself (SORT k STORE k). */
		kv_set_obj(db, dk->p, dk->len, KV_LIST, KV_ENC_OTHER, l);
		ctx->dirty += outlen;
	}
	resp_w_int(ctx->w, (long long)outlen);
}

static void sort_generic(struct cmd_ctx *ctx, bool readonly)
{
	struct sort_opts o = { .limit_count = -1 };
	const struct cmd_arg *k = &ctx->argv[1];
	struct sort_item *items = NULL, **order = NULL, **tmp = NULL;
	struct sort_val *vals = NULL;
	struct kv_entry *e;
	struct t_list *empty = NULL;
	void *val;
	int type;
	size_t len = 0, n = 0, outlen;
	long long start, end, count;
	char *key = NULL;
	size_t keycap = 0;
	int res;

	o.gets = mem_alloc((size_t)ctx->argc * sizeof(*o.gets));
	if (!sort_parse(ctx, readonly, &o))
		goto out;

	e = kv_lookup(cmd_db(ctx, k->p, k->len), k->p, k->len, sort_lk_flags(ctx));
	if (e && e->type != KV_LIST && e->type != KV_SET && e->type != KV_ZSET) {
		cmd_reply_wrongtype(ctx);
		goto out;
	}
	if (e) {
		type = e->type;
		val = e->v.ptr;
	} else {
		type = KV_LIST;		/* a missing key sorts as an empty list */
		val = empty = t_list_new(cfg.list_max_listpack_size);
	}
	if (o.dontsort && type == KV_SET && o.store) {
		/* A set has no order of its own: a stored result is sorted. */
		o.dontsort = false;
		o.alpha = true;
		o.by = NULL;
	}
	switch (type) {
	case KV_LIST:
		len = t_list_len(val);
		break;
	case KV_SET:
		len = set_size(val);
		break;
	case KV_ZSET:
		zset_to_skiplist(val);	/* as Redis's SORT does */
		len = zset_len(val);
		break;
	}

	/* LIMIT, clamped to the value's size first so nothing overflows. */
	start = o.limit_start < 0 ? 0 : o.limit_start;
	if (start > (long long)len)
		start = (long long)len;
	count = o.limit_count < -1 ? -1 : o.limit_count;
	if (count > (long long)len)
		count = (long long)len;
	end = count < 0 ? (long long)len - 1 : start + count - 1;
	if (start >= (long long)len) {
		start = (long long)len - 1;
		end = (long long)len - 2;
	}
	if (end >= (long long)len)
		end = (long long)len - 1;

	items = mem_alloc((len ? len : 1) * sizeof(*items));
	n = sort_load(type, val, len, &o, &start, &end, items);
	order = mem_alloc((n ? n : 1) * sizeof(*order));
	for (size_t j = 0; j < n; j++)
		order[j] = &items[j];

	res = 0;
	if (!o.dontsort) {
		struct sort_mode m = { .desc = o.desc, .alpha = o.alpha,
				       .bypattern = o.by != NULL, .store = o.store != NULL };

		res = sort_weigh(ctx, &o, items, n, &key, &keycap);
		if (res == 0) {
			tmp = mem_alloc((n ? n : 1) * sizeof(*tmp));
			sort_merge(order, tmp, n, &m);
		}
	}
	if (res == -EDOM) {
		resp_w_error(ctx->w, "One or more scores can't be converted into double");
		goto out;
	}
	if (res < 0) {
		sort_reply_blob(ctx);
		goto out;
	}

	outlen = end >= start ? (size_t)(end - start + 1) : 0;
	if (o.ngets) {
		outlen *= (size_t)o.ngets;
		vals = mem_alloc((outlen ? outlen : 1) * sizeof(*vals));
		if (sort_resolve(ctx, &o, order, start, end, vals, &key, &keycap) < 0) {
			sort_reply_blob(ctx);
			goto out;
		}
	}
	if (o.store)
		sort_store(ctx, &o, order, start, end, vals, outlen);
	else
		sort_reply(ctx, &o, order, start, end, vals, outlen);

out:
	for (size_t j = 0; j < n; j++)
		mem_free(items[j].cmp);
	mem_free(vals);
	mem_free(tmp);
	mem_free(order);
	mem_free(items);
	mem_free(key);
	mem_free(o.gets);
	t_list_free(empty);
}

/* SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC]
 *      [ALPHA] [STORE destination] */
static void cmd_sort(struct cmd_ctx *ctx)
{
	sort_generic(ctx, false);
}

/* SORT_RO: SORT without STORE. */
static void cmd_sort_ro(struct cmd_ctx *ctx)
{
	sort_generic(ctx, true);
}

/*
 * Keys of SORT, as Redis's sortGetKeys finds them: the sorted key, and the
 * destination of the last STORE. The words after LIMIT (two), GET and BY
 * (one each) are skipped; a STORE's argument is not, so "STORE GET STORE k"
 * reads the way Redis reads it. Never fails.
 */
static int sort_getkeys(int argc, const struct cmd_arg *argv, int *out, int cap)
{
	int store = 0;

	for (int i = 2; i < argc; i++) {
		const struct cmd_arg *a = &argv[i];

		if (strutil_eq_nocase(a->p, a->len, "limit"))
			i += 2;
		else if (strutil_eq_nocase(a->p, a->len, "get") ||
			 strutil_eq_nocase(a->p, a->len, "by"))
			i += 1;
		else if (strutil_eq_nocase(a->p, a->len, "store") && i + 1 < argc)
			store = i + 1;
	}
	if (cap > 0)
		out[0] = 1;
	if (store && cap > 1)
		out[1] = store;
	return store ? 2 : 1;
}

#define SORT_ACL (ACL(ACL_SET) | ACL(ACL_SORTEDSET) | ACL(ACL_LIST) | ACL(ACL_SLOW) | \
		  ACL(ACL_DANGEROUS))

/* Both carry CMD_ALL_SHARDS: every call parks all other shards, since BY
 * and GET patterns may read keys on any of them (see the essay). */
const struct cmd_def cmd_sort_defs[] = {
	{ .name = "sort", .fn = cmd_sort, .arity = -2,
	  .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS | CMD_ALL_SHARDS,
	  .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = ACL(ACL_WRITE) | SORT_ACL, .group = "generic", .since = "1.0.0",
	  .summary = "Sorts the elements of a list, set or sorted set, numerically or as "
		     "strings, optionally weighted and projected through other keys, and "
		     "returns them or stores them in a list.",
	  .complexity = "O(N+M*log(M)), N being the number of elements in the value and M "
			"the number of elements returned; O(N) when nothing is sorted.",
	  .getkeys = sort_getkeys },
	{ .name = "sort_ro", .fn = cmd_sort_ro, .arity = -2,
	  .flags = CMD_READONLY | CMD_MOVABLE_KEYS | CMD_ALL_SHARDS,
	  .first_key = 1, .last_key = 1, .key_step = 1,
	  .acl = ACL(ACL_READ) | SORT_ACL, .group = "generic", .since = "7.0.0",
	  .summary = "Sorts the elements of a list, set or sorted set like SORT, without "
		     "the STORE option.",
	  .complexity = "O(N+M*log(M)), N being the number of elements in the value and M "
			"the number of elements returned; O(N) when nothing is sorted." },
	{ .name = NULL },
};
