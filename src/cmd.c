/*
 * cmd.c - the command table: lookup, key positions, shared reply helpers,
 * and the COMMAND command that describes the table to clients.
 *
 * cmd_init() walks every family's table (and each container's subcommand
 * table), gives each command a dense id, and fills two open-addressing hash
 * tables: lower-cased name -> top-level command, and def pointer -> id. The
 * family tables are const data; nothing here writes into them.
 *
 * Key positions follow Redis's legacy (first, last, step) triple, with last
 * negative counting from the end (-1 is the last argument). Every command of
 * the core fits it.
 */
#include "cmd.h"
#include "server.h"
#include "mem.h"
#include "strutil.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define CMD_MAX 1024
#define NAME_SLOTS 1024		/* power of two, > 2 * commands */
#define PTR_SLOTS 2048

static const struct cmd_def *cmd_all[CMD_MAX];	/* by id */
static const struct cmd_def *cmd_parent_of[CMD_MAX];
static int cmd_nall, cmd_ntop;
static const struct cmd_def *name_tab[NAME_SLOTS];
static struct { const struct cmd_def *c; int id; } ptr_tab[PTR_SLOTS];

static const struct cmd_def *const cmd_families[] = {
	cmd_string_defs, cmd_keys_defs, cmd_server_defs, cmd_command_defs,
	cmd_hash_defs, cmd_list_defs, cmd_set_defs, cmd_zset_defs,
	cmd_multi_defs, cmd_pubsub_defs,
	cmd_bit_defs,
	cmd_acl_defs,
	cmd_sort_defs,
};

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		h = (h ^ c) * 16777619u;
	}
	return h;
}

static uint32_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

static void cmd_register(const struct cmd_def *c, const struct cmd_def *parent)
{
	uint32_t h;

	ASSERT(cmd_nall < CMD_MAX);
	cmd_all[cmd_nall] = c;
	cmd_parent_of[cmd_nall] = parent;
	for (h = ptr_hash(c) & (PTR_SLOTS - 1); ptr_tab[h].c; h = (h + 1) & (PTR_SLOTS - 1))
		;
	ptr_tab[h].c = c;
	ptr_tab[h].id = cmd_nall++;
	if (parent)
		return;
	cmd_ntop++;
	for (h = name_hash(c->name, strlen(c->name)) & (NAME_SLOTS - 1); name_tab[h];
	     h = (h + 1) & (NAME_SLOTS - 1))
		ASSERT(strcmp(name_tab[h]->name, c->name) != 0);	/* no duplicates */
	name_tab[h] = c;
}

void cmd_init(void)
{
	if (cmd_nall)
		return;
	for (size_t f = 0; f < ARRAY_SIZE(cmd_families); f++) {
		if (!cmd_families[f])
			continue;	/* optional family not linked in */
		for (const struct cmd_def *c = cmd_families[f]; c->name; c++) {
			cmd_register(c, NULL);
			if (c->subcmds)
				for (const struct cmd_def *s = c->subcmds; s->name; s++)
					cmd_register(s, c);
		}
	}
}

const struct cmd_def *cmd_lookup(const char *name, size_t len)
{
	for (uint32_t h = name_hash(name, len) & (NAME_SLOTS - 1); name_tab[h];
	     h = (h + 1) & (NAME_SLOTS - 1)) {
		const struct cmd_def *c = name_tab[h];

		if (strutil_eq_nocase(name, len, c->name))
			return c;
	}
	return NULL;
}

const struct cmd_def *cmd_lookup_sub(const struct cmd_def *c, const char *name, size_t len)
{
	if (!c->subcmds)
		return NULL;
	for (const struct cmd_def *s = c->subcmds; s->name; s++)
		if (strutil_eq_nocase(name, len, s->name))
			return s;
	return NULL;
}

int cmd_id(const struct cmd_def *c)
{
	for (uint32_t h = ptr_hash(c) & (PTR_SLOTS - 1); ptr_tab[h].c; h = (h + 1) & (PTR_SLOTS - 1))
		if (ptr_tab[h].c == c)
			return ptr_tab[h].id;
	ASSERT(!"command not registered");
	return -1;
}

const struct cmd_def *cmd_by_id(int id)
{
	ASSERT(id >= 0 && id < cmd_nall);
	return cmd_all[id];
}

const struct cmd_def *cmd_parent(const struct cmd_def *c)
{
	return cmd_parent_of[cmd_id(c)];
}

