/*
 * test_blob_index.c - the LMDB index of large values: CRC32C vectors, records
 * read back field for field, keys past LMDB's 511-byte limit, group commit
 * from four threads, per-key order, units kept in one commit, reopen, the three sync modes, records
 * acknowledged before a SIGKILL, allocators rebuilt from a scan after reopen,
 * a timed scan of 100k records, a full map, a full disk (a small tmpfs),
 * failed and fatal commits, and damaged records.
 *
 * Each test gets its own directory from mkdtemp() under /tmp and removes it.
 * Batches are made deterministic where a test depends on them with a "gate":
 * a mutation whose done() holds the writer until the test has queued the
 * mutations that must form the next batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blob_alloc.h"
#include "blob_index.h"
#include "util.h"

/* ---- helpers ---- */

static char test_dir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_dir(void **state)
{
	(void)state;
	strcpy(test_dir, "/tmp/strata-bix.XXXXXX");
	return mkdtemp(test_dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	return nftw(test_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)

static struct blob_index *open_ix(enum blob_index_sync sync, size_t map_size, unsigned max_batch)
{
	struct blob_index_cfg cfg = {
		.dir = test_dir, .map_size = map_size, .sync = sync, .max_batch = max_batch,
	};
	struct blob_index *ix = NULL;

	assert_int_equal(blob_index_open(&cfg, &ix), 0);
	assert_non_null(ix);
	return ix;
}

/* A record that depends only on seed, with 1..16 extents. */
static struct blob_index_rec make_rec(uint64_t seed)
{
	struct blob_index_rec r;

	memset(&r, 0, sizeof(r));
	r.file = (uint32_t)(seed % 7);
	r.nextents = (uint32_t)(1 + seed % BLOB_INDEX_MAX_EXTENTS);
	for (uint32_t i = 0; i < r.nextents; i++) {
		r.ext[i].off = (seed << 24) + (uint64_t)i * 65536;
		r.ext[i].len = 65536;
	}
	r.len = (uint64_t)r.nextents * 65536 - seed % 100;
	r.crc = (uint32_t)(seed * 2654435761u);
	r.expire_ms = seed % 3 ? 0 : 1700000000000 + (int64_t)seed;
	return r;
}

static bool rec_eq(const struct blob_index_rec *a, const struct blob_index_rec *b)
{
	if (a->file != b->file || a->crc != b->crc || a->len != b->len ||
	    a->expire_ms != b->expire_ms || a->nextents != b->nextents)
		return false;
	for (uint32_t i = 0; i < a->nextents; i++)
		if (a->ext[i].off != b->ext[i].off || a->ext[i].len != b->ext[i].len)
			return false;
	return true;
}

static void assert_rec_equal(const struct blob_index_rec *a, const struct blob_index_rec *b)
{
	assert_int_equal(a->file, b->file);
	assert_int_equal(a->crc, b->crc);
	assert_int_equal(a->len, b->len);
	assert_int_equal(a->expire_ms, b->expire_ms);
	assert_int_equal(a->nextents, b->nextents);
	for (uint32_t i = 0; i < a->nextents; i++) {
		assert_int_equal(a->ext[i].off, b->ext[i].off);
		assert_int_equal(a->ext[i].len, b->ext[i].len);
	}
}

static size_t key_of(char *buf, size_t cap, uint64_t id)
{
	return (size_t)snprintf(buf, cap, "key:%llu", (unsigned long long)id);
}

static void assert_present(struct blob_index *ix, int db, uint64_t id)
{
	struct blob_index_rec got, want = make_rec(id);
	char k[32];
	size_t kl = key_of(k, sizeof(k), id);

	assert_int_equal(blob_index_get(ix, db, k, kl, &got), 0);
	assert_rec_equal(&got, &want);
}

static void assert_absent(struct blob_index *ix, int db, uint64_t id)
{
	char k[32];
	size_t kl = key_of(k, sizeof(k), id);

	assert_int_equal(blob_index_get(ix, db, k, kl, NULL), -ENOENT);
}

static double now_s(void)
{
	return (double)util_monotonic_us() / 1e6;
}

/*
 * Completion log shared by the callbacks: res[id] is what done() got for
 * the mutation whose cookie is id (INT_MIN until then), seq[] the ids in the
 * order done() was called. Callbacks only record, under the mutex: cmocka's
 * asserts must stay on the test's thread.
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t got, cap;
	int *res;
	size_t *seq;
	bool overflow;
} W = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void w_reset(size_t cap)
{
	free(W.res);
	free(W.seq);
	W.res = malloc(cap * sizeof(*W.res));
	W.seq = malloc(cap * sizeof(*W.seq));
	assert_non_null(W.res);
	assert_non_null(W.seq);
	for (size_t i = 0; i < cap; i++)
		W.res[i] = INT_MIN;
	W.got = 0;
	W.cap = cap;
	W.overflow = false;
}

static void w_done(void *cookie, int err)
{
	size_t id = (size_t)(uintptr_t)cookie;

	pthread_mutex_lock(&W.mu);
	if (id >= W.cap || W.got >= W.cap || W.res[id] != INT_MIN) {
		W.overflow = true;
	} else {
		W.res[id] = err;
		W.seq[W.got++] = id;
	}
	pthread_cond_broadcast(&W.cv);
	pthread_mutex_unlock(&W.mu);
}

#define ID(x) ((void *)(uintptr_t)(x))

/* Waits until n callbacks have come, at most 20 s. */
static void w_wait(size_t n)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 20;
	pthread_mutex_lock(&W.mu);
	while (W.got < n && !W.overflow)
		if (pthread_cond_timedwait(&W.cv, &W.mu, &dl) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&W.mu);
	assert_false(W.overflow);
	assert_int_equal(W.got, n);
}

/* One mutation, waited for. */
struct oneshot {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int err;
};

static void oneshot_done(void *cookie, int err)
{
	struct oneshot *o = cookie;

	pthread_mutex_lock(&o->mu);
	o->done = true;
	o->err = err;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

static int oneshot_wait(struct oneshot *o)
{
	pthread_mutex_lock(&o->mu);
	while (!o->done)
		pthread_cond_wait(&o->cv, &o->mu);
	pthread_mutex_unlock(&o->mu);
	return o->err;
}

#define ONESHOT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 }

static int put_wait(struct blob_index *ix, int db, const void *k, size_t kl,
		    const struct blob_index_rec *rec)
{
	struct oneshot o = ONESHOT;
	int rc = blob_index_put(ix, db, k, kl, rec, oneshot_done, &o);

	return rc ? rc : oneshot_wait(&o);
}

static int del_wait(struct blob_index *ix, int db, const void *k, size_t kl)
{
	struct oneshot o = ONESHOT;
	int rc = blob_index_del(ix, db, k, kl, oneshot_done, &o);

	return rc ? rc : oneshot_wait(&o);
}

static int put_id_wait(struct blob_index *ix, uint64_t id)
{
	struct blob_index_rec r = make_rec(id);
	char k[32];

	return put_wait(ix, 0, k, key_of(k, sizeof(k), id), &r);
}

/*
 * The gate: a put whose done() blocks the writer until gate_open(). While it
 * is closed, everything the test submits piles up and becomes one batch.
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, open;
} G = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void gate_done(void *cookie, int err)
{
	(void)cookie;
	(void)err;
	pthread_mutex_lock(&G.mu);
	G.entered = true;
	pthread_cond_broadcast(&G.cv);
	while (!G.open)
		pthread_cond_wait(&G.cv, &G.mu);
	pthread_mutex_unlock(&G.mu);
}

/* Returns once the writer is held in gate_done(). */
static void gate_close(struct blob_index *ix)
{
	struct blob_index_rec r = make_rec(999999);

	G.entered = false;
	G.open = false;
	assert_int_equal(blob_index_put(ix, 0, "gate", 4, &r, gate_done, NULL), 0);
	pthread_mutex_lock(&G.mu);
	while (!G.entered)
		pthread_cond_wait(&G.cv, &G.mu);
	pthread_mutex_unlock(&G.mu);
}

static void gate_open(void)
{
	pthread_mutex_lock(&G.mu);
	G.open = true;
	pthread_cond_broadcast(&G.cv);
	pthread_mutex_unlock(&G.mu);
}

/* Submits put(id) with cookie id, not waiting. */
static void put_id(struct blob_index *ix, uint64_t id, size_t cookie)
{
	struct blob_index_rec r = make_rec(id);
	char k[32];

	assert_int_equal(blob_index_put(ix, 0, k, key_of(k, sizeof(k), id), &r, w_done,
					ID(cookie)), 0);
}

static void del_id(struct blob_index *ix, uint64_t id, size_t cookie)
{
	char k[32];

	assert_int_equal(blob_index_del(ix, 0, k, key_of(k, sizeof(k), id), w_done,
					ID(cookie)), 0);
}

/* Counts records and checks each against make_rec() of the id in its key. */
struct scan_count {
	size_t n, mismatched;
};

static int scan_counter(void *arg, int db, const void *key, size_t klen,
			const struct blob_index_rec *rec)
{
	struct scan_count *c = arg;
	char buf[32];
	unsigned long long id;
	struct blob_index_rec want;

	c->n++;
	if (db != 0 || klen >= sizeof(buf)) {
		c->mismatched++;
		return 0;
	}
	memcpy(buf, key, klen);
	buf[klen] = 0;
	if (sscanf(buf, "key:%llu", &id) != 1) {
		c->mismatched++;
		return 0;
	}
	want = make_rec(id);
	if (!rec_eq(rec, &want))
		c->mismatched++;
	return 0;
}

/* ---- CRC32C ---- */

static void test_crc32c_known_vectors(void **state)
{
	unsigned char buf[32];

	(void)state;
	assert_int_equal(blob_crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(blob_crc32c_sw(0, "123456789", 9), 0xe3069283);
	assert_int_equal(blob_crc32c(0, "", 0), 0);
	/* RFC 3720 (iSCSI), B.4. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(blob_crc32c(0, buf, 32), 0x8a9136aa);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(blob_crc32c(0, buf, 32), 0x62a8ab43);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	assert_int_equal(blob_crc32c(0, buf, 32), 0x46dd794e);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	assert_int_equal(blob_crc32c(0, buf, 32), 0x113fdb5c);
}

static void test_crc32c_is_the_same_at_every_alignment_length_and_split(void **state)
{
	unsigned char buf[1100];
	uint64_t s = 88172645463325252ull;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		buf[i] = (unsigned char)s;
	}
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; n <= 1024; n += n < 64 ? 1 : 37) {
			uint32_t want = blob_crc32c_sw(0, buf + off, n);

			assert_int_equal(blob_crc32c(0, buf + off, n), want);
			for (size_t cut = 0; cut <= n; cut += 1 + n / 7) {
				uint32_t c = blob_crc32c(0, buf + off, cut);

				assert_int_equal(blob_crc32c(c, buf + off + cut, n - cut), want);
				c = blob_crc32c_sw(0, buf + off, cut);
				assert_int_equal(blob_crc32c_sw(c, buf + off + cut, n - cut), want);
			}
		}
	}
}

/* Long buffers take the three-lane path of the hardware version: lengths
 * around multiples of its block (3 x 4 KiB), every start alignment, and a
 * value of 1 MiB plus a bit split at odd places. */
static void test_crc32c_long_buffers_match_the_portable_version(void **state)
{
	size_t size = (1u << 20) + 4099;
	unsigned char *buf = malloc(size);
	uint64_t s = 0x9e3779b97f4a7c15ull;
	static const size_t lens[] = { 12287, 12288, 12289, 12295, 24576, 24583, 36863,
				       65536, 65537, 131072 + 5 };

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < size; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		buf[i] = (unsigned char)s;
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
			assert_int_equal(blob_crc32c(7, buf + off, lens[k]),
					 blob_crc32c_sw(7, buf + off, lens[k]));
	{
		uint32_t want = blob_crc32c_sw(0, buf + 3, size - 3);
		uint32_t c = blob_crc32c(0, buf + 3, 40000);

		assert_int_equal(blob_crc32c(0, buf + 3, size - 3), want);
		c = blob_crc32c(c, buf + 40003, 300001);
		assert_int_equal(blob_crc32c(c, buf + 340004, size - 340004), want);
	}
	memset(buf, 0, size);
	assert_int_equal(blob_crc32c(0, buf, size), blob_crc32c_sw(0, buf, size));
	memset(buf, 0xff, size);
	assert_int_equal(blob_crc32c(0xffffffffu, buf, size), blob_crc32c_sw(0xffffffffu, buf, size));
	free(buf);
}

/* ---- basics ---- */

static void test_put_get_del_round_trip(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct blob_index_rec r = make_rec(42), got;
	struct blob_index_stats st;

	(void)state;
	r.nextents = 3;
	r.len = 3 * 65536 - 1;
	r.expire_ms = -5;		/* negative survives the round trip */
	assert_int_equal(put_wait(ix, 0, "alpha", 5, &r), 0);
	memset(&got, 0xee, sizeof(got));
	assert_int_equal(blob_index_get(ix, 0, "alpha", 5, &got), 0);
	assert_rec_equal(&got, &r);
	assert_int_equal(blob_index_get(ix, 0, "alph", 4, NULL), -ENOENT);

	r.file = 9;			/* overwrite */
	assert_int_equal(put_wait(ix, 0, "alpha", 5, &r), 0);
	assert_int_equal(blob_index_get(ix, 0, "alpha", 5, &got), 0);
	assert_int_equal(got.file, 9);

	assert_int_equal(del_wait(ix, 0, "alpha", 5), 0);
	assert_int_equal(blob_index_get(ix, 0, "alpha", 5, &got), -ENOENT);
	assert_int_equal(del_wait(ix, 0, "alpha", 5), -ENOENT);

	/* The empty key and a record without extents are fine too. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(put_wait(ix, 3, "", 0, &r), 0);
	assert_int_equal(blob_index_get(ix, 3, "", 0, &got), 0);
	assert_rec_equal(&got, &r);

	blob_index_stats(ix, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.errors, 0);		/* -ENOENT is not an error */
	assert_int_equal(st.records, 5);
	assert_int_equal(st.failed, 0);
	assert_true(st.map_used > 0 && st.map_used <= st.map_size);
	blob_index_close(ix);
}

static void test_bad_arguments_are_refused_without_a_callback(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct blob_index_rec r = make_rec(1);
	struct blob_index_stats st;
	struct blob_index_cfg cfg = { .dir = NULL };
	struct blob_index *bad = (void *)1;

	(void)state;
	w_reset(1);
	assert_int_equal(blob_index_put(ix, -1, "k", 1, &r, w_done, ID(0)), -EINVAL);
	assert_int_equal(blob_index_del(ix, -1, "k", 1, w_done, ID(0)), -EINVAL);
	assert_int_equal(blob_index_put(ix, 0, "k", 1, NULL, w_done, ID(0)), -EINVAL);
	assert_int_equal(blob_index_put(ix, 0, NULL, 1, &r, w_done, ID(0)), -EINVAL);
	assert_int_equal(blob_index_put(ix, 0, "k", (size_t)BLOB_INDEX_MAX_KEY + 1, &r,
					w_done, ID(0)), -EINVAL);
	r.nextents = BLOB_INDEX_MAX_EXTENTS + 1;
	assert_int_equal(blob_index_put(ix, 0, "k", 1, &r, w_done, ID(0)), -EINVAL);
	r = make_rec(1);
	r.len = r.nextents * 65536 + 1;		/* longer than its extents */
	assert_int_equal(blob_index_put(ix, 0, "k", 1, &r, w_done, ID(0)), -EINVAL);
	r = make_rec(1);
	r.ext[0].len = 0;
	assert_int_equal(blob_index_put(ix, 0, "k", 1, &r, w_done, ID(0)), -EINVAL);
	r = make_rec(1);
	r.ext[0].off = UINT64_MAX - 10;		/* wraps around */
	assert_int_equal(blob_index_put(ix, 0, "k", 1, &r, w_done, ID(0)), -EINVAL);
	assert_int_equal(blob_index_get(ix, -2, "k", 1, NULL), -EINVAL);

	blob_index_stats(ix, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(W.got, 0);
	blob_index_close(ix);

	assert_int_equal(blob_index_open(&cfg, &bad), -EINVAL);
	assert_null(bad);
	cfg.dir = "/nonexistent/strata-bix";
	assert_int_equal(blob_index_open(&cfg, &bad), -ENOENT);
	blob_index_close(NULL);
}

static void test_same_key_in_two_databases_is_two_records(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct blob_index_rec a = make_rec(1), b = make_rec(2), got;

	(void)state;
	assert_int_equal(put_wait(ix, 0, "k", 1, &a), 0);
	assert_int_equal(put_wait(ix, 15, "k", 1, &b), 0);
	assert_int_equal(put_wait(ix, INT_MAX, "k", 1, &b), 0);
	assert_int_equal(blob_index_get(ix, 0, "k", 1, &got), 0);
	assert_rec_equal(&got, &a);
	assert_int_equal(blob_index_get(ix, 15, "k", 1, &got), 0);
	assert_rec_equal(&got, &b);
	assert_int_equal(blob_index_get(ix, 1, "k", 1, NULL), -ENOENT);
	assert_int_equal(del_wait(ix, 0, "k", 1), 0);
	assert_int_equal(blob_index_get(ix, 15, "k", 1, NULL), 0);
	assert_int_equal(blob_index_get(ix, INT_MAX, "k", 1, NULL), 0);
	blob_index_close(ix);
}

/* ---- long keys ---- */

struct key_seen {
	const unsigned char *want[8];
	size_t wlen[8], nwant;
	size_t seen[8], other;
};

static int scan_keys(void *arg, int db, const void *key, size_t klen,
		     const struct blob_index_rec *rec)
{
	struct key_seen *s = arg;

	(void)db;
	(void)rec;
	for (size_t i = 0; i < s->nwant; i++) {
		if (klen == s->wlen[i] && !memcmp(key, s->want[i], klen)) {
			s->seen[i]++;
			return 0;
		}
	}
	s->other++;
	return 0;
}

static void test_keys_around_and_far_past_the_lmdb_limit(void **state)
{
	static const size_t lens[] = { 505, 506, 507, 510, 511, 512, 4096, 10240 };
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct key_seen seen = { .nwant = ARRAY_SIZE(lens) };
	unsigned char *keys[ARRAY_SIZE(lens)];
	struct blob_index_rec got, want;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		keys[i] = malloc(lens[i]);
		for (size_t j = 0; j < lens[i]; j++)
			keys[i][j] = (unsigned char)(j * 31 + i);
		want = make_rec(i);
		assert_int_equal(put_wait(ix, 2, keys[i], lens[i], &want), 0);
		seen.want[i] = keys[i];
		seen.wlen[i] = lens[i];
	}
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		want = make_rec(i);
		assert_int_equal(blob_index_get(ix, 2, keys[i], lens[i], &got), 0);
		assert_rec_equal(&got, &want);
		/* A prefix of a long key is another key. */
		assert_int_equal(blob_index_get(ix, 2, keys[i], lens[i] - 1, NULL), -ENOENT);
		assert_int_equal(blob_index_get(ix, 3, keys[i], lens[i], NULL), -ENOENT);
	}
	/* The scan hands back the full keys, not their digests. */
	assert_int_equal(blob_index_scan(ix, scan_keys, &seen), 0);
	assert_int_equal(seen.other, 0);
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++)
		assert_int_equal(seen.seen[i], 1);

	assert_int_equal(del_wait(ix, 2, keys[7], lens[7]), 0);
	assert_int_equal(blob_index_get(ix, 2, keys[7], lens[7], NULL), -ENOENT);
	assert_int_equal(blob_index_get(ix, 2, keys[6], lens[6], NULL), 0);
	blob_index_close(ix);

	/* Still there, and still found by their full key, after a reopen. */
	ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	for (size_t i = 0; i < ARRAY_SIZE(lens) - 1; i++) {
		want = make_rec(i);
		assert_int_equal(blob_index_get(ix, 2, keys[i], lens[i], &got), 0);
		assert_rec_equal(&got, &want);
	}
	blob_index_close(ix);
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++)
		free(keys[i]);
}

static void test_keys_differing_only_after_byte_511_are_distinct(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct blob_index_rec got, want;
	enum { N = 6, LEN = 10240 };
	unsigned char *k[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		k[i] = malloc(LEN);
		memset(k[i], 'x', LEN);
		/* Two differ at byte 512, two at the last byte, two in length. */
		if (i == 1)
			k[i][512] = 'y';
		if (i == 2)
			k[i][LEN - 1] = 'y';
		if (i == 3)
			k[i][LEN - 1] = 'z';
		want = make_rec(100 + i);
		assert_int_equal(put_wait(ix, 0, k[i], i == 4 ? 600 : i == 5 ? 601 : LEN,
					  &want), 0);
	}
	for (int i = 0; i < N; i++) {
		want = make_rec(100 + i);
		assert_int_equal(blob_index_get(ix, 0, k[i], i == 4 ? 600 : i == 5 ? 601 : LEN,
						&got), 0);
		assert_rec_equal(&got, &want);
	}
	assert_int_equal(del_wait(ix, 0, k[2], LEN), 0);
	assert_int_equal(blob_index_get(ix, 0, k[2], LEN, NULL), -ENOENT);
	assert_int_equal(blob_index_get(ix, 0, k[3], LEN, NULL), 0);
	assert_int_equal(blob_index_get(ix, 0, k[0], LEN, NULL), 0);
	blob_index_close(ix);
	for (int i = 0; i < N; i++)
		free(k[i]);
}

/* ---- group commit and order ---- */

enum { GC_THREADS = 4, GC_PER_THREAD = 2500 };

struct gc_arg {
	struct blob_index *ix;
	int t;
	pthread_barrier_t *start;
};

/* Thread t puts ids t*2500.. and deletes every fifth right after its put:
 * cookie 2*id for the put, 2*id + 1 for the delete. */
static void *gc_thread(void *p)
{
	struct gc_arg *a = p;
	char k[32];

	pthread_barrier_wait(a->start);
	for (uint64_t i = 0; i < GC_PER_THREAD; i++) {
		uint64_t id = (uint64_t)a->t * GC_PER_THREAD + i;
		struct blob_index_rec r = make_rec(id);
		size_t kl = key_of(k, sizeof(k), id);

		if (blob_index_put(a->ix, 0, k, kl, &r, w_done, ID(2 * id)))
			abort();
		if (i % 5 == 0 && blob_index_del(a->ix, 0, k, kl, w_done, ID(2 * id + 1)))
			abort();
	}
	return NULL;
}

static void test_group_commit_from_four_threads(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_ALWAYS, 0, 0);
	const size_t nid = GC_THREADS * GC_PER_THREAD;
	const size_t nmut = nid + nid / 5;
	pthread_t th[GC_THREADS];
	struct gc_arg args[GC_THREADS];
	pthread_barrier_t start;
	struct blob_index_stats st;
	double t0, dt;

	(void)state;
	w_reset(2 * nid);
	pthread_barrier_init(&start, NULL, GC_THREADS + 1);
	for (int t = 0; t < GC_THREADS; t++) {
		args[t] = (struct gc_arg){ .ix = ix, .t = t, .start = &start };
		assert_int_equal(pthread_create(&th[t], NULL, gc_thread, &args[t]), 0);
	}
	t0 = now_s();
	pthread_barrier_wait(&start);
	for (int t = 0; t < GC_THREADS; t++)
		pthread_join(th[t], NULL);
	w_wait(nmut);
	dt = now_s() - t0;
	pthread_barrier_destroy(&start);

	for (uint64_t id = 0; id < nid; id++) {
		assert_int_equal(W.res[2 * id], 0);
		if (id % GC_PER_THREAD % 5 == 0) {
			assert_int_equal(W.res[2 * id + 1], 0);
			assert_absent(ix, 0, id);
		} else {
			assert_int_equal(W.res[2 * id + 1], INT_MIN);
			assert_present(ix, 0, id);
		}
	}
	blob_index_stats(ix, &st);
	assert_int_equal(st.records, nmut);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.errors, 0);
	assert_true(st.mean_batch > 1.0);
	printf("group commit (sync always): %zu mutations from %d threads in %.3f s: "
	       "%llu commits, %.1f records/commit (last %llu), %.0f commits/s, "
	       "%.0f records/s, %.2f ms/commit\n",
	       nmut, GC_THREADS, dt, (unsigned long long)st.commits, st.mean_batch,
	       (unsigned long long)st.last_batch, (double)st.commits / dt, (double)nmut / dt,
	       (double)st.commit_us / 1000.0 / (double)st.commits);
	blob_index_close(ix);
}

