/* The node agent on real VMs: registration, one joint plan, VMs that end,
 * an agent that goes and comes back, --no-agent, credentials, and the power
 * cap it owns. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/bg_avmm.h"
#include "tests/lib/httpget.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

#define MAX_BG 4
static struct bg_avmm b;             /* folder, fake powercap tree, the agent */
static pid_t vm_pid[MAX_BG];
static char agent_sock[160], out[1 << 16];

static void teardown(void)
{
	bg_reap(vm_pid, MAX_BG);
	bg_cleanup(&b);
}
TestSuite(agent, .fini = teardown, .timeout = 90);

/* The agent under profile, on the fake powercap tree when fake_power, with
 * --metrics when metrics is not NULL; waits until it answers. */
static void start_agent(const char *profile, bool fake_power, const char *metrics)
{
	const char *args[12] = { "-v", "agent", "--profile", profile };
	char log[160];
	int n = 4;

	if (metrics) {
		args[n++] = "--metrics";
		args[n++] = metrics;
	}
	if (fake_power) {
		args[n++] = "--fsroot";
		args[n++] = b.fsroot;
		args[n++] = "--energy";
		args[n++] = "powercap";
	}
	snprintf(log, sizeof(log), "%s/agent.log", b.dir);
	snprintf(agent_sock, sizeof(agent_sock), "%s/agent.sock", b.run_dir);
	unlink(agent_sock);
	b.pid = bg_spawn(&b, log, -1, args);
	for (int i = 0; i < 250 && vmm_ctl_call(agent_sock, NULL, NULL); i++)
		util_sleep_ns(20000000);
	cr_assert_eq(vmm_ctl_call(agent_sock, NULL, NULL), 0, "the agent did not answer");
}

static pid_t start_guest(int i, const char *name, int cpu, const char *guest, const char *cmd,
			 bool no_agent)
{
	char log[160], sock[160];
	const char *args[] = { "-v", "run", "--name", name, "--socket", sock,
			       build_path(guest), "--cmdline", cmd,
			       no_agent ? "--no-agent" : NULL, NULL };

	snprintf(log, sizeof(log), "%s/%s.log", b.dir, name);
	snprintf(sock, sizeof(sock), "%s/%s.sock", b.run_dir, name);
	vm_pid[i] = bg_spawn(&b, log, cpu, args);
	return vm_pid[i];
}

static pid_t start_vm(int i, const char *name, int cpu, int secs, bool no_agent)
{
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "secs=%d", secs);
	return start_guest(i, name, cpu, "guests/compute.elf", cmd, no_agent);
}

/* The agent's list: how many VMs, and each vCPU thread's tid in order. */
static int list_vms(pid_t *tids, int max)
{
	char *ans = NULL, *p;
	int n = 0, vms = 0;

	if (vmm_ctl_call(agent_sock, "{\"cmd\":\"list\"}", &ans))
		return -1;
	for (p = ans; (p = strstr(p, "\"pid\":")); p++)
		vms++;
	for (p = ans; (p = strstr(p, "\"tid\":")) && n < max; p++)
		tids[n++] = atoi(p + 6);
	free(ans);
	return vms;
}

/* The one CPU a thread is pinned to, or -1 when it may run on several. */
static int pinned_cpu(pid_t tid)
{
	cpu_set_t set;
	int cpu = -1;

	if (sched_getaffinity(tid, sizeof(set), &set))
		return -2;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set)) {
			if (cpu >= 0)
				return -1;
			cpu = c;
		}
	return cpu;
}

static bool wait_vms(int want, pid_t *tids, int max, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		if (list_vms(tids, max) == want)
			return true;
		util_sleep_ns(50000000);
	}
	return false;
}