int cmd_count_all(void) { return cmd_nall; }
int cmd_count_top(void) { return cmd_ntop; }

void cmd_foreach(void (*fn)(const struct cmd_def *c, void *arg), void *arg)
{
	for (int i = 0; i < cmd_nall; i++)
		if (!cmd_parent_of[i])
			fn(cmd_all[i], arg);
}

const char *cmd_fullname(const struct cmd_def *c, char *buf, size_t cap)
{
	const struct cmd_def *p = cmd_parent(c);

	if (p)
		snprintf(buf, cap, "%s|%s", p->name, c->name);
	else
		snprintf(buf, cap, "%s", c->name);
	return buf;
}

int cmd_keys(const struct cmd_def *c, int argc, const struct cmd_arg *argv, int *out, int cap)
{
	int last, n = 0;

	if (c->getkeys)
		return c->getkeys(argc, argv, out, cap);
	if (c->first_key <= 0)
		return 0;
	last = c->last_key < 0 ? argc + c->last_key : c->last_key;
	if (last >= argc)
		last = argc - 1;
	for (int i = c->first_key; i <= last; i += c->key_step > 0 ? c->key_step : 1) {
		if (n < cap)
			out[n] = i;
		n++;
	}
	return n;
}

/* --- context helpers --- */

struct kv_db *cmd_db_id(struct cmd_ctx *ctx, const char *key, size_t klen, int dbid)
{
	if (ctx->flags & CTX_PARKED)
		return &srv.shards[shard_of_key(key, klen)].dbs[dbid];
	DASSERT(shard_of_key(key, klen) == ctx->sh->id);
	return &ctx->sh->dbs[dbid];
}

struct kv_db *cmd_db(struct cmd_ctx *ctx, const char *key, size_t klen)
{
	return cmd_db_id(ctx, key, klen, ctx->dbid);
}

int cmd_nshards(const struct cmd_ctx *ctx)
{
	(void)ctx;
	return srv.nshards;
}

struct kv_db *cmd_shard_db(struct cmd_ctx *ctx, int shard, int dbid)
{
	ASSERT(shard == ctx->sh->id || (ctx->flags & CTX_PARKED));
	return &srv.shards[shard].dbs[dbid];
}

void cmd_reply_arity(struct cmd_ctx *ctx)
{
	char name[128];

	resp_w_errorf(ctx->w, "wrong number of arguments for '%s' command",
		      cmd_fullname(ctx->cmd, name, sizeof(name)));
}

void cmd_reply_syntax(struct cmd_ctx *ctx)
{
	resp_w_error(ctx->w, "syntax error");
}

void cmd_reply_wrongtype(struct cmd_ctx *ctx)
{
	resp_w_error(ctx->w, "-WRONGTYPE Operation against a key holding the wrong kind of value");
}

void cmd_reply_notint(struct cmd_ctx *ctx)
{
	resp_w_error(ctx->w, "value is not an integer or out of range");
}

void cmd_reply_notfloat(struct cmd_ctx *ctx)
{
	resp_w_error(ctx->w, "value is not a valid float");
}

void cmd_reply_help(struct cmd_ctx *ctx, const char *const *lines, size_t n)
{
	resp_w_array(ctx->w, n);
	for (size_t i = 0; i < n; i++)
		resp_w_simple(ctx->w, lines[i]);
}

bool cmd_arg_ll_msg(struct cmd_ctx *ctx, int i, long long *out, const char *err)
{
	if (strutil_to_ll(ctx->argv[i].p, ctx->argv[i].len, out))
		return true;
	resp_w_error(ctx->w, err);
	return false;
}

bool cmd_arg_timeout(struct cmd_ctx *ctx, int i, int64_t *deadline_ms)
{
	long double secs;

	if (!strutil_to_ld(ctx->argv[i].p, ctx->argv[i].len, &secs) || secs * 1000 > (long double)INT64_MAX / 2) {
		resp_w_error(ctx->w, "timeout is not a float or out of range");
		return false;
	}
	if (secs < 0) {
		resp_w_error(ctx->w, "timeout is negative");
		return false;
	}
	*deadline_ms = secs > 0 ? kv_now_ms + (int64_t)(secs * 1000 + 0.5L) : 0;
	if (secs > 0 && *deadline_ms == kv_now_ms)
		*deadline_ms = kv_now_ms + 1;
	return true;
}

