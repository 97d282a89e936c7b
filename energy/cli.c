/* energy: `avmm energy` -- zones, energy and power; hold a power cap. */
#include "energy/energy.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hoststate.h"
#include "common/util.h"

/* Set by SIGINT/SIGTERM while the CLI runs (the only global here). */
static volatile sig_atomic_t cli_stop;

static void on_signal(int sig)
{
	cli_stop = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: avmm energy [options]\n"
"  Lists the RAPL zones and prints energy and power over each interval.\n"
"  --fsroot DIR        read sysfs/procfs under DIR instead of / (fake trees)\n"
"  --interval S        seconds between readings (default 1; capped at half the\n"
"                      shortest counter wrap time)\n"
"  --count N           readings to print after the baseline (default 1)\n"
"  --backend B         auto|powercap|perf|papi|estimate (default auto)\n"
"  --cross B           also read perf or papi and print the difference\n"
"  --estimate I,C      when nothing measured is available, estimate with\n"
"                      I watts idle + C watts per busy core, labelled ESTIMATED\n"
"                      (default: the goal profile's [energy] model, as avmm run)\n"
"  --profile NAME|FILE the goal profile whose estimate model applies (default:\n"
"                      the machine's, /etc/avmm/profile or $AVMM_PROFILE_FILE)\n"
"  --cap W             set a node power cap of W watts (split evenly across\n"
"                      packages, clamped into each constraint's min/max), hold\n"
"                      it, then restore the original limits and exit 0\n"
"  --window US         time window for the cap, microseconds (default: keep)\n"
"  --duration S        how long to hold the cap (default: until SIGINT/SIGTERM)\n"
"  --help              this text\n"
"Reading energy_uj needs root on Linux >= 5.10; setting a cap needs root.\n");
}

struct cli_args {
	struct energy_opts o;
	double interval_s, cap_w, duration_s;
	long count;
	uint64_t window_us;
};

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "avmm energy: %s '%s': %s (see avmm energy --help)\n", opt, val, want);
	return 2;
}

