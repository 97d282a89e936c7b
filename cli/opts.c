/* Options that `avmm run` and `avmm agent` share. */
#include "adapt/session.h"
#include "cli/cli.h"
#include "common/util.h"

int cli_opt_trace(struct adapt_session_cfg *c, const char *arg)
{
	if (c->nr_traces == TEL_MAX_TRACES) {
		util_err("--trace %s: at most %d traces", arg, TEL_MAX_TRACES);
		return 2;
	}
	c->traces[c->nr_traces++] = arg;
	return 0;
}
