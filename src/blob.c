/*
 * blob.c - the blob tier inside the server (see blob.h for the objects).
 *
 * Threads. Everything about a block file (its allocator, its reads, writes,
 * growth and hole punching) happens on the thread of the shard that owns the
 * file, through that shard's ring. A value's reference count is atomic: the
 * entry holds one, each read or load in flight one; whoever drops the last
 * sends the extents home to be freed (BM_FREE) unless it is home already.
 *
 * Index. Every change of a large key is one mutation submitted to the index
 * writer thread (blob_index_put/del), in the order the keyspace saw it:
 * install (put), delete/overwrite (del), TTL change and rename (put). A done
 * callback pushes a node onto the owning shard's result stack; the shard
 * handles it on its next loop turn: it answers the SET that waited for its
 * commit, or drops the reference of a value whose record is gone, which is
 * how extents are freed only after the transaction that dropped them
 * committed and after the last read. The identity of a value's record (db,
 * key, TTL) lives in the value, changed under its small lock together with
 * the submission, so that a record is never written for a value whose key
 * was already deleted (a spill racing a DEL on another thread).
 *
 * Writes. An upload's buffers are written as they arrive, each split at
 * extent boundaries, all in flight at once; the SET runs once they all
 * completed (and, under blob-fsync always, one fdatasync covering every
 * write finished before it). Values produced in memory by other commands
 * (MSET, APPEND, SETRANGE, a SET inside MULTI) are installed at once with
 * their bytes in memory and written in the background (a "spill"); they
 * become disk-only when their record committed.
 *
 * Durability. A command that changed large keys (a put, a spill, a delete,
 * a TTL change, a rename) answers only after every index mutation it caused
 * committed: its reply is held by a durability gate (see "gates" below).
 *
 * Space. A request for extents that do not fit grows the file with an
 * io_uring fallocate first; requests queue behind a growth or a hole punch,
 * so no write ever lands in a block being punched. Over blob-max-bytes a
 * shard evicts its own large keys; when it has none to give it asks every
 * other shard to evict (BM_EVICT), and requests queue behind that round too.
 */
#include "blob.h"
#include "blob_alloc.h"
#include "blob_index.h"
#include "block.h"
#include "cfg.h"
#include "cmd.h"
#include "log.h"
#include "mem.h"
#include "server.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define UD_TAG_BLOB 3
#define BLOB_UPLOAD_BUF (1u << 20)	/* upload buffer: 1 MiB */
#define BLOB_READ_CHUNK (512u << 10)	/* read chunk: 512 KiB */
#define BLOB_GROW_MIN (64ull << 20)	/* grow a file by at least 64 MiB */
#define BLOB_PUNCH_MIN (1ull << 20)	/* punch free runs of 1 MiB and more */
#define BLOB_MAX_FILES 1024

/* --- objects --- */

enum { BV_MEM = 0, BV_WRITING, BV_STORED };

struct blob_val {
	_Atomic int refs;
	_Atomic int state;		/* BV_* */
	atomic_flag lock;		/* guards the record identity below */
	bool dead;			/* the entry let go: write no record */
	int file;			/* block file id */
	uint32_t crc;
	uint64_t len;
	int next;
	struct blob_extent ext[BLOB_INDEX_MAX_EXTENTS];
	/* record identity */
	int db;
	char *key;
	size_t klen;
	int64_t expire;
	char *mem;			/* the bytes, when in memory (aligned), or NULL */
	bool loading;
	_Atomic int pins;		/* blob_pin() holders: mem stays while > 0; taken
					 * where the entry shard is parked or running,
					 * dropped from any thread */
	int entry_shard;		/* shard whose db holds the entry */
};

enum { OP_WRITE = 1, OP_SPILL, OP_READ, OP_LOAD, OP_GROW, OP_PUNCH, OP_SYNC };

/* A request for extents, queued behind a growth or a punch. */
struct areq {
	struct areq *next;
	int kind;			/* OP_WRITE (a put) or OP_SPILL */
	void *obj;
};

struct wchunk {				/* one upload buffer being written */
	int type;			/* OP_WRITE */
	int pending;
	int err;
	struct blob_put *put;
	char *buf;
	uint64_t off;
	size_t n;
	struct wchunk *next;		/* held until the put has extents */
};

struct blob_put {
	int owner, client_shard;
	void *client_up;
	uint64_t len;
	/* owner side */
	struct areq areq;
	int file;
	int next;
	struct blob_extent ext[BLOB_INDEX_MAX_EXTENTS];
	bool allocated, alloc_wait, aborted, installed, synced;
	const char *err;
	int inflight;
	uint64_t received;
	uint32_t crc;
	struct wchunk *held, *held_tail;
	/* the command, once it arrived */
	bool has_req;
	const struct cmd_def *cmd;
	int argc, dbid, proto, src;
	uint32_t ctxflags;
	void *cookie;
	struct cmd_arg *argv;
	char *argbuf;
	struct blob_put *sync_next;	/* waiting for the group fdatasync */
};

struct spill {
	int type;			/* OP_SPILL */
	int pending;
	int err;
	struct areq areq;
	struct blob_val *bv;
	struct blob_gate *gate;		/* the command that made it, or NULL */
	struct spill *next;		/* in the shard's spill queue */
	struct spill *sync_next;
};

struct rchunk {
	int type;			/* OP_READ */
	int pending;
	int err;
	struct blob_stream *st;
	char *buf;
	uint64_t aoff;			/* value offset of buf[0] (block aligned) */
	size_t alen;
	uint64_t seq;
	bool done;
};

#define STREAM_MAX_WINDOW 16

struct blob_stream {
	struct blob_val *bv;
	uint64_t off, len;		/* bytes to deliver */
	int client_shard;
	struct blob_prog *prog;
	/* file side */
	uint64_t next;			/* next aligned offset to read */
	uint64_t end;			/* aligned end */
	uint64_t seq_read, seq_sent;
	int outstanding;		/* buffers in a read or at the client */
	int window;
	struct rchunk *slot[STREAM_MAX_WINDOW];	/* reads in flight or waiting, by seq */
	bool cancel, last_sent, failed;
	uint32_t crc;			/* running CRC when the whole value is read */
};

struct load {
	int type;			/* OP_LOAD */
	int pending;
	int err;
	struct blob_val *bv;
	char *buf;
	int dst;			/* entry shard */
};

struct fop {
	int type;			/* OP_GROW, OP_PUNCH, OP_SYNC */
	int pending;
	int err;
	struct bfile *f;
	uint64_t size;			/* OP_GROW: new size */
	uint64_t need;			/* OP_GROW: the size the request needs */
	struct blob_put *puts;		/* OP_SYNC: waiters */
	struct spill *spills;
};

struct blob_hole {
	size_t at;			/* offset in lit */
	struct blob_val *bv;		/* a reference, handed to the stream */
	uint64_t off, len;
};

struct blob_prog {
	char *lit;
	size_t litlen, pos;
	struct blob_hole *holes;
	int nholes, cur;
	void *cookie;
	struct blob_gate *gate;		/* held until it opens, or NULL */
};

struct bfile {
	int id, fd;
	struct blob_alloc *alloc;
	uint64_t size;
};

/* Index results for a shard. */
enum { N_PUT = 1, N_SPILL, N_DROP, N_NOP };

struct inode {
	struct inode *next;
	int kind, err;
	struct bshard *bs;		/* the shard that handles the result */
	struct blob_val *bv;		/* N_PUT, N_SPILL, N_DROP: a reference */
	struct blob_gate *gate;		/* the command whose reply waits for it, or NULL */
};

/*
 * A durability gate: the reply of one command, held until everything the
 * command changed on the blob tier is durable (see the "gates" section).
 * Made by the executing thread when the command queues its first index
 * mutation or spill; every such operation holds one count, and so does the
 * executing thread until it hands the reply over (blob_prog_deliver) or lets
 * it go (blob_prog_free, a blocked command). Whoever drops the last count,
 * on whatever shard thread, sends the reply on.
 */
struct blob_gate {
	_Atomic int count;		/* operations outstanding, + 1 for the executor */
	_Atomic int err;		/* the first failure (-errno), or 0 */
	struct blob_prog *prog;		/* the reply; written by the executor before it
					 * drops its count, read by the last one to drop */
	int dst;			/* the client's shard */
	void *cookie;			/* its output segment */
	bool drop;			/* nobody wants the reply */
};

struct bshard {
	struct shard *sh;
	struct bfile *own;		/* file id == shard id */
	struct areq *waitq, *waitq_tail;
	bool busy;			/* a growth or punch is in flight */
	_Atomic(struct inode *) done;
	struct spill *spillq, *spillq_tail;
	struct blob_put *sync_puts;
	struct spill *sync_spills;
	bool syncing;
	struct blob_val **loaded;
	int nloaded, caploaded;
	int spills_open;		/* spills made and not finished (blob_draining) */
	int evict_wait;			/* BM_EVICTED answers still to come */
	bool evict_asked;		/* the other shards evicted for the head request */
	/* stats */
	uint64_t writes_inflight, reads_inflight, io_errors, crc_errors;
	uint64_t bytes_written, bytes_read, puts, spills, evicted, punched;
};

static struct blob_index *bx;
static struct bshard *bsh[MAX_SHARDS];
static struct bfile *files[BLOB_MAX_FILES];
static uint64_t bblock = 4096;
static _Atomic uint64_t g_allocated, g_dying, g_stored, g_keys;
static bool opened;

static void bv_unref(struct shard *sh, struct blob_val *bv);
static struct blob_gate *gate_join(void);
static void gate_put(struct shard *sh, struct blob_gate *g, int err);
static void put_maybe_run(struct bshard *bs, struct blob_put *put);
static void stream_pump(struct bshard *bs, struct blob_stream *st);
static void alloc_serve(struct bshard *bs);

/* The command running on this thread (blob_exec_begin .. blob_exec_end):
 * where its reply goes, the holes of values streamed into it, its gate. */
static _Thread_local struct {
	struct sbuf *out;
	size_t base;
	int depth;
	struct blob_hole *h;
	int n, cap;
	struct blob_gate *gate;		/* made by the first operation that joins */
} hl;

/* --- small helpers --- */

static inline uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

size_t blob_align(void)
{
	return (size_t)bblock;
}

static char *abuf_alloc(size_t n)
{
	void *p = NULL;

	if (posix_memalign(&p, (size_t)bblock, round_up(n ? n : 1, bblock)))
		abort();
	return p;
}

static void abuf_free(void *p)
{
	free(p);
}

/*
 * Upload buffers and read chunks come in a few power-of-two sizes, and a
 * thread keeps up to POOL_KEEP bytes of those it freed, of all sizes: the
 * next upload or GET reuses memory whose pages are mapped, where a fresh buffer
 * from malloc costs page faults and the zeroing of every page (a third of
 * the server's CPU under 1 MiB SETs before this). A buffer is kept by the
 * thread that frees it, whichever made it; no list is shared.
 */
