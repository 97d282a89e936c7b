/* Integration: the CLI's consistency (issue 15) through the real binary:
 * --version, -vv, help CMD, the start-up line and -q, the trace CSV's column
 * names, `avmm stat` finding the only running VM and writing plain frames
 * into a pipe, `avmm energy` with the profile's estimate. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/run_helpers.h"

static char out[1 << 16], out2[1 << 16];

Test(cli_ux, version_and_version_command)
{
	cr_assert_eq(run_avmm(out, sizeof(out), (const char *[]){ "--version", NULL }), 0, "%s", out);
	cr_assert(!strncmp(out, "avmm ", 5) && strstr(out, "(git "), "%s", out);
	cr_assert_eq(run_avmm(out2, sizeof(out2), (const char *[]){ "version", NULL }), 0);
	cr_assert_str_eq(out, out2);
}

Test(cli_ux, help_cmd_is_cmd_help_with_options_and_examples)
{
	static const char *const cmds[] = { "stat", "ctl", "topo", "run" };

	for (size_t i = 0; i < UTIL_ARRAY_SIZE(cmds); i++) {
		cr_assert_eq(run_avmm(out, sizeof(out), (const char *[]){ "help", cmds[i], NULL }), 0,
			     "%s: %s", cmds[i], out);
		cr_assert_eq(run_avmm(out2, sizeof(out2), (const char *[]){ cmds[i], "--help", NULL }),
			     0);
		cr_assert_str_eq(out, out2, "avmm help %s differs from avmm %s --help", cmds[i], cmds[i]);
		cr_assert(strstr(out, "options:"), "%s --help lists no options:\n%s", cmds[i], out);
		if (strcmp(cmds[i], "run"))
			cr_assert(strstr(out, "examples:"), "%s --help has no examples:\n%s", cmds[i], out);
	}
	cr_assert_eq(run_avmm(out, sizeof(out), (const char *[]){ "help", "nope", NULL }), 2);
	cr_assert(strstr(out, "nope"), "%s", out);
}

/* -vv is -v -v: the debug line of the vCPU's first entry shows up. */
Test(cli_ux, vv_is_v_v)
{
	static const char *const forms[][3] = { { "-vv", NULL }, { "-v", "-v", NULL } };

	require_kvm();
	for (int i = 0; i < 2; i++) {
		const char *args[12];
		int n = 0, st;

		for (int k = 0; forms[i][k]; k++)
			args[n++] = forms[i][k];
		args[n++] = "run";
		args[n++] = "--no-adapt";
		args[n++] = "--socket";
		args[n++] = "";
		args[n++] = build_path("guests/hello.elf");
		args[n] = NULL;
		st = run_avmm(out, sizeof(out), args);
		cr_assert_eq(st, 0, "%s", out);
		cr_assert(strstr(out, "enters the guest on cpu"), "form %d: no debug output:\n%s", i, out);
	}
}

Test(cli_ux, start_line_names_profile_socket_dashboard_and_q_silences_it)
{
	int st;

	require_kvm();
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--socket", "", "--metrics", "0",
		      "--profile", "energy", build_path("guests/hello.elf"), NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "avmm: VM avmm, profile energy, control socket none, dashboard "
			      "http://127.0.0.1:"), "%s", out);
	st = run_avmm(out, sizeof(out), (const char *[]){ "-q", "run", "--socket", "",
		      build_path("guests/hello.elf"), NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(!strstr(out, "avmm: VM "), "-q must silence the start-up line:\n%s", out);
	cr_assert(strstr(out, "AVMM-RESULT guest=hello"), "%s", out);
}

/* pandas refuses duplicate column names: every name in the header once. */
Test(cli_ux, trace_csv_column_names_are_unique)
{
	char path[] = "/tmp/avmm-csv-XXXXXX.csv", *text, *nl, *save = NULL;
	char *names[4096];
	int n = 0, st;

	require_kvm();
	close(mkstemps(path, 4));
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--socket", "", "--vcpus", "2",
		      "--trace", path, build_path("guests/smp.elf"), "--cmdline", "n=100 expect=2",
		      NULL });
	cr_assert_eq(st, 0, "%s", out);
	text = malloc(1 << 20);
	cr_assert(text);
	cr_assert_gt(util_read_file(NULL, path, text, 1 << 20), 0);
	unlink(path);
	nl = strchr(text, '\n');
	cr_assert(nl, "no header line");
	*nl = '\0';
	for (char *c = strtok_r(text, ",", &save); c && n < 4096; c = strtok_r(NULL, ",", &save))
		names[n++] = c;
	cr_assert_gt(n, 50, "%d columns", n);
	for (int i = 0; i < n; i++)
		for (int k = i + 1; k < n; k++)
			cr_assert(strcmp(names[i], names[k]), "column '%s' is there twice (%d and %d)",
				  names[i], i, k);
	free(text);
}

