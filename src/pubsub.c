/*
 * pubsub.c - channels and patterns.
 *
 * Per shard: sh->ps_channels, a kv_dict of struct psch (a channel with at
 * least one local subscriber, holding the list of them), and sh->ps_patterns,
 * a list of (pattern, client). Per client: the lists of its channels and
 * patterns, as struct psub nodes, each linked both into the client's list and
 * into the channel's (or the shard's pattern) list, so unsubscribing is O(1)
 * per subscription.
 *
 * Messages are RESP3 pushes (">3 message channel payload") for RESP3
 * clients and arrays for RESP2 ones, as Redis sends them.
 */
#include "pubsub.h"
#include "acl.h"
#include "cfg.h"
#include "conn.h"
#include "mem.h"
#include "strutil.h"
#include "util.h"

#include <string.h>
#include <sys/socket.h>


struct psch;

struct psub {
	struct psub *cnext, *cprev;	/* the client's list */
	struct psub *snext, *sprev;	/* the channel's subscribers / shard's patterns */
	struct client *c;
	struct psch *ch;		/* channel node, NULL for a pattern */
	bool pattern;
	uint32_t len;
	char name[];			/* channel or pattern */
};

struct psch {
	struct dict_node node;		/* in sh->ps_channels */
	struct psub *subs;		/* subscribers on this shard */
	uint32_t len;
	char name[];
};

static void psch_key(const struct dict_node *n, const char **key, size_t *len)
{
	const struct psch *ch = (const struct psch *)n;

	*key = ch->name;
	*len = ch->len;
}

static const struct dict_ops psch_ops = { .key = psch_key };

static void mark_free(struct dict_node *n, void *arg);

int pubsub_count(const struct client *c)
{
	return c->nsub + c->npsub;
}

bool pubsub_reply_is_push(const struct cmd_def *cmd, int proto)
{
	return proto == RESP3 &&
	       (!strcmp(cmd->name, "subscribe") || !strcmp(cmd->name, "psubscribe") ||
		!strcmp(cmd->name, "unsubscribe") || !strcmp(cmd->name, "punsubscribe"));
}

bool pubsub_allowed_in_context(const struct cmd_def *cmd)
{
	static const char *const ok[] = {
		"subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe",
		"sunsubscribe", "ping", "quit", "reset",
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!strcmp(cmd->name, ok[i]))
			return true;
	return false;
}

static struct psub *client_find(struct client *c, bool pattern, const char *name, size_t len)
{
	for (struct psub *s = c->subs; s; s = s->cnext)
		if (s->pattern == pattern && s->len == len && !memcmp(s->name, name, len))
			return s;
	return NULL;
}

/* The reply to (p)(un)subscribe for one channel: [kind, name, count]. */
static void reply_sub(struct resp_w *w, const char *kind, const char *name, size_t len, int count)
{
	resp_w_push(w, 3);
	resp_w_bulk_cstr(w, kind);
	if (name)
		resp_w_bulk(w, name, len);
	else
		resp_w_null(w);
	resp_w_int(w, count);
}

static void subscribe(struct client *c, bool pattern, const char *name, size_t len)
{
	struct shard *sh = c->sh;
	struct psub *s;

	if (client_find(c, pattern, name, len))
		return;
	s = mem_calloc(1, sizeof(*s) + len);
	s->c = c;
	s->pattern = pattern;
	s->len = (uint32_t)len;
	memcpy(s->name, name, len);
	s->cnext = c->subs;
	if (c->subs)
		c->subs->cprev = s;
	c->subs = s;
	if (pattern) {
		s->snext = sh->ps_patterns;
		if (sh->ps_patterns)
			sh->ps_patterns->sprev = s;
		sh->ps_patterns = s;
		c->npsub++;
		return;
	}
	if (!sh->ps_channels)
		sh->ps_channels = dict_create(&psch_ops);
	s->ch = (struct psch *)dict_find(sh->ps_channels, name, len);
	if (!s->ch) {
		s->ch = mem_calloc(1, sizeof(*s->ch) + len);
		s->ch->len = (uint32_t)len;
		memcpy(s->ch->name, name, len);
		dict_insert(sh->ps_channels, &s->ch->node);
	}
	s->snext = s->ch->subs;
	if (s->ch->subs)
		s->ch->subs->sprev = s;
	s->ch->subs = s;
	c->nsub++;
}

