/*
 * cfg.c - the configuration table.
 *
 * Every option is one row of cfg_opts[]: its name, its type, the field of
 * the global `cfg` that holds its live value, its default as text, whether
 * it may change at run time, and two optional hooks. `check` vets a parsed
 * value beyond what its type says (a power of two, pairs of numbers) and may
 * rewrite it into canonical form; `apply` carries a new value out of the
 * table into the module that uses it (the log level, the log file).
 *
 * All three ways in -- the defaults, a file or command line, CONFIG SET --
 * go through the same parser per type, so a default is valid by the same
 * rules as a value typed by an operator, and an error reads the same
 * whichever way the value came. The wording of every error is Redis 7.0's,
 * because clients and the Redis test suite match on it.
 *
 * Types and their text:
 *   bool    "yes" / "no", any case.
 *   int     strict decimal (no '+', no leading zeros, no spaces), min..max.
 *   memory  digits and an optional unit b, k, kb, m, mb, g, gb in any case;
 *           k = 1000 and kb = 1024 as in Redis; rendered as a byte count.
 *   enum    one of a fixed list of names, any case; rendered by name.
 *   string  as given; options that take several words (bind, save) join
 *           them with single spaces.
 *
 * Numeric fields are int, long long or bool; a row records the size of its
 * field so that one store routine serves them all.
 *
 * CONFIG SET of several options is all or nothing: new values are stored
 * one by one while the old ones are kept aside; a value that does not parse,
 * or an apply hook that fails, puts every old value back and re-applies it.
 * Old strings are freed only once the whole set has succeeded.
 *
 * The file syntax is redis.conf's: one directive a line, '#' lines and blank
 * lines skipped, words split on blanks, "double quoted" words with \n \r \t
 * \b \a \xHH and \<char> escapes, 'single quoted' words with \' only. A
 * closing quote must end the word. `include path` reads another file in
 * place (relative paths are relative to the working directory). Within one
 * load, `save` lines add up (the first replaces the default, later ones
 * append, `save ""` clears) as in Redis; every other option takes the last
 * value given. `user name rule ...` lines go to the ACL module
 * (acl_config_user_add), which refuses a name declared twice.
 *
 * Threads: loading runs before any shard starts; CONFIG SET runs while every
 * other shard is parked. Nothing here locks.
 */
#include "cfg.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "acl.h"
#include "mem.h"
#include "server.h"
#include "strutil.h"
#include "util.h"

struct strata_cfg cfg;

#define CFG_INCLUDE_MAX 16	/* include nesting depth before we call it a loop */
#define CFG_REASON_MAX 512	/* longest reason text, enum lists included */

enum cfg_type { CFG_BOOL, CFG_INT, CFG_MEMORY, CFG_ENUM, CFG_STRING };

#define CFG_IMMUTABLE	(1u << 0)	/* only from the file or command line */
#define CFG_MULTI_ARG	(1u << 1)	/* takes any number of words, joined */
#define CFG_ACCUMULATE	(1u << 2)	/* lines of one load add up (save) */

/* A value between parsing and storing. */
union cfg_val {
	long long n;		/* bool, int, memory, enum */
	struct {
		char *s;	/* string, owned by whoever holds the union */
		size_t len;	/* its length (it may hold NULs: see lenp) */
	};
};

struct cfg_enum {
	const char *name;
	int val;
};

struct cfg_opt {
	const char *name;		/* lower case, as in redis.conf */
	enum cfg_type type;
	unsigned flags;			/* CFG_* */
	void *ptr;			/* the field in `cfg` */
	size_t size;			/* sizeof that field */
	const char *def;		/* default, as text */
	long long min, max;		/* int and memory bounds, inclusive */
	const struct cfg_enum *enums;	/* CFG_ENUM: names, NULL-terminated */
	/* Vets a parsed value; returns NULL or the reason it is refused. May
	 * replace v->s (freeing the old string) with a canonical form. */
	const char *(*check)(union cfg_val *v);
	/* Makes the stored value take effect; 0, or -1 with a reason. */
	int (*apply)(char *reason, size_t cap);
	/* A binary-safe string (requirepass): the field in `cfg` holding its
	 * length, since the text may hold NUL bytes. NULL for the others. */
	size_t *lenp;
};

/* One load: a file with its includes, a text, or a command line. */
struct cfg_load {
	int depth;		/* include nesting, 0 at the top */
	bool seen[64];		/* per option: a CFG_ACCUMULATE line was read */
};

static const struct cfg_enum cfg_policy_names[] = {
	{ "volatile-lru", MAXMEM_VOLATILE_LRU },
	{ "volatile-lfu", MAXMEM_VOLATILE_LFU },
	{ "volatile-random", MAXMEM_VOLATILE_RANDOM },
	{ "volatile-ttl", MAXMEM_VOLATILE_TTL },
	{ "allkeys-lru", MAXMEM_ALLKEYS_LRU },
	{ "allkeys-lfu", MAXMEM_ALLKEYS_LFU },
	{ "allkeys-random", MAXMEM_ALLKEYS_RANDOM },
	{ "noeviction", MAXMEM_NOEVICTION },
	{ NULL, 0 },
};

static const struct cfg_enum cfg_loglevel_names[] = {
	{ "debug", LOG_DEBUG },
	{ "verbose", LOG_VERBOSE },
	{ "notice", LOG_NOTICE },
	{ "warning", LOG_WARNING },
	{ NULL, 0 },
};

static const struct cfg_enum cfg_pubsub_default_names[] = {
	{ "allchannels", ACL_PUBSUB_ALLCHANNELS },
	{ "resetchannels", ACL_PUBSUB_RESETCHANNELS },
	{ NULL, 0 },
};

static const struct cfg_enum cfg_fsync_names[] = {
	{ "everysec", BLOB_FSYNC_EVERYSEC },
	{ "always", BLOB_FSYNC_ALWAYS },
	{ "no", BLOB_FSYNC_NO },
	{ NULL, 0 },
};

