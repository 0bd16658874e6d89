/*
 * cmd.h - the command table and the context a command runs in.
 *
 * Every command is a struct cmd_def: its name, handler, arity, flags, key
 * positions and the documentation COMMAND INFO / COMMAND DOCS return. Each
 * family (cmd_string.c, cmd_keys.c, cmd_server.c, ...) exports one table
 * terminated by an entry with name == NULL; cmd_init() merges them.
 *
 * Routing contract (what a handler may assume):
 *  - A command with keys whose keys all hash to one shard runs on that
 *    shard's thread. ctx->cl is the client only if that is also the client's
 *    own thread, NULL otherwise: such handlers use only ctx fields.
 *  - A command whose keys span shards, or flagged CMD_ALL_SHARDS, runs on
 *    the client's thread while every other shard it needs is parked
 *    (ctx->flags has CTX_PARKED); then cmd_db() and cmd_shard_db() return
 *    databases of any shard.
 *  - A command without keys and without CMD_ALL_SHARDS runs on the client's
 *    thread with ctx->cl set and must not touch another shard's data.
 * Handlers write exactly one reply (of any shape) through ctx->w.
 */
#ifndef STRATA_CMD_H
#define STRATA_CMD_H

#include "kv.h"
#include "resp_write.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shard;
struct client;

/* An argument: a view into the request buffer, valid during the call. */
struct cmd_arg {
	const char *p;
	size_t len;
};

/* Redis command flags (names as COMMAND INFO prints them). */
#define CMD_WRITE		(1u << 0)	/* write */
#define CMD_READONLY		(1u << 1)	/* readonly */
#define CMD_DENYOOM		(1u << 2)	/* denyoom */
#define CMD_ADMIN		(1u << 3)	/* admin */
#define CMD_PUBSUB		(1u << 4)	/* pubsub */
#define CMD_NOSCRIPT		(1u << 5)	/* noscript */
#define CMD_BLOCKING		(1u << 6)	/* blocking */
#define CMD_LOADING		(1u << 7)	/* loading */
#define CMD_STALE		(1u << 8)	/* stale */
#define CMD_SKIP_MONITOR	(1u << 9)	/* skip_monitor */
#define CMD_SKIP_SLOWLOG	(1u << 10)	/* skip_slowlog */
#define CMD_FAST		(1u << 11)	/* fast */
#define CMD_NO_AUTH		(1u << 12)	/* no_auth: allowed before AUTH */
#define CMD_MAY_REPLICATE	(1u << 13)	/* may_replicate */
#define CMD_NO_MULTI		(1u << 14)	/* no_multi */
#define CMD_MOVABLE_KEYS	(1u << 15)	/* movablekeys */
#define CMD_ALLOW_BUSY		(1u << 16)	/* allow_busy */
#define CMD_NO_MANDATORY_KEYS	(1u << 17)	/* no_mandatory_keys */
#define CMD_FLAG_COUNT		18
/* strata's routing flags (not shown by COMMAND INFO). */
#define CMD_ALL_SHARDS		(1u << 24)	/* needs every shard parked */
#define CMD_CONTAINER		(1u << 25)	/* dispatches on argv[1] to subcmds */
#define CMD_BLOB_BYTES		(1u << 27)	/* computes on a string's bytes: may wait
						 * for a large value to be read (blob.h) */
#define CMD_PARK_KEYS		(1u << 26)	/* runs on the client's thread with its keys'
						 * shards parked, even if only one (WATCH) */

/* ACL categories (names as COMMAND INFO prints them, "@keyspace"...). */
enum {
	ACL_KEYSPACE = 0, ACL_READ, ACL_WRITE, ACL_SET, ACL_SORTEDSET, ACL_LIST,
	ACL_HASH, ACL_STRING, ACL_BITMAP, ACL_HYPERLOGLOG, ACL_GEO, ACL_STREAM,
	ACL_PUBSUB, ACL_ADMIN, ACL_FAST, ACL_SLOW, ACL_BLOCKING, ACL_DANGEROUS,
	ACL_CONNECTION, ACL_TRANSACTION, ACL_SCRIPTING, ACL_NCATS
};
#define ACL(c) (1ull << (c))

struct cmd_ctx;
typedef void cmd_fn(struct cmd_ctx *ctx);

