/* Written-page sets (vmm_dirty_*): the mode choice (pure), and real KVM guests
 * that write known ranges: the dirty ring's per-vCPU sets, a full ring, the
 * VM-wide bitmap fallback, and tracking off. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm_internal.h"

#define MIB (1ull << 20)
#define PFN(gpa) ((gpa) >> 12)

/* ---- the choice, pure ---- */

Test(dirty, choice_without_a_ring_falls_back_to_the_vm_wide_bitmap)
{
	enum vmm_dirty_track m;
	char why[256];

	cr_assert_eq(vmm_dirty_choose(VMM_DIRTY_AUTO, 0, 0, &m, why, sizeof(why)), 0);
	cr_assert_eq(m, VMM_DIRTY_BITMAP);
	cr_assert(strstr(why, "KVM_CAP_DIRTY_LOG_RING") && strstr(why, "not per vCPU"), "%s", why);
	cr_assert_eq(vmm_dirty_choose(VMM_DIRTY_RING, 0, 0, &m, why, sizeof(why)), -EOPNOTSUPP);
	cr_assert(strstr(why, "no dirty ring"), "%s", why);
	cr_assert_eq(vmm_dirty_choose(VMM_DIRTY_OFF, 0, 65536 * 16, &m, why, sizeof(why)), 0);
	cr_assert_eq(m, VMM_DIRTY_OFF);
	cr_assert_eq(vmm_dirty_choose(VMM_DIRTY_BITMAP, 0, 65536 * 16, &m, why, sizeof(why)), 0);
	cr_assert_eq(m, VMM_DIRTY_BITMAP);
}

Test(dirty, choice_checks_the_ring_size)
{
	enum vmm_dirty_track m;
	char why[256];

	cr_assert_eq(vmm_dirty_choose(VMM_DIRTY_AUTO, 0, 65536 * 16, &m, why, sizeof(why)), 0);
	cr_assert_eq(m, VMM_DIRTY_RING);
	cr_assert(strstr(why, "4096 entries"), "%s", why);
	cr_assert_eq(vmm_dirty_choose(VMM_DIRTY_RING, 64, 65536 * 16, &m, why, sizeof(why)),
		     -EINVAL);
	cr_assert(strstr(why, "from 256"), "%s", why);
	cr_assert_eq(vmm_dirty_choose(VMM_DIRTY_RING, 768, 65536 * 16, &m, why, sizeof(why)),
		     -EINVAL, "not a power of two");
	cr_assert_eq(vmm_dirty_choose(VMM_DIRTY_RING, 8192, 4096 * 16, &m, why, sizeof(why)),
		     -EINVAL);
	cr_assert(strstr(why, "limit of 4096"), "%s", why);
	cr_assert_eq(vmm_dirty_choose(VMM_DIRTY_RING, 256, 4096 * 16, &m, why, sizeof(why)), 0);
}

/* ---- real guests ---- */

struct pageset {
	uint64_t *bits;
	uint64_t nbits;
};

static bool has(const struct pageset *s, uint64_t pfn)
{
	return pfn < s->nbits && (s->bits[pfn / 64] >> (pfn & 63) & 1);
}

static uint64_t count(const struct pageset *s)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < (s->nbits + 63) / 64; w++)
		n += (uint64_t)__builtin_popcountll(s->bits[w]);
	return n;
}

/* The pages of the guest image's writable segments (.data, .bss, stack). */
static struct pageset image_pages(const char *elf, uint64_t nbits)
{
	struct pageset s = { calloc((nbits + 63) / 64, 8), nbits };
	static char buf[1 << 20];
	ssize_t n = util_read_file(NULL, elf, buf, sizeof(buf));
	const Elf32_Ehdr *eh = (const Elf32_Ehdr *)buf;

	cr_assert_gt(n, (ssize_t)sizeof(*eh), "read %s", elf);
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf32_Phdr *ph = (const Elf32_Phdr *)(buf + eh->e_phoff + i * eh->e_phentsize);

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || !ph->p_memsz)
			continue;
		for (uint64_t p = PFN(ph->p_paddr); p <= PFN(ph->p_paddr + ph->p_memsz - 1); p++)
			s.bits[p / 64] |= 1ull << (p & 63);
	}
	cr_assert_gt(count(&s), 0, "%s has no writable segment", elf);
	return s;
}

