/*
 * kv.c - the in-memory keyspace.
 *
 * Entries are single allocations: the header, the key, and for strings of at
 * most KV_EMBSTR_MAX bytes the value ("embstr"), so a small key costs one
 * malloc. A string is stored as an integer when its text is a canonical
 * decimal of at most 20 bytes (Redis's "int" encoding); a longer one or one
 * that has been edited (APPEND, SETRANGE) lives in a struct kv_raw.
 *
 * Each database keeps, besides its dict, a vector of the entries that carry
 * a TTL. An entry knows its slot in that vector (vidx), so adding, removing
 * and sampling a random volatile key are O(1). The active expiry cycle and
 * volatile-* eviction sample from it.
 *
 * Expiry follows Redis: a key is expired once now > expire_ms. Lookups delete
 * an expired key when they meet it (lazy expiry); kv_active_expire() samples
 * volatile keys on a timer and keeps going while more than a quarter of a
 * sample was expired, within a time budget, so keys nobody touches still
 * disappear and no cycle holds the loop for long.
 *
 * LRU and LFU data share the 32-bit lru field exactly as Redis lays them out:
 * LRU is a 24-bit clock in seconds; LFU is 16 bits of minutes (for decay) and
 * an 8-bit logarithmic counter. Which one is kept follows maxmemory-policy.
 */
#include "kv.h"
#include "cfg.h"
#include "mem.h"
#include "strutil.h"
#include "util.h"

#include <string.h>
#include <time.h>

#define LRU_CLOCK_MAX ((1u << 24) - 1)
#define LFU_INIT_VAL 5

const struct kv_blob_hooks *kv_blob_hooks;
const struct kv_server_hooks *kv_server_hooks;

extern const struct kv_type_ops kv_list_ops __attribute__((weak));
extern const struct kv_type_ops kv_set_ops __attribute__((weak));
extern const struct kv_type_ops kv_zset_ops __attribute__((weak));
extern const struct kv_type_ops kv_hash_ops __attribute__((weak));

const struct kv_type_ops *kv_type_ops(int type)
{
	switch (type) {
	case KV_LIST: return &kv_list_ops;
	case KV_SET: return &kv_set_ops;
	case KV_ZSET: return &kv_zset_ops;
	case KV_HASH: return &kv_hash_ops;
	default: return NULL;
	}
}

void kv_signal_modified(struct kv_db *db, const char *key, size_t klen)
{
	if (unlikely(db->nwatch) && kv_server_hooks && kv_server_hooks->modified)
		kv_server_hooks->modified(db, key, klen);
}

void kv_signal_ready(struct kv_db *db, const char *key, size_t klen)
{
	if (unlikely(db->nblock) && kv_server_hooks && kv_server_hooks->ready)
		kv_server_hooks->ready(db, key, klen);
}
_Thread_local int64_t kv_now_ms;
static _Thread_local uint64_t kv_rng_state;

void kv_clock_update(void)
{
	kv_now_ms = util_mstime();
}

