/* The live dashboard in headless Chromium against a real running guest:
 * waits until the charts hold data, fails on any console error, saves a
 * screenshot under <build>/test-output/.
 *
 * The server is tel's own (tel_open_target on a tiny KVM guest). To test
 * through the CLI instead, start `build/avmm run --metrics 127.0.0.1:PORT
 * build/guests/<guest>.elf` and point dashboard_check() at PORT. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "telemetry/tel.h"
#include "tinyvm.h"

#define CHROMIUM "/usr/bin/chromium"

static int energy(void *arg, uint64_t now, double busy, struct tel_energy_sample *o)
{
	uint64_t *uj = arg;

	(void)now;
	*uj += 100000;
	o->up = o->estimated = true;
	o->energy_uj = *uj;
	o->power_w = 12.5 + busy;
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = 0;
	fclose(f);
	return buf;
}

static int attr_int(const char *dom, const char *id, const char *attr)
{
	char pat[128];
	const char *p = dom;

	if (id) {
		snprintf(pat, sizeof(pat), "id=\"%s\"", id);
		p = strstr(dom, pat);
		if (!p)
			return -1;
		/* the attribute is in the same tag */
		while (p > dom && *p != '<')
			p--;
	}
	snprintf(pat, sizeof(pat), "%s=\"", attr);
	p = strstr(p, pat);
	return p ? atoi(p + strlen(pat)) : -1;
}

static void out_dir(char *dir, size_t len)
{
	const char *b = getenv("AVMM_BUILD");
	char cmd[600];

	snprintf(dir, len, "%s/test-output", b && *b ? b : "build");
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Runs Chromium on http://127.0.0.1:port/ and checks the page. */
static void dashboard_check(int port, const char *dir)
{
	char cmd[2048], prof[] = "/tmp/tel-chromium-XXXXXX", dom_path[600], log_path[600],
		png[600];
	const char *flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
		"--disable-background-networking --disable-component-update --disable-sync "
		"--disable-dev-shm-usage --enable-logging=stderr --v=0";
	char *dom, *log;
	struct stat st;

	cr_assert(mkdtemp(prof));
	snprintf(dom_path, sizeof(dom_path), "%s/dashboard-dom.html", dir);
	snprintf(log_path, sizeof(log_path), "%s/dashboard-console.log", dir);
	snprintf(png, sizeof(png), "%s/dashboard.png", dir);
	snprintf(cmd, sizeof(cmd), "timeout 90 %s %s --user-data-dir=%s --virtual-time-budget=5000 "
		 "--window-size=1280,900 --dump-dom http://127.0.0.1:%d/ > '%s' 2> '%s'",
		 CHROMIUM, flags, prof, port, dom_path, log_path);
	cr_assert_eq(system(cmd), 0, "chromium failed: see %s", log_path);
	dom = slurp(dom_path);
	log = slurp(log_path);
	cr_assert(dom && log);
	cr_assert(strstr(dom, "data-samples="), "no dashboard in the DOM: %.200s", dom);
	cr_assert_eq(attr_int(dom, NULL, "data-errors"), 0, "page errors: %s",
		     strstr(dom, "id=\"errors\""));
	cr_assert(!strstr(log, "Uncaught") && !strstr(log, ":ERROR:CONSOLE"),
		  "console error, see %s", log_path);
	cr_assert_geq(attr_int(dom, NULL, "data-samples"), 3);
	cr_assert_gt(attr_int(dom, "c-exits", "data-points"), 2, "exits chart empty");
	cr_assert_gt(attr_int(dom, "c-cpu", "data-points"), 2, "CPU chart empty");
	cr_assert_gt(attr_int(dom, "c-delay", "data-points"), 2, "run-delay chart empty");
	cr_assert_gt(attr_int(dom, "c-power", "data-points"), 2, "power chart empty");
	cr_assert_eq(attr_int(dom, "pcpu", "data-rows"), 2, "vCPU->pCPU map");
	cr_assert_geq(attr_int(dom, NULL, "data-decisions"), 1, "decision timeline empty");
	cr_assert(strstr(dom, "hardware counters unavailable") || attr_int(dom, "c-ipc", "data-points") > 0,
		  "IPC chart neither has data nor says why");
	free(dom);
	free(log);
	snprintf(cmd, sizeof(cmd), "timeout 90 %s %s --user-data-dir=%s --virtual-time-budget=5000 "
		 "--hide-scrollbars --window-size=1280,900 --screenshot='%s' http://127.0.0.1:%d/ "
		 ">/dev/null 2>>'%s'", CHROMIUM, flags, prof, png, port, log_path);
	cr_assert_eq(system(cmd), 0, "chromium screenshot failed: see %s", log_path);
	cr_assert_eq(stat(png, &st), 0);
	cr_assert_gt(st.st_size, 10000, "screenshot too small to hold charts");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", prof);
	cr_assert_eq(system(cmd), 0);
}

Test(dashboard, charts_fill_from_a_running_guest, .timeout = 240)
{
	struct tel_config c = { .metrics_addr = "127.0.0.1:0", .counters = "perf",
				.run_id = "dash", .profile_name = "balanced", .vm_name = "tiny",
				.period_ns = 100000000 };
	struct tel_decision d = { .kind = "coremap", .what = "vcpu1 cpu1->cpu0",
				  .why = "run delay 35% on cpu1" };
	struct tvm vm;
	struct tel *t;
	uint64_t uj = 0;
	char dir[512];
	int err;

	if (access(CHROMIUM, X_OK))
		cr_skip_test("no %s (Debian package chromium)", CHROMIUM);
	err = tvm_create(&vm, 2);
	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
	cr_assert_eq(tvm_start_threads(&vm, 3000), 0);
	struct tel_target tg = { .nr_vcpus = 2, .vm_fd = tvm_vm_fd, .vcpu_fd = tvm_vcpu_fd,
				 .vcpu_tid = tvm_vcpu_tid, .arg = &vm };
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	tel_set_energy_fn(t, energy, &uj);
	cr_assert_eq(tel_start(t), 0);
	d.t_ns = util_now_ns();
	tel_publish_decision(t, &d);
	util_sleep_ns(1000000000);
	out_dir(dir, sizeof(dir));
	dashboard_check(tel_metrics_port(t), dir);
	tel_close(t);
	tvm_destroy(&vm);
}
