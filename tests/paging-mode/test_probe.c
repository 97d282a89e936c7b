/* paging-mode: the host probe on fake trees (Intel EPT on/off, AMD NPT, PVM,
 * THP never, hugetlb pools, debugfs) and on this host; the calibration file;
 * the host-mode switch's refusals and its modprobe commands. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "paging-mode/pgmode.h"
#include "paging-mode/probe_int.h"
#include "tests/paging-mode/fake_host.h"

static struct fakehost fk;

static void setup(void)
{
	fakehost_init(&fk);
}

static void teardown(void)
{
	fakehost_cleanup(&fk);
}

static void probe_fake(struct pgmode_host *h)
{
	cr_assert_eq(pgmode_probe(fk.root, PGMODE_PROBE_NO_SYSCALLS, h), 0);
}

/* ---- parsing ---------------------------------------------------------- */

Test(pgmode_parse, bracketed_word)
{
	char w[16];

	cr_assert_eq(pgmode_parse_bracket("always [madvise] never\n", w, sizeof(w)), 0);
	cr_expect_str_eq(w, "madvise");
	cr_assert_eq(pgmode_parse_bracket("always defer [defer+madvise] madvise never", w,
					  sizeof(w)), 0);
	cr_expect_str_eq(w, "defer+madvise");
	cr_expect_eq(pgmode_parse_bracket("always madvise never", w, sizeof(w)), -EINVAL);
	cr_expect_eq(pgmode_parse_bracket("[]", w, sizeof(w)), -EINVAL);
	cr_expect_eq(pgmode_parse_bracket("[defer+madvise]", w, 4), -EINVAL, "too long for out");
}

Test(pgmode_parse, module_booleans)
{
	cr_expect_eq(pgmode_parse_yn("Y\n"), 1);
	cr_expect_eq(pgmode_parse_yn("1"), 1);
	cr_expect_eq(pgmode_parse_yn("N\n"), 0);
	cr_expect_eq(pgmode_parse_yn("0\n"), 0);
	cr_expect_eq(pgmode_parse_yn("auto\n"), -EINVAL);
	cr_expect_eq(pgmode_parse_yn(""), -EINVAL);
}

Test(pgmode_parse, pool_folder_names)
{
	uint64_t kib = 0;

	cr_assert_eq(pgmode_parse_pool_dir("hugepages-2048kB", &kib), 0);
	cr_expect_eq(kib, 2048);
	cr_assert_eq(pgmode_parse_pool_dir("hugepages-1048576kB", &kib), 0);
	cr_expect_eq(kib, 1048576);
	cr_expect_eq(pgmode_parse_pool_dir("hugepages-2048", &kib), -EINVAL);
	cr_expect_eq(pgmode_parse_pool_dir("hugepages-kB", &kib), -EINVAL);
	cr_expect_eq(pgmode_parse_pool_dir("..", &kib), -EINVAL);
}

Test(pgmode_parse, flavour_and_mode)
{
	cr_expect_eq(pgmode_kvm_from_modules(true, false, false), PGMODE_KVM_INTEL);
	cr_expect_eq(pgmode_kvm_from_modules(false, true, false), PGMODE_KVM_AMD);
	cr_expect_eq(pgmode_kvm_from_modules(false, false, true), PGMODE_KVM_PVM);
	cr_expect_eq(pgmode_kvm_from_modules(true, false, true), PGMODE_KVM_PVM);
	cr_expect_eq(pgmode_kvm_from_modules(false, false, false), PGMODE_KVM_OTHER);
	cr_expect_eq(pgmode_mode_from_params(PGMODE_KVM_INTEL, 1, -1), PGMODE_MODE_NESTED);
	cr_expect_eq(pgmode_mode_from_params(PGMODE_KVM_INTEL, 0, 1), PGMODE_MODE_SHADOW);
	cr_expect_eq(pgmode_mode_from_params(PGMODE_KVM_AMD, 0, 1), PGMODE_MODE_NESTED);
	cr_expect_eq(pgmode_mode_from_params(PGMODE_KVM_AMD, -1, -1), PGMODE_MODE_UNKNOWN);
	cr_expect_eq(pgmode_mode_from_params(PGMODE_KVM_PVM, -1, -1), PGMODE_MODE_SHADOW);
	cr_expect_eq(pgmode_mode_from_params(PGMODE_KVM_OTHER, 1, 1), PGMODE_MODE_UNKNOWN);
}