struct cmd_def {
	const char *name;		/* lower case; "get", or "encoding" for a subcommand */
	cmd_fn *fn;			/* handler; NULL for a container */
	int arity;			/* > 0 exactly, < 0 at least -arity args (name included) */
	uint32_t flags;			/* CMD_* */
	int first_key;			/* position of the first key, 0 = no keys */
	int last_key;			/* last key position; negative counts from the end */
	int key_step;			/* step between keys */
	uint64_t acl;			/* ACL(...) categories */
	const char *group;		/* COMMAND DOCS group: "string", "generic", ... */
	const char *since;		/* Redis version that introduced it */
	const char *summary;
	const char *complexity;
	const struct cmd_def *subcmds;	/* CMD_CONTAINER: NULL-terminated table */
	/* For commands whose keys are not a (first, last, step) range
	 * (CMD_MOVABLE_KEYS: ZUNIONSTORE, LMPOP, BLMPOP, SINTERCARD ...): writes
	 * up to cap key indexes into out and returns how many keys there are,
	 * or -1 if argv is malformed (the handler then replies the error). The
	 * legacy triple still describes the keys for COMMAND INFO. */
	int (*getkeys)(int argc, const struct cmd_arg *argv, int *out, int cap);
};

/* Execution context flags. */
#define CTX_PARKED	0x1	/* other shards are parked: any shard's data may be used */
#define CTX_NO_TOUCH	0x2	/* CLIENT NO-TOUCH: reads leave LRU/LFU data alone */
#define CTX_NO_BLOCK	0x4	/* blocking is not possible (MULTI, multi-shard keys):
				 * cmd_block() replies the timeout reply at once */
#define CTX_BLOCKED	0x8	/* set by cmd_block(): no reply was written */
#define CTX_RERUN	0x10	/* a blocked command run again because a key got
				 * ready: a key of the wrong type now means "keep
				 * waiting", not WRONGTYPE (as Redis serves only keys
				 * of the type the client waits for) */

struct cmd_ctx {
	struct shard *sh;		/* shard of the executing thread */
	struct client *cl;		/* the client, or NULL (see routing contract) */
	const struct cmd_def *cmd;	/* the command (the subcommand for containers) */
	int argc;
	const struct cmd_arg *argv;
	int dbid;			/* SELECTed database */
	uint32_t flags;			/* CTX_* */
	struct resp_w *w;		/* where the reply goes */
	uint64_t dirty;			/* keys changed, added to the shard's stat */
	int64_t block_deadline;		/* cmd_block(): unix ms, 0 = forever */
	bool block_null_array;		/* cmd_block(): timeout reply shape */
};

/*
 * Blocking commands (BLPOP, BZPOPMIN, BLMOVE ...). A handler flagged
 * CMD_BLOCKING that finds nothing to serve calls cmd_block() instead of
 * replying. The client then waits; whenever one of the command's keys is
 * signalled ready (kv_signal_ready) the command runs again from the start on
 * the shard owning the keys, and a timeout sends the timeout reply: a null
 * array (RESP2 "*-1", for BLPOP-like commands) when null_array, else a null
 * (BLMOVE, BRPOPLPUSH). deadline_ms is absolute unix ms, 0 for no timeout.
 * Under CTX_NO_BLOCK (inside MULTI, or keys spread over shards) the timeout
 * reply is written at once, as Redis does inside MULTI.
 */
void cmd_block(struct cmd_ctx *ctx, int64_t deadline_ms, bool null_array);
/* Parses a blocking timeout in seconds (a double, >= 0) from argv[i] into an
 * absolute deadline (0 = forever); replies Redis's errors ("timeout is not a
 * float or out of range", "timeout is negative") and returns false. */
bool cmd_arg_timeout(struct cmd_ctx *ctx, int i, int64_t *deadline_ms);

/* Builds the lookup table from every family's table. Call once. */
void cmd_init(void);
/* The command named by name[0..len) (case-insensitive), or NULL. */
const struct cmd_def *cmd_lookup(const char *name, size_t len);
/* The subcommand of a container, or NULL. */
const struct cmd_def *cmd_lookup_sub(const struct cmd_def *c, const char *name, size_t len);
/* Number of commands and subcommands (size of per-shard stats arrays). */
int cmd_count_all(void);
/* Number of top-level commands (COMMAND COUNT). */
int cmd_count_top(void);
/* Dense index of a command or subcommand (for per-shard stats arrays), and
 * back. The tables are const, so the index lives in cmd.c, not the def. */
