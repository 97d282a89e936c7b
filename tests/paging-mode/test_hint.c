/* Per-guest hints: the image hash (64-bit FNV-1a), save/load round trip,
 * a missing hint. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paging-mode/pgmode.h"

static char tmp[256];

static void setup(void)
{
	umask(022);
	snprintf(tmp, sizeof(tmp), "/tmp/avmm-hint-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

TestSuite(hint, .init = setup, .fini = teardown);

Test(hint, hash_of_known_files)
{
	char path[300], h[17];

	snprintf(path, sizeof(path), "%s/img", tmp);
	write_file(path, "", 0);
	cr_assert_eq(pgmode_image_hash(path, h), 0);
	cr_assert_str_eq(h, "cbf29ce484222325", "FNV-1a 64 of nothing is its offset basis");
	write_file(path, "a", 1);
	cr_assert_eq(pgmode_image_hash(path, h), 0);
	cr_assert_str_eq(h, "af63dc4c8601ec8c");
	write_file(path, "foobar", 6);
	cr_assert_eq(pgmode_image_hash(path, h), 0);
	cr_assert_str_eq(h, "85944171f73967e8");
}

Test(hint, hash_over_many_reads_matches_a_direct_computation)
{
	static unsigned char big[300000];
	char path[300], h[17], want[17];
	uint64_t x = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < sizeof(big); i++) {
		big[i] = (unsigned char)(i * 7 + (i >> 9));
		x = (x ^ big[i]) * 0x100000001b3ull;
	}
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)x);
	snprintf(path, sizeof(path), "%s/big", tmp);
	write_file(path, big, sizeof(big));
	cr_assert_eq(pgmode_image_hash(path, h), 0);
	cr_assert_str_eq(h, want);
	big[sizeof(big) - 1] ^= 1;   /* one byte differs: another hash */
	write_file(path, big, sizeof(big));
	cr_assert_eq(pgmode_image_hash(path, h), 0);
	cr_assert_str_neq(h, want);
}

Test(hint, hash_of_a_missing_file)
{
	char path[300], h[17];

	snprintf(path, sizeof(path), "%s/none", tmp);
	cr_assert_eq(pgmode_image_hash(path, h), -ENOENT);
}

Test(hint, save_load_round_trip)
{
	struct pgmode_hint h = { .backing = PGMODE_PAGE_2M, .mode = PGMODE_MODE_NESTED }, back;
	char dir[300], path[400], text[1024];
	struct stat sb;
	FILE *f;
	size_t n;

	snprintf(h.image_hash, sizeof(h.image_hash), "0123456789abcdef");
	snprintf(h.recommend, sizeof(h.recommend),
		 "measured shadow-paging overhead 12%%;\nnested paging with 2 MiB backing predicted 3%%");
	snprintf(dir, sizeof(dir), "%s/var/lib/avmm/paging", tmp);   /* parents made too */
	cr_assert_eq(pgmode_hint_save(dir, &h), 0);
	cr_assert_eq(stat(dir, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0755, "dir mode %o", sb.st_mode & 0777);
	snprintf(path, sizeof(path), "%s/hint-0123456789abcdef", dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cr_assert(strstr(text, "backing=2m\n"), "%s", text);
	cr_assert(strstr(text, "mode=nested\n"), "%s", text);
	cr_assert(strstr(text, "recommend=measured shadow-paging overhead 12%; nested"), "one line: %s", text);
	cr_assert(strstr(text, "date=20"), "%s", text);

	cr_assert_eq(pgmode_hint_load(dir, "0123456789abcdef", &back), 0, "%s", back.recommend);
	cr_assert_str_eq(back.image_hash, "0123456789abcdef");
	cr_assert_eq(back.backing, PGMODE_PAGE_2M);
	cr_assert_eq(back.mode, PGMODE_MODE_NESTED);
	cr_assert_str_eq(back.recommend,
			 "measured shadow-paging overhead 12%; nested paging with 2 MiB backing predicted 3%");

	/* a second save replaces the first */
	h.backing = PGMODE_PAGE_4K;
	h.mode = PGMODE_MODE_SHADOW;
	cr_assert_eq(pgmode_hint_save(dir, &h), 0);
	cr_assert_eq(pgmode_hint_load(dir, "0123456789abcdef", &back), 0);
	cr_assert_eq(back.backing, PGMODE_PAGE_4K);
	cr_assert_eq(back.mode, PGMODE_MODE_SHADOW);
	snprintf(path, sizeof(path), "%s/.hint-0123456789abcdef", dir);
	cr_assert_neq(access(path, F_OK), 0, "the temporary file is gone");
}

Test(hint, missing_hint_is_enoent_with_a_why)
{
	struct pgmode_hint back;

	cr_assert_eq(pgmode_hint_load(tmp, "fedcba9876543210", &back), -ENOENT);
	cr_assert(strstr(back.recommend, "no hint"), "%s", back.recommend);
	cr_assert(strstr(back.recommend, "hint-fedcba9876543210"), "%s", back.recommend);
}

Test(hint, bad_hash_or_content_is_refused)
{
	struct pgmode_hint h = { .backing = PGMODE_PAGE_2M }, back;
	char path[300];

	snprintf(h.image_hash, sizeof(h.image_hash), "../../etc/passw");
	cr_assert_eq(pgmode_hint_save(tmp, &h), -EINVAL);
	cr_assert_eq(pgmode_hint_load(tmp, "../../etc/passwd", &back), -EINVAL);
	snprintf(path, sizeof(path), "%s/hint-00000000000000aa", tmp);
	write_file(path, "backing=3m\n", 11);
	cr_assert_eq(pgmode_hint_load(tmp, "00000000000000aa", &back), -EINVAL);
	cr_assert(strstr(back.recommend, ":1:"), "names the line: %s", back.recommend);
}
