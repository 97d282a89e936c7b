/* Snapshot and restore with a real guest (memwrite: fills 1 MiB three times
 * and verifies every word at the end): snapshot mid-run, the original
 * finishes ok, the file restored into a new VM finishes ok with its own exit
 * status; truncated, other-version and wrong-shape restores are refused
 * before the VM changes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/bg_avmm.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/snapshot.h"
#include "vmm-core/vmm.h"

static char dir[64], snap[128], con_a[128], con_b[128];

#define CMDLINE "bytes=1048576 stride=64 passes=3"

static struct vmm *make(int vcpus, const char *console, const char *cmdline)
{
	struct vmm_config cfg = { .vcpus = vcpus, .mem_bytes = 32ull << 20,
				  .guest_path = build_path("guests/memwrite.elf"),
				  .cmdline = cmdline, .console_path = console };
	struct vmm *vm;

	cr_assert_eq(vmm_create(&cfg, &vm), 0);
	return vm;
}

static void take_snapshot(void)
{
	struct vmm *a;
	struct vmm_result res;
	char why[256], *out;
	uint64_t bytes = 0;
	int fd;

	require_kvm();
	snprintf(dir, sizeof(dir), "/tmp/avmm-snap-XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(snap, sizeof(snap), "%s/vm.snap", dir);
	snprintf(con_a, sizeof(con_a), "%s/a.txt", dir);
	snprintf(con_b, sizeof(con_b), "%s/b.txt", dir);
	a = make(1, con_a, CMDLINE);
	cr_assert_eq(vmm_start(a), 0);
	util_sleep_ns(1000000000);
	cr_assert_eq(vmm_ended(a), false, "the guest ended before the snapshot");
	fd = open(snap, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(vmm_snapshot_save(a, fd, NULL, why, sizeof(why)), -EBUSY, "not paused");
	cr_assert_eq(vmm_vm_pause(a, NULL), 0);
	cr_assert_eq(vmm_snapshot_save(a, fd, &bytes, why, sizeof(why)), 0, "%s", why);
	close(fd);
	cr_assert_gt(bytes, 64u << 10, "RAM written: %llu bytes", (unsigned long long)bytes);
	cr_assert_lt(bytes, 8u << 20, "only touched pages of 32 MiB: %llu", (unsigned long long)bytes);
	cr_assert_eq(vmm_vm_resume(a, NULL), 0);
	vmm_wait(a, &res);
	cr_assert_eq(res.exit_status, 0, "original: %s", res.why);
	vmm_destroy(a);
	out = file_text(con_a);
	cr_assert(out && strstr(out, "ok=1"), "original guest: %s", out ? out : "");
	free(out);
}

Test(snapshot, restored_guest_finishes_and_verifies, .timeout = 120)
{
	struct vmm_result res;
	struct vmm *b;
	char why[256], *out;
	int fd;

	take_snapshot();
	/* another command line: a guest that booted afresh would write 4 KiB
	 * once; the restored one goes on with the snapshot's 1 MiB x 3 */
	b = make(1, con_b, "bytes=4096 passes=1");
	fd = open(snap, O_RDONLY);
	cr_assert_eq(vmm_snapshot_restore(b, fd, why, sizeof(why)), 0, "%s", why);
	close(fd);
	cr_assert_eq(vmm_start(b), 0);
	vmm_wait(b, &res);
	out = file_text(con_b);
	cr_assert_eq(res.end, VMM_END_POWEROFF, "%s; console: %s", res.why, out ? out : "");
	cr_assert_eq(res.exit_status, 0, "%s", res.why);
	cr_assert(out && strstr(out, "AVMM-RESULT guest=memwrite") && strstr(out, "ok=1"),
		  "restored guest: %s", out ? out : "");
	cr_assert(strstr(out, "bytes=1048576 stride=64 passes=3"), "booted afresh? %s", out);
	free(out);
	vmm_destroy(b);
}

static int restore_copy(int vcpus, off_t cut, uint32_t version, char *why, size_t len)
{
	char cmd[512];
	struct vmm *c = make(vcpus, "/dev/null", CMDLINE);
	int fd, rc;

	snprintf(cmd, sizeof(cmd), "cp %s %s.bad", snap, snap);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.bad", snap);
	fd = open(cmd, O_RDWR);
	if (cut)
		cr_assert_eq(ftruncate(fd, cut), 0);
	if (version)
		cr_assert_eq(pwrite(fd, &version, 4, 8), 4);
	rc = vmm_snapshot_restore(c, fd, why, len);
	close(fd);
	vmm_destroy(c);   /* never started */
	return rc;
}

Test(snapshot, bad_files_are_refused, .timeout = 120)
{
	struct stat st;
	char why[256];

	take_snapshot();
	cr_assert_eq(stat(snap, &st), 0);
	cr_assert_eq(restore_copy(1, st.st_size - 1, 0, why, sizeof(why)), -ENODATA, "%s", why);
	cr_assert(strstr(why, "truncated"), "%s", why);
	cr_assert_eq(restore_copy(1, st.st_size / 2, 0, why, sizeof(why)), -ENODATA, "%s", why);
	cr_assert_eq(restore_copy(1, 0, 99, why, sizeof(why)), -EPROTO, "%s", why);
	cr_assert(strstr(why, "version 99"), "%s", why);
	cr_assert_eq(restore_copy(2, 0, 0, why, sizeof(why)), -EINVAL, "%s", why);
	cr_assert(strstr(why, "--vcpus"), "%s", why);
}

