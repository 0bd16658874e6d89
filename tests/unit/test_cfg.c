/*
 * test_cfg.c - the configuration table: defaults, redis.conf parsing, the
 * command line, CONFIG SET / CONFIG GET and their Redis 7.0 error texts.
 *
 * Every error string below was checked against redis-server 7.0.15.
 * Run from the repository root (the shipped conf/strata.conf is loaded).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "cfg.h"
#include "log.h"
#include "mem.h"

static char tmpdir[] = "/tmp/test_cfg.XXXXXX";

static int setup(void **state)
{
	(void)state;
	cfg_init_defaults();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cfg_free();
	log_open(NULL);
	return 0;
}

/* Writes text to tmpdir/name and returns the path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void assert_get(const char *name, const char *want)
{
	char buf[256];

	assert_true(cfg_get_one(name, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

static void assert_load_error(const char *text, const char *want)
{
	char *err = NULL;

	assert_int_equal(cfg_load_string(text, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, want);
	mem_free(err);
}

static void assert_set_error(const char *name, const char *value, const char *want)
{
	char *err = NULL;

	assert_int_equal(cfg_set(name, value, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, want);
	mem_free(err);
}

static void load_ok(const char *text)
{
	char *err = NULL;
	int rc = cfg_load_string(text, &err);

	if (rc != 0)
		fail_msg("load failed: %s", err);
}

static void set_ok(const char *name, const char *value)
{
	char *err = NULL;

	if (cfg_set(name, value, &err) != 0)
		fail_msg("CONFIG SET %s failed: %s", name, err);
}

/* ---- defaults ---- */

static void test_defaults_network(void **state)
{
	(void)state;
	assert_string_equal(cfg.bind, "127.0.0.1 -::1");
	assert_int_equal(cfg.port, 6379);
	assert_int_equal(cfg.tcp_backlog, 511);
	assert_int_equal(cfg.tcp_keepalive, 300);
	assert_int_equal(cfg.timeout, 0);
	assert_int_equal(cfg.maxclients, 10000);
	assert_true(cfg.protected_mode);
}

static void test_defaults_general(void **state)
{
	(void)state;
	assert_int_equal(cfg.shards, 0);
	assert_int_equal(cfg.io_uring_entries, 1024);
	assert_int_equal(cfg.databases, 16);
	assert_string_equal(cfg.dir, "./");
	assert_string_equal(cfg.logfile, "");
	assert_int_equal(cfg.loglevel, LOG_NOTICE);
	assert_string_equal(cfg.pidfile, "");
	assert_int_equal(cfg.hz, 10);
	assert_int_equal(cfg.active_expire_effort, 1);
	assert_string_equal(cfg.requirepass, "");
}

static void test_defaults_limits(void **state)
{
	(void)state;
	assert_int_equal(cfg.proto_max_bulk_len, 512LL * 1024 * 1024);
	assert_int_equal(cfg.client_query_buffer_limit, 1024LL * 1024 * 1024);
	assert_int_equal(cfg.maxmemory, 0);
	assert_int_equal(cfg.maxmemory_policy, MAXMEM_NOEVICTION);
	assert_int_equal(cfg.maxmemory_samples, 5);
	assert_int_equal(cfg.lfu_log_factor, 10);
	assert_int_equal(cfg.lfu_decay_time, 1);
	assert_int_equal(cfg.lazyfree_lazy_user_del, 0);
}

static void test_defaults_blob(void **state)
{
	(void)state;
	assert_int_equal(cfg.blob_threshold, 64 * 1024);
	assert_int_equal(cfg.blob_block_size, 4096);
	assert_int_equal(cfg.blob_fsync, BLOB_FSYNC_EVERYSEC);
	assert_int_equal(cfg.blob_max_bytes, 0);
}

static void test_defaults_compat(void **state)
{
	(void)state;
	assert_string_equal(cfg.save, "");
	assert_false(cfg.appendonly);
	assert_false(cfg.daemonize);
	assert_true(cfg.set_proc_title);
	assert_false(cfg.lazyfree_lazy_expire);
	assert_false(cfg.lazyfree_lazy_eviction);
	assert_false(cfg.lazyfree_lazy_server_del);
	assert_true(cfg.latency_tracking);
}

static void test_defaults_set_log_level(void **state)
{
	(void)state;
	log_min_level = LOG_DEBUG;
	cfg_init_defaults();
	assert_int_equal(log_min_level, LOG_NOTICE);
}

/* ---- rendering ---- */

static void test_get_renders_bool_as_yes_no(void **state)
{
	(void)state;
	assert_get("protected-mode", "yes");
	assert_get("appendonly", "no");
}

static void test_get_renders_memory_as_bytes(void **state)
{
	(void)state;
	assert_get("proto-max-bulk-len", "536870912");
	assert_get("blob-threshold", "65536");
	assert_get("maxmemory", "0");
}

static void test_get_renders_enum_by_name(void **state)
{
	(void)state;
	assert_get("maxmemory-policy", "noeviction");
	assert_get("loglevel", "notice");
	assert_get("blob-fsync", "everysec");
}

static void test_get_renders_string_as_is(void **state)
{
	(void)state;
	assert_get("bind", "127.0.0.1 -::1");
	assert_get("dir", "./");
	assert_get("requirepass", "");
}

static void test_get_one_unknown_is_false(void **state)
{
	char buf[16] = "untouched";

	(void)state;
	assert_false(cfg_get_one("no-such-option", buf, sizeof(buf)));
	assert_string_equal(buf, "untouched");
}

static void test_get_one_name_is_case_insensitive(void **state)
{
	(void)state;
	assert_get("MaxClients", "10000");
}

/* ---- file and text parsing ---- */

static void test_load_skips_comments_and_blank_lines(void **state)
{
	(void)state;
	load_ok("# a comment\n\n   \n\t# indented comment\nport 7001\n\n");
	assert_int_equal(cfg.port, 7001);
}

static void test_load_accepts_crlf_and_surrounding_blanks(void **state)
{
	(void)state;
	load_ok("  timeout 5  \r\nhz 20\r\n");
	assert_int_equal(cfg.timeout, 5);
	assert_int_equal(cfg.hz, 20);
}