Test(agent, two_vms_on_one_core_end_apart_without_ping_pong)
{
	pid_t tids[4];
	int first[2] = { -1, -1 };
	uint64_t t0;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("needs 2 CPUs (this machine has 1)");
	bg_prepare(&b);
	start_agent("performance", false, NULL);
	start_vm(0, "vm1", 0, 12, false);
	start_vm(1, "vm2", 0, 12, false);
	cr_assert(wait_vms(2, tids, 4, 5000), "the VMs did not both register");
	t0 = util_now_ns();
	while (util_now_ns() - t0 < 3000000000ull) {
		first[0] = pinned_cpu(tids[0]);
		first[1] = pinned_cpu(tids[1]);
		if (first[0] >= 0 && first[1] >= 0 && first[0] != first[1])
			break;
		util_sleep_ns(50000000);
	}
	cr_log_info("apart after %.2f s", (util_now_ns() - t0) / 1e9);
	cr_assert(first[0] >= 0 && first[1] >= 0 && first[0] != first[1],
		  "the two vCPUs still share (cpu %d and %d) 3 s after both registered", first[0],
		  first[1]);
	/* settled: no ping-pong over the next 3 s */
	for (int i = 0; i < 30; i++) {
		util_sleep_ns(100000000);
		cr_assert_eq(pinned_cpu(tids[0]), first[0], "vm1's vCPU moved again");
		cr_assert_eq(pinned_cpu(tids[1]), first[1], "vm2's vCPU moved again");
	}
}

Test(agent, a_vm_that_ends_is_dropped_and_no_agent_opts_out)
{
	pid_t tids[4];
	int st;

	bg_prepare(&b);
	start_agent("balanced", false, NULL);
	start_vm(0, "short", -1, 1, false);
	cr_assert(wait_vms(1, tids, 4, 5000), "the VM did not register");
	waitpid(vm_pid[0], &st, 0);
	vm_pid[0] = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the guest's status (0: power-off) must come through");
	cr_assert(wait_vms(0, tids, 4, 3000), "the ended VM is still listed");
	start_vm(1, "alone", -1, 3, true);
	util_sleep_ns(1000000000);
	cr_assert_eq(list_vms(tids, 4), 0, "a --no-agent VM registered");
	st = run_avmm(out, sizeof(out), (const char *[]){ "list", "--socket", agent_sock, NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "loop: agent"), "%s", out);
}

Test(agent, a_vm_falls_back_to_its_own_loop_and_comes_back)
{
	char log[160], *text;
	pid_t tids[4];
	int st;

	bg_prepare(&b);
	start_agent("balanced", false, NULL);
	start_vm(0, "lasting", -1, 20, false);
	cr_assert(wait_vms(1, tids, 4, 5000));
	kill(b.pid, SIGKILL);
	waitpid(b.pid, NULL, 0);
	b.pid = 0;
	snprintf(log, sizeof(log), "%s/lasting.log", b.dir);
	for (int i = 0; i < 60; i++) {
		text = file_text(log);
		if (text && strstr(text, "runs its own loop"))
			break;
		free(text);
		text = NULL;
		util_sleep_ns(100000000);
	}
	cr_assert(text, "the VM did not say it runs its own loop when the agent went");
	free(text);
	start_agent("balanced", false, NULL);
	cr_assert(wait_vms(1, tids, 4, 5000), "the VM did not register again with a new agent");
	kill(vm_pid[0], SIGTERM);
	waitpid(vm_pid[0], &st, 0);
	vm_pid[0] = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM);
}

Test(agent, only_a_vm_registers_itself)
{
	char *ans = NULL, req[256];

	bg_prepare(&b);
	start_agent("balanced", false, NULL);
	snprintf(req, sizeof(req), "{\"cmd\":\"register\",\"name\":\"fake\",\"pid\":1,"
		 "\"vcpus\":[{\"tid\":1,\"stats_fd\":3}]}");
	cr_assert_eq(vmm_ctl_call(agent_sock, req, &ans), 0);
	cr_assert(strstr(ans, "not the caller"), "%s", ans);
	free(ans);
	snprintf(req, sizeof(req), "{\"cmd\":\"register\",\"name\":\"../x\",\"pid\":%d,"
		 "\"vcpus\":[{\"tid\":%d}]}", (int)getpid(), (int)getpid());
	cr_assert_eq(vmm_ctl_call(agent_sock, req, &ans), 0);
	cr_assert(strstr(ans, "\"ok\":false"), "%s", ans);
	free(ans);
}

