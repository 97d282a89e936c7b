/* energy: power capping against fake trees; the CLI holding a cap until a
 * signal, in a forked child (the avmm main belongs to vmm-core). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "fake.h"

#define C0 "sys/class/powercap/intel-rapl:0/constraint_0_"
#define C1 "sys/class/powercap/intel-rapl:1/constraint_0_"
#define SHORT0 "sys/class/powercap/intel-rapl:0/constraint_1_power_limit_uw"

static struct energy_cap cap;
static char msg[512];

/* Two packages: long_term 150 W (max 200 W), short_term 180 W. */
static void tree(void)
{
	root = fake_root();
	for (int p = 0; p < 2; p++) {
		char id[32], name[64];

		snprintf(id, sizeof(id), "intel-rapl:%d", p);
		snprintf(name, sizeof(name), "package-%d", p);
		fake_zone(root, id, name, 0, 262143328850ull);
		fake_constraint(root, id, 0, "long_term", 150000000, 999424, 0, 200000000);
		fake_constraint(root, id, 1, "short_term", 180000000, 2440, 0, 0);
		snprintf(name, sizeof(name), "sys/class/powercap/%s/enabled", id);
		fake_write(root, name, "1\n");
	}
	fake_zone(root, "intel-rapl:0:0", "core", 0, 262143328850ull);
	fake_constraint(root, "intel-rapl:0:0", 0, "long_term", 0, 976, 0, 0);
}

static void expect_original(void)
{
	cr_expect_eq(fake_read_u64(root, C0 "power_limit_uw"), 150000000);
	cr_expect_eq(fake_read_u64(root, C1 "power_limit_uw"), 150000000);
	cr_expect_eq(fake_read_u64(root, C0 "time_window_us"), 999424);
	cr_expect_eq(fake_read_u64(root, SHORT0), 180000000);
}

