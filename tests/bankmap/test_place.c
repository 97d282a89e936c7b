/* bankmap placement: local, interleave, pack, explicit on fake 2- and 4-node
 * machines; a node that does not exist is refused by name. */
#include <criterion/criterion.h>
#include <errno.h>
#include <numaif.h>
#include <string.h>

#include "bankmap/bankmap.h"
#include "tests/bankmap/tree.h"

static const uint64_t total4[] = { 4096, 4096, 4096, 4096 }, free4[] = { 1000, 3000, 2500, 500 };
static struct bankmap_topo t;
static char *root;

static void four(void)
{
	root = tree_make(4, total4, free4);
	tree_topo(root, "package:4 numa:1 core:2 pu:1", &t);  /* CPUs 2k, 2k+1 on node k */
}

static void done(void)
{
	tree_cleanup(root);
}

TestSuite(bankmap_place, .init = four, .fini = done);

Test(bankmap_place, local_follows_the_vcpus)
{
	int pcpus[] = { 2, 3, 6 };
	struct bankmap_place_req r = { .policy = BANKMAP_LOCAL, .strict = true,
				       .vcpu_pcpus = pcpus, .nr_vcpus = 3 };
	struct bankmap_plan p;

	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0, "%s", p.why);
	cr_expect_eq(p.nodemask, (1u << 1) | (1u << 3));
	cr_expect_eq(p.mode, MPOL_BIND);
	cr_expect(strstr(p.why, "local: bind on nodes 1,3"), "%s", p.why);
	r.nr_vcpus = 2;
	r.strict = false;
	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_expect_eq(p.nodemask, 1u << 1);
	cr_expect_eq(p.mode, MPOL_PREFERRED);
	r.nr_vcpus = 3;
	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_expect_eq(p.mode, MPOL_PREFERRED_MANY);
}

Test(bankmap_place, local_without_vcpus_or_with_unknown_cpu)
{
	int pcpus[] = { 42 };
	struct bankmap_place_req r = { .policy = BANKMAP_LOCAL };
	struct bankmap_plan p;

	cr_expect_eq(bankmap_plan_place(&t, &r, &p), -EINVAL);
	cr_expect(strstr(p.why, "plan the vCPUs first"), "%s", p.why);
	r.vcpu_pcpus = pcpus;
	r.nr_vcpus = 1;
	cr_expect_eq(bankmap_plan_place(&t, &r, &p), -EINVAL);
	cr_expect(strstr(p.why, "CPU 42"), "%s", p.why);
}

Test(bankmap_place, interleave_all_or_given)
{
	int nodes[] = { 0, 2 };
	struct bankmap_place_req r = { .policy = BANKMAP_INTERLEAVE };
	struct bankmap_plan p;

	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_expect_eq(p.nodemask, 0xf);
	cr_expect_eq(p.mode, MPOL_INTERLEAVE);
	r.nodes = nodes;
	r.nr_nodes = 2;
	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_expect_eq(p.nodemask, 0x5);
}

Test(bankmap_place, pack_takes_fewest_nodes_by_free_memory)
{
	struct bankmap_place_req r = { .policy = BANKMAP_PACK, .strict = true,
				       .guest_bytes = 2048ull << 20 };
	struct bankmap_plan p;

	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_expect_eq(p.nodemask, 1u << 1, "node 1 has the most free (3000 MiB): %#llx",
		     (unsigned long long)p.nodemask);
	r.guest_bytes = 5000ull << 20;   /* 3000 + 2500 */
	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_expect_eq(p.nodemask, (1u << 1) | (1u << 2));
	cr_expect_eq(bankmap_pack_nodes(&t, 5000ull << 20), 2);
	r.guest_bytes = 9000ull << 20;   /* more than all free memory */
	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_expect_eq(p.nodemask, 0xf);
	cr_expect(strstr(p.why, "exceeds the free memory"), "%s", p.why);
}

Test(bankmap_place, pack_breaks_ties_toward_the_vcpus)
{
	struct bankmap_topo t2 = t;
	int pcpus[] = { 4 };   /* node 2 */
	struct bankmap_place_req r = { .policy = BANKMAP_PACK, .guest_bytes = 100ull << 20,
				       .vcpu_pcpus = pcpus, .nr_vcpus = 1 };
	struct bankmap_plan p;

	t2.node[2].free_bytes = t2.node[1].free_bytes;
	cr_assert_eq(bankmap_plan_place(&t2, &r, &p), 0);
	cr_expect_eq(p.nodemask, 1u << 2);
}

