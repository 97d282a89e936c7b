/* libFuzzer harness: hwloc XML topologies (coremap/topo.c through
 * hwloc_topology_set_xmlbuffer) flattened and precomputed for plans
 * (coremap/plan_pre.c), then every strategy planned on them: pack, spread,
 * adaptive (with per-CPU load and metrics) and explicit, with one CPU
 * reserved and one taken offline. Checks the promise of coremap_plan: a
 * plan only names CPUs of the topology that are online and not reserved. */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coremap/plan_int.h"

#define FUZZ_MAX_VCPUS 300
#define FUZZ_BUSY 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char probe_path[4096]; /* hwloc_probe: see hwloc_survives() */
static int probe_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *probe = getenv("FUZZ_HWLOC_PROBE");
	const char *slash = strrchr((*argv)[0], '/');

	if (probe)
		snprintf(probe_path, sizeof(probe_path), "%s", probe);
	else
		snprintf(probe_path, sizeof(probe_path), "%.*shwloc_probe",
			 slash ? (int)(slash - (*argv)[0] + 1) : 0, (*argv)[0]);
	probe_fd = memfd_create("fuzz-topo-probe", MFD_CLOEXEC);
	if (probe_fd < 0)
		abort();
	setenv("HWLOC_HIDE_ERRORS", "2", 1);
	unsetenv("HWLOC_XMLFILE");       /* it would replace the fuzzed XML */
	unsetenv("HWLOC_SYNTHETIC");
	/* a first load sets coremap's plugin choice (no libxml2, no devices) in
	 * the environment, where hwloc_probe finds it too */
	struct coremap_topo *t;

	if (coremap_topo_load("pu:1", &t))
		abort();
	coremap_topo_free(t);
	return 0;
}

/* hwloc 2.9.0 (Debian 12) crashes on malformed XML that later releases
 * reject (e.g. open-mpi/hwloc PR 783: an object with a cpuset but no
 * complete_cpuset; an object whose cpuset is not inside its
 * complete_cpuset), and takes 600 MB for a PU without an OS index. Those
 * are library bugs avmm cannot fix, so each input is first loaded by hwloc
 * alone in hwloc_probe (a small program without sanitizers, next to this
 * one, spawned with the input on its stdin); inputs that crash or hang it
 * are skipped, which keeps the fuzzer on coremap's code. */
static bool hwloc_survives(const char *xml, size_t len)
{
	char *const argv[] = { probe_path, NULL };
	posix_spawn_file_actions_t fa;
	int status, rc;
	pid_t pid;

	if (ftruncate(probe_fd, 0) || pwrite(probe_fd, xml, len, 0) != (ssize_t)len ||
	    lseek(probe_fd, 0, SEEK_SET) != 0)
		abort();
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, probe_fd, 0);  /* it prints nothing */
	rc = posix_spawn(&pid, probe_path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		fprintf(stderr, "fuzz_topo: cannot run %s: %s\n", probe_path, strerror(rc));
		abort();
	}
	while (waitpid(pid, &status, 0) != pid)
		if (errno != EINTR)  /* libFuzzer's timeout timer interrupts */
			abort();
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		abort();             /* the probe itself failed */
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void check_plan(const struct coremap_topo *t, enum coremap_strategy s, const int *out,
		       int n, int reserved, const char *why)
{
	for (int i = 0; i < n; i++) {
		int pu = coremap_topo_pu_by_os(t, out[i]);

		if (pu < 0 || !coremap_topo_pu_online(t, pu) || (reserved >= 0 && out[i] == reserved)) {
			fprintf(stderr, "fuzz_topo: %s plan of %d vCPUs puts vCPU %d on CPU %d "
				"(PU %d, online %d, reserved CPU %d): %s\n", coremap_strategy_name(s),
				n, i, out[i], pu, pu >= 0 && coremap_topo_pu_online(t, pu), reserved,
				why);
			for (pu = 0; pu < coremap_topo_nr_pus(t); pu++)
				fprintf(stderr, "  PU %d: os %d package %d numa %d core %d l3 %d online %d\n",
					pu, coremap_topo_pu_os_index(t, pu), coremap_topo_pu_package(t, pu),
					coremap_topo_pu_numa(t, pu), coremap_topo_pu_core(t, pu),
					coremap_topo_pu_l3(t, pu), coremap_topo_pu_online(t, pu));
			abort();
		}
	}
}

