/* Prometheus text of the VM as a whole: KVM's VM-wide MMU stats and the
 * console's bytes, node and VM energy (and each vCPU's share), why the loop
 * holds back, and the agent's one avmm_info line per VM started by a job. */
#include "telemetry/tel_int.h"

#include <math.h>

void tel_prom_vm_part(FILE *f, const struct tel_prom_in *in)
{
	const struct tel_sample *s = in->s;
	struct tel_prom_lbl l = { in->vm, -1, "kvm", NULL, NULL };
	static const char *const sz[] = { "4k", "2m", "1g" };
	const uint64_t pages[] = { s->vm.pages_4k, s->vm.pages_2m, s->vm.pages_1g };

	tel_prom_family(f, "avmm_vm_mmu_pte_write_total", "counter", "Guest page-table writes KVM "
	       "intercepted (shadow paging)");
	tel_prom_series(f, "avmm_vm_mmu_pte_write_total", &l, (double)s->vm.mmu_pte_write);
	tel_prom_family(f, "avmm_vm_mmu_shadow_zapped_total", "counter", "Shadow pages zapped");
	tel_prom_series(f, "avmm_vm_mmu_shadow_zapped_total", &l, (double)s->vm.mmu_shadow_zapped);
	tel_prom_family(f, "avmm_vm_remote_tlb_flush_total", "counter", "Remote TLB flushes");
	tel_prom_series(f, "avmm_vm_remote_tlb_flush_total", &l, (double)s->vm.remote_tlb_flush);
	tel_prom_family(f, "avmm_vm_mapped_pages", "gauge", "Guest pages mapped by KVM's MMU, by size");
	l.k = "size";
	for (int i = 0; i < 3; i++) {
		l.v = sz[i];
		tel_prom_series(f, "avmm_vm_mapped_pages", &l, (double)pages[i]);
	}
	if (!s->vm.console_valid)
		return;
	tel_prom_family(f, "avmm_console_bytes_total", "counter", "Guest serial console bytes: written, "
	       "dropped over --console-max/--console-rate, lost to write errors");
	l.source = "vmm";
	l.k = "outcome";
	l.v = "written";
	tel_prom_series(f, "avmm_console_bytes_total", &l, (double)s->vm.console_written_bytes);
	l.v = "dropped";
	tel_prom_series(f, "avmm_console_bytes_total", &l, (double)s->vm.console_dropped_bytes);
	l.v = "lost";
	tel_prom_series(f, "avmm_console_bytes_total", &l, (double)s->vm.console_lost_bytes);
}

void tel_prom_energy_part(FILE *f, const struct tel_prom_in *in)
{
	const struct tel_energy_sample *e = &in->s->energy;
	struct tel_prom_lbl l = { in->vm, -1, "energy", "estimated", e->estimated ? "true" : "false" };

	tel_prom_family(f, "avmm_energy_joules_total", "counter", "Node energy since start (estimated="
	       "\"true\": from the profile's model, not RAPL)");
	tel_prom_series(f, "avmm_energy_joules_total", &l, (double)e->energy_uj * 1e-6);
	if (!isnan(e->power_w)) {
		tel_prom_family(f, "avmm_power_watts", "gauge", "Node power over the last tick");
		tel_prom_series(f, "avmm_power_watts", &l, e->power_w);
	}
	tel_prom_family(f, "avmm_power_cap_watts", "gauge", "Power cap in force (0: none)");
	tel_prom_series(f, "avmm_power_cap_watts", &l, e->power_cap_w);
	if (!e->attributed)
		return;
	tel_prom_family(f, "avmm_vm_energy_joules_total", "counter", "The VM's share of node energy "
	       "since start, by CPU-time share of the host's busy time");
	tel_prom_series(f, "avmm_vm_energy_joules_total", &l, (double)e->vm_energy_uj * 1e-6);
	tel_prom_family(f, "avmm_vcpu_energy_joules_total", "counter", "Each vCPU's share of node "
	       "energy since start, by CPU-time share of the host's busy time");
	for (int i = 0; i < in->s->nr_vcpus; i++) {
		struct tel_prom_lbl lv = tel_prom_vlbl(in, i, l.source, l.k, l.v);

		tel_prom_series(f, "avmm_vcpu_energy_joules_total", &lv,
				(double)in->s->vcpu[i].energy_uj * 1e-6);
	}
}

/* Why the loop waits: held ticks by adaptation and reason, and how long the
 * newest tick's hold still lasts. */
void tel_prom_held_part(FILE *f, const struct tel_prom_in *in)
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
		tel_prom_value(f, (double)h->c[i].ticks);
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
	tel_prom_value(f, (double)h->left_ns * 1e-9);
}

/* The agent: one avmm_info per VM started by a batch job (its vCPU 0),
 * with the job's id, as that VM's own /metrics would have it. */
void tel_prom_vm_info_lines(FILE *f, const struct tel_prom_in *in)
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
