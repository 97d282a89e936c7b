/* Integration: `avmm ctl pause|resume` of a whole running VM (real KVM): the
 * guest (memwrite, which verifies every word it wrote) finishes ok; while
 * paused its vCPU thread gets no CPU time, the loop makes no decision and no
 * hold, `stat` still answers, and the kvmclock does not count the pause. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/bg_avmm.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

struct vm_proc {
	pid_t pid;
	char dir[64], sock[128], out[128];
};

/* memwrite with 1 MiB written 3 times at a 64-byte stride: ~4 s here. */
static void start(struct vm_proc *p, const char *cmdline)
{
	const char *argv[] = { build_path("avmm"), "run", "--socket", p->sock,
			       build_path("guests/memwrite.elf"), "--cmdline", cmdline, NULL };
	int fd;

	require_kvm();
	snprintf(p->dir, sizeof(p->dir), "/tmp/avmm-life-XXXXXX");
	cr_assert(mkdtemp(p->dir));
	snprintf(p->sock, sizeof(p->sock), "%s/vm.sock", p->dir);
	snprintf(p->out, sizeof(p->out), "%s/out.txt", p->dir);
	p->pid = fork();
	cr_assert(p->pid >= 0);
	if (p->pid == 0) {
		setenv("AVMM_RUN_DIR", p->dir, 1);
		fd = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 100 && vmm_ctl_call(p->sock, NULL, NULL); i++)
		util_sleep_ns(50000000);
	cr_assert_eq(vmm_ctl_call(p->sock, NULL, NULL), 0, "no control socket at %s", p->sock);
}

