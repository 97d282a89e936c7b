/* Proactive fault tolerance and the agent's part of the VM lifecycle, on
 * real VMs: an agent on a fake EDAC tree whose corrected-error count rises
 * migrates its memwrite VM to a waiting `avmm run --incoming` (the target
 * finishes ok=1 with status 0, the source exits 0, the decision is logged
 * with its reason); a target that is not there leaves the VM running with
 * the reason logged and a backoff; a target that takes the VM but never
 * says it runs it leaves the VM paused, not tried again (it may run there),
 * until it is resumed by hand; a paused VM leaves the agent's plan; and
 * control passes with a migrated VM (the agent lists the target's pid). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/bg_avmm.h"
#include "tests/lib/httpget.h"
#include "tests/lib/migpeer.h"
#include "tests/lib/promtool.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

#define MEMWRITE "bytes=1048576 stride=64 passes=8"
#define EDAC "/sys/devices/system/edac/mc/mc0"

static struct bg_avmm b;             /* folder, fake sysfs tree, the agent */
static pid_t kids[3];
static char agent_sock[160], agent_log[160];

static void teardown(void)
{
	bg_reap(kids, 3);
	bg_cleanup(&b);
}
TestSuite(ft, .fini = teardown, .timeout = 120);

/* build/avmm with args, its output in NAME.log of the test folder */
static pid_t spawn(const char *name, const char *const args[])
{
	char log[160];

	snprintf(log, sizeof(log), "%s/%s.log", b.dir, name);
	return bg_spawn(&b, log, -1, args);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void set_ce(const char *count)
{
	char path[256];

	snprintf(path, sizeof(path), "%s%s/ce_count", b.fsroot, EDAC);
	write_file(path, count);
}

/* The agent on the fake tree (EDAC mc0 at 0 errors), with a machine file
 * naming target (NULL: none) and [health] retry_ms 2000; --metrics on port
 * when port > 0. */
static void start_agent(const char *target, int port)
{
	char cmd[512], machine[160], profile[160], metrics[32];

	snprintf(cmd, sizeof(cmd), "mkdir -p %s%s && echo 0 > %s%s/ue_count", b.fsroot, EDAC,
		 b.fsroot, EDAC);
	cr_assert_eq(system(cmd), 0);
	set_ce("0\n");
	snprintf(machine, sizeof(machine), "%s/machine.ini", b.dir);
	snprintf(cmd, sizeof(cmd), "[migration]\ntarget = %s\n", target ? target : "unix:/none");
	write_file(machine, target ? cmd : "[dram]\nsource = none\n");
	snprintf(profile, sizeof(profile), "%s/ft.ini", b.dir);
	write_file(profile, "[main]\ninclude = balanced\n[health]\nretry_ms = 2000\n");
	snprintf(agent_sock, sizeof(agent_sock), "%s/agent.sock", b.run_dir);
	snprintf(agent_log, sizeof(agent_log), "%s/agent.log", b.dir);
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", port);
	b.pid = spawn("agent", (const char *[]){ "-v", "agent", "--profile", profile, "--fsroot",
						 b.fsroot, "--machine", machine,
						 port > 0 ? "--metrics" : NULL, metrics, NULL });
	for (int i = 0; i < 250 && vmm_ctl_call(agent_sock, NULL, NULL); i++)
		util_sleep_ns(20000000);
	cr_assert_eq(vmm_ctl_call(agent_sock, NULL, NULL), 0, "the agent did not answer");
}

/* memwrite (or compute secs=N when secs > 0) as NAME, [--incoming ADDR]. */
static pid_t start_vm(int slot, const char *name, const char *incoming, int secs)
{
	char sock[160], cmd[48];
	const char *args[20] = { "-v", "run", "--name", name, "--socket", sock, "--mem", "32M",
				 "--cmdline", cmd };
	int n = 10;

	snprintf(sock, sizeof(sock), "%s/%s.sock", b.run_dir, name);
	snprintf(cmd, sizeof(cmd), "%s", secs > 0 ? "secs=" : MEMWRITE);
	if (secs > 0)
		snprintf(cmd + 5, sizeof(cmd) - 5, "%d", secs);
	if (incoming)
		args[n++] = "--incoming", args[n++] = incoming;
	args[n++] = build_path(secs > 0 ? "guests/compute.elf" : "guests/memwrite.elf");
	kids[slot] = spawn(name, args);
	return kids[slot];
}

/* The agent's list answer (malloc'd) once pred holds on it, else NULL. */
static char *wait_list(const char *needle, bool present, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		char *ans = NULL;

		if (!vmm_ctl_call(agent_sock, "{\"cmd\":\"list\"}", &ans) &&
		    !strstr(ans, needle) == !present)
			return ans;
		free(ans);
		util_sleep_ns(50000000);
	}
	return NULL;
}

