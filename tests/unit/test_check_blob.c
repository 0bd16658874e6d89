/*
 * test_check_blob.c - strata-check-blob against data directories built by
 * hand: an index written through blob_index, block files written with
 * pwrite(), then the tool run as a child process and its exit status and
 * report lines asserted.
 *
 * The tool is $STRATA_CHECK_BLOB_BIN (set by `make test-unit`), or else
 * strata-check-blob in the build directory this program was built in
 * (<BUILD>/tests/unit/test_check_blob -> <BUILD>/strata-check-blob).
 *
 * Each test gets its own directory from mkdtemp() under /tmp and removes it.
 * Block files are first filled with written bytes, so that they have no holes
 * unless a test punches one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blob_index.h"
#include "log.h"

#define KB 1024ULL

/* ---- directory ---- */

static char test_dir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_dir(void **state)
{
	(void)state;
	strcpy(test_dir, "/tmp/strata-ckb.XXXXXX");
	return mkdtemp(test_dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	return nftw(test_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)

static void file_path(char *buf, size_t cap, uint32_t file)
{
	snprintf(buf, cap, "%s/blob-%" PRIu32 ".dat", test_dir, file);
}

/* Creates blob-<file>.dat with size written bytes: no holes. */
static void file_fill(uint32_t file, uint64_t size)
{
	unsigned char chunk[64 * KB];
	char path[128];
	uint64_t off;
	int fd;

	file_path(path, sizeof(path), file);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	memset(chunk, 0xa5, sizeof(chunk));
	for (off = 0; off < size; off += sizeof(chunk)) {
		size_t n = (size_t)(size - off < sizeof(chunk) ? size - off : sizeof(chunk));

		assert_int_equal(pwrite(fd, chunk, n, (off_t)off), (ssize_t)n);
	}
	close(fd);
}

static void file_truncate(uint32_t file, uint64_t size)
{
	char path[128];

	file_path(path, sizeof(path), file);
	assert_int_equal(truncate(path, (off_t)size), 0);
}

/* Punches [off, off + len) out of the file; false if the file system cannot. */
static bool file_punch(uint32_t file, uint64_t off, uint64_t len)
{
	char path[128];
	int fd, rc;

	file_path(path, sizeof(path), file);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	if (rc)
		assert_int_equal(errno, EOPNOTSUPP);
	close(fd);
	return rc == 0;
}

static void file_flip_byte(uint32_t file, uint64_t off)
{
	char path[128];
	unsigned char c;
	int fd;

	file_path(path, sizeof(path), file);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
	close(fd);
}

/* ---- index ---- */

static atomic_int put_failures;

static void put_done(void *cookie, int err)
{
	(void)cookie;
	if (err)
		atomic_fetch_add(&put_failures, 1);
}

static struct blob_index *ix_open(void)
{
	struct blob_index_cfg cfg = { .dir = test_dir, .sync = BLOB_INDEX_SYNC_NO };
	struct blob_index *ix = NULL;

	assert_int_equal(blob_index_open(&cfg, &ix), 0);
	atomic_store(&put_failures, 0);
	return ix;
}

/* Closing commits every queued put; each must have succeeded. */
static void ix_close(struct blob_index *ix)
{
	blob_index_close(ix);
	assert_int_equal(atomic_load(&put_failures), 0);
}

/* Byte i of the value of seed. */
static unsigned char value_byte(uint64_t seed, uint64_t i)
{
	return (unsigned char)((i * 31 + seed * 7 + (i >> 12)) & 0xff);
}

struct ext {
	uint64_t off;
	uint64_t len;
};

/*
 * Stores a value of len bytes (value_byte(seed, i), or zeros where zero_from
 * <= i < zero_to) under key: writes it over the extents, in order, into
 * blob-<file>.dat, and queues its record. Extents are taken as given, right
 * or wrong; bytes past an extent's end of file extend the file.
 */
static void store_zeros(struct blob_index *ix, int db, const char *key, size_t klen,
			uint32_t file, uint64_t len, uint64_t seed, const struct ext *ext,
			uint32_t n, uint64_t zero_from, uint64_t zero_to)
{
	struct blob_index_rec rec = { .file = file, .len = len, .nextents = n };
	unsigned char *v = malloc(len ? len : 1);
	uint64_t at = 0;
	char path[128];
	int fd;

	assert_non_null(v);
	for (uint64_t i = 0; i < len; i++)
		v[i] = i >= zero_from && i < zero_to ? 0 : value_byte(seed, i);
	file_path(path, sizeof(path), file);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	for (uint32_t x = 0; x < n; x++) {
		uint64_t m = len - at < ext[x].len ? len - at : ext[x].len;

		rec.ext[x].off = ext[x].off;
		rec.ext[x].len = ext[x].len;
		if (m)
			assert_int_equal(pwrite(fd, v + at, m, (off_t)ext[x].off), (ssize_t)m);
		at += m;
	}
	close(fd);
	rec.crc = blob_crc32c(0, v, len);
	free(v);
	assert_int_equal(blob_index_put(ix, db, key, klen, &rec, put_done, NULL), 0);
}

static void store(struct blob_index *ix, int db, const char *key, uint32_t file,
		  uint64_t len, const struct ext *ext, uint32_t n)
{
	store_zeros(ix, db, key, strlen(key), file, len, (uint64_t)key[0], ext, n, 0, 0);
}

/* Rewrites the first record of the index with one byte flipped at off, so
 * that it no longer decodes (its checksum fails). */
static void damage_first_record(size_t off)
{
	unsigned char copy[4096];
	MDB_val k, v, nv;
	MDB_cursor *cur;
	char path[128];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	snprintf(path, sizeof(path), "%s/index", test_dir);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 2), 0);
	assert_int_equal(mdb_env_open(env, path, 0, 0644), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "records", 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	assert_true(off < v.mv_size && v.mv_size <= sizeof(copy));
	memcpy(copy, v.mv_data, v.mv_size);
	copy[off] ^= 0x01;
	nv.mv_size = v.mv_size;
	nv.mv_data = copy;
	assert_int_equal(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT), 0);
	mdb_cursor_close(cur);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* ---- running the tool ---- */

struct run {
	int status;			/* exit status, or 128 + signal */
	char out[256 * 1024];		/* stdout, NUL-terminated */
	char err[16 * 1024];		/* stderr, NUL-terminated */
};

static struct run R;

static const char *tool_path(void)
{
	static char path[PATH_MAX + 32];
	const char *env = getenv("STRATA_CHECK_BLOB_BIN");
	char exe[PATH_MAX];
	ssize_t n;
	char *cut;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	cut = strstr(exe, "/tests/unit/");
	assert_non_null(cut);
	*cut = '\0';
	snprintf(path, sizeof(path), "%s/strata-check-blob", exe);
	return path;
}

static void slurp(int fd, char *buf, size_t cap)
{
	ssize_t n;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, buf, cap - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

/* Runs the tool with the given arguments (NULL-terminated) into R. */
static void run_argv(const char *const *args)
{
	char out_tmpl[] = "/tmp/strata-ckb-out.XXXXXX", err_tmpl[] = "/tmp/strata-ckb-err.XXXXXX";
	const char *argv[16];
	int out = mkstemp(out_tmpl), err = mkstemp(err_tmpl), ws, n = 0;
	pid_t pid;

	assert_true(out >= 0 && err >= 0);
	unlink(out_tmpl);
	unlink(err_tmpl);
	argv[n++] = tool_path();
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	R.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	slurp(out, R.out, sizeof(R.out));
	slurp(err, R.err, sizeof(R.err));
	if (R.status == 127)
		fail_msg("cannot run %s", argv[0]);
}

#define RUN(...) run_argv((const char *const[]){ __VA_ARGS__, NULL })

/* Whether the report has exactly this line. */
static bool has_line(const char *line)
{
	size_t n = strlen(line);

	for (const char *p = R.out; (p = strstr(p, line)); p++)
		if ((p == R.out || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

static void assert_line(const char *line)
{
	if (!has_line(line))
		fail_msg("no line \"%s\" in the report:\n%s\nstderr:\n%s", line, R.out, R.err);
}

static void assert_status(int status)
{
	if (R.status != status)
		fail_msg("exit status %d, not %d; report:\n%s\nstderr:\n%s", R.status, status,
			 R.out, R.err);
}

/* The number after " name=" on the line that starts with prefix. */
static uint64_t field(const char *prefix, const char *name)
{
	char pat[64];
	const char *p, *eol;

	for (p = R.out; (p = strstr(p, prefix)); p++)
		if (p == R.out || p[-1] == '\n')
			break;
	if (!p)
		fail_msg("no line starting \"%s\" in the report:\n%s", prefix, R.out);
	eol = strchr(p, '\n');
	snprintf(pat, sizeof(pat), " %s=", name);
	p = strstr(p, pat);
	if (!p || (eol && p > eol))
		fail_msg("no %s= on the line starting \"%s\":\n%s", name, prefix, R.out);
	return strtoull(p + strlen(pat), NULL, 10);
}

/* Counts the lines that start with "problem: ". */
static int problem_lines(void)
{
	int n = 0;

	for (const char *p = R.out; (p = strstr(p, "problem: ")); p++)
		if (p == R.out || p[-1] == '\n')
			n++;
	return n;
}

/* ---- a clean directory ---- */

/* Two files; in file 0 a value over two extents and one over one, with free
 * space between and after them; in file 1 an expired value of db 2. */
static void build_clean_dir(void)
{
	struct blob_index *ix = ix_open();

	file_fill(0, 1024 * KB);
	file_fill(1, 256 * KB);
	store(ix, 0, "alpha", 0, 20000, (struct ext[]){ { 0, 16 * KB }, { 16 * KB, 4 * KB } }, 2);
	store(ix, 0, "beta", 0, 64 * KB, (struct ext[]){ { 64 * KB, 64 * KB } }, 1);
	{
		struct blob_index_rec rec = {
			.file = 1, .len = 4 * KB, .expire_ms = 1000, .nextents = 1,
			.ext = { { 128 * KB, 4 * KB } },
		};
		unsigned char v[4 * KB];
		char path[128];
		int fd;

		for (size_t i = 0; i < sizeof(v); i++)
			v[i] = value_byte(3, i);
		file_path(path, sizeof(path), 1);
		fd = open(path, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, v, sizeof(v), 128 * KB), (ssize_t)sizeof(v));
		close(fd);
		rec.crc = blob_crc32c(0, v, sizeof(v));
		assert_int_equal(blob_index_put(ix, 2, "gamma", 5, &rec, put_done, NULL), 0);
	}
	ix_close(ix);
}

static void test_clean_directory_exits_0_with_its_totals(void **state)
{
	char line[256];

	(void)state;
	build_clean_dir();
	RUN(test_dir, "--deep");
	assert_status(0);
	snprintf(line, sizeof(line), "check dir=%s block_size=4096 deep=yes", test_dir);
	assert_line(line);
	/* stored 20000 + 65536 + 4096, allocated 20480 + 65536 + 4096 */
	assert_line("records=3 expired=1 bad_records=0 stored=89632 allocated=90112 "
		    "crc_checked=3 files=2");
	assert_line("db=0 keys=2");
	assert_line("db=2 keys=1");
	assert_int_equal(field("file=blob-0.dat ", "records"), 2);
	assert_int_equal(field("file=blob-0.dat ", "size"), 1024 * KB);
	assert_int_equal(field("file=blob-0.dat ", "allocated"), 84 * KB);
	assert_int_equal(field("file=blob-0.dat ", "free"), 940 * KB);
	assert_int_equal(field("file=blob-0.dat ", "tail"), 896 * KB);
	assert_int_equal(field("file=blob-0.dat ", "holes"), 0);
	/* Every byte was written, so all the free space takes disk. */
	assert_true(field("file=blob-0.dat ", "disk") >= 1024 * KB);
	assert_int_equal(field("file=blob-0.dat ", "reclaimable"), 940 * KB);
	assert_int_equal(field("file=blob-1.dat ", "allocated"), 4 * KB);
	assert_int_equal(field("file=blob-1.dat ", "tail"), 124 * KB);
	assert_int_equal(problem_lines(), 0);
	assert_line("result: clean");
	/* The last line. */
	assert_non_null(strstr(R.out, "\nresult: clean\n"));
	assert_int_equal(strlen(strstr(R.out, "\nresult: clean\n")), strlen("\nresult: clean\n"));
	assert_string_equal(R.err, "");
}

static void test_without_deep_no_value_is_read(void **state)
{
	(void)state;
	build_clean_dir();
	RUN(test_dir);
	assert_status(0);
	assert_int_equal(field("records=", "crc_checked"), 0);
	assert_line("result: clean");
}

static void test_quiet_prints_only_the_result_when_clean(void **state)
{
	(void)state;
	build_clean_dir();
	RUN(test_dir, "--quiet", "--deep");
	assert_status(0);
	assert_string_equal(R.out, "result: clean\n");
}

static void test_file_that_no_record_names_is_all_free(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	ix_close(ix);
	file_fill(3, 64 * KB);
	file_fill(4, 0);
	/* Not a name the server gives: ignored. */
	file_fill(5, 4 * KB);
	{
		char from[128], to[128];

		file_path(from, sizeof(from), 5);
		snprintf(to, sizeof(to), "%s/blob-05.dat", test_dir);
		assert_int_equal(rename(from, to), 0);
	}
	RUN(test_dir);
	assert_status(0);
	assert_line("records=0 expired=0 bad_records=0 stored=0 allocated=0 crc_checked=0 files=2");
	assert_non_null(strstr(R.out, "\nfile=blob-3.dat records=0 size=65536 allocated=0 "
				      "free=65536 tail=65536 holes=0 disk="));
	assert_int_equal(field("file=blob-3.dat ", "reclaimable"), 65536);
	assert_int_equal(field("file=blob-4.dat ", "size"), 0);
	assert_null(strstr(R.out, "blob-05"));
	assert_null(strstr(R.out, "blob-5."));
}

/* ---- problems ---- */

static void test_overlapping_extents_of_two_keys_name_both(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 64 * KB);
	/* "a" scans first and holds [0, 16K); "b" wants a block inside it. */
	store(ix, 0, "a", 0, 16 * KB, (struct ext[]){ { 0, 16 * KB } }, 1);
	store(ix, 3, "b", 0, 4 * KB, (struct ext[]){ { 8 * KB, 4 * KB } }, 1);
	ix_close(ix);
	RUN(test_dir);
	assert_status(1);
	assert_line("problem: key=\"b\" db=3 file=blob-0.dat offset=8192: extent of 4096 bytes "
		    "overlaps key=\"a\" db=0 (offset=0 len=16384)");
	assert_int_equal(problem_lines(), 1);
	assert_line("result: 1 problem");
	/* Each block counts once. */
	assert_int_equal(field("file=blob-0.dat ", "allocated"), 16 * KB);
}

static void test_overlapping_extents_of_one_key(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 64 * KB);
	store(ix, 0, "k", 0, 12 * KB, (struct ext[]){ { 0, 8 * KB }, { 4 * KB, 4 * KB } }, 2);
	ix_close(ix);
	RUN(test_dir);
	assert_status(1);
	assert_line("problem: key=\"k\" db=0 file=blob-0.dat offset=4096: extent of 4096 bytes "
		    "overlaps another extent of the same key (offset=0 len=8192)");
	assert_line("result: 1 problem");
}

static void test_extent_past_the_end_of_its_file(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 64 * KB);
	store(ix, 0, "ok", 0, 4 * KB, (struct ext[]){ { 0, 4 * KB } }, 1);
	store(ix, 0, "past", 0, 8 * KB, (struct ext[]){ { 4 * KB, 4 * KB }, { 64 * KB, 4 * KB } }, 2);
	ix_close(ix);
	file_truncate(0, 64 * KB);
	RUN(test_dir, "--deep");
	assert_status(1);
	assert_line("problem: key=\"past\" db=0 file=blob-0.dat offset=65536: extent of 4096 "
		    "bytes ends at 69632, past the end of the file (65536 bytes)");
	/* A value that cannot be read whole is not read at all. */
	assert_int_equal(problem_lines(), 1);
	assert_int_equal(field("records=", "crc_checked"), 1);
	assert_line("result: 1 problem");
}

static void test_missing_block_file(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 64 * KB);
	store(ix, 0, "here", 0, 4 * KB, (struct ext[]){ { 0, 4 * KB } }, 1);
	store(ix, 1, "gone", 7, 4 * KB, (struct ext[]){ { 32 * KB, 4 * KB } }, 1);
	ix_close(ix);
	{
		char path[128];

		file_path(path, sizeof(path), 7);
		assert_int_equal(unlink(path), 0);
	}
	RUN(test_dir);
	assert_status(1);
	assert_line("problem: key=\"gone\" db=1 file=blob-7.dat offset=32768: block file does "
		    "not exist");
	assert_line("file=blob-7.dat missing records=1");
	assert_line("result: 1 problem");
}

