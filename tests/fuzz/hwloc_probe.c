/* Helper of fuzz_topo (built without sanitizers): loads the hwloc XML
 * topology given on stdin the way coremap does, and exits 0 when hwloc
 * survives it. A crash or hang (alarm) here means an hwloc bug, so
 * fuzz_topo skips that input; so it does with exit status 1, for inputs
 * that take hwloc more than 128 MB (a PU without an OS index: 600 MB). */
#include <hwloc.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	hwloc_topology_t hw;
	struct rusage ru;
	ssize_t n;

	alarm(2);
	while (buf && (n = read(0, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (!buf)
		return 2;
	buf[len] = 0;
	if (hwloc_topology_init(&hw) < 0)
		return 2;
	hwloc_topology_set_flags(hw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
	if (hwloc_topology_set_xmlbuffer(hw, buf, (int)len + 1) == 0)
		hwloc_topology_load(hw);
	hwloc_topology_destroy(hw);
	return getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss > 128 * 1024 ? 1 : 0;
}
