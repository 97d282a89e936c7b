/* bankmap in the loop: adapt_step replays on a fake 2-node machine
 * (hwloc synthetic "package:2 numa:1 core:2 pu:1": CPUs 0-1 on node 0, 2-3
 * on node 1, SLIT distances 10/21), and the migration cost coremap's moves
 * pay when they leave the node that holds guest RAM. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "adapt/adapt_int.h"
#include "bankmap/bankmap.h"
#include "replay.h"

#define RAM_PAGES 65536ull   /* 256 MiB */

static struct coremap_topo *ct;
static struct bankmap_topo bt;

static void two_nodes(void)
{
	cr_assert_eq(coremap_topo_load("package:2 numa:1 core:2 pu:1", &ct), 0);
	memset(&bt, 0, sizeof(bt));
	bt.nr_nodes = 2;
	for (int i = 0; i < 2; i++) {
		bt.node[i] = (struct bankmap_node){ .id = i, .total_bytes = 8ull << 30,
						    .free_bytes = 4ull << 30, .nr_cpus = 2 };
		for (int j = 0; j < 2; j++)
			bt.distance[i][j] = i == j ? 10 : 21;
	}
	bt.nr_cpus = 4;
	for (int c = 0; c < 4; c++)
		bt.cpu_node[c] = coremap_topo_pu_numa(ct, coremap_topo_pu_by_os(ct, c));
	cr_assert_eq(bt.cpu_node[0], 0);
	cr_assert_eq(bt.cpu_node[3], 1, "the synthetic topology puts CPU 3 on node 1");
}

static void done(void)
{
	coremap_topo_free(ct);
}

TestSuite(bankmap_loop, .init = two_nodes, .fini = done);

/* One vCPU on CPU pcpu, all resident guest RAM on node mem_node; remote_pct
 * < 0: the vCPU's share is not known (valid false). */
static void sample(struct tel_sample *s, int t, int pcpu, int mem_node, double remote_pct)
{
	struct tel_bankmap_sample *b = &s->bankmap;

	memset(s, 0, sizeof(*s));
	s->seq = (uint64_t)t;
	s->t_ns = (uint64_t)t * 1000000000ull;
	s->dt_ns = t > 1 ? 1000000000ull : 0;
	s->nr_vcpus = 1;
	s->vcpu[0].pcpu = pcpu;
	s->vcpu[0].cpu_pct = 90 + (t % 3) * 0.1;
	s->energy.up = true;
	s->energy.power_w = 100;
	b->valid = true;
	b->ram_bytes = RAM_PAGES * BANKMAP_PAGE_SIZE;
	b->nr_nodes = 1;
	b->node[0] = mem_node;
	b->node_bytes[0] = RAM_PAGES * BANKMAP_PAGE_SIZE;
	b->present_pages = b->nr_pages = RAM_PAGES;
	b->complete = true;
	b->nr_vcpus = 1;
	b->vcpu[0].node = (int16_t)bt.cpu_node[pcpu];
	b->vcpu[0].valid = remote_pct >= 0;
	b->vcpu[0].remote_pct = remote_pct >= 0 ? remote_pct : 0;
}

struct run { int nr; struct adapt_decision d[8]; int first_tick; };

static void replay(const char *extra, struct adapt_state *st, int ticks, int pcpu, int mem_node,
		   double remote_pct, struct run *r)
{
	static struct tel_sample s;
	struct pol_profile g;
	struct adapt_env env;
	struct adapt_out out;

	cr_assert_eq(replay_profile("performance", extra, &g), 0);
	g.enabled[POL_AD_COREMAP] = false;   /* its state is set by the test */
	g.enabled[POL_AD_PAGING] = false;
	adapt_env_init(&env);
	env.topo = ct;
	env.bm_topo = &bt;
	memset(r, 0, sizeof(*r));
	for (int t = 1; t <= ticks; t++) {
		sample(&s, t, pcpu, mem_node, remote_pct);
		cr_assert_eq(adapt_step(&g, &env, st, &s, &out), 0);
		for (int i = 0; i < out.nr && r->nr < 8; i++) {
			if (!r->nr)
				r->first_tick = t;
			r->d[r->nr++] = out.d[i];
		}
	}
}

Test(bankmap_loop, remote_share_that_stays_high_migrates_once_after_confirm)
{
	struct adapt_state st;
	struct run r;

	adapt_state_init(&st);
	/* vCPU on CPU 2 (node 1), all memory on node 0: 100% remote */
	replay(NULL, &st, 20, 2, 0, 100, &r);
	cr_assert_eq(r.nr, 1, "one decision, not %d (the same change is not repeated)", r.nr);
	cr_assert_eq(r.d[0].change.kind, ADAPT_BANKMAP);
	cr_assert_eq(r.d[0].change.u.bankmap.node, 1, "to the vCPU's node");
	cr_assert_eq(r.d[0].change.u.bankmap.policy, POL_BM_ADAPTIVE);
	cr_assert_geq(r.first_tick, 3, "not before confirm_ticks (3) ticks: tick %d", r.first_tick);
	cr_assert(strstr(r.d[0].what, "node 1 (65536 pages"), "%s", r.d[0].what);
	/* 65536 pages x 85 ns = 5.57 ms of worker time */
	cr_assert(strstr(r.d[0].why, "predicted migration 5.57 ms"), "%s", r.d[0].why);
	/* perf = 100% x (1 - 10/21) = +52.4% */
	cr_assert(strstr(r.d[0].why, "perf +52.4%"), "%s", r.d[0].why);
}

