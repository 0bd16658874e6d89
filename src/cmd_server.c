/*
 * cmd_server.c - connection and server commands: PING, ECHO, QUIT, RESET,
 * HELLO, AUTH, SELECT, CLIENT, INFO, CONFIG, TIME, LASTSAVE, MEMORY, DEBUG,
 * SHUTDOWN.
 *
 * Commands about the calling connection run on its own thread (ctx->cl is
 * set). Commands that read or change every shard (INFO, CLIENT LIST/KILL,
 * CONFIG SET/RESETSTAT) carry CMD_ALL_SHARDS and run with the other shards
 * parked, so the figures they gather are a consistent snapshot and a CONFIG
 * SET is never seen half-applied.
 */
#include "server.h"
#include "block.h"
#include "multi.h"
#include "pubsub.h"
#include "conn.h"
#include "cfg.h"
#include "cmd.h"
#include "blob.h"
#include "acl.h"
#include "lathist.h"
#include "log.h"
#include "mem.h"
#include "strutil.h"
#include "util.h"
#include "version.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#define CONN_ACL (ACL(ACL_FAST) | ACL(ACL_CONNECTION))
#define SLOW_CONN_ACL (ACL(ACL_SLOW) | ACL(ACL_CONNECTION))
#define ADMIN_ACL (ACL(ACL_ADMIN) | ACL(ACL_SLOW) | ACL(ACL_DANGEROUS))

/* --- PING ECHO QUIT RESET TIME LASTSAVE --- */

static void ping_cmd(struct cmd_ctx *ctx)
{
	if (ctx->argc > 2) {
		cmd_reply_arity(ctx);
		return;
	}
	if (ctx->cl && ctx->w->proto == RESP2 && pubsub_count(ctx->cl)) {
		/* A subscribed RESP2 client gets PING's answer as a message. */
		resp_w_array(ctx->w, 2);
		resp_w_bulk_cstr(ctx->w, "pong");
		resp_w_bulk(ctx->w, ctx->argc == 2 ? ctx->argv[1].p : "",
			    ctx->argc == 2 ? ctx->argv[1].len : 0);
		return;
	}
	if (ctx->argc == 2)
		resp_w_bulk(ctx->w, ctx->argv[1].p, ctx->argv[1].len);
	else
		resp_w_simple(ctx->w, "PONG");
}

static void echo_cmd(struct cmd_ctx *ctx)
{
	resp_w_bulk(ctx->w, ctx->argv[1].p, ctx->argv[1].len);
}

static void quit_cmd(struct cmd_ctx *ctx)
{
	resp_w_ok(ctx->w);
	ctx->cl->flags |= CL_CLOSE_AFTER_REPLY;
}

static void reset_cmd(struct cmd_ctx *ctx)
{
	struct client *c = ctx->cl;

	multi_discard(c);
	multi_unwatch(c);
	pubsub_unsubscribe_all(c, false);
	c->dbid = 0;
	c->proto = RESP2;
	c->flags &= ~(CL_NO_EVICT | CL_NO_TOUCH | CL_REPLY_OFF | CL_REPLY_SKIP | CL_REPLY_SKIP_NEXT);
	mem_free(c->name);
	c->name = NULL;
	acl_user_release(c->user);
	c->user = acl_user_hold(acl_default_user());
	if (acl_default_needs_auth())
		c->flags &= ~CL_AUTHED;
	else
		c->flags |= CL_AUTHED;
	ctx->w->proto = RESP2;
	resp_w_simple(ctx->w, "RESET");
}

static void time_cmd(struct cmd_ctx *ctx)
{
	int64_t us = util_ustime();

	resp_w_array(ctx->w, 2);
	resp_w_bulk_ll(ctx->w, us / 1000000);
	resp_w_bulk_ll(ctx->w, us % 1000000);
}

static void lastsave_cmd(struct cmd_ctx *ctx)
{
	resp_w_int(ctx->w, srv.lastsave);
}

/* --- AUTH HELLO SELECT --- */

/* Checks user/password; on failure replies and returns false. */
static bool auth_check(struct cmd_ctx *ctx, const struct cmd_arg *user, const struct cmd_arg *pass)
{
	struct acl_user *u = user ? acl_authenticate(user->p, user->len, pass->p, pass->len)
				  : acl_authenticate("default", 7, pass->p, pass->len);

	if (!u) {
		client_acl_log(ctx->cl, ACL_DENIED_AUTH,
			       (ctx->cl->flags & CL_MULTI) ? ACL_LOG_MULTI : ACL_LOG_TOPLEVEL,
			       user ? user->p : "default", user ? user->len : 7,
			       ctx->argv[0].p, ctx->argv[0].len);
		resp_w_error(ctx->w, "-WRONGPASS invalid username-password pair or user is disabled.");
		return false;
	}
	acl_user_release(ctx->cl->user);
	ctx->cl->user = acl_user_hold(u);
	return true;
}

static void auth_cmd(struct cmd_ctx *ctx)
{
	const struct cmd_arg *user = NULL, *pass;

	if (ctx->argc > 3) {
		cmd_reply_syntax(ctx);
		return;
	}
	if (ctx->argc == 3)
		user = &ctx->argv[1];
	pass = &ctx->argv[ctx->argc - 1];
	if (!user && acl_user_is_nopass(acl_default_user())) {
		resp_w_error(ctx->w, "AUTH <password> called without any password configured "
				     "for the default user. Are you sure your configuration is correct?");
		return;
	}
	if (!auth_check(ctx, user, pass))
		return;
	ctx->cl->flags |= CL_AUTHED;
	resp_w_ok(ctx->w);
}

static bool valid_client_name(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < '!' || p[i] > '~')
			return false;
	return true;
}

static void set_client_name(struct client *c, const char *p, size_t len)
{
	mem_free(c->name);
	c->name = len ? mem_strndup(p, len) : NULL;
}

