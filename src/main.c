/*
 * main.c - start-up, listeners, shard threads, signals and shutdown.
 *
 * The main thread loads the configuration, opens one SO_REUSEPORT listening
 * socket per shard and bind address (so the kernel deals connections out to
 * the shards), starts the shard threads, and then only waits for SIGTERM or
 * SIGINT (or a SHUTDOWN command, which sets srv.stop). All signals of
 * interest are blocked in every thread and taken synchronously here, so no
 * handler ever runs on a loop thread.
 */
#include "server.h"
#include "blob.h"
#include "block.h"
#include "multi.h"
#include "cfg.h"
#include "cmd.h"
#include "acl.h"
#include "log.h"
#include "mem.h"
#include "tls.h"
#include "util.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>



static const struct kv_server_hooks server_kv_hooks = {
	.ready = block_key_ready,
	.modified = multi_key_modified,
	.flushed = multi_db_flushed,
	.swapped = block_db_swapped,
};

static void usage(void)
{
	fprintf(stderr,
		"Usage: ./strata-server [/path/to/strata.conf] [options]\n"
		"       ./strata-server -v or --version\n"
		"       ./strata-server -h or --help\n\n"
		"Examples:\n"
		"       ./strata-server (run the server with default conf)\n"
		"       ./strata-server conf/strata.conf\n"
		"       ./strata-server --port 7777 --shards 2\n"
		"       ./strata-server conf/strata.conf --loglevel verbose\n");
}

/*
 * Open files. A client is a socket, so maxclients needs that many files plus
 * the server's own: per shard its ring, its eventfd and one listener per
 * bind address, and 32 more for logs and data files (Redis's reserve). At
 * start the soft limit is raised toward that as far as the hard limit lets
 * us; what does not fit lowers maxclients with a warning, as Redis does. At
 * run time (CONFIG SET maxclients) a value that does not fit is refused.
 */
#define FD_RESERVE_BASE 32

static rlim_t fd_reserved(void)
{
	char *copy = mem_strndup(cfg.bind, strlen(cfg.bind)), *save = NULL;
	rlim_t nbind = 0;

	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		nbind++;
	mem_free(copy);
	return FD_RESERVE_BASE + (rlim_t)srv.nshards * (2 + nbind);
}

/* Raises RLIMIT_NOFILE toward what want clients need; returns how many
 * clients the limit now allows (want if all fit), or -1 if not even the
 * reserve fits. why gets the setrlimit error when the limit stays short. */
static long fd_limit_fit(long want, int *why)
{
	rlim_t reserve = fd_reserved(), need = (rlim_t)want + reserve;
	struct rlimit rl, nl;

	*why = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		*why = errno;
		rl.rlim_cur = rl.rlim_max = 1024;
	}
	if (rl.rlim_cur >= need)
		return want;
	/* Above the hard limit only a privileged process may go. */
	nl.rlim_cur = need;
	nl.rlim_max = rl.rlim_max > need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
		return want;
	*why = errno;
	if (rl.rlim_max > rl.rlim_cur) {
		nl.rlim_cur = nl.rlim_max = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	return rl.rlim_cur > reserve ? (long)(rl.rlim_cur - reserve) : -1;
}

static int fd_limit_at_start(void)
{
	struct rlimit before;
	long fit;
	int why;

	getrlimit(RLIMIT_NOFILE, &before);
	fit = fd_limit_fit(cfg.maxclients, &why);
	if (fit < 0) {
		log_warning("Your current 'ulimit -n' of %llu is not enough for the server to start. "
			    "Please increase your open file limit to at least %llu. Exiting.",
			    (unsigned long long)before.rlim_cur,
			    (unsigned long long)(fd_reserved() + 1));
		return -1;
	}
	if (fit < cfg.maxclients) {
		log_warning("You requested maxclients of %d requiring at least %llu max file descriptors.",
			    cfg.maxclients, (unsigned long long)(cfg.maxclients + fd_reserved()));
		log_warning("Server can't set maximum open files to %llu because of OS error: %s.",
			    (unsigned long long)(cfg.maxclients + fd_reserved()), strerror(why));
		log_warning("Current maximum open files is %llu. maxclients has been reduced to %ld to "
			    "compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
			    (unsigned long long)(fit + fd_reserved()), fit);
		cfg.maxclients = (int)fit;
	} else {
		struct rlimit now;

		getrlimit(RLIMIT_NOFILE, &now);
		if (now.rlim_cur != before.rlim_cur)
			log_notice("Increased maximum number of open files to %llu (it was originally set to %llu).",
				   (unsigned long long)now.rlim_cur, (unsigned long long)before.rlim_cur);
	}
	return 0;
}

