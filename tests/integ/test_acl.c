/*
 * test_acl.c - ACL users with redis-server 7.0's exact replies: the ACL
 * command (SETUSER and its errors, GETUSER, LIST, USERS, WHOAMI, DELUSER,
 * CAT, GENPASS, LOG, DRYRUN, HELP, LOAD and SAVE with an aclfile), AUTH and
 * HELLO AUTH as users, and what users may do: read-only users, key
 * patterns, %R~ / %W~, subcommands, first arguments, channels, NOPERM
 * inside MULTI, requirepass as the default user's password, and the
 * clients of changed, disabled and deleted users.
 *
 * Every case runs on both servers; the oracle is redis-server 7.0.15.
 * Rule descriptions are compared only where the command table cannot make
 * them differ (whole categories, one single command), since Redis words
 * the rest from its own table and its hash order.
 *
 * ACL LOG entries are compared field by field, leaving out age-seconds and
 * client-info, which depend on timing and on the connection.
 */
#include "harness.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* sha256("pw") */
#define PW_HASH "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"
#define NOPERM_KEYS "NOPERM this user has no permissions to access one of the keys used as arguments"
#define NOPERM_CHANNELS \
	"NOPERM this user has no permissions to access one of the channels used as arguments"
#define NOPERM_CMD(name) "NOPERM this user has no permissions to run the '" name "' command"
#define WRONGPASS "WRONGPASS invalid username-password pair or user is disabled."
#define NOAUTH "NOAUTH Authentication required."
#define NO_ACLFILE "ERR This Redis instance is not configured to use an ACL file. You may want to " \
	"specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you " \
	"have a Redis configuration file set) in order to store users in the Redis configuration."
#define MODIFIER_ERR(op, why) "ERR Error in ACL SETUSER modifier '" op "': " why
#define UNKNOWN_CMD_OR_CAT "Unknown command or category name in ACL"

static redisContext *login(const struct harness_server *srv, const char *user, const char *pass)
{
	redisContext *c = harness_connect(srv);

	expect_status(cmd(c, "AUTH %s %s", user, pass), "OK", "AUTH %s", user);
	return c;
}

/* The connection was closed by the server: the next command gets no reply. */
static void expect_closed(redisContext *c, const char *what)
{
	redisReply *r;

	harness_sleep_ms(100);
	r = cmd(c, "PING");
	check(r == NULL, "%s: the connection is closed", what);
	if (r)
		freeReplyObject(r);
}

static bool reply_has_str(const redisReply *r, const char *s)
{
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, s))
			return true;
	return false;
}

/* A bulk string of len hex digits. */
static void expect_hex(redisReply *r, size_t len, const char *what)
{
	bool ok = r && r->type == REDIS_REPLY_STRING && r->len == len &&
		  strspn(r->str, "0123456789abcdef") == len;

	check(ok, "%s: %zu lowercase hex digits", what, len);
	if (r)
		freeReplyObject(r);
}

static void test_initial_state(redisContext *c)
{
	expect_str(cmd(c, "ACL WHOAMI"), "default", "a new connection is the default user");
	expect_array_of_str(cmd(c, "ACL USERS"), STRS("default"), "ACL USERS: only default");
	expect_array_of_str(cmd(c, "ACL LIST"), STRS("user default on nopass ~* &* +@all"),
			    "ACL LIST: the default user");
	expect_reply(cmd(c, "ACL GETUSER default"),
		     "['flags',['on','nopass'],'passwords',[],'commands','+@all','keys','~*',"
		     "'channels','&*','selectors',[]]",
		     "ACL GETUSER default");
	expect_nil(cmd(c, "ACL GETUSER nosuch"), "ACL GETUSER of a missing user is nil");
	expect_err(cmd(c, "AUTH pw"),
		   "ERR AUTH <password> called without any password configured for the default "
		   "user. Are you sure your configuration is correct?",
		   "AUTH <password> while the default user is nopass");
}

static void test_log_before_any_denial(redisContext *c)
{
	expect_empty_array(cmd(c, "ACL LOG"), "ACL LOG: nothing denied yet");
	expect_empty_array(cmd(c, "ACL LOG 5"), "ACL LOG 5: nothing denied yet");
	expect_status(cmd(c, "ACL LOG RESET"), "OK", "ACL LOG RESET");
	expect_err(cmd(c, "ACL LOG x"), "ERR value is not an integer or out of range",
		   "ACL LOG with a bad count");
	expect_err(cmd(c, "ACL LOG a b"),
		   "ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL HELP.",
		   "ACL LOG with two arguments");
}

