/*
 * blob_index.c - the LMDB index of large values, written by one thread with
 * group commit.
 *
 * The index is the durable truth of the blob tier: which extents of which
 * block file hold each large value. The block files themselves carry no
 * metadata; at start-up the allocator and the in-memory entries are rebuilt
 * from a scan of this index, so a value exists exactly when its record has
 * been committed here.
 *
 * Writes. Shard threads never touch LMDB for writing. blob_index_put() and
 * blob_index_del() encode the mutation in full on the calling thread (LMDB
 * key, record, SHA-256 of a long key: work that runs in parallel), push it
 * on a lock-free stack and return. The writer thread takes the whole stack
 * with one atomic exchange, reverses it into submission order, applies up to
 * max_batch mutations in one write transaction, commits, and then calls each
 * done() in order. While it commits (an fsync under "always"), new mutations
 * pile up and become the next batch: the slower the disk, the larger the
 * batch, which is what group commit is for. A mutation is acknowledged only
 * after its transaction committed, so "done() said 0" implies "a restart
 * finds the record" for a crash of the process under every sync mode (the
 * pages are in the kernel's cache by then) and for a power loss under
 * "always".
 *
 * Order. A stack pushed with compare-and-swap has a single total order of
 * pushes; reversing what one exchange took yields that order, and batches
 * are taken one after another, so two mutations of one key submitted one
 * after the other (on one thread, or on two threads ordered by anything) are
 * applied in that order. Mutations of one key are submitted by the shard that
 * owns the key, so that is the order that matters.
 *
 * Units. Mutations one thread submits between blob_index_hold() and
 * blob_index_release() wait in a thread-local list and are pushed with one
 * compare-and-swap, so no exchange can take part of them; each but the last
 * is marked `more`, and the writer does not end a batch after a mutation so
 * marked. A unit is therefore applied in one transaction (unless one of its
 * mutations fails, see below): the delete of a key's old record and the put
 * of its new one, or a rename's delete and put, commit together, and a crash
 * never finds the key with neither record.
 *
 * Failures. LMDB poisons a transaction when mdb_put() fails (MDB_MAP_FULL,
 * MDB_TXN_FULL), so one mutation that does not fit must not sink the others
 * of its batch: on such an error the transaction is aborted, the mutations
 * before the culprit are applied again and committed on their own, and the
 * culprit is retried at the head of a fresh transaction, where it fails for
 * itself alone if it still does not fit. Pages freed by the deletes just
 * committed are reusable by then, so deletes make room for later puts. A
 * commit that fails (the file cannot grow: ENOSPC, EFBIG, or EIO, which is
 * what LMDB makes of a short write) is retried one mutation per transaction,
 * for the same reason: a delete that needs no new page still goes through.
 * None of these stop the index.
 *
 * Room for deletes. In LMDB a delete copies the pages it changes, so on a
 * map or disk that is completely full nothing can be deleted any more, and
 * the server could never free space. The writer therefore keeps room back:
 *  - LMDB's file is preallocated (fallocate, KEEP_SIZE) `reserve` bytes
 *    ahead of its high-water mark, so pages it writes there need no new
 *    disk blocks;
 *  - before each transaction the writer works out how many pages may still
 *    be used: up to the end of the preallocation (or of the map), plus the
 *    pages on LMDB's free list when that end is near;
 *  - a put that would grow the record tree past that room minus
 *    `keep_pages` fails with -ENOSPC (through the same retry as
 *    MDB_MAP_FULL); deletes, and puts that do not grow the tree, go on
 *    using the pages kept back. When a delete frees pages or the disk
 *    frees space, puts go through again.
 * Tree growth stands in for the pages a transaction consumes; the pages it
 * copies come out of what is kept back and return to the free list two
 * commits later, which is why that reserve is generous. Fatal errors
 * do: LMDB's panic or a damaged file, and a failed fsync, since after one
 * the kernel may have dropped dirty pages it reported written (the sticky
 * -errno in ix->failed; every later call returns it at once).
 *
 * Keys. LMDB keys are at most 511 bytes. A key of up to BIX_PLAIN_MAX (506)
 * bytes is stored as itself; a longer one by its SHA-256, with the full key
 * kept in the record, checked by every read and by the writer before it
 * overwrites or deletes. The threshold is a constant of the format, not of
 * the LMDB build, so a key always maps to the same LMDB key.
 *
 *	plain:  +-----------+------+------------------+
 *	        | db: be32  | 0x00 | key (0..506)     |
 *	        +-----------+------+------------------+
 *	hashed: | db: be32  | 0xff | SHA-256(key): 32 |
 *	        +-----------+------+------------------+
 *
 * The database number is big-endian so that a cursor walks one database
 * after another.
 *
 * Record (the LMDB value), little-endian, version 1:
 *
 *	off  size
 *	  0    1  version       1
 *	  1    1  nextents      0..16
 *	  2    2  flags         0; bits version 1 readers ignore
 *	  4    4  rcrc          CRC32C of the whole record with rcrc read as 0
 *	  8    4  file          block file id
 *	 12    4  crc           CRC32C of the value
 *	 16    8  len           value length
 *	 24    8  expire_ms     unix ms, 0 = none (signed)
 *	 32    4  klen          bytes of full key at the end; 0 for plain keys
 *	 36    4  reserved      0
 *	 40 16*n  extents       { off: u64, len: u64 } each
 *	  ...  klen full key    (hashed keys only)
 *
 * A record whose size, version, checksum or extents do not hold together is
 * never handed out: reads fail with -EBADMSG and scans skip it. The named
 * database "meta" holds "format" -> u32 LE, the newest record version the
 * index was written with; an index from a newer format is refused at open.
 */
#include "blob_index.h"

#include "log.h"
#include "mem.h"
#include "util.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIX_FORMAT	1		/* record version written */
#define BIX_KEY_HDR	5		/* db (4) + tag (1) */
#define BIX_KEY_MAX	511		/* LMDB's default maximum key size */
#define BIX_PLAIN_MAX	(BIX_KEY_MAX - BIX_KEY_HDR)
#define BIX_TAG_PLAIN	0x00
#define BIX_TAG_HASHED	0xff
#define BIX_DIGEST	32		/* SHA-256 */
#define BIX_MAX_READERS	512		/* concurrent get/scan snapshots */
#define BIX_MAX_BATCH	(1u << 20)
/* Mutations of one unit kept in one batch; a longer unit is cut there. */
#define BIX_UNIT_MAX	16
#define BIX_SYNC_US	1000000		/* everysec */
#define BIX_CRC_POLY	0x82f63b78u	/* Castagnoli, reflected */
#define BIX_RESERVE_MIN	((uint64_t)1 << 20)	/* preallocated ahead, bounds */
#define BIX_RESERVE_MAX	((uint64_t)16 << 20)
#define BIX_NO_ROOM	(MDB_LAST_ERRCODE - 100)	/* ours: a put refused for room */

