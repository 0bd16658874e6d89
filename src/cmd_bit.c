/*
 * cmd_bit.c - the bitmap command family: SETBIT, GETBIT, BITCOUNT, BITPOS,
 * BITOP, BITFIELD and BITFIELD_RO.
 *
 * A bitmap is an ordinary string value read as a row of bits: bit 0 is the
 * most significant bit of byte 0, bit 8 the most significant bit of byte 1,
 * and so on. Bits past the end of the value read as 0. A BITFIELD field of
 * width w at bit offset o is the w bits o..o+w-1 read in that order, the
 * first being the most significant, so byte-aligned fields are big endian.
 *
 * Writes (SETBIT, BITFIELD with SET or INCRBY) first make the value long
 * enough to hold the highest bit they touch, appending zero bytes, then
 * edit it in place: an int or embstr value becomes raw on the way, as
 * Redis's dbUnshareStringValue makes it, and an absent key is created as
 * a raw string of zeros. The key changed (WATCH, dirty) when it was
 * created, grew, or a bit flipped; a write that stores the bits already
 * there changes nothing, as in Redis. BITOP stores its result with SET
 * semantics (raw encoding, any TTL dropped) or deletes the destination
 * when every source is empty or absent.
 *
 * Offsets are limited as Redis limits them: a bit offset whose byte would
 * be at or past proto-max-bulk-len (512MB) is refused, so no write can make
 * a value longer than that (plus the 8 bytes a 64-bit field may reach).
 *
 * Everything observable follows Redis 7.0: the order in which arguments are
 * checked (so a call with two faults gets the same error), the error words,
 * when a missing key answers before the arguments are looked at (BITCOUNT,
 * BITPOS), and the overflow rules of BITFIELD, including one corner where
 * Redis's SAT picks the wrong bound (bf_overflow_signed()). One deviation:
 * a "#n" BITFIELD offset whose n * width does not fit in 64 bits is refused
 * as out of range, where Redis multiplies with signed overflow (undefined
 * behaviour) and acts on whatever the compiler made of it.
 *
 * Values are read only through bit_read() and bit_writable(). A value on
 * the blob tier (KV_ENC_BLOB) is read into memory first: the command waits
 * for it like a blocked command and runs again (blob_need_bytes). A bit
 * write makes such a value an ordinary string in memory: only the writers
 * the blob tier names (SET, APPEND, SETRANGE, ...) store on disk. Databases
 * come from cmd_db() per key, because BITOP's keys may be on different
 * shards.
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
#include <stdint.h>
#include <string.h>

#define BIT_ERR_OFFSET	"bit offset is not an integer or out of range"
#define BIT_ERR_VALUE	"bit is not an integer or out of range"
#define BIT_ERR_BITARG	"The bit argument must be 1 or 0."
#define BIT_ERR_TYPE	"Invalid bitfield type. Use something like i16 u8. " \
			"Note that u64 is not supported but i64 is."

/* ---- value access: the seam the blob tier extends ---- */

/* A readable view of a string value. */
struct bit_view {
	const unsigned char *p;	/* the bytes; valid until the entry changes */
	size_t len;		/* their number */
	char tmp[KV_INT_BUF];	/* holds the decimal text of an INT value */
};

static unsigned bit_lk_flags(const struct cmd_ctx *ctx, bool read)
{
	return (read ? KV_LK_READ : 0) | (ctx->flags & CTX_NO_TOUCH ? KV_LK_NOTOUCH : 0);
}

/* The live entry of argv[i] in its owning db (stored in *dbp if not NULL).
 * read counts a keyspace hit or miss, as Redis's lookupKeyRead does. */
static struct kv_entry *bit_lookup(struct cmd_ctx *ctx, int i, bool read, struct kv_db **dbp)
{
	const struct cmd_arg *k = &ctx->argv[i];
	struct kv_db *db = cmd_db(ctx, k->p, k->len);

	if (dbp)
		*dbp = db;
	return kv_lookup(db, k->p, k->len, bit_lk_flags(ctx, read));
}

/* Fills v with the bytes of the string entry e (of db) and returns true, or
 * returns false when the reply is made: a large value being read (the
 * command runs again), or refused where the command cannot wait. */
static bool bit_value(struct cmd_ctx *ctx, struct kv_db *db, struct kv_entry *e,
		      struct bit_view *v)
{
	if (e->enc == KV_ENC_BLOB) {
		if (!blob_need_bytes(ctx, db, e))
			return false;
		v->p = (const unsigned char *)blob_mem(e, &v->len);
		return true;
	}
	v->p = (const unsigned char *)kv_str_view(e, &v->len, v->tmp);
	return true;
}

