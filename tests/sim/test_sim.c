/* The policy simulator (adapt/sim.h): model and workload files with
 * file:line errors, determinism by seed, the real loop avoiding a noisy
 * core in the model, the speed bound, and the validation against the real
 * runs stored in tests/data/sim (same comparison as bench/sim_validate). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapt/adapt.h"
#include "adapt/sim.h"
#include "common/util.h"
#include "policies/pol.h"

static struct pol_profile prof;

static void load_profile(const char *name)
{
	const char *dirs[POL_MAX_DIRS];
	static char storage[POL_MAX_DIRS][POL_PATH_MAX];
	char err[1024];
	int nd = pol_default_dirs(dirs, storage);

	cr_assert_eq(pol_load(name, dirs, nd, &prof, err, sizeof(err)), 0, "%s: %s", name, err);
}

Test(sim_model, errors_name_file_and_line)
{
	struct adapt_sim_model m;
	struct adapt_sim_workload w;
	char err[512];

	cr_assert_neq(adapt_sim_model_parse("[machine]\nghz = 2\nwarp = 9\n", "m.ini", &m, err, sizeof(err)), 0);
	cr_assert(strstr(err, "m.ini:3:") && strstr(err, "warp"), "%s", err);
	cr_assert_neq(adapt_sim_model_parse("[memory]\n\nlatency_ns = -4\n", "m.ini", &m, err, sizeof(err)), 0);
	cr_assert(strstr(err, "m.ini:3:") && strstr(err, "out of range"), "%s", err);
	cr_assert_neq(adapt_sim_model_parse("[paging]\nmode = sideways\n", "m.ini", &m, err, sizeof(err)), 0);
	cr_assert(strstr(err, "m.ini:2:"), "%s", err);
	cr_assert_neq(adapt_sim_workload_parse("[phase.1]\nvcpus = 0-99\n", "w.ini", &w, err, sizeof(err)), 0);
	cr_assert(strstr(err, "w.ini:2:"), "%s", err);
	cr_assert_neq(adapt_sim_workload_parse("[workload]\ncycle = yes\n", "w.ini", &w, err, sizeof(err)), 0);
	cr_assert(strstr(err, "no [phase.N]"), "%s", err);
	cr_assert_eq(adapt_sim_model_load("policies/models/2s-16c.ini", &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(adapt_sim_model_load("policies/models/4s-16c.ini", &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(adapt_sim_model_load("policies/models/host-2core.ini", &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(m.name, "host-2core");
}

struct outcome { double instr, energy; int nr; struct tel_decision log[64]; };

/* The coremap-noise experiment through the API: a 1-vCPU core-bound guest
 * pinned to CPU 1 of the host model, a hog arriving there at 8 s, and with
 * adapt the adaptive profile switched in at 16 s; 24 s. */
static void noisy_run(bool adapt, uint64_t seed, struct outcome *o)
{
	struct adapt_sim_model m;
	struct adapt_sim_workload w;
	struct adapt_sim_cfg cfg;
	struct adapt_sim *s;
	char err[512], why[160];
	int one = 1;

	load_profile("policies/experiments/profiles/coremap-noise-static.ini");
	cr_assert_eq(adapt_sim_model_load("policies/models/host-2core.ini", &m, err, sizeof(err)), 0, "%s", err);
	adapt_sim_workload_for_guest("compute.elf", &w, why, sizeof(why));
	cfg = (struct adapt_sim_cfg){ .model = &m, .work = &w, .profile = &prof, .nr_vcpus = 1,
		.mem_bytes = 32 << 20, .seed = seed };
	cr_assert_eq(adapt_sim_create(&cfg, &s, err, sizeof(err)), 0, "%s", err);
	adapt_sim_run_until(s, 8000000000ull);
	adapt_sim_load_start(s, 0, 1, &one, 1);
	adapt_sim_run_until(s, 16000000000ull);
	if (adapt) {
		load_profile("policies/experiments/profiles/coremap-noise-adaptive.ini");
		adapt_sim_set_profile(s, &prof);
	}
	adapt_sim_run_until(s, 24000000000ull);
	adapt_sim_totals(s, &o->instr, &o->energy);
	o->nr = adapt_driver_log(adapt_sim_driver(s), o->log, 64);
	adapt_sim_destroy(s);
}

Test(sim_loop, same_seed_same_run_other_seed_other_noise)
{
	static struct outcome a, b, c;

	noisy_run(true, 7, &a);
	noisy_run(true, 7, &b);
	noisy_run(true, 8, &c);
	cr_assert_eq(a.instr, b.instr);
	cr_assert_eq(a.energy, b.energy);
	cr_assert_eq(a.nr, b.nr);
	for (int i = 0; i < a.nr; i++)
		cr_assert_str_eq(a.log[i].what, b.log[i].what);
	cr_assert_neq(a.instr, c.instr, "the seed drives the jitter");
}

