/*
 * telemetry/kvmbatch: the KVM statistics of 16 or more vCPUs in one BPF call
 * per sample. On a real VM: the batch turns on from the second sample, and
 * every vCPU's counts equal its own stats file's, before and after vCPUs
 * run; below the minimum each file is read; a failed batched read falls
 * back to the files with the same figures; slots come back after a close;
 * without the capabilities it needs, the files are read and the reason says
 * which.
 * Skips, naming why, where the BPF program cannot load (no CAP_BPF and
 * CAP_PERFMON, a kernel without BTF or older than 6.1).
 */
#include <criterion/criterion.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "telemetry/tel_int.h"
#include "tinyvm.h"

static struct tel_sample s;

static void need_vm(struct tvm *vm, int nr)
{
	char why[200];
	int err = tvm_create(vm, nr);

	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
	if (tel_kvm_batch_init(why, sizeof(why))) {
		tvm_destroy(vm);
		cr_skip_test("the BPF batch cannot load here: %s", why);
	}
}

static struct tel *open_tel(struct tvm *vm)
{
	struct tel_config c = { .counters = "none", .vm_name = "kb" };
	struct tel_target tg = { .nr_vcpus = vm->nr, .vm_fd = tvm_vm_fd, .vcpu_fd = tvm_vcpu_fd,
				 .vcpu_tid = tvm_vcpu_tid, .arg = vm };
	struct tel *t;

	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	return t;
}

/* vCPU i's exits as its own stats file has them now. */
static uint64_t file_exits(struct tvm *vm, int i)
{
	struct tel_kvmstats ks;
	char why[160];
	uint64_t v;
	int ix;

	cr_assert_eq(tel_kvmstats_open(vm->vcpu[i], false, &ks, why, sizeof(why)), 0, "%s", why);
	ix = tel_kvmstats_find(&ks, "exits");
	cr_assert_geq(ix, 0);
	cr_assert_eq(tel_kvmstats_read(&ks), 0);
	v = tel_kvmstats_value(&ks, ix);
	tel_kvmstats_close(&ks);
	return v;
}

static void assert_exits_match(struct tvm *vm, const char *when)
{
	for (int i = 0; i < vm->nr; i++) {
		uint64_t want = file_exits(vm, i);

		cr_assert_eq(s.vcpu[i].exits, want, "%s: vcpu%d exits %llu, its file %llu", when, i,
			     (unsigned long long)s.vcpu[i].exits, (unsigned long long)want);
	}
}

static void run_each(struct tvm *vm, int extra)
{
	for (int i = 0; i < vm->nr; i++)
		cr_assert_eq(tvm_run(vm, i, 1 + (i + extra) % 5), 1 + (i + extra) % 5);
}

/* Three samples of vm that read each vCPU's file: not batched, the reason
 * says because, and every vCPU's exits are its file's. */
static void assert_each_file_read(struct tvm *vm, const char *because)
{
	struct tel *t = open_tel(vm);
	char why[200];

	for (int k = 0; k < 3; k++)
		cr_assert_eq(tel_sample(t, &s), 0);
	cr_assert_not(tel_kvm_batched(t, why, sizeof(why)));
	cr_assert(strstr(why, because), "why: %s", why);
	assert_exits_match(vm, because);
	tel_close(t);
}

Test(kvmbatch, a_batch_reads_what_each_stats_file_holds, .timeout = 60)
{
	char why[200];
	struct tvm vm;
	struct tel *t;

	need_vm(&vm, 20);
	run_each(&vm, 0);          /* different counts per vCPU */
	t = open_tel(&vm);
	cr_assert_eq(tel_sample(t, &s), 0);    /* opens the files (read one by one) */
	cr_assert_not(tel_kvm_batched(t, why, sizeof(why)));
	assert_exits_match(&vm, "first sample");
	cr_assert_eq(tel_sample(t, &s), 0);    /* builds the batch, reads through it */
	cr_assert(tel_kvm_batched(t, why, sizeof(why)), "not batched: %s", why);
	assert_exits_match(&vm, "first batched sample");
	cr_assert_gt(s.vcpu[7].exits, 0, "the vCPUs ran: some exits");
	run_each(&vm, 3);
	cr_assert_eq(tel_sample(t, &s), 0);
	assert_exits_match(&vm, "after the vCPUs ran again");
	cr_assert(s.src[TEL_SRC_KVM_STATS].up, "%s", s.src[TEL_SRC_KVM_STATS].why);
	tel_close(t);
	tvm_destroy(&vm);
}

