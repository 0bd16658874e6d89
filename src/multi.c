/*
 * multi.c - MULTI, EXEC, DISCARD, WATCH, UNWATCH.
 *
 * Watch registry, per database: a kv_dict of struct wkey (a watched key)
 * each holding a list of entries, one per watching client, pointing at that
 * client's struct watch_state. A watch state is shared between its client
 * and the registry entries that point at it, and counted: the client holds
 * one reference, every entry one more; whoever drops the last frees it. Its
 * flags are atomics because they are written by the shard that changes a
 * key and read by the client's thread:
 *   dirty  a watched key changed: EXEC must fail;
 *   gone   the client no longer watches through this state (UNWATCH, EXEC,
 *          DISCARD, disconnect): its entries are dead and swept by the
 *          owning shard's cron, or dropped when met.
 * Registration (WATCH) runs with the keys' shards parked, so it may touch
 * their registries; nothing else ever touches another shard's registry.
 */
#include "multi.h"
#include "conn.h"
#include "acl.h"
#include "cfg.h"
#include "block.h"
#include "blob.h"
#include "mem.h"
#include "strutil.h"
#include "util.h"

#include <string.h>

struct watch_state {
	_Atomic int dirty;
	_Atomic int gone;
	_Atomic int refs;
};

struct wentry {
	struct wentry *next;
	struct watch_state *ws;		/* one reference */
	bool expired;			/* the key was logically expired at WATCH: its
					 * removal by expiry is no change (as Redis) */
};

struct wkey {
	struct dict_node node;		/* in db->watch_reg */
	struct wentry *head;
	uint32_t klen;
	char key[];
};

struct mq_cmd {
	const struct cmd_def *cmd;
	int argc;
	struct cmd_arg *argv;		/* views into buf */
	char *buf;
};

static void wkey_key(const struct dict_node *n, const char **key, size_t *len)
{
	const struct wkey *wk = (const struct wkey *)n;

	*key = wk->key;
	*len = wk->klen;
}

static const struct dict_ops wkey_ops = { .key = wkey_key };

static void ws_put(struct watch_state *ws)
{
	if (atomic_fetch_sub(&ws->refs, 1) == 1)
		mem_free(ws);
}

/* --- the queue --- */

void multi_queue(struct client *c, const struct cmd_def *cmd, int argc, const struct cmd_arg *argv)
{
	struct mq_cmd *q;
	size_t total = 0;
	char *p;

	if (c->nmq == c->capmq) {
		c->multi_mem -= mem_usable(c->mq);
		c->capmq = c->capmq ? c->capmq * 2 : 8;
		c->mq = mem_realloc(c->mq, (size_t)c->capmq * sizeof(*c->mq));
		c->multi_mem += mem_usable(c->mq);
	}
	q = &c->mq[c->nmq++];
	q->cmd = cmd;
	q->argc = argc;
	for (int i = 0; i < argc; i++)
		total += argv[i].len;
	q->buf = mem_alloc(total ? total : 1);
	q->argv = mem_alloc((size_t)argc * sizeof(*q->argv));
	p = q->buf;
	for (int i = 0; i < argc; i++) {
		memcpy(p, argv[i].p, argv[i].len);
		q->argv[i].p = p;
		q->argv[i].len = argv[i].len;
		p += argv[i].len;
	}
	/* Counted toward the client's memory (maxmemory-clients). */
	c->multi_mem += mem_usable(q->buf) + mem_usable(q->argv);
}

/* Gives back the values EXEC pinned (multi_preload). */
static void multi_unpin(struct client *c)
{
	for (int i = 0; i < c->npins; i++)
		blob_unpin(c->sh, c->pins[i]);
	mem_free(c->pins);
	c->pins = NULL;
	c->npins = 0;
}

void multi_discard(struct client *c)
{
	multi_unpin(c);
	c->load_rounds = 0;
	for (int i = 0; i < c->nmq; i++) {
		mem_free(c->mq[i].buf);
		mem_free(c->mq[i].argv);
	}
	mem_free(c->mq);
	c->mq = NULL;
	c->nmq = c->capmq = 0;
	c->multi_mem = 0;
	c->flags &= ~(CL_MULTI | CL_MULTI_ERR);
}

/* --- watches --- */

void multi_unwatch(struct client *c)
{
	if (!c->ws)
		return;
	atomic_store(&c->ws->gone, 1);
	ws_put(c->ws);
	c->ws = NULL;
	c->watch_mask = 0;
}