Test(sim_loop, the_real_loop_leaves_the_hogged_core)
{
	static struct outcome st, ad;
	bool moved = false;

	noisy_run(false, 1, &st);
	noisy_run(true, 1, &ad);
	for (int i = 0; i < ad.nr; i++)
		moved |= !strcmp(ad.log[i].kind, "coremap") && strstr(ad.log[i].what, "cpu1->cpu0");
	cr_assert(moved, "the adaptive profile moves vcpu0 off the hog's CPU");
	/* static: 8 s alone + 16 s at half speed = 16 s of work; adaptive: 8 +
	 * 4 + nearly 8 = about 20 s */
	cr_assert(st.instr / ad.instr > 0.75 && st.instr / ad.instr < 0.85, "static/adaptive %.3f",
		  st.instr / ad.instr);
}

Test(sim_loop, one_simulated_hour_of_64_vcpus_is_fast)
{
	struct adapt_sim_model m;
	struct adapt_sim_workload w;
	struct adapt_sim_cfg cfg;
	struct adapt_sim *s;
	struct timespec t0, t1;
	char err[512], why[160];
	double cpu_s;

	load_profile("performance");
	cr_assert_eq(adapt_sim_model_load("policies/models/4s-16c.ini", &m, err, sizeof(err)), 0, "%s", err);
	adapt_sim_workload_for_guest("stream.elf", &w, why, sizeof(why));
	w.ph[0].vcpus = ~0ull;   /* its memory-bound phase on every vCPU */
	cfg = (struct adapt_sim_cfg){ .model = &m, .work = &w, .profile = &prof, .nr_vcpus = 64,
		.mem_bytes = 64ull << 30, .seed = 1 };
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	cr_assert_eq(adapt_sim_create(&cfg, &s, err, sizeof(err)), 0, "%s", err);
	adapt_sim_run_until(s, 3600ull * 1000000000ull);
	adapt_sim_destroy(s);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	cpu_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* the target is 1 s; loosely bounded here (sanitizers, a loaded box) */
	cr_assert(cpu_s < 5, "one simulated hour took %.2f s of CPU", cpu_s);
}

static double cpu_at[64];

static void record(void *arg, const struct tel_sample *s)
{
	int t = (int)((s->t_ns - adapt_sim_base_ns()) / 1000000000ull);

	(void)arg;
	if (t >= 0 && t < 64 && s->dt_ns)
		cpu_at[t] = s->vcpu[0].cpu_pct;
}

