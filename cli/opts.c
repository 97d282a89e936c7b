/* Options that `avmm run` and `avmm agent` share. */
#include "adapt/session.h"
#include "cli/cli.h"
#include "common/sandbox.h"
#include "common/util.h"

int cli_opt_seccomp(const char *arg)
{
	enum util_sandbox_mode mode;

	if (util_sandbox_parse_mode(arg, &mode)) {
		util_err("--seccomp '%s': expected off, log or kill", arg);
		return 2;
	}
	util_sandbox_set_mode(mode);
	return 0;
}

int cli_opt_trace(struct adapt_session_cfg *c, const char *arg)
{
	if (c->nr_traces == TEL_MAX_TRACES) {
		util_err("--trace %s: at most %d traces", arg, TEL_MAX_TRACES);
		return 2;
	}
	c->traces[c->nr_traces++] = arg;
	return 0;
}