static void test_load_names_are_case_insensitive(void **state)
{
	(void)state;
	load_ok("MAXCLIENTS 77\nMaxMemory-Policy ALLKEYS-LRU\n");
	assert_int_equal(cfg.maxclients, 77);
	assert_int_equal(cfg.maxmemory_policy, MAXMEM_ALLKEYS_LRU);
}

static void test_load_double_quotes_with_escapes(void **state)
{
	(void)state;
	load_ok("requirepass \"a b\\t\\\"c\\x41\\\\\"\n");
	assert_string_equal(cfg.requirepass, "a b\t\"cA\\");
}

static void test_load_single_quotes(void **state)
{
	(void)state;
	load_ok("requirepass 'it\\'s \"x\"'\n");
	assert_string_equal(cfg.requirepass, "it's \"x\"");
}

static void test_load_empty_quoted_string(void **state)
{
	(void)state;
	load_ok("requirepass secret\nrequirepass \"\"\n");
	assert_string_equal(cfg.requirepass, "");
}

static void test_load_memory_units(void **state)
{
	(void)state;
	load_ok("maxmemory 1k\nblob-max-bytes 1kb\n");
	assert_int_equal(cfg.maxmemory, 1000);
	assert_int_equal(cfg.blob_max_bytes, 1024);
	load_ok("maxmemory 3m\nblob-max-bytes 3mb\n");
	assert_int_equal(cfg.maxmemory, 3000000);
	assert_int_equal(cfg.blob_max_bytes, 3 * 1024 * 1024);
	load_ok("maxmemory 2g\nblob-max-bytes 2gb\n");
	assert_int_equal(cfg.maxmemory, 2000000000LL);
	assert_int_equal(cfg.blob_max_bytes, 2LL * 1024 * 1024 * 1024);
	load_ok("maxmemory 5GB\nblob-max-bytes 7B\n");
	assert_int_equal(cfg.maxmemory, 5LL * 1024 * 1024 * 1024);
	assert_int_equal(cfg.blob_max_bytes, 7);
}

static void test_load_bind_takes_several_addresses(void **state)
{
	(void)state;
	load_ok("bind 10.0.0.1   192.168.1.2 -::1\n");
	assert_string_equal(cfg.bind, "10.0.0.1 192.168.1.2 -::1");
}

static void test_load_later_line_overrides(void **state)
{
	(void)state;
	load_ok("port 7000\nbind 10.0.0.1 10.0.0.2\nport 7001\nbind 10.0.0.3\n");
	assert_int_equal(cfg.port, 7001);
	assert_string_equal(cfg.bind, "10.0.0.3");
}

static void test_load_save_lines_add_up(void **state)
{
	(void)state;
	load_ok("save 3600 1\nsave 300   100\n");
	assert_string_equal(cfg.save, "3600 1 300 100");
}

static void test_load_save_empty_clears(void **state)
{
	(void)state;
	load_ok("save 3600 1\nsave \"\"\n");
	assert_string_equal(cfg.save, "");
}

static void test_load_save_replaces_previous_load(void **state)
{
	(void)state;
	load_ok("save 3600 1\n");
	load_ok("save 60 5\n");
	assert_string_equal(cfg.save, "60 5");
}

static void test_load_hz_is_clamped(void **state)
{
	(void)state;
	load_ok("hz 1000\n");
	assert_int_equal(cfg.hz, 500);
	load_ok("hz 0\n");
	assert_int_equal(cfg.hz, 1);
}

static void test_load_loglevel_applies(void **state)
{
	(void)state;
	load_ok("loglevel warning\n");
	assert_int_equal(cfg.loglevel, LOG_WARNING);
	assert_int_equal(log_min_level, LOG_WARNING);
}

static void test_load_file_reads_a_file(void **state)
{
	char *err = NULL;
	const char *path = write_file("plain.conf", "port 7100\nmaxmemory 2mb\n");

	(void)state;
	assert_int_equal(cfg_load_file(path, &err), 0);
	assert_int_equal(cfg.port, 7100);
	assert_int_equal(cfg.maxmemory, 2 * 1024 * 1024);
}

static void test_load_file_without_trailing_newline(void **state)
{
	char *err = NULL;
	const char *path = write_file("nonl.conf", "port 7101");

	(void)state;
	assert_int_equal(cfg_load_file(path, &err), 0);
	assert_int_equal(cfg.port, 7101);
}

static void test_load_include_reads_file_in_place(void **state)
{
	char text[512];
	char *inc = strdup(write_file("inc.conf", "port 7200\ntimeout 9\n"));

	(void)state;
	snprintf(text, sizeof(text), "port 7000\ninclude %s\ntimeout 3\n", inc);
	load_ok(text);
	assert_int_equal(cfg.port, 7200);	/* the include came later */
	assert_int_equal(cfg.timeout, 3);	/* the line after it came later still */
	free(inc);
}

static void test_load_include_error_names_the_file(void **state)
{
	char text[512], want[512];
	char *inc = strdup(write_file("bad-inc.conf", "# x\nport nope\n"));

	(void)state;
	snprintf(text, sizeof(text), "include %s\n", inc);
	snprintf(want, sizeof(want),
		 "line 2 (%s): >>> 'port nope': argument couldn't be parsed into an integer", inc);
	assert_load_error(text, want);
	free(inc);
}

static void test_load_include_loop_is_refused(void **state)
{
	char text[512], path[256], want[1024];
	char *err = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/loop.conf", tmpdir);
	snprintf(text, sizeof(text), "include %s\n", path);
	write_file("loop.conf", text);
	assert_int_equal(cfg_load_string(text, &err), -1);
	snprintf(want, sizeof(want), "line 1 (%s): >>> 'include %s': include nesting deeper than 16",
		 path, path);
	assert_string_equal(err, want);
	mem_free(err);
}

static void test_load_include_missing_file(void **state)
{
	(void)state;
	assert_load_error("port 7000\ninclude /nonexistent/strata.conf\n",
			  "line 2: >>> 'include /nonexistent/strata.conf': can't open config file "
			  "'/nonexistent/strata.conf': No such file or directory");
}