static void multi_watch_key(struct kv_db *db, const char *key, size_t klen, struct watch_state *ws)
{
	struct kv_entry *ke = kv_find_raw(db, key, klen);
	struct wkey *wk;

	if (!db->watch_reg)
		db->watch_reg = dict_create(&wkey_ops);
	wk = (struct wkey *)dict_find(db->watch_reg, key, klen);
	if (!wk) {
		wk = mem_calloc(1, sizeof(*wk) + klen);
		wk->klen = (uint32_t)klen;
		memcpy(wk->key, key, klen);
		dict_insert(db->watch_reg, &wk->node);
		db->nwatch++;
	}
	for (struct wentry *e = wk->head; e; e = e->next)
		if (e->ws == ws)
			return;	/* already watched by this client */
	{
		struct wentry *e = mem_alloc(sizeof(*e));

		atomic_fetch_add(&ws->refs, 1);
		e->ws = ws;
		e->expired = ke && kv_is_expired(ke);
		e->next = wk->head;
		wk->head = e;
	}
}

/* Drops the entries of watch states that are gone; true if none is left. */
static bool wkey_drop_dead(struct wkey *wk)
{
	struct wentry **pe = &wk->head;

	while (*pe) {
		struct wentry *e = *pe;

		if (atomic_load(&e->ws->gone)) {
			*pe = e->next;
			ws_put(e->ws);
			mem_free(e);
		} else {
			pe = &e->next;
		}
	}
	return !wk->head;
}

/* Drops the dead entries of wk; frees wk if none is left (returns true). */
static bool wkey_prune(struct kv_db *db, struct wkey *wk)
{
	if (!wkey_drop_dead(wk))
		return false;
	dict_remove_node(db->watch_reg, &wk->node);
	db->nwatch--;
	mem_free(wk);
	return true;
}

static void wkey_touch(struct kv_db *db, struct wkey *wk)
{
	struct kv_entry *ke = kv_find_raw(db, wk->key, wk->klen);

	for (struct wentry *e = wk->head; e; e = e->next) {
		if (e->expired) {
			/* Watched while already expired: the key going away now
			 * (it is still there, expired, when kv calls us) changes
			 * nothing; anything after that does. */
			e->expired = false;
			if (!ke || kv_is_expired(ke))
				continue;
		}
		atomic_store(&e->ws->dirty, 1);
	}
	wkey_prune(db, wk);
}

void multi_key_modified(struct kv_db *db, const char *key, size_t klen)
{
	struct wkey *wk;

	if (!db->watch_reg)
		return;
	wk = (struct wkey *)dict_find(db->watch_reg, key, klen);
	if (wk)
		wkey_touch(db, wk);
}

/* FLUSHDB, FLUSHALL, SWAPDB: the watched keys that exist in db change. */
void multi_db_flushed(struct kv_db *db)
{
	struct dict_iter it;
	struct dict_node *n;

	if (!db->watch_reg)
		return;
	dict_iter_init(&it, db->watch_reg);
	while ((n = dict_iter_next(&it))) {
		struct wkey *wk = (struct wkey *)n;
		struct kv_entry *e = kv_find_raw(db, wk->key, wk->klen);

		if (e && !kv_is_expired(e))
			for (struct wentry *we = wk->head; we; we = we->next)
				atomic_store(&we->ws->dirty, 1);
	}
}

void multi_sweep(struct shard *sh)
{
	for (int d = 0; d < cfg.databases; d++) {
		struct kv_db *db = &sh->dbs[d];
		struct dict_iter it;
		struct dict_node *n;

		if (!db->nwatch)
			continue;
		dict_iter_init(&it, db->watch_reg);
		while ((n = dict_iter_next(&it))) {
			struct wkey *wk = (struct wkey *)n;

			if (wkey_drop_dead(wk)) {
				dict_iter_remove_current(&it);
				db->nwatch--;
				mem_free(wk);
			}
		}
	}
}

static void wkey_free(struct dict_node *n, void *arg)
{
	struct wkey *wk = (struct wkey *)n;

	(void)arg;
	while (wk->head) {
		struct wentry *e = wk->head;

		wk->head = e->next;
		ws_put(e->ws);
		mem_free(e);
	}
	mem_free(wk);
}

void multi_free_all(struct shard *sh)
{
	for (int d = 0; d < cfg.databases; d++) {
		dict_destroy(sh->dbs[d].watch_reg, wkey_free, NULL);
		sh->dbs[d].watch_reg = NULL;
		sh->dbs[d].nwatch = 0;
	}
}

/* --- EXEC --- */

static uint64_t all_shards(void)
{
	return srv.nshards >= 64 ? ~0ull : (1ull << srv.nshards) - 1;
}

bool multi_has_denyoom(const struct client *c)
{
	for (int i = 0; i < c->nmq; i++)
		if (c->mq[i].cmd->flags & CMD_DENYOOM)
			return true;
	return false;
}

