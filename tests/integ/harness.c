/*
 * harness.c - server processes, connections and TAP output for the
 * integration tests. The contract is in harness.h.
 *
 * Servers we start are kept in a small table so that harness_done(),
 * harness_bail() and the exit handler can stop every one of them by PID,
 * and the watchdog can SIGKILL them from a signal handler. Check lines are
 * numbered and printed under one mutex so tests may check from threads.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_MAX_SERVERS 8
#define HARNESS_START_TIMEOUT_MS 10000
#define HARNESS_STOP_TIMEOUT_MS 5000
#define HARNESS_IO_TIMEOUT_S 10

static pthread_mutex_t harness_lock = PTHREAD_MUTEX_INITIALIZER;
static int harness_checks;		/* checks printed so far */
static int harness_failures;		/* of which failed */
static bool harness_finished;		/* harness_done() ran */
/* Servers we started and have not stopped; read by the watchdog. */
static struct harness_server *harness_servers[HARNESS_MAX_SERVERS];
/* Write end of the pipe to the reaper process, -1 if there is none. */
static int reaper_fd = -1;

static void reaper_note(char op, const struct harness_server *srv);

/* ---- time ---- */

int64_t harness_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t harness_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- output ---- */

void harness_diag(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&harness_lock);
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&harness_lock);
}

/*
 * Prints one check line. why is the "expected X, got Y" part of a failure
 * (may be NULL); directive is a TAP directive such as "SKIP reason".
 */
static bool report(bool pass, const char *why, const char *directive,
		   const char *fmt, va_list ap)
{
	pthread_mutex_lock(&harness_lock);
	harness_checks++;
	/* A TODO check (a known bug) is reported, not counted as a failure. */
	if (!pass && !(directive && strncmp(directive, "TODO", 4) == 0))
		harness_failures++;
	printf("%sok %d - ", pass ? "" : "not ", harness_checks);
	vprintf(fmt, ap);
	if (!pass && why)
		printf(": %s", why);
	if (directive)
		printf(" # %s", directive);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&harness_lock);
	return pass;
}

/* ---- server processes ---- */

static void kill_all_servers_now(void)
{
	for (int i = 0; i < HARNESS_MAX_SERVERS; i++) {
		struct harness_server *s = harness_servers[i];

		if (s && s->pid > 0)
			kill(s->pid, SIGKILL);
	}
}

static void watchdog(int sig)
{
	static const char msg[] = "Bail out! watchdog: test ran too long\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do: we are leaving anyway */
	}
	kill_all_servers_now();
	_exit(3);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	if (dir[0])
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Stops the process of srv: SIGTERM, up to 5 s, then SIGKILL. */
static void stop_process(struct harness_server *srv)
{
	int status;
	int64_t deadline;

	if (srv->pid <= 0)
		return;
	kill(srv->pid, SIGTERM);
	deadline = harness_mono_ms() + HARNESS_STOP_TIMEOUT_MS;
	for (;;) {
		pid_t r = waitpid(srv->pid, &status, WNOHANG);

		if (r == srv->pid || (r < 0 && errno != EINTR))
			break;
		if (harness_mono_ms() >= deadline) {
			fprintf(stderr, "harness: server pid %d ignored SIGTERM for 5 s, killing it\n",
				(int)srv->pid);
			kill(srv->pid, SIGKILL);
			waitpid(srv->pid, &status, 0);
			break;
		}
		harness_sleep_ms(10);
	}
	reaper_note('-', srv);
	srv->pid = 0;
}

static void forget_server(struct harness_server *srv)
{
	for (int i = 0; i < HARNESS_MAX_SERVERS; i++)
		if (harness_servers[i] == srv)
			harness_servers[i] = NULL;
}

void harness_server_stop(struct harness_server *srv)
{
	if (!srv)
		return;
	forget_server(srv);
	stop_process(srv);
	remove_tree(srv->dir);
	free(srv);
}

bool harness_server_wait_exit(struct harness_server *srv, int timeout_ms)
{
	int64_t deadline = harness_mono_ms() + timeout_ms;
	int status;

	if (srv->pid <= 0)
		return false;
	for (;;) {
		pid_t r = waitpid(srv->pid, &status, WNOHANG);

		if (r == srv->pid) {
			reaper_note('-', srv);
			srv->pid = 0;
			return true;
		}
		if (harness_mono_ms() >= deadline)
			return false;
		harness_sleep_ms(10);
	}
}

void harness_remove_tree(const char *dir)
{
	remove_tree(dir);
}

#define HARNESS_CHECK_BLOB_TIMEOUT_MS 120000

