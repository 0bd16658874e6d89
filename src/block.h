/*
 * block.h - clients blocked on keys (BLPOP, BZPOPMIN, BLMOVE ...).
 *
 * A blocked command is a waiter kept by the shard that owns its keys. When a
 * push signals one of those keys ready, the waiter's command runs again from
 * the start on that shard's data; if it is served, its reply travels to the
 * client's shard like any hop reply (or straight into the client when it
 * lives on the same shard). A waiter also ends at its deadline (the timeout
 * reply), when its client goes away (block_cancel), or through CLIENT
 * UNBLOCK. Waiters on one key are served first come, first served.
 *
 * All functions run on the owner shard's thread, or on a coordinator while
 * the owner is parked.
 */
#ifndef STRATA_BLOCK_H
#define STRATA_BLOCK_H

#include "server.h"

/* Makes a waiter for a command that called cmd_block(): it keeps a copy of
 * the arguments. origin/cookie say where the reply goes (the client's shard
 * and its pending output segment). */
void block_add(struct shard *owner, const struct cmd_def *cmd, int argc,
	       const struct cmd_arg *argv, int dbid, int proto, uint32_t ctxflags,
	       int64_t deadline_ms, bool null_array, int origin, void *cookie);
/* Serves the waiters of keys signalled ready during the command that just
 * ran on sh (its own keys, and under parking those of parked shards). */
void block_serve_ready(struct shard *sh);
/* Ends waiters whose deadline passed; returns the earliest deadline left
 * (0 if none). */
int64_t block_expire(struct shard *sh);
/* Ends the waiter (origin, cookie) of owner with an empty reply (its client
 * is gone); nothing if it was already served. */
void block_cancel(struct shard *owner, int origin, void *cookie);
/* CLIENT UNBLOCK: ends the waiter with its timeout reply, or with an
 * -UNBLOCKED error when as_error; returns false if there is no such waiter. */
bool block_unblock(struct shard *owner, int origin, void *cookie, bool as_error);
/* Frees every waiter of the shard (shutdown). */
void block_free_all(struct shard *sh);
/* The kv_server_hooks.ready implementation. */
void block_key_ready(struct kv_db *db, const char *key, size_t klen);
/* kv_server_hooks.swapped: SWAPDB put other keys in db; those that waiters
 * wait for are ready. */
void block_db_swapped(struct kv_db *db);

#endif
