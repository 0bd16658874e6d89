/*
 * server.h - the process, its shard threads and their clients.
 *
 * A shard is one thread with one io_uring ring. It owns: its listening
 * socket (SO_REUSEPORT, so the kernel spreads connections over shards), the
 * clients it accepted, and for every database the keys whose hash slot maps
 * to it (slot mod nshards). Nothing a shard owns is touched by another
 * thread, with one exception: parking (below).
 *
 * Hops. A single-shard command for a key another shard owns is re-encoded as
 * RESP into a per-target batch; at the end of the loop turn each batch is
 * pushed to its target's inbox (a lock-free stack) and the target is woken
 * through its eventfd if it sleeps. The target runs the batch in order and
 * returns a batch of replies the same way. The client keeps a pending
 * segment per hop in its output queue, so replies leave in request order.
 *
 * Parking. A command that needs several shards at once (MSET over shards,
 * KEYS, FLUSHALL, CLIENT LIST, ...) runs on the client's thread after that
 * thread takes the global coordinator token and parks every other shard it
 * needs: a parked shard acknowledges at a safe point (between completions,
 * never inside a command) and spins until released. The coordinator then
 * reads and writes their data directly, so the command is atomic: no other
 * command runs on those shards meanwhile. One token means one coordinator,
 * so two coordinators can never wait on each other; a shard spinning for the
 * token still answers park requests. Before such a command, the client's own
 * earlier hops must have completed, so its commands stay in order.
 */
#ifndef STRATA_SERVER_H
#define STRATA_SERVER_H

#include "cmd.h"
#include "kv.h"
#include "resp_parse.h"
#include "resp_write.h"
#include "sbuf.h"

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_SHARDS 64
#define SHARD_MAX_LISTEN 16	/* bind addresses times ports (port, tls-port) */

struct client;
struct lathist;
struct hop_batch;
struct bkey;
struct waiter;
struct psub;
struct outseg;
struct blob_prog;
struct blob_put;

/* What shard_exec() tells its caller beyond the reply. */
struct exec_result {
	bool blocked;		/* the command called cmd_block(): no reply yet */
	int64_t deadline;	/* its deadline (unix ms, 0 = none) */
	bool null_array;	/* its timeout reply shape */
	struct blob_prog *prog;	/* the reply streams large values, or waits until
				 * what the command changed on the blob tier is
				 * durable: it was taken out of the output as this
				 * program (blob.h), which the caller hands to
				 * blob_prog_deliver() for the client's shard */
};

/* Error replies by code, per shard (INFO errorstats): "ERR", "WRONGTYPE"...
 * At most ERRSTAT_MAX codes a shard; further codes count only in
 * total_error_replies. A code is cut to ERRSTAT_CODE_MAX - 1 bytes. */
#define ERRSTAT_MAX 128
#define ERRSTAT_CODE_MAX 32
struct err_stat {
	char code[ERRSTAT_CODE_MAX];	/* NUL-terminated */
	uint64_t count;
};

/* Per-command statistics, per shard (INFO commandstats). */
struct cmd_stat {
	uint64_t calls;
	uint64_t cycles;		/* util_cycles() spent; INFO converts to usec */
	uint64_t rejected;
	uint64_t failed;
};

struct shard_stats {
	uint64_t conns_received;	/* total_connections_received */
	uint64_t commands;		/* total_commands_processed */
	uint64_t net_in;		/* total_net_input_bytes */
	uint64_t net_out;		/* total_net_output_bytes */
	uint64_t rejected_conns;	/* rejected_connections */
	uint64_t errors;		/* total_error_replies */
	uint64_t dirty;			/* changes since start */
	uint64_t hops_out;		/* commands sent to another shard */
	uint64_t hops_in;		/* commands run for another shard */
	uint64_t parks;			/* times this shard coordinated a parked command */
	uint64_t expired_stale_perc;	/* unused: kept 0 */
	uint64_t evicted_clients;	/* closed by maxmemory-clients */
};

#define CLIENT_PEAK_SLOTS 8	/* seconds of client buffer peaks kept for INFO */

