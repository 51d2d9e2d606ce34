/* test_agg_unit.c: unit tests of the aggregator's pure parts: dates and parameters,
 * query decoding, JSON strings, merging (order-independent), the cached text form and
 * the JSON rendering, and the configuration file. Prints "N passed, M failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "agg_config.h"
#include "agg_entry.h"
#include "agg_util.h"

static int passed, failed;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            passed++;                                                                                                  \
        } else {                                                                                                       \
            failed++;                                                                                                  \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);                                         \
        }                                                                                                              \
    } while (0)

/* The buffer's contents as a NUL-terminated string (static, overwritten each call). */
static const char *buf_str(struct evbuffer *b) {
    static char out[8192];
    size_t n = evbuffer_get_length(b);
    if (n >= sizeof(out)) n = sizeof(out) - 1;
    evbuffer_copyout(b, out, n);
    out[n] = '\0';
    return out;
}

static int params_of(const char *query, agg_search_params *p, const char **err) {
    agg_query q;
    if (agg_query_parse(&q, query) != 0) return -2;
    int rc = agg_params_from_query(p, &q, err);
    agg_query_free(&q);
    return rc;
}

static void test_dates(void) {
    long d1, d2;
    CHECK(agg_parse_date("1970-01-01", &d1) == 0); /* before 2000: refused */
    CHECK(agg_parse_date("2024-02-29", &d1) == 1);
    CHECK(agg_parse_date("2023-02-29", &d1) == 0);
    CHECK(agg_parse_date("2100-02-29", &d1) == 0);
    CHECK(agg_parse_date("2000-02-29", &d1) == 1);
    CHECK(agg_parse_date("2027-13-01", &d1) == 0);
    CHECK(agg_parse_date("2027-1-01", &d1) == 0);
    CHECK(agg_parse_date("2027-01-01x", &d1) == 0);
    CHECK(agg_parse_date("2026-12-31", &d1) == 1 && agg_parse_date("2027-01-01", &d2) == 1 && d2 - d1 == 1);
    CHECK(agg_parse_date("2027-03-01", &d2) == 1 && agg_parse_date("2027-02-28", &d1) == 1 && d2 - d1 == 1);
}

