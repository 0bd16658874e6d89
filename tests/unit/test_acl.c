/*
 * test_acl.c - ACL users as a specification: rule parsing and its error
 * texts, the rules read back (ACL LIST / GETUSER wording), permission
 * checks of commands, keys (read / write patterns) and channels, password
 * hashing and authentication, the requirepass link, user lifetime, and the
 * ACL file.
 *
 * The checks use the real command table (cmd_init through acl_init), so
 * "get", "set", "config|get" are the server's own definitions. Every test
 * starts from a fresh table with only the default user.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "acl.h"
#include "cfg.h"
#include "cmd.h"
#include "mem.h"
#include "resp_write.h"
#include "sbuf.h"

/* sha256("pw"), as redis-server 7.0 shows it. */
#define PW_HASH "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"

static struct acl_user *changed_user;
static int changed_count, deleted_count;

static void on_changed(struct acl_user *u, bool deleted)
{
	changed_user = u;
	changed_count++;
	if (deleted)
		deleted_count++;
}

static int setup(void **state)
{
	(void)state;
	cfg_init_defaults();
	acl_init();
	acl_on_user_changed = on_changed;
	changed_user = NULL;
	changed_count = deleted_count = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	acl_on_user_changed = NULL;
	acl_free_all();
	cfg_free();
	return 0;
}

/* Splits words on spaces into args (views into a static copy). */
static int split(const char *rules, struct cmd_arg *args, int cap)
{
	static char buf[4096];
	int n = 0;
	char *p;

	snprintf(buf, sizeof(buf), "%s", rules);
	for (p = strtok(buf, " "); p && n < cap; p = strtok(NULL, " ")) {
		args[n].p = p;
		args[n].len = strlen(p);
		n++;
	}
	return n;
}

/* ACL SETUSER name rules...; returns the error text (static) or NULL. */
static const char *setuser(const char *name, const char *rules)
{
	static char msg[1024];
	struct cmd_arg args[64];
	int n = split(rules, args, 64);
	char *err = NULL;

	if (acl_setuser(name, strlen(name), n, args, &err) == 0)
		return NULL;
	snprintf(msg, sizeof(msg), "%s", err);
	mem_free(err);
	return msg;
}

static void setuser_ok(const char *name, const char *rules)
{
	const char *err = setuser(name, rules);

	if (err)
		fail_msg("ACL SETUSER %s %s: %s", name, rules, err);
}

static struct acl_user *user(const char *name)
{
	struct acl_user *u = acl_user_lookup(name, strlen(name));

	assert_non_null(u);
	return u;
}

static void assert_describe(const char *name, const char *want)
{
	char *d = acl_user_describe(user(name));

	assert_string_equal(d, want);
	mem_free(d);
}

/* acl_check of a command line ("get k") for user name; *bad gets the
 * refused argument (-1 if none). */
static int check(const char *name, const char *line, int *bad)
{
	struct cmd_arg argv[32];
	int argc = split(line, argv, 32), b = -1, r;
	const struct cmd_def *c = cmd_lookup(argv[0].p, argv[0].len);

	assert_non_null(c);
	if (c->subcmds && argc >= 2) {
		c = cmd_lookup_sub(c, argv[1].p, argv[1].len);
		assert_non_null(c);
	}
	r = acl_check(user(name), c, argc, argv, &b);
	if (bad)
		*bad = b;
	return r;
}

static void assert_allowed(const char *name, const char *line)
{
	int r = check(name, line, NULL);

	if (r != ACL_OK)
		fail_msg("%s: '%s' refused (%d)", name, line, r);
}

static void assert_refused(const char *name, const char *line, int want, int want_bad)
{
	int bad, r = check(name, line, &bad);

	if (r != want)
		fail_msg("%s: '%s' gave %d, want %d", name, line, r, want);
	if (want != ACL_DENIED_CMD && bad != want_bad)
		fail_msg("%s: '%s' blamed argument %d, want %d", name, line, bad, want_bad);
}

static bool auth(const char *name, const char *pass)
{
	return acl_authenticate(name, strlen(name), pass, strlen(pass)) != NULL;
}

/* acl_config_user_add of a "user" line without its first word; returns the
 * error text (static) or NULL. */
static const char *config_user(const char *line)
{
	static char msg[1024];
	static char buf[4096];
	char *words[64], *err = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *p = strtok(buf, " "); p && n < 64; p = strtok(NULL, " "))
		words[n++] = p;
	if (acl_config_user_add(n, words, &err) == 0)
		return NULL;
	snprintf(msg, sizeof(msg), "%s", err);
	mem_free(err);
	return msg;
}

/* ---- the default user ---- */

static void test_default_user_is_open(void **state)
{
	(void)state;
	assert_describe("default", "on nopass ~* &* +@all");
	assert_ptr_equal(acl_default_user(), user("default"));
	assert_false(acl_default_needs_auth());
	assert_true(auth("default", "anything"));
	assert_allowed("default", "flushall");
}

