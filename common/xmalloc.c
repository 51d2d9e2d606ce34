/* xmalloc.c: allocation that cannot return NULL (see xmalloc.h). */
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void xalloc_fail(size_t n) {
    /* No stdio buffering and no allocation on this path: the heap is what failed. */
    char line[96];
    int len = snprintf(line, sizeof(line), "respite: out of memory allocating %zu bytes, aborting\n", n);
    if (len > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)len);
        (void)w;
    }
    abort();
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) xalloc_fail(n);
    return p;
}

void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) xalloc_fail(count * size);
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) xalloc_fail(n);
    return q;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s);
    char *d = xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

char *xstrndup(const char *s, size_t n) {
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