static void test_setuser_and_getuser(redisContext *c)
{
	expect_status(cmd(c, "ACL SETUSER empty"), "OK", "ACL SETUSER without rules creates a user");
	expect_reply(cmd(c, "ACL GETUSER empty"),
		     "['flags',['off'],'passwords',[],'commands','-@all','keys','',"
		     "'channels','','selectors',[]]",
		     "a new user is off, without passwords, commands, keys or channels");
	expect_status(cmd(c, "ACL SETUSER alice on >pw ~app:* +@read +acl|whoami"), "OK",
		      "ACL SETUSER alice");
	expect_reply(cmd(c, "ACL GETUSER alice"),
		     "['flags',['on'],'passwords',['" PW_HASH "'],'commands','-@all +@read +acl|whoami',"
		     "'keys','~app:*','channels','','selectors',[]]",
		     "ACL GETUSER alice: the password as its SHA-256");
	expect_status(cmd(c, "ACL SETUSER rw on nopass %%R~r:* %%W~w:* ~both:* &news.* &alerts "
			     "+@string"), "OK", "ACL SETUSER with %%R~, %%W~ and channels");
	expect_reply(cmd(c, "ACL GETUSER rw"),
		     "['flags',['on','nopass'],'passwords',[],'commands','-@all +@string',"
		     "'keys','%R~r:* %W~w:* ~both:*','channels','&news.* &alerts','selectors',[]]",
		     "ACL GETUSER rw");
	expect_status(cmd(c, "ACL SETUSER merge %%R~x %%W~x %%RW~y ~y"), "OK",
		      "read and write permissions of one pattern");
	expect_reply(cmd(c, "ACL GETUSER merge"),
		     "['flags',['off'],'passwords',[],'commands','-@all','keys','~x ~y',"
		     "'channels','','selectors',[]]",
		     "%%R~x then %%W~x merge into ~x");
	expect_status(cmd(c, "ACL SETUSER sub -@all +config|get"), "OK", "a subcommand");
	expect_status(cmd(c, "ACL SETUSER sel -@all +select|0"), "OK", "a first argument");
	expect_status(cmd(c, "ACL SETUSER hashed on #" PW_HASH " allkeys allcommands"), "OK",
		      "a password given as its hash");
	expect_reply(cmd(c, "ACL GETUSER hashed"),
		     "['flags',['on'],'passwords',['" PW_HASH "'],'commands','+@all','keys','~*',"
		     "'channels','','selectors',[]]",
		     "ACL GETUSER hashed");
	expect_status(cmd(c, "ACL SETUSER hashed !" PW_HASH " >a >b <a nopass resetpass >b"), "OK",
		      "password rules in sequence");
	expect_reply(cmd(c, "ACL GETUSER hashed"),
		     "['flags',['on'],'passwords',"
		     "['3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d'],"
		     "'commands','+@all','keys','~*','channels','','selectors',[]]",
		     "only the last password is left");
	expect_status(cmd(c, "ACL SETUSER reset on >pw ~* &* +@all skip-sanitize-payload reset"),
		      "OK", "ACL SETUSER reset");
	expect_reply(cmd(c, "ACL GETUSER reset"),
		     "['flags',['off','sanitize-payload'],'passwords',[],'commands','-@all',"
		     "'keys','','channels','','selectors',[]]",
		     "reset leaves a user off with nothing allowed");
	expect_status(cmd(c, "ACL SETUSER minus on +@all -flushall ~*"), "OK", "+@all minus a command");
	expect_reply(cmd(c, "ACL GETUSER minus"),
		     "['flags',['on'],'passwords',[],'commands','+@all -flushall','keys','~*',"
		     "'channels','','selectors',[]]",
		     "ACL GETUSER minus");
}

static void test_list_and_users(redisContext *c)
{
	expect_array_of_str(cmd(c, "ACL USERS"),
			    STRS("alice", "default", "empty", "hashed", "merge", "minus", "reset", "rw",
				 "sel", "sub"),
			    "ACL USERS lists names in byte order");
	expect_array_of_str(cmd(c, "ACL LIST"),
			    STRS("user alice on #" PW_HASH " ~app:* resetchannels -@all +@read +acl|whoami",
				 "user default on nopass ~* &* +@all",
				 "user empty off resetchannels -@all",
				 "user hashed on #3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
				 " ~* resetchannels +@all",
				 "user merge off ~x ~y resetchannels -@all",
				 "user minus on ~* resetchannels +@all -flushall",
				 "user reset off sanitize-payload resetchannels -@all",
				 "user rw on nopass %R~r:* %W~w:* ~both:* resetchannels &news.* &alerts "
				 "-@all +@string",
				 "user sel off resetchannels -@all +select|0",
				 "user sub off resetchannels -@all +config|get"),
			    "ACL LIST in config file format");
}