#define POOL_MIN_SHIFT 16		/* 64 KiB */
#define POOL_CLASSES 5			/* 64 KiB .. 1 MiB */
#define POOL_KEEP (8u << 20)

struct buf_pool {
	void **p;
	int n, cap;
};

static _Thread_local struct buf_pool pools[POOL_CLASSES];
static _Thread_local size_t pools_bytes;
static _Thread_local bool pools_closed;

static int pool_class(size_t n)
{
	for (int k = 0; k < POOL_CLASSES; k++)
		if (n == (size_t)1 << (POOL_MIN_SHIFT + k))
			return k;
	return -1;
}

void *blob_buf_get(size_t n)
{
	int k = pool_class(n);

	if (k >= 0 && pools[k].n) {
		pools_bytes -= n;
		return pools[k].p[--pools[k].n];
	}
	return abuf_alloc(n);
}

void blob_buf_put(void *p, size_t n)
{
	int k = pool_class(n);
	struct buf_pool *bp;

	if (!p)
		return;
	if (k < 0 || pools_closed || pools_bytes + n > POOL_KEEP) {
		abuf_free(p);
		return;
	}
	bp = &pools[k];
	if (bp->n == bp->cap) {
		bp->cap = (int)(POOL_KEEP >> (POOL_MIN_SHIFT + k));
		bp->p = realloc(bp->p, (size_t)bp->cap * sizeof(void *));
		if (!bp->p)
			abort();
	}
	bp->p[bp->n++] = p;
	pools_bytes += n;
}

/* This thread's pools, at its end; buffers freed later are freed at once. */
static void pools_close(void)
{
	for (int k = 0; k < POOL_CLASSES; k++) {
		while (pools[k].n)
			abuf_free(pools[k].p[--pools[k].n]);
		free(pools[k].p);
		pools[k].p = NULL;
		pools[k].cap = 0;
	}
	pools_bytes = 0;
	pools_closed = true;
}

static int file_owner(int id)
{
	return id % srv.nshards;
}

static struct bshard *bs_of(struct shard *sh)
{
	return bsh[sh->id];
}

bool blob_wants(uint64_t len)
{
	return opened && cfg.blob_threshold > 0 && len >= (uint64_t)cfg.blob_threshold;
}

size_t blob_upload_bufsize(uint64_t len)
{
	size_t n = (size_t)1 << POOL_MIN_SHIFT;

	/* A power of two, so that buffers are reused from the pools. */
	while (n < BLOB_UPLOAD_BUF && n < len)
		n <<= 1;
	return MAX(n, (size_t)bblock);
}

static void bv_lock(struct blob_val *bv)
{
	while (atomic_flag_test_and_set_explicit(&bv->lock, memory_order_acquire))
		;
}

static void bv_unlock(struct blob_val *bv)
{
	atomic_flag_clear_explicit(&bv->lock, memory_order_release);
}

/* The shard whose db holds bv's entry (RENAME and MOVE change it under the
 * lock, from a coordinator). */
static int bv_entry_shard(struct blob_val *bv)
{
	int entry;

	bv_lock(bv);
	entry = bv->entry_shard;
	bv_unlock(bv);
	return entry;
}

static struct blob_val *bv_new(int file, int db, const char *key, size_t klen)
{
	struct blob_val *bv = mem_calloc(1, sizeof(*bv));

	atomic_init(&bv->refs, 1);
	atomic_flag_clear(&bv->lock);
	bv->file = file;
	bv->db = db;
	bv->key = mem_alloc(klen ? klen : 1);
	memcpy(bv->key, key, klen);
	bv->klen = klen;
	return bv;
}

static void bv_set_key(struct blob_val *bv, int db, const char *key, size_t klen)
{
	char *k = mem_alloc(klen ? klen : 1);

	memcpy(k, key, klen);
	mem_free(bv->key);
	bv->key = k;
	bv->klen = klen;
	bv->db = db;
}

static void bv_rec(const struct blob_val *bv, struct blob_index_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->file = (uint32_t)bv->file;
	r->crc = bv->crc;
	r->len = bv->len;
	r->expire_ms = bv->expire;
	r->nextents = (uint32_t)bv->next;
	for (int i = 0; i < bv->next; i++) {
		r->ext[i].off = bv->ext[i].off;
		r->ext[i].len = bv->ext[i].len;
	}
}

static void shard_wake_if_sleeping(struct shard *sh)
{
	if (atomic_exchange(&sh->sleeping, 0))
		shard_wake(sh);
}

/* --- the index --- */

static void index_done(void *cookie, int err)
{
	struct inode *n = cookie;
	struct bshard *bs = n->bs;

	n->err = err;
	n->next = atomic_load(&bs->done);
	while (!atomic_compare_exchange_weak(&bs->done, &n->next, n))
		;
	shard_wake_if_sleeping(bs->sh);
}

/* A result node for a mutation of bv's record; gate: the command that
 * waits for it (gate_join()), or NULL. */
static struct inode *inode_new(int kind, struct blob_val *bv, struct blob_gate *gate)
{
	struct inode *n = mem_calloc(1, sizeof(*n));

	n->kind = kind;
	n->bv = bv;
	n->bs = bsh[file_owner(bv->file)];
	n->gate = gate;
	return n;
}

/* Submits the record of bv (under its lock). A mutation the index refuses
 * at once still reports through n, with its error, on the next turn. */
static void index_put(struct blob_val *bv, struct inode *n)
{
	struct blob_index_rec r;
	int ret;

	bv_rec(bv, &r);
	ret = blob_index_put(bx, bv->db, bv->key, bv->klen, &r, index_done, n);
	if (ret < 0) {
		log_warning("Blob index put failed: %s", strerror(-ret));
		index_done(n, ret);
	}
}

static void index_del(struct blob_val *bv, struct inode *n)
{
	int ret = blob_index_del(bx, bv->db, bv->key, bv->klen, n ? index_done : NULL, n);

	if (ret < 0) {
		log_warning("Blob index delete failed: %s", strerror(-ret));
		if (n)
			index_done(n, ret);
	}
}

/* --- files and space --- */

static int file_open(int id, bool create, struct bfile **out)
{
	char path[4096];
	struct bfile *f;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/blob-%d.dat", cfg.dir, id);
	fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	f = mem_calloc(1, sizeof(*f));
	f->id = id;
	f->fd = fd;
	f->size = (uint64_t)st.st_size / bblock * bblock;
	if (blob_alloc_create(bblock, f->size, &f->alloc) < 0) {
		close(fd);
		mem_free(f);
		return -EINVAL;
	}
	*out = f;
	return 0;
}

static struct io_uring_sqe *bsqe(struct bshard *bs, void *op)
{
	struct io_uring_sqe *sqe = shard_sqe(bs->sh);

	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | UD_TAG_BLOB);
	return sqe;
}

/* Submits reads or writes of [voff, voff + len) of a value laid out over
 * ext[0..n), from/into buf; counts them in *pending. */
static void submit_pieces(struct bshard *bs, struct bfile *f, const struct blob_extent *ext, int n,
			  uint64_t voff, char *buf, uint64_t len, bool write, void *op, int *pending)
{
	uint64_t base = 0;

	for (int i = 0; i < n && len; i++) {
		uint64_t elen = ext[i].len;

		if (voff < base + elen) {
			uint64_t in = voff - base;
			uint64_t take = MIN(elen - in, len);
			struct io_uring_sqe *sqe = bsqe(bs, op);

			if (write)
				io_uring_prep_write(sqe, f->fd, buf, (unsigned)take, ext[i].off + in);
			else
				io_uring_prep_read(sqe, f->fd, buf, (unsigned)take, ext[i].off + in);
			io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | UD_TAG_BLOB);
			(*pending)++;
			buf += take;
			voff += take;
			len -= take;
		}
		base += elen;
	}
}

static uint64_t value_space(const struct blob_extent *e, int n)
{
	uint64_t s = 0;

	for (int i = 0; i < n; i++)
		s += e[i].len;
	return s;
}

/* Evicts large keys of this shard under the policy until need bytes fit
 * under blob-max-bytes; true if they do. */
static bool make_room(struct bshard *bs, uint64_t need)
{
	uint64_t max = (uint64_t)cfg.blob_max_bytes;
	int tries = 0;

	if (!max)
		return true;
	while (atomic_load(&g_allocated) - atomic_load(&g_dying) + need > max) {
		struct kv_entry *best = NULL;
		struct kv_db *bestdb = NULL;

		if (cfg.maxmemory_policy == MAXMEM_NOEVICTION || ++tries > 64)
			return false;
		for (int s = 0; s < 16; s++) {
			struct kv_db *db = &bs->sh->dbs[(unsigned)rand() % (unsigned)cfg.databases];
			struct kv_entry *e = kv_random(db);

			if (!e || e->enc != KV_ENC_BLOB)
				continue;
			if ((cfg.maxmemory_policy == MAXMEM_VOLATILE_LRU ||
			     cfg.maxmemory_policy == MAXMEM_VOLATILE_LFU ||
			     cfg.maxmemory_policy == MAXMEM_VOLATILE_RANDOM ||
			     cfg.maxmemory_policy == MAXMEM_VOLATILE_TTL) && !e->expire_ms)
				continue;
			if (!best || kv_idle_ms(e) > kv_idle_ms(best)) {
				best = e;
				bestdb = db;
			}
		}
		if (!best)
			continue;
		kv_delete_entry(bestdb, best);
		bestdb->stats->evicted++;
		bs->evicted++;
	}
	return true;
}

/*
 * How far a growth of f may reach past what the request needs: a step of
 * BLOB_GROW_MIN or an eighth of the file (space grown and not yet used is
 * disk used: at a quarter, 5 GiB of 1 MiB values left the files at 1.16
 * times the bytes stored), but at most a share of what the file system has
 * free, 1 / (2 * shards). Each shard grows its own
 * file, and space a file took is free only to that shard: without the
 * share, the first shard to grow on a small or nearly full disk took
 * everything (ext4 keeps what a failed fallocate managed), and every other
 * shard answered "no space" while half the disk sat free in that file.
 */
static uint64_t grow_step(const struct bfile *f)
{
	uint64_t step = MAX(BLOB_GROW_MIN, f->size / 8);
	struct statvfs sv;

	if (fstatvfs(f->fd, &sv) == 0)
		step = MIN(step, (uint64_t)sv.f_bavail * sv.f_frsize / (2 * (uint64_t)srv.nshards));
	return step / bblock * bblock;
}

/*
 * make_room() found nothing to evict here: large keys live on every shard
 * but a shard deletes only its own. Asks every other shard to evict until
 * need bytes fit (BM_EVICT); requests wait behind the round as behind a
 * growth, and the head request tries once more when every answer came
 * (evict_asked), failing for good only then. Returns whether a round was
 * started.
 */
