/*
 * common: libpapi, loaded on first use and initialised once for every module
 * that uses it (energy's powercap component, telemetry's counters), so that
 * PAPI_library_init runs under one lock whichever module comes first.
 * util_papi_init(): 0 with util_papi filled, or -ENODEV with the reason in
 * why (the Debian package when the library is missing). Thread-safe.
 */
#ifndef AVMM_COMMON_PAPI_H
#define AVMM_COMMON_PAPI_H

#include <papi.h>
#include <stddef.h>

struct util_papi {
	__typeof__(&PAPI_is_initialized) is_initialized;
	__typeof__(&PAPI_library_init) library_init;
	__typeof__(&PAPI_strerror) strerror;
	__typeof__(&PAPI_get_component_index) get_component_index;
	__typeof__(&PAPI_get_component_info) get_component_info;
	__typeof__(&PAPI_enum_cmp_event) enum_cmp_event;
	__typeof__(&PAPI_event_code_to_name) event_code_to_name;
	__typeof__(&PAPI_event_name_to_code) event_name_to_code;
	__typeof__(&PAPI_create_eventset) create_eventset;
	__typeof__(&PAPI_assign_eventset_component) assign_eventset_component;
	__typeof__(&PAPI_add_event) add_event;
	__typeof__(&PAPI_add_named_event) add_named_event;
	__typeof__(&PAPI_attach) attach;
	__typeof__(&PAPI_start) start;
	__typeof__(&PAPI_read) read;
	__typeof__(&PAPI_stop) stop;
	__typeof__(&PAPI_cleanup_eventset) cleanup_eventset;
	__typeof__(&PAPI_destroy_eventset) destroy_eventset;
};
extern struct util_papi util_papi;

int util_papi_init(char *why, size_t why_len);

#endif