int harness_check_blob(const char *dir, bool deep, char *out, size_t cap)
{
	const char *bin = getenv("STRATA_CHECK_BLOB_BIN");
	const char *argv[5];
	char *all = NULL;
	size_t len = 0, acap = 0;
	int n = 0, fds[2], status, ret;
	int64_t deadline;
	pid_t pid;

	if (!bin || !*bin)
		bin = "src/strata-check-blob";
	if (cap)
		out[0] = '\0';
	if (access(bin, X_OK) < 0) {
		snprintf(out, cap, "%s: %s", bin, strerror(errno));
		return -1;
	}
	argv[n++] = bin;
	argv[n++] = dir;
	if (deep)
		argv[n++] = "--deep";
	argv[n++] = "--quiet";
	argv[n] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(out, cap, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(out, cap, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		execv(bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	/* Read its output until EOF, within the time bound. */
	deadline = harness_mono_ms() + HARNESS_CHECK_BLOB_TIMEOUT_MS;
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int64_t left = deadline - harness_mono_ms();
		char buf[4096];
		ssize_t r;

		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			break;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(fds[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (len + (size_t)r > acap) {
			char *p = realloc(all, (len + (size_t)r) * 2);

			if (!p)
				harness_bail("out of memory");
			all = p;
			acap = (len + (size_t)r) * 2;
		}
		memcpy(all + len, buf, (size_t)r);
		len += (size_t)r;
	}
	close(fds[0]);
	/* The tail of the output: the problems and the result line. */
	if (cap) {
		size_t keep = len < cap - 1 ? len : cap - 1;

		memcpy(out, all + len - keep, keep);
		out[keep] = '\0';
	}
	free(all);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (harness_mono_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(out, cap, "%s did not finish within %d ms", bin,
				 HARNESS_CHECK_BLOB_TIMEOUT_MS);
			return -1;
		}
		harness_sleep_ms(10);
	}
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (ret == 127 || ret < 0) {
		snprintf(out, cap, "%s could not run or was killed (status %d)", bin, status);
		return -1;
	}
	return ret;
}

static void stop_all_servers(void)
{
	for (int i = 0; i < HARNESS_MAX_SERVERS; i++)
		if (harness_servers[i])
			harness_server_stop(harness_servers[i]);
}

static void at_exit(void)
{
	stop_all_servers();
}

/*
 * The reaper is a small child process that outlives a test killed by a
 * signal or a sanitizer (neither runs atexit handlers). The harness tells
 * it "+pid dir" for each server started and "-pid" for each stopped; when
 * its pipe reaches EOF (the test process is gone, however it died) it
 * waits for the servers still listed to die, which PR_SET_PDEATHSIG makes
 * them do, and removes their directories. It never kills anything itself,
 * so a reused PID is never hit.
 */
/* Whether pid exists and is not a zombie (an orphaned zombie may never be
 * reaped if PID 1 does not reap). */
static bool is_running(pid_t pid)
{
	char path[64], stat[256];
	const char *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return kill(pid, 0) == 0;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return false;
	stat[n] = '\0';
	paren = strrchr(stat, ')');
	return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

static void reaper_main(int fd)
{
	struct { pid_t pid; char dir[256]; } live[HARNESS_MAX_SERVERS * 4];
	char buf[4096], line[512];
	size_t n = 0, len = 0;
	int devnull = open("/dev/null", O_RDWR);

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGALRM, SIG_IGN);
	alarm(0);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
	}
	for (;;) {
		ssize_t got = read(fd, buf, sizeof(buf));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] != '\n') {
				if (len + 1 < sizeof(line))
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			len = 0;
			if (line[0] == '+' && n < sizeof(live) / sizeof(live[0])) {
				char *sp = strchr(line, ' ');

				if (!sp)
					continue;
				live[n].pid = (pid_t)atoi(line + 1);
				snprintf(live[n].dir, sizeof(live[n].dir), "%s", sp + 1);
				n++;
			} else if (line[0] == '-') {
				pid_t pid = (pid_t)atoi(line + 1);

				for (size_t j = 0; j < n; j++) {
					if (live[j].pid == pid) {
						live[j] = live[--n];
						break;
					}
				}
			}
		}
	}
	for (size_t j = 0; j < n; j++) {
		int64_t deadline = harness_mono_ms() + HARNESS_STOP_TIMEOUT_MS;

		while (is_running(live[j].pid) && harness_mono_ms() < deadline)
			harness_sleep_ms(10);
		remove_tree(live[j].dir);
	}
	_exit(0);
}

static void start_reaper(void)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		close(fds[1]);
		reaper_main(fds[0]);
	}
	close(fds[0]);
	reaper_fd = fds[1];
}

/* Tells the reaper about a server started (+) or stopped (-). */
static void reaper_note(char op, const struct harness_server *srv)
{
	char msg[300];
	int n;

	if (reaper_fd < 0)
		return;
	if (op == '+')
		n = snprintf(msg, sizeof(msg), "+%d %s\n", (int)srv->pid, srv->dir);
	else
		n = snprintf(msg, sizeof(msg), "-%d\n", (int)srv->pid);
	if (n > 0 && (size_t)n < sizeof(msg) && write(reaper_fd, msg, (size_t)n) < 0) {
		/* the reaper is gone: nothing better to do */
	}
}

