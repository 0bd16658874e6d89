/*
 * conn.h - a client connection: its buffers, parser state, output queue and
 * per-connection settings. Owned by the shard thread that accepted it.
 *
 * Output. Replies of commands run on this thread are appended to wbuf. A
 * command run on another shard (a hop) leaves a pending segment in the
 * queue segs; every reply after it goes into segments too, until the pending
 * one is filled, so the client always reads replies in request order. The
 * kernel owns `sending` from the SEND submission to its completion; wbuf is
 * swapped into it when it is free. So a loop turn sends once per client.
 */
#ifndef STRATA_CONN_H
#define STRATA_CONN_H

#include "server.h"

struct tls_conn;
struct blob_val;

#define CL_CLOSE_AFTER_REPLY	0x001	/* close once output drained */
#define CL_CLOSING		0x002	/* closed: waiting for ops in flight */
#define CL_RECV		0x004	/* a RECV is in flight */
#define CL_SEND		0x008	/* a SEND is in flight */
#define CL_DIRTY		0x010	/* on the shard's dirty list */
#define CL_PAUSED		0x020	/* waiting for its hops before a parked command */
#define CL_NO_EVICT		0x040	/* CLIENT NO-EVICT on */
#define CL_NO_TOUCH		0x080	/* CLIENT NO-TOUCH on */
#define CL_REPLY_OFF		0x100	/* CLIENT REPLY OFF */
#define CL_REPLY_SKIP_NEXT	0x200	/* CLIENT REPLY SKIP: skip the next command's reply */
#define CL_REPLY_SKIP		0x400	/* the running command's reply is dropped */
#define CL_AUTHED		0x800	/* authenticated (or no password needed) */
#define CL_CLOSE_ASAP		0x1000	/* killed: close without sending more */
#define CL_RESUME		0x2000	/* on the shard's resume list */
#define CL_MULTI		0x4000	/* inside MULTI: commands are queued */
#define CL_MULTI_ERR		0x8000	/* a command was refused while queuing: EXEC aborts */
#define CL_PARKQ		0x10000	/* on the shard's park queue */
#define CL_POLL			0x20000	/* blocked on keys of several shards: polled */
#define CL_UPLOAD		0x100000	/* receiving a large bulk into upload buffers */
#define CL_IN_IDLE		0x40000	/* no input buffer: the input op is a POLL */
#define CL_IN_SHRINK		0x80000	/* its RECV is being cancelled to drop the buffer */

struct outseg {
	struct outseg *next;
	struct client *c;	/* owner */
	struct sbuf buf;	/* reply bytes */
	bool pending;		/* waiting for a hop reply */
	bool discard;		/* reply is to be dropped (CLIENT REPLY) */
	/* A reply streaming a large value (blob.h): read chunks whose buffers
	 * go back to the file's shard once the socket drained enough. */
	struct blob_stream *stall_st[16];
	void *stall_buf[16];
	int nstall;
};

struct client {
	uint64_t id;			/* CLIENT ID */
	int fd;
	struct shard *sh;		/* owning shard */
	int slot;			/* index in sh->clients */
	uint32_t flags;			/* CL_* */
	int proto;			/* RESP2 or RESP3 */
	int dbid;			/* SELECTed db */

	struct sbuf rbuf;		/* query buffer */
	size_t rpos;			/* bytes of rbuf already executed */
	size_t recv_size;		/* free space the next RECV asks for: doubles
					 * on a full read, back to the minimum when idle */
	struct resp_parser parser;
	struct resp_arg *args;		/* parser output */
	struct cmd_arg *argv;		/* views of the current command */
	size_t argcap;

	struct sbuf wbuf;		/* ready replies not yet sent */
	struct sbuf sending;		/* owned by the kernel while CL_SEND */
	size_t sent;			/* bytes of sending already sent */
	struct outseg *seg_head, *seg_tail;
	int hops;			/* hop replies still to come */
	int inflight;			/* ring operations in flight */

