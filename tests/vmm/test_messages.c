/* Messages for bad sizes: one clear line naming the value and the fix, exit
 * status 2, before anything reaches KVM (real avmm binary). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/run_helpers.h"

static char out[1 << 16];

static int run_hello(const char *const extra[])
{
	const char *args[16] = { "run", "--no-adapt", "--socket", "" };
	int n = 4;

	while (*extra)
		args[n++] = *extra++;
	args[n++] = build_path("guests/hello.elf");
	args[n] = NULL;
	require_kvm();
	return run_avmm(out, sizeof(out), args);
}

/* It failed with a raw "KVM_SET_USER_MEMORY_REGION ... Invalid argument". */
Test(messages, mem_not_whole_pages)
{
	int st = run_hello((const char *[]){ "--mem", "4097K", NULL });

	cr_assert_eq(st, 2, "status %d:\n%s", st, out);
	cr_assert(strstr(out, "--mem 4195328 bytes is not a multiple of 4 KiB"), "%s", out);
	cr_assert(strstr(out, "--mem 4100K"), "no fix suggested:\n%s", out);
	cr_assert_null(strstr(out, "KVM_SET_USER_MEMORY_REGION"), "%s", out);
}

Test(messages, mem_whole_pages_runs)
{
	int st = run_hello((const char *[]){ "--mem", "4100K", NULL });

	cr_assert_eq(st, 0, "status %d:\n%s", st, out);
}

Test(messages, mem_too_small)
{
	int st = run_hello((const char *[]){ "--mem", "2M", NULL });

	cr_assert_eq(st, 2, "status %d:\n%s", st, out);
	cr_assert(strstr(out, "at least 4M"), "%s", out);
}

/* The Multiboot command line is "<guest path> <cmdline>" in a 64 KiB area
 * with its NUL: the stated limit is the longest --cmdline that runs. */
Test(messages, cmdline_limit_is_what_is_accepted)
{
	size_t limit = 65536 - strlen(build_path("guests/hello.elf")) - 2;
	char *cmd = malloc(limit + 2), want[64];
	int st;

	cr_assert(cmd);
	memset(cmd, 'a', limit + 1);
	cmd[limit + 1] = 0;
	st = run_hello((const char *[]){ "--cmdline", cmd, NULL });
	cr_assert_eq(st, 2, "status %d:\n%.2000s", st, out);
	snprintf(want, sizeof(want), "the limit is %zu", limit);
	cr_assert(strstr(out, want), "want '%s':\n%.2000s", want, out);
	cmd[limit] = 0;
	st = run_hello((const char *[]){ "--cmdline", cmd, NULL });
	free(cmd);
	cr_assert_eq(st, 0, "a --cmdline of the stated limit (%zu) fails: status %d:\n%.2000s",
		     limit, st, out);
}