static bool evict_elsewhere(struct bshard *bs, uint64_t need)
{
	if (bs->evict_asked || cfg.maxmemory_policy == MAXMEM_NOEVICTION || srv.nshards < 2 ||
	    atomic_load(&srv.stop)) {
		bs->evict_asked = false;
		return false;
	}
	for (int i = 0; i < srv.nshards; i++) {
		struct blob_msg m = { .kind = BM_EVICT, .a = need };

		if (i != bs->sh->id)
			shard_blob_send(bs->sh, i, &m);
	}
	bs->evict_wait = srv.nshards - 1;
	bs->busy = true;
	return true;
}

static void evict_answered(struct bshard *bs)
{
	if (bs->evict_wait == 0)	/* the round was called off at shutdown */
		return;
	if (--bs->evict_wait > 0)
		return;
	bs->busy = false;
	bs->evict_asked = true;
	alloc_serve(bs);
}

/* Allocates extents for len bytes in the shard's own file: 0, -EAGAIN
 * (queued behind a growth or an eviction round: retried by alloc_serve),
 * or an error. */
static int try_alloc(struct bshard *bs, uint64_t len, struct blob_extent *ext, int *n)
{
	struct bfile *f = bs->own;
	int max = MIN(blob_alloc_extents_for(len), BLOB_INDEX_MAX_EXTENTS);
	int ret;

	if (!make_room(bs, round_up(len, bblock)))
		return evict_elsewhere(bs, round_up(len, bblock)) ? -EAGAIN : -EDQUOT;
	bs->evict_asked = false;
	ret = blob_alloc_value(f->alloc, len, ext, max);
	if (ret == -ENOSPC) {
		uint64_t target;
		struct fop *op;

		if (blob_alloc_grow_target(f->alloc, len, max, &target) < 0)
			return -EFBIG;
		op = mem_calloc(1, sizeof(*op));
		op->type = OP_GROW;
		op->f = f;
		op->need = target;
		target = MAX(target, f->size + grow_step(f));
		if (cfg.blob_max_bytes)
			target = MAX(op->need, MIN(target, round_up((uint64_t)cfg.blob_max_bytes, bblock)));
		op->size = target;
		io_uring_prep_fallocate(bsqe(bs, op), f->fd, 0, (off_t)f->size,
					(off_t)(target - f->size));
		bs->busy = true;
		return -EAGAIN;
	}
	if (ret < 0)
		return ret;
	*n = ret;
	atomic_fetch_add(&g_allocated, value_space(ext, ret));
	return 0;
}

static void free_extents(struct bshard *bs, int file, const struct blob_extent *ext, int n)
{
	struct bfile *f = files[file];

	(void)bs;
	if (!n)
		return;
	blob_alloc_free(f->alloc, ext, n);
	atomic_fetch_sub(&g_allocated, value_space(ext, n));
}

static const char *errno_reply(int err)
{
	switch (err) {
	case -EDQUOT: return "-ERR blob-max-bytes reached and nothing could be evicted";
	case -ENOSPC: return "-ERR no space left on the blob device";
	case -EFBIG: return "-ERR value too large for the blob tier";
	default: return "-ERR I/O error in the blob tier";
	}
}

/* --- durability gates ---
 *
 * A command answers only once what it changed on the blob tier is durable:
 * every index mutation it queued (a large key deleted, overwritten, renamed,
 * moved, its TTL changed, a database flushed or swapped) has committed, and
 * every value it made in memory (a spill: MSET, APPEND, SETRANGE, COPY, SET
 * inside MULTI) is written and its record committed. While a command runs
 * (blob_exec_begin .. blob_exec_end, EXEC's commands inside it), each such
 * operation joins the command's gate, made at the first one; a command that
 * touches no large key makes none and pays one test of a thread-local.
 * blob_exec_end() then turns the reply into a program holding the gate, and
 * blob_prog_deliver() keeps it until the gate opens. Replies stay in order
 * because the client waits for a program in an output segment of its own,
 * as for a hop or a streamed reply (conn.c).
 *
 * A failure (a record that did not commit, a spill that could not be
 * written) makes the whole reply one error; the key of a value that did not
 * become durable is taken back, so that nothing acknowledged is lost and
 * nothing readable vanishes at a restart without an error having been
 * answered. A delete that finds no record (-ENOENT) is no failure.
 */

/* The gate of the command running on this thread, made now if needed; NULL
 * outside commands (a spill, expiry or eviction of the loop itself). The
 * caller's operation holds one count of it. */
static struct blob_gate *gate_join(void)
{
	struct blob_gate *g;

	if (hl.depth == 0)
		return NULL;
	g = hl.gate;
	if (!g) {
		g = mem_calloc(1, sizeof(*g));
		atomic_init(&g->count, 1);	/* the executor's */
		atomic_init(&g->err, 0);
		hl.gate = g;
	}
	atomic_fetch_add(&g->count, 1);
	return g;
}

/* A reply program of n literal bytes and no holes yet. */
static struct blob_prog *prog_new(const char *lit, size_t n)
{
	struct blob_prog *prog = mem_calloc(1, sizeof(*prog));

	prog->litlen = n;
	prog->lit = mem_alloc(n ? n : 1);
	memcpy(prog->lit, lit, n);
	return prog;
}

/* The gate's last count went: the reply (or an error in its place) goes to
 * the client's shard. Any shard thread. */
static void gate_open(struct shard *sh, struct blob_gate *g)
{
	struct blob_prog *prog = g->prog;
	int err = atomic_load(&g->err);

	if (g->drop) {
		mem_free(g);
		return;
	}
	if (err) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "%s\r\n", errno_reply(err));

		blob_prog_free(sh, prog);
		prog = prog_new(msg, (size_t)MIN(n, (int)sizeof(msg) - 1));
	}
	blob_prog_deliver(sh, g->dst, g->cookie, prog);
	mem_free(g);
}

/* Drops one count of g (may be NULL), with the operation's error. */
static void gate_put(struct shard *sh, struct blob_gate *g, int err)
{
	int zero = 0;

	if (!g)
		return;
	if (err)
		atomic_compare_exchange_strong(&g->err, &zero, err);
	if (atomic_fetch_sub(&g->count, 1) == 1)
		gate_open(sh, g);
}

/*
 * Takes back the key of bv, a value that did not become durable, if its
 * entry still holds bv and lives on this shard (an entry moved to another
 * shard meanwhile stays: the command is answered an error all the same).
 * On the shard's own thread: while it runs, no coordinator can move the
 * entry, so entry_shard read under the lock stays true.
 */
static void take_back(struct shard *sh, struct blob_val *bv)
{
	struct kv_entry *e;
	struct kv_db *db;

	if (bv->dead || bv_entry_shard(bv) != sh->id)
		return;
	db = &sh->dbs[bv->db];
	e = kv_find_raw(db, bv->key, bv->klen);
	if (e && e->enc == KV_ENC_BLOB && e->v.ptr == bv) {
		log_warning("Blob key '%.*s' taken back: its value could not be stored",
			    (int)MIN(bv->klen, (size_t)64), bv->key);
		kv_delete_entry(db, e);
	}
}

/* --- uploads --- */

struct blob_put *blob_put_new(struct shard *sh, int owner, uint64_t len, void *cookie)
{
	struct blob_put *put = mem_calloc(1, sizeof(*put));
	struct blob_msg m = { .kind = BM_PUT_BEGIN, .p = put };

	put->owner = owner;
	put->client_shard = sh->id;
	put->client_up = cookie;
	put->len = len;
	shard_blob_send(sh, owner, &m);
	return put;
}

int blob_put_owner(const struct blob_put *put)
{
	return put->owner;
}

void blob_put_data(struct shard *sh, struct blob_put *put, void *buf, uint64_t off, size_t n)
{
	struct blob_msg m = { .kind = BM_PUT_DATA, .p = put, .q = buf, .a = off, .b = n };

	shard_blob_send(sh, put->owner, &m);
}

void blob_put_abort(struct shard *sh, struct blob_put *put)
{
	struct blob_msg m = { .kind = BM_PUT_ABORT, .p = put };

	shard_blob_send(sh, put->owner, &m);
}

static void put_ack(struct bshard *bs, struct blob_put *put, void *buf)
{
	struct blob_msg m = { .kind = BM_PUT_ACK, .p = put->client_up, .q = buf };

	shard_blob_send(bs->sh, put->client_shard, &m);
}

static void put_free(struct bshard *bs, struct blob_put *put)
{
	if (put->allocated && !put->installed)
		free_extents(bs, put->file, put->ext, put->next);
	mem_free(put->argv);
	mem_free(put->argbuf);
	mem_free(put);
}

static void put_submit(struct bshard *bs, struct wchunk *w)
{
	struct blob_put *put = w->put;

	submit_pieces(bs, files[put->file], put->ext, put->next, w->off, w->buf,
		      round_up(w->n, bblock), true, w, &w->pending);
	bs->writes_inflight++;
}

static void put_begin(struct bshard *bs, struct blob_put *put)
{
	int ret;

	put->file = bs->own->id;
	put->areq.kind = OP_WRITE;
	put->areq.obj = put;
	if (bs->busy || bs->waitq) {
		ret = -EAGAIN;
	} else {
		ret = try_alloc(bs, put->len, put->ext, &put->next);
	}
	if (ret == -EAGAIN) {
		put->alloc_wait = true;
		put->areq.next = NULL;
		if (bs->waitq_tail)
			bs->waitq_tail->next = &put->areq;
		else
			bs->waitq = &put->areq;
		bs->waitq_tail = &put->areq;
		return;
	}
	if (ret < 0)
		put->err = errno_reply(ret);
	else
		put->allocated = true;
}

static void put_data(struct bshard *bs, struct blob_put *put, char *buf, uint64_t off, size_t n)
{
	struct wchunk *w;

	put->received += n;
	put->crc = blob_crc32c(put->crc, buf, n);
	if (put->err || put->aborted) {
		put_ack(bs, put, buf);
		put_maybe_run(bs, put);	/* this may have been the last buffer */
		return;
	}
	w = mem_calloc(1, sizeof(*w));
	w->type = OP_WRITE;
	w->put = put;
	w->buf = buf;
	w->off = off;
	w->n = n;
	put->inflight++;
	if (!put->allocated) {
		if (put->held_tail)
			put->held_tail->next = w;
		else
			put->held = w;
		put->held_tail = w;
		return;
	}
	put_submit(bs, w);
}

static void put_allocated(struct bshard *bs, struct blob_put *put, int ret)
{
	struct wchunk *w = put->held;

	put->alloc_wait = false;
	put->held = put->held_tail = NULL;
	if (ret < 0) {
		put->err = errno_reply(ret);
		while (w) {
			struct wchunk *next = w->next;

			put->inflight--;
			put_ack(bs, put, w->buf);
			mem_free(w);
			w = next;
		}
		put_maybe_run(bs, put);
		return;
	}
	put->allocated = true;
	for (; w; w = w->next)
		put_submit(bs, w);
}