/* ---- hooks ---- */

static int cfg_apply_loglevel(char *reason, size_t cap)
{
	(void)reason;
	(void)cap;
	log_min_level = cfg.loglevel;
	return 0;
}

static int cfg_apply_logfile(char *reason, size_t cap)
{
	int rc = log_open(cfg.logfile);

	if (rc < 0) {
		snprintf(reason, cap, "Can't open the log file: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

/* Redis takes any hz in 0..INT_MAX and clamps it to what the cron can do. */
static int cfg_apply_hz(char *reason, size_t cap)
{
	(void)reason;
	(void)cap;
	if (cfg.hz < 1)
		cfg.hz = 1;
	if (cfg.hz > 500)
		cfg.hz = 500;
	return 0;
}

/* port and bind at run time: the shards listen anew, or nothing changes. */
static int cfg_apply_port(char *reason, size_t cap)
{
	return shard_listen_change(reason, cap, "Unable to listen on this port. Check server logs.");
}

static int cfg_apply_bind(char *reason, size_t cap)
{
	return shard_listen_change(reason, cap, "Failed to bind to specified addresses.");
}

static int cfg_apply_requirepass(char *reason, size_t cap)
{
	(void)reason;
	(void)cap;
	acl_set_requirepass(cfg.requirepass, cfg.requirepass_len);
	return 0;
}

static bool cfg_parse_memory(const char *s, unsigned long long *out);
static bool cfg_parse_ll(const char *s, long long *out);

/*
 * client-output-buffer-limit: "<class> <hard> <soft> <soft-seconds>" groups
 * for the classes normal, replica (or slave) and pubsub. A value may name
 * only some classes; the others keep their current limits, as in Redis.
 * The stored text is the full, normalized list, which apply parses into
 * cfg.cobl.
 */
static const char *const cobl_class_names[3] = { "normal", "slave", "pubsub" };

static int cobl_class(const char *w)
{
	if (!strcasecmp(w, "normal"))
		return 0;
	if (!strcasecmp(w, "slave") || !strcasecmp(w, "replica"))
		return 1;
	if (!strcasecmp(w, "pubsub"))
		return 2;
	return -1;
}

static const char *cfg_check_cobl(union cfg_val *v)
{
	long long lim[3][3];
	char *copy = mem_strndup(v->s, strlen(v->s)), *save = NULL, *w[4];
	char out[256];
	int n = 0;

	memcpy(lim, cfg.cobl, sizeof(lim));
	for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		w[n++] = t;
		if (n == 4) {
			unsigned long long hard, soft;
			long long secs;
			int k = cobl_class(w[0]);

			if (k < 0 || !cfg_parse_memory(w[1], &hard) || !cfg_parse_memory(w[2], &soft) ||
			    !cfg_parse_ll(w[3], &secs) || secs < 0 || hard > LLONG_MAX || soft > LLONG_MAX)
				goto invalid;
			lim[k][0] = (long long)hard;
			lim[k][1] = (long long)soft;
			lim[k][2] = secs;
			n = 0;
		}
	}
	if (n)
		goto invalid;
	mem_free(copy);
	snprintf(out, sizeof(out), "%s %lld %lld %lld %s %lld %lld %lld %s %lld %lld %lld",
		 cobl_class_names[0], lim[0][0], lim[0][1], lim[0][2],
		 cobl_class_names[1], lim[1][0], lim[1][1], lim[1][2],
		 cobl_class_names[2], lim[2][0], lim[2][1], lim[2][2]);
	mem_free(v->s);
	v->s = mem_strndup(out, strlen(out));
	return NULL;
invalid:
	mem_free(copy);
	return "Wrong number of arguments in buffer limit configuration.";
}

static int cfg_apply_cobl(char *reason, size_t cap)
{
	char *copy = mem_strndup(cfg.client_output_buffer_limit, strlen(cfg.client_output_buffer_limit));
	char *save = NULL, *w[4];
	int n = 0;

	(void)reason;
	(void)cap;
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		w[n++] = t;
		if (n == 4) {
			int k = cobl_class(w[0]);

			if (k >= 0) {
				cfg.cobl[k][0] = strtoll(w[1], NULL, 10);
				cfg.cobl[k][1] = strtoll(w[2], NULL, 10);
				cfg.cobl[k][2] = strtoll(w[3], NULL, 10);
			}
			n = 0;
		}
	}
	mem_free(copy);
	return 0;
}

static const char *cfg_check_pow2(union cfg_val *v)
{
	if (v->n <= 0 || (v->n & (v->n - 1)))
		return "argument must be a power of two";
	return NULL;
}

static const char *cfg_check_daemonize(union cfg_val *v)
{
	if (v->n)
		return "daemonize yes is not supported: strata runs in the foreground, "
		       "start it from a service manager";
	return NULL;
}

static bool cfg_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int cfg_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* "secs changes [secs changes ...]": secs >= 1, changes >= 0, rewritten with
 * single spaces. "" means no snapshots. */
static const char *cfg_check_save(union cfg_val *v)
{
	const char *p = v->s;
	char *out = mem_alloc(strlen(v->s) + 1);
	size_t n = 0;
	int words = 0;

	for (;;) {
		long long val = 0;
		bool any = false;

		while (cfg_is_blank(*p))
			p++;
		if (!*p)
			break;
		while (*p >= '0' && *p <= '9') {
			if (val > (LLONG_MAX - 9) / 10)
				goto invalid;
			val = val * 10 + (*p - '0');
			out[n++] = *p++;
			any = true;
		}
		if (!any || (*p && !cfg_is_blank(*p)))
			goto invalid;
		if (words % 2 == 0 && val < 1)
			goto invalid;
		words++;
		out[n++] = ' ';
	}
	if (words % 2)
		goto invalid;
	out[n ? n - 1 : 0] = '\0';
	mem_free(v->s);
	v->s = out;
	return NULL;
invalid:
	mem_free(out);
	return "Invalid save parameters";
}

/* A percentile as Redis writes it: "%f" without trailing zeros or dot
 * (50 -> "50", 99.9 -> "99.9"). buf holds 64 bytes. */
static void cfg_format_pct(double d, char *buf)
{
	size_t n = (size_t)snprintf(buf, 64, "%f", d);

	if (strchr(buf, '.')) {
		while (n && buf[n - 1] == '0')
			buf[--n] = '\0';
		if (n && buf[n - 1] == '.')
			buf[--n] = '\0';
	}
}

/* latency-tracking-info-percentiles: numbers from 0 to 100 separated by
 * spaces, rewritten as Redis shows them; "" means none. */
static const char *cfg_check_pcts(union cfg_val *v)
{
	char *copy = mem_strndup(v->s, strlen(v->s)), *save = NULL, buf[64];
	char out[CFG_LATENCY_PCTS_MAX * 16];
	size_t n = 0;
	int count = 0;
	const char *why = NULL;

	out[0] = '\0';
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		double d;

		if (!strutil_to_d(t, strlen(t), &d) || count == CFG_LATENCY_PCTS_MAX) {
			why = "Invalid latency-tracking-info-percentiles parameters";
			break;
		}
		if (d < 0.0 || d > 100.0) {
			why = "latency-tracking-info-percentiles parameters should sit between "
			      "[0.0,100.0]";
			break;
		}
		cfg_format_pct(d, buf);
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", count ? " " : "", buf);
		count++;
	}
	mem_free(copy);
	if (why)
		return why;
	mem_free(v->s);
	v->s = mem_strndup(out, n);
	return NULL;
}

