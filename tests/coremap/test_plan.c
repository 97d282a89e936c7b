/* coremap strategies pack, spread, explicit on synthetic and XML topologies. */
#include <criterion/criterion.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "coremap/coremap.h"

static struct coremap_topo *load(const char *src)
{
	struct coremap_topo *t;

	cr_assert_eq(coremap_topo_load(src, &t), 0, "load %s", src);
	return t;
}

static int plan(struct coremap_topo *t, enum coremap_strategy s, int n,
		const struct coremap_goal *g, int *out, char *why)
{
	return coremap_plan(t, s, NULL, n, g, out, why, 256);
}

#define EXPECT_MAP(out, ...)                                                    \
	do {                                                                    \
		int want_[] = { __VA_ARGS__ };                                  \
		for (size_t i_ = 0; i_ < sizeof(want_) / sizeof(want_[0]); i_++) \
			cr_expect_eq((out)[i_], want_[i_], "vCPU %zu -> %d, want %d", \
				     i_, (out)[i_], want_[i_]);                  \
	} while (0)

Test(coremap_plan, pack_fills_one_socket_cores_then_siblings)
{
	struct coremap_topo *t = load("package:2 core:4 pu:2");
	int out[8];
	char why[256];

	cr_assert_eq(plan(t, COREMAP_PACK, 4, NULL, out, why), 0, "%s", why);
	EXPECT_MAP(out, 0, 2, 4, 6);
	cr_assert_eq(plan(t, COREMAP_PACK, 6, NULL, out, why), 0);
	EXPECT_MAP(out, 0, 2, 4, 6, 1, 3);
	cr_expect(strstr(why, "pack"), "%s", why);
	coremap_topo_free(t);
}

Test(coremap_plan, spread_interleaves_sockets)
{
	struct coremap_topo *t = load("package:2 core:4 pu:2");
	int out[8];
	char why[256];

	cr_assert_eq(plan(t, COREMAP_SPREAD, 4, NULL, out, why), 0, "%s", why);
	EXPECT_MAP(out, 0, 8, 2, 10);
	coremap_topo_free(t);

	t = load("package:4 numa:1 core:8 pu:1");
	cr_assert_eq(plan(t, COREMAP_SPREAD, 5, NULL, out, why), 0);
	EXPECT_MAP(out, 0, 8, 16, 24, 1);
	cr_assert_eq(plan(t, COREMAP_PACK, 5, NULL, out, why), 0);
	EXPECT_MAP(out, 0, 1, 2, 3, 4);
	coremap_topo_free(t);
}

Test(coremap_plan, spread_over_numa_nodes_inside_a_package)
{
	char src[] = __FILE__, path[512];
	struct coremap_topo *t;
	int out[16], i;
	char why[256];

	snprintf(path, sizeof(path), "%s/topo-2pkg-4numa-smt.xml", dirname(src));
	t = load(path);
	cr_assert_eq(plan(t, COREMAP_SPREAD, 4, NULL, out, why), 0, "%s", why);
	for (i = 0; i < 4; i++)
		cr_expect_eq(coremap_topo_pu_numa(t, coremap_topo_pu_by_os(t, out[i])), i,
			     "vCPU %d on CPU %d", i, out[i]);
	cr_assert_eq(plan(t, COREMAP_SPREAD, 16, NULL, out, why), 0, "%s", why);
	for (i = 0; i < 16; i++)
		cr_expect_neq(out[i], 15, "CPU 15 is outside the cpuset");
	cr_expect(strstr(why, "oversubscribed"), "%s", why);
	/* pack fills one L3 domain first */
	cr_assert_eq(plan(t, COREMAP_PACK, 2, NULL, out, why), 0);
	EXPECT_MAP(out, 0, 2);
	coremap_topo_free(t);
}

Test(coremap_plan, pack_moves_to_a_socket_that_fits)
{
	struct coremap_topo *t = load("package:2 core:4 pu:1");
	int reserved[] = { 0 }, out[4];
	struct coremap_goal g = { .reserved_cpus = reserved, .nr_reserved = 1 };
	char why[256];

	cr_assert_eq(plan(t, COREMAP_PACK, 4, &g, out, why), 0, "%s", why);
	EXPECT_MAP(out, 4, 5, 6, 7);
	cr_assert_eq(plan(t, COREMAP_PACK, 3, &g, out, why), 0, "%s", why);
	EXPECT_MAP(out, 1, 2, 3);
	coremap_topo_free(t);
}

Test(coremap_plan, os_indices_not_logical)
{
	struct coremap_topo *t = load("package:2 core:2 pu:2(indexes=0,4,1,5,2,6,3,7)");
	int out[4];
	char why[256];

	cr_assert_eq(plan(t, COREMAP_PACK, 3, NULL, out, why), 0);
	EXPECT_MAP(out, 0, 1, 4);
	cr_assert_eq(plan(t, COREMAP_SPREAD, 2, NULL, out, why), 0);
	EXPECT_MAP(out, 0, 2);
	coremap_topo_free(t);
}

