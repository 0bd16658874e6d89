/*
 * cmd_acl.c - the ACL command: SETUSER, GETUSER, DELUSER, LIST, USERS,
 * WHOAMI, CAT, GENPASS, LOAD, SAVE, DRYRUN, LOG and HELP, with Redis 7.0's
 * replies and errors.
 *
 * The users and their rules live in acl.c; this file parses arguments and
 * writes replies. Subcommands that change users (SETUSER, DELUSER, LOAD)
 * carry CMD_ALL_SHARDS: they run while every other shard is parked, which
 * is what lets acl_check() read users on any shard without a lock. SAVE is
 * parked too, so two saves never race on the file. The others only read.
 *
 * ACL LOG shows the refusals acl.c records (acl_log_add, called where a
 * command, key, channel or AUTH is refused).
 */
#include "acl.h"
#include "cfg.h"
#include "cmd.h"
#include "conn.h"
#include "mem.h"
#include "strutil.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#define GENPASS_MAX_BITS 4096

/* The reply to a known subcommand given the wrong number of arguments the
 * handler itself checks (beyond the table's arity). */
static void acl_reply_subcmd_syntax(struct cmd_ctx *ctx)
{
	resp_w_errorf(ctx->w, "unknown subcommand or wrong number of arguments for '%.*s'. "
			      "Try ACL HELP.", (int)MIN(ctx->argv[1].len, (size_t)128), ctx->argv[1].p);
}

static void acl_setuser_cmd(struct cmd_ctx *ctx)
{
	char *err = NULL;

	if (acl_setuser(ctx->argv[2].p, ctx->argv[2].len, ctx->argc - 3, ctx->argv + 3, &err) < 0) {
		resp_w_error(ctx->w, err);
		mem_free(err);
		return;
	}
	resp_w_ok(ctx->w);
}

static void acl_deluser_cmd(struct cmd_ctx *ctx)
{
	long long deleted = 0;

	for (int i = 2; i < ctx->argc; i++) {
		if (ctx->argv[i].len == 7 && !memcmp(ctx->argv[i].p, "default", 7)) {
			resp_w_error(ctx->w, "The 'default' user cannot be removed");
			return;
		}
	}
	for (int i = 2; i < ctx->argc; i++)
		deleted += acl_deluser(ctx->argv[i].p, ctx->argv[i].len);
	resp_w_int(ctx->w, deleted);
}

static void acl_getuser_cmd(struct cmd_ctx *ctx)
{
	const struct acl_user *u = acl_user_lookup(ctx->argv[2].p, ctx->argv[2].len);

	if (!u) {
		resp_w_null(ctx->w);
		return;
	}
	acl_user_write_getuser(ctx->w, u);
}

static void acl_list_cmd(struct cmd_ctx *ctx)
{
	int n = acl_user_count();

	resp_w_array(ctx->w, (size_t)n);
	for (int i = 0; i < n; i++) {
		const struct acl_user *u = acl_user_at(i);
		char *d = acl_user_describe(u);
		struct sbuf b = { 0 };
		size_t nlen;
		const char *name = acl_user_name(u, &nlen);

		sbuf_append_str(&b, "user ");
		sbuf_append(&b, name, nlen);
		sbuf_append_char(&b, ' ');
		sbuf_append_str(&b, d);
		resp_w_bulk(ctx->w, b.p, b.len);
		sbuf_free(&b);
		mem_free(d);
	}
}

static void acl_users_cmd(struct cmd_ctx *ctx)
{
	int n = acl_user_count();

	resp_w_array(ctx->w, (size_t)n);
	for (int i = 0; i < n; i++) {
		size_t len;
		const char *name = acl_user_name(acl_user_at(i), &len);

		resp_w_bulk(ctx->w, name, len);
	}
}

static void acl_whoami_cmd(struct cmd_ctx *ctx)
{
	const struct acl_user *u = ctx->cl && ctx->cl->user ? ctx->cl->user : acl_default_user();
	size_t len;
	const char *name = acl_user_name(u, &len);

	resp_w_bulk(ctx->w, name, len);
}

struct cat_walk {
	struct resp_w *w;
	uint64_t cat;
	size_t n;
};

static void acl_cat_one(const struct cmd_def *c, struct cat_walk *cw)
{
	char name[160];

	if (c->acl & cw->cat) {
		resp_w_bulk_cstr(cw->w, cmd_fullname(c, name, sizeof(name)));
		cw->n++;
	}
}

static void acl_cat_cb(const struct cmd_def *c, void *arg)
{
	acl_cat_one(c, arg);
	if (c->subcmds)
		for (const struct cmd_def *s = c->subcmds; s->name; s++)
			acl_cat_one(s, arg);
}