static int cfg_apply_pcts(char *reason, size_t cap)
{
	char *copy = mem_strndup(cfg.latency_tracking_info_percentiles,
				 strlen(cfg.latency_tracking_info_percentiles));
	char *save = NULL;

	(void)reason;
	(void)cap;
	cfg.nlatency_pcts = 0;
	for (char *t = strtok_r(copy, " ", &save); t && cfg.nlatency_pcts < CFG_LATENCY_PCTS_MAX;
	     t = strtok_r(NULL, " ", &save))
		strutil_to_d(t, strlen(t), &cfg.latency_pcts[cfg.nlatency_pcts++]);
	mem_free(copy);
	return 0;
}

/* ---- the table ---- */

#define CFG_FIELD(f) .ptr = &cfg.f, .size = sizeof(cfg.f)

#define OPT_BOOL(n, f, d, fl, chk) \
	{ .name = n, .type = CFG_BOOL, .flags = fl, CFG_FIELD(f), .def = d, .check = chk }
#define OPT_INT(n, f, d, lo, hi, fl, app) \
	{ .name = n, .type = CFG_INT, .flags = fl, CFG_FIELD(f), .def = d, \
	  .min = lo, .max = hi, .apply = app }
#define OPT_MEM(n, f, d, lo, hi, fl, chk) \
	{ .name = n, .type = CFG_MEMORY, .flags = fl, CFG_FIELD(f), .def = d, \
	  .min = lo, .max = hi, .check = chk }
#define OPT_ENUM(n, f, d, e, app) \
	{ .name = n, .type = CFG_ENUM, CFG_FIELD(f), .def = d, .enums = e, .apply = app }
#define OPT_STR(n, f, d, fl, chk, app) \
	{ .name = n, .type = CFG_STRING, .flags = fl, CFG_FIELD(f), .def = d, \
	  .check = chk, .apply = app }
