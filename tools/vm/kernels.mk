# tools/vm/kernels.mk: the kernel matrix and DKMS, included by the
# top-level Makefile (it provides KDIR, BUILD, initramfs, vm):
#   make lanes         list the lanes: every kernel series with headers
#                      (6.1, 6.12 on bookworm), stock and PREEMPT_RT
#   make check-lane LANE=<lane>
#                      W=1/sparse build for that kernel, then the
#                      selftests VM on it (LANE=debug: the debug kernel)
#   make check-rt      the same on the newest PREEMPT_RT kernel
#   make check-debug   the same on the debug kernel (built once, cached)
#   make debug-kernel  only build the debug kernel; prints BZIMAGE=, KDIR=
#   make dkms-check    dkms add, autoinstall for every kernel, remove
#   make dkms-install  install with DKMS for every kernel with headers
#   make dkms-uninstall
# Lanes share $(BUILD) (test programs do not depend on the kernel); each
# keeps its console log as $(BUILD)/vm-<lane>.log.  bufpool.ko itself is
# rebuilt in the tree for the kernel at hand (kbuild notices the other
# KDIR).

KERNELS_DEPS := dkms flex bison libelf-dev bc xz-utils
# KASAN, lockdep and kmemleak under TCG on a shared machine: the whole
# debug VM run gets more time than the others (hangs are still caught by
# the per-program @timeout of the phase file).
DEBUG_VM_TIMEOUT ?= 1800
# The fuzzer's calls are ~20x dearer there: a tenth of them still walks
# every path.  The kernel passes unknown name=value words of its command
# line to /init as environment variables, which the tests inherit.
DEBUG_VM_APPEND ?= BUFPOOL_FUZZ_CALLS=5000

.PHONY: deps-kernels lanes check-lane debug-kernel check-rt check-debug \
	dkms-check dkms-install dkms-uninstall

deps-kernels:
	$(Q)tools/vm/deps.sh --kernels $(KERNELS_DEPS)

lanes: deps-kernels
	$(Q)tools/vm/kver.sh lanes

debug-kernel: deps-kernels
	tools/vm/build-debug-kernel.sh

# Both halves run; the lane fails if either did.  The VM's verdict
# ("N passed, N failed") stays the last line.
check-lane: deps-kernels
	+$(Q)lane='$(LANE)'; \
	if [ "$$lane" = debug ]; then \
		kdir=$$(tools/vm/build-debug-kernel.sh | sed -n 's/^KDIR=//p'); \
	else \
		kdir=$$(tools/vm/kver.sh lanes | \
			awk -v l="$$lane" '$$1 == l { print $$2 }'); \
	fi; \
	[ -n "$$kdir" ] || { echo "check-lane: no lane '$$lane'; lanes:" \
		$$(tools/vm/kver.sh lanes | cut -d' ' -f1) debug >&2; exit 1; }; \
	echo "check-lane: $$lane: $$kdir ($$(tools/vm/kver.sh release "$$kdir"))"; \
	rc=0; \
	$(MAKE) --no-print-directory lint-kbuild KDIR="$$kdir" || rc=1; \
	$(MAKE) --no-print-directory initramfs vm KDIR="$$kdir" \
		VM_LOG=$(BUILD)/vm-$$lane.log \
		$$([ "$$lane" != debug ] || echo VM_TIMEOUT=$(DEBUG_VM_TIMEOUT) \
			VM_APPEND=$(DEBUG_VM_APPEND)) || rc=1; \
	exit $$rc

check-rt: deps-kernels
	+$(Q)lane=$$(tools/vm/kver.sh lanes | awk '$$1 ~ /-rt$$/ { l = $$1 } END { print l }'); \
	[ -n "$$lane" ] || { echo "check-rt: no /lib/modules/*-rt-*/build" >&2; exit 1; }; \
	$(MAKE) --no-print-directory check-lane LANE="$$lane"

check-debug:
	+$(Q)$(MAKE) --no-print-directory check-lane LANE=debug

dkms-check: deps-kernels
	tools/vm/dkms-check.sh check

dkms-install: deps-kernels
	tools/vm/dkms-check.sh install

dkms-uninstall:
	tools/vm/dkms-check.sh uninstall