Test(pgmode_parse, collapse_errno_explained)
{
	char w[PGMODE_WHY];

	pgmode_collapse_why(EINVAL, "madvise", w, sizeof(w));
	cr_expect(strstr(w, "EINVAL") && strstr(w, "6.1"), "%s", w);
	pgmode_collapse_why(EINVAL, "never", w, sizeof(w));
	cr_expect(strstr(w, "never"), "%s", w);
	pgmode_collapse_why(ENOMEM, "madvise", w, sizeof(w));
	cr_expect(strstr(w, "compact_memory"), "%s", w);
	pgmode_collapse_why(EAGAIN, "madvise", w, sizeof(w));
	cr_expect(strstr(w, "transient"), "%s", w);
}

/* ---- fake trees ------------------------------------------------------- */

Test(pgmode_probe, intel_ept_on, .init = setup, .fini = teardown)
{
	struct pgmode_host h;

	fakehost_intel(&fk, "Y\n");
	fakehost_thp(&fk, "madvise");
	probe_fake(&h);
	cr_expect_eq(h.kvm, PGMODE_KVM_INTEL);
	cr_expect_eq(h.ept, 1);
	cr_expect_eq(h.npt, -1);
	cr_expect_eq(h.tdp_mmu, 1);
	cr_expect_str_eq(h.nx_huge_pages, "auto");
	cr_expect_eq(h.mode, PGMODE_MODE_NESTED);
	cr_expect(h.nested.available, "%s", h.nested.why);
	cr_expect(strstr(h.nested.why, "ept=Y"), "%s", h.nested.why);
	cr_expect_eq(h.host_switch.available, geteuid() == 0, "%s", h.host_switch.why);
	cr_expect(h.kvm_page_stats.available, "%s", h.kvm_page_stats.why);
	cr_expect_not(h.collapse.available, "fake tree: not tried");
	cr_expect(strstr(h.collapse.why, "not tried"), "%s", h.collapse.why);
	cr_expect_eq(h.cap_binary_stats, -1, "no /dev/kvm asked on a fake tree");
}

Test(pgmode_probe, intel_ept_off, .init = setup, .fini = teardown)
{
	struct pgmode_host h;

	fakehost_intel(&fk, "N\n");
	probe_fake(&h);
	cr_expect_eq(h.kvm, PGMODE_KVM_INTEL);
	cr_expect_eq(h.ept, 0);
	cr_expect_eq(h.mode, PGMODE_MODE_SHADOW);
	cr_expect_not(h.nested.available);
	cr_expect(strstr(h.nested.why, "ept=N") && strstr(h.nested.why, "host-mode nested"), "%s",
		  h.nested.why);
}

Test(pgmode_probe, intel_without_ept_file, .init = setup, .fini = teardown)
{
	struct pgmode_host h;

	fakehost_intel(&fk, NULL);
	probe_fake(&h);
	cr_expect_eq(h.kvm, PGMODE_KVM_INTEL);
	cr_expect_eq(h.mode, PGMODE_MODE_UNKNOWN);
	cr_expect_not(h.nested.available);
	cr_expect_not(h.host_switch.available);
	cr_expect(strstr(h.nested.why, "no ept parameter"), "%s", h.nested.why);
}

