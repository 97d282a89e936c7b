/* `avmm paging` as a program: the host view (JSON and table) on this host and
 * on a fake tree, help and bad arguments, --name against a canned control
 * server that answers {"cmd":"paging"} as the schema says, host-mode's
 * refusal here, and a real `paging calibrate`. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "paging-mode/pgmode.h"
#include "tests/lib/run_helpers.h"
#include "tests/paging-mode/fake_host.h"
#include "vmm-core/vmm.h"

static char out[65536], err[16384];

static void slurp(int fd, char *buf, size_t len)
{
	size_t have = 0;
	ssize_t n;

	while (have + 1 < len && (n = read(fd, buf + have, len - have - 1)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	close(fd);
}

/* build/avmm args...: stdout into out, stderr into err; the exit status. */
static int avmm(const char *const args[])
{
	const char *argv[24] = { build_path("avmm") };
	int o[2], e[2], status;
	pid_t pid;

	for (int i = 0; args[i] && i < 22; i++)
		argv[i + 1] = args[i];
	cr_assert(pipe(o) == 0 && pipe(e) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(e[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	/* stderr is small (messages); read stdout first, then stderr */
	slurp(o[0], out, sizeof(out));
	slurp(e[0], err, sizeof(err));
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static json_t *json_out(void)
{
	json_error_t je;
	json_t *o = json_loads(out, 0, &je);

	cr_assert(json_is_object(o), "not JSON (%s): %s", je.text, out);
	return o;
}

static const char *expected_kvm(void)
{
	struct stat st;

	if (!stat("/sys/module/kvm_pvm", &st))
		return "pvm";
	if (!stat("/sys/module/kvm_intel", &st))
		return "intel";
	if (!stat("/sys/module/kvm_amd", &st))
		return "amd";
	return "other";
}

Test(paging_cli, json_on_this_host)
{
	static const char *const levers[] = { "nested", "host_switch", "thp", "collapse",
					      "hugetlb_2m", "hugetlb_1g", "split", "kvm_page_stats" };
	json_t *o, *lv;

	cr_assert_eq(avmm((const char *[]){ "paging", "--json", NULL }), 0, "%s", err);
	o = json_out();
	cr_expect_str_eq(json_string_value(json_object_get(o, "kvm")), expected_kvm());
	if (!strcmp(expected_kvm(), "pvm")) {
		cr_expect_str_eq(json_string_value(json_object_get(o, "mode")), "shadow");
		cr_expect(json_is_null(json_object_get(o, "ept")));
	}
	cr_expect(json_is_object(json_object_get(o, "thp")));
	cr_expect(json_is_array(json_object_get(o, "hugetlb")));
	cr_expect(json_is_object(json_object_get(o, "caps")));
	lv = json_object_get(o, "levers");
	for (size_t i = 0; i < sizeof(levers) / sizeof(levers[0]); i++) {
		json_t *l = json_object_get(lv, levers[i]);

		cr_expect(json_is_boolean(json_object_get(l, "available")), "%s", levers[i]);
		cr_expect(json_string_length(json_object_get(l, "why")) > 10, "%s has a reason",
			  levers[i]);
	}
	json_decref(o);
}

Test(paging_cli, json_and_table_on_a_fake_intel_host)
{
	struct fakehost fk;
	json_t *o;

	fakehost_init(&fk);
	fakehost_intel(&fk, "Y\n");
	fakehost_thp(&fk, "never");
	fakehost_pool(&fk, 2048, 64, 60);
	cr_assert_eq(avmm((const char *[]){ "paging", "--fsroot", fk.root, "--json", NULL }), 0);
	o = json_out();
	cr_expect_str_eq(json_string_value(json_object_get(o, "kvm")), "intel");
	cr_expect_str_eq(json_string_value(json_object_get(o, "mode")), "nested");
	cr_expect(json_is_true(json_object_get(o, "ept")));
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(o, "thp"), "enabled")),
			 "never");
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(
		json_object_get(o, "hugetlb"), 0), "total")), 64);
	cr_expect(json_is_false(json_object_get(json_object_get(json_object_get(o, "levers"),
								"thp"), "available")));
	json_decref(o);
	cr_assert_eq(avmm((const char *[]){ "paging", "--fsroot", fk.root, NULL }), 0);
	cr_expect(strstr(out, "intel") && strstr(out, "mode: nested"), "%s", out);
	cr_expect(strstr(out, "2 MiB pages: 64 reserved, 60 free"), "%s", out);
	cr_expect(strstr(out, "kvm_page_stats"), "%s", out);
	fakehost_cleanup(&fk);
}

