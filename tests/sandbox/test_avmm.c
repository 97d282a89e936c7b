/*
 * The real avmm under the default --seccomp kill: every test guest, the
 * metrics server with a scrape, traces and an experiment complete with their
 * normal exit status and no seccomp report; /proc shows each thread's filter
 * and capabilities.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "common/util.h"
#include "tests/lib/run_helpers.h"

static char out[1 << 16];

static void assert_clean_run(const char *const args[], int want)
{
	int rc = run_avmm(out, sizeof(out), args);

	cr_assert_eq(rc, want, "avmm %s %s exited %d, expected %d:\n%s", args[0], args[1], rc,
		     want, out);
	cr_assert_null(strstr(out, "seccomp"), "a seccomp report or error:\n%s", out);
}

Test(avmm_sandbox, hello_pio_loop_and_smp, .timeout = 120)
{
	char v[32];

	require_kvm();
	assert_clean_run((const char *[]){ "run", build_path("guests/hello.elf"), "--socket", "",
					   NULL }, 0);
	cr_assert_eq(result_value(out, "hello", "ok", v, sizeof(v)), 0, "%s", out);
	assert_clean_run((const char *[]){ "run", build_path("guests/pio-loop.elf"), "--socket",
					   "", NULL }, 0);
	cr_assert_eq(result_value(out, "pio-loop", "ok", v, sizeof(v)), 0, "%s", out);
	cr_assert_str_eq(v, "1");
	assert_clean_run((const char *[]){ "run", "--vcpus", "2", build_path("guests/smp.elf"),
					   "--socket", "", NULL }, 0);
	cr_assert(strstr(out, "guest=smp"), "%s", out);
}

/* A VM of 16 vCPUs: telemetry's BPF batch of KVM statistics, loaded before
 * the sandbox, runs under it (the log at -v says it is in use). */
Test(avmm_sandbox, sixteen_vcpus_with_the_bpf_batch, .timeout = 120)
{
	const char *no;

	require_kvm();
	assert_clean_run((const char *[]){ "-v", "run", "--vcpus", "16",
					   build_path("guests/compute.elf"), "--socket", "",
					   NULL }, 0);
	no = strstr(out, "no BPF batch: ");
	if (no)
		cr_skip_test("the guest ran; the BPF batch cannot load here: %.200s", no + 14);
	cr_assert(strstr(out, "KVM statistics of 16 vCPUs in one BPF call per sample"), "%s", out);
}

Test(avmm_sandbox, traces_and_profiles, .timeout = 120)
{
	char jl[64], csv[64];
	struct stat a, b;

	require_kvm();
	snprintf(jl, sizeof(jl), "/tmp/avmm-sb-%d.jsonl", (int)getpid());
	snprintf(csv, sizeof(csv), "/tmp/avmm-sb-%d.csv", (int)getpid());
	assert_clean_run((const char *[]){ "run", build_path("guests/compute.elf"), "--cmdline",
					   "ms=2500", "--trace", jl, "--trace", csv, "--socket", "",
					   "--profile", "performance", NULL }, 0);
	cr_assert(stat(jl, &a) == 0 && a.st_size > 0, "no JSON-lines record written");
	cr_assert(stat(csv, &b) == 0 && b.st_size > 0, "no CSV trace written");
	cr_assert(util_read_file(NULL, csv, out, sizeof(out)) > 0 && strchr(out, '\n') &&
		  strchr(strchr(out, '\n') + 1, '\n'),
		  "the CSV trace has no record:\n%s", out);
	unlink(jl);
	/* Telemetry's own sampler thread (no loop) writes the trace. */
	assert_clean_run((const char *[]){ "run", build_path("guests/compute.elf"), "--cmdline",
					   "ms=1500", "--no-adapt", "--trace", jl, "--socket", "",
					   NULL }, 0);
	cr_assert(stat(jl, &a) == 0 && a.st_size > 0, "no JSON-lines record from the sampler");
	unlink(jl);
	unlink(csv);
}

