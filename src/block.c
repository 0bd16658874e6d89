/*
 * block.c - waiters on keys, served by re-running their command.
 *
 * Structures, per shard and database:
 *   db->block_reg  a kv_dict of struct bkey: a key with at least one waiter,
 *                  holding the FIFO of links to its waiters.
 *   sh->waiters    every waiter of the shard, for deadlines and cancels.
 * A waiter waits on all the keys of its command, one link per key. When a
 * push calls kv_signal_ready(), the key's bkey is queued on its shard's ready
 * list (once) and the shard's bit is set in the thread's ready mask; after
 * the command finishes, block_serve_ready() re-runs the waiters of each
 * queued key in order until the key can serve no more of them. A re-run that
 * blocks again leaves the waiter where it was, with its original deadline.
 *
 * Serving happens after the pushing command completes, never inside it, so a
 * handler never re-enters another handler.
 */
#include "block.h"
#include "blob.h"
#include "cfg.h"
#include "conn.h"
#include "mem.h"
#include "util.h"

#include <string.h>

struct bkey;

struct wlink {
	struct wlink *next, *prev;	/* the key's FIFO */
	struct waiter *w;
	struct bkey *bk;
};

struct bkey {
	struct dict_node node;		/* in db->block_reg */
	struct wlink *head, *tail;	/* waiters, oldest first */
	struct bkey *ready_next;	/* link in the shard's ready list */
	bool queued;			/* on the ready list */
	struct kv_db *db;
	uint32_t klen;
	char key[];
};

struct waiter {
	struct waiter *next, *prev;	/* sh->waiters */
	const struct cmd_def *cmd;
	int dbid, proto;
	uint32_t ctxflags;
	int argc;
	struct cmd_arg *argv;		/* views into argbuf */
	char *argbuf;
	int64_t deadline;		/* unix ms, 0 = none */
	bool null_array;		/* timeout reply shape */
	int origin;			/* client's shard */
	void *cookie;			/* client's pending segment */
	int nlinks;
	struct wlink links[];
};

/* Shards whose ready list got keys during the running command. */
static _Thread_local uint64_t block_ready_mask;

static void bkey_key(const struct dict_node *n, const char **key, size_t *len)
{
	const struct bkey *bk = (const struct bkey *)n;

	*key = bk->key;
	*len = bk->klen;
}

static const struct dict_ops bkey_ops = { .key = bkey_key };

static struct dict *block_reg(struct kv_db *db)
{
	if (!db->block_reg)
		db->block_reg = dict_create(&bkey_ops);
	return db->block_reg;
}

void block_key_ready(struct kv_db *db, const char *key, size_t klen)
{
	struct shard *owner = &srv.shards[db->owner];
	struct bkey *bk;

	if (!db->block_reg)
		return;
	bk = (struct bkey *)dict_find(db->block_reg, key, klen);
	if (!bk || bk->queued)
		return;
	bk->queued = true;
	bk->ready_next = owner->block_ready;
	owner->block_ready = bk;
	block_ready_mask |= 1ull << owner->id;
}

void block_db_swapped(struct kv_db *db)
{
	struct dict_iter it;
	struct dict_node *n;

	if (!db->block_reg)
		return;
	dict_iter_init(&it, db->block_reg);
	while ((n = dict_iter_next(&it))) {
		struct bkey *bk = (struct bkey *)n;
		struct kv_entry *e = kv_find_raw(db, bk->key, bk->klen);

		if (e && !kv_is_expired(e))
			block_key_ready(db, bk->key, bk->klen);
	}
}

