/*
 * test_control.c — lc_control_parse: every message type, every refusal class, limits.
 */
#include "control.h"
#include "lc_test.h"

static lc_control_msg m;
static char err[128];

static int P(const char *s)
{
    return lc_control_parse(s, strlen(s), &m, err, sizeof err);
}

static void test_ping(void)
{
    CHECK_EQ_INT(P("{\"type\":\"ping\",\"t\":1234.5}"), 0);
    CHECK(m.type == LC_CONTROL_PING);
    CHECK(m.has_t);
    CHECK(m.t == 1234.5);
    CHECK_EQ_INT(P(" {\"t\":-1,\"type\":\"ping\",\"extra\":[1,2]} "), 0);
    CHECK(m.t == -1);
    CHECK_EQ_INT(P("{\"type\":\"ping\"}"), 0);
    CHECK(!m.has_t);
    CHECK_EQ_INT(P("{\"type\":\"ping\",\"t\":\"x\"}"), LC_ERR_INVALID);
    char num[40];
    lc_control_format_number(num, sizeof num, 0.1);
    CHECK(!strcmp(num, "0.1"));
    lc_control_format_number(num, sizeof num, 1e21);
    CHECK(strtod(num, NULL) == 1e21);
    lc_control_format_number(num, sizeof num, 123456789012.0);
    CHECK(!strcmp(num, "123456789012"));
}

static void test_set(void)
{
    CHECK_EQ_INT(P("{\"type\":\"set\",\"volume\":40,\"muted\":true,\"name\":\"Kitchen \xc3\xa9\"}"),
                 0);
    CHECK(m.type == LC_CONTROL_SET);
    CHECK(m.has_volume && m.volume == 40);
    CHECK(m.has_muted && m.muted);
    CHECK(m.has_name && !strcmp(m.name, "Kitchen \xc3\xa9"));
    CHECK_EQ_INT(P("{\"type\":\"set\",\"volume\":0}"), 0);
    CHECK(m.has_volume && !m.has_muted && !m.has_name);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"volume\":100}"), 0);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"volume\":101}"), LC_ERR_INVALID);
    CHECK(strstr(err, "volume") != NULL);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"volume\":-1}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"volume\":50.5}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"volume\":\"50\"}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"muted\":1}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"name\":\"a\\u0001b\"}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"name\":\"\xff\"}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"name\":\"\xc3\"}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"name\":\"\xed\xa0\x80\"}"), LC_ERR_INVALID); /* surrogate */
    CHECK_EQ_INT(P("{\"type\":\"set\",\"name\":\"\xe0\x80\xaf\"}"), LC_ERR_INVALID); /* overlong */
    CHECK_EQ_INT(P("{\"type\":\"set\",\"name\":"
                   "\"0123456789012345678901234567890123456789012345678901234567890123\"}"),
                 0);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"name\":"
                   "\"01234567890123456789012345678901234567890123456789012345678901234\"}"),
                 LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"set\"}"), LC_ERR_INVALID);
    CHECK(!m.has_volume); /* nothing half-parsed leaks */
}

static void test_set_trim(void)
{
    CHECK_EQ_INT(P("{\"type\":\"set\",\"latency_trim_ms\":150}"), 0);
    CHECK(m.type == LC_CONTROL_SET && m.patch.has_latency_trim && m.patch.latency_trim_ms == 150);
    CHECK_EQ_INT(P("{\"type\":\"set\",\"latency_trim_ms\":-1001}"), LC_ERR_INVALID);
}