Test(bankmap_place, explicit_and_unknown_node)
{
	int nodes[] = { 3 }, bad[] = { 0, 7 };
	struct bankmap_place_req r = { .policy = BANKMAP_EXPLICIT, .strict = true,
				       .nodes = nodes, .nr_nodes = 1 };
	struct bankmap_plan p;

	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_expect_eq(p.nodemask, 1u << 3);
	r.nodes = bad;
	r.nr_nodes = 2;
	cr_expect_eq(bankmap_plan_place(&t, &r, &p), -EINVAL);
	cr_expect(strstr(p.why, "node 7 does not exist") && strstr(p.why, "existing nodes: 0-3"),
		  "%s", p.why);
	r.nr_nodes = 0;
	cr_expect_eq(bankmap_plan_place(&t, &r, &p), -EINVAL);
}

Test(bankmap_place, numa_balancing_only_with_strict)
{
	struct bankmap_place_req r = { .policy = BANKMAP_INTERLEAVE, .numa_balancing = true };
	struct bankmap_plan p;

	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_expect_eq(p.mode_flags, 0);
	cr_expect(strstr(p.why, "numa_balancing ignored"), "%s", p.why);
	r.policy = BANKMAP_PACK;
	r.strict = true;
	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_expect_eq(p.mode_flags, MPOL_F_NUMA_BALANCING);
}

Test(bankmap_place, two_nodes_and_names)
{
	static const uint64_t tot[] = { 1024, 1024 }, fr[] = { 512, 900 };
	char *r2 = tree_make(2, tot, fr);
	struct bankmap_topo t2;
	int pcpus[] = { 0, 1 };
	struct bankmap_place_req r = { .policy = BANKMAP_LOCAL, .strict = true,
				       .vcpu_pcpus = pcpus, .nr_vcpus = 2 };
	struct bankmap_plan p;
	enum bankmap_policy pol;

	tree_topo(r2, "package:2 numa:1 core:4 pu:1", &t2);
	cr_assert_eq(bankmap_plan_place(&t2, &r, &p), 0);
	cr_expect_eq(p.nodemask, 1);
	r.policy = BANKMAP_PACK;
	r.guest_bytes = 600ull << 20;
	cr_assert_eq(bankmap_plan_place(&t2, &r, &p), 0);
	cr_expect_eq(p.nodemask, 2);
	cr_expect_eq(bankmap_policy_parse("interleave", &pol), 0);
	cr_expect_eq(pol, BANKMAP_INTERLEAVE);
	cr_expect_eq(bankmap_policy_parse("numad", &pol), -EINVAL);
	cr_expect_str_eq(bankmap_policy_name(BANKMAP_PACK), "pack");
	tree_cleanup(r2);
}

Test(bankmap_place, bind_through_the_fake)
{
	static char mem[16 * 4096] __attribute__((aligned(4096)));
	static struct bankmap_fake f;
	struct bankmap_ops ops;
	int nodes[] = { 2 };
	struct bankmap_place_req r = { .policy = BANKMAP_EXPLICIT, .strict = true,
				       .nodes = nodes, .nr_nodes = 1 };
	struct bankmap_plan p;
	char why[256];

	cr_assert_eq(bankmap_fake_init(&f, mem, 16, 0xf, -ENOENT, &ops), 0);
	cr_assert_eq(bankmap_plan_place(&t, &r, &p), 0);
	cr_assert_eq(bankmap_bind(mem, sizeof(mem), &p, &ops, &t, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(f.mbind_mode, MPOL_BIND);
	cr_expect_eq(f.mbind_mask, 1u << 2);
	cr_expect_eq(f.calls[0].count, 16);
	p.nodemask = 1u << 9;    /* a node of no topology */
	cr_expect_eq(bankmap_bind(mem, sizeof(mem), &p, &ops, &t, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "node 9 does not exist") && strstr(why, "existing nodes: 0-3"), "%s", why);
	cr_expect_eq(f.nr_calls, 1, "refused before the call");
	f.node_mask = 0x3;       /* the kernel refuses node 2 (went offline) */
	p.nodemask = 1u << 2;
	cr_expect_eq(bankmap_bind(mem, sizeof(mem), &p, &ops, &t, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "EINVAL"), "%s", why);
	bankmap_fake_free(&f);
}