static void test_extents_that_are_not_buddy_blocks(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 64 * KB);
	/* Offset not a multiple of the length; length of three blocks. */
	store(ix, 0, "misaligned", 0, 8 * KB, (struct ext[]){ { 4 * KB, 8 * KB } }, 1);
	store(ix, 0, "three", 0, 12 * KB, (struct ext[]){ { 16 * KB, 12 * KB } }, 1);
	ix_close(ix);
	RUN(test_dir);
	assert_status(1);
	assert_line("problem: key=\"misaligned\" db=0 file=blob-0.dat offset=4096: extent of "
		    "8192 bytes is not a buddy block of 4096-byte blocks");
	assert_line("problem: key=\"three\" db=0 file=blob-0.dat offset=16384: extent of "
		    "12288 bytes is not a buddy block of 4096-byte blocks");
	assert_line("result: 2 problems");
}

static void test_bad_checksum_is_found_with_deep_only(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 64 * KB);
	store(ix, 0, "v", 0, 10000, (struct ext[]){ { 0, 8 * KB }, { 8 * KB, 4 * KB } }, 2);
	ix_close(ix);
	file_flip_byte(0, 9000);	/* in the second extent */
	RUN(test_dir);
	assert_status(0);
	RUN(test_dir, "--deep");
	assert_status(1);
	assert_non_null(strstr(R.out, "problem: key=\"v\" db=0 file=blob-0.dat offset=0: "
				      "checksum mismatch: record 0x"));
	assert_int_equal(problem_lines(), 1);
	assert_line("result: 1 problem");
}

