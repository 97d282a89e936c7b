/* pgmode_parse_smaps on canned smaps text, pgmode_read_backing on a fake
 * tree and on this process. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paging-mode/pgmode.h"

/* One VMA of smaps text; sizes in kB. */
static void vma(char *buf, size_t len, unsigned long long start, unsigned long long end,
		unsigned kps, unsigned rss, unsigned anon_huge, unsigned priv_hugetlb, const char *flags)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n,
		 "%llx-%llx rw-p 00000000 00:00 0 \n"
		 "Size:           %8llu kB\n"
		 "KernelPageSize: %8u kB\n"
		 "MMUPageSize:    %8u kB\n"
		 "Rss:            %8u kB\n"
		 "Pss:            %8u kB\n"
		 "Anonymous:      %8u kB\n"
		 "AnonHugePages:  %8u kB\n"
		 "ShmemPmdMapped:        0 kB\n"
		 "FilePmdMapped:         0 kB\n"
		 "Shared_Hugetlb:        0 kB\n"
		 "Private_Hugetlb:%8u kB\n"
		 "Swap:                  0 kB\n"
		 "THPeligible:    1\n"
		 "VmFlags: %s\n",
		 start, end, (end - start) >> 10, kps, kps, rss, rss, rss, anon_huge, priv_hugetlb,
		 flags);
}

#define M (1ull << 20)
#define BASE 0x7f0000000000ull

static char text[16384];
static struct pgmode_backing b;

static void three_vmas(void)
{
	text[0] = 0;
	vma(text, sizeof(text), 0x555500000000ull, 0x555500021000ull, 4, 132, 0, 0, "rd wr mr mw me ac");
	/* guest RAM, split by madvise over its aligned middle: head, middle, tail */
	vma(text, sizeof(text), BASE, BASE + 2 * M, 4, 1024, 0, 0, "rd wr mr mw me ac nh");
	vma(text, sizeof(text), BASE + 2 * M, BASE + 62 * M, 4, 40960, 36864, 0, "rd wr mr mw me ac hg");
	vma(text, sizeof(text), BASE + 62 * M, BASE + 64 * M, 4, 8, 0, 0, "rd wr mr mw me ac nh");
	vma(text, sizeof(text), 0x7ffd00000000ull, 0x7ffd00021000ull, 4, 16, 0, 0, "rd wr mr mw me gd ac");
}

Test(smaps, one_mapping_split_into_4k_and_2m)
{
	three_vmas();
	cr_assert_eq(pgmode_parse_smaps(text, BASE + 2 * M, 60 * M, &b), 0, "%s", b.why);
	cr_assert(b.valid);
	cr_assert_eq(b.size, 60 * M);
	cr_assert_eq(b.rss, 40960ull << 10);
	cr_assert_eq(b.bytes_2m, 36864ull << 10);
	cr_assert_eq(b.bytes_4k, (40960ull - 36864) << 10);
	cr_assert_eq(b.bytes_1g, 0);
}

Test(smaps, range_over_several_vmas_counts_each_whole)
{
	three_vmas();
	/* a range inside head and middle: both VMAs count whole (smaps has no per-address
	 * figures); the unrelated heap and stack do not */
	cr_assert_eq(pgmode_parse_smaps(text, BASE + M, 4 * M, &b), 0, "%s", b.why);
	cr_assert_eq(b.size, 62 * M);
	cr_assert_eq(b.rss, (1024ull + 40960) << 10);
	cr_assert_eq(b.bytes_2m, 36864ull << 10);
	/* the whole guest RAM */
	cr_assert_eq(pgmode_parse_smaps(text, BASE, 64 * M, &b), 0, "%s", b.why);
	cr_assert_eq(b.size, 64 * M);
	cr_assert_eq(b.rss, (1024ull + 40960 + 8) << 10);
	cr_assert_eq(b.bytes_4k + b.bytes_2m + b.bytes_1g, b.rss);
}

Test(smaps, adjacent_vma_is_not_counted)
{
	three_vmas();
	/* [BASE + 62M, +2M) touches the middle VMA's end but does not overlap it */
	cr_assert_eq(pgmode_parse_smaps(text, BASE + 62 * M, 2 * M, &b), 0, "%s", b.why);
	cr_assert_eq(b.size, 2 * M);
	cr_assert_eq(b.rss, 8ull << 10);
	cr_assert_eq(b.bytes_2m, 0);
}