static void acl_cat_cmd(struct cmd_ctx *ctx)
{
	struct cat_walk cw = { .w = ctx->w };
	size_t off;
	int cat;

	if (ctx->argc > 3) {
		acl_reply_subcmd_syntax(ctx);
		return;
	}
	if (ctx->argc == 2) {
		resp_w_array(ctx->w, ACL_NCATS);
		for (int i = 0; i < ACL_NCATS; i++)
			resp_w_bulk_cstr(ctx->w, acl_category_name(i));
		return;
	}
	cat = acl_category_lookup(ctx->argv[2].p, ctx->argv[2].len);
	if (cat < 0) {
		resp_w_errorf(ctx->w, "Unknown category '%.*s'",
			      (int)MIN(ctx->argv[2].len, (size_t)128), ctx->argv[2].p);
		return;
	}
	cw.cat = ACL(cat);
	off = resp_w_defer(ctx->w);
	cmd_foreach(acl_cat_cb, &cw);
	resp_w_defer_end(ctx->w, off, '*', cw.n);
}

static void acl_genpass_cmd(struct cmd_ctx *ctx)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char raw[GENPASS_MAX_BITS / 8];
	char hex[GENPASS_MAX_BITS / 4];
	long long bits = 256;
	size_t chars;

	if (ctx->argc > 3) {
		acl_reply_subcmd_syntax(ctx);
		return;
	}
	if (ctx->argc == 3 && !cmd_arg_ll(ctx, 2, &bits))
		return;
	if (bits <= 0 || bits > GENPASS_MAX_BITS) {
		resp_w_errorf(ctx->w, "ACL GENPASS argument must be the number of bits for the output "
				      "password, a positive number up to %d", GENPASS_MAX_BITS);
		return;
	}
	chars = (size_t)(bits + 3) / 4;
	if (RAND_bytes(raw, (int)((chars + 1) / 2)) != 1) {
		resp_w_error(ctx->w, "Failed to generate random bytes");
		return;
	}
	for (size_t i = 0; i < chars; i++)
		hex[i] = digits[i % 2 ? raw[i / 2] & 15 : raw[i / 2] >> 4];
	resp_w_bulk(ctx->w, hex, chars);
}

static bool acl_file_configured(struct cmd_ctx *ctx)
{
	if (cfg.aclfile && *cfg.aclfile)
		return true;
	resp_w_error(ctx->w, "This Redis instance is not configured to use an ACL file. You may want "
			     "to specify users via the ACL SETUSER command and then issue a CONFIG "
			     "REWRITE (assuming you have a Redis configuration file set) in order to "
			     "store users in the Redis configuration.");
	return false;
}

static void acl_load_cmd(struct cmd_ctx *ctx)
{
	char *err = NULL;

	if (!acl_file_configured(ctx))
		return;
	if (acl_load_file(cfg.aclfile, &err) < 0) {
		resp_w_error(ctx->w, err);
		mem_free(err);
		return;
	}
	resp_w_ok(ctx->w);
}

static void acl_save_cmd(struct cmd_ctx *ctx)
{
	if (!acl_file_configured(ctx))
		return;
	if (acl_save_file(cfg.aclfile) < 0) {
		resp_w_error(ctx->w, "There was an error trying to save the ACLs. Please check the "
				     "server logs for more information");
		return;
	}
	resp_w_ok(ctx->w);
}

static void acl_log_cmd(struct cmd_ctx *ctx)
{
	long long count = 10;

	if (ctx->argc > 3) {
		acl_reply_subcmd_syntax(ctx);
		return;
	}
	if (ctx->argc == 3) {
		if (cmd_arg_is(ctx, 2, "reset")) {
			acl_log_reset();
			resp_w_ok(ctx->w);
			return;
		}
		if (!cmd_arg_ll(ctx, 2, &count))
			return;
	}
	acl_log_write(ctx->w, count);
}

static void acl_dryrun_cmd(struct cmd_ctx *ctx)
{
	const struct acl_user *u = acl_user_lookup(ctx->argv[2].p, ctx->argv[2].len);
	const struct cmd_arg *argv = ctx->argv + 3;
	int argc = ctx->argc - 3, bad = 0, res;
	const struct cmd_def *c;
	char name[160];

	if (!u) {
		resp_w_errorf(ctx->w, "User '%.*s' not found", (int)ctx->argv[2].len, ctx->argv[2].p);
		return;
	}
	c = cmd_lookup(argv[0].p, argv[0].len);
	if (c && c->subcmds && argc >= 2)
		c = cmd_lookup_sub(c, argv[1].p, argv[1].len);
	if (!c) {
		resp_w_errorf(ctx->w, "Command '%.*s' not found", (int)argv[0].len, argv[0].p);
		return;
	}
	if ((c->arity > 0 && c->arity != argc) || argc < -c->arity) {
		resp_w_errorf(ctx->w, "wrong number of arguments for '%s' command",
			      cmd_fullname(c, name, sizeof(name)));
		return;
	}
	res = acl_check(u, c, argc, argv, &bad);
	switch (res) {
	case ACL_OK:
		resp_w_ok(ctx->w);
		return;
	case ACL_DENIED_CMD: {
		char msg[256];

		snprintf(msg, sizeof(msg), "This user has no permissions to run the '%s' command",
			 cmd_fullname(c, name, sizeof(name)));
		resp_w_bulk_cstr(ctx->w, msg);
		return;
	}
	default: {
		struct sbuf b = { 0 };

		sbuf_printf(&b, "This user has no permissions to access the '%.*s' %s",
			    (int)argv[bad].len, argv[bad].p, res == ACL_DENIED_KEY ? "key" : "channel");
		resp_w_bulk(ctx->w, b.p, b.len);
		sbuf_free(&b);
		return;
	}
	}
}

