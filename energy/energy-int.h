/* energy: private to the module (not a public header). */
#ifndef AVMM_ENERGY_INT_H
#define AVMM_ENERGY_INT_H

#include "energy/energy.h"

struct energy_zone {
	struct energy_zone_reading r;
	char dir[96];          /* powercap: "/sys/class/powercap/intel-rapl:0" */
	char ctl[24];          /* control type: "intel-rapl", "intel-rapl-mmio", "perf" */
	double max_power_w;    /* from constraint_0_max_power_uw, 0 = unknown */
	bool have_prev;
	uint64_t prev_raw_uj;
	uint64_t last_delta_uj;
	bool delta_valid;      /* last_delta_uj is this tick's */
	int fd;                /* perf */
	double uj_per_count;   /* perf */
	int papi_idx;          /* PAPI: index of the value in the event set */
};

struct energy_meas {
	enum energy_backend kind;
	bool up;
	char why[ENERGY_WHY_LEN];
	char source[96];
	int nr;
	struct energy_zone z[ENERGY_MAX_ZONES];
	int papi_set;          /* PAPI event set, -1 none */
	int papi_nvals;
	long long papi_vals[ENERGY_MAX_ZONES];
};

struct energy_src {
	char fsroot[256];
	struct energy_opts o;
	const struct energy_ops *ops;
	struct energy_meas prim, cross;
	bool use_cross;
	bool estimate;
	char est_why[ENERGY_WHY_LEN];
	char est_source[96];      /* the model's label, formatted once */
	bool have_t;
	uint64_t last_t_ns;
	uint64_t total_uj;
	double est_uj_frac;
	bool have_stat;
	uint64_t prev_busy_ns, prev_total_ns;
	double last_busy_cores;
	int nr_cores;
};

/* Each measured backend: open fills m (m->up=false with why when absent);
 * sample reads every zone once and calls energy_zone_update(). */
int energy_powercap_open(struct energy_src *s, struct energy_meas *m);
void energy_powercap_sample(struct energy_src *s, struct energy_meas *m);
int energy_perf_open(struct energy_src *s, struct energy_meas *m);
void energy_perf_sample(struct energy_src *s, struct energy_meas *m);
void energy_perf_close(struct energy_src *s, struct energy_meas *m);
int energy_papi_open(struct energy_src *s, struct energy_meas *m);
void energy_papi_sample(struct energy_src *s, struct energy_meas *m);
void energy_papi_close(struct energy_src *s, struct energy_meas *m);

/* Feeds one raw value (rc < 0: the read failed with that errno; what: the
 * file or event for messages) into the zone's wrap, cumulative and up state. */
void energy_zone_update(struct energy_zone *z, int rc, uint64_t raw_uj, const char *what,
			const char *content);
/* Fills r from the model over dt (busy_cores < 0: from <fsroot>/proc/stat). */
void energy_read_estimate(struct energy_src *s, uint64_t dt, double busy_cores,
			  struct energy_reading *r);
/* Marks which zones make up the total: package-N of intel-rapl, else psys,
 * else every top-level zone. */
void energy_pick_counted(struct energy_meas *m);

#endif