Test(smaps, hugetlb_2m_and_1g)
{
	text[0] = 0;
	vma(text, sizeof(text), BASE, BASE + 64 * M, 2048, 0, 0, 20480, "rd wr mr mw me de ht");
	vma(text, sizeof(text), BASE + 1024 * M, BASE + 3072 * M, 1048576, 0, 0, 1048576,
	    "rd wr mr mw me de ht");
	cr_assert_eq(pgmode_parse_smaps(text, BASE, 64 * M, &b), 0, "%s", b.why);
	cr_assert_eq(b.bytes_2m, 20 * M);
	cr_assert_eq(b.rss, 20 * M);
	cr_assert_eq(b.bytes_4k, 0);
	cr_assert_eq(pgmode_parse_smaps(text, BASE + 2048 * M, M, &b), 0, "%s", b.why);
	cr_assert_eq(b.bytes_1g, 1024 * M);
	cr_assert_eq(b.bytes_2m, 0);
	cr_assert_eq(b.size, 2048 * M);
}

Test(smaps, no_mapping_is_an_error_with_a_reason)
{
	three_vmas();
	cr_assert_eq(pgmode_parse_smaps(text, 0x1000, 4096, &b), -ENOENT);
	cr_assert_not(b.valid);
	cr_assert(strstr(b.why, "no mapping"), "%s", b.why);
	cr_assert_eq(pgmode_parse_smaps("", BASE, M, &b), -ENOENT);
	cr_assert_eq(pgmode_parse_smaps(text, BASE, 0, &b), -EINVAL);
	/* a truncated last VMA (no trailing newline) still parses */
	cr_assert_eq(pgmode_parse_smaps("7f0000000000-7f0000200000 rw-p 0 00:00 0\nRss: 8 kB",
					BASE, M, &b), 0, "%s", b.why);
	cr_assert_eq(b.rss, 8192);
}

Test(smaps, read_backing_from_a_fake_tree)
{
	char root[] = "/tmp/avmm-pgmode-XXXXXX", path[256];
	FILE *f;

	cr_assert(mkdtemp(root));
	three_vmas();
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/4242", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/4242/smaps", root);
	f = fopen(path, "w");
	cr_assert(f);
	/* more than the reader's first buffer: the file is read whole */
	for (int i = 0; i < 40; i++)
		fputs(text, f);
	fclose(f);
	cr_assert_eq(pgmode_read_backing(root, 4242, BASE + 2 * M, 60 * M, &b), 0, "%s", b.why);
	/* 40 copies of the same VMA: each counted */
	cr_assert_eq(b.bytes_2m, 40 * (36864ull << 10));
	cr_assert_eq(pgmode_read_backing(root, 4243, BASE, M, &b), -ENOENT);
	cr_assert(strstr(b.why, "/proc/4243/smaps"), "%s", b.why);
	unlink(path);
	snprintf(path, sizeof(path), "rm -rf %s", root);
	cr_assert_eq(system(path), 0);
}

Test(smaps, read_backing_of_this_process)
{
	size_t len = 8 * M;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert(p != MAP_FAILED);
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 1, 3 * M);
	cr_assert_eq(pgmode_read_backing(NULL, 0, (uintptr_t)p, len, &b), 0, "%s", b.why);
	cr_assert_geq(b.size, len);
	cr_assert_geq(b.rss, 3 * M);
	cr_assert_eq(b.bytes_2m, 0, "MADV_NOHUGEPAGE memory has no 2 MiB pages");
	munmap(p, len);
}

/* A text that claims more than its mapping holds (or more than 64 bits of
 * bytes) is held to the mapping's size, and no total wraps round. */
Test(smaps, claims_beyond_the_mapping_are_held_to_its_size)
{
	snprintf(text, sizeof(text),
		 "%llx-%llx rw-p 00000000 00:00 0 \n"
		 "Rss:  666666666666666666666666 kB\n"
		 "AnonHugePages:  77777877777777760 kB\n", BASE, BASE + 4 * M);
	cr_assert_eq(pgmode_parse_smaps(text, BASE, 4 * M, &b), 0, "%s", b.why);
	cr_assert_eq(b.rss, 4 * M);
	cr_assert_eq(b.bytes_2m, 4 * M);
	cr_assert_eq(b.bytes_4k, 0);
}
