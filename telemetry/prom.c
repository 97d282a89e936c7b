/* Prometheus text exposition (format 0.0.4) of the newest sample: the
 * per-vCPU tables (KVM stats, thread times, hardware counters), the order of
 * the parts (tel_prom_render; the VM-wide parts are in prom_vm.c, the pieces
 * in prom_series.c) and the tel object's /metrics text. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "common/util.h"

struct vfield {
	const char *name, *type, *help;
	size_t off;
	bool u64;
	double scale;
};

#define U(n, h, f, sc) { "avmm_vcpu_" n, "counter", h, offsetof(struct tel_vcpu_sample, f), true, sc }
#define G(n, h, f, sc) { "avmm_vcpu_" n, "gauge", h, offsetof(struct tel_vcpu_sample, f), false, sc }
static const struct vfield kvm_fields[] = {
	U("exits_total", "VM exits of the vCPU (KVM stat exits)", exits, 1),
	U("io_exits_total", "Port I/O exits (KVM stat io_exits)", io_exits, 1),
	U("mmio_exits_total", "MMIO exits (KVM stat mmio_exits)", mmio_exits, 1),
	U("halt_exits_total", "HLT exits (KVM stat halt_exits)", halt_exits, 1),
	U("pf_taken_total", "Guest page faults taken by KVM (pf_taken)", pf_taken, 1),
	U("pf_fixed_total", "Page faults fixed by KVM's MMU (pf_fixed)", pf_fixed, 1),
	U("pf_emulate_total", "Page faults that needed emulation (pf_emulate)", pf_emulate, 1),
	U("tlb_flush_total", "TLB flushes (KVM stat tlb_flush)", tlb_flush, 1),
	U("invlpg_total", "INVLPG exits (KVM stat invlpg)", invlpg, 1),
	G("exits_per_second", "VM exits per second over the last tick", exits_per_s, 1),
	G("paging_exits_per_second", "Paging exits (pf_taken + invlpg + tlb_flush) per second",
	  paging_exits_per_s, 1),
};
static const struct vfield thread_fields[] = {
	U("cpu_seconds_total", "CPU time of the vCPU thread", cpu_time_ns, 1e-9),
	U("run_delay_seconds_total", "Time the vCPU thread was runnable but waiting for a CPU",
	  run_delay_ns, 1e-9),
	G("cpu_ratio", "Share of one CPU the vCPU thread used over the last tick", cpu_pct, 0.01),
	G("run_delay_ratio", "Share of the last tick the vCPU thread waited for a CPU",
	  run_delay_pct, 0.01),
};
static const struct vfield hw_fields[] = {
	G("ipc", "Guest instructions per cycle over the last tick", ipc, 1),
	G("dtlb_misses_per_kinstr", "Guest dTLB misses per 1000 instructions",
	  tlb_misses_per_kinstr, 1),
	G("llc_misses_per_kinstr", "Guest LLC misses per 1000 instructions",
	  llc_misses_per_kinstr, 1),
	G("counter_multiplex_ratio", "time_running / time_enabled of the counters (1: none)",
	  multiplex_ratio, 1),
};

static double fval(const struct tel_vcpu_sample *v, const struct vfield *fd)
{
	const char *p = (const char *)v + fd->off;

	if (fd->u64)
		return (double)*(const uint64_t *)p * fd->scale;
	return *(const double *)p * fd->scale;
}


static void vcpu_table(FILE *f, const struct tel_prom_in *in, const struct vfield *t, size_t n,
		       const char *src, bool hw)
{
	const struct tel_sample *s = in->s;

	for (size_t k = 0; k < n; k++) {
		tel_prom_family(f, t[k].name, t[k].type, t[k].help);
		for (int i = 0; i < s->nr_vcpus; i++) {
			struct tel_prom_lbl l = tel_prom_vlbl(in, i, src, NULL, NULL);

			if (!hw || s->vcpu[i].hw_valid)
				tel_prom_series(f, t[k].name, &l, fval(&s->vcpu[i], &t[k]));
		}
	}
}

static void hw_counters(FILE *f, const struct tel_prom_in *in, const char *src)
{
	static const char *const names[] = { "cycles", "instructions", "llc_misses",
					     "dtlb_misses", "walk_cycles" };
	const struct tel_sample *s = in->s;
	char n[96];

	for (size_t k = 0; k < UTIL_ARRAY_SIZE(names); k++) {
		snprintf(n, sizeof(n), "avmm_vcpu_%s_total", names[k]);
		fprintf(f, "# HELP %s Hardware counter %s of the vCPU thread, by mode "
			"(scaled for multiplexing)\n# TYPE %s counter\n", n, names[k], n);
		for (int i = 0; i < s->nr_vcpus; i++) {
			const struct tel_vcpu_sample *v = &s->vcpu[i];
			const uint64_t g[] = { v->cycles, v->instructions, v->llc_misses,
					       v->dtlb_misses, v->walk_cycles };
			const uint64_t h[] = { v->host_cycles, v->host_instructions,
					       v->host_llc_misses, v->host_dtlb_misses,
					       v->host_walk_cycles };
			struct tel_prom_lbl l = tel_prom_vlbl(in, i, src, "mode", "guest");

			if (v->hw_valid)
				tel_prom_series(f, n, &l, (double)g[k]);
			l.v = "host";
			if (v->hw_host_valid)
				tel_prom_series(f, n, &l, (double)h[k]);
		}
	}
}


int tel_prom_render(const struct tel_prom_in *in, FILE *f)
{
	struct tel_prom_lbl l = { in->vm, -1, NULL, NULL, NULL };
	const char *hw_src = NULL;

	tel_prom_family(f, "avmm_info", "gauge", "Run identity (value always 1)");
	fprintf(f, "avmm_info{vm=\"");
	tel_prom_esc(f, in->vm);
	fprintf(f, "\",run_id=\"");
	tel_prom_esc(f, in->run_id);
	fprintf(f, "\",profile=\"");
	tel_prom_esc(f, in->profile);
	if (in->job_id) {
		fprintf(f, "\",job_id=\"");
		tel_prom_esc(f, in->job_id);
	}
	fprintf(f, "\"} 1\n");
	tel_prom_vm_info_lines(f, in);
	tel_prom_family(f, "avmm_source_up", "gauge", "1 if the telemetry source works, 0 if not "
	       "(see the dashboard or avmm stat for why)");
	for (int i = 0; i < TEL_SRC_COUNT; i++) {
		l.source = tel_source_name(i);
		tel_prom_series(f, "avmm_source_up", &l, in->src[i].up);
	}
	l.source = NULL;
	tel_prom_family(f, "avmm_telemetry_samples_total", "counter", "Samples taken");
	tel_prom_series(f, "avmm_telemetry_samples_total", &l, (double)in->samples_total);
	tel_prom_family(f, "avmm_telemetry_probes_total", "counter", "Quiet looks between samples "
	       "while the machine is steady (each vCPU's run delay from its steal-time area, "
	       "else its CPU time)");
	tel_prom_series(f, "avmm_telemetry_probes_total", &l, (double)in->probes_total);
	tel_prom_family(f, "avmm_telemetry_cpu_seconds_total", "counter", "CPU time telemetry itself "
	       "used, by part (sampler: the samples, and on its own thread its waits and "
	       "wake-ups too)");
	l.k = "part";
	l.v = "sampler";
	tel_prom_series(f, "avmm_telemetry_cpu_seconds_total", &l, (double)in->sampler_cpu_ns * 1e-9);
	l.v = "http";
	tel_prom_series(f, "avmm_telemetry_cpu_seconds_total", &l, (double)in->http_cpu_ns * 1e-9);
	l.k = NULL;
	tel_prom_family(f, "avmm_telemetry_period_seconds", "gauge", "Sampling period");
	tel_prom_series(f, "avmm_telemetry_period_seconds", &l, (double)in->period_ns * 1e-9);
	tel_prom_family(f, "avmm_decisions_total", "counter", "Adaptation decisions published, by kind");
	l.k = "kind";
	for (int i = 0; i < in->nr_kinds; i++) {
		l.v = in->kinds[i];
		tel_prom_series(f, "avmm_decisions_total", &l, (double)in->kind_counts[i]);
	}
	tel_prom_family(f, "avmm_decision_apply_seconds", "gauge", "Time the last applied decision of "
	       "each kind took, vCPU pause included (coremap: the remap latency)");
	for (int i = 0; i < in->nr_kinds; i++) {
		l.v = in->kinds[i];
		if (in->kind_apply_ns && in->kind_apply_ns[i])
			tel_prom_series(f, "avmm_decision_apply_seconds", &l,
					(double)in->kind_apply_ns[i] * 1e-9);
	}
	if (in->held)
		tel_prom_held_part(f, in);
	if (!in->s)
		return ferror(f) ? -1 : 0;
	l.k = NULL;
	tel_prom_family(f, "avmm_telemetry_sample_duration_seconds", "gauge", "Wall time of the last "
	       "sample");
	tel_prom_series(f, "avmm_telemetry_sample_duration_seconds", &l,
			(double)in->s->tel_sample_ns * 1e-9);
	if (in->s->src[TEL_SRC_THREAD].up) {
		vcpu_table(f, in, thread_fields, UTIL_ARRAY_SIZE(thread_fields), "thread", false);
		tel_prom_family(f, "avmm_vcpu_pcpu", "gauge", "Host CPU the vCPU thread last ran on");
		for (int i = 0; i < in->s->nr_vcpus; i++) {
			struct tel_prom_lbl lv = tel_prom_vlbl(in, i, "thread", NULL, NULL);

			if (in->s->vcpu[i].pcpu >= 0)
				tel_prom_series(f, "avmm_vcpu_pcpu", &lv, in->s->vcpu[i].pcpu);
		}
	}
	if (in->s->src[TEL_SRC_KVM_STATS].up) {
		vcpu_table(f, in, kvm_fields, UTIL_ARRAY_SIZE(kvm_fields), "kvm", false);
		tel_prom_vm_part(f, in);
	}
	if (in->s->src[TEL_SRC_PERF].up)
		hw_src = "perf";
	else if (in->s->src[TEL_SRC_PAPI].up)
		hw_src = "papi";
	if (hw_src) {
		hw_counters(f, in, hw_src);
		vcpu_table(f, in, hw_fields, UTIL_ARRAY_SIZE(hw_fields), hw_src, true);
	}
	if (in->s->energy.up)
		tel_prom_energy_part(f, in);
	tel_prom_paging(f, in->vm, in->s, in->paging_est);
	tel_prom_bankmap(f, in->vm, in->s);
	return ferror(f) ? -1 : 0;
}

int tel_metrics_text(struct tel *t, char **text)
{
	struct tel_prom_in in = { 0 };
	const char *kinds[TEL_MAX_KINDS];
	size_t len;
	FILE *f = open_memstream(text, &len);
	int err;

	if (!f)
		return -ENOMEM;
	__atomic_store_n(&t->exports_read, true, __ATOMIC_RELAXED);
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->nr_kinds; i++)
		kinds[i] = t->kinds[i];
	in.s = t->nr_samples ? tel_slot(t, t->nr_samples - 1) : NULL;
	in.vm = t->vm_name;
	in.run_id = t->run_id;
	in.profile = t->profile;
	in.job_id = t->job_id;
	in.src = t->src;
	in.kinds = kinds;
	in.kind_counts = t->kind_counts;
	in.kind_apply_ns = t->kind_apply_ns;
	in.nr_kinds = t->nr_kinds;
	in.held = t->have_held ? &t->held : NULL;
	in.vcpu_vm = t->vcpu_labels ? t->vcpu_vm_ptr : NULL;
	in.vcpu_idx = t->vcpu_labels ? t->vcpu_idx : NULL;
	in.vcpu_job = t->vcpu_labels ? t->vcpu_job_ptr : NULL;
	in.samples_total = t->nr_samples;
	in.probes_total = __atomic_load_n(&t->nr_probes, __ATOMIC_RELAXED);
	in.sampler_cpu_ns = t->sampler_cpu_ns;
	in.http_cpu_ns = t->http_cpu_ns;
	in.period_ns = t->cfg.period_ns;
	in.paging_est = t->have_paging_est ? &t->paging_est : NULL;
	err = tel_prom_render(&in, f);
	if (!err && t->cfg.prom_extra_fn)
		t->cfg.prom_extra_fn(t->cfg.prom_extra_arg, f);
	pthread_mutex_unlock(&t->lock);
	if (fclose(f) || err) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}
