/* Why the loop waits, as telemetry exports it: the held counters in
 * /metrics (strict exposition check, as promtool's), and the "held" object of
 * the samples JSON that the dashboard and `avmm stat` read. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promcheck.h"
#include "telemetry/tel.h"

static void count(struct tel_held *h, const char *adaptation, const char *reason, uint64_t n)
{
	snprintf(h->c[h->nr].adaptation, sizeof(h->c[h->nr].adaptation), "%s", adaptation);
	snprintf(h->c[h->nr].reason, sizeof(h->c[h->nr].reason), "%s", reason);
	h->c[h->nr++].ticks = n;
}

Test(held, metrics_and_json_carry_the_held_counters)
{
	struct tel_config c = { .counters = "none", .vm_name = "h" };
	struct tel_target tg = { .nr_vcpus = 1 };
	struct tel_held h = { .t_ns = 5, .adaptation = "coremap", .reason = "dwell",
			      .left_ns = 3200000000ull, .period_ns = 100000000ull,
			      .note = "coremap: dwell, 6.8 s of 10.0 s" };
	struct tel *t;
	char *m, *j, err[200];
	json_t *o, *held;

	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(tel_metrics_text(t, &m), 0);
	cr_assert_null(strstr(m, "avmm_adapt_held"), "no loop, no held counters");
	free(m);
	count(&h, "coremap", "confirm", 4);
	count(&h, "coremap", "dwell", 7);
	count(&h, "coremap", "no-better-core", 40);
	cr_assert_eq(tel_publish_held(t, &h), 0);
	tel_set_period(t, h.period_ns);
	cr_assert_eq(tel_sample(t, NULL), 0);
	cr_assert_eq(tel_metrics_text(t, &m), 0);
	cr_assert_eq(promcheck(m, err, sizeof(err)), 0, "%s\n%s", err, m);
	cr_assert_eq(promcheck_count(m, "avmm_adapt_held_ticks_total"), 3);
	cr_assert(strstr(m, "avmm_adapt_held_ticks_total{vm=\"h\",adaptation=\"coremap\",reason=\"dwell\"} 7\n"), "%s", m);
	cr_assert(strstr(m, "avmm_adapt_held_ticks_total{vm=\"h\",adaptation=\"coremap\",reason=\"no-better-core\"} 40\n"));
	cr_assert(strstr(m, "avmm_adapt_hold_left_seconds{vm=\"h\",adaptation=\"coremap\",reason=\"dwell\"} 3.2\n"), "%s", m);
	cr_assert(strstr(m, "avmm_telemetry_period_seconds{vm=\"h\"} 0.1\n"), "the loop's period");
	free(m);

	cr_assert_eq(tel_samples_json(t, 0, &j), 0);
	o = json_loads(j, 0, NULL);
	cr_assert(o, "%s", j);
	held = json_object_get(o, "held");
	cr_assert(json_is_object(held), "%s", j);
	cr_assert_str_eq(json_string_value(json_object_get(held, "reason")), "dwell");
	cr_assert_str_eq(json_string_value(json_object_get(held, "adaptation")), "coremap");
	cr_assert_eq(json_integer_value(json_object_get(held, "left_ns")), 3200000000ll);
	cr_assert_eq(json_array_size(json_object_get(held, "counts")), 3);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(json_object_get(held, "counts"), 2),
							"ticks")), 40);
	json_decref(o);
	free(j);

	/* a tick with nothing held: counters stay, no hold-left series */
	h.adaptation[0] = h.reason[0] = 0;
	h.left_ns = 0;
	cr_assert_eq(tel_publish_held(t, &h), 0);
	cr_assert_eq(tel_metrics_text(t, &m), 0);
	cr_assert_eq(promcheck(m, err, sizeof(err)), 0, "%s\n%s", err, m);
	cr_assert_eq(promcheck_count(m, "avmm_adapt_held_ticks_total"), 3);
	cr_assert_eq(promcheck_count(m, "avmm_adapt_hold_left_seconds"), 0);
	free(m);
	tel_close(t);
}

/* `avmm stat` prints the hold under the header. */
Test(held, stat_prints_the_hold)
{
	char *buf = NULL, *j;
	size_t len;
	struct tel_config c = { .counters = "none", .vm_name = "h" };
	struct tel_target tg = { .nr_vcpus = 1 };
	struct tel_held h = { .adaptation = "coremap", .reason = "no-better-core",
			      .period_ns = 1000000000ull,
			      .note = "nothing to change" };
	struct tel *t;
	FILE *f;

	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	count(&h, "coremap", "no-better-core", 40);
	tel_publish_held(t, &h);
	cr_assert_eq(tel_sample(t, NULL), 0);
	cr_assert_eq(tel_samples_json(t, 0, &j), 0);
	f = open_memstream(&buf, &len);
	tel_stat_render(j, f);
	fclose(f);
	cr_assert(strstr(buf, "loop held: no-better-core (nothing to change), period 1000 ms"), "%s", buf);
	free(buf);
	free(j);
	tel_close(t);
}

/* A steady loop with quiet ticks says how often it samples fully. */
Test(held, stat_and_json_say_when_the_loop_is_steady_and_quiet)
{
	char *buf = NULL, *j;
	size_t len;
	struct tel_config c = { .counters = "none", .vm_name = "h" };
	struct tel_target tg = { .nr_vcpus = 1 };
	struct tel_held h = { .period_ns = 1000000000ull, .full_every_ns = 10000000000ull,
			      .note = "nothing to change" };
	struct tel *t;
	FILE *f;

	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	tel_publish_held(t, &h);
	cr_assert_eq(tel_sample(t, NULL), 0);
	cr_assert_eq(tel_samples_json(t, 0, &j), 0);
	cr_assert(strstr(j, "\"full_every_ns\": 10000000000") || strstr(j, "\"full_every_ns\":10000000000"),
		  "%s", j);
	f = open_memstream(&buf, &len);
	tel_stat_render(j, f);
	fclose(f);
	cr_assert(strstr(buf, "loop steady, period 1000 ms: a full sample every 10 s"), "%s", buf);
	free(buf);
	free(j);
	tel_close(t);
}