/* Closed loop: each thread keeps WINDOW mutations in flight, as shards
 * waiting for their +OK do, so the commit rate and the batch size are the
 * ones a steady load would see. */
enum { CL_WINDOW = 16, CL_PER_THREAD = 2000 };

struct cl_thread {
	struct blob_index *ix;
	int t;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight;
	int errors;
};

static void cl_done(void *cookie, int err)
{
	struct cl_thread *c = cookie;

	pthread_mutex_lock(&c->mu);
	c->inflight--;
	if (err)
		c->errors++;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void *cl_main(void *p)
{
	struct cl_thread *c = p;
	char k[32];

	for (uint64_t i = 0; i < CL_PER_THREAD; i++) {
		uint64_t id = 1000000 + (uint64_t)c->t * CL_PER_THREAD + i;
		struct blob_index_rec r = make_rec(id);

		pthread_mutex_lock(&c->mu);
		while (c->inflight >= CL_WINDOW)
			pthread_cond_wait(&c->cv, &c->mu);
		c->inflight++;
		pthread_mutex_unlock(&c->mu);
		if (blob_index_put(c->ix, 0, k, key_of(k, sizeof(k), id), &r, cl_done, c))
			abort();
	}
	pthread_mutex_lock(&c->mu);
	while (c->inflight)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void test_group_commit_under_a_closed_loop(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_ALWAYS, 0, 0);
	struct cl_thread c[GC_THREADS];
	pthread_t th[GC_THREADS];
	struct blob_index_stats st;
	double t0, dt;

	(void)state;
	t0 = now_s();
	for (int t = 0; t < GC_THREADS; t++) {
		c[t] = (struct cl_thread){ .ix = ix, .t = t };
		pthread_mutex_init(&c[t].mu, NULL);
		pthread_cond_init(&c[t].cv, NULL);
		assert_int_equal(pthread_create(&th[t], NULL, cl_main, &c[t]), 0);
	}
	for (int t = 0; t < GC_THREADS; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(c[t].errors, 0);
		pthread_mutex_destroy(&c[t].mu);
		pthread_cond_destroy(&c[t].cv);
	}
	dt = now_s() - t0;
	blob_index_stats(ix, &st);
	assert_int_equal(st.records, GC_THREADS * CL_PER_THREAD);
	assert_true(st.mean_batch > 1.0);
	printf("closed loop (sync always, %d threads x %d in flight): %d puts in %.3f s: "
	       "%llu commits, %.1f records/commit, %.0f commits/s, %.0f records/s, "
	       "%.2f ms/commit\n", GC_THREADS, CL_WINDOW, GC_THREADS * CL_PER_THREAD, dt,
	       (unsigned long long)st.commits, st.mean_batch, (double)st.commits / dt,
	       (double)st.records / dt, (double)st.commit_us / 1000.0 / (double)st.commits);
	for (uint64_t id = 1000000; id < 1000000 + GC_THREADS * CL_PER_THREAD; id += 97)
		assert_present(ix, 0, id);
	blob_index_close(ix);
}

static void test_held_writer_commits_the_backlog_in_one_transaction(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct blob_index_stats st;
	uint64_t commits;

	(void)state;
	w_reset(300);
	gate_close(ix);
	for (size_t i = 0; i < 300; i++)
		put_id(ix, i, i);
	blob_index_stats(ix, &st);
	assert_int_equal(st.pending, 300);
	commits = st.commits;
	gate_open();
	w_wait(300);
	blob_index_stats(ix, &st);
	assert_int_equal(st.commits, commits + 1);
	assert_int_equal(st.last_batch, 300);
	blob_index_close(ix);

	/* max_batch splits a backlog. */
	ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 128);
	w_reset(300);
	gate_close(ix);
	for (size_t i = 0; i < 300; i++)
		put_id(ix, i, i);
	blob_index_stats(ix, &st);
	commits = st.commits;
	gate_open();
	w_wait(300);
	blob_index_stats(ix, &st);
	assert_int_equal(st.commits, commits + 3);	/* 128 + 128 + 44 */
	assert_int_equal(st.last_batch, 44);
	blob_index_close(ix);
}