static void unsubscribe(struct psub *s)
{
	struct client *c = s->c;
	struct shard *sh = c->sh;

	if (s->cprev)
		s->cprev->cnext = s->cnext;
	else
		c->subs = s->cnext;
	if (s->cnext)
		s->cnext->cprev = s->cprev;
	if (s->sprev)
		s->sprev->snext = s->snext;
	else if (s->pattern)
		sh->ps_patterns = s->snext;
	else
		s->ch->subs = s->snext;
	if (s->snext)
		s->snext->sprev = s->sprev;
	if (s->pattern) {
		c->npsub--;
	} else {
		c->nsub--;
		if (!s->ch->subs) {
			dict_remove_node(sh->ps_channels, &s->ch->node);
			mem_free(s->ch);
		}
	}
	mem_free(s);
}

void pubsub_unsubscribe_all(struct client *c, bool notify)
{
	struct resp_w w = { .b = NULL, .proto = c->proto };

	if (notify)
		w.b = client_out_buf(c);
	/* Channels first, then patterns, as Redis does on RESET. */
	for (int pass = 0; pass < 2; pass++) {
		struct psub *s = c->subs;

		while (s) {
			struct psub *next = s->cnext;

			if (s->pattern == (pass == 1)) {
				if (notify) {
					char name[256];
					size_t len = MIN((size_t)s->len, sizeof(name));

					memcpy(name, s->name, len);
					unsubscribe(s);
					reply_sub(&w, pass ? "punsubscribe" : "unsubscribe", name, len,
						  pubsub_count(c));
				} else {
					unsubscribe(s);
				}
			}
			s = next;
		}
	}
}

void pubsub_counts(size_t *channels, size_t *patterns)
{
	struct dict *seen = dict_create(&psch_ops);

	*channels = 0;
	*patterns = 0;
	for (int i = 0; i < srv.nshards; i++) {
		struct shard *sh = &srv.shards[i];
		struct dict_iter it;
		struct dict_node *n;

		for (struct psub *s = sh->ps_patterns; s; s = s->snext)
			(*patterns)++;
		if (!sh->ps_channels)
			continue;
		dict_iter_init(&it, sh->ps_channels);
		while ((n = dict_iter_next(&it))) {
			struct psch *ch = (struct psch *)n, *mark;

			if (dict_find(seen, ch->name, ch->len))
				continue;
			mark = mem_calloc(1, sizeof(*mark) + ch->len);
			mark->len = ch->len;
			memcpy(mark->name, ch->name, ch->len);
			dict_insert(seen, &mark->node);
			(*channels)++;
		}
	}
	dict_destroy(seen, mark_free, NULL);
}

bool pubsub_allowed_for(const struct client *c, const struct acl_user *u)
{
	for (const struct psub *s = c->subs; s; s = s->cnext)
		if (!acl_channel_allowed(u, s->name, s->len, s->pattern))
			return false;
	return true;
}

void pubsub_free_all(struct shard *sh)
{
	/* Clients are freed first and drop their subscriptions. */
	dict_destroy(sh->ps_channels, NULL, NULL);
	sh->ps_channels = NULL;
}

/* --- delivery --- */

static void deliver(struct client *c, const struct cmd_arg *pattern,
		    const struct cmd_arg *channel, const struct cmd_arg *msg)
{
	struct resp_w w = { .b = client_out_buf(c), .proto = c->proto };
	size_t pending;

	if (c->flags & (CL_CLOSING | CL_CLOSE_ASAP))
		return;
	resp_w_push(&w, pattern ? 4 : 3);
	resp_w_bulk_cstr(&w, pattern ? "pmessage" : "message");
	if (pattern)
		resp_w_bulk(&w, pattern->p, pattern->len);
	resp_w_bulk(&w, channel->p, channel->len);
	resp_w_bulk(&w, msg->p, msg->len);
	client_mark_dirty(c);
	pending = client_pending_output(c);
	(void)pending;
	client_check_output_limit(c, COBL_PUBSUB);
}

/* Runs with every shard parked. */
static void publish_cmd(struct cmd_ctx *ctx)
{
	const struct cmd_arg *ch = &ctx->argv[1], *msg = &ctx->argv[2];
	long long receivers = 0;

	for (int i = 0; i < srv.nshards; i++) {
		struct shard *sh = &srv.shards[i];

		if (sh->ps_channels) {
			struct psch *node = (struct psch *)dict_find(sh->ps_channels, ch->p, ch->len);

			for (struct psub *s = node ? node->subs : NULL; s; s = s->snext) {
				deliver(s->c, NULL, ch, msg);
				receivers++;
			}
		}
		for (struct psub *s = sh->ps_patterns; s; s = s->snext) {
			if (strutil_glob_match(s->name, s->len, ch->p, ch->len, false)) {
				struct cmd_arg pat = { s->name, s->len };

				deliver(s->c, &pat, ch, msg);
				receivers++;
			}
		}
	}
	resp_w_int(ctx->w, receivers);
}

