/* Reason texts cut at a clause, never inside one (issue 15: a coremap reason
 * read "(host load ;" with its number cut off). */
#include <criterion/criterion.h>
#include <string.h>

#include "adapt/adapt_int.h"

Test(why, fits_whole)
{
	char out[64];

	adapt_why_join(out, sizeof(out), "[energy] ", "", "adaptive; vcpu0 compute");
	cr_assert_str_eq(out, "[energy] adaptive; vcpu0 compute");
}

Test(why, too_long_is_cut_after_the_last_whole_clause)
{
	const char *why = "adaptive (performance goal); vcpu0 compute run delay 48% on cpu0 "
			  "(host load 97%) cpu0->cpu1 (host load 3%); vcpu1 compute stays on cpu1 "
			  "(host load 12%)";
	char out[100];

	adapt_why_join(out, sizeof(out), "[energy] ", "", why);
	cr_assert_lt(strlen(out), sizeof(out));
	cr_assert_str_eq(out, "[energy] adaptive (performance goal) ...", "%s", out);
	cr_assert_null(strstr(out, "(host load ;"));
	for (size_t len = 20; len < strlen(why) + 12; len++) {
		char buf[256];
		const char *p;

		adapt_why_join(buf, len, "", "", why);
		cr_assert_lt(strlen(buf), len);
		/* every "(host load " kept has its number and "%)" */
		for (p = buf; (p = strstr(p, "(host load ")); p++)
			cr_assert(strchr(p, '%') && strchr(p, ')'), "len %zu: %s", len, buf);
	}
}
