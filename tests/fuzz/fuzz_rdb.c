/* fuzz_rdb.c: libFuzzer target for the RDB loader (storage/rdb.c) and RESTORE payloads.
 *
 * The first input byte picks the mode:
 *   even: the rest is an RDB file, loaded with rdb_load_fd from a memfd into 16 empty
 *         dbs (checksum not verified, so mutations reach the values; bit 1 verifies it);
 *   odd:  the rest is a DUMP payload body (type byte and value): the 2-byte version and
 *         the CRC-64 are appended so it passes rdb_payload_verify, then
 *         rdb_restore_payload stores it.
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
    if (data[0] & 1) payload_mode(data + 1, size - 1);
    else file_mode(data + 1, size - 1, (data[0] & 2) != 0);
    return 0;
}
