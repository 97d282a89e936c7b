/* JSON forms of paging-mode's sample part and the cost model's estimate
 * (samples API, JSON-lines traces, the "paging" control command). */
#include "telemetry/tel_int.h"

#include <jansson.h>
#include <string.h>

static const char *const part_names[TEL_PG_PARTS] = {
	[TEL_PG_SHADOW] = "shadow", [TEL_PG_WALK] = "walk", [TEL_PG_NOW] = "now",
	[TEL_PG_ALT_2M] = "alt_2m", [TEL_PG_ALT_4K] = "alt_4k", [TEL_PG_ALT_MODE] = "alt_mode",
};

static json_t *str(const char *s, size_t max)
{
	return json_stringn(s, strnlen(s, max));
}

json_t *tel_paging_json(const struct tel_paging_sample *p)
{
	static const char *const targets[] = { "keep", "4k", "2m", "1g" };
	json_t *o;

	if (!p->ram_bytes)
		return json_null();   /* no live actuator on this target */
	o = json_pack("{s:b, s:I, s:s, s:b, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:f}",
		      "valid", p->valid, "ram_bytes", (json_int_t)p->ram_bytes,
		      "target", (unsigned)p->target < 4 ? targets[p->target] : "keep",
		      "busy", p->busy, "ranges_total", (json_int_t)p->ranges_total,
		      "ranges_done", (json_int_t)p->ranges_done,
		      "collapse_ok", (json_int_t)p->collapse_ok,
		      "collapse_errors", (json_int_t)p->collapse_errors,
		      "errors", "einval", (json_int_t)p->err_einval,
		      "eagain", (json_int_t)p->err_eagain, "enomem", (json_int_t)p->err_enomem,
		      "other", (json_int_t)p->err_other, "quota_mib_per_s", p->quota_mib_per_s);
	if (!o)
		return json_null();
	if (p->mem_available_pct >= 0)
		json_object_set_new(o, "mem_available_pct", json_real(p->mem_available_pct));
	if (p->valid) {
		json_object_set_new(o, "rss_bytes", json_integer((json_int_t)p->rss_bytes));
		json_object_set_new(o, "bytes_4k", json_integer((json_int_t)p->bytes_4k));
		json_object_set_new(o, "bytes_2m", json_integer((json_int_t)p->bytes_2m));
		json_object_set_new(o, "bytes_1g", json_integer((json_int_t)p->bytes_1g));
		json_object_set_new(o, "backing_t_ns", json_integer((json_int_t)p->backing_t_ns));
	}
	if (p->why[0])
		json_object_set_new(o, "why", str(p->why, sizeof(p->why)));
	return o;
}

json_t *tel_paging_estimate_json(const struct tel_paging_estimate *e)
{
	json_t *parts = json_object();

	for (int i = 0; i < TEL_PG_PARTS; i++) {
		json_t *p = json_pack("{s:b, s:o}", "valid", e->part[i].valid, "why",
				      str(e->part[i].why, sizeof(e->part[i].why)));

		if (p && e->part[i].valid)
			json_object_set_new(p, "pct", json_real(e->part[i].pct));
		json_object_set_new(parts, part_names[i], p ? p : json_null());
	}
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "t_ns", (json_int_t)e->t_ns,
			 "parts", parts, "want", str(e->want, sizeof(e->want)),
			 "want_mode", str(e->want_mode, sizeof(e->want_mode)),
			 "reason", str(e->reason, sizeof(e->reason)),
			 "recommend", str(e->recommend, sizeof(e->recommend)));
}