/* Starts avmm with args in the background, output into a temp file. */
static pid_t spawn_avmm(const char *const args[], char *log, size_t log_len)
{
	const char *argv[32] = { build_path("avmm") };
	pid_t pid;
	int i;

	snprintf(log, log_len, "/tmp/avmm-sb-%d-%d.log", (int)getpid(), rand());
	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		freopen(log, "w", stdout);
		dup2(1, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int http_status(int port, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	char req[128], buf[256] = "";
	int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1;
	ssize_t n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (void *)&a, sizeof(a)) == 0) {
		snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
		if (write(fd, req, strlen(req)) > 0 && (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = 0;
			sscanf(buf, "HTTP/1.%*d %d", &code);
		}
	}
	close(fd);
	return code;
}

static int wait_exit(pid_t pid)
{
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(avmm_sandbox, metrics_scrape, .timeout = 120)
{
	int port = 21000 + getpid() % 20000, i, code = -1, rc;
	char addr[32], log[128];
	pid_t pid;

	require_kvm();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	pid = spawn_avmm((const char *[]){ "run", "--metrics", addr, "--socket", "",
					   build_path("guests/compute.elf"), "--cmdline", "ms=2500",
					   NULL }, log, sizeof(log));
	for (i = 0; i < 100 && code != 200; i++) {
		util_sleep_ns(50000000);
		code = http_status(port, "/metrics");
	}
	cr_assert_eq(code, 200, "no /metrics on port %d", port);
	cr_assert_eq(http_status(port, "/"), 200);
	cr_assert_eq(http_status(port, "/api/samples?since=0"), 200);
	cr_assert_eq(http_status(port, "/api/decisions"), 200);
	cr_assert_eq(http_status(port, "/nothing"), 404);
	rc = wait_exit(pid);
	util_read_file(NULL, log, out, sizeof(out));
	unlink(log);
	cr_assert_eq(rc, 0, "exit %d (0: the guest powered off):\n%s", rc, out);
	cr_assert_null(strstr(out, "seccomp"), "%s", out);
}

Test(avmm_sandbox, experiment_quick_compare, .timeout = 180)
{
	char path[] = "/tmp/avmm-quick-XXXXXX", cmd[1024], *guest;
	int fd;

	require_kvm();
	/* the shipped file with this build's guest (make check builds elsewhere) */
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	guest = realpath(build_path("guests/compute.elf"), NULL);
	cr_assert(guest, "no %s: run make guests", build_path("guests/compute.elf"));
	snprintf(cmd, sizeof(cmd), "sed -e 's|^guest = .*|guest = %s|' -e 's|^report = .*|report = %s.html|' "
		 "policies/experiments/quick-compare.ini > %s", guest, path, path);
	free(guest);
	cr_assert_eq(system(cmd), 0);
	assert_clean_run((const char *[]){ "experiment", "--quiet", path, NULL }, 0);
	/* the report is written by the sandboxed program too */
	snprintf(cmd, sizeof(cmd), "%s.html", path);
	cr_assert_eq(access(cmd, R_OK), 0, "no report %s", cmd);
	unlink(cmd);
	unlink(path);
}

Test(avmm_sandbox, bad_mode_is_refused)
{
	int rc = run_avmm(out, sizeof(out), (const char *[]){ "run", "--seccomp", "strict",
		build_path("guests/hello.elf"), NULL });

	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "--seccomp 'strict': expected off, log or kill"), "%s", out);
}

/* One thread's "Seccomp:", "Seccomp_filters:" and "CapEff:" by its name. */
struct thread_st {
	int seccomp, filters;
	unsigned long long cap_eff;
};

static int thread_status(pid_t pid, const char *name, struct thread_st *st)
{
	char path[320], buf[4096], comm[32];
	struct dirent *e;
	const char *p;
	DIR *d;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
		if (util_read_file(NULL, path, comm, sizeof(comm)) <= 0)
			continue;
		comm[strcspn(comm, "\n")] = 0;
		if (strcmp(comm, name))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
		if (util_read_file(NULL, path, buf, sizeof(buf)) <= 0)
			continue;
		p = strstr(buf, "\nSeccomp:");
		st->seccomp = p ? atoi(p + 9) : -1;
		p = strstr(buf, "\nSeccomp_filters:");
		st->filters = p ? atoi(p + 17) : -1;
		p = strstr(buf, "\nCapEff:");
		st->cap_eff = p ? strtoull(p + 8, NULL, 16) : ~0ull;
		found = 0;
	}
	closedir(d);
	return found;
}

