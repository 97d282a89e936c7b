/* adapt: one simulated VM under the real control loop: the adapt driver
 * (ticked on the calling thread at the period it asks for), simulated
 * actuators that change the model after a modelled time, the timeline. */
#include "adapt/adapt_drv.h"
#include "adapt/place.h"
#include "adapt/sim_int.h"
#include "paging-mode/pgmode.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct adapt_sim {
	struct adapt_sim_cfg cfg;
	struct adapt_sim_model model;
	struct adapt_sim_workload work;
	struct pol_profile profile;
	struct sim_engine e;
	struct bankmap_topo bt;
	struct adapt_driver *d;
	double busy_pct[SIM_MAX_PUS];
	uint64_t seq, next_tick_ns;
	bool have_prev, initial_bankmap;
	struct tel_sample prev, cur;
};

uint64_t adapt_sim_base_ns(void) { return SIM_BASE_NS; }
uint64_t adapt_sim_now_ns(const struct adapt_sim *s) { return s->e.now_ns; }
struct adapt_driver *adapt_sim_driver(struct adapt_sim *s) { return s->d; }

void adapt_sim_totals(const struct adapt_sim *s, double *instr, double *energy_j)
{
	*instr = s->e.instr_total;
	*energy_j = s->e.energy_j;
}

static int sample(void *arg, struct tel_sample *out)
{
	struct adapt_sim *s = arg;
	int i;

	sim_sample_fill(&s->e, s->seq++, s->have_prev ? &s->prev : NULL, &s->cur);
	s->prev = s->cur;
	s->have_prev = true;
	for (i = 0; i < s->e.nr_pus; i++)
		if (s->e.pu_os[i] >= 0 && s->e.pu_os[i] < SIM_MAX_PUS)
			s->busy_pct[s->e.pu_os[i]] = 100 * s->e.pu_busy[i];
	*out = s->cur;
	if (s->cfg.on_sample)
		s->cfg.on_sample(s->cfg.arg, &s->cur);
	return 0;
}

/* ---- actuators ---------------------------------------------------------- */

static int act_coremap(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct adapt_sim *s = ctx;
	struct sim_engine *e = &s->e;
	int i;

	for (i = 0; i < e->nr_vcpus && i < c->u.coremap.nr; i++) {
		int os = c->u.coremap.pcpu[i], pu = os >= 0 ? coremap_topo_pu_by_os(e->topo, os) : -1;

		if (os >= 0 && (pu < 0 || pu >= e->nr_pus)) {
			snprintf(msg, len, "vcpu%d: CPU %d is not in the model's topology", i, os);
			return -EINVAL;
		}
		e->vpin_next[i] = pu;
	}
	e->pin_pending = true;
	e->pin_at_ns = e->now_ns + (uint64_t)(s->model.pin_us * 1e3);
	snprintf(msg, len, "simulated pinning, in effect after %.0f us", s->model.pin_us);
	return 0;
}

static int act_bankmap(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct adapt_sim *s = ctx;
	struct sim_engine *e = &s->e;
	double d = 0;
	int i, n = c->u.bankmap.node;

	if (s->initial_bankmap) {
		snprintf(msg, len, "simulated: guest RAM placed at start, nothing to move");
		return 0;
	}
	memset(e->vtgt, 0, sizeof(e->vtgt));
	for (i = 0; i < e->nr_vcpus; i++) {   /* node -1: each toward its vCPU's node */
		int pu = e->vpin_next[i] >= 0 ? e->vpin_next[i] : e->vpu[i];

		e->vtgt[i][n >= 0 && n < e->nr_nodes ? n : pu >= 0 ? e->pu_node[pu] : 0] = 1;
	}
	d = sim_mig_left(e);
	e->migrating = d > 0;
	e->mig_quota_mib_s = s->profile.bankmap.migrate_quota_mib_per_s;
	e->mig_pages_total += d * (double)e->mem_bytes / 4096;
	e->mig_requests++;
	snprintf(msg, len, "simulated migration of %.0f MiB", d * (double)e->mem_bytes / (1 << 20));
	return 0;
}

static int act_paging(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct adapt_sim *s = ctx;
	struct sim_engine *e = &s->e;
	int b = c->u.paging.backing;

	if (c->u.paging.mode >= 0 && c->u.paging.mode != e->mode) {
		if (!s->model.live_mode_switch) {
			snprintf(msg, len, "the model's host paging mode is fixed while the VM runs");
			return -EOPNOTSUPP;
		}
		e->mode = c->u.paging.mode;
		s->d->cfg.env.paging_mode = e->mode;
	}
	if (b == PGMODE_PAGE_2M || b == PGMODE_PAGE_1G)
		e->b2m_tgt = 1;
	else if (b == PGMODE_PAGE_4K)
		e->b2m_tgt = 0;
	e->quota_mib_s = s->profile.paging.promote_quota_mib_per_s;
	snprintf(msg, len, "simulated: mode %s, backing %s", e->mode == ADAPT_PG_NESTED ? "nested" : "shadow",
		 pgmode_page_name((enum pgmode_page)b));
	return 0;
}