static bool wait_log(const char *path, const char *needle, int ms)
{
	for (int i = 0; i < ms / 100; i++) {
		char *t = file_text(path);
		bool hit = t && strstr(t, needle);

		free(t);
		if (hit)
			return true;
		util_sleep_ns(100000000);
	}
	return false;
}

static int finish(int slot, int secs)
{
	int st = 0;

	for (int i = 0; i < secs * 10; i++) {
		if (waitpid(kids[slot], &st, WNOHANG) == kids[slot]) {
			kids[slot] = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		util_sleep_ns(100000000);
	}
	return -1;
}

static void assert_ok_result(const char *name)
{
	char path[160], val[16];
	char *t;

	snprintf(path, sizeof(path), "%s/%s.log", b.dir, name);
	t = file_text(path);
	cr_assert(t);
	cr_assert_eq(result_value(t, "memwrite", "ok", val, sizeof(val)), 0, "%s: no result:\n%s",
		     name, t);
	cr_assert_str_eq(val, "1", "%s: the guest's verification failed:\n%s", name, t);
	free(t);
}

Test(ft, rising_corrected_errors_migrate_the_vm_to_the_target)
{
	char addr[160], *ans, *log, *body = NULL, why[2048];
	int port = 22000 + getpid() % 20000, rc;

	bg_prepare(&b);
	snprintf(addr, sizeof(addr), "unix:%s/in.sock", b.dir);
	start_agent(addr, port);
	start_vm(1, "tgt", addr, 0);
	start_vm(0, "src", NULL, 0);
	ans = wait_list("\"name\":\"src\"", true, 8000);
	cr_assert(ans, "the source VM did not register");
	free(ans);
	set_ce("50\n");   /* 50 corrected errors in a second: > 10 per 60 s */
	cr_assert_eq(finish(0, 60), 0, "the source exits 0 once the target holds the VM");
	/* while the target runs (it registers with this agent: one machine) */
	ans = wait_list("\"name\":\"tgt\"", true, 5000);
	cr_assert(ans, "the target did not register with the agent");
	free(ans);
	log = file_text(agent_log);
	cr_assert(log && strstr(log, "node predicted to fail: EDAC mc0 corrected errors rose 50 in"),
		  "the prediction and its reason are logged:\n%s", log);
	cr_assert(strstr(log, "> threshold 10 per 60 s"), "%s", log);
	cr_assert(strstr(log, "agent: health: migrate VM src (pid") && strstr(log, "migrated:"),
		  "the migration and its summary are logged:\n%s", log);
	free(log);
	/* /metrics: the count, the flag and the migration; promtool accepts it */
	for (int i = 0; i < 30; i++) {
		free(body);
		body = NULL;
		if (http_get(port, "/metrics", &body, NULL, 0) == 200 &&
		    strstr(body, "avmm_health_predicted_failure 1"))
			break;
		util_sleep_ns(100000000);
	}
	cr_assert(body && strstr(body, "avmm_health_predicted_failure 1"), "%s", body ?: "");
	cr_assert(strstr(body, "avmm_health_edac_errors{mc=\"0\",type=\"corrected\"} 50") &&
		  strstr(body, "avmm_health_source_up{source=\"edac\"} 1") &&
		  strstr(body, "avmm_health_migrations_total{result=\"ok\"} 1"), "%s", body);
	rc = promtool_check(body, why, sizeof(why));
	cr_assert(rc == 0 || rc == -ENOENT, "promtool refuses the exposition: %s", why);
	free(body);
	cr_assert_eq(finish(1, 90), 0, "the target ends with the guest's own status");
	assert_ok_result("tgt");
}

/* An agent with no VM still answers a scrape: the node's health is there
 * before any VM registers, and a prediction shows without a VM to move. */
Test(ft, an_idle_agent_serves_the_node_health)
{
	int port = 22000 + (getpid() + 7) % 20000;
	char *body = NULL;

	bg_prepare(&b);
	start_agent(NULL, port);
	for (int i = 0; i < 50 && http_get(port, "/metrics", &body, NULL, 0) != 200; i++) {
		free(body);
		body = NULL;
		util_sleep_ns(100000000);
	}
	cr_assert(body && strstr(body, "avmm_health_source_up{source=\"edac\"} 1") &&
		  strstr(body, "avmm_health_predicted_failure 0"), "%s", body ?: "(no answer)");
	set_ce("50\n");
	for (int i = 0; i < 40 && !strstr(body, "avmm_health_predicted_failure 1"); i++) {
		free(body);
		body = NULL;
		util_sleep_ns(100000000);
		if (http_get(port, "/metrics", &body, NULL, 0) != 200)
			body = strdup("");
	}
	cr_assert(strstr(body, "avmm_health_predicted_failure 1"), "%s", body);
	free(body);
}

Test(ft, an_absent_target_leaves_the_vm_running_with_the_reason_and_a_backoff)
{
	char addr[160], *log;
	int tries = 0;

	bg_prepare(&b);
	snprintf(addr, sizeof(addr), "unix:%s/nobody.sock", b.dir);
	start_agent(addr, 0);
	start_vm(0, "stay", NULL, 0);
	free(wait_list("\"name\":\"stay\"", true, 8000));
	set_ce("100\n");
	cr_assert(wait_log(agent_log, "failed, the VM runs on here", 8000),
		  "the failed migration is not logged");
	cr_assert(wait_log(agent_log, "next try in 2 s", 2000));
	util_sleep_ns(3000000000ull);
	cr_assert_eq(finish(0, 60), 0, "the VM ends by itself");
	assert_ok_result("stay");
	log = file_text(agent_log);
	for (char *p = log; (p = strstr(p, "failed, the VM runs on here")); p++)
		tries++;
	cr_log_info("%d tries", tries);
	cr_assert(strstr(log, "nobody.sock"), "the reason names the target:\n%s", log);
	cr_assert(tries >= 2, "it tries again after the backoff (%d tries)", tries);
	cr_assert(strstr(log, "next try in 4 s"), "the backoff doubles:\n%s", log);
	free(log);
}

Test(ft, an_unconfirmed_migration_leaves_the_vm_paused_and_untried)
{
	char addr[160], why[256], vm_sock[160], *log, *ans = NULL, *body = NULL;
	int lfd, tries = 0, port = 22000 + (getpid() + 13) % 20000;
	pthread_t th;

	bg_prepare(&b);
	snprintf(addr, sizeof(addr), "unix:%s/silent.sock", b.dir);
	lfd = vmm_migrate_listen(addr, why, sizeof(why));
	cr_assert_geq(lfd, 0, "%s", why);
	cr_assert_eq(pthread_create(&th, NULL, migpeer_silent_after_go, &lfd), 0);
	start_agent(addr, port);
	start_vm(0, "held", NULL, 0);
	free(wait_list("\"name\":\"held\"", true, 8000));
	set_ce("100\n");
	cr_assert(wait_log(agent_log, "unconfirmed, the VM is paused here", 15000),
		  "the unconfirmed migration is not logged:\n%s", file_text(agent_log));
	pthread_join(th, NULL);
	close(lfd);
	cr_assert_eq(migpeer_go, 'G', "the VM's avmm never told the target to run it");
	util_sleep_ns(3000000000ull);   /* past the 2 s retry */
	log = file_text(agent_log);
	for (char *p = log; (p = strstr(p, "migrate VM held")); p++)
		tries++;
	cr_assert_eq(tries, 1, "tried again though the VM may run at the target:\n%s", log);
	cr_assert_null(strstr(log, "next try in"), "%s", log);
	free(log);
	/* counted as unconfirmed, not as a refusal */
	cr_assert_eq(http_get(port, "/metrics", &body, NULL, 0), 200);
	cr_assert(strstr(body, "avmm_health_migrations_total{result=\"unconfirmed\"} 1") &&
		  strstr(body, "avmm_health_migrations_total{result=\"failed\"} 0"), "%s", body);
	free(body);
	cr_assert_eq(waitpid(kids[0], NULL, WNOHANG), 0, "the VM ended while paused");
	snprintf(vm_sock, sizeof(vm_sock), "%s/held.sock", b.run_dir);
	cr_assert_eq(vmm_ctl_call(vm_sock, "{\"cmd\":\"resume\"}", &ans), 0);
	cr_assert(ans && strstr(ans, "\"ok\":true"), "%s", ans ? ans : "");
	free(ans);
	cr_assert_eq(finish(0, 60), 0, "the VM ends by itself once resumed");
	assert_ok_result("held");
}

Test(ft, a_paused_vm_leaves_the_plan_and_comes_back_on_resume)
{
	char sock[160], out[4096], *ans;
	int rc;

	bg_prepare(&b);
	start_agent(NULL, 0);
	start_vm(0, "pz", NULL, 30);
	ans = wait_list("\"planned\":true", true, 8000);
	cr_assert(ans, "the VM did not register");
	free(ans);
	snprintf(sock, sizeof(sock), "%s/pz.sock", b.run_dir);
	rc = run_avmm(out, sizeof(out), (const char *[]){ "ctl", "--socket", sock, "pause", NULL });
	cr_assert_eq(rc, 0, "%s", out);
	ans = wait_list("\"state\":\"paused\"", true, 3000);
	cr_assert(ans, "the agent did not learn of the pause");
	cr_assert(strstr(ans, "\"planned\":false"), "%s", ans);
	free(ans);
	cr_assert(wait_log(agent_log, "all paused: nothing to plan", 2000),
		  "the agent still plans around the paused VM");
	rc = run_avmm(out, sizeof(out), (const char *[]){ "list", "--socket", agent_sock, NULL });
	cr_assert(rc == 0 && strstr(out, "(paused: not planned)"), "avmm list:\n%s", out);
	ans = NULL;
	cr_assert_eq(vmm_ctl_call(agent_sock, "{\"cmd\":\"stat\"}", &ans), 0);
	cr_assert(strstr(ans, "drives no VM"), "no loop, so no held ticks, while paused: %s", ans);
	free(ans);
	rc = run_avmm(out, sizeof(out), (const char *[]){ "ctl", "--socket", sock, "resume", NULL });
	cr_assert_eq(rc, 0, "%s", out);
	ans = wait_list("\"planned\":true", true, 3000);
	cr_assert(ans, "the resumed VM is not planned again");
	free(ans);
}

Test(ft, control_passes_with_a_migrated_vm)
{
	char addr[160], sock[160], out[4096], want[48], gone[48], *ans;
	int rc;

	bg_prepare(&b);
	start_agent(NULL, 0);
	snprintf(addr, sizeof(addr), "unix:%s/hand.sock", b.dir);
	start_vm(1, "after", addr, 0);
	start_vm(0, "before", NULL, 0);
	free(wait_list("\"name\":\"before\"", true, 8000));
	snprintf(sock, sizeof(sock), "%s/before.sock", b.run_dir);
	rc = run_avmm(out, sizeof(out), (const char *[]){ "ctl", "--socket", sock, "migrate", addr,
							  NULL });
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_eq(finish(0, 30), 0, "the source exits 0");
	snprintf(want, sizeof(want), "\"pid\":%d", (int)kids[1]);
	ans = wait_list(want, true, 5000);
	cr_assert(ans, "the target did not register with the agent");
	snprintf(gone, sizeof(gone), "\"name\":\"before\"");
	cr_assert_null(strstr(ans, gone), "the source is still listed: %s", ans);
	free(ans);
	rc = run_avmm(out, sizeof(out), (const char *[]){ "list", "--socket", agent_sock, NULL });
	cr_assert_eq(rc, 0, "%s", out);
	snprintf(want, sizeof(want), "%d", (int)kids[1]);
	cr_assert(strstr(out, "after") && strstr(out, want), "avmm list shows the target:\n%s",
		  out);
	cr_assert_eq(finish(1, 90), 0);
	assert_ok_result("after");
}

Test(ft, a_bad_machine_file_stops_the_agent_with_file_and_line)
{
	char machine[160], sock[160], out[4096];
	int rc;

	bg_prepare(&b);
	snprintf(machine, sizeof(machine), "%s/machine.ini", b.dir);
	write_file(machine, "[dram]\nsource = lab\n[migration]\ntarget = tcp:nohost\n");
	snprintf(sock, sizeof(sock), "%s/agent.sock", b.run_dir);
	rc = run_avmm(out, sizeof(out), (const char *[]){ "agent", "--socket", sock, "--machine",
							  machine, NULL });
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "machine.ini:4") && strstr(out, "tcp:HOST:PORT"), "%s", out);
}
