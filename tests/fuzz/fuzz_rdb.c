/* fuzz_rdb.c: libFuzzer target for the RDB loader (storage/rdb.c) and RESTORE payloads.
 *
 * The first input byte picks the mode:
 *   even: the rest is an RDB file, loaded with rdb_load_fd from a memfd into 16 empty
 *         dbs (checksum not verified, so mutations reach the values; bit 1 verifies it);
 *   odd:  the rest is a DUMP payload body (type byte and value): the 2-byte version and
 *         the CRC-64 are appended so it passes rdb_payload_verify, then
 *         rdb_restore_payload stores it; with bit 2 also set, it is a FUNCTION RESTORE
 *         payload body instead, walked by rdb_restore_functions: the libraries' code it
 *         yields must come back the same through rdb_dump_functions.
 * Oracles besides ASan/UBSan/LSan: whatever loads must save again (rdb_save_fd) and load
 * back with the same number of keys, and every loaded key's DUMP payload must verify
 * and RESTORE. A malformed input is refused, never a crash, a leak or a hang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/crc64.h"
#include "common/xmalloc.h"
#include "storage/rdb.h"
#include "storage/type.h"

#define NDB 16

static db *dbs[NDB];
static db *scratch;

static void check_dump(void *priv, const rkey *k) {
    (void)priv;
    size_t len, klen;
    char *p = rdb_dump_payload(k, &len);
    if (!p) abort();
    if (!rdb_payload_verify(p, len)) abort();
    const char *key = rkey_key(k, &klen);
    if (!rdb_restore_payload(scratch, key, klen, p, len)) abort();
    db_flush(scratch);
    free(p);
}

static size_t total_keys(void) {
    size_t n = 0;
    for (int i = 0; i < NDB; i++) n += db_size(dbs[i]);
    return n;
}

static void file_mode(const uint8_t *data, size_t size, int verify) {
    int fd = memfd_create("rdb", 0);
    if (fd < 0) return;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return;
    }
    lseek(fd, 0, SEEK_SET);
    rdb_load_info info;
    memset(&info, 0, sizeof(info));
    info.now_ms = 1000;
    info.verify_checksum = verify;
    if (rdb_load_fd(fd, dbs, NDB, &info) == 0) {
        size_t n = total_keys();
        for (int i = 0; i < NDB; i++) db_foreach(dbs[i], check_dump, NULL);
        int out = memfd_create("rdb2", 0);
        rdb_save_opts o = {1, 0, 0, 0, "7.0.15"};
        if (out >= 0 && rdb_save_fd(out, dbs, NDB, &o) == 0) {
            for (int i = 0; i < NDB; i++) db_flush(dbs[i]);
            lseek(out, 0, SEEK_SET);
            memset(&info, 0, sizeof(info));
            info.verify_checksum = 1;
            if (rdb_load_fd(out, dbs, NDB, &info) != 0 || total_keys() != n) {
                fprintf(stderr, "re-saved file did not load back: %s\n", info.err);
                abort();
            }
        }
        if (out >= 0) close(out);
    }
    close(fd);
    for (int i = 0; i < NDB; i++) db_flush(dbs[i]);
}

static void payload_mode(const uint8_t *data, size_t size) {
    char *p = xmalloc(size + 10);
    memcpy(p, data, size);
    p[size] = RDB_VERSION;
    p[size + 1] = 0;
    uint64_t crc = crc64(0, p, size + 2);
    for (int i = 0; i < 8; i++) p[size + 2 + i] = (char)(crc >> (8 * i));
    if (rdb_payload_verify(p, size + 10)) {
        rkey *k = rdb_restore_payload(dbs[0], "k", 1, p, size + 10);
        if (k) check_dump(NULL, k);
    }
    free(p);
    db_flush(dbs[0]);
}

typedef struct code_list {
    char **code;
    size_t *len;
    int n;
} code_list;

static int collect(void *priv, const char *code, size_t len, char *err, size_t errsize) {
    code_list *l = priv;
    if (l->n == 64) {
        snprintf(err, errsize, "too many");
        return -1;
    }
    l->code = xrealloc(l->code, sizeof(*l->code) * (size_t)(l->n + 1));
    l->len = xrealloc(l->len, sizeof(*l->len) * (size_t)(l->n + 1));
    l->code[l->n] = xmalloc(len + 1);
    memcpy(l->code[l->n], code, len);
    l->len[l->n++] = len;
    return 0;
}

static code_list *dumping;

static void foreach_collected(void (*fn)(void *priv, const char *code, size_t len), void *priv) {
    for (int i = 0; i < dumping->n; i++) fn(priv, dumping->code[i], dumping->len[i]);
}

static void code_list_free(code_list *l) {
    for (int i = 0; i < l->n; i++) free(l->code[i]);
    free(l->code);
    free(l->len);
}

static void functions_mode(const uint8_t *data, size_t size) {
    char *p = xmalloc(size + 10);
    memcpy(p, data, size);
    p[size] = RDB_VERSION;
    p[size + 1] = 0;
    uint64_t crc = crc64(0, p, size + 2);
    for (int i = 0; i < 8; i++) p[size + 2 + i] = (char)(crc >> (8 * i));
    code_list got = {0}, back = {0};
    char err[512];
    if (rdb_payload_verify(p, size + 10) && rdb_restore_functions(p, size + 10, collect, &got, err, sizeof(err)) == 0) {
        size_t dlen;
        dumping = &got;
        rdb_functions_foreach = foreach_collected;
        char *d = rdb_dump_functions(&dlen);
        rdb_functions_foreach = NULL;
        if (!rdb_payload_verify(d, dlen) || rdb_restore_functions(d, dlen, collect, &back, err, sizeof(err)) != 0 ||
            back.n != got.n)
            abort();
        for (int i = 0; i < got.n; i++)
            if (back.len[i] != got.len[i] || memcmp(back.code[i], got.code[i], got.len[i])) abort();
        free(d);
    }
    code_list_free(&got);
    code_list_free(&back);
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!scratch) {
        types_init();
        rdb_functions_foreach = NULL; /* function payloads are skipped here: no Lua */
        rdb_function_load = NULL;
        for (int i = 0; i < NDB; i++) dbs[i] = db_create(i);
        scratch = db_create(0);
    }
    if (size < 1) return 0;
    if ((data[0] & 5) == 5) functions_mode(data + 1, size - 1);
    else if (data[0] & 1) payload_mode(data + 1, size - 1);
    else file_mode(data + 1, size - 1, (data[0] & 2) != 0);
    return 0;
}