Test(agent, the_agent_owns_the_power_cap_and_restores_it)
{
	pid_t tids[4];
	int st;

	bg_prepare(&b);
	start_agent("powercap", true, NULL);
	start_vm(0, "capped", -1, 30, false);
	cr_assert(wait_vms(1, tids, 4, 5000));
	cr_assert(wait_capped(&b, 15000), "the agent never set the cap");
	cr_assert_eq(fake_limit_uw(&b), 150000000);
	kill(b.pid, SIGTERM);
	st = bg_wait(&b, 10000);
	cr_assert_eq(st, 0, "agent exit status %d", st);
	cr_assert_eq(fake_limit_uw(&b), 200000000, "the agent did not put the limit back");
	/* killed: the next agent repairs it */
	start_agent("powercap", true, NULL);
	cr_assert(wait_capped(&b, 15000), "the new agent never set the cap");
	kill(b.pid, SIGKILL);
	bg_wait(&b, 5000);
	cr_assert_eq(fake_limit_uw(&b), 150000000);
	start_agent("balanced", true, NULL);
	for (int i = 0; i < 40 && fake_limit_uw(&b) != 200000000; i++)
		util_sleep_ns(50000000);
	cr_assert_eq(fake_limit_uw(&b), 200000000, "a new agent did not repair the killed one's cap");
}

Test(agent, the_shipped_unit_verifies)
{
	char cmd[1024], unit[160], *bin;
	int st;

	if (system("command -v systemd-analyze >/dev/null 2>&1"))
		cr_skip_test("systemd-analyze is not installed (Debian package systemd)");
	bg_prepare(&b);
	snprintf(unit, sizeof(unit), "%s/avmm-agent.service", b.dir);
	bin = realpath(build_path("avmm"), NULL);
	cr_assert(bin);
	snprintf(cmd, sizeof(cmd), "sed 's|/usr/local/bin/avmm|%s|' adapt/avmm-agent.service > %s && "
		 "systemd-analyze verify %s 2>&1", bin, unit, unit);
	free(bin);
	st = system(cmd);
	cr_assert_eq(st, 0, "systemd-analyze verify failed on adapt/avmm-agent.service");
}

/* Three 1-vCPU VMs on two cores cannot all be alone: the plan may change at
 * most once per min_dwell_ms (10 s in the shipped performance profile), so at
 * most 6 changes a minute; over 20 s that is at most 3. */
Test(agent, three_vms_on_two_cores_settle_with_bounded_moves)
{
	pid_t tids[4];
	int last[3] = { -3, -3, -3 }, changes = 0;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("needs 2 CPUs (this machine has 1)");
	bg_prepare(&b);
	start_agent("performance", false, NULL);
	start_vm(0, "t1", 0, 30, false);
	start_vm(1, "t2", 0, 30, false);
	start_vm(2, "t3", 0, 30, false);
	cr_assert(wait_vms(3, tids, 4, 8000), "the three VMs did not register");
	for (int s = 0; s < 200; s++) {   /* 20 s */
		bool changed = false;

		for (int i = 0; i < 3; i++) {
			int c = pinned_cpu(tids[i]);

			if (last[i] != -3 && c != last[i])
				changed = true;
			last[i] = c;
		}
		changes += changed;
		util_sleep_ns(100000000);
	}
	cr_log_info("%d plan changes in 20 s", changes);
	cr_assert_leq(changes, 3, "%d plan changes in 20 s: over the 6 a minute bound", changes);
	cr_assert(last[0] >= 0 || last[1] >= 0 || last[2] >= 0, "no vCPU was ever placed");
}

/* The agent's per-vCPU series carry each VM's own name and vCPU index, as a
 * VM's own avmm would export them. */