static void test_setuser_errors(redisContext *c)
{
	expect_err(cmd(c, "ACL SETUSER bad +nosuch"), MODIFIER_ERR("+nosuch", UNKNOWN_CMD_OR_CAT),
		   "unknown command");
	expect_err(cmd(c, "ACL SETUSER bad +@nosuch"), MODIFIER_ERR("+@nosuch", UNKNOWN_CMD_OR_CAT),
		   "unknown category");
	expect_err(cmd(c, "ACL SETUSER bad +config|nosuch"),
		   MODIFIER_ERR("+config|nosuch", UNKNOWN_CMD_OR_CAT), "unknown subcommand");
	expect_err(cmd(c, "ACL SETUSER bad -select|0"), MODIFIER_ERR("-select|0", UNKNOWN_CMD_OR_CAT),
		   "a first argument cannot be removed");
	expect_err(cmd(c, "ACL SETUSER bad +config|get|x"),
		   MODIFIER_ERR("+config|get|x", "Allowing first-arg of a subcommand is not supported"),
		   "a first argument of a subcommand");
	expect_err(cmd(c, "ACL SETUSER bad +get|"), MODIFIER_ERR("+get|", "Syntax error"),
		   "an empty first argument");
	expect_err(cmd(c, "ACL SETUSER bad whatever"), MODIFIER_ERR("whatever", "Syntax error"),
		   "an unknown rule");
	expect_err(cmd(c, "ACL SETUSER bad %%~x"), MODIFIER_ERR("%~x", "Syntax error"),
		   "%% without R or W");
	expect_err(cmd(c, "ACL SETUSER bad %%X~x"), MODIFIER_ERR("%X~x", "Syntax error"),
		   "%% with a letter other than R or W");
	expect_err(cmd(c, "ACL SETUSER bad allkeys ~x"),
		   MODIFIER_ERR("~x", "Adding a pattern after the * pattern (or the 'allkeys' flag) "
			       "is not valid and does not have any effect. Try 'resetkeys' to start "
			       "with an empty list of patterns"),
		   "a key pattern after allkeys");
	expect_err(cmd(c, "ACL SETUSER bad &* &x"),
		   MODIFIER_ERR("&x", "Adding a pattern after the * pattern (or the 'allchannels' "
			       "flag) is not valid and does not have any effect. Try 'resetchannels' "
			       "to start with an empty list of channels"),
		   "a channel pattern after allchannels");
	expect_err(cmd(c, "ACL SETUSER bad <nopw"),
		   MODIFIER_ERR("<nopw", "The password you are trying to remove from the user does "
			       "not exist"),
		   "removing a password the user does not have");
	expect_err(cmd(c, "ACL SETUSER bad #abc"),
		   MODIFIER_ERR("#abc", "The password hash must be exactly 64 characters and "
			       "contain only lowercase hexadecimal characters"),
		   "a bad password hash");
	expect_err(cmd(c, "ACL SETUSER %s on", "a b"),
		   "ERR Usernames can't contain spaces or null characters", "a user name with a space");
	expect_nil(cmd(c, "ACL GETUSER bad"), "failed SETUSERs created no user");
	expect_err(cmd(c, "ACL SETUSER alice off resetpass +nosuch"),
		   MODIFIER_ERR("+nosuch", UNKNOWN_CMD_OR_CAT), "a failing SETUSER of alice");
	expect_reply(cmd(c, "ACL GETUSER alice"),
		     "['flags',['on'],'passwords',['" PW_HASH "'],'commands','-@all +@read +acl|whoami',"
		     "'keys','~app:*','channels','','selectors',[]]",
		     "a failing SETUSER changes nothing");
	expect_err(cmd(c, "ACL SETUSER"), "ERR wrong number of arguments for 'acl|setuser' command",
		   "ACL SETUSER without a name");
}

static void test_deluser(redisContext *c)
{
	expect_status(cmd(c, "ACL SETUSER tmp1"), "OK", "ACL SETUSER tmp1");
	expect_err(cmd(c, "ACL DELUSER tmp1 default"), "ERR The 'default' user cannot be removed",
		   "ACL DELUSER default");
	expect_str(cmd(c, "ACL WHOAMI"), "default", "still the default user");
	expect_int(cmd(c, "ACL DELUSER nosuch tmp1 tmp1"), 1, "ACL DELUSER counts the users removed");
	expect_int(cmd(c, "ACL DELUSER tmp1"), 0, "ACL DELUSER of a missing user");
	expect_nil(cmd(c, "ACL GETUSER tmp1"), "the user is gone");
}

static void test_cat(redisContext *c)
{
	redisReply *r;

	expect_array_of_str(cmd(c, "ACL CAT"),
			    STRS("keyspace", "read", "write", "set", "sortedset", "list", "hash",
				 "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin",
				 "fast", "slow", "blocking", "dangerous", "connection", "transaction",
				 "scripting"),
			    "ACL CAT lists the categories");
	expect_err(cmd(c, "ACL CAT nosuch"), "ERR Unknown category 'nosuch'", "ACL CAT nosuch");
	r = cmd(c, "ACL CAT read");
	check(reply_has_str(r, "get") && reply_has_str(r, "hget") && !reply_has_str(r, "set"),
	      "ACL CAT read has get and hget, not set");
	if (r)
		freeReplyObject(r);
	r = cmd(c, "ACL CAT ADMIN");
	check(reply_has_str(r, "config|set") && reply_has_str(r, "acl|setuser") &&
	      !reply_has_str(r, "get"),
	      "ACL CAT ADMIN names subcommands as container|sub");
	if (r)
		freeReplyObject(r);
	expect_err(cmd(c, "ACL CaT a b"),
		   "ERR unknown subcommand or wrong number of arguments for 'CaT'. Try ACL HELP.",
		   "ACL CAT with two arguments");
}

