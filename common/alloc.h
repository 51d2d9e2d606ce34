/* alloc.h: what respite asks of the allocator it is built with, beyond malloc and free.
 * CMake's RESPITE_MALLOC chooses it (libc, jemalloc or mimalloc; BENCHMARKS.md has the
 * figures behind the default); jemalloc and mimalloc replace malloc, free and
 * malloc_usable_size for the whole process, so every xmalloc and free goes to them and
 * the keyspace's byte count (malloc_usable_size of every record) stays exact. */
#ifndef RESPITE_ALLOC_H
#define RESPITE_ALLOC_H

#include <stddef.h>

/* Bytes the allocator spends in front of each block beyond malloc_usable_size: glibc's
 * size word; jemalloc and mimalloc keep no per-block header. */
#if defined(RESPITE_MALLOC_JEMALLOC) || defined(RESPITE_MALLOC_MIMALLOC)
#define ALLOC_BLOCK_HEADER 0
#else
#define ALLOC_BLOCK_HEADER sizeof(size_t)
#endif

/* INFO memory's mem_allocator: "libc", "jemalloc-5.3.0", "mimalloc-2.0.9". */
const char *alloc_name(void);

/* Bytes allocated by the process now (once, at start-up: with glibc it walks the free
 * lists). 0 where the allocator cannot say (mimalloc). */
size_t alloc_allocated(void);

/* INFO memory's allocator_allocated/active/resident, where the allocator keeps them
 * (jemalloc's stats.*); all 0 otherwise, as Redis built with libc reports them. Cheap. */
typedef struct alloc_stats {
    size_t allocated, active, resident;
} alloc_stats;
void alloc_get_stats(alloc_stats *st);

/* MEMORY MALLOC-STATS: the allocator's own report (jemalloc's malloc_stats_print), in a
 * buffer the caller frees; NULL where the allocator has none (Redis then answers "Stats
 * not supported for the current allocator"). */
char *alloc_stats_report(size_t *len);

/* MEMORY PURGE: give free memory back to the system (glibc's malloc_trim, jemalloc's
 * arena purge, mimalloc's forced collect). */
void alloc_purge(void);

#endif
