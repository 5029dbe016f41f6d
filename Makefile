# medic — host remediation agent for etcd nodes
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr
DESTDIR ?=
BINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share/medic
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
CC ?= cc
V ?= 0

# The Debian package `make deb` builds (rules below); := so that prerequisites can name it.
DEB_VERSION := $(shell dpkg-parsechangelog -l packaging/debian/changelog -S Version 2>/dev/null)
DEB_ARCH := $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null)
DEB_FILE := build/medic_$(DEB_VERSION)_$(DEB_ARCH).deb

PKGS := libnl-3.0 libnl-route-3.0 libnl-genl-3.0 yaml-0.1 libsystemd libcap json-c
# Debian packages for building and testing; `make deps` installs the missing ones.
DEB_DEPS := build-essential pkg-config libnl-3-dev libnl-route-3-dev libnl-genl-3-dev \
	libyaml-dev libsystemd-dev libcap-dev libjson-c-dev libcmocka-dev \
	iproute2 ethtool util-linux mount e2fsprogs strace procps valgrind python3 \
	clang libclang-rt-14-dev \
	debhelper dpkg-dev lintian systemd groff-base man-db ansible-core prometheus-node-exporter logrotate jq iperf3 \
	qemu-system-x86 busybox-static kmod cpio

WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	-Wformat=2 -Wno-format-nonliteral -Wpointer-arith -Wvla -Wundef
CFLAGS ?= -O2 -g
BASE_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) -MMD -MP -DMEDIC_DATADIR='"$(DATADIR)"' \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libsystemd and libnl-route-3 are loaded on demand (agent/kernel/sdlib.c, nlroute.c): their
# headers are used, medic does not link them. The unit tests call libnl-route-3 themselves.
LDLIBS = $(shell $(PKG_CONFIG) --libs $(filter-out libsystemd libnl-route-3.0,$(PKGS)) 2>/dev/null) -ldl -pthread
ROUTE_LIBS = $(shell $(PKG_CONFIG) --libs libnl-route-3.0 2>/dev/null)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

ifeq ($(V),0)
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
say =
endif