uint64_t multi_exec_mask(struct client *c)
{
	uint64_t mask = c->watch_mask;

	for (int i = 0; i < c->nmq; i++) {
		const struct mq_cmd *q = &c->mq[i];
		int idx[64], n;

		if (q->cmd->flags & CMD_ALL_SHARDS)
			return all_shards();
		n = cmd_keys(q->cmd, q->argc, q->argv, idx, 64);
		if (n > 64)
			return all_shards();	/* many keys: simply park everyone */
		for (int k = 0; k < n; k++)
			mask |= 1ull << shard_of_key(q->argv[idx[k]].p, q->argv[idx[k]].len);
	}
	return mask;
}

/*
 * Large values a transaction computes on. A command flagged CMD_BLOB_BYTES
 * needs the bytes of a large value in memory and waits for them outside
 * MULTI; inside EXEC nothing may wait. So before EXEC runs its queue, every
 * key of every such queued command is looked up (with the shards of all the
 * queue's keys parked, or on our own shard) and each large value found is
 * pinned (blob_pin), its read started if its bytes are on disk. If one is
 * not in memory yet, EXEC blocks and is polled like a command over several
 * shards: it runs again from the start, watches included, and pins again.
 * The pins of the previous round are given back only after the new round
 * took its own, so bytes that came in stay in memory until the transaction
 * ran: the cron and the end of a spill leave pinned bytes alone. A key
 * deleted or overwritten meanwhile is simply looked up again; a read never
 * changes a key, so WATCH does not see it.
 *
 * The keys are those of the command table, so a command's destination
 * (COPY's, BITOP's) is read too when it is large: harmless, it is only
 * read. A value the transaction itself moves under a key (RENAME, MOVE,
 * SWAPDB before an APPEND to the new name) is not known in advance and still
 * gets blob_need_bytes()'s error, as does a value whose read keeps failing:
 * after MULTI_LOAD_ROUNDS rounds that had to start a read, EXEC stops
 * waiting and runs.
 */
#define MULTI_LOAD_ROUNDS 8

/* The db a queued SELECT moves the rest of the queue to, or dbid. */
static int multi_select_db(const struct mq_cmd *q, int dbid)
{
	long long id;

	if (strcmp(q->cmd->name, "select") || q->argc != 2 ||
	    !strutil_to_ll(q->argv[1].p, q->argv[1].len, &id) || id < 0 || id >= cfg.databases)
		return dbid;
	return (int)id;
}

/* Pins the large values the queue computes on; true when all their bytes
 * are in memory (or EXEC gave up waiting), false when EXEC must wait. */
static bool multi_preload(struct cmd_ctx *ctx)
{
	struct client *c = ctx->cl;
	struct blob_val **old = c->pins;
	int nold = c->npins, cap = 0, dbid = c->dbid;
	bool ready = true, started = false;

	c->pins = NULL;
	c->npins = 0;
	for (int i = 0; i < c->nmq; i++) {
		const struct mq_cmd *q = &c->mq[i];
		int idx[64], n;

		dbid = multi_select_db(q, dbid);
		if (!(q->cmd->flags & CMD_BLOB_BYTES))
			continue;
		n = cmd_keys(q->cmd, q->argc, q->argv, idx, 64);
		for (int k = 0; k < MIN(n, 64); k++) {
			const struct cmd_arg *key = &q->argv[idx[k]];
			struct kv_db *db = cmd_db_id(ctx, key->p, key->len, dbid);
			struct kv_entry *e = kv_find_raw(db, key->p, key->len);
			enum blob_pin_state st;

			if (!e || e->type != KV_STRING || e->enc != KV_ENC_BLOB || kv_is_expired(e))
				continue;
			if (c->npins == cap) {
				cap = cap ? cap * 2 : 8;
				c->pins = mem_realloc(c->pins, (size_t)cap * sizeof(*c->pins));
			}
			c->pins[c->npins++] = blob_pin(ctx->sh, db, e, &st);
			ready &= st == BLOB_PIN_READY;
			started |= st == BLOB_PIN_STARTED;
		}
	}
	for (int i = 0; i < nold; i++)
		blob_unpin(ctx->sh, old[i]);
	mem_free(old);
	if (ready || (ctx->flags & CTX_NO_BLOCK))
		return true;
	if (started && ++c->load_rounds > MULTI_LOAD_ROUNDS)
		return true;	/* the commands answer the error */
	return false;
}

