/* Prometheus text exposition (format 0.0.4) of the newest sample. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "common/util.h"

void tel_prom_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

void tel_prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value(FILE *f, double v)
{
	if (isnan(v))
		fputs(" NaN\n", f);
	else if (isinf(v))
		fputs(v > 0 ? " +Inf\n" : " -Inf\n", f);
	else
		fprintf(f, " %.10g\n", v);
}

struct lbl {
	const char *vm;
	int vcpu;            /* -1: none */
	const char *source;  /* NULL: none */
	const char *k, *v;   /* one extra label, k NULL: none */
};

static void series(FILE *f, const char *name, const struct lbl *l, double v)
{
	fprintf(f, "%s{vm=\"", name);
	tel_prom_esc(f, l->vm);
	fputc('"', f);
	if (l->vcpu >= 0)
		fprintf(f, ",vcpu=\"%d\"", l->vcpu);
	if (l->source)
		fprintf(f, ",source=\"%s\"", l->source);
	if (l->k) {
		fprintf(f, ",%s=\"", l->k);
		tel_prom_esc(f, l->v);
		fputc('"', f);
	}
	fputc('}', f);
	value(f, v);
}

void tel_prom_one(FILE *f, const char *name, const char *vm, const char *k, const char *v,
		  double x)
{
	struct lbl l = { vm, -1, NULL, k, v };

	series(f, name, &l, x);
}

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

/* The labels of vCPU i's series: its VM and its index there. */
static struct lbl vlbl(const struct tel_prom_in *in, int i, const char *src, const char *k,
		       const char *v)
{
	struct lbl l = { in->vcpu_vm ? in->vcpu_vm[i] : in->vm,
			 in->vcpu_idx ? in->vcpu_idx[i] : i, src, k, v };

	return l;
}

static void vcpu_table(FILE *f, const struct tel_prom_in *in, const struct vfield *t, size_t n,
		       const char *src, bool hw)
{
	const struct tel_sample *s = in->s;

	for (size_t k = 0; k < n; k++) {
		tel_prom_family(f, t[k].name, t[k].type, t[k].help);
		for (int i = 0; i < s->nr_vcpus; i++) {
			struct lbl l = vlbl(in, i, src, NULL, NULL);

			if (!hw || s->vcpu[i].hw_valid)
				series(f, t[k].name, &l, fval(&s->vcpu[i], &t[k]));
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
			struct lbl l = vlbl(in, i, src, "mode", "guest");

			if (v->hw_valid)
				series(f, n, &l, (double)g[k]);
			l.v = "host";
			if (v->hw_host_valid)
				series(f, n, &l, (double)h[k]);
		}
	}
}

static void vm_part(FILE *f, const struct tel_prom_in *in)
{
	const struct tel_sample *s = in->s;
	struct lbl l = { in->vm, -1, "kvm", NULL, NULL };
	static const char *const sz[] = { "4k", "2m", "1g" };
	const uint64_t pages[] = { s->vm.pages_4k, s->vm.pages_2m, s->vm.pages_1g };

	tel_prom_family(f, "avmm_vm_mmu_pte_write_total", "counter", "Guest page-table writes KVM "
	       "intercepted (shadow paging)");
	series(f, "avmm_vm_mmu_pte_write_total", &l, (double)s->vm.mmu_pte_write);
	tel_prom_family(f, "avmm_vm_mmu_shadow_zapped_total", "counter", "Shadow pages zapped");
	series(f, "avmm_vm_mmu_shadow_zapped_total", &l, (double)s->vm.mmu_shadow_zapped);
	tel_prom_family(f, "avmm_vm_remote_tlb_flush_total", "counter", "Remote TLB flushes");
	series(f, "avmm_vm_remote_tlb_flush_total", &l, (double)s->vm.remote_tlb_flush);
	tel_prom_family(f, "avmm_vm_mapped_pages", "gauge", "Guest pages mapped by KVM's MMU, by size");
	l.k = "size";
	for (int i = 0; i < 3; i++) {
		l.v = sz[i];
		series(f, "avmm_vm_mapped_pages", &l, (double)pages[i]);
	}
	if (!s->vm.console_valid)
		return;
	tel_prom_family(f, "avmm_console_bytes_total", "counter", "Guest serial console bytes: written, "
	       "dropped over --console-max/--console-rate, lost to write errors");
	l.source = "vmm";
	l.k = "outcome";
	l.v = "written";
	series(f, "avmm_console_bytes_total", &l, (double)s->vm.console_written_bytes);
	l.v = "dropped";
	series(f, "avmm_console_bytes_total", &l, (double)s->vm.console_dropped_bytes);
	l.v = "lost";
	series(f, "avmm_console_bytes_total", &l, (double)s->vm.console_lost_bytes);
}

