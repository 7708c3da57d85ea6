# SPDX-License-Identifier: GPL-2.0
#
# Makefile - build, lint and test bufpool.  `make help` lists the targets.
#
# The module itself is built by kbuild from ./Kbuild.  Overridable:
#   KDIR    kbuild dir (default: the running kernel's
#           /lib/modules/$(uname -r)/build, else the newest
#           /lib/modules/*/build, non-rt first)
#   KERNEL  image booted in the VM (default: the one matching KDIR)
#   BUILD   output dir for test programs, initramfs, logs (default: build)
#   PHASES  VM phase file (default: selftests/vm-phases)
#   VM_TIMEOUT VM_CPUS VM_MEM VM_APPEND   QEMU run (900 s, 2, 512 MB, "")
#   VM_LOG  the VM's console log (default: $(BUILD)/vm.log)
#   RUN_PARAMS  module parameters for `make run`

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := all

# Evaluated once, and only when used (deps may install the kernel first).
ifeq ($(origin KDIR),undefined)
KDIR = $(eval KDIR := $$(shell tools/vm/kver.sh kdir))$(KDIR)
endif
ifeq ($(origin KERNEL),undefined)
KERNEL = $(eval KERNEL := $$(shell tools/vm/kver.sh kernel $(KDIR)))$(KERNEL)
endif
KSRC = $(eval KSRC := $$(shell tools/vm/kselftest-headers.sh))$(KSRC)
KSFT_INC = $(KSRC)/tools/testing/selftests

BUILD ?= build
PHASES ?= selftests/vm-phases
VM_TIMEOUT ?= 900
VM_CPUS ?= 2
VM_MEM ?= 512
VM_APPEND ?=
VM_LOG ?= $(BUILD)/vm.log
RUN_PARAMS ?=

# selftests/Makefile (kselftest style) builds the selftests and names
# them, in the order they run.
SELFTEST_SRCS := $(wildcard selftests/*.c)
SELFTEST_PROGS = $(eval SELFTEST_PROGS := $$(shell MAKEFLAGS= $(MAKE) -s \
	--no-print-directory -C selftests print-progs))$(SELFTEST_PROGS)
SELFTESTS = $(SELFTEST_PROGS:%=$(BUILD)/selftests/%)
TOOL_SRCS := $(wildcard tools/*.c)
TOOLS := $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%)
# The uapi header from C++: static C++17 programs the VM runs like tools
CXX_TEST_SRCS := $(wildcard tools/testing/uapi/*.cc)
CXX_TESTS := $(CXX_TEST_SRCS:tools/testing/uapi/%.cc=$(BUILD)/tools/%)
UAPI_HDRS := $(wildcard uapi/linux/*.h)

# Test programs are static: the VM has no libc.
# -Wno-unused-parameter: the functions kselftest_harness.h's TEST() and
# FIXTURE macros generate take parameters most tests do not use.
# -Wno-clobbered: 6.12's harness runs each test under vfork(), which gcc
# flags in the harness's own code, not ours.
USER_CFLAGS ?= -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-clobbered
USER_CPPFLAGS = -Iuapi -I$(KSFT_INC)
USER_LDFLAGS ?= -static -pthread
USER_CXXFLAGS ?= -std=c++17 -O2 -g -Wall -Wextra -pedantic

# checkpatch.pl --strict --no-tree on everything we write.  Ignored
# checks, each with its reason.  Kernel code (module/, uapi/): none.
CHECKPATCH_FLAGS := --strict --no-tree --show-types --quiet
CHECKPATCH_IGNORE :=
# Userspace code (selftests/, tools/): none either.  (If one is ever
# needed: PREFER_DEFINED_ATTRIBUTE_MACRO and PREFER_KERNEL_TYPES ask for
# kernel-only macros and typedefs that userspace does not have.)
CHECKPATCH_USER_IGNORE :=
# module/bufpool_compat.h exists to compare LINUX_VERSION_CODE: it alone is
# checked without LINUX_VERSION_CODE and CONSTANT_COMPARISON (the version
# test reads best as "kernel < version"); any other file that tests the
# version still fails.
CHECKPATCH_COMPAT_FILES := module/bufpool_compat.h
CHECKPATCH_COMPAT_IGNORE := LINUX_VERSION_CODE CONSTANT_COMPARISON
CHECKPATCH_KERNEL_FILES = $(filter-out $(CHECKPATCH_COMPAT_FILES) %.mod.c, \
	$(wildcard module/*.c module/*.h uapi/linux/*.h tools/bench/kbench/*.c))
CHECKPATCH_USER_FILES = $(wildcard selftests/*.c selftests/*.h tools/*.c tools/*.h)

Q := $(if $(V:0=),,@)

.PHONY: check-stock unit all modules modules_install clean selftests tools initramfs \
	initramfs-run run check lint lint-src lint-checkpatch lint-kbuild lint-user \
	lint-compat lint-uapi lint-dkms deps vm help

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

modules_install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

clean:
	-[ -z "$(wildcard /lib/modules/*/build)" ] || \
		$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD)
	$(MAKE) -C tools/testing/bufpool clean