static void acl_help_cmd(struct cmd_ctx *ctx)
{
	static const char *const lines[] = {
		"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CAT [<category>]",
		"    List all commands that belong to <category>, or all command categories",
		"    when no category is specified.",
		"DELUSER <username> [<username> ...]",
		"    Delete a list of users.",
		"DRYRUN <username> <command> [<arg> ...]",
		"    Returns whether the user can execute the given command without executing the command.",
		"GETUSER <username>",
		"    Get the user's details.",
		"GENPASS [<bits>]",
		"    Generate a secure 256-bit user password. The optional `bits` argument can",
		"    be used to specify a different size.",
		"LIST",
		"    Show users details in config file format.",
		"LOAD",
		"    Reload users from the ACL file.",
		"LOG [<count> | RESET]",
		"    Show the ACL log entries.",
		"SAVE",
		"    Save the current config to the ACL file.",
		"SETUSER <username> <attribute> [<attribute> ...]",
		"    Create or modify a user with the specified attributes.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.",
		"HELP",
		"    Prints this help.",
	};

	cmd_reply_help(ctx, lines, ARRAY_SIZE(lines));
}

#define ACL_FLAGS	(CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define ACL_ADMIN_FLAGS	(ACL_FLAGS | CMD_ADMIN)
#define ACL_ADMIN_ACL	(ACL(ACL_ADMIN) | ACL(ACL_SLOW) | ACL(ACL_DANGEROUS))

static const struct cmd_def acl_subcmds[] = {
	{ "cat", acl_cat_cmd, -2, ACL_FLAGS, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "6.0.0", "List the ACL categories or the commands inside a category",
	  "O(1) since the categories and commands are a fixed set.", NULL },
	{ "deluser", acl_deluser_cmd, -3, ACL_ADMIN_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, ACL_ADMIN_ACL,
	  "server", "6.0.0", "Remove the specified ACL users and the associated rules",
	  "O(1) amortized time considering the typical user.", NULL },
	{ "dryrun", acl_dryrun_cmd, -4, ACL_ADMIN_FLAGS, 0, 0, 0, ACL_ADMIN_ACL,
	  "server", "7.0.0",
	  "Returns whether the user can execute the given command without executing the command.",
	  "O(1).", NULL },
	{ "genpass", acl_genpass_cmd, -2, ACL_FLAGS, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "6.0.0", "Generate a pseudorandom secure password to use for ACL users",
	  "O(1)", NULL },
	{ "getuser", acl_getuser_cmd, 3, ACL_ADMIN_FLAGS, 0, 0, 0, ACL_ADMIN_ACL,
	  "server", "6.0.0", "Get the rules for a specific ACL user",
	  "O(N). Where N is the number of password, command and pattern rules that the user has.",
	  NULL },
	{ "help", acl_help_cmd, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "6.0.0", "Show helpful text about the different subcommands", "O(1)", NULL },
	{ "list", acl_list_cmd, 2, ACL_ADMIN_FLAGS, 0, 0, 0, ACL_ADMIN_ACL,
	  "server", "6.0.0", "List the current ACL rules in ACL config file format",
	  "O(N). Where N is the number of configured users.", NULL },
	{ "load", acl_load_cmd, 2, ACL_ADMIN_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, ACL_ADMIN_ACL,
	  "server", "6.0.0", "Reload the ACLs from the configured ACL file",
	  "O(N). Where N is the number of configured users.", NULL },
	{ "log", acl_log_cmd, -2, ACL_ADMIN_FLAGS, 0, 0, 0, ACL_ADMIN_ACL,
	  "server", "6.0.0", "List latest events denied because of ACLs in place",
	  "O(N) with N being the number of entries shown.", NULL },
	{ "save", acl_save_cmd, 2, ACL_ADMIN_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, ACL_ADMIN_ACL,
	  "server", "6.0.0", "Save the current ACL rules in the configured ACL file",
	  "O(N). Where N is the number of configured users.", NULL },
	{ "setuser", acl_setuser_cmd, -3, ACL_ADMIN_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, ACL_ADMIN_ACL,
	  "server", "6.0.0", "Modify or create the rules for a specific ACL user",
	  "O(N). Where N is the number of rules provided.", NULL },
	{ "users", acl_users_cmd, 2, ACL_ADMIN_FLAGS, 0, 0, 0, ACL_ADMIN_ACL,
	  "server", "6.0.0", "List the username of all the configured ACL rules",
	  "O(N). Where N is the number of configured users.", NULL },
	{ "whoami", acl_whoami_cmd, 2, ACL_FLAGS, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "6.0.0", "Return the name of the user associated to the current connection",
	  "O(1)", NULL },
	{ NULL },
};

const struct cmd_def cmd_acl_defs[] = {
	{ "acl", NULL, -2, CMD_CONTAINER, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "6.0.0", "A container for Access List Control commands ",
	  "Depends on subcommand.", acl_subcmds },
	{ NULL },
};
