/* The strict exposition-format checker, tested on its own. */
#include <criterion/criterion.h>

#include "promcheck.h"

static const char good[] =
	"# HELP a_total Things.\n# TYPE a_total counter\n"
	"a_total{vm=\"x\",vcpu=\"0\"} 3\na_total{vm=\"x\",vcpu=\"1\"} 4 1700000000000\n"
	"# a plain comment\n\n"
	"# HELP g Escaped \\\\ and \\n help.\n# TYPE g gauge\ng{l=\"q\\\"uo\\\\te\\n\"} -1.5e-3\n"
	"g{l=\"b\"} NaN\ng{l=\"c\"} +Inf\n"
	"# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 1\n"
	"h_seconds_bucket{le=\"+Inf\"} 2\nh_seconds_sum 3\nh_seconds_count 2\n";

Test(promcheck, accepts_valid_text)
{
	char err[200];

	cr_assert_eq(promcheck(good, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(promcheck_count(good, "a_total"), 2);
	cr_assert_eq(promcheck_count(good, "g"), 3);
}

struct bad { const char *text, *why; };

static const struct bad bads[] = {
	{ "", "empty" },
	{ "# HELP g x\n# TYPE g gauge\ng 1", "no final newline" },
	{ "g 1\n", "sample without HELP/TYPE" },
	{ "# HELP g x\ng 1\n", "no TYPE" },
	{ "# TYPE g gauge\ng 1\n", "no HELP" },
	{ "# HELP g x\n# TYPE g gauge\n# TYPE g gauge\ng 1\n", "second TYPE" },
	{ "# HELP g x\n# HELP g y\n# TYPE g gauge\ng 1\n", "second HELP" },
	{ "# HELP g x\n# TYPE g gaug\ng 1\n", "unknown type" },
	{ "# HELP c x\n# TYPE c counter\nc 1\n", "counter without _total" },
	{ "# HELP c_total x\n# TYPE c_total counter\nc_total -1\n", "negative counter" },
	{ "# HELP g x\n# TYPE g gauge\ng 1x\n", "junk after value" },
	{ "# HELP g x\n# TYPE g gauge\ng inf\n", "Go spells it +Inf" },
	{ "# HELP g x\n# TYPE g gauge\ng 0x10\n", "hex float" },
	{ "# HELP g x\n# TYPE g gauge\ng{a=b} 1\n", "unquoted label" },
	{ "# HELP g x\n# TYPE g gauge\ng{a=\"b} 1\n", "unterminated label" },
	{ "# HELP g x\n# TYPE g gauge\ng{a=\"\\t\"} 1\n", "bad label escape" },
	{ "# HELP g x\n# TYPE g gauge\ng{1a=\"b\"} 1\n", "bad label name" },
	{ "# HELP g x\n# TYPE g gauge\ng{__a=\"b\"} 1\n", "reserved label name" },
	{ "# HELP g x\n# TYPE g gauge\ng{a=\"1\",a=\"2\"} 1\n", "duplicate label" },
	{ "# HELP g x\n# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"1\"} 2\n", "duplicate series" },
	{ "# HELP g x\n# TYPE g gauge\ng{a=\"1\",b=\"2\"} 1\ng{b=\"2\",a=\"1\"} 2\n", "dup reordered" },
	{ "# HELP g x\n# TYPE g gauge\n# HELP h x\n# TYPE h gauge\ng 1\nh 1\ng{a=\"1\"} 1\n",
	  "family not contiguous" },
	{ "# HELP g x\n# TYPE g gauge\ng 1\n# HELP g y\n", "HELP after samples" },
	{ "# HELP 1g x\n# TYPE 1g gauge\n", "bad metric name" },
	{ "# HELP g x\n# TYPE g gauge\ng  1\n", "two spaces" },
	{ "# HELP g x\n# TYPE g gauge\ng 1 12x\n", "bad timestamp" },
	{ "# HELP g x\n# TYPE g gauge\ng\t1\n", "tab" },
	{ "# HELP g x\n# TYPE g gauge\ng 1\r\n", "CR" },
	{ "# HELP g \\x\n# TYPE g gauge\ng 1\n", "bad HELP escape" },
};

Test(promcheck, rejects_each_violation)
{
	char err[200];

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		err[0] = 0;
		cr_expect_eq(promcheck(bads[i].text, err, sizeof(err)), -1, "accepted: %s",
			     bads[i].why);
		cr_expect(err[0], "no message for %s", bads[i].why);
	}
}