static struct vmm *run_guest(const char *guest, const char *cmdline, int vcpus,
			     enum vmm_dirty_track track, uint32_t entries, bool wait)
{
	/* RING: created as AUTO, so that a host without the ring skips */
	struct vmm_config cfg = { .vcpus = vcpus, .mem_bytes = 32 * MIB,
				  .guest_path = build_path(guest), .cmdline = cmdline,
				  .console_path = "/dev/null",
				  .dirty_track = track == VMM_DIRTY_RING ? VMM_DIRTY_AUTO : track,
				  .dirty_ring_entries = entries };
	struct vmm_dirty_info info;
	struct vmm_result res;
	struct vmm *vm;

	require_kvm();
	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	vmm_dirty_info(vm, &info);
	if (track == VMM_DIRTY_RING && info.mode != VMM_DIRTY_RING) {
		vmm_destroy(vm);
		cr_skip_test("this host's KVM has no dirty ring: %s", info.why);
	}
	cr_assert_eq(vmm_start(vm), 0);
	if (wait) {
		vmm_wait(vm, &res);
		cr_assert_eq(res.end, VMM_END_POWEROFF, "%s", res.why);
		cr_assert_eq(res.exit_status, 0, "the guest failed: %s", res.why);
	}
	return vm;
}

static struct pageset harvest(struct vmm *vm, int vcpu)
{
	struct vmm_dirty_info info;
	struct pageset s;

	vmm_dirty_info(vm, &info);
	s.nbits = info.pfn_bits;
	s.bits = calloc((s.nbits + 63) / 64, 8);
	cr_assert_eq(vmm_dirty_harvest(vm, vcpu, s.bits, s.nbits, NULL), 0);
	return s;
}

/* Every page of [lo, hi) is in s. */
static void assert_range(const struct pageset *s, uint64_t lo, uint64_t hi, const char *who)
{
	for (uint64_t p = PFN(lo); p < PFN(hi); p++)
		cr_assert(has(s, p), "%s: page 0x%llx of the range 0x%llx-0x%llx is missing", who,
			  (unsigned long long)p << 12, (unsigned long long)lo,
			  (unsigned long long)hi);
}

static uint64_t missing(const struct pageset *s, uint64_t lo, uint64_t hi)
{
	uint64_t n = 0;

	for (uint64_t p = PFN(lo); p < PFN(hi); p++)
		n += !has(s, p);
	return n;
}

/* Nothing in s outside [lo, hi), the image's pages and extra (a pfn or -1). */
static void assert_only(const struct pageset *s, uint64_t lo, uint64_t hi,
			const struct pageset *image, uint64_t extra, const char *who)
{
	for (uint64_t p = 0; p < s->nbits; p++)
		if (has(s, p) && !(p >= PFN(lo) && p < PFN(hi)) && !has(image, p) && p != extra)
			cr_assert(0, "%s: page 0x%llx was reported written; the guest writes only "
				"0x%llx-0x%llx and its image", who, (unsigned long long)p << 12,
				(unsigned long long)lo, (unsigned long long)hi);
}

