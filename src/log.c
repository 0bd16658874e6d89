/*
 * log.c - Redis-format log lines to stdout or a file.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_min_level = LOG_NOTICE;
static int log_fd = STDOUT_FILENO;

static const char *const log_names[] = { "debug", "verbose", "notice", "warning" };

int log_open(const char *path)
{
	int fd;

	if (!path || !*path) {
		if (log_fd != STDOUT_FILENO)
			close(log_fd);
		log_fd = STDOUT_FILENO;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (log_fd != STDOUT_FILENO)
		close(log_fd);
	log_fd = fd;
	return 0;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(name, log_names[i]))
			return i;
	return -1;
}

const char *log_level_name(int level)
{
	return level >= 0 && level < 4 ? log_names[level] : "notice";
}

void log_write(int level, const char *fmt, ...)
{
	static const char marks[] = ".-*#";
	char line[1024];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n, m;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%d:M ", (int)getpid());
	n += (int)strftime(line + n, sizeof(line) - (size_t)n, "%d %b %Y %H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03d %c ",
		      (int)(tv.tv_usec / 1000), marks[level & 3]);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(log_fd, line, (size_t)n) < 0) {
		/* Nowhere left to report a failing log. */
	}
}

void log_raw(int level, const char *text)
{
	if (level < log_min_level)
		return;
	if (write(log_fd, text, strlen(text)) < 0) {
		/* Nowhere left to report a failing log. */
	}
}
