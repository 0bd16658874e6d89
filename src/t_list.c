/*
 * t_list.c - the quicklist: a list stored as a doubly linked chain of lpack
 * nodes.
 *
 * Why this shape. A plain linked list of elements costs two pointers and an
 * allocation per element; one big lpack costs a memmove of the whole list
 * per push at the head. A chain of bounded lpacks keeps the per-element
 * overhead near the lpack's few bytes while every edit moves at most one
 * node's bytes. Redis 7.0 stores every list this way, and OBJECT ENCODING
 * says "quicklist" for all of them, as here.
 *
 * Invariants (t_list_check() verifies them all):
 *  - no node is empty; an empty list has no node (head == tail == NULL);
 *  - node->count equals lpack_count(node->lp), and the counts add up to
 *    l->len; l->nnodes is the length of the chain; prev/next agree;
 *  - a node of two or more elements is within the list's limit (see
 *    t_list.h); a node of one element may be any size.
 *
 * Keeping nodes within the limit. Before an element goes into an existing
 * node, node_allows() estimates the node's size afterwards as its bytes
 * plus the element plus ELEM_OVERHEAD, an upper bound of what any element
 * costs in an lpack beyond its bytes (tag, length, back-length: at most 10
 * bytes). When the estimate is over, the element goes into a neighbour
 * with room or a new node; an insert in the middle of a full node splits
 * it in two. LSET may grow a node past its limit in place: the node is then
 * split around the replaced element. Deletes only shrink nodes; after a
 * range delete, an insert split or an LSET split, neighbours that fit
 * together are merged again, so that a list which shrank does not keep a
 * long tail of tiny nodes.
 *
 * Positions inside a node are lpack positions (byte offsets), which every
 * lpack change may invalidate: the iterator therefore recomputes its next
 * position from what lpack_delete() returns instead of keeping an old one.
 */
#include "t_list.h"

#include "mem.h"
#include "util.h"

#include <string.h>

/* Upper bound of the lpack bytes an element takes beyond its data. */
#define ELEM_OVERHEAD 11
/* Node byte limit for a positive fill, as Redis's SIZE_SAFETY_LIMIT. */
#define SAFETY_LIMIT 8192
/* Redis clamps fill to this range (FILL_MAX is 2^15 - 1). */
#define FILL_MIN (-5)
#define FILL_MAX 32767

struct t_list_node {
	struct t_list_node *prev;	/* towards the head, NULL for the head */
	struct t_list_node *next;	/* towards the tail, NULL for the tail */
	unsigned char *lp;		/* the elements, owned; never empty */
	size_t count;			/* lpack_count(lp), cached for walks */
};

struct t_list {
	struct t_list_node *head;	/* first node, NULL when empty */
	struct t_list_node *tail;	/* last node, NULL when empty */
	size_t len;			/* elements in all nodes */
	size_t nnodes;			/* nodes in the chain */
	int fill;			/* node limit, clamped (see t_list.h) */
};

/* Byte limits of fill -1 .. -5. */
static const size_t size_limits[] = { 4096, 8192, 16384, 32768, 65536 };

/* Bytes of an empty lpack: what merging two nodes saves. */
static size_t lp_header_bytes(void)
{
	static _Thread_local size_t hdr;

	if (unlikely(!hdr)) {
		unsigned char *lp = lpack_new();

		hdr = lpack_bytes(lp);
		lpack_free(lp);
	}
	return hdr;
}

/* True if a node of count elements and bytes bytes is within l's limit. */
static bool within_limit(const struct t_list *l, size_t count, size_t bytes)
{
	if (count <= 1)
		return true;
	if (l->fill < 0)
		return bytes <= size_limits[-l->fill - 1];
	return count <= (size_t)l->fill && bytes <= SAFETY_LIMIT;
}

/* True if an element of len bytes may be added to node n. */
static bool node_allows(const struct t_list *l, const struct t_list_node *n, size_t len)
{
	return n && within_limit(l, n->count + 1, lpack_bytes(n->lp) + len + ELEM_OVERHEAD);
}

static struct t_list_node *node_new(unsigned char *lp)
{
	struct t_list_node *n = mem_alloc(sizeof(*n));

	n->prev = n->next = NULL;
	n->lp = lp;
	n->count = lpack_count(lp);
	return n;
}

/* Links n into l after at (at == NULL: as the new head). */
static void node_link_after(struct t_list *l, struct t_list_node *at, struct t_list_node *n)
{
	n->prev = at;
	n->next = at ? at->next : l->head;
	if (n->next)
		n->next->prev = n;
	else
		l->tail = n;
	if (at)
		at->next = n;
	else
		l->head = n;
	l->nnodes++;
	l->len += n->count;
}

