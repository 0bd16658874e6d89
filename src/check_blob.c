/*
 * check_blob.c - strata-check-blob: the offline check of a data directory's
 * blob tier.
 *
 *     strata-check-blob DIR [--deep] [--block-size N] [--quiet]
 *
 * The LMDB index under DIR/index/ is the durable truth of the blob tier; the
 * block files DIR/blob-<F>.dat carry no metadata of their own, and the
 * server rebuilds each file's buddy allocator at start-up by reserving every
 * extent the index lists. This tool makes the same rebuild on the directory
 * of a stopped server and reports whatever would make it wrong, so that an
 * operator, or a crash test, knows whether a restart finds every value whole:
 *
 *  - each extent is a valid buddy block of the block size (a power-of-two
 *    number of blocks up to BLOB_ALLOC_MAX_EXTENT, at an offset that is a
 *    multiple of its length) and lies inside its block file, which exists;
 *  - no two extents overlap, of one record or of two: every file gets an
 *    allocator as large as the file, and blob_alloc_reserve() refuses a
 *    block that is already taken. A second scan of the index then names the
 *    earlier owner of each block refused that way;
 *  - the extents of a record hold at least its value;
 *  - no byte of a value lies in a hole of its file (punched, or never
 *    written): reading there returns zeros. A value with a hole is read and
 *    its CRC32C compared with the record's, because some file systems store
 *    written zero blocks as holes; only a mismatch is a problem;
 *  - with --deep, every value is read (O_DIRECT when the file system allows
 *    it) and its CRC32C compared with the record's.
 *
 * Nothing can "leak" in the allocator's sense: its state is not persisted, so
 * a block that no record owns is free by construction. What an operator can
 * win back is free space that still takes disk, which the per-file line
 * reports as "reclaimable", and the free tail after the last extent, which
 * truncation would return.
 *
 * A running server holds an exclusive flock() on DIR/strata.lock. The tool
 * takes the same lock without waiting and refuses a directory in use; while
 * it holds the lock, a server cannot start on the directory either. It
 * writes nothing to the index or the block files (opening the index
 * preallocates room in LMDB's file, as the server's start would).
 *
 * Output, on stdout, one item a line, fields as name=value:
 *
 *   check dir=DIR block_size=4096 deep=no
 *   problem: key="k\x00" db=0 file=blob-1.dat offset=8192: <what is wrong>
 *   problem: file=blob-2.dat: <what is wrong>
 *   problem: index: <what is wrong>
 *   records=N expired=N bad_records=N stored=B allocated=B crc_checked=N files=N
 *   db=0 keys=N
 *   file=blob-0.dat records=N size=B allocated=B free=B tail=B holes=B disk=B reclaimable=B
 *   file=blob-3.dat missing records=N
 *   file=blob-4.dat unreadable records=N
 *   result: clean
 *
 * The offset of a problem is that of the extent concerned, or of the value's
 * first extent when the problem is the whole value's. B is a number of
 * bytes. The totals: stored sums the values' lengths, allocated their
 * extents' lengths as the index lists them, crc_checked counts the values
 * whose checksum was verified. Per block file: size is st_size; allocated the
 * bytes of the extents it holds, each block counted once; free = size -
 * allocated; tail the free bytes after the last extent; holes the bytes that
 * SEEK_HOLE reports as holes; disk is st_blocks * 512; reclaimable the free
 * bytes that still take disk, estimated as disk - (allocated - holes inside
 * extents), at most free. A file that no record names is listed with
 * records=0; one that records name but that does not exist as "missing";
 * one that cannot be opened (the reason is on stderr, the result
 * "incomplete") as "unreadable".
 *
 * Keys are printed in double quotes with \\, \", \n, \r, \t, and \xHH for
 * any other byte outside printable ASCII, cut after CK_KEY_SHOWN bytes
 * ("..." and the full length follow). --quiet leaves out everything but the
 * problem lines and the result line.
 *
 * The last line is "result: clean" exactly when the exit status is 0:
 *   0  clean: no problem found;
 *   1  problems were found ("result: N problem(s)");
 *   2  the check could not be made or finished: bad usage, a directory in
 *      use, an index or a block file that cannot be opened or scanned. The
 *      reason goes to stderr; a check cut short ends with "result:
 *      incomplete, N problem(s)". A value whose bytes cannot be read (EIO)
 *      is a problem of that value, not a reason to stop.
 */
#include "blob_alloc.h"
#include "blob_index.h"
#include "log.h"
#include "mem.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CK_EXIT_CLEAN		0
#define CK_EXIT_PROBLEMS	1
#define CK_EXIT_ERROR		2

