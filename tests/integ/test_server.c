/*
 * test_server.c - connection and server commands, with the exact replies
 * of redis-server 7.0: PING ECHO HELLO (RESP2 and RESP3) AUTH CLIENT INFO
 * COMMAND TIME DBSIZE MEMORY LASTSAVE CONFIG, the unknown-command and arity
 * errors, QUIT, RESET and SHUTDOWN.
 *
 * CLIENT SETINFO and CLIENT NO-TOUCH are Redis 7.2 and are not tested
 * (7.0.15 answers "ERR unknown subcommand 'setinfo'. Try CLIENT HELP.");
 * a server may implement them.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ERR_SYNTAX "ERR syntax error"

static struct harness_server *srv;

/* The value of field name (e.g. "id") in a CLIENT LIST/INFO line, copied
 * into buf; false if absent. */
static bool client_field(const char *line, const char *name, char *buf,
			 size_t buflen)
{
	size_t nlen = strlen(name);
	const char *p = line;

	while (p && *p) {
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t vlen = strcspn(p + nlen + 1, " \r\n");

			if (vlen >= buflen)
				vlen = buflen - 1;
			memcpy(buf, p + nlen + 1, vlen);
			buf[vlen] = '\0';
			return true;
		}
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return false;
}

static long long client_id(redisContext *c)
{
	redisReply *r = cmd(c, "CLIENT ID");
	long long id = -1;

	if (r && r->type == REDIS_REPLY_INTEGER)
		id = r->integer;
	if (r)
		freeReplyObject(r);
	return id;
}

static void test_ping_echo(redisContext *c)
{
	expect_status(cmd(c, "PING"), "PONG", "PING answers +PONG");
	expect_str(cmd(c, "PING hello"), "hello", "PING with an argument echoes it as a bulk string");
	expect_err(cmd(c, "PING a b"), "ERR wrong number of arguments for 'ping' command",
		   "PING with two arguments is an arity error");
	expect_str(cmd(c, "ECHO %s", "hello world"), "hello world", "ECHO returns its argument");
	expect_str(cmd(c, "ECHO %s", ""), "", "ECHO of an empty string");
	expect_err(cmd(c, "ECHO"), "ERR wrong number of arguments for 'echo' command",
		   "ECHO without an argument is an arity error");
	expect_status(cmd(c, "ping"), "PONG", "command names are case-insensitive");
}

/* Checks HELLO 2 and remembers the server and version strings. */
static void test_hello_resp2(redisContext *c, char *server, char *version,
			     size_t len)
{
	static const char *const keys[] = {
		"server", "version", "proto", "id", "mode", "role", "modules"
	};
	long long id = client_id(c);
	redisReply *r = cmd(c, "HELLO 2");
	bool shape = r && r->type == REDIS_REPLY_ARRAY && r->elements == 14;

	check(shape, "HELLO 2 is a flat array of 7 field-value pairs");
	server[0] = version[0] = '\0';
	if (shape) {
		bool names = true;

		for (size_t i = 0; i < 7; i++)
			names = names && r->element[2 * i]->type == REDIS_REPLY_STRING &&
				strcmp(r->element[2 * i]->str, keys[i]) == 0;
		check(names, "HELLO 2 fields are server version proto id mode role modules, in order");
		check(r->element[1]->type == REDIS_REPLY_STRING && r->element[1]->len > 0 &&
		      r->element[1]->len < len,
		      "HELLO server is a non-empty string");
		check(r->element[3]->type == REDIS_REPLY_STRING && r->element[3]->len > 0 &&
		      r->element[3]->len < len,
		      "HELLO version is a non-empty string");
		if (r->element[1]->type == REDIS_REPLY_STRING && r->element[1]->len < len)
			strcpy(server, r->element[1]->str);
		if (r->element[3]->type == REDIS_REPLY_STRING && r->element[3]->len < len)
			strcpy(version, r->element[3]->str);
		check(r->element[5]->type == REDIS_REPLY_INTEGER && r->element[5]->integer == 2,
		      "HELLO 2 proto is the integer 2");
		check(r->element[7]->type == REDIS_REPLY_INTEGER && r->element[7]->integer == id,
		      "HELLO id is the integer CLIENT ID gives");
		check(r->element[9]->type == REDIS_REPLY_STRING &&
		      strcmp(r->element[9]->str, "standalone") == 0,
		      "HELLO mode is 'standalone'");
		check(r->element[11]->type == REDIS_REPLY_STRING &&
		      strcmp(r->element[11]->str, "master") == 0,
		      "HELLO role is 'master'");
		check(r->element[13]->type == REDIS_REPLY_ARRAY && r->element[13]->elements == 0,
		      "HELLO modules is an empty array");
	}
	if (r)
		freeReplyObject(r);
	harness_diag("server '%s' version '%s'", server, version);

	expect_err(cmd(c, "HELLO 4"), "NOPROTO unsupported protocol version", "HELLO 4");
	expect_err(cmd(c, "HELLO 1"), "NOPROTO unsupported protocol version", "HELLO 1");
	expect_err(cmd(c, "HELLO abc"), "ERR Protocol version is not an integer or out of range",
		   "HELLO abc");
	expect_err(cmd(c, "HELLO 2 FOO"), "ERR Syntax error in HELLO option 'FOO'",
		   "HELLO with an unknown option");
	expect_err(cmd(c, "HELLO 2 AUTH bob pw"),
		   "WRONGPASS invalid username-password pair or user is disabled.",
		   "HELLO AUTH with an unknown user");
	expect_err(cmd(c, "HELLO 2 SETNAME %s", "a b"),
		   "ERR Client names cannot contain spaces, newlines or special characters.",
		   "HELLO SETNAME with a space");
	r = cmd(c, "HELLO 2 AUTH default anything SETNAME hello-name");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 14,
	      "HELLO 2 AUTH default <any> SETNAME succeeds without requirepass");
	if (r)
		freeReplyObject(r);
	expect_str(cmd(c, "CLIENT GETNAME"), "hello-name", "HELLO SETNAME named the connection");
	r = cmd(c, "HELLO");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 14 &&
	      r->element[5]->type == REDIS_REPLY_INTEGER && r->element[5]->integer == 2,
	      "HELLO without arguments reports the current protocol, 2");
	if (r)
		freeReplyObject(r);
}

