/*
 * Live migration, avmm vs QEMU, in one run: the memwrite guest (rewriting
 * `bytes=` of its RAM pass after pass, verifying every word at the end) runs
 * on a source, is migrated over TCP on 127.0.0.1 once it prints the start of
 * pass -w, and must finish with ok=1 and status 0 on the target:
 *   avmm - `avmm run --incoming tcp:...` + `avmm run`, then `avmm ctl --json
 *          migrate` (its total_ns, downtime_ns, rounds, bytes)
 *   qemu - two qemu-system-x86_64 (-incoming on the target), QMP `migrate`,
 *          `query-migrate` polled until completed (total-time, downtime,
 *          ram.transferred), with downtime-limit = avmm's [migration]
 *          downtime_ms and max-bandwidth raised out of the way.
 * The two alternate, -n times each; per-run figures, medians, and last line
 * avmm_total_ms=… avmm_downtime_ms=… qemu_total_ms=… qemu_downtime_ms=…
 * total_ratio=… downtime_ratio=… (avmm / QEMU; target <= 1).
 * usage: migrate [-n REPS] [-m MEM] [-s VCPUS] [-c CMDLINE] [-w PASS] [-P PROFILE] [-t SECS]
 */
#include <math.h>

#include "bench/bench_util.h"
#include "bench/migrate_qemu.h"
#include "policies/pol.h"
#include "vmm-core/vmm.h"

#define QEMU_MAX_BW 107374182400ull   /* 100 GiB/s: no cap on loopback */

static struct mb_cfg cfg = { 5, "64M", "1", "bytes=32M stride=4096 passes=12", 2, "balanced",
			     120, 0 };

/* What both runs share: the guest's command line and the trigger line. */
static char cmdline[512], trigger[64], elf[512], avmm[512], dir[64];
/* The avmm run's files in dir: control sockets and outputs. */
static char tsock[128], ssock[128], tout[128], sout[128];