/* A string that may hold NUL bytes, its length in the field f ## _len. */
#define OPT_BSTR(n, f, d, fl, app) \
	{ .name = n, .type = CFG_STRING, .flags = fl, CFG_FIELD(f), .def = d, \
	  .apply = app, .lenp = &cfg.f ## _len }

static const struct cfg_opt cfg_opts[] = {
	/* network */
	OPT_STR("bind", bind, "127.0.0.1 -::1", CFG_MULTI_ARG, NULL, cfg_apply_bind),
	OPT_INT("port", port, "6379", 0, 65535, 0, cfg_apply_port),
	OPT_INT("tcp-backlog", tcp_backlog, "511", 0, INT_MAX, CFG_IMMUTABLE, NULL),
	OPT_INT("tcp-keepalive", tcp_keepalive, "300", 0, INT_MAX, 0, NULL),
	OPT_INT("timeout", timeout, "0", 0, INT_MAX, 0, NULL),
	OPT_INT("maxclients", maxclients, "10000", 1, INT_MAX, 0, NULL),
	OPT_BOOL("protected-mode", protected_mode, "yes", 0, NULL),
	/* threads */
	OPT_INT("shards", shards, "0", 0, 1024, CFG_IMMUTABLE, NULL),
	OPT_INT("io-uring-entries", io_uring_entries, "1024", 1, 32768, CFG_IMMUTABLE, NULL),
	/* general */
	OPT_INT("databases", databases, "16", 1, INT_MAX, CFG_IMMUTABLE, NULL),
	OPT_STR("dir", dir, "./", CFG_IMMUTABLE, NULL, NULL),
	OPT_STR("logfile", logfile, "", 0, NULL, cfg_apply_logfile),
	OPT_ENUM("loglevel", loglevel, "notice", cfg_loglevel_names, cfg_apply_loglevel),
	OPT_STR("pidfile", pidfile, "", CFG_IMMUTABLE, NULL, NULL),
	OPT_INT("hz", hz, "10", 0, INT_MAX, 0, cfg_apply_hz),
	OPT_INT("active-expire-effort", active_expire_effort, "1", 1, 10, 0, NULL),
	OPT_BSTR("requirepass", requirepass, "", 0, cfg_apply_requirepass),
	OPT_STR("aclfile", aclfile, "", CFG_IMMUTABLE, NULL, NULL),
	OPT_ENUM("acl-pubsub-default", acl_pubsub_default, "resetchannels",
		 cfg_pubsub_default_names, NULL),
	OPT_BOOL("always-show-logo", always_show_logo, "no", CFG_IMMUTABLE, NULL),
	OPT_INT("acllog-max-len", acllog_max_len, "128", 0, INT_MAX, 0, NULL),
	/* limits */
	OPT_MEM("proto-max-bulk-len", proto_max_bulk_len, "512mb", 1024 * 1024, LLONG_MAX, 0, NULL),
	OPT_MEM("client-query-buffer-limit", client_query_buffer_limit, "1gb",
		1024 * 1024, LLONG_MAX, 0, NULL),
	OPT_MEM("maxmemory", maxmemory, "0", 0, LLONG_MAX, 0, NULL),
	OPT_ENUM("maxmemory-policy", maxmemory_policy, "noeviction", cfg_policy_names, NULL),
	OPT_INT("maxmemory-samples", maxmemory_samples, "5", 1, INT_MAX, 0, NULL),
	OPT_INT("lfu-log-factor", lfu_log_factor, "10", 0, INT_MAX, 0, NULL),
	OPT_INT("lfu-decay-time", lfu_decay_time, "1", 0, INT_MAX, 0, NULL),
	OPT_BOOL("lazyfree-lazy-user-del", lazyfree_lazy_user_del, "no", 0, NULL),
	/* blob tier */
	OPT_MEM("blob-threshold", blob_threshold, "64kb", 1, LLONG_MAX, 0, NULL),
	OPT_MEM("blob-block-size", blob_block_size, "4096", 4096, 1024 * 1024,
		CFG_IMMUTABLE, cfg_check_pow2),
	OPT_ENUM("blob-fsync", blob_fsync, "everysec", cfg_fsync_names, NULL),
	OPT_MEM("blob-max-bytes", blob_max_bytes, "0", 0, LLONG_MAX, 0, NULL),
	/* data type encodings */
	OPT_INT("hash-max-listpack-entries", hash_max_listpack_entries, "512", 0, INT_MAX, 0, NULL),
	OPT_INT("hash-max-ziplist-entries", hash_max_listpack_entries, "512", 0, INT_MAX, 0, NULL),
	OPT_MEM("hash-max-listpack-value", hash_max_listpack_value, "64", 0, LLONG_MAX, 0, NULL),
	OPT_MEM("hash-max-ziplist-value", hash_max_listpack_value, "64", 0, LLONG_MAX, 0, NULL),
	OPT_INT("set-max-intset-entries", set_max_intset_entries, "512", 0, INT_MAX, 0, NULL),
	OPT_INT("zset-max-listpack-entries", zset_max_listpack_entries, "128", 0, INT_MAX, 0, NULL),
	OPT_INT("zset-max-ziplist-entries", zset_max_listpack_entries, "128", 0, INT_MAX, 0, NULL),
	OPT_MEM("zset-max-listpack-value", zset_max_listpack_value, "64", 0, LLONG_MAX, 0, NULL),
	OPT_MEM("zset-max-ziplist-value", zset_max_listpack_value, "64", 0, LLONG_MAX, 0, NULL),
	OPT_INT("list-max-listpack-size", list_max_listpack_size, "-2", INT_MIN, INT_MAX, 0, NULL),
	OPT_INT("list-max-ziplist-size", list_max_listpack_size, "-2", INT_MIN, INT_MAX, 0, NULL),
	OPT_INT("list-compress-depth", list_compress_depth, "0", 0, INT_MAX, 0, NULL),
	/* Redis compatibility: stored and shown, no effect */
	OPT_STR("client-output-buffer-limit", client_output_buffer_limit,
		"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		CFG_MULTI_ARG, cfg_check_cobl, cfg_apply_cobl),
	OPT_STR("save", save, "", CFG_MULTI_ARG | CFG_ACCUMULATE, cfg_check_save, NULL),
	OPT_BOOL("appendonly", appendonly, "no", 0, NULL),
	OPT_BOOL("daemonize", daemonize, "no", CFG_IMMUTABLE, cfg_check_daemonize),
	OPT_BOOL("set-proc-title", set_proc_title, "yes", CFG_IMMUTABLE, NULL),
	OPT_BOOL("lazyfree-lazy-expire", lazyfree_lazy_expire, "no", 0, NULL),
	OPT_BOOL("lazyfree-lazy-eviction", lazyfree_lazy_eviction, "no", 0, NULL),
	OPT_BOOL("lazyfree-lazy-server-del", lazyfree_lazy_server_del, "no", 0, NULL),
	OPT_BOOL("latency-tracking", latency_tracking, "yes", 0, NULL),
	OPT_STR("latency-tracking-info-percentiles", latency_tracking_info_percentiles,
		"50 99 99.9", CFG_MULTI_ARG, cfg_check_pcts, cfg_apply_pcts),
};

#define CFG_NOPTS ((int)ARRAY_SIZE(cfg_opts))

static_assert(ARRAY_SIZE(cfg_opts) <= sizeof(((struct cfg_load *)0)->seen),
	      "cfg_load.seen must cover every option");

/* ---- small helpers ---- */

/* A message built like printf, owned by the caller (mem_free). */
__attribute__((format(printf, 1, 2)))
static char *cfg_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	ASSERT(n >= 0);
	s = mem_alloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static const struct cfg_opt *cfg_lookup(const char *name)
{
	for (int i = 0; i < CFG_NOPTS; i++)
		if (!strcasecmp(cfg_opts[i].name, name))
			return &cfg_opts[i];
	return NULL;
}

static int cfg_index(const struct cfg_opt *o)
{
	return (int)(o - cfg_opts);
}

static long long cfg_num_read(const struct cfg_opt *o)
{
	switch (o->size) {
	case sizeof(bool):
		return *(bool *)o->ptr;
	case sizeof(int):
		return *(int *)o->ptr;
	case sizeof(long long):
		return *(long long *)o->ptr;
	}
	ASSERT(!"numeric option of unexpected size");
	return 0;
}

static void cfg_num_write(const struct cfg_opt *o, long long v)
{
	switch (o->size) {
	case sizeof(bool):
		*(bool *)o->ptr = v != 0;
		return;
	case sizeof(int):
		*(int *)o->ptr = (int)v;
		return;
	case sizeof(long long):
		*(long long *)o->ptr = v;
		return;
	}
	ASSERT(!"numeric option of unexpected size");
}

/* Swaps the value in: the field takes *v, and *v receives the old value
 * (for a string, the old pointer, now owned by the caller). */
static void cfg_swap(const struct cfg_opt *o, union cfg_val *v)
{
	if (o->type == CFG_STRING) {
		char *old = *(char **)o->ptr;

		*(char **)o->ptr = v->s;
		v->s = old;
		if (o->lenp) {
			size_t oldlen = *o->lenp;

			*o->lenp = v->len;
			v->len = oldlen;
		}
	} else {
		long long old = cfg_num_read(o);

		cfg_num_write(o, v->n);
		v->n = old;
	}
}

static void cfg_val_free(const struct cfg_opt *o, union cfg_val *v)
{
	if (o->type == CFG_STRING) {
		mem_free(v->s);
		v->s = NULL;
	}
}

/* ---- parsing values ---- */

/* Redis's string2ll rules: optional '-', digits, no leading zeros, no "-0",
 * nothing else, within long long. */
static bool cfg_parse_ll(const char *s, long long *out)
{
	unsigned long long v = 0, lim;
	bool neg = false;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s < '1' || *s > '9') {
		if (!neg && s[0] == '0' && s[1] == '\0') {
			*out = 0;
			return true;
		}
		return false;
	}
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (lim - (unsigned long long)(*s - '0')) / 10)
			return false;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	*out = neg ? (long long)(0 - v) : (long long)v;
	return true;
}