static void test_params(void) {
    agg_search_params p;
    const char *err = NULL;
    CHECK(params_of("destination=+New%20%20York++&checkin=2027-03-10&checkout=2027-03-13"
                    "&guests=2&limit=5",
                    &p, &err) == 0);
    CHECK(strcmp(p.destination, "new york") == 0);
    CHECK(p.nights == 3 && p.guests == 2 && p.limit == 5);
    CHECK(params_of("destination=Oslo&checkin=2027-03-10&checkout=2027-03-11", &p, &err) == 0 && p.guests == 1 &&
          p.limit == 0);
    CHECK(params_of("destination=Z%C3%BCrich&checkin=2027-03-10&checkout=2027-03-11", &p, &err) == 0 &&
          strcmp(p.destination, "z\xc3\xbcrich") == 0);
    const char *bad[] = {
        "checkin=2027-03-10&checkout=2027-03-11",
        "destination=%20&checkin=2027-03-10&checkout=2027-03-11",
        "destination=a%7Cb&checkin=2027-03-10&checkout=2027-03-11",
        "destination=a%0Ab&checkin=2027-03-10&checkout=2027-03-11",
        "destination=a&checkin=2027-03-10&checkout=2027-03-10",
        "destination=a&checkin=2027-03-10&checkout=2027-05-10",
        "destination=a&checkin=2027-03-10&checkout=2027-03-11&guests=10",
        "destination=a&checkin=2027-03-10&checkout=2027-03-11&guests=-1",
        "destination=a&checkin=2027-03-10&checkout=2027-03-11&limit=0",
        "destination=a&checkin=2027-03-10&checkout=2027-03-11&limit=501",
        ("destination=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "&checkin=2027-03-10&checkout=2027-03-11"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        int rc = params_of(bad[i], &p, &err);
        CHECK(rc != 0);
        if (rc == -1) CHECK(err != NULL && err[0] != '\0');
    }
    /* a malformed escape is kept literally, as libevent's decoder does */
    CHECK(params_of("destination=%zz&checkin=2027-03-10&checkout=2027-03-11", &p, &err) == 0 &&
          strcmp(p.destination, "%zz") == 0);
}

static void test_json(void) {
    struct evbuffer *b = evbuffer_new();
    agg_json_str(b, "a\"b\\c\nd\x01\xc3\xbc", 10);
    CHECK(strcmp(buf_str(b), "\"a\\\"b\\\\c\\nd\\u0001\xc3\xbc\"") == 0);
    evbuffer_free(b);
}

static agg_config make_config(void) {
    agg_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.nsuppliers = 3;
    strcpy(cfg.suppliers[0].name, "fast");
    strcpy(cfg.suppliers[1].name, "medium");
    strcpy(cfg.suppliers[2].name, "slow");
    return cfg;
}

static const char *const bodies[3] = {
    "h01\t30000\tGrand Hotel\nh02\t20000\tLittle Inn\n",
    "h02\t19000\tLittle Inn\nh03\t50000\tPark Suites\nbad line\nh04\tabc\tX\n",
    "h01\t30000\tGrand Hotel\nh03\t45000\tPark Suites\n",
};

static void render(agg_entry *e, const agg_config *cfg, char *out, size_t size) {
    agg_search_params p;
    memset(&p, 0, sizeof(p));
    strcpy(p.destination, "x");
    strcpy(p.checkin, "2027-01-01");
    strcpy(p.checkout, "2027-01-02");
    p.guests = 1;
    p.nights = 1;
    struct evbuffer *b = evbuffer_new();
    agg_entry_render(e, cfg, &p, 0, b);
    const char *s = buf_str(b);
    size_t n = strlen(s) < size - 1 ? strlen(s) : size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    evbuffer_free(b);
}

static void test_merge_and_forms(void) {
    agg_config cfg = make_config();
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    char first[4096] = "", json[4096];
    for (int o = 0; o < 6; o++) {
        agg_entry e;
        agg_entry_init(&e, 3);
        CHECK(!agg_entry_complete(&e) && agg_entry_answered(&e) == 0);
        for (int k = 0; k < 3; k++) {
            int i = orders[o][k];
            agg_entry_add_supplier_body(&e, i, bodies[i], strlen(bodies[i]));
        }
        CHECK(agg_entry_complete(&e) && e.n == 3);
        render(&e, &cfg, json, sizeof(json));
        if (o == 0) memcpy(first, json, sizeof(json));
        CHECK(strcmp(first, json) == 0); /* any arrival order, the same answer */
        agg_entry_free(&e);
    }
    /* cheapest per hotel, ties to the first supplier, sorted by price */
    const char *h02 = strstr(first, "\"h02\""), *h01 = strstr(first, "\"h01\""), *h03 = strstr(first, "\"h03\"");
    CHECK(h02 && h01 && h03 && h02 < h01 && h01 < h03);
    CHECK(strstr(first, "\"id\":\"h02\",\"name\":\"Little Inn\",\"price\":190.00,"
                        "\"price_cents\":19000,\"currency\":\"EUR\",\"supplier\":\"medium\"") != NULL);
    CHECK(strstr(first, "\"price_cents\":30000,\"currency\":\"EUR\",\"supplier\":\"fast\"") != NULL);
    CHECK(strstr(first, "\"price_cents\":45000,\"currency\":\"EUR\",\"supplier\":\"slow\"") != NULL);
    CHECK(strstr(first, "\"is_completed\":true") != NULL);

    /* the cached text form round-trips, statuses included */
    agg_entry e, back;
    agg_entry_init(&e, 3);
    agg_entry_add_supplier_body(&e, 0, bodies[0], strlen(bodies[0]));
    e.status[2] = AGG_TIMEOUT;
    struct evbuffer *b = evbuffer_new();
    agg_entry_serialize(&e, &cfg, b);
    agg_entry_init(&back, 3);
    CHECK(agg_entry_parse(&back, &cfg, buf_str(b), evbuffer_get_length(b)) == 0);
    CHECK(back.status[0] == AGG_OK && back.status[1] == AGG_PENDING && back.status[2] == AGG_TIMEOUT && back.n == 2);
    char a[4096], c[4096];
    render(&e, &cfg, a, sizeof(a));
    render(&back, &cfg, c, sizeof(c));
    CHECK(strcmp(a, c) == 0);
    CHECK(strstr(a, "\"suppliers\":{\"fast\":\"ok\",\"medium\":\"pending\",\"slow\":\"timeout\"}"));
    CHECK(agg_entry_parse(&back, &cfg, "v0\n", 3) == -1);

    /* merging a cached entry into a newer owner's state keeps what each knows */
    agg_entry mine;
    agg_entry_init(&mine, 3);
    agg_entry_add_supplier_body(&mine, 1, bodies[1], strlen(bodies[1]));
    agg_entry_merge(&mine, &back);
    CHECK(mine.status[0] == AGG_OK && mine.status[1] == AGG_OK && mine.status[2] == AGG_TIMEOUT);
    CHECK(mine.n == 3 && agg_entry_complete(&mine));

    /* an empty entry renders (no offers array to sort) */
    agg_entry empty;
    agg_entry_init(&empty, 3);
    render(&empty, &cfg, a, sizeof(a));
    CHECK(strstr(a, "\"hotels\":[]") != NULL && strstr(a, "\"is_completed\":false") != NULL);
    evbuffer_free(b);
    agg_entry_free(&e);
    agg_entry_free(&back);
    agg_entry_free(&mine);
}

static int config_from(const char *text, agg_config *cfg) {
    char path[] = "/tmp/agg-unit-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -2;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    int rc = agg_config_load(cfg, path);
    unlink(path);
    return rc;
}

static void test_config(void) {
    agg_config cfg;
    CHECK(config_from("# c\nlisten 127.0.0.1:9000\ncache localhost:7000\nttl_ms 5000\n"
                      "supplier_timeout_ms 700\n"
                      "supplier a http://127.0.0.1:81/base/ 300\nsupplier b http://h\n",
                      &cfg) == 0);
    CHECK(cfg.listen_port == 9000 && cfg.cache_port == 7000 && strcmp(cfg.cache_host, "localhost") == 0);
    CHECK(cfg.ttl_ms == 5000 && cfg.nsuppliers == 2);
    CHECK(cfg.suppliers[0].port == 81 && strcmp(cfg.suppliers[0].path, "/base") == 0 &&
          cfg.suppliers[0].timeout_ms == 300);
    CHECK(cfg.suppliers[1].port == 80 && cfg.suppliers[1].timeout_ms == 700);
    CHECK(agg_config_lease_ms(&cfg) == 700 + cfg.claim_margin_ms);
    agg_config_finish(&cfg);
    char fp[17];
    strcpy(fp, cfg.fingerprint);
    CHECK(config_from("supplier b http://x\nsupplier a http://y\n", &cfg) == 0);
    agg_config_finish(&cfg);
    CHECK(strcmp(fp, cfg.fingerprint) != 0); /* other suppliers, other keys */
    fprintf(stderr, "(the next errors are expected)\n");
    CHECK(config_from("", &cfg) == -1);
    CHECK(config_from("supplier a ftp://x\n", &cfg) == -1);
    CHECK(config_from("supplier a http://x\nsupplier a http://y\n", &cfg) == -1);
    CHECK(config_from("supplier a http://x\nbogus 1\n", &cfg) == -1);
    CHECK(config_from("supplier a http://x\nttl_ms -5\n", &cfg) == -1);
    /* a TTL shorter than the lease (700 + the 2000 ms margin) could never complete */
    CHECK(config_from("supplier a http://x 700\nttl_ms 2600\n", &cfg) == -1);
    CHECK(config_from("supplier a http://x 700\nttl_ms 2700\n", &cfg) == 0);
}

int main(void) {
    test_dates();
    test_params();
    test_json();
    test_merge_and_forms();
    test_config();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
