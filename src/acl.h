/*
 * acl.h - users and what each may run: Redis 7.0 ACLs.
 *
 * A user has a name, an on/off switch, a set of passwords (kept as SHA-256
 * digests) or "nopass", and one set of rules: the commands it may run (a bit
 * per command and subcommand, plus "first arguments" allowed for an
 * otherwise denied command), the key patterns it may touch (each for
 * reading, writing or both) and the Pub/Sub channel patterns it may use.
 * Rules are written as Redis writes them ("on >secret ~app:* +@read"); see
 * acl_setuser().
 *
 * The user "default" always exists. At acl_init() it is "on nopass ~* &*
 * +@all", or, if cfg.requirepass is set, has that password instead of
 * nopass; acl_set_requirepass() keeps it in step with CONFIG SET
 * requirepass. acl_default_user() returns the same struct for the life of
 * the process (ACL LOAD rewrites it in place).
 *
 * Threads. The users are global. They are changed only by commands flagged
 * CMD_ALL_SHARDS (ACL SETUSER, DELUSER, LOAD, CONFIG SET requirepass), which
 * run while every other shard is parked, and by acl_init()/acl_load_file()
 * before the shards start. So readers (acl_check, acl_authenticate, ACL
 * GETUSER ...) take no lock. The only field touched concurrently is a
 * user's reference count, which is atomic.
 *
 * Lifetime. A client keeps a pointer to its user: it takes a reference with
 * acl_user_hold() when it stores the pointer and drops it with
 * acl_user_release() when it lets go (AUTH as someone else, RESET, client
 * freed). A deleted user (ACL DELUSER, or every user but "default" on ACL
 * LOAD) leaves the table at once, acl_on_user_changed(u, true) is called so
 * that its clients are disconnected, and the struct is freed when its last
 * reference goes. Until then the struct stays valid and keeps its last
 * rules, so a client killed asynchronously can still be checked against it.
 */
#ifndef STRATA_ACL_H
#define STRATA_ACL_H

#include <stdbool.h>
#include <stddef.h>

struct cmd_def;
struct cmd_arg;
struct resp_w;
struct acl_user;

/* Results of acl_check(). */
#define ACL_OK			0
#define ACL_DENIED_CMD		1	/* the command (or subcommand) is not allowed */
#define ACL_DENIED_KEY		2	/* a key matches no pattern with the access needed */
#define ACL_DENIED_CHANNEL	3	/* a channel matches no channel pattern */
#define ACL_DENIED_AUTH		4	/* ACL LOG only: a failed AUTH or HELLO AUTH */

/* Where a refusal happened, for ACL LOG. */
#define ACL_LOG_TOPLEVEL	0	/* a command sent by the client */
#define ACL_LOG_MULTI		1	/* queued in, or run by, a transaction */

/*
 * Creates the users table with the default user (see above); calls
 * cmd_init() first, since command rules are bitmaps over the command
 * table. Idempotent and thread-safe; the entry points below call it
 * themselves, but main should call it once the configuration is loaded and
 * before the shards start, so the first command pays nothing.
 */
void acl_init(void);

/* The default user: never NULL, never freed. New connections belong to it. */
struct acl_user *acl_default_user(void);

/*
 * Whether a new or RESET connection must authenticate before running
 * commands other than CMD_NO_AUTH ones: true unless the default user is
 * "on" and "nopass" (Redis's authRequired()). Evaluated per call, so making
 * the default user nopass lets unauthenticated clients in at once.
 */
bool acl_default_needs_auth(void);

/*
 * Checks a user name and password (AUTH, HELLO AUTH). Returns the user, or
 * NULL if there is no such user, it is off, or no password of it matches
 * (a "nopass" user accepts any password). The password is hashed and
 * compared with every stored digest in constant time. The pointer is
 * borrowed: valid until the next command that changes ACLs; the caller
 * stores it in the client with acl_user_hold().
 */
struct acl_user *acl_authenticate(const char *user, size_t ulen, const char *pass, size_t plen);

/* Reference counting for pointers kept past one command (see above).
 * Both accept NULL. hold returns u. Safe from any thread. */
struct acl_user *acl_user_hold(struct acl_user *u);
void acl_user_release(struct acl_user *u);

