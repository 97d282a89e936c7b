/* The serial console's output: opened safely, caps on size and rate, write
 * errors reported. Real avmm with the hello guest, and the pieces alone. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm_internal.h"

static char out[1 << 16];

static int run_hello(const char *console, const char *const extra[], const char *cmdline)
{
	const char *args[24] = { "run", "--no-adapt", "--socket", "", "--console", console };
	int n = 6;

	while (extra && *extra)
		args[n++] = *extra++;
	args[n++] = build_path("guests/hello.elf");
	if (cmdline) {
		args[n++] = "--cmdline";
		args[n++] = cmdline;
	}
	args[n] = NULL;
	require_kvm();
	return run_avmm(out, sizeof(out), args);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

static void tmp_path(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "/tmp/avmm-con-%s-%d", what, (int)getpid());
	unlink(buf);
}

/* "N bytes written; D dropped over --console-max, R dropped over --console-rate, L lost" */
static void summary(unsigned long long *w, unsigned long long *d, unsigned long long *r,
		    unsigned long long *l)
{
	const char *p = strstr(out, " bytes written; ");

	cr_assert(p, "no console summary:\n%s", out);
	while (p > out && p[-1] >= '0' && p[-1] <= '9')
		p--;
	cr_assert_eq(sscanf(p, "%llu bytes written; %llu dropped over --console-max, %llu dropped "
			    "over --console-rate, %llu lost", w, d, r, l), 4, "%s", out);
}

Test(console, symlink_is_refused_and_its_target_untouched)
{
	char target[64], link[64], buf[32] = "";
	FILE *f;
	int st;

	tmp_path(target, sizeof(target), "target");
	tmp_path(link, sizeof(link), "link");
	f = fopen(target, "w");
	fputs("someone's data\n", f);
	fclose(f);
	cr_assert_eq(symlink(target, link), 0);
	st = run_hello(link, NULL, NULL);
	f = fopen(target, "r");
	cr_assert(fgets(buf, sizeof(buf), f));
	fclose(f);
	unlink(link);
	unlink(target);
	cr_assert_eq(st, 2, "status %d:\n%s", st, out);
	cr_assert(strstr(out, "avmm: error: --console ") && strstr(out, "symbolic link"), "%s", out);
	cr_assert_str_eq(buf, "someone's data\n", "the link's target was written");
}

Test(console, write_errors_are_reported_once_and_counted)
{
	unsigned long long w, d, r, l;
	int st = run_hello("/dev/full", NULL, NULL);
	const char *first;

	cr_assert_eq(st, 0, "the guest itself is fine: status %d:\n%s", st, out);
	first = strstr(out, "--console /dev/full: write failed: No space left on device");
	cr_assert(first, "no warning naming the file and the error:\n%s", out);
	cr_assert_null(strstr(first + 40, "write failed"), "warned more than once:\n%s", out);
	summary(&w, &d, &r, &l);
	cr_assert_eq(w, 0);
	cr_assert_gt(l, 100, "lost bytes not counted:\n%s", out);
	cr_assert(strstr(out, "AVMM-RESULT") == NULL, "%s", out);
}

/* The same output uncapped and capped: the capped file is exactly the cap,
 * and written + dropped is the whole output. */
Test(console, size_cap_drops_and_counts)
{
	char full[64], capped[64];
	unsigned long long w, d, r, l;
	long total, size;
	int st;

	tmp_path(full, sizeof(full), "full");
	tmp_path(capped, sizeof(capped), "capped");
	st = run_hello(full, (const char *[]){ "--console-max", "0", "--console-rate", "0", NULL },
		       "out=12000");
	total = file_size(full);
	unlink(full);
	cr_assert_eq(st, 0, "status %d:\n%s", st, out);
	cr_assert_gt(total, 12000);
	st = run_hello(capped, (const char *[]){ "--console-max", "4K", "--console-rate", "0",
						 NULL }, "out=12000");
	size = file_size(capped);
	unlink(capped);
	cr_assert_eq(st, 0, "status %d:\n%s", st, out);
	cr_assert_eq(size, 4096, "console file is %ld bytes with --console-max 4K", size);
	cr_assert(strstr(out, "the --console-max cap"), "no warning:\n%s", out);
	summary(&w, &d, &r, &l);
	cr_assert_eq(w, 4096);
	cr_assert_eq(d, (unsigned long long)(total - 4096), "dropped %llu of %ld", d, total);
	cr_assert_eq(r + l, 0);
}

Test(console, rate_cap_drops_and_counts)
{
	char path[64];
	unsigned long long w, d, r, l;
	long size;
	int st;

	tmp_path(path, sizeof(path), "rate");
	st = run_hello(path, (const char *[]){ "--console-rate", "1K", NULL }, "out=12000");
	size = file_size(path);
	unlink(path);
	cr_assert_eq(st, 0, "status %d:\n%s", st, out);
	cr_assert(strstr(out, "faster than --console-rate 1024 bytes/s"), "no warning:\n%s", out);
	summary(&w, &d, &r, &l);
	cr_assert_eq((long)w, size);
	cr_assert_geq(w, 4096, "the first burst (4 KiB) must pass");
	cr_assert_gt(r, 1000, "nothing dropped over the rate:\n%s", out);
	cr_assert_gt(w + r, 12000, "written + dropped is the whole output");
	cr_assert_eq(d + l, 0);
}

Test(console_bucket, refills_at_the_rate_up_to_the_burst)
{
	struct vmm_bucket b = { .rate = 1000, .burst = 100 };
	int i, n = 0;

	for (i = 0; i < 150; i++)
		n += vmm_bucket_take(&b, 1000, 1);
	cr_assert_eq(n, 100, "a full bucket gives its burst");
	cr_assert(!vmm_bucket_take(&b, 1000, 1));
	cr_assert(vmm_bucket_take(&b, 1000 + 10000000, 10), "10 ms at 1000/s gives 10");
	cr_assert(!vmm_bucket_take(&b, 1000 + 10000000, 1));
	cr_assert(vmm_bucket_take(&b, 1000 + 60000000000ull, 100), "refill caps at the burst");
	cr_assert(!vmm_bucket_take(&b, 1000 + 60000000000ull, 1));
	b = (struct vmm_bucket){ .rate = 0 };
	cr_assert(vmm_bucket_take(&b, 0, 1u << 30), "rate 0: no limit");
}

Test(console_bucket, counters_through_the_getter)
{
	struct vmm *vm = calloc(1, sizeof(*vm));
	struct vmm_console_counters k;
	struct vmm_vcpu *v = &vm->vcpu[0];
	char path[64];
	uint8_t c = 'x';
	int i;

	tmp_path(path, sizeof(path), "getter");
	vm->console_max_bytes = 10;
	vm->console_rate_bps = VMM_CONSOLE_UNLIMITED;
	v->vm = vm;
	cr_assert_eq(vmm_devices_init(vm, path), 0);
	for (i = 0; i < 25; i++)
		vmm_pio(v, 0x3f8, &c, 1, true);
	vmm_devices_exit(vm);
	vmm_console_counters(vm, &k);
	cr_assert_eq(k.written_bytes, 10);
	cr_assert_eq(k.dropped_size_bytes, 15);
	cr_assert_eq(file_size(path), 10);
	unlink(path);
	free(vm);
}