static void hello_cmd(struct cmd_ctx *ctx)
{
	struct client *c = ctx->cl;
	long long ver = c->proto;
	const struct cmd_arg *user = NULL, *pass = NULL, *name = NULL;

	if (ctx->argc >= 2) {
		if (!strutil_to_ll(ctx->argv[1].p, ctx->argv[1].len, &ver)) {
			resp_w_error(ctx->w, "Protocol version is not an integer or out of range");
			return;
		}
		if (ver < 2 || ver > 3) {
			resp_w_error(ctx->w, "-NOPROTO unsupported protocol version");
			return;
		}
	}
	for (int i = 2; i < ctx->argc; i++) {
		int more = ctx->argc - 1 - i;

		if (cmd_arg_is(ctx, i, "auth") && more >= 2) {
			user = &ctx->argv[i + 1];
			pass = &ctx->argv[i + 2];
			i += 2;
		} else if (cmd_arg_is(ctx, i, "setname") && more >= 1) {
			name = &ctx->argv[i + 1];
			i += 1;
		} else {
			resp_w_errorf(ctx->w, "Syntax error in HELLO option '%.*s'",
				      (int)MIN(ctx->argv[i].len, (size_t)128), ctx->argv[i].p);
			return;
		}
	}
	if (user) {
		if (!auth_check(ctx, user, pass))
			return;
		c->flags |= CL_AUTHED;
	}
	if (!(c->flags & CL_AUTHED)) {
		resp_w_error(ctx->w, "-NOAUTH HELLO must be called with the client already "
				     "authenticated, otherwise the HELLO AUTH <user> <pass> "
				     "option can be used to authenticate the client and select the "
				     "RESP protocol version at the same time");
		return;
	}
	if (name) {
		if (!valid_client_name(name->p, name->len)) {
			resp_w_error(ctx->w, "Client names cannot contain spaces, newlines or special characters.");
			return;
		}
		set_client_name(c, name->p, name->len);
	}
	c->proto = (int)ver;
	ctx->w->proto = (int)ver;
	resp_w_map(ctx->w, 7);
	resp_w_bulk_cstr(ctx->w, "server");
	resp_w_bulk_cstr(ctx->w, "redis");
	resp_w_bulk_cstr(ctx->w, "version");
	resp_w_bulk_cstr(ctx->w, STRATA_REDIS_VERSION);
	resp_w_bulk_cstr(ctx->w, "proto");
	resp_w_int(ctx->w, ver);
	resp_w_bulk_cstr(ctx->w, "id");
	resp_w_int(ctx->w, (long long)c->id);
	resp_w_bulk_cstr(ctx->w, "mode");
	resp_w_bulk_cstr(ctx->w, "standalone");
	resp_w_bulk_cstr(ctx->w, "role");
	resp_w_bulk_cstr(ctx->w, "master");
	resp_w_bulk_cstr(ctx->w, "modules");
	resp_w_array(ctx->w, 0);
}

static void select_cmd(struct cmd_ctx *ctx)
{
	long long id;

	if (!cmd_arg_ll(ctx, 1, &id))
		return;
	if (id < 0 || id >= cfg.databases) {
		resp_w_error(ctx->w, "DB index is out of range");
		return;
	}
	ctx->cl->dbid = (int)id;
	resp_w_ok(ctx->w);
}

/* --- CLIENT --- */

static void client_id_cmd(struct cmd_ctx *ctx)
{
	resp_w_int(ctx->w, (long long)ctx->cl->id);
}

static void client_setname_cmd(struct cmd_ctx *ctx)
{
	if (!valid_client_name(ctx->argv[2].p, ctx->argv[2].len)) {
		resp_w_error(ctx->w, "Client names cannot contain spaces, newlines or special characters.");
		return;
	}
	set_client_name(ctx->cl, ctx->argv[2].p, ctx->argv[2].len);
	resp_w_ok(ctx->w);
}

static void client_getname_cmd(struct cmd_ctx *ctx)
{
	if (ctx->cl->name)
		resp_w_bulk_cstr(ctx->w, ctx->cl->name);
	else
		resp_w_null(ctx->w);
}

static void client_setinfo_cmd(struct cmd_ctx *ctx)
{
	struct client *c = ctx->cl;
	char **slot;

	if (cmd_arg_is(ctx, 2, "lib-name"))
		slot = &c->lib_name;
	else if (cmd_arg_is(ctx, 2, "lib-ver"))
		slot = &c->lib_ver;
	else {
		resp_w_errorf(ctx->w, "Unrecognized option '%.*s'",
			      (int)MIN(ctx->argv[2].len, (size_t)128), ctx->argv[2].p);
		return;
	}
	if (!valid_client_name(ctx->argv[3].p, ctx->argv[3].len)) {
		resp_w_errorf(ctx->w, "%s cannot contain spaces, newlines or special characters.",
			      slot == &c->lib_name ? "lib-name" : "lib-ver");
		return;
	}
	mem_free(*slot);
	*slot = ctx->argv[3].len ? mem_strndup(ctx->argv[3].p, ctx->argv[3].len) : NULL;
	resp_w_ok(ctx->w);
}

/* Parses on/off; replies with a syntax error and returns -1 otherwise. */
static int on_off(struct cmd_ctx *ctx, int i)
{
	if (cmd_arg_is(ctx, i, "on"))
		return 1;
	if (cmd_arg_is(ctx, i, "off"))
		return 0;
	cmd_reply_syntax(ctx);
	return -1;
}

static void client_flag_cmd(struct cmd_ctx *ctx, uint32_t flag)
{
	int on = on_off(ctx, 2);

	if (on < 0)
		return;
	if (on)
		ctx->cl->flags |= flag;
	else
		ctx->cl->flags &= ~flag;
	resp_w_ok(ctx->w);
}

static void client_noevict_cmd(struct cmd_ctx *ctx) { client_flag_cmd(ctx, CL_NO_EVICT); }
static void client_notouch_cmd(struct cmd_ctx *ctx) { client_flag_cmd(ctx, CL_NO_TOUCH); }

static void client_reply_cmd(struct cmd_ctx *ctx)
{
	struct client *c = ctx->cl;

	if (cmd_arg_is(ctx, 2, "on")) {
		c->flags &= ~(CL_REPLY_OFF | CL_REPLY_SKIP | CL_REPLY_SKIP_NEXT);
		resp_w_ok(ctx->w);
	} else if (cmd_arg_is(ctx, 2, "off")) {
		c->flags |= CL_REPLY_OFF;
	} else if (cmd_arg_is(ctx, 2, "skip")) {
		if (!(c->flags & CL_REPLY_OFF))
			c->flags |= CL_REPLY_SKIP_NEXT | CL_REPLY_SKIP;
	} else {
		cmd_reply_syntax(ctx);
	}
}