struct shard {
	int id;				/* index in srv.shards */
	pthread_t thread;
	struct io_uring ring;		/* owned by the thread */
	int listen_fds[SHARD_MAX_LISTEN];	/* one per bind address and port */
	bool listen_tls[SHARD_MAX_LISTEN];	/* listen_fds[i] is on tls-port */
	int nlisten;
	unsigned listen_gen;		/* sets of listen_fds swapped in so far */
	/* A set opened by CONFIG SET port/bind, to swap in (shard_relisten) */
	int new_listen_fds[SHARD_MAX_LISTEN];
	bool new_listen_tls[SHARD_MAX_LISTEN];	/* their tls-port marks */
	int new_nlisten;
	bool relisten;			/* new_listen_fds waits to be swapped in */
	int event_fd;			/* wakes the thread: hops, parking, stop */
	uint64_t event_buf;		/* target of the pending eventfd read */
	struct __kernel_timespec tick;	/* cron period */
	struct kv_db *dbs;		/* cfg.databases databases */
	struct kv_stats kstats;		/* keyspace counters of these dbs */
	struct shard_stats stats;
	struct cmd_stat *cmdstats;	/* cmd_count_all() entries */
	struct lathist **lat;		/* per cmd_id(): latency histogram, NULL until used */
	struct err_stat *errstats;	/* ERRSTAT_MAX entries, nerrstats used */
	int nerrstats;

	struct client **clients;	/* clients this shard owns */
	int nclients, capclients;
	struct client *dirty;		/* clients with output to send this turn */
	struct client *resume;		/* paused clients to resume this turn */
	struct client *pollq;		/* clients blocked across shards (polled) */
	int npoll;
	struct outseg *seg_free;	/* recycled output segments */
	int nseg_free;
	/* Client memory: the sum of its clients' c->mem, written by this thread
	 * (or a coordinator while it is parked), read by any. */
	_Atomic size_t client_mem;
	/* Largest client input / output buffers seen in each of the last
	 * seconds (slot = unix second mod CLIENT_PEAK_SLOTS), by client_cron. */
	size_t peak_in[CLIENT_PEAK_SLOTS], peak_out[CLIENT_PEAK_SLOTS];

	/* Messaging. inbox: batches pushed by other threads (Treiber stack,
	 * reversed by the consumer); out: batches being filled this turn. */
	_Atomic(struct hop_batch *) inbox;
	struct hop_batch *out[MAX_SHARDS];
	_Atomic int sleeping;		/* 1 while the thread may block in the ring */

	/* Parking: a coordinator stores a nonzero generation in park_req; the
	 * shard echoes it in park_ack and spins until park_req changes. */
	_Atomic uint64_t park_req;
	_Atomic uint64_t park_ack;
	_Atomic uint32_t park_seq;	/* bumped on every release: the futex word */
	_Atomic uint32_t park_sleeping;	/* 1 while waiting on park_seq */
	/* Batched parking: clients whose next command needs other shards
	 * parked, run together in one parking window at the end of the turn. */
	struct client *parkq;
	uint64_t parkq_mask;		/* shards their commands need */
	uint64_t parked_mask;		/* shards parked right now by us (window), 0 if none */

	/* Pub/sub (pubsub.c): channels with subscribers here, and patterns. */
	struct dict *ps_channels;
	struct psub *ps_patterns;
	struct dict *ps_shard_channels;	/* SSUBSCRIBE: struct psch, like ps_channels */

	/* Blocked clients (block.c). */
	struct waiter *waiters, *waiters_tail;	/* every waiter on our keys */
	int nwaiters;
	struct bkey *block_ready;	/* keys signalled ready, to serve */
	int64_t block_timer_at;		/* deadline the block timer is armed for */
	struct __kernel_timespec block_ts; /* its relative timeout */

	/* Scratch argv for running hop batches. */
	struct resp_arg *hop_args;
	struct cmd_arg *hop_argv;
	size_t hop_cap;
};

struct server {
	int nshards;
	struct shard *shards;
	_Atomic int stop;		/* set by signals and SHUTDOWN */
	_Atomic int exited;		/* shards out of their loop at shutdown */
	_Atomic int coord_token;	/* -1 free, else the coordinating shard */
	_Atomic uint64_t park_gen;	/* generation counter for park requests */
	_Atomic uint64_t next_client_id;
	_Atomic int nclients;		/* connected clients, all shards */
	int64_t start_ms;		/* unix ms at start */
	int64_t start_mono_us;
	int64_t lastsave;		/* unix seconds (LASTSAVE) */
	char run_id[41];
	char *config_file;		/* absolute path or NULL */
	char *exec_path;
	int hz_effective;
};

extern struct server srv;

/* --- shard.c --- */
int shard_setup(struct shard *sh, int id);
/* Opens the listening sockets of every shard (after shard_setup, before the
 * threads start) for cfg.bind and cfg.port; logs and returns -1 if it
 * cannot. */
int shard_listen_start(void);
/* CONFIG SET port / bind, every other shard parked: opens sockets for the
 * new cfg.bind and cfg.port for every shard, which swap them in at their
 * next loop turn. Returns 0 (also when nothing changed, or before
 * shard_listen_start), or -1 with failure copied into reason when a socket
 * cannot be opened: then nothing changes. */
