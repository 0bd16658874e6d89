/*
 * acl.c - users, their rules, and the permission check run before every
 * command.
 *
 * A user is a name, an on/off switch, flags, passwords and one selector:
 * the set of rules Redis 7.0 calls the root selector. Redis also allows
 * extra selectors "(...)"; strata does not (ACL GETUSER answers
 * selectors=[] as 7.0 does for a user without them).
 *
 * Passwords are kept only as SHA-256 digests (32 raw bytes, shown as 64
 * lowercase hex digits, which is what "#<hash>" takes). AUTH hashes the
 * candidate and compares it with each digest without an early exit on the
 * first differing byte.
 *
 * Commands are a bitmap indexed by cmd_id(), so a container and each of its
 * subcommands have their own bit and the check of a call is one bit test.
 * Rules act on it the way Redis's do:
 *   +cmd / -cmd      sets / clears the bit of cmd and, for a container, of
 *                    every subcommand;
 *   +cmd|sub         sets one subcommand's bit; for a command without
 *                    subcommands it instead allows the command when its
 *                    first argument is `sub` (a "first-arg", kept in a list
 *                    apart, used only while the command's bit is clear);
 *   +@cat / -@cat    does +cmd / -cmd for every command in the category
 *                    and then for every subcommand in it, in table order;
 *   +@all / -@all    sets / clears every bit and drops the first-args.
 * Two booleans ride along: `allcmds`, true from +@all until any bit is
 * cleared, a fast path for the check; and `future`, set by +@all and
 * cleared by -@all only, which says whether the rules read "+@all ..." or
 * "-@all ..." when described.
 *
 * Describing the command rules (ACL LIST, GETUSER, SAVE) rebuilds a short
 * rule list that gives the same bitmap: start from +@all or -@all, then
 * greedily take the category that agrees with the user's bits on more
 * commands than it disagrees, fewest disagreements first, and finish with
 * single +cmd / -cmd for what is left. This is how Redis 7.0 words it, so
 * simple rules read back as written ("+@all -debug", "-@all +@read").
 * Rule order among single commands follows strata's table, not Redis's
 * hash order. The result is re-applied to a scratch bitmap and must match:
 * a description that would not restore the user exactly is a bug (ASSERT).
 *
 * Keys: a list of glob patterns, each with read and/or write permission
 * (~p both, %R~p read, %W~p write; the same pattern twice merges its
 * permissions), or `allkeys`. A command needs write access to its keys if
 * it is CMD_WRITE, read access if CMD_READONLY, and just a matching pattern
 * otherwise. (Redis 7.0 decides per key from key specs, so it is finer:
 * e.g. SINTERSTORE's source keys need only read there, and INCR's key
 * needs read as well as write.) Channels: a list of glob patterns, or
 * `allchannels`; a new (or `reset`) user gets none, or every channel when
 * acl-pubsub-default is allchannels, as in 7.0.
 *
 * The table of users is a sorted array of pointers (byte order of names,
 * as Redis's radix tree lists them). It holds one reference to each user.
 * Changes build the new rules on a scratch user and move them into the real
 * one only when every op succeeded, so a failing ACL SETUSER changes
 * nothing. Threads and lifetime: see acl.h.
 */
#include "acl.h"
#include "cfg.h"
#include "cmd.h"
#include "log.h"
#include "mem.h"
#include "resp_write.h"
#include "sbuf.h"
#include "strutil.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define DIGEST_LEN	32		/* SHA-256 */
#define HEX_LEN		(DIGEST_LEN * 2)

#define KEY_READ	0x1		/* a key pattern grants reading */
#define KEY_WRITE	0x2		/* ... writing */
#define KEY_BOTH	(KEY_READ | KEY_WRITE)

/* User flags (acl_user.flags); "on" is a bool of its own. */
#define USER_NOPASS		0x1	/* nopass: every password is accepted */
#define USER_SANITIZE		0x2	/* sanitize-payload */
#define USER_SKIP_SANITIZE	0x4	/* skip-sanitize-payload */

struct acl_pat {
	char *p;			/* glob pattern, NUL-terminated (no spaces, no NUL) */
	size_t len;			/* its length */
	unsigned perm;			/* KEY_*: keys only */
};

/* "+cmd|arg" for a command denied as a whole. */
struct acl_firstarg {
	int id;				/* cmd_id() of the command */
	char *arg;			/* NUL-terminated, compared case-insensitively */
	size_t len;			/* its length */
};

struct acl_sel {
	uint64_t *cmds;			/* bit per cmd_id(); bits past ncmds stay 0 */
	bool allcmds;			/* +@all and no bit cleared since */
	bool future;			/* rules start from +@all (see the essay) */
	struct acl_firstarg *fa;	/* first-args, in the order added */
	int nfa;			/* entries of fa */
	struct acl_pat *keys;		/* key patterns, in the order added */
	int nkeys;			/* entries of keys */
	bool allkeys;			/* allkeys / ~*: keys is empty */
	struct acl_pat *chans;		/* channel patterns, in the order added */
	int nchans;			/* entries of chans */
	bool allchans;			/* allchannels / &*: chans is empty */
};

struct acl_user {
	char *name;			/* NUL-terminated; no spaces */
	size_t nlen;			/* its length */
	bool on;			/* may authenticate */
	unsigned flags;			/* USER_* */
	uint8_t (*pw)[DIGEST_LEN];	/* password digests, in the order added */
	int npw;			/* entries of pw */
	struct acl_sel sel;		/* what it may run and touch */
	int refs;			/* atomic: the table's and every client's */
	bool linked;			/* in the table */
};

/* Why an op was refused: index into op_errors[]. */
enum op_err {
	OPE_OK = 0,
	OPE_SYNTAX,		/* EINVAL */
	OPE_NOENT,		/* unknown command or category */
	OPE_KEYS_AFTER_ALL,	/* EEXIST */
	OPE_CHANS_AFTER_ALL,	/* EISDIR */
	OPE_NO_SUCH_PASS,	/* ENODEV */
	OPE_BAD_HASH,		/* EBADMSG */
	OPE_SUB_FIRSTARG,	/* ECHILD */
	OPE_SELECTOR,		/* "(...)": not in strata */
};

static const char *const op_errors[] = {
	/* concatenations in parentheses: one element each */
	[OPE_OK] = "",
	[OPE_SYNTAX] = "Syntax error",
	[OPE_NOENT] = "Unknown command or category name in ACL",
	[OPE_KEYS_AFTER_ALL] = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is "
				"not valid and does not have any effect. Try 'resetkeys' to start "
				"with an empty list of patterns"),
	[OPE_CHANS_AFTER_ALL] = ("Adding a pattern after the * pattern (or the 'allchannels' flag) "
				 "is not valid and does not have any effect. Try 'resetchannels' to "
				 "start with an empty list of channels"),
	[OPE_NO_SUCH_PASS] = ("The password you are trying to remove from the user does not "
			      "exist"),
	[OPE_BAD_HASH] = ("The password hash must be exactly 64 characters and contain only "
			  "lowercase hexadecimal characters"),
	[OPE_SUB_FIRSTARG] = "Allowing first-arg of a subcommand is not supported",
	[OPE_SELECTOR] = "Selectors are not supported",
};

static const char *const cat_names[ACL_NCATS] = {
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting",
};

void (*acl_on_user_changed)(struct acl_user *u, bool deleted);

static struct acl_user **users;		/* sorted by name */
static int nusers, capusers;
static struct acl_user *default_user;
static int ncmds;			/* cmd_count_all() at acl_init */
static int nwords;			/* uint64_t words of a command bitmap */

