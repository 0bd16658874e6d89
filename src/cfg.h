/*
 * cfg.h - the configuration table: one entry per option, read from a file in
 * redis.conf syntax, overridden from the command line, and read and changed
 * at run time by CONFIG GET / CONFIG SET.
 *
 * The live values are the fields of the global `cfg`. Shard threads read them
 * without locks; CONFIG SET runs only while every other shard is parked (see
 * shard.h), so a change is never seen half-made.
 *
 * File syntax: one option per line, "name arg [arg ...]", '#' starts a comment
 * line, arguments may be quoted as in redis.conf ("..." with escapes or
 * '...'). Sizes accept Redis's units: 1k=1000, 1kb=1024, m/mb, g/gb, case
 * insensitive. Booleans are yes/no. Names are case insensitive. Later lines
 * override earlier ones; command-line "--name value ..." pairs override the
 * file. The exception is `save`, whose lines add up within one load, as in
 * Redis.
 *
 * "user <name> <rule> ..." lines declare ACL users, as in redis.conf: they
 * are no option of the table but are handed to acl_config_user_add(), which
 * checks them at once; main creates the users once ACLs are set up.
 */
#ifndef STRATA_CFG_H
#define STRATA_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum maxmemory_policy {
	MAXMEM_NOEVICTION = 0,
	MAXMEM_ALLKEYS_LRU,
	MAXMEM_ALLKEYS_LFU,
	MAXMEM_ALLKEYS_RANDOM,
	MAXMEM_VOLATILE_LRU,
	MAXMEM_VOLATILE_LFU,
	MAXMEM_VOLATILE_RANDOM,
	MAXMEM_VOLATILE_TTL,
};

enum blob_fsync { BLOB_FSYNC_NO = 0, BLOB_FSYNC_EVERYSEC, BLOB_FSYNC_ALWAYS };
enum acl_pubsub_default { ACL_PUBSUB_RESETCHANNELS = 0, ACL_PUBSUB_ALLCHANNELS };
#define CFG_LATENCY_PCTS_MAX 64	/* latency-tracking-info-percentiles entries */
enum { COBL_NORMAL = 0, COBL_REPLICA = 1, COBL_PUBSUB = 2 };
/* tls-auth-clients: a client certificate is required, not asked for, or
 * checked only when the client gives one. */
enum tls_auth { TLS_AUTH_NO = 0, TLS_AUTH_YES, TLS_AUTH_OPTIONAL };

struct strata_cfg {
	/* network */
	char *bind;			/* space-separated addresses; "127.0.0.1 -::1" */
	int port;			/* 6379; 0 disables the TCP listener */
	int tcp_backlog;		/* 511 */
	int tcp_keepalive;		/* 300 seconds; 0 off */
	int timeout;			/* idle client timeout, seconds; 0 off */
	int maxclients;			/* 10000 */
	bool protected_mode;		/* yes */
	/* TLS (tls.c), with Redis's names and meanings; "" = not set */
	int tls_port;			/* 0 = no TLS listener (immutable) */
	char *tls_cert_file;		/* server certificate (chain), PEM */
	char *tls_key_file;		/* its private key, PEM, unencrypted */
	char *tls_ca_cert_file;		/* CAs trusted for client certificates */
	char *tls_ca_cert_dir;		/* or a directory of them (c_rehash) */
	int tls_auth_clients;		/* enum tls_auth; yes */
	char *tls_protocols;		/* e.g. "TLSv1.2 TLSv1.3"; "" = those two */
	char *tls_ciphers;		/* TLSv1.2 and older; "" = OpenSSL's default */
	char *tls_ciphersuites;		/* TLSv1.3; "" = OpenSSL's default */
	bool tls_prefer_server_ciphers;	/* no: the client's order wins */
	/* threads */
	int shards;			/* 0 = online CPUs */
	int io_uring_entries;		/* 1024: submission queue size per shard */
	/* general */
	int databases;			/* 16 (immutable) */
	char *dir;			/* "./" working dir for data files */
	char *logfile;			/* "" = stdout */
	int loglevel;			/* enum log_level; notice */
	char *pidfile;			/* "" = none */
	int hz;				/* 10: cron frequency per shard, 1..500 */
	int active_expire_effort;	/* 1..10 */
	char *requirepass;		/* "" = no password; may hold NUL bytes */
	size_t requirepass_len;		/* its length */
	char *aclfile;			/* "" = none: ACL LOAD/SAVE file (immutable) */
	int acl_pubsub_default;		/* enum acl_pubsub_default: channels of new users */
	int acllog_max_len;		/* 128: ACL LOG entries kept */
	bool always_show_logo;		/* no: the start-up banner even when not on a tty */
	/* limits */
	long long proto_max_bulk_len;	/* 512mb */
	long long client_query_buffer_limit; /* 1gb */
	long long maxmemory;		/* 0 = unlimited */
	/* maxmemory-clients: total memory of the clients over which the
	 * largest are disconnected; text "0", bytes or "N%" of maxmemory */
	char *maxmemory_clients_text;
	long long maxmemory_clients;	/* bytes, -N for N%, 0 = no limit */
	int maxmemory_policy;		/* enum maxmemory_policy */
	int maxmemory_samples;		/* 5 */
	int lfu_log_factor;		/* 10 */
	int lfu_decay_time;		/* 1 minute */
	int lazyfree_lazy_user_del;	/* no: kept for CONFIG GET compatibility */
	/* blob tier */
	long long blob_threshold;	/* 64kb */
	long long blob_block_size;	/* 4096 */
	int blob_fsync;			/* enum blob_fsync; everysec */
	long long blob_max_bytes;	/* 0 = unlimited */
	long long blob_stream_buffer;	/* read-ahead per large value being sent: 2mb */
	/* client-output-buffer-limit: text, and per class (normal, replica,
	 * pubsub) hard bytes, soft bytes, soft seconds; 0 = no limit */
	char *client_output_buffer_limit;
	long long cobl[3][3];
	/* encodings of the data types (Redis names; the *-ziplist-* spellings
	 * are aliases of the *-listpack-* ones) */
	int hash_max_listpack_entries;	/* 512 */
	long long hash_max_listpack_value; /* 64 */
	int set_max_intset_entries;	/* 512 */
	int zset_max_listpack_entries;	/* 128 */
	long long zset_max_listpack_value; /* 64 */
	int list_max_listpack_size;	/* -2: nodes of at most 8 KiB; > 0: entries */
	int list_compress_depth;	/* 0: stored, not acted on */
	/* accepted for compatibility with Redis clients and tests: stored and
	 * returned by CONFIG GET, with no effect on strata */
	char *save;			/* "": snapshot rules, "secs changes ..." */
	bool appendonly;		/* no */
	bool daemonize;			/* no; "yes" is refused */
	bool set_proc_title;		/* yes (immutable) */
	bool lazyfree_lazy_expire;	/* no */
	bool lazyfree_lazy_eviction;	/* no */
	bool lazyfree_lazy_server_del;	/* no */
	bool latency_tracking;		/* yes: per-command latency histograms */
	/* latency-tracking-info-percentiles: text ("50 99 99.9"), and parsed */
	char *latency_tracking_info_percentiles;
	double latency_pcts[CFG_LATENCY_PCTS_MAX];
	int nlatency_pcts;
};

