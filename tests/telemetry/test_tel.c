/* The tel object end to end on a real tiny KVM guest: sampling thread,
 * Prometheus (strict check), JSON API, traces, decisions, energy hook. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/httpget.h"
#include "tests/lib/promtool.h"
#include "promcheck.h"
#include "telemetry/tel.h"
#include "tinyvm.h"

static struct tvm vm;
static char dir[] = "/tmp/tel-test-XXXXXX";

static void need_vm(int nr)
{
	int err = tvm_create(&vm, nr);

	if (err)
		cr_skip_test("no usable /dev/kvm (%s)", strerror(-err));
	cr_assert_eq(tvm_start_threads(&vm, 2000), 0);
}

static struct tel_target target(void)
{
	return (struct tel_target){ .nr_vcpus = vm.nr, .vm_fd = tvm_vm_fd,
				    .vcpu_fd = tvm_vcpu_fd, .vcpu_tid = tvm_vcpu_tid, .arg = &vm };
}

static int fake_energy(void *arg, const struct tel_sample *s, double busy,
		       struct tel_energy_sample *o)
{
	int *calls = arg;

	(*calls)++;
	o->up = true;
	o->estimated = true;
	o->energy_uj = (uint64_t)*calls * 1000;
	o->power_w = 10.0 + busy;
	(void)s;
	return 0;
}

static uint64_t wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A record's wall-clock time: wall_ns within the run, its ISO 8601 form
 * "YYYY-MM-DDThh:mm:ss.mmmZ" of the same second (UTC). */
static void check_wall(uint64_t wall_ns, const char *iso, uint64_t w0, uint64_t w1)
{
	time_t sec = (time_t)(wall_ns / 1000000000ull);
	struct tm tm;
	char want[32];

	cr_assert(wall_ns >= w0 && wall_ns <= w1, "wall_ns %llu outside the run [%llu, %llu]",
		  (unsigned long long)wall_ns, (unsigned long long)w0, (unsigned long long)w1);
	cr_assert(iso && strlen(iso) == 24 && iso[23] == 'Z', "time '%s'", iso ? iso : "(none)");
	gmtime_r(&sec, &tm);
	strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.", &tm);
	cr_assert(!strncmp(iso, want, 20), "time %s for wall_ns %llu (want %s...)", iso,
		  (unsigned long long)wall_ns, want);
}

static void check_traces(const char *jsonl, const char *csv, uint64_t nsamples, uint64_t w0,
			 uint64_t w1)
{
	char line[1 << 16];
	FILE *f = fopen(jsonl, "r");
	int samples = 0, decisions = 0, header_cols = -1, rows = 0;

	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		const char *type;

		cr_assert(o, "bad JSON line: %s", je.text);
		cr_assert_str_eq(json_string_value(json_object_get(o, "run_id")), "r42");
		cr_assert_str_eq(json_string_value(json_object_get(o, "profile")), "perf");
		type = json_string_value(json_object_get(o, "type"));
		if (!strcmp(type, "sample")) {
			cr_assert_eq(json_integer_value(json_object_get(o, "seq")), samples);
			check_wall((uint64_t)json_integer_value(json_object_get(o, "wall_ns")),
				   json_string_value(json_object_get(o, "time")), w0, w1);
			cr_assert_eq(json_array_size(json_object_get(o, "vcpus")), 2);
			samples++;
		} else {
			cr_assert_str_eq(type, "decision");
			decisions++;
		}
		json_decref(o);
	}
	fclose(f);
	cr_assert_eq((uint64_t)samples, nsamples);
	cr_assert_eq(decisions, 1);
	f = fopen(csv, "r");
	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		int cols = 1, q = 0;

		for (char *p = line; *p; p++) {
			if (*p == '"')
				q = !q;
			else if (*p == ',' && !q)
				cols++;
		}
		if (header_cols < 0) {
			header_cols = cols;
			cr_assert(strstr(line, "vcpu1_exits_per_s"));
			cr_assert(!strncmp(line, "run_id,profile,vm,seq,t_ns,wall_ns,time,", 40), "%s",
				  line);
		} else {
			unsigned long long wall;
			char iso[32];

			cr_assert_eq(sscanf(line, "\"%*[^\"]\",\"%*[^\"]\",\"%*[^\"]\",%*u,%*u,%llu,%31[^,],",
					    &wall, iso), 2, "%s", line);
			check_wall(wall, iso, w0, w1);
			cr_assert_eq(cols, header_cols, "row %d has %d columns, header %d", rows, cols,
				     header_cols);
			cr_assert(!strncmp(line, "\"r42\",\"perf\",\"t\",", 17), "%s", line);
			rows++;
		}
	}
	fclose(f);
	cr_assert_eq((uint64_t)rows, nsamples);
}