void harness_init(const char *name)
{
	const char *t = getenv("STRATA_TEST_TIMEOUT");
	int secs = t ? atoi(t) : 60;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, watchdog);
	start_reaper();
	alarm(secs > 0 ? (unsigned)secs : 60);
	atexit(at_exit);
	harness_diag("%s", name);
}

_Noreturn void harness_bail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&harness_lock);
	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&harness_lock);
	stop_all_servers();
	exit(2);
}

int harness_done(void)
{
	stop_all_servers();
	pthread_mutex_lock(&harness_lock);
	harness_finished = true;
	printf("1..%d\n", harness_checks);
	if (harness_failures)
		printf("# FAILED %d of %d checks\n", harness_failures, harness_checks);
	else
		printf("# all %d checks passed\n", harness_checks);
	fflush(stdout);
	pthread_mutex_unlock(&harness_lock);
	return harness_failures ? 1 : 0;
}

/* A loopback port nobody listens on right now. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd, port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		harness_bail("socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		harness_bail("bind to port 0: %s", strerror(errno));
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static bool is_strata_only_option(const char *arg)
{
	return strcmp(arg, "--shards") == 0 || strncmp(arg, "--blob-", 7) == 0;
}

/* Prints the last lines of the server's log as diagnostics. */
static void dump_log(const struct harness_server *srv)
{
	char path[300], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/server.log", srv->dir);
	f = fopen(path, "r");
	if (!f)
		return;
	harness_diag("server log %s:", path);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		harness_diag("  %s", line);
	}
	fclose(f);
}

/* Whether srv answers PING with +PONG right now. */
static bool answers_ping(const struct harness_server *srv)
{
	struct timeval tv = { 0, 200000 };
	redisContext *c = redisConnectWithTimeout(srv->host, srv->port, tv);
	redisReply *r;
	bool ok = false;

	if (!c || c->err) {
		redisFree(c);
		return false;
	}
	redisSetTimeout(c, tv);
	r = redisCommand(c, "PING");
	ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return ok;
}

/*
 * Forks and execs the server once on a fresh port. Returns true when it
 * answers PING, false when it exited early (port taken, bad option).
 */
static bool spawn(struct harness_server *srv, const char *bin,
		  const char *const *args)
{
	const char *argv[128];
	char portbuf[16], logpath[300];
	int n = 0, status;
	int64_t deadline;
	pid_t pid;

	srv->port = free_port();
	snprintf(portbuf, sizeof(portbuf), "%d", srv->port);
	argv[n++] = bin;
	argv[n++] = "--port";
	argv[n++] = portbuf;
	argv[n++] = "--dir";
	argv[n++] = srv->dir;
	if (srv->is_redis) {
		argv[n++] = "--save";
		argv[n++] = "";
		argv[n++] = "--appendonly";
		argv[n++] = "no";
		argv[n++] = "--bind";
		argv[n++] = "127.0.0.1";
	}
	for (int i = 0; args[i]; i++) {
		if (n >= (int)(sizeof(argv) / sizeof(argv[0])) - 1)
			harness_bail("too many server arguments");
		if (srv->is_redis && is_strata_only_option(args[i])) {
			if (args[i + 1] && strncmp(args[i + 1], "--", 2) != 0)
				i++;
			continue;
		}
		argv[n++] = args[i];
	}
	argv[n] = NULL;

	snprintf(logpath, sizeof(logpath), "%s/server.log", srv->dir);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		harness_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execv(bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	srv->pid = pid;
	reaper_note('+', srv);

	deadline = harness_mono_ms() + HARNESS_START_TIMEOUT_MS;
	while (harness_mono_ms() < deadline) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			reaper_note('-', srv);
			srv->pid = 0;
			return false;
		}
		if (answers_ping(srv))
			return true;
		harness_sleep_ms(20);
	}
	dump_log(srv);
	stop_process(srv);
	harness_bail("%s did not answer PING on port %d within %d ms",
		     bin, srv->port, HARNESS_START_TIMEOUT_MS);
}

struct harness_server *harness_server_start_argv(const char *const *args)
{
	const char *ext = getenv("STRATA_TEST_SERVER");
	const char *bin = getenv("STRATA_SERVER_BIN");
	struct harness_server *srv = calloc(1, sizeof(*srv));
	const char *base;
	int slot = -1;

	if (!srv)
		harness_bail("out of memory");
	if (ext && *ext) {
		const char *colon = strrchr(ext, ':');

		if (!colon || (size_t)(colon - ext) >= sizeof(srv->host))
			harness_bail("STRATA_TEST_SERVER must be host:port, not '%s'", ext);
		memcpy(srv->host, ext, (size_t)(colon - ext));
		srv->port = atoi(colon + 1);
		srv->external = true;
		if (!answers_ping(srv))
			harness_bail("STRATA_TEST_SERVER %s does not answer PING", ext);
		return srv;
	}

