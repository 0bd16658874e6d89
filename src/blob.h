/*
 * blob.h - the blob tier inside the server: large string values stored in a
 * per-shard O_DIRECT block file, allocated by blob_alloc, indexed durably by
 * blob_index, read and written only through the owning shard's io_uring.
 *
 * Objects:
 *  - struct blob_val: one stored value (file, extents, length, CRC32C). It
 *    is immutable once written and reference counted across threads (the
 *    entry holds one reference, every read in flight another); the last
 *    reference frees its extents on the thread that owns its file. An entry
 *    of encoding KV_ENC_BLOB points to one.
 *  - struct blob_put: an upload. The client's shard receives the bulk payload
 *    of a large SET into 4 KiB-aligned buffers and hands them to the key's
 *    shard, which allocates the extents once and writes each buffer as it
 *    comes; the SET itself runs there once every write completed, installs
 *    the value and answers only after the index record committed.
 *  - struct blob_prog: a reply with holes: literal bytes, and ranges of
 *    blob values to stream in between. The client's shard runs it: literal
 *    bytes go to the output, a hole becomes a read stream on the file's shard,
 *    which sends bounded chunks back as the client's socket drains.
 *
 * Files: <dir>/blob-<F>.dat; file F belongs to shard F % nshards, and shard S
 * writes new values into file S. Values written with another shard count
 * stay where they are and are read and freed through their file's shard.
 *
 * Messages between shards travel in the hop batches (HOP_BLOB ops carrying a
 * struct blob_msg); see shard_blob_send().
 */
#ifndef STRATA_BLOB_H
#define STRATA_BLOB_H

#include "kv.h"
#include "sbuf.h"

#include <stdbool.h>
#include <stdint.h>

struct shard;
struct cmd_ctx;
struct cmd_def;
struct cmd_arg;
struct resp_w;
struct blob_val;
struct blob_put;
struct blob_prog;

/* Message kinds (struct blob_msg.kind). */
enum {
	BM_PUT_BEGIN = 1,	/* client shard -> owner: p = put */
	BM_PUT_DATA,		/* client shard -> owner: p = put, q = buffer, a = offset, b = bytes */
	BM_PUT_ABORT,		/* client shard -> owner: p = put */
	BM_PUT_ACK,		/* owner -> client shard: p = client's upload, q = buffer */
	BM_READ,		/* client shard -> file shard: p = stream */
	BM_CHUNK,		/* file shard -> client shard: p = stream, q = buffer, a = data offset
				 * in buffer, b = bytes (top bit: last chunk) */
	BM_CHUNK_ACK,		/* client shard -> file shard: p = stream, q = buffer, a = 1 to cancel */
	BM_FREE,		/* any -> file shard: p = value whose last reference went */
	BM_PROG,		/* executing shard -> client shard: p = prog, q = output segment */
	BM_LOADED,		/* file shard -> entry shard: p = value, a = error */
	BM_EVICT,		/* shard over blob-max-bytes -> every other: a = bytes to fit */
	BM_EVICTED,		/* the answer to BM_EVICT */
	BM_KEEP,		/* old entry shard -> new: p = value (a reference) whose bytes
				 * in memory the new one drops from now on */
};

#define BM_CHUNK_LAST (1ull << 63)

struct blob_msg {
	int kind;
	int pad;
	void *p, *q;
	uint64_t a, b;
};

/* --- start-up, shutdown, the loop (shard.c, main.c) --- */

/* Opens the index and the block files under cfg.dir and loads every large
 * key into the shards' databases. Main thread, after shard_setup(), before
 * the shard threads start. Returns 0 or -errno (logged). */
int blob_open(void);
/* After every shard thread ended: commits what is queued and closes. */
void blob_close(void);
/* On the shard's thread before it is torn down: frees its scratch state. */
void blob_shard_stop(struct shard *sh);
/* A completion of a blob operation (user_data tag UD_TAG_BLOB). */
void blob_on_cqe(struct shard *sh, void *op, int res);
/* A message from shard src. */
void blob_on_msg(struct shard *sh, int src, const struct blob_msg *m);
/* Once a loop turn: index results, queued writes, group fdatasync. */
void blob_turn(struct shard *sh);
/* True when index results wait for this shard (it must not sleep). */
bool blob_pending(struct shard *sh);
/* True while values acknowledged from memory (spills) of this shard are not
 * yet written with their index records submitted, or a file growth, hole
 * punch or fdatasync is in flight; at shutdown the shard runs blob_turn()
 * and the blob completions until it is false. */