Test(pgmode_probe, amd_npt, .init = setup, .fini = teardown)
{
	struct pgmode_host h;

	fakehost_amd(&fk, "1\n");
	probe_fake(&h);
	cr_expect_eq(h.kvm, PGMODE_KVM_AMD);
	cr_expect_eq(h.npt, 1);
	cr_expect_eq(h.ept, -1);
	cr_expect_eq(h.mode, PGMODE_MODE_NESTED);
	cr_expect(h.nested.available);
	cr_expect(strstr(h.nested.why, "kvm_amd npt=Y"), "%s", h.nested.why);
	cr_expect_str_eq(h.nx_huge_pages, "N");
}

Test(pgmode_probe, pvm_shadow_only, .init = setup, .fini = teardown)
{
	struct pgmode_host h;

	fakehost_pvm(&fk);
	fakehost_thp(&fk, "madvise");
	probe_fake(&h);
	cr_expect_eq(h.kvm, PGMODE_KVM_PVM);
	cr_expect_eq(h.mode, PGMODE_MODE_SHADOW);
	cr_expect_eq(h.ept, -1);
	cr_expect_eq(h.npt, -1);
	cr_expect_eq(h.tdp_mmu, 0);
	cr_expect_not(h.nested.available);
	cr_expect(strstr(h.nested.why, "shadow paging only"), "%s", h.nested.why);
	cr_expect_not(h.host_switch.available);
	cr_expect(strstr(h.host_switch.why, "no ept/npt"), "%s", h.host_switch.why);
	cr_expect_not(h.kvm_page_stats.available);
	cr_expect(strstr(h.kvm_page_stats.why, "smaps"), "%s", h.kvm_page_stats.why);
	cr_expect(h.thp.available);
}

Test(pgmode_probe, no_kvm_module, .init = setup, .fini = teardown)
{
	struct pgmode_host h;

	probe_fake(&h);
	cr_expect_eq(h.kvm, PGMODE_KVM_OTHER);
	cr_expect_eq(h.mode, PGMODE_MODE_UNKNOWN);
	cr_expect_not(h.nested.available);
	cr_expect(strstr(h.nested.why, "modprobe"), "%s", h.nested.why);
	cr_expect_not(h.thp.available);
	cr_expect(strstr(h.thp.why, "CONFIG_TRANSPARENT_HUGEPAGE"), "%s", h.thp.why);
	cr_expect_eq(h.nr_pools, 0);
	cr_expect(strstr(h.hugetlb_2m.why, "hugepages-2048kB"), "%s", h.hugetlb_2m.why);
}

Test(pgmode_probe, thp_never, .init = setup, .fini = teardown)
{
	struct pgmode_host h;

	fakehost_intel(&fk, "Y\n");
	fakehost_thp(&fk, "never");
	probe_fake(&h);
	cr_expect_str_eq(h.thp_enabled, "never");
	cr_expect_str_eq(h.thp_defrag, "madvise");
	cr_expect_eq(h.khugepaged_defrag, 1);
	cr_expect_eq(h.khugepaged_pages_to_scan, 4096);
	cr_expect_not(h.thp.available);
	cr_expect(strstr(h.thp.why, "echo madvise"), "%s", h.thp.why);
}

Test(pgmode_probe, hugetlb_pools_2m_1g, .init = setup, .fini = teardown)
{
	struct pgmode_host h;

	fakehost_pvm(&fk);
	fakehost_pool(&fk, 1048576, 0, 0);
	fakehost_pool(&fk, 2048, 512, 500);
	fakehost_dir(&fk, "/sys/kernel/mm/hugepages/not-a-pool");
	probe_fake(&h);
	cr_assert_eq(h.nr_pools, 2);
	cr_expect_eq(h.pool[0].page_kib, 2048, "sorted by size");
	cr_expect_eq(h.pool[0].total, 512);
	cr_expect_eq(h.pool[0].free, 500);
	cr_expect_eq(h.pool[1].page_kib, 1048576);
	cr_expect(h.hugetlb_2m.available, "%s", h.hugetlb_2m.why);
	cr_expect(strstr(h.hugetlb_2m.why, "512") && strstr(h.hugetlb_2m.why, "500 free"), "%s",
		  h.hugetlb_2m.why);
	cr_expect_not(h.hugetlb_1g.available);
	cr_expect(strstr(h.hugetlb_1g.why, "hugepagesz=1G"), "%s", h.hugetlb_1g.why);
}