static void test_genpass(redisContext *c)
{
	expect_hex(cmd(c, "ACL GENPASS"), 64, "ACL GENPASS");
	expect_hex(cmd(c, "ACL GENPASS 5"), 2, "ACL GENPASS 5");
	expect_hex(cmd(c, "ACL GENPASS 1"), 1, "ACL GENPASS 1");
	expect_hex(cmd(c, "ACL GENPASS 4096"), 1024, "ACL GENPASS 4096");
	expect_err(cmd(c, "ACL GENPASS 0"),
		   "ERR ACL GENPASS argument must be the number of bits for the output password, "
		   "a positive number up to 4096",
		   "ACL GENPASS 0");
	expect_err(cmd(c, "ACL GENPASS 4097"),
		   "ERR ACL GENPASS argument must be the number of bits for the output password, "
		   "a positive number up to 4096",
		   "ACL GENPASS 4097");
	expect_err(cmd(c, "ACL GENPASS x"), "ERR value is not an integer or out of range",
		   "ACL GENPASS x");
	expect_err(cmd(c, "ACL GENPASS 1 2"),
		   "ERR unknown subcommand or wrong number of arguments for 'GENPASS'. Try ACL HELP.",
		   "ACL GENPASS with two arguments");
}

static void test_help_and_files(redisContext *c)
{
	redisReply *r = cmd(c, "ACL HELP");
	bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 29 &&
		  !strcmp(r->element[0]->str,
			  "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:") &&
		  !strcmp(r->element[27]->str, "HELP") &&
		  !strcmp(r->element[28]->str, "    Prints this help.");

	check(ok, "ACL HELP: 29 lines, first and last as Redis's");
	if (r)
		freeReplyObject(r);
	expect_err(cmd(c, "ACL LOAD"), NO_ACLFILE, "ACL LOAD without an aclfile");
	expect_err(cmd(c, "ACL SAVE"), NO_ACLFILE, "ACL SAVE without an aclfile");
	expect_err(cmd(c, "ACL LOAD x"), "ERR wrong number of arguments for 'acl|load' command",
		   "ACL LOAD with an argument");
	expect_err(cmd(c, "ACL NOSUCH"), "ERR unknown subcommand 'NOSUCH'. Try ACL HELP.",
		   "an unknown ACL subcommand");
}

static void test_dryrun(redisContext *c)
{
	expect_status(cmd(c, "ACL SETUSER ch on nopass ~* &news.* +@all"), "OK", "ACL SETUSER ch");
	expect_status(cmd(c, "ACL DRYRUN alice get app:1"), "OK", "DRYRUN: allowed");
	expect_str(cmd(c, "ACL DRYRUN alice set app:1 v"),
		   "This user has no permissions to run the 'set' command", "DRYRUN: command refused");
	expect_str(cmd(c, "ACL DRYRUN alice mget app:1 other"),
		   "This user has no permissions to access the 'other' key", "DRYRUN: key refused");
	expect_str(cmd(c, "ACL DRYRUN ch publish other m"),
		   "This user has no permissions to access the 'other' channel",
		   "DRYRUN: channel refused");
	expect_status(cmd(c, "ACL DRYRUN ch publish news.x m"), "OK", "DRYRUN: channel allowed");
	expect_status(cmd(c, "ACL DRYRUN sub config get maxmemory"), "OK", "DRYRUN: subcommand allowed");
	expect_str(cmd(c, "ACL DRYRUN sub config set maxmemory 0"),
		   "This user has no permissions to run the 'config|set' command",
		   "DRYRUN: subcommand refused");
	expect_status(cmd(c, "ACL DRYRUN sel select 0"), "OK", "DRYRUN: first argument allowed");
	expect_str(cmd(c, "ACL DRYRUN sel select 1"),
		   "This user has no permissions to run the 'select' command",
		   "DRYRUN: other first argument refused");
	expect_str(cmd(c, "ACL DRYRUN minus flushall"),
		   "This user has no permissions to run the 'flushall' command",
		   "DRYRUN: +@all -flushall");
	expect_status(cmd(c, "ACL DRYRUN empty auth x"), "OK", "DRYRUN: AUTH is always allowed");
	expect_err(cmd(c, "ACL DRYRUN nosuch get x"), "ERR User 'nosuch' not found",
		   "DRYRUN: unknown user");
	expect_err(cmd(c, "ACL DRYRUN alice nocmd"), "ERR Command 'nocmd' not found",
		   "DRYRUN: unknown command");
	expect_err(cmd(c, "ACL DRYRUN alice config nosuch"), "ERR Command 'config' not found",
		   "DRYRUN: unknown subcommand");
	expect_err(cmd(c, "ACL DRYRUN alice get"), "ERR wrong number of arguments for 'get' command",
		   "DRYRUN: arity of the command");
	expect_err(cmd(c, "ACL DRYRUN alice config"),
		   "ERR wrong number of arguments for 'config' command", "DRYRUN: container alone");
	expect_err(cmd(c, "ACL DRYRUN alice"), "ERR wrong number of arguments for 'acl|dryrun' command",
		   "DRYRUN without a command");
}

/* ---- what users may do (the server checks every command) ---- */