static void energy_part(FILE *f, const struct tel_prom_in *in)
{
	const struct tel_energy_sample *e = &in->s->energy;
	struct lbl l = { in->vm, -1, "energy", "estimated", e->estimated ? "true" : "false" };

	tel_prom_family(f, "avmm_energy_joules_total", "counter", "Node energy since start (estimated="
	       "\"true\": from the profile's model, not RAPL)");
	series(f, "avmm_energy_joules_total", &l, (double)e->energy_uj * 1e-6);
	if (!isnan(e->power_w)) {
		tel_prom_family(f, "avmm_power_watts", "gauge", "Node power over the last tick");
		series(f, "avmm_power_watts", &l, e->power_w);
	}
	tel_prom_family(f, "avmm_power_cap_watts", "gauge", "Power cap in force (0: none)");
	series(f, "avmm_power_cap_watts", &l, e->power_cap_w);
	if (!e->attributed)
		return;
	tel_prom_family(f, "avmm_vm_energy_joules_total", "counter", "The VM's share of node energy "
	       "since start, by CPU-time share of the host's busy time");
	series(f, "avmm_vm_energy_joules_total", &l, (double)e->vm_energy_uj * 1e-6);
	tel_prom_family(f, "avmm_vcpu_energy_joules_total", "counter", "Each vCPU's share of node "
	       "energy since start, by CPU-time share of the host's busy time");
	for (int i = 0; i < in->s->nr_vcpus; i++) {
		struct lbl lv = vlbl(in, i, l.source, l.k, l.v);

		series(f, "avmm_vcpu_energy_joules_total", &lv, (double)in->s->vcpu[i].energy_uj * 1e-6);
	}
}

/* Why the loop waits: held ticks by adaptation and reason, and how long the
 * newest tick's hold still lasts. */
static void held_part(FILE *f, const struct tel_prom_in *in)
{
	const struct tel_held *h = in->held;

	tel_prom_family(f, "avmm_adapt_held_ticks_total", "counter", "Control-loop ticks in which a "
	       "proposal was held back, by adaptation and reason (confirm, baseline, measuring, "
	       "dwell, hysteresis, slowdown, cooldown, no-better-core, dry-run)");
	for (int i = 0; i < h->nr && i < TEL_MAX_HELD; i++) {
		fputs("avmm_adapt_held_ticks_total{vm=\"", f);
		tel_prom_esc(f, in->vm);
		fputs("\",adaptation=\"", f);
		tel_prom_esc(f, h->c[i].adaptation);
		fputs("\",reason=\"", f);
		tel_prom_esc(f, h->c[i].reason);
		fputs("\"}", f);
		value(f, (double)h->c[i].ticks);
	}
	if (!h->adaptation[0])
		return;
	tel_prom_family(f, "avmm_adapt_hold_left_seconds", "gauge", "The newest tick's hold: how long "
	       "it still lasts (0: until its inputs change)");
	fputs("avmm_adapt_hold_left_seconds{vm=\"", f);
	tel_prom_esc(f, in->vm);
	fputs("\",adaptation=\"", f);
	tel_prom_esc(f, h->adaptation);
	fputs("\",reason=\"", f);
	tel_prom_esc(f, h->reason);
	fputs("\"}", f);
	value(f, (double)h->left_ns * 1e-9);
}

/* The agent: one avmm_info per VM started by a batch job (its vCPU 0),
 * with the job's id, as that VM's own /metrics would have it. */
static void vm_info_lines(FILE *f, const struct tel_prom_in *in)
{
	for (int i = 0; in->s && in->vcpu_vm && in->vcpu_job && in->vcpu_idx &&
			i < in->s->nr_vcpus; i++) {
		if (in->vcpu_idx[i] != 0 || !in->vcpu_job[i][0])
			continue;
		fprintf(f, "avmm_info{vm=\"");
		tel_prom_esc(f, in->vcpu_vm[i]);
		fprintf(f, "\",run_id=\"");
		tel_prom_esc(f, in->run_id);
		fprintf(f, "\",profile=\"");
		tel_prom_esc(f, in->profile);
		fprintf(f, "\",job_id=\"");
		tel_prom_esc(f, in->vcpu_job[i]);
		fprintf(f, "\"} 1\n");
	}
}