static void test_slack_after_the_value_is_not_checked(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 64 * KB);
	store(ix, 0, "v", 0, 5000, (struct ext[]){ { 0, 8 * KB } }, 1);
	ix_close(ix);
	file_flip_byte(0, 6000);
	RUN(test_dir, "--deep");
	assert_status(0);
	assert_int_equal(field("records=", "crc_checked"), 1);
}

static void test_hole_in_a_value_fails_its_checksum_without_deep(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 64 * KB);
	store(ix, 0, "v", 0, 16 * KB, (struct ext[]){ { 0, 16 * KB } }, 1);
	ix_close(ix);
	if (!file_punch(0, 4 * KB, 4 * KB))
		skip();
	RUN(test_dir);
	assert_status(1);
	assert_non_null(strstr(R.out, "problem: key=\"v\" db=0 file=blob-0.dat offset=0: "
				      "checksum mismatch: record 0x"));
	assert_non_null(strstr(R.out, " (part of the value lies in a hole)\n"));
	assert_int_equal(field("file=blob-0.dat ", "holes"), 4 * KB);
}

/* Some file systems (ZFS with compression) store a written zero block as a
 * hole: the checksum decides. */
static void test_hole_where_the_value_has_zeros_is_no_problem(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 64 * KB);
	store_zeros(ix, 0, "z", 1, 0, 16 * KB, 9, (struct ext[]){ { 0, 16 * KB } }, 1,
		    4 * KB, 8 * KB);
	ix_close(ix);
	if (!file_punch(0, 4 * KB, 4 * KB))
		skip();
	RUN(test_dir);
	assert_status(0);
	assert_int_equal(field("records=", "crc_checked"), 1);
}