#define RESP3_CONFIG_PREFIX "%1\r\n$17\r\nmaxmemory-samples\r\n$"
#define RESP2_HELLO_PREFIX "*14\r\n$6\r\nserver\r\n"

/* RESP3 through a raw socket: hiredis 0.14 cannot parse it. */
static void test_hello_resp3(const char *server, const char *version)
{
	struct harness_raw *raw = raw_connect(srv);
	char *reply, want[1024];
	long long id;

	raw_send_str(raw, "CLIENT ID\r\n");
	reply = raw_read_reply(raw, 5000, NULL);
	id = reply && reply[0] == ':' ? atoll(reply + 1) : -1;
	free(reply);
	check(id > 0, "CLIENT ID over a raw connection");

	snprintf(want, sizeof(want),
		 "%%7\r\n"
		 "$6\r\nserver\r\n$%zu\r\n%s\r\n"
		 "$7\r\nversion\r\n$%zu\r\n%s\r\n"
		 "$5\r\nproto\r\n:3\r\n"
		 "$2\r\nid\r\n:%lld\r\n"
		 "$4\r\nmode\r\n$10\r\nstandalone\r\n"
		 "$4\r\nrole\r\n$6\r\nmaster\r\n"
		 "$7\r\nmodules\r\n*0\r\n",
		 strlen(server), server, strlen(version), version, id);
	raw_send_str(raw, "HELLO 3\r\n");
	expect_raw_reply(raw, want, "HELLO 3 answers a RESP3 map of 7 fields, byte for byte");
	raw_send_str(raw, "HELLO\r\n");
	expect_raw_reply(raw, want, "HELLO without arguments in RESP3 gives the same map");
	raw_send_str(raw, "GET srv:missing\r\n");
	expect_raw_reply(raw, "_\r\n", "RESP3 nil is _");
	raw_send_str(raw, "SET srv:r3 v\r\nGET srv:r3\r\nEXISTS srv:r3\r\n");
	expect_raw_reply(raw, "+OK\r\n", "RESP3 status");
	expect_raw_reply(raw, "$1\r\nv\r\n", "RESP3 bulk string");
	expect_raw_reply(raw, ":1\r\n", "RESP3 integer");
	raw_send_str(raw, "MGET srv:r3 srv:missing\r\n");
	expect_raw_reply(raw, "*2\r\n$1\r\nv\r\n_\r\n", "RESP3 array with a nil element");
	raw_send_str(raw, "CONFIG GET maxmemory-samples\r\n");
	reply = raw_read_reply(raw, 5000, NULL);
	check(reply && strncmp(reply, RESP3_CONFIG_PREFIX, strlen(RESP3_CONFIG_PREFIX)) == 0,
	      "CONFIG GET in RESP3 is a map");
	free(reply);
	raw_send_str(raw, "GET\r\n");
	expect_raw_reply(raw, "-ERR wrong number of arguments for 'get' command\r\n",
			 "RESP3 errors are the same simple errors");
	raw_send_str(raw, "HELLO 2\r\n");
	reply = raw_read_reply(raw, 5000, NULL);
	check(reply && strncmp(reply, RESP2_HELLO_PREFIX, strlen(RESP2_HELLO_PREFIX)) == 0,
	      "HELLO 2 switches back to a RESP2 array");
	free(reply);
	raw_send_str(raw, "GET srv:missing\r\n");
	expect_raw_reply(raw, "$-1\r\n", "RESP2 nil is $-1 again");
	raw_close(raw);
}

static void test_auth(redisContext *c)
{
	redisContext *c2;
	redisReply *r;
	struct harness_raw *raw;

	expect_err(cmd(c, "AUTH foo"),
		   "ERR AUTH <password> called without any password configured for the default user. "
		   "Are you sure your configuration is correct?",
		   "AUTH without requirepass");
	expect_status(cmd(c, "AUTH default anything"), "OK",
		      "AUTH default <any> succeeds when the default user has no password");
	expect_err(cmd(c, "AUTH bob pw"), "WRONGPASS invalid username-password pair or user is disabled.",
		   "AUTH of an unknown user");
	expect_err(cmd(c, "AUTH a b c"), ERR_SYNTAX, "AUTH with three arguments");

	check(harness_config_set(c, "requirepass", "s3cret"), "CONFIG SET requirepass");
	c2 = harness_connect(srv);
	expect_err(cmd(c2, "GET x"), "NOAUTH Authentication required.",
		   "a command before AUTH is refused");
	expect_err(cmd(c2, "PING"), "NOAUTH Authentication required.", "even PING before AUTH");
	expect_err(cmd(c2, "HELLO 3"),
		   "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
		   "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
		   "the RESP protocol version at the same time",
		   "HELLO 3 before AUTH");
	expect_err(cmd(c2, "AUTH wrong"), "WRONGPASS invalid username-password pair or user is disabled.",
		   "AUTH with a wrong password");
	expect_status(cmd(c2, "AUTH s3cret"), "OK", "AUTH with the password");
	expect_status(cmd(c2, "PING"), "PONG", "commands work after AUTH");
	redisFree(c2);

	c2 = harness_connect(srv);
	expect_status(cmd(c2, "AUTH default s3cret"), "OK", "AUTH default <password>");
	redisFree(c2);

	c2 = harness_connect(srv);
	r = cmd(c2, "HELLO 2 AUTH default s3cret");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 14,
	      "HELLO 2 AUTH default <password> authenticates");
	if (r)
		freeReplyObject(r);
	expect_status(cmd(c2, "PING"), "PONG", "commands work after HELLO AUTH");
	redisFree(c2);

	raw = raw_connect(srv);
	raw_send_str(raw, "GET x\r\n");
	expect_raw_reply(raw, "-NOAUTH Authentication required.\r\n", "NOAUTH over a raw connection");
	raw_close(raw);

	expect_status(cmd(c, "PING"), "PONG", "an already connected client stays authenticated");
	check(harness_config_set(c, "requirepass", ""), "CONFIG SET requirepass back to empty");
	c2 = harness_connect(srv);
	expect_status(cmd(c2, "PING"), "PONG", "no AUTH needed once requirepass is empty");
	redisFree(c2);
}

