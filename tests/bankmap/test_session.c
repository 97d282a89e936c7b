/*
 * bankmap in a real run on this host (one NUMA node): `avmm -v run` under a
 * profile with bankmap enabled binds guest RAM to node 0 before the guest
 * runs, says so, and /metrics shows guest RAM by node equal to what the
 * sampler found resident; a profile asking for node 1 is refused with a
 * message naming node 1 and the nodes that exist, and the guest still
 * completes. Written-page sets: with written_sets = yes the vCPU's set from
 * KVM's dirty ring holds the range memwrite writes (and little else); with
 * auto on a one-node host tracking stays off and the run says so.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
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

struct run { pid_t pid; char dir[64], profile[96], out[96]; int port; };

/* A profile file under a temp folder: performance with extra lines. */
static void prepare(struct run *r, const char *extra)
{
	FILE *f;

	snprintf(r->dir, sizeof(r->dir), "/tmp/avmm-bmsess-XXXXXX");
	cr_assert(mkdtemp(r->dir));
	snprintf(r->profile, sizeof(r->profile), "%s/bm.ini", r->dir);
	snprintf(r->out, sizeof(r->out), "%s/out.txt", r->dir);
	f = fopen(r->profile, "w");
	cr_assert(f);
	fprintf(f, "[main]\ninclude = performance\n[bankmap]\nenabled = yes\n"
		"sample_pages_per_tick = 65536\n%s", extra);
	fclose(f);
	r->port = 20000 + (int)(getpid() % 20000);
}

/* avmm -v run (own loop, no socket) of a guest with cmdline, output to out. */
static void start_guest(struct run *r, const char *guest, const char *cmd)
{
	char port[16];

	snprintf(port, sizeof(port), "%d", r->port);
	r->pid = fork();
	cr_assert(r->pid >= 0);
	if (!r->pid) {
		int fd = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		setenv("AVMM_RUN_DIR", r->dir, 1);
		execl(build_path("avmm"), "avmm", "-v", "run", "--no-agent", "--socket", "",
		      "--profile", r->profile, "--metrics", port, "--mem", "64M",
		      build_path(guest), "--cmdline", cmd, (char *)NULL);
		_exit(127);
	}
}

/* compute.elf for secs */
static void start(struct run *r, int secs)
{
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "secs=%d", secs);
	start_guest(r, "guests/compute.elf", cmd);
}

static int finish(struct run *r, int ms)
{
	int st = 0;

	for (int i = 0; i < ms / 20; i++) {
		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			r->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		util_sleep_ns(20000000);
	}
	kill(r->pid, SIGKILL);
	waitpid(r->pid, &st, 0);
	r->pid = 0;
	return -1;
}

static void cleanup(struct run *r)
{
	char path[160];

	unlink(r->profile);
	unlink(r->out);
	snprintf(path, sizeof(path), "%s/avmm.state", r->dir);
	unlink(path);
	rmdir(r->dir);
}