static void test_auth(const struct harness_server *srv)
{
	redisContext *c = harness_connect(srv);
	redisReply *r;

	expect_err(cmd(c, "AUTH alice nope"), WRONGPASS, "AUTH with a wrong password");
	expect_err(cmd(c, "AUTH nosuch pw"), WRONGPASS, "AUTH as a missing user");
	expect_err(cmd(c, "AUTH empty x"), WRONGPASS, "AUTH as a user that is off");
	expect_str(cmd(c, "ACL WHOAMI"), "default", "failed AUTHs leave the user as it was");
	expect_status(cmd(c, "AUTH alice pw"), "OK", "AUTH alice pw");
	expect_str(cmd(c, "ACL WHOAMI"), "alice", "ACL WHOAMI after AUTH");
	expect_status(cmd(c, "AUTH rw anything"), "OK", "a nopass user takes any password");
	expect_err(cmd(c, "ACL WHOAMI"), NOPERM_CMD("acl|whoami"),
		   "rw may not run ACL WHOAMI: the second AUTH took effect");
	expect_status(cmd(c, "RESET"), "RESET", "RESET");
	expect_str(cmd(c, "ACL WHOAMI"), "default", "RESET goes back to the default user");
	expect_err(cmd(c, "HELLO 2 AUTH alice nope"), WRONGPASS, "HELLO AUTH with a wrong password");
	r = cmd(c, "HELLO 2 AUTH alice pw");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 14, "HELLO 2 AUTH alice pw");
	if (r)
		freeReplyObject(r);
	expect_str(cmd(c, "ACL WHOAMI"), "alice", "ACL WHOAMI after HELLO AUTH");
	redisFree(c);
}

static void test_read_only_user(const struct harness_server *srv)
{
	redisContext *c = login(srv, "alice", "pw");

	expect_nil(cmd(c, "GET app:1"), "alice may GET app:1");
	expect_array_of_str(cmd(c, "MGET app:1 app:2"), STRS(NULL, NULL), "alice may MGET app:*");
	expect_err(cmd(c, "SET app:1 v"), NOPERM_CMD("set"), "alice may not SET");
	expect_err(cmd(c, "DEL app:1"), NOPERM_CMD("del"), "alice may not DEL");
	expect_err(cmd(c, "GET other"), NOPERM_KEYS, "alice may not read other keys");
	expect_err(cmd(c, "MGET app:1 other"), NOPERM_KEYS, "one key out of the patterns refuses MGET");
	expect_err(cmd(c, "PING"), NOPERM_CMD("ping"), "alice may not PING (not @read)");
	expect_err(cmd(c, "CONFIG GET maxmemory"), NOPERM_CMD("config|get"),
		   "alice may not CONFIG GET");
	expect_err(cmd(c, "MULTI"), NOPERM_CMD("multi"), "alice may not MULTI");
	redisFree(c);
}

static void test_key_patterns(redisContext *admin, const struct harness_server *srv)
{
	redisContext *c;

	expect_status(cmd(admin, "ACL SETUSER app on >pw ~app:* +@all"), "OK", "ACL SETUSER app");
	c = login(srv, "app", "pw");
	expect_status(cmd(c, "SET app:1 v"), "OK", "app may SET app:1");
	expect_str(cmd(c, "GET app:1"), "v", "app may GET app:1");
	expect_err(cmd(c, "SET other v"), NOPERM_KEYS, "app may not SET other");
	expect_err(cmd(c, "MSET app:1 a app:2 b other c"), NOPERM_KEYS,
		   "MSET with one key out of the patterns is refused");
	expect_str(cmd(c, "GET app:1"), "v", "the refused MSET wrote nothing");
	expect_err(cmd(c, "RENAME app:1 other"), NOPERM_KEYS, "RENAME to a key out of the patterns");
	expect_status(cmd(c, "PING"), "PONG", "commands without keys are allowed");
	expect_int(cmd(c, "DEL app:1 app:2"), 1, "app may DEL app:*");
	redisFree(c);
}

static void test_rw_patterns(redisContext *admin, const struct harness_server *srv)
{
	redisContext *c = login(srv, "rw", "anything");

	expect_status(cmd(c, "SET w:1 v"), "OK", "%%W~w:* allows SET w:1");
	expect_err(cmd(c, "GET w:1"), NOPERM_KEYS, "%%W~w:* does not allow GET w:1");
	expect_err(cmd(c, "SET r:1 v"), NOPERM_KEYS, "%%R~r:* does not allow SET r:1");
	expect_nil(cmd(c, "GET r:1"), "%%R~r:* allows GET r:1");
	expect_status(cmd(c, "SET both:1 v"), "OK", "~both:* allows SET");
	expect_str(cmd(c, "GET both:1"), "v", "~both:* allows GET");
	redisFree(c);
	expect_int(cmd(admin, "DEL w:1 both:1"), 2, "clean up rw's keys");
}

static void test_subcommands(redisContext *admin, const struct harness_server *srv)
{
	redisContext *c;

	expect_status(cmd(admin, "ACL SETUSER sub on >pw"), "OK", "sub on");
	c = login(srv, "sub", "pw");
	expect_array_of_str(cmd(c, "CONFIG GET maxmemory"), STRS("maxmemory", "0"),
			    "+config|get allows CONFIG GET");
	expect_err(cmd(c, "CONFIG SET maxmemory 0"), NOPERM_CMD("config|set"),
		   "+config|get does not allow CONFIG SET");
	redisFree(c);
	expect_status(cmd(admin, "ACL SETUSER sel on >pw"), "OK", "sel on");
	c = login(srv, "sel", "pw");
	expect_status(cmd(c, "SELECT 0"), "OK", "+select|0 allows SELECT 0");
	expect_err(cmd(c, "SELECT 1"), NOPERM_CMD("select"), "+select|0 does not allow SELECT 1");
	redisFree(c);
}