static void test_client_id_name(redisContext *c)
{
	redisContext *c2 = harness_connect(srv);
	long long id = client_id(c), id2 = client_id(c2);

	check(id > 0, "CLIENT ID is a positive integer");
	check_int(client_id(c), id, "CLIENT ID is stable on a connection");
	check(id2 > id, "a later connection has a larger CLIENT ID");
	expect_nil(cmd(c2, "CLIENT GETNAME"), "CLIENT GETNAME of an unnamed connection is nil");
	expect_status(cmd(c2, "CLIENT SETNAME worker-1"), "OK", "CLIENT SETNAME");
	expect_str(cmd(c2, "CLIENT GETNAME"), "worker-1", "CLIENT GETNAME returns the name");
	expect_err(cmd(c2, "CLIENT SETNAME %s", "a b"),
		   "ERR Client names cannot contain spaces, newlines or special characters.",
		   "CLIENT SETNAME with a space");
	expect_str(cmd(c2, "CLIENT GETNAME"), "worker-1", "a refused name leaves the old one");
	expect_status(cmd(c2, "CLIENT SETNAME %s", ""), "OK", "CLIENT SETNAME of an empty name");
	expect_nil(cmd(c2, "CLIENT GETNAME"), "an empty name clears it");
	expect_err(cmd(c2, "CLIENT SETNAME"), "ERR wrong number of arguments for 'client|setname' command",
		   "CLIENT SETNAME without a name is an arity error");
	expect_err(cmd(c2, "CLIENT FOO"), "ERR unknown subcommand 'FOO'. Try CLIENT HELP.",
		   "CLIENT with an unknown subcommand");
	skip("Redis 7.2; 7.0.15 has no CLIENT SETINFO", "CLIENT SETINFO lib-name");
	redisFree(c2);
}

static void test_client_list_info(redisContext *c)
{
	static const char *const fields[] = {
		"id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db",
		"sub", "psub", "multi", "qbuf", "qbuf-free", "obl", "oll", "omem",
		"tot-mem", "events", "cmd", "user", "resp"
	};
	long long id = client_id(c);
	char idbuf[32], val[128], *line = NULL;
	redisReply *r;
	bool all = true;

	expect_status(cmd(c, "CLIENT SETNAME lister"), "OK", "name the connection");
	r = cmd(c, "CLIENT LIST");
	check(r && r->type == REDIS_REPLY_STRING, "CLIENT LIST is a bulk string");
	snprintf(idbuf, sizeof(idbuf), "id=%lld ", id);
	if (r && r->type == REDIS_REPLY_STRING) {
		char *p = strstr(r->str, idbuf);

		check(p && (p == r->str || p[-1] == '\n'),
		      "CLIENT LIST has a line starting with our id=");
		check(r->len > 0 && r->str[r->len - 1] == '\n', "CLIENT LIST lines end with a newline");
		if (p)
			line = strndup(p, strcspn(p, "\n"));
	}
	if (r)
		freeReplyObject(r);
	for (size_t i = 0; line && i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!client_field(line, fields[i], val, sizeof(val))) {
			harness_diag("field %s= missing in: %s", fields[i], line);
			all = false;
		}
	}
	check(line && all, "our CLIENT LIST line has the fields id addr laddr fd name age idle "
	      "flags db sub psub multi qbuf qbuf-free obl oll omem tot-mem events cmd user resp");
	check(line && client_field(line, "name", val, sizeof(val)) && strcmp(val, "lister") == 0,
	      "CLIENT LIST shows name=lister");
	check(line && client_field(line, "db", val, sizeof(val)) && strcmp(val, "0") == 0,
	      "CLIENT LIST shows db=0");
	check(line && client_field(line, "cmd", val, sizeof(val)) && strcmp(val, "client|list") == 0,
	      "CLIENT LIST shows cmd=client|list");
	check(line && client_field(line, "resp", val, sizeof(val)) && strcmp(val, "2") == 0,
	      "CLIENT LIST shows resp=2");
	check(line && client_field(line, "addr", val, sizeof(val)) &&
	      strncmp(val, "127.0.0.1:", 10) == 0,
	      "CLIENT LIST shows addr=127.0.0.1:port");
	free(line);

	r = cmd(c, "CLIENT INFO");
	check(r && r->type == REDIS_REPLY_STRING && strncmp(r->str, idbuf, strlen(idbuf)) == 0 &&
	      r->str[r->len - 1] == '\n' && strchr(r->str, '\n') == r->str + r->len - 1,
	      "CLIENT INFO is one line for our connection, starting with id=");
	check(r && r->type == REDIS_REPLY_STRING &&
	      client_field(r->str, "cmd", val, sizeof(val)) && strcmp(val, "client|info") == 0,
	      "CLIENT INFO shows cmd=client|info");
	if (r)
		freeReplyObject(r);
	expect_status(cmd(c, "CLIENT SETNAME %s", ""), "OK", "clear the name");
}

