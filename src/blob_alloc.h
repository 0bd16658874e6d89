/*
 * blob_alloc.h - buddy allocator for the space of one blob block file.
 *
 * The allocator hands out extents of a block file: byte ranges whose length
 * is a power-of-two number of blocks and whose offset is a multiple of that
 * length (the buddy property). Block size is a power of two of at least
 * BLOB_ALLOC_MIN_BLOCK bytes (config blob-block-size); no extent is larger
 * than BLOB_ALLOC_MAX_EXTENT bytes. The allocator never touches the file: it
 * only knows how large the file is ("capacity") and which ranges of it are in
 * use. The caller grows and truncates the file and tells the allocator.
 *
 * A value takes a few extents (BLOB_ALLOC_EXTENTS for any value up to
 * BLOB_ALLOC_MAX_EXTENT bytes) whose total is at most 16/15 of the value's
 * block count, so rounding up to powers of two does not waste a third of the
 * disk. Space is allocated once per value, by blob_alloc_value().
 *
 * Free space is always fully coalesced: two free buddies never coexist, so
 * the free space of an idle allocator is exactly the maximal aligned blocks
 * of the capacity. Allocation is best fit by order, lowest address first
 * within an order, which keeps live data low in the file so that it can be
 * truncated (blob_alloc_trim_point).
 *
 * Cost: allocation and free are O(orders x log64 blocks), with no scan of the
 * capacity. The allocator's own memory is about six bits per block (three
 * bitmaps over the blocks of every order: 2 + 1 + 1/2 + ... bits each),
 * e.g. 192 MiB for a 1 TiB file of 4 KiB blocks, 12 MiB at 64 KiB blocks;
 * all of it through mem_*.
 *
 * Not thread safe: an allocator belongs to the one thread that owns its
 * block file (no mutex, no atomics). It includes no server header.
 */
#ifndef STRATA_BLOB_ALLOC_H
#define STRATA_BLOB_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

/* Smallest block size accepted by blob_alloc_create(). */
#define BLOB_ALLOC_MIN_BLOCK 4096ULL
/* Largest extent in bytes (1 GiB); a larger value takes several. */
#define BLOB_ALLOC_MAX_EXTENT (1ULL << 30)
/* Number of extent orders at the smallest block size: 4 KiB .. 1 GiB. */
#define BLOB_ALLOC_ORDERS 19
/* Largest capacity in bytes (256 TiB): keeps block indices and shifts far
 * from overflow. */
#define BLOB_ALLOC_MAX_CAPACITY (1ULL << 48)
/* Extents per value that keep the 16/15 bound for any value of up to
 * BLOB_ALLOC_MAX_EXTENT bytes; what callers pass as max_extents. */
#define BLOB_ALLOC_EXTENTS 4

/* A byte range of the block file: len is block << k for some order
 * 0 <= k < BLOB_ALLOC_ORDERS with block << k <= BLOB_ALLOC_MAX_EXTENT, and
 * off is a multiple of len. */
struct blob_extent {
	uint64_t off;	/* byte offset in the block file */
	uint64_t len;	/* bytes */
};

struct blob_alloc_stats {
	uint64_t capacity;	/* bytes the allocator manages (file size) */
	uint64_t allocated;	/* bytes in live extents: exactly their sum */
	uint64_t free;		/* capacity - allocated */
	uint64_t largest_free;	/* bytes of the largest free block, 0 if none */
	uint64_t nfree_blocks;	/* free blocks, all orders */
	/* free_by_order[k]: free blocks of block << k bytes ("buddyinfo");
	 * zero above the largest order of this block size. */
	uint64_t free_by_order[BLOB_ALLOC_ORDERS];
	uint64_t unreported;	/* free bytes not yet returned by
				 * blob_alloc_punch_candidates() */
	uint64_t mem_bytes;	/* the allocator's own memory */
	/* 1 - largest_free / min(free, BLOB_ALLOC_MAX_EXTENT): 0 when the
	 * largest free block is as large as the free space allows (or nothing
	 * is free), near 1 when the free space is scattered in small blocks. */
	double fragmentation;
};

struct blob_alloc;

/*
 * A new allocator for a file of capacity bytes, all of it free.
 * block: a power of two, BLOB_ALLOC_MIN_BLOCK <= block <= BLOB_ALLOC_MAX_EXTENT.
 * capacity: a multiple of block (0 is fine), at most BLOB_ALLOC_MAX_CAPACITY.
 * Returns 0 and sets *out (owned by the caller, freed with
 * blob_alloc_destroy), or -EINVAL for a bad block or capacity, -EFBIG for a
 * capacity over BLOB_ALLOC_MAX_CAPACITY; *out is untouched on error.
 */
int blob_alloc_create(uint64_t block, uint64_t capacity, struct blob_alloc **out);
/* Frees the allocator; a may be NULL. Extents still live are forgotten. */
void blob_alloc_destroy(struct blob_alloc *a);

/* The block size and the capacity, in bytes. */
uint64_t blob_alloc_block(const struct blob_alloc *a);
uint64_t blob_alloc_capacity(const struct blob_alloc *a);