void block_add(struct shard *owner, const struct cmd_def *cmd, int argc,
	       const struct cmd_arg *argv, int dbid, int proto, uint32_t ctxflags,
	       int64_t deadline_ms, bool null_array, int origin, void *cookie)
{
	struct kv_db *db = &owner->dbs[dbid];
	int idx[64], nk = cmd_keys(cmd, argc, argv, idx, 64);
	struct waiter *w;
	size_t total = 0;
	char *p;

	if (nk > 64)
		nk = 64;	/* blocking commands take a handful of keys */
	if (nk < 0)
		nk = 0;
	w = mem_calloc(1, sizeof(*w) + (size_t)nk * sizeof(struct wlink));
	w->cmd = cmd;
	w->dbid = dbid;
	w->proto = proto;
	w->ctxflags = ctxflags & CTX_NO_TOUCH;
	w->deadline = deadline_ms;
	w->null_array = null_array;
	w->origin = origin;
	w->cookie = cookie;
	for (int i = 0; i < argc; i++)
		total += argv[i].len;
	w->argbuf = mem_alloc(total ? total : 1);
	w->argv = mem_alloc((size_t)argc * sizeof(*w->argv));
	w->argc = argc;
	p = w->argbuf;
	for (int i = 0; i < argc; i++) {
		memcpy(p, argv[i].p, argv[i].len);
		w->argv[i].p = p;
		w->argv[i].len = argv[i].len;
		p += argv[i].len;
	}
	for (int i = 0; i < nk; i++) {
		const struct cmd_arg *k = &w->argv[idx[i]];
		struct dict *reg = block_reg(db);
		struct bkey *bk = (struct bkey *)dict_find(reg, k->p, k->len);
		struct wlink *l = &w->links[w->nlinks];
		bool dup = false;

		for (int j = 0; j < w->nlinks; j++)
			dup |= w->links[j].bk == bk && bk;
		if (dup)
			continue;	/* BLPOP k k: wait once per key */
		if (!bk) {
			bk = mem_calloc(1, sizeof(*bk) + k->len);
			bk->db = db;
			bk->klen = (uint32_t)k->len;
			memcpy(bk->key, k->p, k->len);
			dict_insert(reg, &bk->node);
			db->nblock++;
		}
		l->w = w;
		l->bk = bk;
		l->prev = bk->tail;
		if (bk->tail)
			bk->tail->next = l;
		else
			bk->head = l;
		bk->tail = l;
		w->nlinks++;
	}
	w->prev = owner->waiters_tail;
	if (owner->waiters_tail)
		owner->waiters_tail->next = w;
	else
		owner->waiters = w;
	owner->waiters_tail = w;
	owner->nwaiters++;
	shard_block_timer(owner, deadline_ms);
}

static void waiter_free(struct shard *owner, struct waiter *w)
{
	for (int i = 0; i < w->nlinks; i++) {
		struct wlink *l = &w->links[i];
		struct bkey *bk = l->bk;

		if (l->prev)
			l->prev->next = l->next;
		else
			bk->head = l->next;
		if (l->next)
			l->next->prev = l->prev;
		else
			bk->tail = l->prev;
		if (!bk->head && !bk->queued) {
			dict_remove_node(bk->db->block_reg, &bk->node);
			bk->db->nblock--;
			mem_free(bk);
		}
	}
	if (w->prev)
		w->prev->next = w->next;
	else
		owner->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		owner->waiters_tail = w->prev;
	owner->nwaiters--;
	mem_free(w->argbuf);
	mem_free(w->argv);
	mem_free(w);
}

/* Sends a finished waiter's reply to its client, from the thread running
 * now (sh). */
static void block_deliver(struct shard *sh, struct waiter *w, const char *p, size_t len)
{
	if (w->origin == sh->id)
		client_apply_hop_reply(w->cookie, p, len);
	else
		shard_hop_reply(sh, w->origin, w->cookie, p, len);
}

static void block_finish_with(struct shard *sh, struct shard *owner, struct waiter *w,
			      const char *p, size_t len)
{
	block_deliver(sh, w, p, len);
	waiter_free(owner, w);
}

