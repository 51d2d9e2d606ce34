/* alloc.c: the allocator-specific calls behind common/alloc.h, one branch per allocator. */
#include "common/alloc.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/xmalloc.h"

#if defined(RESPITE_MALLOC_JEMALLOC)
#include <jemalloc/jemalloc.h>

#define ALLOC_STR_(x) #x
#define ALLOC_STR(x)  ALLOC_STR_(x)

const char *alloc_name(void) {
    return "jemalloc-" ALLOC_STR(JEMALLOC_VERSION_MAJOR) "." ALLOC_STR(JEMALLOC_VERSION_MINOR) "." ALLOC_STR(
        JEMALLOC_VERSION_BUGFIX);
}

/* The statistics are a snapshot taken when "epoch" is written. */
static size_t je_stat(const char *name) {
    size_t v = 0, len = sizeof(v);
    if (mallctl(name, &v, &len, NULL, 0) != 0) return 0;
    return v;
}

static void je_refresh(void) {
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    mallctl("epoch", &epoch, &len, &epoch, len);
}

size_t alloc_allocated(void) {
    je_refresh();
    return je_stat("stats.allocated");
}

void alloc_get_stats(alloc_stats *st) {
    je_refresh();
    st->allocated = je_stat("stats.allocated");
    st->active = je_stat("stats.active");
    st->resident = je_stat("stats.resident");
}

typedef struct report {
    char *p;
    size_t len, cap;
} report;

static void report_write(void *opaque, const char *text) {
    report *r = opaque;
    size_t n = strlen(text);
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        r->p = xrealloc(r->p, r->cap);
    }
    memcpy(r->p + r->len, text, n + 1);
    r->len += n;
}

char *alloc_stats_report(size_t *len) {
    report r = {xmalloc(4096), 0, 4096};
    r.p[0] = '\0';
    malloc_stats_print(report_write, &r, NULL);
    *len = r.len;
    return r.p;
}

void alloc_purge(void) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%d.purge", MALLCTL_ARENAS_ALL);
    mallctl(name, NULL, NULL, NULL, 0);
}

#elif defined(RESPITE_MALLOC_MIMALLOC)
#include <mimalloc.h>

const char *alloc_name(void) {
    static char name[32];
    if (!name[0]) {
        int v = mi_version();
        snprintf(name, sizeof(name), "mimalloc-%d.%d.%d", v / 100, v / 10 % 10, v % 10);
    }
    return name;
}

size_t alloc_allocated(void) { return 0; }

void alloc_get_stats(alloc_stats *st) { memset(st, 0, sizeof(*st)); }

char *alloc_stats_report(size_t *len) {
    *len = 0;
    return NULL;
}

void alloc_purge(void) { mi_collect(true); }

#else

const char *alloc_name(void) { return "libc"; }

size_t alloc_allocated(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

void alloc_get_stats(alloc_stats *st) { memset(st, 0, sizeof(*st)); }

char *alloc_stats_report(size_t *len) {
    *len = 0;
    return NULL;
}

void alloc_purge(void) { malloc_trim(0); }

#endif