	if (!bin || !*bin)
		bin = "src/strata-server";
	base = strrchr(bin, '/');
	base = base ? base + 1 : bin;
	srv->is_redis = strcmp(base, "redis-server") == 0;
	strcpy(srv->host, "127.0.0.1");
	if (access(bin, X_OK) < 0)
		harness_bail("server binary %s: %s (set STRATA_SERVER_BIN)",
			     bin, strerror(errno));

	for (int i = 0; i < HARNESS_MAX_SERVERS; i++) {
		if (!harness_servers[i]) {
			slot = i;
			break;
		}
	}
	if (slot < 0)
		harness_bail("more than %d servers at once", HARNESS_MAX_SERVERS);

	for (int attempt = 0; attempt < 3; attempt++) {
		snprintf(srv->dir, sizeof(srv->dir), "/tmp/strata-integ-XXXXXX");
		if (!mkdtemp(srv->dir))
			harness_bail("mkdtemp: %s", strerror(errno));
		harness_servers[slot] = srv;
		if (spawn(srv, bin, args))
			return srv;
		/* It exited: most likely the port was taken in between. */
		dump_log(srv);
		harness_servers[slot] = NULL;
		remove_tree(srv->dir);
	}
	harness_bail("%s exited at start three times", bin);
}

/* ---- connections and commands ---- */

redisContext *harness_try_connect(const struct harness_server *srv)
{
	struct timeval tv = { HARNESS_IO_TIMEOUT_S, 0 };
	redisContext *c = redisConnectWithTimeout(srv->host, srv->port, tv);

	if (!c)
		return NULL;
	if (c->err) {
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	return c;
}

redisContext *harness_connect(const struct harness_server *srv)
{
	redisContext *c = harness_try_connect(srv);

	if (!c)
		harness_bail("cannot connect to %s:%d", srv->host, srv->port);
	return c;
}

/*
 * Each thread remembers the I/O error of its last failed command so that a
 * check given a NULL reply can say what went wrong.
 */
static __thread char last_io_error[160];

static redisReply *note_io_error(redisContext *c, void *r)
{
	if (!r)
		snprintf(last_io_error, sizeof(last_io_error),
			 "(no reply: I/O error %d: %s)", c->err, c->errstr);
	return r;
}

redisReply *cmd(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	void *r;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	return note_io_error(c, r);
}

redisReply *cmd_argv(redisContext *c, int argc, const char **argv,
		     const size_t *argvlen)
{
	return note_io_error(c, redisCommandArgv(c, argc, argv, argvlen));
}

redisReply *cmd_list_argv(redisContext *c, const char *const *args)
{
	int n = 0;

	while (args[n])
		n++;
	return cmd_argv(c, n, (const char **)args, NULL);
}

void run(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	void *r;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r)
		harness_bail("%s: I/O error %d: %s", fmt, c->err, c->errstr);
	freeReplyObject(r);
}

/* ---- reply rendering ---- */

struct strbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct strbuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 64;

		while (cap < sb->len + n + 1)
			cap *= 2;
		sb->p = realloc(sb->p, cap);
		if (!sb->p)
			abort();
		sb->cap = cap;
	}
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

static void sb_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sb_add(sb, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Appends s quoted: 'text' with escapes; at most 200 bytes, then "...". */
static void sb_add_quoted(struct strbuf *sb, const char *s, size_t len,
			  bool limit)
{
	size_t shown = limit && len > 200 ? 200 : len;

	sb_add(sb, "'", 1);
	for (size_t i = 0; i < shown; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\'' || ch == '\\') {
			char e[2] = { '\\', (char)ch };

			sb_add(sb, e, 2);
		} else if (ch == '\r') {
			sb_add(sb, "\\r", 2);
		} else if (ch == '\n') {
			sb_add(sb, "\\n", 2);
		} else if (ch < 0x20 || ch >= 0x7f) {
			sb_addf(sb, "\\x%02x", ch);
		} else {
			sb_add(sb, (const char *)&ch, 1);
		}
	}
	if (shown < len)
		sb_addf(sb, "...(%zu bytes)", len);
	sb_add(sb, "'", 1);
}