/* The fixed head of a record, as stored (little-endian). */
struct bix_disk_rec {
	uint8_t version;	/* BIX_FORMAT */
	uint8_t nextents;	/* extents that follow, 0..16 */
	uint16_t flags;		/* 0; unknown bits are ignored */
	uint32_t rcrc;		/* CRC32C of the record, this field as 0 */
	uint32_t file;		/* block file id */
	uint32_t crc;		/* CRC32C of the value */
	uint64_t len;		/* value length */
	int64_t expire_ms;	/* unix ms, 0 = none */
	uint32_t klen;		/* full key bytes after the extents (hashed keys) */
	uint32_t reserved;	/* 0 */
};
static_assert(sizeof(struct bix_disk_rec) == 40, "record head is 40 bytes on disk");
static_assert(offsetof(struct bix_disk_rec, rcrc) == 4, "rcrc at offset 4");
static_assert(offsetof(struct bix_disk_rec, len) == 16, "len at offset 16");
static_assert(offsetof(struct bix_disk_rec, klen) == 32, "klen at offset 32");

struct bix_disk_extent {
	uint64_t off;		/* byte offset in the block file */
	uint64_t len;		/* bytes */
};
static_assert(sizeof(struct bix_disk_extent) == 16, "extent is 16 bytes on disk");

enum bix_kind { BIX_PUT, BIX_DEL };

/*
 * One queued mutation, in one allocation: buf holds the LMDB key, then for a
 * put the encoded record, for a delete of a hashed key the full key. Built
 * by the submitting thread, owned by the writer from the push on.
 */
struct bix_op {
	struct bix_op *next;		/* stack link (newest first until the
					 * writer reverses the list) */
	blob_index_done_fn done;	/* may be NULL */
	void *cookie;
	int res;			/* writer: what done() will get */
	enum bix_kind kind;
	uint32_t mklen;			/* LMDB key at buf */
	uint32_t mvlen;			/* put: record at buf + mklen */
	const unsigned char *fkey;	/* hashed keys: the full key, in buf */
	size_t fklen;
	bool more;			/* the next mutation is of the same unit */
	unsigned char buf[];
};

struct blob_index {
	MDB_env *env;			/* set at open, then read-only */
	MDB_dbi dbi;			/* the "records" database */
	enum blob_index_sync sync;
	unsigned max_batch;
	int efd;			/* eventfd that wakes the writer */
	pthread_t writer;
	/* Newest-first stack of submitted mutations. Submitters push with a
	 * release CAS; the writer empties it with an acquire exchange, which
	 * makes each op's contents visible to it. Nodes are never popped one
	 * by one, so there is no ABA. */
	_Atomic(struct bix_op *) head;
	atomic_bool stopping;		/* set by close */
	atomic_int failed;		/* 0 or the sticky -errno; set once */
	atomic_int inject_rc;		/* blob_index_fail_commits() */
	atomic_uint inject_n;
	struct bix_op **batch;		/* writer only: max_batch + BIX_UNIT_MAX slots */
	int64_t last_warn_us;		/* writer only: rate limit of warnings */
	/* Room (see the essay); set at open, then owned by the writer. */
	int data_fd;			/* LMDB's data file */
	size_t psize;			/* LMDB's page size */
	uint64_t map_bytes;		/* the map LMDB really uses */
	uint64_t reserve;		/* bytes preallocated ahead of the high-water */
	uint64_t keep_pages;		/* pages kept back for deletes */
	bool prealloc;			/* fallocate works on this file system */
	uint64_t prealloc_end;		/* file bytes allocated so far */
	uint64_t growth_pages;		/* pages puts may add in the next txn */
	uint64_t txn_limit;		/* record-tree pages allowed in the open txn */
	uint64_t txn_pages;		/* record-tree pages after its last mutation */
	bool no_room;			/* growth_pages is 0 (logged when it changes) */
	/* Statistics: written by the writer (pending also by submitters),
	 * read by anyone; relaxed, each a counter on its own. */
	_Atomic uint64_t st_commits, st_records, st_last_batch, st_commit_us;
	_Atomic uint64_t st_pending, st_errors, st_syncs, st_bad, st_room;
};

/* ---- CRC32C ---- */

static uint32_t bix_crc_tab[8][256];