Test(tel, samples_a_running_guest_and_exports)
{
	char jsonl[64], csv[64], err[200], *body = NULL, ctype[64], ptool[4096];
	const char *traces[] = { jsonl, csv };
	uint64_t w0 = wall_now(), w1;
	struct tel_config c = { .metrics_addr = "127.0.0.1:0", .nr_traces = 2,
				.counters = "perf", .run_id = "r42", .profile_name = "perf",
				.vm_name = "t", .period_ns = 20000000 };
	struct tel_decision d = { .t_ns = 1, .kind = "coremap", .what = "vcpu0 cpu1->cpu0",
				  .why = "run delay 40%" };
	struct tel_sample s;
	struct tel *t;
	int calls = 0, port, rc;

	need_vm(2);
	cr_assert(mkdtemp(dir));
	snprintf(jsonl, sizeof(jsonl), "%s/t.jsonl", dir);
	snprintf(csv, sizeof(csv), "%s/t.csv", dir);
	c.trace_paths[0] = traces[0];
	c.trace_paths[1] = traces[1];
	struct tel_target tg = target();
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	tel_set_energy_fn(t, fake_energy, &calls);
	port = tel_metrics_port(t);
	cr_assert_gt(port, 0);
	cr_assert_eq(tel_start(t), 0);
	util_sleep_ns(300000000);
	tel_publish_decision(t, &d);
	util_sleep_ns(100000000);
	tel_stop(t);
	cr_assert_eq(tel_latest(t, &s), 0);
	cr_assert_geq(s.seq, 5, "only %llu samples in 400 ms at 20 ms", (unsigned long long)s.seq);
	cr_assert(s.src[TEL_SRC_KVM_STATS].up, "%s", s.src[TEL_SRC_KVM_STATS].why);
	cr_assert(s.src[TEL_SRC_THREAD].up, "%s", s.src[TEL_SRC_THREAD].why);
	cr_assert(s.src[TEL_SRC_ENERGY].up);
	cr_assert(!s.src[TEL_SRC_PAPI].up);
	cr_assert(strstr(s.src[TEL_SRC_PAPI].why, "not selected"));
	if (!s.src[TEL_SRC_PERF].up)   /* this machine: no PMU; elsewhere counts */
		cr_assert(s.src[TEL_SRC_PERF].why[0]);
	else
		cr_assert(s.vcpu[0].hw_valid || s.vcpu[0].hw_host_valid);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(s.vcpu[i].tid, vm.tid[i]);
		cr_assert_gt(s.vcpu[i].exits, 0);
		cr_assert_gt(s.vcpu[i].exits_per_s, 0.0);
		cr_assert_gt(s.vcpu[i].cpu_time_ns, 0);
		cr_assert_geq(s.vcpu[i].pcpu, 0);
	}
	cr_assert(s.energy.up && s.energy.estimated);
	cr_assert_eq(calls, (int)s.seq + 1);
	cr_assert_gt(s.tel_cpu_ns, 0);
	cr_assert_gt(s.tel_sample_ns, 0);

	cr_assert_eq(http_get(port, "/metrics", &body, ctype, sizeof(ctype)), 200);
	cr_assert(strstr(ctype, "text/plain; version=0.0.4"), "%s", ctype);
	cr_assert_eq(promcheck(body, err, sizeof(err)), 0, "%s\n%s", err, body);
	rc = promtool_check(body, ptool, sizeof(ptool));
	cr_assert(rc == 0 || rc == -ENOENT, "promtool check metrics refuses /metrics (%d):\n%s\n%s",
		  rc, ptool, body);
	if (rc == -ENOENT)
		cr_log_warn("promtool check not run: %s", ptool);
	cr_assert(strstr(body, "avmm_source_up{vm=\"t\",source=\"kvm\"} 1\n"));
	cr_assert(strstr(body, "avmm_source_up{vm=\"t\",source=\"papi\"} 0\n"));
	cr_assert_eq(promcheck_count(body, "avmm_vcpu_exits_total"), 2);
	cr_assert_eq(promcheck_count(body, "avmm_vcpu_cpu_seconds_total"), 2);
	cr_assert_eq(promcheck_count(body, "avmm_telemetry_cpu_seconds_total"), 2);
	cr_assert(strstr(body, "avmm_decisions_total{vm=\"t\",kind=\"coremap\"} 1\n"));
	cr_assert(strstr(body, "avmm_power_watts{vm=\"t\",source=\"energy\",estimated=\"true\"}"));
	for (char *p = body; (p = strstr(p, "\n")) && p[1]; p++)
		cr_assert(p[1] == '#' || !strncmp(p + 1, "avmm_", 5), "%.40s", p + 1);
	if (!s.src[TEL_SRC_PERF].up)
		cr_assert_eq(promcheck_count(body, "avmm_vcpu_ipc"), 0, "IPC exported without PMU");
	free(body);

	cr_assert_eq(http_get(port, "/api/samples?since=3", &body, NULL, 0), 200);
	json_t *o = json_loads(body, 0, NULL);
	cr_assert(o);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(json_object_get(o, "samples"), 0),
							"seq")), 3);
	json_decref(o);
	free(body);
	cr_assert_eq(http_get(port, "/api/decisions", &body, NULL, 0), 200);
	cr_assert(strstr(body, "vcpu0 cpu1->cpu0"));
	free(body);
	cr_assert_eq(http_get(port, "/", &body, ctype, sizeof(ctype)), 200);
	cr_assert(strstr(ctype, "text/html"));
	cr_assert(strstr(body, "src=\"uplot.js\"") && strstr(body, "href=\"uplot.css\"") &&
		  !strstr(body, "http://") && !strstr(body, "https://"),
		  "dashboard must be self-contained, its chart library served by avmm");
	free(body);
	/* the chart library and its licence, built in: no network needed */
	cr_assert_eq(http_get(port, "/uplot.js", &body, ctype, sizeof(ctype)), 200);
	cr_assert(strstr(ctype, "javascript") && strstr(body, "uPlot"), "%s", ctype);
	free(body);
	cr_assert_eq(http_get(port, "/charts.js", &body, ctype, sizeof(ctype)), 200);
	cr_assert(strstr(ctype, "javascript") && strstr(body, "avmmCharts"), "%s", ctype);
	free(body);
	cr_assert_eq(http_get(port, "/uplot.css", &body, ctype, sizeof(ctype)), 200);
	cr_assert(strstr(ctype, "text/css") && strstr(body, ".uplot"), "%s", ctype);
	free(body);
	cr_assert_eq(http_get(port, "/licenses/uplot.txt", &body, ctype, sizeof(ctype)), 200);
	cr_assert(strstr(ctype, "text/plain") && strstr(body, "MIT") && strstr(body, "Leon Sorokin"),
		  "%s", body);
	free(body);
	cr_assert_eq(http_get(port, "/nope", &body, NULL, 0), 404);
	free(body);
	tel_close(t);
	tvm_destroy(&vm);
	w1 = wall_now();
	check_traces(jsonl, csv, s.seq + 1, w0, w1);
	unlink(jsonl);
	unlink(csv);
	rmdir(dir);
}