static void test_requirepass_sets_default_password(void **state)
{
	(void)state;
	acl_set_requirepass("pw", 2);
	assert_describe("default", "on #" PW_HASH " ~* &* +@all");
	assert_true(acl_default_needs_auth());
	assert_true(auth("default", "pw"));
	assert_false(auth("default", "pW"));
	acl_set_requirepass("", 0);
	assert_describe("default", "on nopass ~* &* +@all");
	assert_false(acl_default_needs_auth());
}

static void test_requirepass_at_init(void **state)
{
	(void)state;
	acl_free_all();
	cfg_set("requirepass", "pw", NULL);
	acl_init();
	assert_describe("default", "on #" PW_HASH " ~* &* +@all");
	assert_true(auth("default", "pw"));
}

static void test_default_off_needs_auth(void **state)
{
	(void)state;
	setuser_ok("default", "off");
	assert_true(acl_default_needs_auth());
	assert_false(auth("default", "x"));
}

/* ---- rule parsing and description ---- */

static void test_new_user_has_nothing(void **state)
{
	(void)state;
	setuser_ok("bob", "");
	assert_describe("bob", "off resetchannels -@all");
	assert_int_equal(acl_user_count(), 2);
	assert_false(acl_user_is_on(user("bob")));
	assert_false(auth("bob", ""));
}

static void test_users_sorted_by_name(void **state)
{
	size_t len;

	(void)state;
	setuser_ok("zed", "");
	setuser_ok("alice", "");
	setuser_ok("Bob", "");
	assert_int_equal(acl_user_count(), 4);
	assert_string_equal(acl_user_name(acl_user_at(0), &len), "Bob");
	assert_int_equal(len, 3);
	assert_string_equal(acl_user_name(acl_user_at(1), NULL), "alice");
	assert_string_equal(acl_user_name(acl_user_at(2), NULL), "default");
	assert_string_equal(acl_user_name(acl_user_at(3), NULL), "zed");
}

static void test_rules_read_back(void **state)
{
	(void)state;
	setuser_ok("a", "on >pw ~app:* &news +@all -flushall");
	assert_describe("a", "on #" PW_HASH " ~app:* resetchannels &news +@all -flushall");
	setuser_ok("b", "on nopass allkeys allchannels -@all +get");
	assert_describe("b", "on nopass ~* &* -@all +get");
	setuser_ok("c", "allcommands nocommands +set");
	assert_describe("c", "off resetchannels -@all +set");
}

static void test_keywords_are_case_insensitive(void **state)
{
	(void)state;
	setuser_ok("a", "ON NoPass AllKeys +GET +@READ");
	assert_true(acl_user_is_on(user("a")));
	assert_true(acl_user_is_nopass(user("a")));
	assert_allowed("a", "get k");
}

static void test_key_permissions_merge(void **state)
{
	(void)state;
	setuser_ok("a", "%R~x %W~x %R~r %W~w %RW~both %wr~both2 ~x");
	assert_describe("a", "off ~x %R~r %W~w ~both ~both2 resetchannels -@all");
}

static void test_key_pattern_errors(void **state)
{
	(void)state;
	assert_string_equal(setuser("a", "%~x"), "Error in ACL SETUSER modifier '%~x': Syntax error");
	assert_string_equal(setuser("a", "%X~x"), "Error in ACL SETUSER modifier '%X~x': Syntax error");
	assert_string_equal(setuser("a", "%RR~x"), "Error in ACL SETUSER modifier '%RR~x': Syntax error");
	assert_string_equal(setuser("a", "allkeys ~x"),
			    "Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern "
			    "(or the 'allkeys' flag) is not valid and does not have any effect. Try "
			    "'resetkeys' to start with an empty list of patterns");
	assert_string_equal(setuser("a", "~* %R~x"),
			    "Error in ACL SETUSER modifier '%R~x': Adding a pattern after the * pattern "
			    "(or the 'allkeys' flag) is not valid and does not have any effect. Try "
			    "'resetkeys' to start with an empty list of patterns");
	setuser_ok("a", "allkeys resetkeys ~x");
	assert_describe("a", "off ~x resetchannels -@all");
}

static void test_channel_pattern_errors(void **state)
{
	(void)state;
	assert_string_equal(setuser("a", "allchannels &x"),
			    "Error in ACL SETUSER modifier '&x': Adding a pattern after the * pattern "
			    "(or the 'allchannels' flag) is not valid and does not have any effect. Try "
			    "'resetchannels' to start with an empty list of channels");
	setuser_ok("a", "&* resetchannels &x &x &y");
	assert_describe("a", "off resetchannels &x &y -@all");
}