/* The addr= of connection c, as CLIENT INFO reports it. */
static bool client_addr(redisContext *c, char *buf, size_t len)
{
	redisReply *r = cmd(c, "CLIENT INFO");
	bool ok = r && r->type == REDIS_REPLY_STRING &&
		  client_field(r->str, "addr", buf, len);

	if (r)
		freeReplyObject(r);
	return ok;
}

static void test_client_kill(redisContext *c)
{
	redisContext *victim = harness_connect(srv);
	long long vid = client_id(victim);
	char addr[64];
	redisReply *r;

	expect_int(cmd(c, "CLIENT KILL ID %lld", vid), 1, "CLIENT KILL ID of a connection is 1");
	r = cmd(victim, "PING");
	check(r == NULL, "the killed connection is closed");
	if (r)
		freeReplyObject(r);
	redisFree(victim);
	expect_int(cmd(c, "CLIENT KILL ID %lld", vid), 0, "CLIENT KILL ID of a gone connection is 0");
	expect_err(cmd(c, "CLIENT KILL ID abc"), "ERR client-id should be greater than 0",
		   "CLIENT KILL ID abc");

	victim = harness_connect(srv);
	check(client_addr(victim, addr, sizeof(addr)), "CLIENT INFO gives the victim's addr");
	expect_int(cmd(c, "CLIENT KILL ADDR %s", addr), 1, "CLIENT KILL ADDR of a connection is 1");
	r = cmd(victim, "PING");
	check(r == NULL, "the connection killed by ADDR is closed");
	if (r)
		freeReplyObject(r);
	redisFree(victim);
	expect_int(cmd(c, "CLIENT KILL ADDR 1.2.3.4:5"), 0, "CLIENT KILL ADDR of nobody is 0");

	victim = harness_connect(srv);
	check(client_addr(victim, addr, sizeof(addr)), "CLIENT INFO gives the victim's addr");
	expect_status(cmd(c, "CLIENT KILL %s", addr), "OK", "old-style CLIENT KILL addr is +OK");
	r = cmd(victim, "PING");
	check(r == NULL, "the connection killed old-style is closed");
	if (r)
		freeReplyObject(r);
	redisFree(victim);
	expect_err(cmd(c, "CLIENT KILL 1.2.3.4:5"), "ERR No such client",
		   "old-style CLIENT KILL of nobody");
	expect_status(cmd(c, "PING"), "PONG", "the killer is still connected");
}

static void test_client_no_evict_reply(redisContext *c)
{
	struct harness_raw *raw;

	expect_status(cmd(c, "CLIENT NO-EVICT on"), "OK", "CLIENT NO-EVICT on");
	expect_status(cmd(c, "CLIENT NO-EVICT off"), "OK", "CLIENT NO-EVICT off");
	expect_err(cmd(c, "CLIENT NO-EVICT maybe"), ERR_SYNTAX, "CLIENT NO-EVICT maybe");
	expect_err(cmd(c, "CLIENT REPLY maybe"), ERR_SYNTAX, "CLIENT REPLY maybe");

	raw = raw_connect(srv);
	raw_send_str(raw, "CLIENT REPLY OFF\r\nSET srv:rep 1\r\nGET srv:rep\r\n"
		     "CLIENT REPLY ON\r\nGET srv:rep\r\n");
	expect_raw_reply(raw, "+OK\r\n", "after CLIENT REPLY OFF nothing comes until CLIENT REPLY ON's +OK");
	expect_raw_reply(raw, "$1\r\n1\r\n", "then replies come again");
	raw_send_str(raw, "CLIENT REPLY SKIP\r\nSET srv:rep 2\r\nGET srv:rep\r\n");
	expect_raw_reply(raw, "$1\r\n2\r\n", "CLIENT REPLY SKIP drops its own and the next reply only");
	raw_close(raw);
}

/* The whole INFO text, or NULL. */
static char *info_text(redisContext *c, const char *section)
{
	redisReply *r = section ? cmd(c, "INFO %s", section) : cmd(c, "INFO");
	char *s = NULL;

	if (r && r->type == REDIS_REPLY_STRING)
		s = strdup(r->str);
	if (r)
		freeReplyObject(r);
	return s;
}