extern struct strata_cfg cfg;

/* Sets every field to its default (freeing strings a previous load set) and
 * runs the apply hooks (log level, log to stdout). Call before loading. */
void cfg_init_defaults(void);
/* Frees the strings the table owns and sets those fields to NULL; for a
 * clean exit. cfg_init_defaults() makes the table usable again. */
void cfg_free(void);
/* Reads a config file. On error returns -1 and sets *err to a message
 * ("line N: ...") that the caller frees with mem_free(). The message reads
 * "line N: >>> '<line>': <reason>" with Redis's reasons ("Bad directive or
 * wrong number of arguments", "argument must be a memory value", ...); a line
 * of an included file reads "line N (<path>): ..."; a file that cannot be
 * read gives "can't open config file '<path>': <strerror>". Lines before the
 * bad one stay applied: the caller is expected to exit. */
int cfg_load_file(const char *path, char **err);
/* Applies config text (same syntax as a file; used for tests and for the
 * command line, which is joined into lines "name args..."). */
int cfg_load_string(const char *text, char **err);
/* Applies argv[i..argc) of "strata-server [file] --name value ... " after
 * the optional file name: each --name starts a new line. The caller passes
 * only those words (argc - i, argv + i); a word before the first --name is
 * an error. Errors read "line N: ..." with N counting the --name options. */
int cfg_load_args(int argc, char **argv, char **err);

/* CONFIG SET of one option at run time. Returns 0, or -1 with *err set to
 * the reply text after "ERR " (caller frees with mem_free()). Immutable
 * options refuse. */
int cfg_set(const char *name, const char *value, char **err);
/* CONFIG SET name value [name value ...]: all or nothing (a failure restores
 * the values already changed). */
int cfg_set_many(int npairs, const char *const *names, const char *const *values, char **err);
/* The same with the length of each value (NUL-terminated all the same), for
 * CONFIG SET: a binary-safe option (requirepass) keeps NUL bytes inside its
 * value; the others end at the first NUL. */
int cfg_set_many_len(int npairs, const char *const *names, const char *const *values,
		     const size_t *lens, char **err);
/* Calls fn for every option whose name matches the glob pattern
 * (case-insensitive), with its current value as text and its length (NULs
 * inside only for requirepass). Each option once. */
void cfg_get(const char *pattern,
	     void (*fn)(const char *name, const char *value, size_t vlen, void *arg), void *arg);
/* CONFIG REWRITE of the config file at path (see cfg.c). Returns 0, or -1
 * with *err (mem_free) "Rewriting config file: <strerror>"; the old file is
 * then untouched. Call with the other shards parked (it reads the users). */
int cfg_rewrite(const char *path, char **err);
/* The text of one option into buf; returns false if unknown. */
bool cfg_get_one(const char *name, char *buf, size_t cap);

/* Called when maxclients changes at run time (CONFIG SET), NULL until the
 * server sets it: returns 0, or -1 with a reason when the new value cannot
 * be served (the set is then undone). */
extern int (*cfg_maxclients_hook)(char *reason, size_t cap);

/* Name of a maxmemory policy, e.g. "allkeys-lru". */
const char *cfg_policy_name(int policy);

#endif
