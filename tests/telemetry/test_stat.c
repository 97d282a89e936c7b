/* `avmm stat` through a real control socket, and its renderer. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "telemetry/tel.h"
#include "tinyvm.h"
#include "vmm-core/vmm.h"

static char *render(const char *json)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	tel_stat_render(json, f);
	fclose(f);
	return buf;
}

Test(stat, render_table_and_errors)
{
	char *out = render("{\"vm\":\"a\",\"run_id\":\"r\",\"profile\":\"p\",\"nr_vcpus\":1,"
			   "\"samples\":[{\"seq\":7,\"tel_cpu_ns\":1000000,\"tel_sample_ns\":5000,"
			   "\"sources\":{\"kvm\":{\"up\":true,\"why\":\"\"},\"perf\":{\"up\":false,"
			   "\"why\":\"no hardware PMU\"}},\"energy\":null,\"vcpus\":[{\"tid\":12,"
			   "\"pcpu\":1,\"cpu_pct\":50.5,\"run_delay_pct\":2,\"exits_per_s\":1234,"
			   "\"paging_exits_per_s\":5,\"exits\":99,\"pf_taken\":3,\"hw\":null}]}]}");

	cr_assert(strstr(out, "vm a  run r  profile p"), "%s", out);
	cr_assert(strstr(out, "perf    down: no hardware PMU"), "%s", out);
	cr_assert(strstr(out, "VCPU"));
	cr_assert(strstr(out, "50.5"), "%s", out);
	cr_assert(strstr(out, "   -  "), "IPC without counters must print -: %s", out);
	free(out);
	out = render("{\"error\":\"unknown command\"}");
	cr_assert(strstr(out, "unknown command"));
	free(out);
	out = render("not json");
	cr_assert(strstr(out, "unreadable"));
	free(out);
}

Test(stat, cli_reads_a_live_vm_over_the_control_socket, .init = cr_redirect_stdout)
{
	char sock[64], *argv[] = { "stat", "--socket", sock, "--once", NULL };
	struct tel_config c = { .counters = "none", .vm_name = "live", .run_id = "r1" };
	struct vmm_ctl *ctl;
	struct tvm vm;
	struct tel *t;
	char buf[4096];
	size_t n;
	int err = tvm_create(&vm, 2);

	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
	cr_assert_eq(tvm_start_threads(&vm, 2000), 0);
	snprintf(sock, sizeof(sock), "/tmp/tel-stat-%d.sock", (int)getpid());
	struct tel_target tg = { .nr_vcpus = 2, .vm_fd = tvm_vm_fd, .vcpu_fd = tvm_vcpu_fd,
				 .vcpu_tid = tvm_vcpu_tid, .arg = &vm };
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(vmm_ctl_open(sock, (gid_t)-1, &ctl), 0);
	cr_assert_eq(tel_register_ctl(t, ctl), 0);
	tel_sample(t, NULL);
	util_sleep_ns(50000000);
	tel_sample(t, NULL);
	cr_assert_eq(tel_cli_stat(4, argv), 0);
	fflush(stdout);
	n = fread(buf, 1, sizeof(buf) - 1, cr_get_redirected_stdout());
	buf[n] = 0;
	cr_assert(strstr(buf, "vm live  run r1"), "%s", buf);
	cr_assert(strstr(buf, "sample 1"), "%s", buf);
	cr_assert(strstr(buf, "\n0 ") && strstr(buf, "\n1 "), "two vCPU rows: %s", buf);
	vmm_ctl_close(ctl);
	tel_close(t);
	tvm_destroy(&vm);
}

Test(stat, cli_errors, .init = cr_redirect_stderr)
{
	char *bad[] = { "stat", "--interval", "0", NULL };
	char *extra[] = { "stat", "junk", NULL };
	char *nosock[] = { "stat", "--socket", "/tmp/tel-no-such.sock", "--once", NULL };

	cr_assert_eq(tel_cli_stat(3, bad), 2);
	cr_assert_eq(tel_cli_stat(2, extra), 2);
	cr_assert_eq(tel_cli_stat(4, nosock), 1);
}