static void plan_all(struct coremap_topo *t, int reserved)
{
	static struct coremap_vcpu_metrics m[FUZZ_MAX_VCPUS];
	static int out[FUZZ_MAX_VCPUS], map[FUZZ_MAX_VCPUS];
	static double busy[FUZZ_BUSY];
	static const enum coremap_strategy strategies[] = {
		COREMAP_PACK, COREMAP_SPREAD, COREMAP_ADAPTIVE, COREMAP_EXPLICIT,
	};
	int n = coremap_topo_nr_pus(t), counts[3], i, c, s;
	struct coremap_goal g = {
		.memory_intensive_llc_per_kinstr = 5, .noisy_run_delay_pct = 20,
		.reserved_cpus = &reserved, .nr_reserved = reserved >= 0,
		.explicit_map = map, .pu_busy_pct = busy, .nr_pu_busy = FUZZ_BUSY,
	};
	char why[512];

	counts[0] = 1;
	counts[1] = n < FUZZ_MAX_VCPUS ? n : FUZZ_MAX_VCPUS;
	counts[2] = n + 3 < FUZZ_MAX_VCPUS ? n + 3 : FUZZ_MAX_VCPUS;
	for (i = 0; i < FUZZ_BUSY; i++)
		busy[i] = (i * 37) % 101;
	for (i = 0; i < FUZZ_MAX_VCPUS; i++) {
		m[i] = (struct coremap_vcpu_metrics){
			.llc_misses_per_kinstr = i % 3 ? (i % 7) * 2.0 : -1,
			.run_delay_pct = (i * 13) % 50, .cpu_pct = 100 - i % 100,
			.cur_pcpu = coremap_topo_pu_os_index(t, i % n),
		};
		map[i] = coremap_topo_pu_os_index(t, (i * 5) % n);
	}
	for (c = 0; c < 3; c++) {
		g.nr_explicit = counts[c];
		for (s = 0; s < 4; s++) {
			g.prefer_energy = c == 1;
			if (coremap_plan(t, strategies[s], m, counts[c], &g, out, why, sizeof(why)) == 0)
				check_plan(t, strategies[s], out, counts[c], reserved, why);
		}
		/* without the load table the noisy rule runs on run delay */
		g.pu_busy_pct = NULL;
		g.nr_pu_busy = 0;
		if (coremap_plan(t, COREMAP_ADAPTIVE, m, counts[c], &g, out, why, sizeof(why)) == 0)
			check_plan(t, COREMAP_ADAPTIVE, out, counts[c], reserved, why);
		g.pu_busy_pct = busy;
		g.nr_pu_busy = FUZZ_BUSY;
	}
	/* explicit maps that are wrong: too short, and naming a CPU no topology has */
	g.nr_explicit = counts[2] - 1;
	if (coremap_plan(t, COREMAP_EXPLICIT, m, counts[2], &g, out, why, sizeof(why)) == 0)
		abort();
	g.nr_explicit = counts[2];
	map[counts[2] - 1] = -5;
	if (coremap_plan(t, COREMAP_EXPLICIT, m, counts[2], &g, out, why, sizeof(why)) == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coremap_topo *t;
	char *xml = malloc(size + 1);
	int n, i;

	if (!xml)
		abort();
	memcpy(xml, data, size);
	xml[size] = 0;
	if (size >= INT_MAX || !hwloc_survives(xml, size) || cm_topo_load_xml(xml, size, &t)) {
		free(xml);
		return 0;
	}
	n = coremap_topo_nr_pus(t);
	for (i = 0; i < n; i++) {
		int os = coremap_topo_pu_os_index(t, i);

		coremap_topo_pu_package(t, i);
		coremap_topo_pu_numa(t, i);
		coremap_topo_pu_core(t, i);
		coremap_topo_pu_l3(t, i);
		if (os >= 0 && coremap_topo_pu_by_os(t, os) < 0)
			abort();
	}
	coremap_topo_pu_by_os(t, -1);
	coremap_topo_pu_by_os(t, 1 << 20);
	plan_all(t, -1);
	plan_all(t, coremap_topo_pu_os_index(t, n - 1));
	if (n > 1) {
		coremap_topo_set_online(t, 0, false);
		plan_all(t, -1);
	}
	coremap_topo_free(t);
	free(xml);
	return 0;
}
