# avmm build. Targets: all (default), test, check (ASan+UBSan), bench, bench-<name>, fuzz,
# test-<module>, clean. CI=true (or WERROR=1) adds -Werror.
BUILD   ?= build
CC      ?= cc
MODULES := $(foreach m,common vmm-core telemetry energy coremap bankmap paging-mode policies adapt,$(if $(wildcard $(m)/*.c),$(m)))
# Link order, top of the dependency graph first.
LINK_ORDER := adapt policies bankmap coremap paging-mode energy telemetry vmm-core common

# Debian 12 packages the project needs (installed by `make deps`, as root).
DEB_PACKAGES := build-essential clang pkg-config libpapi-dev libpfm4-dev libnuma-dev \
	libhwloc-dev libcriterion-dev libmicrohttpd-dev libjansson-dev libinih-dev \
	libseccomp-dev libbpf-dev qemu-system-x86 chromium lz4 systemd prometheus \
	slurm-wlm munge libslurm-dev
SYS_LIBS   := -lbpf -lhwloc -ljansson -linih -lseccomp -lnuma -lpthread -lm -ldl

CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN    += -Werror
endif
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS := -std=gnu11 $(CFLAGS) $(WARN) -I. -D_GNU_SOURCE -MMD -MP

lib_of  = $(BUILD)/lib/lib$(1).a
srcs_of = $(wildcard $(1)/*.c)
# Assets become C arrays asset_<path>[] and asset_<path>_len (a NUL follows
# the bytes), <path> being the file's path inside its module with every
# character but [A-Za-z0-9] made '_': <module>/*.html (dashboard.html:
# asset_dashboard_html), <module>/*.js and *.css (charts.js: asset_charts_js) and the
# vendored libraries' <module>/vendor/*/*.js, *.css and LICENSE
# (vendor/uplot/uPlot.min.css: asset_vendor_uplot_uPlot_min_css).
asset_files = $(wildcard $(1)/*.html $(1)/*.js $(1)/*.css $(1)/vendor/*/*.js $(1)/vendor/*/*.css \
	$(1)/vendor/*/LICENSE)
assets_of = $(patsubst %,$(BUILD)/gen/%.o,$(call asset_files,$(1)))
# A module's BPF programs (<module>/bpf/*.bpf.c), built by clang for the BPF
# target and embedded the same way: bpf/kvmbatch.bpf.c is bpf_kvmbatch[].
bpf_of = $(patsubst %.bpf.c,$(BUILD)/bpf/%.o,$(wildcard $(1)/bpf/*.bpf.c))
# (Libraries depend on the Makefile: a new asset is built into an old build.)
objs_of = $(patsubst %.c,$(BUILD)/obj/%.o,$(call srcs_of,$(1))) $(call assets_of,$(1)) \
	$(call bpf_of,$(1))
ALL_LIBS := $(foreach m,$(filter $(MODULES),$(LINK_ORDER)),$(call lib_of,$(m)))

.PHONY: all test check bench fuzz clean guests deps demo soak install-agent install-cluster compat
.SECONDARY:
all: $(BUILD)/avmm guests

define MODULE_RULES
$(call lib_of,$(1)): $(call objs_of,$(1)) Makefile
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	$$(AR) rcs $$@ $$(filter %.o,$$^)
endef
$(foreach m,$(MODULES),$(eval $(call MODULE_RULES,$(m))))

# A recipe's input $< as the C array NAME[] (a NUL follows the bytes) and
# NAME_len, into $@: $(call c_array,NAME) (NAME may be a shell variable: $${n}).
c_array = { echo "const unsigned char $(1)[] = {"; \
	  od -An -v -tx1 $< | sed -E 's/ ([0-9a-f]{2})/0x\1,/g'; echo "0x00};"; \
	  echo "const unsigned int $(1)_len = sizeof($(1)) - 1;"; } > $@
$(BUILD)/gen/%.c: %
	@mkdir -p $(dir $@)
	@rel='$*'; n=asset_$$(printf '%s' "$${rel#*/}" | tr -c 'A-Za-z0-9' '_'); \
	$(call c_array,$${n})
$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) -c $< -o $@

BPF_CFLAGS := -O2 -g -Wall -target bpf -D__TARGET_ARCH_x86 -I. \
	-I/usr/include/$(shell $(CC) -print-multiarch)
$(BUILD)/bpf/%.bpf.o: %.bpf.c
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/bpf/%.c: $(BUILD)/bpf/%.bpf.o
	@$(call c_array,bpf_$(notdir $*))
$(BUILD)/bpf/%.o: $(BUILD)/bpf/%.c
	$(CC) -c $< -o $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# `avmm --version` names the commit it was built from (main.o is rebuilt when it changes).
AVMM_GIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
$(BUILD)/obj/cli/main.o: ALL_CFLAGS += -DAVMM_GIT='"$(AVMM_GIT)"'
$(BUILD)/obj/cli/main.o: $(BUILD)/gen/git-$(AVMM_GIT)
$(BUILD)/gen/git-%:
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/gen/git-*
	@touch $@

# The program: cli/ composes the modules (not part of any library).
MAIN_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cli/*.c))
$(BUILD)/avmm: $(MAIN_OBJS) $(ALL_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJS) -Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(SYS_LIBS)

# ---- test guests (freestanding, 32-bit Multiboot v1 ELF) ----
GUEST_CFLAGS := -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-fno-builtin -nostdlib -O2 -g -Wall -Wextra -Itests/guests/lib -mno-sse -mno-mmx
GUEST_LIB_SRC := $(wildcard tests/guests/lib/*.c) $(wildcard tests/guests/lib/*.S)
GUEST_LIB_OBJ := $(patsubst %,$(BUILD)/guestobj/%.o,$(GUEST_LIB_SRC))
GUEST_NAMES   := $(basename $(notdir $(wildcard tests/guests/*.c)))
GUESTS        := $(patsubst %,$(BUILD)/guests/%.elf,$(GUEST_NAMES))
guests: $(GUESTS)
$(BUILD)/guestobj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guestobj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/%.elf: $(BUILD)/guestobj/tests/guests/%.c.o $(GUEST_LIB_OBJ) tests/guests/lib/guest.ld
	@mkdir -p $(dir $@)
	ld -m elf_i386 -nostdlib -T $(or $(wildcard tests/guests/$*.ld),tests/guests/lib/guest.ld) \
		-o $@ $(GUEST_LIB_OBJ) $<
# A guest with its own linker script tests/guests/NAME.ld (lowload: at 32 KiB)
$(BUILD)/guests/lowload.elf: tests/guests/lowload.ld

# ---- Criterion tests: one binary per folder under tests/ with test_*.c ----
# (tests/lib/*.c: helpers linked into every test binary; `make test-DIR`
# builds the program and the guests its real runs use)
TEST_DIRS := $(sort $(patsubst tests/%/,%,$(dir $(wildcard tests/*/test_*.c))))
TEST_LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/lib/*.c))
TEST_BINS := $(patsubst %,$(BUILD)/tests/%,$(TEST_DIRS))
define TEST_RULES
$(BUILD)/tests/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/$(1)/*.c)) $(TEST_LIB_OBJS) $(ALL_LIBS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) -Wl,--start-group $(ALL_LIBS) -Wl,--end-group $$(SYS_LIBS) -lcriterion
.PHONY: test-$(1)
test-$(1): $(BUILD)/tests/$(1) $(BUILD)/avmm guests
	AVMM_BUILD=$(BUILD) $(BUILD)/tests/$(1) --jobs 1 $(TEST_ARGS)
endef
$(foreach t,$(TEST_DIRS),$(eval $(call TEST_RULES,$(t))))

# The fuzzers (9 targets, tests/fuzz/run.sh) run briefly on every `make test`
# (FUZZ_SECONDS each, 5 here); `make fuzz` runs each for 20 s.
test: $(BUILD)/avmm guests $(TEST_BINS)
	@AVMM_LINUX_DIR=$(BUILD)/linux tests/loaders/fetch-kernel.sh
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-5} tests/fuzz/run.sh $(BUILD)
	@AVMM_BUILD=$(BUILD) tests/run-all.sh $(TEST_BINS)

check:
	$(MAKE) BUILD=build/san SAN=1 test

# A bounded stress run of a real avmm (SOAK_SECONDS, default 150).
$(BUILD)/soak: $(BUILD)/obj/tests/soak/soak.o $(BUILD)/obj/tests/lib/httpget.o $(ALL_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(SYS_LIBS)
soak: $(BUILD)/avmm guests $(BUILD)/soak
	AVMM_BUILD=$(BUILD) $(BUILD)/soak

# ---- Slurm SPANK plugin (policies/slurm/), when libslurm-dev is installed ----
SPANK_H := $(wildcard /usr/include/slurm/spank.h)
ifneq ($(SPANK_H),)
all test: $(BUILD)/avmm_spank.so
$(BUILD)/avmm_spank.so: policies/slurm/avmm_spank.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -D_GNU_SOURCE -fPIC -shared -o $@ $< -ljansson
endif

# ---- benchmarks: every bench/*.c is a program linked with all module libs ----
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(ALL_LIBS) -Wl,--end-group $(SYS_LIBS)
# tel_sample runs the telemetry tests' tiny VM
$(BUILD)/bench/tel_sample: $(BUILD)/obj/tests/telemetry/tinyvm.o

bench: $(BUILD)/avmm guests $(BENCH_BINS)
	@bench/run-all.sh $(BUILD) $(BENCH_BINS)
# One benchmark: `make bench-migrate BENCH_ARGS="-n 3"` runs build/bench/migrate.
bench-%: $(BUILD)/avmm guests $(BUILD)/bench/%
	AVMM_BUILD=$(BUILD) $(BUILD)/bench/$* $(BENCH_ARGS)
# tests/lifecycle runs bench/migrate once (a smoke test).
test-lifecycle test: $(BUILD)/bench/migrate

fuzz:
	@tests/fuzz/run.sh $(BUILD)

# Every bundled guest under avmm and QEMU side by side (tests/guests/compat.sh).
compat: $(BUILD)/avmm guests
	tests/guests/compat.sh -d $(BUILD)/guests -a $(BUILD)/avmm

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES)

# The adaptation on the embedded default, in about 10 s (tests/demo.sh): a compute
# guest whose vCPU starts on a CPU a host hog holds, the loop's decision and its
# reason, the throughput before and after, the dashboard URL; exits 0 (the
# bundled guests power off through ACPI S5 on success).
demo: $(BUILD)/avmm guests
	tests/demo.sh $(BUILD)

# The node agent as a systemd service (as root): the binary, the unit, enabled and started.
PREFIX ?= /usr/local
install-agent: $(BUILD)/avmm
	install -D -m 0755 $(BUILD)/avmm $(DESTDIR)$(PREFIX)/bin/avmm
	install -D -m 0644 adapt/avmm-agent.service $(DESTDIR)/etc/systemd/system/avmm-agent.service
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/avmm/README.md
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then \
		systemctl daemon-reload && systemctl enable --now avmm-agent.service && \
		systemctl --no-pager status avmm-agent.service | head -5; \
	else echo "install-agent: installed; start it with: systemctl enable --now avmm-agent"; fi

# The cluster pieces (issue 17): the Slurm SPANK plugin and the prolog/epilog
# scripts under $(PREFIX)/lib/avmm, the Prometheus files and the Grafana
# dashboard under $(PREFIX)/share/avmm. plugstack.conf and slurm.conf are
# the site's to edit (README: "Rolling avmm out to a cluster").
install-cluster: $(if $(SPANK_H),$(BUILD)/avmm_spank.so)
	$(if $(SPANK_H),install -D -m 0755 $(BUILD)/avmm_spank.so $(DESTDIR)$(PREFIX)/lib/avmm/avmm_spank.so)
	install -D -m 0755 policies/slurm/avmm-prolog.sh $(DESTDIR)$(PREFIX)/lib/avmm/avmm-prolog.sh
	install -D -m 0755 policies/slurm/avmm-epilog.sh $(DESTDIR)$(PREFIX)/lib/avmm/avmm-epilog.sh
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/avmm/prometheus telemetry/prometheus/*.yml
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/avmm/prometheus/nodes \
		telemetry/prometheus/nodes/*.yml
	install -D -m 0644 telemetry/dashboards/avmm.json $(DESTDIR)$(PREFIX)/share/avmm/grafana/avmm.json

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