#define CK_DEFAULT_BLOCK	4096
#define CK_KEY_SHOWN		128	/* key bytes printed; longer keys are cut */
/* A printed key: every byte as \xHH, the quotes, "...(N bytes)" and NUL. */
#define CK_REPR_MAX		(CK_KEY_SHOWN * 4 + 48)
#define CK_READ_CHUNK		((size_t)1 << 20)	/* bytes per read of a value */
#define CK_DIRECT_ALIGN		4096	/* O_DIRECT alignment of buffer, offset, length */
/* Overlaps whose earlier owner the second scan looks up; later ones are
 * reported without it. Bounds the memory a badly damaged index costs. */
#define CK_OVERLAPS_KEPT	4096

/* A run of a block file that reads as zeros without taking disk. */
struct ck_hole {
	uint64_t start;			/* byte offset */
	uint64_t end;			/* exclusive */
};

/* One block file, named by records or found in the directory. */
struct ck_file {
	uint32_t id;			/* F of blob-F.dat */
	bool exists;			/* opened and is a regular file */
	bool failed;			/* could not be opened or stat'ed: not checked */
	int fd;				/* read-only, through the page cache; -1 if none */
	int dfd;			/* read-only O_DIRECT for --deep; -1 if none */
	uint64_t size;			/* st_size */
	uint64_t disk;			/* st_blocks * 512 */
	uint64_t records;		/* records with an extent in this file */
	struct blob_alloc *alloc;	/* rebuilt from the records; NULL if !exists */
	struct ck_hole *holes;		/* sorted, disjoint, inside [0, size) */
	size_t nholes, capholes;
	uint64_t hole_bytes;		/* sum of holes */
	uint64_t owned_holes;		/* hole bytes inside reserved extents */
};

/* A valid extent that blob_alloc_reserve() refused because a block of it
 * was taken; the second scan fills in who took it. */
struct ck_overlap {
	uint64_t ord;			/* scan position of its record */
	uint32_t idx;			/* its index among the record's extents */
	uint32_t file;
	uint64_t off;
	uint64_t len;
	int db;
	char *repr;			/* the record's key, printed (mem_*) */
	bool found;			/* an earlier owner was found */
	bool same_key;			/* ... and it is an extent of the same record */
	int other_db;
	char *other_repr;		/* its key, printed (mem_*), if !same_key */
	uint64_t other_off;
	uint64_t other_len;
};

/* Keys counted in one database; the scan visits databases in order. */
struct ck_db {
	int db;
	uint64_t keys;
};

/* Everything one run of the tool knows; single-threaded. */
struct ck {
	const char *dir;		/* DIR, borrowed from argv */
	uint64_t block;			/* --block-size */
	bool deep;			/* --deep */
	bool quiet;			/* --quiet */
	int64_t now_ms;			/* for counting expired records */
	struct ck_file *files;		/* sorted by id */
	size_t nfiles, capfiles;
	struct ck_db *dbs;		/* in scan order, so sorted by db */
	size_t ndbs, capdbs;
	struct ck_overlap *overlaps;	/* in scan order until the second scan */
	size_t noverlaps, capoverlaps;
	uint64_t ord;			/* records visited by the current scan */
	uint64_t records;		/* totals of the first scan */
	uint64_t expired;
	uint64_t stored;
	uint64_t allocated;
	uint64_t crc_checked;
	uint64_t bad_records;
	uint64_t problems;		/* problem lines printed */
	bool incomplete;		/* an error cut part of the check short */
	unsigned char *buf;		/* CK_READ_CHUNK bytes, CK_DIRECT_ALIGN-aligned */
	void *buf_mem;			/* the allocation buf lies in */
};

/* ---- printing ---- */

/* Writes key as a quoted printable string into out (CK_REPR_MAX bytes) and
 * returns out. */
static const char *ck_repr(const void *key, size_t klen, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = key;
	size_t n = MIN(klen, (size_t)CK_KEY_SHOWN), o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		switch (c) {
		case '\\':
		case '"':
			out[o++] = '\\';
			out[o++] = (char)c;
			break;
		case '\n':
			out[o++] = '\\';
			out[o++] = 'n';
			break;
		case '\r':
			out[o++] = '\\';
			out[o++] = 'r';
			break;
		case '\t':
			out[o++] = '\\';
			out[o++] = 't';
			break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				out[o++] = (char)c;
			} else {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[c >> 4];
				out[o++] = hex[c & 15];
			}
		}
	}
	out[o++] = '"';
	if (klen > n)
		snprintf(out + o, CK_REPR_MAX - o, "...(%zu bytes)", klen);
	else
		out[o] = '\0';
	return out;
}