uint32_t blob_crc32c_sw(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	crc = ~crc;
	while (n && ((uintptr_t)p & 7)) {
		crc = bix_crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		n--;
	}
	while (n >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		w = le64toh(w) ^ crc;
		crc = bix_crc_tab[7][w & 0xff] ^
		      bix_crc_tab[6][(w >> 8) & 0xff] ^
		      bix_crc_tab[5][(w >> 16) & 0xff] ^
		      bix_crc_tab[4][(w >> 24) & 0xff] ^
		      bix_crc_tab[3][(w >> 32) & 0xff] ^
		      bix_crc_tab[2][(w >> 40) & 0xff] ^
		      bix_crc_tab[1][(w >> 48) & 0xff] ^
		      bix_crc_tab[0][w >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = bix_crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__)
/*
 * One crc32 instruction handles 8 bytes but takes 3 cycles before the next
 * one on the same register can start, while the CPU can start one every
 * cycle. So a long buffer is cut into blocks of three lanes of BIX_LANE
 * bytes, each lane run on its own register, and the three results are
 * joined. The register is linear over GF(2): running lane a then lane b
 * from register r gives zeros_L(run(r, a)) ^ run(0, b), where zeros_L(x)
 * runs L zero bytes from x. zeros_L and zeros_2L are tables made at start.
 * About three times the speed of one lane (a shard checksums every byte it
 * writes or reads, on its loop).
 */
#define BIX_LANE 4096

static uint32_t bix_zeros[2][4][256];	/* [0]: BIX_LANE zero bytes, [1]: twice that */

__attribute__((target("sse4.2")))
static uint64_t bix_hw_run(uint64_t c, const unsigned char *p, size_t n)
{
	while (n >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return c;
}

static uint32_t bix_zeros_apply(const uint32_t t[4][256], uint32_t x)
{
	return t[0][x & 0xff] ^ t[1][(x >> 8) & 0xff] ^ t[2][(x >> 16) & 0xff] ^ t[3][x >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t bix_crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc;

	while (n && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		n--;
	}
	while (n >= 3 * BIX_LANE) {
		uint64_t a = c, b = 0, d = 0;

		for (size_t i = 0; i < BIX_LANE; i += 8) {
			uint64_t wa, wb, wd;

			memcpy(&wa, p + i, 8);
			memcpy(&wb, p + BIX_LANE + i, 8);
			memcpy(&wd, p + 2 * BIX_LANE + i, 8);
			a = __builtin_ia32_crc32di(a, wa);
			b = __builtin_ia32_crc32di(b, wb);
			d = __builtin_ia32_crc32di(d, wd);
		}
		c = bix_zeros_apply(bix_zeros[1], (uint32_t)a) ^
		    bix_zeros_apply(bix_zeros[0], (uint32_t)b) ^ (uint32_t)d;
		p += 3 * BIX_LANE;
		n -= 3 * BIX_LANE;
	}
	return ~(uint32_t)bix_hw_run(c, p, n);
}

/* The tables of zeros_L: by linearity, from the images of single bits. */
static void bix_zeros_init(void)
{
	static const unsigned char zero[BIX_LANE];

	for (int z = 0; z < 2; z++) {
		uint32_t bit[32];

		for (int i = 0; i < 32; i++) {
			/* Raw register runs: no inversion in or out. */
			uint32_t r = ~blob_crc32c_sw(~(1u << i), zero, BIX_LANE);

			if (z)
				r = ~blob_crc32c_sw(~r, zero, BIX_LANE);
			bit[i] = r;
		}
		for (int byte = 0; byte < 4; byte++)
			for (int v = 0; v < 256; v++) {
				uint32_t x = 0;

				for (int k = 0; k < 8; k++)
					if (v & (1 << k))
						x ^= bit[byte * 8 + k];
				bix_zeros[z][byte][v] = x;
			}
	}
}
#endif

/* Chosen once, before main(), and never written again. */
static uint32_t (*bix_crc_impl)(uint32_t, const void *, size_t) = blob_crc32c_sw;

__attribute__((constructor))
static void bix_crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ BIX_CRC_POLY : c >> 1;
		bix_crc_tab[0][i] = c;
	}
	for (int t = 1; t < 8; t++)
		for (int i = 0; i < 256; i++)
			bix_crc_tab[t][i] = (bix_crc_tab[t - 1][i] >> 8) ^
					    bix_crc_tab[0][bix_crc_tab[t - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2")) {
		bix_zeros_init();
		bix_crc_impl = bix_crc32c_hw;
	}
#endif
}

uint32_t blob_crc32c(uint32_t crc, const void *p, size_t n)
{
	return bix_crc_impl(crc, p, n);
}

/* ---- errors ---- */

static int bix_errno(int rc)
{
	if (rc >= 0)
		return -rc;
	switch (rc) {
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
	case BIX_NO_ROOM:
		return -ENOSPC;
	case MDB_TXN_FULL:
	case MDB_CURSOR_FULL:
	case MDB_PAGE_FULL:
		return -E2BIG;
	case MDB_READERS_FULL:
	case MDB_TLS_FULL:
		return -EAGAIN;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
		return -EUCLEAN;
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		return -EPROTONOSUPPORT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_BAD_VALSIZE:
	case MDB_BAD_DBI:
	case MDB_BAD_RSLOT:
	case MDB_DBS_FULL:
		return -EINVAL;
	default:			/* MDB_PANIC, MDB_MAP_RESIZED, MDB_BAD_TXN */
		return -EIO;
	}
}

/* Errors after which the environment cannot be trusted any more. */
static bool bix_is_fatal(int rc)
{
	switch (rc) {
	case MDB_PANIC:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
	case MDB_MAP_RESIZED:
	case MDB_BAD_TXN:
	case MDB_BAD_DBI:
	case MDB_BAD_RSLOT:
		return true;
	default:
		return false;
	}
}

/* Makes the index failed for good; the first cause is the one kept. */
static void bix_fail(struct blob_index *ix, int rc, const char *what)
{
	int expected = 0;

	if (atomic_compare_exchange_strong(&ix->failed, &expected, bix_errno(rc)))
		log_warning("Blob index failed: %s: %s; it refuses every write until "
			    "the server restarts", what, mdb_strerror(rc));
}

/* A read-side error: fatal ones fail the index, all become -errno. */
static int bix_read_error(struct blob_index *ix, int rc, const char *what)
{
	if (bix_is_fatal(rc))
		bix_fail(ix, rc, what);
	return bix_errno(rc);
}

/* Writer only: at most one warning a second for errors of single writes. */
static void bix_warn_op(struct blob_index *ix, int rc, const char *what, size_t nops)
{
	int64_t now = util_monotonic_us();

	if (now - ix->last_warn_us < 1000000)
		return;
	ix->last_warn_us = now;
	log_warning("Blob index: %s failed for %zu mutation(s): %s", what, nops,
		    rc == BIX_NO_ROOM ? "no room left for new records (map or disk "
		    "full; the rest is kept for deletes)" : mdb_strerror(rc));
}

/* ---- keys and records ---- */

static void bix_sha256(const void *p, size_t n, unsigned char *out)
{
	unsigned int len = 0;
	int ok = EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);

	/* Fails only when OpenSSL cannot allocate; like mem_alloc(), abort. */
	ASSERT(ok == 1 && len == BIX_DIGEST);
}

static bool bix_key_is_hashed(size_t klen)
{
	return klen > BIX_PLAIN_MAX;
}

static size_t bix_mkey_len(size_t klen)
{
	return BIX_KEY_HDR + (bix_key_is_hashed(klen) ? BIX_DIGEST : klen);
}

/* Writes the LMDB key of (db, key) at dst (bix_mkey_len(klen) bytes). */
static void bix_mkey(int db, const void *key, size_t klen, unsigned char *dst)
{
	uint32_t be = htobe32((uint32_t)db);

	memcpy(dst, &be, 4);
	if (bix_key_is_hashed(klen)) {
		dst[4] = BIX_TAG_HASHED;
		bix_sha256(key, klen, dst + BIX_KEY_HDR);
	} else {
		dst[4] = BIX_TAG_PLAIN;
		if (klen)
			memcpy(dst + BIX_KEY_HDR, key, klen);
	}
}

/* Extents nonzero, not wrapping, and together at least the value long. */
static bool bix_rec_is_valid(const struct blob_index_rec *rec)
{
	uint64_t sum = 0;

	if (rec->nextents > BLOB_INDEX_MAX_EXTENTS)
		return false;
	for (uint32_t i = 0; i < rec->nextents; i++) {
		const struct blob_index_extent *e = &rec->ext[i];

		if (!e->len || e->off + e->len < e->off || sum + e->len < sum)
			return false;
		sum += e->len;
	}
	return sum >= rec->len;
}

static size_t bix_rec_size(uint32_t nextents, size_t fklen)
{
	return sizeof(struct bix_disk_rec) + nextents * sizeof(struct bix_disk_extent) + fklen;
}

/* CRC32C of a record as if its rcrc field were 0. */
static uint32_t bix_rec_crc(const unsigned char *p, size_t n)
{
	static const unsigned char zero[4];
	size_t at = offsetof(struct bix_disk_rec, rcrc);
	uint32_t c;

	c = blob_crc32c(0, p, at);
	c = blob_crc32c(c, zero, sizeof(zero));
	return blob_crc32c(c, p + at + 4, n - at - 4);
}

/* Encodes rec (and the full key, fklen bytes, when hashed) at dst, which
 * has bix_rec_size(rec->nextents, fklen) bytes. */
static void bix_rec_encode(unsigned char *dst, const struct blob_index_rec *rec,
			   const void *fkey, size_t fklen)
{
	struct bix_disk_rec h = {
		.version = BIX_FORMAT,
		.nextents = (uint8_t)rec->nextents,
		.flags = 0,
		.rcrc = 0,
		.file = htole32(rec->file),
		.crc = htole32(rec->crc),
		.len = htole64(rec->len),
		.expire_ms = (int64_t)htole64((uint64_t)rec->expire_ms),
		.klen = htole32((uint32_t)fklen),
		.reserved = 0,
	};
	size_t n = bix_rec_size(rec->nextents, fklen);
	unsigned char *p = dst + sizeof(h);
	uint32_t crc;

	for (uint32_t i = 0; i < rec->nextents; i++) {
		struct bix_disk_extent e = {
			.off = htole64(rec->ext[i].off),
			.len = htole64(rec->ext[i].len),
		};

		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
	}
	if (fklen)
		memcpy(p, fkey, fklen);
	memcpy(dst, &h, sizeof(h));
	crc = htole32(bix_rec_crc(dst, n));
	memcpy(dst + offsetof(struct bix_disk_rec, rcrc), &crc, sizeof(crc));
}

/* A record and its key, decoded: views into LMDB's map, valid while the
 * transaction that read them is open. */
struct bix_view {
	int db;				/* database number */
	const unsigned char *key;	/* the full key: in the LMDB key or record */
	size_t klen;
	struct blob_index_rec rec;	/* decoded copy */
};

/* Decodes an LMDB (key, value) pair. Returns 0, -EBADMSG or
 * -EPROTONOSUPPORT. */
static int bix_decode(const MDB_val *k, const MDB_val *v, struct bix_view *out)
{
	const unsigned char *mk = k->mv_data, *p = v->mv_data;
	unsigned char digest[BIX_DIGEST];
	struct bix_disk_rec h;
	uint32_t be, klen;
	size_t n = v->mv_size;

	if (k->mv_size < BIX_KEY_HDR || n < sizeof(h))
		return -EBADMSG;
	memcpy(&h, p, sizeof(h));
	if (h.version != BIX_FORMAT)
		return h.version > BIX_FORMAT ? -EPROTONOSUPPORT : -EBADMSG;
	klen = le32toh(h.klen);
	if (h.nextents > BLOB_INDEX_MAX_EXTENTS || n != bix_rec_size(h.nextents, klen) ||
	    le32toh(h.rcrc) != bix_rec_crc(p, n))
		return -EBADMSG;

	memcpy(&be, mk, 4);
	be = be32toh(be);
	if (be > INT_MAX)
		return -EBADMSG;
	out->db = (int)be;
	if (mk[4] == BIX_TAG_PLAIN) {
		if (klen || k->mv_size - BIX_KEY_HDR > BIX_PLAIN_MAX)
			return -EBADMSG;
		out->key = mk + BIX_KEY_HDR;
		out->klen = k->mv_size - BIX_KEY_HDR;
	} else if (mk[4] == BIX_TAG_HASHED) {
		out->key = p + bix_rec_size(h.nextents, 0);
		out->klen = klen;
		if (k->mv_size != BIX_KEY_HDR + BIX_DIGEST || !bix_key_is_hashed(klen))
			return -EBADMSG;
		bix_sha256(out->key, klen, digest);
		if (memcmp(digest, mk + BIX_KEY_HDR, BIX_DIGEST))
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}

	out->rec.file = le32toh(h.file);
	out->rec.crc = le32toh(h.crc);
	out->rec.len = le64toh(h.len);
	out->rec.expire_ms = (int64_t)le64toh((uint64_t)h.expire_ms);
	out->rec.nextents = h.nextents;
	p += sizeof(h);
	for (uint32_t i = 0; i < h.nextents; i++) {
		struct bix_disk_extent e;

		memcpy(&e, p, sizeof(e));
		out->rec.ext[i].off = le64toh(e.off);
		out->rec.ext[i].len = le64toh(e.len);
		p += sizeof(e);
	}
	return bix_rec_is_valid(&out->rec) ? 0 : -EBADMSG;
}

/* Whether the record v, stored under a hashed LMDB key, is that of the full
 * key fkey. A record that does not decode counts as ours: overwriting or
 * deleting it repairs the index. */
static bool bix_owns(const MDB_val *k, const MDB_val *v, const unsigned char *fkey,
		     size_t fklen)
{
	struct bix_view view;

	if (bix_decode(k, v, &view))
		return true;
	return view.klen == fklen && !memcmp(view.key, fkey, fklen);
}

/* ---- submission ---- */

static int bix_check(struct blob_index *ix, int db, const void *key, size_t klen)
{
	int err = atomic_load_explicit(&ix->failed, memory_order_relaxed);

	if (err)
		return err;
	if (db < 0 || klen > BLOB_INDEX_MAX_KEY || (klen && !key))
		return -EINVAL;
	if (atomic_load_explicit(&ix->stopping, memory_order_relaxed))
		return -ESHUTDOWN;
	return 0;
}

static struct bix_op *bix_op_new(enum bix_kind kind, size_t size,
				 blob_index_done_fn done, void *cookie)
{
	struct bix_op *op = mem_alloc(sizeof(*op) + size);

	op->next = NULL;
	op->done = done;
	op->cookie = cookie;
	op->res = 0;
	op->kind = kind;
	op->mklen = 0;
	op->mvlen = 0;
	op->fkey = NULL;
	op->fklen = 0;
	op->more = false;
	return op;
}

static void bix_wake(struct blob_index *ix)
{
	uint64_t one = 1;
	ssize_t r = write(ix->efd, &one, sizeof(one));

	/* Fails only if the counter would overflow: the writer is awake. */
	(void)r;
}

/* This thread's unit being built (blob_index_hold), newest first. */
static _Thread_local struct {
	struct blob_index *ix;
	int depth;
	unsigned n;
	struct bix_op *head, *tail;
} bix_unit;

/* Pushes the chain first..last (newest first, linked by next). */
static void bix_push_chain(struct blob_index *ix, struct bix_op *first, struct bix_op *last)
{
	struct bix_op *old = atomic_load_explicit(&ix->head, memory_order_relaxed);

	do {
		last->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&ix->head, &old, first,
							memory_order_release,
							memory_order_relaxed));
	/* The writer sleeps only after it found the stack empty; whoever
	 * pushes onto an empty stack wakes it. The eventfd counter keeps a
	 * wake-up sent before the writer starts to wait. */
	if (!old)
		bix_wake(ix);
}

static void bix_push(struct blob_index *ix, struct bix_op *op)
{
	/* Counted before the push: the writer may finish op before we return. */
	atomic_fetch_add_explicit(&ix->st_pending, 1, memory_order_relaxed);
	if (bix_unit.depth && bix_unit.ix == ix) {
		if (bix_unit.head && bix_unit.n < BIX_UNIT_MAX)
			bix_unit.head->more = true;
		op->next = bix_unit.head;
		bix_unit.head = op;
		if (!bix_unit.tail)
			bix_unit.tail = op;
		bix_unit.n++;
		return;
	}
	op->next = NULL;
	bix_push_chain(ix, op, op);
}

void blob_index_hold(struct blob_index *ix)
{
	if (bix_unit.depth++ == 0)
		bix_unit.ix = ix;
}

void blob_index_release(struct blob_index *ix)
{
	if (--bix_unit.depth > 0)
		return;
	if (bix_unit.head)
		bix_push_chain(ix, bix_unit.head, bix_unit.tail);
	bix_unit.head = bix_unit.tail = NULL;
	bix_unit.n = 0;
	bix_unit.ix = NULL;
}

int blob_index_put(struct blob_index *ix, int db, const void *key, size_t klen,
		   const struct blob_index_rec *rec, blob_index_done_fn done, void *cookie)
{
	size_t mklen, fklen, vlen;
	struct bix_op *op;
	int err;

	if ((err = bix_check(ix, db, key, klen)))
		return err;
	if (!rec || !bix_rec_is_valid(rec))
		return -EINVAL;
	mklen = bix_mkey_len(klen);
	fklen = bix_key_is_hashed(klen) ? klen : 0;
	vlen = bix_rec_size(rec->nextents, fklen);
	op = bix_op_new(BIX_PUT, mklen + vlen, done, cookie);
	op->mklen = (uint32_t)mklen;
	op->mvlen = (uint32_t)vlen;
	bix_mkey(db, key, klen, op->buf);
	bix_rec_encode(op->buf + mklen, rec, key, fklen);
	if (fklen) {
		op->fkey = op->buf + mklen + bix_rec_size(rec->nextents, 0);
		op->fklen = fklen;
	}
	bix_push(ix, op);
	return 0;
}

int blob_index_del(struct blob_index *ix, int db, const void *key, size_t klen,
		   blob_index_done_fn done, void *cookie)
{
	size_t mklen, fklen;
	struct bix_op *op;
	int err;

	if ((err = bix_check(ix, db, key, klen)))
		return err;
	mklen = bix_mkey_len(klen);
	fklen = bix_key_is_hashed(klen) ? klen : 0;
	op = bix_op_new(BIX_DEL, mklen + fklen, done, cookie);
	op->mklen = (uint32_t)mklen;
	bix_mkey(db, key, klen, op->buf);
	if (fklen) {
		memcpy(op->buf + mklen, key, fklen);
		op->fkey = op->buf + mklen;
		op->fklen = fklen;
	}
	bix_push(ix, op);
	return 0;
}

/* ---- room ---- */

static uint64_t bix_tree_pages(struct blob_index *ix, MDB_txn *txn)
{
	MDB_stat st;

	if (mdb_stat(txn, ix->dbi, &st))
		return 0;
	return (uint64_t)st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
}

/*
 * Pages on LMDB's free list, reusable now or after the next commits: the
 * sum of the page-list lengths in its free database (dbi 0, each value an
 * array of MDB_ID led by its count), read as LMDB's own mdb_stat -f does.
 */
static uint64_t bix_free_pages(struct blob_index *ix)
{
	MDB_cursor_op op = MDB_FIRST;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	uint64_t n = 0;
	size_t cnt;			/* an MDB_ID: size_t in LMDB 0.9 */

	if (mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn))
		return 0;
	if (!mdb_cursor_open(txn, 0, &cur)) {
		for (; !mdb_cursor_get(cur, &k, &v, op); op = MDB_NEXT) {
			if (v.mv_size >= sizeof(cnt)) {
				memcpy(&cnt, v.mv_data, sizeof(cnt));
				n += cnt;
			}
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return n;
}

/* Extends the preallocation to reserve bytes past the high-water mark hw. */
static void bix_prealloc(struct blob_index *ix, uint64_t hw)
{
	uint64_t target = MIN((hw + ix->reserve + BIX_RESERVE_MIN - 1) & ~(BIX_RESERVE_MIN - 1),
			      ix->map_bytes);

	if (target <= ix->prealloc_end)
		return;
	if (!fallocate(ix->data_fd, FALLOC_FL_KEEP_SIZE, (off_t)ix->prealloc_end,
		       (off_t)(target - ix->prealloc_end))) {
		ix->prealloc_end = target;
	} else if (errno == EOPNOTSUPP || errno == ENOSYS) {
		ix->prealloc = false;
		log_notice("Blob index: the file system cannot preallocate; on a full "
			   "disk deletes may fail too");
	}
	/* ENOSPC and the like: the room computed next shrinks, and puts that
	 * need more stop before the deletes' share is touched. */
}

/* Works out growth_pages for the next transaction; run at open and after
 * every commit. */
static void bix_room_update(struct blob_index *ix)
{
	MDB_envinfo info;
	uint64_t hw, end, room;

	if (mdb_env_info(ix->env, &info))
		return;
	hw = (uint64_t)(info.me_last_pgno + 1) * ix->psize;
	if (ix->prealloc && ix->prealloc_end < MIN(hw + ix->reserve / 2, ix->map_bytes))
		bix_prealloc(ix, hw);
	end = ix->prealloc ? ix->prealloc_end : ix->map_bytes;
	room = end > hw ? (end - hw) / ix->psize : 0;
	if (room < 2 * ix->keep_pages)
		room += bix_free_pages(ix);
	ix->growth_pages = room > ix->keep_pages ? room - ix->keep_pages : 0;
	atomic_store_explicit(&ix->st_room, ix->growth_pages * ix->psize,
			      memory_order_relaxed);
	if (!ix->growth_pages != ix->no_room) {
		ix->no_room = !ix->growth_pages;
		if (ix->no_room)
			log_warning("Blob index: no room for new records (%s full); "
				    "deletes go on", ix->prealloc && end < ix->map_bytes
				    ? "disk" : "map");
		else
			log_notice("Blob index: room for new records again");
	}
}

/* ---- the writer ---- */

/*
 * Applies op in txn. Returns 0 (op->res holds its own outcome: 0, or -ENOENT
 * / -EEXIST which leave the transaction usable) or the LMDB error that
 * poisoned the transaction.
 */
static int bix_apply_one(struct blob_index *ix, MDB_txn *txn, struct bix_op *op)
{
	MDB_val k = { .mv_size = op->mklen, .mv_data = op->buf };
	MDB_val v;
	int rc;

	op->res = 0;
	if (op->fkey) {
		rc = mdb_get(txn, ix->dbi, &k, &v);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
		if (!rc && !bix_owns(&k, &v, op->fkey, op->fklen)) {
			op->res = op->kind == BIX_PUT ? -EEXIST : -ENOENT;
			return 0;
		}
	}
	if (op->kind == BIX_PUT) {
		uint64_t pages;

		v.mv_size = op->mvlen;
		v.mv_data = op->buf + op->mklen;
		if ((rc = mdb_put(txn, ix->dbi, &k, &v, 0)))
			return rc;
		pages = bix_tree_pages(ix, txn);
		if (pages > ix->txn_limit && pages > ix->txn_pages)
			return BIX_NO_ROOM;
		ix->txn_pages = pages;
		return 0;
	}
	rc = mdb_del(txn, ix->dbi, &k, NULL);
	if (rc == MDB_NOTFOUND) {
		op->res = -ENOENT;
		return 0;
	}
	if (!rc)
		ix->txn_pages = bix_tree_pages(ix, txn);
	return rc;
}

static int bix_commit(struct blob_index *ix, MDB_txn *txn, size_t nops)
{
	int64_t t0 = util_monotonic_us();
	unsigned inj = atomic_load(&ix->inject_n);
	int rc;

	if (inj && atomic_compare_exchange_strong(&ix->inject_n, &inj, inj - 1)) {
		mdb_txn_abort(txn);
		rc = atomic_load(&ix->inject_rc);
	} else {
		rc = mdb_txn_commit(txn);
	}
	atomic_fetch_add_explicit(&ix->st_commit_us, (uint64_t)(util_monotonic_us() - t0),
				  memory_order_relaxed);
	if (!rc) {
		atomic_fetch_add_explicit(&ix->st_commits, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&ix->st_records, nops, memory_order_relaxed);
		atomic_store_explicit(&ix->st_last_batch, nops, memory_order_relaxed);
	}
	return rc;
}

/*
 * Applies ops[0..n) in as few transactions as the errors allow (see the
 * essay) and leaves each outcome in op->res. Returns whether anything was
 * committed.
 */
static bool bix_apply_batch(struct blob_index *ix, struct bix_op **ops, size_t n)
{
	bool committed = false, single = false;
	size_t i = 0, end, j;
	MDB_txn *txn;
	int rc, err;

	while (i < n) {
		err = atomic_load_explicit(&ix->failed, memory_order_relaxed);
		if (err) {
			for (; i < n; i++)
				ops[i]->res = err;
			break;
		}
		end = single ? i + 1 : n;
retry:
		rc = mdb_txn_begin(ix->env, NULL, 0, &txn);
		if (rc) {
			if (bix_is_fatal(rc))
				bix_fail(ix, rc, "mdb_txn_begin");
			else
				bix_warn_op(ix, rc, "mdb_txn_begin", n - i);
			for (; i < n; i++)
				ops[i]->res = bix_errno(rc);
			break;
		}
		ix->txn_pages = bix_tree_pages(ix, txn);
		ix->txn_limit = ix->txn_pages + ix->growth_pages;
		for (j = i; j < end; j++)
			if ((rc = bix_apply_one(ix, txn, ops[j])))
				break;
		if (rc) {
			mdb_txn_abort(txn);
			if (bix_is_fatal(rc)) {
				bix_fail(ix, rc, "mdb_put");
				continue;
			}
			if (j == i) {
				/* First in its transaction: its own fault. */
				bix_warn_op(ix, rc, ops[i]->kind == BIX_PUT ? "mdb_put" : "mdb_del", 1);
				ops[i++]->res = bix_errno(rc);
				continue;
			}
			/* Commit the ones before it; it goes first next time. */
			end = j;
			goto retry;
		}
		rc = bix_commit(ix, txn, end - i);
		if (!rc) {
			committed = true;
			i = end;
			bix_room_update(ix);
			continue;
		}
		if (bix_is_fatal(rc)) {
			bix_fail(ix, rc, "mdb_txn_commit");
			continue;
		}
		if (end - i > 1) {
			single = true;
			continue;
		}
		bix_warn_op(ix, rc, "mdb_txn_commit", end - i);
		for (; i < end; i++)
			ops[i]->res = bix_errno(rc);
	}
	return committed;
}

/* Reports and frees ops[0..n), in order. */
static void bix_finish(struct blob_index *ix, struct bix_op **ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct bix_op *op = ops[i];

		atomic_fetch_sub_explicit(&ix->st_pending, 1, memory_order_relaxed);
		if (op->res && op->res != -ENOENT)
			atomic_fetch_add_explicit(&ix->st_errors, 1, memory_order_relaxed);
		if (op->done)
			op->done(op->cookie, op->res);
		mem_free(op);
	}
}

static struct bix_op *bix_reverse(struct bix_op *op)
{
	struct bix_op *prev = NULL, *next;

	while (op) {
		next = op->next;
		op->next = prev;
		prev = op;
		op = next;
	}
	return prev;
}

/* Applies and reports a list in submission order, max_batch at a time.
 * Returns whether anything was committed. */
static bool bix_run(struct blob_index *ix, struct bix_op *list)
{
	bool committed = false;

	while (list) {
		size_t n = 0;

		/* A batch ends at max_batch, but not inside a unit. */
		while (list && (n < ix->max_batch || ix->batch[n - 1]->more)) {
			ix->batch[n++] = list;
			list = list->next;
		}
		committed |= bix_apply_batch(ix, ix->batch, n);
		bix_finish(ix, ix->batch, n);
	}
	return committed;
}

static void bix_sync(struct blob_index *ix)
{
	int rc = mdb_env_sync(ix->env, 1);

	atomic_fetch_add_explicit(&ix->st_syncs, 1, memory_order_relaxed);
	/* After a failed fsync the kernel may have dropped the pages it could
	 * not write: what was acknowledged is no longer known to be safe. */
	if (rc)
		bix_fail(ix, rc, "mdb_env_sync");
}

/* Waits for a push or close, at most timeout_ms (-1: no limit). */
static void bix_sleep(struct blob_index *ix, int timeout_ms)
{
	struct pollfd pfd = { .fd = ix->efd, .events = POLLIN };
	uint64_t v;

	if (poll(&pfd, 1, timeout_ms) > 0) {
		ssize_t r = read(ix->efd, &v, sizeof(v));

		(void)r;
	}
}

static void *bix_writer_main(void *arg)
{
	struct blob_index *ix = arg;
	int64_t last_sync = util_monotonic_us(), now;
	bool dirty = false;		/* committed since last_sync (everysec) */

	for (;;) {
		struct bix_op *list = atomic_exchange_explicit(&ix->head, NULL,
							       memory_order_acquire);

		if (list) {
			dirty |= bix_run(ix, bix_reverse(list));
		} else if (atomic_load_explicit(&ix->stopping, memory_order_acquire)) {
			break;
		} else {
			int timeout = -1;

			if (ix->sync == BLOB_INDEX_SYNC_EVERYSEC && dirty) {
				int64_t left = last_sync + BIX_SYNC_US - util_monotonic_us();

				timeout = left > 0 ? (int)((left + 999) / 1000) : 0;
			}
			bix_sleep(ix, timeout);
		}
		if (ix->sync != BLOB_INDEX_SYNC_EVERYSEC || !dirty)
			continue;
		now = util_monotonic_us();
		if (now - last_sync >= BIX_SYNC_US) {
			if (!atomic_load_explicit(&ix->failed, memory_order_relaxed))
				bix_sync(ix);
			last_sync = now;
			dirty = false;
		}
	}
	return NULL;
}

/* ---- open and close ---- */

/* Opens the two named databases, checks or writes the format marker, and
 * counts the records. Returns 0 or an LMDB/errno code (not negated). */
static int bix_open_dbs(struct blob_index *ix, size_t *nrecords)
{
	uint32_t fmt = htole32(BIX_FORMAT);
	MDB_val k = { .mv_size = 6, .mv_data = "format" };
	MDB_val v;
	MDB_dbi meta;
	MDB_stat st;
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(ix->env, NULL, 0, &txn)))
		return rc;
	if ((rc = mdb_dbi_open(txn, "records", MDB_CREATE, &ix->dbi)) ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta)))
		goto out_abort;
	rc = mdb_get(txn, meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		v.mv_size = sizeof(fmt);
		v.mv_data = &fmt;
		if ((rc = mdb_put(txn, meta, &k, &v, 0)))
			goto out_abort;
	} else if (rc) {
		goto out_abort;
	} else if (v.mv_size != sizeof(fmt)) {
		rc = MDB_CORRUPTED;
		goto out_abort;
	} else {
		memcpy(&fmt, v.mv_data, sizeof(fmt));
		if (le32toh(fmt) > BIX_FORMAT) {
			rc = MDB_VERSION_MISMATCH;
			goto out_abort;
		}
	}
	if ((rc = mdb_stat(txn, ix->dbi, &st)))
		goto out_abort;
	*nrecords = st.ms_entries;
	return mdb_txn_commit(txn);