static void test_command_rule_errors(void **state)
{
	(void)state;
	assert_string_equal(setuser("a", "+nosuch"),
			    "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL");
	assert_string_equal(setuser("a", "-nosuch"),
			    "Error in ACL SETUSER modifier '-nosuch': Unknown command or category name in ACL");
	assert_string_equal(setuser("a", "+@nosuch"),
			    "Error in ACL SETUSER modifier '+@nosuch': Unknown command or category name in ACL");
	assert_string_equal(setuser("a", "+config|nosuch"),
			    "Error in ACL SETUSER modifier '+config|nosuch': Unknown command or category name in ACL");
	assert_string_equal(setuser("a", "-select|0"),
			    "Error in ACL SETUSER modifier '-select|0': Unknown command or category name in ACL");
	assert_string_equal(setuser("a", "+config|get|x"),
			    "Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand is not supported");
	assert_string_equal(setuser("a", "+get|"),
			    "Error in ACL SETUSER modifier '+get|': Syntax error");
	assert_string_equal(setuser("a", "bogus"),
			    "Error in ACL SETUSER modifier 'bogus': Syntax error");
	assert_string_equal(setuser("a", "(~x +get)"),
			    "Error in ACL SETUSER modifier '(~x': Selectors are not supported");
}

static void test_setuser_is_all_or_nothing(void **state)
{
	(void)state;
	assert_non_null(setuser("a", "on >pw +get nosuchrule"));
	assert_null(acl_user_lookup("a", 1));
	setuser_ok("a", "on >pw +get ~k");
	assert_non_null(setuser("a", "off resetpass -get +nosuch"));
	assert_describe("a", "on #" PW_HASH " ~k resetchannels -@all +get");
	assert_int_equal(changed_count, 0);
}

static void test_setuser_existing_notifies(void **state)
{
	(void)state;
	setuser_ok("a", "on");
	assert_int_equal(changed_count, 0);	/* created: no clients yet */
	setuser_ok("a", "off");
	assert_int_equal(changed_count, 1);
	assert_int_equal(deleted_count, 0);
	assert_ptr_equal(changed_user, user("a"));
}

static void test_username_with_space_is_refused(void **state)
{
	char *err = NULL;

	(void)state;
	assert_int_equal(acl_setuser("a b", 3, 0, NULL, &err), -1);
	assert_string_equal(err, "Usernames can't contain spaces or null characters");
	mem_free(err);
	assert_int_equal(acl_setuser("a\0b", 3, 0, NULL, &err), -1);
	mem_free(err);
}

static void test_reset(void **state)
{
	(void)state;
	setuser_ok("a", "on >pw ~* &* +@all skip-sanitize-payload");
	setuser_ok("a", "reset");
	assert_describe("a", "off sanitize-payload resetchannels -@all");
}

static void test_subcommand_rules(void **state)
{
	(void)state;
	setuser_ok("a", "-@all +config|get");
	assert_describe("a", "off resetchannels -@all +config|get");
	setuser_ok("b", "+@all -config|set");
	assert_describe("b", "off resetchannels +@all -config|set");
	setuser_ok("c", "-@all +select|0 +select|0 +SELECT|1");
	assert_describe("c", "off resetchannels -@all +select|0 +select|1");
	/* +select drops the first-args; -select too */
	setuser_ok("c", "+select");
	assert_describe("c", "off resetchannels -@all +select");
}

/* A description, applied to a new user, gives the same description (and
 * so the same bitmap: describe asserts it matches its own rules). */
static void assert_round_trip(const char *rules)
{
	char *d1, *d2;

	setuser_ok("rt1", "reset");
	setuser_ok("rt1", rules);
	d1 = acl_user_describe(user("rt1"));
	setuser_ok("rt2", "reset");
	setuser_ok("rt2", d1);
	d2 = acl_user_describe(user("rt2"));
	assert_string_equal(d1, d2);
	mem_free(d1);
	mem_free(d2);
}

static void test_descriptions_round_trip(void **state)
{
	(void)state;
	assert_round_trip("+@read -@dangerous");
	assert_round_trip("+@all -@write +set");
	assert_round_trip("+@hash +@set -hdel +@pubsub -@slow");
	assert_round_trip("-@all +@connection +config|get +debug -@admin +client|id");
	assert_round_trip("+@all -@keyspace -@read +get +select|3");
	assert_round_trip("on >a >b %R~r:* %W~w:* ~x &c* +@string");
}

static void test_category_rules_follow_table(void **state)
{
	(void)state;
	setuser_ok("a", "~* +@read -@dangerous");
	assert_allowed("a", "get k");
	assert_allowed("a", "hget h f");
	assert_refused("a", "keys *", ACL_DENIED_CMD, -1);
	assert_refused("a", "set k v", ACL_DENIED_CMD, -1);
	assert_refused("a", "flushall", ACL_DENIED_CMD, -1);
}

/* ---- checks ---- */