static int act_energy(void *ctx, const struct adapt_change *c, char *msg, size_t len)
{
	struct adapt_sim *s = ctx;

	s->e.cap_w = c->u.energy.cap_w;
	snprintf(msg, len, "simulated power cap %.1f W", c->u.energy.cap_w);
	return 0;
}

/* Where guest RAM starts: the profile's bankmap policy (first touch for
 * local and adaptive: each vCPU's private share on the node of its first
 * CPU: its pin, or where the balancer put it in the first microsecond). */
static void initial_memory(struct adapt_sim *s)
{
	struct sim_engine *e = &s->e;
	const struct pol_profile *g = &s->profile;
	int i, n = e->nr_nodes;

	memset(e->vfrac, 0, sizeof(e->vfrac));
	for (i = 0; i < e->nr_vcpus; i++) {
		int pu = e->vpin_next[i] >= 0 ? e->vpin_next[i] : e->vpu[i] >= 0 ? e->vpu[i] : i % e->nr_pus;

		if (g->enabled[POL_AD_BANKMAP] && g->bankmap.policy == POL_BM_INTERLEAVE)
			for (int k = 0; k < n; k++)
				e->vfrac[i][k] = 1.0 / n;
		else if (g->enabled[POL_AD_BANKMAP] && (g->bankmap.policy == POL_BM_PACK ||
							g->bankmap.policy == POL_BM_EXPLICIT))
			e->vfrac[i][g->bankmap.nr_nodes && g->bankmap.nodes[0] < n ? g->bankmap.nodes[0] : 0] = 1;
		else   /* first touch: on the node of the vCPU's first CPU */
			e->vfrac[i][e->pu_node[pu]] = 1;
	}
	sim_frac_update(e);
	e->b2m = e->b2m_tgt = (s->work.backing ? s->work.backing : g->paging.backing) == PGMODE_PAGE_2M;
}

/* As a real session does (session_bankmap_loop.c) when the profile has
 * bankmap on: guest RAM's initial placement as a decision (logged, traced,
 * held in the loop's state; not measured, not reverted). */
static void initial_bankmap_decision(struct adapt_sim *s)
{
	static const char *const policy[] = { "adaptive", "local", "interleave", "pack", "explicit" };
	struct adapt_driver *d = s->d;
	struct sim_engine *e = &s->e;
	const struct pol_profile *g = &s->profile;
	struct adapt_decision dec;
	char nodes[64] = "";
	int k, on = 0, last = -1;

	if (!g->enabled[POL_AD_BANKMAP])
		return;
	for (k = 0; k < e->nr_nodes && k < 16; k++) {
		size_t n = strlen(nodes);

		if (e->frac[k] <= 0)
			continue;
		snprintf(nodes + n, sizeof(nodes) - n, "%s%d", on++ ? "," : "", k);
		last = k;
	}
	memset(&dec, 0, sizeof(dec));
	dec.change.kind = ADAPT_BANKMAP;
	dec.change.u.bankmap.policy = (int)g->bankmap.policy;
	dec.change.u.bankmap.node = on == 1 ? last : -1;
	snprintf(dec.what, sizeof(dec.what), "initial placement: guest RAM %llu MiB -> node%s %s (%s, simulated)",
		 (unsigned long long)(e->mem_bytes >> 20), on > 1 ? "s" : "", nodes,
		 (unsigned)g->bankmap.policy < 5 ? policy[g->bankmap.policy] : "?");
	snprintf(dec.why, sizeof(dec.why), "placement set by the profile %.32s, before the guest ran", g->name);
	pthread_mutex_lock(&d->lock);
	dec.id = d->state.next_id++;
	dec.t_ns = SIM_BASE_NS + e->now_ns;
	d->state.cur[ADAPT_BANKMAP] = dec.change;
	d->state.have_cur[ADAPT_BANKMAP] = true;
	d->stats.decisions++;
	pthread_mutex_unlock(&d->lock);
	s->initial_bankmap = true;
	adapt_drv_carry_out(d, &dec);
	s->initial_bankmap = false;
}