static void test_info(redisContext *c)
{
	static const char *const sections[] = {
		"# Server\r\n", "# Clients\r\n", "# Memory\r\n", "# Stats\r\n", "# Keyspace\r\n"
	};
	char *all = info_text(c, NULL), *s, buf[128];
	long long hits, misses;
	bool found = true;

	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!all || !strstr(all, sections[i]))
			found = false;
	check(found, "INFO has the Server, Clients, Memory, Stats and Keyspace sections");
	check(all && strncmp(all, "# Server\r\n", 10) == 0, "INFO starts with # Server");
	check(all && !strstr(all, "# Commandstats"), "INFO without arguments leaves out commandstats");
	free(all);

	s = info_text(c, "server");
	check(s && strncmp(s, "# Server\r\n", 10) == 0 && !strstr(s, "# Clients"),
	      "INFO server has only the Server section");
	free(s);
	check(harness_info_field(c, "server", "redis_version", buf, sizeof(buf)) && buf[0],
	      "INFO server has redis_version (exporters read it)");
	check_int(harness_info_int(c, "server", "tcp_port"), srv->port, "INFO server tcp_port");
	check(harness_info_int(c, "server", "uptime_in_seconds") >= 0, "INFO server uptime_in_seconds");
	check(harness_info_int(c, "server", "process_id") > 0, "INFO server process_id");
	check(harness_info_int(c, "clients", "connected_clients") >= 1,
	      "INFO clients connected_clients counts us");
	check(harness_info_int(c, "memory", "used_memory") > 0, "INFO memory used_memory");
	check(harness_info_int(c, "memory", "maxmemory") >= 0, "INFO memory maxmemory");
	check(harness_info_field(c, "memory", "maxmemory_policy", buf, sizeof(buf)) && buf[0],
	      "INFO memory maxmemory_policy");
	check(harness_info_int(c, "stats", "total_commands_processed") > 0,
	      "INFO stats total_commands_processed");
	check(harness_info_int(c, "stats", "total_connections_received") > 0,
	      "INFO stats total_connections_received");
	check(harness_info_int(c, "stats", "expired_keys") >= 0, "INFO stats expired_keys");
	check(harness_info_int(c, "stats", "evicted_keys") >= 0, "INFO stats evicted_keys");

	run(c, "FLUSHALL");
	expect_status(cmd(c, "SET srv:i1 v"), "OK", "SET a key");
	expect_status(cmd(c, "SET srv:i2 v EX 100"), "OK", "SET a volatile key");
	check(harness_info_field(c, "keyspace", "db0", buf, sizeof(buf)) &&
	      strncmp(buf, "keys=2,expires=1,avg_ttl=", 25) == 0,
	      "INFO keyspace db0:keys=2,expires=1,avg_ttl=...");
	check(!harness_info_field(c, "keyspace", "db1", buf, sizeof(buf)),
	      "INFO keyspace leaves out empty databases");

	hits = harness_info_int(c, "stats", "keyspace_hits");
	misses = harness_info_int(c, "stats", "keyspace_misses");
	expect_str(cmd(c, "GET srv:i1"), "v", "GET a key that exists");
	expect_nil(cmd(c, "GET srv:nope"), "GET a key that does not");
	check_int(harness_info_int(c, "stats", "keyspace_hits"), hits + 1, "keyspace_hits counted the hit");
	check_int(harness_info_int(c, "stats", "keyspace_misses"), misses + 1,
		  "keyspace_misses counted the miss");

	s = info_text(c, "commandstats");
	check(s && strncmp(s, "# Commandstats\r\n", 16) == 0, "INFO commandstats has its header");
	check(s && strstr(s, "\r\ncmdstat_get:calls="), "INFO commandstats has a cmdstat_get line");
	check(s && strstr(s, "\r\ncmdstat_set:calls="), "INFO commandstats has a cmdstat_set line");
	free(s);
	check(harness_info_field(c, "commandstats", "cmdstat_get", buf, sizeof(buf)) &&
	      strncmp(buf, "calls=", 6) == 0 && strstr(buf, ",usec=") && strstr(buf, ",usec_per_call="),
	      "cmdstat_get is calls=N,usec=N,usec_per_call=F,...");
	expect_status(cmd(c, "CONFIG RESETSTAT"), "OK", "CONFIG RESETSTAT");
	check_int(harness_info_int(c, "stats", "keyspace_hits"), 0, "CONFIG RESETSTAT zeroes keyspace_hits");
	expect_str(cmd(c, "INFO nosuchsection"), "", "INFO of an unknown section is empty");
	run(c, "FLUSHALL");
}

/* INFO errorstats and latencystats, as Redis 7.0 shows them. */
static void test_info_error_and_latency_stats(redisContext *c)
{
	char buf[256], *s;

	expect_status(cmd(c, "CONFIG RESETSTAT"), "OK", "CONFIG RESETSTAT");
	s = info_text(c, NULL);
	check(s && strstr(s, "\r\n# Errorstats\r\n"), "INFO without arguments has # Errorstats");
	free(s);
	check(!harness_info_field(c, "errorstats", "errorstat_ERR", buf, sizeof(buf)),
	      "no errorstat_ERR after CONFIG RESETSTAT");
	expect_err(cmd(c, "NOSUCHCOMMAND"),
		   "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: ",
		   "an unknown command");
	expect_status(cmd(c, "SET srv:e v"), "OK", "SET a string");
	expect_err(cmd(c, "LPUSH srv:e x"),
		   "WRONGTYPE Operation against a key holding the wrong kind of value", "LPUSH on it");
	expect_err(cmd(c, "LPUSH srv:e"), "ERR wrong number of arguments for 'lpush' command",
		   "LPUSH without a value");
	check(harness_info_field(c, "errorstats", "errorstat_ERR", buf, sizeof(buf)) &&
	      !strcmp(buf, "count=2"), "errorstat_ERR:count=2 (got %s)", buf);
	check(harness_info_field(c, "errorstats", "errorstat_WRONGTYPE", buf, sizeof(buf)) &&
	      !strcmp(buf, "count=1"), "errorstat_WRONGTYPE:count=1 (got %s)", buf);
	check_int(harness_info_int(c, "stats", "total_error_replies"), 3, "total_error_replies");
	check(harness_info_field(c, "commandstats", "cmdstat_lpush", buf, sizeof(buf)) &&
	      strstr(buf, ",rejected_calls=1,failed_calls=1"),
	      "cmdstat_lpush counts the arity error as rejected, WRONGTYPE as failed (got %s)", buf);

	check(harness_info_field(c, "latencystats", "latency_percentiles_usec_set", buf, sizeof(buf)) &&
	      !strncmp(buf, "p50=", 4) && strstr(buf, ",p99=") && strstr(buf, ",p99.9="),
	      "latency_percentiles_usec_set:p50=...,p99=...,p99.9=... (got %s)", buf);
	check(harness_config_set(c, "latency-tracking-info-percentiles", "0 100"),
	      "CONFIG SET latency-tracking-info-percentiles 0 100");
	check(harness_info_field(c, "latencystats", "latency_percentiles_usec_set", buf, sizeof(buf)) &&
	      !strncmp(buf, "p0=", 3) && strstr(buf, ",p100="),
	      "the percentiles shown follow the setting (got %s)", buf);
	check(harness_config_set(c, "latency-tracking-info-percentiles", "50 99 99.9"), "put it back");
	s = info_text(c, NULL);
	check(s && !strstr(s, "# Latencystats"), "INFO without arguments leaves out latencystats");
	free(s);
	run(c, "DEL srv:e");
	expect_status(cmd(c, "CONFIG RESETSTAT"), "OK", "CONFIG RESETSTAT");
	check(!harness_info_field(c, "latencystats", "latency_percentiles_usec_set", buf, sizeof(buf)),
	      "CONFIG RESETSTAT drops the histograms");
}