static void write_done(struct bshard *bs, struct wchunk *w)
{
	struct blob_put *put = w->put;

	bs->writes_inflight--;
	if (w->err) {
		bs->io_errors++;
		log_warning("Blob write failed: %s", strerror(-w->err));
		if (!put->err)
			put->err = errno_reply(w->err == -ENOSPC ? -ENOSPC : -EIO);
	} else {
		bs->bytes_written += w->n;
	}
	put->inflight--;
	put_ack(bs, put, w->buf);
	mem_free(w);
	put_maybe_run(bs, put);
}

/* Runs the stashed command once nothing is in flight (and, under
 * blob-fsync always, after the fdatasync that covers the writes). */
static void put_run(struct bshard *bs, struct blob_put *put);

static void put_maybe_run(struct bshard *bs, struct blob_put *put)
{
	if (put->inflight || put->alloc_wait)
		return;
	if (put->aborted) {
		put_free(bs, put);
		return;
	}
	/* The command may arrive before the last of the bytes: when the key's
	 * shard is the client's own, conn.c calls blob_put_exec() at once while
	 * BM_PUT_BEGIN and BM_PUT_DATA still wait in the batch to this shard.
	 * The put runs (and is freed) only after its last buffer came in. */
	if (!put->has_req || put->received < put->len)
		return;
	if (cfg.blob_fsync == BLOB_FSYNC_ALWAYS && !put->err && !put->synced) {
		put->sync_next = bs->sync_puts;
		bs->sync_puts = put;
		return;
	}
	put_run(bs, put);
}

static _Thread_local struct blob_put *exec_put;

void blob_put_exec(struct shard *sh, struct blob_put *put, const struct cmd_def *cmd, int argc,
		   const struct cmd_arg *argv, int dbid, int proto, uint32_t ctxflags, int src,
		   void *cookie)
{
	struct bshard *bs = bs_of(sh);
	size_t total = 0, off = 0;

	put->cmd = cmd;
	put->argc = argc;
	put->dbid = dbid;
	put->proto = proto;
	put->ctxflags = ctxflags;
	put->src = src;
	put->cookie = cookie;
	for (int i = 0; i < argc; i++)
		total += argv[i].len;
	put->argbuf = mem_alloc(total ? total : 1);
	put->argv = mem_alloc((size_t)argc * sizeof(*put->argv));
	for (int i = 0; i < argc; i++) {
		memcpy(put->argbuf + off, argv[i].p, argv[i].len);
		put->argv[i].p = put->argbuf + off;
		put->argv[i].len = argv[i].len;
		off += argv[i].len;
	}
	put->has_req = true;
	put_maybe_run(bs, put);
}

static void deliver(struct shard *sh, int dst, void *cookie, struct sbuf *out, size_t from,
		    struct blob_prog *prog)
{
	if (prog) {
		blob_prog_deliver(sh, dst, cookie, prog);
		return;
	}
	if (dst == sh->id)
		client_apply_hop_reply(cookie, out->p + from, out->len - from);
	else
		shard_hop_reply(sh, dst, cookie, out->p + from, out->len - from);
}

static void put_run(struct bshard *bs, struct blob_put *put)
{
	struct shard *sh = bs->sh;
	struct sbuf out = { 0 };
	struct exec_result res;
	struct blob_prog *prog;

	exec_put = put;
	shard_exec(sh, NULL, put->cmd, put->argc, put->argv, put->dbid, put->proto,
		   put->ctxflags | CTX_NO_BLOCK, &out, &res);
	exec_put = NULL;
	prog = res.prog;
	block_serve_ready(sh);
	/* A value installed made the reply a gated program: it goes out once
	 * the record committed. */
	deliver(sh, put->src, put->cookie, &out, 0, prog);
	sbuf_free(&out);
	put_free(bs, put);
}

struct blob_put *blob_ctx_put(const struct cmd_ctx *ctx)
{
	(void)ctx;
	return exec_put;
}

const char *blob_put_error(const struct blob_put *put)
{
	return put->err;
}

uint64_t blob_put_len(const struct blob_put *put)
{
	return put->len;
}

struct kv_entry *blob_put_install(struct cmd_ctx *ctx, struct kv_db *db, const char *key,
				  size_t klen, unsigned flags, int64_t expire_ms)
{
	struct blob_put *put = exec_put;
	struct blob_val *bv = bv_new(put->file, db->id, key, klen);
	struct kv_entry *e;
	struct inode *n;

	(void)ctx;
	bv->len = put->len;
	bv->crc = put->crc;
	bv->next = put->next;
	memcpy(bv->ext, put->ext, sizeof(put->ext));
	atomic_store(&bv->state, BV_WRITING);	/* no record yet: hooks submit none */
	bv->entry_shard = db->owner;
	put->installed = true;
	/* The delete of the old value's record (hook_release, inside
	 * kv_set_blob) and the put of the new one commit together: a crash
	 * between two commits would find the key with neither. */
	blob_index_hold(bx);
	e = kv_set_blob(db, key, klen, bv, flags);
	if (expire_ms >= 0)
		kv_set_expire(db, e, expire_ms);
	bv->expire = e->expire_ms;
	atomic_store(&bv->state, BV_STORED);
	atomic_fetch_add(&g_stored, bv->len);
	atomic_fetch_add(&g_keys, 1);
	bs_of(ctx->sh)->puts++;
	/* The node holds the entry's first reference until it is handled:
	 * the SET's reply waits for it (the gate), and a failed commit takes
	 * the key back. */
	n = inode_new(N_PUT, bv, gate_join());
	atomic_fetch_add(&bv->refs, 1);
	bv_lock(bv);
	index_put(bv, n);
	bv_unlock(bv);
	blob_index_release(bx);
	return e;
}

/* --- spills: values made in memory --- */

struct kv_entry *blob_set_mem(struct kv_db *db, const char *key, size_t klen, const char *p,
			      size_t len, unsigned flags)
{
	struct bshard *bs = bsh[db->owner];
	struct blob_val *bv = bv_new(bs->own->id, db->id, key, klen);
	struct kv_entry *e;
	struct spill *sp;

	bv->len = len;
	bv->mem = abuf_alloc(len);
	memcpy(bv->mem, p, len);
	memset(bv->mem + len, 0, round_up(len, bblock) - len);
	bv->crc = blob_crc32c(0, p, len);
	bv->entry_shard = db->owner;
	e = kv_set_blob(db, key, klen, bv, flags);
	bv->expire = e->expire_ms;
	atomic_fetch_add(&g_stored, len);
	atomic_fetch_add(&g_keys, 1);
	/* The spill holds a reference until it is done. */
	atomic_fetch_add(&bv->refs, 1);
	sp = mem_calloc(1, sizeof(*sp));
	sp->type = OP_SPILL;
	sp->bv = bv;
	sp->areq.kind = OP_SPILL;
	sp->areq.obj = sp;
	sp->gate = gate_join();
	/* db->owner's thread, or a coordinator while it is parked. */
	bs->spills_open++;
	if (bs->spillq_tail)
		bs->spillq_tail->next = sp;
	else
		bs->spillq = sp;
	bs->spillq_tail = sp;
	return e;
}

/*
 * A spill is over: written with its record submitted (the gate went to the
 * record's node), not needed (the key let go of the value), or failed (err).
 *
 * A failed spill takes its key back. The command that made the value has
 * not answered yet (its gate waits for this spill), so it answers an error
 * instead, and the key goes: a value that a restart would not find must not
 * stay readable after its writer was told anything but an error, and after
 * that error the key reads as absent now as it will after a restart.
 */
static void spill_end(struct bshard *bs, struct spill *sp, int err)
{
	if (err)
		take_back(bs->sh, sp->bv);
	gate_put(bs->sh, sp->gate, err);
	bs->spills_open--;
	bv_unref(bs->sh, sp->bv);
	mem_free(sp);
}

static void spill_write(struct bshard *bs, struct spill *sp)
{
	struct blob_val *bv = sp->bv;

	atomic_store(&bv->state, BV_WRITING);
	submit_pieces(bs, files[bv->file], bv->ext, bv->next, 0, bv->mem, round_up(bv->len, bblock),
		      true, sp, &sp->pending);
	bs->writes_inflight++;
}

static void spill_allocated(struct bshard *bs, struct spill *sp, int ret)
{
	if (ret < 0) {
		log_warning("Blob spill of a %llu byte value failed: %s; its key is taken back",
			    (unsigned long long)sp->bv->len, strerror(-ret));
		spill_end(bs, sp, ret);
		return;
	}
	spill_write(bs, sp);
}

static void spill_start(struct bshard *bs, struct spill *sp)
{
	struct blob_val *bv = sp->bv;
	int ret;

	if (bv->dead) {
		spill_end(bs, sp, 0);
		return;
	}
	if (bs->busy || bs->waitq) {
		ret = -EAGAIN;
	} else {
		ret = try_alloc(bs, bv->len, bv->ext, &bv->next);
	}
	if (ret == -EAGAIN) {
		sp->areq.next = NULL;
		if (bs->waitq_tail)
			bs->waitq_tail->next = &sp->areq;
		else
			bs->waitq = &sp->areq;
		bs->waitq_tail = &sp->areq;
		return;
	}
	spill_allocated(bs, sp, ret);
}

static void spill_commit(struct bshard *bs, struct spill *sp)
{
	struct blob_val *bv = sp->bv;
	struct inode *n;

	bv_lock(bv);
	if (bv->dead) {
		bv_unlock(bv);
		spill_end(bs, sp, 0);
		return;
	}
	/* The command's reply now waits for the record (the node). */
	n = inode_new(N_SPILL, bv, sp->gate);
	sp->gate = NULL;
	atomic_fetch_add(&bv->refs, 1);		/* held by the node */
	index_put(bv, n);
	bv_unlock(bv);
	bs->spills++;
	spill_end(bs, sp, 0);
}

static void spill_written(struct bshard *bs, struct spill *sp)
{
	bs->writes_inflight--;
	if (sp->err) {
		bs->io_errors++;
		log_warning("Blob spill write failed: %s; its key is taken back",
			    strerror(-sp->err));
		atomic_store(&sp->bv->state, BV_MEM);
		spill_end(bs, sp, sp->err == -ENOSPC ? -ENOSPC : -EIO);
		return;
	}
	bs->bytes_written += sp->bv->len;
	if (cfg.blob_fsync == BLOB_FSYNC_ALWAYS) {
		sp->sync_next = bs->sync_spills;
		bs->sync_spills = sp;
		return;
	}
	spill_commit(bs, sp);
}

/* --- allocation queue --- */