out_abort:
	mdb_txn_abort(txn);
	return rc;
}

static int bix_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

/* Sizes the room kept for deletes and makes the first preallocation. */
static int bix_room_init(struct blob_index *ix)
{
	MDB_envinfo info;
	MDB_stat st;
	int rc;

	if ((rc = mdb_env_info(ix->env, &info)) || (rc = mdb_env_stat(ix->env, &st)) ||
	    (rc = mdb_env_get_fd(ix->env, &ix->data_fd)))
		return bix_errno(rc);
	ix->psize = st.ms_psize;
	ix->map_bytes = info.me_mapsize;
	ix->reserve = MIN(MAX(ix->map_bytes / 16, BIX_RESERVE_MIN), BIX_RESERVE_MAX);
	ix->keep_pages = MIN(ix->reserve / 2, ix->map_bytes / 4) / ix->psize;
	ix->prealloc = true;
	ix->prealloc_end = (uint64_t)(info.me_last_pgno + 1) * ix->psize;
	bix_room_update(ix);
	return 0;
}

/* Starts the writer with every asynchronous signal blocked: they belong to
 * the server's own threads. */
static int bix_start_writer(struct blob_index *ix)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&ix->writer, NULL, bix_writer_main, ix);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!rc)
		pthread_setname_np(ix->writer, "blob-index");
	return -rc;
}