static int parse_args(int argc, char **argv, struct cli_args *a)
{
	static const struct option lo[] = {
		{ "fsroot", 1, 0, 'r' }, { "interval", 1, 0, 'i' }, { "count", 1, 0, 'n' },
		{ "backend", 1, 0, 'b' }, { "cross", 1, 0, 'x' }, { "estimate", 1, 0, 'e' },
		{ "cap", 1, 0, 'c' }, { "window", 1, 0, 'w' }, { "duration", 1, 0, 'd' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	char *end;
	int ch;

	memset(a, 0, sizeof(*a));
	a->interval_s = 1;
	a->count = 1;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': a->o.fsroot = optarg; break;
		case 'i':
			a->interval_s = strtod(optarg, &end);
			if (*end || !(a->interval_s >= 0.001 && a->interval_s <= 86400))
				return bad("--interval", optarg, "seconds between 0.001 and 86400");
			break;
		case 'n':
			if (util_parse_int(optarg, 1, 1000000, &a->count))
				return bad("--count", optarg, "a whole number from 1");
			break;
		case 'b':
			if (energy_backend_parse(optarg, &a->o.backend) || a->o.backend == ENERGY_NONE)
				return bad("--backend", optarg, "one of auto, powercap, perf, papi, estimate");
			break;
		case 'x':
			if (energy_backend_parse(optarg, &a->o.cross) ||
			    (a->o.cross != ENERGY_PERF && a->o.cross != ENERGY_PAPI))
				return bad("--cross", optarg, "perf or papi");
			break;
		case 'e':
			if (sscanf(optarg, "%lf,%lf%c", &a->o.model.idle_w, &a->o.model.w_per_busy_core,
				   &(char){ 0 }) != 2 || !(a->o.model.idle_w >= 0) ||
			    !(a->o.model.w_per_busy_core >= 0) ||
			    a->o.model.idle_w + a->o.model.w_per_busy_core <= 0)
				return bad("--estimate", optarg, "IDLE_W,W_PER_BUSY_CORE, e.g. 40,12");
			a->o.fallback_estimate = true;
			break;
		case 'c':
			a->cap_w = strtod(optarg, &end);
			if (*end || !(a->cap_w > 0 && a->cap_w < 1e6))
				return bad("--cap", optarg, "a positive number of watts");
			break;
		case 'w':
			if (util_parse_u64(optarg, &a->window_us) || !a->window_us)
				return bad("--window", optarg, "a positive number of microseconds");
			break;
		case 'd':
			a->duration_s = strtod(optarg, &end);
			if (*end || !(a->duration_s > 0))
				return bad("--duration", optarg, "a positive number of seconds");
			break;
		case 'h': usage(stdout); return -1;
		default:
			fprintf(stderr, "avmm energy: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return bad("argument", argv[optind], "no positional arguments are taken");
	if (a->o.backend == ENERGY_ESTIMATE && !a->o.fallback_estimate)
		return bad("--backend", "estimate", "needs --estimate IDLE_W,W_PER_BUSY_CORE");
	if ((a->window_us || a->duration_s) && !a->cap_w)
		return bad(a->window_us ? "--window" : "--duration", "", "only with --cap W");
	return 0;
}

static void print_reading(const struct energy_reading *r)
{
	const char *tag = r->estimated ? " ESTIMATED" : "";

	if (!r->up) {
		printf("energy: %s\n", r->why);
		return;
	}
	if (r->power_valid)
		printf("%8.3f s  total %9.3f W  %12.6f J%s  [%s]\n", (double)r->dt_ns / 1e9,
		       r->power_w, (double)r->energy_uj / 1e6, tag, r->source);
	else
		printf("%8.3f s  total   (no power this interval)  %12.6f J%s  [%s]\n",
		       (double)r->dt_ns / 1e9, (double)r->energy_uj / 1e6, tag, r->source);
	for (int i = 0; i < r->nr_zones; i++) {
		const struct energy_zone_reading *z = &r->zone[i];

		if (z->up && z->power_valid)
			printf("  %-24s %-10s %9.3f W  %12.6f J%s\n", z->id, z->name, z->power_w,
			       (double)z->energy_uj / 1e6, tag);
		else
			printf("  %-24s %-10s unavailable: %s\n", z->id, z->name,
			       z->why[0] ? z->why : "no interval yet");
	}
	if (r->note[0])
		printf("  note: %s\n", r->note);
	if (r->cross_valid)
		printf("  cross-check %s: %.3f W (%+.1f%%)\n", r->cross_source, r->cross_power_w,
		       r->cross_diff_pct);
	else if (r->cross_why[0])
		printf("  cross-check %s: %s\n", r->cross_source, r->cross_why);
	fflush(stdout);
}

/* Sleeps up to s seconds; returns early on SIGINT/SIGTERM. */
static void nap(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - floor(s)) * 1e9) };

	while (!cli_stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int monitor(struct cli_args *a, struct energy_src *src, long count, double until_s)
{
	struct energy_reading *r = malloc(sizeof(*r));
	uint64_t t0 = util_now_ns();
	int rc = 0;

	if (!r)
		return 1;
	energy_read(src, util_now_ns(), -1, r);
	if (!r->up) {
		print_reading(r);
		while (a->cap_w && !cli_stop) {     /* hold the cap without readings */
			double left = until_s > 0 ? until_s - (double)(util_now_ns() - t0) / 1e9 : 1;

			if (left <= 0)
				break;
			nap(UTIL_MIN(1.0, left));
		}
		if (!a->cap_w) {
			fprintf(stderr, "avmm energy: no measured energy source%s\n",
				a->o.fallback_estimate ? "" : "; --estimate IDLE_W,W_PER_CORE gives a "
				"labelled estimate");
			rc = 1;
		}
		goto out;
	}
	if (r->max_interval_ns && a->interval_s * 1e9 > (double)r->max_interval_ns) {
		util_warn("--interval %.3f s is longer than half the shortest wrap time; using "
			  "%.3f s", a->interval_s, (double)r->max_interval_ns / 1e9);
		a->interval_s = (double)r->max_interval_ns / 1e9;
	}
	for (long i = 0; !cli_stop && (count <= 0 || i < count); i++) {
		double left = until_s > 0 ? until_s - (double)(util_now_ns() - t0) / 1e9 : 1e18;

		if (left <= 0)
			break;
		nap(UTIL_MIN(a->interval_s, left));
		energy_read(src, util_now_ns(), -1, r);
		print_reading(r);
	}
out:
	free(r);
	return rc;
}

static int hold_cap(struct cli_args *a, struct energy_src *src)
{
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup, old_quit;
	struct energy_cap *cap = calloc(1, sizeof(*cap));
	char msg[512] = "";
	int rc, ret = 0;
	struct util_state *state = NULL;

	if (!cap)
		return 1;
	rc = energy_cap_open(cap, a->o.fsroot, a->o.ops, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "avmm energy: cannot cap power: %s\n", msg);
		free(cap);
		return 1;
	}
	/* originals journaled first, so a killed `avmm energy --cap` is repaired */
	util_state_repair(util_run_dir(), NULL, 0);
	if (util_state_open(util_run_dir(), "energy-cap", &state))
		fprintf(stderr, "avmm energy: no state file under %s: if this process is "
			"killed, put the limits back by hand\n", util_run_dir());
	cap->state = state;
	cli_stop = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	sigaction(SIGQUIT, &sa, &old_quit);
	rc = energy_cap_set(cap, a->cap_w, a->window_us, msg, sizeof(msg));
	if (rc < 0) {
		fprintf(stderr, "avmm energy: cannot cap power: %s\n", msg);
		ret = 1;
		goto out;
	}
	printf("cap: %.3f W over %d package zone%s%s%s; holding %s\n", cap->cap_w,
	       cap->nr_targets, cap->nr_targets > 1 ? "s" : "", rc ? " (clamped: " : "",
	       rc ? "see warning)" : "", a->duration_s ? "for the duration" :
	       "until SIGINT/SIGTERM/SIGHUP/SIGQUIT");
	fflush(stdout);
	monitor(a, src, 0, a->duration_s);
out:
	rc = energy_cap_restore(cap, msg, sizeof(msg));
	if (rc) {
		fprintf(stderr, "avmm energy: restoring the original limits failed: %s\n", msg);
		ret = 1;
	} else {
		util_state_clear(state);
		if (ret == 0) {
			printf("cap: original limits restored%s\n", cli_stop ? " (signal)" : "");
			fflush(stdout);
		}
	}
	util_state_close(state);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	free(cap);
	return ret;
}

int energy_cli_main(int argc, char **argv)
{
	struct cli_args a;
	struct energy_src *src = NULL;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	rc = energy_open(&a.o, &src);
	if (rc) {
		fprintf(stderr, "avmm energy: cannot open the energy source: %s\n", strerror(-rc));
		return 1;
	}
	energy_describe(src, stdout);
	rc = a.cap_w ? hold_cap(&a, src) : monitor(&a, src, a.count, 0);
	energy_close(src);
	return rc;
}