int adapt_sim_create(const struct adapt_sim_cfg *cfg, struct adapt_sim **out, char *err, size_t err_len)
{
	struct adapt_sim *s = calloc(1, sizeof(*s));
	struct adapt_driver_cfg dc = { 0 };
	struct adapt_actuator acts[] = {
		{ "sim-coremap", ADAPT_COREMAP, false, act_coremap, s },
		{ "sim-bankmap", ADAPT_BANKMAP, false, act_bankmap, s },
		{ "sim-paging", ADAPT_PAGING, false, act_paging, s },
		{ "sim-energy", ADAPT_ENERGY, false, act_energy, s },
	};
	char note[256];
	int rc, i;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->model = *cfg->model;
	s->work = *cfg->work;
	s->profile = *cfg->profile;
	rc = sim_engine_init(&s->e, &s->model, &s->work, cfg->nr_vcpus, cfg->mem_bytes, cfg->seed, err, err_len);
	if (rc) {
		free(s);
		return rc;
	}
	/* a real session samples guest RAM by node only when its first
	 * profile has bankmap on (adapt_session_bankmap_init) */
	s->e.bankmap_sampled = s->profile.enabled[POL_AD_BANKMAP];
	s->e.mode = s->work.paging_mode != ADAPT_PG_UNKNOWN ? s->work.paging_mode : s->model.paging_mode;
	sim_bankmap_topo(&s->e, &s->bt);
	dc.profile = &s->profile;
	dc.sample = sample;
	dc.sample_arg = s;
	dc.dry_run = cfg->dry_run;
	if (cfg->on_decision) {
		dc.publish = cfg->on_decision;
		dc.publish_arg = cfg->arg;
	}
	adapt_env_init(&dc.env);
	dc.env.topo = s->e.topo;
	dc.env.pu_busy_pct = s->busy_pct;
	dc.env.nr_pu_busy = SIM_MAX_PUS;
	dc.env.paging_mode = s->e.mode;
	dc.env.paging_live_switch = s->model.live_mode_switch;
	dc.env.paging_collapse = true;
	dc.env.paging_nested_available = s->model.nested_available;
	dc.env.paging_exit_cost_ns = s->model.shadow_exit_ns;
	dc.env.bm_topo = &s->bt;
	rc = adapt_driver_create(&dc, &s->d);
	for (i = 0; !rc && i < (int)(sizeof(acts) / sizeof(acts[0])); i++)
		rc = adapt_driver_register(s->d, &acts[i]);
	if (rc) {
		snprintf(err, err_len, "the control loop could not be set up: %s", strerror(-rc));
		adapt_sim_destroy(s);
		return rc;
	}
	/* the first sample: the baseline every rate starts from */
	sample(s, &s->cur);
	if (adapt_place_is_fixed(&s->profile) &&
	    adapt_driver_place(s->d, cfg->nr_vcpus, SIM_BASE_NS, "initial placement") < 0) {
		snprintf(err, err_len, "the profile's placement does not fit the model %s", s->model.name);
		(void)note;
		adapt_sim_destroy(s);
		return -EINVAL;
	}
	sim_engine_advance(&s->e, 1000);   /* floating vCPUs find their first CPU */
	initial_memory(s);
	initial_bankmap_decision(s);
	s->next_tick_ns = s->profile.period_ns ? s->profile.period_ns : 1000000000ull;
	*out = s;
	return 0;
}

void adapt_sim_destroy(struct adapt_sim *s)
{
	if (!s)
		return;
	adapt_driver_destroy(s->d);
	sim_engine_free(&s->e);
	free(s);
}

int adapt_sim_run_until(struct adapt_sim *s, uint64_t t_ns)
{
	while (s->e.now_ns < t_ns) {
		uint64_t to = s->next_tick_ns < t_ns ? s->next_tick_ns : t_ns;
		struct adapt_driver_stats st;

		sim_engine_advance(&s->e, to - s->e.now_ns);
		if (s->e.now_ns < s->next_tick_ns)
			continue;
		adapt_driver_tick(s->d);
		adapt_driver_stats(s->d, &st);
		s->next_tick_ns += st.period_ns ? st.period_ns : s->profile.period_ns ? s->profile.period_ns : 1000000000ull;
	}
	return 0;
}

int adapt_sim_load_start(struct adapt_sim *s, int kind, int threads, const int *cpus, int nr_cpus)
{
	struct adapt_sim_noise *x = &s->e.xload;
	int i;

	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->threads = threads < 1 ? 1 : threads > 8 ? 8 : threads;
	for (i = 0; cpus && i < nr_cpus && i < 8; i++)
		x->cpus[x->nr_cpus++] = cpus[i];
	s->e.xload_on = true;
	return 0;
}

void adapt_sim_load_stop(struct adapt_sim *s)
{
	s->e.xload_on = false;
}

int adapt_sim_set_profile(struct adapt_sim *s, const struct pol_profile *p)
{
	s->profile = *p;
	return adapt_driver_set_profile(s->d, p);
}
