/*
 * bankmap in a real run on this host (one NUMA node): `avmm -v run` under a
 * profile with bankmap enabled binds guest RAM to node 0 before the guest
 * runs, says so, and /metrics shows guest RAM by node equal to what the
 * sampler found resident; a profile asking for node 1 is refused with a
 * message naming node 1 and the nodes that exist, and the guest still
 * completes.
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

/* avmm -v run (own loop, no socket) of compute.elf for secs, output to out. */
static void start(struct run *r, int secs)
{
	char cmd[32], port[16];

	snprintf(cmd, sizeof(cmd), "secs=%d", secs);
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
		      build_path("guests/compute.elf"), "--cmdline", cmd, (char *)NULL);
		_exit(127);
	}
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