static void test_read_only_user_cannot_write(void **state)
{
	(void)state;
	setuser_ok("ro", "on nopass ~* +@read");
	assert_allowed("ro", "get k");
	assert_allowed("ro", "mget a b");
	assert_refused("ro", "set k v", ACL_DENIED_CMD, -1);
	assert_refused("ro", "del k", ACL_DENIED_CMD, -1);
	assert_refused("ro", "lpush l x", ACL_DENIED_CMD, -1);
}

static void test_key_pattern_confines_keys(void **state)
{
	(void)state;
	setuser_ok("app", "on ~app:* +@all");
	assert_allowed("app", "set app:1 v");
	assert_allowed("app", "get app:x");
	assert_refused("app", "get other", ACL_DENIED_KEY, 1);
	assert_refused("app", "mset app:1 v other v", ACL_DENIED_KEY, 3);
	assert_refused("app", "del app:1 app:2 App:3", ACL_DENIED_KEY, 3);
	/* commands without keys are not about keys */
	assert_allowed("app", "ping");
	assert_allowed("app", "dbsize");
}

static void test_no_key_patterns_refuses_every_key(void **state)
{
	(void)state;
	setuser_ok("a", "+@all");
	assert_refused("a", "get k", ACL_DENIED_KEY, 1);
	assert_allowed("a", "ping");
}

static void test_read_and_write_patterns(void **state)
{
	(void)state;
	setuser_ok("rw", "+@all %R~r:* %W~w:* ~both:*");
	assert_allowed("rw", "get r:1");
	assert_refused("rw", "set r:1 v", ACL_DENIED_KEY, 1);
	assert_allowed("rw", "set w:1 v");
	assert_refused("rw", "get w:1", ACL_DENIED_KEY, 1);
	assert_allowed("rw", "get both:1");
	assert_allowed("rw", "set both:1 v");
	/* WATCH is neither read nor write: any pattern will do */
	assert_allowed("rw", "watch r:1 w:1");
	assert_refused("rw", "watch r:1 x", ACL_DENIED_KEY, 2);
}

static void test_key_patterns_are_globs_and_case_sensitive(void **state)
{
	(void)state;
	setuser_ok("g", "+@all ~user:[0-9]? ~a\\*b");
	assert_allowed("g", "get user:12");
	assert_refused("g", "get user:x1", ACL_DENIED_KEY, 1);
	assert_refused("g", "get USER:12", ACL_DENIED_KEY, 1);
	assert_allowed("g", "get a*b");
	assert_refused("g", "get axb", ACL_DENIED_KEY, 1);
}

static void test_subcommand_permission(void **state)
{
	(void)state;
	setuser_ok("a", "-@all +config|get");
	assert_allowed("a", "config get maxmemory");
	assert_refused("a", "config set maxmemory 1", ACL_DENIED_CMD, -1);
	setuser_ok("b", "+@all -config|set ~*");
	assert_allowed("b", "config get maxmemory");
	assert_refused("b", "config set maxmemory 1", ACL_DENIED_CMD, -1);
	setuser_ok("c", "-@all +config");
	assert_allowed("c", "config set maxmemory 1");
}

static void test_first_arg_permission(void **state)
{
	(void)state;
	setuser_ok("a", "-@all +select|0");
	assert_allowed("a", "select 0");
	assert_refused("a", "select 1", ACL_DENIED_CMD, -1);
	setuser_ok("a", "-select");
	assert_refused("a", "select 0", ACL_DENIED_CMD, -1);
}

/* DEBUG is one command, as in Redis 7.0: "+debug|x" allows it by first
 * argument, whatever x is. */
static void test_debug_is_allowed_by_first_argument(void **state)
{
	(void)state;
	setuser_ok("d", "-@all +debug|object ~*");
	assert_allowed("d", "debug object k");
	assert_refused("d", "debug segfault", ACL_DENIED_CMD, -1);
	setuser_ok("d", "+debug|anything");
	assert_describe("d", "off ~* resetchannels -@all +debug|object +debug|anything");
	setuser_ok("d", "reset +@all ~* -debug +debug|digest");
	assert_describe("d", "off sanitize-payload ~* resetchannels +@all -debug +debug|digest");
}

static void test_no_auth_commands_always_allowed(void **state)
{
	(void)state;
	setuser_ok("none", "on nopass");
	assert_allowed("none", "auth x");
	assert_allowed("none", "hello 3");
	assert_allowed("none", "quit");
	assert_refused("none", "ping", ACL_DENIED_CMD, -1);
}

static void test_channels(void **state)
{
	(void)state;
	setuser_ok("ps", "+@all &news.* &alerts");
	assert_allowed("ps", "publish news.sport m");
	assert_refused("ps", "publish sport m", ACL_DENIED_CHANNEL, 1);
	assert_allowed("ps", "subscribe news.a alerts");
	assert_refused("ps", "subscribe news.a other alerts", ACL_DENIED_CHANNEL, 2);
	/* PSUBSCRIBE patterns must equal an allowed pattern */
	assert_allowed("ps", "psubscribe news.*");
	assert_refused("ps", "psubscribe news.a", ACL_DENIED_CHANNEL, 1);
	assert_refused("ps", "psubscribe *", ACL_DENIED_CHANNEL, 1);
	/* unsubscribing is never refused */
	assert_allowed("ps", "unsubscribe other");
	assert_true(acl_channel_allowed(user("ps"), "news.x", 6, false));
	assert_false(acl_channel_allowed(user("ps"), "news.x", 6, true));
	setuser_ok("all", "+@all allchannels");
	assert_allowed("all", "psubscribe *");
}

