/* libpapi loaded on first use (~0.5 MiB resident once relocated) and
 * initialised once. */
#include "common/papi.h"

#include <errno.h>
#include <pthread.h>

#include "common/util.h"

struct util_papi util_papi;

#define SYM(f) { "PAPI_" #f, (void **)&util_papi.f }
static const struct util_dl_sym papi_syms[] = {
	SYM(is_initialized), SYM(library_init), SYM(strerror), SYM(get_component_index),
	SYM(get_component_info), SYM(enum_cmp_event), SYM(event_code_to_name),
	SYM(event_name_to_code), SYM(create_eventset), SYM(assign_eventset_component),
	SYM(add_event), SYM(add_named_event), SYM(attach), SYM(start), SYM(read), SYM(stop),
	SYM(cleanup_eventset), SYM(destroy_eventset),
};
#undef SYM
static struct util_dl_lib papi_lib = {
	.soname = "libpapi.so.7.0", .package = "libpapi7.0",
	.syms = papi_syms, .nr_syms = UTIL_ARRAY_SIZE(papi_syms),
};
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

int util_papi_init(char *why, size_t why_len)
{
	int rc = PAPI_VER_CURRENT;

	if (util_dl_load(&papi_lib, why, why_len))
		return -ENODEV;
	pthread_mutex_lock(&init_lock);
	if (util_papi.is_initialized() == PAPI_NOT_INITED)
		rc = util_papi.library_init(PAPI_VER_CURRENT);
	pthread_mutex_unlock(&init_lock);
	if (rc != PAPI_VER_CURRENT) {
		util_fmt(why, why_len, "PAPI_library_init failed: %s",
			 rc > 0 ? "header/library version mismatch" : util_papi.strerror(rc));
		return -ENODEV;
	}
	return 0;
}
