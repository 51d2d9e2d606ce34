/* test_list.c: unit tests of storage/t_list.c: every entry encoding round-trips byte for
 * byte, small (one node) and large (many nodes, several fills, compression depths 0-3)
 * lists against a plain array model under seeded random operations with the structure
 * checked after each, compressed interior nodes read, changed and split, the tail cache
 * through queue and stack use, head pushes into the head node's front room, iteration
 * both ways, dup, and bytes per element of a 1M-element list (printed). */
#include "storage/t_list.h"

#include "storage/type.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define require(cond)                                                                                                  \
    do {                                                                                                               \
        if (!(cond)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);                                             \
    } while (0)

typedef struct model {
    char **v;
    size_t *len;
    size_t n, cap;
} model;

static void m_insert(model *m, size_t i, const char *p, size_t len) {
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = realloc(m->v, sizeof(char *) * m->cap);
        m->len = realloc(m->len, sizeof(size_t) * m->cap);
    }
    memmove(m->v + i + 1, m->v + i, sizeof(char *) * (m->n - i));
    memmove(m->len + i + 1, m->len + i, sizeof(size_t) * (m->n - i));
    m->v[i] = malloc(len + 1);
    memcpy(m->v[i], p, len);
    m->len[i] = len;
    m->n++;
}

static void m_delete(model *m, size_t i, size_t cnt) {
    for (size_t k = 0; k < cnt; k++) free(m->v[i + k]);
    memmove(m->v + i, m->v + i + cnt, sizeof(char *) * (m->n - i - cnt));
    memmove(m->len + i, m->len + i + cnt, sizeof(size_t) * (m->n - i - cnt));
    m->n -= cnt;
}

static void m_free(model *m) {
    m_delete(m, 0, m->n);
    free(m->v);
    free(m->len);
}

static unsigned long long rng = 88172645463325252ULL;
static unsigned long long rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int prefixed; /* strings share "item:" (node prefixes) */