static void subscribe_cmd_common(struct cmd_ctx *ctx, bool pattern)
{
	struct client *c = ctx->cl;

	for (int i = 1; i < ctx->argc; i++) {
		subscribe(c, pattern, ctx->argv[i].p, ctx->argv[i].len);
		reply_sub(ctx->w, pattern ? "psubscribe" : "subscribe", ctx->argv[i].p,
			  ctx->argv[i].len, pubsub_count(c));
	}
}

static void subscribe_cmd(struct cmd_ctx *ctx) { subscribe_cmd_common(ctx, false); }
static void psubscribe_cmd(struct cmd_ctx *ctx) { subscribe_cmd_common(ctx, true); }

static void unsubscribe_cmd_common(struct cmd_ctx *ctx, bool pattern)
{
	struct client *c = ctx->cl;
	const char *kind = pattern ? "punsubscribe" : "unsubscribe";

	if (ctx->argc == 1) {
		bool any = false;
		struct psub *s = c->subs;

		while (s) {
			struct psub *next = s->cnext;

			if (s->pattern == pattern) {
				char name[512];
				size_t len = MIN((size_t)s->len, sizeof(name));

				memcpy(name, s->name, len);
				unsubscribe(s);
				reply_sub(ctx->w, kind, name, len, pubsub_count(c));
				any = true;
			}
			s = next;
		}
		if (!any)
			reply_sub(ctx->w, kind, NULL, 0, pubsub_count(c));
		return;
	}
	for (int i = 1; i < ctx->argc; i++) {
		struct psub *s = client_find(c, pattern, ctx->argv[i].p, ctx->argv[i].len);

		if (s)
			unsubscribe(s);
		reply_sub(ctx->w, kind, ctx->argv[i].p, ctx->argv[i].len, pubsub_count(c));
	}
}

static void unsubscribe_cmd(struct cmd_ctx *ctx) { unsubscribe_cmd_common(ctx, false); }
static void punsubscribe_cmd(struct cmd_ctx *ctx) { unsubscribe_cmd_common(ctx, true); }

/* --- PUBSUB (every shard parked) --- */

static void mark_free(struct dict_node *n, void *arg)
{
	(void)arg;
	mem_free(n);	/* the node is the first member of its psch */
}

static void pubsub_channels_cmd(struct cmd_ctx *ctx)
{
	const struct cmd_arg *pat = ctx->argc == 3 ? &ctx->argv[2] : NULL;
	struct dict *seen = NULL;
	size_t off = resp_w_defer(ctx->w), n = 0;

	if (ctx->argc > 3) {
		resp_w_error(ctx->w, "unknown subcommand or wrong number of arguments for 'CHANNELS'. "
				     "Try PUBSUB HELP.");
		return;
	}
	/* A channel may have subscribers on several shards: list it once. */
	seen = dict_create(&psch_ops);
	for (int i = 0; i < srv.nshards; i++) {
		struct shard *sh = &srv.shards[i];
		struct dict_iter it;
		struct dict_node *node;

		if (!sh->ps_channels)
			continue;
		dict_iter_init(&it, sh->ps_channels);
		while ((node = dict_iter_next(&it))) {
			struct psch *ch = (struct psch *)node;
			struct psch *mark;

			if (pat && !strutil_glob_match(pat->p, pat->len, ch->name, ch->len, false))
				continue;
			if (dict_find(seen, ch->name, ch->len))
				continue;
			mark = mem_calloc(1, sizeof(*mark) + ch->len);
			mark->len = ch->len;
			memcpy(mark->name, ch->name, ch->len);
			/* Inserting into another table is fine while iterating this one. */
			dict_insert(seen, &mark->node);
			resp_w_bulk(ctx->w, ch->name, ch->len);
			n++;
		}
	}
	dict_destroy(seen, mark_free, NULL);
	resp_w_defer_end(ctx->w, off, '*', n);
}

static void pubsub_numsub_cmd(struct cmd_ctx *ctx)
{
	/* A flat array in both protocols, as Redis 7.0 answers. */
	resp_w_array(ctx->w, (size_t)(ctx->argc - 2) * 2);
	for (int a = 2; a < ctx->argc; a++) {
		long long n = 0;

		for (int i = 0; i < srv.nshards; i++) {
			struct shard *sh = &srv.shards[i];
			struct psch *ch = sh->ps_channels ?
				(struct psch *)dict_find(sh->ps_channels, ctx->argv[a].p, ctx->argv[a].len) : NULL;

			for (struct psub *s = ch ? ch->subs : NULL; s; s = s->snext)
				n++;
		}
		resp_w_bulk(ctx->w, ctx->argv[a].p, ctx->argv[a].len);
		resp_w_int(ctx->w, n);
	}
}

