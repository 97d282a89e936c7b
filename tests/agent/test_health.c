/* The node-health watch's pure parts: the decision on canned samples (a rise
 * below and above the threshold, an uncorrected error, a counter that resets
 * or wraps, a missing source), the sampler on fake sysfs/procfs trees and on
 * this host, the [health] keys and the machine file's [migration] targets. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt/adapt.h"
#include "common/util.h"
#include "policies/pol.h"

#define S_NS 1000000000ull

static struct pol_profile prof;
static struct adapt_health_state st;

static void setup(void)
{
	char err[512];

	const char *text = "[main]\nsummary = t\n";

	cr_assert_eq(pol_parse_buffer(text, strlen(text), "t.ini", NULL, 0, &prof, err,
				      sizeof(err)), 0, "%s", err);
	adapt_health_init(&st);
}
TestSuite(health, .init = setup);

/* One memory controller mc0 with ce and ue; no throttle, no MCE source. */
static void edac(struct tel_health_sample *s, uint64_t t_s, uint64_t ce, uint64_t ue)
{
	memset(s, 0, sizeof(*s));
	s->t_ns = t_s * S_NS;
	s->up[TEL_HEALTH_EDAC] = true;
	s->nr_mc = 1;
	s->mc[0].ce = ce;
	s->mc[0].ue = ue;
	snprintf(s->why[TEL_HEALTH_THROTTLE], TEL_HEALTH_WHY, "no thermal_throttle");
	snprintf(s->why[TEL_HEALTH_MCE], TEL_HEALTH_WHY, "no MCE row");
}

static bool step(uint64_t t_s, uint64_t ce, uint64_t ue, struct adapt_health_verdict *v)
{
	struct tel_health_sample s;

	edac(&s, t_s, ce, ue);
	cr_assert_eq(adapt_health_step(&prof, &st, &s, v), 0);
	return v->failing;
}

Test(health, a_rise_at_the_threshold_is_not_a_failure_above_it_is)
{
	struct adapt_health_verdict v;

	cr_assert_not(step(0, 500, 0, &v), "old counts predict nothing: %s", v.reason);
	for (int t = 1; t <= 10; t++)
		cr_assert_not(step((uint64_t)t, 500 + (uint64_t)t, 0, &v), "%d: %s", t, v.reason);
	cr_assert_eq(v.ce_rise, 10);
	cr_assert_not(v.reason[0]);
	cr_assert(step(11, 512, 0, &v));
	cr_assert_str_eq(v.reason, "EDAC mc0 corrected errors rose 12 in 11 s > threshold 10 "
			 "per 60 s");
	cr_assert(strstr(v.unavailable, "throttle: no thermal_throttle") &&
		  strstr(v.unavailable, "mce: no MCE row"), "%s", v.unavailable);
	cr_assert_eq(v.nr_up, 1);
}

Test(health, errors_spread_wider_than_the_window_are_not_a_failure)
{
	struct adapt_health_verdict v;

	/* 2 errors every 20 s: 6 per minute, never above 10 per 60 s */
	for (int t = 0; t <= 600; t += 5)
		cr_assert_not(step((uint64_t)t, (uint64_t)(t / 20) * 2, 0, &v), "t=%d: %s", t,
			      v.reason);
	cr_assert_leq(v.ce_rise, 8);
	cr_assert_geq(v.span_ns, 60 * S_NS);
	cr_assert_leq(v.span_ns, 62 * S_NS);
}

Test(health, any_new_uncorrected_error_is_a_failure)
{
	struct adapt_health_verdict v;

	cr_assert_not(step(0, 0, 3, &v));
	cr_assert_not(step(1, 0, 3, &v));
	cr_assert(step(2, 0, 4, &v));
	cr_assert_str_eq(v.reason, "EDAC mc0 uncorrected errors rose 1 in 2 s > threshold 0 per "
			 "60 s");
}

Test(health, a_counter_reset_counts_from_zero_and_a_wrap_across_32_bits)
{
	struct adapt_health_verdict v;

	cr_assert_eq(adapt_health_delta(100, 3, 1ull << 32), 3, "reset");
	cr_assert_eq(adapt_health_delta(0xfffffffeull, 2, 1ull << 32), 4, "wrap");
	cr_assert_eq(adapt_health_delta(7, 9, 1ull << 32), 2);
	cr_assert_eq(adapt_health_delta(~0ull, 1, 0), 2, "64-bit wrap");
	/* an operator resets the counters (edac reset_counters): 900 -> 4 is 4 new */
	cr_assert_not(step(0, 900, 0, &v));
	cr_assert_not(step(1, 4, 0, &v));
	cr_assert_eq(v.ce_rise, 4);
	/* and 4294967290 -> 5 is a wrap of 11 */
	adapt_health_init(&st);
	cr_assert_not(step(0, 4294967290ull, 0, &v));
	cr_assert(step(1, 5, 0, &v), "a wrap of 11 passes 10");
	cr_assert_eq(v.ce_rise, 11);
}