static void test_punched_free_space_counts_as_holes_not_reclaimable(void **state)
{
	struct blob_index *ix = ix_open();
	uint64_t free, reclaimable;

	(void)state;
	file_fill(0, 1024 * KB);
	store(ix, 0, "v", 0, 4 * KB, (struct ext[]){ { 0, 4 * KB } }, 1);
	ix_close(ix);
	if (!file_punch(0, 512 * KB, 512 * KB))
		skip();
	RUN(test_dir, "--deep");
	assert_status(0);
	free = field("file=blob-0.dat ", "free");
	reclaimable = field("file=blob-0.dat ", "reclaimable");
	assert_int_equal(free, 1020 * KB);
	assert_int_equal(field("file=blob-0.dat ", "holes"), 512 * KB);
	assert_true(reclaimable <= free - 512 * KB);
}

static void test_file_size_that_is_not_whole_blocks(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	ix_close(ix);
	file_fill(2, 5000);
	RUN(test_dir);
	assert_status(1);
	assert_line("problem: file=blob-2.dat: size 5000 is not a multiple of the block size 4096");
}

static void test_undecodable_record_is_a_problem(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 64 * KB);
	store(ix, 0, "a", 0, 4 * KB, (struct ext[]){ { 0, 4 * KB } }, 1);
	store(ix, 0, "b", 0, 4 * KB, (struct ext[]){ { 4 * KB, 4 * KB } }, 1);
	ix_close(ix);
	damage_first_record(20);
	RUN(test_dir);
	assert_status(1);
	assert_line("problem: index: 1 record(s) do not decode and were skipped (their keys "
		    "are lost; their extents count as free)");
	assert_line("records=1 expired=0 bad_records=1 stored=4096 allocated=4096 crc_checked=0 "
		    "files=1");
}