/* ---- small helpers ---- */

static bool has_space_or_nul(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0 || c == ' ' || (c >= '\t' && c <= '\r'))
			return true;
	}
	return false;
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, MIN(alen, blen));

	if (r)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static void sha256(const void *p, size_t len, uint8_t out[DIGEST_LEN])
{
	unsigned int olen = DIGEST_LEN;
	int ok = EVP_Digest(p, len, out, &olen, EVP_sha256(), NULL);

	ASSERT(ok == 1 && olen == DIGEST_LEN);
}

static void hex_encode(const uint8_t *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
}

/* "#hash" and "!hash": exactly 64 lowercase hex digits. */
static bool hex_decode_digest(const char *s, size_t len, uint8_t out[DIGEST_LEN])
{
	if (len != HEX_LEN)
		return false;
	for (size_t i = 0; i < HEX_LEN; i++) {
		char c = s[i];
		int v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return false;
		if (i % 2)
			out[i / 2] = (uint8_t)(out[i / 2] | v);
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	return true;
}

static bool bit_get(const uint64_t *bm, int id)
{
	return (bm[id / 64] >> (id % 64)) & 1;
}

static void bit_put(uint64_t *bm, int id, bool on)
{
	if (on)
		bm[id / 64] |= 1ull << (id % 64);
	else
		bm[id / 64] &= ~(1ull << (id % 64));
}

/* Every command bit on (only the ncmds real ones). */
static void bits_fill(uint64_t *bm)
{
	for (int i = 0; i < nwords; i++)
		bm[i] = 0;
	for (int id = 0; id < ncmds; id++)
		bit_put(bm, id, true);
}

/* ---- selectors ---- */

static void pats_free(struct acl_pat *p, int n)
{
	for (int i = 0; i < n; i++)
		mem_free(p[i].p);
	mem_free(p);
}

static void sel_reset_firstargs(struct acl_sel *s)
{
	for (int i = 0; i < s->nfa; i++)
		mem_free(s->fa[i].arg);
	mem_free(s->fa);
	s->fa = NULL;
	s->nfa = 0;
}

static void sel_reset_firstargs_of(struct acl_sel *s, int id)
{
	int j = 0;

	for (int i = 0; i < s->nfa; i++) {
		if (s->fa[i].id == id)
			mem_free(s->fa[i].arg);
		else
			s->fa[j++] = s->fa[i];
	}
	s->nfa = j;
}

static void sel_reset_keys(struct acl_sel *s)
{
	pats_free(s->keys, s->nkeys);
	s->keys = NULL;
	s->nkeys = 0;
}

static void sel_reset_chans(struct acl_sel *s)
{
	pats_free(s->chans, s->nchans);
	s->chans = NULL;
	s->nchans = 0;
}

static void sel_init(struct acl_sel *s)
{
	memset(s, 0, sizeof(*s));
	s->cmds = mem_calloc((size_t)nwords, sizeof(uint64_t));
}

static void sel_destroy(struct acl_sel *s)
{
	mem_free(s->cmds);
	sel_reset_firstargs(s);
	sel_reset_keys(s);
	sel_reset_chans(s);
	memset(s, 0, sizeof(*s));
}

static struct acl_pat *pats_dup(const struct acl_pat *p, int n)
{
	struct acl_pat *d;

	if (!n)
		return NULL;
	d = mem_alloc((size_t)n * sizeof(*d));
	for (int i = 0; i < n; i++) {
		d[i] = p[i];
		d[i].p = mem_strndup(p[i].p, p[i].len);
	}
	return d;
}

static void sel_copy(struct acl_sel *dst, const struct acl_sel *src)
{
	sel_init(dst);
	memcpy(dst->cmds, src->cmds, (size_t)nwords * sizeof(uint64_t));
	dst->allcmds = src->allcmds;
	dst->future = src->future;
	if (src->nfa) {
		dst->fa = mem_alloc((size_t)src->nfa * sizeof(*dst->fa));
		for (int i = 0; i < src->nfa; i++) {
			dst->fa[i] = src->fa[i];
			dst->fa[i].arg = mem_strndup(src->fa[i].arg, src->fa[i].len);
		}
		dst->nfa = src->nfa;
	}
	dst->keys = pats_dup(src->keys, src->nkeys);
	dst->nkeys = src->nkeys;
	dst->allkeys = src->allkeys;
	dst->chans = pats_dup(src->chans, src->nchans);
	dst->nchans = src->nchans;
	dst->allchans = src->allchans;
}

static void sel_put_bit(struct acl_sel *s, int id, bool allow)
{
	bit_put(s->cmds, id, allow);
	if (!allow)
		s->allcmds = false;
}

/* +cmd / -cmd: the command, and every subcommand of a container. */
static void sel_change_cmd(struct acl_sel *s, const struct cmd_def *c, bool allow)
{
	int id = cmd_id(c);

	sel_put_bit(s, id, allow);
	sel_reset_firstargs_of(s, id);
	if (c->subcmds)
		for (const struct cmd_def *sub = c->subcmds; sub->name; sub++)
			sel_put_bit(s, cmd_id(sub), allow);
}

/* +@cat / -@cat. Ids run container, then its subcommands, so visiting
 * them in order applies a container before its own subcommands. */
static void sel_change_cat(struct acl_sel *s, int cat, bool allow)
{
	for (int id = 0; id < ncmds; id++) {
		const struct cmd_def *c = cmd_by_id(id);

		if (c->acl & ACL(cat))
			sel_change_cmd(s, c, allow);
	}
}

static void sel_all(struct acl_sel *s, bool allow)
{
	if (allow)
		bits_fill(s->cmds);
	else
		memset(s->cmds, 0, (size_t)nwords * sizeof(uint64_t));
	s->allcmds = allow;
	s->future = allow;
	sel_reset_firstargs(s);
}

static void sel_add_firstarg(struct acl_sel *s, int id, const char *arg, size_t len)
{
	for (int i = 0; i < s->nfa; i++)
		if (s->fa[i].id == id && s->fa[i].len == len &&
		    strutil_eq_nocase(arg, len, s->fa[i].arg))
			return;
	s->fa = mem_realloc(s->fa, (size_t)(s->nfa + 1) * sizeof(*s->fa));
	s->fa[s->nfa].id = id;
	s->fa[s->nfa].arg = mem_strndup(arg, len);
	s->fa[s->nfa].len = len;
	s->nfa++;
}

/* Appends a pattern unless present; for keys an existing pattern gains the
 * new permissions. */
static void pats_add(struct acl_pat **pp, int *n, const char *p, size_t len, unsigned perm)
{
	for (int i = 0; i < *n; i++) {
		if ((*pp)[i].len == len && !memcmp((*pp)[i].p, p, len)) {
			(*pp)[i].perm |= perm;
			return;
		}
	}
	*pp = mem_realloc(*pp, (size_t)(*n + 1) * sizeof(**pp));
	(*pp)[*n].p = mem_strndup(p, len);
	(*pp)[*n].len = len;
	(*pp)[*n].perm = perm;
	(*n)++;
}

/*
 * The command an ACL rule names: "get", or "config|get" (exactly one '|';
 * the part after it must be a subcommand of a container). Case-insensitive.
 */
static const struct cmd_def *rule_lookup(const char *name, size_t len)
{
	const char *bar = memchr(name, '|', len);
	const struct cmd_def *c;
	size_t blen;

	if (!bar)
		return cmd_lookup(name, len);
	blen = (size_t)(bar - name);
	if (memchr(bar + 1, '|', len - blen - 1))
		return NULL;
	c = cmd_lookup(name, blen);
	if (!c || !c->subcmds)
		return NULL;
	return cmd_lookup_sub(c, bar + 1, len - blen - 1);
}

/* "+name" with a '|': a subcommand, or a first-arg. */
static enum op_err sel_allow_with_bar(struct acl_sel *s, const char *name, size_t len)
{
	const char *bar = name + len;
	const struct cmd_def *c, *sub;
	size_t blen;

	while (*--bar != '|')
		;
	blen = (size_t)(bar - name);
	c = rule_lookup(name, blen);
	if (!c)
		return OPE_NOENT;
	if (cmd_parent(c))
		return OPE_SUB_FIRSTARG;
	if (blen + 1 == len)
		return OPE_SYNTAX;		/* "+debug|" */
	if (c->subcmds) {
		sub = cmd_lookup_sub(c, bar + 1, len - blen - 1);
		if (!sub)
			return OPE_NOENT;
		sel_change_cmd(s, sub, true);
		return OPE_OK;
	}
	log_warning("Deprecation warning: Allowing a first arg of an otherwise blocked command "
		    "is a misuse of ACL and may get disabled in the future (offender: +%.*s)",
		    (int)MIN(len, (size_t)256), name);
	sel_add_firstarg(s, cmd_id(c), bar + 1, len - blen - 1);
	return OPE_OK;
}

/* A selector rule: keys, channels, commands. */
static enum op_err sel_apply(struct acl_sel *s, const char *op, size_t len)
{
	if (strutil_eq_nocase(op, len, "allkeys") || strutil_eq_nocase(op, len, "~*")) {
		s->allkeys = true;
		sel_reset_keys(s);
	} else if (strutil_eq_nocase(op, len, "resetkeys")) {
		s->allkeys = false;
		sel_reset_keys(s);
	} else if (strutil_eq_nocase(op, len, "allchannels") || strutil_eq_nocase(op, len, "&*")) {
		s->allchans = true;
		sel_reset_chans(s);
	} else if (strutil_eq_nocase(op, len, "resetchannels")) {
		s->allchans = false;
		sel_reset_chans(s);
	} else if (strutil_eq_nocase(op, len, "allcommands") || strutil_eq_nocase(op, len, "+@all")) {
		sel_all(s, true);
	} else if (strutil_eq_nocase(op, len, "nocommands") || strutil_eq_nocase(op, len, "-@all")) {
		sel_all(s, false);
	} else if (op[0] == '~' || op[0] == '%') {
		unsigned perm = 0;
		size_t i = 1;

		if (s->allkeys)
			return OPE_KEYS_AFTER_ALL;
		if (op[0] == '%') {
			/* %R~, %W~, %RW~ (either order, each at most once) */
			for (; i < len; i++) {
				char c = op[i];

				if ((c == 'R' || c == 'r') && !(perm & KEY_READ)) {
					perm |= KEY_READ;
				} else if ((c == 'W' || c == 'w') && !(perm & KEY_WRITE)) {
					perm |= KEY_WRITE;
				} else if (c == '~') {
					i++;
					break;
				} else {
					return OPE_SYNTAX;
				}
			}
			if (!perm)
				return OPE_SYNTAX;
		} else {
			perm = KEY_BOTH;
		}
		if (has_space_or_nul(op + i, len - i))
			return OPE_SYNTAX;
		pats_add(&s->keys, &s->nkeys, op + i, len - i, perm);
		s->allkeys = false;
	} else if (op[0] == '&') {
		if (s->allchans)
			return OPE_CHANS_AFTER_ALL;
		if (has_space_or_nul(op + 1, len - 1))
			return OPE_SYNTAX;
		pats_add(&s->chans, &s->nchans, op + 1, len - 1, 0);
		s->allchans = false;
	} else if (op[0] == '+' && (len < 2 || op[1] != '@')) {
		const struct cmd_def *c;

		if (memchr(op + 1, '|', len - 1))
			return sel_allow_with_bar(s, op + 1, len - 1);
		c = rule_lookup(op + 1, len - 1);
		if (!c)
			return OPE_NOENT;
		sel_change_cmd(s, c, true);
	} else if (op[0] == '-' && (len < 2 || op[1] != '@')) {
		const struct cmd_def *c = rule_lookup(op + 1, len - 1);

		if (!c)
			return OPE_NOENT;
		sel_change_cmd(s, c, false);
	} else if (op[0] == '+' || op[0] == '-') {
		int cat = acl_category_lookup(op + 2, len - 2);

		if (cat < 0)
			return OPE_NOENT;
		sel_change_cat(s, cat, op[0] == '+');
	} else {
		return OPE_SYNTAX;
	}
	return OPE_OK;
}

/* ---- users ---- */

/* A new user: off, no passwords, no keys, -@all, and the channels
 * acl-pubsub-default gives (none, or every channel). */
static struct acl_user *user_new(const char *name, size_t nlen)
{
	struct acl_user *u = mem_calloc(1, sizeof(*u));

	u->name = mem_strndup(name, nlen);
	u->nlen = nlen;
	u->refs = 1;
	sel_init(&u->sel);
	u->sel.allchans = cfg.acl_pubsub_default == ACL_PUBSUB_ALLCHANNELS;
	return u;
}

static void user_free(struct acl_user *u)
{
	sel_destroy(&u->sel);
	mem_free(u->pw);
	mem_free(u->name);
	mem_free(u);
}

/* Copies the rules (not the name, refs or link) of src into a fresh dst. */
static void user_copy_rules(struct acl_user *dst, const struct acl_user *src)
{
	dst->on = src->on;
	dst->flags = src->flags;
	dst->npw = src->npw;
	dst->pw = NULL;
	if (src->npw) {
		dst->pw = mem_alloc((size_t)src->npw * DIGEST_LEN);
		memcpy(dst->pw, src->pw, (size_t)src->npw * DIGEST_LEN);
	}
	sel_destroy(&dst->sel);
	sel_copy(&dst->sel, &src->sel);
}

/* Moves the rules of src into dst (dst's old rules are freed); src is left
 * without rules, to be freed with user_free(). */
static void user_move_rules(struct acl_user *dst, struct acl_user *src)
{
	sel_destroy(&dst->sel);
	mem_free(dst->pw);
	dst->on = src->on;
	dst->flags = src->flags;
	dst->pw = src->pw;
	dst->npw = src->npw;
	dst->sel = src->sel;
	src->pw = NULL;
	src->npw = 0;
	sel_init(&src->sel);
}

static int pw_find(const struct acl_user *u, const uint8_t d[DIGEST_LEN])
{
	for (int i = 0; i < u->npw; i++)
		if (!memcmp(u->pw[i], d, DIGEST_LEN))
			return i;
	return -1;
}

static void pw_add(struct acl_user *u, const uint8_t d[DIGEST_LEN])
{
	if (pw_find(u, d) < 0) {
		u->pw = mem_realloc(u->pw, (size_t)(u->npw + 1) * DIGEST_LEN);
		memcpy(u->pw[u->npw++], d, DIGEST_LEN);
	}
	u->flags &= ~USER_NOPASS;
}

static enum op_err pw_del(struct acl_user *u, const uint8_t d[DIGEST_LEN])
{
	int i = pw_find(u, d);

	if (i < 0)
		return OPE_NO_SUCH_PASS;
	memmove(u->pw[i], u->pw[i + 1], (size_t)(u->npw - i - 1) * DIGEST_LEN);
	u->npw--;
	return OPE_OK;
}

static void pw_reset(struct acl_user *u)
{
	mem_free(u->pw);
	u->pw = NULL;
	u->npw = 0;
}

/* One ACL SETUSER op on u. */
static enum op_err user_apply(struct acl_user *u, const char *op, size_t len)
{
	uint8_t d[DIGEST_LEN];

	if (!len)
		return OPE_OK;
	if (strutil_eq_nocase(op, len, "on")) {
		u->on = true;
	} else if (strutil_eq_nocase(op, len, "off")) {
		u->on = false;
	} else if (strutil_eq_nocase(op, len, "skip-sanitize-payload")) {
		u->flags = (u->flags & ~USER_SANITIZE) | USER_SKIP_SANITIZE;
	} else if (strutil_eq_nocase(op, len, "sanitize-payload")) {
		u->flags = (u->flags & ~USER_SKIP_SANITIZE) | USER_SANITIZE;
	} else if (strutil_eq_nocase(op, len, "nopass")) {
		u->flags |= USER_NOPASS;
		pw_reset(u);
	} else if (strutil_eq_nocase(op, len, "resetpass")) {
		u->flags &= ~USER_NOPASS;
		pw_reset(u);
	} else if (op[0] == '>') {
		sha256(op + 1, len - 1, d);
		pw_add(u, d);
	} else if (op[0] == '#') {
		if (!hex_decode_digest(op + 1, len - 1, d))
			return OPE_BAD_HASH;
		pw_add(u, d);
	} else if (op[0] == '<') {
		sha256(op + 1, len - 1, d);
		return pw_del(u, d);
	} else if (op[0] == '!') {
		if (!hex_decode_digest(op + 1, len - 1, d))
			return OPE_BAD_HASH;
		return pw_del(u, d);
	} else if (op[0] == '(') {
		return OPE_SELECTOR;
	} else if (strutil_eq_nocase(op, len, "clearselectors")) {
		/* no selectors besides the root one: nothing to clear */
	} else if (strutil_eq_nocase(op, len, "reset")) {
		u->flags &= ~USER_NOPASS;
		pw_reset(u);
		u->sel.allkeys = false;
		sel_reset_keys(&u->sel);
		u->sel.allchans = cfg.acl_pubsub_default == ACL_PUBSUB_ALLCHANNELS;
		sel_reset_chans(&u->sel);
		u->on = false;
		u->flags = (u->flags & ~USER_SKIP_SANITIZE) | USER_SANITIZE;
		sel_all(&u->sel, false);
	} else {
		return sel_apply(&u->sel, op, len);
	}
	return OPE_OK;
}

/* Applies a whole rule list to u; on failure *bad is the failing op. */
static enum op_err user_apply_all(struct acl_user *u, int nops, const struct cmd_arg *ops, int *bad)
{
	for (int i = 0; i < nops; i++) {
		enum op_err e = user_apply(u, ops[i].p, ops[i].len);

		if (e != OPE_OK) {
			*bad = i;
			return e;
		}
	}
	return OPE_OK;
}

/* The default user's rules: on nopass ~* &* +@all. */
static void user_make_default(struct acl_user *u)
{
	static const char *const ops[] = { "+@all", "~*", "&*", "on", "nopass" };

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		enum op_err e = user_apply(u, ops[i], strlen(ops[i]));

		ASSERT(e == OPE_OK);
	}
}

