/*
 * adapt internal: placements that need no measurement. A profile whose
 * coremap strategy is fixed (pack, spread, explicit: coremap_plan reads no
 * samples for them) is applied at once: when the VM starts, before its first
 * guest instruction, and at the tick that switches such a profile in, never
 * through confirm ticks. Each is a coremap decision ("initial placement",
 * "placement") in the log, the traces, /metrics and the dashboard timeline;
 * the loop's state then holds that map, so adapt_step does not decide it
 * again.
 *
 * Threading: adapt_place_fixed is pure; adapt_driver_place runs on the
 * loop thread, or on the caller's before adapt_driver_start. Errors: 0 or
 * a negative errno, with the reason logged.
 */
#ifndef AVMM_ADAPT_PLACE_H
#define AVMM_ADAPT_PLACE_H

#include "adapt/adapt.h"
#include "coremap/coremap.h"

struct adapt_session;

/* Coremap enabled with a strategy other than adaptive. */
bool adapt_place_is_fixed(const struct pol_profile *g);

/*
 * The profile's fixed map for nr_vcpus vCPUs at t_ns. Returns 1 with a
 * decision in *d (what starts with label) and the state updated as for an
 * applied change (current map, dwell from t_ns, no confirmation pending, no
 * measurement: the operator's placement is not reverted); 0 when there is
 * nothing to do (not fixed, no topology, the map is already in place), or a
 * negative errno when coremap_plan refuses the profile's map; `note` says
 * why in the last two cases.
 */
int adapt_place_fixed(const struct pol_profile *g, const struct adapt_env *env,
		      struct adapt_state *st, int nr_vcpus, uint64_t t_ns, const char *label,
		      struct adapt_decision *d, char *note, size_t note_len);

/* adapt_place_fixed on the driver's profile, state and environment (running
 * its warm-up first when the loop has not yet), then actuated, logged and
 * published like any decision. Returns 1 when a decision was made (applied
 * or, with dry_run, only logged), 0 or -errno as adapt_place_fixed. */
int adapt_driver_place(struct adapt_driver *d, int nr_vcpus, uint64_t t_ns, const char *label);

/* The session's vmm_start: with a fixed-strategy profile and a control
 * loop, the vCPU threads are held before their first KVM_RUN, placed, then
 * released; otherwise plain vmm_start. */
int adapt_session_start_vm(struct adapt_session *s);

/* What coremap_plan gets from a profile (propose_coremap.c). */
void adapt_cm_goal(const struct pol_profile *g, const struct adapt_env *env,
		   struct coremap_goal *cg, enum coremap_strategy *strategy);

#endif