static void client_list_cmd(struct cmd_ctx *ctx)
{
	struct sbuf out = { 0 };
	unsigned long long *ids = NULL;
	int nids = 0;

	if (ctx->argc > 2) {
		if (cmd_arg_is(ctx, 2, "type") && ctx->argc == 4) {
			if (!cmd_arg_is(ctx, 3, "normal") && !cmd_arg_is(ctx, 3, "master") &&
			    !cmd_arg_is(ctx, 3, "replica") && !cmd_arg_is(ctx, 3, "slave") &&
			    !cmd_arg_is(ctx, 3, "pubsub")) {
				resp_w_errorf(ctx->w, "Unknown client type '%.*s'",
					      (int)MIN(ctx->argv[3].len, (size_t)64), ctx->argv[3].p);
				return;
			}
			if (!cmd_arg_is(ctx, 3, "normal")) {
				resp_w_verbatim(ctx->w, "txt", "", 0);
				return;
			}
		} else if (cmd_arg_is(ctx, 2, "id") && ctx->argc >= 4) {
			ids = mem_alloc(sizeof(*ids) * (size_t)(ctx->argc - 3));
			for (int i = 3; i < ctx->argc; i++) {
				long long v;

				if (!strutil_to_ll(ctx->argv[i].p, ctx->argv[i].len, &v) || v <= 0) {
					resp_w_error(ctx->w, "Invalid client ID");
					mem_free(ids);
					return;
				}
				ids[nids++] = (unsigned long long)v;
			}
		} else {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		for (int i = 0; i < sh->nclients; i++) {
			struct client *c = sh->clients[i];
			bool want = !nids;

			/* A killed client (CL_CLOSE_ASAP) is gone for its callers,
			 * though its owner has not freed it yet. */
			if (c->flags & (CL_CLOSING | CL_CLOSE_ASAP))
				continue;
			for (int k = 0; k < nids && !want; k++)
				want = ids[k] == c->id;
			if (want)
				client_info_line(c, &out);
		}
	}
	resp_w_verbatim(ctx->w, "txt", out.p, out.len);
	sbuf_free(&out);
	mem_free(ids);
}

static void client_info_cmd(struct cmd_ctx *ctx)
{
	struct sbuf out = { 0 };

	client_info_line(ctx->cl, &out);
	resp_w_verbatim(ctx->w, "txt", out.p, out.len);
	sbuf_free(&out);
}

struct kill_filter {
	bool has_id, has_addr, has_laddr, skipme, normal_only;
	unsigned long long id;
	const struct cmd_arg *addr, *laddr;
	const struct acl_user *user;	/* USER: its clients only, or NULL */
};

static bool kill_matches(const struct kill_filter *f, const struct client *c, const struct client *me)
{
	if (f->skipme && c == me)
		return false;
	if (f->has_id && c->id != f->id)
		return false;
	if (f->has_addr && !strutil_eq_nocase(f->addr->p, f->addr->len, c->addr))
		return false;
	if (f->has_laddr && !strutil_eq_nocase(f->laddr->p, f->laddr->len, c->laddr))
		return false;
	if (f->user && (c->user ? c->user : acl_default_user()) != f->user)
		return false;
	return true;
}

static void client_kill_cmd(struct cmd_ctx *ctx)
{
	struct kill_filter f = { .skipme = true };
	long long killed = 0;
	bool old_style = ctx->argc == 3;

	if (old_style) {
		f.has_addr = true;
		f.addr = &ctx->argv[2];
		f.skipme = false;
	} else if ((ctx->argc - 2) % 2) {
		cmd_reply_syntax(ctx);
		return;
	} else {
		for (int i = 2; i < ctx->argc; i += 2) {
			if (cmd_arg_is(ctx, i, "id")) {
				long long v;

				if (!strutil_to_ll(ctx->argv[i + 1].p, ctx->argv[i + 1].len, &v) || v <= 0) {
					resp_w_error(ctx->w, "client-id should be greater than 0");
					return;
				}
				f.has_id = true;
				f.id = (unsigned long long)v;
			} else if (cmd_arg_is(ctx, i, "addr")) {
				f.has_addr = true;
				f.addr = &ctx->argv[i + 1];
			} else if (cmd_arg_is(ctx, i, "laddr")) {
				f.has_laddr = true;
				f.laddr = &ctx->argv[i + 1];
			} else if (cmd_arg_is(ctx, i, "type")) {
				if (!cmd_arg_is(ctx, i + 1, "normal") && !cmd_arg_is(ctx, i + 1, "master") &&
				    !cmd_arg_is(ctx, i + 1, "replica") && !cmd_arg_is(ctx, i + 1, "slave") &&
				    !cmd_arg_is(ctx, i + 1, "pubsub")) {
					resp_w_errorf(ctx->w, "Unknown client type '%.*s'",
						      (int)MIN(ctx->argv[i + 1].len, (size_t)64),
						      ctx->argv[i + 1].p);
					return;
				}
				f.normal_only = true;
				if (!cmd_arg_is(ctx, i + 1, "normal")) {
					resp_w_int(ctx->w, 0);
					return;
				}
			} else if (cmd_arg_is(ctx, i, "user")) {
				f.user = acl_user_lookup(ctx->argv[i + 1].p, ctx->argv[i + 1].len);
				if (!f.user) {
					resp_w_errorf(ctx->w, "No such user '%.*s'",
						      (int)MIN(ctx->argv[i + 1].len, (size_t)64),
						      ctx->argv[i + 1].p);
					return;
				}
			} else if (cmd_arg_is(ctx, i, "skipme")) {
				int on;

				if (cmd_arg_is(ctx, i + 1, "yes"))
					on = 1;
				else if (cmd_arg_is(ctx, i + 1, "no"))
					on = 0;
				else {
					cmd_reply_syntax(ctx);
					return;
				}
				f.skipme = on;
			} else {
				cmd_reply_syntax(ctx);
				return;
			}
		}
	}
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		for (int i = 0; i < sh->nclients; i++) {
			struct client *c = sh->clients[i];

			if ((c->flags & CL_CLOSING) || !kill_matches(&f, c, ctx->cl))
				continue;
			killed++;
			if (c == ctx->cl) {
				c->flags |= CL_CLOSE_AFTER_REPLY;
			} else {
				/* Another thread's client (we hold it parked): make its
				 * pending RECV end, and its owner closes it. */
				c->flags |= CL_CLOSE_ASAP;
				shutdown(c->fd, SHUT_RDWR);
			}
		}
	}
	if (old_style) {
		if (killed)
			resp_w_ok(ctx->w);
		else
			resp_w_error(ctx->w, "No such client");
		return;
	}
	resp_w_int(ctx->w, killed);
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: every shard is parked, so the waiter
 * can be ended from here wherever it lives. */
static void client_unblock_cmd(struct cmd_ctx *ctx)
{
	bool as_error = false;
	long long id;

	if (!strutil_to_ll(ctx->argv[2].p, ctx->argv[2].len, &id)) {
		cmd_reply_notint(ctx);
		return;
	}
	if (ctx->argc == 4) {
		if (cmd_arg_is(ctx, 3, "error"))
			as_error = true;
		else if (!cmd_arg_is(ctx, 3, "timeout")) {
			resp_w_error(ctx->w, "CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
			return;
		}
	} else if (ctx->argc != 3) {
		cmd_reply_syntax(ctx);
		return;
	}
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		for (int i = 0; i < sh->nclients; i++) {
			struct client *c = sh->clients[i];

			if (c->id != (uint64_t)id || (c->flags & CL_CLOSING) || !c->block_cookie)
				continue;
			resp_w_int(ctx->w, block_unblock(&srv.shards[c->block_shard], s,
							 c->block_cookie, as_error));
			return;
		}
	}
	resp_w_int(ctx->w, 0);
}

static void client_help_cmd(struct cmd_ctx *ctx)
{
	static const char *const lines[] = {
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME.",
		"LIST [options ...]",
		"    Return information about client connections. Options: TYPE, ID.",
		"NO-EVICT (ON|OFF)",
		"    Protect the current client connection from eviction.",
		"NO-TOUCH (ON|OFF)",
		"    Do not change the access time of keys this client reads.",
		"REPLY (ON|OFF|SKIP)",
		"    Control the replies sent to the current connection.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]",
		"    Unblock the specified blocked client.",
		"SETINFO <LIB-NAME|LIB-VER> <value>",
		"    Record the client library name or version.",
		"HELP",
		"    Print this help.",
	};

	cmd_reply_help(ctx, lines, ARRAY_SIZE(lines));
}

#define CLI_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

static const struct cmd_def client_subcmds[] = {
	{ "getname", client_getname_cmd, 2, CLI_FLAGS, 0, 0, 0, SLOW_CONN_ACL,
	  "connection", "2.6.9", "Returns the name of the connection.", "O(1)", NULL },
	{ "help", client_help_cmd, 2, CLI_FLAGS, 0, 0, 0, SLOW_CONN_ACL,
	  "connection", "5.0.0", "Returns helpful text about the different subcommands.", "O(1)", NULL },
	{ "id", client_id_cmd, 2, CLI_FLAGS, 0, 0, 0, SLOW_CONN_ACL,
	  "connection", "5.0.0", "Returns the unique client ID of the connection.", "O(1)", NULL },
	{ "info", client_info_cmd, 2, CLI_FLAGS, 0, 0, 0, SLOW_CONN_ACL,
	  "connection", "6.2.0", "Returns information about the connection.", "O(1)", NULL },
	{ "kill", client_kill_cmd, -3, CLI_FLAGS | CMD_ADMIN | CMD_ALL_SHARDS, 0, 0, 0,
	  ADMIN_ACL | ACL(ACL_CONNECTION),
	  "connection", "2.4.0", "Terminates open connections.",
	  "O(N) where N is the number of client connections", NULL },
	{ "list", client_list_cmd, -2, CLI_FLAGS | CMD_ADMIN | CMD_ALL_SHARDS, 0, 0, 0,
	  ADMIN_ACL | ACL(ACL_CONNECTION),
	  "connection", "2.4.0", "Lists open connections.",
	  "O(N) where N is the number of client connections", NULL },
	{ "no-evict", client_noevict_cmd, 3, CLI_FLAGS | CMD_ADMIN, 0, 0, 0,
	  ADMIN_ACL | ACL(ACL_CONNECTION),
	  "connection", "7.0.0", "Sets the client eviction mode of the connection.", "O(1)", NULL },
	{ "no-touch", client_notouch_cmd, 3, CLI_FLAGS, 0, 0, 0, SLOW_CONN_ACL,
	  "connection", "7.2.0", "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
	  "O(1)", NULL },
	{ "reply", client_reply_cmd, 3, CLI_FLAGS, 0, 0, 0, SLOW_CONN_ACL,
	  "connection", "3.2.0", "Instructs the server whether to reply to commands.", "O(1)", NULL },
	{ "setinfo", client_setinfo_cmd, 4, CLI_FLAGS, 0, 0, 0, SLOW_CONN_ACL,
	  "connection", "7.2.0", "Sets information specific to the client or connection.", "O(1)", NULL },
	{ "unblock", client_unblock_cmd, -3, CLI_FLAGS | CMD_ADMIN | CMD_ALL_SHARDS, 0, 0, 0,
	  ADMIN_ACL | ACL(ACL_CONNECTION),
	  "connection", "5.0.0", "Unblocks a client blocked by a blocking command from a different connection.",
	  "O(log N) where N is the number of client connections", NULL },
	{ "setname", client_setname_cmd, 3, CLI_FLAGS, 0, 0, 0, SLOW_CONN_ACL,
	  "connection", "2.6.9", "Sets the connection name.", "O(1)", NULL },
	{ NULL },
};

/* --- CONFIG --- */

struct cfg_get_acc {
	struct resp_w *w;
	size_t n;
};

static void config_get_cb(const char *name, const char *value, size_t vlen, void *arg)
{
	struct cfg_get_acc *a = arg;

	resp_w_bulk_cstr(a->w, name);
	resp_w_bulk(a->w, value, vlen);
	a->n++;
}

static void config_get_cmd(struct cmd_ctx *ctx)
{
	struct cfg_get_acc a = { ctx->w, 0 };
	size_t off = resp_w_defer(ctx->w);
	char **pats = mem_alloc(sizeof(char *) * (size_t)(ctx->argc - 2));

	/* cfg_get reports each option once per call; several patterns may
	 * match one option, so collect with one call per pattern and let
	 * duplicates through only once by asking cfg for the union. */
	for (int i = 2; i < ctx->argc; i++)
		pats[i - 2] = mem_strndup(ctx->argv[i].p, ctx->argv[i].len);
	if (ctx->argc == 3) {
		cfg_get(pats[0], config_get_cb, &a);
	} else {
		struct sbuf seen = { 0 };

		for (int i = 0; i < ctx->argc - 2; i++) {
			struct cfg_get_acc one = { ctx->w, 0 };
			struct sbuf tmp = { 0 };
			struct resp_w tw = { &tmp, ctx->w->proto, 0 };

			one.w = &tw;
			cfg_get(pats[i], config_get_cb, &one);
			/* tmp holds name/value pairs as bulks; keep the new ones */
			for (size_t off2 = 0; off2 < tmp.len;) {
				size_t start = off2, nl;
				long long l1, l2;
				char namebuf[256];

				nl = (size_t)((const char *)memchr(tmp.p + off2, '\n', tmp.len - off2) - tmp.p);
				strutil_to_ll(tmp.p + off2 + 1, nl - off2 - 2, &l1);
				snprintf(namebuf, sizeof(namebuf), "\n%.*s\n", (int)l1, tmp.p + nl + 1);
				off2 = nl + 1 + (size_t)l1 + 2;
				nl = (size_t)((const char *)memchr(tmp.p + off2, '\n', tmp.len - off2) - tmp.p);
				strutil_to_ll(tmp.p + off2 + 1, nl - off2 - 2, &l2);
				off2 = nl + 1 + (size_t)l2 + 2;
				if (seen.len && memmem(seen.p, seen.len, namebuf, strlen(namebuf)))
					continue;
				sbuf_append_str(&seen, namebuf);
				resp_w_raw(ctx->w, tmp.p + start, off2 - start);
				a.n++;
			}
			sbuf_free(&tmp);
		}
		sbuf_free(&seen);
	}
	for (int i = 0; i < ctx->argc - 2; i++)
		mem_free(pats[i]);
	mem_free(pats);
	resp_w_defer_end(ctx->w, off, '%', a.n);
}

static void config_set_cmd(struct cmd_ctx *ctx)
{
	int npairs = (ctx->argc - 2) / 2;
	char **names, **values, *err = NULL;
	size_t *lens;
	int rc;

	if ((ctx->argc - 2) % 2) {
		cmd_reply_arity(ctx);
		return;
	}
	names = mem_alloc(sizeof(char *) * (size_t)npairs);
	values = mem_alloc(sizeof(char *) * (size_t)npairs);
	lens = mem_alloc(sizeof(size_t) * (size_t)npairs);
	for (int i = 0; i < npairs; i++) {
		names[i] = mem_strndup(ctx->argv[2 + 2 * i].p, ctx->argv[2 + 2 * i].len);
		values[i] = mem_strndup(ctx->argv[3 + 2 * i].p, ctx->argv[3 + 2 * i].len);
		lens[i] = ctx->argv[3 + 2 * i].len;
	}
	rc = cfg_set_many_len(npairs, (const char *const *)names, (const char *const *)values,
			      lens, &err);
	if (rc < 0)
		resp_w_error(ctx->w, err ? err : "CONFIG SET failed");
	else
		resp_w_ok(ctx->w);
	mem_free(err);
	for (int i = 0; i < npairs; i++) {
		mem_free(names[i]);
		mem_free(values[i]);
	}
	mem_free(names);
	mem_free(values);
	mem_free(lens);
	log_min_level = cfg.loglevel;
}

static void config_resetstat_cmd(struct cmd_ctx *ctx)
{
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		shard_reset_stats(sh);
	}
	resp_w_ok(ctx->w);
}