	struct client *dirty_next;	/* link in sh->dirty */
	struct client *resume_next;	/* link in sh->resume */
	struct client *parkq_next;	/* link in sh->parkq */
	struct client *poll_next;	/* link in sh->pollq (CL_POLL) */
	int64_t poll_deadline;		/* CL_POLL: the command's deadline, 0 = none */
	char *name;			/* CLIENT SETNAME, or NULL */
	char *lib_name, *lib_ver;	/* CLIENT SETINFO */
	char addr[64];			/* peer ip:port */
	char laddr[64];			/* local ip:port */
	int64_t ctime_ms;		/* connect time */
	int64_t last_ms;		/* last interaction */
	const struct cmd_def *last_cmd;	/* for CLIENT LIST cmd= */
	struct outseg *block_cookie;	/* pending reply of a blocked command, or NULL */
	int block_shard;		/* shard holding its waiter */
	/* MULTI / WATCH (multi.c) */
	struct mq_cmd *mq;		/* queued commands */
	int nmq, capmq;
	size_t multi_mem;		/* bytes the queue holds (multi.c keeps it) */
	struct watch_state *ws;		/* shared with watch registries, or NULL */
	uint64_t watch_mask;		/* shards holding watched keys */
	struct blob_val **pins;		/* large values EXEC waits for (blob_pin) */
	int npins;
	int load_rounds;		/* EXEC's rounds that had to start a read */
	/* pub/sub (pubsub.c) */
	struct psub *subs;		/* channels, patterns and shard channels */
	int nsub, npsub, nssub;
	int64_t soft_since_ms;		/* over the soft output limit since */
	struct acl_user *user;		/* authenticated as (acl_user_hold), or NULL = default */
	struct upload *up;		/* the large bulk being received, or NULL */
	int blob_refs;			/* upload buffers still at a key's shard */
	void *recv_orphan;		/* upload buffer of a RECV still in flight at close */
	/* TLS (tls.c): NULL for a plain-text client. For a TLS client, rbuf
	 * and wbuf still hold plaintext; `sending` holds ciphertext. */
	struct tls_conn *tls;
	size_t mem;			/* client_mem() as last added to sh->client_mem;
					 * 0 once it is closing or evicted */
};

/* Where a reply written now goes to stay in order (for pub/sub pushes). */
struct sbuf *client_out_buf(struct client *c);
void client_mark_dirty(struct client *c);
/* Bytes of output not yet handed to the kernel or still being sent. */
size_t client_pending_output(const struct client *c);
/* Applies client-output-buffer-limit of class (COBL_*) to c: over the hard
 * limit, or over the soft one for longer than its seconds, the client is cut
 * off; so is a client that must still authenticate with more than 17 KiB
 * unsent, as in Redis. May be called for a client of a parked shard.
 * Returns true if cut. */
bool client_check_output_limit(struct client *c, int cls);
/* Memory of one client: its struct, query buffer and parsed arguments,
 * output buffers and segments, MULTI queue (CLIENT LIST tot-mem). */
size_t client_mem(const struct client *c);
/* Total of client_mem() over every client, as of their last update (INFO
 * memory mem_clients_normal; what maxmemory-clients limits). Any thread. */
size_t client_mem_total(void);
/* The largest input and output buffers a client had in the last seconds
 * (INFO clients client_recent_max_*). Call with the shards parked. */
void client_recent_max(size_t *in, size_t *out);
/* Enforces maxmemory-clients: over it, evicts the clients using the most
 * memory. Parks every shard when over; call at the end of a loop turn. */
void client_evict(struct shard *sh);

/* Adds an ACL LOG entry (acl_log_add) for a refusal on c: reason
 * ACL_DENIED_*, context ACL_LOG_*, the object refused; user NULL means c's
 * own user (AUTH names the user it tried). */
void client_acl_log(struct client *c, int reason, int context, const char *user, size_t ulen,
		    const char *object, size_t olen);

#endif
