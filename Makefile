# medic — host remediation agent for etcd nodes
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr
DESTDIR ?=
BINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share/medic
MANDIR ?= $(PREFIX)/share/man
CC ?= cc
V ?= 0

PKGS := libnl-3.0 libnl-route-3.0 libnl-genl-3.0 yaml-0.1 libsystemd libcap json-c
# Debian packages for building and testing; `make deps` installs the missing ones.
DEB_DEPS := build-essential pkg-config libnl-3-dev libnl-route-3-dev libnl-genl-3-dev \
	libyaml-dev libsystemd-dev libcap-dev libjson-c-dev libcmocka-dev \
	iproute2 ethtool util-linux mount e2fsprogs strace procps valgrind python3 \
	qemu-system-x86 busybox-static kmod cpio

WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	-Wformat=2 -Wno-format-nonliteral -Wpointer-arith -Wvla -Wundef
CFLAGS ?= -O2 -g
BASE_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) -MMD -MP -DMEDIC_DATADIR='"$(DATADIR)"' \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libsystemd is loaded on demand (agent/sdlib.c): its headers are used, it is not linked.
LDLIBS = $(shell $(PKG_CONFIG) --libs $(filter-out libsystemd,$(PKGS)) 2>/dev/null) -ldl
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

ifeq ($(V),0)
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
say =
endif

LIB_SRC := $(filter-out agent/main.c,$(wildcard agent/*.c)) $(wildcard actions/*.c)
LIB_OBJ := $(LIB_SRC:%.c=build/%.o)
LIB_ASAN_OBJ := $(LIB_SRC:%.c=build/asan/%.o)
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
UNIT_ASAN_BIN := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

all: build/medic

build/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(BASE_CFLAGS) $(CFLAGS) -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC-SAN,$<)$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN) -c -o $@ $<

build/medic: build/agent/main.o $(LIB_OBJ)
	$(call say,LD,$@)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/asan/medic: build/asan/agent/main.o $(LIB_ASAN_OBJ)
	$(call say,LD-SAN,$@)$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

build/tests/%: build/tests/%.o $(LIB_OBJ)
	$(call say,LD,$@)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

build/asan/tests/%: build/asan/tests/%.o $(LIB_ASAN_OBJ)
	$(call say,LD-SAN,$@)$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

build/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(BASE_CFLAGS) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<

build/asan/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(call say,CC-SAN,$<)$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN) -Wno-missing-prototypes -c -o $@ $<

.PRECIOUS: build/tests/%.o build/asan/tests/%.o

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

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "  UNIT  $$t"; MEDIC_TEST_DATA=$(CURDIR)/tests/data $$t || exit 1; done

unit-asan: $(UNIT_ASAN_BIN)
	@for t in $(UNIT_ASAN_BIN); do echo "  ASAN  $$t"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 MEDIC_TEST_DATA=$(CURDIR)/tests/data $$t || exit 1; done

unit-valgrind: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "  VGRIND $$t"; \
		MEDIC_TEST_DATA=$(CURDIR)/tests/data valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 $$t >/dev/null || exit 1; done

integration: build/medic build/asan/medic $(ETCD_BIN)
	@MEDIC=$(CURDIR)/build/medic MEDIC_ASAN=$(CURDIR)/build/asan/medic ETCD=$(ETCD_BIN) tests/integration/run

# The stock-kernel tier (tests/vm/): Debian 12's own kernel, from its linux-image-amd64
# package unpacked into build/vm/ (never installed), under QEMU with TCG, with this host's
# /usr and /etc shared read-only. check-vm runs the subset this kernel is needed for (the prio
# backend end to end, mount options on a mountinfo without 6.8's unique mount id, sch_prio
# present but refused), bounded by MEDIC_VM_SUBSET_TIMEOUT; it says "skipped: why" and
# passes where QEMU cannot run. check-kernel runs the whole integration suite there.
VM_SUBSET := test-tc-prio-kernel test-tc-prio-devices test-mount-loop-bind test-mount-ro-strict \
	test-zz-prio-refused
MEDIC_VM_SUBSET_TIMEOUT ?= 360
MEDIC_VM_KERNEL_TIMEOUT ?= 5400

check-vm: build/medic $(ETCD_BIN)
	@rc=0; MEDIC=$(CURDIR)/build/medic ETCD=$(ETCD_BIN) MEDIC_VM_TIMEOUT=$(MEDIC_VM_SUBSET_TIMEOUT) \
		tests/vm/run-in-vm $(VM_SUBSET) || rc=$$?; \
	case $$rc in 0) ;; 77) echo "  VM     stock-kernel subset skipped";; *) exit $$rc;; esac

check-kernel: deps
	@$(MAKE) --no-print-directory build/medic $(ETCD_BIN)
	@MEDIC=$(CURDIR)/build/medic ETCD=$(ETCD_BIN) MEDIC_VM_TIMEOUT=$(MEDIC_VM_KERNEL_TIMEOUT) tests/vm/run-in-vm

check: deps
	@$(MAKE) --no-print-directory all build/asan/medic
	@$(MAKE) --no-print-directory unit unit-asan unit-valgrind integration check-vm

bench: build/medic
	@tests/bench/audit-bench build/medic

install: build/medic
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 build/medic $(DESTDIR)$(BINDIR)/medic
	install -m 0644 policies/etcd.yaml $(DESTDIR)$(DATADIR)/etcd.yaml
	install -m 0644 packaging/man/medic.8 $(DESTDIR)$(MANDIR)/man8/medic.8

clean:
	rm -rf build

.PHONY: all deps audit unit unit-asan unit-valgrind integration check check-vm check-kernel bench install clean

-include $(shell find build -name '*.d' -type f 2>/dev/null)
