/* JSON forms of samples and decisions (API, traces, the "stat" command). */
#include <math.h>

#include "telemetry/tel_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static json_t *vcpu_hw_json(const struct tel_vcpu_sample *v, const char *const *ev, int nev)
{
	json_t *hw, *events;

	if (!v->hw_valid && !v->hw_host_valid)
		return json_null();
	hw = json_object();
	events = json_object();
	json_object_set_new(hw, "guest_valid", json_boolean(v->hw_valid));
	json_object_set_new(hw, "host_valid", json_boolean(v->hw_host_valid));
	if (v->hw_valid) {
		json_object_set_new(hw, "cycles", json_integer((json_int_t)v->cycles));
		json_object_set_new(hw, "instructions", json_integer((json_int_t)v->instructions));
		json_object_set_new(hw, "llc_misses", json_integer((json_int_t)v->llc_misses));
		json_object_set_new(hw, "dtlb_misses", json_integer((json_int_t)v->dtlb_misses));
		json_object_set_new(hw, "walk_cycles", json_integer((json_int_t)v->walk_cycles));
		json_object_set_new(hw, "ipc", json_real(v->ipc));
		json_object_set_new(hw, "tlb_misses_per_kinstr", json_real(v->tlb_misses_per_kinstr));
		json_object_set_new(hw, "llc_misses_per_kinstr", json_real(v->llc_misses_per_kinstr));
	}
	json_object_set_new(hw, "multiplex_ratio", json_real(v->multiplex_ratio));
	for (int i = 0; i < nev; i++) {
		json_t *e = json_object();

		if (v->hw_valid)
			json_object_set_new(e, "guest", json_integer((json_int_t)v->ev_guest[i]));
		if (v->hw_host_valid)
			json_object_set_new(e, "host", json_integer((json_int_t)v->ev_host[i]));
		json_object_set_new(events, ev[i], e);
	}
	json_object_set_new(hw, "events", events);
	return hw;
}

static json_t *vcpu_json(const struct tel_vcpu_sample *v, int i, const char *const *ev,
			 int nev)
{
	return json_pack("{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			 " s:I, s:f, s:f, s:f, s:f, s:o}",
			 "vcpu", i, "tid", (int)v->tid, "pcpu", v->pcpu,
			 "cpu_time_ns", (json_int_t)v->cpu_time_ns,
			 "run_delay_ns", (json_int_t)v->run_delay_ns,
			 "exits", (json_int_t)v->exits, "io_exits", (json_int_t)v->io_exits,
			 "mmio_exits", (json_int_t)v->mmio_exits,
			 "halt_exits", (json_int_t)v->halt_exits,
			 "pf_taken", (json_int_t)v->pf_taken, "pf_fixed", (json_int_t)v->pf_fixed,
			 "pf_emulate", (json_int_t)v->pf_emulate,
			 "tlb_flush", (json_int_t)v->tlb_flush, "invlpg", (json_int_t)v->invlpg,
			 "cpu_pct", v->cpu_pct, "run_delay_pct", v->run_delay_pct,
			 "exits_per_s", v->exits_per_s, "paging_exits_per_s", v->paging_exits_per_s,
			 "hw", vcpu_hw_json(v, ev, nev));
}

/* "wall_ns" and "time" (ISO 8601, UTC) beside the monotonic "t_ns". */
static void wall_json(json_t *o, uint64_t wall_ns)
{
	char iso[TEL_ISO8601_LEN];

	json_object_set_new(o, "wall_ns", json_integer((json_int_t)wall_ns));
	if (!tel_iso8601(wall_ns, iso, sizeof(iso)))
		json_object_set_new(o, "time", json_string(iso));
}

json_t *tel_sample_json(const struct tel_sample *s, const char *const *ev, int nev)
{
	json_t *o, *vcpus = json_array(), *src = json_object(), *en;

	for (int i = 0; i < s->nr_vcpus; i++) {
		json_t *v = vcpu_json(&s->vcpu[i], i, ev, nev);

		if (s->energy.attributed)
			json_object_set_new(v, "energy_uj", json_integer((json_int_t)s->vcpu[i].energy_uj));
		json_array_append_new(vcpus, v);
	}
	for (int i = 0; i < TEL_SRC_COUNT; i++)
		json_object_set_new(src, tel_source_name(i),
				    json_pack("{s:b, s:s}", "up", s->src[i].up, "why", s->src[i].why));
	en = !s->energy.up ? json_null() :
		json_pack("{s:I, s:o, s:f, s:b}", "energy_uj", (json_int_t)s->energy.energy_uj,
			  "power_w", isnan(s->energy.power_w) ? json_null() : json_real(s->energy.power_w),
			  "power_cap_w", s->energy.power_cap_w, "estimated", s->energy.estimated);
	if (s->energy.up && s->energy.attributed)
		json_object_set_new(en, "vm_energy_uj", json_integer((json_int_t)s->energy.vm_energy_uj));
	o = json_pack("{s:I, s:I, s:I, s:i, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I},"
		      " s:o, s:o, s:o}",
		      "seq", (json_int_t)s->seq, "t_ns", (json_int_t)s->t_ns,
		      "dt_ns", (json_int_t)s->dt_ns, "nr_vcpus", s->nr_vcpus,
		      "tel_cpu_ns", (json_int_t)s->tel_cpu_ns,
		      "tel_sample_ns", (json_int_t)s->tel_sample_ns,
		      "vm", "mmu_pte_write", (json_int_t)s->vm.mmu_pte_write,
		      "mmu_shadow_zapped", (json_int_t)s->vm.mmu_shadow_zapped,
		      "remote_tlb_flush", (json_int_t)s->vm.remote_tlb_flush,
		      "pages_4k", (json_int_t)s->vm.pages_4k,
		      "pages_2m", (json_int_t)s->vm.pages_2m,
		      "pages_1g", (json_int_t)s->vm.pages_1g,
		      "energy", en, "sources", src, "vcpus", vcpus);
	if (o)
		json_object_set_new(o, "paging", tel_paging_json(&s->paging));
	if (o && s->wall_ns)
		wall_json(o, s->wall_ns);
	if (o && s->bankmap.valid)
		json_object_set_new(o, "bankmap", tel_bankmap_json(&s->bankmap));
	return o;
}