static void test_channels(const struct harness_server *srv)
{
	redisContext *c = login(srv, "ch", "x");

	expect_int(cmd(c, "PUBLISH news.x m"), 0, "&news.* allows PUBLISH news.x");
	expect_err(cmd(c, "PUBLISH other m"), NOPERM_CHANNELS, "&news.* does not allow PUBLISH other");
	expect_err(cmd(c, "SUBSCRIBE news.a other"), NOPERM_CHANNELS,
		   "SUBSCRIBE with one channel out of the patterns");
	expect_err(cmd(c, "PSUBSCRIBE news.a"), NOPERM_CHANNELS,
		   "PSUBSCRIBE patterns must equal a channel pattern");
	expect_err(cmd(c, "PSUBSCRIBE *"), NOPERM_CHANNELS, "PSUBSCRIBE * is wider than &news.*");
	expect_reply(cmd(c, "PSUBSCRIBE news.*"), "['psubscribe','news.*',1]",
		     "PSUBSCRIBE of the channel pattern itself");
	expect_reply(cmd(c, "SUBSCRIBE news.a"), "['subscribe','news.a',2]", "SUBSCRIBE news.a");
	redisFree(c);
}

static void test_multi(redisContext *admin, const struct harness_server *srv)
{
	redisContext *c;

	expect_status(cmd(admin, "ACL SETUSER tx on >pw ~* +@transaction +get"), "OK",
		      "ACL SETUSER tx");
	c = login(srv, "tx", "pw");
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_err(cmd(c, "SET k v"), NOPERM_CMD("set"), "a refused command is not queued");
	expect_status(cmd(c, "GET k"), "QUEUED", "an allowed command is queued");
	expect_err(cmd(c, "EXEC"), "EXECABORT Transaction discarded because of previous errors.",
		   "EXEC after a refused command aborts");
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_status(cmd(c, "GET k"), "QUEUED", "GET queued");
	expect_status(cmd(admin, "ACL SETUSER tx -get"), "OK", "GET taken away while queued");
	expect_reply(cmd(c, "EXEC"),
		     "[-NOPERM ACLs rules changed between the moment the transaction was accumulated "
		     "and the EXEC call. This command is no longer allowed for the following reason: "
		     "no permission to execute the command or subcommand]",
		     "EXEC checks the queued commands again");
	redisFree(c);
}

/* Subscribers of a user lose their connection when ACL SETUSER takes away a
 * channel they are subscribed to, and only then (Redis 7.0). */
static void test_channels_revoked(redisContext *admin, const struct harness_server *srv)
{
	redisContext *c = login(srv, "ch", "x");

	expect_reply(cmd(c, "SUBSCRIBE news.a"), "['subscribe','news.a',1]", "SUBSCRIBE news.a");
	expect_reply(cmd(c, "PSUBSCRIBE news.*"), "['psubscribe','news.*',2]", "PSUBSCRIBE news.*");
	expect_status(cmd(admin, "ACL SETUSER ch resetchannels &news.* &more"), "OK",
		      "ACL SETUSER that keeps news.*");
	expect_reply(cmd(c, "PING"), "['pong','']", "the subscriber stays");
	expect_status(cmd(admin, "ACL SETUSER ch resetchannels &news.a"), "OK",
		      "ACL SETUSER that keeps the channel but not the pattern");
	expect_closed(c, "a subscriber to a pattern taken away");
	redisFree(c);
	expect_status(cmd(admin, "ACL SETUSER ch resetchannels &news.*"), "OK", "back to &news.*");
}

/* The value of field name in map entry e of ACL LOG, or NULL. */
static const redisReply *log_field(const redisReply *e, const char *name)
{
	if (!e || e->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < e->elements; i += 2)
		if (e->element[i]->type == REDIS_REPLY_STRING && !strcmp(e->element[i]->str, name))
			return e->element[i + 1];
	return NULL;
}

/* Entry i of ACL LOG r is {count, reason, context, object, username}. */
static void check_log_entry(const redisReply *r, size_t i, long long count, const char *reason,
			    const char *context, const char *object, const char *user)
{
	const redisReply *e = r && r->type == REDIS_REPLY_ARRAY && i < r->elements ?
			      r->element[i] : NULL;
	const redisReply *f;
	bool ok = e && e->type == REDIS_REPLY_ARRAY && e->elements == 14;

	f = log_field(e, "count");
	ok = ok && f && f->type == REDIS_REPLY_INTEGER && f->integer == count;
	f = log_field(e, "reason");
	ok = ok && f && f->type == REDIS_REPLY_STRING && !strcmp(f->str, reason);
	f = log_field(e, "context");
	ok = ok && f && f->type == REDIS_REPLY_STRING && !strcmp(f->str, context);
	f = log_field(e, "object");
	ok = ok && f && f->type == REDIS_REPLY_STRING && !strcmp(f->str, object);
	f = log_field(e, "username");
	ok = ok && f && f->type == REDIS_REPLY_STRING && !strcmp(f->str, user);
	f = log_field(e, "client-info");
	ok = ok && f && f->type == REDIS_REPLY_STRING && !strncmp(f->str, "id=", 3);
	check(ok, "ACL LOG entry %zu: count=%lld reason=%s context=%s object=%s username=%s",
	      i, count, reason, context, object, user);
}