/* The entry of argv[i] for a read: *ep is the entry or NULL if absent, and
 * v its bytes. Returns false after replying WRONGTYPE or the blob refusal. */
static bool bit_read(struct cmd_ctx *ctx, int i, struct kv_entry **ep, struct bit_view *v)
{
	struct kv_db *db;
	struct kv_entry *e = bit_lookup(ctx, i, true, &db);

	*ep = e;
	v->p = NULL;
	v->len = 0;
	if (!e)
		return true;
	if (e->type != KV_STRING) {
		cmd_reply_wrongtype(ctx);
		return false;
	}
	return bit_value(ctx, db, e, v);
}

/*
 * Redis's lookupStringForBitCommand: the string at argv[1] made raw and
 * at least nbytes long (zero bytes appended), created if absent. *grown
 * says whether the key was created or lengthened, which by itself counts
 * as a change. The buffer stays valid until the entry changes. Returns
 * NULL after replying WRONGTYPE or the blob refusal.
 */
static struct kv_raw *bit_writable(struct cmd_ctx *ctx, size_t nbytes, struct kv_db **dbp,
				   bool *grown)
{
	const struct cmd_arg *key = &ctx->argv[1];
	struct kv_entry *e = bit_lookup(ctx, 1, false, dbp);
	struct kv_raw *r;
	size_t olen;

	if (e) {
		if (e->type != KV_STRING) {
			cmd_reply_wrongtype(ctx);
			return NULL;
		}
		if (e->enc == KV_ENC_BLOB) {
			size_t len;
			const char *p;

			if (!blob_need_bytes(ctx, *dbp, e))
				return NULL;
			/* The edited value stays in memory (see the top). */
			p = blob_mem(e, &len);
			e = kv_set_str(*dbp, key->p, key->len, p, len, KV_SET_KEEPTTL | KV_SET_NOINT);
		}
		olen = kv_str_len(e);
	} else {
		e = kv_set_str(*dbp, key->p, key->len, "", 0, KV_SET_NOINT);
		olen = SIZE_MAX;	/* any length differs: created */
	}
	r = kv_str_make_raw(e, nbytes);
	*grown = r->len != olen;
	return r;
}

/* ---- arguments ---- */

/*
 * A bit offset from argv[i] (Redis's getBitOffsetFromArgument). With
 * field_bits > 0 (BITFIELD) the form "#n" means n * field_bits. Refused,
 * with Redis's words: not an integer, negative, or a byte offset at or past
 * proto-max-bulk-len.
 */
static bool bit_parse_offset(struct cmd_ctx *ctx, int i, unsigned field_bits, uint64_t *out)
{
	const struct cmd_arg *a = &ctx->argv[i];
	size_t skip = field_bits && a->len > 0 && a->p[0] == '#';
	long long v;

	if (!strutil_to_ll(a->p + skip, a->len - skip, &v))
		goto bad;
	if (skip) {
		if (v < 0 || v > LLONG_MAX / (long long)field_bits)
			goto bad;
		v *= field_bits;
	}
	if (v < 0 || (v >> 3) >= cfg.proto_max_bulk_len)
		goto bad;
	*out = (uint64_t)v;
	return true;
bad:
	resp_w_error(ctx->w, BIT_ERR_OFFSET);
	return false;
}

/* "BIT" or "BYTE" at argv[i] into *in_bits; a syntax error otherwise. */
static bool bit_parse_unit(struct cmd_ctx *ctx, int i, bool *in_bits)
{
	if (cmd_arg_is(ctx, i, "bit")) {
		*in_bits = true;
	} else if (cmd_arg_is(ctx, i, "byte")) {
		*in_bits = false;
	} else {
		cmd_reply_syntax(ctx);
		return false;
	}
	return true;
}

/*
 * Clamps the inclusive range [*start, *end], in units of which the value
 * has total (bytes, or bits with BIT), as Redis does: a negative index
 * counts from the end, then both are clamped into the value. Returns false
 * when the range selects nothing (always so for an empty value).
 */
static bool bit_clamp_range(long long *start, long long *end, long long total)
{
	if (*start < 0)
		*start += total;
	if (*end < 0)
		*end += total;
	if (*start < 0)
		*start = 0;
	if (*end < 0)
		*end = 0;
	if (*end >= total)
		*end = total - 1;
	return *start <= *end;
}

/* ---- counting and searching bits ---- */

static unsigned bit_pop8(unsigned char b)
{
	return (unsigned)__builtin_popcount(b);
}

