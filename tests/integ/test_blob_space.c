/*
 * test_blob_space.c - the blob tier out of space: a full file system, and
 * the blob-max-bytes cap.
 *
 * Disk full. A 64 MiB ext4 image is made with mkfs.ext4 and mounted through
 * a loop device (mount -o loop), and strata (2 shards) runs with its --dir
 * there. 1 MiB SETs go on until the disk is full. Every failed SET must be
 * a clean error reply whose text starts with "ERR" (not a dropped
 * connection), the server must go on answering (PING, small SETs), every
 * value acknowledged earlier must read back intact, and once some large
 * keys are deleted a new large SET must succeed (within a few seconds: the
 * space comes back once the deletes committed). The values stored before
 * the first refusal must fill at least half of the space the file system
 * had free once the server started (two shards share the disk). Then the
 * server is stopped,
 * strata-check-blob --deep must find the dir clean, and a restart on the
 * full disk must find every surviving value. The mount and the loop device
 * are undone at exit, also after a failed check or a bail-out (an atexit
 * handler stops the server first). Without root, /dev/loop-control,
 * mkfs.ext4 or a working mount, this part prints "skip: <reason>" and
 * reports a skipped check.
 *
 * blob-max-bytes. With blob-max-bytes 2mb and maxmemory-policy noeviction,
 * 300 KiB SETs beyond the cap answer an error, what was stored stays
 * intact, and a DEL makes room again. With allkeys-lru the same SETs all
 * succeed, older large keys are evicted instead (INFO blob_evicted_keys
 * counts them), the disk in use stays under the cap, and the newest keys
 * read back intact, also when the shard a SET goes to holds no large key
 * and the other shard's keys must go. Under noeviction at the cap, values
 * made in memory (MSET, APPEND, SETRANGE, SET inside MULTI) answer the
 * error, EXEC's whole answer included, and their keys are taken back.
 *
 * blob-specific: skips on redis-server and on an external server.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define IMAGE_BYTES (64 * MIB)
#define FILL_LEN MIB
#define FILL_MAX 200		/* SETs before giving up on filling the disk */
#define CAP_LEN (300 * KIB)
#define CAP_BYTES (2 * MIB)

static char workdir[64];	/* holds the image and the mount point */
static char image[128], mnt[128];
static bool mounted;
static struct harness_server *disk_srv;

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static char *make_val(size_t len, uint64_t seed)
{
	char *p = malloc(len);

	if (!p)
		harness_bail("out of memory");
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = mix64(seed * 0x100000001b3ull + i);

		memcpy(p + i, &w, len - i < 8 ? len - i : 8);
	}
	return p;
}

/* Whether r is the len bytes of make_val(len, seed). Frees r. */
static bool is_val(redisReply *r, size_t len, uint64_t seed)
{
	bool ok = false;

	if (r && r->type == REDIS_REPLY_STRING && r->len == len) {
		char *v = make_val(len, seed);

		ok = memcmp(r->str, v, len) == 0;
		free(v);
	}
	if (r)
		freeReplyObject(r);
	return ok;
}

/*
 * Runs argv (PATH lookup) with stdout and stderr into out (cut to cap - 1
 * bytes), bounded to 60 s. Returns its exit status, or -1 if it could not
 * run or was killed.
 */
