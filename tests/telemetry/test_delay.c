/* The run delay of a vCPU that starts to wait for its CPU shows at once,
 * though telemetry reads it only every delay_every samples: its CPU share
 * moved, so the delay is re-read on that sample and the next. A real KVM
 * vCPU thread busy on one CPU, a host hog put on that CPU; the delay read
 * from schedstat, or from the vCPU's KVM steal-time area. And where the
 * delay comes from: the area where it is in use, schedstat where not, with
 * no jump where the source changes. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "common/steal.h"
#include "common/util.h"
#include "tests/lib/hog.h"
#include "telemetry/tel.h"
#include "tinyvm.h"

static void new_wait_shows(bool from_area)
{
	struct tel_config c = { .counters = "none", .vm_name = "d", .delay_every = 1000 };
	static struct tel_sample s;
	struct tel *t;
	struct tvm vm;
	struct hog h;
	int cpu, err = tvm_create(&vm, 1);

	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
	if (from_area && !vm.steal[0]) {
		tvm_destroy(&vm);
		cr_skip_test("KVM took no steal-time area (MSR_KVM_STEAL_TIME)");
	}
	cr_assert_eq(tvm_busy_on_last_cpu(&vm, &cpu), 0);
	struct tel_target tg = { .nr_vcpus = 1, .vm_fd = tvm_vm_fd, .vcpu_fd = tvm_vcpu_fd,
				 .vcpu_tid = tvm_vcpu_tid, .arg = &vm,
				 .vcpu_steal = from_area ? tvm_vcpu_steal : NULL };
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	for (int i = 0; i < 4; i++) {      /* alone on its CPU */
		util_sleep_ns(100000000);
		cr_assert_eq(tel_sample(t, &s), 0);
	}
	if (s.vcpu[0].cpu_pct < 60)
		cr_skip_test("the vCPU thread gets only %.0f%% of CPU %d alone (a busy host)",
			     s.vcpu[0].cpu_pct, cpu);
	cr_assert_lt(s.vcpu[0].run_delay_pct, 30, "waits %.0f%% alone", s.vcpu[0].run_delay_pct);
	cr_assert_eq(hog_start(&h, cpu), 0);
	util_sleep_ns(100000000);
	cr_assert_eq(tel_sample(t, &s), 0);   /* its share fell: the delay is read */
	util_sleep_ns(100000000);
	cr_assert_eq(tel_sample(t, &s), 0);   /* and again: over a fresh interval */
	hog_stop(&h);
	cr_assert_lt(s.vcpu[0].cpu_pct, 75, "the hog took no CPU (%.0f%%)", s.vcpu[0].cpu_pct);
	cr_assert_gt(s.vcpu[0].run_delay_pct, 25, "run delay %.0f%% with a hog on its CPU "
		     "(cpu %.0f%%)", s.vcpu[0].run_delay_pct, s.vcpu[0].cpu_pct);
	tel_close(t);
	tvm_destroy(&vm);
}

Test(delay, a_new_wait_shows_at_the_next_sample, .timeout = 60)
{
	new_wait_shows(false);
}

Test(delay, a_new_wait_shows_from_the_steal_time_area, .timeout = 60)
{
	new_wait_shows(true);
}

/* An area the test writes, to see which source a sample read. */
static struct util_steal_area area;

static const struct util_steal_area *test_area(void *arg, int i)
{
	return &area;
}

static uint64_t sample_delay(struct tel *t, struct tel_sample *s)
{
	util_sleep_ns(50000000);
	cr_assert_eq(tel_sample(t, s), 0);
	return s->vcpu[0].run_delay_ns;
}

Test(delay, read_from_the_area_where_in_use_and_continuous_across_sources, .timeout = 60)
{
	struct tel_config c = { .counters = "none", .vm_name = "d", .delay_every = 1 };
	static struct tel_sample s;
	uint64_t d0, d1;
	struct tel *t;
	struct tvm vm;
	int err = tvm_create(&vm, 1);

	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
	cr_assert_eq(tvm_start_threads(&vm, 1000), 0);
	struct tel_target tg = { .nr_vcpus = 1, .vm_fd = tvm_vm_fd, .vcpu_fd = tvm_vcpu_fd,
				 .vcpu_tid = tvm_vcpu_tid, .vcpu_steal = test_area, .arg = &vm };
	area.steal_ns = 7000000000ull;           /* far from the thread's schedstat */
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(sample_delay(t, &s), 7000000000ull, "not read from the area");
	area.steal_ns += 25000000;               /* 25 ms of the next 50 */
	d0 = sample_delay(t, &s);
	cr_assert_eq(d0, 7025000000ull);
	cr_assert(s.vcpu[0].run_delay_pct > 30 && s.vcpu[0].run_delay_pct < 70,
		  "%.0f%%: not the area's 25 ms over about 50", s.vcpu[0].run_delay_pct);
	area.guest_area = 1;                     /* the guest took its MSR: schedstat */
	d1 = sample_delay(t, &s);
	cr_assert(d1 >= d0 && d1 - d0 < 50000000, "went from %llu to %llu ns where the "
		  "source changed", (unsigned long long)d0, (unsigned long long)d1);
	cr_assert_lt(s.vcpu[0].run_delay_pct, 100);
	area.guest_area = 0;                     /* back to the area */
	d0 = sample_delay(t, &s);
	cr_assert(d0 >= d1 && d0 - d1 < 50000000, "went from %llu to %llu ns where the "
		  "source changed back", (unsigned long long)d1, (unsigned long long)d0);
	area.steal_ns += 10000000;
	cr_assert_eq(sample_delay(t, &s), d0 + 10000000, "not read from the area again");
	tel_close(t);
	tvm_destroy(&vm);
}

/* The run delay's reads are spread: vCPU i's comes on the samples where
 * (seq + i) % delay_every == 0 (a burst may add others), so each is read at
 * least every delay_every samples and a steady sample reads only some. */
Test(delay, reads_are_spread_over_the_samples_by_turn, .timeout = 60)
{
	struct tel_config c = { .counters = "none", .vm_name = "d", .delay_every = 4 };
	static struct tel_sample s;
	int nr_partial = 0, err;
	struct tel *t;
	struct tvm vm;

	err = tvm_create(&vm, 8);
	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
	cr_assert_eq(tvm_start_threads(&vm, 5000), 0);
	struct tel_target tg = { .nr_vcpus = 8, .vm_fd = tvm_vm_fd, .vcpu_fd = tvm_vcpu_fd,
				 .vcpu_tid = tvm_vcpu_tid, .arg = &vm };
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	for (int k = 0; k < 14; k++) {
		int nr_read = 0;

		util_sleep_ns(20000000);
		cr_assert_eq(tel_sample(t, &s), 0);
		for (int i = 0; i < 8; i++) {
			bool read = s.vcpu[i].run_delay_t_ns == s.t_ns;

			if ((s.seq + (uint64_t)i) % 4 == 0)
				cr_assert(read, "sample %llu: vcpu%d's turn, its delay not read",
					  (unsigned long long)s.seq, i);
			nr_read += read;
		}
		nr_partial += k >= 4 && nr_read < 8;
	}
	cr_assert_gt(nr_partial, 0, "every sample read every vCPU's run delay");
	tel_close(t);
	tvm_destroy(&vm);
}