/* Set bits in a 64-bit word, without relying on a POPCNT instruction. */
static uint64_t bit_pop64(uint64_t w)
{
	w -= (w >> 1) & 0x5555555555555555ull;
	w = (w & 0x3333333333333333ull) + ((w >> 2) & 0x3333333333333333ull);
	w = (w + (w >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (w * 0x0101010101010101ull) >> 56;
}

/* Set bits in the n bytes at p. */
static uint64_t bit_pop_bytes(const unsigned char *p, size_t n)
{
	uint64_t count = 0;
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		uint64_t w[4];

		memcpy(w, p + i, sizeof(w));
		count += bit_pop64(w[0]) + bit_pop64(w[1]) + bit_pop64(w[2]) + bit_pop64(w[3]);
	}
	for (; i < n; i++)
		count += bit_pop8(p[i]);
	return count;
}

/* The bits of byte number `byte` that lie in the bit range [first, last]. */
static unsigned char bit_edge_mask(uint64_t byte, uint64_t first, uint64_t last)
{
	unsigned char m = 0xff;

	if (byte == first >> 3)
		m &= 0xff >> (first & 7);
	if (byte == last >> 3)
		m &= (unsigned char)(0xff << (7 - (last & 7)));
	return m;
}

/* Set bits among bits first..last (inclusive, within the value) of p. */
static uint64_t bit_count_range(const unsigned char *p, uint64_t first, uint64_t last)
{
	uint64_t b0 = first >> 3, b1 = last >> 3;
	uint64_t count = bit_pop8(p[b0] & bit_edge_mask(b0, first, last));

	if (b1 > b0) {
		count += bit_pop_bytes(p + b0 + 1, b1 - b0 - 1);
		count += bit_pop8(p[b1] & bit_edge_mask(b1, first, last));
	}
	return count;
}

/*
 * The position of the first bit equal to bit among bits first..last
 * (inclusive, within the value) of p, or -1 if there is none. Runs of
 * bytes that cannot hold it (0x00 looking for a 1, 0xff for a 0) are
 * skipped a word at a time.
 */
static long long bit_find(const unsigned char *p, uint64_t first, uint64_t last, int bit)
{
	const unsigned char flip = bit ? 0x00 : 0xff;
	const uint64_t skip_word = bit ? 0 : UINT64_MAX;
	uint64_t i = first >> 3, end = last >> 3;

	for (;;) {
		/* Looking for a 0 is looking for a 1 in the complement. */
		unsigned b = (unsigned char)(p[i] ^ flip) & bit_edge_mask(i, first, last);

		if (b)
			return (long long)(i * 8) + __builtin_clz(b) - (int)(sizeof(unsigned) * 8 - 8);
		if (i == end)
			return -1;
		i++;
		/* Whole words strictly before the last byte, which needs its mask. */
		while (end - i >= 8) {
			uint64_t w;

			memcpy(&w, p + i, sizeof(w));
			if (w != skip_word)
				break;
			i += 8;
		}
	}
}

/* ---- SETBIT, GETBIT, BITCOUNT, BITPOS ---- */

static void cmd_setbit(struct cmd_ctx *ctx)
{
	const struct cmd_arg *key = &ctx->argv[1];
	struct kv_db *db;
	struct kv_raw *r;
	unsigned char *byte, mask;
	uint64_t off;
	long long on;
	bool grown, old;

	if (!bit_parse_offset(ctx, 2, 0, &off) || !cmd_arg_ll_msg(ctx, 3, &on, BIT_ERR_VALUE))
		return;
	if (on & ~1ll) {
		resp_w_error(ctx->w, BIT_ERR_VALUE);
		return;
	}
	r = bit_writable(ctx, (size_t)(off >> 3) + 1, &db, &grown);
	if (!r)
		return;
	byte = (unsigned char *)r->data + (off >> 3);
	mask = (unsigned char)(0x80 >> (off & 7));
	old = *byte & mask;
	if (grown || old != (bool)on) {
		*byte = on ? *byte | mask : *byte & ~mask;
		kv_signal_modified(db, key->p, key->len);
		ctx->dirty++;
	}
	resp_w_int(ctx->w, old);
}

static void cmd_getbit(struct cmd_ctx *ctx)
{
	struct kv_entry *e;
	struct bit_view v;
	uint64_t off;

	if (!bit_parse_offset(ctx, 2, 0, &off) || !bit_read(ctx, 1, &e, &v))
		return;
	if ((off >> 3) >= v.len)
		resp_w_int(ctx->w, 0);
	else
		resp_w_int(ctx->w, (v.p[off >> 3] >> (7 - (off & 7))) & 1);
}

/* BITCOUNT key [start end [BYTE|BIT]] */
static void cmd_bitcount(struct cmd_ctx *ctx)
{
	long long start, end, total;
	bool in_bits = false;
	struct kv_entry *e;
	struct bit_view v;

	/* Redis answers for a missing key before looking at the range. */
	if (!bit_read(ctx, 1, &e, &v))
		return;
	if (!e) {
		resp_w_int(ctx->w, 0);
		return;
	}
	if (ctx->argc == 2) {
		start = 0;
		end = (long long)v.len - 1;
	} else if (ctx->argc == 4 || ctx->argc == 5) {
		if (!cmd_arg_ll(ctx, 2, &start) || !cmd_arg_ll(ctx, 3, &end))
			return;
		/* Both from the end and backwards: nothing, before the unit is
		 * even read, as in Redis. */
		if (start < 0 && end < 0 && start > end) {
			resp_w_int(ctx->w, 0);
			return;
		}
		if (ctx->argc == 5 && !bit_parse_unit(ctx, 4, &in_bits))
			return;
	} else {
		cmd_reply_syntax(ctx);
		return;
	}
	total = (long long)v.len * (in_bits ? 8 : 1);
	if (!bit_clamp_range(&start, &end, total)) {
		resp_w_int(ctx->w, 0);
		return;
	}
	if (!in_bits) {
		start *= 8;
		end = end * 8 + 7;
	}
	resp_w_int(ctx->w, (long long)bit_count_range(v.p, (uint64_t)start, (uint64_t)end));
}

/* BITPOS key bit [start [end [BYTE|BIT]]] */
static void cmd_bitpos(struct cmd_ctx *ctx)
{
	long long bit, start, end, total, pos;
	bool in_bits = false, end_given = false;
	struct kv_entry *e;
	struct bit_view v;

	if (!cmd_arg_ll(ctx, 2, &bit))
		return;
	if (bit != 0 && bit != 1) {
		resp_w_error(ctx->w, BIT_ERR_BITARG);
		return;
	}
	if (!bit_read(ctx, 1, &e, &v))
		return;
	/* A missing key is an endless run of zeros. */
	if (!e) {
		resp_w_int(ctx->w, bit ? -1 : 0);
		return;
	}
	if (ctx->argc < 3 || ctx->argc > 6) {
		cmd_reply_syntax(ctx);
		return;
	}
	start = 0;
	end = (long long)v.len - 1;
	if (ctx->argc >= 4 && !cmd_arg_ll(ctx, 3, &start))
		return;
	/* The unit is read before the end, so which error a call with both
	 * wrong gets matches Redis. */
	if (ctx->argc == 6 && !bit_parse_unit(ctx, 5, &in_bits))
		return;
	if (ctx->argc >= 5) {
		if (!cmd_arg_ll(ctx, 4, &end))
			return;
		end_given = true;
	}
	total = (long long)v.len * (in_bits ? 8 : 1);
	if (!bit_clamp_range(&start, &end, total)) {
		resp_w_int(ctx->w, -1);
		return;
	}
	if (!in_bits) {
		start *= 8;
		end = end * 8 + 7;
	}
	pos = bit_find(v.p, (uint64_t)start, (uint64_t)end, (int)bit);
	/* Without an explicit end the value continues with zeros, so a 0 is
	 * always found: just past the range. */
	if (pos < 0 && bit == 0 && !end_given)
		pos = end + 1;
	resp_w_int(ctx->w, pos);
}

/* ---- BITOP ---- */

enum bitop_kind { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

/* Folds the n bytes at src into dst with op (not BITOP_NOT). Written as
 * plain byte loops over unaliased buffers, which compilers vectorize. */
static void bitop_fold(enum bitop_kind op, unsigned char *restrict dst,
		       const unsigned char *restrict src, size_t n)
{
	switch (op) {
	case BITOP_AND:
		for (size_t i = 0; i < n; i++)
			dst[i] &= src[i];
		break;
	case BITOP_OR:
		for (size_t i = 0; i < n; i++)
			dst[i] |= src[i];
		break;
	case BITOP_XOR:
		for (size_t i = 0; i < n; i++)
			dst[i] ^= src[i];
		break;
	case BITOP_NOT:
		break;
	}
}

/* The maxlen bytes of op applied to the sources into res. */
static void bitop_compute(enum bitop_kind op, unsigned char *res, size_t maxlen,
			  const struct bit_view *src, size_t nsrc)
{
	if (op == BITOP_NOT) {
		/* A single source, as long as the result. */
		for (size_t i = 0; i < maxlen; i++)
			res[i] = (unsigned char)~src[0].p[i];
		return;
	}
	if (src[0].len)
		memcpy(res, src[0].p, src[0].len);
	memset(res + src[0].len, 0, maxlen - src[0].len);
	for (size_t k = 1; k < nsrc; k++) {
		if (src[k].len)
			bitop_fold(op, res, src[k].p, src[k].len);
		/* ANDing with the zero padding clears the rest. */
		if (op == BITOP_AND)
			memset(res + src[k].len, 0, maxlen - src[k].len);
	}
}

/*
 * BITOP op destkey key [key ...]
 *
 * Sources shorter than the longest are padded with zeros, absent ones are
 * empty. Redis stores the result as a fresh raw string whatever it looks
 * like. When the destination is not also a source, that string is created
 * first and the result computed straight into it; otherwise into a buffer
 * of its own, since replacing the destination would free a source. Each
 * key is looked up in its own shard's db (the call may span shards).
 */
static void cmd_bitop(struct cmd_ctx *ctx)
{
	const struct cmd_arg *dest = &ctx->argv[2];
	struct kv_db *ddb = cmd_db(ctx, dest->p, dest->len);
	enum bitop_kind op;
	struct bit_view *src;
	size_t nsrc = (size_t)ctx->argc - 3, maxlen = 0;
	bool dest_is_src = false;
	struct kv_entry *e;

	if (cmd_arg_is(ctx, 1, "and")) {
		op = BITOP_AND;
	} else if (cmd_arg_is(ctx, 1, "or")) {
		op = BITOP_OR;
	} else if (cmd_arg_is(ctx, 1, "xor")) {
		op = BITOP_XOR;
	} else if (cmd_arg_is(ctx, 1, "not")) {
		op = BITOP_NOT;
	} else {
		cmd_reply_syntax(ctx);
		return;
	}
	if (op == BITOP_NOT && nsrc != 1) {
		resp_w_error(ctx->w, "BITOP NOT must be called with a single source key.");
		return;
	}

	/* Views stay valid while we only read: a later lookup can delete an
	 * expired entry, but never one a view points into. */
	src = mem_alloc(nsrc * sizeof(*src));
	for (size_t k = 0; k < nsrc; k++) {
		const struct cmd_arg *a = &ctx->argv[k + 3];

		if (!bit_read(ctx, (int)k + 3, &e, &src[k]))
			goto out_free_src;
		maxlen = MAX(maxlen, src[k].len);
		if (a->len == dest->len && memcmp(a->p, dest->p, a->len) == 0)
			dest_is_src = true;
	}

	if (maxlen == 0) {
		if (kv_delete(ddb, dest->p, dest->len))
			ctx->dirty++;
		resp_w_int(ctx->w, 0);
		goto out_free_src;
	}
	if (dest_is_src) {
		unsigned char *res = mem_alloc(maxlen);

		bitop_compute(op, res, maxlen, src, nsrc);
		e = kv_set_str(ddb, dest->p, dest->len, (const char *)res, maxlen, KV_SET_NOINT);
		kv_str_make_raw(e, 0);
		mem_free(res);
	} else {
		struct kv_raw *r;

		e = kv_set_str(ddb, dest->p, dest->len, "", 0, KV_SET_NOINT);
		r = kv_str_make_raw(e, maxlen);
		bitop_compute(op, (unsigned char *)r->data, maxlen, src, nsrc);
	}
	ctx->dirty++;
	resp_w_int(ctx->w, (long long)maxlen);
out_free_src:
	mem_free(src);
}

/* ---- BITFIELD ---- */

enum bf_code { BF_GET, BF_SET, BF_INCRBY };
enum bf_overflow { BF_WRAP, BF_SAT, BF_FAIL };

/* One GET, SET or INCRBY of a BITFIELD call, parsed before any runs. */
struct bf_op {
	uint64_t offset;	/* first bit of the field */
	int64_t arg;		/* SET: the value; INCRBY: the increment */
	uint8_t code;		/* enum bf_code */
	uint8_t overflow;	/* enum bf_overflow in force for this op */
	uint8_t bits;		/* field width, 1..64 (1..63 unsigned) */
	bool sign;		/* i<bits> rather than u<bits> */
};

static uint64_t bf_mask(unsigned bits)
{
	return bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

/* The field of the given width at bit off of the len bytes at p, bits past
 * the end reading as zeros. A field touches at most 9 bytes. */
static uint64_t bf_get(const unsigned char *p, size_t len, uint64_t off, unsigned bits)
{
	uint64_t byte = off >> 3;
	unsigned shift = off & 7, nbytes = (shift + bits + 7) / 8;
	unsigned __int128 acc = 0;

	for (unsigned k = 0; k < nbytes; k++)
		acc = acc << 8 | (byte + k < len ? p[byte + k] : 0);
	return (uint64_t)(acc >> (nbytes * 8 - shift - bits)) & bf_mask(bits);
}

/* Stores the low bits of v as the field at bit off of p, which holds every
 * byte the field touches. */
static void bf_set(unsigned char *p, uint64_t off, unsigned bits, uint64_t v)
{
	uint64_t byte = off >> 3;
	unsigned shift = off & 7, nbytes = (shift + bits + 7) / 8;
	unsigned low = nbytes * 8 - shift - bits;
	unsigned __int128 acc = 0, field = (unsigned __int128)bf_mask(bits) << low;

	for (unsigned k = 0; k < nbytes; k++)
		acc = acc << 8 | p[byte + k];
	acc = (acc & ~field) | ((unsigned __int128)(v & bf_mask(bits)) << low);
	for (unsigned k = nbytes; k-- > 0;) {
		p[byte + k] = (unsigned char)acc;
		acc >>= 8;
	}
}

/* A field's bits read as a two's complement number of that width. */
static int64_t bf_to_signed(uint64_t u, unsigned bits)
{
	if (bits < 64 && (u >> (bits - 1)) & 1)
		u |= UINT64_MAX << bits;
	return (int64_t)u;
}

/*
 * v + incr for an unsigned field of the given width (SET passes the new
 * value with incr 0). Returns 0 and the sum in *res when it fits; else 1
 * (above the maximum) or -1 (below 0) with *res what WRAP (the sum modulo
 * 2^bits) or SAT (the bound crossed) stores. A negative SET value is a huge
 * unsigned one, so it is above the maximum, as in Redis.
 */
static int bf_overflow_unsigned(uint64_t v, int64_t incr, unsigned bits, int mode, uint64_t *res)
{
	__int128 sum = (__int128)v + incr;
	uint64_t max = bf_mask(bits);
	int dir;

	if (sum > (__int128)max)
		dir = 1;
	else if (sum < 0)
		dir = -1;
	else {
		*res = (uint64_t)sum;
		return 0;
	}
	if (mode == BF_WRAP)
		*res = (uint64_t)sum & max;
	else
		*res = dir > 0 ? max : 0;
	return dir;
}

/*
 * The same for a signed field: WRAP keeps the low bits of the sum as a
 * number of that width, SAT stores the bound crossed. One corner kept from
 * Redis 7.0: it tests "too large" as incr > max - v computed in 64 bits,
 * which for a SET (incr 0) of a value at most max - 2^63 wraps negative,
 * so such a value counts as too large and SAT stores the maximum
 * (BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775808 stores 127).
 */
static int bf_overflow_signed(int64_t v, int64_t incr, unsigned bits, int mode, int64_t *res)
{
	int64_t max = bits == 64 ? INT64_MAX : (int64_t)((UINT64_C(1) << (bits - 1)) - 1);
	int64_t min = -max - 1;
	__int128 sum = (__int128)v + incr;
	int dir;

	if (sum > max)
		dir = 1;
	else if (sum < min)
		dir = bits < 64 && (__int128)max - v > INT64_MAX ? 1 : -1;
	else {
		*res = (int64_t)sum;
		return 0;
	}
	if (mode == BF_WRAP)
		*res = bf_to_signed((uint64_t)sum & bf_mask(bits), bits);
	else
		*res = dir > 0 ? max : min;
	return dir;
}

/* Runs one SET or INCRBY on the buffer p (long enough for its field) and
 * writes its reply: the old value (SET) or the new one (INCRBY), or a null
 * when FAIL refuses an overflow. Counts a change in *changes when the
 * field's bits differ afterwards or the key was created or grown. */
static void bf_write(struct cmd_ctx *ctx, unsigned char *p, const struct bf_op *op,
		     bool grown, uint64_t *changes)
{
	uint64_t old = bf_get(p, SIZE_MAX, op->offset, op->bits), stored;
	long long reply;
	int over;

	if (op->sign) {
		int64_t oldv = bf_to_signed(old, op->bits), newv;

		if (op->code == BF_INCRBY) {
			over = bf_overflow_signed(oldv, op->arg, op->bits, op->overflow, &newv);
			reply = newv;
		} else {
			over = bf_overflow_signed(op->arg, 0, op->bits, op->overflow, &newv);
			reply = oldv;
		}
		stored = (uint64_t)newv;
	} else {
		uint64_t newv;

		if (op->code == BF_INCRBY) {
			over = bf_overflow_unsigned(old, op->arg, op->bits, op->overflow, &newv);
			reply = (long long)newv;
		} else {
			over = bf_overflow_unsigned((uint64_t)op->arg, 0, op->bits, op->overflow,
						    &newv);
			reply = (long long)old;
		}
		stored = newv;
	}
	if (over && op->overflow == BF_FAIL) {
		resp_w_null(ctx->w);
		return;
	}
	resp_w_int(ctx->w, reply);
	bf_set(p, op->offset, op->bits, stored);
	if (grown || (stored & bf_mask(op->bits)) != old)
		(*changes)++;
}

/* A field type from argv[i]: 'i' or 'u' and a width, 1..64 signed and
 * 1..63 unsigned (a u64 could not be replied as a RESP integer). */
static bool bf_parse_type(struct cmd_ctx *ctx, int i, bool *sign, unsigned *bits)
{
	const struct cmd_arg *a = &ctx->argv[i];
	long long n;

	if (a->len == 0 || (a->p[0] != 'i' && a->p[0] != 'u'))
		goto bad;
	*sign = a->p[0] == 'i';
	/* Redis reads the width as a C string, which ends at a NUL byte. */
	if (!strutil_to_ll(a->p + 1, strnlen(a->p + 1, a->len - 1), &n) ||
	    n < 1 || n > (*sign ? 64 : 63))
		goto bad;
	*bits = (unsigned)n;
	return true;
bad:
	resp_w_error(ctx->w, BIT_ERR_TYPE);
	return false;
}

/*
 * Parses the subcommands from argv[2] into ops (room for one per three
 * arguments). OVERFLOW applies to the ops after it. Returns the number of
 * ops, or -1 after replying an error; *max_bit is the highest bit a write
 * touches and *writes whether there is any.
 */
static int bf_parse(struct cmd_ctx *ctx, struct bf_op *ops, uint64_t *max_bit, bool *writes)
{
	int n = 0, mode = BF_WRAP;

	*max_bit = 0;
	*writes = false;
	for (int j = 2; j < ctx->argc; j++) {
		int left = ctx->argc - j - 1;
		struct bf_op *op = &ops[n];
		unsigned bits;
		bool sign;
		uint64_t off;
		long long arg = 0;
		int code;

		if (cmd_arg_is(ctx, j, "get") && left >= 2) {
			code = BF_GET;
		} else if (cmd_arg_is(ctx, j, "set") && left >= 3) {
			code = BF_SET;
		} else if (cmd_arg_is(ctx, j, "incrby") && left >= 3) {
			code = BF_INCRBY;
		} else if (cmd_arg_is(ctx, j, "overflow") && left >= 1) {
			j++;
			if (cmd_arg_is(ctx, j, "wrap")) {
				mode = BF_WRAP;
			} else if (cmd_arg_is(ctx, j, "sat")) {
				mode = BF_SAT;
			} else if (cmd_arg_is(ctx, j, "fail")) {
				mode = BF_FAIL;
			} else {
				resp_w_error(ctx->w, "Invalid OVERFLOW type specified");
				return -1;
			}
			continue;
		} else {
			cmd_reply_syntax(ctx);
			return -1;
		}
		if (!bf_parse_type(ctx, j + 1, &sign, &bits) ||
		    !bit_parse_offset(ctx, j + 2, bits, &off))
			return -1;
		if (code != BF_GET) {
			*writes = true;
			*max_bit = MAX(*max_bit, off + bits - 1);
			if (!cmd_arg_ll(ctx, j + 3, &arg))
				return -1;
		}
		*op = (struct bf_op){ .offset = off, .arg = arg, .code = (uint8_t)code,
				      .overflow = (uint8_t)mode, .bits = (uint8_t)bits,
				      .sign = sign };
		n++;
		j += code == BF_GET ? 2 : 3;
	}
	return n;
}

/*
 * BITFIELD key [GET type off | SET type off v | INCRBY type off n |
 * OVERFLOW WRAP|SAT|FAIL] ...
 *
 * Every subcommand is parsed before any runs, so a bad one anywhere fails
 * the whole call with nothing done. A call with a write grows the value
 * once to its farthest write and then runs the ops in order on it; a call
 * of GETs alone is a read and creates nothing. read_only is BITFIELD_RO,
 * which refuses writes after parsing them (as Redis does).
 */
static void bf_generic(struct cmd_ctx *ctx, bool read_only)
{
	const struct cmd_arg *key = &ctx->argv[1];
	struct bf_op *ops = mem_alloc(((size_t)ctx->argc / 3 + 1) * sizeof(*ops));
	struct kv_db *db = NULL;
	struct bit_view v;
	uint64_t max_bit, changes = 0;
	bool writes, grown = false;
	int n = bf_parse(ctx, ops, &max_bit, &writes);

	if (n < 0)
		goto out_free_ops;
	if (!writes) {
		struct kv_entry *e;

		if (!bit_read(ctx, 1, &e, &v))
			goto out_free_ops;
	} else {
		struct kv_raw *r;

		if (read_only) {
			resp_w_error(ctx->w, "BITFIELD_RO only supports the GET subcommand");
			goto out_free_ops;
		}
		r = bit_writable(ctx, (size_t)(max_bit >> 3) + 1, &db, &grown);
		if (!r)
			goto out_free_ops;
		v.p = (const unsigned char *)r->data;
		v.len = r->len;
	}

	resp_w_array(ctx->w, (size_t)n);
	for (int k = 0; k < n; k++) {
		const struct bf_op *op = &ops[k];

		uint64_t u;

		if (op->code != BF_GET) {
			/* A call with writes reads v.p from the raw buffer. */
			bf_write(ctx, (unsigned char *)v.p, op, grown, &changes);
			continue;
		}
		u = bf_get(v.p, v.len, op->offset, op->bits);
		resp_w_int(ctx->w, op->sign ? bf_to_signed(u, op->bits) : (long long)u);
	}
	if (changes) {
		kv_signal_modified(db, key->p, key->len);
		ctx->dirty += changes;
	}
out_free_ops:
	mem_free(ops);
}

static void cmd_bitfield(struct cmd_ctx *ctx)
{
	bf_generic(ctx, false);
}

static void cmd_bitfield_ro(struct cmd_ctx *ctx)
{
	bf_generic(ctx, true);
}

/* ---- the table ---- */

#define BIT_RD_FAST (ACL(ACL_READ) | ACL(ACL_BITMAP) | ACL(ACL_FAST))
#define BIT_RD_SLOW (ACL(ACL_READ) | ACL(ACL_BITMAP) | ACL(ACL_SLOW))
#define BIT_WR_SLOW (ACL(ACL_WRITE) | ACL(ACL_BITMAP) | ACL(ACL_SLOW))

#define BIT_CMD(nm, f, ar, fl, fk, lk, st, acl_, since_, sum, cx)			\
	{ .name = (nm), .fn = (f), .arity = (ar), .flags = (fl), .first_key = (fk),	\
	  .last_key = (lk), .key_step = (st), .acl = (acl_), .group = "bitmap",	\
	  .since = (since_), .summary = (sum), .complexity = (cx) }

const struct cmd_def cmd_bit_defs[] = {
	BIT_CMD("setbit", cmd_setbit, 4, CMD_WRITE | CMD_DENYOOM | CMD_BLOB_BYTES, 1, 1, 1, BIT_WR_SLOW, "2.2.0",
		"Sets or clears one bit of a string value, padding it with zero bytes as "
		"needed, and returns the bit's previous value.", "O(1)"),
	BIT_CMD("getbit", cmd_getbit, 3, CMD_READONLY | CMD_FAST | CMD_BLOB_BYTES, 1, 1, 1, BIT_RD_FAST, "2.2.0",
		"Returns one bit of a string value; bits past its end are 0.", "O(1)"),
	BIT_CMD("bitcount", cmd_bitcount, -2, CMD_READONLY | CMD_BLOB_BYTES, 1, 1, 1, BIT_RD_SLOW, "2.6.0",
		"Counts the bits set to 1 in a string value, optionally within a range of "
		"bytes or bits.", "O(N)"),
	BIT_CMD("bitpos", cmd_bitpos, -3, CMD_READONLY | CMD_BLOB_BYTES, 1, 1, 1, BIT_RD_SLOW, "2.8.7",
		"Finds the first bit set to 1, or to 0, in a string value, optionally within "
		"a range of bytes or bits.", "O(N)"),
	BIT_CMD("bitop", cmd_bitop, -4, CMD_WRITE | CMD_DENYOOM | CMD_BLOB_BYTES, 2, -1, 1, BIT_WR_SLOW, "2.6.0",
		"Stores at a key the bitwise AND, OR or XOR of string values, or the NOT of "
		"one.", "O(N)"),
	BIT_CMD("bitfield", cmd_bitfield, -2, CMD_WRITE | CMD_DENYOOM | CMD_BLOB_BYTES, 1, 1, 1, BIT_WR_SLOW,
		"3.2.0", "Reads, writes and increments integer fields of any width up to 64 "
		"bits at any bit offset of a string value.", "O(1) for each subcommand specified"),
	BIT_CMD("bitfield_ro", cmd_bitfield_ro, -2, CMD_READONLY | CMD_FAST | CMD_BLOB_BYTES, 1, 1, 1, BIT_RD_FAST,
		"6.0.0", "Reads integer fields of a string value: the read-only form of "
		"BITFIELD.", "O(1) for each subcommand specified"),
	{ .name = NULL },
};
