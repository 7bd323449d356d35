/*
 * test_mdns.c — lc_mdns_plan_make: the instance name (cut to one DNS label on a UTF-8 boundary),
 * the services for plain HTTP, HTTPS and HTTPS with a redirect port, and every TXT record.
 */
#include <string.h>

#include "lc_test.h"
#include "mdns.h"

static const lc_mdns_service *find(const lc_mdns_plan *p, const char *type)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->svc[i].type, type))
            return &p->svc[i];
    return NULL;
}

static bool has_txt(const lc_mdns_service *s, const char *kv)
{
    for (size_t i = 0; s && i < s->n_txt; i++)
        if (!strcmp(s->txt[i], kv))
            return true;
    return false;
}

static void test_plain(void)
{
    lc_mdns_plan p;
    lc_mdns_plan_make(&(lc_mdns_params){.host = "kitchen", .version = "1.2.3", .port = 8080}, &p);
    CHECK(!strcmp(p.name, "loopcast on kitchen"));
    CHECK_EQ_INT((int)p.n, 2);
    const lc_mdns_service *http = find(&p, "_http._tcp"), *lc = find(&p, "_loopcast._tcp");
    CHECK(http && http->port == 8080 && http->n_txt == 1 && has_txt(http, "path=/"));
    CHECK(lc && lc->port == 8080 && lc->n_txt == 4);
    CHECK(has_txt(lc, "path=/") && has_txt(lc, "api=/api/v1") && has_txt(lc, "version=1.2.3") &&
          has_txt(lc, "tls=0"));
    CHECK(!find(&p, "_https._tcp"));
}

static void test_tls(void)
{
    lc_mdns_plan p;
    lc_mdns_plan_make(&(lc_mdns_params){.host = "h", .version = "1", .port = 8443, .tls = true},
                      &p);
    CHECK_EQ_INT((int)p.n, 2);
    const lc_mdns_service *https = find(&p, "_https._tcp"), *lc = find(&p, "_loopcast._tcp");
    CHECK(https && https->port == 8443 && has_txt(https, "path=/"));
    CHECK(lc && lc->port == 8443 && has_txt(lc, "tls=1"));
    CHECK(!find(&p, "_http._tcp")); /* no plain-HTTP port to announce */
    lc_mdns_plan_make(&(lc_mdns_params){.host = "h", .version = "1", .port = 8443, .tls = true,
                                        .redirect_port = 8080},
                      &p);
    CHECK_EQ_INT((int)p.n, 3);
    const lc_mdns_service *http = find(&p, "_http._tcp");
    CHECK(http && http->port == 8080 && has_txt(http, "path=/"));
}

static void test_names(void)
{
    lc_mdns_plan p;
    lc_mdns_plan_make(&(lc_mdns_params){.host = "", .port = 1}, &p);
    CHECK(!strcmp(p.name, "loopcast"));
    CHECK(has_txt(find(&p, "_loopcast._tcp"), "version="));
    lc_mdns_plan_make(&(lc_mdns_params){.host = NULL, .port = 1}, &p);
    CHECK(!strcmp(p.name, "loopcast"));
    /* 63 bytes at most; "loopcast on " is 12, so 51 of the host fit */
    char host[100];
    memset(host, 'a', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    lc_mdns_plan_make(&(lc_mdns_params){.host = host, .port = 1}, &p);
    CHECK_EQ_INT((int)strlen(p.name), LC_MDNS_NAME_MAX);
    /* "é" (2 bytes) straddling byte 63 is dropped whole, never half */
    memset(host, 'a', 50);
    strcpy(host + 50, "\xc3\xa9\xc3\xa9");
    lc_mdns_plan_make(&(lc_mdns_params){.host = host, .port = 1}, &p);
    CHECK_EQ_INT((int)strlen(p.name), 62);
    CHECK((unsigned char)p.name[61] == 'a');
    /* a 3-byte character that ends exactly at byte 63 stays */
    memset(host, 'a', 48);
    strcpy(host + 48, "\xe2\x82\xac" "b");
    lc_mdns_plan_make(&(lc_mdns_params){.host = host, .port = 1}, &p);
    CHECK_EQ_INT((int)strlen(p.name), 63);
    CHECK(!strcmp(p.name + 60, "\xe2\x82\xac"));
}

LC_TEST_MAIN(TEST(test_plain), TEST(test_tls), TEST(test_names))
