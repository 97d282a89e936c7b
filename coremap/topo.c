/* coremap topology: hwloc (live, synthetic or XML) flattened to one record per PU. */
#include "coremap/plan_int.h"

#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

struct coremap_topo {
	hwloc_topology_t hw;
	char source[320];
	int nr_pus, nr_cores, nr_packages, nr_numa, nr_l3;
	struct coremap_pu *pu;
	struct cm_pre pre; /* what plans need that depends on the topology alone */
};

static bool is_xml_source(const char *src)
{
	size_t n = strlen(src);

	if (n > 4 && strcmp(src + n - 4, ".xml") == 0)
		return true;
	return access(src, R_OK) == 0;
}

static int ancestor_index(hwloc_topology_t hw, hwloc_obj_type_t type, hwloc_obj_t pu)
{
	hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(hw, type, pu);

	return a ? (int)a->logical_index : -1;
}

static int numa_of(hwloc_topology_t hw, hwloc_obj_t pu)
{
	hwloc_obj_t node = NULL;

	while ((node = hwloc_get_next_obj_by_type(hw, HWLOC_OBJ_NUMANODE, node)))
		if (node->cpuset && hwloc_bitmap_isset(node->cpuset, pu->os_index))
			return (int)node->os_index;
	return -1;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Every PU needs its own OS index: it is the CPU number plans and pinning
 * use (an XML file may give two PUs the same one, or none). */
static int check_os_indices(const struct coremap_topo *t)
{
	int *os = malloc(sizeof(int) * (size_t)t->nr_pus), i, rc = 0;

	if (!os)
		return -ENOMEM;
	for (i = 0; i < t->nr_pus; i++)
		os[i] = t->pu[i].os_index;
	qsort(os, (size_t)t->nr_pus, sizeof(int), cmp_int);
	for (i = 0; i < t->nr_pus && !rc; i++) {
		if (os[i] < 0) {
			util_err("coremap: the %s topology has a PU without a usable OS index", t->source);
			rc = -EINVAL;
		} else if (i > 0 && os[i] == os[i - 1]) {
			util_err("coremap: the %s topology has two PUs with OS index %d", t->source,
				 os[i]);
			rc = -EINVAL;
		}
	}
	free(os);
	return rc;
}

static int flatten(struct coremap_topo *t)
{
	hwloc_topology_t hw = t->hw;
	int n = hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_PU);
	int i, rc;

	if (n <= 0) {
		util_err("coremap: the %s topology has no PUs", t->source);
		return -EINVAL;
	}
	t->pu = calloc((size_t)n, sizeof(*t->pu));
	if (!t->pu)
		return -ENOMEM;
	t->nr_pus = n;
	t->nr_cores = hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_CORE);
	t->nr_packages = hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_PACKAGE);
	t->nr_numa = hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_NUMANODE);
	t->nr_l3 = hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_L3CACHE);
	for (i = 0; i < n; i++) {
		hwloc_obj_t o = hwloc_get_obj_by_type(hw, HWLOC_OBJ_PU, (unsigned)i);
		struct coremap_pu *p = &t->pu[i];

		p->os_index = (int)o->os_index;
		p->package = ancestor_index(hw, HWLOC_OBJ_PACKAGE, o);
		p->core = ancestor_index(hw, HWLOC_OBJ_CORE, o);
		p->l3 = ancestor_index(hw, HWLOC_OBJ_L3CACHE, o);
		p->numa = numa_of(hw, o);
		/* Machines without these objects: one package, one core per PU. */
		if (p->package < 0)
			p->package = 0;
		if (p->core < 0)
			p->core = t->nr_cores + i;
		p->online = hwloc_bitmap_isset(hwloc_topology_get_allowed_cpuset(hw),
					       o->os_index);
	}
	if (t->nr_packages <= 0)
		t->nr_packages = 1;
	if (t->nr_cores <= 0)
		t->nr_cores = n;
	rc = check_os_indices(t);
	return rc ? rc : cm_pre_build(t->pu, n, &t->pre);
}

/* hwloc's plugins find GPUs and PCI devices (pulling in OpenCL, OpenGL,
 * libxml2, libstdc++, ICU: megabytes of resident memory); placement needs
 * packages, caches, cores and PUs only, and hwloc's own XML reader suffices.
 * The operator's HWLOC_PLUGINS_BLACKLIST, when set, wins. */
static void skip_device_plugins(void)
{
	setenv("HWLOC_PLUGINS_BLACKLIST", "hwloc_xml_libxml,hwloc_opencl,hwloc_gl,hwloc_pci,"
	       "hwloc_cuda,hwloc_nvml,hwloc_rsmi,hwloc_levelzero", 0);
}

/* src as coremap_topo_load; xml (NUL-terminated, xml_len bytes before the
 * NUL), when not NULL, is an hwloc XML document in memory instead. */