/* Unlinks n from l and frees it with its elements. */
static void node_unlink_free(struct t_list *l, struct t_list_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	l->nnodes--;
	l->len -= n->count;
	lpack_free(n->lp);
	mem_free(n);
}

/* A new one-element node holding s. */
static struct t_list_node *node_new_with(const char *s, size_t len)
{
	return node_new(lpack_append(lpack_new(), s, len));
}

/* Moves the elements of b (a's next) to the end of a and frees b, if the
 * two fit in one node. Returns true if they were merged. */
static bool node_try_merge(struct t_list *l, struct t_list_node *a, struct t_list_node *b)
{
	struct lpack_val v;
	size_t moved;

	if (!a || !b)
		return false;
	DASSERT(a->next == b);
	if (!within_limit(l, a->count + b->count,
			  lpack_bytes(a->lp) + lpack_bytes(b->lp) - lp_header_bytes()))
		return false;
	moved = 0;
	for (size_t p = lpack_first(b->lp); p != LPACK_END; p = lpack_next(b->lp, p)) {
		lpack_get(b->lp, p, &v);
		a->lp = lpack_append(a->lp, v.p, v.len);
		moved++;
	}
	a->count += moved;
	l->len += moved;	/* node_unlink_free() takes b's count off again */
	node_unlink_free(l, b);
	return true;
}

/* Splits n so that its elements [at, count) move to a new node linked after
 * it; 0 < at < count. Returns the new node. */
static struct t_list_node *node_split(struct t_list *l, struct t_list_node *n, size_t at)
{
	unsigned char *rest;
	struct t_list_node *r;
	size_t moved = n->count - at;

	ASSERT(at > 0 && at < n->count);
	rest = lpack_delete_range(lpack_dup(n->lp), 0, at);
	n->lp = lpack_delete_range(n->lp, (long long)at, moved);
	n->count = at;
	l->len -= moved;	/* node_link_after() adds them back */
	r = node_new(rest);
	node_link_after(l, n, r);
	return r;
}

/* The index, within its lpack, of the element at position pos of n. */
static size_t node_index_of(const struct t_list_node *n, size_t pos)
{
	size_t i = 0;

	for (size_t p = lpack_first(n->lp); p != pos; p = lpack_next(n->lp, p)) {
		ASSERT(p != LPACK_END);
		i++;
	}
	return i;
}

/* Finds the node holding element index (0 <= index < len), walking from the
 * nearer end; *local is the element's index inside that node. */
static struct t_list_node *list_locate(const struct t_list *l, size_t index, size_t *local)
{
	struct t_list_node *n;

	if (index < l->len / 2) {
		for (n = l->head; index >= n->count; n = n->next)
			index -= n->count;
		*local = index;
	} else {
		size_t back = l->len - 1 - index;	/* distance from the tail */

		for (n = l->tail; back >= n->count; n = n->prev)
			back -= n->count;
		*local = n->count - 1 - back;
	}
	return n;
}

/* Converts a Redis-style index (negative from the tail) into 0..len-1;
 * false if out of range. */
static bool list_norm_index(const struct t_list *l, long long index, size_t *out)
{
	if (index < 0) {
		if ((unsigned long long)-(index + 1) >= l->len)
			return false;
		*out = l->len - (size_t)(-(index + 1)) - 1;
		return true;
	}
	if ((unsigned long long)index >= l->len)
		return false;
	*out = (size_t)index;
	return true;
}

/* ---- lifetime ---- */

struct t_list *t_list_new(int fill)
{
	struct t_list *l = mem_alloc(sizeof(*l));

	if (fill < FILL_MIN)
		fill = FILL_MIN;
	if (fill > FILL_MAX)
		fill = FILL_MAX;
	l->head = l->tail = NULL;
	l->len = 0;
	l->nnodes = 0;
	l->fill = fill;
	return l;
}

void t_list_free(struct t_list *l)
{
	struct t_list_node *n, *next;

	if (!l)
		return;
	for (n = l->head; n; n = next) {
		next = n->next;
		lpack_free(n->lp);
		mem_free(n);
	}
	mem_free(l);
}

struct t_list *t_list_dup(const struct t_list *l)
{
	struct t_list *d = t_list_new(l->fill);

	for (const struct t_list_node *n = l->head; n; n = n->next)
		node_link_after(d, d->tail, node_new(lpack_dup(n->lp)));
	return d;
}

size_t t_list_len(const struct t_list *l)
{
	return l->len;
}

size_t t_list_nodes(const struct t_list *l)
{
	return l->nnodes;
}

size_t t_list_mem(const struct t_list *l)
{
	size_t bytes = mem_usable(l);

	for (const struct t_list_node *n = l->head; n; n = n->next)
		bytes += mem_usable(n) + lpack_bytes(n->lp);
	return bytes;
}

/* ---- the ends ---- */

