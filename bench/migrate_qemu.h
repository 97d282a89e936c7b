/* bench/migrate, the QEMU side (header-only, static): two
 * qemu-system-x86_64 processes on 127.0.0.1, the target with -incoming, both
 * with a QMP socket; `migrate` on the source's, `query-migrate` polled until
 * the migration completes or fails. */
#ifndef AVMM_BENCH_MIGRATE_QEMU_H
#define AVMM_BENCH_MIGRATE_QEMU_H

#include "bench/migrate_fig.h"
#include "bench/migrate_proc.h"
#include "bench/qmp.h"

/* argv for one QEMU (incoming: NULL on the source). Strings live in s. */
struct mb_qargv {
	char *v[40];
	char append[600], serial[256], qmp[256], incoming[64];
};

static inline void mb_qemu_argv(struct mb_qargv *a, const struct mb_cfg *c, const char *dir,
				const char *elf, const char *cmdline, const char *side,
				unsigned port)
{
	int n = 0;

	snprintf(a->append, sizeof(a->append), "%s", cmdline);
	snprintf(a->serial, sizeof(a->serial), "file:%s/q-%s.serial", dir, side);
	snprintf(a->qmp, sizeof(a->qmp), "unix:%s/q-%s.qmp,server=on,wait=off", dir, side);
	a->v[n++] = (char *)mb_qemu();
	a->v[n++] = "-enable-kvm";
	a->v[n++] = "-nodefaults";
	a->v[n++] = "-display";
	a->v[n++] = "none";
	a->v[n++] = "-no-reboot";
	a->v[n++] = "-m";
	a->v[n++] = (char *)c->mem;
	a->v[n++] = "-smp";
	a->v[n++] = (char *)c->vcpus;
	a->v[n++] = "-device";
	a->v[n++] = "isa-debug-exit,iobase=0xf4,iosize=0x04";
	a->v[n++] = "-kernel";
	a->v[n++] = (char *)elf;
	a->v[n++] = "-append";
	a->v[n++] = a->append;
	a->v[n++] = "-serial";
	a->v[n++] = a->serial;
	a->v[n++] = "-qmp";
	a->v[n++] = a->qmp;
	if (port) {
		snprintf(a->incoming, sizeof(a->incoming), "tcp:127.0.0.1:%u", port);
		a->v[n++] = "-incoming";
		a->v[n++] = a->incoming;
	}
	a->v[n] = NULL;
}

static inline uint64_t mb_ju(json_t *o, const char *k)
{
	return (uint64_t)json_integer_value(json_object_get(o, k));
}

/* Starts the migration on src and polls it to its end: 0 when completed. */
static inline int mb_qemu_migrate(struct qmp *src, const struct mb_cfg *c, unsigned port,
				  uint64_t max_bw, struct mb_fig *f, char *why, size_t len)
{
	char cmd[256];
	json_t *r = NULL, *ram;
	const char *state = "";
	int rc;

	static int shown;
	json_t *before = NULL, *after = NULL;

	snprintf(cmd, sizeof(cmd), "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
		 "{\"downtime-limit\":%llu,\"max-bandwidth\":%llu}}\n",
		 (unsigned long long)c->downtime_ms, (unsigned long long)max_bw);
	rc = qmp_cmd(src, "{\"execute\":\"query-migrate-parameters\"}\n", &before, why, len);
	if (!rc)
		rc = qmp_cmd(src, cmd, NULL, why, len);
	if (!rc)
		rc = qmp_cmd(src, "{\"execute\":\"query-migrate-parameters\"}\n", &after, why, len);
	if (!rc && !shown++)   /* the settings used, as QEMU reads them back */
		printf("qemu: downtime-limit %llu ms, max-bandwidth %llu B/s (its defaults: %llu ms, "
		       "%llu B/s)\n", (unsigned long long)mb_ju(after, "downtime-limit"),
		       (unsigned long long)mb_ju(after, "max-bandwidth"),
		       (unsigned long long)mb_ju(before, "downtime-limit"),
		       (unsigned long long)mb_ju(before, "max-bandwidth"));
	json_decref(before);
	json_decref(after);
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"migrate\",\"arguments\":{\"uri\":"
		 "\"tcp:127.0.0.1:%u\"}}\n", port);
	if (!rc)
		rc = qmp_cmd(src, cmd, NULL, why, len);
	for (int i = 0; !rc && i < c->timeout_s * 200; i++) {
		json_decref(r);
		r = NULL;
		rc = qmp_cmd(src, "{\"execute\":\"query-migrate\"}\n", &r, why, len);
		state = rc ? "" : json_string_value(json_object_get(r, "status"));
		if (!state || !strcmp(state, "completed") || !strcmp(state, "failed") ||
		    !strcmp(state, "cancelled"))
			break;
		usleep(5000);
	}
	if (!rc && (!state || strcmp(state, "completed"))) {
		snprintf(why, len, "QEMU's migration ended %s: %.200s", state ? state : "(no status)",
			 json_string_value(json_object_get(r, "error-desc")) ?: "");
		rc = -EIO;
	}
	if (!rc) {
		ram = json_object_get(r, "ram");
		f->total_ms = (double)mb_ju(r, "total-time");
		f->downtime_ms = (double)mb_ju(r, "downtime");
		f->rounds = (int)mb_ju(ram, "dirty-sync-count");
		f->bytes = mb_ju(ram, "transferred");
		f->ram_total = mb_ju(ram, "total");
	}
	json_decref(r);
	return rc;
}

