/*
 * One metrics server across telemetry objects (the node agent reopens
 * telemetry whenever its VMs change): tel_detach_http takes the server from
 * the old object, a scrape meanwhile waits and is answered by the next one,
 * on the same port; with no next object within 2 s it is told to retry (503).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tests/lib/httpget.h"
#include "telemetry/tel.h"

static struct tel *open_named(const char *name, struct tel_http *http)
{
	struct tel_config c = { .metrics_addr = "127.0.0.1:0", .counters = "none",
				.vm_name = name, .http = http };
	struct tel_target tg = { .nr_vcpus = 0 };
	struct tel *t;

	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	return t;
}

struct scrape {
	int port, status;
	char *body;
	double ms;
};

static void *scrape(void *arg)
{
	struct scrape *s = arg;
	uint64_t t0 = util_now_ns();

	s->status = http_get(s->port, "/metrics", &s->body, NULL, 0);
	s->ms = (double)(util_now_ns() - t0) / 1e6;
	return NULL;
}

static void info_of(int port, const char *vm)
{
	char want[64], *body = NULL;

	snprintf(want, sizeof(want), "avmm_info{vm=\"%s\"", vm);
	cr_assert_eq(http_get(port, "/metrics", &body, NULL, 0), 200);
	cr_assert(body && strstr(body, want), "no %s in:\n%.2000s", want, body ? body : "");
	free(body);
}

Test(tel_http, the_server_outlives_a_reopen, .timeout = 30)
{
	struct tel *a = open_named("first", NULL), *b, *c;
	struct scrape s = { .port = tel_metrics_port(a) };
	struct tel_http *h;
	pthread_t th;

	cr_assert_gt(s.port, 0);
	info_of(s.port, "first");
	h = tel_detach_http(a);
	cr_assert_not_null(h);
	cr_assert_eq(tel_metrics_port(a), 0, "the old object has no server left");
	tel_close(a);
	cr_assert_eq(pthread_create(&th, NULL, scrape, &s), 0);
	util_sleep_ns(300000000);     /* the scrape waits: no object yet */
	b = open_named("second", h);
	cr_assert_eq(tel_metrics_port(b), s.port, "the same port");
	pthread_join(th, NULL);
	cr_assert_eq(s.status, 200, "a scrape during the reopen: %d", s.status);
	cr_assert(s.body && strstr(s.body, "avmm_info{vm=\"second\""), "%s", s.body);
	cr_assert_geq(s.ms, 250, "answered after %.0f ms, before the new object", s.ms);
	free(s.body);
	info_of(s.port, "second");

	h = tel_detach_http(b);       /* and none comes: retry later */
	tel_close(b);
	scrape(&s);
	cr_assert_eq(s.status, 503, "%d", s.status);
	cr_assert(s.body && strstr(s.body, "retry"), "%s", s.body);
	cr_assert(s.ms >= 1800 && s.ms < 10000, "503 after %.0f ms", s.ms);
	free(s.body);
	c = open_named("third", h);
	info_of(s.port, "third");
	tel_close(c);                 /* stops the server */
	cr_assert_lt(http_get(s.port, "/metrics", &s.body, NULL, 0), 0, "still answering");
	free(s.body);
}