/* Redis's memtoull: digits then a unit; no sign, no spaces. "" is 0, as in
 * Redis. Values past 2^64-1 saturate (the range check then refuses them). */
static bool cfg_parse_memory(const char *s, unsigned long long *out)
{
	static const struct { const char *unit; unsigned long long mul; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1000 }, { "kb", 1024 },
		{ "m", 1000 * 1000 }, { "mb", 1024 * 1024 },
		{ "g", 1000ULL * 1000 * 1000 }, { "gb", 1024ULL * 1024 * 1024 },
	};
	unsigned long long v = 0, mul = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p++ - '0');

		v = v > (ULLONG_MAX - d) / 10 ? ULLONG_MAX : v * 10 + d;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcasecmp(p, units[i].unit))
			mul = units[i].mul;
	if (!mul)
		return false;
	*out = v > ULLONG_MAX / mul ? ULLONG_MAX : v * mul;
	return true;
}

/* Lists the names of an enum as Redis does in its error. */
static void cfg_enum_list(const struct cfg_enum *e, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "argument(s) must be one of the following: ");

	for (; e->name && n < cap; e++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", e->name, e[1].name ? ", " : "");
}

/* Text to value by the option's type, then its check hook. text is
 * NUL-terminated; len is its length, past which only a binary-safe string
 * (lenp) looks. Returns 0 with *v set (a string owned by the caller), or -1
 * with reason filled. */
static int cfg_parse(const struct cfg_opt *o, const char *text, size_t len, union cfg_val *v,
		     char *reason, size_t cap)
{
	const char *why = NULL;

	switch (o->type) {
	case CFG_BOOL:
		if (!strcasecmp(text, "yes"))
			v->n = 1;
		else if (!strcasecmp(text, "no"))
			v->n = 0;
		else
			why = "argument must be 'yes' or 'no'";
		break;
	case CFG_INT:
		if (!cfg_parse_ll(text, &v->n))
			why = "argument couldn't be parsed into an integer";
		else if (v->n < o->min || v->n > o->max)
			goto out_of_range;
		break;
	case CFG_MEMORY: {
		unsigned long long u;

		if (!cfg_parse_memory(text, &u)) {
			why = "argument must be a memory value";
			break;
		}
		if (u < (unsigned long long)o->min || u > (unsigned long long)o->max)
			goto out_of_range;
		v->n = (long long)u;
		break;
	}
	case CFG_ENUM:
		for (const struct cfg_enum *e = o->enums; e->name; e++) {
			if (!strcasecmp(text, e->name)) {
				v->n = e->val;
				goto parsed;
			}
		}
		cfg_enum_list(o->enums, reason, cap);
		return -1;
	case CFG_STRING:
		if (!o->lenp)
			len = strlen(text);
		v->s = mem_strndup(text, len);
		v->len = len;
		break;
	}
	if (why) {
		snprintf(reason, cap, "%s", why);
		return -1;
	}
parsed:
	if (o->check && (why = o->check(v))) {
		cfg_val_free(o, v);
		snprintf(reason, cap, "%s", why);
		return -1;
	}
	if (o->check && o->type == CFG_STRING)
		v->len = strlen(v->s);	/* the hook may have rewritten it */
	return 0;
out_of_range:
	snprintf(reason, cap, "argument must be between %lld and %lld inclusive", o->min, o->max);
	return -1;
}

/* The value as CONFIG GET shows it: the string field itself, an enum's
 * name, or digits written into tmp (at least 24 bytes); *len its length. */