/* Whether array a holds a status or string equal to s. */
static bool array_has(const redisReply *a, const char *s)
{
	if (!a || a->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i < a->elements; i++) {
		const redisReply *e = a->element[i];

		if ((e->type == REDIS_REPLY_STATUS || e->type == REDIS_REPLY_STRING) &&
		    strcmp(e->str, s) == 0)
			return true;
	}
	return false;
}

/* Checks one COMMAND INFO entry: name, arity, two flags, key positions. */
static void check_command_info(redisContext *c, const char *name, long long arity,
			       const char *flag1, const char *flag2,
			       long long first, long long last, long long step)
{
	redisReply *r = cmd(c, "COMMAND INFO %s", name);
	const redisReply *e = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 ?
			      r->element[0] : NULL;
	bool shape = e && e->type == REDIS_REPLY_ARRAY && e->elements == 10;

	check(shape, "COMMAND INFO %s is one 10-element entry", name);
	if (shape) {
		check(e->element[0]->type == REDIS_REPLY_STRING && strcmp(e->element[0]->str, name) == 0,
		      "COMMAND INFO %s: name is '%s'", name, name);
		check(e->element[1]->type == REDIS_REPLY_INTEGER && e->element[1]->integer == arity,
		      "COMMAND INFO %s: arity is %lld", name, arity);
		check(array_has(e->element[2], flag1) && array_has(e->element[2], flag2),
		      "COMMAND INFO %s: flags include %s and %s", name, flag1, flag2);
		check(e->element[3]->type == REDIS_REPLY_INTEGER && e->element[3]->integer == first &&
		      e->element[4]->type == REDIS_REPLY_INTEGER && e->element[4]->integer == last &&
		      e->element[5]->type == REDIS_REPLY_INTEGER && e->element[5]->integer == step,
		      "COMMAND INFO %s: first/last/step keys are %lld/%lld/%lld", name, first, last, step);
		check(e->element[6]->type == REDIS_REPLY_ARRAY && e->element[6]->elements > 0,
		      "COMMAND INFO %s: ACL categories are listed", name);
	}
	if (r)
		freeReplyObject(r);
}

static void test_command(redisContext *c)
{
	redisReply *r;
	bool found = false;

	expect_int_range(cmd(c, "COMMAND COUNT"), 1, 100000, "COMMAND COUNT is positive");
	check_command_info(c, "get", 2, "readonly", "fast", 1, 1, 1);
	check_command_info(c, "set", -3, "write", "denyoom", 1, 1, 1);
	check_command_info(c, "mset", -3, "write", "denyoom", 1, -1, 2);
	check_command_info(c, "ping", -1, "fast", "fast", 0, 0, 0);
	expect_reply(cmd(c, "COMMAND INFO nosuch"), "[(nil)]", "COMMAND INFO of an unknown command is nil");
	r = cmd(c, "COMMAND INFO get set");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2, "COMMAND INFO of two commands");
	if (r)
		freeReplyObject(r);

	r = cmd(c, "COMMAND DOCS get");
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "get") == 0 &&
	    r->element[1]->type == REDIS_REPLY_ARRAY) {
		const redisReply *doc = r->element[1];

		for (size_t i = 0; i + 1 < doc->elements; i += 2)
			if (doc->element[i]->type == REDIS_REPLY_STRING &&
			    strcmp(doc->element[i]->str, "summary") == 0 &&
			    doc->element[i + 1]->type == REDIS_REPLY_STRING &&
			    doc->element[i + 1]->len > 0)
				found = true;
	}
	check(found, "COMMAND DOCS get is ['get', [..., 'summary', <text>, ...]]");
	if (r)
		freeReplyObject(r);

	expect_array_of_str(cmd(c, "COMMAND GETKEYS MSET a 1 b 2"), STRS("a", "b"),
			    "COMMAND GETKEYS MSET");
	expect_array_of_str(cmd(c, "COMMAND GETKEYS SET k v EX 10"), STRS("k"), "COMMAND GETKEYS SET");
	expect_array_of_str(cmd(c, "COMMAND GETKEYS DEL x y z"), STRS("x", "y", "z"),
			    "COMMAND GETKEYS DEL");
	expect_err(cmd(c, "COMMAND GETKEYS PING x"), "ERR The command has no key arguments",
		   "COMMAND GETKEYS of a keyless command");
	expect_err(cmd(c, "COMMAND GETKEYS nosuch a"), "ERR Invalid command specified",
		   "COMMAND GETKEYS of an unknown command");
	expect_err(cmd(c, "COMMAND GETKEYS GET a b"), "ERR Invalid number of arguments specified for command",
		   "COMMAND GETKEYS with the wrong arity");
	expect_err(cmd(c, "COMMAND GETKEYS GET"), "ERR wrong number of arguments for 'command|getkeys' command",
		   "COMMAND GETKEYS with too few arguments is an arity error");
	r = cmd(c, "COMMAND");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements > 10,
	      "COMMAND lists every command");
	if (r)
		freeReplyObject(r);
}