static void pubsub_numpat_cmd(struct cmd_ctx *ctx)
{
	struct dict *seen = dict_create(&psch_ops);
	long long n = 0;

	/* NUMPAT counts unique patterns, as Redis 7.0 does. */
	for (int i = 0; i < srv.nshards; i++) {
		for (struct psub *s = srv.shards[i].ps_patterns; s; s = s->snext) {
			struct psch *mark;

			if (dict_find(seen, s->name, s->len))
				continue;
			mark = mem_calloc(1, sizeof(*mark) + s->len);
			mark->len = s->len;
			memcpy(mark->name, s->name, s->len);
			dict_insert(seen, &mark->node);
			n++;
		}
	}
	dict_destroy(seen, mark_free, NULL);
	resp_w_int(ctx->w, n);
}

static void pubsub_help_cmd(struct cmd_ctx *ctx)
{
	static const char *const lines[] = {
		"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"HELP",
		"    Print this help.",
	};

	cmd_reply_help(ctx, lines, ARRAY_SIZE(lines));
}

#define PS_FLAGS (CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define PS_ACL (ACL(ACL_PUBSUB) | ACL(ACL_SLOW))

static const struct cmd_def pubsub_subcmds[] = {
	{ "channels", pubsub_channels_cmd, -2, PS_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, PS_ACL,
	  "pubsub", "2.8.0", "Returns the active channels.",
	  "O(N) where N is the number of active channels", NULL },
	{ "help", pubsub_help_cmd, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, ACL(ACL_SLOW),
	  "pubsub", "6.2.0", "Returns helpful text about the different subcommands.", "O(1)", NULL },
	{ "numpat", pubsub_numpat_cmd, 2, PS_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, PS_ACL,
	  "pubsub", "2.8.0", "Returns a count of unique pattern subscriptions.", "O(1)", NULL },
	{ "numsub", pubsub_numsub_cmd, -2, PS_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, PS_ACL,
	  "pubsub", "2.8.0", "Returns a count of subscribers to channels.",
	  "O(N) for the NUMSUB subcommand, where N is the number of requested channels", NULL },
	{ NULL },
};

const struct cmd_def cmd_pubsub_defs[] = {
	{ "psubscribe", psubscribe_cmd, -2, PS_FLAGS, 0, 0, 0, PS_ACL,
	  "pubsub", "2.0.0", "Listens for messages published to channels that match one or more patterns.",
	  "O(N) where N is the number of patterns to subscribe to.", NULL },
	{ "publish", publish_cmd, 3, PS_FLAGS | CMD_FAST | CMD_MAY_REPLICATE | CMD_ALL_SHARDS, 0, 0, 0,
	  ACL(ACL_PUBSUB) | ACL(ACL_FAST),
	  "pubsub", "2.0.0", "Posts a message to a channel.",
	  "O(N+M) where N is the number of clients subscribed to the receiving channel and M is "
	  "the total number of subscribed patterns (by any client).", NULL },
	{ "pubsub", NULL, -2, CMD_CONTAINER, 0, 0, 0, ACL(ACL_SLOW),
	  "pubsub", "2.8.0", "A container for Pub/Sub commands.", "Depends on subcommand.",
	  pubsub_subcmds },
	{ "punsubscribe", punsubscribe_cmd, -1, PS_FLAGS, 0, 0, 0, PS_ACL,
	  "pubsub", "2.0.0", "Stops listening to messages published to channels that match one or more patterns.",
	  "O(N+M) where N is the number of patterns the client is already subscribed and M is "
	  "the number of total patterns subscribed in the system (by any client).", NULL },
	{ "subscribe", subscribe_cmd, -2, PS_FLAGS, 0, 0, 0, PS_ACL,
	  "pubsub", "2.0.0", "Listens for messages published to channels.",
	  "O(N) where N is the number of channels to subscribe to.", NULL },
	{ "unsubscribe", unsubscribe_cmd, -1, PS_FLAGS, 0, 0, 0, PS_ACL,
	  "pubsub", "2.0.0", "Stops listening to messages posted to channels.",
	  "O(N) where N is the number of channels to unsubscribe.", NULL },
	{ NULL },
};