Test(agent, metrics_name_each_vm)
{
	char metrics[32], *body = NULL;
	pid_t tids[4];
	int port = 22000 + getpid() % 20000;

	bg_prepare(&b);
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", port);
	start_agent("balanced", false, metrics);
	start_vm(0, "alpha", -1, 10, false);
	start_vm(1, "beta", -1, 10, false);
	cr_assert(wait_vms(2, tids, 4, 5000));
	for (int i = 0; i < 50; i++) {
		free(body);
		body = NULL;
		util_sleep_ns(100000000);
		if (http_get(port, "/metrics", &body, NULL, 0) == 200 &&
		    strstr(body, "avmm_vcpu_pcpu{vm=\"alpha\",vcpu=\"0\"") &&
		    strstr(body, "avmm_vcpu_pcpu{vm=\"beta\",vcpu=\"0\""))
			break;
	}
	cr_assert(body && strstr(body, "avmm_vcpu_pcpu{vm=\"alpha\",vcpu=\"0\"") &&
		  strstr(body, "avmm_vcpu_pcpu{vm=\"beta\",vcpu=\"0\""), "%s", body ? body : "");
	free(body);
}

/* The exits /metrics gives vCPU i of VM vm, -1: no such series. */
static double exits_of(int port, const char *vm, int i)
{
	char want[96], *body = NULL, *p;
	double v = -1;

	snprintf(want, sizeof(want), "\navmm_vcpu_exits_total{vm=\"%s\",vcpu=\"%d\"", vm, i);
	if (http_get(port, "/metrics", &body, NULL, 0) == 200 && (p = strstr(body, want)) &&
	    (p = strchr(p, '}')))
		v = strtod(p + 1, NULL);
	free(body);
	return v;
}

/* Two VMs of 8 vCPUs: the agent reads the KVM statistics of all 16 in one
 * BPF call per sample (its log says so at -v), each vCPU's series counts its
 * exits, and when one VM ends the batch is rebuilt without it, no read
 * failing. */
Test(agent, the_agents_vcpus_share_one_bpf_read)
{
	char metrics[32], log[160], sock[2][160], *text = NULL;
	const char *name[2] = { "big1", "big2" };
	pid_t tids[32];
	int port = 22000 + getpid() % 20000;

	bg_prepare(&b);
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", port);
	start_agent("balanced", false, metrics);
	for (int i = 0; i < 2; i++) {
		const char *args[] = { "-v", "run", "--name", name[i], "--vcpus", "8", "--socket",
				       sock[i], build_path("guests/compute.elf"), "--cmdline",
				       i ? "secs=4" : "secs=20", NULL };

		snprintf(log, sizeof(log), "%s/%s.log", b.dir, name[i]);
		snprintf(sock[i], sizeof(sock[i]), "%s/%s.sock", b.run_dir, name[i]);
		vm_pid[i] = bg_spawn(&b, log, -1, args);
	}
	cr_assert(wait_vms(2, tids, 32, 5000), "the VMs did not both register");
	snprintf(log, sizeof(log), "%s/agent.log", b.dir);
	for (int i = 0; i < 40; i++) {
		free(text);
		text = file_text(log);
		if (text && (strstr(text, "in one BPF call") || strstr(text, "no BPF batch")))
			break;
		util_sleep_ns(100000000);
	}
	cr_assert(text, "no agent log");
	if (strstr(text, "no BPF batch: "))
		cr_skip_test("the BPF batch cannot load here: %.200s",
			     strstr(text, "no BPF batch: ") + 14);
	cr_assert(strstr(text, "KVM statistics of 16 vCPUs in one BPF call per sample"), "%s", text);
	for (int i = 0; i < 30 && exits_of(port, "big2", 0) <= 0; i++)
		util_sleep_ns(100000000);
	cr_assert_gt(exits_of(port, "big2", 0), 0, "vCPU 0 of big2 shows no exits");
	cr_assert(wait_vms(1, tids, 32, 15000), "big2 did not end and go from the list");
	util_sleep_ns(1500000000);
	free(text);
	text = file_text(log);
	cr_assert(text && !strstr(text, "batched read failed"), "%s", text ? text : "");
	cr_assert_eq(vmm_ctl_call(agent_sock, NULL, NULL), 0, "the agent stopped answering");
	free(text);
}

