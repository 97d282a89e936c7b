/* Prometheus text of paging-mode: guest RAM by backing page size, the live
 * page-size worker's progress and errors, and the cost model's estimate (a
 * part that is unavailable has no value, only its reason in the _info
 * series, never a 0). */
#include "telemetry/tel_int.h"

#include <math.h>

#include "common/util.h"

static const char *const part_names[TEL_PG_PARTS] = {
	[TEL_PG_SHADOW] = "shadow", [TEL_PG_WALK] = "walk", [TEL_PG_NOW] = "now",
	[TEL_PG_ALT_2M] = "alt_2m", [TEL_PG_ALT_4K] = "alt_4k", [TEL_PG_ALT_MODE] = "alt_mode",
};

static void backing_part(FILE *f, const char *vm, const struct tel_paging_sample *p,
			 uint64_t t_ns)
{
	static const char *const sz[] = { "4k", "2m", "1g" };
	const uint64_t b[] = { p->bytes_4k, p->bytes_2m, p->bytes_1g };

	tel_prom_family(f, "avmm_guest_memory_page_bytes", "gauge", "Resident guest RAM by the page size "
	       "backing it on the host (from /proc/PID/smaps of the guest RAM mapping)");
	for (int i = 0; i < 3; i++)
		tel_prom_one(f, "avmm_guest_memory_page_bytes", vm, "page_size", sz[i], (double)b[i]);
	tel_prom_family(f, "avmm_guest_memory_resident_bytes", "gauge", "Resident guest RAM (all sizes)");
	tel_prom_one(f, "avmm_guest_memory_resident_bytes", vm, NULL, NULL, (double)p->rss_bytes);
	tel_prom_family(f, "avmm_guest_memory_backing_age_seconds", "gauge", "How old the page-size "
	       "figures are (smaps is re-read while the worker is busy, else every few seconds)");
	tel_prom_one(f, "avmm_guest_memory_backing_age_seconds", vm, NULL, NULL,
	    p->backing_t_ns && t_ns > p->backing_t_ns ? (double)(t_ns - p->backing_t_ns) * 1e-9 : 0);
}

static void worker_part(FILE *f, const char *vm, const struct tel_paging_sample *p)
{
	static const char *const res[] = { "ok", "einval", "eagain", "enomem", "other" };
	const uint64_t n[] = { p->collapse_ok, p->err_einval, p->err_eagain, p->err_enomem,
			       p->err_other };
	static const char *const targets[] = { "keep", "4k", "2m", "1g" };

	tel_prom_family(f, "avmm_guest_memory_mapped_bytes", "gauge", "Guest RAM mapped (the size of "
	       "the guest RAM mapping)");
	tel_prom_one(f, "avmm_guest_memory_mapped_bytes", vm, NULL, NULL, (double)p->ram_bytes);
	tel_prom_family(f, "avmm_paging_promotion_ranges", "gauge", "2 MiB ranges of the page-size "
	       "worker's current request: total and done");
	tel_prom_one(f, "avmm_paging_promotion_ranges", vm, "state", "total", (double)p->ranges_total);
	tel_prom_one(f, "avmm_paging_promotion_ranges", vm, "state", "done", (double)p->ranges_done);
	tel_prom_family(f, "avmm_paging_worker_busy", "gauge", "1 while the page-size worker promotes or "
	       "demotes guest RAM");
	tel_prom_one(f, "avmm_paging_worker_busy", vm, "target",
	    (unsigned)p->target < 4 ? targets[p->target] : "keep", p->busy);
	tel_prom_family(f, "avmm_paging_collapse_total", "counter", "MADV_COLLAPSE / MADV_NOHUGEPAGE "
	       "steps of the page-size worker, by result");
	for (int i = 0; i < 5; i++)
		tel_prom_one(f, "avmm_paging_collapse_total", vm, "result", res[i], (double)n[i]);
	tel_prom_family(f, "avmm_paging_quota_mib_per_second", "gauge", "The page-size worker's rate "
	       "limit (0: none)");
	tel_prom_one(f, "avmm_paging_quota_mib_per_second", vm, NULL, NULL, p->quota_mib_per_s);
	if (p->mem_available_pct >= 0) {
		tel_prom_family(f, "avmm_host_memory_available_ratio", "gauge", "Host MemAvailable / "
		       "MemTotal");
		tel_prom_one(f, "avmm_host_memory_available_ratio", vm, NULL, NULL,
		    p->mem_available_pct / 100);
	}
}

static void estimate_part(FILE *f, const char *vm, const struct tel_paging_estimate *e)
{
	tel_prom_family(f, "avmm_paging_estimate_pct", "gauge", "The paging cost model's estimate, % of "
	       "the vCPUs' time: shadow (paging exits), walk (TLB-miss walks), now (total), "
	       "alt_2m / alt_4k (this mode with that backing), alt_mode (the other host mode, "
	       "next run); only parts the model could compute");
	for (int i = 0; i < TEL_PG_PARTS; i++)
		if (e->part[i].valid)
			tel_prom_one(f, "avmm_paging_estimate_pct", vm, "part", part_names[i], e->part[i].pct);
	tel_prom_family(f, "avmm_paging_estimate_info", "gauge", "Each part of the paging cost model's "
	       "estimate: valid or not, how it was computed or why it is unavailable (value 1)");
	for (int i = 0; i < TEL_PG_PARTS; i++) {
		fputs("avmm_paging_estimate_info{vm=\"", f);
		tel_prom_esc(f, vm);
		fprintf(f, "\",part=\"%s\",valid=\"%s\",why=\"", part_names[i],
			e->part[i].valid ? "true" : "false");
		tel_prom_esc(f, e->part[i].why);
		fputs("\"} 1\n", f);
	}
	tel_prom_family(f, "avmm_paging_recommendation_info", "gauge", "The paging cost model's choice: "
	       "the backing it wants now, the host mode for the next run, and why (value 1)");
	fputs("avmm_paging_recommendation_info{vm=\"", f);
	tel_prom_esc(f, vm);
	fputs("\",want=\"", f);
	tel_prom_esc(f, e->want);
	fputs("\",want_mode=\"", f);
	tel_prom_esc(f, e->want_mode);
	fputs("\",reason=\"", f);
	tel_prom_esc(f, e->reason);
	fputs("\",recommend=\"", f);
	tel_prom_esc(f, e->recommend);
	fputs("\"} 1\n", f);
}

void tel_prom_paging(FILE *f, const char *vm, const struct tel_sample *s,
		     const struct tel_paging_estimate *e)
{
	const struct tel_paging_sample *ps = s ? &s->paging : NULL;

	if (ps && ps->ram_bytes) {
		if (ps->valid)
			backing_part(f, vm, ps, s->t_ns);
		worker_part(f, vm, ps);
	}
	if (e)
		estimate_part(f, vm, e);
}