static void alloc_serve(struct bshard *bs)
{
	while (bs->waitq && !bs->busy) {
		struct areq *r = bs->waitq;
		int ret;

		if (r->kind == OP_WRITE) {
			struct blob_put *put = r->obj;

			ret = try_alloc(bs, put->len, put->ext, &put->next);
			if (ret == -EAGAIN)
				return;
			bs->waitq = r->next;
			if (!bs->waitq)
				bs->waitq_tail = NULL;
			put_allocated(bs, put, ret);
		} else {
			struct spill *sp = r->obj;

			if (sp->bv->dead) {
				ret = -ECANCELED;
				bs->evict_asked = false;	/* was for this one */
			} else {
				ret = try_alloc(bs, sp->bv->len, sp->bv->ext, &sp->bv->next);
				if (ret == -EAGAIN)
					return;
			}
			bs->waitq = r->next;
			if (!bs->waitq)
				bs->waitq_tail = NULL;
			if (ret == -ECANCELED)
				spill_end(bs, sp, 0);
			else
				spill_allocated(bs, sp, ret);
		}
	}
}

/*
 * The size of f after a failed fallocate, on a block boundary. A failed
 * fallocate may still have grown the file: ext4 keeps the blocks it managed
 * to allocate before ENOSPC and moves the file size to their end, which need
 * not be a multiple of the block. That space is taken (the caller grows the
 * allocator over it) rather than lost to it, and a ragged tail is cut off.
 * Metadata calls on an error path, so plain syscalls, not the ring.
 */
static uint64_t grow_failed_size(struct bfile *f)
{
	struct stat st;
	uint64_t size;

	if (fstat(f->fd, &st) < 0)
		return f->size;
	size = (uint64_t)st.st_size / bblock * bblock;
	if ((uint64_t)st.st_size != size && ftruncate(f->fd, (off_t)size) < 0)
		log_warning("Cutting blob file %d back to %llu bytes failed: %s", f->id,
			    (unsigned long long)size, strerror(errno));
	return MAX(size, f->size);
}

static void grow_done(struct bshard *bs, struct fop *op)
{
	struct bfile *f = op->f;
	uint64_t size = op->size;

	bs->busy = false;
	if (op->err)
		size = grow_failed_size(f);
	if (size > f->size) {
		struct blob_extent skip[16];

		blob_alloc_grow(f->alloc, size);
		f->size = size;
		/* Space just allocated on the device is not worth punching:
		 * only what values free later is. */
		while (blob_alloc_punch_candidates(f->alloc, bblock, skip, 16) > 0)
			;
	}
	if (op->err && f->size < op->need && op->size > op->need) {
		/* The generous step did not fit: try just what is needed. */
		op->size = op->need;
		op->err = 0;
		io_uring_prep_fallocate(bsqe(bs, op), f->fd, 0, (off_t)f->size,
					(off_t)(op->size - f->size));
		bs->busy = true;
		return;
	}
	if (op->err && f->size < op->need) {
		struct areq *r = bs->waitq;

		log_warning("Growing blob file %d to %llu bytes failed: %s", f->id,
			    (unsigned long long)op->size, strerror(-op->err));
		bs->io_errors++;
		/* The head request cannot be served: fail it, go on. */
		if (r) {
			bs->waitq = r->next;
			if (!bs->waitq)
				bs->waitq_tail = NULL;
			if (r->kind == OP_WRITE)
				put_allocated(bs, r->obj, op->err == -ENOSPC ? -ENOSPC : -EIO);
			else
				spill_allocated(bs, r->obj, op->err);
		}
	}
	mem_free(op);
	alloc_serve(bs);
}

/* --- references and freeing --- */

static void bv_free_home(struct bshard *bs, struct blob_val *bv)
{
	if (bv->next)
		free_extents(bs, bv->file, bv->ext, bv->next);
	atomic_fetch_sub(&g_dying, round_up(bv->len, bblock));
	if (bv->mem)
		abuf_free(bv->mem);
	mem_free(bv->key);
	mem_free(bv);
}

static void bv_unref(struct shard *sh, struct blob_val *bv)
{
	int home;

	if (atomic_fetch_sub(&bv->refs, 1) != 1)
		return;
	home = file_owner(bv->file);
	if (!bv->next || home == sh->id || !bsh[home]) {
		bv_free_home(bsh[home] ? bsh[home] : bs_of(sh), bv);
		return;
	}
	{
		struct blob_msg m = { .kind = BM_FREE, .p = bv };

		shard_blob_send(sh, home, &m);
	}
}

static void hook_release(struct kv_db *db, struct kv_entry *e)
{
	struct blob_val *bv = e->v.ptr;
	struct shard *sh = shard_self;

	(void)db;
	atomic_fetch_sub(&g_stored, bv->len);
	atomic_fetch_sub(&g_keys, 1);
	atomic_fetch_add(&g_dying, round_up(bv->len, bblock));
	if (!bx || !sh) {
		/* Shutdown: the index keeps the record. */
		bv->dead = true;
		if (atomic_fetch_sub(&bv->refs, 1) == 1) {
			if (bv->mem)
				abuf_free(bv->mem);
			mem_free(bv->key);
			mem_free(bv);
		}
		return;
	}
	/* The entry's reference goes to the N_DROP node, which the file's
	 * shard may handle (and free bv with) as soon as the delete commits,
	 * before bv_unlock() here: hold one of our own until then. */
	atomic_fetch_add(&bv->refs, 1);
	bv_lock(bv);
	bv->dead = true;
	index_del(bv, inode_new(N_DROP, bv, gate_join()));
	bv_unlock(bv);
	bv_unref(sh, bv);
}

/* A result node for a mutation inside a command, whose reply waits for it;
 * NULL (no node) outside commands. */
static struct inode *gate_node(struct blob_val *bv)
{
	struct blob_gate *g = gate_join();

	return g ? inode_new(N_NOP, bv, g) : NULL;
}

static size_t hook_length(const void *ref)
{
	return ((const struct blob_val *)ref)->len;
}

static void hook_moved(struct kv_db *dst, struct kv_entry *e)
{
	struct blob_val *bv = e->v.ptr;

	bv_lock(bv);
	blob_index_hold(bx);	/* the old name's delete and the new name's put: one commit */
	index_del(bv, gate_node(bv));
	bv_set_key(bv, dst->id, e->key, e->klen);
	bv->entry_shard = dst->owner;
	if (atomic_load(&bv->state) == BV_STORED)
		index_put(bv, inode_new(N_NOP, bv, gate_join()));
	blob_index_release(bx);
	bv_unlock(bv);
}

static void hook_expire(struct kv_db *db, struct kv_entry *e)
{
	struct blob_val *bv = e->v.ptr;

	(void)db;
	bv_lock(bv);
	if (bv->expire != e->expire_ms) {
		bv->expire = e->expire_ms;
		if (atomic_load(&bv->state) == BV_STORED && !bv->dead)
			index_put(bv, inode_new(N_NOP, bv, gate_join()));
	}
	bv_unlock(bv);
}

static void swap_collect(struct kv_entry *e, void *arg)
{
	struct sbuf *list = arg;

	if (e->enc == KV_ENC_BLOB)
		sbuf_append(list, &e, sizeof(e));
}

static void hook_swapped(struct kv_db *a, struct kv_db *b)
{
	struct kv_db *dbs[2] = { a, b };
	struct sbuf list[2] = { { 0 }, { 0 } };

	for (int i = 0; i < 2; i++) {
		uint64_t cur = 0;

		do {
			cur = kv_scan(dbs[i], cur, swap_collect, &list[i]);
		} while (cur);
	}
	/* Every old record goes first, then the new ones: a key present in both
	 * databases must not lose its new record to the other's delete. */
	for (int i = 0; i < 2; i++)
		for (size_t k = 0; k < list[i].len / sizeof(void *); k++) {
			struct kv_entry *e = ((struct kv_entry **)list[i].p)[k];
			struct blob_val *bv = e->v.ptr;

			bv_lock(bv);
			index_del(bv, gate_node(bv));
			bv->db = dbs[i]->id;
			bv_unlock(bv);
		}
	for (int i = 0; i < 2; i++) {
		for (size_t k = 0; k < list[i].len / sizeof(void *); k++) {
			struct kv_entry *e = ((struct kv_entry **)list[i].p)[k];
			struct blob_val *bv = e->v.ptr;

			bv_lock(bv);
			if (atomic_load(&bv->state) == BV_STORED)
				index_put(bv, inode_new(N_NOP, bv, gate_join()));
			bv_unlock(bv);
		}
		sbuf_free(&list[i]);
	}
}

static const struct kv_blob_hooks hooks = {
	.release = hook_release,
	.length = hook_length,
	.moved = hook_moved,
	.expire = hook_expire,
	.swapped = hook_swapped,
};

/* --- replies with holes --- */

void blob_exec_begin(struct sbuf *out, size_t before)
{
	if (hl.depth++ == 0) {
		hl.out = out;
		hl.base = before;
		hl.n = 0;
		hl.gate = NULL;
	}
}

struct blob_prog *blob_exec_end(struct sbuf *out, size_t before, bool blocked)
{
	struct blob_gate *g = hl.gate;
	struct blob_prog *prog;

	if (--hl.depth > 0)
		return NULL;
	hl.gate = NULL;
	if (g && blocked) {
		/* No reply now: what it changed commits on its own. */
		g->drop = true;
		gate_put(shard_self, g, 0);
		g = NULL;
	}
	if (hl.n == 0 && !g)
		return NULL;
	prog = prog_new(out->p + before, out->len - before);
	prog->gate = g;
	prog->holes = mem_alloc((size_t)hl.n * sizeof(*prog->holes));
	if (hl.n)
		memcpy(prog->holes, hl.h, (size_t)hl.n * sizeof(*prog->holes));
	prog->nholes = hl.n;
	hl.n = 0;
	out->len = before;
	return prog;
}

const char *blob_mem(const struct kv_entry *e, size_t *len)
{
	const struct blob_val *bv = e->v.ptr;

	if (!bv->mem)
		return NULL;
	*len = bv->len;
	return bv->mem;
}

void blob_reply_range(struct resp_w *w, const struct kv_entry *e, uint64_t off, uint64_t len)
{
	struct blob_val *bv = e->v.ptr;
	char hdr[32];
	int n;

	if (bv->mem || len == 0) {
		resp_w_bulk(w, bv->mem ? bv->mem + off : "", (size_t)len);
		return;
	}
	ASSERT(hl.depth > 0 && w->b == hl.out);
	n = snprintf(hdr, sizeof(hdr), "$%llu\r\n", (unsigned long long)len);
	resp_w_raw(w, hdr, (size_t)n);
	if (hl.n == hl.cap) {
		hl.cap = hl.cap ? hl.cap * 2 : 8;
		hl.h = realloc(hl.h, (size_t)hl.cap * sizeof(*hl.h));
		if (!hl.h)
			abort();
	}
	atomic_fetch_add(&bv->refs, 1);
	hl.h[hl.n++] = (struct blob_hole){ .at = w->b->len - hl.base, .bv = bv, .off = off,
					   .len = len };
	resp_w_raw(w, "\r\n", 2);
}

