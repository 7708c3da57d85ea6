# tools/vm/kernels.mk: the extra kernels and DKMS of issue 7, included by
# the top-level Makefile (it provides KDIR, BUILD, initramfs, vm):
#   make check-rt      selftests VM on Debian's PREEMPT_RT kernel
#   make check-debug   selftests VM on the debug kernel (built once, cached)
#   make debug-kernel  only build the debug kernel; prints BZIMAGE=, KDIR=
#   make dkms-check    dkms add/build/install/remove on the installed headers
#   make dkms-install  install with DKMS for every kernel with headers
#   make dkms-uninstall
# Each kernel gets its own BUILD dir ($(BUILD)/rt, $(BUILD)/debug), so its
# initramfs and vm.log stay apart.  bufpool.ko itself is rebuilt in the
# tree for the kernel at hand (kbuild notices the other KDIR).

KERNELS_DEPS := linux-image-rt-amd64 linux-headers-rt-amd64 dkms \
	flex bison libelf-dev bc xz-utils linux-source-6.1

RT_KDIR = $(eval RT_KDIR := $$(shell ls -1d /lib/modules/*-rt-*/build \
	2>/dev/null | sort -V | tail -n 1))$(RT_KDIR)

.PHONY: deps-kernels debug-kernel check-rt check-debug dkms-check \
	dkms-install dkms-uninstall

deps-kernels:
	$(Q)tools/vm/deps.sh $(KERNELS_DEPS)

debug-kernel: deps-kernels
	tools/vm/build-debug-kernel.sh

check-rt: deps-kernels
	+$(Q)kdir='$(RT_KDIR)'; \
	[ -n "$$kdir" ] || { echo "check-rt: no /lib/modules/*-rt-*/build" >&2; exit 1; }; \
	$(MAKE) --no-print-directory initramfs vm KDIR="$$kdir" BUILD=$(BUILD)/rt

check-debug: deps-kernels
	+$(Q)kdir=$$(tools/vm/build-debug-kernel.sh | sed -n 's/^KDIR=//p'); \
	[ -n "$$kdir" ]; \
	$(MAKE) --no-print-directory initramfs vm KDIR="$$kdir" BUILD=$(BUILD)/debug

dkms-check: deps-kernels
	tools/vm/dkms-check.sh check

dkms-install: deps-kernels
	tools/vm/dkms-check.sh install

dkms-uninstall:
	tools/vm/dkms-check.sh uninstall