void t_list_push(struct t_list *l, enum t_list_end where, const char *s, size_t len)
{
	struct t_list_node *n = where == T_LIST_HEAD ? l->head : l->tail;

	if (node_allows(l, n, len)) {
		if (where == T_LIST_HEAD)
			n->lp = lpack_prepend(n->lp, s, len);
		else
			n->lp = lpack_append(n->lp, s, len);
		n->count++;
		l->len++;
		return;
	}
	node_link_after(l, where == T_LIST_HEAD ? NULL : l->tail, node_new_with(s, len));
}

bool t_list_peek(const struct t_list *l, enum t_list_end where, struct lpack_val *v)
{
	const struct t_list_node *n = where == T_LIST_HEAD ? l->head : l->tail;

	if (!n)
		return false;
	lpack_get(n->lp, where == T_LIST_HEAD ? lpack_first(n->lp) : lpack_last(n->lp), v);
	return true;
}

size_t t_list_pop(struct t_list *l, enum t_list_end where, size_t n)
{
	size_t done = 0;

	while (done < n && l->len) {
		struct t_list_node *node = where == T_LIST_HEAD ? l->head : l->tail;
		size_t k = n - done;

		if (k >= node->count) {
			done += node->count;
			node_unlink_free(l, node);
			continue;
		}
		node->lp = lpack_delete_range(node->lp, where == T_LIST_HEAD ? 0 : -(long long)k, k);
		node->count -= k;
		l->len -= k;
		done += k;
	}
	return done;
}

/* ---- by index ---- */

bool t_list_index(const struct t_list *l, long long index, struct lpack_val *v)
{
	const struct t_list_node *n;
	size_t i, local;

	if (!list_norm_index(l, index, &i))
		return false;
	n = list_locate(l, i, &local);
	lpack_get(n->lp, lpack_seek(n->lp, (long long)local), v);
	return true;
}

bool t_list_set(struct t_list *l, long long index, const char *s, size_t len)
{
	struct t_list_node *n, *mid;
	size_t i, local, pos;

	if (!list_norm_index(l, index, &i))
		return false;
	n = list_locate(l, i, &local);
	pos = lpack_seek(n->lp, (long long)local);
	n->lp = lpack_replace(n->lp, &pos, s, len);
	if (within_limit(l, n->count, lpack_bytes(n->lp)))
		return true;
	/* Too big now: the replaced element gets a node of its own, between
	 * what came before and after it, and the pieces merge where they
	 * fit. */
	mid = n;
	if (local > 0)
		mid = node_split(l, n, local);
	if (mid->count > 1)
		node_split(l, mid, 1);
	if (!node_try_merge(l, mid->prev, mid))
		node_try_merge(l, mid, mid->next);
	return true;
}

size_t t_list_del_range(struct t_list *l, long long index, size_t count)
{
	struct t_list_node *n, *before;
	size_t i, local, left, done;

	if (!count || !list_norm_index(l, index, &i))
		return 0;
	if (count > l->len - i)
		count = l->len - i;
	n = list_locate(l, i, &local);
	before = n->prev;
	left = count;
	while (left) {
		struct t_list_node *next = n->next;
		size_t k = MIN(n->count - local, left);

		if (k == n->count) {
			node_unlink_free(l, n);
		} else {
			n->lp = lpack_delete_range(n->lp, (long long)local, k);
			n->count -= k;
			l->len -= k;
		}
		left -= k;
		local = 0;
		n = next;
	}
	/* The deletion left at most two partial nodes around the gap, which
	 * are now neighbours: before (or the first surviving node) and the
	 * ones after it. */
	done = count;
	n = before ? before : l->head;
	if (n && node_try_merge(l, n, n->next))
		node_try_merge(l, n, n->next);
	else if (n && n->next)
		node_try_merge(l, n->next, n->next->next);
	return done;
}

/* ---- iteration ---- */

void t_list_iter_init(struct t_list *l, long long index, bool forward, struct t_list_iter *it)
{
	size_t i, local;

	it->l = l;
	it->forward = forward;
	it->cur_node = NULL;
	it->cur_pos = LPACK_END;
	if (!list_norm_index(l, index, &i)) {
		it->node = NULL;
		it->pos = LPACK_END;
		return;
	}
	it->node = list_locate(l, i, &local);
	it->pos = lpack_seek(it->node->lp, (long long)local);
}

/* Places the cursor's next element at position p of n, or when p is
 * LPACK_END, at the first element of the following node in the cursor's
 * direction. */
static void iter_settle(struct t_list_iter *it, struct t_list_node *n, size_t p)
{
	if (p == LPACK_END) {
		n = it->forward ? n->next : n->prev;
		p = !n ? LPACK_END : it->forward ? lpack_first(n->lp) : lpack_last(n->lp);
	}
	it->node = n;
	it->pos = p;
}