/* Re-runs w on the thread of sh; true if it was served (and freed). */
static bool block_try(struct shard *sh, struct shard *owner, struct waiter *w)
{
	struct sbuf out = { 0 };
	uint32_t flags = w->ctxflags | CTX_RERUN | (owner != sh ? CTX_PARKED : 0);
	struct exec_result res;

	shard_exec(sh, NULL, w->cmd, w->argc, w->argv, w->dbid, w->proto, flags, &out, &res);
	if (res.blocked) {
		sbuf_free(&out);
		return false;
	}
	if (res.prog) {
		/* A reply streaming a large value (a load served it). */
		blob_prog_deliver(sh, w->origin, w->cookie, res.prog);
		waiter_free(owner, w);
		sbuf_free(&out);
		return true;
	}
	block_finish_with(sh, owner, w, out.p, out.len);
	sbuf_free(&out);
	return true;
}

static void block_serve_key(struct shard *sh, struct shard *owner, struct bkey *bk)
{
	bool served = true;

	while (served && bk->head) {
		served = false;
		for (struct wlink *l = bk->head; l; l = l->next) {
			if (block_try(sh, owner, l->w)) {
				served = true;
				break;	/* the list changed: start again */
			}
		}
	}
}

void block_serve_ready(struct shard *sh)
{
	while (block_ready_mask) {
		int i = __builtin_ctzll(block_ready_mask);
		struct shard *owner = &srv.shards[i];

		block_ready_mask &= block_ready_mask - 1;
		while (owner->block_ready) {
			struct bkey *bk = owner->block_ready;

			owner->block_ready = bk->ready_next;
			bk->ready_next = NULL;
			/* Keep it queued while serving: a waiter freed meanwhile
			 * must not free the bkey under us. */
			block_serve_key(sh, owner, bk);
			bk->queued = false;
			if (!bk->head) {
				dict_remove_node(bk->db->block_reg, &bk->node);
				bk->db->nblock--;
				mem_free(bk);
			}
		}
	}
}

/* The reply of a waiter that times out, or is unblocked (as_error: an error
 * reply, counted on owner as the command's failure, as Redis counts it). */
static void block_timeout_reply(struct shard *owner, struct waiter *w, struct sbuf *out,
				bool as_error)
{
	struct resp_w rw = { .b = out, .proto = w->proto,
			     .on_error = shard_count_error, .err_arg = owner };

	if (as_error) {
		resp_w_error(&rw, "-UNBLOCKED client unblocked via CLIENT UNBLOCK");
		owner->cmdstats[cmd_id(w->cmd)].failed++;
	} else if (w->null_array)
		resp_w_null_array(&rw);
	else
		resp_w_null(&rw);
}

int64_t block_expire(struct shard *sh)
{
	int64_t next = 0;
	struct waiter *w = sh->waiters;

	while (w) {
		struct waiter *nw = w->next;

		if (w->deadline && w->deadline <= kv_now_ms) {
			struct sbuf out = { 0 };

			block_timeout_reply(sh, w, &out, false);
			block_finish_with(sh, sh, w, out.p, out.len);
			sbuf_free(&out);
		} else if (w->deadline && (!next || w->deadline < next)) {
			next = w->deadline;
		}
		w = nw;
	}
	return next;
}

static struct waiter *block_find(struct shard *owner, int origin, void *cookie)
{
	for (struct waiter *w = owner->waiters; w; w = w->next)
		if (w->origin == origin && w->cookie == cookie)
			return w;
	return NULL;
}

void block_cancel(struct shard *owner, int origin, void *cookie)
{
	struct waiter *w = block_find(owner, origin, cookie);

	if (w)
		block_finish_with(owner, owner, w, "", 0);
}

bool block_unblock(struct shard *owner, int origin, void *cookie, bool as_error)
{
	struct shard *sh = shard_self;
	struct waiter *w = block_find(owner, origin, cookie);
	struct sbuf out = { 0 };

	if (!w)
		return false;
	block_timeout_reply(owner, w, &out, as_error);
	block_finish_with(sh, owner, w, out.p, out.len);
	sbuf_free(&out);
	return true;
}

void block_free_all(struct shard *sh)
{
	while (sh->waiters)
		waiter_free(sh, sh->waiters);
	for (int d = 0; d < cfg.databases; d++) {
		struct kv_db *db = &sh->dbs[d];

		dict_destroy(db->block_reg, NULL, NULL);
		db->block_reg = NULL;
	}
}