Test(tel, unavailable_sources_are_down_with_reason_and_sampling_goes_on)
{
	struct tel_config c = { .counters = "perf", .vm_name = "x" };
	struct tel_target tg = { .nr_vcpus = 1, .vcpu_tid = NULL };
	struct tel_sample s;
	struct tel *t;
	char *m;
	char err[200];

	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(tel_sample(t, &s), 0);
	cr_assert_eq(tel_sample(t, &s), 0);
	cr_assert(!s.src[TEL_SRC_KVM_STATS].up);
	cr_assert(strstr(s.src[TEL_SRC_KVM_STATS].why, "no KVM VM"), "%s",
		  s.src[TEL_SRC_KVM_STATS].why);
	cr_assert(!s.src[TEL_SRC_THREAD].up);
	cr_assert(strstr(s.src[TEL_SRC_THREAD].why, "not started"));
	cr_assert(!s.src[TEL_SRC_ENERGY].up && s.src[TEL_SRC_ENERGY].why[0]);
	cr_assert_eq(s.vcpu[0].pcpu, -1);
	cr_assert_eq(tel_metrics_text(t, &m), 0);
	cr_assert_eq(promcheck(m, err, sizeof(err)), 0, "%s", err);
	cr_assert(strstr(m, "avmm_source_up{vm=\"x\",source=\"kvm\"} 0"));
	cr_assert_eq(promcheck_count(m, "avmm_vcpu_exits_total"), 0, "values of a down source "
		     "must not be exported as 0");
	free(m);
	tel_close(t);
}