static void test_load_file_missing(void **state)
{
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_load_file("/nonexistent/strata.conf", &err), -1);
	assert_string_equal(err, "can't open config file '/nonexistent/strata.conf': "
			    "No such file or directory");
	mem_free(err);
}

static void test_load_error_unknown_directive(void **state)
{
	(void)state;
	assert_load_error("# c\nfoo bar\n",
			  "line 2: >>> 'foo bar': Bad directive or wrong number of arguments");
}

static void test_load_error_wrong_number_of_arguments(void **state)
{
	(void)state;
	assert_load_error("port 1 2\n", "line 1: >>> 'port 1 2': wrong number of arguments");
	assert_load_error("\n\nloglevel\n", "line 3: >>> 'loglevel': wrong number of arguments");
}

static void test_load_error_unbalanced_quotes(void **state)
{
	(void)state;
	assert_load_error("requirepass \"abc\n",
			  "line 1: >>> 'requirepass \"abc': Unbalanced quotes in configuration line");
	assert_load_error("requirepass \"abc\"def\n",
			  "line 1: >>> 'requirepass \"abc\"def': Unbalanced quotes in configuration line");
}

static void test_load_error_bad_value(void **state)
{
	(void)state;
	assert_load_error("maxmemory 1x\n", "line 1: >>> 'maxmemory 1x': argument must be a memory value");
	assert_load_error("timeout -1\n",
			  "line 1: >>> 'timeout -1': argument must be between 0 and 2147483647 inclusive");
	assert_load_error("protected-mode maybe\n",
			  "line 1: >>> 'protected-mode maybe': argument must be 'yes' or 'no'");
	assert_load_error("save 100\n", "line 1: >>> 'save 100': Invalid save parameters");
}

static void test_load_error_daemonize_yes(void **state)
{
	(void)state;
	assert_load_error("daemonize yes\n",
			  "line 1: >>> 'daemonize yes': daemonize yes is not supported: strata runs "
			  "in the foreground, start it from a service manager");
}

static void test_load_error_keeps_earlier_lines(void **state)
{
	(void)state;
	assert_load_error("port 7300\nport x\n",
			  "line 2: >>> 'port x': argument couldn't be parsed into an integer");
	assert_int_equal(cfg.port, 7300);
}

static void test_load_immutables_are_allowed(void **state)
{
	(void)state;
	load_ok("databases 4\nshards 3\nio-uring-entries 256\nblob-block-size 8kb\n"
		"dir /var/lib/strata\npidfile /run/strata.pid\ntcp-backlog 128\n");
	assert_int_equal(cfg.databases, 4);
	assert_int_equal(cfg.shards, 3);
	assert_int_equal(cfg.io_uring_entries, 256);
	assert_int_equal(cfg.blob_block_size, 8192);
	assert_string_equal(cfg.dir, "/var/lib/strata");
	assert_string_equal(cfg.pidfile, "/run/strata.pid");
	assert_int_equal(cfg.tcp_backlog, 128);
}

static void test_load_blob_block_size_must_be_power_of_two(void **state)
{
	(void)state;
	assert_load_error("blob-block-size 6000\n",
			  "line 1: >>> 'blob-block-size 6000': argument must be a power of two");
}

static void test_load_logfile_opens_log(void **state)
{
	char text[512], path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/strata.log", tmpdir);
	snprintf(text, sizeof(text), "logfile %s\n", path);
	load_ok(text);
	assert_string_equal(cfg.logfile, path);
	log_write(LOG_WARNING, "hello");
	assert_int_equal(access(path, F_OK), 0);
}

/* ---- command line ---- */

static void test_args_override(void **state)
{
	char *argv[] = { "--port", "7000", "--maxmemory", "1mb", "--loglevel", "debug" };
	char *err = NULL;

	(void)state;
	load_ok("port 6000\nmaxmemory 5\n");
	assert_int_equal(cfg_load_args(6, argv, &err), 0);
	assert_int_equal(cfg.port, 7000);
	assert_int_equal(cfg.maxmemory, 1024 * 1024);
	assert_int_equal(cfg.loglevel, LOG_DEBUG);
}

static void test_args_several_words(void **state)
{
	char *argv[] = { "--bind", "127.0.0.1", "::1", "--save", "60", "1", "--timeout", "5" };
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_load_args(8, argv, &err), 0);
	assert_string_equal(cfg.bind, "127.0.0.1 ::1");
	assert_string_equal(cfg.save, "60 1");
	assert_int_equal(cfg.timeout, 5);
}

static void test_args_value_with_spaces_is_kept(void **state)
{
	char *argv[] = { "--requirepass", "two words\"'" };
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_load_args(2, argv, &err), 0);
	assert_string_equal(cfg.requirepass, "two words\"'");
}

static void test_args_none_is_ok(void **state)
{
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_load_args(0, NULL, &err), 0);
	assert_int_equal(cfg.port, 6379);
}

static void test_args_error_counts_options(void **state)
{
	char *argv[] = { "--port", "7000", "--hz", "x" };
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_load_args(4, argv, &err), -1);
	assert_string_equal(err, "line 2: >>> 'hz x': argument couldn't be parsed into an integer");
	mem_free(err);
}

static void test_args_word_before_option(void **state)
{
	char *argv[] = { "7000", "--port", "1" };
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_load_args(3, argv, &err), -1);
	assert_string_equal(err, "line 1: >>> '7000': expected an option name starting with '--'");
	mem_free(err);
}

static void test_args_unknown_option(void **state)
{
	char *argv[] = { "--nosuch", "1" };
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_load_args(2, argv, &err), -1);
	assert_string_equal(err, "line 1: >>> 'nosuch 1': Bad directive or wrong number of arguments");
	mem_free(err);
}

/* ---- CONFIG SET ---- */

static void test_set_int(void **state)
{
	(void)state;
	set_ok("maxclients", "500");
	assert_int_equal(cfg.maxclients, 500);
	assert_get("maxclients", "500");
}

static void test_set_memory_with_unit(void **state)
{
	(void)state;
	set_ok("maxmemory", "100mb");
	assert_int_equal(cfg.maxmemory, 100LL * 1024 * 1024);
	assert_get("maxmemory", "104857600");
}