int cmd_id(const struct cmd_def *c);
const struct cmd_def *cmd_by_id(int id);
/* The container of a subcommand, or NULL for a top-level command. */
const struct cmd_def *cmd_parent(const struct cmd_def *c);
/* Calls fn for every top-level command. */
void cmd_foreach(void (*fn)(const struct cmd_def *c, void *arg), void *arg);
/* "get", or "object|encoding" for a subcommand, into buf. */
const char *cmd_fullname(const struct cmd_def *c, char *buf, size_t cap);

/* Key positions of a call (for routing and COMMAND GETKEYS): writes up to
 * cap argument indexes into out and returns how many keys there are (which
 * may exceed cap), or -1 if the call is malformed for key extraction. */
int cmd_keys(const struct cmd_def *c, int argc, const struct cmd_arg *argv, int *out, int cap);

/* The database holding key in the context's SELECTed db (or dbid for
 * cmd_db_id): the executing shard's, or under CTX_PARKED the owner's. */
struct kv_db *cmd_db(struct cmd_ctx *ctx, const char *key, size_t klen);
struct kv_db *cmd_db_id(struct cmd_ctx *ctx, const char *key, size_t klen, int dbid);
/* For whole-keyspace commands (CMD_ALL_SHARDS): shard count and the db of a
 * shard. */
int cmd_nshards(const struct cmd_ctx *ctx);
struct kv_db *cmd_shard_db(struct cmd_ctx *ctx, int shard, int dbid);
/* Which shard owns a key. */
int cmd_shard_of(const char *key, size_t klen);

/* Replies in Redis's exact words. */
void cmd_reply_arity(struct cmd_ctx *ctx);	/* ERR wrong number of arguments for 'x' command */
void cmd_reply_syntax(struct cmd_ctx *ctx);	/* ERR syntax error */
void cmd_reply_wrongtype(struct cmd_ctx *ctx);	/* WRONGTYPE Operation against a key holding the wrong kind of value */
void cmd_reply_notint(struct cmd_ctx *ctx);	/* ERR value is not an integer or out of range */
void cmd_reply_notfloat(struct cmd_ctx *ctx);	/* ERR value is not a valid float */

/* Redis's index range rule (LRANGE, LTRIM, ZRANGE, ZREMRANGEBYRANK): negative
 * indexes count from the end, start is clamped to 0 and end to len - 1.
 * Returns false if the range is empty. */
static inline bool cmd_range_clamp(long long *start, long long *end, long long len)
{
	if (*start < 0)
		*start += len;
	if (*end < 0)
		*end += len;
	if (*start < 0)
		*start = 0;
	if (*start > *end || *start >= len)
		return false;
	if (*end >= len)
		*end = len - 1;
	return true;
}

/* A HELP reply: the lines as an array of simple strings. */
void cmd_reply_help(struct cmd_ctx *ctx, const char *const *lines, size_t n);

/* Argument helpers. */
static inline bool cmd_arg_is(const struct cmd_ctx *ctx, int i, const char *lit);
/* Parses argv[i] strictly as an integer; on failure replies
 * "value is not an integer or out of range" and returns false. */
bool cmd_arg_ll(struct cmd_ctx *ctx, int i, long long *out);
/* As cmd_arg_ll with a custom error text (passed to resp_w_error). */
bool cmd_arg_ll_msg(struct cmd_ctx *ctx, int i, long long *out, const char *err);

bool strutil_eq_nocase(const char *s, size_t len, const char *lit);
static inline bool cmd_arg_is(const struct cmd_ctx *ctx, int i, const char *lit)
{
	return strutil_eq_nocase(ctx->argv[i].p, ctx->argv[i].len, lit);
}

/* Family tables. The optional families are weak: a family exists once its
 * module is linked in (its table is then non-NULL). */
extern const struct cmd_def cmd_string_defs[];
extern const struct cmd_def cmd_keys_defs[];
extern const struct cmd_def cmd_server_defs[];
extern const struct cmd_def cmd_command_defs[];
extern const struct cmd_def cmd_hash_defs[] __attribute__((weak));
extern const struct cmd_def cmd_list_defs[] __attribute__((weak));
extern const struct cmd_def cmd_set_defs[] __attribute__((weak));
extern const struct cmd_def cmd_zset_defs[] __attribute__((weak));
extern const struct cmd_def cmd_multi_defs[] __attribute__((weak));
extern const struct cmd_def cmd_pubsub_defs[] __attribute__((weak));
extern const struct cmd_def cmd_bit_defs[] __attribute__((weak));
extern const struct cmd_def cmd_acl_defs[] __attribute__((weak));
extern const struct cmd_def cmd_sort_defs[] __attribute__((weak));

#endif