static void repr_into(struct strbuf *sb, const redisReply *r, bool limit)
{
	switch (r->type) {
	case REDIS_REPLY_STRING:
		sb_add_quoted(sb, r->str, r->len, limit);
		break;
	case REDIS_REPLY_STATUS:
		sb_add(sb, "+", 1);
		sb_add(sb, r->str, r->len);
		break;
	case REDIS_REPLY_ERROR:
		sb_add(sb, "-", 1);
		sb_add(sb, r->str, r->len);
		break;
	case REDIS_REPLY_INTEGER:
		sb_addf(sb, "%lld", r->integer);
		break;
	case REDIS_REPLY_NIL:
		sb_add(sb, "(nil)", 5);
		break;
	case REDIS_REPLY_ARRAY:
		sb_add(sb, "[", 1);
		for (size_t i = 0; i < r->elements; i++) {
			if (i)
				sb_add(sb, ",", 1);
			if (limit && i >= 50) {
				sb_addf(sb, "...(%zu elements)", r->elements);
				break;
			}
			repr_into(sb, r->element[i], limit);
		}
		sb_add(sb, "]", 1);
		break;
	default:
		sb_addf(sb, "(reply type %d)", r->type);
		break;
	}
}

static char *repr_full(const redisReply *r, bool limit)
{
	struct strbuf sb = { 0 };

	if (!r) {
		sb_add(&sb, last_io_error, strlen(last_io_error));
		if (!sb.p)
			sb_add(&sb, "(no reply)", 10);
		return sb.p;
	}
	repr_into(&sb, r, limit);
	return sb.p;
}

char *harness_repr(const redisReply *r)
{
	return repr_full(r, true);
}

/*
 * Reports a reply check: pass, or "expected <want>, got <repr of r>".
 * Frees r.
 */
static bool report_reply(bool pass, redisReply *r, const char *want,
			 const char *fmt, va_list ap)
{
	char *why = NULL;

	if (!pass) {
		char *got = harness_repr(r);
		size_t n = strlen(want) + strlen(got) + 32;

		why = malloc(n);
		if (why)
			snprintf(why, n, "expected %s, got %s", want, got);
		free(got);
	}
	report(pass, why, NULL, fmt, ap);
	free(why);
	if (r)
		freeReplyObject(r);
	return pass;
}

bool expect_status(redisReply *r, const char *status, const char *fmt, ...)
{
	char want[256];
	bool pass;
	va_list ap;

	snprintf(want, sizeof(want), "+%s", status);
	pass = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, status) == 0;
	va_start(ap, fmt);
	pass = report_reply(pass, r, want, fmt, ap);
	va_end(ap);
	return pass;
}

static bool bin_equals(const redisReply *r, const void *want, size_t len)
{
	return r && r->type == REDIS_REPLY_STRING && r->len == len &&
	       memcmp(r->str, want, len) == 0;
}

bool expect_str(redisReply *r, const char *want, const char *fmt, ...)
{
	struct strbuf sb = { 0 };
	bool pass = bin_equals(r, want, strlen(want));
	va_list ap;

	sb_add_quoted(&sb, want, strlen(want), true);
	va_start(ap, fmt);
	pass = report_reply(pass, r, sb.p, fmt, ap);
	va_end(ap);
	free(sb.p);
	return pass;
}

bool expect_bin(redisReply *r, const void *want, size_t len,
		const char *fmt, ...)
{
	struct strbuf sb = { 0 };
	bool pass = bin_equals(r, want, len);
	va_list ap;

	sb_add_quoted(&sb, want, len, true);
	va_start(ap, fmt);
	pass = report_reply(pass, r, sb.p, fmt, ap);
	va_end(ap);
	free(sb.p);
	return pass;
}

bool expect_int(redisReply *r, long long want, const char *fmt, ...)
{
	char w[32];
	bool pass = r && r->type == REDIS_REPLY_INTEGER && r->integer == want;
	va_list ap;

	snprintf(w, sizeof(w), "%lld", want);
	va_start(ap, fmt);
	pass = report_reply(pass, r, w, fmt, ap);
	va_end(ap);
	return pass;
}

bool expect_int_range(redisReply *r, long long lo, long long hi,
		      const char *fmt, ...)
{
	char w[80];
	bool pass = r && r->type == REDIS_REPLY_INTEGER &&
		    r->integer >= lo && r->integer <= hi;
	va_list ap;

	snprintf(w, sizeof(w), "an integer in [%lld, %lld]", lo, hi);
	va_start(ap, fmt);
	pass = report_reply(pass, r, w, fmt, ap);
	va_end(ap);
	return pass;
}

bool expect_nil(redisReply *r, const char *fmt, ...)
{
	bool pass = r && r->type == REDIS_REPLY_NIL;
	va_list ap;

	va_start(ap, fmt);
	pass = report_reply(pass, r, "(nil)", fmt, ap);
	va_end(ap);
	return pass;
}

bool expect_err(redisReply *r, const char *want, const char *fmt, ...)
{
	char w[512];
	bool pass = r && r->type == REDIS_REPLY_ERROR && strcmp(r->str, want) == 0;
	va_list ap;

	snprintf(w, sizeof(w), "-%s", want);
	va_start(ap, fmt);
	pass = report_reply(pass, r, w, fmt, ap);
	va_end(ap);
	return pass;
}