/* A random element of every encoding class. */
static size_t gen(char *buf) {
    if (prefixed && rnd() % 4) {
        size_t n = (size_t)sprintf(buf, "item:%u", (unsigned)(rnd() % 1000));
        size_t pad = rnd() % 8 ? 0 : rnd() % 300; /* rests of 256+ bytes stay whole */
        memset(buf + n, 'p', pad);
        return n + pad;
    }
    static const long long ints[] = {0,
                                     1,
                                     127,
                                     128,
                                     -1,
                                     -4096,
                                     4095,
                                     4096,
                                     -4097,
                                     524287,
                                     524288,
                                     -524288,
                                     -524289,
                                     67108863,
                                     67108864,
                                     -67108864,
                                     2147483647,
                                     -2147483648LL,
                                     2147483648LL,
                                     9223372036854775807LL,
                                     (-9223372036854775807LL - 1)};
    switch (rnd() % 11) {
        case 9: { /* base64url characters (six bits each up to 64), now and then another */
            static const char a[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
            size_t n = rnd() % 4 ? rnd() % 70 : rnd() % 200;
            for (size_t i = 0; i < n; i++) buf[i] = a[rnd() % 64];
            if (n && rnd() % 8 == 0) buf[rnd() % n] = (char)(rnd() % 2 ? '.' : 0x80 + rnd() % 128);
            return n;
        }
        case 8: { /* hex digits, one case or mixed */
            size_t n = rnd() % 4 ? rnd() % 40 : rnd() % 300;
            const char *d = rnd() % 2 ? "0123456789abcdef" : "0123456789ABCDEF";
            for (size_t i = 0; i < n; i++) buf[i] = d[rnd() % 16];
            if (n && rnd() % 8 == 0) buf[rnd() % n] = rnd() % 2 ? 'a' : 'G';
            return n;
        }
        case 0: return (size_t)sprintf(buf, "%lld", ints[rnd() % (sizeof(ints) / sizeof(*ints))]);
        case 1: return (size_t)sprintf(buf, "%lld", (long long)(rnd() % 2000000) - 1000000);
        case 2: return (size_t)sprintf(buf, "0%d", (int)(rnd() % 100)); /* not canonical: a string */
        case 3: {
            size_t n = rnd() % 300;
            for (size_t i = 0; i < n; i++) buf[i] = (char)('a' + rnd() % 26);
            return n;
        }
        case 4: return 0;
        case 5: {
            size_t n = rnd() % 3 ? 60 + rnd() % 10 : 70000 + rnd() % 10;
            memset(buf, 'z', n);
            buf[0] = (char)rnd();
            return n;
        }
        case 6: return (size_t)sprintf(buf, "item:%06u", (unsigned)(rnd() % 1000000)); /* node prefixes */
        default: return (size_t)sprintf(buf, "v%u", (unsigned)(rnd() % 100000));
    }
}

static void same(const list *l, const model *m) {
    require(list_check(l));
    require(list_len(l) == m->n);
    list_iter it;
    list_val v;
    size_t i = 0;
    list_iter_init(&it, l, 0, LIST_TAIL);
    while (list_iter_next(&it, &v)) {
        require(i < m->n);
        require(list_val_eq(&v, m->v[i], m->len[i]));
        i++;
    }
    list_iter_release(&it);
    require(i == m->n);
    if (!m->n) return;
    list_iter_init(&it, l, m->n - 1, LIST_HEAD);
    while (list_iter_next(&it, &v)) {
        i--;
        require(list_val_eq(&v, m->v[i], m->len[i]));
    }
    list_iter_release(&it);
    require(i == 0);
}

static const struct {
    int fill, prefixed, depth;
} cases[] = {{-2, 0, 0}, {-1, 0, 0}, {-5, 0, 0}, {1, 0, 0},  {3, 0, 0},  {128, 0, 0}, {-1, 1, 0},
             {5, 1, 0},  {-1, 0, 1}, {-1, 1, 1}, {-2, 1, 2}, {16, 1, 1}, {64, 0, 2},  {-1, 1, 3}};

START_TEST(test_model) {
    list_fill = cases[_i].fill;
    prefixed = cases[_i].prefixed;
    list_compress_depth = cases[_i].depth;
    rng = 88172645463325252ULL + (unsigned)_i;
    char *buf = malloc(80000);
    list *l = list_new();
    model m = {0};
    for (int step = 0; step < 20000; step++) {
        size_t len;
        int op = (int)(rnd() % 10);
        if (m.n > 3000 && op < 5) op += 5; /* keep it bounded */
        list_val v;
        switch (op) {
            case 0:
            case 1:
                len = gen(buf);
                list_push(l, LIST_HEAD, buf, len);
                m_insert(&m, 0, buf, len);
                break;
            case 2:
            case 3:
                len = gen(buf);
                list_push(l, LIST_TAIL, buf, len);
                m_insert(&m, m.n, buf, len);
                break;
            case 4: {
                len = gen(buf);
                size_t i = rnd() % (m.n + 1);
                list_insert_at(l, i, buf, len);
                m_insert(&m, i, buf, len);
                break;
            }
            case 5:
            case 6:
                if (!m.n) break;
                {
                    size_t i = op == 5 ? 0 : m.n - 1;
                    list_index(l, i, &v);
                    require(list_val_eq(&v, m.v[i], m.len[i]));
                    list_delete_range(l, i, 1);
                    m_delete(&m, i, 1);
                }
                break;
            case 7:
                if (!m.n) break;
                {
                    size_t i = rnd() % m.n;
                    list_index(l, i, &v);
                    require(list_val_eq(&v, m.v[i], m.len[i]));
                    len = gen(buf);
                    list_set(l, i, buf, len);
                    free(m.v[i]);
                    m.v[i] = malloc(len + 1);
                    memcpy(m.v[i], buf, len);
                    m.len[i] = len;
                }
                break;
            case 8:
                if (!m.n) break;
                {
                    size_t i = rnd() % m.n, c = rnd() % 4 ? rnd() % 5 : rnd() % (m.n - i + 1);
                    if (c > m.n - i) c = m.n - i;
                    list_delete_range(l, i, c);
                    m_delete(&m, i, c);
                }
                break;
            default:
                if (m.n) {
                    size_t i = rnd() % m.n;
                    list_index(l, i, &v);
                    require(list_val_eq(&v, m.v[i], m.len[i]));
                }
        }
        if (!cases[_i].depth || step % 16 == 0) require(list_check(l)); /* compressed: it inflates every node */
        require(list_len(l) == m.n);
        if (step % 997 == 0) same(l, &m);
    }
    same(l, &m);
    list *d = list_dup(l);
    same(d, &m);
    list_free(l);
    list_free(d);
    m_free(&m);
    free(buf);
    list_fill = -2;
    list_compress_depth = 0;
    prefixed = 0;
}
END_TEST

/* Every integer boundary of the encodings, and strings that look like integers. */
START_TEST(test_encodings) {
    static const char *vals[] = {"0",
                                 "127",
                                 "128",
                                 "-1",
                                 "-4096",
                                 "4095",
                                 "4096",
                                 "-4097",
                                 "524287",
                                 "524288",
                                 "-524288",
                                 "-524289",
                                 "67108863",
                                 "67108864",
                                 "-67108864",
                                 "-67108865",
                                 "2147483647",
                                 "-2147483648",
                                 "2147483648",
                                 "-2147483649",
                                 "9223372036854775807",
                                 "-9223372036854775808",
                                 "9223372036854775808",
                                 "-0",
                                 "+1",
                                 "01",
                                 " 1",
                                 "",
                                 "x",
                                 "1.5",
                                 "abc",
                                 "abcd",
                                 "ABCD",
                                 "abcD",
                                 "0123",
                                 "00000000000000000000000000000",
                                 "deadbeef00",
                                 "DEADBEEF001",
                                 "abc12",
                                 "12345678901234567890123",
                                 "0x1f",
                                 "g123",
                                 "63",
                                 "64",
                                 "100",
                                 "hello",
                                 "hell",
                                 "hel",
                                 "Zz09-_",
                                 "nanoid_V1StGXR8_Z5jdHi6B-myT",
                                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
                                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_x",
                                 "with space",
                                 "tab\there"};
    list *l = list_new();
    size_t n = sizeof(vals) / sizeof(*vals);
    for (size_t i = 0; i < n; i++) list_push(l, LIST_TAIL, vals[i], strlen(vals[i]));
    for (size_t i = 0; i < n; i++) {
        list_val v;
        char tmp[LIST_VAL_TMP];
        size_t len;
        list_index(l, i, &v);
        const char *s = list_val_str(&v, tmp, &len);
        ck_assert_uint_eq(len, strlen(vals[i]));
        ck_assert(!memcmp(s, vals[i], len));
    }
    list_free(l);
}
END_TEST

/* A queue and a stack over many nodes keep the tail cache consistent. */
START_TEST(test_queue_stack) {
    list *l = list_new();
    char buf[32];
    long long next_in = 0, next_out = 0;
    for (int round = 0; round < 200000; round++) {
        if (rnd() % 3) {
            int n = sprintf(buf, "job:%lld", next_in++);
            list_push(l, LIST_HEAD, buf, (size_t)n);
        } else if (list_len(l)) {
            list_val v;
            list_index(l, list_len(l) - 1, &v);
            int n = sprintf(buf, "job:%lld", next_out++);
            require(list_val_eq(&v, buf, (size_t)n));
            list_delete_range(l, list_len(l) - 1, 1);
        }
        if (round % 4096 == 0) require(list_check(l));
    }
    require(list_check(l));
    list_free(l);
    l = list_new(); /* stack */
    for (int i = 0; i < 100000; i++) {
        int n = sprintf(buf, "%d", i);
        list_push(l, LIST_TAIL, buf, (size_t)n);
        if (i % 3 == 2) {
            list_val v;
            list_index(l, list_len(l) - 1, &v);
            require(!v.p && v.v == i);
            list_delete_range(l, list_len(l) - 1, 1);
        }
    }
    require(list_check(l));
    list_free(l);
}
END_TEST

START_TEST(test_memory_per_element) {
    list *l = list_new();
    char buf[32];
    for (int i = 0; i < 1000000; i++) list_push(l, LIST_TAIL, "xxx", 3);
    printf("1M \"xxx\": %.2f bytes/element in %zu nodes\n", (double)list_memory(l) / 1e6, list_nodes(l));
    list_free(l);
    l = list_new();
    for (int i = 0; i < 1000000; i++) list_push(l, LIST_TAIL, buf, (size_t)sprintf(buf, "%d", i));
    printf("1M integers: %.2f bytes/element\n", (double)list_memory(l) / 1e6);
    list *p = list_new();
    for (int i = 0; i < 1000000; i++) list_push(p, LIST_TAIL, buf, (size_t)sprintf(buf, "item:%d", i));
    printf("1M \"item:N\": %.2f bytes/element\n", (double)list_memory(p) / 1e6);
    require(list_check(p));
    char tmp[LIST_VAL_TMP];
    size_t n;
    list_val v;
    list_index(p, 123456, &v);
    const char *s = list_val_str(&v, tmp, &n);
    ck_assert(n == 11 && !memcmp(s, "item:123456", 11));
    list_free(p);
    list_index(l, 500000, &v);
    ck_assert(!v.p && v.v == 500000);
    list_free(l);
}
END_TEST

/* A list with compressed interior nodes: which nodes are compressed, reads, changes and
 * iteration across them, memory, dup, and a depth change applying to new lists only. */
START_TEST(test_compressed) {
    char buf[64];
    list_compress_depth = 0;
    list *raw = list_new();
    list_compress_depth = 2;
    list *l = list_new();
    list_compress_depth = 0;
    model m = {0};
    for (int i = 0; i < 20000; i++) {
        int n = sprintf(buf, "user:%d:session", i % 977);
        list_push(l, LIST_TAIL, buf, (size_t)n);
        list_push(raw, LIST_TAIL, buf, (size_t)n);
        m_insert(&m, m.n, buf, (size_t)n);
    }
    size_t nodes = list_nodes(l);
    ck_assert_uint_gt(nodes, 10);
    ck_assert_uint_eq(list_compressed_nodes(l), nodes - 4); /* all but 2 at each end */
    ck_assert_uint_eq(list_compressed_nodes(raw), 0);
    printf("20k \"user:N:session\": %zu bytes compressed (depth 2), %zu raw\n", list_memory(l), list_memory(raw));
    ck_assert_uint_lt(list_memory(l) * 2, list_memory(raw));
    require(list_check(l));
    list_free(raw);
    for (int round = 0; round < 1200; round++) {
        size_t i = rnd() % m.n;
        list_val v;
        list_index(l, i, &v);
        require(list_val_eq(&v, m.v[i], m.len[i]));
        int n = sprintf(buf, "%s:%d", round % 2 ? "new" : "NEW", round);
        switch (round % 4) {
            case 0:
                list_set(l, i, buf, (size_t)n);
                free(m.v[i]);
                m.v[i] = malloc((size_t)n);
                memcpy(m.v[i], buf, (size_t)n);
                m.len[i] = (size_t)n;
                break;
            case 1:
                list_insert_at(l, i, buf, (size_t)n);
                m_insert(&m, i, buf, (size_t)n);
                break;
            case 2: {
                size_t c = 1 + rnd() % 30;
                if (c > m.n - i) c = m.n - i;
                list_delete_range(l, i, c);
                m_delete(&m, i, c);
                break;
            }
            default:
                for (int k = 0; k < 20; k++) {
                    list_insert_at(l, i, buf, (size_t)n);
                    m_insert(&m, i, buf, (size_t)n);
                }
        }
        if (round % 50 == 0) require(list_check(l));
    }
    same(l, &m);
    ck_assert_uint_gt(list_compressed_nodes(l), list_nodes(l) / 2);
    list *d = list_dup(l);
    same(d, &m);
    ck_assert_uint_eq(list_compressed_nodes(d), list_compressed_nodes(l));
    list_free(d);
    /* popping down to a few nodes leaves the ends raw */
    while (list_nodes(l) > 3) {
        list_delete_range(l, 0, 1);
        m_delete(&m, 0, 1);
        if (m.n % 101 == 0) require(list_check(l));
    }
    ck_assert_uint_eq(list_compressed_nodes(l), 0);
    same(l, &m);
    list_free(l);
    m_free(&m);
    /* random bytes do not shrink: the nodes stay raw */
    list_compress_depth = 1;
    l = list_new();
    list_compress_depth = 0;
    for (int i = 0; i < 20000; i++) {
        for (int k = 0; k < 12; k++) buf[k] = (char)rnd();
        list_push(l, LIST_HEAD, buf, 12);
    }
    ck_assert_uint_eq(list_compressed_nodes(l), 0);
    require(list_check(l));
    list_free(l);
}
END_TEST

/* Head pushes take the head node's front room: a stack at the head and a one-node list
 * fed at both ends stay consistent, and cost no more memory than tail pushes. */
START_TEST(test_head_room) {
    char buf[32];
    list *h = list_new(), *t = list_new();
    for (int i = 0; i < 200000; i++) {
        int n = sprintf(buf, "%010x", (unsigned)rnd());
        list_push(h, LIST_HEAD, buf, (size_t)n);
        list_push(t, LIST_TAIL, buf, (size_t)n);
    }
    require(list_check(h));
    printf("200k 10-hex-digit: %.2f bytes/element (head pushes), %.2f (tail pushes)\n", (double)list_memory(h) / 2e5,
           (double)list_memory(t) / 2e5);
    ck_assert_uint_le(list_memory(h), list_memory(t) + list_memory(t) / 25); /* one size class either way */
    ck_assert_uint_le(list_memory(t), 8 * 200000);
    list_free(h);
    list_free(t);
    model m = {0};
    list *l = list_new();
    for (int i = 0; i < 100000; i++) {
        int n = sprintf(buf, "e%d", i);
        int op = (int)(rnd() % 5);
        if (op < 2) {
            list_push(l, LIST_HEAD, buf, (size_t)n);
            m_insert(&m, 0, buf, (size_t)n);
        } else if (op < 4) {
            list_push(l, LIST_TAIL, buf, (size_t)n);
            m_insert(&m, m.n, buf, (size_t)n);
        } else if (m.n) {
            size_t i2 = rnd() % 2 ? 0 : m.n - 1;
            list_delete_range(l, i2, 1);
            m_delete(&m, i2, 1);
        }
        if (i % 1009 == 0) same(l, &m);
    }
    same(l, &m);
    list_free(l);
    m_free(&m);
}
END_TEST

/* Lazy freeing through the descriptor: effort is the node count, steps free the rest. */
START_TEST(test_free_steps) {
    list *l = list_new();
    char buf[32];
    for (int i = 0; i < 100000; i++) list_push(l, LIST_TAIL, buf, (size_t)sprintf(buf, "e%d", i));
    size_t effort = list_type.free_effort(l);
    ck_assert_uint_eq(effort, list_nodes(l));
    ck_assert_uint_gt(effort, 64);
    int steps = 0;
    while (!list_type.free_step(l, 16)) steps++;
    ck_assert_int_eq(steps, (int)((effort - 1) / 16));
}
END_TEST

int main(void) {
    Suite *su = suite_create("list");
    TCase *tc = tcase_create("list");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_encodings);
    tcase_add_loop_test(tc, test_model, 0, (int)(sizeof(cases) / sizeof(*cases)));
    tcase_add_test(tc, test_compressed);
    tcase_add_test(tc, test_head_room);
    tcase_add_test(tc, test_queue_stack);
    tcase_add_test(tc, test_memory_per_element);
    tcase_add_test(tc, test_free_steps);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
