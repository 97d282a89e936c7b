/* A real single-node Slurm (issue 17) with the avmm SPANK plugin and the
 * prolog/epilog scripts, run by tests/cluster/slurm_node.sh in a network
 * namespace of its own: an unknown profile is refused at submission with
 * `avmm policy check`'s words; a job's profile is in force while it runs and
 * the previous one is back after it ends, after a cancel, and after an
 * agent restart; the job's VM carries job_id on avmm_info. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/bg_avmm.h"
#include "tests/lib/run_helpers.h"

static char out_text[65536];

/* The value of "CHECK name value" in the script's output ("" when absent). */
static const char *check(const char *name, char *val, size_t len)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "CHECK %s ", name);
	p = strstr(out_text, key);
	snprintf(val, len, "%.*s", p ? (int)strcspn(p + strlen(key), "\n") : 0,
		 p ? p + strlen(key) : "");
	return val;
}

#define EXPECT(name, want)                                                              \
	do {                                                                            \
		char v_[128];                                                           \
		cr_expect_str_eq(check(name, v_, sizeof(v_)), want, "%s: got '%s'\n%s", \
				 name, v_, out_text);                                   \
	} while (0)

Test(slurm, profile_per_job_through_spank_and_prolog, .timeout = 300)
{
	char dir[] = "/tmp/avmm-slurm-XXXXXX", cmd[512], *text, job1[32];
	const char *skip;

	require_kvm();
	if (geteuid())
		cr_skip_test("needs root (munge, slurmd and a network namespace)");
	if (access("/usr/bin/unshare", X_OK))
		cr_skip_test("no /usr/bin/unshare (util-linux)");
	cr_assert(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "timeout 240 unshare --net tests/cluster/slurm_node.sh %s %s "
		 "> %s.out 2>&1", build_path(""), dir, dir);
	cr_log_info("%s", cmd);
	cr_assert_neq(system(cmd), -1);
	snprintf(cmd, sizeof(cmd), "%s.out", dir);
	text = file_text(cmd);
	cr_assert(text, "no output from slurm_node.sh");
	snprintf(out_text, sizeof(out_text), "%s", text);
	free(text);
	unlink(cmd);
	if ((skip = strstr(out_text, "SKIP "))) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			cr_log_warn("could not remove %s", dir);
		cr_skip_test("%.*s", (int)strcspn(skip + 5, "\n"), skip + 5);
	}
	EXPECT("node", "idle");
	EXPECT("before", "balanced");
	EXPECT("refused_rc", "255");
	EXPECT("refused_msg", "1");
	cr_expect_neq(strlen(check("job1_submitted", job1, sizeof(job1))), 0, "%s", out_text);
	EXPECT("during1", "energy");
	EXPECT("after1", "balanced");
	EXPECT("job1_label", "1");
	EXPECT("job1_result", "1");
	EXPECT("during2", "performance");
	EXPECT("after2", "balanced");
	EXPECT("state_left", "0");
	EXPECT("during3", "static");
	EXPECT("after3", "balanced");
	EXPECT("during4", "energy");
	EXPECT("restarted4", "balanced");
	EXPECT("after4", "balanced");
	EXPECT("state_left4", "0");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		cr_log_warn("could not remove %s", dir);
}