/*
 * A unit (blob_index_hold .. blob_index_release) is queued only at the
 * release, and a batch does not end inside it, even past max_batch: the
 * server puts a key's new record and deletes its old one as a unit, so that
 * a crash between two commits never finds the key with neither.
 */
static void test_a_unit_is_queued_at_release_and_never_split_across_commits(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 4);
	struct blob_index_stats st;
	uint64_t commits;

	(void)state;
	w_reset(8);
	/* Held submissions wait for the release. */
	blob_index_hold(ix);
	put_id(ix, 200, 0);
	blob_index_hold(ix);		/* nested: the outer release queues */
	put_id(ix, 201, 1);
	blob_index_release(ix);
	usleep(100 * 1000);
	assert_absent(ix, 0, 200);
	assert_absent(ix, 0, 201);
	blob_index_stats(ix, &st);
	commits = st.commits;
	blob_index_release(ix);
	w_wait(2);
	assert_present(ix, 0, 200);
	assert_present(ix, 0, 201);
	blob_index_stats(ix, &st);
	assert_int_equal(st.commits, commits + 1);
	assert_int_equal(st.last_batch, 2);

	/* Three singles, a unit of three, one single, max_batch 4: the first
	 * batch runs to the end of the unit (6), the last single is alone. */
	w_reset(8);
	gate_close(ix);
	put_id(ix, 1, 0);
	put_id(ix, 2, 1);
	put_id(ix, 3, 2);
	blob_index_hold(ix);
	put_id(ix, 100, 3);
	del_id(ix, 100, 4);
	put_id(ix, 101, 5);
	blob_index_release(ix);
	put_id(ix, 4, 6);
	blob_index_stats(ix, &st);
	commits = st.commits;
	gate_open();
	w_wait(7);
	blob_index_stats(ix, &st);
	assert_int_equal(st.commits, commits + 2);
	assert_int_equal(st.last_batch, 1);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(W.seq[i], i);		/* done() in submission order */
		assert_int_equal(W.res[i], 0);
	}
	assert_absent(ix, 0, 100);
	assert_present(ix, 0, 101);
	blob_index_close(ix);
}

