/* libFuzzer harness: the goal-profile parser on arbitrary bytes. Includes
 * resolve against policies/profiles (run from the source tree). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policies/pol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *dirs[] = { "policies/profiles" };
	static struct pol_profile p;
	static char out[16384];
	char err[2048];

	if (pol_parse_buffer((const char *)data, size, "fuzz.ini", dirs, 1, &p, err, sizeof(err)) == 0)
		pol_format(&p, out, sizeof(out));
	return 0;
}