static void test_set_memory_empty_is_zero(void **state)
{
	(void)state;
	set_ok("maxmemory", "1k");
	set_ok("maxmemory", "");
	assert_int_equal(cfg.maxmemory, 0);
}

static void test_set_memory_leading_zeros(void **state)
{
	(void)state;
	set_ok("maxmemory", "05");
	assert_int_equal(cfg.maxmemory, 5);
}

/* maxmemory-clients takes bytes or a percentage of maxmemory (Redis 7.0),
 * kept negative in the field and shown back as "N%". */
static void test_maxmemory_clients_default_is_off(void **state)
{
	(void)state;
	assert_int_equal(cfg.maxmemory_clients, 0);
	assert_get("maxmemory-clients", "0");
}

static void test_maxmemory_clients_takes_memory(void **state)
{
	(void)state;
	set_ok("maxmemory-clients", "1mb");
	assert_int_equal(cfg.maxmemory_clients, 1024 * 1024);
	assert_get("maxmemory-clients", "1048576");
}

static void test_maxmemory_clients_takes_percent(void **state)
{
	(void)state;
	set_ok("maxmemory-clients", "10%");
	assert_int_equal(cfg.maxmemory_clients, -10);
	assert_get("maxmemory-clients", "10%");
	set_ok("maxmemory-clients", "0%");
	assert_int_equal(cfg.maxmemory_clients, 0);
	assert_get("maxmemory-clients", "0");
}

static void test_maxmemory_clients_refuses_bad_values(void **state)
{
	(void)state;
	assert_set_error("maxmemory-clients", "101%",
			 "CONFIG SET failed (possibly related to argument 'maxmemory-clients') - "
			 "percentage argument must be less or equal to 100");
	assert_set_error("maxmemory-clients", "5.5%",
			 "CONFIG SET failed (possibly related to argument 'maxmemory-clients') - "
			 "argument must be a memory or percent value");
	assert_set_error("maxmemory-clients", "-1",
			 "CONFIG SET failed (possibly related to argument 'maxmemory-clients') - "
			 "argument must be a memory or percent value");
	assert_get("maxmemory-clients", "0");
}

static void test_set_bool_any_case(void **state)
{
	(void)state;
	set_ok("protected-mode", "NO");
	assert_false(cfg.protected_mode);
	set_ok("protected-mode", "Yes");
	assert_true(cfg.protected_mode);
}

static void test_set_int_backed_bool(void **state)
{
	(void)state;
	set_ok("lazyfree-lazy-user-del", "yes");
	assert_int_equal(cfg.lazyfree_lazy_user_del, 1);
	assert_get("lazyfree-lazy-user-del", "yes");
}

static void test_set_enum_any_case(void **state)
{
	(void)state;
	set_ok("maxmemory-policy", "ALLKEYS-LFU");
	assert_int_equal(cfg.maxmemory_policy, MAXMEM_ALLKEYS_LFU);
	assert_get("maxmemory-policy", "allkeys-lfu");
	set_ok("blob-fsync", "always");
	assert_int_equal(cfg.blob_fsync, BLOB_FSYNC_ALWAYS);
}

static void test_set_loglevel_applies(void **state)
{
	(void)state;
	set_ok("loglevel", "debug");
	assert_int_equal(log_min_level, LOG_DEBUG);
}

static void test_set_string(void **state)
{
	(void)state;
	set_ok("requirepass", "s3cret");
	assert_string_equal(cfg.requirepass, "s3cret");
	set_ok("requirepass", "");
	assert_string_equal(cfg.requirepass, "");
}

static void test_set_save_is_normalized(void **state)
{
	(void)state;
	set_ok("save", " 900  1 300 10 ");
	assert_get("save", "900 1 300 10");
	set_ok("save", "");
	assert_get("save", "");
}

static void test_set_hz_is_clamped(void **state)
{
	(void)state;
	set_ok("hz", "1000");
	assert_int_equal(cfg.hz, 500);
}

static void test_set_name_is_case_insensitive(void **state)
{
	(void)state;
	set_ok("TIMEOUT", "42");
	assert_int_equal(cfg.timeout, 42);
}

static void test_set_many_sets_all(void **state)
{
	const char *names[] = { "timeout", "maxmemory", "requirepass" };
	const char *values[] = { "7", "1gb", "pw" };
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_set_many(3, names, values, &err), 0);
	assert_int_equal(cfg.timeout, 7);
	assert_int_equal(cfg.maxmemory, 1024LL * 1024 * 1024);
	assert_string_equal(cfg.requirepass, "pw");
}

/* ---- CONFIG SET errors, worded as redis-server 7.0.15 words them ---- */

static void test_set_error_unknown_option(void **state)
{
	(void)state;
	assert_set_error("nosuch", "1", "Unknown option or number of arguments for CONFIG SET - 'nosuch'");
}

static void test_set_error_immutable_uses_given_name(void **state)
{
	(void)state;
	assert_set_error("DATABASES", "3", "CONFIG SET failed (possibly related to argument "
			 "'DATABASES') - can't set immutable config");
}

static void test_set_error_every_immutable_refuses(void **state)
{
	static const char *const names[] = {
		"shards", "databases", "io-uring-entries", "dir", "pidfile", "always-show-logo",
		"blob-block-size", "tcp-backlog", "daemonize", "set-proc-title",
	};
	char want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(want, sizeof(want), "CONFIG SET failed (possibly related to argument '%s') - "
			 "can't set immutable config", names[i]);
		assert_set_error(names[i], "1", want);
	}
	assert_int_equal(cfg.port, 6379);
}

static void test_set_error_memory(void **state)
{
	(void)state;
	assert_set_error("maxmemory", "1.5mb", "CONFIG SET failed (possibly related to argument "
			 "'maxmemory') - argument must be a memory value");
	assert_set_error("maxmemory", "-1", "CONFIG SET failed (possibly related to argument "
			 "'maxmemory') - argument must be a memory value");
	assert_set_error("maxmemory", "1t", "CONFIG SET failed (possibly related to argument "
			 "'maxmemory') - argument must be a memory value");
	assert_set_error("maxmemory", " 5", "CONFIG SET failed (possibly related to argument "
			 "'maxmemory') - argument must be a memory value");
}