Test(sim_work, arrivals_departures_and_noise_share_the_cpus)
{
	static const char *text =
		"[phase.1]\nips = 2e9\n"
		"[vm.1]\nvcpus = 2\narrive_s = 10\ndepart_s = 20\n"
		"[noise.1]\nkind = cpu\ncpus = 0-1\nthreads = 2\nstart_s = 30\nstop_s = 40\n";
	struct adapt_sim_model m;
	struct adapt_sim_workload w;
	struct adapt_sim_cfg cfg;
	struct adapt_sim *s;
	char err[512];

	load_profile("static");
	cr_assert_eq(adapt_sim_model_load("policies/models/host-2core.ini", &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(adapt_sim_workload_parse(text, "w.ini", &w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(w.nr_bgvms, 1);
	cr_assert_eq(w.noise[0].nr_cpus, 2);
	cfg = (struct adapt_sim_cfg){ .model = &m, .work = &w, .profile = &prof, .nr_vcpus = 1,
		.mem_bytes = 32 << 20, .seed = 1, .on_sample = record };
	cr_assert_eq(adapt_sim_create(&cfg, &s, err, sizeof(err)), 0, "%s", err);
	adapt_sim_run_until(s, 45000000000ull);
	adapt_sim_destroy(s);
	/* alone; with a 2-vCPU VM on 2 CPUs (3 threads); alone; a hog on each CPU */
	cr_assert_float_eq(cpu_at[5], 100, 1, "alone: %.1f", cpu_at[5]);
	cr_assert_float_eq(cpu_at[15], 50, 1, "with the VM: %.1f", cpu_at[15]);
	cr_assert_float_eq(cpu_at[25], 100, 1, "after it left: %.1f", cpu_at[25]);
	cr_assert_float_eq(cpu_at[35], 50, 1, "with the hogs: %.1f", cpu_at[35]);
}

static uint64_t b2m_at[130];

static void record_paging(void *arg, const struct tel_sample *s)
{
	int t = (int)((s->t_ns - adapt_sim_base_ns()) / 1000000000ull);

	(void)arg;
	if (t >= 0 && t < 130)
		b2m_at[t] = s->paging.bytes_2m;
}

/* The real paging proposal asks for 2 MiB backing on a TLB-heavy guest in
 * nested mode; the simulated promotion takes time (2 MiB per
 * collapse_ms_per_2m, under the profile's quota). */
Test(sim_loop, page_size_change_takes_modelled_time)
{
	struct adapt_sim_model m;
	struct adapt_sim_workload w;
	struct adapt_sim_cfg cfg;
	struct adapt_sim *s;
	struct tel_decision log[16];
	char err[512];
	bool promoted = false;
	int n, first = -1;

	load_profile("policies/experiments/profiles/sim-paging-adaptive.ini");
	cr_assert_eq(adapt_sim_model_load("policies/models/2s-16c.ini", &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(adapt_sim_workload_load("policies/experiments/sim/workloads/paging-tlb.ini", &w, err,
					     sizeof(err)), 0, "%s", err);
	cfg = (struct adapt_sim_cfg){ .model = &m, .work = &w, .profile = &prof, .nr_vcpus = 4,
		.mem_bytes = 16ull << 30, .seed = 1, .on_sample = record_paging };
	cr_assert_eq(adapt_sim_create(&cfg, &s, err, sizeof(err)), 0, "%s", err);
	adapt_sim_run_until(s, 120000000000ull);
	n = adapt_driver_log(adapt_sim_driver(s), log, 16);
	adapt_sim_destroy(s);
	for (int i = 0; i < n; i++)
		promoted |= !strcmp(log[i].kind, "paging-mode") && strstr(log[i].what, "4k->2m");
	cr_assert(promoted, "the paging proposal promotes a TLB-heavy guest");
	for (int t = 0; t < 120; t++)
		if (b2m_at[t] && first < 0)
			first = t;
	cr_assert(first >= 0);
	/* 16 GiB at min(2 MiB / 1 ms, quota 256 MiB/s) = 64 s */
	cr_assert(b2m_at[first + 5] < (16ull << 30) / 2, "half of RAM promoted within 5 s");
	cr_assert_eq(b2m_at[119], 16ull << 30, "all promoted by the end");
}

/* [noise.N] kind = memory: a streamer on the other CPU leaves the vCPU its
 * CPU but slows a memory-bound guest (its L3 share and the node's
 * bandwidth); a CPU hog there does neither; an experiment's memory host
 * load (host_load_kind = memory) is the same streamer. */
Test(sim_work, memory_noise_slows_a_memory_bound_guest_without_taking_its_cpu)
{
	static const char *text =
		"[phase.1]\nips = 2e9\nllc_mpki = 20\nwss_mib = 16\nmlp = 1\n"
		"[noise.1]\nkind = memory\ncpus = 1\nstart_s = 10\nstop_s = 20\n"
		"[noise.2]\nkind = cpu\ncpus = 1\nstart_s = 20\nstop_s = 30\n";
	struct adapt_sim_model m;
	struct adapt_sim_workload w;
	struct adapt_sim_cfg cfg;
	struct adapt_sim *s;
	double instr[5] = { 0 }, rate[4], energy;
	char err[512];
	int one = 1;

	load_profile("static");
	cr_assert_eq(adapt_sim_model_load("policies/models/host-2core.ini", &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(adapt_sim_workload_parse(text, "w.ini", &w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(w.nr_noise, 2);
	cr_assert_eq(w.noise[0].kind, 1, "kind = memory");
	cr_assert_eq(w.noise[1].kind, 0, "kind = cpu");
	memset(cpu_at, 0, sizeof(cpu_at));
	cfg = (struct adapt_sim_cfg){ .model = &m, .work = &w, .profile = &prof, .nr_vcpus = 1,
		.mem_bytes = 32 << 20, .seed = 1, .on_sample = record };
	cr_assert_eq(adapt_sim_create(&cfg, &s, err, sizeof(err)), 0, "%s", err);
	for (int i = 1; i <= 4; i++) {
		if (i == 4)
			adapt_sim_load_start(s, 1, 1, &one, 1);
		adapt_sim_run_until(s, (uint64_t)i * 10000000000ull);
		adapt_sim_totals(s, &instr[i], &energy);
		rate[i - 1] = (instr[i] - instr[i - 1]) / 10;
	}
	adapt_sim_destroy(s);
	cr_log_info("instructions/s alone %.3g, memory noise %.3g, CPU noise %.3g, memory host load %.3g",
		    rate[0], rate[1], rate[2], rate[3]);
	/* alone, memory noise, CPU noise, memory host load */
	for (int i = 0; i < 4; i++)
		cr_assert_float_eq(cpu_at[10 * i + 5], 100, 1, "window %d: the vCPU keeps its CPU (%.1f%%)", i,
				   cpu_at[10 * i + 5]);
	cr_assert(rate[1] / rate[0] < 0.9 && rate[1] / rate[0] > 0.3,
		  "memory noise: %.3f of the rate alone", rate[1] / rate[0]);
	cr_assert_float_eq(rate[2] / rate[0], 1, 0.02, "CPU noise elsewhere: %.3f of the rate alone", rate[2] / rate[0]);
	cr_assert_float_eq(rate[3] / rate[1], 1, 0.02, "memory host load %.3f vs memory noise", rate[3] / rate[1]);
}