int blob_index_open(const struct blob_index_cfg *cfg, struct blob_index **out)
{
	struct blob_index *ix;
	size_t nrecords = 0, map_size;
	char path[PATH_MAX];
	int rc, err, dead;

	*out = NULL;
	if (!cfg || !cfg->dir || !*cfg->dir || (unsigned)cfg->sync > BLOB_INDEX_SYNC_NO)
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/index", cfg->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;

	ix = mem_calloc(1, sizeof(*ix));
	ix->sync = cfg->sync;
	ix->max_batch = cfg->max_batch ? MIN(cfg->max_batch, BIX_MAX_BATCH)
				       : BLOB_INDEX_DEFAULT_MAX_BATCH;
	map_size = cfg->map_size ? cfg->map_size : BLOB_INDEX_DEFAULT_MAP_SIZE;

	if ((rc = mdb_env_create(&ix->env))) {
		err = bix_errno(rc);
		goto out_free;
	}
	if ((rc = mdb_env_set_mapsize(ix->env, map_size)) ||
	    (rc = mdb_env_set_maxdbs(ix->env, 2)) ||
	    (rc = mdb_env_set_maxreaders(ix->env, BIX_MAX_READERS)))
		goto out_env_error;
	/* MDB_NOTLS: a read snapshot belongs to its txn, not to the thread, so
	 * any thread may get or scan. Under "everysec" and "no" LMDB writes
	 * without fsync and the writer syncs on its own schedule. */
	rc = mdb_env_open(ix->env, path,
			  MDB_NOTLS | (ix->sync == BLOB_INDEX_SYNC_ALWAYS ? 0 : MDB_NOSYNC),
			  0644);
	if (rc)
		goto out_env_error;
	/* Reader slots of a process that was killed would pin old pages. */
	mdb_reader_check(ix->env, &dead);
	/* The key format assumes LMDB's default; a build with smaller keys
	 * would not hold plain keys of 506 bytes. */
	ASSERT(mdb_env_get_maxkeysize(ix->env) >= BIX_KEY_MAX);
	if ((rc = bix_open_dbs(ix, &nrecords)))
		goto out_env_error;
	if ((err = bix_room_init(ix)))
		goto out_close_env;
	/* The files may be new: make their names as durable as their data. */
	if ((err = bix_fsync_dir(path)) || (err = bix_fsync_dir(cfg->dir)))
		goto out_close_env;

	ix->efd = eventfd(0, EFD_CLOEXEC);
	if (ix->efd < 0) {
		err = -errno;
		goto out_close_env;
	}
	ix->batch = mem_alloc((ix->max_batch + BIX_UNIT_MAX) * sizeof(*ix->batch));
	ix->last_warn_us = util_monotonic_us() - 1000000;
	if ((err = bix_start_writer(ix)))
		goto out_free_batch;

	log_notice("Blob index %s: %zu records, map %zu MiB, sync %s, batches up to %u",
		   path, nrecords, map_size >> 20, blob_index_sync_name(ix->sync),
		   ix->max_batch);
	*out = ix;
	return 0;

out_env_error:
	err = bix_errno(rc);
	log_warning("Blob index %s: cannot open: %s", path, mdb_strerror(rc));
	goto out_close_env;
out_free_batch:
	mem_free(ix->batch);
	close(ix->efd);
out_close_env:
	mdb_env_close(ix->env);
out_free:
	mem_free(ix);
	return err;
}