static void test_mutations_of_one_key_apply_in_submission_order(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct blob_index_rec got, want;
	char k[32];
	size_t n = 0;

	(void)state;
	/* Per key: put v1, put v2, del, put v3, then for odd keys put v4, for
	 * even keys a final del; half the keys within one held batch, half
	 * submitted while the writer runs. */
	w_reset(200 * 5);
	for (int round = 0; round < 2; round++) {
		if (round == 0)
			gate_close(ix);
		for (uint64_t key = round * 100u; key < round * 100u + 100; key++) {
			size_t kl = key_of(k, sizeof(k), key);

			for (uint64_t v = 1; v <= 3; v++) {
				want = make_rec(key * 10 + v);
				assert_int_equal(blob_index_put(ix, 0, k, kl, &want, w_done, ID(n++)), 0);
				if (v == 2)
					assert_int_equal(blob_index_del(ix, 0, k, kl, w_done,
									ID(n++)), 0);
			}
			if (key % 2) {
				want = make_rec(key * 10 + 4);
				assert_int_equal(blob_index_put(ix, 0, k, kl, &want, w_done, ID(n++)), 0);
			} else {
				assert_int_equal(blob_index_del(ix, 0, k, kl, w_done, ID(n++)), 0);
			}
		}
		if (round == 0)
			gate_open();
	}
	w_wait(n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(W.seq[i], i);		/* done() in submission order */
		assert_int_equal(W.res[i], 0);		/* each del found its put */
	}
	for (uint64_t key = 0; key < 200; key++) {
		size_t kl = key_of(k, sizeof(k), key);

		if (key % 2) {
			want = make_rec(key * 10 + 4);
			assert_int_equal(blob_index_get(ix, 0, k, kl, &got), 0);
			assert_rec_equal(&got, &want);
		} else {
			assert_int_equal(blob_index_get(ix, 0, k, kl, NULL), -ENOENT);
		}
	}
	blob_index_close(ix);
}

