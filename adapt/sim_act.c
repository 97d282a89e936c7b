/* adapt: the simulator's actuators (pinning, page migration, page-size
 * change, power cap: each changes the model, after a modelled time where it
 * takes one) and where guest RAM starts. */
#include "adapt/adapt_drv.h"
#include "adapt/sim_int.h"
#include "paging-mode/pgmode.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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

int sim_register_actuators(struct adapt_sim *s)
{
	struct adapt_actuator acts[] = {
		{ "sim-coremap", ADAPT_COREMAP, false, act_coremap, s },
		{ "sim-bankmap", ADAPT_BANKMAP, false, act_bankmap, s },
		{ "sim-paging", ADAPT_PAGING, false, act_paging, s },
		{ "sim-energy", ADAPT_ENERGY, false, act_energy, s },
	};
	int i, rc = 0;

	for (i = 0; !rc && i < (int)(sizeof(acts) / sizeof(acts[0])); i++)
		rc = adapt_driver_register(s->d, &acts[i]);
	return rc;
}

void sim_initial_memory(struct adapt_sim *s)
{
	initial_memory(s);
	initial_bankmap_decision(s);
}