static int finish(struct vm_proc *p, int secs)
{
	int st = 0;

	for (int i = 0; i < secs * 10; i++) {
		if (waitpid(p->pid, &st, WNOHANG) == p->pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		util_sleep_ns(100000000);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &st, 0);
	return -1;
}

static json_t *call(const struct vm_proc *p, const char *req)
{
	char *a = NULL;
	json_t *o;

	cr_assert_eq(vmm_ctl_call(p->sock, req, &a), 0, "%s", req);
	o = json_loads(a, 0, NULL);
	cr_assert(o, "not JSON: %s", a);
	free(a);
	return o;
}

static json_int_t num(json_t *o, const char *obj, const char *key)
{
	json_t *x = obj ? json_object_get(o, obj) : o;

	return json_integer_value(json_object_get(x, key));
}

/* CPU time of the process's avmm-vcpu0 thread (schedstat, ns). */
static uint64_t vcpu_cpu_ns(pid_t pid)
{
	char path[320], buf[128];
	unsigned long long ns = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	cr_assert(d);
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", pid, e->d_name);
		if (util_read_file(NULL, path, buf, sizeof(buf)) <= 0 || strcmp(buf, "avmm-vcpu0\n"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, e->d_name);
		if (util_read_file(NULL, path, buf, sizeof(buf)) > 0)
			sscanf(buf, "%llu", &ns);
	}
	closedir(d);
	cr_assert_gt(ns, 0, "no avmm-vcpu0 thread in %d", pid);
	return ns;
}

Test(lifecycle, pause_resume_running_guest, .timeout = 60)
{
	struct vm_proc p;
	json_t *pa, *st, *vs, *again, *re;
	uint64_t a, b, c;
	char *out;

	start(&p, "bytes=1048576 stride=64 passes=3");
	util_sleep_ns(700000000);
	pa = call(&p, "{\"cmd\":\"pause\"}");
	cr_assert(json_is_true(json_object_get(pa, "ok")), "%s", json_dumps(pa, 0));
	cr_assert_str_eq(json_string_value(json_object_get(pa, "state")), "paused");
	cr_assert(json_is_true(json_object_get(pa, "clock_saved")), "KVM_GET_CLOCK failed");
	a = vcpu_cpu_ns(p.pid);
	util_sleep_ns(1500000000);   /* longer than the loop's 1 s period */
	b = vcpu_cpu_ns(p.pid);
	cr_assert_lt(b - a, 5000000, "paused vCPU ran %llu ns", (unsigned long long)(b - a));
	st = call(&p, "{\"cmd\":\"stat\"}");
	cr_assert_null(json_object_get(st, "error"), "stat while paused: %s", json_dumps(st, 0));
	vs = call(&p, "{\"cmd\":\"vmstate\"}");
	cr_assert_str_eq(json_string_value(json_object_get(vs, "state")), "paused");
	cr_assert_geq(num(vs, NULL, "paused_ns"), 1400000000);
	again = call(&p, "{\"cmd\":\"pause\"}");
	cr_assert(json_is_false(json_object_get(again, "ok")));
	re = call(&p, "{\"cmd\":\"resume\"}");
	cr_assert(json_is_true(json_object_get(re, "ok")), "%s", json_dumps(re, 0));
	cr_assert_str_eq(json_string_value(json_object_get(re, "state")), "running");
	/* the kvmclock went on from where it stopped, not 1.5 s later */
	cr_assert_lt(num(re, NULL, "clock_after_ns") - num(pa, NULL, "clock_ns"), 200000000,
		     "kvmclock advanced %lld ns across a 1.5 s pause",
		     (long long)(num(re, NULL, "clock_after_ns") - num(pa, NULL, "clock_ns")));
	cr_assert_geq(num(re, NULL, "paused_total_ns"), 1400000000);
	/* the loop: ticks skipped, and no decision nor hold while paused */
	cr_assert(json_is_true(json_object_get(json_object_get(pa, "loop"), "running")));
	cr_assert_geq(num(re, "loop", "paused_ticks"), num(pa, "loop", "paused_ticks") + 1);
	cr_assert_eq(num(re, "loop", "decisions"), num(pa, "loop", "decisions"));
	cr_assert_eq(num(re, "loop", "held_ticks"), num(pa, "loop", "held_ticks"));
	util_sleep_ns(300000000);
	c = vcpu_cpu_ns(p.pid);
	cr_assert_gt(c - b, 50000000, "resumed vCPU ran only %llu ns", (unsigned long long)(c - b));
	cr_assert_eq(finish(&p, 40), 0, "memwrite powers off on success: status 0");
	out = file_text(p.out);
	cr_assert(out && strstr(out, "ok=1"), "guest did not verify: %s", out ? out : "");
	free(out);
	json_decref(pa);
	json_decref(st);
	json_decref(vs);
	json_decref(again);
	json_decref(re);
}

Test(lifecycle, ctl_cli_pause_resume, .timeout = 60)
{
	struct vm_proc p;
	char out[4096];
	const char *pause[] = { "ctl", "--socket", NULL, "--json", "pause", NULL };
	const char *resume[] = { "ctl", "--socket", NULL, "--json", "resume", NULL };
	const char *human[] = { "ctl", "--socket", NULL, "resume", NULL };

	start(&p, "bytes=1048576 stride=64 passes=2");
	pause[2] = resume[2] = human[2] = p.sock;
	cr_assert_eq(run_avmm(out, sizeof(out), pause), 0, "%s", out);
	cr_assert(strstr(out, "\"state\":\"paused\""), "%s", out);
	cr_assert_eq(run_avmm(out, sizeof(out), human), 0, "%s", out);
	cr_assert(strstr(out, "VM running again"), "%s", out);
	cr_assert_eq(run_avmm(out, sizeof(out), resume), 1, "resume of a running VM: %s", out);
	cr_assert(strstr(out, "not paused"), "%s", out);
	cr_assert_eq(finish(&p, 40), 0);
}

/* `avmm ctl snapshot FILE` mid-run, then `avmm run --restore FILE` in a new
 * process (with another --cmdline: a guest that booted afresh would show it);
 * a truncated copy and a copy of another version are refused, status 2, and
 * no guest runs. */
Test(lifecycle, ctl_snapshot_and_run_restore, .timeout = 120)
{
	struct vm_proc p;
	char out[8192], snap[160], bad[176], cmd[400];
	const char *snapshot[] = { "ctl", "--socket", NULL, "--json", "snapshot", snap, NULL };
	const char *restore[] = { "run", "--restore", snap, "--no-agent", "--socket", "",
				  build_path("guests/memwrite.elf"), "--cmdline", "bytes=4096",
				  NULL };
	uint32_t v = 7;
	int fd;

	start(&p, "bytes=1048576 stride=64 passes=3");
	snprintf(snap, sizeof(snap), "%s/vm.snap", p.dir);
	snapshot[2] = p.sock;
	util_sleep_ns(800000000);
	cr_assert_eq(run_avmm(out, sizeof(out), snapshot), 0, "%s", out);
	cr_assert(strstr(out, "\"ok\":true") && strstr(out, "\"state\":\"running\""), "%s", out);
	cr_assert_eq(finish(&p, 60), 0, "the original finishes ok");
	cr_assert_eq(run_avmm(out, sizeof(out), restore), 0, "%s", out);
	cr_assert(strstr(out, "bytes=1048576 stride=64 passes=3") && strstr(out, "ok=1"),
		  "the restored guest goes on with the snapshot's run: %s", out);

	snprintf(bad, sizeof(bad), "%s.bad", snap);
	snprintf(cmd, sizeof(cmd), "head -c 200000 %s > %s", snap, bad);
	cr_assert_eq(system(cmd), 0);
	restore[2] = bad;
	cr_assert_eq(run_avmm(out, sizeof(out), restore), 2, "%s", out);
	cr_assert(strstr(out, "truncated") && !strstr(out, "AVMM-RESULT"), "%s", out);
	snprintf(cmd, sizeof(cmd), "cp %s %s", snap, bad);
	cr_assert_eq(system(cmd), 0);
	fd = open(bad, O_RDWR);
	cr_assert_eq(pwrite(fd, &v, 4, 8), 4);
	close(fd);
	cr_assert_eq(run_avmm(out, sizeof(out), restore), 2, "%s", out);
	cr_assert(strstr(out, "version 7") && !strstr(out, "AVMM-RESULT"), "%s", out);
}
