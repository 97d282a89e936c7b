/* The live dashboard in headless Chromium against a real running guest:
 * waits until the charts hold data, fails on any console error, saves a
 * screenshot under <build>/test-output/.
 *
 * The server is tel's own (tel_open_target on a tiny KVM guest); the same
 * check through `avmm run --metrics` is in tests/integration. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "telemetry/tel.h"
#include "tests/lib/dashboard.h"
#include "tinyvm.h"

static int energy(void *arg, const struct tel_sample *s, double busy, struct tel_energy_sample *o)
{
	uint64_t *uj = arg;

	(void)s;
	*uj += 100000;
	o->up = o->estimated = true;
	o->energy_uj = *uj;
	o->power_w = 12.5 + busy;
	return 0;
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
	/* its measured effect later: the same decision again, listed once */
	snprintf(d.effect, sizeof(d.effect), "run delay 35%% then 2%%");
	tel_publish_decision(t, &d);
	/* why the loop waits, as its driver publishes it */
	struct tel_held h = { .nr = 1, .t_ns = d.t_ns, .adaptation = "coremap", .reason = "dwell",
			      .left_ns = 3200000000ull, .period_ns = 1000000000ull,
			      .note = "coremap: dwell, 6.8 s of 10.0 s" };
	snprintf(h.c[0].adaptation, sizeof(h.c[0].adaptation), "coremap");
	snprintf(h.c[0].reason, sizeof(h.c[0].reason), "dwell");
	h.c[0].ticks = 7;
	tel_publish_held(t, &h);
	util_sleep_ns(1000000000);
	dashboard_out_dir(dir, sizeof(dir));
	dashboard_check(tel_metrics_port(t), dir, 2, 1);
	static char dom[1 << 20];
	char path[600];
	snprintf(path, sizeof(path), "%s/dashboard-dom.html", dir);
	cr_assert_gt(util_read_file(NULL, path, dom, sizeof(dom)), 0, "%s", path);
	cr_assert(strstr(dom, "held: dwell, 3.2 s left (coremap)"), "no held text in %s", path);
	cr_assert(strstr(dom, "data-held=\"dwell\""), "%s", path);
	cr_assert(strstr(dom, "data-decisions=\"1\""), "the decision and its effect must be "
		  "listed once: %s", path);
	cr_assert(strstr(dom, "data-decision-effects=\"1\"") && strstr(dom, "→ run delay 35% then 2%"),
		  "the decision's line must show its measured effect: %s", path);
	cr_assert(strstr(dom, "data-profile=\"balanced\""), "%s", path);
	cr_assert(strstr(dom, "data-window-s=\"300\""), "the window is in seconds: %s", path);
	tel_close(t);
	tvm_destroy(&vm);
}