/* ---- lifetime and durability ---- */

static void test_reopen_keeps_every_record(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_EVERYSEC, 0, 0);
	struct scan_count c = { 0 };

	(void)state;
	w_reset(1500);
	for (size_t i = 0; i < 1000; i++)
		put_id(ix, i, i);
	for (size_t i = 0; i < 500; i++)
		del_id(ix, i * 2, 1000 + i);
	w_wait(1500);
	blob_index_close(ix);

	ix = open_ix(BLOB_INDEX_SYNC_EVERYSEC, 0, 0);
	for (uint64_t i = 0; i < 1000; i++) {
		if (i % 2)
			assert_present(ix, 0, i);
		else
			assert_absent(ix, 0, i);
	}
	assert_int_equal(blob_index_scan(ix, scan_counter, &c), 0);
	assert_int_equal(c.n, 500);
	assert_int_equal(c.mismatched, 0);
	blob_index_close(ix);
}

static void test_close_commits_what_is_still_queued(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);

	(void)state;
	w_reset(2000);
	for (size_t i = 0; i < 2000; i++)
		put_id(ix, i, i);
	blob_index_close(ix);		/* no wait: close finishes them */
	assert_int_equal(W.got, 2000);
	for (size_t i = 0; i < 2000; i++)
		assert_int_equal(W.res[i], 0);

	ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	for (uint64_t i = 0; i < 2000; i++)
		assert_present(ix, 0, i);
	blob_index_close(ix);
}

/*
 * Start-up as DESIGN.md section 3 has it: allocators rebuilt from a scan of
 * the reopened index. Values are allocated, indexed, and some deleted and
 * freed, as a server would; after reopen a fresh allocator per file reserves
 * every record's extents. Each reservation succeeds (no extent owned twice),
 * the allocators pass their check, free space is capacity minus the extents
 * in use, and since coalesced free space is determined by the extents in
 * use, the rebuilt free blocks are exactly the live allocators'.
 */
#define RB_FILES 2
#define RB_VALUES 600
#define RB_CAPACITY ((uint64_t)256 << 20)

struct rebuild {
	struct blob_alloc *alloc[RB_FILES];
	uint64_t in_use[RB_FILES];	/* bytes of extents reserved */
	size_t records;
	size_t refused;			/* reservations that failed */
};

static int rebuild_one(void *arg, int db, const void *key, size_t klen,
		       const struct blob_index_rec *rec)
{
	struct blob_extent e[BLOB_INDEX_MAX_EXTENTS];
	struct rebuild *rb = arg;

	(void)db;
	(void)key;
	(void)klen;
	rb->records++;
	if (rec->file >= RB_FILES) {
		rb->refused++;
		return 0;
	}
	for (uint32_t i = 0; i < rec->nextents; i++) {
		e[i].off = rec->ext[i].off;
		e[i].len = rec->ext[i].len;
	}
	if (blob_alloc_reserve(rb->alloc[rec->file], e, (int)rec->nextents)) {
		rb->refused++;
		return 0;
	}
	for (uint32_t i = 0; i < rec->nextents; i++)
		rb->in_use[rec->file] += e[i].len;
	return 0;
}

