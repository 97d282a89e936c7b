/* The per-guest hint across two real runs: the first run of the
 * page-table-churn guest records the model's recommendation at exit, the
 * second starts on the recommended backing. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paging-mode/pgmode.h"
#include "tests/lib/run_helpers.h"

Test(hint_run, the_second_run_starts_on_the_first_runs_recommendation, .timeout = 240)
{
	static char out[1 << 16];
	char dir[] = "/tmp/avmm-hint-run.XXXXXX", sub[256], hash[17];
	const char *guest = build_path("guests/ptchurn.elf");
	const char *first[] = { "-v", "run", "--profile", "performance", "--no-agent", guest,
				"--cmdline", "n=3000", NULL };
	const char *second[] = { "-v", "run", "--profile", "performance", "--no-agent", guest,
				 "--cmdline", "n=300", NULL };
	struct pgmode_hint h;
	int rc;

	require_kvm();
	cr_assert_not_null(mkdtemp(dir));
	setenv("AVMM_STATE_DIR", dir, 1);
	rc = run_avmm(out, sizeof(out), first);
	cr_assert_eq(rc, 0, "first run: %s", out);
	cr_assert(strstr(out, "for the next run of this guest: measured shadow-paging overhead"),
		  "the first run records what it measured: %s", out);
	cr_assert_eq(pgmode_image_hash(guest, hash), 0);
	snprintf(sub, sizeof(sub), "%s/paging", dir);
	cr_assert_eq(pgmode_hint_load(sub, hash, &h), 0, "%s", h.recommend);
	/* ptchurn is all paging exits: 2 MiB backing (and nested, where a host has it) */
	cr_expect_eq(h.backing, PGMODE_PAGE_2M, "hint backing %s", pgmode_page_name(h.backing));
	cr_expect_eq(h.mode, PGMODE_MODE_SHADOW, "this host has shadow paging only");

	rc = run_avmm(out, sizeof(out), second);
	cr_assert_eq(rc, 0, "second run: %s", out);
	cr_expect(strstr(out, "guest RAM starts on 2m pages: measured shadow-paging overhead"),
		  "the second run starts on the hint: %s", out);
}