Test(kvmbatch, below_the_minimum_each_file_is_read, .timeout = 60)
{
	struct tvm vm;

	need_vm(&vm, TEL_KVM_BATCH_MIN_VCPUS - 1);
	run_each(&vm, 1);
	assert_each_file_read(&vm, "15 vCPUs with KVM statistics");
	tvm_destroy(&vm);
}

Test(kvmbatch, a_failed_batched_read_falls_back_to_the_files, .timeout = 60)
{
	char why[200];
	struct tvm vm;
	struct tel *t;

	need_vm(&vm, 16);
	t = open_tel(&vm);
	cr_assert_eq(tel_sample(t, &s), 0);
	cr_assert_eq(tel_sample(t, &s), 0);
	cr_assert(tel_kvm_batched(t, why, sizeof(why)), "not batched: %s", why);
	t->kb.nr_files++;          /* the next read misses a vCPU: as if one went away */
	run_each(&vm, 2);
	cr_assert_eq(tel_sample(t, &s), 0);
	cr_assert_not(tel_kvm_batched(t, why, sizeof(why)));
	cr_assert(strstr(why, "the batched read failed"), "why: %s", why);
	assert_exits_match(&vm, "the sample whose batch failed");
	run_each(&vm, 4);          /* from now on from the files, into their own buffers */
	cr_assert_eq(tel_sample(t, &s), 0);
	assert_exits_match(&vm, "after the fallback");
	tel_close(t);
	tvm_destroy(&vm);
}

/* KB_SLOTS / 64 telemetry objects of 64 vCPUs fit at once; one more reads
 * its files and says why; closing one frees its slots for the next. */
Test(kvmbatch, slots_run_out_and_come_back, .timeout = 120)
{
	enum { N = KB_SLOTS / TEL_MAX_VCPUS };
	static struct tel *t[N + 1];
	char why[200];
	struct tvm vm;

	need_vm(&vm, TEL_MAX_VCPUS);
	for (int k = 0; k <= N; k++) {
		t[k] = open_tel(&vm);
		cr_assert_eq(tel_sample(t[k], &s), 0);
		cr_assert_eq(tel_sample(t[k], &s), 0);
	}
	for (int k = 0; k < N; k++)
		cr_assert(tel_kvm_batched(t[k], why, sizeof(why)), "object %d: %s", k, why);
	cr_assert_not(tel_kvm_batched(t[N], why, sizeof(why)));
	cr_assert(strstr(why, "no free slots"), "why: %s", why);
	tel_close(t[0]);
	tel_close(t[N]);
	t[0] = open_tel(&vm);
	cr_assert_eq(tel_sample(t[0], &s), 0);
	cr_assert_eq(tel_sample(t[0], &s), 0);
	cr_assert(tel_kvm_batched(t[0], why, sizeof(why)), "after a close: %s", why);
	assert_exits_match(&vm, "in reused slots");
	for (int k = 0; k < N; k++)
		tel_close(t[k]);
	tvm_destroy(&vm);
}

/* Drops cap from this process's effective, permitted and inheritable sets. */
static bool drop_cap(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	d[cap / 32].effective &= ~(1u << (cap % 32));
	d[cap / 32].permitted &= ~(1u << (cap % 32));
	d[cap / 32].inheritable &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &h, d) == 0;
}

/* A process without CAP_BPF (nor CAP_SYS_ADMIN, which implies it) loads no
 * program: its 16 vCPUs are read file by file, with the same counts, and
 * the reason names the capabilities. */
Test(kvmbatch, without_cap_bpf_each_file_is_read_and_why_says_so, .timeout = 60)
{
	char why[200];
	struct tvm vm;
	int err;

	if (geteuid() != 0)
		cr_skip_test("not root: nothing to drop (the batch loads only as root)");
	if (!drop_cap(CAP_BPF) || !drop_cap(CAP_SYS_ADMIN))
		cr_skip_test("cannot drop CAP_BPF here (capset refused)");
	err = tvm_create(&vm, 16);
	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
	cr_assert_neq(tel_kvm_batch_init(why, sizeof(why)), 0, "loaded without CAP_BPF");
	cr_assert(strstr(why, "CAP_BPF"), "why: %s", why);
	run_each(&vm, 2);
	assert_each_file_read(&vm, "CAP_BPF");
	tvm_destroy(&vm);
}