Test(health, a_missing_source_is_unavailable_with_its_reason_never_zero)
{
	struct tel_health_sample s = { .t_ns = S_NS };
	struct adapt_health_verdict v;

	for (int k = 0; k < TEL_HEALTH_SRC_COUNT; k++)
		snprintf(s.why[k], TEL_HEALTH_WHY, "%s missing here", tel_health_src_name(k));
	cr_assert_eq(adapt_health_step(&prof, &st, &s, &v), 0);
	cr_assert_not(v.failing);
	cr_assert_eq(v.nr_up, 0);
	cr_assert_str_eq(v.unavailable, "edac: edac missing here; throttle: throttle missing "
			 "here; mce: mce missing here");
	/* EDAC appears later: a baseline, not a rise from "0" */
	cr_assert_not(step(2, 5000, 0, &v), "%s", v.reason);
	cr_assert_eq(v.ce_rise, 0);
}

Test(health, throttle_and_mce_limits_and_action_log)
{
	struct tel_health_sample s = { 0 };
	struct adapt_health_verdict v;

	s.up[TEL_HEALTH_THROTTLE] = s.up[TEL_HEALTH_MCE] = true;
	s.throttle_core = 10;
	cr_assert_eq(adapt_health_step(&prof, &st, &s, &v), 0);
	s.t_ns = 5 * S_NS;
	s.throttle_core = 1011;
	cr_assert_eq(adapt_health_step(&prof, &st, &s, &v), 0);
	cr_assert(v.failing);
	cr_assert_str_eq(v.reason, "thermal throttle events rose 1001 in 5 s > threshold 1000 "
			 "per 60 s");
	s.t_ns = 6 * S_NS;
	s.mce = 1;
	cr_assert_eq(adapt_health_step(&prof, &st, &s, &v), 0);
	cr_assert(strstr(v.reason, "machine-check exceptions rose 1"), "%s", v.reason);
	prof.health.enabled = false;
	cr_assert_eq(adapt_health_step(&prof, &st, &s, &v), 0);
	cr_assert_not(v.failing, "disabled: never failing");
}

/* ---- the sampler on a fake tree ---- */