void blob_index_close(struct blob_index *ix)
{
	struct bix_op *list;
	size_t n;
	int rc;

	if (!ix)
		return;
	atomic_store_explicit(&ix->stopping, true, memory_order_release);
	bix_wake(ix);
	pthread_join(ix->writer, NULL);

	/* A submission that raced with close (a contract breach) still gets
	 * its one done() call. */
	list = bix_reverse(atomic_exchange_explicit(&ix->head, NULL, memory_order_acquire));
	while (list) {
		for (n = 0; list && n < ix->max_batch; list = list->next) {
			list->res = -ESHUTDOWN;
			ix->batch[n++] = list;
		}
		bix_finish(ix, ix->batch, n);
	}

	if (!atomic_load(&ix->failed)) {
		atomic_fetch_add_explicit(&ix->st_syncs, 1, memory_order_relaxed);
		if ((rc = mdb_env_sync(ix->env, 1)))
			log_warning("Blob index: sync at close: %s", mdb_strerror(rc));
	}
	log_notice("Blob index closed: %llu commits, %llu records",
		   (unsigned long long)atomic_load(&ix->st_commits),
		   (unsigned long long)atomic_load(&ix->st_records));
	mdb_env_close(ix->env);
	close(ix->efd);
	mem_free(ix->batch);
	mem_free(ix);
}