int tel_prom_render(const struct tel_prom_in *in, FILE *f)
{
	struct lbl l = { in->vm, -1, NULL, NULL, NULL };
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
	vm_info_lines(f, in);
	tel_prom_family(f, "avmm_source_up", "gauge", "1 if the telemetry source works, 0 if not "
	       "(see the dashboard or avmm stat for why)");
	for (int i = 0; i < TEL_SRC_COUNT; i++) {
		l.source = tel_source_name(i);
		series(f, "avmm_source_up", &l, in->src[i].up);
	}
	l.source = NULL;
	tel_prom_family(f, "avmm_telemetry_samples_total", "counter", "Samples taken");
	series(f, "avmm_telemetry_samples_total", &l, (double)in->samples_total);
	tel_prom_family(f, "avmm_telemetry_cpu_seconds_total", "counter", "CPU time telemetry itself "
	       "used, by part (sampler: the samples, and on its own thread its waits and "
	       "wake-ups too)");
	l.k = "part";
	l.v = "sampler";
	series(f, "avmm_telemetry_cpu_seconds_total", &l, (double)in->sampler_cpu_ns * 1e-9);
	l.v = "http";
	series(f, "avmm_telemetry_cpu_seconds_total", &l, (double)in->http_cpu_ns * 1e-9);
	l.k = NULL;
	tel_prom_family(f, "avmm_telemetry_period_seconds", "gauge", "Sampling period");
	series(f, "avmm_telemetry_period_seconds", &l, (double)in->period_ns * 1e-9);
	tel_prom_family(f, "avmm_decisions_total", "counter", "Adaptation decisions published, by kind");
	l.k = "kind";
	for (int i = 0; i < in->nr_kinds; i++) {
		l.v = in->kinds[i];
		series(f, "avmm_decisions_total", &l, (double)in->kind_counts[i]);
	}
	tel_prom_family(f, "avmm_decision_apply_seconds", "gauge", "Time the last applied decision of "
	       "each kind took, vCPU pause included (coremap: the remap latency)");
	for (int i = 0; i < in->nr_kinds; i++) {
		l.v = in->kinds[i];
		if (in->kind_apply_ns && in->kind_apply_ns[i])
			series(f, "avmm_decision_apply_seconds", &l, (double)in->kind_apply_ns[i] * 1e-9);
	}
	if (in->held)
		held_part(f, in);
	if (!in->s)
		return ferror(f) ? -1 : 0;
	l.k = NULL;
	tel_prom_family(f, "avmm_telemetry_sample_duration_seconds", "gauge", "Wall time of the last "
	       "sample");
	series(f, "avmm_telemetry_sample_duration_seconds", &l, (double)in->s->tel_sample_ns * 1e-9);
	if (in->s->src[TEL_SRC_THREAD].up) {
		vcpu_table(f, in, thread_fields, UTIL_ARRAY_SIZE(thread_fields), "thread", false);
		tel_prom_family(f, "avmm_vcpu_pcpu", "gauge", "Host CPU the vCPU thread last ran on");
		for (int i = 0; i < in->s->nr_vcpus; i++) {
			struct lbl lv = vlbl(in, i, "thread", NULL, NULL);

			if (in->s->vcpu[i].pcpu >= 0)
				series(f, "avmm_vcpu_pcpu", &lv, in->s->vcpu[i].pcpu);
		}
	}
	if (in->s->src[TEL_SRC_KVM_STATS].up) {
		vcpu_table(f, in, kvm_fields, UTIL_ARRAY_SIZE(kvm_fields), "kvm", false);
		vm_part(f, in);
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
		energy_part(f, in);
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
	in.sampler_cpu_ns = t->sampler_cpu_ns;
	in.http_cpu_ns = t->http_cpu_ns;
	in.period_ns = t->cfg.period_ns;
	in.paging_est = t->have_paging_est ? &t->paging_est : NULL;
	err = tel_prom_render(&in, f);
	if (!err && t->prom_extra_fn)
		t->prom_extra_fn(t->prom_extra_arg, f);
	pthread_mutex_unlock(&t->lock);
	if (fclose(f) || err) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}