static void test_time_dbsize_memory_lastsave(redisContext *c)
{
	long long now = harness_unix_ms() / 1000;
	redisReply *r = cmd(c, "TIME");

	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	      r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING,
	      "TIME is two bulk strings");
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING) {
		check_int_range(atoll(r->element[0]->str), now - 5, now + 5, "TIME seconds are the wall clock");
		check_int_range(atoll(r->element[1]->str), 0, 999999, "TIME microseconds are below 10^6");
	}
	if (r)
		freeReplyObject(r);

	run(c, "FLUSHALL");
	expect_int(cmd(c, "DBSIZE"), 0, "DBSIZE of an empty server");
	expect_status(cmd(c, "SET srv:m hello"), "OK", "SET a key");
	expect_int(cmd(c, "DBSIZE"), 1, "DBSIZE counts it");
	expect_int_range(cmd(c, "MEMORY USAGE srv:m"), 1, 1000, "MEMORY USAGE of a small key");
	expect_nil(cmd(c, "MEMORY USAGE srv:missing"), "MEMORY USAGE of a missing key is nil");
	expect_err(cmd(c, "MEMORY USAGE"), "ERR wrong number of arguments for 'memory|usage' command",
		   "MEMORY USAGE without a key");
	expect_int_range(cmd(c, "LASTSAVE"), 0, now + 5, "LASTSAVE is a Unix time");
	run(c, "FLUSHALL");
}

/* A loopback TCP port no socket uses now (bind to port 0, then close). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* CONFIG SET port and bind at run time, as Redis 7.0 does them: the server
 * listens anew, or answers an error and keeps listening where it was. */
