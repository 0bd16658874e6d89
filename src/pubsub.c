/*
 * pubsub.c - channels, patterns and shard channels.
 *
 * Per shard: sh->ps_channels, a kv_dict of struct psch (a channel with at
 * least one local subscriber, holding the list of them), sh->ps_patterns, a
 * list of (pattern, client), and sh->ps_shard_channels, like ps_channels for
 * SSUBSCRIBE. Per client: the list of all its subscriptions, as struct psub
 * nodes, each linked both into the client's list and into the channel's (or
 * the shard's pattern) list, so unsubscribing is O(1) per subscription.
 *
 * Shard channels (SSUBSCRIBE, SPUBLISH, SUNSUBSCRIBE) are Redis 7.0's
 * sharded Pub/Sub outside a cluster: a namespace of their own, reached by
 * SPUBLISH only and never by patterns, whose messages are "smessage"s. In a
 * Redis cluster the channel also picks the node; strata has one keyspace, so
 * the channel is not declared as a key (no routing, and ACL key patterns do
 * not apply to it, as Redis flags it NOT_KEY); SPUBLISH reaches every shard
 * like PUBLISH.
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

/* What a subscription is to. */
enum ps_kind { PS_CHANNEL, PS_PATTERN, PS_SHARD };

struct psub {
	struct psub *cnext, *cprev;	/* the client's list */
	struct psub *snext, *sprev;	/* the channel's subscribers / shard's patterns */
	struct client *c;
	struct psch *ch;		/* channel node, NULL for a pattern */
	uint8_t kind;			/* enum ps_kind */
	uint32_t len;
	char name[];			/* channel or pattern */
};

static const char *const kind_sub[] = { "subscribe", "psubscribe", "ssubscribe" };
static const char *const kind_unsub[] = { "unsubscribe", "punsubscribe", "sunsubscribe" };

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
	return c->nsub + c->npsub + c->nssub;
}

/* The count a (un)subscribe reply carries: channels and patterns together,
 * or shard channels alone, as Redis 7.0 counts them. */
static int kind_count(const struct client *c, int kind)
{
	return kind == PS_SHARD ? c->nssub : c->nsub + c->npsub;
}