static const char *cfg_render(const struct cfg_opt *o, char *tmp, size_t cap, size_t *len)
{
	const char *r;
	long long n;

	if (o->type == CFG_STRING) {
		r = *(char **)o->ptr;
		if (!r)
			r = "";
		*len = o->lenp ? *o->lenp : strlen(r);
		return r;
	}
	n = cfg_num_read(o);
	switch (o->type) {
	case CFG_BOOL:
		r = n ? "yes" : "no";
		break;
	case CFG_ENUM:
		r = "unknown";
		for (const struct cfg_enum *e = o->enums; e->name; e++)
			if (e->val == n)
				r = e->name;
		break;
	default:
		snprintf(tmp, cap, "%lld", n);
		r = tmp;
		break;
	}
	*len = strlen(r);
	return r;
}

/* ---- loading ---- */

static void cfg_argv_free(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		mem_free(argv[i]);
	mem_free(argv);
}

static int cfg_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Splits one line into words with redis.conf's quoting rules. Returns 0 with
 * *argvp (owned by the caller, cfg_argv_free) or -1 on unbalanced quotes. */
static int cfg_split(const char *p, int *argcp, char ***argvp)
{
	size_t len = strlen(p);
	char **argv = NULL;
	int argc = 0;
	char *w = NULL;

	for (;;) {
		size_t n = 0;
		char quote = 0;

		while (cfg_is_blank(*p))
			p++;
		if (!*p)
			break;
		w = mem_alloc(len + 1);	/* a word is never longer than its line */
		for (;;) {
			char c = *p;

			if (quote == '"') {
				if (!c)
					goto unbalanced;
				if (c == '\\' && p[1] == 'x' && cfg_hex(p[2]) >= 0 && cfg_hex(p[3]) >= 0) {
					w[n++] = (char)(cfg_hex(p[2]) * 16 + cfg_hex(p[3]));
					p += 4;
					continue;
				}
				if (c == '\\' && p[1]) {
					switch (p[1]) {
					case 'n': c = '\n'; break;
					case 'r': c = '\r'; break;
					case 't': c = '\t'; break;
					case 'b': c = '\b'; break;
					case 'a': c = '\a'; break;
					default: c = p[1]; break;
					}
					w[n++] = c;
					p += 2;
					continue;
				}
				p++;
				if (c == '"') {
					/* A closing quote must end the word. */
					if (*p && !cfg_is_blank(*p))
						goto unbalanced;
					break;
				}
				w[n++] = c;
			} else if (quote == '\'') {
				if (!c)
					goto unbalanced;
				if (c == '\\' && p[1] == '\'') {
					w[n++] = '\'';
					p += 2;
					continue;
				}
				p++;
				if (c == '\'') {
					if (*p && !cfg_is_blank(*p))
						goto unbalanced;
					break;
				}
				w[n++] = c;
			} else {
				if (!c || cfg_is_blank(c))
					break;
				p++;
				if (c == '"' || c == '\'')
					quote = c;
				else
					w[n++] = c;
			}
		}
		w[n] = '\0';
		argv = mem_realloc(argv, sizeof(*argv) * (size_t)(argc + 1));
		argv[argc++] = w;
		w = NULL;
	}
	*argcp = argc;
	*argvp = argv;
	return 0;
unbalanced:
	mem_free(w);
	cfg_argv_free(argc, argv);
	return -1;
}