static void test_pubsub_default_allchannels_gives_new_users_every_channel(void **state)
{
	(void)state;
	setuser_ok("before", "on");
	cfg.acl_pubsub_default = ACL_PUBSUB_ALLCHANNELS;
	setuser_ok("after", "on");
	assert_describe("after", "on &* -@all");
	/* users that exist keep their channels */
	assert_describe("before", "on resetchannels -@all");
	/* a pattern after every channel is refused, as in Redis */
	assert_string_equal(setuser("fresh", "&news"),
			    "Error in ACL SETUSER modifier '&news': Adding a pattern after the * "
			    "pattern (or the 'allchannels' flag) is not valid and does not have any "
			    "effect. Try 'resetchannels' to start with an empty list of channels");
	setuser_ok("before", "reset");
	assert_describe("before", "off sanitize-payload &* -@all");
	cfg.acl_pubsub_default = ACL_PUBSUB_RESETCHANNELS;
	setuser_ok("after", "reset");
	assert_describe("after", "off sanitize-payload resetchannels -@all");
}

static void test_command_checked_before_keys(void **state)
{
	(void)state;
	setuser_ok("a", "+get ~x");
	assert_refused("a", "set y v", ACL_DENIED_CMD, -1);
	assert_refused("a", "get y", ACL_DENIED_KEY, 1);
}

static void test_null_user_is_unrestricted(void **state)
{
	struct cmd_arg argv[] = { { "flushall", 8 } };

	(void)state;
	assert_int_equal(acl_check(NULL, cmd_lookup("flushall", 8), 1, argv, NULL), ACL_OK);
}

static void test_denied_messages(void **state)
{
	char buf[256];

	(void)state;
	assert_string_equal(acl_denied_msg(ACL_DENIED_CMD, cmd_lookup("get", 3), buf, sizeof(buf)),
			    "-NOPERM this user has no permissions to run the 'get' command");
	assert_string_equal(acl_denied_msg(ACL_DENIED_CMD,
					   cmd_lookup_sub(cmd_lookup("config", 6), "set", 3), buf,
					   sizeof(buf)),
			    "-NOPERM this user has no permissions to run the 'config|set' command");
	assert_string_equal(acl_denied_msg(ACL_DENIED_KEY, NULL, buf, sizeof(buf)),
			    "-NOPERM this user has no permissions to access one of the keys used as arguments");
	assert_string_equal(acl_denied_msg(ACL_DENIED_CHANNEL, NULL, buf, sizeof(buf)),
			    "-NOPERM this user has no permissions to access one of the channels used as arguments");
}

/* ---- passwords ---- */

static void test_password_stored_as_sha256(void **state)
{
	(void)state;
	setuser_ok("a", "on >pw >pw");
	assert_describe("a", "on #" PW_HASH " resetchannels -@all");
	assert_true(auth("a", "pw"));
	assert_false(auth("a", "p"));
	assert_false(auth("a", "pw "));
	assert_false(auth("a", ""));
}

static void test_password_by_hash(void **state)
{
	(void)state;
	setuser_ok("a", "on #" PW_HASH);
	assert_true(auth("a", "pw"));
	assert_string_equal(setuser("a", "#" "30C952FAB122C3F9759F02A6D95C3758B246B4FEE239957B2D4FEE46E26170C4"),
			    "Error in ACL SETUSER modifier '#30C952FAB122C3F9759F02A6D95C3758B246B4FEE239957B2D4FEE46E26170C4': "
			    "The password hash must be exactly 64 characters and contain only lowercase "
			    "hexadecimal characters");
	assert_non_null(setuser("a", "#abc"));
	assert_non_null(setuser("a", "!abc"));
	setuser_ok("a", "!" PW_HASH);
	assert_false(auth("a", "pw"));
}

static void test_password_removal(void **state)
{
	(void)state;
	setuser_ok("a", "on >one >two");
	setuser_ok("a", "<one");
	assert_false(auth("a", "one"));
	assert_true(auth("a", "two"));
	assert_string_equal(setuser("a", "<one"),
			    "Error in ACL SETUSER modifier '<one': The password you are trying to "
			    "remove from the user does not exist");
}

static void test_nopass_and_resetpass(void **state)
{
	(void)state;
	setuser_ok("a", "on >pw nopass");
	assert_describe("a", "on nopass resetchannels -@all");
	assert_true(auth("a", "whatever"));
	setuser_ok("a", ">pw");			/* a password clears nopass */
	assert_false(auth("a", "whatever"));
	setuser_ok("a", "resetpass");
	assert_false(auth("a", "pw"));
	assert_describe("a", "on resetchannels -@all");
}