/* /metrics while VMs come and go: the agent reopens telemetry for each
 * change but keeps its one server, so no scrape is refused or fails. */
struct scraper {
	int port, ok, failed, last;
	volatile bool stop;
};

static void *scrape_loop(void *arg)
{
	struct scraper *sc = arg;

	while (!sc->stop) {
		char *body = NULL;
		int st = http_get(sc->port, "/metrics", &body, NULL, 0);

		if (st == 200 && body && strstr(body, "avmm_info{"))
			sc->ok++;
		else if (sc->ok)       /* counted once the server first answered */
			sc->failed++, sc->last = st;
		free(body);
		util_sleep_ns(5000000);
	}
	return NULL;
}

Test(agent, metrics_answer_every_scrape_while_vms_come_and_go)
{
	struct scraper sc = { .port = 22000 + (getpid() + 3) % 20000 };
	char metrics[32];
	pthread_t th;
	pid_t tids[4];

	bg_prepare(&b);
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", sc.port);
	start_agent("balanced", false, metrics);
	cr_assert_eq(pthread_create(&th, NULL, scrape_loop, &sc), 0);
	for (int i = 0; i < 100 && !sc.ok; i++)
		util_sleep_ns(20000000);
	cr_assert(sc.ok, "the agent's metrics server never answered");
	start_vm(0, "come1", -1, 2, false);
	cr_assert(wait_vms(1, tids, 4, 5000), "come1 did not register");
	start_vm(1, "come2", -1, 2, false);
	cr_assert(wait_vms(2, tids, 4, 5000), "come2 did not register");
	cr_assert(wait_vms(0, tids, 4, 20000), "the VMs did not end and go");
	util_sleep_ns(500000000);
	sc.stop = true;
	pthread_join(th, NULL);
	cr_log_info("%d scrapes answered, %d not", sc.ok, sc.failed);
	cr_assert_gt(sc.ok, 50);
	cr_assert_eq(sc.failed, 0, "%d of %d scrapes failed (the last: %d)", sc.failed,
		     sc.ok + sc.failed, sc.last);
}

/* A VM that ends while the agent's loop looks at it: the loop stops before
 * the VM's stats fds and run-delay page go. (The agent used to unmap the
 * page under a running loop, which went on looking at it until the rebuild
 * 250 ms later: SIGSEGV.) Quiet looks every 10 ms; one VM ends with SIGTERM
 * (it unregisters), the next with SIGKILL (the agent sees its pidfd). */
Test(agent, a_vm_that_ends_while_the_loop_looks_at_it)
{
	const int sig[] = { SIGTERM, SIGKILL };
	char prof[128], log[160], *text = NULL;
	pid_t tids[4];
	FILE *f;

	bg_prepare(&b);
	snprintf(prof, sizeof(prof), "%s/looks.ini", b.dir);
	snprintf(log, sizeof(log), "%s/agent.log", b.dir);
	f = fopen(prof, "w");
	cr_assert(f);
	fprintf(f, "[main]\ninclude = performance\n[goal]\nperiod_ms = 10\nfast_period_ms = 10\n"
		"steady_sample_ms = 60000\n");
	fclose(f);
	start_agent(prof, false, NULL);
	for (int r = 0; r < 2; r++) {
		start_vm(r, r ? "second" : "first", -1, 60, false);
		cr_assert(wait_vms(1, tids, 4, 5000), "round %d: the VM did not register", r);
		for (int i = 0; i < 100; i++, util_sleep_ns(100000000)) {
			free(text);
			text = file_text(log);
			if (text && strstr(text, "steady: a full sample every 60.0 s") &&
			    (r == 0 || strstr(strstr(text, "steady: a full sample every 60.0 s") + 1,
					      "steady: a full sample every 60.0 s")))
				break;
		}
		cr_assert(text && strstr(text, "steady: a full sample every 60.0 s"),
			  "round %d: the agent never went quiet:\n%s", r, text ? text : "");
		util_sleep_ns(200000000);     /* quiet looks at the VM */
		kill(vm_pid[r], sig[r]);
		waitpid(vm_pid[r], NULL, 0);
		vm_pid[r] = 0;
		util_sleep_ns(500000000);     /* past the rebuild */
		cr_assert(bg_alive(&b), "round %d: the agent died when the VM ended:\n%s", r,
			  text);
		cr_assert(wait_vms(0, tids, 4, 3000), "round %d: the ended VM is still listed", r);
	}
	free(text);
}

