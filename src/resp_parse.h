/*
 * resp_parse.h - RESP2 multibulk and inline request parser.
 *
 * Pure: no I/O and no allocation. The caller owns the input buffer and the
 * argv array; the parser records each argument as an offset and a length
 * relative to the start of the buffer passed in, so the caller may move or
 * grow its buffer between calls as long as the bytes already received keep
 * their offsets (the usual case: data is appended, and the buffer is
 * compacted only between commands, after resp_parser_reset()).
 *
 * Parsing is resumable: a command that arrives split at any byte is parsed
 * across calls without rescanning the arguments already seen, so a command
 * with a million arguments costs O(bytes), not O(bytes x calls).
 *
 * Inline commands (a line not starting with '*') are split on spaces and tabs
 * with Redis's quoting rules ("..." with \n \r \t \b \a \\ \" \xHH escapes,
 * '...' with \' only); unescaping is done in place in the buffer, which is why
 * the buffer is not const.
 */
#ifndef STRATA_RESP_PARSE_H
#define STRATA_RESP_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* One argument: buf + off, len bytes. For a multibulk argument the byte at
 * buf + off + len is the '\r' of its terminator. */
struct resp_arg {
	size_t off;
	size_t len;
};

enum resp_status {
	RESP_DONE = 0,		/* a command is complete: *argc args, *consumed bytes */
	RESP_NEED_MORE = 1,	/* wait for more bytes; state kept in the parser */
	RESP_NEED_ARGV = 2,	/* argv is full: grow it, toward resp_parser.argc
				 * entries (keeping the entries already filled),
				 * and call again */
	RESP_ERROR = -1,	/* protocol error: resp_parser.err says which */
};

/* Protocol errors, worded as Redis words them (resp_parse_strerror). */
enum resp_err {
	RESP_ERR_NONE = 0,
	RESP_ERR_MBULK_LEN,	/* "Protocol error: invalid multibulk length" */
	RESP_ERR_BULK_LEN,	/* "Protocol error: invalid bulk length" */
	RESP_ERR_EXPECTED_DOLLAR, /* "Protocol error: expected '$', got '%c'" */
	RESP_ERR_BIG_MBULK,	/* "Protocol error: too big mbulk count string" */
	RESP_ERR_BIG_BULK,	/* "Protocol error: too big bulk count string" */
	RESP_ERR_BIG_INLINE,	/* "Protocol error: too big inline request" */
	RESP_ERR_QUOTES,	/* "Protocol error: unbalanced quotes in request" */
	RESP_ERR_UNAUTH_MBULK,	/* "Protocol error: unauthenticated multibulk length" */
	RESP_ERR_UNAUTH_BULK,	/* "Protocol error: unauthenticated bulk length" */
};

struct resp_parser {
	/* Limits, set by the caller before parsing (0 means the default). */
	uint64_t max_bulk_len;	/* proto-max-bulk-len; default 512 MiB */
	int64_t max_args;	/* largest multibulk count accepted; default INT32_MAX */
	size_t max_inline;	/* longest inline line; default 64 KiB */
	int unauthenticated;	/* nonzero: Redis's limits for clients that have
				 * not authenticated (multibulk <= 10, bulk <= 16384) */

	/* Results and resumable state: read-only for the caller. */
	int64_t argc;		/* announced argument count (valid on NEED_ARGV
				 * and DONE); -1 while unknown */
	int64_t nargs;		/* arguments complete so far */
	int64_t bulk_len;	/* length of the bulk being read, -1 if none */
	size_t pos;		/* offset of the next byte to examine */
	size_t start;		/* offset where the current command starts */
	uint64_t need;		/* on NEED_MORE: a lower bound on how many bytes the
				 * buffer must hold in total (from its start) before
				 * progress is possible, 0 if unknown; lets the caller
				 * size its buffer for a large bulk in one step */
	enum resp_err err;	/* on RESP_ERROR */
	char err_byte;		/* the unexpected byte for RESP_ERR_EXPECTED_DOLLAR */
	int kind;		/* 0 not started, '*' multibulk, 'i' inline */
};

/* Prepares p for a new command starting at offset start of the buffer; limits
 * are kept. Call after every RESP_DONE, and after the caller compacts its
 * buffer (with the new start offset, normally 0). */
void resp_parser_reset(struct resp_parser *p, size_t start);

/*
 * Parses at most one command from buf[p->start .. len). argv has cap entries.
 * Returns:
 *  - RESP_DONE: argv[0 .. *argc) are the arguments (offsets into buf),
 *    *consumed is the offset just past the command. *argc may be 0: an empty
 *    inline line or a multibulk count <= 0 is a command with no arguments,
 *    which Redis skips silently; the caller skips it too.
 *  - RESP_NEED_MORE: everything so far is valid; call again with the same
 *    buf (possibly grown, same offsets) and argv entries when more bytes
 *    arrived.
 *  - RESP_NEED_ARGV: argv has no room for the next argument; grow it,
 *    keeping the entries filled, and call again. p->argc is the announced
 *    count, which a multibulk client chooses (up to max_args): grow
 *    geometrically toward it, e.g. to MIN(2 * cap, p->argc), so memory follows
 *    the arguments actually received; a caller that grows less than p->argc
 *    is simply asked again when the room runs out.
 *  - RESP_ERROR: p->err is set; the connection must be closed after the
 *    error reply (the stream can no longer be framed).
 */
int resp_parse(struct resp_parser *p, char *buf, size_t len,
	       struct resp_arg *argv, size_t cap, size_t *argc, size_t *consumed);

/* Writes the Redis wording of p->err (without the leading "-ERR ") into out
 * (NUL-terminated, truncated to cap). */
void resp_parse_strerror(const struct resp_parser *p, char *out, size_t cap);

#endif