Test(energy_cap, set_and_restore, .fini = fake_teardown)
{
	tree();
	cr_assert_eq(energy_cap_open(&cap, root, NULL, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(cap.nr_targets, 2, "both packages, not the core subzone");
	cr_assert_eq(energy_cap_set(&cap, 200, 0, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(fake_read_u64(root, C0 "power_limit_uw"), 100000000, "split evenly");
	cr_expect_eq(fake_read_u64(root, C1 "power_limit_uw"), 100000000);
	cr_expect_eq(fake_read_u64(root, SHORT0), 180000000, "short_term untouched");
	cr_expect_float_eq(cap.cap_w, 200.0, 1e-9);
	cr_assert_eq(energy_cap_set(&cap, 120, 500000, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(fake_read_u64(root, C0 "time_window_us"), 500000);
	cr_assert_eq(energy_cap_restore(&cap, msg, sizeof(msg)), 0, "%s", msg);
	expect_original();
	cr_expect_float_eq(cap.cap_w, 0.0, 1e-9);
}

Test(energy_cap, clamped_into_min_max, .fini = fake_teardown)
{
	tree();
	fake_write(root, C0 "min_power_uw", "20000000\n");
	cr_assert_eq(energy_cap_open(&cap, root, NULL, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(energy_cap_set(&cap, 500, 0, msg, sizeof(msg)), 1);
	cr_expect_eq(fake_read_u64(root, C0 "power_limit_uw"), 200000000);
	cr_expect(strstr(msg, "constraint_0_power_limit_uw") && strstr(msg, "clamped to 200.000 W"),
		  "%s", msg);
	cr_expect_float_eq(cap.cap_w, 400.0, 1e-9);
	cr_expect_eq(energy_cap_set(&cap, 30, 0, msg, sizeof(msg)), 1);
	cr_expect_eq(fake_read_u64(root, C0 "power_limit_uw"), 20000000, "raised to min");
	cr_expect_eq(fake_read_u64(root, C1 "power_limit_uw"), 15000000, "no min stated");
	cr_expect(strstr(msg, "intel-rapl:0/constraint_0_power_limit_uw"), "%s", msg);
	cr_expect_eq(energy_cap_set(&cap, 100, 5000000, msg, sizeof(msg)), 1);
	cr_expect_eq(fake_read_u64(root, C0 "time_window_us"), 1000000);
	cr_expect(strstr(msg, "time_window_us"), "%s", msg);
	cr_expect_eq(energy_cap_set(&cap, -3, 0, msg, sizeof(msg)), -EINVAL);
	cr_expect_eq(energy_cap_restore(&cap, msg, sizeof(msg)), 0);
	expect_original();
}

Test(energy_cap, write_denied_names_the_file_and_restores, .fini = fake_teardown)
{
	/* As root chmod cannot deny the write: the ops table returns EACCES. */
	static struct fake_ctx fc;
	static struct energy_ops ops;

	fc = (struct fake_ctx){ .deny_write = "intel-rapl:1/constraint_0_power_limit_uw" };
	ops = fake_ops(&fc);

	tree();
	cr_assert_eq(energy_cap_open(&cap, root, &ops, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(energy_cap_set(&cap, 100, 0, msg, sizeof(msg)), -EACCES);
	cr_expect(strstr(msg, "intel-rapl:1/constraint_0_power_limit_uw") &&
		  strstr(msg, "50000000") && strstr(msg, "root"), "%s", msg);
	cr_expect_eq(fake_read_u64(root, C0 "power_limit_uw"), 150000000,
		     "package-0 put back after the failure");
}

Test(energy_cap, disabled_zone_enabled_then_restored, .fini = fake_teardown)
{
	tree();
	fake_write(root, "sys/class/powercap/intel-rapl:1/enabled", "0\n");
	cr_assert_eq(energy_cap_open(&cap, root, NULL, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(energy_cap_set(&cap, 100, 0, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(fake_read_u64(root, "sys/class/powercap/intel-rapl:1/enabled"), 1);
	energy_cap_restore(&cap, msg, sizeof(msg));
	cr_expect_eq(fake_read_u64(root, "sys/class/powercap/intel-rapl:1/enabled"), 0);
	cr_expect_eq(fake_read_u64(root, "sys/class/powercap/intel-rapl:0/enabled"), 1);
}

Test(energy_cap, psys_when_no_package, .fini = fake_teardown)
{
	root = fake_root();
	fake_zone(root, "intel-rapl:0", "psys", 0, 262143328850ull);
	fake_constraint(root, "intel-rapl:0", 0, "long_term", 90000000, 28000, 0, 0);
	cr_assert_eq(energy_cap_open(&cap, root, NULL, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(energy_cap_set(&cap, 45, 0, msg, sizeof(msg)), 0, "%s", msg);
	cr_expect_eq(fake_read_u64(root, C0 "power_limit_uw"), 45000000);
	energy_cap_restore(&cap, msg, sizeof(msg));
	cr_expect_eq(fake_read_u64(root, C0 "power_limit_uw"), 90000000);
}

Test(energy_cap, no_powercap, .fini = fake_teardown)
{
	root = fake_root();
	cr_expect_eq(energy_cap_open(&cap, root, NULL, msg, sizeof(msg)), -ENODEV);
	cr_expect(strstr(msg, "/sys/class/powercap"), "%s", msg);
	fake_zone(root, "intel-rapl:0", "package-0", 0, 1000);   /* no constraints */
	cr_expect_eq(energy_cap_open(&cap, root, NULL, msg, sizeof(msg)), -ENODEV);
	cr_expect_eq(energy_cap_set(&cap, 10, 0, msg, sizeof(msg)), -EINVAL);
}

/* ---- avmm energy --cap in a child process ---- */

static pid_t spawn_cli(const char *const *args, int n, const char *out)
{
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		char *argv[16];
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		for (int i = 0; i < n; i++)
			argv[i] = (char *)args[i];
		argv[n] = NULL;
		fd = energy_cli_main(n, argv);
		fflush(NULL);
		_exit(fd);
	}
	return pid;
}

static bool wait_for_limit(uint64_t want)
{
	for (int i = 0; i < 500; i++) {
		char buf[64];
		uint64_t v;

		if (util_read_file(root, C0 "power_limit_uw", buf, sizeof(buf)) > 0 &&
		    !util_parse_u64(buf, &v) && v == want)
			return true;
		util_sleep_ns(10000000);
	}
	return false;
}

static void cap_until(int sig)
{
	char out[512];
	static char text[65536];
	const char *args[] = { "energy", "--fsroot", root, "--cap", "100", "--interval", "0.05" };
	int status;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/cli.out", root);
	pid = spawn_cli(args, 7, out);
	cr_assert(wait_for_limit(50000000), "the child never set the cap");
	util_sleep_ns(120000000);           /* let it take a few readings */
	cr_assert_eq(kill(pid, sig), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	util_read_file(NULL, out, text, sizeof(text));
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, text);
	expect_original();
	cr_expect(strstr(text, "original limits restored (signal)"), "%s", text);
	cr_expect(strstr(text, "total"), "readings printed while holding: %s", text);
}

Test(energy_cli, cap_held_until_sigterm_then_restored, .fini = fake_teardown)
{
	tree();
	cap_until(SIGTERM);
}

Test(energy_cli, cap_held_until_sigint_then_restored, .fini = fake_teardown)
{
	tree();
	cap_until(SIGINT);
}

Test(energy_cli, cap_for_a_duration, .fini = fake_teardown)
{
	char out[512];
	static char text[65536];
	const char *args[] = { "energy", "--fsroot", root, "--cap", "999", "--duration", "0.2",
			       "--interval", "0.05" };
	int status;
	pid_t pid;

	tree();
	args[2] = root;
	snprintf(out, sizeof(out), "%s/cli.out", root);
	pid = spawn_cli(args, 9, out);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	util_read_file(NULL, out, text, sizeof(text));
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, text);
	cr_expect(strstr(text, "clamped"), "999 W is above 2 x 200 W: %s", text);
	expect_original();
}

Test(energy_cli, cap_without_powercap_fails_clearly, .fini = fake_teardown)
{
	char out[512];
	static char text[65536];
	const char *args[] = { "energy", "--fsroot", root, "--cap", "100", "--duration", "0.1" };
	int status;
	pid_t pid;

	root = fake_root();
	args[2] = root;
	snprintf(out, sizeof(out), "%s/cli.out", root);
	pid = spawn_cli(args, 7, out);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	util_read_file(NULL, out, text, sizeof(text));
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x", status);
	cr_expect(strstr(text, "cannot cap power: no /sys/class/powercap"), "%s", text);
}
