/*
 * harness.h - what an integration test may rely on: a server under test,
 * connections to it, and TAP-like checks of its exact replies.
 *
 * The server under test
 *
 *   If STRATA_TEST_SERVER=host:port is set, every harness_server_start()
 *   returns that running server and starts nothing: the extra arguments are
 *   ignored, so a test that needs a setting applies it with CONFIG SET and
 *   puts it back before it ends, and it FLUSHALLs what it wrote.
 *
 *   Otherwise harness_server_start() starts the binary named by
 *   STRATA_SERVER_BIN (default "src/strata-server", relative to the current
 *   directory) as
 *
 *       BIN --port P --dir D [extra args]
 *
 *   where P is a free loopback port (found by binding port 0) and D a fresh
 *   mkdtemp() directory. When the binary's basename is "redis-server" (the
 *   oracle), the strata-only options "--shards N" and "--blob-* V" are
 *   dropped from the extra args and "--save '' --appendonly no --bind
 *   127.0.0.1" are added. The server's stdout and stderr go to D/server.log,
 *   which is printed if the server does not come up. The harness waits until
 *   the server answers PING (at most 10 s) and, at harness_server_stop() or
 *   at exit, sends SIGTERM to that PID, waits up to 5 s, then SIGKILLs it,
 *   and removes D. If the test process dies without cleaning up (a signal,
 *   a sanitizer report), its servers die with it (PR_SET_PDEATHSIG) and a
 *   small reaper process forked by harness_init() removes their D.
 *
 * Output
 *
 *   Every check prints one line, "ok N - description" or
 *   "not ok N - description: expected X, got Y", and harness_done() prints
 *   the plan "1..N" and returns the exit status: 0 when every check passed,
 *   1 otherwise. A fatal problem (no server, lost connection where the test
 *   cannot go on) is "Bail out! reason" and exit status 2. A watchdog ends
 *   the program after STRATA_TEST_TIMEOUT seconds (default 60) with exit
 *   status 3. Checks may be called from any thread.
 *
 * Replies
 *
 *   Every expect_*() takes ownership of the reply it is given and frees it,
 *   so a check reads as one line: expect_int(cmd(c, "INCR n"), 1, "...").
 *   A NULL reply (I/O error) fails the check and shows the context's error.
 *   Descriptions are printf formats. In messages, replies are shown in a
 *   compact form, the same one expect_reply() compares against:
 *
 *       bulk string  'text'   (' and \ escaped with \, bytes outside
 *                              printable ASCII as \xNN, CR and LF as \r \n)
 *       status       +OK
 *       error        -ERR text
 *       integer      42
 *       nil          (nil)
 *       array        [elem,elem,...]   (no spaces)
 */
#ifndef STRATA_HARNESS_H
#define STRATA_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <hiredis/hiredis.h>

/* A server the tests talk to. Fields are read-only for tests. */
struct harness_server {
	char host[64];		/* numeric address to connect to */
	int port;		/* TCP port */
	pid_t pid;		/* process we started, 0 when external */
	bool external;		/* attached through STRATA_TEST_SERVER */
	bool is_redis;		/* the binary is redis-server (the oracle) */
	char dir[256];		/* the temp --dir, empty when external */
};

/*
 * Sets up output, the watchdog, SIGPIPE (ignored) and the exit cleanup.
 * Call first; name is printed as a comment line.
 */
void harness_init(const char *name);

/*
 * Starts a server with extra args (see above) and returns it once it
 * answers PING; bails out if it does not. Use as harness_server_start() or
 * harness_server_start("--shards", "4", "--maxmemory", "10mb").
 * The returned server is owned by the harness until harness_server_stop().
 */
