/*
 * blob_index.h - the durable index of large values: key -> where its bytes
 * live in a shard's block file, its length, expiry and checksum.
 *
 * One LMDB environment under <dir>/index/ serves every shard. Shards submit
 * puts and deletes from their own threads without waiting; one writer thread
 * owned by the index applies everything queued in a single write
 * transaction (group commit), makes it as durable as the sync mode asks, and
 * then reports each mutation through its done() callback. At start-up
 * blob_index_scan() replays every record so the allocator and the in-memory
 * entries can be rebuilt.
 *
 * This is an engine with its own interface: it knows nothing of the server,
 * and is tested on its own.
 *
 * Threads. blob_index_open() and blob_index_close() are called by one thread
 * (start-up and shutdown). blob_index_put(), blob_index_del(),
 * blob_index_get(), blob_index_scan() and blob_index_stats() may be called
 * from any number of threads at once, between open and close. One directory
 * is opened by at most one process, once (LMDB keeps locks per process).
 *
 * Errors are negative errno values:
 *	-EINVAL          a bad argument (see each function)
 *	-ENOENT          no such record
 *	-ENOSPC          the LMDB map, or the disk, is full (deletes still work:
 *	                 room is kept back for them, see blob_index.c)
 *	-E2BIG           one mutation needs more dirty pages than a transaction holds
 *	-EEXIST          a key hashed to the digest of another key (SHA-256 collision)
 *	-EBADMSG         a record that does not decode (damaged, or not ours)
 *	-EUCLEAN         LMDB found its file damaged
 *	-EPROTONOSUPPORT the index was written by a newer format
 *	-EAGAIN          too many concurrent readers
 *	-ESHUTDOWN       submitted while blob_index_close() runs
 *	-EIO, others     from the file system, as LMDB reported them
 * A fatal error (LMDB's panic, a damaged file, a failed fsync) makes the
 * index failed for good: every later call returns that error at once
 * (blob_index_stats() reports it), until the process reopens the index.
 */
#ifndef STRATA_BLOB_INDEX_H
#define STRATA_BLOB_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A value is stored in at most this many extents of its block file. */
#define BLOB_INDEX_MAX_EXTENTS 16
/* The longest key accepted (Redis's proto-max-bulk-len default). */
#define BLOB_INDEX_MAX_KEY (512u << 20)
/* Map size when the config leaves it 0: address space reserved, not disk. */
#define BLOB_INDEX_DEFAULT_MAP_SIZE ((size_t)64 << 30)
/* Mutations per write transaction when the config leaves it 0. */
#define BLOB_INDEX_DEFAULT_MAX_BATCH 4096

enum blob_index_sync {
	/* mdb_env_sync() once a second from the writer thread (and at close).
	 * An acknowledged mutation survives a crash of the process; a power
	 * loss may drop up to about a second of them and, as LMDB documents for
	 * MDB_NOSYNC, on a file system that reorders writes it may leave the
	 * index damaged. */
	BLOB_INDEX_SYNC_EVERYSEC = 0,
	/* Each commit is on stable storage before any of its done() calls. */
	BLOB_INDEX_SYNC_ALWAYS,
	/* The kernel writes back when it likes; synced only at close. Survives
	 * a crash of the process, not a power loss. */
	BLOB_INDEX_SYNC_NO,
};

struct blob_index_cfg {
	const char *dir;		/* data directory; must exist; the index is
					 * <dir>/index/ (created if missing) */
	size_t map_size;		/* bytes; 0 = BLOB_INDEX_DEFAULT_MAP_SIZE. An
					 * existing index larger than this keeps its size */
	enum blob_index_sync sync;	/* durability of a commit */
	unsigned max_batch;		/* mutations per transaction; 0 = default */
};

/* One run of a block file: byte offset and length, both nonzero multiples
 * of whatever the allocator uses (the index does not care). */
struct blob_index_extent {
	uint64_t off;			/* byte offset in the block file */
	uint64_t len;			/* bytes, nonzero */
};

/* Where a value lives. */
struct blob_index_rec {
	uint32_t file;			/* block file id (the shard's) */
	uint32_t crc;			/* blob_crc32c(0, value, len) */
	uint64_t len;			/* value length in bytes */
	int64_t expire_ms;		/* unix time in ms, 0 = no expiry */
	uint32_t nextents;		/* 0..BLOB_INDEX_MAX_EXTENTS */
	struct blob_index_extent ext[BLOB_INDEX_MAX_EXTENTS];
};

struct blob_index_stats {
	uint64_t commits;		/* write transactions committed */
	uint64_t records;		/* mutations in those transactions */
	uint64_t last_batch;		/* mutations in the latest commit */
	double mean_batch;		/* records / commits; 0 before any */
	uint64_t commit_us;		/* time spent committing (and syncing), total */
	uint64_t pending;		/* submitted, done() not yet called */
	uint64_t errors;		/* done() calls with an error other than -ENOENT */
	uint64_t syncs;			/* explicit syncs (everysec timer, close) */
	uint64_t bad_records;		/* records skipped by scans as undecodable */
	uint64_t map_size;		/* bytes of address space reserved */
	uint64_t map_used;		/* bytes up to the highest page ever used */
	uint64_t room;			/* bytes new records may still take; past
					 * that, puts that grow the index fail with
					 * -ENOSPC and the rest is kept for deletes */
	int failed;			/* 0, or the sticky -errno */
};

struct blob_index;

