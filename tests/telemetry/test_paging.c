/* paging-mode as telemetry exports it: guest RAM by page size and the
 * page-size worker (from the paging hook), and the cost model's estimate,
 * in /metrics (strict exposition check, as promtool's) and the samples
 * JSON; a part of the estimate that is unavailable has no value, only its
 * reason. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promcheck.h"
#include "telemetry/tel.h"

static int hook_calls;

/* What the session's hook fills: 6 MiB resident, 4 of them in 2 MiB pages. */
static int paging_hook(void *arg, uint64_t now_ns, struct tel_paging_sample *out)
{
	hook_calls++;
	out->valid = true;
	out->ram_bytes = 64ull << 20;
	out->rss_bytes = 6ull << 20;
	out->bytes_4k = 2ull << 20;
	out->bytes_2m = 4ull << 20;
	out->target = 2;   /* PGMODE_PAGE_2M */
	out->busy = true;
	out->ranges_total = 32;
	out->ranges_done = 3;
	out->collapse_ok = 2;
	out->err_einval = 1;
	out->collapse_errors = 1;
	out->backing_t_ns = now_ns;
	out->quota_mib_per_s = 256;
	out->mem_available_pct = 50;
	return 0;
}

static void estimate(struct tel_paging_estimate *e)
{
	memset(e, 0, sizeof(*e));
	e->t_ns = 7;
	e->part[TEL_PG_SHADOW].valid = true;
	e->part[TEL_PG_SHADOW].pct = 12.5;
	snprintf(e->part[TEL_PG_SHADOW].why, sizeof(e->part[0].why), "25000 exits/s x 5 us");
	snprintf(e->part[TEL_PG_WALK].why, sizeof(e->part[0].why), "no hardware PMU: "
		 "page-walk cycles \"unknown\"");
	e->part[TEL_PG_NOW].valid = true;
	e->part[TEL_PG_NOW].pct = 12.5;
	snprintf(e->want, sizeof(e->want), "2m");
	snprintf(e->want_mode, sizeof(e->want_mode), "nested");
	snprintf(e->reason, sizeof(e->reason), "shadow paging costs 12.5%%");
	snprintf(e->recommend, sizeof(e->recommend), "nested paging with 2 MiB backing");
}

Test(paging_export, metrics_and_json_carry_backing_worker_and_estimate)
{
	struct tel_config c = { .counters = "none", .vm_name = "p" };
	struct tel_target tg = { .nr_vcpus = 1 };
	struct tel_paging_estimate e, got;
	struct tel *t;
	char *m, *j, err[200];
	json_t *o, *s, *pg, *est;

	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(tel_latest_paging(t, &got), -ENOENT);
	cr_assert_eq(tel_sample(t, NULL), 0);
	cr_assert_eq(tel_metrics_text(t, &m), 0);
	cr_assert_null(strstr(m, "avmm_guest_memory"), "no hook, no guest-memory series");
	cr_assert_null(strstr(m, "avmm_paging_estimate"), "no estimate published yet");
	free(m);

	tel_set_paging_fn(t, paging_hook, NULL);
	estimate(&e);
	cr_assert_eq(tel_publish_paging(t, &e), 0);
	cr_assert_eq(tel_latest_paging(t, &got), 0);
	cr_assert_str_eq(got.want, "2m");
	cr_assert_eq(tel_sample(t, NULL), 0);
	cr_assert_eq(hook_calls, 1);
	cr_assert_eq(tel_metrics_text(t, &m), 0);
	cr_assert_eq(promcheck(m, err, sizeof(err)), 0, "%s\n%s", err, m);
	cr_assert(strstr(m, "avmm_guest_memory_page_bytes{vm=\"p\",page_size=\"2m\"} 4194304\n"), "%s", m);
	cr_assert(strstr(m, "avmm_guest_memory_page_bytes{vm=\"p\",page_size=\"4k\"} 2097152\n"));
	cr_assert(strstr(m, "avmm_guest_memory_mapped_bytes{vm=\"p\"} 67108864\n"));
	cr_assert(strstr(m, "avmm_paging_promotion_ranges{vm=\"p\",state=\"done\"} 3\n"));
	cr_assert(strstr(m, "avmm_paging_collapse_total{vm=\"p\",result=\"einval\"} 1\n"));
	cr_assert(strstr(m, "avmm_paging_collapse_total{vm=\"p\",result=\"ok\"} 2\n"));
	cr_assert(strstr(m, "avmm_host_memory_available_ratio{vm=\"p\"} 0.5\n"));
	/* valid parts have a value; the walk part has none, only its reason */
	cr_assert(strstr(m, "avmm_paging_estimate_pct{vm=\"p\",part=\"shadow\"} 12.5\n"), "%s", m);
	cr_assert_null(strstr(m, "avmm_paging_estimate_pct{vm=\"p\",part=\"walk\"}"), "%s", m);
	cr_assert_eq(promcheck_count(m, "avmm_paging_estimate_pct"), 2);
	cr_assert(strstr(m, "avmm_paging_estimate_info{vm=\"p\",part=\"walk\",valid=\"false\","
			 "why=\"no hardware PMU: page-walk cycles \\\"unknown\\\"\"} 1\n"), "%s", m);
	cr_assert(strstr(m, "avmm_paging_recommendation_info{vm=\"p\",want=\"2m\",want_mode=\"nested\""));
	free(m);

	cr_assert_eq(tel_samples_json(t, 0, &j), 0);
	o = json_loads(j, 0, NULL);
	cr_assert(o, "%s", j);
	s = json_array_get(json_object_get(o, "samples"), 1);
	cr_assert(json_is_null(json_object_get(json_array_get(json_object_get(o, "samples"), 0),
					       "paging")), "the sample before the hook has none");
	pg = json_object_get(s, "paging");
	cr_assert_eq(json_integer_value(json_object_get(pg, "bytes_2m")), 4 << 20, "%s", j);
	cr_assert_str_eq(json_string_value(json_object_get(pg, "target")), "2m");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(pg, "errors"), "einval")), 1);
	est = json_object_get(o, "paging_estimate");
	cr_assert(json_is_object(est), "%s", j);
	cr_assert_eq(json_real_value(json_object_get(json_object_get(json_object_get(est, "parts"),
								     "shadow"), "pct")), 12.5);
	cr_assert_null(json_object_get(json_object_get(json_object_get(est, "parts"), "walk"), "pct"),
		       "an unavailable part has no pct");
	json_decref(o);
	free(j);
	tel_set_paging_fn(t, NULL, NULL);
	tel_close(t);
}