static void config_rewrite_cmd(struct cmd_ctx *ctx)
{
	char *err = NULL;

	if (!srv.config_file) {
		resp_w_error(ctx->w, "The server is running without a config file");
		return;
	}
	if (cfg_rewrite(srv.config_file, &err) < 0) {
		log_warning("CONFIG REWRITE failed: %s", err);
		resp_w_error(ctx->w, err);
		mem_free(err);
		return;
	}
	log_notice("CONFIG REWRITE executed with success.");
	resp_w_ok(ctx->w);
}

static void config_help_cmd(struct cmd_ctx *ctx)
{
	static const char *const lines[] = {
		"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value>.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.",
		"HELP",
		"    Print this help.",
	};

	cmd_reply_help(ctx, lines, ARRAY_SIZE(lines));
}

#define CFG_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

static const struct cmd_def config_subcmds[] = {
	{ "get", config_get_cmd, -3, CFG_FLAGS, 0, 0, 0, ADMIN_ACL,
	  "server", "2.0.0", "Returns the effective values of configuration parameters.",
	  "O(N) when N is the number of configuration parameters provided", NULL },
	{ "help", config_help_cmd, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "5.0.0", "Returns helpful text about the different subcommands.", "O(1)", NULL },
	{ "resetstat", config_resetstat_cmd, 2, CFG_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, ADMIN_ACL,
	  "server", "2.0.0", "Resets the server's statistics.", "O(1)", NULL },
	{ "rewrite", config_rewrite_cmd, 2, CFG_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, ADMIN_ACL,
	  "server", "2.8.0", "Persists the effective configuration to file.", "O(1)", NULL },
	{ "set", config_set_cmd, -4, CFG_FLAGS | CMD_ALL_SHARDS, 0, 0, 0, ADMIN_ACL,
	  "server", "2.0.0", "Sets configuration parameters in-flight.",
	  "O(N) when N is the number of configuration parameters provided", NULL },
	{ NULL },
};