/* ---- the table ---- */

/* Index of name, or -(insertion point) - 1. */
static int table_find(struct acl_user **tab, int n, const char *name, size_t len)
{
	int lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int r = name_cmp(tab[mid]->name, tab[mid]->nlen, name, len);

		if (!r)
			return mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

static void table_insert(struct acl_user ***tab, int *n, int *cap, struct acl_user *u)
{
	int at = table_find(*tab, *n, u->name, u->nlen);

	ASSERT(at < 0);
	at = -at - 1;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*tab = mem_realloc(*tab, (size_t)*cap * sizeof(**tab));
	}
	memmove(*tab + at + 1, *tab + at, (size_t)(*n - at) * sizeof(**tab));
	(*tab)[at] = u;
	(*n)++;
	u->linked = true;
}

static void table_remove_at(int at)
{
	users[at]->linked = false;
	memmove(users + at, users + at + 1, (size_t)(nusers - at - 1) * sizeof(*users));
	nusers--;
}

static void notify(struct acl_user *u, bool deleted)
{
	if (acl_on_user_changed)
		acl_on_user_changed(u, deleted);
}

/* acl_init() may also run lazily from the first entry point used (a shard
 * thread, before main calls it): the flag is read with acquire so a thread
 * that sees it set also sees the table built; building is serialised. */
