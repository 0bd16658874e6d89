/*
 * log.h - leveled logging in Redis's line format:
 *
 *     <pid>:M 21 Nov 2026 20:05:18.123 * message
 *
 * The mark after the time is the level: '.' debug, '-' verbose, '*' notice,
 * '#' warning. Lines go to stdout, or to `logfile` once log_open() succeeds.
 * The level is tested before anything is formatted. A line is written with
 * one write(2), so lines from different threads do not interleave.
 */
#ifndef STRATA_LOG_H
#define STRATA_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING };

extern int log_min_level;

/* Sends later lines to path (appending), or to stdout when path is NULL or
 * "". Returns 0 or -errno. */
int log_open(const char *path);
/* Parses "debug", "verbose", "notice", "warning"; returns -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes text as it is, without the line prefix, if level is enabled: for
 * the start-up banner. One write(2). */
void log_raw(int level, const char *text);

#define log_at(lvl, ...) \
	do { if ((lvl) >= log_min_level) log_write((lvl), __VA_ARGS__); } while (0)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_at(LOG_VERBOSE, __VA_ARGS__)
#define log_notice(...) log_at(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_at(LOG_WARNING, __VA_ARGS__)

#endif