Test(dirty, ring_reports_exactly_the_range_the_guest_wrote)
{
	struct vmm *vm = run_guest("guests/memwrite.elf", "start=8M bytes=1M", 1,
				   VMM_DIRTY_RING, 0, true);
	struct vmm_dirty_info info;
	struct pageset s = harvest(vm, 0), again, image;
	/* 4096 entries: ~3 per page written here (the loop's own stores count) */
	uint64_t added = 1;

	image = image_pages(build_path("guests/memwrite.elf"), s.nbits);
	assert_range(&s, 8 * MIB, 9 * MIB, "vcpu0");
	assert_only(&s, 8 * MIB, 9 * MIB, &image, UINT64_MAX, "vcpu0");
	cr_assert_leq(count(&s), 256 + count(&image));
	/* harvested: nothing new since */
	again = harvest(vm, 0);
	cr_assert_eq(count(&again), 0);
	cr_assert_eq(vmm_dirty_harvest(vm, -1, again.bits, again.nbits, &added), 0);
	cr_assert_eq(added, 0);
	vmm_dirty_info(vm, &info);
	cr_assert_eq(info.mode, VMM_DIRTY_RING);
	cr_assert(info.per_vcpu);
	cr_assert_eq(info.ring_entries, VMM_DIRTY_RING_DEFAULT);
	cr_assert_eq(info.pfn_bits, PFN(32 * MIB));
	cr_assert_geq(info.entries, 256);
	cr_assert_eq(info.foreign_entries, 0);
	cr_assert_eq(info.harvests, 3);
	cr_assert_eq(vmm_dirty_harvest(vm, 1, again.bits, again.nbits, NULL), -EINVAL);
	cr_assert_eq(vmm_dirty_harvest(vm, 0, again.bits, 64, NULL), -EINVAL, "set too small");
	vmm_destroy(vm);
	free(s.bits);
	free(again.bits);
	free(image.bits);
}

Test(dirty, each_vcpu_reports_its_own_range)
{
	/* Ranges 16-17M and 20-21M: 2 MiB apart, so KVM's prefetch of neighbouring
	 * entries (within one page table) never maps the other vCPU's pages.
	 * Harvested while it runs, as the loop does: the BSP's start-up (TSC
	 * calibration, waits) writes its stack tens of thousands of times, one
	 * entry each where KVM emulates the guest, and would fill the ring. */
	struct vmm *vm = run_guest("guests/smp.elf", "write=1M write_at=16M write_step=4M n=1000",
				   2, VMM_DIRTY_RING, 65536, false);
	struct pageset s0 = harvest(vm, 0), s1 = harvest(vm, 1), image;
	struct vmm_dirty_info info;
	struct vmm_result res;

	while (!vmm_ended(vm)) {
		cr_assert_eq(vmm_dirty_harvest(vm, 0, s0.bits, s0.nbits, NULL), 0);
		cr_assert_eq(vmm_dirty_harvest(vm, 1, s1.bits, s1.nbits, NULL), 0);
		util_sleep_ns(1000000);
	}
	vmm_wait(vm, &res);
	cr_assert_eq(res.exit_status, 0, "power-off: %s", res.why);
	cr_assert_eq(vmm_dirty_harvest(vm, 0, s0.bits, s0.nbits, NULL), 0);
	cr_assert_eq(vmm_dirty_harvest(vm, 1, s1.bits, s1.nbits, NULL), 0);
	vmm_dirty_info(vm, &info);
	image = image_pages(build_path("guests/smp.elf"), s0.nbits);
	cr_assert_eq(info.ring_full_exits, 0, "the harvester did not keep up");
	assert_range(&s0, 16 * MIB, 17 * MIB, "vcpu0");
	assert_range(&s1, 20 * MIB, 21 * MIB, "vcpu1");
	/* the BSP also copies the AP start-up code to 0x8000 */
	assert_only(&s0, 16 * MIB, 17 * MIB, &image, PFN(0x8000), "vcpu0");
	assert_only(&s1, 20 * MIB, 21 * MIB, &image, UINT64_MAX, "vcpu1");
	vmm_destroy(vm);
	free(s0.bits);
	free(s1.bits);
	free(image.bits);
}

/* A vCPU's full ring goes to its pending set and the vCPU runs on. Where KVM
 * overruns a ring (kvm_pvm's emulator: one entry per emulated write, past the
 * soft limit; see dirty.c) the overwritten entries are lost: counted, and the
 * only pages allowed to be missing. */