static void test_set_error_memory_range(void **state)
{
	(void)state;
	assert_set_error("proto-max-bulk-len", "1kb", "CONFIG SET failed (possibly related to "
			 "argument 'proto-max-bulk-len') - argument must be between 1048576 and "
			 "9223372036854775807 inclusive");
	assert_set_error("proto-max-bulk-len", "9223372036854775808", "CONFIG SET failed (possibly "
			 "related to argument 'proto-max-bulk-len') - argument must be between "
			 "1048576 and 9223372036854775807 inclusive");
}

static void test_set_error_integer(void **state)
{
	static const char *const bad[] = { "abc", "1k", "+5", "05", "-0", " 5", "", "99999999999999999999" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_set_error("hz", bad[i], "CONFIG SET failed (possibly related to argument "
				 "'hz') - argument couldn't be parsed into an integer");
}

static void test_set_error_reports_canonical_name_for_value(void **state)
{
	(void)state;
	assert_set_error("HZ", "abc", "CONFIG SET failed (possibly related to argument 'hz') - "
			 "argument couldn't be parsed into an integer");
}

static void test_set_error_bool(void **state)
{
	(void)state;
	assert_set_error("protected-mode", "1", "CONFIG SET failed (possibly related to argument "
			 "'protected-mode') - argument must be 'yes' or 'no'");
}

static void test_set_error_enum_policy(void **state)
{
	(void)state;
	assert_set_error("maxmemory-policy", "foo", "CONFIG SET failed (possibly related to "
			 "argument 'maxmemory-policy') - argument(s) must be one of the following: "
			 "volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, "
			 "allkeys-lfu, allkeys-random, noeviction");
}

static void test_set_error_enum_loglevel(void **state)
{
	(void)state;
	assert_set_error("loglevel", "foo", "CONFIG SET failed (possibly related to argument "
			 "'loglevel') - argument(s) must be one of the following: debug, verbose, "
			 "notice, warning");
}

static void test_set_error_enum_blob_fsync(void **state)
{
	(void)state;
	assert_set_error("blob-fsync", "sometimes", "CONFIG SET failed (possibly related to "
			 "argument 'blob-fsync') - argument(s) must be one of the following: "
			 "everysec, always, no");
}

static void test_set_error_range(void **state)
{
	(void)state;
	assert_set_error("active-expire-effort", "11", "CONFIG SET failed (possibly related to "
			 "argument 'active-expire-effort') - argument must be between 1 and 10 inclusive");
	assert_set_error("timeout", "-1", "CONFIG SET failed (possibly related to argument "
			 "'timeout') - argument must be between 0 and 2147483647 inclusive");
	assert_set_error("maxclients", "0", "CONFIG SET failed (possibly related to argument "
			 "'maxclients') - argument must be between 1 and 2147483647 inclusive");
	assert_set_error("hz", "2147483648", "CONFIG SET failed (possibly related to argument "
			 "'hz') - argument must be between 0 and 2147483647 inclusive");
}

static void test_set_error_save(void **state)
{
	(void)state;
	assert_set_error("save", "100", "CONFIG SET failed (possibly related to argument 'save') - "
			 "Invalid save parameters");
	assert_set_error("save", "100 x", "CONFIG SET failed (possibly related to argument "
			 "'save') - Invalid save parameters");
	assert_set_error("save", "0 1", "CONFIG SET failed (possibly related to argument "
			 "'save') - Invalid save parameters");
}

static void test_set_error_duplicate_uses_given_name(void **state)
{
	const char *names[] = { "maxmemory", "MAXMEMORY" };
	const char *values[] = { "1", "2" };
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_set_many(2, names, values, &err), -1);
	assert_string_equal(err, "CONFIG SET failed (possibly related to argument 'MAXMEMORY') - "
			    "duplicate parameter");
	assert_int_equal(cfg.maxmemory, 0);
	mem_free(err);
}

static void test_set_error_first_problem_wins(void **state)
{
	const char *names[] = { "timeout", "shards", "nosuch" };
	const char *values[] = { "5", "1", "1" };
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_set_many(3, names, values, &err), -1);
	assert_string_equal(err, "CONFIG SET failed (possibly related to argument 'shards') - "
			    "can't set immutable config");
	assert_int_equal(cfg.timeout, 0);
	mem_free(err);
}

static void test_set_many_rolls_back_on_bad_value(void **state)
{
	const char *names[] = { "timeout", "requirepass", "maxmemory-policy", "maxmemory" };
	const char *values[] = { "20", "newpass", "allkeys-lru", "abc" };
	char *err = NULL;

	(void)state;
	set_ok("requirepass", "oldpass");
	assert_int_equal(cfg_set_many(4, names, values, &err), -1);
	assert_string_equal(err, "CONFIG SET failed (possibly related to argument 'maxmemory') - "
			    "argument must be a memory value");
	assert_int_equal(cfg.timeout, 0);
	assert_string_equal(cfg.requirepass, "oldpass");
	assert_int_equal(cfg.maxmemory_policy, MAXMEM_NOEVICTION);
	mem_free(err);
}

static void test_set_many_rolls_back_on_failed_apply(void **state)
{
	const char *names[] = { "loglevel", "logfile" };
	const char *values[] = { "debug", "/nonexistent/dir/strata.log" };
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_set_many(2, names, values, &err), -1);
	assert_string_equal(err, "CONFIG SET failed (possibly related to argument 'logfile') - "
			    "Can't open the log file: No such file or directory");
	assert_int_equal(cfg.loglevel, LOG_NOTICE);
	assert_int_equal(log_min_level, LOG_NOTICE);
	assert_string_equal(cfg.logfile, "");
	mem_free(err);
}

/* ---- CONFIG GET ---- */

struct collect {
	char text[4096];	/* "name=value;" for each call, in order */
	int n;			/* calls */
};