/* --- INFO --- */

static const char *human(char *buf, size_t cap, double n)
{
	static const char units[] = "BKMGTP";
	int u = 0;

	while (n >= 1024 && u < 5) {
		n /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%.0fB", n);
	else
		snprintf(buf, cap, "%.2f%c", n, units[u]);
	return buf;
}

struct info_totals {
	struct shard_stats st;
	struct kv_stats ks;
	int clients;
	int blocked;
};

static void info_sum(struct info_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		t->st.conns_received += sh->stats.conns_received;
		t->st.commands += sh->stats.commands;
		t->st.net_in += sh->stats.net_in;
		t->st.net_out += sh->stats.net_out;
		t->st.rejected_conns += sh->stats.rejected_conns;
		t->st.errors += sh->stats.errors;
		t->st.dirty += sh->stats.dirty;
		t->st.hops_out += sh->stats.hops_out;
		t->st.parks += sh->stats.parks;
		t->st.evicted_clients += sh->stats.evicted_clients;
		t->ks.hits += sh->kstats.hits;
		t->ks.misses += sh->kstats.misses;
		t->ks.expired += sh->kstats.expired;
		t->ks.evicted += sh->kstats.evicted;
		t->ks.expire_cycle_us += sh->kstats.expire_cycle_us;
		for (int i = 0; i < sh->nclients; i++)
			if (!(sh->clients[i]->flags & CL_CLOSING))
				t->clients++;
		t->blocked += sh->nwaiters + sh->npoll;	/* waiters, and clients polled across shards */
	}
}

enum {
	SEC_SERVER = 1 << 0, SEC_CLIENTS = 1 << 1, SEC_MEMORY = 1 << 2, SEC_PERSISTENCE = 1 << 3,
	SEC_STATS = 1 << 4, SEC_REPLICATION = 1 << 5, SEC_CPU = 1 << 6, SEC_MODULES = 1 << 7,
	SEC_CMDSTATS = 1 << 8, SEC_CLUSTER = 1 << 9, SEC_KEYSPACE = 1 << 10,
	SEC_ERRORSTATS = 1 << 11, SEC_LATENCYSTATS = 1 << 12, SEC_BLOBSTORE = 1 << 13,
};
#define SEC_DEFAULT (SEC_SERVER | SEC_CLIENTS | SEC_MEMORY | SEC_PERSISTENCE | SEC_STATS | \
		     SEC_REPLICATION | SEC_CPU | SEC_ERRORSTATS | SEC_CLUSTER | SEC_KEYSPACE)
#define SEC_ALL (SEC_DEFAULT | SEC_CMDSTATS | SEC_LATENCYSTATS | SEC_BLOBSTORE)
#define SEC_EVERYTHING (SEC_ALL | SEC_MODULES)

static const struct { const char *name; unsigned bit; } info_sections[] = {
	{ "server", SEC_SERVER }, { "clients", SEC_CLIENTS }, { "memory", SEC_MEMORY },
	{ "persistence", SEC_PERSISTENCE }, { "stats", SEC_STATS },
	{ "replication", SEC_REPLICATION }, { "cpu", SEC_CPU }, { "modules", SEC_MODULES },
	{ "commandstats", SEC_CMDSTATS }, { "cluster", SEC_CLUSTER }, { "keyspace", SEC_KEYSPACE },
	{ "blobstore", SEC_BLOBSTORE },
	{ "errorstats", SEC_ERRORSTATS }, { "latencystats", SEC_LATENCYSTATS },
	{ "default", SEC_DEFAULT }, { "all", SEC_ALL }, { "everything", SEC_EVERYTHING },
};

static void info_cmdstats(struct sbuf *o)
{
	int n = cmd_count_all();

	for (int id = 0; id < n; id++) {
		struct cmd_stat sum = { 0 };
		char name[128];

		for (int s = 0; s < srv.nshards; s++) {
			struct cmd_stat *cs = &srv.shards[s].cmdstats[id];

			sum.calls += cs->calls;
			sum.cycles += cs->cycles;
			sum.rejected += cs->rejected;
			sum.failed += cs->failed;
		}
		if (!sum.calls && !sum.rejected && !sum.failed)
			continue;
		sbuf_printf(o, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,"
			    "rejected_calls=%llu,failed_calls=%llu\r\n",
			    cmd_fullname(cmd_by_id(id), name, sizeof(name)),
			    (unsigned long long)sum.calls,
			    (unsigned long long)(sum.cycles / util_cycles_per_us),
			    sum.calls ? (double)sum.cycles / (double)util_cycles_per_us /
					(double)sum.calls : 0.0,
			    (unsigned long long)sum.rejected, (unsigned long long)sum.failed);
	}
}

static int errstat_cmp(const void *a, const void *b)
{
	return strcmp(((const struct err_stat *)a)->code, ((const struct err_stat *)b)->code);
}