/* xorshift64*: cheap randomness for sampling and LFU increments. */
static uint64_t kv_rand(void)
{
	uint64_t x = kv_rng_state;

	if (unlikely(!x))
		x = (uint64_t)util_monotonic_us() * 0x9E3779B97F4A7C15ull | 1;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	kv_rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static void kv_node_key(const struct dict_node *n, const char **key, size_t *len)
{
	const struct kv_entry *e = (const struct kv_entry *)n;

	*key = e->key;
	*len = e->klen;
}

static const struct dict_ops kv_dict_ops = { .key = kv_node_key };

static bool kv_policy_is_lfu(void)
{
	return cfg.maxmemory_policy == MAXMEM_ALLKEYS_LFU ||
	       cfg.maxmemory_policy == MAXMEM_VOLATILE_LFU;
}

static uint32_t kv_lru_clock(void)
{
	return (uint32_t)(kv_now_ms / 1000) & LRU_CLOCK_MAX;
}

static uint32_t kv_lfu_minutes(void)
{
	return (uint32_t)(kv_now_ms / 60000) & 0xFFFF;
}

static uint32_t kv_lru_initial(void)
{
	if (kv_policy_is_lfu())
		return (kv_lfu_minutes() << 8) | LFU_INIT_VAL;
	return kv_lru_clock();
}

/* The LFU counter after decaying it by the minutes elapsed since the last
 * access (one step per lfu-decay-time minutes). */
static unsigned kv_lfu_decayed(const struct kv_entry *e)
{
	uint32_t last = e->lru >> 8, now = kv_lfu_minutes();
	unsigned counter = e->lru & 0xFF;
	uint32_t elapsed = now >= last ? now - last : 65535 - last + now;
	uint32_t periods = cfg.lfu_decay_time ? elapsed / (uint32_t)cfg.lfu_decay_time : 0;

	return periods > counter ? 0 : counter - periods;
}

void kv_touch(struct kv_entry *e)
{
	if (kv_policy_is_lfu()) {
		unsigned c = kv_lfu_decayed(e);

		if (c < 255) {
			double base = c > LFU_INIT_VAL ? c - LFU_INIT_VAL : 0;
			double p = 1.0 / (base * cfg.lfu_log_factor + 1);

			if ((double)(kv_rand() >> 11) / (double)(1ull << 53) < p)
				c++;
		}
		e->lru = (kv_lfu_minutes() << 8) | c;
	} else {
		e->lru = kv_lru_clock();
	}
}

uint64_t kv_idle_ms(const struct kv_entry *e)
{
	uint32_t now = kv_lru_clock(), then = e->lru & LRU_CLOCK_MAX;
	uint32_t idle = now >= then ? now - then : LRU_CLOCK_MAX - then + now;

	return (uint64_t)idle * 1000;
}

unsigned kv_lfu_freq(const struct kv_entry *e)
{
	return kv_lfu_decayed(e);
}

void kv_db_init(struct kv_db *db, int id, struct kv_stats *stats)
{
	memset(db, 0, sizeof(*db));
	db->dict = dict_create(&kv_dict_ops);
	db->id = id;
	db->stats = stats;
}

static void kv_value_free(struct kv_db *db, struct kv_entry *e)
{
	switch (e->enc) {
	case KV_ENC_RAW:
		mem_free(e->v.raw);
		break;
	case KV_ENC_BLOB:
		if (kv_blob_hooks && kv_blob_hooks->release)
			kv_blob_hooks->release(db, e);
		break;
	case KV_ENC_OTHER: {
		const struct kv_type_ops *ops = kv_type_ops(e->type);

		ASSERT(ops);
		ops->free(e->v.ptr);
		break;
	}
	default:
		break;
	}
}

static void kv_entry_free_cb(struct dict_node *n, void *arg)
{
	struct kv_entry *e = (struct kv_entry *)n;

	kv_value_free(arg, e);
	mem_free(e);
}

void kv_db_destroy(struct kv_db *db)
{
	dict_destroy(db->dict, kv_entry_free_cb, db);
	mem_free(db->vol);
	memset(db, 0, sizeof(*db));
}

size_t kv_db_size(const struct kv_db *db)
{
	return dict_size(db->dict);
}

size_t kv_db_volatile(const struct kv_db *db)
{
	return db->nvol;
}

size_t kv_db_flush(struct kv_db *db)
{
	size_t n = dict_size(db->dict);

	if (db->nwatch && kv_server_hooks && kv_server_hooks->flushed)
		kv_server_hooks->flushed(db);
	dict_clear(db->dict, kv_entry_free_cb, db);
	mem_free(db->vol);
	db->vol = NULL;
	db->nvol = db->capvol = 0;
	db->avg_ttl = 0;
	db->expire_cursor = 0;
	return n;
}

void kv_db_swap(struct kv_db *a, struct kv_db *b)
{
	struct kv_db t = *a;

	/* Watched keys that exist on either side change, before and after. */
	if (kv_server_hooks && kv_server_hooks->flushed) {
		if (a->nwatch)
			kv_server_hooks->flushed(a);
		if (b->nwatch)
			kv_server_hooks->flushed(b);
	}
	a->dict = b->dict;
	a->vol = b->vol;
	a->nvol = b->nvol;
	a->capvol = b->capvol;
	a->avg_ttl = b->avg_ttl;
	a->expire_cursor = b->expire_cursor;
	b->dict = t.dict;
	b->vol = t.vol;
	b->nvol = t.nvol;
	b->capvol = t.capvol;
	b->avg_ttl = t.avg_ttl;
	b->expire_cursor = t.expire_cursor;
	if (kv_server_hooks && kv_server_hooks->flushed) {
		if (a->nwatch)
			kv_server_hooks->flushed(a);
		if (b->nwatch)
			kv_server_hooks->flushed(b);
	}
	/* Clients blocked on keys of a db index may find them there now. */
	if (kv_server_hooks && kv_server_hooks->swapped) {
		if (a->nblock)
			kv_server_hooks->swapped(a);
		if (b->nblock)
			kv_server_hooks->swapped(b);
	}
	if (kv_blob_hooks && kv_blob_hooks->swapped)
		kv_blob_hooks->swapped(a, b);
}

/* --- the volatile vector --- */

static void kv_vol_add(struct kv_db *db, struct kv_entry *e)
{
	if (e->vidx != KV_NO_VIDX)
		return;
	if (db->nvol == db->capvol) {
		db->capvol = db->capvol ? db->capvol * 2 : 16;
		db->vol = mem_realloc(db->vol, db->capvol * sizeof(*db->vol));
	}
	e->vidx = (uint32_t)db->nvol;
	db->vol[db->nvol++] = e;
}

static void kv_vol_del(struct kv_db *db, struct kv_entry *e)
{
	uint32_t i = e->vidx;

	if (i == KV_NO_VIDX)
		return;
	ASSERT(i < db->nvol && db->vol[i] == e);
	db->vol[i] = db->vol[--db->nvol];
	db->vol[i]->vidx = i;
	e->vidx = KV_NO_VIDX;
	if (db->capvol > 64 && db->nvol < db->capvol / 4) {
		db->capvol /= 2;
		db->vol = mem_realloc(db->vol, db->capvol * sizeof(*db->vol));
	}
}

/* --- entries --- */

bool kv_is_expired(const struct kv_entry *e)
{
	return e->expire_ms && kv_now_ms > e->expire_ms;
}

static struct kv_entry *kv_entry_new(const char *key, size_t klen, size_t extra)
{
	struct kv_entry *e;

	ASSERT(klen <= UINT32_MAX);
	e = mem_alloc(sizeof(*e) + klen + extra);
	e->node.next = NULL;
	e->expire_ms = 0;
	e->klen = (uint32_t)klen;
	e->lru = kv_lru_initial();
	e->vidx = KV_NO_VIDX;
	e->type = KV_STRING;
	e->enc = KV_ENC_INT;
	e->pad = 0;
	e->v.i = 0;
	memcpy(e->key, key, klen);
	return e;
}

void kv_delete_entry(struct kv_db *db, struct kv_entry *e)
{
	kv_signal_modified(db, e->key, e->klen);
	kv_vol_del(db, e);
	dict_remove_node(db->dict, &e->node);
	kv_value_free(db, e);
	mem_free(e);
}

static void kv_expire_entry(struct kv_db *db, struct kv_entry *e)
{
	kv_delete_entry(db, e);
	db->stats->expired++;
}

struct kv_entry *kv_find_raw(struct kv_db *db, const char *key, size_t klen)
{
	return (struct kv_entry *)dict_find(db->dict, key, klen);
}

struct kv_entry *kv_lookup(struct kv_db *db, const char *key, size_t klen, unsigned flags)
{
	struct kv_entry *e = (struct kv_entry *)dict_find(db->dict, key, klen);

	if (e && kv_is_expired(e)) {
		kv_expire_entry(db, e);
		e = NULL;
	}
	if (flags & KV_LK_READ) {
		if (e)
			db->stats->hits++;
		else
			db->stats->misses++;
	}
	if (e && !(flags & KV_LK_NOTOUCH))
		kv_touch(e);
	return e;
}

bool kv_delete(struct kv_db *db, const char *key, size_t klen)
{
	struct kv_entry *e = (struct kv_entry *)dict_find(db->dict, key, klen);

	if (!e)
		return false;
	if (kv_is_expired(e)) {
		kv_expire_entry(db, e);
		return false;
	}
	kv_delete_entry(db, e);
	return true;
}

/* Puts new in the place of the entry with the same key, if any, carrying
 * over the TTL when keep_ttl; frees the old entry. */
static struct kv_entry *kv_install(struct kv_db *db, struct kv_entry *ne, bool keep_ttl)
{
	struct dict_node **ref = dict_find_ref(db->dict, ne->key, ne->klen);

	kv_signal_modified(db, ne->key, ne->klen);
	if (ref) {
		struct kv_entry *old = (struct kv_entry *)*ref;

		ne->node.next = old->node.next;
		*ref = &ne->node;
		if (old->vidx != KV_NO_VIDX) {
			if (keep_ttl && !kv_is_expired(old)) {
				ne->expire_ms = old->expire_ms;
				ne->vidx = old->vidx;
				db->vol[ne->vidx] = ne;
			} else {
				db->vol[old->vidx] = ne;
				ne->vidx = old->vidx;
				kv_vol_del(db, ne);
			}
		}
		kv_value_free(db, old);
		mem_free(old);
	} else {
		dict_insert(db->dict, &ne->node);
		/* A new key may be what a blocked client waits for (as Redis's
		 * dbAdd signals every added key). */
		kv_signal_ready(db, ne->key, ne->klen);
	}
	return ne;
}

struct kv_entry *kv_set_str(struct kv_db *db, const char *key, size_t klen,
			    const char *val, size_t vlen, unsigned flags)
{
	struct kv_entry *e;
	long long ll;

	if (!(flags & KV_SET_NOINT) && vlen <= 20 && strutil_to_ll(val, vlen, &ll))
		return kv_set_int(db, key, klen, ll, flags);
	if (vlen <= KV_EMBSTR_MAX) {
		e = kv_entry_new(key, klen, vlen);
		e->enc = KV_ENC_EMBSTR;
		e->v.elen = vlen;
		memcpy(e->key + klen, val, vlen);
	} else {
		e = kv_entry_new(key, klen, 0);
		e->enc = KV_ENC_RAW;
		e->v.raw = mem_alloc(sizeof(struct kv_raw) + vlen);
		e->v.raw->len = vlen;
		e->v.raw->cap = mem_usable(e->v.raw) - sizeof(struct kv_raw);
		memcpy(e->v.raw->data, val, vlen);
	}
	return kv_install(db, e, flags & KV_SET_KEEPTTL);
}

struct kv_entry *kv_set_int(struct kv_db *db, const char *key, size_t klen,
			    long long v, unsigned flags)
{
	struct kv_entry *e = kv_entry_new(key, klen, 0);

	e->enc = KV_ENC_INT;
	e->v.i = v;
	return kv_install(db, e, flags & KV_SET_KEEPTTL);
}

struct kv_entry *kv_set_blob(struct kv_db *db, const char *key, size_t klen, void *ref,
			     unsigned flags)
{
	struct kv_entry *e = kv_entry_new(key, klen, 0);

	e->enc = KV_ENC_BLOB;
	e->v.ptr = ref;
	return kv_install(db, e, flags & KV_SET_KEEPTTL);
}

struct kv_entry *kv_set_obj(struct kv_db *db, const char *key, size_t klen,
			    int type, int enc, void *ptr)
{
	struct kv_entry *e = kv_entry_new(key, klen, 0);

	e->type = (uint8_t)type;
	e->enc = (uint8_t)enc;
	e->v.ptr = ptr;
	return kv_install(db, e, false);
}

void kv_set_expire(struct kv_db *db, struct kv_entry *e, int64_t when_ms)
{
	kv_signal_modified(db, e->key, e->klen);
	e->expire_ms = when_ms;
	if (when_ms)
		kv_vol_add(db, e);
	else
		kv_vol_del(db, e);
	if (e->enc == KV_ENC_BLOB && kv_blob_hooks && kv_blob_hooks->expire)
		kv_blob_hooks->expire(db, e);
}

const char *kv_str_view(const struct kv_entry *e, size_t *len, char tmp[KV_INT_BUF])
{
	switch (e->enc) {
	case KV_ENC_INT:
		*len = (size_t)strutil_ll_to_str(tmp, KV_INT_BUF, e->v.i);
		return tmp;
	case KV_ENC_EMBSTR:
		*len = e->v.elen;
		return e->key + e->klen;
	case KV_ENC_RAW:
		*len = e->v.raw->len;
		return e->v.raw->data;
	default:
		*len = 0;
		return NULL;
	}
}

size_t kv_str_len(const struct kv_entry *e)
{
	char tmp[KV_INT_BUF];
	size_t len;

	if (e->enc == KV_ENC_BLOB)
		return kv_blob_hooks && kv_blob_hooks->length ? kv_blob_hooks->length(e->v.ptr) : 0;
	kv_str_view(e, &len, tmp);
	return len;
}

bool kv_str_get_ll(const struct kv_entry *e, long long *out)
{
	char tmp[KV_INT_BUF];
	const char *p;
	size_t len;

	if (e->type != KV_STRING)
		return false;
	if (e->enc == KV_ENC_INT) {
		*out = e->v.i;
		return true;
	}
	p = kv_str_view(e, &len, tmp);
	return p && strutil_to_ll(p, len, out);
}

struct kv_raw *kv_str_make_raw(struct kv_entry *e, size_t min_len)
{
	struct kv_raw *r;

	ASSERT(e->type == KV_STRING && e->enc != KV_ENC_BLOB);
	if (e->enc != KV_ENC_RAW) {
		char tmp[KV_INT_BUF];
		size_t len;
		const char *p = kv_str_view(e, &len, tmp);
		size_t cap = MAX(len, min_len);

		r = mem_alloc(sizeof(*r) + cap);
		r->cap = mem_usable(r) - sizeof(*r);
		r->len = len;
		memcpy(r->data, p, len);
		e->enc = KV_ENC_RAW;
		e->v.raw = r;
	}
	r = e->v.raw;
	if (min_len > r->cap) {
		/* Greedy growth as for appends: double up to 1 MiB, then +1 MiB. */
		size_t ncap = min_len < (1u << 20) ? min_len * 2 : min_len + (1u << 20);

		r = mem_realloc(r, sizeof(*r) + ncap);
		r->cap = mem_usable(r) - sizeof(*r);
		e->v.raw = r;
	}
	if (min_len > r->len) {
		memset(r->data + r->len, 0, min_len - r->len);
		r->len = min_len;
	}
	return r;
}

struct kv_entry *kv_move(struct kv_db *src, struct kv_entry *e, struct kv_db *dst,
			 const char *newkey, size_t newklen)
{
	size_t extra = e->enc == KV_ENC_EMBSTR ? e->v.elen : 0;
	struct kv_entry *ne = kv_entry_new(newkey, newklen, extra);
	int64_t when = e->expire_ms;

	ne->type = e->type;
	ne->enc = e->enc;
	ne->lru = e->lru;
	ne->v = e->v;
	if (extra)
		memcpy(ne->key + newklen, e->key + e->klen, extra);
	kv_signal_modified(src, e->key, e->klen);
	kv_signal_modified(dst, newkey, newklen);
	kv_vol_del(src, e);
	dict_remove_node(src->dict, &e->node);
	mem_free(e);	/* the value now belongs to ne */
	dict_insert(dst->dict, &ne->node);
	/* The blob tier re-keys the value's index record (its TTL is kept). */
	if (ne->enc == KV_ENC_BLOB && kv_blob_hooks && kv_blob_hooks->moved)
		kv_blob_hooks->moved(dst, ne);
	if (when)
		kv_set_expire(dst, ne, when);
	kv_signal_ready(dst, newkey, newklen);	/* RENAME / MOVE onto a waited-for key */
	return ne;
}

struct kv_entry *kv_copy(const struct kv_entry *e, struct kv_db *dst,
			 const char *newkey, size_t newklen)
{
	size_t extra = e->enc == KV_ENC_EMBSTR ? e->v.elen : 0;
	struct kv_entry *ne;
	void *dup = NULL;

	if (e->enc == KV_ENC_BLOB)
		return NULL;
	if (e->enc == KV_ENC_OTHER) {
		const struct kv_type_ops *ops = kv_type_ops(e->type);

		if (!ops || !ops->dup)
			return NULL;
		dup = ops->dup(e->v.ptr);
	}
	ne = kv_entry_new(newkey, newklen, extra);
	ne->type = e->type;
	ne->enc = e->enc;
	ne->v = e->v;
	if (extra)
		memcpy(ne->key + newklen, e->key + e->klen, extra);
	if (e->enc == KV_ENC_RAW) {
		struct kv_raw *r = mem_alloc(sizeof(*r) + e->v.raw->len);

		r->cap = mem_usable(r) - sizeof(*r);
		r->len = e->v.raw->len;
		memcpy(r->data, e->v.raw->data, r->len);
		ne->v.raw = r;
	} else if (e->enc == KV_ENC_OTHER) {
		ne->v.ptr = dup;
	}
	kv_signal_modified(dst, newkey, newklen);
	dict_insert(dst->dict, &ne->node);
	if (e->expire_ms)
		kv_set_expire(dst, ne, e->expire_ms);
	kv_signal_ready(dst, newkey, newklen);
	return ne;
}

const char *kv_type_name(int type)
{
	static const char *const names[KV_NTYPES] = { "string", "list", "set", "zset", "hash" };

	return type >= 0 && type < KV_NTYPES ? names[type] : "none";
}

const char *kv_enc_name(const struct kv_entry *e)
{
	switch (e->enc) {
	case KV_ENC_INT: return "int";
	case KV_ENC_EMBSTR: return "embstr";
	case KV_ENC_RAW: return "raw";
	case KV_ENC_BLOB: return "blob";
	default: {
		const struct kv_type_ops *ops = kv_type_ops(e->type);

		return ops && ops->enc_name ? ops->enc_name(e->v.ptr) : "unknown";
	}
	}
}

size_t kv_entry_mem(const struct kv_entry *e)
{
	size_t n = mem_usable(e) + sizeof(void *);	/* the bucket slot */

	if (e->enc == KV_ENC_RAW)
		n += mem_usable(e->v.raw);
	if (e->enc == KV_ENC_OTHER) {
		const struct kv_type_ops *ops = kv_type_ops(e->type);

		if (ops && ops->mem)
			n += ops->mem(e->v.ptr);
	}
	if (e->vidx != KV_NO_VIDX)
		n += sizeof(void *);
	return n;
}

struct kv_scan_arg {
	void (*fn)(struct kv_entry *e, void *arg);
	void *arg;
};

static void kv_scan_cb(struct dict_node *n, void *arg)
{
	struct kv_scan_arg *a = arg;

	a->fn((struct kv_entry *)n, a->arg);
}

uint64_t kv_scan(struct kv_db *db, uint64_t cursor,
		 void (*fn)(struct kv_entry *e, void *arg), void *arg)
{
	struct kv_scan_arg a = { fn, arg };

	return dict_scan(db->dict, cursor, kv_scan_cb, &a);
}

struct kv_entry *kv_random(struct kv_db *db)
{
	for (int tries = 0; tries < 100; tries++) {
		struct kv_entry *e = (struct kv_entry *)dict_random(db->dict);

		if (!e)
			return NULL;
		if (!kv_is_expired(e))
			return e;
		kv_expire_entry(db, e);
	}
	return NULL;
}

size_t kv_active_expire(struct kv_db *db, int64_t budget_us)
{
	int64_t start = util_monotonic_us();
	int per_round = 20 + 5 * (cfg.active_expire_effort > 0 ? cfg.active_expire_effort - 1 : 0);
	size_t removed = 0;

	for (int round = 0; db->nvol; round++) {
		int sampled = 0, expired = 0;
		uint64_t ttl_sum = 0;
		int ttl_n = 0;

		for (int i = 0; i < per_round && db->nvol; i++) {
			struct kv_entry *e = db->vol[kv_rand() % db->nvol];

			sampled++;
			if (kv_is_expired(e)) {
				kv_expire_entry(db, e);
				expired++;
			} else {
				ttl_sum += (uint64_t)(e->expire_ms - kv_now_ms);
				ttl_n++;
			}
		}
		removed += (size_t)expired;
		if (ttl_n) {
			uint64_t avg = ttl_sum / (uint64_t)ttl_n;

			db->avg_ttl = db->avg_ttl ? (db->avg_ttl / 50) * 49 + avg / 50 : avg;
		}
		/* Keep going only while a good share of the sample was stale. */
		if (expired * 4 <= sampled)
			break;
		if ((round & 7) == 7 && util_monotonic_us() - start > budget_us)
			break;
	}
	if (!db->nvol)
		db->avg_ttl = 0;
	db->stats->expire_cycle_us += (uint64_t)(util_monotonic_us() - start);
	return removed;
}

void kv_db_cron(struct kv_db *db, int64_t us)
{
	dict_maybe_shrink(db->dict);
	if (dict_is_rehashing(db->dict))
		dict_rehash_for(db->dict, us);
}

/* Score of an eviction candidate: higher is a better victim. */
static uint64_t kv_evict_score(const struct kv_entry *e, int policy)
{
	switch (policy) {
	case MAXMEM_ALLKEYS_LRU:
	case MAXMEM_VOLATILE_LRU:
		return kv_idle_ms(e);
	case MAXMEM_ALLKEYS_LFU:
	case MAXMEM_VOLATILE_LFU:
		return 255 - kv_lfu_decayed(e);
	case MAXMEM_VOLATILE_TTL:
		return UINT64_MAX - (uint64_t)e->expire_ms;
	default:
		return kv_rand();
	}
}

/*
 * The eviction pool. Sampling a few keys and evicting the best of them
 * forgets what every earlier sample found; Redis keeps the best candidates
 * of all samples in a small pool sorted by score and evicts from its top,
 * which makes the approximation far closer to true LRU (test_eviction: 289
 * of 300 keys read all along survive on redis-server 7.0, about 140 with
 * plain sampling). The pool holds key names, not entries, as keys may go
 * meanwhile: a candidate is looked up again when its turn comes, and
 * skipped if it is gone, has lost its TTL (volatile policies), or scores
 * lower now than when it was sampled (it was read or written since). One
 * pool per thread: a shard evicts only its own keys.
 */
#define EVPOOL_SIZE 16
#define EVPOOL_ROUNDS 8

struct evpool_ent {
	uint64_t score;
	int db;
	uint32_t klen, cap;
	char *key;
};

static _Thread_local struct evpool_ent evpool[EVPOOL_SIZE];	/* ascending score */
static _Thread_local int evpool_n;

void kv_evict_pool_free(void)
{
	for (int i = 0; i < EVPOOL_SIZE; i++) {
		mem_free(evpool[i].key);
		evpool[i].key = NULL;
		evpool[i].cap = 0;
	}
	evpool_n = 0;
}

static void evpool_insert(int db, const struct kv_entry *e, uint64_t score)
{
	struct evpool_ent t;
	int at = 0;

	for (int i = 0; i < evpool_n; i++)
		if (evpool[i].db == db && evpool[i].klen == e->klen &&
		    !memcmp(evpool[i].key, e->key, e->klen))
			return;		/* already a candidate */
	if (evpool_n == EVPOOL_SIZE) {
		if (score <= evpool[0].score)
			return;
		/* Drop the weakest, keeping its key buffer for this one. */
		t = evpool[0];
		memmove(&evpool[0], &evpool[1], (EVPOOL_SIZE - 1) * sizeof(evpool[0]));
		evpool[EVPOOL_SIZE - 1] = t;
		evpool_n--;
	}
	while (at < evpool_n && evpool[at].score < score)
		at++;
	t = evpool[evpool_n];		/* the free slot's key buffer */
	memmove(&evpool[at + 1], &evpool[at], (size_t)(evpool_n - at) * sizeof(evpool[0]));
	if (t.cap < e->klen) {
		mem_free(t.key);
		t.cap = MAX(e->klen, 32u);
		t.key = mem_alloc(t.cap);
	}
	memcpy(t.key, e->key, e->klen);
	t.klen = e->klen;
	t.db = db;
	t.score = score;
	evpool[at] = t;
	evpool_n++;
}

/* Up to samples (at most 64) random keys of db into pick: keys with a TTL
 * under the volatile policies, any key otherwise. Returns how many. */
static size_t evict_sample_db(struct kv_db *db, int policy, int samples, struct dict_node **pick)
{
	size_t n;

	if (policy >= MAXMEM_VOLATILE_LRU) {
		n = MIN((size_t)samples, db->nvol);
		for (size_t i = 0; i < n; i++)
			pick[i] = &db->vol[kv_rand() % db->nvol]->node;
		return n;
	}
	return dict_size(db->dict) ? dict_sample(db->dict, pick, (size_t)samples) : 0;
}

/* Samples each db into the pool; false if no db had a candidate. */
static bool evpool_populate(struct kv_db *dbs, int ndb, int policy, int samples)
{
	struct dict_node *pick[64];
	bool any = false;

	for (int d = 0; d < ndb; d++) {
		size_t n = evict_sample_db(&dbs[d], policy, samples, pick);

		for (size_t i = 0; i < n; i++) {
			struct kv_entry *e = (struct kv_entry *)pick[i];

			evpool_insert(d, e, kv_evict_score(e, policy));
			any = true;
		}
	}
	return any;
}

/* The best candidate still standing, taken out of the pool, or NULL. */
static struct kv_entry *evpool_pop(struct kv_db *dbs, int ndb, int policy, struct kv_db **dbp)
{
	bool volatile_only = policy >= MAXMEM_VOLATILE_LRU;

	while (evpool_n) {
		struct evpool_ent *c = &evpool[--evpool_n];
		struct kv_entry *e;

		if (c->db >= ndb)
			continue;
		e = kv_find_raw(&dbs[c->db], c->key, c->klen);
		if (!e || (volatile_only && !e->expire_ms) || kv_evict_score(e, policy) < c->score)
			continue;
		*dbp = &dbs[c->db];
		return e;
	}
	return NULL;
}

/* The random policies: the best-scoring (a random score) of a sample. */
static struct kv_entry *evict_sample(struct kv_db *dbs, int ndb, int policy, int samples,
				     struct kv_db **dbp)
{
	struct kv_entry *best = NULL;
	uint64_t best_score = 0;
	struct dict_node *pick[64];

	for (int d = 0; d < ndb; d++) {
		struct kv_db *db = &dbs[d];
		size_t n = evict_sample_db(db, policy, samples, pick);

		for (size_t i = 0; i < n; i++) {
			struct kv_entry *e = (struct kv_entry *)pick[i];
			uint64_t s = kv_evict_score(e, policy);

			if (!best || s > best_score) {
				best = e;
				*dbp = db;
				best_score = s;
			}
		}
	}
	return best;
}

size_t kv_evict_one(struct kv_db *dbs, int ndb, int policy, int samples)
{
	struct kv_entry *best = NULL;
	struct kv_db *best_db = NULL;
	size_t freed;

	if (policy == MAXMEM_NOEVICTION)
		return 0;
	samples = MAX(1, MIN(samples, 64));
	if (policy == MAXMEM_ALLKEYS_RANDOM || policy == MAXMEM_VOLATILE_RANDOM) {
		best = evict_sample(dbs, ndb, policy, samples, &best_db);
	} else {
		for (int round = 0; round < EVPOOL_ROUNDS && !best; round++) {
			if (!evpool_populate(dbs, ndb, policy, samples))
				break;
			best = evpool_pop(dbs, ndb, policy, &best_db);
		}
	}
	if (!best)
		return 0;
	freed = kv_entry_mem(best);
	kv_delete_entry(best_db, best);
	best_db->stats->evicted++;
	return freed;
}