void cmd_block(struct cmd_ctx *ctx, int64_t deadline_ms, bool null_array)
{
	if (ctx->flags & CTX_NO_BLOCK) {
		if (null_array)
			resp_w_null_array(ctx->w);
		else
			resp_w_null(ctx->w);
		return;
	}
	ctx->flags |= CTX_BLOCKED;
	ctx->block_deadline = deadline_ms;
	ctx->block_null_array = null_array;
}

bool cmd_arg_ll(struct cmd_ctx *ctx, int i, long long *out)
{
	return cmd_arg_ll_msg(ctx, i, out, "value is not an integer or out of range");
}

/* --- COMMAND --- */

static const char *const flag_names[CMD_FLAG_COUNT] = {
	"write", "readonly", "denyoom", "admin", "pubsub", "noscript", "blocking",
	"loading", "stale", "skip_monitor", "skip_slowlog", "fast", "no_auth",
	"may_replicate", "no_multi", "movablekeys", "allow_busy", "no_mandatory_keys",
};

static const char *const acl_names[ACL_NCATS] = {
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting",
};

static void command_info_one(struct resp_w *w, const struct cmd_def *c)
{
	char name[128], cat[32];
	size_t n = 0;

	resp_w_array(w, 10);
	resp_w_bulk_cstr(w, cmd_fullname(c, name, sizeof(name)));
	resp_w_int(w, c->arity);
	for (int i = 0; i < CMD_FLAG_COUNT; i++)
		if (c->flags & (1u << i))
			n++;
	resp_w_set(w, n);
	for (int i = 0; i < CMD_FLAG_COUNT; i++)
		if (c->flags & (1u << i))
			resp_w_simple(w, flag_names[i]);
	resp_w_int(w, c->first_key);
	resp_w_int(w, c->last_key);
	resp_w_int(w, c->key_step);
	n = 0;
	for (int i = 0; i < ACL_NCATS; i++)
		if (c->acl & ACL(i))
			n++;
	resp_w_set(w, n);
	for (int i = 0; i < ACL_NCATS; i++) {
		if (c->acl & ACL(i)) {
			snprintf(cat, sizeof(cat), "@%s", acl_names[i]);
			resp_w_simple(w, cat);
		}
	}
	resp_w_array(w, 0);	/* tips */
	if (c->first_key > 0) {	/* one key spec equivalent to the legacy triple */
		resp_w_array(w, 1);
		resp_w_map(w, 3);
		resp_w_bulk_cstr(w, "flags");
		resp_w_set(w, 0);
		resp_w_bulk_cstr(w, "begin_search");
		resp_w_map(w, 2);
		resp_w_bulk_cstr(w, "type");
		resp_w_bulk_cstr(w, "index");
		resp_w_bulk_cstr(w, "spec");
		resp_w_map(w, 1);
		resp_w_bulk_cstr(w, "index");
		resp_w_int(w, c->first_key);
		resp_w_bulk_cstr(w, "find_keys");
		resp_w_map(w, 2);
		resp_w_bulk_cstr(w, "type");
		resp_w_bulk_cstr(w, "range");
		resp_w_bulk_cstr(w, "spec");
		resp_w_map(w, 3);
		resp_w_bulk_cstr(w, "lastkey");
		resp_w_int(w, c->last_key < 0 ? c->last_key : c->last_key - c->first_key);
		resp_w_bulk_cstr(w, "keystep");
		resp_w_int(w, c->key_step);
		resp_w_bulk_cstr(w, "limit");
		resp_w_int(w, 0);
	} else {
		resp_w_array(w, 0);
	}
	n = 0;
	if (c->subcmds)
		for (const struct cmd_def *s = c->subcmds; s->name; s++)
			n++;
	resp_w_array(w, n);
	if (c->subcmds)
		for (const struct cmd_def *s = c->subcmds; s->name; s++)
			command_info_one(w, s);
}