/* cfg_maxclients_hook: runs inside CONFIG SET, every other shard parked. */
static int fd_limit_on_set(char *reason, size_t cap)
{
	int why;
	long fit = fd_limit_fit(cfg.maxclients, &why);

	if (fit < cfg.maxclients) {
		snprintf(reason, cap, "The operating system is not able to handle the specified "
			 "number of clients, try with %ld", fit < 0 ? 0 : fit);
		return -1;
	}
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];

			buf[i] = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			buf[i] = c;
		}
	}
	return 0;
}

static void make_run_id(void)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[20];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0x5a, sizeof(raw));
	for (int i = 0; i < 20; i++) {
		srv.run_id[2 * i] = hex[raw[i] >> 4];
		srv.run_id[2 * i + 1] = hex[raw[i] & 15];
	}
	srv.run_id[40] = '\0';
}

/*
 * The start-up banner, with "PID: <pid>" on a line of its own: shown when
 * always-show-logo is yes, or when the log goes to a terminal, as Redis
 * shows its logo. Tools that start the server (the Redis test suite among
 * them) find the server's PID in it.
 */
static void show_banner(void)
{
	char text[512];
	bool tty = !(cfg.logfile && *cfg.logfile) && isatty(STDOUT_FILENO);

	if (!cfg.always_show_logo && !tty) {
		log_notice("Running mode=standalone, port=%d.", cfg.port);
		return;
	}
	snprintf(text, sizeof(text),
		 "\n"
		 "    .-------------------------------------------.\n"
		 "    |  strata %-10s  Redis %s protocol   |\n"
		 "    |  Running in standalone mode, 64 bit        |\n"
		 "    |  Port: %-6d Shards: %-4d                 |\n"
		 "    |  PID: %-10d                           |\n"
		 "    '-------------------------------------------'\n\n",
		 STRATA_VERSION, STRATA_REDIS_VERSION, cfg.port, srv.nshards, (int)getpid());
	log_raw(LOG_NOTICE, text);
}

