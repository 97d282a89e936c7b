/*
 * coremap noise avoidance, in one run: a 1-vCPU `compute` guest while a host
 * CPU hog is pinned to one core.
 *   nohog  - no hog; the vCPU pinned to the core the hog will use
 *   static - hog on that core, the vCPU statically pinned to it (unlucky)
 *   plan   - hog on that core, the vCPU starts there; every tick the
 *            per-thread run delay (/proc/self/task/TID/schedstat) and the
 *            per-CPU busy time (/proc/stat) go into coremap_plan(ADAPTIVE),
 *            and coremap_apply() moves the vCPU when the plan differs
 *   loop   - the same start under the real control loop (an adapt session,
 *            as `avmm run` uses) with the SHIPPED profile
 *            policies/profiles/performance.ini (adaptive period: 100 ms while
 *            something changes, 1 s when steady; confirm_ms 300)
 * Both adaptive cases use that profile's thresholds. The guest measures its
 * own throughput over its 3 s (ops_per_s, TSC-timed, tsc_hz measured on the
 * host); medians over REPS interleaved repetitions. Time to finish the same
 * work is the inverse: time_vs_nohog = 1 / (ops ratio). For the loop it also
 * prints when the move was decided after the guest started, from the
 * driver's decision log. Last line (adaptive = the real loop, or the
 * hand-driven plan with COREMAP_NOISE_ADAPTIVE=plan):
 *   adaptive_vs_nohog=X static_vs_nohog=Y time_vs_nohog=Z
 *   (targets: Z <= 1.15, i.e. X >= 0.87; Y far below)
 * COREMAP_NOISE_VERBOSE=1 prints every plan tick; COREMAP_NOISE_TRACE=FILE
 * writes the loop's JSON-lines trace.
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <x86intrin.h>

#include "bench/bench_util.h"
#include "adapt/adapt.h"
#include "adapt/session.h"
#include "common/util.h"
#include "coremap/coremap.h"
#include "policies/pol.h"
#include "vmm-core/vmm.h"

#define REPS 5
#define GUEST_SECS "3"
#define TICK_NS (100ull * 1000 * 1000)
#define MAX_CPUS 64
#define PROFILE "performance"   /* the shipped profile, by name */

enum mode { NOHOG, STATIC, PLAN, LOOP, NR_MODES };
static const char *const mode_name[] = { "nohog", "static", "plan", "loop" };

struct hog {
	pthread_t th;
	int cpu;
	atomic_bool stop;
};

static void *hog_fn(void *arg)
{
	struct hog *h = arg;
	cpu_set_t set;
	volatile unsigned long x = 0;

	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("hog: sched_setaffinity");
	while (!h->stop)
		x++;
	return NULL;
}