static void command_docs_one(struct resp_w *w, const struct cmd_def *c)
{
	char name[128];
	size_t nsub = 0, fields = 3;

	if (c->subcmds)
		for (const struct cmd_def *s = c->subcmds; s->name; s++)
			nsub++;
	fields += c->complexity ? 1 : 0;
	fields += nsub ? 1 : 0;
	resp_w_bulk_cstr(w, cmd_fullname(c, name, sizeof(name)));
	resp_w_map(w, fields);
	resp_w_bulk_cstr(w, "summary");
	resp_w_bulk_cstr(w, c->summary ? c->summary : "");
	resp_w_bulk_cstr(w, "since");
	resp_w_bulk_cstr(w, c->since ? c->since : "1.0.0");
	resp_w_bulk_cstr(w, "group");
	resp_w_bulk_cstr(w, c->group ? c->group : "generic");
	if (c->complexity) {
		resp_w_bulk_cstr(w, "complexity");
		resp_w_bulk_cstr(w, c->complexity);
	}
	if (nsub) {
		resp_w_bulk_cstr(w, "subcommands");
		resp_w_map(w, nsub);
		for (const struct cmd_def *s = c->subcmds; s->name; s++)
			command_docs_one(w, s);
	}
}

static void command_info_cb(const struct cmd_def *c, void *arg)
{
	command_info_one(arg, c);
}

static void command_docs_cb(const struct cmd_def *c, void *arg)
{
	command_docs_one(arg, c);
}

/* Finds "get" or "object|encoding". */
static const struct cmd_def *cmd_lookup_full(const char *name, size_t len)
{
	const char *bar = memchr(name, '|', len);
	const struct cmd_def *c;

	if (!bar)
		return cmd_lookup(name, len);
	c = cmd_lookup(name, (size_t)(bar - name));
	return c ? cmd_lookup_sub(c, bar + 1, len - (size_t)(bar - name) - 1) : NULL;
}

static void command_plain(struct cmd_ctx *ctx)
{
	resp_w_array(ctx->w, (size_t)cmd_count_top());
	cmd_foreach(command_info_cb, ctx->w);
}

static void command_count(struct cmd_ctx *ctx)
{
	resp_w_int(ctx->w, cmd_count_top());
}

static void command_info(struct cmd_ctx *ctx)
{
	if (ctx->argc == 2) {
		command_plain(ctx);
		return;
	}
	resp_w_array(ctx->w, (size_t)(ctx->argc - 2));
	for (int i = 2; i < ctx->argc; i++) {
		const struct cmd_def *c = cmd_lookup_full(ctx->argv[i].p, ctx->argv[i].len);

		if (c)
			command_info_one(ctx->w, c);
		else
			resp_w_null_array(ctx->w);
	}
}

static void command_docs(struct cmd_ctx *ctx)
{
	size_t off;
	size_t n = 0;

	if (ctx->argc == 2) {
		resp_w_map(ctx->w, (size_t)cmd_count_top());
		cmd_foreach(command_docs_cb, ctx->w);
		return;
	}
	off = resp_w_defer(ctx->w);
	for (int i = 2; i < ctx->argc; i++) {
		const struct cmd_def *c = cmd_lookup_full(ctx->argv[i].p, ctx->argv[i].len);

		if (c) {
			command_docs_one(ctx->w, c);
			n++;
		}
	}
	resp_w_defer_end(ctx->w, off, '%', n);
}

struct list_filter {
	struct resp_w *w;
	size_t n;
	int kind;		/* 0 none, 1 aclcat, 2 pattern, 3 module */
	uint64_t cat;
	const struct cmd_arg *pat;
};

static void command_list_cb(const struct cmd_def *c, void *arg)
{
	struct list_filter *f = arg;

	if (f->kind == 3)
		return;
	if (f->kind == 1 && !(c->acl & f->cat))
		return;
	if (f->kind == 2 && !strutil_glob_match(f->pat->p, f->pat->len, c->name, strlen(c->name), true))
		return;
	resp_w_bulk_cstr(f->w, c->name);
	f->n++;
}