static void test_allocators_rebuilt_from_a_scan_after_reopen_match(void **state)
{
	struct blob_alloc *live[RB_FILES];
	struct blob_alloc_stats ls, rs;
	struct rebuild rb = { 0 };
	struct blob_extent e[BLOB_ALLOC_EXTENTS];
	static struct blob_index_rec recs[RB_VALUES];
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t kept;
	char k[32];
	int n;

	(void)state;
	for (int f = 0; f < RB_FILES; f++)
		assert_int_equal(blob_alloc_create(4096, RB_CAPACITY, &live[f]), 0);
	for (size_t i = 0; i < RB_VALUES; i++) {
		struct blob_index_rec *r = &recs[i];

		/* 64 KiB .. about 1 MiB, odd sizes, so values take 1..4 extents */
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		memset(r, 0, sizeof(*r));
		r->file = (uint32_t)(i % RB_FILES);
		r->len = 65536 + (seed >> 44);
		r->crc = (uint32_t)seed;
		n = blob_alloc_value(live[r->file], r->len, e, BLOB_ALLOC_EXTENTS);
		assert_in_range(n, 1, BLOB_ALLOC_EXTENTS);
		r->nextents = (uint32_t)n;
		for (int x = 0; x < n; x++) {
			r->ext[x].off = e[x].off;
			r->ext[x].len = e[x].len;
		}
		assert_int_equal(put_wait(ix, 0, k, key_of(k, sizeof(k), i), r), 0);
	}
	/* Delete every third value, then free its extents: commit first, as
	 * the server frees only what a committed transaction dropped. */
	for (size_t i = 0; i < RB_VALUES; i += 3) {
		struct blob_index_rec *r = &recs[i];

		assert_int_equal(del_wait(ix, 0, k, key_of(k, sizeof(k), i)), 0);
		for (uint32_t x = 0; x < r->nextents; x++) {
			e[x].off = r->ext[x].off;
			e[x].len = r->ext[x].len;
		}
		blob_alloc_free(live[r->file], e, (int)r->nextents);
	}
	kept = RB_VALUES - (RB_VALUES + 2) / 3;
	blob_index_close(ix);

	ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	for (int f = 0; f < RB_FILES; f++)
		assert_int_equal(blob_alloc_create(4096, RB_CAPACITY, &rb.alloc[f]), 0);
	assert_int_equal(blob_index_scan(ix, rebuild_one, &rb), 0);
	blob_index_close(ix);
	assert_int_equal(rb.records, kept);
	assert_int_equal(rb.refused, 0);

	for (int f = 0; f < RB_FILES; f++) {
		assert_null(blob_alloc_check_why(rb.alloc[f]));
		blob_alloc_stats(live[f], &ls);
		blob_alloc_stats(rb.alloc[f], &rs);
		assert_int_equal(rs.capacity, RB_CAPACITY);
		assert_int_equal(rs.allocated, rb.in_use[f]);
		assert_int_equal(rs.free, RB_CAPACITY - rb.in_use[f]);
		assert_int_equal(rs.allocated, ls.allocated);
		assert_int_equal(rs.nfree_blocks, ls.nfree_blocks);
		assert_memory_equal(rs.free_by_order, ls.free_by_order, sizeof(rs.free_by_order));
		assert_int_equal(blob_alloc_trim_point(rb.alloc[f]), blob_alloc_trim_point(live[f]));
		blob_alloc_destroy(live[f]);
		blob_alloc_destroy(rb.alloc[f]);
	}
}

static void test_each_sync_mode_keeps_records_across_reopen(void **state)
{
	static const enum blob_index_sync modes[] = {
		BLOB_INDEX_SYNC_ALWAYS, BLOB_INDEX_SYNC_EVERYSEC, BLOB_INDEX_SYNC_NO,
	};

	(void)state;
	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		struct blob_index *ix = open_ix(modes[m], 0, 0);
		struct blob_index_stats st;

		for (uint64_t i = 0; i < 50; i++)
			assert_int_equal(put_id_wait(ix, m * 100 + i), 0);
		blob_index_stats(ix, &st);
		assert_int_equal(st.commits, 50);	/* one by one: no batching */
		blob_index_close(ix);
		ix = open_ix(modes[m], 0, 0);
		for (uint64_t i = 0; i < 50; i++)
			assert_present(ix, 0, m * 100 + i);
		blob_index_close(ix);
	}
	assert_string_equal(blob_index_sync_name(BLOB_INDEX_SYNC_ALWAYS), "always");
	assert_int_equal(blob_index_sync_parse("everysec"), BLOB_INDEX_SYNC_EVERYSEC);
	assert_int_equal(blob_index_sync_parse("NO"), BLOB_INDEX_SYNC_NO);
	assert_int_equal(blob_index_sync_parse("sometimes"), -EINVAL);
}

static void test_everysec_syncs_about_a_second_after_a_commit(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_EVERYSEC, 0, 0);
	struct blob_index_stats st;
	double t0 = now_s();

	(void)state;
	assert_int_equal(put_id_wait(ix, 1), 0);
	blob_index_stats(ix, &st);
	assert_int_equal(st.syncs, 0);
	while (now_s() - t0 < 3.0) {
		blob_index_stats(ix, &st);
		if (st.syncs)
			break;
		usleep(20000);
	}
	assert_int_equal(st.syncs, 1);
	printf("everysec: first sync %.2f s after the commit\n", now_s() - t0);
	/* Idle and clean: no more syncs. */
	usleep(1200000);
	blob_index_stats(ix, &st);
	assert_int_equal(st.syncs, 1);
	blob_index_close(ix);

	/* "always" and "no" never sync on a timer. */
	ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	assert_int_equal(put_id_wait(ix, 1), 0);
	blob_index_stats(ix, &st);
	assert_int_equal(st.syncs, 0);
	blob_index_close(ix);
}

/* The child of the crash test: submits puts without end and writes the id
 * of each acknowledged one to the pipe. */
static int crash_fd;

static void crash_done(void *cookie, int err)
{
	uint32_t id = (uint32_t)(uintptr_t)cookie;

	if (!err && write(crash_fd, &id, sizeof(id)) != sizeof(id))
		_exit(3);
}

static _Noreturn void crash_child(enum blob_index_sync mode, int fd)
{
	struct blob_index_cfg cfg = { .dir = test_dir, .sync = mode };
	struct blob_index *ix;
	struct blob_index_stats st;
	char k[32];

	crash_fd = fd;
	if (blob_index_open(&cfg, &ix))
		_exit(2);
	for (uint32_t id = 0;; id++) {
		struct blob_index_rec r = make_rec(id);

		if (blob_index_put(ix, 0, k, key_of(k, sizeof(k), id), &r, crash_done,
				   ID(id)))
			_exit(4);
		blob_index_stats(ix, &st);
		while (st.pending > 5000) {
			usleep(200);
			blob_index_stats(ix, &st);
		}
	}
}