bool blob_draining(struct shard *sh);
void blob_cron(struct shard *sh);
/* INFO blobstore. */
void blob_info(struct sbuf *out);

/* --- uploads (conn.c on the client's shard) --- */

/* Whether a value of len bytes goes to the blob tier. */
bool blob_wants(uint64_t len);
/* Buffer size and alignment of upload buffers for a value of len bytes. */
size_t blob_upload_bufsize(uint64_t len);
size_t blob_align(void);
/* Aligned buffers for uploads and reads: sizes from blob_upload_bufsize()
 * are kept for reuse by the thread that puts them back. Any buffer from
 * blob_buf_get() may also be given to free(). */
void *blob_buf_get(size_t n);
void blob_buf_put(void *p, size_t n);
/* Starts an upload of len bytes for a key owned by shard owner; cookie is
 * what BM_PUT_ACK gives back to the client shard. */
struct blob_put *blob_put_new(struct shard *sh, int owner, uint64_t len, void *cookie);
/* Hands a filled buffer (value bytes [off, off + n), zero padding up to the
 * block after them) to the owner; it comes back in BM_PUT_ACK. */
void blob_put_data(struct shard *sh, struct blob_put *put, void *buf, uint64_t off, size_t n);
/* The command that would have consumed put will not run: free it. */
void blob_put_abort(struct shard *sh, struct blob_put *put);
/* The owner of put (the shard to route its command to). */
int blob_put_owner(const struct blob_put *put);
/* On the owner: runs cmd with put as its value once every write finished;
 * its reply goes to (src, cookie). */
void blob_put_exec(struct shard *sh, struct blob_put *put, const struct cmd_def *cmd, int argc,
		   const struct cmd_arg *argv, int dbid, int proto, uint32_t ctxflags, int src,
		   void *cookie);

/* --- commands (cmd_string.c and friends) --- */

/* The upload a SET-family command runs with, or NULL. */
struct blob_put *blob_ctx_put(const struct cmd_ctx *ctx);
/* 0 if the upload's bytes are all written, or the error to reply. */
const char *blob_put_error(const struct blob_put *put);
uint64_t blob_put_len(const struct blob_put *put);
/* Installs the upload as key's value in db (kv_set_str's flags; expire_ms
 * >= 0 sets the TTL, 0 none, -1 leaves what flags say), submits its index
 * record and makes the command's reply wait for the commit (its gate; see
 * blob_prog_deliver); if the commit fails the key is taken back and the
 * command answers an error. */
struct kv_entry *blob_put_install(struct cmd_ctx *ctx, struct kv_db *db, const char *key,
				  size_t klen, unsigned flags, int64_t expire_ms);
/* Installs len bytes at p as key's value on the blob tier: readable at once
 * from memory, written to disk in the background (a spill). The reply of the
 * running command waits until the value is written and its record committed
 * (its gate; see blob_prog_deliver). If that fails, the key is taken back
 * (deleted, unless something replaced or moved it meanwhile) and the command
 * answers an error instead. */
struct kv_entry *blob_set_mem(struct kv_db *db, const char *key, size_t klen, const char *p,
			      size_t len, unsigned flags);
/* Replies a bulk string of the range [off, off + len) of e's blob value:
 * from memory when the bytes are there, else as a hole streamed later. */
void blob_reply_range(struct resp_w *w, const struct kv_entry *e, uint64_t off, uint64_t len);
/* The bytes of e's blob value if they are in memory (*len set), else NULL. */
const char *blob_mem(const struct kv_entry *e, size_t *len);
/* For a command that needs the bytes of key's blob value in memory: starts
 * reading them and blocks the command until they are there (it is run
 * again), and returns false. A multi-shard command blocks too (it is
 * polled). Under CTX_NO_BLOCK (inside EXEC, which read the values of its
 * commands first: see blob_pin) replies an error and returns false. */
