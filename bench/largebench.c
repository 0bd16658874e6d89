/*
 * bench/largebench.c — load generator for large values, RESP or memcached text.
 *
 * Opens -c connections to one server, one thread each, and runs a SET phase
 * and then a GET phase of values of -s bytes, each phase either for -t
 * seconds or until -n bytes have been moved. Every connection has one
 * request in flight (no pipelining): the time from the first byte sent to
 * the last byte of the reply is that request's latency. Bench/large.sh
 * builds it with gcc and runs it against strata, redis-server and memcached.
 *
 * Keys and values. Operations are numbered by one counter shared by the
 * threads of a phase. SET number i writes key i mod K, so the first K SETs
 * write each key once and later ones overwrite; a GET phase reads the K' =
 * min(K, SETs done) keys of the SET phase before it in a scattered order
 * that visits each of them once per K' GETs. Key k is "<prefix><k>", and
 * its value is a 16-byte stamp naming k followed by bytes of a fixed
 * pseudo-random pattern, taken from an offset that depends on k:
 *
 *     value(k)[j] = j < 16 ? stamp(k)[j] : pattern[off(k) + j]
 *
 * A SET sends that straight from the pattern with writev, so the client
 * generates nothing per request. A GET checks the length exactly and the
 * content at six 64-byte windows (the start with the stamp, the end, and
 * four drawn at random for each GET) as the reply streams through a small
 * receive buffer: a 16 MiB value never needs 16 MiB of client memory, and a
 * value of the wrong key or with a shifted or torn region is caught.
 *
 * What counts. An error reply (-OOM, SERVER_ERROR ...) and a GET miss are
 * counted and reported, and the run goes on: they are the server's answer.
 * A wrong length, wrong content, a reply that is not the protocol, or a
 * lost connection stop every thread and make the exit status 1. MB/s counts
 * the value bytes of SETs answered OK and of GET hits, over the wall time
 * of the phase, with 1 MB = 10^6 bytes (as fio and iperf3 report).
 *
 * Output: one line per phase of key=value pairs on stdout, e.g.
 *
 *     phase=set proto=resp size=1048576 conns=8 keys=1024 ops=5120 ok=5120
 *     misses=0 errors=0 bytes=5368709120 secs=10.012 mb_s=536.2
 *     ops_s=511.4 p50_ms=14.1 p99_ms=40.3 max_ms=61.0 rss_max_kb=...
 *     hwm_kb=...
 *
 * (on one line). With -w PID, a thread samples VmRSS of that process every
 * 20 ms during each phase and reports its maximum and, at the phase's end,
 * VmHWM (the process's peak since it started).
 */
#define _GNU_SOURCE		/* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define LB_STAMP_LEN	16		/* bytes of key stamp at a value's start */
#define LB_PATTERN_PAD	4096		/* off(k) ranges over [0, LB_PATTERN_PAD) */
#define LB_WINDOW	64		/* bytes in one verified window */
#define LB_NWINDOWS	6		/* windows per GET: start, end, 4 random */
#define LB_RECV_BUF	(256 * 1024)	/* receive buffer per connection */
#define LB_LINE_MAX	1024		/* longest reply line accepted */
#define LB_ERR_LEN	160		/* first error reply kept for the report */

enum lb_proto { LB_RESP, LB_MEMCACHE };

/* Command line, read-only once the threads start. */
struct lb_opts {
	const char *host;	/* IPv4 address of the server */
	int port;		/* its TCP port */
	enum lb_proto proto;	/* RESP (redis, strata) or memcached text */
	size_t size;		/* value size in bytes */
	int conns;		/* connections, one thread each */
	double seconds;		/* phase length; 0: bounded by total_bytes */
	uint64_t total_bytes;	/* bytes per phase when seconds is 0 */
	uint64_t keys;		/* key space of the SET phase */
	const char *prefix;	/* key prefix */
	bool do_set;		/* run the SET phase */
	bool do_get;		/* run the GET phase */
	pid_t watch_pid;	/* process whose RSS is sampled, or 0 */
	int timeout_s;		/* send/receive timeout per socket call */
};