Test(paging_cli, help_and_bad_arguments)
{
	cr_expect_eq(avmm((const char *[]){ "paging", "--help", NULL }), 0);
	cr_expect(strstr(out, "--name VM") && strstr(out, "calibrate") && strstr(out, "host-mode"),
		  "%s", out);
	cr_expect_eq(avmm((const char *[]){ "paging", "calibrate", "--help", NULL }), 0);
	cr_expect(strstr(out, "paging exit") && strstr(out, "AVMM_STATE_DIR"), "%s", out);
	cr_expect_eq(avmm((const char *[]){ "paging", "host-mode", "--help", NULL }), 0);
	cr_expect(strstr(out, "ept=1|0") && strstr(out, "root"), "%s", out);
	cr_expect_eq(avmm((const char *[]){ "--help", NULL }), 0);
	cr_expect(strstr(out, "paging"), "listed in avmm --help");

	cr_expect_eq(avmm((const char *[]){ "paging", "--bogus", NULL }), 2);
	cr_expect(strstr(err, "--bogus") && strstr(err, "avmm paging --help"), "%s", err);
	cr_expect_eq(avmm((const char *[]){ "paging", "extra", NULL }), 2);
	cr_expect(strstr(err, "'extra'"), "%s", err);
	cr_expect_eq(avmm((const char *[]){ "paging", "host-mode", "fast", NULL }), 2);
	cr_expect(strstr(err, "nested or shadow") && strstr(err, "fast"), "%s", err);
	cr_expect_eq(avmm((const char *[]){ "paging", "calibrate", "--ops", "3", NULL }), 2);
	cr_expect(strstr(err, "--ops '3'"), "%s", err);
	cr_expect_eq(avmm((const char *[]){ "paging", "--name", "-x", NULL }), 2);
	cr_expect(strstr(err, "'-x'"), "%s", err);
}

Test(paging_cli, host_mode_refused_on_pvm)
{
	if (strcmp(expected_kvm(), "pvm"))
		cr_skip_test("this host runs kvm_%s, not kvm_pvm (a fake tree test covers pvm)",
			     expected_kvm());
	cr_expect_eq(avmm((const char *[]){ "paging", "host-mode", "nested", NULL }), 1);
	cr_expect(strstr(err, "kvm_pvm has no ept/npt"), "%s", err);
}

/* ---- a VM over the control socket (canned server) ---------------------- */

static const char canned_ok[] =
	"{\"ok\":true,\"vm\":\"web1\",\"pid\":4321,"
	"\"ram\":{\"valid\":true,\"why\":\"\",\"bytes\":67108864,\"rss_bytes\":33554432,"
	"\"bytes_4k\":12582912,\"bytes_2m\":20971520,\"bytes_1g\":0,"
	"\"share_4k\":0.375,\"share_2m\":0.625,\"share_1g\":0.0},"
	"\"worker\":{\"target\":\"2m\",\"busy\":true,\"ranges_total\":16,\"ranges_done\":10,"
	"\"collapse_ok\":9,\"errors\":{\"einval\":1,\"eagain\":0,\"enomem\":0,\"other\":0},"
	"\"last_error\":\"MADV_COLLAPSE EINVAL at 0x7f0000200000 (never touched)\","
	"\"quota_mib_per_s\":64},"
	"\"estimate\":{\"parts\":{"
	"\"shadow\":{\"valid\":true,\"pct\":12.5,\"why\":\"2500 paging exits/s x 50000 ns\"},"
	"\"walk\":{\"valid\":false,\"why\":\"no hardware PMU (perf ENOENT)\"},"
	"\"now\":{\"valid\":true,\"pct\":12.5,\"why\":\"shadow only\"},"
	"\"alt_2m\":{\"valid\":true,\"pct\":11.0,\"why\":\"fewer faults\"},"
	"\"alt_4k\":{\"valid\":true,\"pct\":13.0,\"why\":\"more faults\"},"
	"\"alt_mode\":{\"valid\":false,\"why\":\"kvm_pvm: shadow paging only\"}},"
	"\"want\":\"2m\",\"want_mode\":\"shadow\",\"reason\":\"predicted gain 1.5%\","
	"\"recommend\":\"measured shadow-paging overhead 12%; 2 MiB backing predicted 11%\"}}";
static const char canned_no_estimate[] =
	"{\"ok\":true,\"vm\":\"web1\",\"pid\":4321,"
	"\"ram\":{\"valid\":false,\"why\":\"smaps unreadable: EACCES\"},"
	"\"worker\":{\"target\":\"keep\",\"busy\":false,\"ranges_total\":0,\"ranges_done\":0,"
	"\"collapse_ok\":0,\"errors\":{\"einval\":0,\"eagain\":0,\"enomem\":0,\"other\":0},"
	"\"last_error\":\"\",\"quota_mib_per_s\":0},\"estimate\":null}";
static const char *canned;

static char *serve_paging(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *e)
{
	if (!strstr(req, "\"paging\"") || !canned) {
		*e = ENOTSUP;
		return NULL;
	}
	return strdup(canned);
}