void conn_acl_user_changed(struct acl_user *u, bool deleted);
int main(int argc, char **argv)
{
	int first_opt = 1, ret;
	char *err = NULL;
	uint8_t seed[16];
	sigset_t set;
	long ncpu;

	if (argc >= 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
		printf("strata server v=%s (Redis protocol %s compatible) bits=64\n",
		       STRATA_VERSION, STRATA_REDIS_VERSION);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage();
		return 0;
	}

	cfg_init_defaults();
	if (argc >= 2 && argv[1][0] != '-') {
		char *abs = realpath(argv[1], NULL);

		if (cfg_load_file(argv[1], &err) < 0) {
			fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (strata %s) ***\n%s\n",
				STRATA_VERSION, err ? err : "");
			return 1;
		}
		srv.config_file = abs;
		first_opt = 2;
	}
	if (cfg_load_args(argc - first_opt, argv + first_opt, &err) < 0) {
		fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (strata %s) ***\n%s\n",
			STRATA_VERSION, err ? err : "");
		return 1;
	}
	log_min_level = cfg.loglevel;
	/* As Redis does, the server works in `dir`: relative paths given for
	 * the log file, the pid file and the ACL file are relative to it. */
	if (cfg.dir && *cfg.dir) {
		char cwd[4096];

		if ((ret = mkdir_p(cfg.dir)) < 0) {
			log_warning("Can't create the data directory '%s': %s", cfg.dir, strerror(-ret));
			return 1;
		}
		if (chdir(cfg.dir) < 0) {
			log_warning("Can't chdir to '%s': %s", cfg.dir, strerror(errno));
			return 1;
		}
		if (getcwd(cwd, sizeof(cwd))) {
			mem_free(cfg.dir);
			cfg.dir = mem_strndup(cwd, strlen(cwd));
		}
	}
	if (cfg.logfile && *cfg.logfile && (ret = log_open(cfg.logfile)) < 0) {
		fprintf(stderr, "Can't open the log file: %s\n", strerror(-ret));
		return 1;
	}

	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		memset(seed, 0x33, sizeof(seed));
	dict_set_seed(seed);
	make_run_id();
	util_cycles_calibrate();
	cmd_init();
	acl_init();
	acl_on_user_changed = conn_acl_user_changed;
	if (acl_config_user_count() && cfg.aclfile && *cfg.aclfile) {
		log_warning("Configuring strata with users defined in the config file and at the "
			    "same time an ACL file path is invalid. This setup is very likely to "
			    "lead to configuration errors and security holes, please define either "
			    "an ACL file or declare users directly in the config file, but not both.");
		return 1;
	}
	if (acl_config_users_load(&err) < 0) {
		log_warning("%s", err);
		log_warning("Critical error while loading ACLs. Exiting.");
		return 1;
	}
	if (cfg.aclfile && *cfg.aclfile && acl_load_file(cfg.aclfile, &err) < 0) {
		log_warning("Aborting strata startup because of ACL errors: %s", err);
		return 1;
	}
	kv_server_hooks = &server_kv_hooks;

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	srv.nshards = cfg.shards > 0 ? cfg.shards : (int)(ncpu > 0 ? ncpu : 1);
	if (srv.nshards > MAX_SHARDS)
		srv.nshards = MAX_SHARDS;
	srv.start_ms = util_mstime();
	srv.start_mono_us = util_monotonic_us();
	srv.lastsave = srv.start_ms / 1000;
	atomic_store(&srv.coord_token, -1);

	log_notice("oO0OoO0OoO0Oo strata is starting oO0OoO0OoO0Oo");
	log_notice("strata version=%s, bits=64, pid=%d, shards=%d, just started",
		   STRATA_VERSION, (int)getpid(), srv.nshards);
	if (!srv.config_file)
		log_warning("Warning: no config file specified, using the default config. "
			    "In order to specify a config file use ./strata-server /path/to/strata.conf");

	if (fd_limit_at_start() < 0)
		return 1;
	cfg_maxclients_hook = fd_limit_on_set;

	srv.shards = mem_calloc((size_t)srv.nshards, sizeof(*srv.shards));
	for (int i = 0; i < srv.nshards; i++) {
		if ((ret = shard_setup(&srv.shards[i], i)) < 0) {
			log_warning("Shard %d setup failed: %s", i, strerror(-ret));
			return 1;
		}
	}
	if (blob_open() < 0)
		return 1;
	/* TLS is configured before the listeners open, so that a bad
	 * certificate stops the server before it accepts anything. */
	if (cfg.tls_port && tls_configure() < 0) {
		log_warning("Failed to configure TLS. Check logs for more info.");
		return 1;
	}
	if (shard_listen_start() < 0)
		return 1;
	show_banner();

	if (cfg.pidfile && *cfg.pidfile) {
		FILE *f = fopen(cfg.pidfile, "w");

		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}

	/* Signals are taken by this thread only, synchronously. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	log_notice("Server initialized");
	for (int i = 0; i < srv.nshards; i++) {
		ret = pthread_create(&srv.shards[i].thread, NULL, shard_main, &srv.shards[i]);
		if (ret) {
			log_warning("Can't start shard thread: %s", strerror(ret));
			return 1;
		}
	}
	if (cfg.port)
		log_notice("Ready to accept connections tcp");
	if (cfg.tls_port)
		log_notice("Ready to accept connections tls");

	while (!atomic_load(&srv.stop)) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		int sig = sigtimedwait(&set, NULL, &ts);

		if (sig == SIGTERM || sig == SIGINT) {
			log_warning("Received %s scheduling shutdown...",
				    sig == SIGTERM ? "SIGTERM" : "SIGINT");
			atomic_store(&srv.stop, 1);
		}
	}
	log_warning("User requested shutdown...");
	for (int i = 0; i < srv.nshards; i++)
		shard_wake(&srv.shards[i]);
	for (int i = 0; i < srv.nshards; i++)
		pthread_join(srv.shards[i].thread, NULL);
	blob_close();
	for (int i = 0; i < srv.nshards; i++) {
		struct shard *sh = &srv.shards[i];

		for (int d = 0; d < cfg.databases; d++)
			kv_db_destroy(&sh->dbs[d]);
		mem_free(sh->dbs);
		shard_free_stats(sh);
		mem_free(sh->hop_argv);
		close(sh->event_fd);
	}
	mem_free(srv.shards);
	tls_free();
	if (cfg.pidfile && *cfg.pidfile)
		unlink(cfg.pidfile);
	free(srv.config_file);
	log_warning("strata is now ready to exit, bye bye...");
	return 0;
}