static void collect_fn(const char *name, const char *value, size_t vlen, void *arg)
{
	struct collect *c = arg;
	size_t len = strlen(c->text);

	/* NULs inside a value show as '0' */
	snprintf(c->text + len, sizeof(c->text) - len, "%s=", name);
	len = strlen(c->text);
	for (size_t i = 0; i < vlen && len + 1 < sizeof(c->text); i++)
		c->text[len++] = value[i] ? value[i] : '0';
	snprintf(c->text + len, sizeof(c->text) - len, ";");
	c->n++;
}

static void test_get_glob_star(void **state)
{
	struct collect c = { .n = 0 };

	(void)state;
	cfg_get("maxmemory*", collect_fn, &c);
	assert_string_equal(c.text, "maxmemory=0;maxmemory-clients=0;maxmemory-policy=noeviction;"
			    "maxmemory-samples=5;");
}

static void test_set_requirepass_keeps_nul_bytes(void **state)
{
	const char *names[] = { "requirepass", "logfile" };
	char log[256], want[300];
	const char *values[] = { "abc\0def", log };
	size_t lens[] = { 7, 0 };
	struct collect c = { .n = 0 };
	char *err = NULL;
	int n;

	(void)state;
	/* The log file is opened: it goes to the test's own directory. */
	n = snprintf(log, sizeof(log), "%s/nul.log", tmpdir);
	memcpy(log + n, "\0y", 3);
	lens[1] = (size_t)n + 2;
	assert_int_equal(cfg_set_many_len(2, names, values, lens, &err), 0);
	assert_int_equal(cfg.requirepass_len, 7);
	assert_memory_equal(cfg.requirepass, "abc\0def", 7);
	cfg_get("requirepass", collect_fn, &c);
	/* other strings end at the first NUL */
	cfg_get("logfile", collect_fn, &c);
	snprintf(want, sizeof(want), "requirepass=abc0def;logfile=%s/nul.log;", tmpdir);
	assert_string_equal(c.text, want);
	assert_int_equal(cfg_set("requirepass", "", &err), 0);
	assert_int_equal(cfg.requirepass_len, 0);
	assert_int_equal(cfg_set("logfile", "", &err), 0);
}

static void test_set_latency_percentiles(void **state)
{
	struct collect c = { .n = 0 };
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg.nlatency_pcts, 3);
	assert_int_equal(cfg_set("latency-tracking-info-percentiles", "0.0 50.0 100.0", &err), 0);
	cfg_get("latency-tracking-info-percentiles", collect_fn, &c);
	assert_string_equal(c.text, "latency-tracking-info-percentiles=0 50 100;");
	assert_int_equal(cfg.nlatency_pcts, 3);
	assert_true(cfg.latency_pcts[2] == 100.0);
	assert_set_error("latency-tracking-info-percentiles", "10.0 50.0 a",
			 "CONFIG SET failed (possibly related to argument "
			 "'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles "
			 "parameters");
	assert_set_error("latency-tracking-info-percentiles", "10.0 50.0 101.0",
			 "CONFIG SET failed (possibly related to argument "
			 "'latency-tracking-info-percentiles') - latency-tracking-info-percentiles "
			 "parameters should sit between [0.0,100.0]");
	assert_int_equal(cfg.nlatency_pcts, 3);
	assert_int_equal(cfg_set("latency-tracking-info-percentiles", "", &err), 0);
	assert_int_equal(cfg.nlatency_pcts, 0);
	assert_int_equal(cfg_set("latency-tracking-info-percentiles", "99.9", &err), 0);
	assert_int_equal(cfg.nlatency_pcts, 1);
}