# Three builds of the same sources. build/medic is what `make install` ships: it has no
# test hooks (agent/util.h: test_hook()). build/test/ and build/asan/ are compiled with
# -DMEDIC_TEST_HOOKS into their own object directories; the unit and integration tests use
# them, and an integration test checks that build/medic ignores the hooks.
HOOKS := -DMEDIC_TEST_HOOKS
LIB_SRC := $(filter-out agent/main.c,$(wildcard agent/*.c)) $(wildcard agent/kernel/*.c) $(wildcard actions/*.c) \
	$(wildcard actions/checks/*.c)
LIB_OBJ := $(LIB_SRC:%.c=build/%.o)
LIB_TEST_OBJ := $(LIB_SRC:%.c=build/test/%.o)
LIB_ASAN_OBJ := $(LIB_SRC:%.c=build/asan/%.o)
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/test/tests/%)
UNIT_ASAN_BIN := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# libFuzzer targets (tests/fuzz/), one per parser; clang's ASan/UBSan, any report fatal.
CLANG ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
# make check's run: every target this long (at least a minute; less only to try the run).
CHECK_FUZZ_SECONDS ?= 60
FUZZ_ALL := policy journal tc ethtool etcdconf promtext kstats sockdiag
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BIN := $(FUZZ_ALL:%=build/fuzz/fuzz-%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_HELP_OBJ := $(patsubst %.c,build/fuzz/obj/%.o,tests/fuzz/fakenl.c $(wildcard tests/fuzz/drive-*.c))
# gcc builds medic: clang's note on the GNU extension ethtool_ioctl.c relies on is no error.
# MEDIC_FUZZ: the seed recorder's tap on nlsock_dump() (tests/fuzz/capture.c) and the fake
# kernel's hook on nlsock_open() (tests/fuzz/fakenl.c), in no other build.
FUZZ_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	-Wno-gnu-variable-sized-type-not-at-end -DMEDIC_FUZZ

all: build/medic

build/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

build/test/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC-TEST,$<)$(CC) $(BASE_CFLAGS) $(CFLAGS) $(HOOKS) -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC-SAN,$<)$(CC) $(BASE_CFLAGS) $(CFLAGS) $(HOOKS) $(SAN) -c -o $@ $<

build/medic: build/agent/main.o $(LIB_OBJ)
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/test/medic: build/test/agent/main.o $(LIB_TEST_OBJ)
	$(call say,LD,$@)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/asan/medic: build/asan/agent/main.o $(LIB_ASAN_OBJ)
	$(call say,LD-SAN,$@)$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

build/test/tests/%: build/test/tests/%.o build/test/tests/helpers.o $(LIB_TEST_OBJ)
	$(call say,LD,$@)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(ROUTE_LIBS) $(CMOCKA_LIBS)

build/asan/tests/%: build/asan/tests/%.o build/asan/tests/helpers.o $(LIB_ASAN_OBJ)
	$(call say,LD-SAN,$@)$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS) $(ROUTE_LIBS) $(CMOCKA_LIBS)

build/test/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(call say,CC-TEST,$<)$(CC) $(BASE_CFLAGS) $(CFLAGS) $(HOOKS) -Wno-missing-prototypes -c -o $@ $<

build/asan/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(call say,CC-SAN,$<)$(CC) $(BASE_CFLAGS) $(CFLAGS) $(HOOKS) $(SAN) -Wno-missing-prototypes -c -o $@ $<

.PRECIOUS: build/test/tests/%.o build/asan/tests/%.o

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC-FUZZ,$<)$(CLANG) $(BASE_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/fuzz-%: build/fuzz/obj/tests/fuzz/fuzz-%.o $(FUZZ_HELP_OBJ) $(FUZZ_LIB_OBJ)
	$(call say,LD-FUZZ,$@)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# Records a real kernel's replies as seeds for the netlink fuzzers (tests/fuzz/make-seeds).
build/fuzz/capture: build/fuzz/obj/tests/fuzz/capture.o $(FUZZ_HELP_OBJ) $(FUZZ_LIB_OBJ)
	$(call say,LD-FUZZ,$@)$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

.PRECIOUS: build/fuzz/obj/%.o

deps:
	@missing=""; for p in $(DEB_DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "  DEPS  installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install:$$missing" >&2; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The io-priority tests run a real etcd. Use the host's if it has one; else unpack Debian's
# etcd-server package into build/ without installing it, so no etcd service is set up.
ETCD_BIN := $(firstword $(shell command -v etcd 2>/dev/null) $(CURDIR)/build/etcd/usr/bin/etcd)
$(CURDIR)/build/etcd/usr/bin/etcd:
	@mkdir -p build/etcd
	$(call say,FETCH,etcd-server)cd build/etcd && rm -f etcd-server_*.deb && \
		{ apt-get download etcd-server >/dev/null 2>&1 || \
		  { apt-get update -qq >/dev/null && apt-get download etcd-server >/dev/null 2>&1; }; } && \
		dpkg-deb -x etcd-server_*.deb . && rm -f etcd-server_*.deb

# A read-only audit of this host with the shipped policy: changes nothing.
audit: deps
	@$(MAKE) --no-print-directory build/medic
	@rc=0; ./build/medic --policy policies/etcd.yaml audit || rc=$$?; \
	case $$rc in 0|2) exit 0;; *) exit $$rc;; esac

# Includes point one way: program (agent/) -> action kinds (actions/) -> kernel access
# (agent/kernel/); tests/unit/layers names any that does not. `unit` runs it first.
check-layers:
	@tests/unit/layers

unit: check-layers $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "  UNIT  $$t"; MEDIC_TEST_DATA=$(CURDIR)/tests/data $$t || exit 1; done

unit-asan: $(UNIT_ASAN_BIN)
	@for t in $(UNIT_ASAN_BIN); do echo "  ASAN  $$t"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 MEDIC_TEST_DATA=$(CURDIR)/tests/data $$t || exit 1; done

unit-valgrind: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "  VGRIND $$t"; \
		MEDIC_TEST_DATA=$(CURDIR)/tests/data valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 $$t >/dev/null || exit 1; done

# The tests run the test build (ASan when present); MEDIC_RELEASE is the shipped binary,
# which test-release-no-hooks checks for ignoring the hooks.
# The packaging tests (test-pkg-*) install and lint the .deb that `make deb` builds once.
integration: build/medic build/test/medic build/asan/medic $(ETCD_BIN) $(DEB_FILE)
	@MEDIC=$(CURDIR)/build/test/medic MEDIC_ASAN=$(CURDIR)/build/asan/medic MEDIC_RELEASE=$(CURDIR)/build/medic \
		ETCD=$(ETCD_BIN) MEDIC_DEB=$(CURDIR)/$(DEB_FILE) tests/integration/run

# The stock-kernel tier (tests/vm/): Debian 12's own kernel, from its linux-image-amd64
# package unpacked into build/vm/ (never installed), under QEMU with TCG, with this host's
# /usr and /etc shared read-only. check-vm runs the subset this kernel is needed for (the prio
# backend end to end, mount options on a mountinfo without 6.8's unique mount id, sch_prio
# present but refused, the diagnosis checks against a real cgroup v2), bounded by MEDIC_VM_SUBSET_TIMEOUT; it says "skipped: why" and
# passes where QEMU cannot run. check-kernel runs the whole integration suite there.
VM_SUBSET := test-tc-prio-kernel test-tc-prio-devices test-mount-loop-bind test-mount-ro-strict \
	test-zz-prio-refused test-diagnose-cgroup2
# The subset takes about 5 minutes on an otherwise idle 2-core machine (TCG); the bound
# leaves room for a busier one, so that a slow machine is not reported as a failure.
MEDIC_VM_SUBSET_TIMEOUT ?= 600
# The whole suite (67 tests) takes 33 minutes on a quiet machine and took 74 at a load of
# 8-30; twice the loaded figure is the bound.
MEDIC_VM_KERNEL_TIMEOUT ?= 9000

check-vm: build/medic build/test/medic $(ETCD_BIN)
	@rc=0; MEDIC=$(CURDIR)/build/test/medic MEDIC_RELEASE=$(CURDIR)/build/medic ETCD=$(ETCD_BIN) MEDIC_VM_TIMEOUT=$(MEDIC_VM_SUBSET_TIMEOUT) \
		tests/vm/run-in-vm $(VM_SUBSET) || rc=$$?; \
	case $$rc in 0) ;; 77) echo "  VM     stock-kernel subset skipped";; *) exit $$rc;; esac

# The same inputs as integration's: the package for the pkg tests, test-tc-partial's driver.
check-kernel: deps
	@$(MAKE) --no-print-directory build/medic build/test/medic $(ETCD_BIN) $(DEB_FILE) build/test/tests/test-tc-partial
	@MEDIC=$(CURDIR)/build/test/medic MEDIC_RELEASE=$(CURDIR)/build/medic ETCD=$(ETCD_BIN) MEDIC_VM_TIMEOUT=$(MEDIC_VM_KERNEL_TIMEOUT) tests/vm/run-in-vm

check: deps
	@$(MAKE) --no-print-directory all build/test/medic build/asan/medic
	@$(MAKE) --no-print-directory unit unit-asan unit-valgrind integration check-fuzz check-faults-sample check-vm

fuzz-build: $(FUZZ_BIN)

# Each of FUZZ_TARGETS for FUZZ_SECONDS, FUZZ_JOBS at a time: the committed corpus first,
# then new inputs. A crash, leak or UBSan report fails it (tests/fuzz/run).
fuzz: fuzz-build
	@tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

# What `make check` runs: a minute per target, two at a time (8 targets: about four and a
# half minutes).
check-fuzz: fuzz-build
	@tests/fuzz/run $(CHECK_FUZZ_SECONDS) 2 $(FUZZ_ALL)

# The fault-injection suite (tests/faults/README): killat counts every system call of medic
# and kills it or fails one at point k; threads is the io-priority target. `check` runs the
# sample. The suite uses test hooks (MEDIC_HOST_MNTNS_PID, MEDIC_CONF_ROOT): the test build.
build/faults/sysnames.h:
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)echo '#include <sys/syscall.h>' | $(CC) -dM -E - | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/	{ \2, "\1" },/p' | \
		{ echo 'static const struct { long nr; const char *name; } sysnames[] = {'; cat; echo '};'; } >$@

build/faults/killat: tests/faults/killat.c build/faults/sysnames.h
	$(call say,CC,$<)$(CC) -std=gnu11 $(WARN) $(CFLAGS) -Ibuild/faults -o $@ $<

build/faults/threads: tests/faults/threads.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) -std=gnu11 $(WARN) $(CFLAGS) -pthread -o $@ $<

FAULT_BINS := build/test/medic build/faults/killat build/faults/threads

# Every point of apply and rollback (long: prints how long it took).
check-faults: $(FAULT_BINS)
	@MEDIC=$(CURDIR)/build/test/medic KILLAT=$(CURDIR)/build/faults/killat THREADS=$(CURDIR)/build/faults/threads \
		tests/faults/run

# About FAULTS_SAMPLE points (default 300: ~2.5 minutes on this machine when idle), spread
# over every kind of fault, and no point started after FAULTS_BUDGET seconds (a loaded
# machine runs fewer points, round robin over the kinds, and says how many it left out).
FAULTS_SAMPLE ?= 300
FAULTS_BUDGET ?= 180
check-faults-sample: $(FAULT_BINS)
	@MEDIC=$(CURDIR)/build/test/medic KILLAT=$(CURDIR)/build/faults/killat THREADS=$(CURDIR)/build/faults/threads \
		FAULTS_BUDGET=$(FAULTS_BUDGET) tests/faults/run --sample $(FAULTS_SAMPLE)

# Benchmarks report figures against DESIGN §11's targets; they are not tests (exit 0 unless
# medic itself fails). scale-bench needs root; its knobs are SCALE_* (see its header).
bench: build/medic
	@tests/bench/audit-bench build/medic
	@tests/bench/scale-bench build/medic
	@tests/bench/agent-latency build/medic

bench-audit: build/medic
	@tests/bench/audit-bench build/medic

bench-scale: build/medic
	@tests/bench/scale-bench build/medic

# The test build: the same code, and its agents trace their steps (MEDIC_AGENT_TRACE), so
# the bench says where each kind's time goes.
bench-agent: build/test/medic
	@tests/bench/agent-latency build/test/medic

# The effect on etcd itself (DESIGN §11): a 3-member etcd behind a 100 Mbit lo with and
# without traffic-priority, one etcd on a contended loop device with and without
# io-priority; about 7.5 minutes, bounded at 10 (EFFECT_BUDGET). Not part of `check`.
# EFFECT_ARGS: --quick, --json, --markdown, --only net|disk.
bench-effect: deps
	@$(MAKE) --no-print-directory build/medic $(ETCD_BIN)
	@tests/bench/etcd-effect $(EFFECT_ARGS) build/medic $(ETCD_BIN)

install: build/medic
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/examples $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSCONFDIR)/medic/policy.d $(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0755 build/medic $(DESTDIR)$(BINDIR)/medic
	install -m 0644 policies/etcd.yaml $(DESTDIR)$(DATADIR)/etcd.yaml
	install -m 0644 policies/examples/*.yaml $(DESTDIR)$(DATADIR)/examples/
	install -m 0644 packaging/man/medic.8 $(DESTDIR)$(MANDIR)/man8/medic.8
	install -m 0644 packaging/man/medic.yaml.5 $(DESTDIR)$(MANDIR)/man5/medic.yaml.5
	install -m 0644 packaging/systemd/*.service packaging/systemd/*.timer $(DESTDIR)$(UNITDIR)/
	install -m 0644 packaging/systemd/medic.tmpfiles $(DESTDIR)$(TMPFILESDIR)/medic.conf
	install -m 0644 packaging/logrotate/medic $(DESTDIR)$(SYSCONFDIR)/logrotate.d/medic

# The Debian package, from a copy of the tree with packaging/debian as its debian/ (the
# tree stays clean): build/medic_VERSION_ARCH.deb. Rebuilt only when a source changed.
DEB_SRC := Makefile $(wildcard agent/*.[ch] agent/kernel/*.[ch] actions/*.[ch] actions/checks/*.[ch] policies/*.yaml policies/examples/*.yaml) \
	$(shell find packaging -type f -not -path 'packaging/ansible/*' 2>/dev/null)

deb: $(DEB_FILE)

$(DEB_FILE): $(DEB_SRC)
	@rm -rf build/deb && mkdir -p build/deb/medic
	@cp -a Makefile agent actions policies packaging build/deb/medic/
	@cp -a packaging/debian build/deb/medic/debian
	$(call say,DEB,$@)cd build/deb/medic && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
		{ tail -n 40 ../build.log >&2; exit 1; }
	@mv build/deb/medic_$(DEB_VERSION)_$(DEB_ARCH).deb build/deb/*.buildinfo build/deb/*.changes build/
	@if [ -f build/deb/medic-dbgsym_$(DEB_VERSION)_$(DEB_ARCH).deb ]; then mv build/deb/medic-dbgsym_*.deb build/; fi

clean:
	rm -rf build

.PHONY: all deps audit check-layers unit unit-asan unit-valgrind integration check check-faults check-faults-sample \
	check-vm check-kernel bench bench-audit bench-scale bench-agent install deb clean fuzz fuzz-build check-fuzz
.PHONY: all deps audit unit unit-asan unit-valgrind integration check check-faults check-faults-sample \
	check-vm check-kernel bench bench-audit bench-scale bench-agent bench-effect install deb clean fuzz fuzz-build check-fuzz

-include $(shell find build -name '*.d' -type f 2>/dev/null)