static int pcpu_calls;

static int counted_pcpu(void *arg, int i)
{
	pcpu_calls++;
	return tvm_vcpu_pcpu(arg, i);
}

/* The last CPU comes from the target's rseq read (no procfs) and follows the
 * pinning; the ring keeps ring_len samples of nr_vcpus each, in order. */
Test(tel, last_cpu_from_the_target_and_the_ring_in_order)
{
	struct tel_config c = { .counters = "none", .ring_len = 3 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct tel_sample s, l;
	struct tel *t;
	cpu_set_t set;
	char *js;

	need_vm(2);
	if (!util_rseq_cpu_id())
		cr_skip_test("glibc runs without rseq (GLIBC_TUNABLES glibc.pthread.rseq=0)");
	struct tel_target tg = target();
	tg.vcpu_pcpu = counted_pcpu;
	for (int i = 0; i < 2; i++) {
		CPU_ZERO(&set);
		CPU_SET(ncpu > 1 ? i : 0, &set);
		cr_assert_eq(sched_setaffinity(vm.tid[i], sizeof(set), &set), 0);
	}
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	for (int k = 0; k < 10; k++) {
		util_sleep_ns(20000000);
		cr_assert_eq(tel_sample(t, &s), 0);
	}
	cr_assert_gt(pcpu_calls, 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(s.vcpu[i].pcpu, ncpu > 1 ? i : 0, "vcpu%d on CPU %d", i, s.vcpu[i].pcpu);
	cr_assert_eq(tel_latest(t, &l), 0);
	cr_assert_eq(l.seq, 9);
	cr_assert_eq(l.nr_vcpus, 2);
	cr_assert_eq(l.vcpu[1].tid, vm.tid[1]);
	cr_assert_eq(l.vcpu[1].exits, s.vcpu[1].exits);
	cr_assert_eq(tel_samples_json(t, 0, &js), 0);
	json_t *o = json_loads(js, 0, NULL), *arr = json_object_get(o, "samples");

	cr_assert_eq(json_array_size(arr), 3);
	for (int k = 0; k < 3; k++)
		cr_assert_eq(json_integer_value(json_object_get(json_array_get(arr, (size_t)k),
								"seq")), 7 + k);
	json_decref(o);
	free(js);
	tel_close(t);
}

/* On its own thread telemetry counts all of that thread's CPU time, waits
 * and wake-ups included (what avmm_telemetry_cpu_seconds_total exports),
 * never more. */
Test(tel, own_thread_cpu_time_counted_whole)
{
	struct tel_config c = { .counters = "none", .period_ns = 20000000 };
	struct tel_sample s;
	struct tel *t;
	int64_t thread_ns;

	need_vm(2);
	struct tel_target tg = target();
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(tel_start(t), 0);
	util_sleep_ns(400000000);
	cr_assert_eq(tel_latest(t, &s), 0);
	thread_ns = tvm_thread_cpu_ns("avmm-telemetry");
	tel_stop(t);
	cr_assert_gt(thread_ns, 0);
	cr_assert_geq(s.seq, 10);
	cr_assert_leq(s.tel_cpu_ns, (uint64_t)thread_ns, "counted %llu ns, the thread used %lld",
		      (unsigned long long)s.tel_cpu_ns, (long long)thread_ns);
	/* not counted yet: the thread's start and the wait after the last
	 * sample (0.85-0.94 counted here; samples alone were 0.6) */
	cr_assert_geq((double)s.tel_cpu_ns, 0.75 * (double)thread_ns,
		      "counted %llu ns of the thread's %lld", (unsigned long long)s.tel_cpu_ns,
		      (long long)thread_ns);
	tel_close(t);
}

/* A copy out of the ring never writes past the caller's struct tel_sample,
 * also at the largest VM (ring slots are rounded up to cache lines). */
Test(tel, copies_stay_inside_the_callers_sample)
{
	struct tel_config c = { .counters = "none" };
	struct tel_target tg = { .nr_vcpus = TEL_MAX_VCPUS };
	static struct {
		struct tel_sample s;
		uint64_t canary[16];
	} out;
	struct tel *t;

	memset(out.canary, 0xa5, sizeof(out.canary));
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(tel_sample(t, &out.s), 0);
	cr_assert_eq(tel_latest(t, &out.s), 0);
	cr_assert_eq(out.s.nr_vcpus, TEL_MAX_VCPUS);
	for (size_t i = 0; i < sizeof(out.canary) / sizeof(out.canary[0]); i++)
		cr_assert_eq(out.canary[i], 0xa5a5a5a5a5a5a5a5ull, "canary %zu overwritten", i);
	tel_close(t);
}

static pid_t gone_tid(void *arg, int i)
{
	(void)arg;
	(void)i;
	return 0x3ffffff0;   /* above pid_max: no such thread */
}

Test(tel, vanished_thread_reported)
{
	struct tel_config c = { .counters = "none" };
	struct tel_target tg = { .nr_vcpus = 1, .vcpu_tid = gone_tid };
	struct tel_sample s;
	struct tel *t;

	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(tel_sample(t, &s), 0);
	cr_assert(!s.src[TEL_SRC_THREAD].up);
	cr_assert(strstr(s.src[TEL_SRC_THREAD].why, "schedstat"), "%s", s.src[TEL_SRC_THREAD].why);
	cr_assert(strstr(s.src[TEL_SRC_PERF].why, "not selected"));
	tel_close(t);
}

static int tid_samples;   /* samples that still see vCPU 0's real thread */

static pid_t tid_then_gone(void *arg, int i)
{
	return tid_samples > 0 ? tvm_vcpu_tid(arg, i) : gone_tid(arg, i);
}

/* The ring's slots are reused without being cleared as a whole (each vCPU's
 * record is written field by field): a thread that vanishes leaves no
 * value of the sample that used the slot before (ring of 2), and without a
 * counters backend the counters stay 0. */
Test(tel, reused_ring_slot_holds_this_samples_values_only)
{
	struct tel_config c = { .counters = "none", .ring_len = 2 };
	struct tel_sample s;
	struct tel *t;

	need_vm(1);
	struct tel_target tg = target();
	tg.vcpu_tid = tid_then_gone;
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	for (tid_samples = 4; tid_samples > 0; tid_samples--) {
		util_sleep_ns(10000000);
		cr_assert_eq(tel_sample(t, &s), 0);
	}
	cr_assert_gt(s.vcpu[0].cpu_time_ns, 0);
	cr_assert_gt(s.vcpu[0].run_delay_t_ns, 0);
	cr_assert_gt(s.vcpu[0].exits, 0);
	cr_assert(!s.vcpu[0].hw_valid && !s.vcpu[0].hw_host_valid);
	cr_assert_eq(s.vcpu[0].cycles + s.vcpu[0].ev_guest[0] + s.vcpu[0].ev_host[7], 0);
	for (int k = 0; k < 3; k++) {    /* the thread is gone: every slot reused */
		util_sleep_ns(10000000);
		cr_assert_eq(tel_sample(t, &s), 0);
		cr_assert_eq(s.vcpu[0].tid, 0x3ffffff0);
		cr_assert_eq(s.vcpu[0].cpu_time_ns, 0, "stale CPU time in sample %d", k);
		cr_assert_eq(s.vcpu[0].cpu_t_ns + s.vcpu[0].run_delay_ns + s.vcpu[0].run_delay_t_ns, 0);
		cr_assert_eq(s.vcpu[0].cpu_pct, 0);
		cr_assert_eq(s.vcpu[0].pcpu, -1);
		cr_assert_gt(s.vcpu[0].exits, 0, "the KVM statistics are still read");
		cr_assert(!s.src[TEL_SRC_THREAD].up);
	}
	tel_close(t);
}

Test(tel, counters_on_this_host)
{
	struct tel_config c = { .counters = "perf" };
	struct tel_sample s;
	struct tel *t;

	need_vm(1);
	struct tel_target tg = target();
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_geq(tel_nr_events(t), 4);
	cr_assert_str_eq(tel_event_name(t, 0), "cycles");
	util_sleep_ns(20000000);
	tel_sample(t, &s);
	util_sleep_ns(20000000);
	tel_sample(t, &s);
	if (s.src[TEL_SRC_PERF].up) {
		cr_assert(s.vcpu[0].hw_valid || s.vcpu[0].hw_host_valid);
		cr_assert(s.vcpu[0].multiplex_ratio > 0 && s.vcpu[0].multiplex_ratio <= 1.0);
	} else {
		cr_assert(!s.vcpu[0].hw_valid);
		cr_assert(strstr(s.src[TEL_SRC_PERF].why, "PMU") ||
			  strstr(s.src[TEL_SRC_PERF].why, "permission"), "%s",
			  s.src[TEL_SRC_PERF].why);
	}
	tel_close(t);
	tvm_destroy(&vm);
}

/* Software events go through the same libpfm4 + perf_event_open path, so the
 * counting code (groups, scaling, guest/host split) runs here without a PMU. */
Test(tel, software_events_count_through_perf_backend)
{
	const char *ev[] = { "PERF_COUNT_SW_TASK_CLOCK", "PERF_COUNT_SW_CONTEXT_SWITCHES" };
	struct tel_config c = { .counters = "perf", .events = ev, .nr_events = 2 };
	struct tel_sample s;
	struct tel *t;

	need_vm(1);
	struct tel_target tg = target();
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(tel_nr_events(t), 2);
	tel_sample(t, &s);
	util_sleep_ns(100000000);
	tel_sample(t, &s);
	cr_assert(s.src[TEL_SRC_PERF].up, "%s", s.src[TEL_SRC_PERF].why);
	cr_assert(s.vcpu[0].hw_valid && s.vcpu[0].hw_host_valid);
	cr_assert_gt(s.vcpu[0].ev_guest[0] + s.vcpu[0].ev_host[0], 0, "task clock counted nothing");
	cr_assert(s.vcpu[0].multiplex_ratio > 0 && s.vcpu[0].multiplex_ratio <= 1.0);
	tel_close(t);
	tvm_destroy(&vm);
}

Test(tel, papi_backend_reports_state)
{
	struct tel_config c = { .counters = "papi" };
	struct tel_sample s;
	struct tel *t;

	need_vm(1);
	struct tel_target tg = target();
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	tel_sample(t, &s);
	cr_assert(!s.src[TEL_SRC_PERF].up);
	if (!s.src[TEL_SRC_PAPI].up)
		cr_assert(strstr(s.src[TEL_SRC_PAPI].why, "PAPI"), "%s", s.src[TEL_SRC_PAPI].why);
	else
		cr_assert(s.vcpu[0].hw_valid);
	tel_close(t);
	tvm_destroy(&vm);
}

static bool stderr_has(const char *want)
{
	FILE *f = cr_get_redirected_stderr();
	static char buf[8192];
	size_t n;

	fflush(stderr);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	return strstr(buf, want) != NULL;
}

Test(tel, bad_configuration_fails_open_with_clear_message, .init = cr_redirect_stderr)
{
	struct tel_target tg = { .nr_vcpus = 0 };
	struct tel *t = NULL;
	const char *bad_ev[] = { "NO_SUCH_EVENT_XYZ" };
	struct tel_config c = { .counters = "fancy" };

	cr_assert_eq(tel_open_target(&c, &tg, &t), -EINVAL);
	c.counters = "perf";
	c.events = bad_ev;
	c.nr_events = 1;
	cr_assert_eq(tel_open_target(&c, &tg, &t), -EINVAL);
	c.events = NULL;
	c.nr_events = 0;
	c.nr_traces = 1;
	c.trace_paths[0] = "/nonexistent-dir/trace.jsonl";
	cr_assert_eq(tel_open_target(&c, &tg, &t), -ENOENT);
	c.trace_paths[0] = "/tmp/trace.txt";
	cr_assert_eq(tel_open_target(&c, &tg, &t), -EINVAL);
	c.nr_traces = 0;
	c.metrics_addr = "localhost:9100";
	cr_assert_eq(tel_open_target(&c, &tg, &t), -EINVAL);
	c.metrics_addr = "127.0.0.1:70000";
	cr_assert_eq(tel_open_target(&c, &tg, &t), -EINVAL);
	c.metrics_addr = "192.0.2.1:9100";   /* TEST-NET: no interface has it */
	cr_assert_eq(tel_open_target(&c, &tg, &t), -EADDRNOTAVAIL);
	cr_assert(stderr_has("unknown counters backend 'fancy'"));
}

Test(tel, port_in_use, .init = cr_redirect_stderr)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(a);
	char addr[32];
	struct tel_config c = { .counters = "none", .metrics_addr = addr };
	struct tel_target tg = { .nr_vcpus = 0 };
	struct tel *t = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(bind(fd, (void *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	getsockname(fd, (void *)&a, &sl);
	snprintf(addr, sizeof(addr), "%d", ntohs(a.sin_port));
	cr_assert_eq(tel_open_target(&c, &tg, &t), -EADDRINUSE);
	close(fd);
	char want[64];
	snprintf(want, sizeof(want), "--metrics '%s': cannot listen", addr);
	cr_assert(stderr_has(want));
}

Test(tel, parse_listen_addr)
{
	char h[64];
	int p;

	cr_assert_eq(tel_parse_listen_addr("9100", h, sizeof(h), &p), 0);
	cr_assert_str_eq(h, "127.0.0.1");
	cr_assert_eq(p, 9100);
	cr_assert_eq(tel_parse_listen_addr("0.0.0.0:80", h, sizeof(h), &p), 0);
	cr_assert_str_eq(h, "0.0.0.0");
	cr_assert_eq(tel_parse_listen_addr("[::1]:9100", h, sizeof(h), &p), 0);
	cr_assert_str_eq(h, "::1");
	cr_assert_eq(tel_parse_listen_addr(":9100", h, sizeof(h), &p), 0);
	cr_assert_str_eq(h, "127.0.0.1");
	cr_assert_eq(tel_parse_listen_addr("::1:9100", h, sizeof(h), &p), -EINVAL);
	cr_assert_eq(tel_parse_listen_addr("1.2.3.4:", h, sizeof(h), &p), -EINVAL);
	cr_assert_eq(tel_parse_listen_addr("1.2.3.4:65536", h, sizeof(h), &p), -EINVAL);
	cr_assert_eq(tel_parse_listen_addr("", h, sizeof(h), &p), -EINVAL);
	cr_assert_eq(tel_parse_listen_addr("[::1]9100", h, sizeof(h), &p), -EINVAL);
}