/* The value of the first line starting with series (name{labels}), or -1. */
static double metric(const char *text, const char *series)
{
	const char *p = text;
	size_t n = strlen(series);

	while ((p = strstr(p, series))) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

Test(bankmap_session, guest_ram_bound_to_node_0_and_metrics_match_the_sample, .timeout = 90)
{
	struct run r;
	char *body = NULL, *log;
	double node0 = -1, present = -1, complete = 0, remote = -1;

	require_kvm();
	prepare(&r, "policy = local\nstrict = yes\n");
	start(&r, 6);
	/* until a full pass (64 MiB = 16384 pages: one tick at 65536 per tick) */
	for (int i = 0; i < 300 && complete != 1; i++) {
		util_sleep_ns(50000000);
		free(body);
		body = NULL;
		if (http_get(r.port, "/metrics", &body, NULL, 0) != 200 || !body)
			continue;
		complete = metric(body, "avmm_guest_memory_sample_complete{vm=\"avmm\"}");
		node0 = metric(body, "avmm_guest_memory_bytes{vm=\"avmm\",node=\"0\"}");
		present = metric(body, "avmm_guest_memory_sampled_pages{vm=\"avmm\",state=\"present\"}");
		remote = metric(body, "avmm_vcpu_remote_memory_pct{vm=\"avmm\",vcpu=\"0\"}");
	}
	cr_assert_eq(complete, 1, "no complete sample in /metrics:\n%s", body ? body : "(none)");
	cr_assert_gt(node0, 0, "guest RAM on node 0: %g", node0);
	cr_assert_eq(node0, present * 4096, "node 0 holds every resident page once the pass is "
		     "complete: %g vs %g pages", node0, present);
	cr_assert_leq(node0, 64.0 * 1024 * 1024);
	cr_assert_eq(remote, 0, "one node: nothing is remote (%g)", remote);
	cr_assert(strstr(body, "avmm_bankmap_migration_pages{vm=\"avmm\",state=\"total\"}"),
		  "the worker's progress is exported");
	free(body);
	cr_assert_eq(finish(&r, 60000), 0, "the guest powers off (S5): avmm exits 0");
	log = file_text(r.out);
	cr_assert(log && strstr(log, "bankmap: guest RAM 64 MiB bound to node 0 (local, strict)"),
		  "%s", log ? log : "(no output)");
	cr_assert(strstr(log, "ok=1"), "%s", log);
	free(log);
	cleanup(&r);
}

Test(bankmap_session, a_missing_node_is_refused_and_the_guest_runs_unbound, .timeout = 90)
{
	struct run r;
	char *log;

	require_kvm();
	if (access("/sys/devices/system/node/node1", F_OK) == 0)
		cr_skip_test("this host has a node 1: the refusal needs a machine without one");
	prepare(&r, "policy = explicit\nnodes = 1\n");
	start(&r, 1);
	cr_assert_eq(finish(&r, 60000), 0, "the guest must still complete (power-off: exit 0)");
	log = file_text(r.out);
	cr_assert(log);
	cr_assert(strstr(log, "node 1 does not exist"), "%s", log);
	cr_assert(strstr(log, "existing nodes: 0"), "%s", log);
	cr_assert(strstr(log, "left unbound"), "%s", log);
	cr_assert(strstr(log, "ok=1"), "%s", log);
	cr_assert_null(strstr(log, "bound to node"), "%s", log);
	free(log);
	cleanup(&r);
}

Test(bankmap_session, written_sets_yes_holds_the_range_the_guest_writes, .timeout = 150)
{
	struct run r;
	char *body = NULL, *log;
	double written = -1, remote = -1, sets = -1, lost = -1, want = (1 << 20) / 4096;

	require_kvm();
	prepare(&r, "policy = local\nwritten_sets = yes\n");
	/* 1 MiB at 8 MiB, rewritten for a few seconds (about 20 ms a pass here) */
	start_guest(&r, "guests/memwrite.elf", "start=8M bytes=1M passes=300");
	for (int i = 0; i < 600 && written < want; i++) {
		util_sleep_ns(50000000);
		free(body);
		body = NULL;
		if (http_get(r.port, "/metrics", &body, NULL, 0) != 200 || !body)
			continue;
		written = metric(body, "avmm_vcpu_written_pages{vm=\"avmm\",vcpu=\"0\"}");
		remote = metric(body, "avmm_vcpu_remote_memory_pct{vm=\"avmm\",vcpu=\"0\"}");
		sets = metric(body, "avmm_bankmap_written_sets{vm=\"avmm\"}");
		lost = metric(body, "avmm_dirty_lost_entries_total{vm=\"avmm\"}");
	}
	cr_assert(body, "no /metrics");
	if (strstr(body, "avmm_dirty_tracking_info{vm=\"avmm\",mode=\"bitmap\"")) {
		finish(&r, 120000);
		cleanup(&r);
		cr_skip_test("this host's KVM has no dirty ring (KVM_CAP_DIRTY_LOG_RING): one set "
			     "for the VM, no per-vCPU set");
	}
	cr_assert(strstr(body, "avmm_dirty_tracking_info{vm=\"avmm\",mode=\"ring\",per_vcpu=\"yes\""),
		  "%s", body);
	cr_assert_geq(written, want, "vcpu0's set: %g pages, the guest writes %g (lost ring entries: "
		      "%g)\n%s", written, want, lost, body);
	/* besides the range the guest writes only its image's data, bss and stack */
	cr_assert_leq(written, want + 8, "%g pages", written);
	cr_assert_eq(sets, 1, "remote shares from written pages");
	cr_assert_eq(remote, 0, "one node: none of its written pages is remote (%g)", remote);
	cr_assert(lost >= 0, "ring overruns are counted in /metrics");
	cr_assert(strstr(body, "avmm_dirty_ring_full_exits_total{vm=\"avmm\"}"));
	free(body);
	cr_assert_eq(finish(&r, 120000), 0, "the guest powers off (S5): avmm exits 0");
	log = file_text(r.out);
	cr_assert(log && strstr(log, "bankmap: written-page sets on: written_sets = yes; KVM's dirty "
				"ring, 4096 entries per vCPU"), "%s", log ? log : "(no output)");
	cr_assert(strstr(log, "pages=256 ok=1"), "%s", log);
	free(log);
	cleanup(&r);
}

Test(bankmap_session, written_sets_auto_stays_off_on_one_node, .timeout = 90)
{
	struct run r;
	char *body = NULL, *log;
	double sets = -1;

	require_kvm();
	if (access("/sys/devices/system/node/node1", F_OK) == 0)
		cr_skip_test("this host has a node 1: auto tracks writes there");
	prepare(&r, "policy = local\nwritten_sets = auto\n");
	start(&r, 3);
	for (int i = 0; i < 300 && sets < 0; i++) {
		util_sleep_ns(50000000);
		free(body);
		body = NULL;
		if (http_get(r.port, "/metrics", &body, NULL, 0) == 200 && body)
			sets = metric(body, "avmm_bankmap_written_sets{vm=\"avmm\"}");
	}
	cr_assert_eq(sets, 0, "remote shares over all resident pages\n%s", body ? body : "(none)");
	cr_assert(strstr(body, "avmm_dirty_tracking_info{vm=\"avmm\",mode=\"off\",per_vcpu=\"no\","
			 "why=\"off: 1 NUMA node with memory"), "%s", body);
	cr_assert_null(strstr(body, "avmm_vcpu_written_pages"), "no sets, no sizes");
	free(body);
	cr_assert_eq(finish(&r, 60000), 0, "the guest powers off (S5): avmm exits 0");
	log = file_text(r.out);
	cr_assert(log && strstr(log, "bankmap: written-page sets off: 1 NUMA node with memory, "
				"nothing can be remote (written_sets = auto"), "%s", log ? log : "(no output)");
	free(log);
	cleanup(&r);
}
