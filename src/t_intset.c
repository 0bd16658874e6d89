/*
 * t_intset.c - sorted integer arrays of the narrowest sufficient width.
 *
 * Layout: one mem_alloc'd block, an 8-byte header (width in bytes, number
 * of members) followed by len members of width bytes each, in native byte
 * order (an intset is never written to disk or the wire as is), sorted
 * ascending with no duplicates. The block may be larger than the members
 * need: mem_usable() tells how much room there is, so most inserts append
 * into slack malloc already gave us instead of calling realloc, and no
 * capacity field is kept.
 *
 * Invariants:
 *  - width is 2, 4 or 8 and every member fits in it; width only grows.
 *  - members are strictly increasing.
 *  - the block holds at least sizeof(header) + len * width bytes.
 *
 * Members are read and written with memcpy of the exact width: the array is
 * reinterpreted when it is widened, and memcpy keeps that free of alignment
 * and aliasing questions; compilers turn each into one load or store.
 *
 * Widening: a member that needs a wider width is necessarily smaller than
 * every member or larger than every member (the current width holds the
 * whole range in between), so after widening the array in place - from the
 * last element down, since the wide slots overlap the narrow ones above
 * them - it goes to one end without a search.
 */
#include "t_intset.h"
#include "mem.h"
#include "util.h"

#include <string.h>

struct intset {
	uint32_t width;		/* bytes per member: 2, 4 or 8 */
	uint32_t len;		/* members */
	int64_t data[];		/* len members of width bytes (int64_t for alignment) */
};

/* Slack beyond which a removal gives memory back. */
#define INTSET_SHRINK_SLACK 64

static unsigned intset_width_for(int64_t v)
{
	if (v < INT32_MIN || v > INT32_MAX)
		return 8;
	if (v < INT16_MIN || v > INT16_MAX)
		return 4;
	return 2;
}

static size_t intset_bytes_for(size_t len, unsigned width)
{
	return sizeof(struct intset) + len * width;
}

/* The member at index i, read with width w (which may differ from
 * is->width while widening). */
static int64_t intset_load(const struct intset *is, unsigned w, size_t i)
{
	const unsigned char *p = (const unsigned char *)is->data + i * w;

	switch (w) {
	case 2: {
		int16_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
	case 4: {
		int32_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
	default: {
		int64_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
	}
}

static void intset_store(struct intset *is, unsigned w, size_t i, int64_t v)
{
	unsigned char *p = (unsigned char *)is->data + i * w;

	switch (w) {
	case 2: {
		int16_t x = (int16_t)v;

		memcpy(p, &x, sizeof(x));
		break;
	}
	case 4: {
		int32_t x = (int32_t)v;

		memcpy(p, &x, sizeof(x));
		break;
	}
	default:
		memcpy(p, &v, sizeof(v));
		break;
	}
}

/* Makes room for len members of width w, growing the block if needed. */
static struct intset *intset_reserve(struct intset *is, size_t len, unsigned w)
{
	size_t need = intset_bytes_for(len, w);

	if (need > mem_usable(is))
		is = mem_realloc(is, need);
	return is;
}

struct intset *intset_create(void)
{
	struct intset *is = mem_alloc(sizeof(*is));

	is->width = 2;
	is->len = 0;
	return is;
}

void intset_destroy(struct intset *is)
{
	mem_free(is);
}

struct intset *intset_dup(const struct intset *is)
{
	size_t n = intset_bytes_for(is->len, is->width);
	struct intset *copy = mem_alloc(n);

	memcpy(copy, is, n);
	return copy;
}

size_t intset_len(const struct intset *is)
{
	return is->len;
}

unsigned intset_width(const struct intset *is)
{
	return is->width;
}

size_t intset_mem(const struct intset *is)
{
	return mem_usable(is);
}

int64_t intset_get(const struct intset *is, size_t i)
{
	DASSERT(i < is->len);
	return intset_load(is, is->width, i);
}

bool intset_find(const struct intset *is, int64_t v, size_t *pos)
{
	size_t lo = 0, hi = is->len, at;
	bool found = false;

	/* Out of range (or of width) answers without a search; appending
	 * ascending values is the common case and lands here. */
	if (is->len == 0 || intset_width_for(v) > is->width) {
		at = is->len == 0 || v < 0 ? 0 : is->len;
		goto out;
	}
	if (v > intset_load(is, is->width, is->len - 1)) {
		at = is->len;
		goto out;
	}
	if (v < intset_load(is, is->width, 0)) {
		at = 0;
		goto out;
	}
	/* Invariant: members below lo are < v, members at hi and above > v. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t m = intset_load(is, is->width, mid);

		if (m == v) {
			lo = mid;
			found = true;
			break;
		}
		if (m < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	at = lo;
out:
	if (pos)
		*pos = at;
	return found;
}

bool intset_contains(const struct intset *is, int64_t v)
{
	return intset_find(is, v, NULL);
}

/* Adds v, which needs a wider width than is has: widens every member, then
 * puts v at the end it belongs to. */
static struct intset *intset_widen_add(struct intset *is, int64_t v)
{
	unsigned old = is->width, w = intset_width_for(v);
	size_t len = is->len;
	bool front = v < 0;

	is = intset_reserve(is, len + 1, w);
	/* From the top down: a wide slot i overlaps narrow slots >= i only. */
	for (size_t i = len; i-- > 0;)
		intset_store(is, w, i + (front ? 1 : 0), intset_load(is, old, i));
	is->width = w;
	intset_store(is, w, front ? 0 : len, v);
	is->len = (uint32_t)(len + 1);
	return is;
}

bool intset_add(struct intset **isp, int64_t v)
{
	struct intset *is = *isp;
	unsigned char *base;
	size_t pos;

	ASSERT(is->len < INTSET_MAX_LEN);
	if (intset_width_for(v) > is->width) {
		*isp = intset_widen_add(is, v);
		return true;
	}
	if (intset_find(is, v, &pos))
		return false;
	is = intset_reserve(is, (size_t)is->len + 1, is->width);
	base = (unsigned char *)is->data;
	memmove(base + (pos + 1) * is->width, base + pos * is->width,
		((size_t)is->len - pos) * is->width);
	intset_store(is, is->width, pos, v);
	is->len++;
	*isp = is;
	return true;
}

void intset_remove_at(struct intset **isp, size_t i)
{
	struct intset *is = *isp;
	unsigned char *base = (unsigned char *)is->data;
	size_t need;

	ASSERT(i < is->len);
	memmove(base + i * is->width, base + (i + 1) * is->width,
		((size_t)is->len - i - 1) * is->width);
	is->len--;
	/* Give memory back once the slack is worth a realloc. */
	need = intset_bytes_for(is->len, is->width);
	if (mem_usable(is) - need > MAX(need / 4, (size_t)INTSET_SHRINK_SLACK))
		is = mem_realloc(is, need);
	*isp = is;
}

bool intset_remove(struct intset **isp, int64_t v)
{
	size_t pos;

	if (!intset_find(*isp, v, &pos))
		return false;
	intset_remove_at(isp, pos);
	return true;
}