static void test_log_entries(redisContext *admin, const struct harness_server *srv)
{
	redisContext *c;
	redisReply *r;

	expect_status(cmd(admin, "ACL LOG RESET"), "OK", "ACL LOG RESET");
	expect_status(cmd(admin, "ACL SETUSER lg on >pw ~k* +get +multi +exec"), "OK",
		      "ACL SETUSER lg");
	c = login(srv, "lg", "pw");
	expect_err(cmd(c, "GET other"), NOPERM_KEYS, "a key out of the patterns");
	expect_err(cmd(c, "GET other"), NOPERM_KEYS, "the same again");
	expect_err(cmd(c, "SET k v"), NOPERM_CMD("set"), "a command not allowed");
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_err(cmd(c, "SET k v"), NOPERM_CMD("set"), "a command not allowed, queued");
	expect_err(cmd(c, "EXEC"), "EXECABORT Transaction discarded because of previous errors.",
		   "EXEC aborts");
	expect_err(cmd(c, "AUTH lg wrong"), WRONGPASS, "a wrong password");
	r = cmd(admin, "ACL LOG");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 4, "ACL LOG has 4 entries");
	check_log_entry(r, 0, 1, "auth", "toplevel", "AUTH", "lg");
	check_log_entry(r, 1, 1, "command", "multi", "set", "lg");
	check_log_entry(r, 2, 1, "command", "toplevel", "set", "lg");
	check_log_entry(r, 3, 2, "key", "toplevel", "other", "lg");
	if (r)
		freeReplyObject(r);
	r = cmd(admin, "ACL LOG 1");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1, "ACL LOG 1 shows the newest");
	if (r)
		freeReplyObject(r);
	expect_status(cmd(admin, "ACL LOG RESET"), "OK", "ACL LOG RESET");
	expect_empty_array(cmd(admin, "ACL LOG"), "ACL LOG is empty after RESET");
	redisFree(c);
	run(admin, "ACL DELUSER lg");
}

static void test_changed_and_disabled_users(redisContext *admin, const struct harness_server *srv)
{
	redisContext *c, *d;

	expect_status(cmd(admin, "ACL SETUSER carol on >pw ~* +@all"), "OK", "ACL SETUSER carol");
	c = login(srv, "carol", "pw");
	expect_nil(cmd(c, "GET k"), "carol may GET");
	expect_status(cmd(admin, "ACL SETUSER carol -get"), "OK", "take GET from carol");
	expect_err(cmd(c, "GET k"), NOPERM_CMD("get"), "the change applies to her connection at once");
	expect_status(cmd(admin, "ACL SETUSER carol off resetpass"), "OK", "carol off, no password");
	expect_status(cmd(c, "PING"), "PONG", "a user turned off keeps its connections (7.0)");
	d = harness_connect(srv);
	expect_err(cmd(d, "AUTH carol pw"), WRONGPASS, "but cannot authenticate again");
	redisFree(d);
	redisFree(c);
}

static void test_deleted_users(redisContext *admin, const struct harness_server *srv)
{
	redisContext *c, *self;

	expect_status(cmd(admin, "ACL SETUSER gone on nopass ~* +@all"), "OK", "ACL SETUSER gone");
	c = login(srv, "gone", "x");
	self = login(srv, "gone", "x");
	expect_status(cmd(c, "PING"), "PONG", "gone's connection works");
	expect_int(cmd(self, "ACL DELUSER gone"), 1, "a user deletes itself: the reply comes");
	expect_closed(self, "the connection that deleted its own user");
	expect_closed(c, "another connection of the deleted user");
	expect_status(cmd(admin, "PING"), "PONG", "other users' connections stay");
	redisFree(c);
	redisFree(self);
}

static void test_default_password(redisContext *admin, const struct harness_server *srv)
{
	redisContext *c;

	expect_status(cmd(admin, "CONFIG SET requirepass pw"), "OK", "CONFIG SET requirepass pw");
	expect_reply(cmd(admin, "ACL GETUSER default"),
		     "['flags',['on'],'passwords',['" PW_HASH "'],'commands','+@all','keys','~*',"
		     "'channels','&*','selectors',[]]",
		     "requirepass is the default user's password");
	expect_status(cmd(admin, "PING"), "PONG", "connections already in stay in");
	c = harness_connect(srv);
	expect_err(cmd(c, "PING"), NOAUTH, "a new connection must authenticate");
	expect_err(cmd(c, "AUTH nope"), WRONGPASS, "AUTH with a wrong password");
	expect_status(cmd(c, "AUTH pw"), "OK", "AUTH pw");
	expect_status(cmd(c, "PING"), "PONG", "PING after AUTH");
	redisFree(c);
	expect_status(cmd(admin, "CONFIG SET requirepass %s", ""), "OK", "CONFIG SET requirepass \"\"");
	expect_reply(cmd(admin, "ACL GETUSER default"),
		     "['flags',['on','nopass'],'passwords',[],'commands','+@all','keys','~*',"
		     "'channels','&*','selectors',[]]",
		     "the default user is nopass again");
	c = harness_connect(srv);
	expect_status(cmd(c, "PING"), "PONG", "new connections are in at once");
	redisFree(c);

	expect_status(cmd(admin, "ACL SETUSER default >pw"), "OK", "a password for the default user");
	c = harness_connect(srv);
	expect_err(cmd(c, "PING"), NOAUTH, "the default user needs its password");
	expect_status(cmd(c, "AUTH default pw"), "OK", "AUTH default pw");
	redisFree(c);
	expect_status(cmd(admin, "ACL SETUSER default nopass"), "OK", "the default user nopass");
	c = harness_connect(srv);
	expect_status(cmd(c, "PING"), "PONG", "no password needed again");
	redisFree(c);
}