/*
 * Allocates space for a value of len bytes, once: on success the extents are
 * live until blob_alloc_free(). Writes n extents to out[0..n-1] in order of
 * non-increasing length; the caller lays the value out in that order, so the
 * last extent ends with the unused slack.
 *
 * The block count N = ceil(len / block) is rounded up to the finest multiple
 * of 2^q blocks that is a sum of at most max_extents extents. With
 * max_extents >= 4 and len <= BLOB_ALLOC_MAX_EXTENT the space is less than
 * 16/15 N blocks, so at most 17/15 (1.134) times len for len >= 16 blocks
 * (64 KiB at 4 KiB blocks). A value over BLOB_ALLOC_MAX_EXTENT keeps that
 * bound with blob_alloc_extents_for(len) extents.
 *
 * Returns n (1 <= n <= max_extents), or:
 *   -EINVAL  len is 0 or max_extents < 1;
 *   -EFBIG   even whole BLOB_ALLOC_MAX_EXTENT extents need more than
 *            max_extents (pass blob_alloc_extents_for(len) entries);
 *   -ENOSPC  the free space cannot hold the extents. Nothing was allocated;
 *            grow the file (blob_alloc_grow_target says to what size), call
 *            blob_alloc_grow() and retry.
 * out is borrowed and must have max_extents entries; it is undefined on error.
 */
int blob_alloc_value(struct blob_alloc *a, uint64_t len, struct blob_extent *out,
		     int max_extents);
/* Entries to pass as max_extents for a value of len bytes so that the 16/15
 * bound holds: BLOB_ALLOC_EXTENTS up to BLOB_ALLOC_MAX_EXTENT bytes, then
 * ceil(len / BLOB_ALLOC_MAX_EXTENT) + 3. */
int blob_alloc_extents_for(uint64_t len);
/*
 * A capacity in bytes at which blob_alloc_value(a, len, ..., max_extents) is
 * sure to succeed if nothing else changes in between: the capacity rounded
 * up to the value's largest extent, plus the value's extents. Sets *capacity
 * and returns 0, or -EINVAL / -EFBIG as blob_alloc_value() would.
 */
int blob_alloc_grow_target(const struct blob_alloc *a, uint64_t len, int max_extents,
			   uint64_t *capacity);

/*
 * Frees n extents returned by blob_alloc_value() or marked by
 * blob_alloc_reserve(), each exactly as it was returned (a part or a union
 * of extents is not an extent), and coalesces them with their free buddies
 * at every order. Freed space counts as not yet reported for punching.
 * Freeing anything that is not a live extent is a bug and aborts (ASSERT).
 * e is borrowed.
 */
void blob_alloc_free(struct blob_alloc *a, const struct blob_extent *e, int n);

/*
 * Marks n extents read from the index as in use, while rebuilding at
 * start-up. All or nothing: on error no extent of this call is marked.
 * Returns 0, or:
 *   -ERANGE  an extent ends beyond the capacity (grow, then retry);
 *   -EEXIST  an extent is not a valid buddy block (length not a power-of-two
 *            number of blocks up to BLOB_ALLOC_MAX_EXTENT, or offset not a
 *            multiple of its length), or a block of it is already in use
 *            (by an earlier call or an earlier extent of this one);
 *   -EINVAL  n < 0.
 * -ERANGE is reported before -EEXIST. Extents that were reserved and then
 * rolled back count as not yet reported for punching. e is borrowed.
 */
int blob_alloc_reserve(struct blob_alloc *a, const struct blob_extent *e, int n);

/*
 * The file now has new_capacity bytes: [old capacity, new_capacity) becomes
 * free, carved into maximal aligned blocks and coalesced with free buddies
 * below. Returns 0, -EINVAL if new_capacity is not a multiple of the block
 * or is below the capacity, -EFBIG over BLOB_ALLOC_MAX_CAPACITY.
 */
int blob_alloc_grow(struct blob_alloc *a, uint64_t new_capacity);
/* The lowest offset from which everything up to the capacity is free: the
 * end of the highest live extent, 0 if none. */
uint64_t blob_alloc_trim_point(const struct blob_alloc *a);
/*
 * Forgets [off, capacity) after the caller truncated the file to off bytes.
 * A free block that straddles off keeps its part below off. Returns 0, or
 * -EINVAL if off is not a multiple of the block, is above the capacity, or
 * is below blob_alloc_trim_point().
 */
int blob_alloc_shrink(struct blob_alloc *a, uint64_t off);

/*
 * Up to max free blocks of at least min_len bytes that have not been returned
 * since they became free, largest first, then lowest offset: candidates for
 * FALLOC_FL_PUNCH_HOLE. Each is returned once; freeing into a block (which
 * coalesces) makes the merged block a candidate again, while blocks split off
 * a reported block stay reported. Returns the number written to out (0 when
 * nothing qualifies), or -EINVAL if max < 0. out is borrowed.
 *
 * The blocks stay free: if the caller punches asynchronously it must finish
 * the punch before writing any extent allocated after this call, or it may
 * punch a hole in new data.
 */
int blob_alloc_punch_candidates(struct blob_alloc *a, uint64_t min_len,
				struct blob_extent *out, int max);

/* Fills *st; O(orders). */
void blob_alloc_stats(const struct blob_alloc *a, struct blob_alloc_stats *st);

/*
 * Full consistency check, O(capacity): bitmaps against their summaries and
 * the capacity, free blocks against live extents (no overlap, together they
 * tile the capacity), full coalescing, and every counter. Allocates one bit
 * per block for the duration of the call. For tests and strata-check-blob,
 * not for a running server's hot path.
 * blob_alloc_check_why() names the first violation (a static string), or
 * returns NULL when blob_alloc_check() would return true.
 */
bool blob_alloc_check(const struct blob_alloc *a);
const char *blob_alloc_check_why(const struct blob_alloc *a);

#endif
