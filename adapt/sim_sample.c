/* adapt: the simulator's samples, filled as telemetry fills them
 * (cumulative counters, then tel_derive for the rates). */
#include "adapt/sim_int.h"
#include "paging-mode/pgmode.h"
#include "telemetry/tel.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void sim_bankmap_topo(const struct sim_engine *e, struct bankmap_topo *bt)
{
	int i, j;

	memset(bt, 0, sizeof(*bt));
	bt->nr_nodes = e->nr_nodes;
	for (i = 0; i < e->nr_nodes; i++) {
		bt->node[i].id = i;
		bt->node[i].total_bytes = (uint64_t)(e->m->node_gib * (double)(1ull << 30));
		bt->node[i].free_bytes = bt->node[i].total_bytes / 2;
		for (j = 0; j < e->nr_nodes; j++)
			bt->distance[i][j] = (uint8_t)(i == j ? 10 : lround(10 * e->m->remote_factor));
	}
	for (i = 0; i < BANKMAP_MAX_CPUS; i++)
		bt->cpu_node[i] = -1;
	for (i = 0; i < e->nr_pus; i++) {
		int os = e->pu_os[i];

		if (os >= 0 && os < BANKMAP_MAX_CPUS) {
			bt->cpu_node[os] = e->pu_node[i];
			if (os + 1 > bt->nr_cpus)
				bt->nr_cpus = os + 1;
			bt->node[e->pu_node[i]].nr_cpus++;
		}
	}
	snprintf(bt->source, sizeof(bt->source), "simulator model %.100s", e->m->name);
}

static uint64_t u(double x) { return x > 0 ? (uint64_t)llround(x) : 0; }

static void paging(const struct sim_engine *e, uint64_t t, struct tel_paging_sample *p)
{
	p->valid = true;
	p->ram_bytes = p->rss_bytes = e->mem_bytes;
	p->bytes_2m = u(e->b2m * (double)e->mem_bytes) & ~((2ull << 20) - 1);
	p->bytes_4k = e->mem_bytes - p->bytes_2m;
	p->target = e->b2m_tgt >= 1 ? PGMODE_PAGE_2M : PGMODE_PAGE_4K;
	p->busy = e->b2m != e->b2m_tgt;
	p->ranges_total = e->mem_bytes >> 21;
	p->ranges_done = p->bytes_2m >> 21;
	p->collapse_ok = e->collapse_ok;
	p->mem_available_pct = 80;
	p->backing_t_ns = t;
	p->quota_mib_per_s = e->quota_mib_s;
}

static void bankmap(const struct sim_engine *e, struct tel_bankmap_sample *b)
{
	int i;

	b->valid = true;
	b->ram_bytes = e->mem_bytes;
	b->nr_nodes = e->nr_nodes;
	for (i = 0; i < e->nr_nodes; i++) {
		b->node[i] = i;
		b->node_bytes[i] = u(e->frac[i] * (double)e->mem_bytes);
	}
	b->nr_pages = b->present_pages = e->mem_bytes / 4096;
	b->complete = true;
	b->nr_vcpus = e->nr_vcpus;
	for (i = 0; i < e->nr_vcpus; i++) {
		struct tel_bankmap_vcpu *v = &b->vcpu[i];

		v->node = (int16_t)(e->vpu[i] >= 0 ? e->pu_node[e->vpu[i]] : -1);
		v->valid = v->node >= 0;
		v->why = v->valid ? TEL_BM_OK : TEL_BM_NO_CPU;
		v->remote_pct = v->valid ? 100 * (1 - e->vfrac[i][v->node]) : 0;
	}
	b->mig_valid = true;
	b->mig_busy = e->migrating;
	b->mig_requests = e->mig_requests;
	b->mig_pages_total = u(e->mig_pages_total);
	b->mig_pages_done = u(e->mig_pages_done);
	b->mig_bytes_moved = e->mig_bytes;
}

void sim_sample_fill(struct sim_engine *e, uint64_t seq, const struct tel_sample *prev, struct tel_sample *s)
{
	const struct adapt_sim_model *m = e->m;
	uint64_t t = SIM_BASE_NS + e->now_ns;
	int i;

	memset(s, 0, offsetof(struct tel_sample, vcpu));
	s->seq = seq;
	s->t_ns = t;
	s->dt_ns = prev ? t - prev->t_ns : 0;
	s->nr_vcpus = e->nr_vcpus;
	s->src[TEL_SRC_KVM_STATS].up = s->src[TEL_SRC_THREAD].up = s->src[TEL_SRC_ENERGY].up = true;
	s->src[TEL_SRC_PERF].up = m->pmu;
	if (!m->pmu)
		snprintf(s->src[TEL_SRC_PERF].why, sizeof(s->src[TEL_SRC_PERF].why), "the model has no PMU");
	snprintf(s->src[TEL_SRC_PAPI].why, sizeof(s->src[TEL_SRC_PAPI].why), "simulated");
	for (i = 0; i < e->nr_vcpus; i++) {
		struct tel_vcpu_sample *v = &s->vcpu[i];

		memset(v, 0, sizeof(*v));
		v->tid = 100000 + i;
		v->pcpu = e->vpu[i] >= 0 ? e->pu_os[e->vpu[i]] : -1;
		v->cpu_time_ns = u(e->cpu_s[i] * 1e9);
		v->run_delay_ns = u(e->delay_s[i] * 1e9);
		v->exits = u(e->exits[i]);
		v->pf_taken = v->pf_fixed = u(e->pf[i]);
		v->hw_valid = m->pmu;
		if (m->pmu) {
			v->cycles = u(e->cycles[i]);
			v->instructions = u(e->instr[i]);
			v->llc_misses = u(e->llc[i]);
			v->dtlb_misses = u(e->dtlb[i]);
			v->walk_cycles = u(e->walk[i]);
		}
		v->multiplex_ratio = 1;
	}
	s->vm.mmu_pte_write = 0;
	s->energy.up = true;
	s->energy.estimated = !m->rapl;
	s->energy.energy_uj = u(e->energy_j * 1e6);
	s->energy.power_w = e->power_w;
	s->energy.power_cap_w = e->cap_w;
	paging(e, t, &s->paging);
	if (e->bankmap_sampled)
		bankmap(e, &s->bankmap);
	s->energy.host_busy_ns = u(e->host_busy_s * 1e9);
	if (prev) {
		tel_derive(prev, s);
		/* the VM's and each vCPU's share, as telemetry attributes it */
		if (s->energy.host_busy_ns >= prev->energy.host_busy_ns)
			tel_energy_split(prev, s, s->energy.host_busy_ns - prev->energy.host_busy_ns);
	}
}