static void put(const char *root, const char *rel, const char *text)
{
	char path[512], dir[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(dir, sizeof(dir), "mkdir -p $(dirname %s)", path);
	cr_assert_eq(system(dir), 0);
	f = fopen(path, "w");
	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

Test(health, the_sampler_reads_a_fake_tree_and_names_what_is_missing)
{
	char root[] = "/tmp/avmm-health-XXXXXX", cmd[64];
	struct tel_health_sample s;

	cr_assert(mkdtemp(root));
	tel_health_read(root, 1, &s);
	for (int k = 0; k < TEL_HEALTH_SRC_COUNT; k++)
		cr_assert_not(s.up[k]);
	cr_assert(strstr(s.why[TEL_HEALTH_EDAC], "no EDAC memory controller"), "%s",
		  s.why[TEL_HEALTH_EDAC]);
	put(root, "/sys/devices/system/edac/mc/mc1/ce_count", "7\n");
	put(root, "/sys/devices/system/edac/mc/mc1/ue_count", "0\n");
	put(root, "/sys/devices/system/edac/mc/mc0/ce_count", "3\n");
	put(root, "/sys/devices/system/edac/mc/mc0/ue_count", "1\n");
	put(root, "/sys/devices/system/edac/mc/mc0/dimm0/dimm_ce_count", "1\n");
	put(root, "/sys/devices/system/edac/mc/mc0/dimm2/dimm_ce_count", "2\n");
	put(root, "/sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count", "5\n");
	put(root, "/sys/devices/system/cpu/cpu0/thermal_throttle/package_throttle_count", "9\n");
	put(root, "/sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count", "6\n");
	put(root, "/sys/devices/system/cpu/cpu1/thermal_throttle/package_throttle_count", "9\n");
	put(root, "/proc/interrupts", "           CPU0       CPU1\n  0:   44   0  IO-APIC timer\n"
	    "MCE:          2          1   Machine check exceptions\nMCP:  7  7  Machine check "
	    "polls\n");
	uint64_t t0 = util_now_ns();

	for (int i = 0; i < 200; i++)
		tel_health_read(root, 2, &s);
	cr_log_info("one health read of the fake tree (2 mc, 2 DIMMs, 2 CPUs): %.1f us",
		    (util_now_ns() - t0) / 200 / 1e3);
	cr_assert(s.up[TEL_HEALTH_EDAC] && s.up[TEL_HEALTH_THROTTLE] && s.up[TEL_HEALTH_MCE]);
	cr_assert_eq(s.nr_mc, 2);
	cr_assert_eq(s.mc[0].index, 0, "sorted by index");
	cr_assert_eq(s.mc[0].ce, 3);
	cr_assert_eq(s.mc[0].ue, 1);
	cr_assert_str_eq(s.mc[0].worst, "dimm2");
	cr_assert_eq(s.mc[1].ce, 7);
	cr_assert_eq(s.throttle_core, 11);
	cr_assert_eq(s.throttle_package, 9, "one package, counted once");
	cr_assert_eq(s.mce, 3);
	put(root, "/sys/devices/system/edac/mc/mc0/ce_count", "lots\n");
	tel_health_read(root, 3, &s);
	cr_assert_not(s.up[TEL_HEALTH_EDAC], "a count that is not a number is no 0");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

Test(health, this_host_says_why_each_source_it_lacks_is_unavailable)
{
	struct tel_health_sample s;

	tel_health_read(NULL, 1, &s);
	for (int k = 0; k < TEL_HEALTH_SRC_COUNT; k++) {
		cr_log_info("%s: %s", tel_health_src_name(k), s.up[k] ? "up" : s.why[k]);
		cr_assert(s.up[k] || strlen(s.why[k]) > 20, "%s down without a reason",
			  tel_health_src_name(k));
	}
	if (access("/sys/devices/system/edac/mc", F_OK))
		cr_assert_not(s.up[TEL_HEALTH_EDAC], "no EDAC here: unavailable, never 0");
	/* what one read costs the agent here (a figure, not a check: the host is shared) */
	uint64_t t0 = util_now_ns();

	for (int i = 0; i < 200; i++)
		tel_health_read(NULL, 1, &s);
	cr_log_info("one health read of this host: %.1f us", (util_now_ns() - t0) / 200 / 1e3);
}

/* ---- configuration ---- */

Test(health, bad_health_values_are_rejected_with_file_and_line)
{
	struct pol_profile p;
	char err[512];
	const char *bad[] = { "[health]\nce_max = -1\n", "[health]\naction = reboot\n",
			      "[health]\nwindow_ms = 10\n", "[health]\nbogus = 1\n" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_neq(pol_parse_buffer(bad[i], strlen(bad[i]), "h.ini", NULL, 0, &p, err,
					       sizeof(err)), 0, "%s", bad[i]);
		cr_assert(strstr(err, "h.ini:2"), "%s -> %s", bad[i], err);
	}
	const char *good = "[health]\naction = log\nce_max = 3\n";

	cr_assert_eq(pol_parse_buffer(good, strlen(good), "h.ini", NULL, 0, &p, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(p.health.action, POL_HEALTH_LOG);
	cr_assert_float_eq(p.health.ce_max, 3, 1e-9);
	cr_assert_eq(p.health.window_ns, 60 * S_NS, "the default window");
}

Test(health, the_machine_file_names_migration_targets)
{
	struct pol_targets t;
	char err[512];
	const char *ok = "[dram]\nsource = lab\n[migration]\ntarget = tcp:10.0.0.2:4444\n"
			 "target.db = unix:/run/avmm/in.sock\n";

	cr_assert_eq(pol_targets_parse(ok, "m.ini", &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(pol_target_for(&t, "web"), "tcp:10.0.0.2:4444");
	cr_assert_str_eq(pol_target_for(&t, "db"), "unix:/run/avmm/in.sock");
	cr_assert_neq(pol_targets_parse("[migration]\ntarget = ftp:x\n", "m.ini", &t, err,
					sizeof(err)), 0);
	cr_assert(strstr(err, "m.ini:2"), "%s", err);
	cr_assert_neq(pol_targets_parse("[migration]\ntargets = tcp:a:1\n", "m.ini", &t, err,
					sizeof(err)), 0);
	cr_assert(strstr(err, "m.ini:2") && strstr(err, "unknown key"), "%s", err);
	cr_assert_eq(pol_targets_parse("[dram]\nsource = x\n", "m.ini", &t, err, sizeof(err)), 0);
	cr_assert_null(pol_target_for(&t, "web"));
	cr_assert(strstr(t.why, "no [migration]"), "%s", t.why);
	cr_assert_eq(pol_targets_load("/nonexistent/machine.ini", &t, err, sizeof(err)), 0);
	cr_assert(strstr(t.why, "no machine file"), "%s", t.why);
}