/*
 * May user u run cmd with these arguments? cmd is what the dispatcher
 * resolved: the subcommand for a container (argv[0] is then the container's
 * name and argv[1] the subcommand's). Checks, in Redis's order:
 *   1. the command: its bit, or for a command denied as a whole a first
 *      argument allowed with "+cmd|arg". CMD_NO_AUTH commands (AUTH, HELLO,
 *      QUIT, RESET) are always allowed;
 *   2. every key cmd_keys() finds: it must match a key pattern giving the
 *      access the command needs: write for CMD_WRITE, read for
 *      CMD_READONLY, any pattern for a command with neither flag;
 *   3. the channels of PUBLISH/SPUBLISH (argv[1]) and SUBSCRIBE/SSUBSCRIBE
 *      (every argument), matched as globs, and of PSUBSCRIBE, whose patterns
 *      must equal a channel pattern of the user literally.
 * Returns ACL_OK or ACL_DENIED_*; for a key or channel, *bad_arg (if not
 * NULL) is the index in argv of the first one refused. u NULL means no
 * restriction (ACL_OK).
 */
int acl_check(const struct acl_user *u, const struct cmd_def *cmd, int argc,
	      const struct cmd_arg *argv, int *bad_arg);

/*
 * The error reply for a refusal by acl_check(), in Redis 7.0's words, into
 * buf (cap bytes; 256 is always enough for a command name up to 128
 * bytes); returns buf. Starts with '-' so resp_w_error() uses it as is:
 *   -NOPERM this user has no permissions to run the '<cmd|sub>' command
 *   -NOPERM this user has no permissions to access one of the keys used as arguments
 *   -NOPERM this user has no permissions to access one of the channels used as arguments
 */
const char *acl_denied_msg(int result, const struct cmd_def *cmd, char *buf, size_t cap);

/* Whether u may subscribe to channel (is_pattern false) or to the pattern
 * channel (true, PSUBSCRIBE: literal match). For re-checking subscribed
 * clients after their user changed. */
bool acl_channel_allowed(const struct acl_user *u, const char *channel, size_t len, bool is_pattern);

/*
 * Called after a user changed: deleted true when u left the table (ACL
 * DELUSER, ACL LOAD), so every client authenticated as u must be
 * disconnected; false when its rules changed in place (ACL SETUSER, or the
 * default user rewritten by ACL LOAD): Redis 7.0 then keeps the clients,
 * which run under the new rules from their next command, and only
 * disconnects Pub/Sub clients whose subscriptions the new rules no longer
 * allow (see acl_channel_allowed). Runs on the thread of the ACL command
 * with every other shard parked. Set by the server at start; NULL = no-op.
 */
extern void (*acl_on_user_changed)(struct acl_user *u, bool deleted);

/* The default user gets password pass[0..len) (resetpass, then >pass; NUL
 * bytes are part of it), or nopass when len is 0. Clients stay as they are.
 * Safe before acl_init() (does nothing: acl_init reads cfg.requirepass). */
void acl_set_requirepass(const char *pass, size_t len);

/* --- introspection and changes (ACL command, cmd_acl.c) --- */

/* The user called name[0..len), or NULL. Borrowed, like acl_authenticate. */
struct acl_user *acl_user_lookup(const char *name, size_t len);
/* Its name (NUL-terminated; *len if not NULL). Valid while u is. */
const char *acl_user_name(const struct acl_user *u, size_t *len);
bool acl_user_is_on(const struct acl_user *u);
bool acl_user_is_nopass(const struct acl_user *u);
/* Number of users, and the i-th in byte order of names (0 <= i < count). */
int acl_user_count(void);
struct acl_user *acl_user_at(int i);

/*
 * ACL SETUSER name op...: creates the user if missing (off, no passwords,
 * no keys, no channels, -@all), then applies every op, all or nothing.
 * Ops (keywords case-insensitive): on off nopass resetpass >pass <pass
 * #sha256hex !sha256hex ~pat %R~pat %W~pat %RW~pat allkeys resetkeys &pat
 * allchannels resetchannels +cmd -cmd +cmd|sub -cmd|sub +cmd|firstarg
 * +@cat -@cat allcommands nocommands reset sanitize-payload
 * skip-sanitize-payload clearselectors; "" does nothing.
 * Returns 0, or -1 with *err (mem_free) holding the reply text without
 * "ERR ", e.g. "Error in ACL SETUSER modifier '~x': Adding a pattern after
 * the * pattern ..." or "Usernames can't contain spaces or null
 * characters". On success calls acl_on_user_changed(u, false) for an
 * existing user.
 */