json_t *tel_decision_json(const struct tel_decision *d, uint64_t seq)
{
	json_t *o = json_pack("{s:I, s:I, s:s%, s:s%, s:s%, s:s%, s:b, s:I}", "seq", (json_int_t)seq,
			 "t_ns", (json_int_t)d->t_ns,
			 "kind", d->kind, strnlen(d->kind, sizeof(d->kind)),
			 "what", d->what, strnlen(d->what, sizeof(d->what)),
			 "why", d->why, strnlen(d->why, sizeof(d->why)),
			 "effect", d->effect, strnlen(d->effect, sizeof(d->effect)),
			 "dry_run", d->dry_run, "apply_ns", (json_int_t)d->apply_ns);

	if (o && d->wall_ns)
		wall_json(o, d->wall_ns);
	return o;
}

json_t *tel_held_json(const struct tel_held *h)
{
	json_t *counts = json_array();

	for (int i = 0; i < h->nr && i < TEL_MAX_HELD; i++)
		json_array_append_new(counts, json_pack("{s:s%, s:s%, s:I}",
			"adaptation", h->c[i].adaptation, strnlen(h->c[i].adaptation, sizeof(h->c[i].adaptation)),
			"reason", h->c[i].reason, strnlen(h->c[i].reason, sizeof(h->c[i].reason)),
			"ticks", (json_int_t)h->c[i].ticks));
	return json_pack("{s:I, s:s%, s:s%, s:I, s:I, s:I, s:s%, s:o}", "t_ns", (json_int_t)h->t_ns,
			 "adaptation", h->adaptation, strnlen(h->adaptation, sizeof(h->adaptation)),
			 "reason", h->reason, strnlen(h->reason, sizeof(h->reason)),
			 "left_ns", (json_int_t)h->left_ns, "period_ns", (json_int_t)h->period_ns,
			 "full_every_ns", (json_int_t)h->full_every_ns,
			 "note", h->note, strnlen(h->note, sizeof(h->note)), "counts", counts);
}

static char *dump(json_t *o)
{
	char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return txt;
}

int tel_samples_json(struct tel *t, uint64_t since, char **out)
{
	const char *ev[TEL_MAX_EVENTS];
	int nev = t->hw ? t->hw_ops->names(t->hw, ev, TEL_MAX_EVENTS) : 0;
	json_t *arr = json_array(), *o;
	uint64_t first;

	__atomic_store_n(&t->exports_read, true, __ATOMIC_RELAXED);
	pthread_mutex_lock(&t->lock);
	first = t->nr_samples > (uint64_t)t->ring_len ? t->nr_samples - (uint64_t)t->ring_len : 0;
	if (since > first)
		first = since;
	for (uint64_t q = first; q < t->nr_samples; q++)
		json_array_append_new(arr, tel_sample_json(tel_slot(t, q), ev, nev));
	o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:o}", "vm", t->vm_name, "run_id",
		      t->run_id, "profile", t->profile, "nr_vcpus", t->nr_vcpus,
		      "next", (json_int_t)t->nr_samples, "period_ns",
		      (json_int_t)t->cfg.period_ns, "samples", arr);
	if (o && t->have_held)
		json_object_set_new(o, "held", tel_held_json(&t->held));
	if (o && t->have_paging_est)
		json_object_set_new(o, "paging_estimate", tel_paging_estimate_json(&t->paging_est));
	pthread_mutex_unlock(&t->lock);
	*out = dump(o);
	return *out ? 0 : -ENOMEM;
}

int tel_decisions_json(struct tel *t, uint64_t since, char **out)
{
	json_t *arr = json_array(), *o;
	uint64_t first;

	pthread_mutex_lock(&t->lock);
	first = t->nr_dec > TEL_MAX_DECISIONS ? t->nr_dec - TEL_MAX_DECISIONS : 0;
	if (since > first)
		first = since;
	for (uint64_t q = first; q < t->nr_dec; q++)
		json_array_append_new(arr, tel_decision_json(&t->dec[q % TEL_MAX_DECISIONS], q));
	o = json_pack("{s:I, s:o}", "next", (json_int_t)t->nr_dec, "decisions", arr);
	pthread_mutex_unlock(&t->lock);
	*out = dump(o);
	return *out ? 0 : -ENOMEM;
}