bool pubsub_reply_is_push(const struct cmd_def *cmd, int proto)
{
	if (proto != RESP3)
		return false;
	for (int k = PS_CHANNEL; k <= PS_SHARD; k++)
		if (!strcmp(cmd->name, kind_sub[k]) || !strcmp(cmd->name, kind_unsub[k]))
			return true;
	return false;
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

static struct psub *client_find(struct client *c, int kind, const char *name, size_t len)
{
	for (struct psub *s = c->subs; s; s = s->cnext)
		if (s->kind == kind && s->len == len && !memcmp(s->name, name, len))
			return s;
	return NULL;
}

/* The channel table of a kind on shard sh (its slot, to create it). */
static struct dict **channels_of(struct shard *sh, int kind)
{
	return kind == PS_SHARD ? &sh->ps_shard_channels : &sh->ps_channels;
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

static void subscribe(struct client *c, int kind, const char *name, size_t len)
{
	struct shard *sh = c->sh;
	struct dict **tab;
	struct psub *s;

	if (client_find(c, kind, name, len))
		return;
	s = mem_calloc(1, sizeof(*s) + len);
	s->c = c;
	s->kind = (uint8_t)kind;
	s->len = (uint32_t)len;
	memcpy(s->name, name, len);
	s->cnext = c->subs;
	if (c->subs)
		c->subs->cprev = s;
	c->subs = s;
	if (kind == PS_PATTERN) {
		s->snext = sh->ps_patterns;
		if (sh->ps_patterns)
			sh->ps_patterns->sprev = s;
		sh->ps_patterns = s;
		c->npsub++;
		return;
	}
	tab = channels_of(sh, kind);
	if (!*tab)
		*tab = dict_create(&psch_ops);
	s->ch = (struct psch *)dict_find(*tab, name, len);
	if (!s->ch) {
		s->ch = mem_calloc(1, sizeof(*s->ch) + len);
		s->ch->len = (uint32_t)len;
		memcpy(s->ch->name, name, len);
		dict_insert(*tab, &s->ch->node);
	}
	s->snext = s->ch->subs;
	if (s->ch->subs)
		s->ch->subs->sprev = s;
	s->ch->subs = s;
	if (kind == PS_SHARD)
		c->nssub++;
	else
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
	else if (s->kind == PS_PATTERN)
		sh->ps_patterns = s->snext;
	else
		s->ch->subs = s->snext;
	if (s->snext)
		s->snext->sprev = s->sprev;
	if (s->kind == PS_PATTERN) {
		c->npsub--;
	} else {
		if (s->kind == PS_SHARD)
			c->nssub--;
		else
			c->nsub--;
		if (!s->ch->subs) {
			dict_remove_node(*channels_of(sh, s->kind), &s->ch->node);
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
	/* Channels, then shard channels, then patterns, as Redis does on
	 * RESET. */
	static const int order[] = { PS_CHANNEL, PS_SHARD, PS_PATTERN };

	for (size_t pass = 0; pass < ARRAY_SIZE(order); pass++) {
		struct psub *s = c->subs;
		int kind = order[pass];

		while (s) {
			struct psub *next = s->cnext;

			if (s->kind == kind) {
				if (notify) {
					char name[256];
					size_t len = MIN((size_t)s->len, sizeof(name));

					memcpy(name, s->name, len);
					unsubscribe(s);
					reply_sub(&w, kind_unsub[kind], name, len, kind_count(c, kind));
				} else {
					unsubscribe(s);
				}
			}
			s = next;
		}
	}
}

/* Distinct channels of a kind with subscribers, over all shards. */
static size_t count_channels(int kind)
{
	struct dict *seen = dict_create(&psch_ops);
	size_t n = 0;

	for (int i = 0; i < srv.nshards; i++) {
		struct dict *tab = *channels_of(&srv.shards[i], kind);
		struct dict_iter it;
		struct dict_node *node;

		if (!tab)
			continue;
		dict_iter_init(&it, tab);
		while ((node = dict_iter_next(&it))) {
			struct psch *ch = (struct psch *)node, *mark;

			if (dict_find(seen, ch->name, ch->len))
				continue;
			mark = mem_calloc(1, sizeof(*mark) + ch->len);
			mark->len = ch->len;
			memcpy(mark->name, ch->name, ch->len);
			dict_insert(seen, &mark->node);
			n++;
		}
	}
	dict_destroy(seen, mark_free, NULL);
	return n;
}

void pubsub_counts(size_t *channels, size_t *patterns, size_t *shard_channels)
{
	*patterns = 0;
	for (int i = 0; i < srv.nshards; i++)
		for (struct psub *s = srv.shards[i].ps_patterns; s; s = s->snext)
			(*patterns)++;
	*channels = count_channels(PS_CHANNEL);
	*shard_channels = count_channels(PS_SHARD);
}

bool pubsub_allowed_for(const struct client *c, const struct acl_user *u)
{
	for (const struct psub *s = c->subs; s; s = s->cnext)
		if (!acl_channel_allowed(u, s->name, s->len, s->kind == PS_PATTERN))
			return false;
	return true;
}

void pubsub_free_all(struct shard *sh)
{
	/* Clients are freed first and drop their subscriptions. */
	dict_destroy(sh->ps_channels, NULL, NULL);
	sh->ps_channels = NULL;
	dict_destroy(sh->ps_shard_channels, NULL, NULL);
	sh->ps_shard_channels = NULL;
}

/* --- delivery --- */

/* kind: "message", "pmessage" (pattern not NULL) or "smessage". */
static void deliver(struct client *c, const char *kind, const struct cmd_arg *pattern,
		    const struct cmd_arg *channel, const struct cmd_arg *msg)
{
	struct resp_w w = { .b = client_out_buf(c), .proto = c->proto };
	size_t pending;

	if (c->flags & (CL_CLOSING | CL_CLOSE_ASAP))
		return;
	resp_w_push(&w, pattern ? 4 : 3);
	resp_w_bulk_cstr(&w, kind);
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
				deliver(s->c, "message", NULL, ch, msg);
				receivers++;
			}
		}
		for (struct psub *s = sh->ps_patterns; s; s = s->snext) {
			if (strutil_glob_match(s->name, s->len, ch->p, ch->len, false)) {
				struct cmd_arg pat = { s->name, s->len };

				deliver(s->c, "pmessage", &pat, ch, msg);
				receivers++;
			}
		}
	}
	resp_w_int(ctx->w, receivers);
}

/* SPUBLISH: shard-channel subscribers only. Runs with every shard parked. */
static void spublish_cmd(struct cmd_ctx *ctx)
{
	const struct cmd_arg *ch = &ctx->argv[1], *msg = &ctx->argv[2];
	long long receivers = 0;

	for (int i = 0; i < srv.nshards; i++) {
		struct shard *sh = &srv.shards[i];
		struct psch *node = sh->ps_shard_channels ?
			(struct psch *)dict_find(sh->ps_shard_channels, ch->p, ch->len) : NULL;

		for (struct psub *s = node ? node->subs : NULL; s; s = s->snext) {
			deliver(s->c, "smessage", NULL, ch, msg);
			receivers++;
		}
	}
	resp_w_int(ctx->w, receivers);
}

static void subscribe_cmd_common(struct cmd_ctx *ctx, int kind)
{
	struct client *c = ctx->cl;

	for (int i = 1; i < ctx->argc; i++) {
		subscribe(c, kind, ctx->argv[i].p, ctx->argv[i].len);
		reply_sub(ctx->w, kind_sub[kind], ctx->argv[i].p, ctx->argv[i].len,
			  kind_count(c, kind));
	}
}

static void subscribe_cmd(struct cmd_ctx *ctx) { subscribe_cmd_common(ctx, PS_CHANNEL); }
static void psubscribe_cmd(struct cmd_ctx *ctx) { subscribe_cmd_common(ctx, PS_PATTERN); }
static void ssubscribe_cmd(struct cmd_ctx *ctx) { subscribe_cmd_common(ctx, PS_SHARD); }

static void unsubscribe_cmd_common(struct cmd_ctx *ctx, int which)
{
	struct client *c = ctx->cl;
	const char *kind = kind_unsub[which];

	if (ctx->argc == 1) {
		bool any = false;
		struct psub *s = c->subs;

		while (s) {
			struct psub *next = s->cnext;

			if (s->kind == which) {
				char name[512];
				size_t len = MIN((size_t)s->len, sizeof(name));

				memcpy(name, s->name, len);
				unsubscribe(s);
				reply_sub(ctx->w, kind, name, len, kind_count(c, which));
				any = true;
			}
			s = next;
		}
		if (!any)
			reply_sub(ctx->w, kind, NULL, 0, kind_count(c, which));
		return;
	}
	for (int i = 1; i < ctx->argc; i++) {
		struct psub *s = client_find(c, which, ctx->argv[i].p, ctx->argv[i].len);

		if (s)
			unsubscribe(s);
		reply_sub(ctx->w, kind, ctx->argv[i].p, ctx->argv[i].len, kind_count(c, which));
	}
}

static void unsubscribe_cmd(struct cmd_ctx *ctx) { unsubscribe_cmd_common(ctx, PS_CHANNEL); }
static void punsubscribe_cmd(struct cmd_ctx *ctx) { unsubscribe_cmd_common(ctx, PS_PATTERN); }
static void sunsubscribe_cmd(struct cmd_ctx *ctx) { unsubscribe_cmd_common(ctx, PS_SHARD); }

/* --- PUBSUB (every shard parked) --- */

static void mark_free(struct dict_node *n, void *arg)
{
	(void)arg;
	mem_free(n);	/* the node is the first member of its psch */
}

/* PUBSUB CHANNELS / SHARDCHANNELS [pattern]. */
static void channels_common(struct cmd_ctx *ctx, int kind)
{
	const struct cmd_arg *pat = ctx->argc == 3 ? &ctx->argv[2] : NULL;
	struct dict *seen = NULL;
	size_t off, n = 0;

	if (ctx->argc > 3) {
		resp_w_errorf(ctx->w, "unknown subcommand or wrong number of arguments for '%s'. "
				      "Try PUBSUB HELP.", kind == PS_SHARD ? "SHARDCHANNELS" : "CHANNELS");
		return;
	}
	off = resp_w_defer(ctx->w);
	/* A channel may have subscribers on several shards: list it once. */
	seen = dict_create(&psch_ops);
	for (int i = 0; i < srv.nshards; i++) {
		struct dict *tab = *channels_of(&srv.shards[i], kind);
		struct dict_iter it;
		struct dict_node *node;

		if (!tab)
			continue;
		dict_iter_init(&it, tab);
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

static void pubsub_channels_cmd(struct cmd_ctx *ctx) { channels_common(ctx, PS_CHANNEL); }
static void pubsub_shardchannels_cmd(struct cmd_ctx *ctx) { channels_common(ctx, PS_SHARD); }

/* PUBSUB NUMSUB / SHARDNUMSUB [channel ...]. */
static void numsub_common(struct cmd_ctx *ctx, int kind)
{
	/* A flat array in both protocols, as Redis 7.0 answers. */
	resp_w_array(ctx->w, (size_t)(ctx->argc - 2) * 2);
	for (int a = 2; a < ctx->argc; a++) {
		long long n = 0;

		for (int i = 0; i < srv.nshards; i++) {
			struct dict *tab = *channels_of(&srv.shards[i], kind);
			struct psch *ch = tab ?
				(struct psch *)dict_find(tab, ctx->argv[a].p, ctx->argv[a].len) : NULL;

			for (struct psub *s = ch ? ch->subs : NULL; s; s = s->snext)
				n++;
		}
		resp_w_bulk(ctx->w, ctx->argv[a].p, ctx->argv[a].len);
		resp_w_int(ctx->w, n);
	}
}

static void pubsub_numsub_cmd(struct cmd_ctx *ctx) { numsub_common(ctx, PS_CHANNEL); }
static void pubsub_shardnumsub_cmd(struct cmd_ctx *ctx) { numsub_common(ctx, PS_SHARD); }

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
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
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
	{ "shardchannels", pubsub_shardchannels_cmd, -2, PS_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, PS_ACL,
	  "pubsub", "7.0.0", "Returns the active shard channels.",
	  "O(N) where N is the number of active shard channels, and assuming constant time "
	  "pattern matching (relatively short shard channels).", NULL },
	{ "shardnumsub", pubsub_shardnumsub_cmd, -2, PS_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, PS_ACL,
	  "pubsub", "7.0.0", "Returns the count of subscribers of shard channels.",
	  "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
	  NULL },
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
	{ "spublish", spublish_cmd, 3, PS_FLAGS | CMD_FAST | CMD_MAY_REPLICATE | CMD_ALL_SHARDS,
	  0, 0, 0, ACL(ACL_PUBSUB) | ACL(ACL_FAST),
	  "pubsub", "7.0.0", "Post a message to a shard channel",
	  "O(N) where N is the number of clients subscribed to the receiving shard channel.", NULL },
	{ "ssubscribe", ssubscribe_cmd, -2, PS_FLAGS, 0, 0, 0, PS_ACL,
	  "pubsub", "7.0.0", "Listens for messages published to shard channels.",
	  "O(N) where N is the number of shard channels to subscribe to.", NULL },
	{ "subscribe", subscribe_cmd, -2, PS_FLAGS, 0, 0, 0, PS_ACL,
	  "pubsub", "2.0.0", "Listens for messages published to channels.",
	  "O(N) where N is the number of channels to subscribe to.", NULL },
	{ "sunsubscribe", sunsubscribe_cmd, -1, PS_FLAGS, 0, 0, 0, PS_ACL,
	  "pubsub", "7.0.0", "Stops listening to messages posted to shard channels.",
	  "O(N) where N is the number of shard channels to unsubscribe.", NULL },
	{ "unsubscribe", unsubscribe_cmd, -1, PS_FLAGS, 0, 0, 0, PS_ACL,
	  "pubsub", "2.0.0", "Stops listening to messages posted to channels.",
	  "O(N) where N is the number of channels to unsubscribe.", NULL },
	{ NULL },
};