/* One phase, shared by its threads; fields below `next` change during it. */
struct lb_phase {
	bool is_set;		/* SET phase, else GET phase */
	uint64_t ops_max;	/* claim no op numbered at or above this */
	uint64_t keys;		/* keys the ops range over */
	uint64_t stride;	/* GET: key = op * stride mod keys; coprime */
	double deadline;	/* monotonic seconds; 0: none */
	pthread_barrier_t start; /* all threads connected: the clock starts */
	_Atomic uint64_t next;	/* next op number to claim */
	_Atomic bool failed;	/* a thread hit a fatal error: all stop */
};

/* A connection and the thread that drives it; owned by that thread during
 * a phase and read by main only after pthread_join. */
struct lb_conn {
	int id;			/* 0 .. conns-1 */
	int fd;			/* connected socket, blocking */
	char *buf;		/* receive buffer, LB_RECV_BUF bytes */
	size_t rd;		/* unread bytes are buf[rd, wr) */
	size_t wr;
	uint64_t rng;		/* xorshift state for the GET windows */
	uint64_t *lat_ns;	/* latency of each completed op */
	size_t nlat;
	size_t lat_cap;
	uint64_t ok;		/* SETs answered OK, GET hits */
	uint64_t misses;	/* GETs of a key the server did not have */
	uint64_t errors;	/* error replies */
	uint64_t bytes;		/* value bytes of ok ops */
	char first_error[LB_ERR_LEN]; /* first error reply, "" if none */
	struct lb_phase *phase;	/* the phase being run */
	pthread_t thread;
};

/* The RSS sampler's state, shared between it and main. */
struct lb_watch {
	pid_t pid;		/* process watched */
	_Atomic bool stop;	/* main asks the sampler to finish */
	long rss_max_kb;	/* largest VmRSS seen; written by the sampler */
	pthread_t thread;
};

static struct lb_opts opts;
static unsigned char *pattern;	/* opts.size + LB_PATTERN_PAD bytes */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("largebench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Parses "123", "64k", "1m", "5g" (powers of 1024) into *out; false if bad. */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	}
	if ((*end == 'b' || *end == 'B') && mul > 1)
		end++;
	if (*end || v > UINT64_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}

/* ---- keys and values ---- */

static size_t key_format(char *dst, size_t cap, uint64_t key)
{
	int n = snprintf(dst, cap, "%s%" PRIu64, opts.prefix, key);

	return n < 0 || (size_t)n >= cap ? cap - 1 : (size_t)n;
}

static void stamp_format(char stamp[LB_STAMP_LEN + 1], uint64_t key)
{
	snprintf(stamp, LB_STAMP_LEN + 1, "K%014" PRIu64 "#", (uint64_t)(key % 100000000000000ull));
}

static size_t pattern_offset(uint64_t key)
{
	return (size_t)((key * 7919u) % LB_PATTERN_PAD);
}

/* Fills the pattern from a fixed seed, so a later process (a GET-only run)
 * expects the same values. */
static void pattern_init(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	size_t n = opts.size + LB_PATTERN_PAD;

	pattern = malloc(n);
	if (!pattern)
		die("out of memory for a %zu-byte pattern", n);
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = xorshift64(&s);

		memcpy(pattern + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* ---- socket I/O ---- */

static int conn_open(struct lb_conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(opts.port) };
	struct timeval tv = { .tv_sec = opts.timeout_s };
	int one = 1;

	if (inet_pton(AF_INET, opts.host, &sa.sin_addr) != 1)
		return -EINVAL;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(c->fd);
		c->fd = -1;
		return err;
	}
	return 0;
}

/* Writes all of iov[0..n), which it consumes (bases and lengths change). */
static int send_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return 0;
}

/* Moves the unread bytes to the buffer's start and reads more after them.
 * Views into the buffer taken before are invalid afterwards. */