/* errorstat_<code>:count=N, codes summed over the shards, in byte order as
 * Redis lists them. */
static void info_errorstats(struct sbuf *o)
{
	struct err_stat *all = mem_alloc(sizeof(*all) * ERRSTAT_MAX * (size_t)srv.nshards);
	int n = 0;

	for (int s = 0; s < srv.nshards; s++) {
		struct shard *sh = &srv.shards[s];

		for (int i = 0; i < sh->nerrstats; i++) {
			int k;

			for (k = 0; k < n && strcmp(all[k].code, sh->errstats[i].code); k++)
				;
			if (k == n)
				all[n++] = sh->errstats[i];
			else
				all[k].count += sh->errstats[i].count;
		}
	}
	qsort(all, (size_t)n, sizeof(*all), errstat_cmp);
	for (int i = 0; i < n; i++)
		sbuf_printf(o, "errorstat_%s:count=%llu\r\n", all[i].code,
			    (unsigned long long)all[i].count);
	mem_free(all);
}

/* latency_percentiles_usec_<cmd>:p50=...,p99=...: the histograms of the
 * shards merged, at the percentiles configured. */
static void info_latencystats(struct sbuf *o)
{
	struct lathist *sum = mem_alloc(sizeof(*sum));
	int n = cmd_count_all();

	for (int id = 0; id < n; id++) {
		bool any = false;
		char name[128];

		memset(sum, 0, sizeof(*sum));
		for (int s = 0; s < srv.nshards; s++) {
			if (srv.shards[s].lat[id]) {
				lathist_merge(sum, srv.shards[s].lat[id]);
				any = true;
			}
		}
		if (!any)
			continue;
		sbuf_printf(o, "latency_percentiles_usec_%s:",
			    cmd_fullname(cmd_by_id(id), name, sizeof(name)));
		for (int i = 0; i < cfg.nlatency_pcts; i++) {
			char pct[64];
			size_t len = (size_t)snprintf(pct, sizeof(pct), "%f", cfg.latency_pcts[i]);

			/* the percentile as Redis writes it: 50, 99.9 */
			while (len && pct[len - 1] == '0')
				pct[--len] = '\0';
			if (len && pct[len - 1] == '.')
				pct[--len] = '\0';
			sbuf_printf(o, "%sp%s=%.3f", i ? "," : "", pct,
				    (double)lathist_percentile(sum, cfg.latency_pcts[i]) / 1000.0);
		}
		sbuf_append_str(o, "\r\n");
	}
	mem_free(sum);
}