static int topo_load(const char *src, const char *xml, size_t xml_len,
		     struct coremap_topo **out)
{
	struct coremap_topo *t;
	int rc = -EINVAL;

	*out = NULL;
	skip_device_plugins();
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (hwloc_topology_init(&t->hw) < 0) {
		free(t);
		return -ENOMEM;
	}
	/* Keep CPUs outside our cpuset, marked offline (not usable). */
	hwloc_topology_set_flags(t->hw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
	if (xml) {
		snprintf(t->source, sizeof(t->source), "xml:(buffer)");
		if (xml_len >= INT_MAX ||
		    hwloc_topology_set_xmlbuffer(t->hw, xml, (int)xml_len + 1) < 0) {
			util_err("coremap: cannot use the hwloc XML topology in memory (%zu bytes)",
				 xml_len);
			goto fail;
		}
	} else if (!src) {
		snprintf(t->source, sizeof(t->source), "live");
	} else if (is_xml_source(src)) {
		snprintf(t->source, sizeof(t->source), "xml:%s", src);
		if (hwloc_topology_set_xml(t->hw, src) < 0) {
			util_err("coremap: cannot use hwloc XML topology %s: %s "
				 "(export one with `lstopo file.xml`)", src, strerror(errno));
			goto fail;
		}
	} else {
		snprintf(t->source, sizeof(t->source), "synthetic:%s", src);
		if (hwloc_topology_set_synthetic(t->hw, src) < 0) {
			util_err("coremap: bad hwloc synthetic topology \"%s\" "
				 "(expected e.g. \"package:2 core:4 pu:2\")", src);
			goto fail;
		}
	}
	if (hwloc_topology_load(t->hw) < 0) {
		rc = errno ? -errno : -EINVAL;
		util_err("coremap: hwloc could not load the %s topology: %s",
			 t->source, strerror(-rc));
		goto fail;
	}
	rc = flatten(t);  /* says what is wrong */
	if (rc < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	coremap_topo_free(t);
	return rc;
}

int coremap_topo_load(const char *src, struct coremap_topo **out)
{
	return topo_load(src, NULL, 0, out);
}

int cm_topo_load_xml(const char *xml, size_t len, struct coremap_topo **out)
{
	return topo_load(NULL, xml, len, out);
}

void coremap_topo_free(struct coremap_topo *t)
{
	if (!t)
		return;
	hwloc_topology_destroy(t->hw);
	cm_pre_free(&t->pre);
	free(t->pu);
	free(t);
}

const char *coremap_topo_source(const struct coremap_topo *t) { return t->source; }
int coremap_topo_nr_pus(const struct coremap_topo *t) { return t->nr_pus; }
int coremap_topo_nr_cores(const struct coremap_topo *t) { return t->nr_cores; }
int coremap_topo_nr_packages(const struct coremap_topo *t) { return t->nr_packages; }
int coremap_topo_nr_numa(const struct coremap_topo *t) { return t->nr_numa; }
int coremap_topo_nr_l3(const struct coremap_topo *t) { return t->nr_l3; }
void *coremap_topo_hwloc(const struct coremap_topo *t) { return t->hw; }

#define PU_GETTER(name, field)                                          \
	int coremap_topo_pu_##name(const struct coremap_topo *t, int pu) \
	{                                                               \
		if (pu < 0 || pu >= t->nr_pus)                          \
			return -EINVAL;                                 \
		return t->pu[pu].field;                                 \
	}
PU_GETTER(os_index, os_index)
PU_GETTER(package, package)
PU_GETTER(numa, numa)
PU_GETTER(core, core)
PU_GETTER(l3, l3)

bool coremap_topo_pu_online(const struct coremap_topo *t, int pu)
{
	return pu >= 0 && pu < t->nr_pus && t->pu[pu].online;
}

const struct coremap_pu *cm_topo_pus(const struct coremap_topo *t) { return t->pu; }
const struct cm_pre *cm_topo_pre(const struct coremap_topo *t) { return &t->pre; }

int coremap_topo_pu_by_os(const struct coremap_topo *t, int os_index)
{
	int i;

	/* usual case: OS numbering follows the logical order */
	if (os_index >= 0 && os_index < t->nr_pus && t->pu[os_index].os_index == os_index)
		return os_index;
	if (t->pre.by_os) {
		if (os_index < 0 || os_index > t->pre.os_max || t->pre.by_os[os_index] < 0)
			return -ENOENT;
		return t->pre.by_os[os_index];
	}
	for (i = 0; i < t->nr_pus; i++)
		if (t->pu[i].os_index == os_index)
			return i;
	return -ENOENT;
}

int coremap_topo_set_online(struct coremap_topo *t, int pu, bool online)
{
	if (pu < 0 || pu >= t->nr_pus)
		return -EINVAL;
	t->pu[pu].online = online;
	return 0;
}