/* ---- avmm stat without --name: the only running VM ---- */

static char run_dir[64];
static pid_t vm_pid[2];

static void start_vm(int i, const char *name)
{
	char sock[128];

	snprintf(sock, sizeof(sock), "%s/%s.sock", run_dir, name);
	vm_pid[i] = fork();
	cr_assert(vm_pid[i] >= 0);
	if (vm_pid[i] == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execl(build_path("avmm"), "avmm", "run", "--name", name, "--profile", "balanced",
		      build_path("guests/compute.elf"), "--cmdline", "secs=30", (char *)NULL);
		_exit(127);
	}
	for (int k = 0; k < 200 && access(sock, F_OK); k++)
		util_sleep_ns(20000000);
	cr_assert_eq(access(sock, F_OK), 0, "avmm %s did not open %s", name, sock);
}

static void stop_vms(void)
{
	for (int i = 0; i < 2; i++)
		if (vm_pid[i] > 0) {
			kill(vm_pid[i], SIGTERM);
			waitpid(vm_pid[i], NULL, 0);
			vm_pid[i] = 0;
		}
	rmdir(run_dir);
}

Test(cli_ux, stat_picks_the_only_running_vm_and_writes_plain_frames, .fini = stop_vms)
{
	char cmd[512], file[96], *text;
	int st, frames = 0;

	require_kvm();
	snprintf(run_dir, sizeof(run_dir), "/tmp/avmm-ux-XXXXXX");
	cr_assert(mkdtemp(run_dir));
	setenv("AVMM_RUN_DIR", run_dir, 1);
	st = run_avmm(out, sizeof(out), (const char *[]){ "stat", "--once", NULL });
	cr_assert_eq(st, 1, "%s", out);
	cr_assert(strstr(out, "no running avmm") && strstr(out, run_dir), "%s", out);
	start_vm(0, "ux-one");
	st = run_avmm(out, sizeof(out), (const char *[]){ "stat", "--once", NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "vm ux-one"), "%s", out);
	/* into a file: frames one after the other, no terminal escapes */
	snprintf(file, sizeof(file), "%s/stat.txt", run_dir);
	snprintf(cmd, sizeof(cmd), "AVMM_RUN_DIR=%s timeout 1.5 %s stat --interval 0.2 > %s 2>&1",
		 run_dir, build_path("avmm"), file);
	cr_assert_neq(system(cmd), -1);
	text = malloc(1 << 16);
	cr_assert(text);
	cr_assert_gt(util_read_file(NULL, file, text, 1 << 16), 0);
	unlink(file);
	cr_assert(!strchr(text, '\033'), "escape codes written to a file:\n%s", text);
	for (char *p = text; (p = strstr(p, "vm ux-one")); p++)
		frames++;
	cr_assert_geq(frames, 2, "frames in 1.5 s at 0.2 s: %d\n%s", frames, text);
	free(text);
	start_vm(1, "ux-two");
	st = run_avmm(out, sizeof(out), (const char *[]){ "stat", "--once", NULL });
	cr_assert_eq(st, 1, "two VMs: an error, not a guess: %s", out);
	cr_assert(strstr(out, "ux-one.sock") && strstr(out, "ux-two.sock"), "both listed: %s", out);
	st = run_avmm(out, sizeof(out), (const char *[]){ "stat", "--name", "ux-two", "--once",
		      NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "vm ux-two"), "%s", out);
	unsetenv("AVMM_RUN_DIR");
}

/* `avmm energy` estimates with the same default as `avmm run`: the
 * profile's model where nothing measures energy. */
Test(cli_ux, energy_estimates_like_run)
{
	int st;

	if (!access("/sys/class/powercap/intel-rapl:0", F_OK))
		cr_skip_test("this machine measures energy (RAPL): the estimate is not used");
	st = run_avmm(out, sizeof(out), (const char *[]){ "energy", "--count", "1", NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "ESTIMATED") && strstr(out, "40.0 W idle + 12.0 W per busy core"),
		  "the shipped profiles' model (40 W + 12 W per busy CPU):\n%s", out);
}