static int recv_more(struct lb_conn *c)
{
	ssize_t r;

	if (c->rd > 0) {
		memmove(c->buf, c->buf + c->rd, c->wr - c->rd);
		c->wr -= c->rd;
		c->rd = 0;
	}
	if (c->wr == LB_RECV_BUF)
		return -ENOBUFS;
	do
		r = recv(c->fd, c->buf + c->wr, LB_RECV_BUF - c->wr, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (r == 0)
		return -ECONNRESET;
	c->wr += r;
	return 0;
}

/* Consumes one line and returns it without its CRLF, NUL-terminated, as a
 * view valid until the next read from this connection. */
static int read_line(struct lb_conn *c, char **line, size_t *len)
{
	for (;;) {
		char *p = c->wr - c->rd >= 2 ? memmem(c->buf + c->rd, c->wr - c->rd, "\r\n", 2) : NULL;

		if (p) {
			*line = c->buf + c->rd;
			*len = p - *line;
			*p = '\0';
			c->rd += *len + 2;
			return 0;
		}
		if (c->wr - c->rd > LB_LINE_MAX)
			return -EPROTO;
		int rc = recv_more(c);
		if (rc < 0)
			return rc;
	}
}

/* ---- verification ---- */

static unsigned char expected_byte(const char *stamp, uint64_t key, size_t j)
{
	return j < LB_STAMP_LEN ? (unsigned char)stamp[j] : pattern[pattern_offset(key) + j];
}

/* Checks the bytes seg[0..n), which are value bytes [pos, pos + n), against
 * the windows that start at win[]; returns the first wrong position or
 * SIZE_MAX. */
static size_t check_segment(const unsigned char *seg, size_t pos, size_t n,
			    const size_t win[LB_NWINDOWS], const char *stamp, uint64_t key)
{
	for (int w = 0; w < LB_NWINDOWS; w++) {
		size_t a = win[w] > pos ? win[w] : pos;
		size_t b = win[w] + LB_WINDOW < pos + n ? win[w] + LB_WINDOW : pos + n;

		for (size_t j = a; j < b; j++)
			if (seg[j - pos] != expected_byte(stamp, key, j))
				return j;
	}
	return SIZE_MAX;
}

static void note_fatal(struct lb_conn *c, const char *fmt, ...)
{
	va_list ap;
	char msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The first fatal error is the one worth reading; later ones are
	 * threads stopping because of it. */
	if (!atomic_exchange(&c->phase->failed, true))
		fprintf(stderr, "largebench: conn %d: %s\n", c->id, msg);
}

/* Consumes a value of len bytes and its CRLF, checking its length and its
 * windows; 0 if it is key's value, -EBADMSG (reported) if not, or an I/O
 * error. */
static int read_value(struct lb_conn *c, uint64_t key, size_t len)
{
	char stamp[LB_STAMP_LEN + 1];
	size_t win[LB_NWINDOWS];
	size_t pos = 0, bad;
	char *line;
	size_t line_len;
	int rc;

	if (len != opts.size) {
		note_fatal(c, "GET %s%" PRIu64 ": length %zu, expected %zu",
			   opts.prefix, key, len, opts.size);
		return -EBADMSG;
	}
	stamp_format(stamp, key);
	win[0] = 0;
	win[1] = len - LB_WINDOW;
	for (int w = 2; w < LB_NWINDOWS; w++)
		win[w] = xorshift64(&c->rng) % (len - LB_WINDOW + 1);
	while (pos < len) {
		size_t n;

		if (c->rd == c->wr) {
			c->rd = c->wr = 0;
			rc = recv_more(c);
			if (rc < 0)
				return rc;
		}
		n = c->wr - c->rd;
		if (n > len - pos)
			n = len - pos;
		bad = check_segment((unsigned char *)c->buf + c->rd, pos, n, win, stamp, key);
		if (bad != SIZE_MAX) {
			note_fatal(c, "GET %s%" PRIu64 ": byte %zu is 0x%02x, expected 0x%02x",
				   opts.prefix, key, bad,
				   (unsigned char)c->buf[c->rd + bad - pos], expected_byte(stamp, key, bad));
			return -EBADMSG;
		}
		c->rd += n;
		pos += n;
	}
	rc = read_line(c, &line, &line_len);
	if (rc < 0)
		return rc;
	if (line_len != 0) {
		note_fatal(c, "GET %s%" PRIu64 ": %zu stray bytes after the value", opts.prefix, key, line_len);
		return -EBADMSG;
	}
	return 0;
}

/* ---- one request ---- */

enum lb_outcome { LB_OK, LB_MISS, LB_ERROR };

static void note_error(struct lb_conn *c, const char *line)
{
	c->errors++;
	if (!c->first_error[0])
		snprintf(c->first_error, sizeof(c->first_error), "%s", line);
}

static bool is_error_line(const char *line)
{
	return line[0] == '-' || !strncmp(line, "SERVER_ERROR", 12) ||
	       !strncmp(line, "CLIENT_ERROR", 12) || !strcmp(line, "ERROR");
}

/* SETs key; *out tells how the server answered. */
static int op_set(struct lb_conn *c, uint64_t key, enum lb_outcome *out)
{
	char hdr[512], k[256], stamp[LB_STAMP_LEN + 1];
	size_t klen = key_format(k, sizeof(k), key);
	size_t off = pattern_offset(key);
	int hlen;
	char *line;
	size_t len;
	int rc;

	if (opts.proto == LB_RESP)
		hlen = snprintf(hdr, sizeof(hdr), "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n",
				klen, k, opts.size);
	else
		hlen = snprintf(hdr, sizeof(hdr), "set %s 0 0 %zu\r\n", k, opts.size);
	stamp_format(stamp, key);
	struct iovec iov[4] = {
		{ hdr, (size_t)hlen },
		{ stamp, LB_STAMP_LEN },
		{ pattern + off + LB_STAMP_LEN, opts.size - LB_STAMP_LEN },
		{ "\r\n", 2 },
	};
	rc = send_all(c->fd, iov, 4);
	if (rc < 0)
		return rc;
	rc = read_line(c, &line, &len);
	if (rc < 0)
		return rc;
	if (opts.proto == LB_RESP ? line[0] == '+' : !strcmp(line, "STORED")) {
		*out = LB_OK;
	} else if (is_error_line(line)) {
		note_error(c, line);
		*out = LB_ERROR;
	} else {
		note_fatal(c, "SET %s: unexpected reply \"%.80s\"", k, line);
		return -EBADMSG;
	}
	return 0;
}

/* GETs key and checks the value; *out tells how the server answered. */
static int op_get(struct lb_conn *c, uint64_t key, enum lb_outcome *out)
{
	char req[512], k[256];
	size_t klen = key_format(k, sizeof(k), key);
	int n;
	char *line, *end;
	size_t len;
	unsigned long long vlen;
	int rc;

	if (opts.proto == LB_RESP)
		n = snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", klen, k);
	else
		n = snprintf(req, sizeof(req), "get %s\r\n", k);
	struct iovec iov[1] = { { req, (size_t)n } };
	rc = send_all(c->fd, iov, 1);
	if (rc < 0)
		return rc;
	rc = read_line(c, &line, &len);
	if (rc < 0)
		return rc;
	if (is_error_line(line)) {
		note_error(c, line);
		*out = LB_ERROR;
		return 0;
	}
	if (opts.proto == LB_RESP) {
		if (!strcmp(line, "$-1") || !strcmp(line, "_")) {
			*out = LB_MISS;
			return 0;
		}
		if (line[0] != '$')
			goto bad_reply;
		errno = 0;
		vlen = strtoull(line + 1, &end, 10);
		if (errno || end == line + 1 || *end)
			goto bad_reply;
	} else {
		size_t plen = strlen("VALUE ") + klen + 1;

		if (!strcmp(line, "END")) {
			*out = LB_MISS;
			return 0;
		}
		/* VALUE <key> <flags> <bytes> */
		if (len < plen || strncmp(line, "VALUE ", 6) || memcmp(line + 6, k, klen) ||
		    line[plen - 1] != ' ')
			goto bad_reply;
		strtoul(line + plen, &end, 10);
		errno = 0;
		vlen = strtoull(end, &end, 10);
		if (errno || *end)
			goto bad_reply;
	}
	rc = read_value(c, key, (size_t)vlen);
	if (rc < 0)
		return rc;
	if (opts.proto == LB_MEMCACHE) {
		rc = read_line(c, &line, &len);
		if (rc < 0)
			return rc;
		if (strcmp(line, "END"))
			goto bad_reply;
	}
	*out = LB_OK;
	return 0;

bad_reply:
	note_fatal(c, "GET %s: unexpected reply \"%.80s\"", k, line);
	return -EBADMSG;
}

/* ---- threads ---- */

static int lat_push(struct lb_conn *c, uint64_t ns)
{
	if (c->nlat == c->lat_cap) {
		size_t cap = c->lat_cap ? c->lat_cap * 2 : 4096;
		uint64_t *p = realloc(c->lat_ns, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->lat_ns = p;
		c->lat_cap = cap;
	}
	c->lat_ns[c->nlat++] = ns;
	return 0;
}

static void *conn_main(void *arg)
{
	struct lb_conn *c = arg;
	struct lb_phase *ph = c->phase;

	pthread_barrier_wait(&ph->start);
	while (!atomic_load(&ph->failed)) {
		enum lb_outcome out;
		uint64_t i, key, t0;
		int rc;

		if (ph->deadline > 0 && now_s() >= ph->deadline)
			break;
		i = atomic_fetch_add(&ph->next, 1);
		if (i >= ph->ops_max)
			break;
		key = ph->is_set ? i % ph->keys : (i % ph->keys) * ph->stride % ph->keys;
		t0 = now_ns();
		rc = ph->is_set ? op_set(c, key, &out) : op_get(c, key, &out);
		if (rc < 0) {
			if (rc != -EBADMSG)
				note_fatal(c, "%s %s%" PRIu64 ": %s", ph->is_set ? "SET" : "GET",
					   opts.prefix, key, strerror(-rc));
			break;
		}
		if (lat_push(c, now_ns() - t0) < 0) {
			note_fatal(c, "out of memory for latencies");
			break;
		}
		if (out == LB_OK) {
			c->ok++;
			c->bytes += opts.size;
		} else if (out == LB_MISS) {
			c->misses++;
		}
	}
	return NULL;
}

static long status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			kb = strtol(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static void *watch_main(void *arg)
{
	struct lb_watch *w = arg;
	struct timespec tick = { .tv_nsec = 20 * 1000 * 1000 };

	while (!atomic_load(&w->stop)) {
		long kb = status_kb(w->pid, "VmRSS");

		if (kb > w->rss_max_kb)
			w->rss_max_kb = kb;
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n), in milliseconds. */
static double pct_ms(const uint64_t *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p * n + 0.999999);
	if (rank < 1)
		rank = 1;
	return v[(rank > n ? n : rank) - 1] / 1e6;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Runs one phase over conns[] and prints its line; returns the number of
 * ops done, or -1 on a fatal error. */
static int64_t run_phase(struct lb_conn *conns, bool is_set, uint64_t keys)
{
	struct lb_phase ph = { .is_set = is_set, .keys = keys };
	struct lb_watch w = { .pid = opts.watch_pid };
	uint64_t ok = 0, misses = 0, errors = 0, bytes = 0, *all;
	size_t nall = 0;
	const char *first_error = "";
	double t0, secs;

	/* The GET order visits every key once per `keys` ops: a stride coprime
	 * with keys, near keys * 0.618 so that neighbours land far apart. */
	ph.stride = keys > 2 ? keys * 618 / 1000 : 1;
	while (ph.stride > 1 && gcd_u64(ph.stride, keys) != 1)
		ph.stride--;
	if (opts.seconds > 0)
		ph.ops_max = UINT64_MAX;
	else
		ph.ops_max = (opts.total_bytes + opts.size - 1) / opts.size;
	pthread_barrier_init(&ph.start, NULL, opts.conns + 1);
	for (int i = 0; i < opts.conns; i++) {
		struct lb_conn *c = &conns[i];

		c->phase = &ph;
		c->ok = c->misses = c->errors = c->bytes = 0;
		c->nlat = 0;
		c->first_error[0] = '\0';
		if (pthread_create(&c->thread, NULL, conn_main, c))
			die("pthread_create failed");
	}
	if (w.pid > 0 && pthread_create(&w.thread, NULL, watch_main, &w))
		die("pthread_create failed");
	t0 = now_s();
	if (opts.seconds > 0)
		ph.deadline = t0 + opts.seconds;
	pthread_barrier_wait(&ph.start);
	for (int i = 0; i < opts.conns; i++)
		pthread_join(conns[i].thread, NULL);
	secs = now_s() - t0;
	if (w.pid > 0) {
		atomic_store(&w.stop, true);
		pthread_join(w.thread, NULL);
	}
	pthread_barrier_destroy(&ph.start);

	for (int i = 0; i < opts.conns; i++)
		nall += conns[i].nlat;
	all = malloc((nall ? nall : 1) * sizeof(*all));
	if (!all)
		die("out of memory for %zu latencies", nall);
	nall = 0;
	for (int i = 0; i < opts.conns; i++) {
		struct lb_conn *c = &conns[i];

		memcpy(all + nall, c->lat_ns, c->nlat * sizeof(*all));
		nall += c->nlat;
		ok += c->ok;
		misses += c->misses;
		errors += c->errors;
		bytes += c->bytes;
		if (!first_error[0] && c->first_error[0])
			first_error = c->first_error;
	}
	qsort(all, nall, sizeof(*all), cmp_u64);
	printf("phase=%s proto=%s size=%zu conns=%d keys=%" PRIu64 " ops=%zu ok=%" PRIu64
	       " misses=%" PRIu64 " errors=%" PRIu64 " bytes=%" PRIu64 " secs=%.3f"
	       " mb_s=%.1f ops_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f",
	       is_set ? "set" : "get", opts.proto == LB_RESP ? "resp" : "memcache",
	       opts.size, opts.conns, keys, nall, ok, misses, errors, bytes, secs,
	       bytes / secs / 1e6, nall / secs, pct_ms(all, nall, 0.50),
	       pct_ms(all, nall, 0.99), nall ? all[nall - 1] / 1e6 : 0.0);
	if (w.pid > 0)
		printf(" rss_max_kb=%ld hwm_kb=%ld", w.rss_max_kb, status_kb(w.pid, "VmHWM"));
	putchar('\n');
	fflush(stdout);
	if (errors)
		fprintf(stderr, "largebench: %s: %" PRIu64 " error replies; the first: %s\n",
			is_set ? "set" : "get", errors, first_error);
	free(all);
	return atomic_load(&ph.failed) ? -1 : (int64_t)nall;
}

static void usage(void)
{
	fputs("usage: largebench -p PORT [-h 127.0.0.1] [-P resp|memcache] -s SIZE [-c 8]\n"
	      "                  (-t SECONDS | -n BYTES) [-k KEYS] [-m set|get|setget]\n"
	      "                  [-x PREFIX] [-w PID] [-T TIMEOUT_S]\n"
	      "SIZE and BYTES take k, m, g suffixes (powers of 1024). -k defaults to\n"
	      "BYTES / SIZE with -n, and to max(2 * conns, 1g / SIZE) with -t.\n"
	      "-m get reads keys 0 .. KEYS-1, which an earlier run must have set.\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct lb_conn *conns;
	const char *mode = "setget";
	uint64_t v, set_keys;
	int64_t done;
	int opt;

	opts = (struct lb_opts){ .host = "127.0.0.1", .proto = LB_RESP, .conns = 8,
				 .prefix = NULL, .timeout_s = 60 };
	while ((opt = getopt(argc, argv, "h:p:P:s:c:t:n:k:m:x:w:T:")) != -1) {
		switch (opt) {
		case 'h': opts.host = optarg; break;
		case 'p': opts.port = atoi(optarg); break;
		case 'P':
			if (!strcmp(optarg, "resp"))
				opts.proto = LB_RESP;
			else if (!strcmp(optarg, "memcache"))
				opts.proto = LB_MEMCACHE;
			else
				usage();
			break;
		case 's':
			if (!parse_size(optarg, &v) || v < 2 * LB_WINDOW || v > (1ull << 31))
				die("-s %s: a size from %d bytes to 2g", optarg, 2 * LB_WINDOW);
			opts.size = v;
			break;
		case 'c': opts.conns = atoi(optarg); break;
		case 't': opts.seconds = atof(optarg); break;
		case 'n':
			if (!parse_size(optarg, &opts.total_bytes))
				usage();
			break;
		case 'k':
			if (!parse_size(optarg, &opts.keys) || opts.keys == 0)
				usage();
			break;
		case 'm': mode = optarg; break;
		case 'x': opts.prefix = optarg; break;
		case 'w': opts.watch_pid = atoi(optarg); break;
		case 'T': opts.timeout_s = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || opts.port <= 0 || opts.port > 65535 || !opts.size ||
	    opts.conns < 1 || opts.conns > 1024 ||
	    (opts.seconds > 0) == (opts.total_bytes > 0) || opts.timeout_s < 1)
		usage();
	opts.do_set = !strcmp(mode, "set") || !strcmp(mode, "setget");
	opts.do_get = !strcmp(mode, "get") || !strcmp(mode, "setget");
	if (!opts.do_set && !opts.do_get)
		usage();
	if (!opts.keys) {
		if (opts.total_bytes)
			opts.keys = (opts.total_bytes + opts.size - 1) / opts.size;
		else
			opts.keys = (1ull << 30) / opts.size > 2u * opts.conns ?
				    (1ull << 30) / opts.size : 2u * opts.conns;
	}
	if (!opts.prefix) {
		static char def[64];

		snprintf(def, sizeof(def), "lb:%zu:", opts.size);
		opts.prefix = def;
	}
	signal(SIGPIPE, SIG_IGN);
	pattern_init();

	conns = calloc(opts.conns, sizeof(*conns));
	if (!conns)
		die("out of memory");
	for (int i = 0; i < opts.conns; i++) {
		struct lb_conn *c = &conns[i];
		int rc;

		c->id = i;
		c->rng = 0x2545f4914f6cdd1dull * (i + 1);
		c->buf = malloc(LB_RECV_BUF);
		if (!c->buf)
			die("out of memory");
		rc = conn_open(c);
		if (rc < 0)
			die("connect to %s:%d: %s", opts.host, opts.port, strerror(-rc));
	}

	set_keys = opts.keys;
	if (opts.do_set) {
		done = run_phase(conns, true, opts.keys);
		if (done < 0)
			return 1;
		/* A SET phase cut short by time wrote keys 0 .. done-1 only. */
		if ((uint64_t)done < set_keys)
			set_keys = (uint64_t)done;
	}
	if (opts.do_get) {
		if (set_keys == 0)
			die("get: the SET phase wrote no key");
		if (run_phase(conns, false, set_keys) < 0)
			return 1;
	}
	for (int i = 0; i < opts.conns; i++) {
		close(conns[i].fd);
		free(conns[i].buf);
		free(conns[i].lat_ns);
	}
	free(conns);
	free(pattern);
	return 0;
}
