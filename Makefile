# berth: one non-recursive GNU Makefile (STYLE C20).
#
#   make                          build build/berth (the thin CLI) and build/berth-engine
#   make SANITIZE=address,undefined   sanitized build in build-san/
#   make check                    unit tests (TAP, prove) and golden tests
#   make integration              bats tests (needs root for most)
#   make fuzz / fuzz-smoke        libFuzzer targets (clang)
#   make format / format-check    clang-format
#   make install PREFIX=/usr/local
#
# Each layer is a static library compiled with only the -I paths it may use (DESIGN §2):
#   common <- specs <- {agent, orchestrator, cli};  common <- engine <- agent

.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:
SHELL := bash

CC ?= cc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
SANITIZE ?=
ifneq ($(SANITIZE),)
BUILD ?= build-san
else
BUILD ?= build
endif
OPT ?= -O2
V ?= 0
ifeq ($(V),0)
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
else
Q :=
say :=
endif

PKGS := yaml-0.1 jansson libcurl libarchive openssl zlib libseccomp libcap libmnl libnftables sqlite3 ldns libisal
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lev -lhttp_parser -lpthread -lm

WARN := -Wall -Wextra -Wno-missing-field-initializers -Werror \
        -Werror=shadow -Werror=strict-prototypes -Werror=missing-prototypes \
        -Werror=implicit-function-declaration -Werror=format=2 -Werror=return-type \
        -Werror=incompatible-pointer-types -Werror=switch-default

BASE_CFLAGS := -std=gnu11 $(OPT) -g -D_GNU_SOURCE -fno-strict-aliasing -fstack-protector-strong \
        $(WARN) -MMD -MP $(PKG_CFLAGS)