static void test_stats(void)
{
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"buffer_ms\":40.5,\"latency_ms\":80,\"underruns\":3,"
                   "\"decoder\":\"wasm\",\"output\":\"buffers\"}"),
                 0);
    CHECK(m.type == LC_CONTROL_STATS);
    CHECK(m.buffer_ms == 40.5);
    CHECK(m.latency_ms == 80);
    CHECK_EQ_INT(m.underruns, 3);
    CHECK(m.decoder == LC_DECODER_WASM);
    CHECK(m.output == LC_OUTPUT_BUFFERS);
    CHECK_EQ_INT(P("{\"type\":\"stats\"}"), 0);
    CHECK(m.buffer_ms < 0 && m.underruns < 0);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"decoder\":\"webcodecs\",\"output\":\"worklet\"}"), 0);
    CHECK(m.decoder == LC_DECODER_WEBCODECS && m.output == LC_OUTPUT_WORKLET);
    /* where the page decodes (its stream Worker or its main thread), and a page with nothing */
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"decoder\":\"wasm-worker\",\"output\":\"buffers\"}"), 0);
    CHECK(m.decoder == LC_DECODER_WASM_WORKER && m.output == LC_OUTPUT_BUFFERS);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"decoder\":\"webcodecs-worker\",\"output\":\"worklet\"}"), 0);
    CHECK(m.decoder == LC_DECODER_WEBCODECS_WORKER && m.output == LC_OUTPUT_WORKLET);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"decoder\":\"none\",\"output\":\"none\"}"), 0);
    CHECK(m.decoder == LC_DECODER_NONE && m.output == LC_OUTPUT_NONE);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"output\":\"buffers-element\"}"), 0);
    CHECK(m.output == LC_OUTPUT_BUFFERS_ELEMENT);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"output\":\"worklet-element\"}"), 0);
    CHECK(m.output == LC_OUTPUT_WORKLET_ELEMENT);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"output\":\"script\"}"), 0);
    CHECK(m.output == LC_OUTPUT_SCRIPT);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"output\":\"element\"}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"decoder\":\"worker\"}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"output\":1}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"decoder\":\"other\"}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"buffer_ms\":-5}"), LC_ERR_INVALID);
    /* synchronized playback: how late the page plays against --sync-ms, early being negative */
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"sync_error_ms\":-3.5}"), 0);
    CHECK(m.has_sync_error && m.sync_error_ms == -3.5);
    CHECK_EQ_INT(P("{\"type\":\"stats\"}"), 0);
    CHECK(!m.has_sync_error);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"sync_error_ms\":\"late\"}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"sync_error_ms\":4e9}"), LC_ERR_INVALID);
    CHECK_EQ_INT(P("{\"type\":\"stats\",\"underruns\":1.5}"), LC_ERR_INVALID);
}

static void test_refusals(void)
{
    CHECK_EQ_INT(P(""), LC_ERR_PARSE);
    CHECK_EQ_INT(P("{"), LC_ERR_PARSE);
    CHECK_EQ_INT(P("[]"), LC_ERR_PARSE);
    CHECK_EQ_INT(P("\"ping\""), LC_ERR_PARSE);
    CHECK_EQ_INT(P("{\"type\":1}"), LC_ERR_PARSE);
    CHECK_EQ_INT(P("{}"), LC_ERR_PARSE);
    CHECK_EQ_INT(P("{\"type\":\"ping\"} x"), LC_ERR_PARSE); /* trailing bytes */
    CHECK_EQ_INT(lc_control_parse("{\"type\":\"ping\"}\0x", 17, &m, err, sizeof err),
                 LC_ERR_PARSE); /* embedded NUL */
    CHECK_EQ_INT(P("{\"type\":\"dance\"}"), LC_ERR_NOT_FOUND);
    CHECK(!strcmp(lc_control_error_code(LC_ERR_NOT_FOUND), "unknown_type"));
    CHECK(!strcmp(lc_control_error_code(LC_ERR_PARSE), "bad_json"));
    CHECK(!strcmp(lc_control_error_code(LC_ERR_LIMIT), "too_large"));
    CHECK(!strcmp(lc_control_error_code(LC_ERR_INVALID), "bad_value"));
    /* Exactly the limit parses; one byte more is too large. */
    static char big[LC_CONTROL_MAX + 2];
    const char *head = "{\"type\":\"ping\",\"pad\":\"";
    memset(big, 'a', sizeof big);
    memcpy(big, head, strlen(head));
    memcpy(big + LC_CONTROL_MAX - 2, "\"}", 2);
    CHECK_EQ_INT(lc_control_parse(big, LC_CONTROL_MAX, &m, err, sizeof err), 0);
    CHECK_EQ_INT(lc_control_parse(big, LC_CONTROL_MAX + 1, &m, err, sizeof err), LC_ERR_LIMIT);
    /* Deep nesting is just JSON (cJSON bounds its recursion). */
    static char deep[4000];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"type\":\"ping\",\"x\":");
    while (n < 3000)
        deep[n++] = '[';
    deep[n] = '\0';
    CHECK_EQ_INT(P(deep), LC_ERR_PARSE);
    /* The error text never quotes the input. */
    CHECK_EQ_INT(P("{\"type\":\"<script>\"}"), LC_ERR_NOT_FOUND);
    CHECK(strchr(err, '<') == NULL && strchr(err, '"') == NULL);
    CHECK_EQ_INT(lc_control_parse(NULL, 0, &m, err, sizeof err), LC_ERR_PARSE);
}

LC_TEST_MAIN(TEST(test_ping), TEST(test_set), TEST(test_stats), TEST(test_set_trim), TEST(test_refusals))