static void test_keys_are_printed_escaped_and_cut(void **state)
{
	static const char odd[] = "a\"b\\c\n\x01\xff";
	struct blob_index *ix = ix_open();
	char long_key[300], want[512];

	(void)state;
	memset(long_key, 'x', sizeof(long_key));
	store_zeros(ix, 0, odd, sizeof(odd) - 1, 9, 4 * KB, 1, (struct ext[]){ { 0, 4 * KB } },
		    1, 0, 0);
	store_zeros(ix, 0, long_key, sizeof(long_key), 9, 4 * KB, 1,
		    (struct ext[]){ { 4 * KB, 4 * KB } }, 1, 0, 0);
	ix_close(ix);
	{
		char path[128];

		file_path(path, sizeof(path), 9);
		assert_int_equal(unlink(path), 0);
	}
	RUN(test_dir);
	assert_status(1);
	assert_line("problem: key=\"a\\\"b\\\\c\\n\\x01\\xff\" db=0 file=blob-9.dat offset=0: "
		    "block file does not exist");
	memset(want, 0, sizeof(want));
	strcpy(want, "problem: key=\"");
	memset(want + strlen(want), 'x', 128);
	strcat(want, "\"...(300 bytes) db=0 file=blob-9.dat offset=4096: block file does not exist");
	assert_line(want);
}