static void test_off_user_cannot_authenticate(void **state)
{
	(void)state;
	setuser_ok("a", "off >pw");
	assert_false(auth("a", "pw"));
	setuser_ok("a", "on");
	assert_true(auth("a", "pw"));
	assert_false(auth("nosuch", "pw"));
}

/* ---- GETUSER ---- */

static void test_getuser_reply_resp2(void **state)
{
	struct sbuf b = { 0 };
	struct resp_w w = { .b = &b, .proto = RESP2 };
	const char *want =
		"*12\r\n"
		"$5\r\nflags\r\n*1\r\n$2\r\non\r\n"
		"$9\r\npasswords\r\n*1\r\n$64\r\n" PW_HASH "\r\n"
		"$8\r\ncommands\r\n$15\r\n-@all +get +set\r\n"
		"$4\r\nkeys\r\n$14\r\n~app:* %R~ro:*\r\n"
		"$8\r\nchannels\r\n$9\r\n&a &news*\r\n"
		"$9\r\nselectors\r\n*0\r\n";

	(void)state;
	setuser_ok("a", "on >pw ~app:* %R~ro:* &a &news* +get +set");
	acl_user_write_getuser(&w, user("a"));
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
	sbuf_free(&b);
}

static void test_getuser_reply_resp3_all(void **state)
{
	struct sbuf b = { 0 };
	struct resp_w w = { .b = &b, .proto = RESP3 };
	const char *want =
		"%6\r\n"
		"$5\r\nflags\r\n~2\r\n$2\r\non\r\n$6\r\nnopass\r\n"
		"$9\r\npasswords\r\n*0\r\n"
		"$8\r\ncommands\r\n$5\r\n+@all\r\n"
		"$4\r\nkeys\r\n$2\r\n~*\r\n"
		"$8\r\nchannels\r\n$2\r\n&*\r\n"
		"$9\r\nselectors\r\n*0\r\n";

	(void)state;
	acl_user_write_getuser(&w, user("default"));
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
	sbuf_free(&b);
}

static void test_getuser_empty_user(void **state)
{
	struct sbuf b = { 0 };
	struct resp_w w = { .b = &b, .proto = RESP2 };
	const char *want =
		"*12\r\n"
		"$5\r\nflags\r\n*1\r\n$3\r\noff\r\n"
		"$9\r\npasswords\r\n*0\r\n"
		"$8\r\ncommands\r\n$5\r\n-@all\r\n"
		"$4\r\nkeys\r\n$0\r\n\r\n"
		"$8\r\nchannels\r\n$0\r\n\r\n"
		"$9\r\nselectors\r\n*0\r\n";

	(void)state;
	setuser_ok("e", "");
	acl_user_write_getuser(&w, user("e"));
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
	sbuf_free(&b);
}

/* ---- lifetime ---- */

static void test_deluser_keeps_held_user_alive(void **state)
{
	struct acl_user *u;

	(void)state;
	setuser_ok("a", "on nopass ~k +get");
	u = acl_user_hold(acl_authenticate("a", 1, "", 0));
	assert_non_null(u);
	assert_int_equal(acl_deluser("a", 1), 1);
	assert_int_equal(deleted_count, 1);
	assert_ptr_equal(changed_user, u);
	assert_null(acl_user_lookup("a", 1));
	assert_int_equal(acl_deluser("a", 1), 0);
	/* still readable and still checked by its last rules */
	assert_string_equal(acl_user_name(u, NULL), "a");
	{
		struct cmd_arg argv[] = { { "get", 3 }, { "k", 1 } };

		assert_int_equal(acl_check(u, cmd_lookup("get", 3), 2, argv, NULL), ACL_OK);
	}
	acl_user_release(u);	/* frees it (ASan would see a leak otherwise) */
	acl_user_release(NULL);
}

static void test_hold_default_survives_free_all(void **state)
{
	struct acl_user *d;

	(void)state;
	d = acl_user_hold(acl_default_user());
	acl_free_all();
	assert_string_equal(acl_user_name(d, NULL), "default");
	acl_user_release(d);
	acl_init();
	assert_non_null(acl_default_user());
}

/* ---- ACL LOG ---- */

/* The ACL LOG reply of up to count entries, as RESP2 text. */
static char *log_reply(long long count)
{
	static char text[8192];
	struct sbuf b = { 0 };
	struct resp_w w = { .b = &b, .proto = RESP2 };

	acl_log_write(&w, count);
	snprintf(text, sizeof(text), "%.*s", (int)b.len, b.p);
	sbuf_free(&b);
	return text;
}

static void log_add(int reason, const char *user, const char *object)
{
	acl_log_add(reason, ACL_LOG_TOPLEVEL, user, strlen(user), object, strlen(object), "id=1", 4);
}