/* ---- reads ---- */

int blob_index_get(struct blob_index *ix, int db, const void *key, size_t klen,
		   struct blob_index_rec *out)
{
	unsigned char mkey[BIX_KEY_MAX];
	struct bix_view view;
	MDB_val k, v;
	MDB_txn *txn;
	int rc, err;

	if ((err = bix_check(ix, db, key, klen)) && err != -ESHUTDOWN)
		return err;
	bix_mkey(db, key, klen, mkey);
	k.mv_size = bix_mkey_len(klen);
	k.mv_data = mkey;
	if ((rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn)))
		return bix_read_error(ix, rc, "mdb_txn_begin");
	rc = mdb_get(txn, ix->dbi, &k, &v);
	if (rc) {
		err = bix_read_error(ix, rc, "mdb_get");
	} else if ((err = bix_decode(&k, &v, &view))) {
		log_warning("Blob index: record of a key of %zu bytes in db %d does not "
			    "decode (%d)", klen, db, err);
	} else if (view.klen != klen || (klen && memcmp(view.key, key, klen))) {
		err = -ENOENT;		/* another key with the same digest */
	} else if (out) {
		*out = view.rec;
	}
	mdb_txn_abort(txn);
	return err;
}

int blob_index_scan(struct blob_index *ix, blob_index_scan_fn fn, void *arg)
{
	struct bix_view view;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	uint64_t bad = 0;
	int rc, ret = 0, err;

	if ((err = atomic_load(&ix->failed)))
		return err;
	if ((rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &txn)))
		return bix_read_error(ix, rc, "mdb_txn_begin");
	if ((rc = mdb_cursor_open(txn, ix->dbi, &cur))) {
		mdb_txn_abort(txn);
		return bix_read_error(ix, rc, "mdb_cursor_open");
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((err = bix_decode(&k, &v, &view))) {
			if (++bad <= 10)
				log_warning("Blob index: skipping a record that does not "
					    "decode (%d), LMDB key of %zu bytes", err, k.mv_size);
			continue;
		}
		if ((ret = fn(arg, view.db, view.key, view.klen, &view.rec)))
			break;
	}
	if (!ret && rc != MDB_NOTFOUND)
		ret = bix_read_error(ix, rc, "mdb_cursor_get");
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (bad) {
		atomic_fetch_add_explicit(&ix->st_bad, bad, memory_order_relaxed);
		log_warning("Blob index: scan skipped %llu undecodable records",
			    (unsigned long long)bad);
	}
	return ret;
}