static bool read_full(int fd, void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static void crash_once(enum blob_index_sync mode)
{
	enum { WANT = 3000, MAXID = 4000000 };
	unsigned char *acked = calloc(MAXID, 1);
	struct scan_count c = { 0 };
	size_t nacked = 0;
	struct blob_index *ix;
	uint32_t id;
	int p[2], status;
	pid_t pid;

	assert_non_null(acked);
	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		crash_child(mode, p[1]);
	}
	close(p[1]);
	while (nacked < WANT && read_full(p[0], &id, sizeof(id))) {
		assert_true(id < MAXID);
		acked[id] = 1;
		nacked++;
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Acknowledgements written before the kill are still in the pipe. */
	while (read_full(p[0], &id, sizeof(id))) {
		assert_true(id < MAXID);
		acked[id] = 1;
		nacked++;
	}
	close(p[0]);

	ix = open_ix(mode, 0, 0);
	for (uint32_t i = 0; i < MAXID; i++)
		if (acked[i])
			assert_present(ix, 0, i);
	assert_int_equal(blob_index_scan(ix, scan_counter, &c), 0);
	assert_int_equal(c.mismatched, 0);
	assert_true(c.n >= nacked);
	printf("SIGKILL (sync %s): %zu acknowledged, all present; %zu records in the "
	       "index\n", blob_index_sync_name(mode), nacked, c.n);
	/* And the index takes writes again (the dead writer's lock is freed). */
	assert_int_equal(put_id_wait(ix, MAXID + 1), 0);
	blob_index_close(ix);
	free(acked);
}

static void test_acknowledged_records_survive_sigkill_always(void **state)
{
	(void)state;
	crash_once(BLOB_INDEX_SYNC_ALWAYS);
}

static void test_acknowledged_records_survive_sigkill_everysec(void **state)
{
	(void)state;
	crash_once(BLOB_INDEX_SYNC_EVERYSEC);
}

static void test_acknowledged_records_survive_sigkill_no(void **state)
{
	(void)state;
	crash_once(BLOB_INDEX_SYNC_NO);
}

/* ---- scan ---- */

static void test_scan_of_100k_records_is_fast(void **state)
{
	enum { N = 100000 };
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct scan_count c = { 0 };
	double t0, t_fill, t_scan, t_open;

	(void)state;
	w_reset(N);
	t0 = now_s();
	for (size_t i = 0; i < N; i++)
		put_id(ix, i, i);
	w_wait(N);
	t_fill = now_s() - t0;
	blob_index_close(ix);

	t0 = now_s();
	ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	t_open = now_s() - t0;
	t0 = now_s();
	assert_int_equal(blob_index_scan(ix, scan_counter, &c), 0);
	t_scan = now_s() - t0;
	assert_int_equal(c.n, N);
	assert_int_equal(c.mismatched, 0);
	printf("100k records: written in %.3f s, reopened in %.4f s, scanned in %.4f s\n",
	       t_fill, t_open, t_scan);
	assert_true(t_scan < 1.0);
	blob_index_close(ix);
}

static int scan_stop_at_10(void *arg, int db, const void *key, size_t klen,
			   const struct blob_index_rec *rec)
{
	size_t *n = arg;

	(void)db;
	(void)key;
	(void)klen;
	(void)rec;
	return ++*n == 10 ? -ECANCELED : 0;
}

static void test_scan_stops_at_a_nonzero_callback_return(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	size_t n = 0;

	(void)state;
	w_reset(50);
	for (size_t i = 0; i < 50; i++)
		put_id(ix, i, i);
	w_wait(50);
	assert_int_equal(blob_index_scan(ix, scan_stop_at_10, &n), -ECANCELED);
	assert_int_equal(n, 10);
	blob_index_close(ix);
}

/* ---- errors ---- */

static void test_full_map_fails_the_puts_that_do_not_fit_and_deletes_make_room(void **state)
{
	enum { N = 6000 };
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 1 << 20, 0);
	struct blob_index_stats st;
	size_t ok = 0, full = 0, ndel = 0, later = 0;

	(void)state;
	w_reset(N + N + 200);
	for (size_t i = 0; i < N; i++)
		put_id(ix, i, i);
	w_wait(N);
	for (size_t i = 0; i < N; i++) {
		if (W.res[i] == 0) {
			ok++;
			assert_present(ix, 0, i);
		} else {
			assert_int_equal(W.res[i], -ENOSPC);
			full++;
			assert_absent(ix, 0, i);
		}
	}
	assert_true(ok > 100);
	assert_true(full > 100);
	blob_index_stats(ix, &st);
	assert_int_equal(st.errors, full);
	assert_int_equal(st.failed, 0);

	/* Deleting nine in ten of what is stored works although the map is
	 * full (leaves emptied below a quarter merge and free pages)... */
	for (size_t i = 0; i < N; i++)
		if (W.res[i] == 0 && i % 10 != 0)
			del_id(ix, i, N + ndel++);
	w_wait(N + ndel);
	for (size_t i = 0; i < ndel; i++)
		assert_int_equal(W.res[N + i], 0);
	/* ... and makes room for new records. */
	for (size_t i = 0; i < 200; i++)
		put_id(ix, 100000 + i, 2 * N + i);
	w_wait(N + ndel + 200);
	for (size_t i = 0; i < 200; i++)
		if (W.res[2 * N + i] == 0)
			later++;
	assert_int_equal(later, 200);
	for (size_t i = 0; i < 200; i++)
		assert_present(ix, 0, 100000 + i);
	printf("map of 1 MiB: %zu puts fit, %zu got -ENOSPC; %zu deleted, then 200 "
	       "more fit\n", ok, full, ndel);
	blob_index_close(ix);
}

/*
 * Run in a child, in a mount namespace of its own, on a 40 MiB tmpfs: the
 * index is opened, a filler file takes every free byte, then puts go on
 * until they fail. Exit status 0, 77 when the namespace or the mount is not
 * allowed (the test is skipped), or the step that went wrong.
 */
static int disk_full_child(void)
{
	enum { CHUNK = 2000 };
	static char buf[1 << 16];
	struct blob_index *ix;
	struct blob_index_stats st;
	char path[160];
	size_t ok = 0, full = 0, other = 0, base = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/small", test_dir);
	if (mkdir(path, 0755))
		return 10;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", path, "tmpfs", 0, "size=40m"))
		return 77;
	strcpy(test_dir, path);		/* this process only */
	ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);

	snprintf(path, sizeof(path), "%s/filler", test_dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return 11;
	for (size_t n = sizeof(buf); n >= 512; n /= 2)
		while (write(fd, buf, n) == (ssize_t)n)
			;
	close(fd);

	/* Puts until a whole chunk is refused: the disk is full. */
	w_reset(200 * CHUNK);
	for (size_t round = 0; round < 100; round++) {
		size_t refused = 0;

		for (size_t i = base; i < base + CHUNK; i++)
			put_id(ix, i, i);
		w_wait(base + CHUNK);
		for (size_t i = base; i < base + CHUNK; i++) {
			if (W.res[i] == 0)
				ok++;
			else if (W.res[i] == -ENOSPC)
				full++, refused++;
			else
				other++;
		}
		base += CHUNK;
		if (refused > CHUNK / 2)
			break;
	}
	blob_index_stats(ix, &st);
	if (!ok || !full || other || st.room != 0 || st.failed)
		return 12;

	/* Deleting the first half of what fits works on the full disk... */
	for (size_t i = 0, n = 0; i < base && n < ok / 2; i++) {
		if (W.res[i] == 0) {
			del_id(ix, i, base++);
			n++;
		}
	}
	w_wait(base);
	for (size_t i = base - ok / 2; i < base; i++)
		if (W.res[i] != 0)
			return 13;
	/* ... and new records fit in what it freed. */
	for (size_t i = 0; i < 1000; i++)
		put_id(ix, 10000000 + i, base + i);
	w_wait(base + 1000);
	for (size_t i = base; i < base + 1000; i++)
		if (W.res[i] != 0)
			return 14;
	blob_index_stats(ix, &st);
	blob_index_close(ix);
	printf("full disk (40 MiB tmpfs): %zu puts fit, %zu got -ENOSPC; %zu deleted, "
	       "then 1000 more fit\n", ok, full, ok / 2);
	fflush(stdout);
	return 0;
}

