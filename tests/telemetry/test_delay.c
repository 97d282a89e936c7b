/* The run delay of a vCPU that starts to wait for its CPU shows at once,
 * though telemetry reads schedstat only every delay_every samples: its CPU
 * share moved, so the delay is re-read on that sample and the next. A real
 * KVM vCPU thread busy on one CPU, a host hog put on that CPU. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/hog.h"
#include "telemetry/tel.h"
#include "tinyvm.h"

Test(delay, a_new_wait_shows_at_the_next_sample, .timeout = 60)
{
	struct tel_config c = { .counters = "none", .vm_name = "d", .delay_every = 1000 };
	static struct tel_sample s;
	struct tel *t;
	struct tvm vm;
	struct hog h;
	int cpu, err = tvm_create(&vm, 1);

	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
	cr_assert_eq(tvm_busy_on_last_cpu(&vm, &cpu), 0);
	struct tel_target tg = { .nr_vcpus = 1, .vm_fd = tvm_vm_fd, .vcpu_fd = tvm_vcpu_fd,
				 .vcpu_tid = tvm_vcpu_tid, .arg = &vm };
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
