/* Integration: the avmm subcommands against a running avmm (real KVM). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/run_helpers.h"

static char out[1 << 16];
static char sock[64];
static pid_t guest_pid;

/* Starts `avmm run` of the compute guest for secs seconds in the background. */
static void start_guest(const char *profile, int secs)
{
	char cmd[32];
	int i;

	require_kvm();
	snprintf(sock, sizeof(sock), "/tmp/avmm-cli-%d.sock", (int)getpid());
	snprintf(cmd, sizeof(cmd), "secs=%d", secs);
	guest_pid = fork();
	cr_assert(guest_pid >= 0);
	if (guest_pid == 0) {
		freopen("/dev/null", "w", stdout);
		execl(build_path("avmm"), "avmm", "run", "--socket", sock, "--profile", profile,
		      build_path("guests/compute.elf"), "--cmdline", cmd, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && access(sock, F_OK); i++)
		util_sleep_ns(20000000);
	cr_assert_eq(access(sock, F_OK), 0, "avmm did not open its control socket %s", sock);
}

static void stop_guest(void)
{
	int status;

	kill(guest_pid, SIGTERM);
	waitpid(guest_pid, &status, 0);
	cr_assert(WIFEXITED(status), "avmm did not exit cleanly on SIGTERM");
	cr_assert_eq(WEXITSTATUS(status), 128 + SIGTERM);
	cr_assert_neq(access(sock, F_OK), 0, "the control socket was not removed");
}

Test(ctl, profile_switch_on_a_running_avmm)
{
	int st;

	start_guest("static", 20);
	st = run_avmm(out, sizeof(out), (const char *[]){ "ctl", "--socket", sock, "profile",
			 "energy", NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "profile energy now in force (objective "), "a human line: %s", out);
	st = run_avmm(out, sizeof(out), (const char *[]){ "ctl", "--socket", sock, "--json",
			 "profile", NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "\"profile\":\"energy\""), "--json: the answer as it is: %s", out);
	st = run_avmm(out, sizeof(out), (const char *[]){ "ctl", "--socket", sock, "profile",
			 "no-such-profile", NULL });
	cr_assert_neq(st, 0, "an unknown profile must be refused: %s", out);
	cr_assert(strstr(out, "no-such-profile"), "%s", out);
	stop_guest();
}

Test(stat, once_shows_the_vcpus)
{
	int st;

	start_guest("balanced", 20);
	for (int i = 0; i < 10; i++) { /* the first sample comes after the 1 s period */
		util_sleep_ns(500000000ull);
		st = run_avmm(out, sizeof(out), (const char *[]){ "stat", "--socket", sock, "--once",
				 NULL });
		cr_assert_eq(st, 0, "%s", out);
		if (!strstr(out, "no sample yet"))
			break;
	}
	cr_assert(strstr(out, "kvm     up"), "%s", out);
	cr_assert(strstr(out, "vcpu") || strstr(out, "VCPU"), "%s", out);
	stop_guest();
}

Test(ctl, no_avmm_listening)
{
	int st = run_avmm(out, sizeof(out), (const char *[]){ "ctl", "--socket",
			  "/tmp/avmm-nobody.sock", "profile", "energy", NULL });

	cr_assert_neq(st, 0);
	cr_assert(strstr(out, "/tmp/avmm-nobody.sock"), "%s", out);
}

Test(cli, policy_check_shipped_profiles)
{
	static const char *const names[] = { "performance", "energy", "balanced", "powercap",
					     "static" };

	for (size_t i = 0; i < UTIL_ARRAY_SIZE(names); i++) {
		int st = run_avmm(out, sizeof(out), (const char *[]){ "policy", "check", names[i],
				  NULL });

		cr_assert_eq(st, 0, "%s: %s", names[i], out);
		cr_assert(strstr(out, "objective"), "%s", out);
	}
}

Test(cli, topo_json_of_this_machine)
{
	int st = run_avmm(out, sizeof(out), (const char *[]){ "topo", "--json", NULL });

	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strchr(out, '{'), "%s", out);
}

Test(cli, energy_says_why_rapl_is_missing)
{
	int st = run_avmm(out, sizeof(out), (const char *[]){ "energy", "--count", "1", NULL });

	cr_assert(st == 0 || st == 1, "%s", out);
	if (access("/sys/class/powercap", F_OK))
		cr_assert(strstr(out, "powercap"), "the reason must be named: %s", out);
}

/* ---- bad exporter input: a clear error before the guest starts (status 2),
 * or with --best-effort the guest runs without it ---- */

static void expect_fails_before_guest(const char *const args[], const char *needle)
{
	const char *be[16];
	char v[16];
	int st = run_avmm(out, sizeof(out), args), n = 0;

	cr_assert_eq(st, 2, "a failing exporter must stop the run (status 2): %d\n%s", st, out);
	cr_assert(strstr(out, needle), "the error must name '%s':\n%s", needle, out);
	cr_assert(strstr(out, "avmm: error: "), "%s", out);
	cr_assert(strstr(out, "--best-effort"), "the fix must be named:\n%s", out);
	cr_assert(!strstr(out, "AVMM-RESULT"), "the guest must not have started:\n%s", out);
	/* the same with --best-effort: reported, left out, the guest runs */
	be[n++] = args[0];
	be[n++] = "--best-effort";
	for (int i = 1; args[i] && n < 15; i++)
		be[n++] = args[i];
	be[n] = NULL;
	st = run_avmm(out, sizeof(out), be);
	cr_assert_eq(st, 0, "--best-effort: the guest must run (exit 0): status %d\n%s", st, out);
	cr_assert(strstr(out, needle), "the error must name '%s':\n%s", needle, out);
	cr_assert_eq(result_value(out, "hello", "ok", v, sizeof(v)), 0, "%s", out);
}

Test(exporters, unwritable_trace_path)
{
	require_kvm();
	expect_fails_before_guest((const char *[]){ "run", "--socket", "", "--trace",
				  "/nonexistent/dir/t.jsonl", build_path("guests/hello.elf"), NULL },
				  "/nonexistent/dir/t.jsonl");
}

Test(exporters, trace_with_unknown_extension)
{
	require_kvm();
	expect_fails_before_guest((const char *[]){ "run", "--socket", "", "--trace", "/tmp/t.txt",
				  build_path("guests/hello.elf"), NULL }, "/tmp/t.txt");
}

Test(exporters, metrics_port_in_use)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	char addr[32];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	require_kvm();
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (void *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	getsockname(fd, (void *)&a, &alen);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(a.sin_port));
	expect_fails_before_guest((const char *[]){ "run", "--socket", "", "--metrics", addr,
				  build_path("guests/hello.elf"), NULL }, addr);
	close(fd);
}

Test(exporters, metrics_invalid_address)
{
	require_kvm();
	expect_fails_before_guest((const char *[]){ "run", "--socket", "", "--metrics", "300.1.2.3:80",
				  build_path("guests/hello.elf"), NULL }, "300.1.2.3");
}
