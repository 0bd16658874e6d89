/*
 * mem.c - accounted allocation over the C library's malloc.
 *
 * A thread gets one counter slot the first time it allocates; the slots live
 * in a fixed global array so mem_used() can read them from any thread with
 * relaxed loads. Counts are in malloc_usable_size() bytes, so what is reported
 * is what the allocator really handed out for the request, not the request.
 */
#include "mem.h"
#include "util.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEM_MAX_THREADS 256

/* One cache line per thread so counters never share a line. */
struct mem_slot {
	_Atomic int64_t used;	/* bytes; written by its owner thread only */
	char pad[64 - sizeof(int64_t)];
};

static struct mem_slot mem_slots[MEM_MAX_THREADS];
static _Atomic int mem_nslots;
static _Atomic size_t mem_peak;
static _Thread_local struct mem_slot *mem_my_slot;

static struct mem_slot *mem_slot_get(void)
{
	if (unlikely(!mem_my_slot)) {
		int i = atomic_fetch_add(&mem_nslots, 1);

		/* Past the table, threads share the last slot: still exact in sum
		 * because the adds below are atomic. */
		if (i >= MEM_MAX_THREADS)
			i = MEM_MAX_THREADS - 1;
		mem_my_slot = &mem_slots[i];
	}
	return mem_my_slot;
}

static void mem_count(int64_t delta)
{
	atomic_fetch_add_explicit(&mem_slot_get()->used, delta, memory_order_relaxed);
}

static _Noreturn void mem_oom(size_t n)
{
	fprintf(stderr, "Out of memory allocating %zu bytes\n", n);
	abort();
}

void *mem_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (unlikely(!p))
		mem_oom(n);
	mem_count((int64_t)malloc_usable_size(p));
	return p;
}

void *mem_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (unlikely(!p))
		mem_oom(nmemb * size);
	mem_count((int64_t)malloc_usable_size(p));
	return p;
}

void *mem_realloc(void *p, size_t n)
{
	size_t old = p ? malloc_usable_size(p) : 0;
	void *q = realloc(p, n ? n : 1);

	if (unlikely(!q))
		mem_oom(n);
	mem_count((int64_t)malloc_usable_size(q) - (int64_t)old);
	return q;
}

void mem_free(void *p)
{
	if (!p)
		return;
	mem_count(-(int64_t)malloc_usable_size(p));
	free(p);
}

char *mem_strndup(const char *s, size_t n)
{
	char *p = mem_alloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t mem_usable(const void *p)
{
	return p ? malloc_usable_size((void *)p) : 0;
}

size_t mem_used(void)
{
	int n = atomic_load_explicit(&mem_nslots, memory_order_relaxed);
	int64_t sum = 0;

	if (n > MEM_MAX_THREADS)
		n = MEM_MAX_THREADS;
	for (int i = 0; i < n; i++)
		sum += atomic_load_explicit(&mem_slots[i].used, memory_order_relaxed);
	return sum > 0 ? (size_t)sum : 0;
}

void mem_used_peak_update(void)
{
	size_t u = mem_used();
	size_t p = atomic_load_explicit(&mem_peak, memory_order_relaxed);

	while (u > p && !atomic_compare_exchange_weak(&mem_peak, &p, u))
		;
}

size_t mem_used_peak(void)
{
	return atomic_load_explicit(&mem_peak, memory_order_relaxed);
}

size_t mem_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, rss = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (size_t)sysconf(_SC_PAGESIZE);
}