/* The whole file at path (static buffer). */
static const char *read_back(const char *path)
{
	static char text[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void test_rewrite_keeps_the_file_and_writes_the_changes(void **state)
{
	const char *path = write_file("rewrite.conf",
				      "# my settings\n"
				      "port 7000\n"
				      "\n"
				      "maxmemory 1mb\n"
				      "hash-max-ziplist-entries 100\n"
				      "maxmemory 2000\n"
				      "timeout 9\n"
				      "user alice on nopass ~* +get\n");
	char *err = NULL;

	(void)state;
	assert_int_equal(cfg_load_file(path, &err), 0);
	assert_int_equal(acl_config_users_load(&err), 0);
	set_ok("maxmemory", "3mb");
	set_ok("timeout", "0");
	set_ok("requirepass", "a \"b");
	set_ok("save", "");
	set_ok("bind", "");
	assert_int_equal(cfg_rewrite(path, &err), 0);
	/* in place of the first line of each option, later ones dropped; an
	 * option back at its default keeps its line; the rest appended */
	assert_string_equal(read_back(path),
			    "# my settings\n"
			    "port 7000\n"
			    "\n"
			    "maxmemory 3mb\n"
			    "hash-max-listpack-entries 100\n"
			    "timeout 0\n"
			    "user alice on nopass ~* resetchannels -@all +get\n"
			    "# Generated by CONFIG REWRITE\n"
			    "bind \"\"\n"
			    "requirepass \"a \\\"b\"\n"
			    "user default on #" "ec0ee011916498e8af18f31985dcc84c9ce0e366f0795735094cfb4011e15426"
			    " ~* &* +@all\n");
	/* and it loads back to the same values */
	cfg_init_defaults();
	assert_int_equal(cfg_load_file(path, &err), 0);
	assert_get("maxmemory", "3145728");
	assert_get("requirepass", "a \"b");
	assert_get("bind", "");
	acl_free_all();
}

static void test_get_glob_every_option(void **state)
{
	struct collect c = { .n = 0 };

	(void)state;
	cfg_get("*", collect_fn, &c);
	assert_int_equal(c.n, 67);
}

static void test_get_glob_question_and_class(void **state)
{
	struct collect c = { .n = 0 };

	(void)state;
	cfg_get("h?", collect_fn, &c);
	cfg_get("[h]z", collect_fn, &c);
	cfg_get("p[a-o]rt", collect_fn, &c);
	cfg_get("p[^o]rt", collect_fn, &c);
	assert_string_equal(c.text, "hz=10;hz=10;port=6379;");
}

static void test_get_glob_is_case_insensitive(void **state)
{
	struct collect c = { .n = 0 };

	(void)state;
	cfg_get("*-FSYNC", collect_fn, &c);
	assert_string_equal(c.text, "blob-fsync=everysec;");
}

static void test_get_glob_escape(void **state)
{
	struct collect c = { .n = 0 };

	(void)state;
	cfg_get("*\\-fsync", collect_fn, &c);
	cfg_get("h\\*", collect_fn, &c);
	cfg_get("h\\z", collect_fn, &c);	/* no * ? [: a name, and there is none */
	assert_string_equal(c.text, "blob-fsync=everysec;");
}

static void test_get_glob_stars_in_the_middle(void **state)
{
	struct collect c = { .n = 0 };

	(void)state;
	cfg_get("l*-lazy-*e*l", collect_fn, &c);
	cfg_get("*z*", collect_fn, &c);
	assert_string_equal(c.text, "lazyfree-lazy-user-del=no;lazyfree-lazy-server-del=no;"
			    "hz=10;lazyfree-lazy-user-del=no;blob-block-size=4096;"
			    "hash-max-ziplist-entries=512;hash-max-ziplist-value=64;"
			    "zset-max-listpack-entries=128;zset-max-ziplist-entries=128;"
			    "zset-max-listpack-value=64;zset-max-ziplist-value=64;"
			    "list-max-listpack-size=-2;list-max-ziplist-size=-2;daemonize=no;"
			    "lazyfree-lazy-expire=no;lazyfree-lazy-eviction=no;"
			    "lazyfree-lazy-server-del=no;");
}

static void test_get_glob_many_stars_is_fast(void **state)
{
	struct collect c = { .n = 0 };
	char pat[2048];
	size_t n = 0;

	(void)state;
	while (n + 3 < sizeof(pat) - 2) {
		pat[n++] = '*';
		pat[n++] = '?';
	}
	pat[n++] = 'Q';
	pat[n] = '\0';
	for (int i = 0; i < 1000; i++)
		cfg_get(pat, collect_fn, &c);
	assert_int_equal(c.n, 0);
}

static void test_get_exact_name_answers_as_asked(void **state)
{
	struct collect c = { .n = 0 };

	(void)state;
	cfg_get("MAXMEMORY", collect_fn, &c);
	assert_string_equal(c.text, "MAXMEMORY=0;");
}

static void test_get_no_match_calls_nothing(void **state)
{
	struct collect c = { .n = 0 };

	(void)state;
	cfg_get("nosuch*", collect_fn, &c);
	cfg_get("nosuch", collect_fn, &c);
	assert_int_equal(c.n, 0);
}

static void test_get_reads_back_set_value(void **state)
{
	struct collect c = { .n = 0 };

	(void)state;
	set_ok("blob-threshold", "1mb");
	cfg_get("blob-threshold", collect_fn, &c);
	assert_string_equal(c.text, "blob-threshold=1048576;");
}

static void test_policy_name(void **state)
{
	(void)state;
	assert_string_equal(cfg_policy_name(MAXMEM_NOEVICTION), "noeviction");
	assert_string_equal(cfg_policy_name(MAXMEM_ALLKEYS_LRU), "allkeys-lru");
	assert_string_equal(cfg_policy_name(MAXMEM_VOLATILE_TTL), "volatile-ttl");
	assert_string_equal(cfg_policy_name(99), "unknown");
}

/* ---- the shipped conf/strata.conf ---- */

struct snapshot {
	char names[128][64];
	char values[128][256];
	int n;
};

static void snapshot_fn(const char *name, const char *value, size_t vlen, void *arg)
{
	struct snapshot *s = arg;

	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	snprintf(s->values[s->n], sizeof(s->values[0]), "%.*s", (int)vlen, value);
	s->n++;
}

static void test_shipped_conf_gives_defaults(void **state)
{
	static struct snapshot before, after;
	char *err = NULL;

	(void)state;
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	cfg_get("*", snapshot_fn, &before);
	if (cfg_load_file("conf/strata.conf", &err) != 0)
		fail_msg("conf/strata.conf: %s", err);
	cfg_get("*", snapshot_fn, &after);
	assert_int_equal(before.n, after.n);
	for (int i = 0; i < after.n; i++) {
		assert_string_equal(before.names[i], after.names[i]);
		if (!strcmp(after.names[i], "dir"))
			assert_string_equal(after.values[i], "./data");
		else
			assert_string_equal(before.values[i], after.values[i]);
	}
}

static void test_shipped_conf_sets_every_option(void **state)
{
	static struct snapshot all;
	char line[512];
	bool found[128] = { false };
	FILE *f;

	(void)state;
	memset(&all, 0, sizeof(all));
	cfg_get("*", snapshot_fn, &all);
	f = fopen("conf/strata.conf", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		for (int i = 0; i < all.n; i++) {
			size_t l = strlen(all.names[i]);

			if (!strncmp(line, all.names[i], l) && (line[l] == ' ' || line[l] == '\n'))
				found[i] = true;
		}
	}
	fclose(f);
	for (int i = 0; i < all.n; i++)
		if (!found[i])
			fail_msg("conf/strata.conf does not set %s", all.names[i]);
}

/* The TLS options as redis-server 7.0.15 shows them by default; TLS is off,
 * so setting them builds nothing and checks nothing but their type. */
static void test_tls_defaults_and_types(void **state)
{
	struct collect c = { .n = 0 };

	(void)state;
	cfg_get("tls-*", collect_fn, &c);
	assert_string_equal(c.text, "tls-port=0;tls-cert-file=;tls-key-file=;tls-ca-cert-file=;"
			    "tls-ca-cert-dir=;tls-auth-clients=yes;tls-protocols=;tls-ciphers=;"
			    "tls-ciphersuites=;tls-prefer-server-ciphers=no;");
	load_ok("tls-auth-clients OPTIONAL\ntls-protocols \"TLSv1.2 TLSv1.3\"\n");
	assert_int_equal(cfg.tls_auth_clients, TLS_AUTH_OPTIONAL);
	assert_string_equal(cfg.tls_protocols, "TLSv1.2 TLSv1.3");
	assert_set_error("tls-auth-clients", "maybe",
			 "CONFIG SET failed (possibly related to argument 'tls-auth-clients') - "
			 "argument(s) must be one of the following: no, yes, optional");
	assert_set_error("tls-port", "6380",
			 "CONFIG SET failed (possibly related to argument 'tls-port') - "
			 "can't set immutable config");
}

static void test_output_buffer_limit_defaults_are_parsed(void **state)
{
	(void)state;
	assert_int_equal(cfg.cobl[COBL_NORMAL][0], 0);
	assert_int_equal(cfg.cobl[COBL_PUBSUB][0], 33554432);
	assert_int_equal(cfg.cobl[COBL_PUBSUB][1], 8388608);
	assert_int_equal(cfg.cobl[COBL_PUBSUB][2], 60);
	assert_int_equal(cfg.cobl[COBL_REPLICA][0], 268435456);
}

static void test_output_buffer_limit_set_of_one_class_keeps_the_others(void **state)
{
	char *err = NULL;
	char buf[256];

	(void)state;
	assert_int_equal(cfg_set("client-output-buffer-limit", "pubsub 1mb 512kb 10", &err), 0);
	assert_true(cfg_get_one("client-output-buffer-limit", buf, sizeof(buf)));
	assert_string_equal(buf, "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10");
	assert_int_equal(cfg.cobl[COBL_PUBSUB][0], 1048576);
	assert_int_equal(cfg.cobl[COBL_PUBSUB][2], 10);
	assert_int_equal(cfg_set("client-output-buffer-limit", "pubsub 1mb 512kb", &err), -1);
	assert_non_null(strstr(err, "Wrong number of arguments in buffer limit configuration."));
	mem_free(err);
	assert_int_equal(cfg_set("client-output-buffer-limit",
				 "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", &err), 0);
}

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults_network),
		T(test_defaults_general),
		T(test_defaults_limits),
		T(test_defaults_blob),
		T(test_defaults_compat),
		T(test_defaults_set_log_level),
		T(test_get_renders_bool_as_yes_no),
		T(test_get_renders_memory_as_bytes),
		T(test_get_renders_enum_by_name),
		T(test_get_renders_string_as_is),
		T(test_get_one_unknown_is_false),
		T(test_get_one_name_is_case_insensitive),
		T(test_load_skips_comments_and_blank_lines),
		T(test_load_accepts_crlf_and_surrounding_blanks),
		T(test_load_names_are_case_insensitive),
		T(test_load_double_quotes_with_escapes),
		T(test_load_single_quotes),
		T(test_load_empty_quoted_string),
		T(test_load_memory_units),
		T(test_load_bind_takes_several_addresses),
		T(test_load_later_line_overrides),
		T(test_load_save_lines_add_up),
		T(test_load_save_empty_clears),
		T(test_load_save_replaces_previous_load),
		T(test_load_hz_is_clamped),
		T(test_load_loglevel_applies),
		T(test_load_file_reads_a_file),
		T(test_load_file_without_trailing_newline),
		T(test_load_include_reads_file_in_place),
		T(test_load_include_error_names_the_file),
		T(test_load_include_loop_is_refused),
		T(test_load_include_missing_file),
		T(test_load_file_missing),
		T(test_load_error_unknown_directive),
		T(test_load_error_wrong_number_of_arguments),
		T(test_load_error_unbalanced_quotes),
		T(test_load_error_bad_value),
		T(test_load_error_daemonize_yes),
		T(test_load_error_keeps_earlier_lines),
		T(test_load_immutables_are_allowed),
		T(test_load_blob_block_size_must_be_power_of_two),
		T(test_load_logfile_opens_log),
		T(test_args_override),
		T(test_args_several_words),
		T(test_args_value_with_spaces_is_kept),
		T(test_args_none_is_ok),
		T(test_args_error_counts_options),
		T(test_args_word_before_option),
		T(test_args_unknown_option),
		T(test_set_int),
		T(test_set_memory_with_unit),
		T(test_set_memory_empty_is_zero),
		T(test_set_memory_leading_zeros),
	T(test_maxmemory_clients_default_is_off),
	T(test_maxmemory_clients_takes_memory),
	T(test_maxmemory_clients_takes_percent),
	T(test_maxmemory_clients_refuses_bad_values),
		T(test_set_bool_any_case),
		T(test_set_int_backed_bool),
		T(test_set_enum_any_case),
		T(test_set_loglevel_applies),
		T(test_set_string),
		T(test_set_save_is_normalized),
		T(test_set_hz_is_clamped),
		T(test_set_name_is_case_insensitive),
		T(test_set_many_sets_all),
		T(test_set_error_unknown_option),
		T(test_set_error_immutable_uses_given_name),
		T(test_set_error_every_immutable_refuses),
		T(test_set_error_memory),
		T(test_set_error_memory_range),
		T(test_set_error_integer),
		T(test_set_error_reports_canonical_name_for_value),
		T(test_set_error_bool),
		T(test_set_error_enum_policy),
		T(test_set_error_enum_loglevel),
		T(test_set_error_enum_blob_fsync),
		T(test_set_error_range),
		T(test_set_error_save),
		T(test_set_error_duplicate_uses_given_name),
		T(test_set_error_first_problem_wins),
		T(test_set_many_rolls_back_on_bad_value),
		T(test_set_many_rolls_back_on_failed_apply),
		T(test_get_glob_star),
		T(test_set_requirepass_keeps_nul_bytes),
		T(test_set_latency_percentiles),
		T(test_rewrite_keeps_the_file_and_writes_the_changes),
		T(test_get_glob_every_option),
		T(test_get_glob_question_and_class),
		T(test_get_glob_is_case_insensitive),
		T(test_get_glob_escape),
		T(test_get_glob_stars_in_the_middle),
		T(test_get_glob_many_stars_is_fast),
		T(test_get_exact_name_answers_as_asked),
		T(test_get_no_match_calls_nothing),
		T(test_get_reads_back_set_value),
		T(test_policy_name),
		T(test_shipped_conf_gives_defaults),
		T(test_tls_defaults_and_types),
		T(test_output_buffer_limit_defaults_are_parsed),
		T(test_output_buffer_limit_set_of_one_class_keeps_the_others),
		T(test_shipped_conf_sets_every_option),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
