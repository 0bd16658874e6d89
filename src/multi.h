/*
 * multi.h - transactions (MULTI, EXEC, DISCARD, WATCH, UNWATCH).
 *
 * Queued commands are copied into the client. EXEC parks every shard its
 * queued commands or its watched keys live on, checks the watches, then runs
 * the queue on the client's thread: no other command runs on those shards in
 * between, so no client sees half a transaction. Large values on disk that
 * queued commands compute on are read first: EXEC waits (polled) until they
 * are all in memory and pinned there, then runs (multi.c, multi_preload).
 *
 * WATCH registers the client's watch state (a small shared object with an
 * atomic "dirty" flag) under each key, in the registry of the key's database
 * on the shard that owns it. kv reports every change of a key through
 * kv_server_hooks.modified, which sets the flag of every watcher of that key,
 * whatever thread made the change (expiry and eviction included). Dropping
 * watches never needs another shard: the client marks its state gone, and
 * each shard's cron sweeps registry entries whose state is gone.
 */
#ifndef STRATA_MULTI_H
#define STRATA_MULTI_H

#include "server.h"

struct client;
struct watch_state;

/* Copies a command into the client's transaction queue. */
void multi_queue(struct client *c, const struct cmd_def *cmd, int argc, const struct cmd_arg *argv);
/* Drops the queue and leaves MULTI state. */
void multi_discard(struct client *c);
/* Drops every watch of the client. */
void multi_unwatch(struct client *c);
/* Shards (bit mask) EXEC of this client must park: its queued commands'
 * keys (all shards for whole-keyspace ones) and its watched keys. */
uint64_t multi_exec_mask(struct client *c);
/* True if a queued command may grow memory (CMD_DENYOOM). */
bool multi_has_denyoom(const struct client *c);
/* Runs EXEC with the shards of multi_exec_mask() parked (or just ours). */
void multi_exec(struct cmd_ctx *ctx);
/* kv_server_hooks: a key changed / every key of a db changed. */
void multi_key_modified(struct kv_db *db, const char *key, size_t klen);
void multi_db_flushed(struct kv_db *db);
/* Cron: frees registry entries of watch states that are gone. */
void multi_sweep(struct shard *sh);
/* Frees the registries of a shard (shutdown). */
void multi_free_all(struct shard *sh);

#endif