bool t_list_iter_next(struct t_list_iter *it, struct lpack_val *v)
{
	struct t_list_node *n = it->node;

	if (!n)
		return false;
	lpack_get(n->lp, it->pos, v);
	it->cur_node = n;
	it->cur_pos = it->pos;
	iter_settle(it, n, it->forward ? lpack_next(n->lp, it->pos) : lpack_prev(n->lp, it->pos));
	return true;
}

bool t_list_iter_eq(const struct t_list_iter *it, const char *s, size_t len)
{
	ASSERT(it->cur_node);
	return lpack_eq(it->cur_node->lp, it->cur_pos, s, len);
}

void t_list_iter_delete(struct t_list_iter *it)
{
	struct t_list_node *n = it->cur_node;
	size_t p = it->cur_pos;

	ASSERT(n);
	it->cur_node = NULL;
	if (n->count == 1) {
		struct t_list_node *follow = it->forward ? n->next : n->prev;

		node_unlink_free(it->l, n);
		it->node = follow;
		it->pos = !follow ? LPACK_END :
			  it->forward ? lpack_first(follow->lp) : lpack_last(follow->lp);
		return;
	}
	n->lp = lpack_delete(n->lp, &p);	/* p: the element after, or END */
	n->count--;
	it->l->len--;
	if (!it->forward)
		p = p == LPACK_END ? lpack_last(n->lp) : lpack_prev(n->lp, p);
	iter_settle(it, n, p);
}

void t_list_iter_insert(struct t_list_iter *it, bool after, const char *s, size_t len)
{
	struct t_list *l = it->l;
	struct t_list_node *n = it->cur_node, *left, *right;
	size_t pos = it->cur_pos, at;
	bool at_tail, at_head;

	ASSERT(n);
	it->node = NULL;	/* the walk ends here (see t_list.h) */
	it->cur_node = NULL;
	if (node_allows(l, n, len)) {
		n->lp = lpack_insert(n->lp, &pos, after, s, len);
		n->count++;
		l->len++;
		return;
	}
	at_tail = after && lpack_next(n->lp, pos) == LPACK_END;
	at_head = !after && lpack_prev(n->lp, pos) == LPACK_END;
	if (at_tail && node_allows(l, n->next, len)) {
		n->next->lp = lpack_prepend(n->next->lp, s, len);
		n->next->count++;
		l->len++;
		return;
	}
	if (at_head && node_allows(l, n->prev, len)) {
		n->prev->lp = lpack_append(n->prev->lp, s, len);
		n->prev->count++;
		l->len++;
		return;
	}
	if (at_tail || at_head) {
		node_link_after(l, at_tail ? n : n->prev, node_new_with(s, len));
		return;
	}
	/* In the middle of a full node: split it at the insertion point and
	 * put the element at the end of the left part, the start of the
	 * right part, or in a node of its own between them. */
	at = node_index_of(n, pos) + (after ? 1 : 0);
	left = n;
	right = node_split(l, n, at);
	if (node_allows(l, left, len)) {
		left->lp = lpack_append(left->lp, s, len);
		left->count++;
		l->len++;
	} else if (node_allows(l, right, len)) {
		right->lp = lpack_prepend(right->lp, s, len);
		right->count++;
		l->len++;
	} else {
		node_link_after(l, left, node_new_with(s, len));
	}
	node_try_merge(l, right, right->next);
	node_try_merge(l, left->prev, left);
}

/* ---- checks ---- */

void t_list_check(const struct t_list *l)
{
	const struct t_list_node *prev = NULL;
	size_t len = 0, nodes = 0;

	ASSERT(l->fill >= FILL_MIN && l->fill <= FILL_MAX);
	ASSERT(!l->head == !l->tail);
	for (const struct t_list_node *n = l->head; n; prev = n, n = n->next) {
		ASSERT(n->prev == prev);
		ASSERT(n->count > 0);
		ASSERT(n->count == lpack_count(n->lp));
		ASSERT(within_limit(l, n->count, lpack_bytes(n->lp)));
		len += n->count;
		nodes++;
	}
	ASSERT(prev == l->tail);
	ASSERT(len == l->len);
	ASSERT(nodes == l->nnodes);
}

/* ---- kv glue ---- */

static void list_ops_free(void *ptr)
{
	t_list_free(ptr);
}

static void *list_ops_dup(const void *ptr)
{
	return t_list_dup(ptr);
}

static const char *list_ops_enc_name(const void *ptr)
{
	(void)ptr;
	return "quicklist";
}

static size_t list_ops_mem(const void *ptr)
{
	return t_list_mem(ptr);
}

const struct kv_type_ops kv_list_ops = {
	.free = list_ops_free,
	.dup = list_ops_dup,
	.enc_name = list_ops_enc_name,
	.mem = list_ops_mem,
};