bool expect_err_prefix(redisReply *r, const char *prefix, const char *fmt, ...)
{
	char w[512];
	bool pass = r && r->type == REDIS_REPLY_ERROR &&
		    strncmp(r->str, prefix, strlen(prefix)) == 0;
	va_list ap;

	snprintf(w, sizeof(w), "-%s...", prefix);
	va_start(ap, fmt);
	pass = report_reply(pass, r, w, fmt, ap);
	va_end(ap);
	return pass;
}

/* The compact form of an expected array of strings (NULL is nil). */
static char *want_strs(const char *const *want, size_t n)
{
	struct strbuf sb = { 0 };

	sb_add(&sb, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_add(&sb, ",", 1);
		if (want[i])
			sb_add_quoted(&sb, want[i], strlen(want[i]), false);
		else
			sb_add(&sb, "(nil)", 5);
	}
	sb_add(&sb, "]", 1);
	return sb.p;
}

static bool element_is(const redisReply *e, const char *want)
{
	if (!want)
		return e->type == REDIS_REPLY_NIL;
	return bin_equals(e, want, strlen(want));
}

bool expect_array_of_str(redisReply *r, const char *const *want, size_t n,
			 const char *fmt, ...)
{
	bool pass = r && r->type == REDIS_REPLY_ARRAY && r->elements == n;
	char *w = want_strs(want, n);
	va_list ap;

	for (size_t i = 0; pass && i < n; i++)
		pass = element_is(r->element[i], want[i]);
	va_start(ap, fmt);
	pass = report_reply(pass, r, w, fmt, ap);
	va_end(ap);
	free(w);
	return pass;
}

bool expect_set_of_str(redisReply *r, const char *const *want, size_t n,
		       const char *fmt, ...)
{
	bool pass = r && r->type == REDIS_REPLY_ARRAY && r->elements == n;
	char *w = want_strs(want, n);
	bool *used = calloc(n ? n : 1, sizeof(bool));
	va_list ap;

	/* Match each wanted string to a distinct element: O(n^2), n small. */
	for (size_t i = 0; pass && i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < n && !found; j++) {
			if (!used[j] && element_is(r->element[j], want[i])) {
				used[j] = true;
				found = true;
			}
		}
		pass = found;
	}
	free(used);
	va_start(ap, fmt);
	pass = report_reply(pass, r, w, fmt, ap);
	va_end(ap);
	free(w);
	return pass;
}

bool expect_empty_array(redisReply *r, const char *fmt, ...)
{
	bool pass = r && r->type == REDIS_REPLY_ARRAY && r->elements == 0;
	va_list ap;

	va_start(ap, fmt);
	pass = report_reply(pass, r, "[]", fmt, ap);
	va_end(ap);
	return pass;
}

bool expect_reply(redisReply *r, const char *repr, const char *fmt, ...)
{
	char *got = r ? repr_full(r, false) : NULL;
	bool pass = got && strcmp(got, repr) == 0;
	va_list ap;

	free(got);
	va_start(ap, fmt);
	pass = report_reply(pass, r, repr, fmt, ap);
	va_end(ap);
	return pass;
}

/* ---- plain checks ---- */

bool check(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(cond, NULL, NULL, fmt, ap);
	va_end(ap);
	return cond;
}

bool check_int(long long got, long long want, const char *fmt, ...)
{
	char why[100];
	va_list ap;

	snprintf(why, sizeof(why), "expected %lld, got %lld", want, got);
	va_start(ap, fmt);
	report(got == want, why, NULL, fmt, ap);
	va_end(ap);
	return got == want;
}

bool check_int_range(long long got, long long lo, long long hi,
		     const char *fmt, ...)
{
	bool pass = got >= lo && got <= hi;
	char why[120];
	va_list ap;

	snprintf(why, sizeof(why), "expected an integer in [%lld, %lld], got %lld",
		 lo, hi, got);
	va_start(ap, fmt);
	report(pass, why, NULL, fmt, ap);
	va_end(ap);
	return pass;
}

bool check_str(const char *got, const char *want, const char *fmt, ...)
{
	bool pass = got && strcmp(got, want) == 0;
	struct strbuf sb = { 0 };
	va_list ap;

	sb_add(&sb, "expected ", 9);
	sb_add_quoted(&sb, want, strlen(want), true);
	sb_add(&sb, ", got ", 6);
	if (got)
		sb_add_quoted(&sb, got, strlen(got), true);
	else
		sb_add(&sb, "(null)", 6);
	va_start(ap, fmt);
	report(pass, sb.p, NULL, fmt, ap);
	va_end(ap);
	free(sb.p);
	return pass;
}