/* Polls the target's query-status until it runs: ms after the call, or -1. */
static inline double mb_qemu_target_runs(struct qmp *tgt, int timeout_ms)
{
	double t0 = mb_now_ms();
	char why[256];
	json_t *r;
	int yes;

	while (mb_now_ms() - t0 < timeout_ms) {
		if (qmp_cmd(tgt, "{\"execute\":\"query-status\"}\n", &r, why, sizeof(why)))
			return -1;
		yes = json_is_true(json_object_get(r, "running"));
		json_decref(r);
		if (yes)
			return mb_now_ms() - t0;
		usleep(1000);
	}
	return -1;
}

static inline int mb_run_qemu(const struct mb_cfg *c, const char *dir, const char *elf,
			      const char *cmdline, uint64_t max_bw, int rep,
			      struct mb_fig *f)
{
	struct mb_qargv ta, sa;
	struct qmp src = { .fd = -1 }, tgt = { .fd = -1 };
	char tout[256], sout[256], qpath[256], why[512] = "";
	double resume_ms;
	unsigned port = mp_free_port();
	pid_t tp, sp = -1;
	int st = 0, rc = -1;

	mb_qemu_argv(&ta, c, dir, elf, cmdline, "tgt", port);
	mb_qemu_argv(&sa, c, dir, elf, cmdline, "src", 0);
	snprintf(tout, sizeof(tout), "%s/q-tgt.serial", dir);
	snprintf(sout, sizeof(sout), "%s/q-src.serial", dir);
	unlink(tout);
	unlink(sout);
	snprintf(why, sizeof(why), "%s/q-tgt.txt", dir);
	tp = mp_spawn(ta.v, why);
	if (mp_wait_listening(port, tp, 30000, &st)) {
		snprintf(why, sizeof(why), "the QEMU target is not listening on %s (status %d)",
			 ta.incoming, st);
		goto out;
	}
	snprintf(qpath, sizeof(qpath), "%s/q-tgt.qmp", dir);
	why[0] = '\0';
	if (qmp_open(&tgt, qpath, why, sizeof(why)))
		goto out;
	snprintf(qpath, sizeof(qpath), "%s/q-src.qmp", dir);
	snprintf(why, sizeof(why), "%s/q-src.txt", dir);
	sp = mp_spawn(sa.v, why);
	why[0] = '\0';
	if (qmp_open(&src, qpath, why, sizeof(why)))
		goto out;
	if (mb_wait_trigger(sout, sp, c, f, why, sizeof(why)))
		goto out;
	if (mb_qemu_migrate(&src, c, port, max_bw, f, why, sizeof(why)))
		goto out;
	resume_ms = mb_qemu_target_runs(&tgt, 10000);
	qmp_close(&tgt);
	qmp_cmd(&src, "{\"execute\":\"quit\"}\n", NULL, why, sizeof(why));
	why[0] = '\0';
	f->source_status = mp_wait_exit(sp, 30000);
	sp = -1;
	f->target_status = mp_wait_exit(tp, c->timeout_s * 1000);
	tp = -1;
	rc = mb_check_guests(f, tout, sout);
	f->done = !rc;
	printf("run %d qemu: total %.0f ms, downtime %.0f ms, %d dirty syncs, %llu bytes "
	       "transferred (ram.total %llu: guest RAM and ROMs); target running %.1f ms after "
	       "\"completed\" was read; guest pass %.0f ms; source status %d, target status %d, "
	       "guest ok=%d\n", rep, f->total_ms, f->downtime_ms, f->rounds,
	       (unsigned long long)f->bytes, (unsigned long long)f->ram_total, resume_ms,
	       f->pass_ms, f->source_status, f->target_status, f->target_ok);
out:
	if (why[0]) {
		fprintf(stderr, "migrate: run %d qemu: %s\n", rep, why);
		snprintf(why, sizeof(why), "%s/q-tgt.txt", dir);
		mb_show_tail("the target's output", why);
		snprintf(why, sizeof(why), "%s/q-src.txt", dir);
		mb_show_tail("the source's output", why);
	}
	qmp_close(&src);
	qmp_close(&tgt);
	if (sp > 0)
		mp_wait_exit(sp, 0);
	if (tp > 0)
		mp_wait_exit(tp, 0);
	return rc;
}

#endif