bool blob_need_bytes(struct cmd_ctx *ctx, struct kv_db *db, struct kv_entry *e);

/* blob_pin(): where the pinned value's bytes are. */
enum blob_pin_state {
	BLOB_PIN_READY,		/* in memory now */
	BLOB_PIN_STARTED,	/* not yet: this call started reading them */
	BLOB_PIN_LOADING,	/* not yet: a read started earlier is on its way */
};
/* For EXEC (multi.c), which cannot wait in the middle of a transaction: pins
 * e's blob value so that its bytes, once in memory, stay there (the cron and
 * the end of a spill leave them) until blob_unpin(); starts reading them if
 * they are not in memory and no read is on its way. When the read ends, the
 * entry's shard signals the key ready; the caller polls. Returns the value:
 * the caller owns a reference and a pin, and gives both back with
 * blob_unpin(). A failed read leaves the bytes out and the state says
 * STARTED again on the next call. Runs on the thread of db's shard or while
 * it is parked. */
struct blob_val *blob_pin(struct shard *sh, struct kv_db *db, struct kv_entry *e,
			  enum blob_pin_state *state);
/* Gives back a pin and its reference (any thread): the bytes may leave
 * memory at the next cron of the entry's shard. */
void blob_unpin(struct shard *sh, struct blob_val *bv);

/* --- replies with holes (shard_exec and its callers) --- */

/* Marks the start of a command's reply in out (nesting allowed: EXEC). */
void blob_exec_begin(struct sbuf *out, size_t before);
/* Ends it. If holes were added, or the command changed large keys (index
 * mutations, spills: their durability gate), returns the reply (bytes from
 * `before`) as a program and truncates out to before; else NULL. A blocked
 * command (blocked) sends no reply: its gate, if any, is let go and what it
 * changed commits on its own. Nested calls (EXEC's commands) return NULL:
 * the outermost one collects. */
struct blob_prog *blob_exec_end(struct sbuf *out, size_t before, bool blocked);
/* Sends prog to shard dst, for the output segment cookie (or runs it here).
 * Takes ownership of prog. A program holding a durability gate is sent
 * only once everything its command changed on the blob tier is durable (its
 * index records committed, synced under blob-fsync always), possibly from
 * another shard's thread, and as an error reply instead if any of it
 * failed; the output segment stays pending until then. */
void blob_prog_deliver(struct shard *sh, int dst, void *cookie, struct blob_prog *prog);
/* Client side: runs prog into segment seg (conn.c drives it). */
struct blob_stream;
/* Frees a program whose client is gone (or whose reply is dropped),
 * dropping its references; a gate it holds runs out without a reply. */
void blob_prog_free(struct shard *sh, struct blob_prog *prog);
/* The next step of prog: copies literal bytes via emit(); returns true when
 * it is finished, false when a read stream was started (more comes through
 * BM_CHUNK). */
bool blob_prog_step(struct shard *sh, struct blob_prog *prog, int client_shard,
		    void (*emit)(void *arg, const char *p, size_t n), void *arg);
/* Client side of a chunk: returns the buffer to the file's shard. */
void blob_chunk_ack(struct shard *sh, struct blob_stream *st, void *buf, bool cancel);
/* The program a stream belongs to. */
struct blob_prog *blob_stream_prog(const struct blob_stream *st);
void *blob_prog_cookie(const struct blob_prog *prog);
void blob_prog_set_cookie(struct blob_prog *prog, void *cookie);

/* --- conn.c, implemented there --- */
void conn_put_ack(struct shard *sh, void *upload, void *buf);
void conn_chunk(struct shard *sh, struct blob_stream *st, void *buf, size_t off, size_t n,
		bool last);
void conn_prog(struct shard *sh, void *cookie, struct blob_prog *prog);

/* --- shard.c --- */
void shard_blob_send(struct shard *sh, int target, const struct blob_msg *m);

#endif