void skip(const char *reason, const char *fmt, ...)
{
	char directive[256];
	va_list ap;

	snprintf(directive, sizeof(directive), "SKIP %s", reason);
	va_start(ap, fmt);
	report(true, NULL, directive, fmt, ap);
	va_end(ap);
}

void check_todo(bool cond, const char *reason, const char *fmt, ...)
{
	char directive[256];
	va_list ap;

	snprintf(directive, sizeof(directive), "TODO %s", reason);
	va_start(ap, fmt);
	report(cond, NULL, directive, fmt, ap);
	va_end(ap);
}

/* ---- INFO and CONFIG ---- */

bool harness_info_field(redisContext *c, const char *section,
			const char *field, char *buf, size_t buflen)
{
	redisReply *r = cmd(c, "INFO %s", section);
	size_t flen = strlen(field);
	bool found = false;

	if (!r)
		return false;
	if (r->type == REDIS_REPLY_STRING) {
		const char *line = r->str;

		while (line && *line) {
			const char *end = strchr(line, '\n');
			size_t len = end ? (size_t)(end - line) : strlen(line);

			if (len > flen && strncmp(line, field, flen) == 0 &&
			    line[flen] == ':') {
				size_t vlen = len - flen - 1;

				if (vlen && line[flen + 1 + vlen - 1] == '\r')
					vlen--;
				if (vlen >= buflen)
					vlen = buflen - 1;
				memcpy(buf, line + flen + 1, vlen);
				buf[vlen] = '\0';
				found = true;
				break;
			}
			line = end ? end + 1 : NULL;
		}
	}
	freeReplyObject(r);
	return found;
}

long long harness_info_int(redisContext *c, const char *section,
			   const char *field)
{
	char buf[64], *end;
	long long v;

	if (!harness_info_field(c, section, field, buf, sizeof(buf)))
		return LLONG_MIN;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || *end)
		return LLONG_MIN;
	return v;
}

char *harness_config_get(redisContext *c, const char *name)
{
	redisReply *r = cmd(c, "CONFIG GET %s", name);
	char *v = NULL;

	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING)
		v = strdup(r->element[1]->str);
	if (r)
		freeReplyObject(r);
	return v;
}

bool harness_config_set(redisContext *c, const char *name, const char *value)
{
	redisReply *r = cmd(c, "CONFIG SET %s %s", name, value);
	bool ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;

	if (r)
		freeReplyObject(r);
	return ok;
}

/* ---- raw connections ---- */

struct harness_raw {
	int fd;			/* the socket */
	char *buf;		/* bytes received and not yet returned */
	size_t len;		/* valid bytes in buf */
	size_t cap;		/* allocated size of buf */
	bool eof;		/* the peer closed */
};