static int inited;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

void acl_init(void)
{
	if (__atomic_load_n(&inited, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&init_lock);
	if (!inited) {
		cmd_init();
		ncmds = cmd_count_all();
		nwords = (ncmds + 63) / 64;
		default_user = user_new("default", 7);
		user_make_default(default_user);
		table_insert(&users, &nusers, &capusers, default_user);
		acl_set_requirepass(cfg.requirepass, cfg.requirepass_len);
		__atomic_store_n(&inited, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&init_lock);
}

static void conf_users_free(void);

void acl_free_all(void)
{
	conf_users_free();
	acl_log_reset();
	for (int i = 0; i < nusers; i++) {
		users[i]->linked = false;
		acl_user_release(users[i]);
	}
	mem_free(users);
	users = NULL;
	nusers = capusers = 0;
	default_user = NULL;
	__atomic_store_n(&inited, 0, __ATOMIC_RELEASE);
}

struct acl_user *acl_default_user(void)
{
	acl_init();
	return default_user;
}

bool acl_default_needs_auth(void)
{
	acl_init();
	return !(default_user->on && (default_user->flags & USER_NOPASS));
}

struct acl_user *acl_user_lookup(const char *name, size_t len)
{
	int at;

	acl_init();
	at = table_find(users, nusers, name, len);

	return at >= 0 ? users[at] : NULL;
}

struct acl_user *acl_user_hold(struct acl_user *u)
{
	if (u)
		__atomic_fetch_add(&u->refs, 1, __ATOMIC_RELAXED);
	return u;
}

void acl_user_release(struct acl_user *u)
{
	/* acq_rel: the thread that frees must see every other holder's last
	 * reads of u done. */
	if (u && __atomic_sub_fetch(&u->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		ASSERT(!u->linked);
		user_free(u);
	}
}

const char *acl_user_name(const struct acl_user *u, size_t *len)
{
	if (len)
		*len = u->nlen;
	return u->name;
}

bool acl_user_is_on(const struct acl_user *u)
{
	return u->on;
}

bool acl_user_is_nopass(const struct acl_user *u)
{
	return (u->flags & USER_NOPASS) != 0;
}

int acl_user_count(void)
{
	acl_init();
	return nusers;
}

struct acl_user *acl_user_at(int i)
{
	ASSERT(i >= 0 && i < nusers);
	return users[i];
}

struct acl_user *acl_authenticate(const char *user, size_t ulen, const char *pass, size_t plen)
{
	struct acl_user *u = acl_user_lookup(user, ulen);
	uint8_t d[DIGEST_LEN];
	bool match = false;

	if (!u || !u->on)
		return NULL;
	if (u->flags & USER_NOPASS)
		return u;
	sha256(pass, plen, d);
	for (int i = 0; i < u->npw; i++)
		match |= CRYPTO_memcmp(u->pw[i], d, DIGEST_LEN) == 0;
	return match ? u : NULL;
}

void acl_set_requirepass(const char *pass, size_t len)
{
	if (!default_user)
		return;
	pw_reset(default_user);
	if (pass && len) {
		uint8_t d[DIGEST_LEN];

		sha256(pass, len, d);
		pw_add(default_user, d);	/* clears nopass */
	} else {
		default_user->flags |= USER_NOPASS;
	}
}

int acl_setuser(const char *name, size_t nlen, int nops, const struct cmd_arg *ops, char **err)
{
	struct acl_user *u, *tmp;
	enum op_err e;
	int bad = 0;

	acl_init();
	if (has_space_or_nul(name, nlen)) {
		*err = mem_strndup("Usernames can't contain spaces or null characters", 49);
		return -1;
	}
	u = acl_user_lookup(name, nlen);
	tmp = user_new(name, nlen);
	if (u)
		user_copy_rules(tmp, u);
	e = user_apply_all(tmp, nops, ops, &bad);
	if (e != OPE_OK) {
		struct sbuf b = { 0 };

		sbuf_printf(&b, "Error in ACL SETUSER modifier '%.*s': %s",
			    (int)ops[bad].len, ops[bad].p, op_errors[e]);
		sbuf_append_char(&b, '\0');
		*err = b.p;
		user_free(tmp);
		return -1;
	}
	if (!u) {
		table_insert(&users, &nusers, &capusers, tmp);
		return 0;
	}
	user_move_rules(u, tmp);
	user_free(tmp);
	notify(u, false);
	return 0;
}

/* ---- users declared in the config file ---- */

/* One "user" line: the name, then the rules, as given. */
struct conf_user {
	char **words;			/* name and rules, NUL-terminated */
	int nwords;			/* entries of words */
};

static struct conf_user *conf_users;	/* in the order declared */
static int nconf_users;

static void conf_users_free(void)
{
	for (int i = 0; i < nconf_users; i++) {
		for (int k = 0; k < conf_users[i].nwords; k++)
			mem_free(conf_users[i].words[k]);
		mem_free(conf_users[i].words);
	}
	mem_free(conf_users);
	conf_users = NULL;
	nconf_users = 0;
}

static char *strf_user_decl(const char *what, const char *why)
{
	struct sbuf b = { 0 };

	sbuf_printf(&b, "Error in user declaration '%s': %s", what, why);
	sbuf_append_char(&b, '\0');
	return b.p;
}

int acl_config_user_add(int argc, char *const *argv, char **err)
{
	struct acl_user *scratch;
	struct conf_user *cu;

	acl_init();
	if (has_space_or_nul(argv[0], strlen(argv[0]))) {
		*err = strf_user_decl(argv[0], "Usernames can't contain spaces or null characters");
		return -1;
	}
	for (int i = 0; i < nconf_users; i++) {
		if (!strcmp(conf_users[i].words[0], argv[0])) {
			*err = strf_user_decl(argv[0], "Duplicate user found. A user can only be "
						       "defined once in config files");
			return -1;
		}
	}
	/* The rules must hold on a fresh user, which is what they will be
	 * applied to. */
	scratch = user_new(argv[0], strlen(argv[0]));
	for (int i = 1; i < argc; i++) {
		enum op_err e = user_apply(scratch, argv[i], strlen(argv[i]));

		if (e != OPE_OK) {
			*err = strf_user_decl(argv[i], op_errors[e]);
			user_free(scratch);
			return -1;
		}
	}
	user_free(scratch);
	conf_users = mem_realloc(conf_users, (size_t)(nconf_users + 1) * sizeof(*conf_users));
	cu = &conf_users[nconf_users++];
	cu->nwords = argc;
	cu->words = mem_alloc((size_t)argc * sizeof(*cu->words));
	for (int i = 0; i < argc; i++)
		cu->words[i] = mem_strndup(argv[i], strlen(argv[i]));
	return 0;
}

int acl_config_user_count(void)
{
	return nconf_users;
}

int acl_config_users_load(char **err)
{
	acl_init();
	for (int i = 0; i < nconf_users; i++) {
		const struct conf_user *cu = &conf_users[i];
		struct acl_user *u = acl_user_lookup(cu->words[0], strlen(cu->words[0]));

		if (!u) {
			u = user_new(cu->words[0], strlen(cu->words[0]));
			table_insert(&users, &nusers, &capusers, u);
		} else {
			/* Only "default" exists before: its line replaces it. */
			user_apply(u, "reset", 5);
		}
		for (int k = 1; k < cu->nwords; k++) {
			enum op_err e = user_apply(u, cu->words[k], strlen(cu->words[k]));

			if (e != OPE_OK) {
				struct sbuf b = { 0 };

				sbuf_printf(&b, "Error loading ACL rule '%s' for the user named '%s': %s",
					    cu->words[k], cu->words[0], op_errors[e]);
				sbuf_append_char(&b, '\0');
				*err = b.p;
				conf_users_free();
				return -1;
			}
		}
		if (!u->on)
			log_notice("The user '%s' is disabled (there is no 'on' modifier in the user "
				   "description). Make sure this is not a configuration error.",
				   cu->words[0]);
	}
	conf_users_free();
	return 0;
}

int acl_deluser(const char *name, size_t nlen)
{
	struct acl_user *u;
	int at;

	acl_init();
	at = table_find(users, nusers, name, nlen);
	if (at < 0)
		return 0;
	u = users[at];
	ASSERT(u != default_user);
	table_remove_at(at);
	notify(u, true);
	acl_user_release(u);
	return 1;
}

/* ---- checks ---- */

static bool pats_match(const struct acl_pat *p, int n, const char *s, size_t len, unsigned need)
{
	for (int i = 0; i < n; i++)
		if ((p[i].perm & need) == need && strutil_glob_match(p[i].p, p[i].len, s, len, false))
			return true;
	return false;
}

static bool chan_ok(const struct acl_sel *s, const char *ch, size_t len, bool is_pattern)
{
	if (s->allchans)
		return true;
	for (int i = 0; i < s->nchans; i++) {
		const struct acl_pat *p = &s->chans[i];

		if (is_pattern ? (p->len == len && !memcmp(p->p, ch, len))
			       : strutil_glob_match(p->p, p->len, ch, len, false))
			return true;
	}
	return false;
}

bool acl_channel_allowed(const struct acl_user *u, const char *channel, size_t len, bool is_pattern)
{
	return !u || chan_ok(&u->sel, channel, len, is_pattern);
}

/* Commands whose arguments name channels (Redis 7.0's list; the
 * unsubscribe commands are not checked). */
static const struct {
	const char *name;
	bool all_args;		/* every argument from 1, else argv[1] only */
	bool pattern;		/* PSUBSCRIBE: patterns matched literally */
} chan_cmds[] = {
	{ "publish", false, false },
	{ "spublish", false, false },
	{ "subscribe", true, false },
	{ "ssubscribe", true, false },
	{ "psubscribe", true, true },
};

static int check_channels(const struct acl_sel *s, const struct cmd_def *cmd, int argc,
			  const struct cmd_arg *argv, int *bad_arg)
{
	if (s->allchans || cmd_parent(cmd))
		return ACL_OK;
	for (size_t k = 0; k < ARRAY_SIZE(chan_cmds); k++) {
		int last;

		if (strcmp(cmd->name, chan_cmds[k].name))
			continue;
		last = chan_cmds[k].all_args ? argc - 1 : MIN(1, argc - 1);
		for (int i = 1; i <= last; i++) {
			if (!chan_ok(s, argv[i].p, argv[i].len, chan_cmds[k].pattern)) {
				if (bad_arg)
					*bad_arg = i;
				return ACL_DENIED_CHANNEL;
			}
		}
		break;
	}
	return ACL_OK;
}

static int check_keys(const struct acl_sel *s, const struct cmd_def *cmd, int argc,
		      const struct cmd_arg *argv, int *bad_arg)
{
	int small[16], *idx = small, n, ret = ACL_OK;
	unsigned need = 0;

	if (s->allkeys)
		return ACL_OK;
	n = cmd_keys(cmd, argc, argv, idx, (int)ARRAY_SIZE(small));
	if (n <= 0)
		return ACL_OK;	/* none, or malformed: the handler replies the error */
	if (n > (int)ARRAY_SIZE(small)) {
		idx = mem_alloc((size_t)n * sizeof(int));
		n = cmd_keys(cmd, argc, argv, idx, n);
	}
	if (cmd->flags & CMD_WRITE)
		need |= KEY_WRITE;
	if (cmd->flags & CMD_READONLY)
		need |= KEY_READ;
	for (int i = 0; i < n; i++) {
		if (idx[i] <= 0 || idx[i] >= argc)
			continue;
		if (!pats_match(s->keys, s->nkeys, argv[idx[i]].p, argv[idx[i]].len, need)) {
			if (bad_arg)
				*bad_arg = idx[i];
			ret = ACL_DENIED_KEY;
			break;
		}
	}
	if (idx != small)
		mem_free(idx);
	return ret;
}

static bool check_cmd(const struct acl_sel *s, const struct cmd_def *cmd, int argc,
		      const struct cmd_arg *argv)
{
	int id, ai;

	if (s->allcmds || (cmd->flags & CMD_NO_AUTH))
		return true;
	id = cmd_id(cmd);
	if (bit_get(s->cmds, id))
		return true;
	ai = cmd_parent(cmd) ? 2 : 1;
	if (argc <= ai)
		return false;
	for (int i = 0; i < s->nfa; i++)
		if (s->fa[i].id == id && argv[ai].len == s->fa[i].len &&
		    strutil_eq_nocase(argv[ai].p, argv[ai].len, s->fa[i].arg))
			return true;
	return false;
}

int acl_check(const struct acl_user *u, const struct cmd_def *cmd, int argc,
	      const struct cmd_arg *argv, int *bad_arg)
{
	int ret;

	if (!u)
		return ACL_OK;
	if (!check_cmd(&u->sel, cmd, argc, argv))
		return ACL_DENIED_CMD;
	ret = check_keys(&u->sel, cmd, argc, argv, bad_arg);
	if (ret != ACL_OK)
		return ret;
	return check_channels(&u->sel, cmd, argc, argv, bad_arg);
}

const char *acl_denied_msg(int result, const struct cmd_def *cmd, char *buf, size_t cap)
{
	char name[160];

	switch (result) {
	case ACL_DENIED_CMD:
		snprintf(buf, cap, "-NOPERM this user has no permissions to run the '%s' command",
			 cmd_fullname(cmd, name, sizeof(name)));
		break;
	case ACL_DENIED_KEY:
		snprintf(buf, cap, "-NOPERM this user has no permissions to access one of the keys "
				   "used as arguments");
		break;
	case ACL_DENIED_CHANNEL:
		snprintf(buf, cap, "-NOPERM this user has no permissions to access one of the "
				   "channels used as arguments");
		break;
	default:
		snprintf(buf, cap, "no permission");
		break;
	}
	return buf;
}

/* ---- descriptions ---- */

int acl_category_lookup(const char *name, size_t len)
{
	for (int i = 0; i < ACL_NCATS; i++)
		if (strutil_eq_nocase(name, len, cat_names[i]))
			return i;
	return -1;
}

const char *acl_category_name(int cat)
{
	ASSERT(cat >= 0 && cat < ACL_NCATS);
	return cat_names[cat];
}

/* Commands of category cat with their bit on and off in bm. */
static void cat_count(const uint64_t *bm, int cat, int *on, int *off)
{
	*on = *off = 0;
	for (int id = 0; id < ncmds; id++) {
		if (!(cmd_by_id(id)->acl & ACL(cat)))
			continue;
		if (bit_get(bm, id))
			(*on)++;
		else
			(*off)++;
	}
}

/* The command rules of s, as described in the essay, appended to b. */
static void describe_cmds(const struct acl_sel *s, struct sbuf *b)
{
	struct acl_sel fake, temp;
	bool additive = !s->future, applied[ACL_NCATS] = { false };
	char name[160];

	/* fake: what the rules written so far give; temp: the user's bits
	 * with the categories already written taken out. Only their bitmaps
	 * are used. */
	sel_init(&fake);
	sel_init(&temp);
	sel_all(&fake, !additive);
	memcpy(temp.cmds, s->cmds, (size_t)nwords * sizeof(uint64_t));
	sbuf_append_str(b, additive ? "-@all" : "+@all");
	for (;;) {
		int best = -1, mindiff = ncmds + 1, maxsame = 0;

		for (int cat = 0; cat < ACL_NCATS; cat++) {
			int on, off, diff, same;

			if (applied[cat])
				continue;
			cat_count(temp.cmds, cat, &on, &off);
			diff = additive ? off : on;
			same = additive ? on : off;
			if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
				best = cat;
				mindiff = diff;
				maxsame = same;
			}
		}
		if (best < 0)
			break;
		sel_change_cat(&fake, best, additive);
		sel_change_cat(&temp, best, !additive);
		sbuf_printf(b, " %c@%s", additive ? '+' : '-', cat_names[best]);
		applied[best] = true;
	}
	for (int id = 0; id < ncmds; id++) {
		const struct cmd_def *c = cmd_by_id(id);
		bool ubit = bit_get(s->cmds, id);

		if (ubit != bit_get(fake.cmds, id)) {
			sbuf_printf(b, " %c%s", ubit ? '+' : '-', cmd_fullname(c, name, sizeof(name)));
			sel_change_cmd(&fake, c, ubit);
		}
		if (!ubit)
			for (int i = 0; i < s->nfa; i++)
				if (s->fa[i].id == id)
					sbuf_printf(b, " +%s|%s", cmd_fullname(c, name, sizeof(name)),
						    s->fa[i].arg);
	}
	ASSERT(!memcmp(fake.cmds, s->cmds, (size_t)nwords * sizeof(uint64_t)));
	sel_destroy(&fake);
	sel_destroy(&temp);
}

static void describe_key_pat(const struct acl_pat *p, struct sbuf *b)
{
	sbuf_append_str(b, p->perm == KEY_BOTH ? "~" : p->perm == KEY_READ ? "%R~" : "%W~");
	sbuf_append(b, p->p, p->len);
}

/* GETUSER's "keys": "~*" or the patterns separated by spaces. */
static void describe_keys(const struct acl_sel *s, struct sbuf *b)
{
	if (s->allkeys) {
		sbuf_append_str(b, "~*");
		return;
	}
	for (int i = 0; i < s->nkeys; i++) {
		if (i)
			sbuf_append_char(b, ' ');
		describe_key_pat(&s->keys[i], b);
	}
}

/* GETUSER's "channels": "&*" or the patterns separated by spaces. */
static void describe_chans(const struct acl_sel *s, struct sbuf *b)
{
	if (s->allchans) {
		sbuf_append_str(b, "&*");
		return;
	}
	for (int i = 0; i < s->nchans; i++) {
		if (i)
			sbuf_append_char(b, ' ');
		sbuf_append_char(b, '&');
		sbuf_append(b, s->chans[i].p, s->chans[i].len);
	}
}

/* User flags in the order Redis shows them. */
static int user_flag_names(const struct acl_user *u, const char *out[4])
{
	int n = 0;

	out[n++] = u->on ? "on" : "off";
	if (u->flags & USER_NOPASS)
		out[n++] = "nopass";
	if (u->flags & USER_SKIP_SANITIZE)
		out[n++] = "skip-sanitize-payload";
	if (u->flags & USER_SANITIZE)
		out[n++] = "sanitize-payload";
	return n;
}

char *acl_user_describe(const struct acl_user *u)
{
	struct sbuf b = { 0 };
	const char *flags[4];
	int nf = user_flag_names(u, flags);
	char hex[HEX_LEN];

	for (int i = 0; i < nf; i++)
		sbuf_printf(&b, "%s ", flags[i]);
	for (int i = 0; i < u->npw; i++) {
		hex_encode(u->pw[i], DIGEST_LEN, hex);
		sbuf_append_char(&b, '#');
		sbuf_append(&b, hex, HEX_LEN);
		sbuf_append_char(&b, ' ');
	}
	if (u->sel.allkeys) {
		sbuf_append_str(&b, "~* ");
	} else {
		for (int i = 0; i < u->sel.nkeys; i++) {
			describe_key_pat(&u->sel.keys[i], &b);
			sbuf_append_char(&b, ' ');
		}
	}
	if (u->sel.allchans) {
		sbuf_append_str(&b, "&* ");
	} else {
		sbuf_append_str(&b, "resetchannels ");
		for (int i = 0; i < u->sel.nchans; i++) {
			sbuf_append_char(&b, '&');
			sbuf_append(&b, u->sel.chans[i].p, u->sel.chans[i].len);
			sbuf_append_char(&b, ' ');
		}
	}
	describe_cmds(&u->sel, &b);
	sbuf_append_char(&b, '\0');
	return b.p;
}

static void write_sbuf_bulk(struct resp_w *w, struct sbuf *b)
{
	resp_w_bulk(w, b->p ? b->p : "", b->len);
	b->len = 0;
}

void acl_user_write_getuser(struct resp_w *w, const struct acl_user *u)
{
	const char *flags[4];
	int nf = user_flag_names(u, flags);
	struct sbuf b = { 0 };
	char hex[HEX_LEN];

	resp_w_map(w, 6);
	resp_w_bulk_cstr(w, "flags");
	resp_w_set(w, (size_t)nf);
	for (int i = 0; i < nf; i++)
		resp_w_bulk_cstr(w, flags[i]);
	resp_w_bulk_cstr(w, "passwords");
	resp_w_array(w, (size_t)u->npw);
	for (int i = 0; i < u->npw; i++) {
		hex_encode(u->pw[i], DIGEST_LEN, hex);
		resp_w_bulk(w, hex, HEX_LEN);
	}
	resp_w_bulk_cstr(w, "commands");
	describe_cmds(&u->sel, &b);
	write_sbuf_bulk(w, &b);
	resp_w_bulk_cstr(w, "keys");
	describe_keys(&u->sel, &b);
	write_sbuf_bulk(w, &b);
	resp_w_bulk_cstr(w, "channels");
	describe_chans(&u->sel, &b);
	write_sbuf_bulk(w, &b);
	resp_w_bulk_cstr(w, "selectors");
	resp_w_array(w, 0);
	sbuf_free(&b);
}

/* ---- ACL LOG ---- */

#define ACL_LOG_FOLD_SCAN	10	/* entries looked at for one to fold into */
#define ACL_LOG_FOLD_MS		60000	/* ... written at most this long before */

struct acl_log_entry {
	long long count;		/* events folded into this entry */
	int reason;			/* ACL_DENIED_* */
	int context;			/* ACL_LOG_* */
	char *user;			/* user name, ulen bytes (+NUL) */
	size_t ulen;
	char *object;			/* what was refused, olen bytes (+NUL) */
	size_t olen;
	char *cinfo;			/* CLIENT INFO of the last event, clen bytes */
	size_t clen;
	int64_t ctime_ms;		/* time of the last event */
};

static pthread_mutex_t alog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct acl_log_entry *alog;	/* newest first; under alog_lock */
static int nalog, capalog;

static void alog_entry_free(struct acl_log_entry *e)
{
	mem_free(e->user);
	mem_free(e->object);
	mem_free(e->cinfo);
}

void acl_log_add(int reason, int context, const char *user, size_t ulen, const char *object,
		 size_t olen, const char *cinfo, size_t clen)
{
	int64_t now = util_mstime();
	struct acl_log_entry e;
	int i;

	pthread_mutex_lock(&alog_lock);
	for (i = 0; i < nalog && i < ACL_LOG_FOLD_SCAN; i++) {
		struct acl_log_entry *o = &alog[i];

		if (o->reason == reason && o->context == context &&
		    o->ctime_ms >= now - ACL_LOG_FOLD_MS && o->ctime_ms <= now + ACL_LOG_FOLD_MS &&
		    o->olen == olen && !memcmp(o->object, object, olen) &&
		    o->ulen == ulen && !memcmp(o->user, user, ulen))
			break;
	}
	if (i < nalog && i < ACL_LOG_FOLD_SCAN) {
		/* Fold: the entry moves to the head with the new client info. */
		e = alog[i];
		mem_free(e.cinfo);
		e.cinfo = mem_strndup(cinfo, clen);
		e.clen = clen;
		e.ctime_ms = now;
		e.count++;
		memmove(alog + 1, alog, (size_t)i * sizeof(*alog));
		alog[0] = e;
		pthread_mutex_unlock(&alog_lock);
		return;
	}
	e.count = 1;
	e.reason = reason;
	e.context = context;
	e.user = mem_strndup(user, ulen);
	e.ulen = ulen;
	e.object = mem_strndup(object, olen);
	e.olen = olen;
	e.cinfo = mem_strndup(cinfo, clen);
	e.clen = clen;
	e.ctime_ms = now;
	if (nalog == capalog) {
		capalog = capalog ? capalog * 2 : 16;
		alog = mem_realloc(alog, (size_t)capalog * sizeof(*alog));
	}
	memmove(alog + 1, alog, (size_t)nalog * sizeof(*alog));
	alog[0] = e;
	nalog++;
	while (nalog > cfg.acllog_max_len)
		alog_entry_free(&alog[--nalog]);
	pthread_mutex_unlock(&alog_lock);
}

void acl_log_write(struct resp_w *w, long long count)
{
	static const char *const reasons[] = { "unknown", "command", "key", "channel", "auth" };
	int64_t now = util_mstime();

	pthread_mutex_lock(&alog_lock);
	if (count < 0)
		count = 0;
	if (count > nalog)
		count = nalog;
	resp_w_array(w, (size_t)count);
	for (int i = 0; i < count; i++) {
		const struct acl_log_entry *e = &alog[i];

		resp_w_map(w, 7);
		resp_w_bulk_cstr(w, "count");
		resp_w_int(w, e->count);
		resp_w_bulk_cstr(w, "reason");
		resp_w_bulk_cstr(w, e->reason >= 1 && e->reason <= 4 ? reasons[e->reason] : reasons[0]);
		resp_w_bulk_cstr(w, "context");
		resp_w_bulk_cstr(w, e->context == ACL_LOG_MULTI ? "multi" : "toplevel");
		resp_w_bulk_cstr(w, "object");
		resp_w_bulk(w, e->object, e->olen);
		resp_w_bulk_cstr(w, "username");
		resp_w_bulk(w, e->user, e->ulen);
		resp_w_bulk_cstr(w, "age-seconds");
		resp_w_double(w, (double)(now - e->ctime_ms) / 1000.0);
		resp_w_bulk_cstr(w, "client-info");
		resp_w_bulk(w, e->cinfo, e->clen);
	}
	pthread_mutex_unlock(&alog_lock);
}

void acl_log_reset(void)
{
	pthread_mutex_lock(&alog_lock);
	while (nalog)
		alog_entry_free(&alog[--nalog]);
	mem_free(alog);
	alog = NULL;
	capalog = 0;
	pthread_mutex_unlock(&alog_lock);
}

/* ---- the ACL file ---- */

static int read_file(const char *path, char **out, size_t *lenp)
{
	struct sbuf b = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		sbuf_reserve(&b, 4096);
		n = read(fd, b.p + b.len, b.cap - b.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;

			close(fd);
			sbuf_free(&b);
			return e;
		}
		if (n == 0)
			break;
		sbuf_added(&b, (size_t)n);
	}
	close(fd);
	sbuf_reserve(&b, 1);
	b.p[b.len] = '\0';
	*out = b.p;
	*lenp = b.len;
	return 0;
}

static bool is_trim(char c, const char *set)
{
	return c && strchr(set, c);
}

/* Trims characters of set from both ends of [*p, *p + *len). */
static void trim(const char **p, size_t *len, const char *set)
{
	while (*len && is_trim((*p)[0], set)) {
		(*p)++;
		(*len)--;
	}
	while (*len && is_trim((*p)[*len - 1], set))
		(*len)--;
}

/*
 * Parses one non-blank line into *nu (a new user) or appends the reason to
 * errs. Words are split on single spaces as Redis does (two spaces make an
 * empty rule, which does nothing).
 */
static void load_line(const char *path, int lineno, const char *line, size_t len,
		      struct acl_user ***tab, int *n, int *cap, struct sbuf *errs)
{
	struct cmd_arg *w = NULL;
	int nw = 0, capw = 0;
	struct acl_user *u;
	bool reported = false;
	size_t i = 0;

	for (;;) {
		size_t j = i;

		while (j < len && line[j] != ' ')
			j++;
		if (nw == capw) {
			capw = capw ? capw * 2 : 16;
			w = mem_realloc(w, (size_t)capw * sizeof(*w));
		}
		w[nw].p = line + i;
		w[nw].len = j - i;
		nw++;
		if (j >= len)
			break;
		i = j + 1;
	}
	if (nw < 2 || w[0].len != 4 || memcmp(w[0].p, "user", 4)) {
		sbuf_printf(errs, "%s:%d should start with user keyword followed by the username. ",
			    path, lineno);
		goto out;
	}
	if (has_space_or_nul(w[1].p, w[1].len)) {
		sbuf_printf(errs, "'%s:%d: username '%.*s' contains invalid characters. ",
			    path, lineno, (int)w[1].len, w[1].p);
		goto out;
	}
	if (table_find(*tab, *n, w[1].p, w[1].len) >= 0) {
		sbuf_printf(errs, "WARNING: Duplicate user '%.*s' found on line %d. ",
			    (int)w[1].len, w[1].p, lineno);
		goto out;
	}
	u = user_new(w[1].p, w[1].len);
	table_insert(tab, n, cap, u);
	for (int k = 2; k < nw; k++) {
		const char *op = w[k].p;
		size_t olen = w[k].len;
		enum op_err e;

		trim(&op, &olen, "\t\r\n");
		e = user_apply(u, op, olen);
		if (e == OPE_NOENT) {
			sbuf_printf(errs, "%s:%d: Error in applying operation '%.*s': %s. ",
				    path, lineno, (int)olen, op, op_errors[e]);
		} else if (e != OPE_OK && !reported) {
			sbuf_printf(errs, "%s:%d: %s. ", path, lineno, op_errors[e]);
			reported = true;
		}
	}
out:
	mem_free(w);
}

int acl_load_file(const char *path, char **err)
{
	struct acl_user **tab = NULL, *nd;
	int n = 0, cap = 0, lineno = 0, rc, at;
	struct sbuf errs = { 0 };
	const char *p, *end;
	char *text = NULL;
	size_t tlen = 0;

	acl_init();
	rc = read_file(path, &text, &tlen);
	if (rc < 0) {
		sbuf_printf(&errs, "Error loading ACLs, opening file '%s': %s", path, strerror(-rc));
		sbuf_append_char(&errs, '\0');
		*err = errs.p;
		return -1;
	}
	for (p = text, end = text + tlen; p <= end; ) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = p;
		size_t len = (nl ? nl : end) - p;

		lineno++;
		trim(&line, &len, " \t\r\n");
		if (len)
			load_line(path, lineno, line, len, &tab, &n, &cap, &errs);
		if (!nl)
			break;
		p = nl + 1;
	}
	mem_free(text);

	if (errs.len) {
		for (int i = 0; i < n; i++) {
			tab[i]->linked = false;
			acl_user_release(tab[i]);
		}
		mem_free(tab);
		sbuf_append_str(&errs, "WARNING: ACL errors detected, no change to the previously "
				       "active ACL rules was performed");
		sbuf_append_char(&errs, '\0');
		*err = errs.p;
		return -1;
	}

	/* Swap in the new table. The default user keeps its struct (clients
	 * and acl_default_user() point at it) and takes the new rules. */
	at = table_find(tab, n, "default", 7);
	if (at >= 0) {
		nd = tab[at];
		nd->linked = false;
		tab[at] = default_user;
	} else {
		nd = user_new("default", 7);
		user_make_default(nd);
		table_insert(&tab, &n, &cap, default_user);
	}
	user_move_rules(default_user, nd);
	user_free(nd);
	for (int i = 0; i < nusers; i++) {
		struct acl_user *u = users[i];

		if (u == default_user)
			continue;
		u->linked = false;
		notify(u, true);
		acl_user_release(u);
	}
	mem_free(users);
	users = tab;
	nusers = n;
	capusers = cap;
	for (int i = 0; i < nusers; i++)
		users[i]->linked = true;
	notify(default_user, false);
	return 0;
}