static void test_full_disk_fails_puts_and_deletes_make_room(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(disk_full_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_failed_commit_fails_its_mutations_and_the_index_goes_on(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct blob_index_stats st;

	(void)state;
	/* A single mutation whose commit fails gets the error. */
	blob_index_fail_commits(ix, EIO, 1);
	assert_int_equal(put_id_wait(ix, 1), -EIO);
	assert_absent(ix, 0, 1);
	assert_int_equal(put_id_wait(ix, 1), 0);
	assert_present(ix, 0, 1);

	/* A batch whose commit fails is retried one by one: here the batch and
	 * the first retry fail, the other two go through. */
	w_reset(3);
	gate_close(ix);
	put_id(ix, 10, 0);
	put_id(ix, 11, 1);
	del_id(ix, 1, 2);
	blob_index_fail_commits(ix, ENOSPC, 2);
	gate_open();
	w_wait(3);
	assert_int_equal(W.res[0], -ENOSPC);
	assert_int_equal(W.res[1], 0);
	assert_int_equal(W.res[2], 0);
	assert_absent(ix, 0, 10);
	assert_present(ix, 0, 11);
	assert_absent(ix, 0, 1);

	/* When every commit fails, every mutation of the batch fails. */
	w_reset(3);
	gate_close(ix);
	put_id(ix, 20, 0);
	put_id(ix, 21, 1);
	del_id(ix, 11, 2);
	blob_index_fail_commits(ix, EIO, 100);
	gate_open();
	w_wait(3);
	blob_index_fail_commits(ix, 0, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(W.res[i], -EIO);
	assert_present(ix, 0, 11);

	blob_index_stats(ix, &st);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.errors, 1 + 1 + 3);
	assert_int_equal(put_id_wait(ix, 30), 0);
	blob_index_close(ix);
}

static void test_fatal_error_is_sticky_and_fails_fast(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct blob_index_rec r = make_rec(1);
	struct blob_index_stats st;

	(void)state;
	assert_int_equal(put_id_wait(ix, 1), 0);
	blob_index_fail_commits(ix, MDB_PANIC, 1);
	assert_int_equal(put_id_wait(ix, 2), -EIO);
	blob_index_stats(ix, &st);
	assert_int_equal(st.failed, -EIO);
	/* From now on every call fails at once, and no done() is called. */
	w_reset(1);
	assert_int_equal(blob_index_put(ix, 0, "k", 1, &r, w_done, ID(0)), -EIO);
	assert_int_equal(blob_index_del(ix, 0, "k", 1, w_done, ID(0)), -EIO);
	assert_int_equal(blob_index_get(ix, 0, "key:1", 5, NULL), -EIO);
	assert_int_equal(blob_index_scan(ix, scan_stop_at_10, &(size_t){ 0 }), -EIO);
	assert_int_equal(W.got, 0);
	blob_index_close(ix);

	/* A new process (here: a reopen) starts healthy with what was committed. */
	ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	assert_present(ix, 0, 1);
	assert_absent(ix, 0, 2);
	blob_index_close(ix);
}

/* Rewrites the first record of the index with one byte flipped at off. */
static void damage_first_record(size_t off)
{
	char path[128];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v, nv;
	unsigned char buf[4096];

	snprintf(path, sizeof(path), "%s/index", test_dir);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 2), 0);
	assert_int_equal(mdb_env_open(env, path, 0, 0644), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "records", 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	assert_true(v.mv_size <= sizeof(buf) && off < v.mv_size);
	memcpy(buf, v.mv_data, v.mv_size);
	buf[off] ^= 0x01;
	nv.mv_size = v.mv_size;
	nv.mv_data = buf;
	assert_int_equal(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT), 0);
	mdb_cursor_close(cur);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_damaged_record_is_refused_by_get_and_skipped_by_scan(void **state)
{
	struct blob_index *ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	struct blob_index_stats st;
	struct scan_count c = { 0 };

	(void)state;
	/* "key:1" sorts before "key:2", so it is the first record. */
	assert_int_equal(put_id_wait(ix, 1), 0);
	assert_int_equal(put_id_wait(ix, 2), 0);
	blob_index_close(ix);
	damage_first_record(20);	/* a bit of the value length */

	ix = open_ix(BLOB_INDEX_SYNC_NO, 0, 0);
	assert_int_equal(blob_index_get(ix, 0, "key:1", 5, NULL), -EBADMSG);
	assert_present(ix, 0, 2);
	assert_int_equal(blob_index_scan(ix, scan_counter, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.mismatched, 0);
	blob_index_stats(ix, &st);
	assert_int_equal(st.bad_records, 1);
	assert_int_equal(st.failed, 0);
	/* Overwriting it repairs it. */
	assert_int_equal(put_id_wait(ix, 1), 0);
	assert_present(ix, 0, 1);
	blob_index_close(ix);
}

static void test_open_refuses_a_file_that_is_not_an_index(void **state)
{
	struct blob_index_cfg cfg = { .dir = test_dir };
	struct blob_index *ix = (void *)1;
	unsigned char junk[16384];
	char path[128];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/index", test_dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/index/data.mdb", test_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	memset(junk, 0xab, sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(blob_index_open(&cfg, &ix), -EUCLEAN);
	assert_null(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_vectors),
		cmocka_unit_test(test_crc32c_is_the_same_at_every_alignment_length_and_split),
		cmocka_unit_test(test_crc32c_long_buffers_match_the_portable_version),
		T(test_put_get_del_round_trip),
		T(test_bad_arguments_are_refused_without_a_callback),
		T(test_same_key_in_two_databases_is_two_records),
		T(test_keys_around_and_far_past_the_lmdb_limit),
		T(test_keys_differing_only_after_byte_511_are_distinct),
		T(test_group_commit_from_four_threads),
		T(test_group_commit_under_a_closed_loop),
		T(test_held_writer_commits_the_backlog_in_one_transaction),
		T(test_a_unit_is_queued_at_release_and_never_split_across_commits),
		T(test_mutations_of_one_key_apply_in_submission_order),
		T(test_reopen_keeps_every_record),
		T(test_close_commits_what_is_still_queued),
		T(test_allocators_rebuilt_from_a_scan_after_reopen_match),
		T(test_each_sync_mode_keeps_records_across_reopen),
		T(test_everysec_syncs_about_a_second_after_a_commit),
		T(test_acknowledged_records_survive_sigkill_always),
		T(test_acknowledged_records_survive_sigkill_everysec),
		T(test_acknowledged_records_survive_sigkill_no),
		T(test_scan_of_100k_records_is_fast),
		T(test_scan_stops_at_a_nonzero_callback_return),
		T(test_full_map_fails_the_puts_that_do_not_fit_and_deletes_make_room),
		T(test_full_disk_fails_puts_and_deletes_make_room),
		T(test_failed_commit_fails_its_mutations_and_the_index_goes_on),
		T(test_fatal_error_is_sticky_and_fails_fast),
		T(test_damaged_record_is_refused_by_get_and_skipped_by_scan),
		T(test_open_refuses_a_file_that_is_not_an_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