static int run_avmm(int rep, struct mb_fig *f)
{
	unsigned port = mp_free_port();
	char addr[64], out[8192], why[256], *j;
	char *tgt_argv[] = { avmm, "run", "--no-agent", "--profile", (char *)cfg.profile, "--mem",
			     (char *)cfg.mem, "--vcpus", (char *)cfg.vcpus, "--socket",
			     tsock, "--incoming", addr, elf, "--cmdline", cmdline,
			     NULL };
	char *src_argv[] = { avmm, "run", "--no-agent", "--profile", (char *)cfg.profile, "--mem",
			     (char *)cfg.mem, "--vcpus", (char *)cfg.vcpus, "--socket",
			     ssock, elf, "--cmdline", cmdline, NULL };
	char *ctl_argv[] = { avmm, "ctl", "--socket", ssock, "--json", "migrate",
			     addr, NULL };
	pid_t tp, sp = -1;
	json_t *a = NULL;
	int st = 0, rc = -1;

	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%u", port);
	tp = mp_spawn(tgt_argv, tout);
	if (mp_wait_listening(port, tp, 10000, &st)) {
		fprintf(stderr, "migrate: avmm target not listening on %s (status %d)\n", addr, st);
		mb_show_tail("its output", tout);
		goto out;
	}
	sp = mp_spawn(src_argv, sout);
	for (int i = 0; i < 200 && vmm_ctl_call(ssock, NULL, NULL); i++)
		usleep(10000);   /* the control socket comes up beside the guest */
	if (mb_wait_trigger(sout, sp, &cfg, f, why, sizeof(why))) {
		fprintf(stderr, "migrate: run %d avmm: %s\n", rep, why);
		mb_show_tail("its output", sout);
		goto out;
	}
	st = bench_exec(ctl_argv, out, sizeof(out));
	j = strchr(out, '{');
	a = j ? json_loads(j, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	if (st || !a || !json_is_true(json_object_get(a, "ok"))) {
		fprintf(stderr, "migrate: avmm ctl migrate failed (status %d): %.400s\n", st, out);
		mb_show_tail("the source's output", sout);
		mb_show_tail("the target's output", tout);
		goto out;
	}
	f->total_ms = json_integer_value(json_object_get(a, "total_ns")) / 1e6;
	f->downtime_ms = json_integer_value(json_object_get(a, "downtime_ns")) / 1e6;
	f->rounds = (int)json_integer_value(json_object_get(a, "rounds"));
	f->bytes = (uint64_t)json_integer_value(json_object_get(a, "bytes"));
	f->source_status = mp_wait_exit(sp, 30000);
	sp = -1;
	f->target_status = mp_wait_exit(tp, cfg.timeout_s * 1000);
	tp = -1;
	rc = mb_check_guests(f, tout, sout);
	if (f->source_status)
		rc = -1, fprintf(stderr, "migrate: the avmm source exited %d, not 0\n",
				 f->source_status);
	f->done = !rc;
	printf("run %d avmm: total %.1f ms, downtime %.1f ms (and %.1f ms paused during pre-copy "
	       "for the dirty log), %d pre-copy rounds, %llu bytes (%lld pages, %lld in the stop "
	       "and copy); guest pass %.0f ms; source status %d, target status %d, guest ok=%d\n",
	       rep, f->total_ms, f->downtime_ms,
	       json_integer_value(json_object_get(a, "precopy_pause_ns")) / 1e6, f->rounds,
	       (unsigned long long)f->bytes, json_integer_value(json_object_get(a, "pages")),
	       json_integer_value(json_object_get(a, "last_pages")), f->pass_ms, f->source_status,
	       f->target_status, f->target_ok);
out:
	json_decref(a);
	if (sp > 0)
		mp_wait_exit(sp, 0);
	if (tp > 0)
		mp_wait_exit(tp, 0);
	return rc;
}

int main(int argc, char **argv)
{
	struct mb_fig a[MB_MAX_REPS] = { 0 }, q[MB_MAX_REPS] = { 0 };
	struct pol_profile prof;
	const char *dirs[POL_MAX_DIRS];
	char storage[POL_MAX_DIRS][POL_PATH_MAX], err[512];
	int i, bad = 0, nd;

	if (mb_parse_args(argc, argv, &cfg))
		return 2;
	nd = pol_default_dirs(dirs, storage);
	if (pol_load(cfg.profile, dirs, nd, &prof, err, sizeof(err))) {
		fprintf(stderr, "migrate: profile %s: %s\n", cfg.profile, err);
		return 2;
	}
	snprintf(elf, sizeof(elf), "%s/guests/memwrite.elf", bench_build());
	snprintf(avmm, sizeof(avmm), "%s/avmm", bench_build());
	if (mb_check_host(avmm, elf, mb_qemu()))
		return 2;
	snprintf(cmdline, sizeof(cmdline), "%s progress=1", cfg.cmdline);
	snprintf(trigger, sizeof(trigger), "memwrite: pass %d of", cfg.wait_pass);
	snprintf(dir, sizeof(dir), "/tmp/avmm-migbench-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("migrate: mkdtemp");
		return 2;
	}
	setenv("AVMM_RUN_DIR", dir, 1);
	snprintf(tsock, sizeof(tsock), "%s/t.sock", dir);
	snprintf(ssock, sizeof(ssock), "%s/s.sock", dir);
	snprintf(tout, sizeof(tout), "%s/a-tgt.txt", dir);
	snprintf(sout, sizeof(sout), "%s/a-src.txt", dir);
	cfg.downtime_ms = prof.migration.downtime_ns / 1000000;
	printf("guest: memwrite \"%s\", --mem %s, %s vCPU(s); migrated over TCP on 127.0.0.1 once "
	       "it prints \"%s\" (after SeaBIOS under QEMU); %d runs each, alternating\n",
	       cmdline, cfg.mem, cfg.vcpus, trigger, cfg.reps);
	printf("avmm: profile %s, [migration] downtime_ms %llu, max_rounds %d\n", cfg.profile,
	       (unsigned long long)cfg.downtime_ms, prof.migration.max_rounds);
	printf("qemu: %s -nodefaults (no VGA, no NIC); downtime-limit %llu ms (avmm's budget), "
	       "max-bandwidth %llu B/s (out of the way); every migration capability left off (no "
	       "xbzrle, multifd, auto-converge, postcopy)\n", mb_qemu(),
	       (unsigned long long)cfg.downtime_ms, QEMU_MAX_BW);
	fflush(stdout);
	for (i = 0; i < cfg.reps; i++) {
		bad |= run_avmm(i + 1, &a[i]) != 0;
		bad |= mb_run_qemu(&cfg, dir, elf, cmdline, QEMU_MAX_BW, i + 1, &q[i]) != 0;
		fflush(stdout);
	}
	mb_report(a, q, cfg.reps);
	mb_rmdir(dir);
	if (bad)
		fprintf(stderr, "migrate: some runs failed (above): their figures are left out\n");
	return bad;
}