static void command_list(struct cmd_ctx *ctx)
{
	struct list_filter f = { .w = ctx->w };
	size_t off;

	if (ctx->argc != 2 && ctx->argc != 5) {
		cmd_reply_syntax(ctx);
		return;
	}
	if (ctx->argc == 5) {
		if (!cmd_arg_is(ctx, 2, "filterby")) {
			cmd_reply_syntax(ctx);
			return;
		}
		if (cmd_arg_is(ctx, 3, "aclcat")) {
			int i;

			f.kind = 1;
			for (i = 0; i < ACL_NCATS; i++)
				if (strutil_eq_nocase(ctx->argv[4].p, ctx->argv[4].len, acl_names[i]))
					break;
			f.cat = i < ACL_NCATS ? ACL(i) : 0;
		} else if (cmd_arg_is(ctx, 3, "pattern")) {
			f.kind = 2;
			f.pat = &ctx->argv[4];
		} else if (cmd_arg_is(ctx, 3, "module")) {
			f.kind = 3;
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	off = resp_w_defer(ctx->w);
	cmd_foreach(command_list_cb, &f);
	resp_w_defer_end(ctx->w, off, '*', f.n);
}

static void command_getkeys(struct cmd_ctx *ctx)
{
	const struct cmd_def *c = cmd_lookup(ctx->argv[2].p, ctx->argv[2].len);
	const struct cmd_arg *argv = ctx->argv + 2;
	int argc = ctx->argc - 2, n, *idx;

	if (c && (c->flags & CMD_CONTAINER))
		c = argc >= 2 ? cmd_lookup_sub(c, argv[1].p, argv[1].len) : NULL;
	if (!c) {
		resp_w_error(ctx->w, "Invalid command specified");
		return;
	}
	if ((c->arity > 0 && argc != c->arity) || argc < -c->arity) {
		resp_w_error(ctx->w, "Invalid number of arguments specified for command");
		return;
	}
	n = cmd_keys(c, argc, argv, NULL, 0);
	if (n < 0) {
		resp_w_error(ctx->w, "Invalid arguments specified for command");
		return;
	}
	if (n == 0) {
		resp_w_error(ctx->w, "The command has no key arguments");
		return;
	}
	idx = mem_alloc((size_t)n * sizeof(int));
	cmd_keys(c, argc, argv, idx, n);
	resp_w_array(ctx->w, (size_t)n);
	for (int i = 0; i < n; i++)
		resp_w_bulk(ctx->w, argv[idx[i]].p, argv[idx[i]].len);
	mem_free(idx);
}

static void command_help(struct cmd_ctx *ctx)
{
	static const char *const lines[] = {
		"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)",
		"    Return details about all commands.",
		"COUNT",
		"    Return the total number of commands in this server.",
		"LIST",
		"    Return a list of all commands in this server.",
		"INFO [<command-name> ...]",
		"    Return details about multiple commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"DOCS [<command-name> ...]",
		"    Return documentation details about multiple commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"GETKEYS <full-command>",
		"    Return the keys from a full command.",
		"HELP",
		"    Print this help.",
	};

	cmd_reply_help(ctx, lines, ARRAY_SIZE(lines));
}

static void command_cmd(struct cmd_ctx *ctx)
{
	command_plain(ctx);
}

#define CONN_ACL (ACL(ACL_SLOW) | ACL(ACL_CONNECTION))

static const struct cmd_def command_subcmds[] = {
	{ "count", command_count, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, CONN_ACL,
	  "server", "2.8.13", "Returns a count of commands.", "O(1)", NULL },
	{ "docs", command_docs, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, CONN_ACL,
	  "server", "7.0.0", "Returns documentary information about one, multiple or all commands.",
	  "O(N) where N is the number of commands to look up", NULL },
	{ "getkeys", command_getkeys, -4, CMD_LOADING | CMD_STALE, 0, 0, 0, CONN_ACL,
	  "server", "2.8.13", "Extracts the key names from an arbitrary command.",
	  "O(N) where N is the number of arguments to the command", NULL },
	{ "help", command_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, CONN_ACL,
	  "server", "5.0.0", "Returns helpful text about the different subcommands.", "O(1)", NULL },
	{ "info", command_info, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, CONN_ACL,
	  "server", "2.8.13", "Returns information about one, multiple or all commands.",
	  "O(N) where N is the number of commands to look up", NULL },
	{ "list", command_list, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, CONN_ACL,
	  "server", "7.0.0", "Returns a list of command names.",
	  "O(N) where N is the total number of commands", NULL },
	{ NULL },
};

/* COMMAND with no argument is the container itself; handled in the table
 * below by arity -1 and a handler; the dispatcher routes "COMMAND" with no
 * subcommand to command_cmd. */
const struct cmd_def cmd_command_defs[] = {
	{ "command", command_cmd, -1, CMD_LOADING | CMD_STALE | CMD_CONTAINER, 0, 0, 0, CONN_ACL,
	  "server", "2.8.13", "Returns detailed information about all commands.",
	  "O(N) where N is the total number of commands", command_subcmds },
	{ NULL },
};