/* ---- options and refusals ---- */

static void test_block_size_option_sets_what_a_buddy_block_is(void **state)
{
	struct blob_index *ix = ix_open();

	(void)state;
	file_fill(0, 1024 * KB);
	store(ix, 0, "big", 0, 64 * KB, (struct ext[]){ { 64 * KB, 64 * KB } }, 1);
	store(ix, 0, "bigger", 0, 200 * KB,
	      (struct ext[]){ { 256 * KB, 128 * KB }, { 128 * KB, 64 * KB }, { 192 * KB, 64 * KB } }, 3);
	ix_close(ix);
	RUN(test_dir, "--block-size", "65536", "--deep");
	assert_status(0);
	assert_line("result: clean");

	ix = ix_open();
	store(ix, 0, "small", 0, 4 * KB, (struct ext[]){ { 4 * KB, 4 * KB } }, 1);
	ix_close(ix);
	RUN(test_dir, "--block-size=65536");
	assert_status(1);
	assert_line("problem: key=\"small\" db=0 file=blob-0.dat offset=4096: extent of 4096 "
		    "bytes is not a buddy block of 65536-byte blocks");
	RUN(test_dir);
	assert_status(0);
}

static void test_directory_in_use_is_refused(void **state)
{
	struct blob_index *ix = ix_open();
	char path[128];
	int fd;

	(void)state;
	ix_close(ix);
	snprintf(path, sizeof(path), "%s/strata.lock", test_dir);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	RUN(test_dir);
	assert_status(2);
	assert_non_null(strstr(R.err, "is in use"));
	assert_string_equal(R.out, "");
	close(fd);
	RUN(test_dir);
	assert_status(0);
}

