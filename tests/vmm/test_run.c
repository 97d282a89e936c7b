/* Integration: every bundled guest under real KVM through the avmm binary. */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/run_helpers.h"

static char out[1 << 16];

static void expect_ok(const char *guest, const char *const args[])
{
	char v[64];
	int st;

	require_kvm();
	st = run_avmm(out, sizeof(out), args);
	cr_assert_eq(st, 0, "%s: exit status %d, want 0 (ACPI power-off); output:\n%s", guest, st, out);
	cr_assert_eq(result_value(out, guest, "ok", v, sizeof(v)), 0, "no result line:\n%s", out);
	cr_assert_str_eq(v, "1");
}

Test(run, hello)
{
	expect_ok("hello", (const char *[]){ "run", build_path("guests/hello.elf"), NULL });
	cr_assert(strstr(out, "Hello"), "%s", out);
}

Test(run, pio_loop_counts_every_write)
{
	char v[64];

	expect_ok("pio-loop", (const char *[]){ "run", build_path("guests/pio-loop.elf"),
						 "--cmdline", "n=3000", NULL });
	cr_assert_eq(result_value(out, "pio-loop", "n", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "3000");
}

Test(run, stream)
{
	expect_ok("stream", (const char *[]){ "run", build_path("guests/stream.elf"), NULL });
}

Test(run, ptchase_with_thp_backing)
{
	expect_ok("ptchase", (const char *[]){ "run", "--mem-backing", "thp",
						build_path("guests/ptchase.elf"), NULL });
}

Test(run, ptchurn)
{
	expect_ok("ptchurn", (const char *[]){ "run", build_path("guests/ptchurn.elf"), NULL });
}

Test(run, compute)
{
	expect_ok("compute", (const char *[]){ "run", build_path("guests/compute.elf"),
						"--cmdline", "n=20000", NULL });
}

Test(run, smp_two_vcpus_report)
{
	char v[64];

	expect_ok("smp", (const char *[]){ "run", "--vcpus", "2", build_path("guests/smp.elf"),
					    "--cmdline", "n=1000", NULL });
	cr_assert_eq(result_value(out, "smp", "cpus", v, sizeof(v)), 0, "%s", out);
	cr_assert_str_eq(v, "2");
	cr_assert(strstr(out, "cpu=0 ") && strstr(out, "cpu=1 "), "%s", out);
}

Test(run, console_to_file)
{
	char path[] = "/tmp/avmm-console-XXXXXX", buf[4096];
	FILE *f;
	size_t n;
	int fd = mkstemp(path), st;

	require_kvm();
	close(fd);
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--console", path,
			 build_path("guests/hello.elf"), NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert_null(strstr(out, "AVMM-RESULT"), "console leaked to stdout: %s", out);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	cr_assert(strstr(buf, "AVMM-RESULT guest=hello ok=1"), "%s", buf);
}

Test(run, hugetlbfs_runs_or_says_how_to_reserve)
{
	int st;

	require_kvm();
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--mem-backing", "hugetlbfs",
			 "--mem", "16M", build_path("guests/hello.elf"), NULL });
	if (st == 2)
		cr_assert(strstr(out, "nr_hugepages"), "%s", out);
	else
		cr_assert_eq(st, 0, "%s", out);
}

/* ---- bad input: one clear line, nonzero exit ---- */

static void expect_error(const char *const args[], const char *needle)
{
	int st = run_avmm(out, sizeof(out), args);

	cr_assert_eq(st, 2, "exit status %d, want 2; output:\n%s", st, out);
	cr_assert(strstr(out, needle), "error should mention '%s':\n%s", needle, out);
	cr_assert(strstr(out, "avmm: error: "), "%s", out);
}

static char *write_tmp(const void *data, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/avmm-img-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

Test(bad_input, missing_guest_file)
{
	expect_error((const char *[]){ "run", "/nonexistent/guest.elf", NULL },
		     "/nonexistent/guest.elf");
}

Test(bad_input, directory_is_not_a_file)
{
	require_kvm();
	expect_error((const char *[]){ "run", "/tmp", NULL }, "not a regular");
}

Test(bad_input, bad_magic)
{
	char junk[4096];
	char *p;

	require_kvm();
	memset(junk, 0x5a, sizeof(junk));
	p = write_tmp(junk, sizeof(junk));
	expect_error((const char *[]){ "run", p, NULL }, "unknown guest format");
	unlink(p);
}

/* A Multiboot ELF32 whose one segment is memsz bytes at 1 MiB; file_len cuts it. */
static size_t make_mb_elf(uint8_t *img, size_t cap, uint32_t memsz, size_t file_len)
{
	Elf32_Ehdr *eh = (void *)img;
	Elf32_Phdr *ph = (void *)(img + sizeof(*eh));
	uint32_t *mb = (void *)(img + 0x100);

	memset(img, 0, cap);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_entry = 0x100000;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_offset = 0;
	ph->p_paddr = ph->p_vaddr = 0x100000;
	ph->p_filesz = 0x200;
	ph->p_memsz = memsz;
	mb[0] = 0x1BADB002;
	mb[1] = 0;
	mb[2] = -(mb[0] + mb[1]);
	return file_len;
}

Test(bad_input, truncated_elf)
{
	uint8_t img[0x200];
	char *p;

	require_kvm();
	make_mb_elf(img, sizeof(img), 0x1000, sizeof(img));
	p = write_tmp(img, 0x180); /* program data cut short */
	expect_error((const char *[]){ "run", p, NULL }, "truncated");
	unlink(p);
}

Test(bad_input, guest_larger_than_memory)
{
	uint8_t img[0x200];
	char *p;

	require_kvm();
	make_mb_elf(img, sizeof(img), 64u << 20, sizeof(img));
	p = write_tmp(img, sizeof(img));
	expect_error((const char *[]){ "run", "--mem", "16M", p, NULL }, "larger than memory");
	unlink(p);
}

Test(bad_input, zero_vcpus)
{
	expect_error((const char *[]){ "run", "--vcpus", "0", build_path("guests/hello.elf"), NULL },
		     "--vcpus '0'");
}

Test(bad_input, too_many_vcpus)
{
	require_kvm();
	expect_error((const char *[]){ "run", "--vcpus", "100000", build_path("guests/hello.elf"),
				       NULL }, "--vcpus 100000 is out of range");
}

Test(bad_input, unparsable_mem)
{
	expect_error((const char *[]){ "run", "--mem", "lots", build_path("guests/hello.elf"), NULL },
		     "--mem 'lots'");
}

Test(bad_input, unknown_backing)
{
	expect_error((const char *[]){ "run", "--mem-backing", "magic",
				       build_path("guests/hello.elf"), NULL }, "magic");
}

Test(cli, help_lists_commands)
{
	const char *args[] = { "--help", NULL };

	cr_assert_eq(run_avmm(out, sizeof(out), args), 0);
	cr_assert(strstr(out, "run") && strstr(out, "usage: avmm"), "%s", out);
	cr_assert_eq(run_avmm(out, sizeof(out), (const char *[]){ "run", "--help", NULL }), 0);
	cr_assert(strstr(out, "--mem-backing"), "%s", out);
}