static void test_log_folds_like_events(void **state)
{
	(void)state;
	assert_string_equal(log_reply(10), "*0\r\n");
	log_add(ACL_DENIED_CMD, "bob", "get");
	log_add(ACL_DENIED_CMD, "bob", "get");
	log_add(ACL_DENIED_KEY, "bob", "k1");
	log_add(ACL_DENIED_CMD, "bob", "get");
	/* newest first: the folded entry moved back to the head */
	assert_non_null(strstr(log_reply(10), "*2\r\n*14\r\n$5\r\ncount\r\n:3\r\n$6\r\nreason\r\n"
					     "$7\r\ncommand\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n"
					     "$6\r\nobject\r\n$3\r\nget\r\n$8\r\nusername\r\n$3\r\nbob\r\n"));
	assert_non_null(strstr(log_reply(1), "*1\r\n"));
	acl_log_add(ACL_DENIED_AUTH, ACL_LOG_MULTI, "eve", 3, "AUTH", 4, "id=2", 4);
	assert_non_null(strstr(log_reply(1), ":1\r\n$6\r\nreason\r\n$4\r\nauth\r\n$7\r\ncontext"
					    "\r\n$5\r\nmulti\r\n$6\r\nobject\r\n$4\r\nAUTH\r\n"));
	acl_log_reset();
	assert_string_equal(log_reply(10), "*0\r\n");
}

static void test_log_keeps_acllog_max_len_entries(void **state)
{
	char key[16];

	(void)state;
	cfg.acllog_max_len = 3;
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "obj:%d", i);
		log_add(ACL_DENIED_KEY, "bob", key);
	}
	assert_non_null(strstr(log_reply(100), "*3\r\n"));
	assert_non_null(strstr(log_reply(100), "obj:9"));
	assert_null(strstr(log_reply(100), "obj:6"));
	assert_string_equal(log_reply(-1), "*0\r\n");
	cfg.acllog_max_len = 128;
}

/* ---- users declared in the config file ---- */

static void test_config_users_are_created_at_load(void **state)
{
	char *err = NULL;

	(void)state;
	assert_null(config_user("alice on >pw ~app:* +get"));
	assert_null(config_user("default on nopass ~* &* +@all -flushdb"));
	assert_null(acl_user_lookup("alice", 5));
	assert_int_equal(acl_config_user_count(), 2);
	assert_int_equal(acl_config_users_load(&err), 0);
	assert_int_equal(acl_config_user_count(), 0);
	assert_describe("alice", "on #" PW_HASH " ~app:* resetchannels -@all +get");
	/* the default user's line replaces its rules */
	assert_describe("default", "on nopass sanitize-payload ~* &* +@all -flushdb");
	assert_ptr_equal(acl_default_user(), user("default"));
}

static void test_config_user_declared_twice_is_refused(void **state)
{
	(void)state;
	assert_null(config_user("foo on"));
	assert_string_equal(config_user("foo off"),
			    "Error in user declaration 'foo': Duplicate user found. A user can "
			    "only be defined once in config files");
	assert_null(config_user("default on nopass"));
	assert_string_equal(config_user("default"),
			    "Error in user declaration 'default': Duplicate user found. A user "
			    "can only be defined once in config files");
}

static void test_config_user_bad_rule_is_refused_at_once(void **state)
{
	(void)state;
	assert_string_equal(config_user("foo on +nosuchcommand"),
			    "Error in user declaration '+nosuchcommand': Unknown command or "
			    "category name in ACL");
	assert_string_equal(config_user("foo #abc"),
			    "Error in user declaration '#abc': The password hash must be exactly "
			    "64 characters and contain only lowercase hexadecimal characters");
	assert_int_equal(acl_config_user_count(), 0);
}

/* ---- the ACL file ---- */

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_acl.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_load_file(void **state)
{
	char *path, *err = NULL;
	struct acl_user *def = acl_default_user();

	(void)state;
	setuser_ok("old", "on nopass");
	path = write_tmp("user alice on >pw ~app:* +@read\n"
			 "\n"
			 "  user default on #" PW_HASH " ~* &* +@all  \r\n"
			 "user bob off");
	assert_int_equal(acl_load_file(path, &err), 0);
	assert_null(err);
	assert_int_equal(acl_user_count(), 3);
	assert_null(acl_user_lookup("old", 3));
	assert_int_equal(deleted_count, 1);		/* old */
	assert_ptr_equal(acl_default_user(), def);	/* same struct, new rules */
	assert_true(auth("default", "pw"));
	assert_true(auth("alice", "pw"));
	assert_allowed("alice", "get app:1");
	assert_describe("bob", "off resetchannels -@all");
	unlink(path);
}

static void test_load_file_without_default_opens_default(void **state)
{
	char *path, *err = NULL;

	(void)state;
	acl_set_requirepass("pw", 2);
	path = write_tmp("user alice on\n");
	assert_int_equal(acl_load_file(path, &err), 0);
	assert_describe("default", "on nopass ~* &* +@all");
	unlink(path);
}