/* argv[from..argc) joined with single spaces, owned by the caller. */
static char *cfg_join(int argc, char **argv, int from)
{
	size_t len = 1, n = 0;
	char *s;

	for (int i = from; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = mem_alloc(len);
	for (int i = from; i < argc; i++) {
		size_t l = strlen(argv[i]);

		if (i > from)
			s[n++] = ' ';
		memcpy(s + n, argv[i], l);
		n += l;
	}
	s[n] = '\0';
	return s;
}

/* Reads a whole file; returns 0 or -errno. *out is owned by the caller. */
static int cfg_read_file(const char *path, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = mem_alloc(cap);
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			cap *= 2;
			buf = mem_realloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			mem_free(buf);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static int cfg_load_text(struct cfg_load *ld, const char *text, const char *src, char **err);

/* One directive, already split. Returns 0; or -1 with reason filled; or -2
 * when *err is already set (an error inside an included file). */
static int cfg_directive(struct cfg_load *ld, int argc, char **argv, char *reason,
			 size_t cap, char **err)
{
	const struct cfg_opt *o;
	union cfg_val v;
	char *text;
	int rc;

	if (!strcasecmp(argv[0], "include")) {
		char *body;

		if (argc != 2) {
			snprintf(reason, cap, "wrong number of arguments");
			return -1;
		}
		if (ld->depth >= CFG_INCLUDE_MAX) {
			snprintf(reason, cap, "include nesting deeper than %d", CFG_INCLUDE_MAX);
			return -1;
		}
		rc = cfg_read_file(argv[1], &body);
		if (rc < 0) {
			snprintf(reason, cap, "can't open config file '%s': %s", argv[1], strerror(-rc));
			return -1;
		}
		ld->depth++;
		rc = cfg_load_text(ld, body, argv[1], err);
		ld->depth--;
		mem_free(body);
		return rc < 0 ? -2 : 0;
	}

	if (!strcasecmp(argv[0], "user") && argc >= 2) {
		char *why = NULL;

		if (acl_config_user_add(argc - 1, argv + 1, &why) < 0) {
			snprintf(reason, cap, "%s", why);
			mem_free(why);
			return -1;
		}
		return 0;
	}
	o = cfg_lookup(argv[0]);
	if (!o) {
		snprintf(reason, cap, "Bad directive or wrong number of arguments");
		return -1;
	}
	if (!(o->flags & CFG_MULTI_ARG) && argc != 2) {
		snprintf(reason, cap, "wrong number of arguments");
		return -1;
	}
	text = cfg_join(argc, argv, 1);
	if ((o->flags & CFG_ACCUMULATE) && ld->seen[cfg_index(o)] && *text) {
		const char *cur = *(char **)o->ptr;

		if (cur && *cur) {
			char *both = cfg_strf("%s %s", cur, text);

			mem_free(text);
			text = both;
		}
	}
	ld->seen[cfg_index(o)] = true;
	rc = cfg_parse(o, text, strlen(text), &v, reason, cap);
	mem_free(text);
	if (rc < 0)
		return -1;
	cfg_swap(o, &v);
	cfg_val_free(o, &v);
	if (o->apply && o->apply(reason, cap) < 0)
		return -1;
	return 0;
}

/* Formats the error of one line the way every load reports it. */
static char *cfg_line_error(int lineno, const char *src, const char *line, const char *reason)
{
	if (src)
		return cfg_strf("line %d (%s): >>> '%s': %s", lineno, src, line, reason);
	return cfg_strf("line %d: >>> '%s': %s", lineno, line, reason);
}

/* Applies text line by line. src names an included file (NULL at the top
 * level) for the error message. */
static int cfg_load_text(struct cfg_load *ld, const char *text, const char *src, char **err)
{
	char reason[CFG_REASON_MAX];
	int lineno = 0;

	while (*text) {
		const char *eol = strchr(text, '\n');
		size_t len = eol ? (size_t)(eol - text) : strlen(text);
		char *line, *start, *end;
		char **argv;
		int argc, rc;

		lineno++;
		line = mem_strndup(text, len);
		text += len + (eol ? 1 : 0);
		start = line;
		while (cfg_is_blank(*start))
			start++;
		end = start + strlen(start);
		while (end > start && cfg_is_blank(end[-1]))
			*--end = '\0';
		if (!*start || *start == '#') {
			mem_free(line);
			continue;
		}
		if (cfg_split(start, &argc, &argv) < 0) {
			*err = cfg_line_error(lineno, src, start, "Unbalanced quotes in configuration line");
			mem_free(line);
			return -1;
		}
		if (argc == 0) {
			mem_free(argv);
			mem_free(line);
			continue;
		}
		rc = cfg_directive(ld, argc, argv, reason, sizeof(reason), err);
		cfg_argv_free(argc, argv);
		if (rc == -1)
			*err = cfg_line_error(lineno, src, start, reason);
		mem_free(line);
		if (rc < 0)
			return -1;
	}
	return 0;
}

void cfg_init_defaults(void)
{
	char reason[CFG_REASON_MAX];

	for (int i = 0; i < CFG_NOPTS; i++) {
		const struct cfg_opt *o = &cfg_opts[i];
		union cfg_val v;

		/* A default that does not parse is a bug in the table. */
		ASSERT(cfg_parse(o, o->def, strlen(o->def), &v, reason, sizeof(reason)) == 0);
		cfg_swap(o, &v);
		cfg_val_free(o, &v);
	}
	for (int i = 0; i < CFG_NOPTS; i++)
		if (cfg_opts[i].apply)
			cfg_opts[i].apply(reason, sizeof(reason));
}

void cfg_free(void)
{
	for (int i = 0; i < CFG_NOPTS; i++) {
		if (cfg_opts[i].type == CFG_STRING) {
			mem_free(*(char **)cfg_opts[i].ptr);
			*(char **)cfg_opts[i].ptr = NULL;
		}
	}
}

int cfg_load_file(const char *path, char **err)
{
	struct cfg_load ld = { 0 };
	char *body;
	int rc;

	rc = cfg_read_file(path, &body);
	if (rc < 0) {
		*err = cfg_strf("can't open config file '%s': %s", path, strerror(-rc));
		return -1;
	}
	rc = cfg_load_text(&ld, body, NULL, err);
	mem_free(body);
	return rc;
}

int cfg_load_string(const char *text, char **err)
{
	struct cfg_load ld = { 0 };

	return cfg_load_text(&ld, text, NULL, err);
}

int cfg_load_args(int argc, char **argv, char **err)
{
	char reason[CFG_REASON_MAX];
	struct cfg_load ld = { 0 };
	int i = 0, lineno = 0;

	while (i < argc) {
		char **words;
		char *line;
		int j, n, rc;

		lineno++;
		if (strncmp(argv[i], "--", 2) != 0) {
			*err = cfg_strf("line %d: >>> '%s': expected an option name starting with '--'",
					lineno, argv[i]);
			return -1;
		}
		for (j = i + 1; j < argc && strncmp(argv[j], "--", 2) != 0; j++)
			;
		/* Words are copied so the directive sees the same argv as a file
		 * line: name first, then its arguments verbatim (no re-quoting). */
		n = j - i;
		words = mem_alloc(sizeof(*words) * (size_t)n);
		words[0] = mem_strndup(argv[i] + 2, strlen(argv[i] + 2));
		for (int k = 1; k < n; k++)
			words[k] = mem_strndup(argv[i + k], strlen(argv[i + k]));
		rc = cfg_directive(&ld, n, words, reason, sizeof(reason), err);
		if (rc == -1) {
			line = cfg_join(n, words, 0);
			*err = cfg_line_error(lineno, NULL, line, reason);
			mem_free(line);
		}
		cfg_argv_free(n, words);
		if (rc < 0)
			return -1;
		i = j;
	}
	return 0;
}

/* ---- run time ---- */

int cfg_set(const char *name, const char *value, char **err)
{
	return cfg_set_many(1, &name, &value, err);
}

int cfg_set_many(int npairs, const char *const *names, const char *const *values, char **err)
{
	return cfg_set_many_len(npairs, names, values, NULL, err);
}

int cfg_set_many_len(int npairs, const char *const *names, const char *const *values,
		     const size_t *lens, char **err)
{
	char reason[CFG_REASON_MAX];
	const struct cfg_opt **opts;
	union cfg_val *old;
	int i, nset = 0, bad = -1;

	if (npairs <= 0)
		return 0;
	opts = mem_calloc((size_t)npairs, sizeof(*opts));
	old = mem_calloc((size_t)npairs, sizeof(*old));

	/* Every name is vetted before any value changes: the first problem in
	 * argument order is the one reported, as Redis does. */
	for (i = 0; i < npairs; i++) {
		opts[i] = cfg_lookup(names[i]);
		if (!opts[i]) {
			*err = cfg_strf("Unknown option or number of arguments for CONFIG SET - '%s'",
					names[i]);
			goto out;
		}
		if (opts[i]->flags & CFG_IMMUTABLE) {
			*err = cfg_strf("CONFIG SET failed (possibly related to argument '%s') - "
					"can't set immutable config", names[i]);
			goto out;
		}
		for (int j = 0; j < i; j++) {
			if (opts[j] == opts[i]) {
				*err = cfg_strf("CONFIG SET failed (possibly related to argument '%s') - "
						"duplicate parameter", names[i]);
				goto out;
			}
		}
	}

	/* Store the new values, keeping the old ones aside in old[]. */
	for (nset = 0; nset < npairs; nset++) {
		size_t len = lens ? lens[nset] : strlen(values[nset]);

		if (cfg_parse(opts[nset], values[nset], len, &old[nset], reason, sizeof(reason)) < 0) {
			bad = nset;
			goto rollback;
		}
		cfg_swap(opts[nset], &old[nset]);
	}
	for (i = 0; i < npairs; i++) {
		if (opts[i]->apply && opts[i]->apply(reason, sizeof(reason)) < 0) {
			bad = i;
			goto rollback;
		}
	}
	for (i = 0; i < npairs; i++)
		cfg_val_free(opts[i], &old[i]);
	mem_free(opts);
	mem_free(old);
	return 0;

rollback:
	/* Swapping back hands the rejected new values to old[], to be freed. */
	for (i = 0; i < nset; i++) {
		cfg_swap(opts[i], &old[i]);
		cfg_val_free(opts[i], &old[i]);
	}
	for (i = 0; i < nset; i++) {
		char ignored[CFG_REASON_MAX];

		if (opts[i]->apply)
			opts[i]->apply(ignored, sizeof(ignored));
	}
	*err = cfg_strf("CONFIG SET failed (possibly related to argument '%s') - %s",
			opts[bad]->name, reason);
out:
	mem_free(opts);
	mem_free(old);
	return -1;
}

/* Matches one single-character token of a glob (?, [class], \x or a
 * literal) at p against c, case-insensitively; *next gets the token after. */
static bool cfg_glob_token(const char *p, int c, const char **next)
{
	bool neg = false, hit = false;

	c = cfg_lower((char)c);
	if (*p == '?') {
		*next = p + 1;
		return true;
	}
	if (*p == '[') {
		p++;
		if (*p == '^') {
			neg = true;
			p++;
		}
		for (; *p && *p != ']'; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				hit |= cfg_lower(*p) == c;
			} else if (p[1] == '-' && p[2] && p[2] != ']') {
				int lo = cfg_lower(p[0]), hi = cfg_lower(p[2]);

				if (lo > hi) {
					int t = lo;

					lo = hi;
					hi = t;
				}
				hit |= c >= lo && c <= hi;
				p += 2;
			} else {
				hit |= cfg_lower(*p) == c;
			}
		}
		/* An unterminated class runs to the end of the pattern. */
		*next = *p ? p + 1 : p;
		return hit != neg;
	}
	if (*p == '\\' && p[1])
		p++;
	*next = p + 1;
	return cfg_lower(*p) == c;
}

/* Case-insensitive glob: * ? [abc] [^a] [a-z] and \ escapes, the rules of
 * Redis's CONFIG GET patterns. Every token but '*' matches exactly one
 * character, so on a mismatch only the last '*' needs to take one more
 * character: time is bounded by pattern length times name length, whatever
 * a client sends. */
static bool cfg_glob(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;
	const char *next;

	while (*s) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (!*p)
				return true;
			star_p = p;
			star_s = s;
			continue;
		}
		if (*p && cfg_glob_token(p, *s, &next)) {
			p = next;
			s++;
			continue;
		}
		if (!star_p)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (*p == '*')
		p++;
	return !*p;
}

