/*
 * kv.h - the in-memory keyspace: entries, databases, expiry, eviction.
 *
 * A shard owns `databases` struct kv_db, one per SELECT index. A database is
 * a kv_dict of entries plus a vector of the entries that carry a TTL (for the
 * active expiry cycle and volatile-* eviction, sampled at random).
 *
 * An entry is one allocation: header, key bytes, and for short strings the
 * value bytes too ("embstr"). String values are stored as:
 *   KV_ENC_INT     a 64-bit integer (a canonical decimal of at most 20 bytes)
 *   KV_ENC_EMBSTR  bytes inside the entry (<= KV_EMBSTR_MAX, set at creation)
 *   KV_ENC_RAW     a separately allocated struct kv_raw (grows in place)
 *   KV_ENC_BLOB    a reference owned by the blob tier (a large value on disk);
 *                  kv never reads it, it only hands it back through
 *                  kv_blob_hooks when the entry goes away.
 * This is the seam for the blob tier: every key, large or small, has an entry
 * here, so TYPE, TTL, EXISTS, STRLEN and SCAN never touch the disk.
 *
 * Time: kv reads the thread's cached clock kv_now_ms, which the dispatcher
 * refreshes before each command, so one command sees one instant.
 *
 * Threads: a database is touched only by the thread of the shard that owns
 * it, or by a coordinator while that shard is parked (shard.h). Stats
 * counters live in the owning shard's struct kv_stats.
 */
#ifndef STRATA_KV_H
#define STRATA_KV_H

#include "kv_dict.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kv_type { KV_STRING = 0, KV_LIST, KV_SET, KV_ZSET, KV_HASH, KV_NTYPES };
enum kv_enc { KV_ENC_INT = 0, KV_ENC_EMBSTR, KV_ENC_RAW, KV_ENC_BLOB, KV_ENC_OTHER };

#define KV_EMBSTR_MAX 44	/* as Redis: OBJECT ENCODING says embstr up to 44 bytes */
#define KV_NO_VIDX UINT32_MAX
#define KV_INT_BUF 24		/* room for any int64 in decimal */

/* A separately allocated string value. */
struct kv_raw {
	size_t len;		/* bytes of data */
	size_t cap;		/* bytes allocated for data */
	char data[];
};

struct kv_entry {
	struct dict_node node;	/* chain link, owned by the db's dict */
	int64_t expire_ms;	/* absolute unix ms of expiry; 0 = no TTL */
	uint32_t klen;		/* key length */
	uint32_t lru;		/* LRU clock (s, 24 bits) or LFU: minutes<<8 | counter */
	uint32_t vidx;		/* index in db->vol, or KV_NO_VIDX */
	uint8_t type;		/* enum kv_type */
	uint8_t enc;		/* enum kv_enc */
	uint16_t pad;
	union {
		int64_t i;	/* KV_ENC_INT */
		uint64_t elen;	/* KV_ENC_EMBSTR: value length; bytes follow the key */
		struct kv_raw *raw; /* KV_ENC_RAW */
		void *ptr;	/* KV_ENC_BLOB and other types */
	} v;
	char key[];		/* klen bytes, then the embstr value */
};

struct kv_stats {
	uint64_t hits;		/* keyspace_hits */
	uint64_t misses;	/* keyspace_misses */
	uint64_t expired;	/* expired_keys */
	uint64_t evicted;	/* evicted_keys */
	uint64_t expire_cycle_us; /* time spent in active expiry */
};

struct kv_db {
	struct dict *dict;	/* key -> struct kv_entry */
	struct kv_entry **vol;	/* entries with a TTL, in no order */
	size_t nvol, capvol;
	int id;			/* SELECT index */
	int owner;		/* index of the shard that owns it (set by the server) */
	struct kv_stats *stats;	/* the owning shard's counters (borrowed) */
	uint64_t avg_ttl;	/* running estimate for INFO keyspace, ms */
	uint64_t expire_cursor;	/* where the active cycle resumes in vol */
	void *watch_reg;	/* server layer: watched keys (multi.c) */
	void *block_reg;	/* server layer: keys clients block on */
	uint32_t nwatch;	/* keys with watchers, 0 = skip the hook */
	uint32_t nblock;	/* keys with blocked clients, 0 = skip the hook */
};

/* What kv tells the blob tier about entries of encoding KV_ENC_BLOB; set by
 * the blob tier, NULL before it. */