static void test_load_file_errors_change_nothing(void **state)
{
	char *path, *err = NULL, want[2048];

	(void)state;
	setuser_ok("keep", "on");
	path = write_tmp("user a on +nosuch +get\n"
			 "usr b\n"
			 "user a off\n"
			 "user c bad1 bad2\n"
			 "user\td\n");
	assert_int_equal(acl_load_file(path, &err), -1);
	snprintf(want, sizeof(want),
		 "%s:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. "
		 "%s:2 should start with user keyword followed by the username. "
		 "WARNING: Duplicate user 'a' found on line 3. "
		 "%s:4: Syntax error. "
		 "%s:5 should start with user keyword followed by the username. "
		 "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
		 path, path, path, path);
	assert_string_equal(err, want);
	mem_free(err);
	assert_non_null(acl_user_lookup("keep", 4));
	assert_null(acl_user_lookup("a", 1));
	assert_int_equal(changed_count, 0);
	unlink(path);
}

static void test_load_missing_file(void **state)
{
	char *err = NULL;

	(void)state;
	assert_int_equal(acl_load_file("/nonexistent/acl.file", &err), -1);
	assert_string_equal(err, "Error loading ACLs, opening file '/nonexistent/acl.file': "
				 "No such file or directory");
	mem_free(err);
}

static void test_save_then_load_round_trip(void **state)
{
	char path[] = "/tmp/test_acl_save.XXXXXX", *err = NULL, *before, *after;
	int fd = mkstemp(path);
	struct sbuf text = { 0 };
	char buf[4096];
	ssize_t n;

	(void)state;
	close(fd);
	setuser_ok("alice", "on >pw %R~r:* &c +@read -@dangerous +select|0");
	setuser_ok("bob", "nopass allkeys +@all -flushall");
	assert_int_equal(acl_save_file(path), 0);
	fd = open(path, O_RDONLY);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sbuf_append(&text, buf, (size_t)n);
	close(fd);
	sbuf_append_char(&text, '\0');
	before = acl_user_describe(user("alice"));
	assert_non_null(strstr(text.p, "user bob off nopass ~* resetchannels +@all -flushall\n"));
	assert_non_null(strstr(text.p, "user default on nopass ~* &* +@all\n"));
	assert_int_equal(acl_load_file(path, &err), 0);
	after = acl_user_describe(user("alice"));
	assert_string_equal(before, after);
	assert_true(auth("alice", "pw"));
	mem_free(before);
	mem_free(after);
	sbuf_free(&text);
	unlink(path);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_default_user_is_open),
		T(test_requirepass_sets_default_password),
		T(test_requirepass_at_init),
		T(test_default_off_needs_auth),
		T(test_new_user_has_nothing),
		T(test_users_sorted_by_name),
		T(test_rules_read_back),
		T(test_keywords_are_case_insensitive),
		T(test_key_permissions_merge),
		T(test_key_pattern_errors),
		T(test_channel_pattern_errors),
		T(test_command_rule_errors),
		T(test_setuser_is_all_or_nothing),
		T(test_setuser_existing_notifies),
		T(test_username_with_space_is_refused),
		T(test_reset),
		T(test_subcommand_rules),
		T(test_descriptions_round_trip),
		T(test_category_rules_follow_table),
		T(test_read_only_user_cannot_write),
		T(test_key_pattern_confines_keys),
		T(test_no_key_patterns_refuses_every_key),
		T(test_read_and_write_patterns),
		T(test_key_patterns_are_globs_and_case_sensitive),
		T(test_subcommand_permission),
		T(test_first_arg_permission),
		T(test_debug_is_allowed_by_first_argument),
		T(test_no_auth_commands_always_allowed),
		T(test_channels),
		T(test_pubsub_default_allchannels_gives_new_users_every_channel),
		T(test_command_checked_before_keys),
		T(test_null_user_is_unrestricted),
		T(test_denied_messages),
		T(test_password_stored_as_sha256),
		T(test_password_by_hash),
		T(test_password_removal),
		T(test_nopass_and_resetpass),
		T(test_off_user_cannot_authenticate),
		T(test_getuser_reply_resp2),
		T(test_getuser_reply_resp3_all),
		T(test_getuser_empty_user),
		T(test_deluser_keeps_held_user_alive),
		T(test_hold_default_survives_free_all),
		T(test_log_folds_like_events),
		T(test_log_keeps_acllog_max_len_entries),
		T(test_config_users_are_created_at_load),
		T(test_config_user_declared_twice_is_refused),
		T(test_config_user_bad_rule_is_refused_at_once),
		T(test_load_file),
		T(test_load_file_without_default_opens_default),
		T(test_load_file_errors_change_nothing),
		T(test_load_missing_file),
		T(test_save_then_load_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
