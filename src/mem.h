/*
 * mem.h - accounted allocation.
 *
 * Every allocation the server makes goes through these wrappers so that the
 * bytes in use are known exactly (INFO memory's used_memory, and maxmemory's
 * eviction decisions). Each thread counts into its own slot, without atomics
 * read-modify-write on the hot path; mem_used() sums the slots. A block may be
 * freed by another thread than the one that allocated it: the sum stays exact,
 * only the per-thread split drifts, and nothing relies on that split.
 *
 * Allocation failure aborts the process (like Redis zmalloc's oom handler):
 * the server bounds its memory with maxmemory and client limits instead.
 */
#ifndef STRATA_MEM_H
#define STRATA_MEM_H

#include <stddef.h>

void *mem_alloc(size_t n);
void *mem_calloc(size_t nmemb, size_t size);
/* Like realloc(3); p may be NULL. */
void *mem_realloc(void *p, size_t n);
/* p may be NULL. */
void mem_free(void *p);
/* A NUL-terminated copy of the n bytes at s, owned by the caller. */
char *mem_strndup(const char *s, size_t n);
/* The usable size of a block returned by these functions. */
size_t mem_usable(const void *p);

/* Bytes currently allocated through mem_*, all threads. */
size_t mem_used(void);
/* Resident set size of the process, from /proc/self/statm (a syscall: not
 * for hot paths). */
size_t mem_rss(void);
/* Peak of mem_used() observed by mem_used_peak_update() calls. */
size_t mem_used_peak(void);
void mem_used_peak_update(void);

#endif
