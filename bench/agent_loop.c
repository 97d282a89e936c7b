/*
 * The node agent's steady cost for one 1-vCPU VM, as an operator runs it:
 * `avmm -v agent --profile performance` and one `avmm run` of the idle hello
 * guest that registers with it (each in a temporary AVMM_RUN_DIR). Once the
 * agent's log says its loop went quiet, the CPU time of its loop thread
 * (avmm-adapt, from /proc/PID/task/TID/schedstat) over a 90 s window (three full samples), against
 * a thread of this program that only wakes at the profile's period over the
 * same window. The agent's quiet look reads the VM's run-delay page, mapped
 * from the VM (schedstat where that is not possible: a thread of another
 * process has no CPU clock it can read); its full samples read schedstat.
 * The quiet looks that woke the agent in the window (its log's "sampling
 * now") are counted: each brings a full sample.
 * AVMM_BUILD names the build to measure (another build: a before/after
 * comparison). Last line: agent_loop_vs_floor=X (target <= 1.2).
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "common/util.h"

#define WINDOW_NS 90000000000ull
#define PERIOD_NS 1000000000ull      /* performance's period_ms */

static char dir[64], log_path[128];

static pid_t spawn(const char *out, char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		if (!freopen(out, "w", stderr) || !freopen("/dev/null", "w", stdout))
			_exit(126);
		setenv("AVMM_RUN_DIR", dir, 1);
		setenv("AVMM_PROFILE_DIR", "policies/profiles", 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* The agent's log from byte from on: how many lines say what, the first
 * of them into first (what woke a quiet loop in the window). */
static int log_count(long from, const char *what, char *first, size_t len)
{
	char line[512];
	FILE *f = fopen(log_path, "r");
	int n = 0;

	first[0] = 0;
	if (f && !fseek(f, from, SEEK_SET))
		while (fgets(line, sizeof(line), f))
			if (strstr(line, what) && !n++)
				snprintf(first, len, "%s", line);
	if (f)
		fclose(f);
	return n;
}

static long log_size(void)
{
	FILE *f = fopen(log_path, "r");
	long n = f && !fseek(f, 0, SEEK_END) ? ftell(f) : 0;

	if (f)
		fclose(f);
	return n;
}

static bool log_has(const char *what)
{
	char buf[1 << 16];
	FILE *f = fopen(log_path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return strstr(buf, what) != NULL;
}

/* The tid of pid's thread named comm, or -1. */
static pid_t thread_named(pid_t pid, const char *comm)
{
	char path[320], name[32];
	struct dirent *e;
	pid_t tid = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return -1;
	while (tid < 0 && (e = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
		if (util_read_file(NULL, path, name, sizeof(name)) > 0 &&
		    !strncmp(name, comm, strlen(comm)) && name[strlen(comm)] == '\n')
			tid = atoi(e->d_name);
	}
	closedir(d);
	return tid;
}

static int64_t thread_cpu_ns(pid_t pid, pid_t tid)
{
	char path[96], buf[128];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	return util_read_file(NULL, path, buf, sizeof(buf)) > 0 ? strtoll(buf, NULL, 10) : -1;
}

int main(void)
{
	char avmm[256], guest[256], vm_log[128], first[512];
	struct bench_waker w = { .period_ns = PERIOD_NS };
	pid_t agent, vm, tid = -1;
	int64_t c0, c1;
	long log0;
	pthread_t th;
	double ratio = -1;
	int i;

	snprintf(avmm, sizeof(avmm), "%s/avmm", bench_build());
	snprintf(guest, sizeof(guest), "%s/guests/hello.elf", bench_build());
	snprintf(dir, sizeof(dir), "/tmp/avmm-agent-bench-XXXXXX");
	if (access(avmm, X_OK) || access(guest, R_OK) || !mkdtemp(dir)) {
		fprintf(stderr, "agent_loop: needs %s and %s (make; run from the source tree)\n",
			avmm, guest);
		return 1;
	}
	snprintf(log_path, sizeof(log_path), "%s/agent.log", dir);
	snprintf(vm_log, sizeof(vm_log), "%s/vm.log", dir);
	agent = spawn(log_path, (char *const[]){ avmm, "-v", "agent", "--profile", "performance",
						 NULL });
	util_sleep_ns(500000000);
	vm = spawn(vm_log, (char *const[]){ avmm, "run", "--name", "bench", "--console", "/dev/null",
					    guest, "--cmdline", "idle_ms=300000", NULL });
	/* quiet, or 20 s (an agent without quiet ticks is at its steady period then) */
	for (i = 0; i < 200 && !log_has("steady: a full sample every"); i++)
		util_sleep_ns(100000000);
	util_sleep_ns(1500000000);   /* past the first quiet looks */
	tid = thread_named(agent, "avmm-adapt");
	if (tid < 0) {
		fprintf(stderr, "agent_loop: no loop thread in the agent (see %s)\n", log_path);
		goto out;
	}
	if (i == 200)
		printf("the agent's log never said it went quiet (an avmm without quiet ticks?): "
		       "measured after 20 s\n");
	w.until_ns = util_now_ns() + WINDOW_NS;
	log0 = log_size();
	c0 = thread_cpu_ns(agent, tid);
	if (pthread_create(&th, NULL, bench_wake_at, &w))
		goto out;
	pthread_join(th, NULL);
	c1 = thread_cpu_ns(agent, tid);
	if (c0 < 0 || c1 < 0 || w.ns_per_wake <= 0 || thread_named(agent, "avmm-adapt") != tid) {
		fprintf(stderr, "agent_loop: the agent's loop thread changed during the window\n");
		goto out;
	}
	ratio = (double)(c1 - c0) / (w.ns_per_wake * (double)WINDOW_NS / (double)PERIOD_NS);
	printf("agent loop, one 1-vCPU VM (performance, period 1 s), "
	       "%.0f s window: %.1f us CPU per second; a thread that only wakes every 1 s: "
	       "%.1f us per wake-up; agent loop / floor = %.2f\n", WINDOW_NS / 1e9,
	       (double)(c1 - c0) / (WINDOW_NS / 1e9) / 1e3, w.ns_per_wake / 1e3, ratio);
	i = log_count(log0, "sampling now", first, sizeof(first));
	printf("quiet looks that brought a full sample in the window: %d%s%s", i,
	       i ? "; the first: " : "\n", first);
out:
	kill(vm, SIGTERM);
	waitpid(vm, NULL, 0);
	kill(agent, SIGTERM);
	waitpid(agent, NULL, 0);
	printf("agent_loop_vs_floor=%.2f\n", ratio);
	return ratio < 0;
}