deps:
	$(Q)tools/vm/deps.sh

selftests:
	$(MAKE) -C selftests OUTPUT=$(abspath $(BUILD))/selftests \
		KSFT_INC=$(KSFT_INC) UAPI_INC=$(CURDIR)/uapi

# The core built in userspace: unit tests, ASan/UBSan, TSan stress,
# bounded fuzzing, model check, microbenchmark (tools/testing/bufpool).
unit:
	$(MAKE) -C tools/testing/bufpool unit

tools: $(TOOLS) $(CXX_TESTS)

$(BUILD)/tools/%: tools/%.c $(wildcard tools/*.h) $(UAPI_HDRS)
	$(Q)mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(USER_CPPFLAGS) $(USER_LDFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/tools/%: tools/testing/uapi/%.cc $(UAPI_HDRS)
	$(Q)mkdir -p $(@D)
	$(CXX) $(USER_CXXFLAGS) -Iuapi $(USER_LDFLAGS) -o $@ $<

# The test VM: phases from $(PHASES), every selftest and tool packed.
# The udev rule goes where udev would read it; the perm test applies it.
VM_DATA := tools/udev/60-bufpool.rules:/etc/udev/rules.d/60-bufpool.rules
# Kernel modules of the booted kernel the I/O tests need, NAME[:PARAMS]
# (mkinitramfs.sh -m): null_blk without its default device (the tests
# create theirs through configfs), loop.
VM_KMODS ?= null_blk:nr_devices=0 loop

initramfs: modules selftests tools $(foreach d,$(VM_DATA),$(firstword $(subst :, ,$(d))))
	tools/vm/mkinitramfs.sh -o $(BUILD)/initramfs.cpio.gz -k bufpool.ko \
		-p $(PHASES) $(addprefix -t ,$(SELFTESTS)) \
		$(addprefix -x ,$(TOOLS) $(CXX_TESTS)) $(addprefix -d ,$(VM_DATA)) \
		-r $$(tools/vm/kver.sh release $(KDIR)) $(addprefix -m ,$(VM_KMODS))

# `make run`: one phase that runs bufpool-demo (tools/bufpool-demo.c)
# if it exists, else only insmod/rmmod.
initramfs-run: modules tools
	$(Q)mkdir -p $(BUILD)
	$(Q)echo "$(or $(RUN_PARAMS),-) : $(if $(filter %/bufpool-demo,$(TOOLS)),=bufpool-demo)" \
		> $(BUILD)/run-phases
	tools/vm/mkinitramfs.sh -o $(BUILD)/initramfs-run.cpio.gz -k bufpool.ko \
		-p $(BUILD)/run-phases $(addprefix -x ,$(TOOLS))

# Boot the last initramfs built (make initramfs) and judge the log.
vm:
	tools/vm/vm-run.sh -k $(KERNEL) -i $(BUILD)/initramfs.cpio.gz \
		-l $(VM_LOG) -t $(VM_TIMEOUT) -c $(VM_CPUS) -m $(VM_MEM) \
		-a "$(VM_APPEND)"

# The README's test command (tools/vm/check-all.sh): lint, the core
# harness, the selftests on every kernel of the matrix (make lanes:
# 6.1 and 6.12, stock and PREEMPT_RT, on bookworm) and the debug kernel,
# and the DKMS check.
check:
	+$(Q)tools/vm/check-all.sh

# deps, lint, unit, build, initramfs, VM on the stock kernel: timed, one
# summary at the end.  The quick loop while developing.
check-stock:
	+$(Q)tools/vm/check.sh check

run:
	+$(Q)tools/vm/check.sh run

# All of them run even when one fails; lint fails if any did.  lint-src
# is all but the kbuild pass (make check runs that once per kernel), and
# the bench report's own test (host only, seconds) rides along.
LINT_SRC := lint-checkpatch lint-user lint-compat lint-uapi lint-dkms bench-test
lint lint-src:
	+$(Q)rc=0; for t in $(LINT_SRC) $(if $(filter lint,$@),lint-kbuild); do \
		$(MAKE) --no-print-directory $$t || rc=1; \
	done; \
	[ $$rc -eq 0 ] && echo "$@: clean" || echo "$@: FAILED" >&2; \
	exit $$rc

lint-checkpatch:
	+$(Q)rc=0; \
	perl $(KSRC)/scripts/checkpatch.pl $(CHECKPATCH_FLAGS) \
		$(addprefix --ignore ,$(CHECKPATCH_IGNORE)) \
		-f $(CHECKPATCH_KERNEL_FILES) || rc=1; \
	perl $(KSRC)/scripts/checkpatch.pl $(CHECKPATCH_FLAGS) \
		$(addprefix --ignore ,$(CHECKPATCH_IGNORE) $(CHECKPATCH_COMPAT_IGNORE)) \
		-f $(CHECKPATCH_COMPAT_FILES) || rc=1; \
	$(if $(CHECKPATCH_USER_FILES), \
	perl $(KSRC)/scripts/checkpatch.pl $(CHECKPATCH_FLAGS) \
		$(addprefix --ignore ,$(CHECKPATCH_IGNORE) $(CHECKPATCH_USER_IGNORE)) \
		-f $(CHECKPATCH_USER_FILES) || rc=1;) \
	[ $$rc -eq 0 ] && echo "checkpatch: clean" || echo "checkpatch: FAILED" >&2; \
	exit $$rc

# sparse (C=2 checks every file, CF=-Wsparse-error makes findings fatal)
# and W=1 in one kbuild pass; any "warning:" fails it too.
lint-kbuild:
	$(Q)mkdir -p $(BUILD)
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 C=2 CF=-Wsparse-error modules \
		2>&1 | tee $(BUILD)/lint-kbuild.log
	$(Q)! grep -i 'warning:' $(BUILD)/lint-kbuild.log || \
		{ echo "lint: warnings in the W=1 build" >&2; false; }

lint-user:
	$(Q)for f in $(SELFTEST_SRCS) $(TOOL_SRCS); do \
		echo "  CC -fsyntax-only -Werror $$f"; \
		$(CC) $(USER_CFLAGS) -Werror $(USER_CPPFLAGS) -fsyntax-only $$f; \
	done
	$(Q)for f in $(CXX_TEST_SRCS); do \
		echo "  CXX -fsyntax-only -Werror $$f"; \
		$(CXX) $(USER_CXXFLAGS) -Werror -Iuapi -fsyntax-only $$f; \
	done

# Kernel versions are tested in module/bufpool_compat.h and nowhere else.
COMPAT_RE := LINUX_VERSION_CODE|KERNEL_VERSION *\(|linux/version\.h
lint-compat:
	$(Q)! grep -nE '$(COMPAT_RE)' $(filter-out module/bufpool_compat.h, \
		$(wildcard module/*.[ch] uapi/linux/*.h Kbuild)) || \
		{ echo "lint: kernel version test outside module/bufpool_compat.h" >&2; false; }
	$(Q)echo "compat: version tests only in module/bufpool_compat.h"

# The uapi header on its own, as C89 and C11 (gcc -pedantic) and as
# C++17 (g++), -Werror: tools/testing/uapi/bufpool_uapi.c includes only
# it, uses its names and asserts the structure sizes.
UAPI_TEST := tools/testing/uapi/bufpool_uapi.c
UAPI_WFLAGS := -Wall -Wextra -Werror -pedantic -fsyntax-only -Iuapi
lint-uapi:
	$(Q)for std in c89 c11; do \
		echo "  CC -std=$$std $(UAPI_TEST)"; \
		$(CC) -std=$$std $(UAPI_WFLAGS) $(UAPI_TEST) || exit 1; \
	done
	$(Q)echo "  CXX -std=c++17 $(UAPI_TEST)"
	$(Q)$(CXX) -std=c++17 $(UAPI_WFLAGS) -x c++ $(UAPI_TEST)

# dkms.conf holds the version literally (dkms and its helpers read it
# without running it): it must be VERSION's.
lint-dkms:
	$(Q)v=$$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf); \
	[ "$$v" = "$$(cat VERSION)" ] || \
		{ echo "lint: dkms.conf PACKAGE_VERSION '$$v' is not VERSION's '$$(cat VERSION)'" >&2; false; }
	$(Q)echo "dkms.conf: version $$(cat VERSION)"

help:
	@sed -n '/^# Makefile/,/^$$/s/^# \{0,1\}//p' Makefile
	@echo "Targets: all/modules modules_install clean deps selftests tools unit"
	@echo "         initramfs lint check check-stock run vm help"
	@echo "         lanes check-lane check-rt check-debug debug-kernel dkms-check"
	@echo "         dkms-install dkms-uninstall bench kbench bench-test"

# The kernel matrix and DKMS: lanes check-lane check-rt check-debug
# debug-kernel dkms-check dkms-install dkms-uninstall (tools/vm/kernels.mk).
include tools/vm/kernels.mk

# --- issue 6: benchmarks (never part of `make check`) -----------------------
# bench: one VM boot running tools/bench/vm-phases; table, build/bench/
#        results.json and bench.png (tools/bench/bench.sh, BENCHMARKS.md).
#        BENCH_BASE=<git rev>: that revision's module, kbench module and
#        bench tool built too and run alternately with this tree's in the
#        same boot, build/bench/before-after.md.  BENCH_* knobs: bench.sh.
# kbench: the in-kernel bench module, against this bufpool.ko's symbols.
# bench-test: the report's awk on made-up lines, on the host.
.PHONY: bench kbench bench-test
bench:
	+$(Q)tools/bench/bench.sh

bench-test:
	$(Q)tools/bench/kbench-pairs-test.sh

kbench: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR)/tools/bench/kbench \
		KBUILD_EXTRA_SYMBOLS=$(CURDIR)/Module.symvers modules