void blob_prog_deliver(struct shard *sh, int dst, void *cookie, struct blob_prog *prog)
{
	struct blob_gate *g = prog->gate;

	if (g) {
		/* Held until the gate opens (gate_open delivers it then). */
		prog->gate = NULL;
		g->prog = prog;
		g->dst = dst;
		g->cookie = cookie;
		gate_put(sh, g, 0);
		return;
	}
	if (dst == sh->id) {
		conn_prog(sh, cookie, prog);
	} else {
		struct blob_msg m = { .kind = BM_PROG, .p = prog, .q = cookie };

		shard_blob_send(sh, dst, &m);
	}
}

void blob_prog_free(struct shard *sh, struct blob_prog *prog)
{
	if (prog->gate) {
		/* A reply nobody wants: the gate just runs out. */
		prog->gate->drop = true;
		gate_put(sh, prog->gate, 0);
	}
	for (int i = prog->cur; i < prog->nholes; i++)
		bv_unref(sh, prog->holes[i].bv);
	mem_free(prog->lit);
	mem_free(prog->holes);
	mem_free(prog);
}

void *blob_prog_cookie(const struct blob_prog *prog)
{
	return prog->cookie;
}

void blob_prog_set_cookie(struct blob_prog *prog, void *cookie)
{
	prog->cookie = cookie;
}

struct blob_prog *blob_stream_prog(const struct blob_stream *st)
{
	return st->prog;
}

bool blob_prog_step(struct shard *sh, struct blob_prog *prog, int client_shard,
		    void (*emit)(void *arg, const char *p, size_t n), void *arg)
{
	size_t end = prog->cur < prog->nholes ? prog->holes[prog->cur].at : prog->litlen;
	struct blob_stream *st;
	struct blob_hole *h;

	if (prog->pos < end) {
		emit(arg, prog->lit + prog->pos, end - prog->pos);
		prog->pos = end;
	}
	if (prog->cur == prog->nholes)
		return true;
	h = &prog->holes[prog->cur++];
	st = mem_calloc(1, sizeof(*st));
	st->bv = h->bv;		/* the hole's reference goes to the stream */
	st->off = h->off;
	st->len = h->len;
	st->client_shard = client_shard;
	st->prog = prog;
	{
		struct blob_msg m = { .kind = BM_READ, .p = st };

		shard_blob_send(sh, file_owner(h->bv->file), &m);
	}
	return false;
}

/* --- read streams (on the file's shard) --- */

static void stream_finish(struct bshard *bs, struct blob_stream *st)
{
	bv_unref(bs->sh, st->bv);
	mem_free(st);
}

static void stream_send_last_empty(struct bshard *bs, struct blob_stream *st, bool error)
{
	struct blob_msg m = { .kind = BM_CHUNK, .p = st, .q = NULL, .a = error ? 1 : 0,
			      .b = BM_CHUNK_LAST };

	st->last_sent = true;
	st->outstanding++;	/* the empty last chunk is acknowledged too */
	shard_blob_send(bs->sh, st->client_shard, &m);
}

static void stream_read(struct bshard *bs, struct blob_stream *st, struct rchunk *c)
{
	struct blob_val *bv = st->bv;

	c->aoff = st->next;
	c->alen = (size_t)MIN((uint64_t)BLOB_READ_CHUNK, st->end - st->next);
	c->seq = st->seq_read++;
	c->done = false;
	c->err = 0;
	st->next += c->alen;
	st->slot[c->seq % STREAM_MAX_WINDOW] = c;
	submit_pieces(bs, files[bv->file], bv->ext, bv->next, c->aoff, c->buf, c->alen, false, c,
		      &c->pending);
	bs->reads_inflight++;
}

/* Sends the chunks that are read, in order. */
static void stream_pump(struct bshard *bs, struct blob_stream *st)
{
	while (st->seq_sent < st->seq_read) {
		struct rchunk *c = st->slot[st->seq_sent % STREAM_MAX_WINDOW];
		uint64_t from, to;
		struct blob_msg m = { .kind = BM_CHUNK, .p = st };

		if (!c->done)
			return;
		st->slot[st->seq_sent % STREAM_MAX_WINDOW] = NULL;
		st->seq_sent++;
		if (c->err || st->failed) {
			st->failed = true;
			blob_buf_put(c->buf, BLOB_READ_CHUNK);
			mem_free(c);
			st->outstanding--;
			continue;
		}
		from = MAX(c->aoff, st->off);
		to = MIN(c->aoff + c->alen, st->off + st->len);
		if (st->off == 0 && st->len == st->bv->len)
			st->crc = blob_crc32c(st->crc, c->buf + (from - c->aoff), (size_t)(to - from));
		bs->bytes_read += to - from;
		m.q = c->buf;
		m.a = from - c->aoff;
		m.b = to - from;
		if (to == st->off + st->len) {
			m.b |= BM_CHUNK_LAST;
			st->last_sent = true;
			if (st->off == 0 && st->len == st->bv->len && st->crc != st->bv->crc) {
				bs->crc_errors++;
				log_warning("Blob value of key '%.*s' fails its checksum",
					    (int)MIN(st->bv->klen, (size_t)64), st->bv->key);
			}
		}
		mem_free(c);
		shard_blob_send(bs->sh, st->client_shard, &m);
	}
	if ((st->failed || st->cancel) && !st->last_sent && st->seq_sent == st->seq_read) {
		if (st->failed)
			bs->io_errors++;
		stream_send_last_empty(bs, st, st->failed);
	}
	if (st->outstanding == 0 && st->last_sent)
		stream_finish(bs, st);
}

static void stream_start(struct bshard *bs, struct blob_stream *st)
{
	uint64_t start = st->off / bblock * bblock;
	long win = cfg.blob_stream_buffer / BLOB_READ_CHUNK;

	st->next = start;
	st->end = round_up(st->off + st->len, bblock);
	st->window = (int)MAX(1, MIN(win, STREAM_MAX_WINDOW));
	if (st->off == 0 && st->len == st->bv->len)
		st->crc = 0;
	while (st->outstanding < st->window && st->next < st->end) {
		struct rchunk *c = mem_calloc(1, sizeof(*c));

		c->type = OP_READ;
		c->st = st;
		c->buf = blob_buf_get(BLOB_READ_CHUNK);
		st->outstanding++;
		stream_read(bs, st, c);
	}
}

static void read_done(struct bshard *bs, struct rchunk *c)
{
	c->done = true;
	bs->reads_inflight--;
	if (c->err)
		log_warning("Blob read failed: %s", strerror(-c->err));
	stream_pump(bs, c->st);
}

static void stream_ack(struct bshard *bs, struct blob_stream *st, void *buf, bool cancel)
{
	if (cancel)
		st->cancel = true;
	if (buf && !st->cancel && !st->failed && st->next < st->end) {
		struct rchunk *c = mem_calloc(1, sizeof(*c));

		c->type = OP_READ;
		c->st = st;
		c->buf = buf;
		stream_read(bs, st, c);
		return;
	}
	if (buf)
		blob_buf_put(buf, BLOB_READ_CHUNK);
	st->outstanding--;
	if (st->cancel && !st->last_sent && st->seq_sent == st->seq_read)
		stream_send_last_empty(bs, st, false);
	if (st->outstanding == 0 && st->last_sent)
		stream_finish(bs, st);
}

void blob_chunk_ack(struct shard *sh, struct blob_stream *st, void *buf, bool cancel)
{
	struct blob_msg m = { .kind = BM_CHUNK_ACK, .p = st, .q = buf, .a = cancel };

	shard_blob_send(sh, file_owner(st->bv->file), &m);
}

/* --- loads: a value's bytes into memory for a command that computes on them --- */

static void load_start(struct bshard *bs, struct blob_val *bv, int dst)
{
	struct load *ld = mem_calloc(1, sizeof(*ld));

	ld->type = OP_LOAD;
	ld->bv = bv;
	ld->dst = dst;
	ld->buf = abuf_alloc(bv->len);
	submit_pieces(bs, files[bv->file], bv->ext, bv->next, 0, ld->buf, round_up(bv->len, bblock),
		      false, ld, &ld->pending);
	bs->reads_inflight++;
}

/* Puts bv on the entry shard's list of values whose bytes are in memory
 * for commands, with the reference the caller gives: the cron drops them. */
static void loaded_add(struct bshard *bs, struct blob_val *bv)
{
	if (bs->nloaded == bs->caploaded) {
		bs->caploaded = bs->caploaded ? bs->caploaded * 2 : 16;
		bs->loaded = mem_realloc(bs->loaded, (size_t)bs->caploaded * sizeof(void *));
	}
	bs->loaded[bs->nloaded++] = bv;
}

/* The same, with a reference of its own. */
static void loaded_keep(struct bshard *bs, struct blob_val *bv)
{
	atomic_fetch_add(&bv->refs, 1);
	loaded_add(bs, bv);
}

/* Hands bv's bytes in memory (and a reference) to its entry shard, which
 * the value moved to (RENAME, MOVE across shards): only that shard's
 * commands read them, so only it may drop them. */
static void loaded_forward(struct bshard *bs, struct blob_val *bv, int entry)
{
	struct blob_msg m = { .kind = BM_KEEP, .p = bv };

	shard_blob_send(bs->sh, entry, &m);
}

static void loaded(struct bshard *bs, struct blob_val *bv, char *buf, int err)
{
	struct kv_db *db;

	bv->loading = false;
	if (!err && blob_crc32c(0, buf, bv->len) != bv->crc) {
		bs->crc_errors++;
		log_warning("Blob value of key '%.*s' fails its checksum",
			    (int)MIN(bv->klen, (size_t)64), bv->key);
	}
	if (err || bv->mem || bv->dead) {
		abuf_free(buf);
	} else {
		bv->mem = buf;
		loaded_keep(bs, bv);
	}
	if (err)
		bs->io_errors++;
	/* Whoever waits for the key runs again (and fails again if the read
	 * failed: it answers the error then). */
	if (!bv->dead) {
		db = &bs->sh->dbs[bv->db];
		kv_signal_ready(db, bv->key, bv->klen);
		block_serve_ready(bs->sh);
	}
	bv_unref(bs->sh, bv);
}

static void load_done(struct bshard *bs, struct load *ld)
{
	bs->reads_inflight--;
	if (ld->dst == bs->sh->id) {
		loaded(bs, ld->bv, ld->buf, ld->err);
	} else {
		struct blob_msg m = { .kind = BM_LOADED, .p = ld->bv, .q = ld->buf,
				      .a = (uint64_t)(int64_t)ld->err };

		shard_blob_send(bs->sh, ld->dst, &m);
	}
	mem_free(ld);
}

/* Starts reading bv's bytes for the entry in db unless a read is already
 * on its way; false if one was. */