/* The agent's quiet ticks read each registered VM's run-delay page (mapped
 * from the VM's memfd; schedstat where KVM has no MSR filter), or, for a
 * guest that keeps its own steal-time area (guest_area), that area in the
 * VM process (/proc/PID/task/TID/mem): a steady VM makes the agent go quiet and
 * count its probes, and a hog put on the VM's CPU wakes it at the next
 * probe, by its run delay. */
static void quiet_then_hog(const char *guest, const char *cmdline, bool guest_area)
{
	char metrics[32], log[160], *body = NULL, *text = NULL, *p;
	pid_t tids[4];
	int port = 23000 + getpid() % 20000, cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1, i;
	double probes = 0;

	if (cpu < 1)
		cr_skip_test("needs 2 host CPUs");
	bg_prepare(&b);
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", port);
	snprintf(log, sizeof(log), "%s/agent.log", b.dir);
	start_agent("performance", false, metrics);
	start_guest(0, "gamma", cpu, guest, cmdline, false);
	cr_assert(wait_vms(1, tids, 4, 5000));
	for (i = 0; i < 300 && !(text && strstr(text, "steady: a full sample every 30.0 s")); i++) {
		free(text);
		util_sleep_ns(100000000);
		text = file_text(log);
	}
	cr_assert(text && strstr(text, "steady: a full sample every 30.0 s"),
		  "the agent never went quiet in 30 s:\n%s", text ? text : "");
	if (kvm_has_msr_filter())
		cr_assert(strstr(text, "(1 of 1 read from memory"), "the agent looks at the VM's "
			  "run-delay page, with no system call:\n%s", text);
	if (kvm_has_msr_filter() && guest_area)
		cr_assert(strstr(text, "the guest's own, read from the VM process's memory"),
			  "the agent looks at the guest's own area:\n%s", text);
	free(text);
	util_sleep_ns(2500000000ull);   /* two quiet looks at least */
	cr_assert_eq(http_get(port, "/metrics", &body, NULL, 0), 200);
	p = strstr(body, "\navmm_telemetry_probes_total{");
	cr_assert(p && (p = strchr(p, '}')), "%s", body);
	probes = atof(p + 1);
	free(body);
	cr_assert_geq(probes, 2, "probes counted: %g", probes);
	vm_pid[3] = fork();             /* a hog on the VM's CPU */
	if (vm_pid[3] == 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
		for (;;)
			;
	}
	text = NULL;
	for (i = 0; i < 50 && !(text && strstr(text, "sampling now")); i++) {
		free(text);
		util_sleep_ns(100000000);
		text = file_text(log);
	}
	cr_assert(text && strstr(text, "sampling now"), "no probe saw the hog within 5 s:\n%s",
		  text ? text : "");
	if (kvm_has_msr_filter())
		cr_assert(strstr(text, "vcpu0's run delay is"), "the look saw the run delay "
			  "rise:\n%s", text);
	free(text);
}

Test(agent, a_steady_vm_goes_quiet_and_a_hog_wakes_the_agent)
{
	quiet_then_hog("guests/compute.elf", "secs=40", false);
}

Test(agent, a_guest_with_its_own_steal_time_area_is_looked_at_there)
{
	quiet_then_hog("guests/steal.elf", "n=10 ms=40000", true);
}
