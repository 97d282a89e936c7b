/*
 * paging-mode, live: a real `avmm run` of the stream guest (it verifies its
 * arrays at the end) is asked for 2 MiB backing while it runs, through the
 * control loop; then for 4 KiB; a bad size is refused and the VM goes on.
 * Checked from outside: the process's smaps of the guest RAM mapping,
 * /metrics, the decision log, the "paging" answer's schema and the guest's
 * own result.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt/session_int.h"
#include "common/util.h"
#include "paging-mode/pgmode.h"
#include "tests/lib/httpget.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

#define ARRAY_BYTES (512u << 10)   /* stream's size=: 3 arrays */

static struct {
	pid_t pid;
	char dir[64], sock[128], out[128], profile[128];
	int port;
} L;

static void start(void)
{
	char run_dir[96], addr[32];
	FILE *f;

	require_kvm();
	snprintf(L.dir, sizeof(L.dir), "/tmp/avmm-pglive-XXXXXX");
	cr_assert(mkdtemp(L.dir));
	snprintf(run_dir, sizeof(run_dir), "%s/run", L.dir);
	cr_assert_eq(mkdir(run_dir, 0700), 0);
	snprintf(L.sock, sizeof(L.sock), "%s/t.sock", run_dir);
	snprintf(L.out, sizeof(L.out), "%s/out.txt", L.dir);
	snprintf(L.profile, sizeof(L.profile), "%s/fast.ini", L.dir);
	/* a quick loop: the 4k request must pass the dwell while the guest runs */
	f = fopen(L.profile, "w");
	cr_assert(f);
	fputs("[main]\nsummary = paging-mode live test\ninclude = performance\n[goal]\n"
	      "period_ms = 200\nfast_period_ms = 100\nmin_dwell_ms = 1000\nsettle_ms = 200\n"
	      "confirm_ms = 100\n", f);
	fclose(f);
	L.port = 40000 + getpid() % 20000;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", L.port);
	L.pid = fork();
	cr_assert(L.pid >= 0);
	if (L.pid == 0) {
		int fd = open(L.out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setenv("AVMM_RUN_DIR", run_dir, 1);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(build_path("avmm"), "avmm", "run", "--no-agent", "--socket", L.sock,
		      "--metrics", addr, "--profile", L.profile, "--name", "pglive",
		      build_path("guests/stream.elf"), "--cmdline", "size=512K reps=5", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 250 && access(L.sock, F_OK); i++)
		util_sleep_ns(20000000);
	cr_assert_eq(access(L.sock, F_OK), 0, "avmm did not open its control socket");
}

static void stop(void)
{
	char cmd[128];

	if (L.pid > 0) {
		kill(L.pid, SIGKILL);
		waitpid(L.pid, NULL, 0);
		L.pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", L.dir);
	if (L.dir[0] && system(cmd))
		cr_log_warn("could not remove %s", L.dir);
}

static bool alive(void)
{
	if (L.pid > 0 && waitpid(L.pid, &(int){ 0 }, WNOHANG) != 0)
		L.pid = 0;   /* ended (and reaped) */
	return L.pid > 0;
}

/* avmm's output so far (for failure messages). */
static const char *out_text(void)
{
	static char buf[1 << 16];

	if (util_read_file(NULL, L.out, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "(no output file)");
	return buf;
}

static json_t *ctl(const char *req)
{
	char *answer = NULL;
	json_t *o;

	cr_assert_eq(vmm_ctl_call(L.sock, req, &answer), 0, "no answer to %s", req);
	o = json_loads(answer, 0, NULL);
	cr_assert(o, "not JSON: %s", answer);
	free(answer);
	return o;
}

static uint64_t num(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	o = json_object_get(o, path);
	cr_assert(json_is_number(o), "%s is not a number", path);
	return (uint64_t)json_number_value(o);
}

/* The contract of {"cmd":"paging"} (shared with `avmm paging --name`). */
static void check_schema(json_t *a)
{
	static const char *const ram_num[] = { "bytes", "rss_bytes", "bytes_4k", "bytes_2m",
					       "bytes_1g", "share_4k", "share_2m", "share_1g" };
	static const char *const w_num[] = { "ranges_total", "ranges_done", "collapse_ok",
					     "quota_mib_per_s" };
	json_t *ram = json_object_get(a, "ram"), *w = json_object_get(a, "worker"), *e;

	cr_assert(json_is_true(json_object_get(a, "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(a, "vm")), "pglive");
	cr_assert_eq(json_integer_value(json_object_get(a, "pid")), L.pid);
	cr_assert(json_is_true(json_object_get(ram, "valid")));
	cr_assert(json_is_string(json_object_get(ram, "why")));
	for (size_t i = 0; i < sizeof(ram_num) / sizeof(ram_num[0]); i++)
		cr_assert(json_is_number(json_object_get(ram, ram_num[i])), "ram.%s", ram_num[i]);
	cr_assert(json_is_string(json_object_get(w, "target")));
	cr_assert(json_is_boolean(json_object_get(w, "busy")));
	cr_assert(json_is_string(json_object_get(w, "last_error")));
	for (size_t i = 0; i < sizeof(w_num) / sizeof(w_num[0]); i++)
		cr_assert(json_is_number(json_object_get(w, w_num[i])), "worker.%s", w_num[i]);
	for (const char *k = "einval"; k; k = !strcmp(k, "einval") ? "eagain" :
	     !strcmp(k, "eagain") ? "enomem" : !strcmp(k, "enomem") ? "other" : NULL)
		cr_assert(json_is_integer(json_object_get(json_object_get(w, "errors"), k)), "%s", k);
	e = json_object_get(a, "estimate");
	cr_assert(e, "no estimate key");
	if (json_is_null(e))
		return;   /* the cost model publishes none until its first tick */
	for (const char *k = "shadow"; k; k = !strcmp(k, "shadow") ? "walk" : !strcmp(k, "walk") ? "now" :
	     !strcmp(k, "now") ? "alt_2m" : !strcmp(k, "alt_2m") ? "alt_4k" :
	     !strcmp(k, "alt_4k") ? "alt_mode" : NULL) {
		json_t *p = json_object_get(json_object_get(e, "parts"), k);

		cr_assert(json_is_boolean(json_object_get(p, "valid")), "part %s", k);
		cr_assert(json_is_string(json_object_get(p, "why")), "part %s", k);
		cr_assert(json_is_true(json_object_get(p, "valid")) ==
			  (json_object_get(p, "pct") != NULL), "part %s: pct only when valid", k);
	}
	cr_assert(json_is_string(json_object_get(e, "want")));
	cr_assert(json_is_string(json_object_get(e, "reason")));
}

/* Polls "paging" until the worker has finished a request for target. */
static json_t *wait_worker(const char *target, int ms)
{
	for (int t = 0; t < ms; t += 100) {
		json_t *a = ctl("{\"cmd\":\"paging\"}");
		json_t *w = json_object_get(a, "worker");

		if (!strcmp(json_string_value(json_object_get(w, "target")), target) &&
		    json_is_false(json_object_get(w, "busy")) &&
		    num(w, "ranges_done") == num(w, "ranges_total"))
			return a;
		json_decref(a);
		cr_assert(alive(), "avmm ended while waiting for the worker:\n%s", out_text());
		util_sleep_ns(100000000);
	}
	cr_assert_fail("the worker did not finish a %s request within %d ms", target, ms);
	return NULL;
}

/* The smaps block of the mapping at hva in avmm's smaps (malloc'd text). */
static char *smaps_block(uint64_t hva, char **all)
{
	char path[64], head[32], *p, *end;
	size_t cap = 1 << 22;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)L.pid);
	*all = malloc(cap);
	cr_assert(*all);
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	for (size_t have = 0;; have += (size_t)n) {
		n = read(fd, *all + have, cap - 1 - have);
		if (n <= 0) {
			(*all)[have] = '\0';
			break;
		}
	}
	close(fd);
	snprintf(head, sizeof(head), "%llx-", (unsigned long long)hva);
	p = strstr(*all, head);
	cr_assert(p, "no mapping at 0x%llx in %s", (unsigned long long)hva, path);
	end = strstr(p, "VmFlags:");
	cr_assert(end);
	end[strcspn(end, "\n")] = '\0';
	return p;
}

/* The value of series `name{vm="pglive",LABEL}` in /metrics, -1 when absent. */
static double metric(const char *series)
{
	char *body = NULL, *p;
	double v = -1;

	if (http_get(L.port, "/metrics", &body, NULL, 0) != 200 || !body) {
		free(body);
		return -1;
	}
	p = strstr(body, series);
	if (p)
		v = strtod(p + strlen(series), NULL);
	free(body);
	return v;
}

static uint64_t hex(json_t *ram)
{
	return strtoull(json_string_value(json_object_get(ram, "hva")), NULL, 16);
}

Test(live, promote_then_demote_while_stream_verifies, .init = start, .fini = stop, .timeout = 120)
{
	char out[4096], val[16], *all = NULL, *blk;
	const char *const ctl_2m[] = { "ctl", "--json", "--socket", L.sock, "backing", "2m", NULL };
	const char *const ctl_3m[] = { "ctl", "--json", "--socket", L.sock, "backing", "3m", NULL };
	struct pgmode_backing b;
	json_t *a, *ram;
	uint64_t hva, bytes;
	char *dec = NULL;
	int t;

	/* the guest's arrays are populated under 4 KiB pages (anon RAM is MADV_NOHUGEPAGE) */
	for (t = 0;; t += 100) {
		a = ctl("{\"cmd\":\"paging\"}");
		ram = json_object_get(a, "ram");
		if (num(ram, "rss_bytes") >= 3 * ARRAY_BYTES)
			break;
		json_decref(a);
		cr_assert(t < 30000 && alive(), "guest RAM never reached 3 arrays:\n%s", out_text());
		util_sleep_ns(100000000);
	}
	check_schema(a);
	cr_assert_eq(num(ram, "bytes_2m"), 0, "anon guest RAM already in 2 MiB pages");
	hva = hex(ram);
	bytes = num(ram, "bytes");
	json_decref(a);

	/* 2m through the loop: a constraint, applied after its confirmation */
	cr_assert_eq(run_avmm(out, sizeof(out), ctl_2m), 0, "%s", out);
	cr_assert(strstr(out, "\"via\":\"loop\""), "%s", out);
	a = wait_worker("2m", 20000);
	check_schema(a);
	cr_assert_eq(num(a, "worker.errors.einval") + num(a, "worker.errors.other"), 0,
		     "%s", json_string_value(json_object_get(json_object_get(a, "worker"), "last_error")));
	json_decref(a);
	blk = smaps_block(hva, &all);
	cr_assert_eq(pgmode_parse_smaps(all, hva, bytes, &b), 0, "%s", b.why);
	cr_log_info("after 2m: rss %llu KiB, 2 MiB-backed %llu KiB", (unsigned long long)b.rss >> 10,
		    (unsigned long long)b.bytes_2m >> 10);
	cr_assert(b.rss > 0 && b.bytes_2m * 10 >= b.rss * 9,
		  "AnonHugePages %llu of %llu resident bytes:\n%s", (unsigned long long)b.bytes_2m,
		  (unsigned long long)b.rss, blk);
	free(all);
	for (t = 0; metric("avmm_guest_memory_page_bytes{vm=\"pglive\",page_size=\"2m\"}") <= 0; t += 100) {
		cr_assert(t < 8000, "/metrics never showed 2 MiB-backed guest RAM");
		util_sleep_ns(100000000);
	}
	cr_assert(http_get(L.port, "/api/decisions", &dec, NULL, 0) == 200 && dec);
	/* (the cost model may have chosen 2m on its own first: then no operator decision) */
	cr_assert(strstr(dec, "\"kind\":\"paging-mode\"") && strstr(dec, "->2m"),
		  "no paging-mode decision in the log: %s", dec);
	free(dec);

	/* a size that is not one: refused with the reason, by the CLI and the socket */
	cr_assert_eq(run_avmm(out, sizeof(out), ctl_3m), 2, "%s", out);
	cr_assert(strstr(out, "give 2m"), "%s", out);
	a = ctl("{\"cmd\":\"backing\",\"backing\":\"3m\"}");
	cr_assert(json_is_false(json_object_get(a, "ok")));
	cr_assert(strstr(json_string_value(json_object_get(a, "error")), "expected 2m"));
	json_decref(a);
	cr_assert(alive(), "avmm ended after a bad request:\n%s", out_text());

	/* 4k: MADV_NOHUGEPAGE over guest RAM, and the split where the host has it */
	a = ctl("{\"cmd\":\"backing\",\"backing\":\"4k\"}");
	cr_assert(json_is_true(json_object_get(a, "ok")), "%s", json_string_value(json_object_get(a, "error")));
	json_decref(a);
	a = wait_worker("4k", 20000);
	json_decref(a);
	blk = smaps_block(hva, &all);
	cr_assert(strstr(strstr(blk, "VmFlags:"), " nh"), "guest RAM not MADV_NOHUGEPAGE:\n%s", blk);
	cr_assert_eq(pgmode_parse_smaps(all, hva, bytes, &b), 0);
	if (access("/sys/kernel/debug/split_huge_pages", W_OK) == 0)
		cr_assert_eq(b.bytes_2m, 0, "2 MiB pages left after the split:\n%s", blk);
	else
		cr_log_info("no writable debugfs split_huge_pages: %llu KiB stay 2 MiB-backed until "
			    "the kernel splits them", (unsigned long long)b.bytes_2m >> 10);
	free(all);
	cr_assert(http_get(L.port, "/api/decisions", &dec, NULL, 0) == 200 && dec);
	cr_assert(strstr(dec, "2m->4k (operator)"), "no 4k decision: %s", dec);
	free(dec);

	/* the guest checked every element of its arrays */
	for (t = 0; t < 90000 && alive(); t += 100)
		util_sleep_ns(100000000);
	cr_assert(!alive(), "the guest did not end in time");
	cr_assert_eq(result_value(out_text(), "stream", "ok", val, sizeof(val)), 0, "%s", out_text());
	cr_assert_str_eq(val, "1", "stream found wrong elements:\n%s", out_text());
}

Test(live, meminfo_parsed_into_available_pct)
{
	double pct;

	cr_assert_eq(adapt_parse_meminfo("MemTotal:       1000 kB\nMemFree: 10 kB\n"
					 "MemAvailable:    250 kB\n", &pct), 0);
	cr_assert_float_eq(pct, 25.0, 1e-9);
	cr_assert_eq(adapt_parse_meminfo("MemTotal: 1000 kB\n", &pct), -EINVAL);
	cr_assert_eq(adapt_parse_meminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n", &pct), -EINVAL);
}