static void test_config_set_listeners(redisContext *c)
{
	struct harness_server moved = *srv;
	int port = free_port(), busy;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	redisContext *c2;
	char portstr[16];

	if (srv->external) {
		harness_diag("CONFIG SET port skipped: external server");
		return;
	}
	snprintf(portstr, sizeof(portstr), "%d", port);
	check(port > 0 && harness_config_set(c, "port", portstr), "CONFIG SET port %d", port);
	moved.port = port;
	c2 = harness_try_connect(&moved);
	check(c2 != NULL, "a client connects on the new port");
	if (c2) {
		expect_status(cmd(c2, "PING"), "PONG", "and is served");
		redisFree(c2);
	}
	expect_status(cmd(c, "PING"), "PONG", "a client connected before stays");
	check_int(harness_info_int(c, "server", "tcp_port"), port, "INFO server tcp_port follows");

	/* A port some other socket listens on, without SO_REUSEPORT. */
	busy = socket(AF_INET, SOCK_STREAM, 0);
	if (busy >= 0 && bind(busy, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(busy, 1) == 0 &&
	    getsockname(busy, (struct sockaddr *)&a, &len) == 0) {
		snprintf(portstr, sizeof(portstr), "%d", ntohs(a.sin_port));
		expect_err(cmd(c, "CONFIG SET port %s", portstr),
			   "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen "
			   "on this port. Check server logs.", "CONFIG SET port of a port in use");
	}
	if (busy >= 0)
		close(busy);
	expect_err(cmd(c, "CONFIG SET bind 999.999.999.999"),
		   "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to "
		   "specified addresses.", "CONFIG SET bind of an address that does not parse");
	c2 = harness_try_connect(&moved);
	check(c2 != NULL, "the server still listens on the port it had");
	if (c2)
		redisFree(c2);

	snprintf(portstr, sizeof(portstr), "%d", srv->port);
	check(harness_config_set(c, "port", portstr), "CONFIG SET port back to %d", srv->port);
	c2 = harness_try_connect(srv);
	check(c2 != NULL, "a client connects on the first port again");
	if (c2)
		redisFree(c2);
}

static void test_config(redisContext *c)
{
	char *samples = harness_config_get(c, "maxmemory-samples");
	char *maxmem = harness_config_get(c, "maxmemory");
	redisReply *r = cmd(c, "CONFIG GET maxmemory*");
	bool pairs = r && r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 0 && r->elements >= 4;
	bool has_max = false, has_policy = false, all_match = pairs;

	for (size_t i = 0; pairs && i < r->elements; i += 2) {
		const char *k = r->element[i]->str;

		all_match = all_match && r->element[i]->type == REDIS_REPLY_STRING &&
			    strncmp(k, "maxmemory", 9) == 0;
		has_max = has_max || strcmp(k, "maxmemory") == 0;
		has_policy = has_policy || strcmp(k, "maxmemory-policy") == 0;
	}
	check(pairs && all_match, "CONFIG GET maxmemory* is name-value pairs matching the glob");
	check(has_max && has_policy, "CONFIG GET maxmemory* includes maxmemory and maxmemory-policy");
	if (r)
		freeReplyObject(r);
	expect_empty_array(cmd(c, "CONFIG GET nosuchparameter"), "CONFIG GET of an unknown name is empty");

	expect_status(cmd(c, "CONFIG SET maxmemory-samples 7"), "OK", "CONFIG SET maxmemory-samples 7");
	expect_array_of_str(cmd(c, "CONFIG GET maxmemory-samples"), STRS("maxmemory-samples", "7"),
			    "CONFIG GET returns the value set");
	expect_status(cmd(c, "CONFIG SET maxmemory 10mb"), "OK", "CONFIG SET maxmemory 10mb");
	expect_array_of_str(cmd(c, "CONFIG GET maxmemory"), STRS("maxmemory", "10485760"),
			    "CONFIG GET maxmemory gives bytes");
	expect_status(cmd(c, "CONFIG SET maxmemory-samples 6 maxmemory 1mb"), "OK",
		      "CONFIG SET of two parameters at once");
	/* 7.0 answers in its own order, not in the order asked. */
	expect_set_of_str(cmd(c, "CONFIG GET maxmemory maxmemory-samples"),
			  STRS("maxmemory", "1048576", "maxmemory-samples", "6"),
			  "CONFIG GET of two parameters gives both pairs");
	expect_err(cmd(c, "CONFIG SET nosuch 1"),
		   "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
		   "CONFIG SET of an unknown parameter");
	expect_err(cmd(c, "CONFIG SET maxmemory abc"),
		   "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
		   "argument must be a memory value",
		   "CONFIG SET maxmemory abc");
	expect_err(cmd(c, "CONFIG SET maxmemory-policy foo"),
		   "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "
		   "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
		   "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
		   "CONFIG SET maxmemory-policy foo");
	expect_status(cmd(c, "CONFIG SET maxmemory-samples %s", samples ? samples : "5"), "OK",
		      "restore maxmemory-samples");
	expect_status(cmd(c, "CONFIG SET maxmemory %s", maxmem ? maxmem : "0"), "OK",
		      "restore maxmemory");
	free(samples);
	free(maxmem);
}

static void test_errors(redisContext *c)
{
	expect_err(cmd(c, "foo a b"), "ERR unknown command 'foo', with args beginning with: 'a' 'b' ",
		   "an unknown command names itself and its arguments");
	expect_err(cmd(c, "FOO"), "ERR unknown command 'FOO', with args beginning with: ",
		   "an unknown command without arguments keeps its case");
	expect_err(cmd(c, "GET"), "ERR wrong number of arguments for 'get' command",
		   "the arity error names the command in lower case");
	expect_err(cmd(c, "get a b"), "ERR wrong number of arguments for 'get' command",
		   "too many arguments is the same arity error");
	expect_err(cmd(c, "DBSIZE x"), "ERR wrong number of arguments for 'dbsize' command",
		   "arity error of a fixed-arity command");
	expect_status(cmd(c, "PING"), "PONG", "the connection survives errors");
}

static void test_quit_reset(redisContext *c)
{
	struct harness_raw *raw = raw_connect(srv);
	redisContext *c2 = harness_connect(srv);
	redisReply *r;

	raw_send_str(raw, "QUIT\r\n");
	expect_raw_reply(raw, "+OK\r\n", "QUIT answers +OK");
	expect_raw_closed(raw, 2000, "then the server closes the connection");
	raw_close(raw);

	run(c, "FLUSHALL");
	expect_status(cmd(c2, "SET srv:db0 zero"), "OK", "SET in db 0");
	expect_status(cmd(c2, "CLIENT SETNAME before-reset"), "OK", "name the connection");
	expect_status(cmd(c2, "SELECT 3"), "OK", "SELECT 3");
	expect_status(cmd(c2, "RESET"), "RESET", "RESET answers +RESET");
	expect_nil(cmd(c2, "CLIENT GETNAME"), "RESET cleared the name");
	expect_str(cmd(c2, "GET srv:db0"), "zero", "RESET went back to db 0");
	r = cmd(c2, "PING");
	check(r && r->type == REDIS_REPLY_STATUS, "the connection stays open after RESET");
	if (r)
		freeReplyObject(r);
	redisFree(c2);

	raw = raw_connect(srv);
	raw_send_str(raw, "HELLO 3\r\n");
	free(raw_read_reply(raw, 5000, NULL));
	raw_send_str(raw, "RESET\r\nGET srv:missing\r\n");
	expect_raw_reply(raw, "+RESET\r\n", "RESET in RESP3");
	expect_raw_reply(raw, "$-1\r\n", "RESET went back to RESP2");
	raw_close(raw);
	run(c, "FLUSHALL");
}

/* SHUTDOWN needs a server of our own. */
static void test_shutdown(void)
{
	struct harness_server *own;
	redisContext *c;
	redisReply *r;

	if (srv->external) {
		skip("external server", "SHUTDOWN NOSAVE stops the server");
		return;
	}
	own = harness_server_start();
	c = harness_connect(own);
	r = cmd(c, "SHUTDOWN NOSAVE");
	check(r == NULL, "SHUTDOWN NOSAVE closes the connection without a reply");
	if (r)
		freeReplyObject(r);
	redisFree(c);
	check(harness_server_wait_exit(own, 5000), "SHUTDOWN NOSAVE ends the process within 5 s");
	harness_server_stop(own);
}

int main(void)
{
	char server[128], version[128];
	redisContext *c;

	harness_init("test_server: connection and server commands");
	srv = harness_server_start();
	c = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");

	test_ping_echo(c);
	test_hello_resp2(c, server, version, sizeof(server));
	test_hello_resp3(server, version);
	test_auth(c);
	test_client_id_name(c);
	test_client_list_info(c);
	test_client_kill(c);
	test_client_no_evict_reply(c);
	test_info(c);
	test_info_error_and_latency_stats(c);
	test_command(c);
	test_time_dbsize_memory_lastsave(c);
	test_config(c);
	test_config_set_listeners(c);
	test_errors(c);
	test_quit_reset(c);
	test_shutdown();

	redisFree(c);
	harness_server_stop(srv);
	return harness_done();
}