static void test_bad_usage_and_missing_index_exit_2(void **state)
{
	char sub[128];

	(void)state;
	RUN("--deep");
	assert_status(2);
	assert_non_null(strstr(R.err, "usage: strata-check-blob DIR"));
	RUN(test_dir, "--frobnicate");
	assert_status(2);
	RUN(test_dir, "--block-size", "1000");
	assert_status(2);
	RUN(test_dir, "--block-size", "2048");
	assert_status(2);
	RUN(test_dir, "--block-size");
	assert_status(2);
	RUN(test_dir, test_dir);
	assert_status(2);
	snprintf(sub, sizeof(sub), "%s/none", test_dir);
	RUN(sub);
	assert_status(2);
	/* A directory without an index: refused, and left as it was. */
	RUN(test_dir);
	assert_status(2);
	assert_non_null(strstr(R.err, "no blob index there"));
	snprintf(sub, sizeof(sub), "%s/index", test_dir);
	assert_int_equal(access(sub, F_OK), -1);
	snprintf(sub, sizeof(sub), "%s/strata.lock", test_dir);
	assert_int_equal(access(sub, F_OK), -1);
	RUN("--help");
	assert_status(0);
	assert_non_null(strstr(R.out, "usage: strata-check-blob DIR"));
}

int main(void)
{
	log_min_level = LOG_WARNING;	/* the index's open and close notices */

	const struct CMUnitTest tests[] = {
		T(test_clean_directory_exits_0_with_its_totals),
		T(test_without_deep_no_value_is_read),
		T(test_quiet_prints_only_the_result_when_clean),
		T(test_file_that_no_record_names_is_all_free),
		T(test_overlapping_extents_of_two_keys_name_both),
		T(test_overlapping_extents_of_one_key),
		T(test_extent_past_the_end_of_its_file),
		T(test_missing_block_file),
		T(test_extents_that_are_not_buddy_blocks),
		T(test_bad_checksum_is_found_with_deep_only),
		T(test_slack_after_the_value_is_not_checked),
		T(test_hole_in_a_value_fails_its_checksum_without_deep),
		T(test_hole_where_the_value_has_zeros_is_no_problem),
		T(test_punched_free_space_counts_as_holes_not_reclaimable),
		T(test_file_size_that_is_not_whole_blocks),
		T(test_undecodable_record_is_a_problem),
		T(test_keys_are_printed_escaped_and_cut),
		T(test_block_size_option_sets_what_a_buddy_block_is),
		T(test_directory_in_use_is_refused),
		T(test_bad_usage_and_missing_index_exit_2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