struct server {
	char dir[64], sock[128];
	struct vmm_ctl *ctl;
};

static void server_start(struct server *s)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/avmm-pgcli.XXXXXX");
	cr_assert_not_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/web1.sock", s->dir);
	cr_assert_eq(vmm_ctl_open(s->sock, (gid_t)-1, &s->ctl), 0);
	cr_assert_eq(vmm_ctl_register(s->ctl, "paging", serve_paging, NULL), 0);
}

static void server_stop(struct server *s)
{
	vmm_ctl_close(s->ctl);
	unlink(s->sock);
	rmdir(s->dir);
}

Test(paging_cli, vm_backing_and_estimate)
{
	struct server s;
	json_t *o;

	server_start(&s);
	canned = canned_ok;
	cr_assert_eq(avmm((const char *[]){ "paging", "--socket", s.sock, NULL }), 0, "%s", err);
	cr_expect(strstr(out, "VM web1 (pid 4321)"), "%s", out);
	cr_expect(strstr(out, "64.0 MiB, 32.0 MiB resident"), "%s", out);
	cr_expect(strstr(out, "4 KiB  37.5% (12.0 MiB)") && strstr(out, "2 MiB  62.5% (20.0 MiB)"),
		  "%s", out);
	cr_expect(strstr(out, "10/16 ranges") && strstr(out, "quota 64 MiB/s") &&
		  strstr(out, "einval 1") && strstr(out, "never touched"), "%s", out);
	cr_expect(strstr(out, "12.5%") && strstr(out, "no hardware PMU"), "%s", out);
	cr_expect(strstr(out, "backing 2m now; mode shadow") &&
		  strstr(out, "recommendation: measured shadow-paging overhead 12%"), "%s", out);

	/* --name finds the socket under AVMM_RUN_DIR; --json passes the answer on */
	setenv("AVMM_RUN_DIR", s.dir, 1);
	cr_assert_eq(avmm((const char *[]){ "paging", "--name", "web1", "--json", NULL }), 0,
		     "%s", err);
	unsetenv("AVMM_RUN_DIR");
	o = json_out();
	cr_expect_float_eq(json_number_value(json_object_get(json_object_get(o, "ram"),
							     "share_2m")), 0.625, 1e-9);
	json_decref(o);

	canned = canned_no_estimate;
	cr_assert_eq(avmm((const char *[]){ "paging", "--socket", s.sock, NULL }), 0, "%s", err);
	cr_expect(strstr(out, "unavailable: smaps unreadable: EACCES"), "%s", out);
	cr_expect(strstr(out, "quota none") && strstr(out, "estimate   none yet"), "%s", out);

	canned = NULL;   /* the handler fails: the VM's error is shown */
	cr_expect_eq(avmm((const char *[]){ "paging", "--socket", s.sock, NULL }), 1);
	cr_expect(strstr(err, "answered") && strstr(err, "paging:"), "%s", err);
	server_stop(&s);

	cr_expect_eq(avmm((const char *[]){ "paging", "--socket", s.sock, NULL }), 1);
	cr_expect(strstr(err, "no answer on") && strstr(err, "is the VM running"), "%s", err);
}

/* ---- calibrate, for real ------------------------------------------------ */

Test(paging_cli, calibrate_on_this_host, .timeout = 120)
{
	char dir[64], pdir[96], why[PGMODE_WHY * 2];
	double stored = 0;
	json_t *o;

	require_kvm();
	if (access(build_path("guests/ptchurn.elf"), R_OK))
		cr_skip_test("no %s: run `make guests`", build_path("guests/ptchurn.elf"));
	snprintf(dir, sizeof(dir), "/tmp/avmm-pgcal.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	setenv("AVMM_STATE_DIR", dir, 1);
	cr_assert_eq(avmm((const char *[]){ "paging", "calibrate", "--ops", "500", "--json",
					    NULL }), 0, "%s", err);
	cr_expect(strstr(err, "calibrate: 3/3 n=500"), "progress on stderr: %s", err);
	o = json_out();
	snprintf(pdir, sizeof(pdir), "%s/paging", dir);
	cr_assert_eq(pgmode_calibration_load(pdir, &stored, why, sizeof(why)), 0, "%s", why);
	unsetenv("AVMM_STATE_DIR");
	cr_expect_float_eq(json_number_value(json_object_get(o, "exit_cost_ns")), stored, 0.06);
	cr_expect_eq(json_array_size(json_object_get(o, "runs")), 6);
	cr_expect(stored >= 100 && stored <= 1e6, "one paging exit: %.0f ns", stored);
	cr_log_info("calibrated paging exit cost on this host: %.0f ns", stored);
	json_decref(o);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/calibration", pdir);
		unlink(p);
		rmdir(pdir);
		rmdir(dir);
	}
}