Test(pgmode_probe, split_lever_from_debugfs, .init = setup, .fini = teardown)
{
	struct pgmode_host h;

	fakehost_pvm(&fk);
	probe_fake(&h);
	cr_expect_not(h.split.available);
	cr_expect(strstr(h.split.why, "mount -t debugfs"), "%s", h.split.why);
	fakehost_file(&fk, "/sys/kernel/debug/sched/features", "x\n");
	probe_fake(&h);
	cr_expect_not(h.split.available);
	cr_expect(strstr(h.split.why, "no split_huge_pages"), "%s", h.split.why);
	if (geteuid() != 0)
		return;
	fakehost_file(&fk, "/sys/kernel/debug/split_huge_pages", "");
	probe_fake(&h);
	cr_expect(h.split.available, "%s", h.split.why);
}

/* ---- this host -------------------------------------------------------- */

static bool has_module(const char *m)
{
	char p[96];
	struct stat st;

	snprintf(p, sizeof(p), "/sys/module/%s", m);
	return !stat(p, &st);
}

static bool kernel_at_least(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	uname(&u);
	sscanf(u.release, "%d.%d", &a, &b);
	return a > maj || (a == maj && b >= min);
}

Test(pgmode_probe, real_host)
{
	struct pgmode_host h;

	if (access("/dev/kvm", R_OK | W_OK))
		cr_skip_test("/dev/kvm is not available here");
	cr_assert_eq(pgmode_probe(NULL, 0, &h), 0);
	if (has_module("kvm_pvm")) {
		cr_expect_eq(h.kvm, PGMODE_KVM_PVM);
		cr_expect_eq(h.mode, PGMODE_MODE_SHADOW);
		cr_expect_not(h.kvm_page_stats.available);
	} else if (has_module("kvm_intel")) {
		cr_expect_eq(h.kvm, PGMODE_KVM_INTEL);
		cr_expect_neq(h.ept, -1);
	} else if (has_module("kvm_amd")) {
		cr_expect_eq(h.kvm, PGMODE_KVM_AMD);
	}
	cr_expect_eq(h.cap_binary_stats, kernel_at_least(5, 14));
	cr_expect_eq(h.cap_sync_mmu, 1);
	cr_expect_neq(h.cap_dirty_log_ring, -1, "asked /dev/kvm");
	if (kernel_at_least(6, 1) && h.thp_enabled[0] && strcmp(h.thp_enabled, "never"))
		cr_expect(h.collapse.available, "%s", h.collapse.why);
	else
		cr_expect(strstr(h.collapse.why, "MADV_COLLAPSE"), "%s", h.collapse.why);
}

/* ---- calibration ------------------------------------------------------ */

Test(pgmode_calib, state_dir_from_env)
{
	char d[256];

	setenv("AVMM_STATE_DIR", "/tmp/somewhere", 1);
	pgmode_state_dir(d, sizeof(d));
	cr_expect_str_eq(d, "/tmp/somewhere/paging");
	unsetenv("AVMM_STATE_DIR");
	pgmode_state_dir(d, sizeof(d));
	cr_expect_str_eq(d, "/var/lib/avmm/paging");
}

