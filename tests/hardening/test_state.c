/* The host-state journal: what it records, what repair restores and what it
 * refuses to touch. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hoststate.h"
#include "common/util.h"

static char dir[64], report[8192];

static void setup(void)
{
	char cmd[160];

	snprintf(dir, sizeof(dir), "/tmp/avmm-state-XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/fk/sys/class/powercap/intel-rapl:0", dir);
	cr_assert_eq(system(cmd), 0);
}

static void teardown(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		cr_log_warn("rm %s failed", dir);
}
TestSuite(state, .init = setup, .fini = teardown);

static void put_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

Test(state, valid_records)
{
	cr_assert_eq(util_state_valid_file_record(
		"/sys/class/powercap/intel-rapl:0/constraint_0_power_limit_uw", "200000000"), 0);
	cr_assert_eq(util_state_valid_file_record(
		"/tmp/x/sys/class/powercap/intel-rapl:0:1/constraint_12_time_window_us", "1"), 0);
	cr_assert_eq(util_state_valid_file_record("/sys/class/powercap/intel-rapl:0/enabled",
						  "0"), 0);
	cr_assert_neq(util_state_valid_file_record("/etc/shadow", "1"), 0);
	cr_assert_neq(util_state_valid_file_record(
		"/sys/class/powercap/../../../etc/constraint_0_power_limit_uw", "1"), 0);
	cr_assert_neq(util_state_valid_file_record(
		"/sys/class/powercap/intel-rapl:0/energy_uj", "1"), 0);
	cr_assert_neq(util_state_valid_file_record(
		"/sys/class/powercap/intel-rapl:0/constraint_0_power_limit_uw", "1 2"), 0);
	cr_assert_neq(util_state_valid_file_record(
		"sys/class/powercap/intel-rapl:0/enabled", "1"), 0);
}

Test(state, records_then_clear_removes_the_file)
{
	struct util_state *st;
	char path[256], *text = malloc(4096);
	cpu_set_t set;

	cr_assert_eq(util_state_open(dir, "vm1", &st), 0);
	snprintf(path, sizeof(path), "%s/fk", dir);
	cr_assert_eq(util_state_save_file(st, path, "/sys/class/powercap/intel-rapl:0/"
					  "constraint_0_power_limit_uw", "200000000\n"), 0);
	/* the first original stays */
	cr_assert_eq(util_state_save_file(st, path, "/sys/class/powercap/intel-rapl:0/"
					  "constraint_0_power_limit_uw", "150000000\n"), 0);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CPU_SET(1, &set);
	cr_assert_eq(util_state_save_affinity(st, gettid(), &set), 0);
	cr_assert_geq(util_read_file(NULL, util_state_path(st), text, 4096), 0);
	cr_assert(strstr(text, "constraint_0_power_limit_uw 200000000\n"), "%s", text);
	cr_assert(!strstr(text, "150000000"), "%s", text);
	cr_assert(strstr(text, "affinity "), "%s", text);
	cr_assert(strstr(text, " 0,1\n"), "%s", text);
	/* a bad record is refused, not written */
	cr_assert_neq(util_state_save_file(st, NULL, "/etc/passwd", "1"), 0);
	snprintf(path, sizeof(path), "%s", util_state_path(st));
	/* this process runs: repair leaves it alone */
	cr_assert_eq(util_state_repair(dir, report, sizeof(report)), 0);
	cr_assert(strstr(report, "is running; left alone"), "%s", report);
	cr_assert_eq(access(path, F_OK), 0);
	cr_assert_eq(util_state_clear(st), 0);
	util_state_close(st);
	cr_assert_neq(access(path, F_OK), 0);
	free(text);
}

/* A state folder with the fake limit at 150 W; fills the limit file's path
 * and the path of the state file of a dead pid 1 (not written yet). */
static void dead_state(char *limit, size_t llen, char *file, size_t flen)
{
	char sdir[128];

	snprintf(sdir, sizeof(sdir), "%s/state", dir);
	mkdir(sdir, 0700);
	snprintf(limit, llen, "%s/fk/sys/class/powercap/intel-rapl:0/constraint_0_power_limit_uw",
		 dir);
	put_file(limit, "150000000\n", 0644);
	snprintf(file, flen, "%s/1.state", sdir);
}

Test(state, repair_of_a_dead_process_restores_and_removes)
{
	char file[160], limit[160], text[1024], buf[64];

	dead_state(limit, sizeof(limit), file, sizeof(file));
	/* pid 1 with a start time it never had: a process that is gone */
	snprintf(text, sizeof(text), "avmm-state 1\npid 1 999999999\nname old\nfile %s 200000000\n"
		 "file /etc/hostname 1\naffinity 1 999999999 0\n", limit);
	put_file(file, text, 0600);
	cr_assert_lt(util_state_repair(dir, report, sizeof(report)), 0,
		     "a record outside powercap must count as an error");
	cr_assert(strstr(report, "/etc/hostname: not a file avmm restores"), "%s", report);
	cr_assert(strstr(report, "thread 1: gone"), "%s", report);
	cr_assert_gt(util_read_file(NULL, limit, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "200000000");
	cr_assert_eq(access(file, F_OK), 0, "a file with an error stays for another try");
	/* without the bad record it is repaired and removed */
	snprintf(text, sizeof(text), "avmm-state 1\npid 1 999999999\nname old\nfile %s 200000000\n",
		 limit);
	put_file(file, text, 0600);
	cr_assert_eq(util_state_repair(dir, report, sizeof(report)), 1, "%s", report);
	cr_assert_neq(access(file, F_OK), 0);
}

Test(state, a_state_file_others_can_write_is_refused)
{
	char file[160], limit[160], text[512], buf[64];

	dead_state(limit, sizeof(limit), file, sizeof(file));
	snprintf(text, sizeof(text), "avmm-state 1\npid 1 999999999\nname x\nfile %s 5\n", limit);
	put_file(file, text, 0666);
	cr_assert_lt(util_state_repair(dir, report, sizeof(report)), 0);
	cr_assert(strstr(report, "mode 0600"), "%s", report);
	cr_assert_gt(util_read_file(NULL, limit, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "150000000\n");
}