struct kv_blob_hooks {
	/* e (in db) is going away: deleted, overwritten, expired, evicted or
	 * flushed; its value reference is dropped. */
	void (*release)(struct kv_db *db, struct kv_entry *e);
	size_t (*length)(const void *ref);			/* value length */
	/* e was moved into dst under its current key (RENAME, MOVE). */
	void (*moved)(struct kv_db *dst, struct kv_entry *e);
	/* e's TTL changed. */
	void (*expire)(struct kv_db *db, struct kv_entry *e);
	/* a and b exchanged their keys (SWAPDB). */
	void (*swapped)(struct kv_db *a, struct kv_db *b);
};
extern const struct kv_blob_hooks *kv_blob_hooks;

/*
 * What kv needs from a value type other than strings. Each type module
 * defines its table (kv_list_ops, kv_set_ops, kv_zset_ops, kv_hash_ops) and
 * kv finds it through weak linkage: a type exists once its module is linked.
 */
struct kv_type_ops {
	void (*free)(void *ptr);			/* release the value */
	void *(*dup)(const void *ptr);			/* deep copy (COPY) */
	const char *(*enc_name)(const void *ptr);	/* OBJECT ENCODING */
	size_t (*mem)(const void *ptr);			/* bytes used (MEMORY USAGE) */
};
/* The ops of a type, or NULL if its module is not linked in. */
const struct kv_type_ops *kv_type_ops(int type);

/*
 * Hooks into the server layer, for WATCH and blocking commands. kv calls
 * modified() after every change it makes to a key (set, delete, TTL change,
 * expiry, eviction, flush); type modules call kv_signal_modified() after
 * changing a value in place, and kv_signal_ready() after adding elements a
 * blocked client may be waiting for. Both cost one branch when nobody
 * watches or blocks on the db (the counters below).
 */
struct kv_server_hooks {
	void (*modified)(struct kv_db *db, const char *key, size_t klen);
	void (*ready)(struct kv_db *db, const char *key, size_t klen);
	void (*flushed)(struct kv_db *db);	/* every key of db changed */
	void (*swapped)(struct kv_db *db);	/* db got another db's keys (SWAPDB) */
};
extern const struct kv_server_hooks *kv_server_hooks;
void kv_signal_modified(struct kv_db *db, const char *key, size_t klen);
void kv_signal_ready(struct kv_db *db, const char *key, size_t klen);

extern _Thread_local int64_t kv_now_ms;
/* Refreshes kv_now_ms from the wall clock. */
void kv_clock_update(void);

void kv_db_init(struct kv_db *db, int id, struct kv_stats *stats);
void kv_db_destroy(struct kv_db *db);
size_t kv_db_size(const struct kv_db *db);
size_t kv_db_volatile(const struct kv_db *db);
/* Removes every key; returns how many there were. */
size_t kv_db_flush(struct kv_db *db);
/* Exchanges the contents of two databases of the same shard (SWAPDB). */
void kv_db_swap(struct kv_db *a, struct kv_db *b);

/* Lookup flags. */
#define KV_LK_READ	0x1	/* count a keyspace hit or miss */
#define KV_LK_NOTOUCH	0x2	/* leave the LRU/LFU data as it was */

/* The live entry for key, or NULL. An expired entry found is deleted (lazy
 * expiry) and counted, and NULL returned. Unless KV_LK_NOTOUCH, a found
 * entry's access time / frequency is updated. */
struct kv_entry *kv_lookup(struct kv_db *db, const char *key, size_t klen, unsigned flags);
/* The entry for key even if expired, without side effects. */
struct kv_entry *kv_find_raw(struct kv_db *db, const char *key, size_t klen);
bool kv_is_expired(const struct kv_entry *e);

/* Deletes key if live; returns true if it existed (and was not expired). */
bool kv_delete(struct kv_db *db, const char *key, size_t klen);
/* Deletes the entry (which is in db). */
void kv_delete_entry(struct kv_db *db, struct kv_entry *e);

/* SET semantics: key now holds a string with these bytes, replacing any
 * value of any type. The encoding is chosen as Redis does (int, embstr,
 * raw). With KV_SET_KEEPTTL an existing TTL is kept, otherwise cleared.
 * Returns the new entry (the old one, if any, is freed). */
#define KV_SET_KEEPTTL 0x1
#define KV_SET_NOINT	0x2	/* keep the text as a string even if it looks
				 * like an integer (INCRBYFLOAT, as Redis) */
struct kv_entry *kv_set_str(struct kv_db *db, const char *key, size_t klen,
			    const char *val, size_t vlen, unsigned flags);