void multi_exec(struct cmd_ctx *ctx)
{
	struct client *c = ctx->cl;
	uint32_t flags = (ctx->flags & (CTX_PARKED | CTX_NO_TOUCH)) | CTX_NO_BLOCK;

	if (!(c->flags & CL_MULTI)) {
		resp_w_error(ctx->w, "EXEC without MULTI");
		return;
	}
	if (c->flags & CL_MULTI_ERR) {
		resp_w_error(ctx->w, "-EXECABORT Transaction discarded because of previous errors.");
		multi_discard(c);
		multi_unwatch(c);
		return;
	}
	/* Every shard holding a watched key is parked (or is ours): no change
	 * can slip in between this check and the commands below. */
	if (c->ws && atomic_load(&c->ws->dirty)) {
		resp_w_null_array(ctx->w);
		multi_discard(c);
		multi_unwatch(c);
		return;
	}
	if (!multi_preload(ctx)) {
		/* No reply: EXEC runs again once the bytes are in (polled). */
		cmd_block(ctx, 0, false);
		return;
	}
	multi_unwatch(c);
	resp_w_array(ctx->w, (size_t)c->nmq);
	for (int i = 0; i < c->nmq; i++) {
		struct mq_cmd *q = &c->mq[i];
		int bad = 0, res = acl_check(c->user, q->cmd, q->argc, q->argv, &bad);

		if (res != ACL_OK) {
			char name[160];

			if (res == ACL_DENIED_CMD)
				cmd_fullname(q->cmd, name, sizeof(name));
			client_acl_log(c, res, ACL_LOG_MULTI, NULL, 0,
				       res == ACL_DENIED_CMD ? name : q->argv[bad].p,
				       res == ACL_DENIED_CMD ? strlen(name) : q->argv[bad].len);
			resp_w_errorf(ctx->w, "-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: %s",
				      res == ACL_DENIED_CMD ? "no permission to execute the command or subcommand" : res == ACL_DENIED_KEY ? "no permission to touch the specified keys" : "no permission to access one of the channels used as arguments");
			continue;
		}
		shard_exec(ctx->sh, c, q->cmd, q->argc, q->argv, c->dbid, c->proto, flags,
			   ctx->w->b, NULL);
		ctx->w->proto = c->proto;	/* HELLO inside MULTI */
	}
	multi_discard(c);
}

/* --- the commands --- */

static void multi_cmd(struct cmd_ctx *ctx)
{
	if (ctx->cl->flags & CL_MULTI) {
		resp_w_error(ctx->w, "MULTI calls can not be nested");
		return;
	}
	ctx->cl->flags |= CL_MULTI;
	resp_w_ok(ctx->w);
}

static void exec_cmd(struct cmd_ctx *ctx)
{
	multi_exec(ctx);
}

static void discard_cmd(struct cmd_ctx *ctx)
{
	if (!(ctx->cl->flags & CL_MULTI)) {
		resp_w_error(ctx->w, "DISCARD without MULTI");
		return;
	}
	multi_discard(ctx->cl);
	multi_unwatch(ctx->cl);
	resp_w_ok(ctx->w);
}

static void watch_cmd(struct cmd_ctx *ctx)
{
	struct client *c = ctx->cl;

	if (c->flags & CL_MULTI) {
		resp_w_error(ctx->w, "WATCH inside MULTI is not allowed");
		return;
	}
	if (!c->ws) {
		c->ws = mem_calloc(1, sizeof(*c->ws));
		atomic_store(&c->ws->refs, 1);
	}
	for (int i = 1; i < ctx->argc; i++) {
		const struct cmd_arg *k = &ctx->argv[i];

		multi_watch_key(cmd_db(ctx, k->p, k->len), k->p, k->len, c->ws);
		c->watch_mask |= 1ull << shard_of_key(k->p, k->len);
	}
	resp_w_ok(ctx->w);
}

static void unwatch_cmd(struct cmd_ctx *ctx)
{
	multi_unwatch(ctx->cl);
	resp_w_ok(ctx->w);
}

#define TX_ACL (ACL(ACL_FAST) | ACL(ACL_TRANSACTION))
#define TX_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY)

const struct cmd_def cmd_multi_defs[] = {
	{ "discard", discard_cmd, 1, TX_FLAGS, 0, 0, 0, TX_ACL,
	  "transactions", "2.0.0", "Discards a transaction.",
	  "O(N), when N is the number of queued commands", NULL },
	{ "exec", exec_cmd, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_SKIP_SLOWLOG, 0, 0, 0,
	  ACL(ACL_SLOW) | ACL(ACL_TRANSACTION),
	  "transactions", "1.2.0", "Executes all commands in a transaction.",
	  "Depends on commands in the transaction", NULL },
	{ "multi", multi_cmd, 1, TX_FLAGS, 0, 0, 0, TX_ACL,
	  "transactions", "1.2.0", "Starts a transaction.", "O(1)", NULL },
	{ "unwatch", unwatch_cmd, 1, TX_FLAGS, 0, 0, 0, TX_ACL,
	  "transactions", "2.2.0", "Forgets about watched keys of a transaction.", "O(1)", NULL },
	{ "watch", watch_cmd, -2, TX_FLAGS | CMD_PARK_KEYS, 1, -1, 1, TX_ACL,
	  "transactions", "2.2.0", "Monitors changes to keys to determine the execution of a transaction.",
	  "O(1) for every key.", NULL },
	{ NULL },
};