int shard_listen_change(char *reason, size_t cap, const char *failure);
/* The resp_w.on_error hook of replies written on shard arg: counts one
 * error reply of this code (total_error_replies and INFO errorstats). */
void shard_count_error(void *arg, const char *code, size_t len);
/* CONFIG RESETSTAT of one shard: counters, command and error statistics,
 * latency histograms. */
void shard_reset_stats(struct shard *sh);
/* Frees what shard_setup() allocated for statistics (at exit). */
void shard_free_stats(struct shard *sh);
/* The thread of a shard: shard_loop_start(), shard_loop_turn() until
 * srv.stop, then shard_loop_end(). */
void *shard_main(void *arg);
/* The three parts of shard_main(), for a test that drives a shard from its
 * own thread (tests/fuzz/fuzz_dispatch.c). All three must run on the thread
 * that owns the shard, which start makes shard_self.
 * start: creates the ring and arms the accepts, the cron timer and the
 * eventfd read; returns 0 or -errno (logged).
 * turn: one loop turn; with may_sleep it waits for a completion when no
 * work is queued, without it never blocks. Returns the completions handled.
 * end: closes the listeners and the ring and frees every client and the
 * shard's waiters, watch and pub/sub registries (its keys stay). */
int shard_loop_start(struct shard *sh);
unsigned shard_loop_turn(struct shard *sh, bool may_sleep);
void shard_loop_end(struct shard *sh);
void shard_wake(struct shard *sh);
/* A submission queue entry of the shard's ring (submits to make room). */
struct io_uring_sqe *shard_sqe(struct shard *sh);
/* Owner shard of a key. */
int shard_of_key(const char *key, size_t klen);
/* Parks every shard in mask other than sh (the caller's); returns after all
 * acknowledged. shard_unpark() releases them. Must be called on sh's thread,
 * never inside a command (see client_run_parkq). */
void shard_park(struct shard *sh, uint64_t mask);
void shard_unpark(struct shard *sh, uint64_t mask);
/* Honours a pending park request (called at safe points). */
void shard_check_park(struct shard *sh);
/* Appends a hop request to the batch for target. */
void shard_hop_send(struct shard *sh, int target, void *cookie, const struct cmd_def *cmd,
		    int argc, const struct cmd_arg *argv, int dbid, int proto, uint32_t ctxflags,
		    struct blob_put *put);
/* Runs one command on this thread; the reply goes into out. res (may be
 * NULL) tells whether it blocked instead of replying. Keys it signalled ready
 * are served by the caller with block_serve_ready(). */
void shard_exec(struct shard *sh, struct client *cl, const struct cmd_def *cmd, int argc,
		const struct cmd_arg *argv, int dbid, int proto, uint32_t ctxflags,
		struct sbuf *out, struct exec_result *res);
/* Evicts what the policy allows while over maxmemory; false if still over
 * and the command that may grow memory must be refused with -OOM. */
bool shard_make_room(struct shard *sh);
/* Queues a reply for a client of shard target (a served waiter). */
void shard_hop_reply(struct shard *sh, int target, void *cookie, const char *p, size_t len);
/* Asks shard target to end the waiter (our shard, cookie): its client left. */
void shard_hop_cancel(struct shard *sh, int target, void *cookie);
/* Makes sure the block timer fires by deadline_ms (0: nothing to do). */
void shard_block_timer(struct shard *sh, int64_t deadline_ms);
/* Thread-local pointer to the running shard. */
extern _Thread_local struct shard *shard_self;

/* --- conn.c --- */
/* A client on accepted socket fd (owned from now on); tls: it came through a
 * tls-port listener and speaks TLS. NULL if it could not be set up (the
 * socket is closed then). */
struct client *client_create(struct shard *sh, int fd, bool tls);
void client_on_recv(struct client *c, int res);
void client_on_send(struct client *c, int res);
/* An idle client's POLL (waiting for input with no buffer) completed. */
void client_on_poll(struct client *c, int res);
void client_apply_hop_reply(void *cookie, const char *p, size_t len);
void client_flush_dirty(struct shard *sh);
/* Runs the clients whose pause ended during this turn. */
void client_run_resumed(struct shard *sh);
/* Frees the recycled output segments (shutdown). */
void client_free_segs(struct shard *sh);
/* Retries the commands of clients blocked on keys of several shards;
 * returns when the next retry is due (unix ms), 0 if none. */
int64_t client_poll_blocked(struct shard *sh);
/* Runs the clients queued for a parking window, in one window. */
void client_run_parkq(struct shard *sh);
void client_cron(struct shard *sh);
void client_close(struct client *c);
void client_close_all(struct shard *sh);
/* Adds the client's CLIENT LIST line to out. */
void client_info_line(struct client *c, struct sbuf *out);

#endif