/* The same with an integer value (INCR and friends keep the TTL: pass
 * KV_SET_KEEPTTL). */
struct kv_entry *kv_set_int(struct kv_db *db, const char *key, size_t klen,
			    long long v, unsigned flags);
/* Installs a string whose value lives in the blob tier (ref is the tier's),
 * with kv_set_str's KV_SET_KEEPTTL. */
struct kv_entry *kv_set_blob(struct kv_db *db, const char *key, size_t klen, void *ref,
			     unsigned flags);
/* Installs a value of another type (type != KV_STRING), taking ownership
 * of ptr; replaces any existing value; the TTL is cleared. */
struct kv_entry *kv_set_obj(struct kv_db *db, const char *key, size_t klen,
			    int type, int enc, void *ptr);

/* Sets (when_ms > 0) or removes (when_ms == 0) the TTL of e. */
void kv_set_expire(struct kv_db *db, struct kv_entry *e, int64_t when_ms);

/* The string value of e (type KV_STRING, not KV_ENC_BLOB) as bytes: a view
 * valid until e changes; an int is written into tmp (KV_INT_BUF bytes). */
const char *kv_str_view(const struct kv_entry *e, size_t *len, char tmp[KV_INT_BUF]);
/* Length of a string value (blob values through kv_blob_hooks). */
size_t kv_str_len(const struct kv_entry *e);
/* True if e holds an integer, which is stored in *out (INT encoding, or a
 * string that parses strictly). */
bool kv_str_get_ll(const struct kv_entry *e, long long *out);
/* Makes e's value a RAW string (converting INT/EMBSTR), growable to at least
 * min_len bytes (zero-filling new bytes beyond the current length up to
 * min_len) and returns it for in-place edits; e stays the same entry. */
struct kv_raw *kv_str_make_raw(struct kv_entry *e, size_t min_len);

/* Moves e from src to dst under a new key (RENAME, MOVE): the value and TTL
 * go along; dst must not contain newkey; src and dst may be the same db or
 * belong to different shards (under parking). Returns the new entry. */
struct kv_entry *kv_move(struct kv_db *src, struct kv_entry *e, struct kv_db *dst,
			 const char *newkey, size_t newklen);
/* A deep copy of e's value and TTL into dst under newkey (COPY), which must
 * be absent there. Returns the new entry, or NULL if the value cannot be
 * copied: a type without a copy function, or (until the blob tier provides a
 * copy) a KV_ENC_BLOB string. */
struct kv_entry *kv_copy(const struct kv_entry *e, struct kv_db *dst,
			 const char *newkey, size_t newklen);

const char *kv_type_name(int type);	/* "string", "list", ... */
const char *kv_enc_name(const struct kv_entry *e); /* "int", "embstr", "raw", "blob", ... */
/* Bytes of memory the entry and its value use (MEMORY USAGE). */
size_t kv_entry_mem(const struct kv_entry *e);
/* Idle time in ms (OBJECT IDLETIME) and LFU counter (OBJECT FREQ). */
uint64_t kv_idle_ms(const struct kv_entry *e);
unsigned kv_lfu_freq(const struct kv_entry *e);
/* Marks an access now (LRU clock or LFU increment per policy). */
void kv_touch(struct kv_entry *e);

/* Calls fn for every entry in the bucket(s) at cursor (see dict_scan);
 * returns the next cursor. fn must not change the db. Expired entries are
 * passed too: callers check kv_is_expired(). */
uint64_t kv_scan(struct kv_db *db, uint64_t cursor,
		 void (*fn)(struct kv_entry *e, void *arg), void *arg);
/* A random live key's entry, or NULL if the db is empty. */
struct kv_entry *kv_random(struct kv_db *db);

/* One active expiry pass over db for at most budget_us; returns how many
 * keys it removed. */
size_t kv_active_expire(struct kv_db *db, int64_t budget_us);
/* Incremental rehash and shrink for about us microseconds. */
void kv_db_cron(struct kv_db *db, int64_t us);

/* Evicts one key chosen by the maxmemory policy among dbs[0..ndb), sampling
 * maxmemory-samples keys per db into the calling thread's pool of the best
 * candidates seen (the LRU, LFU and TTL policies, as Redis does); returns the
 * bytes freed (0 if nothing could be evicted under the policy). */
size_t kv_evict_one(struct kv_db *dbs, int ndb, int policy, int samples);
/* Frees the calling thread's eviction pool (at the end of a shard). */
void kv_evict_pool_free(void);

#endif