Test(bankmap_loop, a_short_spike_is_not_confirmed)
{
	static struct tel_sample s;
	struct pol_profile g;
	struct adapt_env env;
	struct adapt_state st;
	struct adapt_out out;
	int n = 0;

	cr_assert_eq(replay_profile("performance", NULL, &g), 0);
	g.enabled[POL_AD_COREMAP] = g.enabled[POL_AD_PAGING] = false;
	adapt_env_init(&env);
	env.bm_topo = &bt;
	adapt_state_init(&st);
	/* remote 100% every other tick: never confirm_ticks in a row */
	for (int t = 1; t <= 20; t++) {
		sample(&s, t, 2, 0, t % 2 ? 100 : 5);
		if (t % 2 == 0)
			s.bankmap.node[0] = 1;   /* memory local on those ticks */
		cr_assert_eq(adapt_step(&g, &env, &st, &s, &out), 0);
		n += out.nr;
	}
	cr_assert_eq(n, 0);
}

Test(bankmap_loop, steady_local_does_nothing)
{
	struct adapt_state st;
	struct run r;

	adapt_state_init(&st);
	replay(NULL, &st, 20, 1, 0, 0, &r);
	cr_assert_eq(r.nr, 0);
	/* below migrate_min_remote_pct (20) on its own node: nothing either */
	adapt_state_init(&st);
	replay("[bankmap]\nmigrate_min_remote_pct = 50\n", &st, 20, 2, 1, 30, &r);
	cr_assert_eq(r.nr, 0);
}

Test(bankmap_loop, vcpus_the_coremap_moved_to_the_other_node_take_the_memory)
{
	struct adapt_state st;
	struct run r;

	adapt_state_init(&st);
	/* the coremap's placement (the loop's state): vCPU 0 on CPU 3, node 1;
	 * the sample does not know the vCPU's share yet */
	st.have_cur[ADAPT_COREMAP] = true;
	st.cur[ADAPT_COREMAP].kind = ADAPT_COREMAP;
	st.cur[ADAPT_COREMAP].u.coremap.nr = 1;
	st.cur[ADAPT_COREMAP].u.coremap.pcpu[0] = 3;
	replay(NULL, &st, 20, 0, 0, -1, &r);
	cr_assert_eq(r.nr, 1);
	cr_assert_eq(r.d[0].change.u.bankmap.node, 1);
	cr_assert(strstr(r.d[0].why, "the coremap put 1 vCPU(s) on node 1"), "%s", r.d[0].why);
}

Test(bankmap_loop, fixed_policies_do_not_migrate)
{
	struct adapt_state st;
	struct run r;

	adapt_state_init(&st);
	replay("[bankmap]\npolicy = explicit\nnodes = 0\n", &st, 20, 2, 0, 100, &r);
	cr_assert_eq(r.nr, 0, "explicit is the operator's placement");
	adapt_state_init(&st);
	replay("[bankmap]\npolicy = pack\n", &st, 20, 2, 0, 100, &r);
	cr_assert_eq(r.nr, 0, "pack too");
}

/* adapt_cm_propose for vCPU 0 from CPU `from` to `to`; its cost_ns. */
static uint64_t cm_cost(bool with_bankmap, int from, int to)
{
	static struct tel_sample s;
	struct pol_profile g;
	struct adapt_env env;
	struct adapt_state st;
	struct adapt_cm_inputs in;
	struct adapt_proposal p;

	cr_assert_eq(replay_profile("performance", NULL, &g), 0);
	adapt_env_init(&env);
	env.topo = ct;
	env.bm_topo = with_bankmap ? &bt : NULL;
	adapt_state_init(&st);
	st.have_cur[ADAPT_COREMAP] = true;
	st.cur[ADAPT_COREMAP].u.coremap.nr = 1;
	st.cur[ADAPT_COREMAP].u.coremap.pcpu[0] = from;
	sample(&s, 1, from, 0, 0);
	adapt_cm_inputs(&g, &env, &st, &s, &in);
	memset(&p, 0, sizeof(p));
	p.change.u.coremap.pcpu[0] = to;
	cr_assert_eq(adapt_cm_propose(&g, &env, &st, &in, "test", &p), 0);
	cr_assert(p.valid);
	return p.cost_ns;
}

Test(bankmap_loop, a_coremap_move_that_breaks_locality_pays_the_migration)
{
	uint64_t plain = cm_cost(false, 0, 2), joint = cm_cost(true, 0, 2);

	/* the vCPU's share of guest RAM: all 65536 pages x 85 ns */
	cr_assert_eq(joint - plain, RAM_PAGES * 85, "added %llu ns",
		     (unsigned long long)(joint - plain));
	cr_assert_eq(cm_cost(true, 0, 1), cm_cost(false, 0, 1), "a move within node 0 pays nothing");
}