void blob_index_stats(struct blob_index *ix, struct blob_index_stats *st)
{
	MDB_envinfo info;
	MDB_stat est;

	memset(st, 0, sizeof(*st));
	st->commits = atomic_load_explicit(&ix->st_commits, memory_order_relaxed);
	st->records = atomic_load_explicit(&ix->st_records, memory_order_relaxed);
	st->last_batch = atomic_load_explicit(&ix->st_last_batch, memory_order_relaxed);
	st->mean_batch = st->commits ? (double)st->records / (double)st->commits : 0;
	st->commit_us = atomic_load_explicit(&ix->st_commit_us, memory_order_relaxed);
	st->pending = atomic_load_explicit(&ix->st_pending, memory_order_relaxed);
	st->errors = atomic_load_explicit(&ix->st_errors, memory_order_relaxed);
	st->syncs = atomic_load_explicit(&ix->st_syncs, memory_order_relaxed);
	st->bad_records = atomic_load_explicit(&ix->st_bad, memory_order_relaxed);
	st->room = atomic_load_explicit(&ix->st_room, memory_order_relaxed);
	st->failed = atomic_load(&ix->failed);
	if (!mdb_env_info(ix->env, &info) && !mdb_env_stat(ix->env, &est)) {
		st->map_size = info.me_mapsize;
		st->map_used = (uint64_t)(info.me_last_pgno + 1) * est.ms_psize;
	}
}

const char *blob_index_sync_name(enum blob_index_sync mode)
{
	switch (mode) {
	case BLOB_INDEX_SYNC_ALWAYS:
		return "always";
	case BLOB_INDEX_SYNC_EVERYSEC:
		return "everysec";
	case BLOB_INDEX_SYNC_NO:
		return "no";
	}
	return "?";
}

int blob_index_sync_parse(const char *name)
{
	if (!strcasecmp(name, "always"))
		return BLOB_INDEX_SYNC_ALWAYS;
	if (!strcasecmp(name, "everysec"))
		return BLOB_INDEX_SYNC_EVERYSEC;
	if (!strcasecmp(name, "no"))
		return BLOB_INDEX_SYNC_NO;
	return -EINVAL;
}

void blob_index_fail_commits(struct blob_index *ix, int rc, unsigned n)
{
	atomic_store(&ix->inject_rc, rc);
	atomic_store(&ix->inject_n, n);
}