/* A VM whose guest would see another CPU (--cpu qemu64) is refused. */
Test(snapshot, other_cpu_model_is_refused, .timeout = 120)
{
	struct vmm_config cfg = { .vcpus = 1, .mem_bytes = 32ull << 20,
				  .guest_path = build_path("guests/memwrite.elf"),
				  .cmdline = CMDLINE, .console_path = "/dev/null",
				  .cpu_model = "qemu64" };
	struct vmm *c;
	char why[256];
	int fd;

	take_snapshot();
	cr_assert_eq(vmm_create(&cfg, &c), 0);
	fd = open(snap, O_RDONLY);
	cr_assert_eq(vmm_snapshot_restore(c, fd, why, sizeof(why)), -EPROTO, "%s", why);
	cr_assert(strstr(why, "--cpu"), "%s", why);
	close(fd);
	vmm_destroy(c);
}

/* Two vCPUs (the smp guest: both loop, the BSP waits for the AP and checks
 * in): snapshot while both run, restore into a new VM, it finishes ok. */
Test(snapshot, two_vcpus, .timeout = 120)
{
	struct vmm_config cfg = { .vcpus = 2, .mem_bytes = 32ull << 20,
				  .guest_path = build_path("guests/smp.elf"),
				  .cmdline = "n=150000 timeout_ms=60000 expect=2",
				  .console_path = "/dev/null" };
	struct vmm_result res;
	struct vmm *a, *b;
	char why[256], path[64], con[96], *out;
	int fd;

	require_kvm();
	snprintf(path, sizeof(path), "/tmp/avmm-snap2-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(vmm_create(&cfg, &a), 0);
	cr_assert_eq(vmm_start(a), 0);
	util_sleep_ns(700000000);
	cr_assert_eq(vmm_vm_pause(a, NULL), 0);
	cr_assert_eq(vmm_snapshot_save(a, fd, NULL, why, sizeof(why)), 0, "%s", why);
	vmm_request_stop(a);   /* the original is not needed further */
	vmm_wait(a, &res);
	vmm_destroy(a);
	snprintf(con, sizeof(con), "%s.con", path);
	cfg.console_path = con;
	cfg.cmdline = "n=10 expect=2";
	cr_assert_eq(vmm_create(&cfg, &b), 0);
	cr_assert_eq(vmm_snapshot_restore(b, fd, why, sizeof(why)), 0, "%s", why);
	close(fd);
	cr_assert_eq(vmm_start(b), 0);
	vmm_wait(b, &res);
	out = file_text(con);
	cr_assert_eq(res.exit_status, 0, "%s; console: %s", res.why, out ? out : "");
	cr_assert(out && strstr(out, "cpus=2") && strstr(out, "loop=150000") && strstr(out, "ok=1"),
		  "%s", out ? out : "");
	free(out);
	vmm_destroy(b);
	unlink(path);
	unlink(con);
}

/* The file holds every part: irqchip x3, PIT, clock, serial, each bus
 * device with state, every vCPU part, RAM; and only touched pages. */
Test(snapshot, file_holds_every_part, .timeout = 120)
{
	static const char *const devs[] = { "rtc", "acpi-pm", "pci", "fw_cfg", "hpet" };
	struct vmm_snap_reader r;
	struct vmm_snap_header h;
	struct vmm_snap_sec s;
	char names[256] = "";
	uint8_t buf[4096];
	int count[VMM_SNAP_NR_TYPES] = { 0 }, fd;
	uint64_t ram = 0;

	take_snapshot();
	fd = open(snap, O_RDONLY);
	cr_assert_eq(vmm_snap_read_header(&r, fd, NULL, &h), 0, "%s", r.why);
	cr_assert_eq(h.nr_vcpus, 1);
	cr_assert_eq(h.mem_bytes, 32ull << 20);
	while (!vmm_snap_next_section(&r, &s) && s.type != VMM_SNAP_END) {
		count[s.type]++;
		if (s.type == VMM_SNAP_RAM)
			ram += s.bytes - 8;
		if (s.type == VMM_SNAP_DEVICE) {
			cr_assert_eq(vmm_snap_read_payload(&r, buf, 32), 0);
			buf[31] = '\0';
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%.31s ",
				 (char *)buf);
			s.bytes -= 32;
		}
		for (uint64_t left = s.bytes; left;) {
			uint64_t n = left < sizeof(buf) ? left : sizeof(buf);

			cr_assert_eq(vmm_snap_read_payload(&r, buf, n), 0, "%s", r.why);
			left -= n;
		}
	}
	cr_assert_eq(s.type, VMM_SNAP_END, "%s", r.why);
	close(fd);
	cr_assert_eq(count[VMM_SNAP_IRQCHIP], 3);
	cr_assert_eq(count[VMM_SNAP_PIT], 1);
	cr_assert_eq(count[VMM_SNAP_CLOCK], 1);
	cr_assert_eq(count[VMM_SNAP_SERIAL], 1);
	for (int t = VMM_SNAP_REGS; t <= VMM_SNAP_MP_STATE; t++)
		cr_assert_eq(count[t], 1, "section type %d", t);
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		cr_assert(strstr(names, devs[i]), "device %s missing: %s", devs[i], names);
	cr_assert_gt(ram, 0);
	cr_assert_lt(ram, 4ull << 20, "%llu bytes of RAM for ~1 MiB touched",
		     (unsigned long long)ram);
}