int acl_save_file(const char *path)
{
	struct sbuf b = { 0 }, tmp = { 0 };
	struct timespec ts;
	int fd, rc = 0;
	size_t off = 0;

	for (int i = 0; i < nusers; i++) {
		char *d = acl_user_describe(users[i]);

		sbuf_append_str(&b, "user ");
		sbuf_append(&b, users[i]->name, users[i]->nlen);
		sbuf_append_char(&b, ' ');
		sbuf_append_str(&b, d);
		sbuf_append_char(&b, '\n');
		mem_free(d);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	sbuf_printf(&tmp, "%s.tmp-%d-%lld", path, (int)getpid(),
		    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	sbuf_append_char(&tmp, '\0');
	fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		log_warning("Opening temp ACL file for ACL SAVE: %s", strerror(-rc));
		goto out;
	}
	while (off < b.len) {
		ssize_t w = write(fd, b.p + off, b.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			log_warning("Writing ACL file for ACL SAVE: %s", strerror(-rc));
			goto out_close;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		rc = -errno;
		log_warning("Writing ACL file for ACL SAVE: %s", strerror(-rc));
		goto out_close;
	}
	close(fd);
	fd = -1;
	if (rename(tmp.p, path) < 0) {
		rc = -errno;
		log_warning("Renaming ACL file for ACL SAVE: %s", strerror(-rc));
	}
out_close:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp.p);
out:
	sbuf_free(&tmp);
	sbuf_free(&b);
	return rc;
}