/* run and wait ns of one thread from /proc/self/task/TID/schedstat */
static int read_schedstat(pid_t tid, uint64_t *run_ns, uint64_t *wait_ns)
{
	char path[64], buf[128];
	unsigned long long r, w;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	if (util_read_file(NULL, path, buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%llu %llu", &r, &w) != 2)
		return -1;
	*run_ns = r;
	*wait_ns = w;
	return 0;
}

/* busy and total jiffies per CPU from /proc/stat; returns CPUs seen */
struct loop {
	const struct coremap_topo *topo;
	struct coremap_goal goal;
	pid_t tid;
	int cur;
	uint64_t t_ns, run_ns, wait_ns;
	struct adapt_cpu_load load;  /* host busy % per CPU, as the session reads it */
	int moves;
	double remap_ns[16];
};

/* One tick: metrics since the last tick -> coremap_plan -> coremap_apply. */
static void tick(struct loop *l)
{
	uint64_t now = util_now_ns(), run, wait;
	double busy_pct[MAX_CPUS] = { 0 }, dt;
	struct coremap_vcpu_metrics m;
	struct coremap_apply_result res;
	char why[512];
	int n, out;

	if (read_schedstat(l->tid, &run, &wait) < 0)
		return;
	n = adapt_cpu_busy_pct(&l->load, NULL, busy_pct, MAX_CPUS);
	dt = (double)(now - l->t_ns);
	m.llc_misses_per_kinstr = -1; /* no PMU needed: noise avoidance only */
	m.cpu_pct = 100.0 * (double)(run - l->run_ns) / dt;
	m.run_delay_pct = 100.0 * (double)(wait - l->wait_ns) / dt;
	m.cur_pcpu = l->cur;
	l->goal.pu_busy_pct = busy_pct;
	l->goal.nr_pu_busy = n < 0 ? 0 : n;
	if (getenv("COREMAP_NOISE_VERBOSE")) {
		coremap_plan(l->topo, COREMAP_ADAPTIVE, &m, 1, &l->goal, &out, why, sizeof(why));
		printf("   tick: cpu %.0f%% delay %.0f%% busy %.0f/%.0f: %s\n", m.cpu_pct,
		       m.run_delay_pct, busy_pct[0], busy_pct[1], why);
	}
	if (coremap_plan(l->topo, COREMAP_ADAPTIVE, &m, 1, &l->goal, &out, why, sizeof(why)) == 0 &&
	    out != l->cur) {
		if (coremap_apply(&coremap_real_ops, &l->tid, &out, 1, &res) == 0) {
			printf("   adaptive: %s; remap %.1f us\n", why, res.latency_ns / 1e3);
			if (l->moves < 16)
				l->remap_ns[l->moves] = (double)res.latency_ns;
			l->moves++;
			l->cur = out;
		} else {
			printf("   adaptive: %s; apply failed: %s\n", why, res.why);
		}
	}
	l->goal.pu_busy_pct = NULL;
	l->t_ns = now;
	l->run_ns = run;
	l->wait_ns = wait;
}

/* The TSC rate measured on the host (the guest sees the same TSC), so the
 * guest does not calibrate against the PIT while a hog preempts it. */
static uint64_t host_tsc_hz(void)
{
	uint64_t t0 = util_now_ns(), c0 = __rdtsc(), t1, c1;

	util_sleep_ns(200 * 1000 * 1000);
	t1 = util_now_ns();
	c1 = __rdtsc();
	return (uint64_t)((double)(c1 - c0) * 1e9 / (double)(t1 - t0));
}

static char cmdline[64];

/* The guest's ops_per_s from its console file (rc: the run's), which goes. */
static int console_result(int rc, const char *console, double *ops_per_s)
{
	char out[8192];

	if (rc == 0 && util_read_file(NULL, console, out, sizeof(out)) > 0)
		*ops_per_s = bench_result(out, "ops_per_s");
	else
		*ops_per_s = -1;
	unlink(console);
	return *ops_per_s > 0 ? 0 : -1;
}

static int run_once(enum mode mode, const char *guest, int hog_cpu, struct loop *l,
		    double *ops_per_s)
{
	char console[] = "/tmp/coremap-noise-XXXXXX";
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 32ull << 20, .guest_path = guest,
				  .cmdline = cmdline, .console_path = console };
	struct coremap_apply_result res;
	struct hog hog = { .cpu = hog_cpu };
	struct vmm_result vr;
	struct vmm *vm = NULL;
	int fd, rc = -1;

	fd = mkstemp(console);
	if (fd < 0)
		return -1;
	close(fd);
	if (mode != NOHOG && pthread_create(&hog.th, NULL, hog_fn, &hog) != 0)
		goto out;
	if (vmm_create(&cfg, &vm) < 0 || vmm_start(vm) < 0)
		goto out;
	l->tid = vmm_vcpu_tid(vm, 0);
	l->cur = hog_cpu;
	l->moves = 0;
	if (coremap_apply(&coremap_real_ops, &l->tid, &l->cur, 1, &res) < 0) {
		fprintf(stderr, "coremap_noise: %s\n", res.why);
		goto out;
	}
	l->t_ns = util_now_ns();
	read_schedstat(l->tid, &l->run_ns, &l->wait_ns);
	adapt_cpu_busy_pct(&l->load, NULL, (double[MAX_CPUS]){ 0 }, MAX_CPUS);
	while (!vmm_ended(vm)) {
		util_sleep_ns(mode == PLAN ? TICK_NS : TICK_NS / 2);
		if (mode == PLAN && !vmm_ended(vm))
			tick(l);
	}
	vmm_wait(vm, &vr);
	rc = 0;
out:
	if (vm)
		vmm_destroy(vm);
	if (mode != NOHOG) {
		hog.stop = true;
		pthread_join(hog.th, NULL);
	}
	return console_result(rc, console, ops_per_s);
}

/* The machine's 1-minute load average (other work skews every ratio). */
static double loadavg(void)
{
	char buf[128];

	return util_read_file(NULL, "/proc/loadavg", buf, sizeof(buf)) > 0 ? atof(buf) : -1;
}

/* The real control loop: an adapt session under the adaptive profile. */
static int run_loop(const char *guest, int hog_cpu, double *ops_per_s)
{
	char console[] = "/tmp/coremap-noise-XXXXXX";
	struct adapt_session_cfg c = {
		.vm = { .vcpus = 1, .mem_bytes = 32ull << 20, .guest_path = guest,
			.cmdline = cmdline, .console_path = console },
		.profile = PROFILE, .counters = "none", .energy_backend = "none",
		.socket_path = "", .name = "coremap-noise",
	};
	struct coremap_apply_result res;
	struct hog hog = { .cpu = hog_cpu };
	struct adapt_session *s = NULL;
	struct vmm_result vr;
	uint64_t t0 = 0;
	pid_t tid;
	int fd, rc = -1;

	if (getenv("COREMAP_NOISE_TRACE")) { /* the loop's samples and decisions */
		c.traces[0] = getenv("COREMAP_NOISE_TRACE");
		c.nr_traces = 1;
	}
	fd = mkstemp(console);
	if (fd < 0)
		return -1;
	close(fd);
	if (pthread_create(&hog.th, NULL, hog_fn, &hog) != 0)
		goto out;
	if (adapt_session_open(&c, &s) < 0)
		goto out;
	t0 = util_now_ns();
	if (adapt_session_start(s) < 0)
		goto out;
	tid = vmm_vcpu_tid(adapt_session_vmm(s), 0);
	if (coremap_apply(&coremap_real_ops, &tid, &hog_cpu, 1, &res) < 0) {
		fprintf(stderr, "coremap_noise: %s\n", res.why);
		goto out;
	}
	rc = adapt_session_wait(s, &vr);
	{
		struct tel_decision log[8];
		int n = adapt_driver_log(adapt_session_driver(s), log, 8);

		for (int i = 0; i < n; i++)
			if (!strcmp(log[i].kind, "coremap"))
				printf("   loop: %+.0f ms after start: %s (%s)%s\n",
				       ((double)log[i].t_ns - (double)t0) / 1e6, log[i].what,
				       log[i].effect, log[i].apply_ns ? "" : " not applied");
		static struct tel_held h;   /* why it waited, by reason */
		char line[512];
		size_t used = 0;

		adapt_driver_held(adapt_session_driver(s), &h);
		for (int i = 0; i < h.nr && used < sizeof(line) - 64; i++)
			used += (size_t)snprintf(line + used, sizeof(line) - used, " %s/%s=%llu",
						 h.c[i].adaptation, h.c[i].reason,
						 (unsigned long long)h.c[i].ticks);
		if (h.nr)
			printf("   loop held (ticks):%s\n", line);
	}
out:
	if (s)
		adapt_session_close(s);
	hog.stop = true;
	pthread_join(hog.th, NULL);
	return console_result(rc, console, ops_per_s);
}

static int load_goal(struct coremap_goal *g, struct pol_profile *p)
{
	const char *dirs[POL_MAX_DIRS + 1] = { "policies/profiles" };
	char storage[POL_MAX_DIRS][POL_PATH_MAX], err[1024];
	int nr = 1 + pol_default_dirs(dirs + 1, storage);

	if (pol_load(PROFILE, dirs, nr, p, err, sizeof(err)) < 0) {
		fprintf(stderr, "coremap_noise: %s: %s (run from the source tree)\n", PROFILE, err);
		return -1;
	}
	memset(g, 0, sizeof(*g));
	g->prefer_energy = p->objective == POL_OBJ_ENERGY;
	g->memory_intensive_llc_per_kinstr = p->coremap.memory_intensive_llc_per_kinstr;
	g->noisy_run_delay_pct = p->coremap.noisy_run_delay_pct;
	g->reserved_cpus = p->coremap.reserved;
	g->nr_reserved = p->coremap.nr_reserved;
	return 0;
}

int main(void)
{
	static struct pol_profile prof;
	double ops[NR_MODES][REPS], med[NR_MODES];
	struct coremap_topo *topo;
	struct loop l = { 0 };
	char guest[512];
	cpu_set_t mine;
	int r, m, cpus[2], n = 0, c, adaptive;

	snprintf(guest, sizeof(guest), "%s/guests/compute.elf", bench_build());
	if (access(guest, R_OK) < 0 || access("/dev/kvm", R_OK | W_OK) < 0) {
		fprintf(stderr, "coremap_noise: needs %s (make guests) and /dev/kvm\n", guest);
		return 1;
	}
	sched_getaffinity(0, sizeof(mine), &mine);
	for (c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &mine))
			cpus[n++] = c;
	if (n < 2) {
		fprintf(stderr, "coremap_noise: needs 2 CPUs\n");
		return 1;
	}
	if (coremap_topo_load(NULL, &topo) < 0 || load_goal(&l.goal, &prof) < 0)
		return 1;
	l.topo = topo;
	util_log_set_level(UTIL_LOG_WARN);
	setenv("AVMM_PROFILE_DIR", "policies/profiles", 0); /* for include = performance */
	snprintf(cmdline, sizeof(cmdline), "secs=%s tsc_hz=%llu", GUEST_SECS,
		 (unsigned long long)host_tsc_hz());
	printf("compute guest %s, hog on CPU %d, noisy_run_delay_pct=%.0f, tick %llu ms, "
	       "loadavg %.2f\n", cmdline, cpus[1], l.goal.noisy_run_delay_pct,
	       TICK_NS / 1000000, loadavg());
	for (r = 0; r < REPS; r++) {
		for (m = 0; m < NR_MODES; m++) {
			int rc = m == LOOP ? run_loop(guest, cpus[1], &ops[m][r]) :
				 run_once((enum mode)m, guest, cpus[1], &l, &ops[m][r]);

			if (rc < 0) {
				fprintf(stderr, "coremap_noise: %s run %d failed\n", mode_name[m], r);
				return 1;
			}
			printf("rep %d %-8s ops_per_s=%.0f\n", r, mode_name[m], ops[m][r]);
		}
	}
	for (m = 0; m < NR_MODES; m++) {
		med[m] = bench_median(ops[m], REPS);
		printf("median %-8s ops_per_s=%.0f\n", mode_name[m], med[m]);
	}
	if (l.moves > 0)
		printf("last adaptive run: %d remap(s), first remap %.1f us\n", l.moves,
		       l.remap_ns[0] / 1e3);
	coremap_topo_free(topo);
	printf("loadavg at the end %.2f (above ~0.5 other work skews the ratios)\n", loadavg());
	adaptive = getenv("COREMAP_NOISE_ADAPTIVE") &&
		   !strcmp(getenv("COREMAP_NOISE_ADAPTIVE"), "plan") ? PLAN : LOOP;
	printf("plan_vs_nohog=%.3f loop_vs_nohog=%.3f (adaptive below = %s)\n",
	       med[PLAN] / med[NOHOG], med[LOOP] / med[NOHOG], mode_name[adaptive]);
	printf("adaptive_vs_nohog=%.3f static_vs_nohog=%.3f time_vs_nohog=%.3f\n",
	       med[adaptive] / med[NOHOG], med[STATIC] / med[NOHOG], med[NOHOG] / med[adaptive]);
	return 0;
}
