/* The session's bankmap: guest RAM bound per the profile before the guest
 * runs (and shown as the loop's initial bankmap decision), the bounded
 * per-tick sample of where it lives (telemetry's bankmap hook), and the
 * migration actuator, which hands the pages to bankmap's worker thread. */
#include <errno.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/adapt_drv.h"
#include "adapt/place.h"
#include "adapt/session_bankmap.h"
#include "common/util.h"

static enum bankmap_policy policy_of(enum pol_bankmap_policy p)
{
	switch (p) {
	case POL_BM_INTERLEAVE: return BANKMAP_INTERLEAVE;
	case POL_BM_PACK: return BANKMAP_PACK;
	case POL_BM_EXPLICIT: return BANKMAP_EXPLICIT;
	default: return BANKMAP_LOCAL;   /* adaptive starts local */
	}
}

/* The CPUs the vCPUs will run on: the coremap's fixed placement, else every
 * CPU the process may use. Returns how many. */
static int vcpu_cpus(struct adapt_session *s, struct adapt_bankmap *bm, int *cpus, int max)
{
	int n = 0, nr = vmm_nr_vcpus(s->vm);

	if (adapt_place_is_fixed(&s->profile) && bm->ct && nr > 0 && nr <= ADAPT_MAX_VCPUS) {
		struct adapt_env env;
		struct adapt_state st;
		struct adapt_decision d;
		char note[256];

		adapt_env_init(&env);
		env.topo = bm->ct;
		adapt_state_init(&st);
		if (adapt_place_fixed(&s->profile, &env, &st, nr, 0, "", &d, note, sizeof(note)) > 0) {
			for (int i = 0; i < nr && n < max; i++)
				cpus[n++] = d.change.u.coremap.pcpu[i];
			return n;
		}
	}
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &s->start_cpus))
			cpus[n++] = c;
	return n;
}

/* Binds guest RAM per the profile; a refusal is logged and the RAM stays
 * unbound (the kernel's default policy), the VM runs on. */
static void place(struct adapt_session *s, struct adapt_bankmap *bm)
{
	const struct pol_profile *g = &s->profile;
	int cpus[BANKMAP_MAX_CPUS];
	struct bankmap_place_req r = {
		.policy = policy_of(g->bankmap.policy), .strict = g->bankmap.strict,
		.numa_balancing = g->bankmap.numa_balancing, .nodes = g->bankmap.nodes,
		.nr_nodes = g->bankmap.nr_nodes, .guest_bytes = bm->bytes,
	};
	struct bankmap_plan plan;
	char why[BANKMAP_WHY_LEN], nodes[64], how[64];
	int rc;

	r.vcpu_pcpus = cpus;
	r.nr_vcpus = vcpu_cpus(s, bm, cpus, BANKMAP_MAX_CPUS);
	rc = bankmap_plan_place(&bm->topo, &r, &plan);
	if (!rc) {
		plan.mbind_flags = MPOL_MF_MOVE;   /* what the loader wrote moves too */
		if (s->cfg.dry_run)
			rc = 0;
		else
			rc = bankmap_bind(bm->hva, bm->bytes, &plan, &bankmap_real_ops, &bm->topo,
					  why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "%s", plan.why);
	}
	if (rc) {
		util_err("bankmap: profile %s, policy %s: %s", g->name, bankmap_policy_name(r.policy), why);
		util_err("bankmap: guest RAM (%llu MiB) left unbound: the kernel's default policy "
			 "places it (on the node of the CPU that first touches it); the VM runs on",
			 (unsigned long long)(bm->bytes >> 20));
		return;
	}
	bankmap_nodemask_format(plan.nodemask, nodes, sizeof(nodes));
	snprintf(how, sizeof(how), "%s, %s%s", bankmap_policy_name(r.policy),
		 plan.mode == MPOL_BIND ? "strict" : bankmap_mode_name(plan.mode),
		 plan.mode_flags ? ", numa_balancing" : "");
	util_info("bankmap: guest RAM %llu MiB %s node%s %s (%s)%s",
		  (unsigned long long)(bm->bytes >> 20), s->cfg.dry_run ? "would be bound to" : "bound to",
		  strpbrk(nodes, ",-") ? "s" : "", nodes, how, s->cfg.dry_run ? " [dry run]" : "");
	bm->placed = true;
	bm->change.kind = ADAPT_BANKMAP;
	bm->change.u.bankmap.policy = (int)g->bankmap.policy;
	bm->change.u.bankmap.node = __builtin_popcountll(plan.nodemask) == 1 ?
				    __builtin_ctzll(plan.nodemask) : -1;
	snprintf(bm->what, sizeof(bm->what), "initial placement: guest RAM %llu MiB -> node%s %.24s (%.40s)",
		 (unsigned long long)(bm->bytes >> 20), strpbrk(nodes, ",-") ? "s" : "", nodes, how);
	snprintf(bm->why, sizeof(bm->why), "placement set by the profile %.32s, bound before the "
		 "guest ran: %.100s", g->name, plan.why);
}

int adapt_session_bankmap_init(struct adapt_session *s)
{
	struct bankmap_worker_cfg wc = { .ops = &bankmap_real_ops, .sandbox = true };
	struct adapt_bankmap *bm;
	char why[BANKMAP_WHY_LEN];
	int rc;

	if (s->cfg.agent || !s->vm || !s->profile.enabled[POL_AD_BANKMAP])
		return 0;
	bm = calloc(1, sizeof(*bm));
	if (!bm)
		return -ENOMEM;
	pthread_mutex_init(&bm->lock, NULL);
	s->bankmap = bm;
	if (adapt_session_guest_ram(s->vm, &bm->hva, &bm->bytes)) {
		util_warn("bankmap: no guest RAM region: placement and sampling off");
		return 0;
	}
	if (coremap_topo_load(NULL, &bm->ct))
		bm->ct = NULL;
	rc = bankmap_topo_load(bm->ct, s->cfg.fsroot, &bm->topo, why, sizeof(why));
	bm->have_topo = !rc;
	if (rc)
		util_warn("bankmap: no NUMA topology (%s): guest RAM is not bound and not migrated", why);
	else
		place(s, bm);
	adapt_session_bankmap_written(s, bm);
	rc = bankmap_sampler_init(bm->hva, bm->bytes, (unsigned)s->profile.bankmap.sample_pages_per_tick,
				  0, &bm->sampler);
	if (rc)
		util_warn("bankmap: the sampler did not start (%s): no guest RAM by node", strerror(-rc));
	wc.quota_mib_s = s->profile.bankmap.migrate_quota_mib_per_s;
	if (bm->have_topo && (rc = bankmap_worker_start(&wc, &bm->worker)))
		util_warn("bankmap: the migration worker did not start (%s): no migration", strerror(-rc));
	if (s->tel)
		tel_set_bankmap_fn(s->tel, adapt_session_bankmap_sample, s);
	return 0;
}

void adapt_session_bankmap_exit(struct adapt_session *s)
{
	struct adapt_bankmap *bm = s->bankmap;

	if (!bm)
		return;
	if (s->tel)
		tel_set_bankmap_fn(s->tel, NULL, NULL);   /* waits for a sample in flight */
	if (s->driver)
		adapt_driver_stop(s->driver);             /* no actuator call after this */
	bankmap_worker_destroy(bm->worker);
	bankmap_sampler_free(bm->sampler);
	adapt_bm_written_free(&bm->written);
	coremap_topo_free(bm->ct);
	pthread_mutex_destroy(&bm->lock);
	free(bm);
	s->bankmap = NULL;
}