/*
 * Called once per accepted mutation, on the index's writer thread, after the
 * transaction holding it committed (and, under BLOB_INDEX_SYNC_ALWAYS, reached
 * stable storage). err is 0 or a negative errno: for a delete, -ENOENT means
 * there was no such record (nothing changed). Calls come in submission order.
 *
 * It runs while no commit can proceed, so it must be cheap and thread-safe:
 * hand the result to the submitting thread (a message, an eventfd) and
 * return. It may call blob_index_put() and blob_index_del(); it must not call
 * blob_index_close().
 */
typedef void (*blob_index_done_fn)(void *cookie, int err);

/*
 * Called by blob_index_scan() for each record. key and rec are views valid
 * only during the call. Return 0 to go on; anything else stops the scan and
 * becomes its result (use a negative errno).
 */
typedef int (*blob_index_scan_fn)(void *arg, int db, const void *key, size_t klen,
				  const struct blob_index_rec *rec);

/*
 * Opens (creating if needed) the index of cfg->dir and starts its writer
 * thread. cfg is only read during the call. On success *out is the handle,
 * owned by the caller until blob_index_close().
 * Errors: -EINVAL (no dir), -ENOENT (dir missing), -EUCLEAN (damaged),
 * -EPROTONOSUPPORT, -ENOMEM, -EAGAIN (no thread), or a file-system error.
 */
int blob_index_open(const struct blob_index_cfg *cfg, struct blob_index **out);

/*
 * Commits every mutation already submitted (their done() calls run before
 * this returns), stops the writer, syncs the file and frees ix. ix may be
 * NULL. Every put/del must have returned before close is called; one that
 * races with it anyway gets -ESHUTDOWN, from the call or from done().
 */
void blob_index_close(struct blob_index *ix);

/*
 * Queues "key of database db now lives at rec". Never waits for I/O: key and
 * rec are copied before it returns (the caller keeps ownership of both).
 * done(cookie, err) is called exactly once if this returns 0, never if it
 * returns an error; done may be NULL. A later mutation of the same key takes
 * effect after this one.
 * Errors: -EINVAL (db < 0, klen > BLOB_INDEX_MAX_KEY, nextents too big, an
 * extent of length 0 or wrapping around, extents shorter than rec->len),
 * -ESHUTDOWN, or the sticky failure.
 * Through done(): -ENOSPC (no room for a record that grows the index),
 * -E2BIG, -EEXIST, -EIO and other file errors, or the failure that struck
 * while it was queued.
 */
int blob_index_put(struct blob_index *ix, int db, const void *key, size_t klen,
		   const struct blob_index_rec *rec, blob_index_done_fn done, void *cookie);

/*
 * Queues the removal of key from database db; like blob_index_put() in every
 * other respect. done() gets -ENOENT if there was no record.
 * Errors: -EINVAL (db < 0, klen too big), -ESHUTDOWN, the sticky failure.
 */
int blob_index_del(struct blob_index *ix, int db, const void *key, size_t klen,
		   blob_index_done_fn done, void *cookie);

/*
 * Makes what this thread submits to ix until the matching
 * blob_index_release() one unit: it is queued at the release, all at once,
 * and applied in one transaction (a crash sees all of it or none of it),
 * unless one of its mutations fails, which then commits apart as usual; a
 * unit longer than 16 mutations may be split after the 16th. Calls nest;
 * the outermost release queues. done() calls and their order are as without
 * it. A thread holds for one index at a time.
 */
void blob_index_hold(struct blob_index *ix);
void blob_index_release(struct blob_index *ix);

/*
 * Reads the committed record of key into *out (which may be NULL to test
 * presence). Mutations still queued are not seen. Synchronous: for the check
 * tool and tests, not for a shard's event loop.
 * Errors: -EINVAL, -ENOENT, -EBADMSG, -EPROTONOSUPPORT, -EAGAIN, -EIO, the
 * sticky failure.
 */
int blob_index_get(struct blob_index *ix, int db, const void *key, size_t klen,
		   struct blob_index_rec *out);

/*
 * Calls fn for every committed record, in one read snapshot, ordered by
 * database number. Records that do not decode are skipped, logged and
 * counted in stats.bad_records. Returns 0 when all were visited, fn's
 * nonzero return if it stopped the scan, or -errno. While a scan runs, pages
 * freed by later commits cannot be reused: keep scans to start-up and tools.
 */
int blob_index_scan(struct blob_index *ix, blob_index_scan_fn fn, void *arg);

/* Fills *st with a consistent-enough snapshot (each field read atomically). */
void blob_index_stats(struct blob_index *ix, struct blob_index_stats *st);

/* Name of a sync mode as in the config file ("always", "everysec", "no"),
 * and back; blob_index_sync_parse() returns -EINVAL for anything else. */
const char *blob_index_sync_name(enum blob_index_sync mode);
int blob_index_sync_parse(const char *name);

/*
 * For tests: the next n commit attempts fail with rc as if mdb_txn_commit()
 * returned it (a positive errno such as EIO or ENOSPC, or an MDB_* code such
 * as MDB_PANIC), and are aborted. n = 0 cancels.
 */
void blob_index_fail_commits(struct blob_index *ix, int rc, unsigned n);

/*
 * CRC32C (Castagnoli, as iSCSI, ext4 and SSE4.2 compute it) of the n bytes at
 * p, continuing from crc: pass 0 to start, and the previous result to go on,
 * so crc(a || b) == blob_crc32c(blob_crc32c(0, a, na), b, nb).
 * blob_crc32c("123456789") == 0xe3069283. Uses the SSE4.2 instruction when
 * the CPU has it; blob_crc32c_sw() is the portable slice-by-8 version with
 * the same results, exported so tests can check one against the other.
 */
uint32_t blob_crc32c(uint32_t crc, const void *p, size_t n);
uint32_t blob_crc32c_sw(uint32_t crc, const void *p, size_t n);

#endif