void cfg_get(const char *pattern,
	     void (*fn)(const char *name, const char *value, size_t vlen, void *arg), void *arg)
{
	const char *v;
	char tmp[32];
	size_t len;

	/* Without * ? or [ the pattern is a name, looked up as is (a backslash
	 * escapes nothing there) and answered with the name as asked: Redis 7.0
	 * does both (CONFIG GET MAXMEMORY answers "MAXMEMORY"). */
	if (!strpbrk(pattern, "*?[")) {
		const struct cfg_opt *o = cfg_lookup(pattern);

		if (o) {
			v = cfg_render(o, tmp, sizeof(tmp), &len);
			fn(pattern, v, len, arg);
		}
		return;
	}
	for (int i = 0; i < CFG_NOPTS; i++) {
		if (cfg_glob(pattern, cfg_opts[i].name)) {
			v = cfg_render(&cfg_opts[i], tmp, sizeof(tmp), &len);
			fn(cfg_opts[i].name, v, len, arg);
		}
	}
}

bool cfg_get_one(const char *name, char *buf, size_t cap)
{
	const struct cfg_opt *o = cfg_lookup(name);
	char tmp[32];
	size_t len;

	if (!o)
		return false;
	if (cap)
		snprintf(buf, cap, "%s", cfg_render(o, tmp, sizeof(tmp), &len));
	return true;
}

const char *cfg_policy_name(int policy)
{
	for (const struct cfg_enum *e = cfg_policy_names; e->name; e++)
		if (e->val == policy)
			return e->name;
	return "unknown";
}