Test(pgmode_calib, save_load_and_refusals, .init = setup, .fini = teardown)
{
	char dir[128], path[160], why[PGMODE_WHY * 2], text[1024];
	double cost = 0;
	struct stat st;
	FILE *f;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/state/paging", fk.root);
	cr_expect_eq(pgmode_calibration_load(dir, &cost, why, sizeof(why)), -ENOENT);
	cr_expect(strstr(why, "avmm paging calibrate"), "%s", why);
	cr_expect_eq(pgmode_calibration_save(dir, -3, "x"), -EINVAL);
	cr_assert_eq(pgmode_calibration_save(dir, 2345.6, "test"), 0);
	cr_assert_eq(stat(dir, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0755);
	cr_assert_eq(pgmode_calibration_load(dir, &cost, why, sizeof(why)), 0, "%s", why);
	cr_expect_float_eq(cost, 2345.6, 0.01);

	/* the same file claimed by another kernel release */
	snprintf(path, sizeof(path), "%s/calibration", dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cr_expect(strstr(text, "how=test") && strstr(text, "date=") && strstr(text, "kvm="));
	f = fopen(path, "w");
	fprintf(f, "exit_cost_ns=100\nkernel=1.2.3-old\nkvm=intel\n");
	fclose(f);
	cr_expect_eq(pgmode_calibration_load(dir, &cost, why, sizeof(why)), -ESTALE);
	cr_expect(strstr(why, "1.2.3-old") && strstr(why, "avmm paging calibrate"), "%s", why);
	f = fopen(path, "w");
	fprintf(f, "exit_cost_ns=fast\n");
	fclose(f);
	cr_expect_eq(pgmode_calibration_load(dir, &cost, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, ":1:"), "names the line: %s", why);
}

Test(pgmode_calib, save_refuses_a_symlink, .init = setup, .fini = teardown)
{
	char dir[128], victim[160];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/paging", fk.root);
	snprintf(victim, sizeof(victim), "%s/victim", fk.root);
	fakehost_file(&fk, "/victim", "keep\n");
	fakehost_link(&fk, "/paging/calibration.tmp", victim);
	cr_expect_neq(pgmode_calibration_save(dir, 1000, "x"), 0);
	cr_assert_eq(stat(victim, &st), 0);
	cr_expect_eq(st.st_size, 5, "the link's target is untouched");
}

/* ---- host mode -------------------------------------------------------- */

struct recorder {
	char cmds[4][96];
	int n;
	const char *param_file;   /* written with the new value on load */
	bool fail_load;
};

static int record(const char *const *argv, void *arg, char *why, size_t len)
{
	struct recorder *r = arg;
	char *c = r->cmds[r->n < 4 ? r->n++ : 3];

	c[0] = '\0';
	for (int i = 0; argv[i]; i++)
		snprintf(c + strlen(c), 96 - strlen(c), "%s%s", i ? " " : "", argv[i]);
	if (argv[1] && strcmp(argv[1], "-r") && argv[2]) {
		if (r->fail_load) {
			snprintf(why, len, "modprobe: ERROR: could not insert");
			return 1;
		}
		if (r->param_file) {
			FILE *f = fopen(r->param_file, "w");

			fputs(strstr(argv[2], "=1") ? "Y\n" : "N\n", f);
			fclose(f);
		}
	}
	return 0;
}

Test(pgmode_hostmode, refused_on_pvm, .init = setup, .fini = teardown)
{
	struct recorder r = { 0 };
	char why[512];

	fakehost_pvm(&fk);
	cr_expect_eq(pgmode_host_mode_set_run(fk.root, PGMODE_MODE_NESTED, record, &r, why,
					      sizeof(why)), -EOPNOTSUPP);
	cr_expect(strstr(why, "kvm_pvm") && strstr(why, "no ept/npt"), "%s", why);
	cr_expect_eq(r.n, 0, "nothing run");
}

Test(pgmode_hostmode, already_in_that_mode, .init = setup, .fini = teardown)
{
	struct recorder r = { 0 };
	char why[512];

	fakehost_intel(&fk, "Y\n");
	cr_expect_eq(pgmode_host_mode_set_run(fk.root, PGMODE_MODE_NESTED, record, &r, why,
					      sizeof(why)), 0);
	cr_expect(strstr(why, "nothing to do"), "%s", why);
	cr_expect_eq(r.n, 0);
}

Test(pgmode_hostmode, refused_while_vms_run, .init = setup, .fini = teardown)
{
	struct recorder r = { 0 };
	char why[512], list[256];

	if (geteuid() != 0)
		cr_skip_test("the running-VM check comes after the root check: run as root");
	fakehost_intel(&fk, "Y\n");
	fakehost_vm_process(&fk, 4242, "qemu-system-x86");
	fakehost_vm_process(&fk, 77, "avmm");
	fakehost_file(&fk, "/proc/99/comm", "bash\n");
	fakehost_link(&fk, "/proc/99/fd/0", "/dev/pts/0");
	cr_expect_eq(pgmode_kvm_vm_list(fk.root, list, sizeof(list)), 2);
	cr_expect_eq(pgmode_host_mode_set_run(fk.root, PGMODE_MODE_SHADOW, record, &r, why,
					      sizeof(why)), -EBUSY);
	cr_expect(strstr(why, "pid 4242 (qemu-system-x86)") && strstr(why, "pid 77 (avmm)") &&
		  !strstr(why, "bash"), "%s", why);
	cr_expect_eq(r.n, 0, "nothing run");
}

Test(pgmode_hostmode, reloads_kvm_intel_with_ept, .init = setup, .fini = teardown)
{
	char why[512], param[160];
	struct recorder r = { .param_file = param };

	if (geteuid() != 0)
		cr_skip_test("host-mode needs root");
	fakehost_intel(&fk, "Y\n");
	fakehost_dir(&fk, "/proc/1/fd");
	snprintf(param, sizeof(param), "%s/sys/module/kvm_intel/parameters/ept", fk.root);
	cr_assert_eq(pgmode_host_mode_set_run(fk.root, PGMODE_MODE_SHADOW, record, &r, why,
					      sizeof(why)), 0, "%s", why);
	cr_assert_eq(r.n, 2);
	cr_expect_str_eq(r.cmds[0], "modprobe -r kvm_intel");
	cr_expect_str_eq(r.cmds[1], "modprobe kvm_intel ept=0");
	cr_expect(strstr(why, "shadow") && strstr(why, "/etc/modprobe.d"), "%s", why);
}

Test(pgmode_hostmode, reloads_kvm_amd_with_npt, .init = setup, .fini = teardown)
{
	char why[512], param[160];
	struct recorder r = { .param_file = param };

	if (geteuid() != 0)
		cr_skip_test("host-mode needs root");
	fakehost_amd(&fk, "N\n");
	snprintf(param, sizeof(param), "%s/sys/module/kvm_amd/parameters/npt", fk.root);
	cr_assert_eq(pgmode_host_mode_set_run(fk.root, PGMODE_MODE_NESTED, record, &r, why,
					      sizeof(why)), 0, "%s", why);
	cr_expect_str_eq(r.cmds[1], "modprobe kvm_amd npt=1");
}

Test(pgmode_hostmode, failed_load_puts_the_module_back, .init = setup, .fini = teardown)
{
	struct recorder r = { .fail_load = true };
	char why[512];

	if (geteuid() != 0)
		cr_skip_test("host-mode needs root");
	fakehost_intel(&fk, "Y\n");
	cr_expect_lt(pgmode_host_mode_set_run(fk.root, PGMODE_MODE_SHADOW, record, &r, why,
					      sizeof(why)), 0);
	cr_assert_eq(r.n, 3);
	cr_expect_str_eq(r.cmds[2], "modprobe kvm_intel");
	cr_expect(strstr(why, "could not insert") && strstr(why, "loaded it back"), "%s", why);
}

Test(pgmode_hostmode, reload_that_does_not_take_is_reported, .init = setup, .fini = teardown)
{
	struct recorder r = { 0 };   /* leaves ept=Y in place */
	char why[512];

	if (geteuid() != 0)
		cr_skip_test("host-mode needs root");
	fakehost_intel(&fk, "Y\n");
	cr_expect_eq(pgmode_host_mode_set_run(fk.root, PGMODE_MODE_SHADOW, record, &r, why,
					      sizeof(why)), -EIO);
	cr_expect(strstr(why, "dmesg"), "%s", why);
}