Test(dirty, a_full_ring_never_stops_the_guest)
{
	/* 256 entries (KVM's smallest ring; it exits at 256 - 64 reserved) and
	 * 1024 pages written: the vCPU fills its ring at least 5 times. */
	struct vmm *vm = run_guest("guests/memwrite.elf", "start=8M bytes=4M", 1,
				   VMM_DIRTY_RING, 256, true);
	struct vmm_dirty_info info;
	struct pageset s = harvest(vm, 0);

	vmm_dirty_info(vm, &info);
	cr_assert_geq(info.ring_full_exits, 5, "ring full %llu times",
		      (unsigned long long)info.ring_full_exits);
	cr_assert_leq(missing(&s, 8 * MIB, 12 * MIB), info.lost_entries,
		      "%llu pages of the range missing, %llu ring entries lost",
		      (unsigned long long)missing(&s, 8 * MIB, 12 * MIB),
		      (unsigned long long)info.lost_entries);
	if (!info.lost_entries)
		assert_range(&s, 8 * MIB, 12 * MIB, "vcpu0");
	vmm_destroy(vm);
	free(s.bits);
}

Test(dirty, harvesting_while_the_guest_runs_misses_nothing)
{
	struct vmm *vm = run_guest("guests/memwrite.elf", "start=8M bytes=4M passes=3", 1,
				   VMM_DIRTY_RING, 256, false);
	struct vmm_dirty_info info;
	struct vmm_result res;
	struct pageset all = harvest(vm, 0);
	int rounds = 1;

	while (!vmm_ended(vm)) {
		cr_assert_eq(vmm_dirty_harvest(vm, 0, all.bits, all.nbits, NULL), 0);
		rounds++;
		util_sleep_ns(200000);
	}
	vmm_wait(vm, &res);
	cr_assert_eq(res.exit_status, 0, "power-off: %s", res.why);
	cr_assert_eq(vmm_dirty_harvest(vm, -1, all.bits, all.nbits, NULL), 0);
	vmm_dirty_info(vm, &info);
	cr_assert_leq(missing(&all, 8 * MIB, 12 * MIB), info.lost_entries);
	cr_assert_eq(info.harvests, (uint64_t)rounds + 1);
	vmm_destroy(vm);
	free(all.bits);
}

Test(dirty, bitmap_mode_is_one_set_for_the_whole_vm)
{
	struct vmm *vm = run_guest("guests/smp.elf", "write=1M write_at=16M write_step=4M n=1000", 2,
				   VMM_DIRTY_BITMAP, 0, true);
	struct vmm_dirty_info info;
	struct pageset s, image;
	uint64_t one;

	vmm_dirty_info(vm, &info);
	cr_assert_eq(info.mode, VMM_DIRTY_BITMAP);
	cr_assert_not(info.per_vcpu);
	cr_assert(strstr(info.why, "not per vCPU"), "%s", info.why);
	cr_assert_eq(vmm_dirty_harvest(vm, 0, &one, 64, NULL), -EINVAL);
	s = harvest(vm, -1);
	cr_assert_eq(vmm_dirty_harvest(vm, 0, s.bits, s.nbits, NULL), -EOPNOTSUPP);
	image = image_pages(build_path("guests/smp.elf"), s.nbits);
	assert_range(&s, 16 * MIB, 17 * MIB, "VM");
	assert_range(&s, 20 * MIB, 21 * MIB, "VM");
	assert_only(&s, 16 * MIB, 21 * MIB, &image, PFN(0x8000), "VM");
	cr_assert_eq(missing(&s, 17 * MIB, 20 * MIB), 768, "pages between the ranges reported");
	vmm_destroy(vm);
	free(s.bits);
	free(image.bits);
}

Test(dirty, off_by_default)
{
	struct vmm *vm = run_guest("guests/memwrite.elf", "bytes=64K", 1, VMM_DIRTY_OFF, 0, true);
	struct vmm_dirty_info info;
	uint64_t set[8];

	vmm_dirty_info(vm, &info);
	cr_assert_eq(info.mode, VMM_DIRTY_OFF);
	cr_assert_eq(vmm_dirty_harvest(vm, -1, set, 512, NULL), -ENODATA);
	vmm_destroy(vm);
}

Test(dirty, an_impossible_ring_size_is_refused)
{
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 32 * MIB,
				  .guest_path = build_path("guests/memwrite.elf"),
				  .console_path = "/dev/null", .dirty_track = VMM_DIRTY_AUTO,
				  .dirty_ring_entries = 64 };
	struct vmm *vm = NULL;

	require_kvm();
	cr_assert_eq(vmm_create(&cfg, &vm), -EINVAL);
}