static bool load_request(struct shard *sh, struct kv_db *db, struct blob_val *bv)
{
	/* The bytes go to the shard of the entry (db->owner), which wakes the
	 * waiters of the key; a multi-shard command (and EXEC) is polled. */
	int home = file_owner(bv->file);

	if (bv->loading)
		return false;
	bv->loading = true;
	atomic_fetch_add(&bv->refs, 1);	/* held by the load */
	if (home == sh->id) {
		load_start(bs_of(sh), bv, db->owner);
	} else {
		struct blob_msg m = { .kind = BM_READ, .p = NULL, .q = bv,
				      .a = (uint64_t)db->owner };

		shard_blob_send(sh, home, &m);
	}
	return true;
}

bool blob_need_bytes(struct cmd_ctx *ctx, struct kv_db *db, struct kv_entry *e)
{
	struct blob_val *bv = e->v.ptr;

	if (bv->mem)
		return true;
	if (ctx->flags & CTX_NO_BLOCK) {
		/* EXEC read every value its commands compute on first
		 * (blob_pin); what is still on disk here is a value the
		 * transaction itself put under this key (RENAME, MOVE ...), or
		 * one whose read failed. */
		resp_w_error(ctx->w, "-ERR the value of this key is on disk: it cannot be read "
			     "inside MULTI");
		return false;
	}
	load_request(ctx->sh, db, bv);
	cmd_block(ctx, 0, false);
	return false;
}

struct blob_val *blob_pin(struct shard *sh, struct kv_db *db, struct kv_entry *e,
			  enum blob_pin_state *state)
{
	struct blob_val *bv = e->v.ptr;

	atomic_fetch_add(&bv->refs, 1);
	atomic_fetch_add(&bv->pins, 1);
	if (bv->mem)
		*state = BLOB_PIN_READY;
	else if (load_request(sh, db, bv))
		*state = BLOB_PIN_STARTED;
	else
		*state = BLOB_PIN_LOADING;
	return bv;
}

void blob_unpin(struct shard *sh, struct blob_val *bv)
{
	/* The entry shard's cron sees the count drop and frees the bytes. */
	atomic_fetch_sub(&bv->pins, 1);
	bv_unref(sh, bv);
}

/* --- completions and messages --- */

void blob_on_cqe(struct shard *sh, void *p, int res)
{
	struct bshard *bs = bs_of(sh);
	int *type = p;

	switch (*type) {
	case OP_WRITE: {
		struct wchunk *w = p;

		if (res < 0 && !w->err)
			w->err = res;
		if (--w->pending == 0)
			write_done(bs, w);
		break;
	}
	case OP_SPILL: {
		struct spill *sp = p;

		if (res < 0 && !sp->err)
			sp->err = res;
		if (--sp->pending == 0)
			spill_written(bs, sp);
		break;
	}
	case OP_READ: {
		struct rchunk *c = p;

		if (res < 0 && !c->err)
			c->err = res;
		if (--c->pending == 0)
			read_done(bs, c);
		break;
	}
	case OP_LOAD: {
		struct load *ld = p;

		if (res < 0 && !ld->err)
			ld->err = res;
		if (--ld->pending == 0)
			load_done(bs, ld);
		break;
	}
	case OP_GROW: {
		struct fop *op = p;

		op->err = res < 0 ? res : 0;
		grow_done(bs, op);
		break;
	}
	case OP_PUNCH: {
		struct fop *op = p;

		if (res < 0)
			log_verbose("Punching a hole in blob file %d failed: %s", op->f->id,
				    strerror(-res));
		if (--op->pending == 0) {
			bs->busy = false;
			mem_free(op);
			alloc_serve(bs);
		}
		break;
	}
	case OP_SYNC: {
		struct fop *op = p;
		struct blob_put *put = op->puts;
		struct spill *sp = op->spills;

		bs->syncing = false;
		if (res < 0) {
			bs->io_errors++;
			log_warning("fdatasync of blob file %d failed: %s", op->f->id, strerror(-res));
		}
		while (put) {
			struct blob_put *next = put->sync_next;

			put->synced = true;
			if (res < 0 && !put->err)
				put->err = errno_reply(-EIO);
			put_maybe_run(bs, put);
			put = next;
		}
		while (sp) {
			struct spill *next = sp->sync_next;

			if (res < 0)
				spill_end(bs, sp, -EIO);
			else
				spill_commit(bs, sp);
			sp = next;
		}
		mem_free(op);
		break;
	}
	}
}

void blob_on_msg(struct shard *sh, int src, const struct blob_msg *m)
{
	struct bshard *bs = bs_of(sh);

	switch (m->kind) {
	case BM_PUT_BEGIN:
		put_begin(bs, m->p);
		break;
	case BM_PUT_DATA:
		put_data(bs, m->p, m->q, m->a, (size_t)m->b);
		break;
	case BM_PUT_ABORT: {
		struct blob_put *put = m->p;

		put->aborted = true;
		put_maybe_run(bs, put);
		break;
	}
	case BM_PUT_ACK:
		conn_put_ack(sh, m->p, m->q);
		break;
	case BM_READ:
		if (m->p) {
			stream_start(bs, m->p);
		} else {
			/* A load for another shard's entry. */
			load_start(bs, m->q, (int)m->a);
		}
		break;
	case BM_CHUNK:
		conn_chunk(sh, m->p, m->q, (size_t)m->a, (size_t)(m->b & ~BM_CHUNK_LAST),
			   (m->b & BM_CHUNK_LAST) != 0);
		break;
	case BM_CHUNK_ACK:
		stream_ack(bs, m->p, m->q, m->a != 0);
		break;
	case BM_FREE:
		bv_free_home(bs, m->p);
		break;
	case BM_PROG:
		conn_prog(sh, m->q, m->p);
		break;
	case BM_LOADED:
		loaded(bs, m->p, m->q, (int)(int64_t)m->a);
		break;
	case BM_EVICT: {
		struct blob_msg r = { .kind = BM_EVICTED };

		make_room(bs, m->a);
		shard_blob_send(sh, src, &r);
		break;
	}
	case BM_EVICTED:
		evict_answered(bs);
		break;
	case BM_KEEP:
		loaded_add(bs, m->p);
		break;
	}
}

/* --- index results --- */

static void node_done(struct bshard *bs, struct inode *n)
{
	struct shard *sh = bs->sh;
	/* A delete that found no record changed nothing: no failure. */
	int err = n->err == -ENOENT ? 0 : n->err;

	if (err) {
		bs->io_errors++;
		log_warning("Blob index commit failed: %s", strerror(-err));
		err = err == -ENOSPC ? -ENOSPC : -EIO;
	}
	switch (n->kind) {
	case N_PUT:
		/* An upload whose record did not commit: its SET answers an
		 * error and the key goes (see spill_end). */
		if (err)
			take_back(sh, n->bv);
		bv_unref(sh, n->bv);
		break;
	case N_SPILL:
		if (!err) {
			struct blob_val *bv = n->bv;
			int entry = bv_entry_shard(bv);

			atomic_store(&bv->state, BV_STORED);
			if (entry != sh->id && bv->mem && !bv->dead) {
				/* Moved to another shard, which reads the bytes
				 * now: it drops them. */
				atomic_fetch_add(&bv->refs, 1);
				loaded_forward(bs, bv, entry);
			} else if (bv->mem && !bv->dead) {
				/* A pinned value (EXEC waiting for its other
				 * values) keeps its bytes until the cron after
				 * its unpin. */
				if (atomic_load(&bv->pins)) {
					loaded_keep(bs, bv);
				} else {
					abuf_free(bv->mem);
					bv->mem = NULL;
				}
			}
		} else {
			take_back(sh, n->bv);
		}
		bv_unref(sh, n->bv);
		break;
	case N_DROP:
		bv_unref(sh, n->bv);
		break;
	default:
		break;
	}
	gate_put(sh, n->gate, err);
	mem_free(n);
}

bool blob_pending(struct shard *sh)
{
	struct bshard *bs = bs_of(sh);

	return bs && (atomic_load(&bs->done) || bs->spillq);
}

bool blob_draining(struct shard *sh)
{
	struct bshard *bs = bs_of(sh);

	/* Also a growth, punch or fdatasync in flight: they end on their own,
	 * and their op is freed when they do. */
	return bs && (bs->spills_open > 0 || bs->syncing || (bs->busy && !bs->evict_wait));
}

static void sync_submit(struct bshard *bs)
{
	struct fop *op;

	if (bs->syncing || (!bs->sync_puts && !bs->sync_spills))
		return;
	op = mem_calloc(1, sizeof(*op));
	op->type = OP_SYNC;
	op->f = bs->own;
	op->puts = bs->sync_puts;
	op->spills = bs->sync_spills;
	bs->sync_puts = NULL;
	bs->sync_spills = NULL;
	bs->syncing = true;
	io_uring_prep_fsync(bsqe(bs, op), bs->own->fd, IORING_FSYNC_DATASYNC);
}

void blob_turn(struct shard *sh)
{
	struct bshard *bs = bs_of(sh);
	struct inode *n, *rev = NULL;

	if (!bs)
		return;
	if (bs->evict_wait && atomic_load(&srv.stop)) {
		/* Shards leaving their loops answer no BM_EVICT: what waits for
		 * the round fails (a spill then stays in memory). */
		bs->evict_wait = 1;
		evict_answered(bs);
	}
	n = atomic_exchange(&bs->done, NULL);
	while (n) {
		struct inode *next = n->next;

		n->next = rev;
		rev = n;
		n = next;
	}
	while (rev) {
		struct inode *next = rev->next;

		node_done(bs, rev);
		rev = next;
	}
	while (bs->spillq) {
		struct spill *sp = bs->spillq;

		bs->spillq = sp->next;
		if (!bs->spillq)
			bs->spillq_tail = NULL;
		sp->next = NULL;
		spill_start(bs, sp);
	}
	sync_submit(bs);
}