/* Prints a problem line: "problem: " where ": " fmt. */
__attribute__((format(printf, 3, 4)))
static void ck_problem(struct ck *ck, const char *where, const char *fmt, ...)
{
	va_list ap;

	ck->problems++;
	printf("problem: %s: ", where);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Prints a problem of a record: its key and database, the file, and the
 * offset of the extent concerned. */
__attribute__((format(printf, 7, 8)))
static void ck_rec_problem(struct ck *ck, int db, const void *key, size_t klen,
			   uint32_t file, uint64_t off, const char *fmt, ...)
{
	char repr[CK_REPR_MAX];
	va_list ap;

	ck->problems++;
	printf("problem: key=%s db=%d file=blob-%" PRIu32 ".dat offset=%" PRIu64 ": ",
	       ck_repr(key, klen, repr), db, file, off);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* An error that keeps part of the check from being made: to stderr, and the
 * result becomes "incomplete" (exit status 2). */
__attribute__((format(printf, 2, 3)))
static void ck_error(struct ck *ck, const char *fmt, ...)
{
	va_list ap;

	ck->incomplete = true;
	fputs("strata-check-blob: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- block files ---- */

/* Whether name is "blob-<F>.dat" with F in decimal without leading zeros,
 * as the server names its files; sets *id. */
static bool ck_parse_file_name(const char *name, uint32_t *id)
{
	const char *p = name + 5;
	uint64_t v = 0;

	if (strncmp(name, "blob-", 5) || *p < '0' || *p > '9' || (*p == '0' && p[1] != '.'))
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return false;
	}
	if (strcmp(p, ".dat"))
		return false;
	*id = (uint32_t)v;
	return true;
}

static int ck_file_path(const struct ck *ck, uint32_t id, char *path, size_t cap)
{
	if (snprintf(path, cap, "%s/blob-%" PRIu32 ".dat", ck->dir, id) >= (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

/* Lists the holes of f with SEEK_HOLE / SEEK_DATA. A file system without
 * them reports the whole file as data, which is what an empty list says. */
static void ck_file_map_holes(struct ck_file *f)
{
	uint64_t pos = 0;
	off_t h, d;

	while (pos < f->size) {
		h = lseek(f->fd, (off_t)pos, SEEK_HOLE);
		if (h < 0 || (uint64_t)h >= f->size)
			break;
		d = lseek(f->fd, h, SEEK_DATA);
		if (d < 0 && errno != ENXIO)
			break;
		/* ENXIO: no data after h, the hole runs to the end. */
		if (d < 0 || (uint64_t)d > f->size)
			d = (off_t)f->size;
		if (f->nholes == f->capholes) {
			f->capholes = f->capholes ? f->capholes * 2 : 16;
			f->holes = mem_realloc(f->holes, f->capholes * sizeof(*f->holes));
		}
		f->holes[f->nholes].start = (uint64_t)h;
		f->holes[f->nholes].end = (uint64_t)d;
		f->nholes++;
		f->hole_bytes += (uint64_t)(d - h);
		pos = (uint64_t)d;
	}
}

/* Bytes of [start, end) that lie in holes of f. */
static uint64_t ck_holes_in(const struct ck_file *f, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = f->nholes;
	uint64_t n = 0;

	/* The first hole that ends after start. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->holes[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < f->nholes && f->holes[lo].start < end; lo++)
		n += MIN(end, f->holes[lo].end) - MAX(start, f->holes[lo].start);
	return n;
}

/* Opens blob-<id>.dat into f (id already set): a file that does not exist
 * is "missing"; any other failure is an error and leaves f failed. Problems
 * of the file as a whole are printed here. */
static void ck_file_open(struct ck *ck, struct ck_file *f)
{
	char path[PATH_MAX], where[64];
	uint64_t cap;
	struct stat st;
	int rc;

	f->fd = -1;
	f->dfd = -1;
	if ((rc = ck_file_path(ck, f->id, path, sizeof(path)))) {
		ck_error(ck, "%s/blob-%" PRIu32 ".dat: %s", ck->dir, f->id, strerror(-rc));
		f->failed = true;
		return;
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		if (errno != ENOENT) {
			ck_error(ck, "cannot open %s: %s", path, strerror(errno));
			f->failed = true;
		}
		return;
	}
	if (fstat(f->fd, &st)) {
		ck_error(ck, "cannot stat %s: %s", path, strerror(errno));
		goto out_close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		ck_error(ck, "%s: not a regular file", path);
		goto out_close_fd;
	}
	f->exists = true;
	f->size = (uint64_t)st.st_size;
	f->disk = (uint64_t)st.st_blocks * 512;
	ck_file_map_holes(f);

	snprintf(where, sizeof(where), "file=blob-%" PRIu32 ".dat", f->id);
	if (f->size % ck->block)
		ck_problem(ck, where, "size %" PRIu64 " is not a multiple of the block size "
			   "%" PRIu64, f->size, ck->block);
	if (f->size > BLOB_ALLOC_MAX_CAPACITY)
		ck_problem(ck, where, "size %" PRIu64 " is over the allocator's largest "
			   "capacity (%llu); extents past it are not checked for overlap",
			   f->size, BLOB_ALLOC_MAX_CAPACITY);
	/* Whole blocks only: an extent is whole blocks, so one that fits in
	 * the file fits in its whole blocks. */
	cap = MIN(f->size - f->size % ck->block, BLOB_ALLOC_MAX_CAPACITY);
	rc = blob_alloc_create(ck->block, cap, &f->alloc);
	ASSERT(rc == 0);
	if (ck->deep)
		f->dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	return;

out_close_fd:
	close(f->fd);
	f->fd = -1;
	f->failed = true;
}

/* The entry of file id, opened the first time it is asked for. Never NULL;
 * the pointer stays valid until the next call. */
static struct ck_file *ck_file_get(struct ck *ck, uint32_t id)
{
	size_t lo = 0, hi = ck->nfiles;
	struct ck_file *f;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ck->files[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ck->nfiles && ck->files[lo].id == id)
		return &ck->files[lo];
	if (ck->nfiles == ck->capfiles) {
		ck->capfiles = ck->capfiles ? ck->capfiles * 2 : 8;
		ck->files = mem_realloc(ck->files, ck->capfiles * sizeof(*ck->files));
	}
	memmove(&ck->files[lo + 1], &ck->files[lo], (ck->nfiles - lo) * sizeof(*ck->files));
	ck->nfiles++;
	f = &ck->files[lo];
	memset(f, 0, sizeof(*f));
	f->id = id;
	ck_file_open(ck, f);
	return f;
}

static void ck_file_close(struct ck_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->dfd >= 0)
		close(f->dfd);
	blob_alloc_destroy(f->alloc);
	mem_free(f->holes);
}

/* Opens every block file of the directory, so that files no record names
 * are reported too. Returns 0 or -errno. */
static int ck_list_files(struct ck *ck)
{
	struct dirent *de;
	uint32_t id;
	DIR *d;

	if (!(d = opendir(ck->dir)))
		return -errno;
	errno = 0;
	while ((de = readdir(d))) {
		if (ck_parse_file_name(de->d_name, &id))
			ck_file_get(ck, id);
		errno = 0;
	}
	if (errno) {
		int err = -errno;

		closedir(d);
		return err;
	}
	closedir(d);
	return 0;
}

/* Reads n bytes at off into buf, through O_DIRECT while the file system
 * takes it; fewer only at the end of the file. Returns the bytes read or
 * -errno. */
static ssize_t ck_read_at(struct ck_file *f, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(f->dfd >= 0 ? f->dfd : f->fd, (char *)buf + got, n - got,
			  (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EINVAL && f->dfd >= 0) {
				/* O_DIRECT refused this alignment: go on
				 * through the page cache. */
				close(f->dfd);
				f->dfd = -1;
				continue;
			}
			return -errno;
		}
		if (!r)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* CRC32C of the value of rec, read from its extents in order. Returns 0 and
 * sets *crc, or -errno (-ENODATA if the file ends inside the value). */
static int ck_value_crc(struct ck *ck, struct ck_file *f, const struct blob_index_rec *rec,
			uint32_t *crc)
{
	uint64_t left = rec->len, off, n;
	uint32_t c = 0;

	for (uint32_t i = 0; i < rec->nextents && left; i++) {
		off = rec->ext[i].off;
		n = MIN(left, rec->ext[i].len);
		left -= n;
		while (n) {
			size_t want = (size_t)MIN(n, CK_READ_CHUNK);
			/* Whole O_DIRECT units: within the extent, whose
			 * length is a multiple of the block. */
			size_t io = (want + CK_DIRECT_ALIGN - 1) & ~(size_t)(CK_DIRECT_ALIGN - 1);
			ssize_t r = ck_read_at(f, ck->buf, io, off);

			if (r < 0)
				return (int)r;
			if ((size_t)r < want)
				return -ENODATA;
			c = blob_crc32c(c, ck->buf, want);
			off += want;
			n -= want;
		}
	}
	*crc = c;
	return 0;
}

/* ---- the first scan: every check ---- */

/* Whether e is a valid buddy block of ck->block-byte blocks; the same rule
 * as blob_alloc_reserve(), checked here to say which rule an extent breaks. */
static bool ck_is_buddy(const struct ck *ck, const struct blob_extent *e)
{
	uint64_t nb;

	if (!e->len || e->len % ck->block || e->len > BLOB_ALLOC_MAX_EXTENT)
		return false;
	nb = e->len / ck->block;
	return !(nb & (nb - 1)) && !(e->off % e->len);
}

static bool ck_is_inside(const struct ck_file *f, const struct blob_extent *e)
{
	return e->off <= f->size && e->len <= f->size - e->off;
}

static void ck_overlap_add(struct ck *ck, int db, const void *key, size_t klen,
			   uint32_t file, uint32_t idx, const struct blob_extent *e)
{
	char repr[CK_REPR_MAX];
	struct ck_overlap *ov;

	if (ck->noverlaps == CK_OVERLAPS_KEPT) {
		ck_rec_problem(ck, db, key, klen, file, e->off, "extent of %" PRIu64 " bytes "
			       "overlaps another extent", e->len);
		return;
	}
	if (ck->noverlaps == ck->capoverlaps) {
		ck->capoverlaps = ck->capoverlaps ? ck->capoverlaps * 2 : 16;
		ck->overlaps = mem_realloc(ck->overlaps, ck->capoverlaps * sizeof(*ck->overlaps));
	}
	ov = &ck->overlaps[ck->noverlaps++];
	memset(ov, 0, sizeof(*ov));
	ov->ord = ck->ord;
	ov->idx = idx;
	ov->file = file;
	ov->off = e->off;
	ov->len = e->len;
	ov->db = db;
	ck_repr(key, klen, repr);
	ov->repr = mem_strndup(repr, strlen(repr));
}

static void ck_count_key(struct ck *ck, int db, const struct blob_index_rec *rec)
{
	if (!ck->ndbs || ck->dbs[ck->ndbs - 1].db != db) {
		if (ck->ndbs == ck->capdbs) {
			ck->capdbs = ck->capdbs ? ck->capdbs * 2 : 16;
			ck->dbs = mem_realloc(ck->dbs, ck->capdbs * sizeof(*ck->dbs));
		}
		ck->dbs[ck->ndbs].db = db;
		ck->dbs[ck->ndbs].keys = 0;
		ck->ndbs++;
	}
	ck->dbs[ck->ndbs - 1].keys++;
	ck->records++;
	ck->stored += rec->len;
	if (rec->expire_ms && rec->expire_ms <= ck->now_ms)
		ck->expired++;
}

/* Checks one record: see the essay. Problems are printed as found, except
 * overlaps, which wait for the second scan to name the other owner. */
static int ck_record(void *arg, int db, const void *key, size_t klen,
		     const struct blob_index_rec *rec)
{
	struct ck *ck = arg;
	uint64_t sum = 0, holes = 0, left, first, n;
	bool readable = true;
	struct ck_file *f;
	uint32_t i, crc = 0;
	int rc;

	ck_count_key(ck, db, rec);
	for (i = 0; i < rec->nextents; i++)
		sum += rec->ext[i].len;
	ck->allocated += sum;
	first = rec->nextents ? rec->ext[0].off : 0;
	if (sum < rec->len) {
		ck_rec_problem(ck, db, key, klen, rec->file, first, "extents hold %" PRIu64
			       " bytes, less than the value's %" PRIu64, sum, rec->len);
		readable = false;
	}
	if (!rec->nextents)
		goto out;
	f = ck_file_get(ck, rec->file);
	f->records++;
	if (f->failed)
		goto out;
	if (!f->exists) {
		ck_rec_problem(ck, db, key, klen, rec->file, first, "block file does not exist");
		goto out;
	}

	for (i = 0; i < rec->nextents; i++) {
		struct blob_extent e = { .off = rec->ext[i].off, .len = rec->ext[i].len };
		bool buddy = ck_is_buddy(ck, &e), inside = ck_is_inside(f, &e);

		if (!buddy)
			ck_rec_problem(ck, db, key, klen, rec->file, e.off, "extent of %" PRIu64
				       " bytes is not a buddy block of %" PRIu64 "-byte blocks",
				       e.len, ck->block);
		if (!inside)
			ck_rec_problem(ck, db, key, klen, rec->file, e.off, "extent of %" PRIu64
				       " bytes ends at %" PRIu64 ", past the end of the file "
				       "(%" PRIu64 " bytes)", e.len, e.off + e.len, f->size);
		readable &= inside;
		if (!buddy || !inside)
			continue;
		rc = blob_alloc_reserve(f->alloc, &e, 1);
		if (rc == -EEXIST)
			ck_overlap_add(ck, db, key, klen, rec->file, i, &e);
		else if (rc == -ERANGE)
			ck_rec_problem(ck, db, key, klen, rec->file, e.off, "extent of %" PRIu64
				       " bytes lies past the allocator's largest capacity", e.len);
		else
			f->owned_holes += ck_holes_in(f, e.off, e.off + e.len);
	}
	if (!readable)
		goto out;

	left = rec->len;
	for (i = 0; i < rec->nextents && left; i++) {
		n = MIN(left, rec->ext[i].len);
		holes += ck_holes_in(f, rec->ext[i].off, rec->ext[i].off + n);
		left -= n;
	}
	if (ck->deep || holes) {
		rc = ck_value_crc(ck, f, rec, &crc);
		if (rc < 0) {
			ck_rec_problem(ck, db, key, klen, rec->file, first, "cannot read the "
				       "value: %s", strerror(-rc));
		} else if (crc != rec->crc) {
			ck_rec_problem(ck, db, key, klen, rec->file, first, "checksum mismatch: "
				       "record 0x%08" PRIx32 ", data 0x%08" PRIx32 "%s", rec->crc,
				       crc, holes ? " (part of the value lies in a hole)" : "");
		} else {
			ck->crc_checked++;
		}
	}
out:
	ck->ord++;
	return 0;
}

/* ---- the second scan: who owns what an overlap wanted ---- */

static int ck_overlap_cmp(const void *pa, const void *pb)
{
	const struct ck_overlap *a = pa, *b = pb;

	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return a->ord < b->ord ? -1 : a->ord > b->ord;
}

/* The first overlap of file at an offset >= off. */
static size_t ck_overlap_lower(const struct ck *ck, uint32_t file, uint64_t off)
{
	size_t lo = 0, hi = ck->noverlaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ck_overlap *ov = &ck->overlaps[mid];

		if (ov->file < file || (ov->file == file && ov->off < off))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Gives each overlap that an extent of this record meets, and that comes
 * later in the scan, this record as its other owner, if it has none yet:
 * the first in scan order is the one that holds the block. */
static int ck_owner(void *arg, int db, const void *key, size_t klen,
		    const struct blob_index_rec *rec)
{
	struct ck *ck = arg;
	char repr[CK_REPR_MAX];
	bool have_repr = false;
	struct ck_file *f;

	if (!rec->nextents)
		goto out;
	f = ck_file_get(ck, rec->file);
	for (uint32_t i = 0; i < rec->nextents && f->exists; i++) {
		struct blob_extent e = { .off = rec->ext[i].off, .len = rec->ext[i].len };
		/* Extents are at most BLOB_ALLOC_MAX_EXTENT long, so one that
		 * meets e starts less than that before it. */
		uint64_t from = e.off > BLOB_ALLOC_MAX_EXTENT ? e.off - BLOB_ALLOC_MAX_EXTENT + 1 : 0;

		/* Only extents that the first scan reserved can hold a block. */
		if (!ck_is_buddy(ck, &e) || !ck_is_inside(f, &e))
			continue;
		for (size_t x = ck_overlap_lower(ck, rec->file, from);
		     x < ck->noverlaps && ck->overlaps[x].file == rec->file &&
		     ck->overlaps[x].off < e.off + e.len; x++) {
			struct ck_overlap *ov = &ck->overlaps[x];

			if (ov->found || ov->off + ov->len <= e.off)
				continue;
			if (ck->ord > ov->ord || (ck->ord == ov->ord && i >= ov->idx))
				continue;
			ov->found = true;
			ov->same_key = ck->ord == ov->ord;
			ov->other_db = db;
			ov->other_off = e.off;
			ov->other_len = e.len;
			if (!ov->same_key) {
				if (!have_repr)
					ck_repr(key, klen, repr);
				have_repr = true;
				ov->other_repr = mem_strndup(repr, strlen(repr));
			}
		}
	}
out:
	ck->ord++;
	return 0;
}

static void ck_report_overlaps(struct ck *ck)
{
	for (size_t x = 0; x < ck->noverlaps; x++) {
		struct ck_overlap *ov = &ck->overlaps[x];

		ck->problems++;
		printf("problem: key=%s db=%d file=blob-%" PRIu32 ".dat offset=%" PRIu64
		       ": extent of %" PRIu64 " bytes overlaps ", ov->repr, ov->db, ov->file,
		       ov->off, ov->len);
		if (!ov->found)
			printf("another extent\n");
		else if (ov->same_key)
			printf("another extent of the same key (offset=%" PRIu64 " len=%" PRIu64
			       ")\n", ov->other_off, ov->other_len);
		else
			printf("key=%s db=%d (offset=%" PRIu64 " len=%" PRIu64 ")\n",
			       ov->other_repr, ov->other_db, ov->other_off, ov->other_len);
		mem_free(ov->repr);
		mem_free(ov->other_repr);
	}
}

/* ---- summary ---- */

static void ck_report_files(struct ck *ck)
{
	struct blob_alloc_stats st;
	char where[64];
	const char *why;

	for (size_t x = 0; x < ck->nfiles; x++) {
		struct ck_file *f = &ck->files[x];
		uint64_t free, tail, used_disk, reclaimable;

		if (!f->exists) {
			if (!ck->quiet)
				printf("file=blob-%" PRIu32 ".dat %s records=%" PRIu64 "\n", f->id,
				       f->failed ? "unreadable" : "missing", f->records);
			continue;
		}
		/* Only a bug of the allocator fails this: each extent went
		 * through blob_alloc_reserve(). */
		if ((why = blob_alloc_check_why(f->alloc))) {
			snprintf(where, sizeof(where), "file=blob-%" PRIu32 ".dat", f->id);
			ck_problem(ck, where, "the allocator rebuilt from the index is "
				   "inconsistent: %s", why);
		}
		blob_alloc_stats(f->alloc, &st);
		free = f->size - st.allocated;
		tail = f->size - blob_alloc_trim_point(f->alloc);
		used_disk = st.allocated - f->owned_holes;
		reclaimable = f->disk > used_disk ? MIN(f->disk - used_disk, free) : 0;
		if (!ck->quiet)
			printf("file=blob-%" PRIu32 ".dat records=%" PRIu64 " size=%" PRIu64
			       " allocated=%" PRIu64 " free=%" PRIu64 " tail=%" PRIu64
			       " holes=%" PRIu64 " disk=%" PRIu64 " reclaimable=%" PRIu64 "\n",
			       f->id, f->records, f->size, st.allocated, free, tail,
			       f->hole_bytes, f->disk, reclaimable);
	}
}

static void ck_report_totals(const struct ck *ck)
{
	if (ck->quiet)
		return;
	printf("records=%" PRIu64 " expired=%" PRIu64 " bad_records=%" PRIu64
	       " stored=%" PRIu64 " allocated=%" PRIu64 " crc_checked=%" PRIu64
	       " files=%zu\n", ck->records, ck->expired, ck->bad_records, ck->stored,
	       ck->allocated, ck->crc_checked, ck->nfiles);
	for (size_t x = 0; x < ck->ndbs; x++)
		printf("db=%d keys=%" PRIu64 "\n", ck->dbs[x].db, ck->dbs[x].keys);
}

/* ---- start-up ---- */

#define CK_USAGE "usage: strata-check-blob DIR [--deep] [--block-size N] [--quiet]\n"

static void ck_help(void)
{
	fputs(CK_USAGE
	      "\n"
	      "Checks the blob tier of a stopped strata server's data directory DIR:\n"
	      "the LMDB index DIR/index/ against the block files DIR/blob-<F>.dat.\n"
	      "\n"
	      "  --deep          read every value and check its CRC32C\n"
	      "  --block-size N  the server's blob-block-size in bytes (default 4096)\n"
	      "  --quiet         print only problems and the result line\n"
	      "\n"
	      "Exit status: 0 clean (last line \"result: clean\"), 1 problems found,\n"
	      "2 bad usage, directory in use, or an I/O error.\n", stdout);
}

/* Parses argv into ck. Returns 0, 1 for --help, or -EINVAL (reported). */
static int ck_parse_args(struct ck *ck, int argc, char **argv)
{
	const char *bs = NULL;
	char *end;
	int i;

	ck->block = CK_DEFAULT_BLOCK;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--deep")) {
			ck->deep = true;
		} else if (!strcmp(a, "--quiet")) {
			ck->quiet = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			return 1;
		} else if (!strcmp(a, "--block-size")) {
			if (++i == argc) {
				fprintf(stderr, "strata-check-blob: --block-size needs a value\n");
				return -EINVAL;
			}
			bs = argv[i];
		} else if (!strncmp(a, "--block-size=", 13)) {
			bs = a + 13;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "strata-check-blob: unknown option %s\n", a);
			return -EINVAL;
		} else if (ck->dir) {
			fprintf(stderr, "strata-check-blob: one directory only (%s, then %s)\n",
				ck->dir, a);
			return -EINVAL;
		} else {
			ck->dir = a;
		}
	}
	if (!ck->dir) {
		fprintf(stderr, "strata-check-blob: no directory given\n");
		return -EINVAL;
	}
	if (bs) {
		errno = 0;
		ck->block = strtoull(bs, &end, 10);
		if (errno || end == bs || *end || *bs == '-' || ck->block < BLOB_ALLOC_MIN_BLOCK ||
		    ck->block > BLOB_ALLOC_MAX_EXTENT || ck->block & (ck->block - 1)) {
			fprintf(stderr, "strata-check-blob: --block-size %s: not a power of two "
				"from %llu to %llu\n", bs, BLOB_ALLOC_MIN_BLOCK,
				BLOB_ALLOC_MAX_EXTENT);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Takes DIR/strata.lock without waiting, as the server does, and keeps it
 * (the descriptor stays open until exit). Returns 0, -EWOULDBLOCK when a
 * server holds it, or another -errno.
 */
static int ck_lock_dir(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/strata.lock", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return 0;
}

/* Whether dir holds an index: blob_index_open() would create one, and a
 * mistyped DIR must get neither a new index nor a lock file. Returns 0 or
 * -errno. */
static int ck_has_index(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/index/data.mdb", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return stat(path, &st) ? -errno : 0;
}

int main(int argc, char **argv)
{
	/* The tool commits nothing, so the sync mode only spares fsyncs. */
	struct blob_index_cfg cfg = { .sync = BLOB_INDEX_SYNC_NO };
	struct blob_index_stats ist;
	struct blob_index *ix = NULL;
	struct ck ck = { 0 };
	struct stat st;
	int rc, status;

	rc = ck_parse_args(&ck, argc, argv);
	if (rc > 0) {
		ck_help();
		return CK_EXIT_CLEAN;
	}
	if (rc) {
		fputs(CK_USAGE, stderr);
		return CK_EXIT_ERROR;
	}
	/* The index's own messages (undecodable records) go to stderr, away
	 * from the report; its notices are not for this tool's user. */
	log_min_level = LOG_WARNING;
	if (log_open("/dev/stderr"))
		log_min_level = LOG_WARNING + 1;

	if (stat(ck.dir, &st)) {
		fprintf(stderr, "strata-check-blob: %s: %s\n", ck.dir, strerror(errno));
		return CK_EXIT_ERROR;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "strata-check-blob: %s: not a directory\n", ck.dir);
		return CK_EXIT_ERROR;
	}
	rc = ck_has_index(ck.dir);
	if (rc) {
		fprintf(stderr, "strata-check-blob: %s/index/data.mdb: %s\n", ck.dir,
			rc == -ENOENT ? "no blob index there (not a data directory?)"
				      : strerror(-rc));
		return CK_EXIT_ERROR;
	}
	rc = ck_lock_dir(ck.dir);
	if (rc == -EWOULDBLOCK) {
		fprintf(stderr, "strata-check-blob: %s is in use: a server holds %s/strata.lock; "
			"stop it first\n", ck.dir, ck.dir);
		return CK_EXIT_ERROR;
	}
	if (rc) {
		fprintf(stderr, "strata-check-blob: cannot lock %s/strata.lock: %s\n", ck.dir,
			strerror(-rc));
		return CK_EXIT_ERROR;
	}
	cfg.dir = ck.dir;
	rc = blob_index_open(&cfg, &ix);
	if (rc) {
		fprintf(stderr, "strata-check-blob: cannot open the blob index %s/index: %s\n",
			ck.dir, strerror(-rc));
		return CK_EXIT_ERROR;
	}

	ck.now_ms = util_mstime();
	ck.buf_mem = mem_alloc(CK_READ_CHUNK + CK_DIRECT_ALIGN);
	ck.buf = (unsigned char *)(((uintptr_t)ck.buf_mem + CK_DIRECT_ALIGN - 1) &
				   ~(uintptr_t)(CK_DIRECT_ALIGN - 1));
	if (!ck.quiet)
		printf("check dir=%s block_size=%" PRIu64 " deep=%s\n", ck.dir, ck.block,
		       ck.deep ? "yes" : "no");

	if ((rc = ck_list_files(&ck)))
		ck_error(&ck, "cannot list %s: %s", ck.dir, strerror(-rc));
	rc = blob_index_scan(ix, ck_record, &ck);
	if (rc)
		ck_error(&ck, "scanning the blob index: %s", strerror(-rc));
	if (!rc && ck.noverlaps) {
		qsort(ck.overlaps, ck.noverlaps, sizeof(*ck.overlaps), ck_overlap_cmp);
		ck.ord = 0;
		rc = blob_index_scan(ix, ck_owner, &ck);
		if (rc)
			ck_error(&ck, "scanning the blob index again: %s", strerror(-rc));
	}
	ck_report_overlaps(&ck);
	blob_index_stats(ix, &ist);
	ck.bad_records = ist.bad_records;
	if (ck.bad_records)
		ck_problem(&ck, "index", "%" PRIu64 " record(s) do not decode and were skipped "
			   "(their keys are lost; their extents count as free)", ck.bad_records);
	blob_index_close(ix);

	ck_report_totals(&ck);
	ck_report_files(&ck);
	if (ck.incomplete) {
		printf("result: incomplete, %" PRIu64 " problem%s\n", ck.problems,
		       ck.problems == 1 ? "" : "s");
		status = CK_EXIT_ERROR;
	} else if (ck.problems) {
		printf("result: %" PRIu64 " problem%s\n", ck.problems, ck.problems == 1 ? "" : "s");
		status = CK_EXIT_PROBLEMS;
	} else {
		printf("result: clean\n");
		status = CK_EXIT_CLEAN;
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "strata-check-blob: writing the report: %s\n", strerror(errno));
		status = CK_EXIT_ERROR;
	}

	for (size_t x = 0; x < ck.nfiles; x++)
		ck_file_close(&ck.files[x]);
	mem_free(ck.files);
	mem_free(ck.dbs);
	mem_free(ck.overlaps);
	mem_free(ck.buf_mem);
	return status;
}