Test(coremap_plan, oversubscription_is_round_robin_and_said)
{
	struct coremap_topo *t = load("core:2 pu:1");
	int out[3];
	char why[256];

	cr_assert_eq(plan(t, COREMAP_PACK, 3, NULL, out, why), 0);
	EXPECT_MAP(out, 0, 1, 0);
	cr_expect(strstr(why, "oversubscribed"), "%s", why);
	coremap_topo_free(t);
}

Test(coremap_plan, explicit_map_is_used)
{
	struct coremap_topo *t = load("package:2 core:2 pu:1");
	int map[] = { 3, 0 }, out[2];
	struct coremap_goal g = { .explicit_map = map, .nr_explicit = 2 };
	char why[256];

	cr_assert_eq(plan(t, COREMAP_EXPLICIT, 2, &g, out, why), 0, "%s", why);
	EXPECT_MAP(out, 3, 0);
	coremap_topo_free(t);
}

static void expect_bad_map(struct coremap_topo *t, const int *map, int nr_map, int nr_vcpus,
			   const int *reserved, int nr_reserved, const char *needle)
{
	struct coremap_goal g = { .explicit_map = map, .nr_explicit = nr_map,
				  .reserved_cpus = reserved, .nr_reserved = nr_reserved };
	int out[8] = { 0 };
	char why[256];

	cr_expect_eq(plan(t, COREMAP_EXPLICIT, nr_vcpus, &g, out, why), -EINVAL);
	cr_expect(strstr(why, needle), "why \"%s\" should mention \"%s\"", why, needle);
}

Test(coremap_plan, bad_explicit_maps_rejected_with_clear_errors)
{
	struct coremap_topo *t = load("core:2 pu:1");
	int out_of_range[] = { 0, 5 }, negative[] = { -1 }, ok[] = { 0, 1 }, res[] = { 1 };

	expect_bad_map(t, out_of_range, 2, 2, NULL, 0, "vCPU 1 -> CPU 5 is out of range");
	expect_bad_map(t, out_of_range, 2, 2, NULL, 0, "2 CPUs, 0-1");
	expect_bad_map(t, negative, 1, 1, NULL, 0, "CPU -1 is out of range");
	expect_bad_map(t, NULL, 0, 1, NULL, 0, "explicit map is empty");
	expect_bad_map(t, ok, 1, 2, NULL, 0, "1 entries for 2 vCPUs");
	expect_bad_map(t, ok, 2, 2, res, 1, "CPU 1 is a reserved housekeeping CPU");
	coremap_topo_set_online(t, 1, false);
	expect_bad_map(t, ok, 2, 2, NULL, 0, "CPU 1 is offline");
	coremap_topo_free(t);
}

Test(coremap_plan, bad_goals_and_arguments)
{
	struct coremap_topo *t = load("core:2 pu:1");
	int out[2], bad_res[] = { 9 }, all[] = { 0, 1 };
	struct coremap_goal g = { .reserved_cpus = bad_res, .nr_reserved = 1 };
	char why[256];

	cr_expect_eq(plan(t, COREMAP_PACK, 1, &g, out, why), -EINVAL);
	cr_expect(strstr(why, "reserved CPU 9 is not in the topology"), "%s", why);
	g.reserved_cpus = all;
	g.nr_reserved = 2;
	cr_expect_eq(plan(t, COREMAP_SPREAD, 1, &g, out, why), -EINVAL);
	cr_expect(strstr(why, "no CPU left"), "%s", why);
	cr_expect_eq(plan(t, COREMAP_PACK, 0, NULL, out, why), -EINVAL);
	cr_expect_eq(plan(t, (enum coremap_strategy)42, 1, NULL, out, why), -EINVAL);
	cr_expect(strstr(why, "unknown strategy"), "%s", why);
	cr_expect_eq(coremap_plan(t, COREMAP_ADAPTIVE, NULL, 1, &g, out, why, sizeof(why)),
		     -EINVAL);
	coremap_topo_free(t);
}

Test(coremap_plan, strategy_names)
{
	enum coremap_strategy s;

	cr_expect_eq(coremap_strategy_parse("spread", &s), 0);
	cr_expect_eq(s, COREMAP_SPREAD);
	cr_expect_str_eq(coremap_strategy_name(COREMAP_ADAPTIVE), "adaptive");
	cr_expect_eq(coremap_strategy_parse("scatter", &s), -EINVAL);
	cr_expect_str_eq(coremap_strategy_name((enum coremap_strategy)9), "?");
}

Test(coremap_plan, short_why_buffer_is_safe)
{
	struct coremap_topo *t = load("core:2 pu:1");
	int out[3];
	char why[8];

	cr_expect_eq(coremap_plan(t, COREMAP_PACK, NULL, 3, NULL, out, why, sizeof(why)), 0);
	cr_expect_eq(strlen(why), 7);
	cr_expect_eq(coremap_plan(t, COREMAP_PACK, NULL, 3, NULL, out, NULL, 0), 0);
	coremap_topo_free(t);
}