struct harness_server *harness_server_start_argv(const char *const *args);
#define harness_server_start(...) \
	harness_server_start_argv((const char *const[]){ NULL, ##__VA_ARGS__, NULL } + 1)

/* Stops a server we started (SIGTERM, 5 s, SIGKILL) and frees it. NULL is
 * accepted. For an external server only the handle is freed. */
void harness_server_stop(struct harness_server *srv);

/* Waits up to timeout_ms for a server we started to exit on its own (after
 * SHUTDOWN); returns whether it did. Always false for an external server. */
bool harness_server_wait_exit(struct harness_server *srv, int timeout_ms);

/* Prints the plan, stops every server still running and returns the exit
 * status for main(). */
int harness_done(void);

/* Prints "Bail out! ...", stops the servers and exits with status 2. */
_Noreturn void harness_bail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Prints a "# ..." comment line. */
void harness_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A hiredis connection with 10 s I/O timeouts; bails out if it fails.
 * The caller frees it with redisFree(). */
redisContext *harness_connect(const struct harness_server *srv);

/* Like harness_connect() but returns NULL instead of bailing out. */
redisContext *harness_try_connect(const struct harness_server *srv);

/*
 * Sends one command and returns its reply (caller owns it), or NULL on an
 * I/O error. cmd() takes a hiredis format ("SET %s %b", key, buf, len);
 * cmd_argv() takes argc strings; cmd_list() a NULL-terminated list.
 */
redisReply *cmd(redisContext *c, const char *fmt, ...);
redisReply *cmd_argv(redisContext *c, int argc, const char **argv,
		     const size_t *argvlen);
redisReply *cmd_list_argv(redisContext *c, const char *const *args);
#define cmd_list(c, ...) cmd_list_argv((c), (const char *const[]){ __VA_ARGS__, NULL })

/* Sends a command whose reply is not checked (set-up, clean-up) and frees
 * the reply; bails out if there is none (I/O error). */
void run(redisContext *c, const char *fmt, ...);

/*
 * Checks. Each consumes reply r (frees it), prints one TAP line and returns
 * whether it passed.
 */
bool expect_status(redisReply *r, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A bulk string equal to the C string want. */
bool expect_str(redisReply *r, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A bulk string equal to len bytes at want. */
bool expect_bin(redisReply *r, const void *want, size_t len,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool expect_int(redisReply *r, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An integer in [lo, hi]. */
bool expect_int_range(redisReply *r, long long lo, long long hi,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool expect_nil(redisReply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An error whose whole text (without the leading '-') is want. */
bool expect_err(redisReply *r, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An error whose text starts with prefix. */
bool expect_err_prefix(redisReply *r, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * An array of exactly n bulk strings equal to want[i], in order; a NULL
 * want[i] expects a nil element. STRS("a", NULL, "b") expands to the two
 * arguments want, n.
 */
bool expect_array_of_str(redisReply *r, const char *const *want, size_t n,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same, in any order (for KEYS and the like). */
bool expect_set_of_str(redisReply *r, const char *const *want, size_t n,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define STRS(...) \
	(const char *const[]){ __VA_ARGS__ }, \
	(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))
/* An empty array. */
bool expect_empty_array(redisReply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A reply whose compact form (see above) is exactly repr. */
bool expect_reply(redisReply *r, const char *repr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Checks of values the test computed itself; they print the same lines. */
bool check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool check_int(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool check_int_range(long long got, long long lo, long long hi,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool check_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports a check as skipped: "ok N - description # SKIP reason". */
void skip(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * A check of a known bug, TAP's TODO: "not ok N - description # TODO
 * reason" (or "ok ... # TODO" once it passes). It is printed like any other
 * but a failure does not fail the program; tests/run-integ.sh counts it as
 * skipped. For a bug that is reported and not yet fixed, never to hide one.
 */
void check_todo(bool cond, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The compact form of a reply (see above); caller frees. NULL gives
 * "(no reply)". */
char *harness_repr(const redisReply *r);

/*
 * One field of INFO section: copies its value into buf and returns true,
 * or returns false if the field is absent. harness_info_int() returns the
 * field as an integer, or LLONG_MIN if it is absent or not a number.
 */
bool harness_info_field(redisContext *c, const char *section,
			const char *field, char *buf, size_t buflen);
long long harness_info_int(redisContext *c, const char *section,
			   const char *field);

/* CONFIG GET of one exact parameter: a malloc'd value, or NULL. */
char *harness_config_get(redisContext *c, const char *name);
/* CONFIG SET; returns whether the server said +OK. */
bool harness_config_set(redisContext *c, const char *name, const char *value);

/* Monotonic milliseconds, wall-clock milliseconds since the epoch, sleep. */
int64_t harness_mono_ms(void);
int64_t harness_unix_ms(void);
void harness_sleep_ms(int ms);

/*
 * Data directories a test manages itself (to restart a server on the same
 * data: pass "--dir", dir as extra arguments; the last --dir wins, and the
 * harness's own temp dir then only holds server.log).
 *
 * harness_remove_tree() removes dir and everything under it.
 *
 * harness_check_blob() runs strata-check-blob on the data dir of a stopped
 * server: the binary named by STRATA_CHECK_BLOB_BIN (default
 * "src/strata-check-blob"), as "BIN DIR [--deep] --quiet", for at most
 * 120 s. It returns the tool's exit status (0 clean, 1 problems, 2 could not
 * check), or -1 if the tool could not be run or did not exit (then out says
 * why). Its stdout, cut to cap - 1 bytes, is copied NUL-terminated to out.
 */
void harness_remove_tree(const char *dir);
int harness_check_blob(const char *dir, bool deep, char *out, size_t cap);

/*
 * Raw connections, for what hiredis hides: inline commands, byte-at-a-time
 * requests, RESP3 replies, protocol errors and closed connections.
 */
struct harness_raw;

/* A blocking TCP connection with TCP_NODELAY; bails out if it fails.
 * Free it with raw_close(), which accepts NULL. */
struct harness_raw *raw_connect(const struct harness_server *srv);
void raw_close(struct harness_raw *raw);
/* Sends all len bytes; returns false on an error (peer closed). */
bool raw_send(struct harness_raw *raw, const void *buf, size_t len);
bool raw_send_str(struct harness_raw *raw, const char *s);
/*
 * Reads one complete RESP2 or RESP3 reply (nested aggregates included) and
 * returns its exact bytes, NUL-terminated and malloc'd (caller frees), with
 * its length in *len if len is not NULL. Returns NULL if none is complete
 * within timeout_ms, or if the peer closed first.
 */
char *raw_read_reply(struct harness_raw *raw, int timeout_ms, size_t *len);
/* The next reply is exactly the bytes of want (e.g. "+PONG\r\n"). */
bool expect_raw_reply(struct harness_raw *raw, const char *want,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The peer closes the connection within timeout_ms, sending nothing more. */
bool expect_raw_closed(struct harness_raw *raw, int timeout_ms,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Keys by hash slot. strata puts a key on shard (slot mod shards), with the
 * slot as Redis Cluster computes it: CRC16 (XMODEM) of the key, or of its
 * first non-empty {tag}, mod 16384. Tests use these to place keys on chosen
 * shards (on redis-server placement simply does not matter).
 */
unsigned harness_key_slot(const char *key, size_t len);
/* Writes "<pre><n><post>" into buf for the first n >= 0 whose slot is
 * residue modulo mod. */
void harness_pick_key(char *buf, size_t cap, const char *pre, const char *post,
		      unsigned mod, unsigned residue);

#endif