struct harness_raw *raw_connect(const struct harness_server *srv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct harness_raw *raw = calloc(1, sizeof(*raw));
	int one = 1;

	if (!raw)
		harness_bail("out of memory");
	sa.sin_port = htons((uint16_t)srv->port);
	if (inet_pton(AF_INET, srv->host, &sa.sin_addr) != 1)
		harness_bail("raw_connect: '%s' is not an IPv4 address", srv->host);
	raw->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (raw->fd < 0 ||
	    connect(raw->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		harness_bail("raw_connect %s:%d: %s", srv->host, srv->port,
			     strerror(errno));
	setsockopt(raw->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return raw;
}

void raw_close(struct harness_raw *raw)
{
	if (!raw)
		return;
	close(raw->fd);
	free(raw->buf);
	free(raw);
}

bool raw_send(struct harness_raw *raw, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(raw->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool raw_send_str(struct harness_raw *raw, const char *s)
{
	return raw_send(raw, s, strlen(s));
}

/* Where the line starting at pos ends (index of its '\r'), or -1. */
static ssize_t line_end(const char *buf, size_t len, size_t pos)
{
	for (size_t i = pos; i + 1 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n')
			return (ssize_t)i;
	return -1;
}

/*
 * Length of the complete RESP value at buf[pos..len), 0 if it is not all
 * there yet, -1 if the bytes are not RESP.
 */
static ssize_t resp_value_len(const char *buf, size_t len, size_t pos,
			      int depth)
{
	ssize_t eol;
	long long n;
	size_t next;
	char type;

	if (depth > 64)
		return -1;
	if (pos >= len)
		return 0;
	eol = line_end(buf, len, pos);
	if (eol < 0)
		return 0;
	type = buf[pos];
	next = (size_t)eol + 2;
	n = strtoll(buf + pos + 1, NULL, 10);
	switch (type) {
	case '+': case '-': case ':': case '_': case ',': case '#': case '(':
		return (ssize_t)(next - pos);
	case '$': case '!': case '=':
		if (n < 0)
			return (ssize_t)(next - pos);
		if (next + (size_t)n + 2 > len)
			return 0;
		return (ssize_t)(next + (size_t)n + 2 - pos);
	case '*': case '~': case '>': case '%': case '|': {
		long long count = n < 0 ? 0 : (type == '%' || type == '|') ? 2 * n : n;

		for (long long i = 0; i < count; i++) {
			ssize_t e = resp_value_len(buf, len, next, depth + 1);

			if (e <= 0)
				return e;
			next += (size_t)e;
		}
		if (type == '|') {
			/* An attribute precedes the value it describes. */
			ssize_t e = resp_value_len(buf, len, next, depth + 1);

			if (e <= 0)
				return e;
			next += (size_t)e;
		}
		return (ssize_t)(next - pos);
	}
	default:
		return -1;
	}
}

/* Waits up to timeout_ms for more bytes; false on timeout or EOF. */
static bool raw_fill(struct harness_raw *raw, int64_t deadline)
{
	struct pollfd pfd = { .fd = raw->fd, .events = POLLIN };
	int64_t left = deadline - harness_mono_ms();
	ssize_t n;

	if (raw->eof || left <= 0)
		return false;
	if (poll(&pfd, 1, (int)left) <= 0)
		return false;
	if (raw->len + 65536 > raw->cap) {
		raw->cap = raw->len + 65536;
		raw->buf = realloc(raw->buf, raw->cap);
		if (!raw->buf)
			abort();
	}
	n = recv(raw->fd, raw->buf + raw->len, raw->cap - raw->len, 0);
	if (n <= 0) {
		raw->eof = true;
		return false;
	}
	raw->len += (size_t)n;
	return true;
}

char *raw_read_reply(struct harness_raw *raw, int timeout_ms, size_t *lenp)
{
	int64_t deadline = harness_mono_ms() + timeout_ms;

	for (;;) {
		ssize_t n = resp_value_len(raw->buf, raw->len, 0, 0);

		if (n < 0) {
			/* Not RESP: hand back everything so the test shows it. */
			n = (ssize_t)raw->len;
		}
		if (n > 0) {
			char *out = malloc((size_t)n + 1);

			if (!out)
				abort();
			memcpy(out, raw->buf, (size_t)n);
			out[n] = '\0';
			memmove(raw->buf, raw->buf + n, raw->len - (size_t)n);
			raw->len -= (size_t)n;
			if (lenp)
				*lenp = (size_t)n;
			return out;
		}
		if (!raw_fill(raw, deadline))
			return NULL;
	}
}

bool expect_raw_reply(struct harness_raw *raw, const char *want,
		      const char *fmt, ...)
{
	size_t len = 0;
	char *got = raw_read_reply(raw, HARNESS_IO_TIMEOUT_S * 1000, &len);
	bool pass = got && len == strlen(want) && memcmp(got, want, len) == 0;
	struct strbuf sb = { 0 };
	va_list ap;

	if (!pass) {
		sb_add(&sb, "expected ", 9);
		sb_add_quoted(&sb, want, strlen(want), false);
		sb_add(&sb, ", got ", 6);
		if (got)
			sb_add_quoted(&sb, got, len, false);
		else if (raw->eof)
			sb_add(&sb, "connection closed", 17);
		else
			sb_add(&sb, "nothing (timeout)", 17);
	}
	va_start(ap, fmt);
	report(pass, sb.p, NULL, fmt, ap);
	va_end(ap);
	free(sb.p);
	free(got);
	return pass;
}

bool expect_raw_closed(struct harness_raw *raw, int timeout_ms,
		       const char *fmt, ...)
{
	int64_t deadline = harness_mono_ms() + timeout_ms;
	struct strbuf sb = { 0 };
	bool pass;
	va_list ap;

	while (!raw->eof && raw_fill(raw, deadline))
		;
	pass = raw->eof && raw->len == 0;
	if (!pass) {
		sb_add(&sb, "expected the connection closed, got ", 36);
		if (raw->len)
			sb_add_quoted(&sb, raw->buf, raw->len, true);
		else
			sb_add(&sb, "it still open", 13);
	}
	va_start(ap, fmt);
	report(pass, sb.p, NULL, fmt, ap);
	va_end(ap);
	free(sb.p);
	return pass;
}

static uint16_t harness_crc16(const char *p, size_t len)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)p[i] << 8);
		for (int bit = 0; bit < 8; bit++)
			crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

unsigned harness_key_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);

	if (open) {
		const char *close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));

		if (close && close > open + 1)
			return harness_crc16(open + 1, (size_t)(close - open - 1)) & 16383;
	}
	return harness_crc16(key, len) & 16383;
}

void harness_pick_key(char *buf, size_t cap, const char *pre, const char *post,
		      unsigned mod, unsigned residue)
{
	for (unsigned n = 0;; n++) {
		int w = snprintf(buf, cap, "%s%u%s", pre, n, post);

		if (w > 0 && harness_key_slot(buf, (size_t)w) % mod == residue)
			return;
	}
}