ifneq ($(SANITIZE),)
BASE_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=$(SANITIZE)
endif
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_LDFLAGS) $(LDFLAGS)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# Rebuild everything when the flags change (redis .make-settings).
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(VERSION) $(GIT_COMMIT)
$(shell mkdir -p $(BUILD) && (test "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = '$(FLAGS_NOW)' || echo '$(FLAGS_NOW)' > $(FLAGS_STAMP)))

# Layer -> allowed include paths.
INC_common := -iquote common
INC_specs := -iquote common -iquote specs
INC_engine := -iquote common -iquote engine
INC_agent := -iquote common -iquote specs -iquote engine -iquote agent
INC_orchestrator := -iquote common -iquote specs -iquote orchestrator
INC_cli := -iquote common -iquote specs -iquote cli
INC_main := -iquote common -iquote specs -iquote engine -iquote agent -iquote orchestrator -iquote cli
INC_tests := $(INC_main) -iquote tests/unit

LAYERS := common specs engine orchestrator agent cli
# Link order: dependants first.
LINK_LAYERS := agent cli orchestrator engine specs common

define layer_rules
SRCS_$(1) := $$(sort $$(wildcard $(1)/*.c $(1)/*/*.c))
OBJS_$(1) := $$(SRCS_$(1):%.c=$(BUILD)/%.o)
$(BUILD)/lib$(1).a: $$(OBJS_$(1))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(call say,AR,$$@)$$(AR) rcs $$@ $$^
$(BUILD)/$(1)/%.o: $(1)/%.c $(FLAGS_STAMP)
	@mkdir -p $$(@D)
	$$(call say,CC,$$<)$$(CC) $$(ALL_CFLAGS) $$(INC_$(1)) -c -o $$@ $$<
endef
$(foreach l,$(LAYERS),$(eval $(call layer_rules,$(l))))

LIBS := $(foreach l,$(LINK_LAYERS),$(BUILD)/lib$(l).a)

$(BUILD)/main/%.o: main/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) $(INC_main) -DBERTH_VERSION='"$(VERSION)"' \
		-DBERTH_COMMIT='"$(GIT_COMMIT)"' -c -o $@ $<

MAIN_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard main/*.c))

# Two binaries from the same layers (docs/containers.md, "Two binaries"). berth-engine has every
# role and command. berth, the CLI users run, is main/client/ + cli + specs + common with the few
# libraries that code needs, linked statically (libc stays shared): it starts in about 1 ms and
# execs berth-engine for the rest. A command of the thin set that pulls in libcurl, libarchive or
# another engine library fails this link instead of slowing every command down.
$(BUILD)/berth-engine: $(MAIN_OBJS) $(LIBS)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJS) -Wl,--start-group $(LIBS) -Wl,--end-group $(PKG_LIBS)
THIN_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard main/client/*.c))
THIN_LAYERS := $(BUILD)/libcli.a $(BUILD)/libspecs.a $(BUILD)/libcommon.a
THIN_LIBS := -Wl,-Bstatic -ljansson -lyaml -lhttp_parser -lcrypto -Wl,-Bdynamic
$(BUILD)/berth: $(THIN_OBJS) $(THIN_LAYERS) | $(BUILD)/berth-engine
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $(THIN_OBJS) -Wl,--start-group $(THIN_LAYERS) -Wl,--end-group $(THIN_LIBS)

# Unit tests: tests/unit/test-*.c, one TAP program each.
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_HELPER_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
UNIT_HELPER_OBJS := $(UNIT_HELPER_SRCS:%.c=$(BUILD)/%.o)
$(BUILD)/tests/unit/%.o: tests/unit/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) $(INC_tests) -DSRCDIR='"$(CURDIR)"' -c -o $@ $<
$(BUILD)/tests/test-%: $(BUILD)/tests/unit/test-%.o $(UNIT_HELPER_OBJS) $(LIBS)
	@mkdir -p $(@D)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $< $(UNIT_HELPER_OBJS) -Wl,--start-group $(LIBS) -Wl,--end-group $(PKG_LIBS)

# Static payloads run inside test containers (tests/helpers/*.c -> build/helpers/NAME).
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/helpers/%)
$(BUILD)/helpers/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) -std=gnu11 -O2 -static -Wall -Wextra -Werror -o $@ $<

.DEFAULT_GOAL := all
# The per-container shim as a small static binary (main/shim/berth-shim.c). Static linking does
# not mix with the sanitizers: sanitized builds have none and the daemon runs `berth shim`.
SHIM_LIBS := $(BUILD)/libagent.a $(BUILD)/libengine.a $(BUILD)/libcommon.a
$(BUILD)/berth-shim: $(BUILD)/main/shim/berth-shim.o $(SHIM_LIBS)
	$(call say,LD,$@)$(CC) $(OPT) -static -o $@ $< $(SHIM_LIBS) -lseccomp -lcap -ljansson \
		2> >(grep -v "statically linked applications requires at runtime" >&2)
ifeq ($(SANITIZE),)
SHIM_BIN := $(BUILD)/berth-shim
endif
# berth-runtime: the OCI runtime alone (main/runtime/berth-runtime.c: `berth oci` and runc's
# command line), agent/oci + engine + common with libseccomp, libcap and jansson, static like the
# shim so that nothing is loaded before the container starts (docs/runtime.md). Sanitized builds
# link it dynamically with the same three libraries.
RUNTIME_LIBS := $(BUILD)/libagent.a $(BUILD)/libengine.a $(BUILD)/libcommon.a
ifeq ($(SANITIZE),)
RUNTIME_LINK := -static
endif
$(BUILD)/berth-runtime: $(BUILD)/main/runtime/berth-runtime.o $(RUNTIME_LIBS)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) $(OPT) $(RUNTIME_LINK) -o $@ $< $(RUNTIME_LIBS) \
		-lseccomp -lcap -ljansson \
		2> >(grep -v "statically linked applications requires at runtime" >&2)
RUNTIME_BIN := $(BUILD)/berth-runtime
# berth-init: the PID 1 of `run --init` (main/init/berth-init.c), static, libc only.
INIT_BIN := $(BUILD)/berth-init
$(INIT_BIN): main/init/berth-init.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) -std=gnu11 -O2 -static -Wall -Wextra -Werror -o $@ $<

all: $(BUILD)/berth $(BUILD)/berth-engine $(RUNTIME_BIN) $(SHIM_BIN) $(INIT_BIN)
tests: $(UNIT_BINS) $(HELPER_BINS) $(BUILD)/berth $(BUILD)/berth-engine $(RUNTIME_BIN) $(SHIM_BIN) \
	$(INIT_BIN)

check: tests
	prove -f $(UNIT_BINS)
	@if [ -x tests/golden/run.sh ]; then BERTH=$(BUILD)/berth tests/golden/run.sh; fi

integration: tests
	BERTH=$(CURDIR)/$(BUILD)/berth BERTH_HELPERS=$(CURDIR)/$(BUILD)/helpers \
		bats tests/integration

# Fuzzing: libs rebuilt with clang and -fsanitize=fuzzer-no-link in build-fuzz/.
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz-*.c))
FUZZ_NAMES := $(FUZZ_SRCS:fuzz/%.c=%)
FUZZ_SECONDS ?= 20
fuzz:
	$(MAKE) CC=clang BUILD=build-fuzz OPT=-O1 SANITIZE=fuzzer-no-link,address,undefined \
		$(foreach n,$(FUZZ_NAMES),build-fuzz/fuzz/$(n))
build-fuzz/fuzz/%: fuzz/%.c $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(INC_main) -fsanitize=fuzzer -o $@ $< \
		-Wl,--start-group $(LIBS) -Wl,--end-group $(PKG_LIBS)
fuzz-smoke: fuzz
	@set -e; for n in $(FUZZ_NAMES); do \
		c=fuzz/corpus/$${n#fuzz-}; mkdir -p build-fuzz/work/$$n; \
		echo "fuzz-smoke: $$n ($(FUZZ_SECONDS)s, corpus $$c)"; \
		build-fuzz/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
			-artifact_prefix=build-fuzz/work/$$n/ build-fuzz/work/$$n $$c \
			> build-fuzz/work/$$n.log 2>&1 || { tail -n 40 build-fuzz/work/$$n.log; exit 1; }; \
	done

# Benchmarks: bench/*.c -> $(BUILD)/bench/NAME, linked like the tests. `make bench` builds them
# (bench/run.sh and the bench/*.sh scripts run them); `make bench-run` runs the self-contained
# ones (store and scheduler).
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: bench/%.c $(LIBS) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) $(INC_main) $(ALL_LDFLAGS) -o $@ $< \
		-Wl,--start-group $(LIBS) -Wl,--end-group $(PKG_LIBS)
bench: $(BENCH_BINS) $(BUILD)/berth $(BUILD)/berth-engine $(RUNTIME_BIN)
bench-run: bench
	@set -e; for b in $(BUILD)/bench/sched $(BUILD)/bench/store; do echo "== $$b"; $$b; done
# berth beside docker/podman/crun/runc/docker-compose/skopeo (root; peers from deps.sh --bench)
bench-peers: $(BUILD)/berth $(BUILD)/berth-engine
	BERTH=$(abspath $(BUILD)/berth) bench/peers.sh

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

# berth in bin/; berth-engine and berth-runtime in libexec/berth/ with the shim and init they look
# for beside themselves; bin/berth-runtime links to it for podman --runtime / dockerd --add-runtime.
LIBEXEC := $(PREFIX)/libexec/berth
install: $(BUILD)/berth $(BUILD)/berth-engine $(RUNTIME_BIN) $(SHIM_BIN) $(INIT_BIN)
	install -D -m 0755 $(BUILD)/berth $(DESTDIR)$(PREFIX)/bin/berth
	install -D -m 0755 $(BUILD)/berth-engine $(DESTDIR)$(LIBEXEC)/berth-engine
	install -D -m 0755 $(RUNTIME_BIN) $(DESTDIR)$(LIBEXEC)/berth-runtime
	ln -sf ../libexec/berth/berth-runtime $(DESTDIR)$(PREFIX)/bin/berth-runtime
	$(if $(SHIM_BIN),install -D -m 0755 $(SHIM_BIN) $(DESTDIR)$(LIBEXEC)/berth-shim)
	install -D -m 0755 $(INIT_BIN) $(DESTDIR)$(LIBEXEC)/berth-init

clean:
	rm -rf build build-san build-fuzz

.PHONY: all tests check integration fuzz fuzz-smoke format format-check install clean bench bench-run bench-peers

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
