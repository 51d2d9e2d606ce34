/* xmalloc.h: respite's one allocation policy. Every allocation in the server goes
 * through these; on failure they log one clear line to stderr ("respite: out of memory
 * allocating N bytes") and abort, so no caller checks for NULL and none forgets to. */
#ifndef RESPITE_XMALLOC_H
#define RESPITE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* n bytes of s and a NUL. */
char *xstrndup(const char *s, size_t n);
/* The failure path, for allocators that are not malloc (mmap): logs and aborts. */
void xalloc_fail(size_t n) __attribute__((noreturn));

#endif