static void wait_thread(pid_t pid, const char *name, struct thread_st *st)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (thread_status(pid, name, st) == 0)
			return;
		util_sleep_ns(50000000);
	}
	cr_assert_fail("no thread %s in avmm (pid %d)", name, (int)pid);
}

Test(avmm_sandbox, proc_shows_filters_and_capabilities, .timeout = 120)
{
	struct thread_st m, v0, v1, drv, sig, mhd;
	int port = 22000 + getpid() % 20000;
	char addr[32], log[128];
	pid_t pid;

	require_kvm();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	pid = spawn_avmm((const char *[]){ "run", "--vcpus", "2", "--metrics", addr, "--socket",
					   "", build_path("guests/compute.elf"), "--cmdline",
					   "ms=20000", NULL }, log, sizeof(log));
	wait_thread(pid, "avmm-vcpu0", &v0);
	wait_thread(pid, "avmm-vcpu1", &v1);
	wait_thread(pid, "avmm-adapt", &drv);
	wait_thread(pid, "avmm-signals", &sig);
	wait_thread(pid, "MHD-single", &mhd);
	wait_thread(pid, "avmm", &m);
	util_sleep_ns(300000000);      /* each names itself just before its filter */
	thread_status(pid, "avmm-vcpu0", &v0);
	thread_status(pid, "avmm-vcpu1", &v1);
	thread_status(pid, "avmm-adapt", &drv);
	thread_status(pid, "avmm-signals", &sig);
	thread_status(pid, "MHD-single", &mhd);
	kill(pid, SIGTERM);
	cr_assert_eq(wait_exit(pid), 128 + SIGTERM);
	unlink(log);
	/* main: its deny-list (none in sanitizer builds); every other thread:
	 * main's plus its own */
#if defined(__SANITIZE_ADDRESS__)
	cr_assert_eq(m.filters, 0);
#else
	cr_assert_eq(m.seccomp, 2);
	cr_assert_eq(m.filters, 1);
#endif
	cr_assert(v0.seccomp == 2 && v0.filters == m.filters + 1, "vcpu0: Seccomp %d, filters %d",
		  v0.seccomp, v0.filters);
	cr_assert(v1.seccomp == 2 && v1.filters == m.filters + 1);
	cr_assert(drv.seccomp == 2 && drv.filters == m.filters + 1);
	cr_assert(sig.seccomp == 2 && sig.filters == m.filters + 1);
	cr_assert(mhd.seccomp == 2 && mhd.filters == m.filters + 1,
		  "libmicrohttpd's thread must inherit the metrics filter (filters %d)",
		  mhd.filters);
	cr_assert_eq(v0.cap_eff, 0, "vcpu0 CapEff %llx", v0.cap_eff);
	cr_assert_eq(v1.cap_eff, 0);
	cr_assert_eq(sig.cap_eff, 0);
	cr_assert_eq(mhd.cap_eff, 0);
	cr_assert_eq(drv.cap_eff, m.cap_eff & util_sandbox_kept_caps(UTIL_SANDBOX_DRIVER),
		     "driver CapEff %llx, main %llx", drv.cap_eff, m.cap_eff);
	if (m.cap_eff == 0)
		cr_skip_test("avmm ran without capabilities: the drop could only be checked as 0");
}

Test(avmm_sandbox, off_installs_no_filter, .timeout = 60)
{
	struct thread_st v0, m;
	char log[128];
	pid_t pid;

	require_kvm();
	pid = spawn_avmm((const char *[]){ "run", "--seccomp", "off", "--socket", "",
					   build_path("guests/compute.elf"), "--cmdline",
					   "ms=20000", NULL }, log, sizeof(log));
	wait_thread(pid, "avmm-vcpu0", &v0);
	wait_thread(pid, "avmm", &m);
	util_sleep_ns(300000000);
	thread_status(pid, "avmm-vcpu0", &v0);
	kill(pid, SIGTERM);
	cr_assert_eq(wait_exit(pid), 128 + SIGTERM);
	unlink(log);
	cr_assert_eq(v0.seccomp, 0);
	cr_assert_eq(v0.cap_eff, m.cap_eff);
}