int acl_setuser(const char *name, size_t nlen, int nops, const struct cmd_arg *ops, char **err);
/* Removes a user (not "default": the caller refuses that). Returns 1 if it
 * existed (acl_on_user_changed(u, true) was called), 0 if not. */
int acl_deluser(const char *name, size_t nlen);

/* The rules of u as ACL LIST / the ACL file show them, e.g. "on nopass ~*
 * &* +@all" (without "user <name> "). Caller frees with mem_free(). */
char *acl_user_describe(const struct acl_user *u);
/* ACL GETUSER's reply for u (a map: flags, passwords, commands, keys,
 * channels, selectors). */
void acl_user_write_getuser(struct resp_w *w, const struct acl_user *u);

/* Category index (ACL_KEYSPACE...) of a name such as "read" (no '@';
 * case-insensitive), or -1. And the name of an index. */
int acl_category_lookup(const char *name, size_t len);
const char *acl_category_name(int cat);

/*
 * Loads users from an ACL file ("user <name> <op> ..." lines, blank lines
 * allowed) replacing every user, all or nothing. Returns 0, or -1 with *err
 * (mem_free) set to Redis's message listing every bad line and ending with
 * "WARNING: ACL errors detected, no change to the previously active ACL
 * rules was performed", or "Error loading ACLs, opening file '<path>':
 * <strerror>". A file without a "default" line gives the default user
 * "on nopass ~* &* +@all". Every old user but "default" is deleted (see
 * acl_on_user_changed). Calls acl_init() if needed.
 */
int acl_load_file(const char *path, char **err);
/* Writes every user to path ("user <name> <rules>" lines) through a
 * temporary file and rename(2). Returns 0 or -errno (logged). */
int acl_save_file(const char *path);

/*
 * Users declared in the config file ("user <name> <rule> ..." lines, as in
 * redis.conf). acl_config_user_add() takes one line without the "user"
 * word (argv[0] the name, then the rules; argc >= 1; copied) and checks it
 * at once: returns 0, or -1 with *err (mem_free) "Error in user declaration
 * '<rule or name>': <reason>", e.g. for a name declared twice: "Duplicate
 * user found. A user can only be defined once in config files".
 * acl_config_users_load() then creates the users declared, in order (a line
 * for "default" resets the default user first), once, before the shards
 * start; returns 0 or -1 with *err. acl_config_user_count() is the number of
 * lines still to load (main refuses them together with an aclfile, as
 * Redis does).
 */
int acl_config_user_add(int argc, char *const *argv, char **err);
int acl_config_users_load(char **err);
int acl_config_user_count(void);

/*
 * ACL LOG: the latest refusals, newest first, at most cfg.acllog_max_len.
 * acl_log_add() records one: reason ACL_DENIED_*, context ACL_LOG_*, the
 * user's name, the object refused (the command's full name, the key, the
 * channel, or for AUTH the command name as sent) and the client's CLIENT
 * INFO line; it is folded into one of the last 10 entries with the same
 * reason, context, object and user written less than 60 s before (count
 * goes up), as Redis 7.0 does. Strings are copied. acl_log_write() replies
 * the first count entries as Redis's maps (count, reason, context, object,
 * username, age-seconds, client-info); acl_log_reset() empties the log.
 * Safe from any thread (a mutex: refusals are rare).
 */
void acl_log_add(int reason, int context, const char *user, size_t ulen, const char *object,
		 size_t olen, const char *cinfo, size_t clen);
void acl_log_write(struct resp_w *w, long long count);
void acl_log_reset(void);

/* Drops the table (the users still held stay until released); for a clean
 * exit and tests. The next acl_* call starts over from acl_init(). Not
 * thread-safe: call when no shard runs. */
void acl_free_all(void);

#endif
