/* tel_probe, the quiet tick's look: a real KVM vCPU thread's CPU share from
 * its CPU clock alone, the same as a full sample's while nothing changes,
 * and lower at once when a host hog takes half of its CPU; or, given the
 * vCPU's KVM steal-time area, its run delay read from memory, near 0 alone
 * and high with the hog, also where the guest keeps its own area (avmm's
 * area marked, pointing at the guest's); stale before the first sample; counted in
 * /metrics; the next full sample's rates unchanged by the probes between. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/steal.h"
#include "common/util.h"
#include "tests/lib/hog.h"
#include "telemetry/tel.h"
#include "tinyvm.h"

/* A guest's own area: avmm's area for the vCPU marked taken over, with
 * where the guest's area is (here the tiny VM's area, which KVM writes). */
static struct util_steal_area marked;

static const struct util_steal_area *guest_area(void *arg, int i)
{
	marked.guest_hva = (uint64_t)(uintptr_t)tvm_vcpu_steal(arg, i);
	marked.guest_area = 1;
	return &marked;
}

/* CLOCK: no steal-time area; OWN: the vCPU's KVM steal-time area is handed
 * to telemetry (as avmm's run-delay page is); GUEST: the guest keeps its
 * own area (guest_area). With an area the probe reads the run delay there
 * and no clock. */
enum look { CLOCK, OWN, GUEST };

static void probe_with_a_hog(enum look look)
{
	bool steal = look != CLOCK;
	struct tel_config c = { .counters = "none", .vm_name = "p" };
	static struct tel_sample s;
	struct tel_probe p;
	struct tel *t;
	struct tvm vm;
	struct hog h;
	char *text;
	int cpu, err = tvm_create(&vm, 1);

	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
	if (steal && !tvm_vcpu_steal(&vm, 0))
		cr_skip_test("this host's KVM refused the steal-time MSR");
	cr_assert_eq(tvm_busy_on_last_cpu(&vm, &cpu), 0);
	struct tel_target tg = { .nr_vcpus = 1, .vm_fd = tvm_vm_fd, .vcpu_fd = tvm_vcpu_fd,
				 .vcpu_tid = tvm_vcpu_tid,
				 .vcpu_steal = look == OWN ? tvm_vcpu_steal : look == GUEST ? guest_area : NULL,
				 .arg = &vm };
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(tel_probe(t, 0, &p), 0);
	cr_assert(p.stale, "no sample yet: nothing to compare with");
	for (int i = 0; i < 3; i++) {
		util_sleep_ns(100000000);
		cr_assert_eq(tel_sample(t, &s), 0);
	}
	if (s.vcpu[0].cpu_pct < 60)
		cr_skip_test("the vCPU thread gets only %.0f%% of CPU %d alone (a busy host)",
			     s.vcpu[0].cpu_pct, cpu);
	util_sleep_ns(100000000);
	cr_assert_eq(tel_probe(t, 0, &p), 0);
	cr_assert_not(p.stale);
	cr_assert_eq(p.nr_vcpus, 1);
	cr_assert_eq(p.nr_from_memory, steal ? 1 : 0);
	cr_assert_eq(p.nr_remote, 0, "a thread of this process: its memory is read directly");
	cr_assert_not(p.exports_read);
	if (steal)
		cr_assert(isnan(p.run_delay_pct[0]) && isnan(p.cpu_pct[0]),
			  "the area's first read is only a reference, and no clock is read");
	cr_assert_eq(tel_metrics_text(t, &text), 0);   /* a scrape: the next tick samples */
	free(text);
	util_sleep_ns(100000000);
	cr_assert_eq(tel_probe(t, 0, &p), 0);
	cr_assert(p.exports_read, "a scrape since the last full sample");
	if (steal) {
		cr_assert(isnan(p.cpu_pct[0]), "the steal-time area alone: no clock read");
		cr_assert_lt(p.run_delay_pct[0], 15, "run delay %.0f%% alone on its CPU",
			     p.run_delay_pct[0]);
	} else {
		cr_assert(isnan(p.run_delay_pct[0]), "a thread of this process: the clock alone");
		cr_assert_lt(fabs(p.cpu_pct[0] - s.vcpu[0].cpu_pct), 25, "probe %.0f%%, sample "
			     "%.0f%%", p.cpu_pct[0], s.vcpu[0].cpu_pct);
	}
	cr_assert_eq(hog_start(&h, cpu), 0);
	util_sleep_ns(300000000);
	cr_assert_eq(tel_probe(t, 0, &p), 0);   /* over the hog's 300 ms alone */
	hog_stop(&h);
	if (steal)
		cr_assert_gt(p.run_delay_pct[0], 25, "run delay %.0f%% with a hog on its CPU",
			     p.run_delay_pct[0]);
	else
		cr_assert_lt(p.cpu_pct[0], s.vcpu[0].cpu_pct - 15, "probe %.0f%% with a hog on its "
			     "CPU (%.0f%% alone)", p.cpu_pct[0], s.vcpu[0].cpu_pct);
	/* the full sample's share spans both probes: since the last sample */
	cr_assert_eq(tel_sample(t, &s), 0);
	cr_assert_gt(s.dt_ns, 350000000ull, "the sample's interval is since the last sample");
	cr_assert_eq(tel_probe(t, 0, &p), 0);
	cr_assert_not(p.exports_read, "the full sample answered the scrape");
	cr_assert_eq(tel_metrics_text(t, &text), 0);
	cr_assert(strstr(text, "avmm_telemetry_probes_total{vm=\"p\"} 5"), "%.400s",
		  strstr(text, "avmm_telemetry_probes") ? strstr(text, "avmm_telemetry_probes") : text);
	free(text);
	tel_close(t);
	tvm_destroy(&vm);
}

Test(probe, clock_share_matches_the_sample_and_drops_with_a_hog, .timeout = 60)
{
	probe_with_a_hog(CLOCK);
}

Test(probe, steal_time_area_shows_a_hog_with_no_system_call, .timeout = 60)
{
	probe_with_a_hog(OWN);
}

Test(probe, the_guests_own_steal_time_area_shows_a_hog_with_no_system_call, .timeout = 60)
{
	probe_with_a_hog(GUEST);
}