static int run_prog(const char *const *argv, char *out, size_t cap)
{
	int fds[2], status;
	size_t len = 0;
	int64_t deadline = harness_mono_ms() + 60000;
	pid_t pid;

	out[0] = '\0';
	if (pipe(fds) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "%s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char buf[512];
		ssize_t n = read(fds[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && len + 1 < cap; i++)
			out[len++] = buf[i] == '\n' ? ' ' : buf[i];
		out[len] = '\0';
	}
	close(fds[0]);
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (harness_mono_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		harness_sleep_ms(10);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Undoes the mount (the loop device goes with it: mount -o loop sets
 * autoclear; losetup -d is the fallback) and removes the work dir. */
static void disk_cleanup(void)
{
	char out[256];

	if (disk_srv) {
		harness_server_stop(disk_srv);
		disk_srv = NULL;
	}
	if (mounted) {
		const char *um[] = { "umount", mnt, NULL };

		if (run_prog(um, out, sizeof(out)) != 0) {
			const char *lazy[] = { "umount", "-l", mnt, NULL };

			fprintf(stderr, "umount %s: %s; trying umount -l\n", mnt, out);
			run_prog(lazy, out, sizeof(out));
		}
		mounted = false;
	}
	if (image[0]) {
		const char *lj[] = { "losetup", "-j", image, NULL };
		char dev[64];

		/* A loop device still bound to the image: detach it. */
		if (run_prog(lj, out, sizeof(out)) == 0 && sscanf(out, "%63[^:]:", dev) == 1) {
			const char *ld[] = { "losetup", "-d", dev, NULL };

			run_prog(ld, out, sizeof(out));
		}
	}
	if (workdir[0]) {
		harness_remove_tree(workdir);
		workdir[0] = '\0';
	}
}

/* Makes and mounts the image; false (with the reason) when this machine
 * cannot. */
static bool disk_setup(char *why, size_t cap)
{
	char out[512];
	int fd;

	if (geteuid() != 0) {
		snprintf(why, cap, "not root");
		return false;
	}
	if (access("/dev/loop-control", F_OK) < 0 && access("/dev/loop0", F_OK) < 0) {
		snprintf(why, cap, "no /dev/loop-control or /dev/loop*");
		return false;
	}
	snprintf(workdir, sizeof(workdir), "/tmp/strata-space-XXXXXX");
	if (!mkdtemp(workdir)) {
		workdir[0] = '\0';
		snprintf(why, cap, "mkdtemp: %s", strerror(errno));
		return false;
	}
	atexit(disk_cleanup);
	snprintf(image, sizeof(image), "%s/disk.img", workdir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", workdir);
	fd = open(image, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)IMAGE_BYTES) < 0) {
		snprintf(why, cap, "creating %s: %s", image, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	if (mkdir(mnt, 0755) < 0) {
		snprintf(why, cap, "mkdir %s: %s", mnt, strerror(errno));
		return false;
	}
	{
		const char *mk[] = { "mkfs.ext4", "-F", "-q", image, NULL };

		if (run_prog(mk, out, sizeof(out)) != 0) {
			snprintf(why, cap, "mkfs.ext4 failed: %s", out);
			return false;
		}
	}
	{
		const char *mo[] = { "mount", "-o", "loop", image, mnt, NULL };

		if (run_prog(mo, out, sizeof(out)) != 0) {
			snprintf(why, cap, "mount -o loop failed: %s", out);
			return false;
		}
	}
	mounted = true;
	return true;
}

static bool is_err_prefix(const redisReply *r, const char *prefix)
{
	return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, prefix, strlen(prefix)) == 0;
}

static void test_disk_full(void)
{
	char why[600];
	uint64_t seeds[FILL_MAX];
	bool alive[FILL_MAX] = { false };
	int stored = 0, errors = 0, bad_errors = 0, sets = 0;
	char first_err[256] = "", bad_err[256] = "";
	redisContext *c;
	bool freed = false;
	struct statvfs sv;
	uint64_t avail = 0;

	if (!disk_setup(why, sizeof(why))) {
		printf("skip: %s\n", why);
		skip(why, "disk full: a loop-mounted 64 MiB ext4");
		return;
	}
	harness_diag("64 MiB ext4 mounted at %s", mnt);
	disk_srv = harness_server_start("--shards", "2", "--dir", mnt);
	c = harness_connect(disk_srv);
	if (statvfs(mnt, &sv) == 0)
		avail = (uint64_t)sv.f_bavail * sv.f_frsize;

	/* Fill until the disk says no; a few more after the first error. */
	for (int i = 0; i < FILL_MAX && errors < 4; i++) {
		char *v;
		redisReply *r;

		seeds[i] = 7000 + (uint64_t)i;
		v = make_val(FILL_LEN, seeds[i]);
		r = cmd(c, "SET full:%d %b", i, v, (size_t)FILL_LEN);
		free(v);
		sets++;
		if (!r)
			harness_bail("disk full: SET full:%d lost the connection: %s", i, c->errstr);
		if (r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) {
			alive[i] = true;
			stored++;
		} else {
			if (!errors++)
				snprintf(first_err, sizeof(first_err), "%s",
					 r->type == REDIS_REPLY_ERROR ? r->str : "(not an error)");
			if (!is_err_prefix(r, "ERR") && !bad_errors++)
				snprintf(bad_err, sizeof(bad_err), "type %d: %s", r->type,
					 r->type == REDIS_REPLY_ERROR ? r->str : "");
		}
		freeReplyObject(r);
	}
	harness_diag("disk full: %d SETs, %d stored, %d refused; first refusal: %s", sets, stored,
		     errors, first_err);
	if (bad_errors)
		harness_diag("disk full: first reply that is not an ERR error: %s", bad_err);
	check(errors > 0, "disk full: SETs of 1 MiB are refused once the disk is full (%d stored)",
	      stored);
	/* The space is the disk's, not one shard's: each shard grows its own
	 * file, and neither may take what the other needs. */
	check((uint64_t)stored * FILL_LEN >= avail / 2,
	      "disk full: 1 MiB values fill at least half of the %llu MiB free at start (%d stored)",
	      (unsigned long long)(avail / MIB), stored);
	check_int(bad_errors, 0, "disk full: every refusal is an error reply starting with ERR");
	expect_status(cmd(c, "PING"), "PONG", "disk full: the server answers PING");
	expect_status(cmd(c, "SET full:small tiny"), "OK", "disk full: a small SET still works");
	expect_str(cmd(c, "GET full:small"), "tiny", "disk full: and reads back");
	{
		int intact = 0;

		for (int i = 0; i < sets; i++)
			if (alive[i] && is_val(cmd(c, "GET full:%d", i), FILL_LEN, seeds[i]))
				intact++;
		check_int(intact, stored, "disk full: every stored value reads back intact");
	}

	/* Free some space: a large SET succeeds again. */
	for (int i = 0, n = 0; i < sets && n < 8; i++) {
		if (alive[i]) {
			expect_int(cmd(c, "DEL full:%d", i), 1, "disk full: DEL full:%d", i);
			alive[i] = false;
			stored--;
			n++;
		}
	}
	{
		int64_t deadline = harness_mono_ms() + 5000;
		char *v = make_val(FILL_LEN, 9999);
		redisReply *r = NULL;

		while (!freed && harness_mono_ms() < deadline) {
			if (r)
				freeReplyObject(r);
			r = cmd(c, "SET full:after %b", v, (size_t)FILL_LEN);
			freed = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK");
			if (!freed)
				harness_sleep_ms(100);
		}
		if (!freed && r)
			harness_diag("disk full: SET after the DELs still answers %s",
				     r->type == REDIS_REPLY_ERROR ? r->str : "something else");
		if (r)
			freeReplyObject(r);
		check(freed, "disk full: after DEL of 8 MiB a new 1 MiB SET succeeds within 5 s");
		if (freed)
			check(is_val(cmd(c, "GET full:after"), FILL_LEN, 9999),
			      "disk full: the new value reads back intact");
		free(v);
	}
	redisFree(c);
	harness_server_stop(disk_srv);	/* SIGTERM */
	disk_srv = NULL;
	{
		char out[2048];
		int st = harness_check_blob(mnt, true, out, sizeof(out));

		if (st < 0) {
			skip(out, "disk full: strata-check-blob --deep after the stop");
		} else {
			if (st != 0)
				harness_diag("strata-check-blob: %s", out);
			check(st == 0 && strstr(out, "result: clean"),
			      "disk full: strata-check-blob --deep finds the dir clean (status %d)", st);
		}
	}

	/* A restart on the full disk keeps what was acknowledged. */
	disk_srv = harness_server_start("--shards", "2", "--dir", mnt);
	c = harness_connect(disk_srv);
	{
		int intact = 0;

		for (int i = 0; i < sets; i++)
			if (alive[i] && is_val(cmd(c, "GET full:%d", i), FILL_LEN, seeds[i]))
				intact++;
		check_int(intact, stored, "disk full: after a restart every stored value is intact");
		if (freed)
			check(is_val(cmd(c, "GET full:after"), FILL_LEN, 9999),
			      "disk full: after a restart the value stored after the DELs is intact");
	}
	redisFree(c);
	disk_cleanup();
}

/* ---- blob-max-bytes ---- */

static void test_cap_noeviction(void)
{
	struct harness_server *s = harness_server_start("--shards", "2", "--blob-max-bytes", "2mb",
							"--maxmemory-policy", "noeviction");
	redisContext *c = harness_connect(s);
	bool alive[20] = { false };
	int stored = 0, refused = 0, intact = 0;
	char first_err[256] = "";
	long long alloc;

	for (int i = 0; i < 20; i++) {
		char *v = make_val(CAP_LEN, 100 + (uint64_t)i);
		redisReply *r = cmd(c, "SET cap:%d %b", i, v, (size_t)CAP_LEN);

		free(v);
		if (!r)
			harness_bail("noeviction: SET cap:%d lost the connection", i);
		if (r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) {
			alive[i] = true;
			stored++;
		} else if (r->type == REDIS_REPLY_ERROR) {
			if (!refused++)
				snprintf(first_err, sizeof(first_err), "%s", r->str);
		}
		freeReplyObject(r);
	}
	harness_diag("noeviction: %d of 20 SETs of 300 KiB stored under a 2 MiB cap; refusal: %s",
		     stored, first_err);
	check(stored >= 4 && stored <= 7, "noeviction: 4 to 7 values of 300 KiB fit in 2 MiB (%d)",
	      stored);
	check_int(refused, 20 - stored, "noeviction: every SET beyond the cap answers an error");
	check(strncmp(first_err, "ERR", 3) == 0, "noeviction: the error starts with ERR");
	alloc = harness_info_int(c, "blobstore", "blob_bytes_allocated");
	check(alloc <= (long long)CAP_BYTES, "noeviction: blob_bytes_allocated %lld <= 2 MiB", alloc);
	for (int i = 0; i < 20; i++)
		if (alive[i] && is_val(cmd(c, "GET cap:%d", i), CAP_LEN, 100 + (uint64_t)i))
			intact++;
	check_int(intact, stored, "noeviction: every stored value reads back intact");
	expect_int(cmd(c, "DBSIZE"), stored, "noeviction: nothing was evicted");
	expect_status(cmd(c, "SET cap:small x"), "OK", "noeviction: small SETs still work");
	for (int i = 0; i < 20; i++) {
		if (alive[i]) {
			expect_int(cmd(c, "DEL cap:%d", i), 1, "noeviction: DEL cap:%d makes room", i);
			break;
		}
	}
	{
		char *v = make_val(CAP_LEN, 555);

		expect_status(cmd(c, "SET cap:again %b", v, (size_t)CAP_LEN), "OK",
			      "noeviction: a SET fits again after the DEL");
		check(is_val(cmd(c, "GET cap:again"), CAP_LEN, 555), "noeviction: and reads back");
		free(v);
	}
	redisFree(c);
	harness_server_stop(s);
}

/*
 * Values made in memory (spills) that cannot be stored: with the cap
 * reached under noeviction, MSET, APPEND, SETRANGE and SET inside MULTI of a
 * large value answer the error instead of +OK (EXEC's whole answer is that
 * error), and the key is taken back: absent once the answer came, and not
 * counted in blob_keys. The values stored before stay intact.
 */
#define CAP_ERR "ERR blob-max-bytes reached and nothing could be evicted"

static void test_cap_noeviction_spills(void)
{
	struct harness_server *s = harness_server_start("--shards", "2", "--blob-max-bytes", "2mb",
							"--maxmemory-policy", "noeviction");
	redisContext *c = harness_connect(s);
	char *v = make_val(CAP_LEN, 700);
	int stored = 0, intact = 0;
	redisReply *r;

	for (int i = 0; i < 20; i++) {
		char *w = make_val(CAP_LEN, 600 + (uint64_t)i);

		r = cmd(c, "SET full:%d %b", i, w, (size_t)CAP_LEN);
		free(w);
		if (!r)
			harness_bail("spills: SET full:%d lost the connection", i);
		if (r->type != REDIS_REPLY_STATUS) {
			freeReplyObject(r);
			break;
		}
		freeReplyObject(r);
		stored++;
	}
	check(stored >= 4 && stored < 20, "spills: the cap is reached after %d SETs", stored);

	expect_err(cmd(c, "MSET sp:a %b", v, (size_t)CAP_LEN), CAP_ERR,
		   "spills: MSET of a large value over the cap answers the error");
	expect_int(cmd(c, "EXISTS sp:a"), 0, "spills: ... and its key is taken back");
	expect_err(cmd(c, "APPEND sp:b %b", v, (size_t)CAP_LEN), CAP_ERR,
		   "spills: APPEND making a large value over the cap answers the error");
	expect_int(cmd(c, "EXISTS sp:b"), 0, "spills: ... and its key is taken back");
	expect_status(cmd(c, "SET sp:c abc"), "OK", "spills: a small SET");
	expect_err(cmd(c, "SETRANGE sp:c %lld Z", (long long)CAP_LEN), CAP_ERR,
		   "spills: SETRANGE growing it past the threshold over the cap answers the error");
	expect_int(cmd(c, "EXISTS sp:c"), 0, "spills: ... and its key is taken back");
	expect_status(cmd(c, "MULTI"), "OK", "spills: MULTI");
	expect_status(cmd(c, "SET sp:m %b", v, (size_t)CAP_LEN), "QUEUED", "spills: SET queued");
	expect_status(cmd(c, "INCR sp:n"), "QUEUED", "spills: INCR queued");
	expect_err(cmd(c, "EXEC"), CAP_ERR, "spills: EXEC with a large SET over the cap answers "
		   "the error");
	expect_int(cmd(c, "EXISTS sp:m"), 0, "spills: ... and the large key is taken back");
	expect_str(cmd(c, "GET sp:n"), "1", "spills: ... the small INCR of the same EXEC stays");
	expect_status(cmd(c, "PING"), "PONG", "spills: the server goes on");
	check_int(harness_info_int(c, "blobstore", "blob_keys"), stored,
		  "spills: blob_keys counts only the values stored before");
	for (int i = 0; i < stored; i++)
		if (is_val(cmd(c, "GET full:%d", i), CAP_LEN, 600 + (uint64_t)i))
			intact++;
	check_int(intact, stored, "spills: every value stored before reads back intact");
	free(v);
	redisFree(c);
	harness_server_stop(s);
}

static void test_cap_lru(void)
{
	struct harness_server *s = harness_server_start("--shards", "2", "--blob-max-bytes", "2mb",
							"--maxmemory-policy", "allkeys-lru");
	redisContext *c = harness_connect(s);
	int ok = 0, present = 0;
	long long alloc, evicted;

	for (int i = 0; i < 20; i++) {
		char *v = make_val(CAP_LEN, 200 + (uint64_t)i);
		redisReply *r = cmd(c, "SET lru:%d %b", i, v, (size_t)CAP_LEN);

		free(v);
		if (r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK"))
			ok++;
		else if (r && r->type == REDIS_REPLY_ERROR)
			harness_diag("allkeys-lru: SET lru:%d answered %s", i, r->str);
		if (r)
			freeReplyObject(r);
		harness_sleep_ms(2);	/* distinct idle times */
	}
	check_int(ok, 20, "allkeys-lru: every SET of 300 KiB succeeds under a 2 MiB cap");
	evicted = harness_info_int(c, "blobstore", "blob_evicted_keys");
	check(evicted >= 13, "allkeys-lru: older large keys were evicted (blob_evicted_keys %lld)",
	      evicted);
	alloc = harness_info_int(c, "blobstore", "blob_bytes_allocated");
	check(alloc <= (long long)CAP_BYTES, "allkeys-lru: blob_bytes_allocated %lld <= 2 MiB", alloc);
	for (int i = 0; i < 20; i++) {
		redisReply *r = cmd(c, "GET lru:%d", i);

		if (r && r->type == REDIS_REPLY_STRING) {
			present++;
			check(is_val(r, CAP_LEN, 200 + (uint64_t)i), "allkeys-lru: lru:%d is intact", i);
		} else if (r) {
			freeReplyObject(r);
		}
	}
	check_int(present + evicted, 20, "allkeys-lru: each key is either present or counted evicted");
	expect_int(cmd(c, "EXISTS lru:19"), 1, "allkeys-lru: the newest key is there");
	redisFree(c);
	harness_server_stop(s);
}

/*
 * Regression: lru_evicts_across_shards. Each shard evicted only its own
 * large keys, so under allkeys-lru a SET routed to a shard that held none
 * answered "blob-max-bytes reached and nothing could be evicted" while the
 * other shard's keys filled the cap. Here every key of the first round
 * lives on shard 0 and every key of the second on shard 1.
 */
static void test_cap_lru_across_shards(void)
{
	struct harness_server *s = harness_server_start("--shards", "2", "--blob-max-bytes", "2mb",
							"--maxmemory-policy", "allkeys-lru");
	redisContext *c = harness_connect(s);
	char k0[8][32], k1[8][32];
	int ok0 = 0, ok1 = 0;
	long long alloc, evicted;

	for (int i = 0; i < 8; i++) {
		char pre[16];

		snprintf(pre, sizeof(pre), "lxa%d:", i);
		harness_pick_key(k0[i], sizeof(k0[i]), pre, "", 2, 0);
		snprintf(pre, sizeof(pre), "lxb%d:", i);
		harness_pick_key(k1[i], sizeof(k1[i]), pre, "", 2, 1);
	}
	for (int i = 0; i < 8; i++) {
		char *v = make_val(CAP_LEN, 300 + (uint64_t)i);
		redisReply *r = cmd(c, "SET %s %b", k0[i], v, (size_t)CAP_LEN);

		free(v);
		if (r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK"))
			ok0++;
		if (r)
			freeReplyObject(r);
		harness_sleep_ms(2);
	}
	check_int(ok0, 8, "lru across shards: 8 SETs on shard 0 succeed under a 2 MiB cap");
	for (int i = 0; i < 8; i++) {
		char *v = make_val(CAP_LEN, 400 + (uint64_t)i);
		redisReply *r = cmd(c, "SET %s %b", k1[i], v, (size_t)CAP_LEN);

		free(v);
		if (r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK"))
			ok1++;
		else if (r && r->type == REDIS_REPLY_ERROR)
			harness_diag("lru across shards: SET %s answered %s", k1[i], r->str);
		if (r)
			freeReplyObject(r);
	}
	check_int(ok1, 8, "lru across shards: 8 SETs on shard 1 succeed, evicting shard 0's keys");
	evicted = harness_info_int(c, "blobstore", "blob_evicted_keys");
	check(evicted >= 8, "lru across shards: blob_evicted_keys %lld >= 8", evicted);
	alloc = harness_info_int(c, "blobstore", "blob_bytes_allocated");
	check(alloc <= (long long)CAP_BYTES, "lru across shards: blob_bytes_allocated %lld <= 2 MiB",
	      alloc);
	check(is_val(cmd(c, "GET %s", k1[7]), CAP_LEN, 407), "lru across shards: the newest key is intact");
	redisFree(c);
	harness_server_stop(s);
}

int main(void)
{
	setenv("STRATA_TEST_TIMEOUT", "180", 0);
	harness_init("test_blob_space: disk full and blob-max-bytes");
	{
		struct harness_server *probe = harness_server_start();
		bool skipit = probe->is_redis || probe->external;

		harness_server_stop(probe);
		if (skipit) {
			skip("blob-specific", "disk full and blob-max-bytes");
			return harness_done();
		}
	}
	test_disk_full();
	test_cap_noeviction();
	test_cap_noeviction_spills();
	test_cap_lru();
	test_cap_lru_across_shards();
	return harness_done();
}