static void info_build(struct sbuf *o, unsigned secs)
{
	struct info_totals t;
	int64_t now = util_mstime();
	int64_t uptime = (now - srv.start_ms) / 1000;
	char h1[32], h2[32], h3[32];
	bool first = true;

	info_sum(&t);
#define SECTION(name) do { if (!first) sbuf_append_str(o, "\r\n"); first = false; \
			   sbuf_append_str(o, "# " name "\r\n"); } while (0)
	if (secs & SEC_SERVER) {
		struct utsname u;

		uname(&u);
		SECTION("Server");
		sbuf_printf(o, "redis_version:%s\r\nstrata_version:%s\r\nredis_git_sha1:00000000\r\n"
			    "redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\n"
			    "os:%s %s %s\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\n"
			    "multiplexing_api:io_uring\r\natomicvar_api:c11-builtin\r\n"
			    "gcc_version:%d.%d.%d\r\nprocess_id:%d\r\nprocess_supervised:no\r\n"
			    "run_id:%s\r\ntcp_port:%d\r\nserver_time_usec:%lld\r\n"
			    "uptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\nhz:%d\r\n"
			    "configured_hz:%d\r\nlru_clock:%lld\r\nexecutable:%s\r\nconfig_file:%s\r\n"
			    "io_threads_active:0\r\nshards:%d\r\n",
			    STRATA_REDIS_VERSION, STRATA_VERSION, u.sysname, u.release, u.machine,
#ifdef __GNUC__
			    __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
			    0, 0, 0,
#endif
			    (int)getpid(), srv.run_id, cfg.port, (long long)util_ustime(),
			    (long long)uptime, (long long)(uptime / 86400), cfg.hz, cfg.hz,
			    (long long)((now / 1000) & ((1 << 24) - 1)),
			    srv.exec_path ? srv.exec_path : "",
			    srv.config_file ? srv.config_file : "", srv.nshards);
	}
	if (secs & SEC_CLIENTS) {
		size_t in, out;

		client_recent_max(&in, &out);
		SECTION("Clients");
		sbuf_printf(o, "connected_clients:%d\r\ncluster_connections:0\r\nmaxclients:%d\r\n"
			    "client_recent_max_input_buffer:%zu\r\nclient_recent_max_output_buffer:%zu\r\n"
			    "blocked_clients:%d\r\ntracking_clients:0\r\nclients_in_timeout_table:%d\r\n",
			    t.clients, cfg.maxclients, in, out, t.blocked, t.blocked);
	}
	if (secs & SEC_MEMORY) {
		size_t used = mem_used(), rss = mem_rss(), peak;
		long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
		double total_mem = (double)pages * (double)psize;

		mem_used_peak_update();
		peak = mem_used_peak();
		SECTION("Memory");
		sbuf_printf(o, "used_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
			    "used_memory_rss_human:%s\r\nused_memory_peak:%zu\r\n"
			    "used_memory_peak_human:%s\r\nused_memory_peak_perc:%.2f%%\r\n"
			    "total_system_memory:%.0f\r\ntotal_system_memory_human:%s\r\n"
			    "maxmemory:%lld\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\n"
			    "mem_fragmentation_ratio:%.2f\r\nmem_clients_slaves:0\r\n"
			    "mem_clients_normal:%zu\r\nmem_allocator:libc\r\n"
			    "lazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
			    used, human(h1, sizeof(h1), (double)used), rss,
			    human(h2, sizeof(h2), (double)rss), peak, human(h3, sizeof(h3), (double)peak),
			    peak ? 100.0 * (double)used / (double)peak : 0.0, total_mem,
			    human(h1, sizeof(h1), total_mem), cfg.maxmemory,
			    human(h2, sizeof(h2), (double)cfg.maxmemory),
			    cfg_policy_name(cfg.maxmemory_policy),
			    used ? (double)rss / (double)used : 0.0, client_mem_total());
	}
	if (secs & SEC_PERSISTENCE) {
		SECTION("Persistence");
		sbuf_printf(o, "loading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:%llu\r\n"
			    "rdb_bgsave_in_progress:0\r\nrdb_last_save_time:%lld\r\n"
			    "rdb_last_bgsave_status:ok\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\n"
			    "aof_last_write_status:ok\r\n",
			    (unsigned long long)t.st.dirty, (long long)srv.lastsave);
	}
	if (secs & SEC_STATS) {
		size_t nch, npat, nsch;

		pubsub_counts(&nch, &npat, &nsch);
		SECTION("Stats");
		sbuf_printf(o, "total_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
			    "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
			    "rejected_connections:%llu\r\nexpired_keys:%llu\r\nevicted_keys:%llu\r\n"
			    "evicted_clients:%llu\r\n"
			    "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n"
			    "expire_cycle_cpu_milliseconds:%llu\r\ntotal_error_replies:%llu\r\n"
			    "pubsub_channels:%zu\r\npubsub_patterns:%zu\r\npubsubshard_channels:%zu\r\n"
			    "shard_hops:%llu\r\nshard_parked_commands:%llu\r\n",
			    (unsigned long long)t.st.conns_received, (unsigned long long)t.st.commands,
			    (unsigned long long)t.st.net_in, (unsigned long long)t.st.net_out,
			    (unsigned long long)t.st.rejected_conns, (unsigned long long)t.ks.expired,
			    (unsigned long long)t.ks.evicted,
			    (unsigned long long)t.st.evicted_clients, (unsigned long long)t.ks.hits,
			    (unsigned long long)t.ks.misses,
			    (unsigned long long)(t.ks.expire_cycle_us / 1000),
			    (unsigned long long)t.st.errors, nch, npat, nsch, (unsigned long long)t.st.hops_out,
			    (unsigned long long)t.st.parks);
	}
	if (secs & SEC_REPLICATION) {
		SECTION("Replication");
		sbuf_printf(o, "role:master\r\nconnected_slaves:0\r\nmaster_replid:%s\r\n"
			    "master_repl_offset:0\r\n", srv.run_id);
	}
	if (secs & SEC_CPU) {
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		SECTION("CPU");
		sbuf_printf(o, "used_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n"
			    "used_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n",
			    (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec,
			    (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
	}
	if (secs & SEC_MODULES)
		SECTION("Modules");
	if (secs & SEC_CMDSTATS) {
		SECTION("Commandstats");
		info_cmdstats(o);
	}
	if (secs & SEC_ERRORSTATS) {
		SECTION("Errorstats");
		info_errorstats(o);
	}
	if (secs & SEC_LATENCYSTATS) {
		SECTION("Latencystats");
		info_latencystats(o);
	}
	if (secs & SEC_CLUSTER) {
		SECTION("Cluster");
		sbuf_append_str(o, "cluster_enabled:0\r\n");
	}
	if (secs & SEC_BLOBSTORE) {
		SECTION("Blobstore");
		blob_info(o);
	}
	if (secs & SEC_KEYSPACE) {
		SECTION("Keyspace");
		for (int d = 0; d < cfg.databases; d++) {
			size_t keys = 0, vol = 0;
			uint64_t ttl = 0;
			int with_ttl = 0;

			for (int s = 0; s < srv.nshards; s++) {
				struct kv_db *db = &srv.shards[s].dbs[d];

				keys += kv_db_size(db);
				vol += kv_db_volatile(db);
				if (db->avg_ttl) {
					ttl += db->avg_ttl;
					with_ttl++;
				}
			}
			if (keys)
				sbuf_printf(o, "db%d:keys=%zu,expires=%zu,avg_ttl=%llu\r\n", d, keys, vol,
					    (unsigned long long)(with_ttl ? ttl / (uint64_t)with_ttl : 0));
		}
	}
#undef SECTION
}

static void info_cmd(struct cmd_ctx *ctx)
{
	unsigned secs = 0;
	struct sbuf o = { 0 };

	if (ctx->argc == 1)
		secs = SEC_DEFAULT;
	for (int i = 1; i < ctx->argc; i++)
		for (size_t k = 0; k < ARRAY_SIZE(info_sections); k++)
			if (cmd_arg_is(ctx, i, info_sections[k].name))
				secs |= info_sections[k].bit;
	info_build(&o, secs);
	resp_w_verbatim(ctx->w, "txt", o.p, o.len);
	sbuf_free(&o);
}

/* --- MEMORY --- */

static void memory_usage_cmd(struct cmd_ctx *ctx)
{
	struct kv_db *db;
	struct kv_entry *e;

	if (ctx->argc != 3 && !(ctx->argc == 5 && cmd_arg_is(ctx, 3, "samples"))) {
		cmd_reply_syntax(ctx);
		return;
	}
	if (ctx->argc == 5) {
		long long n;

		if (!cmd_arg_ll(ctx, 4, &n))
			return;
	}
	db = cmd_db(ctx, ctx->argv[2].p, ctx->argv[2].len);
	e = kv_lookup(db, ctx->argv[2].p, ctx->argv[2].len, KV_LK_NOTOUCH);
	if (!e)
		resp_w_null(ctx->w);
	else
		resp_w_int(ctx->w, (long long)kv_entry_mem(e));
}

static void memory_purge_cmd(struct cmd_ctx *ctx)
{
	malloc_trim(0);
	resp_w_ok(ctx->w);
}

static void memory_stats_cmd(struct cmd_ctx *ctx)
{
	size_t keys = 0;

	for (int s = 0; s < srv.nshards; s++)
		for (int d = 0; d < cfg.databases; d++)
			keys += kv_db_size(&srv.shards[s].dbs[d]);
	resp_w_map(ctx->w, 4);
	resp_w_bulk_cstr(ctx->w, "peak.allocated");
	resp_w_int(ctx->w, (long long)mem_used_peak());
	resp_w_bulk_cstr(ctx->w, "total.allocated");
	resp_w_int(ctx->w, (long long)mem_used());
	resp_w_bulk_cstr(ctx->w, "keys.count");
	resp_w_int(ctx->w, (long long)keys);
	resp_w_bulk_cstr(ctx->w, "rss");
	resp_w_int(ctx->w, (long long)mem_rss());
}

static void memory_help_cmd(struct cmd_ctx *ctx)
{
	static const char *const lines[] = {
		"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"PURGE",
		"    Attempt to purge dirty pages for reclamation by the allocator.",
		"STATS",
		"    Return information about the memory usage of the server.",
		"USAGE <key> [SAMPLES <count>]",
		"    Return memory in bytes used by <key> and its value.",
		"HELP",
		"    Print this help.",
	};

	cmd_reply_help(ctx, lines, ARRAY_SIZE(lines));
}

static const struct cmd_def memory_subcmds[] = {
	{ "help", memory_help_cmd, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "4.0.0", "Returns helpful text about the different subcommands.", "O(1)", NULL },
	{ "purge", memory_purge_cmd, 2, 0, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "4.0.0", "Asks the allocator to release memory.", "Depends on how much memory is allocated", NULL },
	{ "stats", memory_stats_cmd, 2, CMD_ALL_SHARDS, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "4.0.0", "Returns details about memory usage.", "O(1)", NULL },
	{ "usage", memory_usage_cmd, -3, CMD_READONLY, 2, 2, 1, ACL(ACL_READ) | ACL(ACL_SLOW),
	  "server", "4.0.0", "Estimates the memory usage of a key.",
	  "O(N) where N is the number of samples.", NULL },
	{ NULL },
};

/* --- DEBUG --- */

static void debug_sleep_cmd(struct cmd_ctx *ctx)
{
	double secs;

	if (!strutil_to_d(ctx->argv[2].p, ctx->argv[2].len, &secs) || secs < 0) {
		cmd_reply_notfloat(ctx);
		return;
	}
	usleep((useconds_t)(secs * 1e6));
	resp_w_ok(ctx->w);
}

static void debug_object_cmd(struct cmd_ctx *ctx)
{
	struct kv_db *db = cmd_db(ctx, ctx->argv[2].p, ctx->argv[2].len);
	struct kv_entry *e = kv_lookup(db, ctx->argv[2].p, ctx->argv[2].len, KV_LK_NOTOUCH);
	char buf[256];

	if (!e) {
		resp_w_error(ctx->w, "no such key");
		return;
	}
	snprintf(buf, sizeof(buf), "Value at:%p refcount:1 encoding:%s serializedlength:%zu "
		 "lru:%u lru_seconds_idle:%llu", (void *)e, kv_enc_name(e),
		 e->type == KV_STRING ? kv_str_len(e) : 0, e->lru & 0xFFFFFF,
		 (unsigned long long)(kv_idle_ms(e) / 1000));
	resp_w_simple(ctx->w, buf);
}

static void debug_help_cmd(struct cmd_ctx *ctx)
{
	static const char *const lines[] = {
		"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"OBJECT <key>",
		"    Show low level info about the key and associated value.",
		"SLEEP <seconds>",
		"    Stop the shard that runs it for <seconds> (decimals allowed).",
		"HELP",
		"    Print this help.",
	};

	cmd_reply_help(ctx, lines, ARRAY_SIZE(lines));
}

/*
 * DEBUG is one command whose first argument picks what it does, as in Redis
 * 7.0 (not a container: ACL rules such as "+debug|object" allow it by first
 * argument). DEBUG OBJECT names a key, found by debug_getkeys so that the
 * command runs on the key's shard.
 */
static void debug_cmd(struct cmd_ctx *ctx)
{
	if (ctx->argc == 2 && cmd_arg_is(ctx, 1, "help"))
		debug_help_cmd(ctx);
	else if (ctx->argc == 3 && cmd_arg_is(ctx, 1, "object"))
		debug_object_cmd(ctx);
	else if (ctx->argc == 3 && cmd_arg_is(ctx, 1, "sleep"))
		debug_sleep_cmd(ctx);
	else
		resp_w_errorf(ctx->w, "unknown subcommand or wrong number of arguments for '%.*s'. "
				      "Try DEBUG HELP.", (int)MIN(ctx->argv[1].len, (size_t)128),
			      ctx->argv[1].p);
}

static int debug_getkeys(int argc, const struct cmd_arg *argv, int *out, int cap)
{
	if (argc == 3 && strutil_eq_nocase(argv[1].p, argv[1].len, "object")) {
		if (cap > 0)
			out[0] = 2;
		return 1;
	}
	return 0;
}

#define DEBUG_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

/* --- SHUTDOWN --- */

static void shutdown_cmd(struct cmd_ctx *ctx)
{
	for (int i = 1; i < ctx->argc; i++) {
		if (cmd_arg_is(ctx, i, "abort")) {
			resp_w_error(ctx->w, "No shutdown in progress.");
			return;
		}
		if (!cmd_arg_is(ctx, i, "nosave") && !cmd_arg_is(ctx, i, "save") &&
		    !cmd_arg_is(ctx, i, "now") && !cmd_arg_is(ctx, i, "force")) {
			cmd_reply_syntax(ctx);
			return;
		}
	}
	log_warning("User requested shutdown...");
	atomic_store(&srv.stop, 1);
	/* No reply: the connection closes when the server exits, as in Redis. */
	ctx->cl->flags |= CL_CLOSE_ASAP;
}

#define SRV_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

const struct cmd_def cmd_server_defs[] = {
	{ "auth", auth_cmd, -2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH |
	  CMD_ALLOW_BUSY, 0, 0, 0, CONN_ACL,
	  "connection", "1.0.0", "Authenticates the connection.",
	  "O(N) where N is the number of passwords defined for the user", NULL },
	{ "client", NULL, -2, SRV_FLAGS | CMD_CONTAINER, 0, 0, 0, SLOW_CONN_ACL,
	  "connection", "2.4.0", "A container for client connection commands.",
	  "Depends on subcommand.", client_subcmds },
	{ "config", NULL, -2, CMD_CONTAINER, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "2.0.0", "A container for server configuration commands.",
	  "Depends on subcommand.", config_subcmds },
	{ "debug", debug_cmd, -2, DEBUG_FLAGS, 0, 0, 0, ADMIN_ACL,
	  "server", "1.0.0", "A container for debugging commands.", "Depends on subcommand.",
	  NULL, .getkeys = debug_getkeys },
	{ "echo", echo_cmd, 2, CMD_FAST, 0, 0, 0, CONN_ACL,
	  "connection", "1.0.0", "Returns the given string.", "O(1)", NULL },
	{ "hello", hello_cmd, -1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH |
	  CMD_ALLOW_BUSY, 0, 0, 0, CONN_ACL,
	  "connection", "6.0.0", "Handshakes with the server.", "O(1)", NULL },
	{ "info", info_cmd, -1, CMD_LOADING | CMD_STALE | CMD_ALL_SHARDS, 0, 0, 0,
	  ACL(ACL_SLOW) | ACL(ACL_DANGEROUS),
	  "server", "1.0.0", "Returns information and statistics about the server.", "O(1)", NULL },
	{ "lastsave", lastsave_cmd, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0,
	  ACL(ACL_ADMIN) | ACL(ACL_FAST) | ACL(ACL_DANGEROUS),
	  "server", "1.0.0", "Returns the Unix timestamp of the last successful save to disk.",
	  "O(1)", NULL },
	{ "memory", NULL, -2, CMD_CONTAINER, 0, 0, 0, ACL(ACL_SLOW),
	  "server", "4.0.0", "A container for memory diagnostics commands.",
	  "Depends on subcommand.", memory_subcmds },
	{ "ping", ping_cmd, -1, CMD_FAST, 0, 0, 0, CONN_ACL,
	  "connection", "1.0.0", "Returns the server's liveliness response.", "O(1)", NULL },
	{ "quit", quit_cmd, -1, CMD_ALLOW_BUSY | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE |
	  CMD_FAST | CMD_NO_AUTH, 0, 0, 0, CONN_ACL,
	  "connection", "1.0.0", "Closes the connection.", "O(1)", NULL },
	{ "reset", reset_cmd, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH |
	  CMD_ALLOW_BUSY, 0, 0, 0, CONN_ACL,
	  "connection", "6.2.0", "Resets the connection.", "O(1)", NULL },
	{ "select", select_cmd, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, CONN_ACL,
	  "connection", "1.0.0", "Changes the selected database.", "O(1)", NULL },
	{ "shutdown", shutdown_cmd, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE |
	  CMD_NO_MULTI | CMD_ALLOW_BUSY, 0, 0, 0, ADMIN_ACL,
	  "server", "1.0.0", "Synchronously saves the database(s) to disk and shuts down the server.",
	  "O(N) when saving, where N is the total number of keys in all databases", NULL },
	{ "time", time_cmd, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, ACL(ACL_FAST),
	  "server", "2.6.0", "Returns the server time.", "O(1)", NULL },
	{ NULL },
};