void blob_cron(struct shard *sh)
{
	struct bshard *bs = bs_of(sh);
	struct blob_extent cand[16];
	int n, keep;

	if (!bs)
		return;
	/* Loaded bytes served the command that asked; drop them, except those
	 * an EXEC still waits with (pinned). */
	keep = 0;
	for (int i = 0; i < bs->nloaded; i++) {
		struct blob_val *bv = bs->loaded[i];
		int entry = bv_entry_shard(bv);

		if (entry != sh->id && !bv->dead) {
			loaded_forward(bs, bv, entry);	/* with the list's reference */
			continue;
		}
		if (atomic_load(&bv->pins) && !bv->dead) {
			bs->loaded[keep++] = bv;
			continue;
		}
		if (atomic_load(&bv->state) == BV_STORED && bv->mem && !bv->loading) {
			abuf_free(bv->mem);
			bv->mem = NULL;
		}
		bv_unref(sh, bv);
	}
	bs->nloaded = keep;
	/* Large free runs go back to the file system. */
	if (!bs->busy && !bs->waitq && bs->writes_inflight == 0) {
		n = blob_alloc_punch_candidates(bs->own->alloc, BLOB_PUNCH_MIN, cand, 16);
		if (n > 0) {
			struct fop *op = mem_calloc(1, sizeof(*op));

			op->type = OP_PUNCH;
			op->f = bs->own;
			for (int i = 0; i < n; i++) {
				io_uring_prep_fallocate(bsqe(bs, op), bs->own->fd,
							FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
							(off_t)cand[i].off, (off_t)cand[i].len);
				op->pending++;
				bs->punched += cand[i].len;
			}
			bs->busy = true;
		}
	}
	if (cfg.blob_fsync == BLOB_FSYNC_EVERYSEC && !bs->syncing && bs->bytes_written) {
		static _Thread_local int64_t last;

		if (kv_now_ms - last >= 1000) {
			struct fop *op = mem_calloc(1, sizeof(*op));

			last = kv_now_ms;
			op->type = OP_SYNC;
			op->f = bs->own;
			bs->syncing = true;
			io_uring_prep_fsync(bsqe(bs, op), bs->own->fd, IORING_FSYNC_DATASYNC);
		}
	}
}

/* --- start-up --- */

struct load_ctx {
	int64_t now;
	uint64_t loaded, expired, bad;
};

static int scan_one(void *arg, int db, const void *key, size_t klen,
		    const struct blob_index_rec *rec)
{
	struct load_ctx *lc = arg;
	struct blob_extent ext[BLOB_INDEX_MAX_EXTENTS];
	struct bfile *f;
	struct blob_val *bv;
	struct shard *sh;
	struct kv_entry *e;
	int ret;

	if (db < 0 || db >= cfg.databases || rec->file >= BLOB_MAX_FILES ||
	    !(f = files[rec->file])) {
		lc->bad++;
		return 0;
	}
	if (rec->expire_ms && rec->expire_ms <= lc->now) {
		blob_index_del(bx, db, key, klen, NULL, NULL);
		lc->expired++;
		return 0;
	}
	for (uint32_t i = 0; i < rec->nextents; i++) {
		ext[i].off = rec->ext[i].off;
		ext[i].len = rec->ext[i].len;
	}
	ret = blob_alloc_reserve(f->alloc, ext, (int)rec->nextents);
	if (ret == -ERANGE) {
		/* Beyond the end of the file as we saw it: a file cut short. */
		log_warning("Blob record of key '%.*s' points past the end of blob-%u.dat: dropped",
			    (int)MIN(klen, (size_t)64), (const char *)key, rec->file);
	}
	if (ret < 0) {
		blob_index_del(bx, db, key, klen, NULL, NULL);
		lc->bad++;
		return 0;
	}
	sh = &srv.shards[shard_of_key(key, klen)];
	bv = bv_new((int)rec->file, db, key, klen);
	bv->len = rec->len;
	bv->crc = rec->crc;
	bv->next = (int)rec->nextents;
	memcpy(bv->ext, ext, sizeof(ext[0]) * rec->nextents);
	bv->expire = rec->expire_ms;
	bv->entry_shard = sh->id;
	atomic_store(&bv->state, BV_STORED);
	e = kv_set_blob(&sh->dbs[db], key, klen, bv, 0);
	if (rec->expire_ms) {
		e->expire_ms = 0;
		kv_set_expire(&sh->dbs[db], e, rec->expire_ms);
	}
	atomic_fetch_add(&g_allocated, value_space(ext, (int)rec->nextents));
	atomic_fetch_add(&g_stored, rec->len);
	atomic_fetch_add(&g_keys, 1);
	lc->loaded++;
	return 0;
}

int blob_open(void)
{
	struct blob_index_cfg icfg = { 0 };
	struct load_ctx lc = { 0 };
	int64_t t0 = util_monotonic_us();
	DIR *d;
	struct dirent *de;
	int ret;

	bblock = (uint64_t)cfg.blob_block_size;
	/* One process per data dir: strata-check-blob refuses a dir in use. */
	{
		char path[4096];
		int fd;

		snprintf(path, sizeof(path), "%s/strata.lock", cfg.dir);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
			log_warning("The data directory '%s' is in use by another process", cfg.dir);
			if (fd >= 0)
				close(fd);
			return -EBUSY;
		}
		/* Kept open (and locked) until the process exits. */
	}
	icfg.dir = cfg.dir;
	icfg.sync = cfg.blob_fsync == BLOB_FSYNC_ALWAYS ? BLOB_INDEX_SYNC_ALWAYS :
		    cfg.blob_fsync == BLOB_FSYNC_NO ? BLOB_INDEX_SYNC_NO : BLOB_INDEX_SYNC_EVERYSEC;
	ret = blob_index_open(&icfg, &bx);
	if (ret < 0) {
		log_warning("Can't open the blob index in '%s': %s", cfg.dir, strerror(-ret));
		return ret;
	}
	/* Every block file there, whatever shard count wrote it. */
	d = opendir(cfg.dir);
	while (d && (de = readdir(d))) {
		int id;
		char tail;

		if (sscanf(de->d_name, "blob-%d.da%c", &id, &tail) == 2 && tail == 't' &&
		    id >= 0 && id < BLOB_MAX_FILES && !files[id]) {
			ret = file_open(id, false, &files[id]);
			if (ret < 0) {
				log_warning("Can't open blob file %s: %s", de->d_name, strerror(-ret));
				closedir(d);
				return ret;
			}
		}
	}
	if (d)
		closedir(d);
	for (int i = 0; i < srv.nshards; i++) {
		if (!files[i] && (ret = file_open(i, true, &files[i])) < 0) {
			log_warning("Can't create blob file %d in '%s': %s", i, cfg.dir,
				    strerror(-ret));
			return ret;
		}
		bsh[i] = mem_calloc(1, sizeof(*bsh[i]));
		bsh[i]->sh = &srv.shards[i];
		bsh[i]->own = files[i];
	}
	kv_blob_hooks = &hooks;
	opened = true;
	lc.now = util_mstime();
	ret = blob_index_scan(bx, scan_one, &lc);
	if (ret < 0) {
		log_warning("Reading the blob index failed: %s", strerror(-ret));
		return ret;
	}
	log_notice("Blob tier: %llu large keys loaded in %.3f seconds (%llu expired, %llu dropped)",
		   (unsigned long long)lc.loaded, (double)(util_monotonic_us() - t0) / 1e6,
		   (unsigned long long)lc.expired, (unsigned long long)lc.bad);
	return 0;
}

void blob_shard_stop(struct shard *sh)
{
	(void)sh;
	pools_close();
	/* This thread's scratch list of holes (blob_reply_range). */
	free(hl.h);
	hl.h = NULL;
	hl.n = hl.cap = 0;
}

void blob_close(void)
{
	if (!opened)
		return;
	blob_index_close(bx);
	bx = NULL;
}

/* --- INFO blobstore --- */

void blob_info(struct sbuf *out)
{
	struct blob_index_stats is = { 0 };
	uint64_t size = 0, alloc = 0, freeb = 0, wif = 0, rif = 0, ioe = 0, crce = 0, bw = 0, br = 0;
	uint64_t puts = 0, spills = 0, evicted = 0, punched = 0, disk = 0;
	double frag = 0;
	int nf = 0;

	if (!opened) {
		sbuf_printf(out, "blob_enabled:0\r\n");
		return;
	}
	blob_index_stats(bx, &is);
	for (int i = 0; i < BLOB_MAX_FILES; i++) {
		struct blob_alloc_stats st;
		struct stat sb;

		if (!files[i])
			continue;
		blob_alloc_stats(files[i]->alloc, &st);
		size += files[i]->size;
		alloc += st.allocated;
		freeb += st.free;
		frag = MAX(frag, st.fragmentation);
		if (fstat(files[i]->fd, &sb) == 0)
			disk += (uint64_t)sb.st_blocks * 512;
		nf++;
	}
	for (int i = 0; i < srv.nshards; i++) {
		struct bshard *bs = bsh[i];

		wif += bs->writes_inflight;
		rif += bs->reads_inflight;
		ioe += bs->io_errors;
		crce += bs->crc_errors;
		bw += bs->bytes_written;
		br += bs->bytes_read;
		puts += bs->puts;
		spills += bs->spills;
		evicted += bs->evicted;
		punched += bs->punched;
	}
	sbuf_printf(out,
		    "blob_enabled:1\r\n"
		    "blob_threshold:%lld\r\n"
		    "blob_block_size:%llu\r\n"
		    "blob_keys:%llu\r\n"
		    "blob_bytes_stored:%llu\r\n"
		    "blob_bytes_allocated:%llu\r\n"
		    "blob_files:%d\r\n"
		    "blob_file_bytes:%llu\r\n"
		    "blob_disk_bytes:%llu\r\n"
		    "blob_free_bytes:%llu\r\n"
		    "blob_fragmentation:%.4f\r\n"
		    "blob_max_bytes:%lld\r\n"
		    "blob_writes_in_flight:%llu\r\n"
		    "blob_reads_in_flight:%llu\r\n"
		    "blob_bytes_written:%llu\r\n"
		    "blob_bytes_read:%llu\r\n"
		    "blob_uploads:%llu\r\n"
		    "blob_spills:%llu\r\n"
		    "blob_evicted_keys:%llu\r\n"
		    "blob_punched_bytes:%llu\r\n"
		    "blob_io_errors:%llu\r\n"
		    "blob_checksum_errors:%llu\r\n"
		    "blob_index_commits:%llu\r\n"
		    "blob_index_records:%llu\r\n"
		    "blob_index_records_per_commit:%.2f\r\n"
		    "blob_index_last_batch:%llu\r\n"
		    "blob_index_pending:%llu\r\n"
		    "blob_index_errors:%llu\r\n"
		    "blob_index_map_used:%llu\r\n"
		    "blob_fsync:%s\r\n",
		    cfg.blob_threshold, (unsigned long long)bblock,
		    (unsigned long long)atomic_load(&g_keys), (unsigned long long)atomic_load(&g_stored),
		    (unsigned long long)alloc, nf, (unsigned long long)size,
		    (unsigned long long)disk, (unsigned long long)freeb, frag, cfg.blob_max_bytes,
		    (unsigned long long)wif, (unsigned long long)rif, (unsigned long long)bw,
		    (unsigned long long)br, (unsigned long long)puts, (unsigned long long)spills,
		    (unsigned long long)evicted, (unsigned long long)punched,
		    (unsigned long long)ioe, (unsigned long long)crce,
		    (unsigned long long)is.commits, (unsigned long long)is.records, is.mean_batch,
		    (unsigned long long)is.last_batch, (unsigned long long)is.pending,
		    (unsigned long long)is.errors, (unsigned long long)is.map_used,
		    cfg.blob_fsync == BLOB_FSYNC_ALWAYS ? "always" :
		    cfg.blob_fsync == BLOB_FSYNC_NO ? "no" : "everysec");
}