static void cleanup(redisContext *c)
{
	static const char *const users[] = {
		"alice", "empty", "hashed", "merge", "minus", "reset", "rw", "sel", "sub", "ch", "app", "tx",
		"carol",
	};

	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		run(c, "ACL DELUSER %s", users[i]);
	expect_array_of_str(cmd(c, "ACL USERS"), STRS("default"), "every test user removed");
	expect_status(cmd(c, "ACL LOG RESET"), "OK", "ACL LOG RESET");
	expect_empty_array(cmd(c, "ACL LOG"), "ACL LOG is empty after RESET");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		harness_bail("cannot write %s", path);
}

static char *read_file(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_aclfile(void)
{
	char dir[] = "/tmp/strata-acl-test.XXXXXX", path[128], want[1024];
	struct harness_server *srv;
	redisContext *c, *f;
	const char *text;

	if (!mkdtemp(dir))
		harness_bail("mkdtemp failed");
	snprintf(path, sizeof(path), "%s/users.acl", dir);
	write_file(path, "user default on nopass ~* &* +@all\n"
			 "user fileuser on #" PW_HASH " ~* +@all\n");
	srv = harness_server_start("--shards", "2", "--aclfile", path);
	if (srv->external) {
		skip("an external server has its own aclfile", "ACL LOAD / SAVE");
		harness_server_stop(srv);
		unlink(path);
		rmdir(dir);
		return;
	}
	c = harness_connect(srv);
	expect_array_of_str(cmd(c, "ACL USERS"), STRS("default", "fileuser"),
			    "users of the aclfile loaded at start");
	f = login(srv, "fileuser", "pw");
	expect_status(cmd(c, "ACL SETUSER new1 on nopass"), "OK", "ACL SETUSER new1");
	expect_status(cmd(c, "ACL SAVE"), "OK", "ACL SAVE");
	text = read_file(path);
	check_str(text, "user default on nopass ~* &* +@all\n"
			"user fileuser on #" PW_HASH " ~* resetchannels +@all\n"
			"user new1 on nopass resetchannels -@all\n",
		  "ACL SAVE writes every user as ACL LIST shows it");

	write_file(path, "user x on +nosuch\n\nuser y on bogus\n");
	snprintf(want, sizeof(want),
		 "ERR %s:1: Error in applying operation '+nosuch': Unknown command or category name "
		 "in ACL. %s:3: Syntax error. WARNING: ACL errors detected, no change to the "
		 "previously active ACL rules was performed", path, path);
	expect_err(cmd(c, "ACL LOAD"), want, "ACL LOAD of a bad file");
	expect_array_of_str(cmd(c, "ACL USERS"), STRS("default", "fileuser", "new1"),
			    "a bad file changes nothing");
	expect_status(cmd(f, "PING"), "PONG", "fileuser still connected");

	write_file(path, "user loaded on nopass ~* +@all\n");
	expect_status(cmd(c, "ACL LOAD"), "OK", "ACL LOAD of a good file");
	expect_array_of_str(cmd(c, "ACL USERS"), STRS("default", "loaded"),
			    "ACL LOAD replaces every user");
	expect_closed(f, "a client of a user replaced by ACL LOAD");
	expect_status(cmd(c, "PING"), "PONG", "the default user's clients stay");
	redisFree(f);
	redisFree(c);
	harness_server_stop(srv);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	struct harness_server *srv;
	redisContext *c;

	harness_init("test_acl: ACL users, AUTH and permissions");
	srv = harness_server_start("--shards", "2");
	c = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");

	test_initial_state(c);
	test_log_before_any_denial(c);
	test_setuser_and_getuser(c);
	test_list_and_users(c);
	test_setuser_errors(c);
	test_deluser(c);
	test_cat(c);
	test_genpass(c);
	test_help_and_files(c);
	test_dryrun(c);

	test_auth(srv);
	test_read_only_user(srv);
	test_key_patterns(c, srv);
	test_rw_patterns(c, srv);
	test_subcommands(c, srv);
	test_channels(srv);
	test_multi(c, srv);
	test_channels_revoked(c, srv);
	test_log_entries(c, srv);
	test_changed_and_disabled_users(c, srv);
	test_deleted_users(c, srv);
	test_default_password(c, srv);
	cleanup(c);

	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL after the tests");
	redisFree(c);
	harness_server_stop(srv);

	test_aclfile();
	return harness_done();
}
