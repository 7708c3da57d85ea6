// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool_cxx_test - the uapi header from C++: a C++17 program includes
 * <linux/bufpool.h> and drives the ABI end to end (INFO, ALLOC by
 * alloc_class, mmap, RELEASE, STATS).  Prints TAP with a kselftest-style
 * totals line and exits non-zero when a check fails.  Needs the module
 * loaded and a pool with room for two NORMAL buffers (any limit above
 * reserve + 1: the defaults do); run as a user who may open the device.
 */
#include <cerrno>
#include <cstddef>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/bufpool.h>

namespace {

// The ABI's layout is the same for C++ as for C (bufpool_uapi.c).
static_assert(sizeof(bufpool_alloc) == 48, "struct bufpool_alloc size");
static_assert(sizeof(bufpool_release) == 32, "struct bufpool_release size");
static_assert(sizeof(bufpool_info) == 40, "struct bufpool_info size");
static_assert(sizeof(bufpool_stats) == 176, "struct bufpool_stats size");
static_assert(offsetof(bufpool_stats, quarantined) == 152,
	      "struct bufpool_stats: quarantined follows the first version");
static_assert(offsetof(bufpool_stats, shrunk) == 160,
	      "struct bufpool_stats: shrunk follows quarantined");
static_assert(offsetof(bufpool_stats, drains) == 168,
	      "struct bufpool_stats: drains follows shrunk");
static_assert(std::is_standard_layout<bufpool_alloc>::value &&
	      std::is_trivially_copyable<bufpool_stats>::value,
	      "uapi structures are plain data");

constexpr unsigned long long patience_ns = 10ULL * 1000 * 1000 * 1000;

class Tap {
public:
	void check(bool ok, const std::string &what)
	{
		++n_;
		(ok ? pass_ : fail_)++;
		std::printf("%sok %u - %s\n", ok ? "" : "not ", n_, what.c_str());
		std::fflush(stdout);
	}
	void diag(const std::string &msg)
	{
		std::printf("# %s\n", msg.c_str());
	}
	int finish(unsigned int planned)
	{
		while (n_ < planned)
			check(false, "not reached");
		std::printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:0 error:0\n",
			    pass_, fail_);
		return fail_ ? EXIT_FAILURE : EXIT_SUCCESS;
	}

private:
	unsigned int n_ = 0, pass_ = 0, fail_ = 0;
};

// An open /dev/bufpool: one entity, closed (and its buffers given back)
// when it goes out of scope.
class Pool {
public:
	Pool() : fd_(open("/dev/" BUFPOOL_DEVICE_NAME, O_RDWR | O_CLOEXEC)) {}
	~Pool()
	{
		if (fd_ >= 0)
			close(fd_);
	}
	Pool(const Pool &) = delete;
	Pool &operator=(const Pool &) = delete;

	bool ok() const { return fd_ >= 0; }
	int fd() const { return fd_; }

	template <typename T> int call(unsigned long cmd, T &arg) const
	{
		arg.size = sizeof(arg);
		return ioctl(fd_, cmd, &arg) < 0 ? -errno : 0;
	}

	int alloc(__u32 cls, std::vector<__u32> &ids) const
	{
		bufpool_alloc a{};

		a.alloc_class = cls;
		a.count = static_cast<__u32>(ids.size());
		a.timeout_ns = patience_ns;
		a.ids_ptr = reinterpret_cast<std::uintptr_t>(ids.data());
		return call(BUFPOOL_IOC_ALLOC, a);
	}

	int release(const std::vector<__u32> &ids) const
	{
		bufpool_release r{};

		r.count = static_cast<__u32>(ids.size());
		r.ids_ptr = reinterpret_cast<std::uintptr_t>(ids.data());
		return call(BUFPOOL_IOC_RELEASE, r);
	}

	int stats(bufpool_stats &st) const { return call(BUFPOOL_IOC_STATS, st); }

private:
	int fd_;
};

// A mapping of one held buffer, unmapped when it goes out of scope.
class Mapping {
public:
	Mapping(const Pool &pool, __u32 id, size_t len) : len_(len)
	{
		void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			       pool.fd(), static_cast<off_t>(id) * len);

		err_ = p == MAP_FAILED ? errno : 0;
		p_ = p == MAP_FAILED ? nullptr : static_cast<unsigned char *>(p);
	}
	~Mapping()
	{
		if (p_)
			munmap(p_, len_);
	}
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;

	unsigned char *data() const { return p_; }
	int error() const { return err_; }

private:
	unsigned char *p_;
	size_t len_;
	int err_;
};

std::string err_str(int ret)
{
	return ret ? std::string(" (") + std::strerror(-ret) + ")" : "";
}

bool all_bytes(const unsigned char *p, size_t len, unsigned char c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

} // namespace

int main()
{
	constexpr unsigned int planned = 9;
	Tap tap;

	std::printf("TAP version 13\n1..%u\n", planned);
	Pool pool;
	tap.check(pool.ok(), std::string("open /dev/" BUFPOOL_DEVICE_NAME) +
		  (pool.ok() ? "" : err_str(-errno)));
	if (!pool.ok())
		return tap.finish(planned);

	bufpool_info info{};
	int ret = pool.call(BUFPOOL_IOC_INFO, info);
	tap.check(!ret && info.abi_version == BUFPOOL_ABI_VERSION &&
		  info.nr_classes == BUFPOOL_NR_CLASSES &&
		  (info.features & BUFPOOL_FEAT_MMAP) && info.bufsize > 0,
		  "INFO: abi " + std::to_string(info.abi_version) + ", " +
		  std::to_string(info.nr_classes) + " classes, bufsize " +
		  std::to_string(info.bufsize) + err_str(ret));

	bufpool_stats before{};
	ret = pool.stats(before);
	tap.check(!ret && before.bufsize == info.bufsize,
		  "STATS: bufsize matches INFO" + err_str(ret));
	if (ret || !info.bufsize)
		return tap.finish(planned);
	const size_t len = info.bufsize;

	std::vector<__u32> ids(2);
	ret = pool.alloc(BUFPOOL_CLASS_NORMAL, ids);
	tap.check(!ret && ids[0] != ids[1],
		  "ALLOC 2 by alloc_class NORMAL: ids " + std::to_string(ids[0]) +
		  ", " + std::to_string(ids[1]) + err_str(ret));
	if (ret)
		return tap.finish(planned);

	bool zeroed = true, kept = true, mapped = true;
	{
		Mapping m0(pool, ids[0], len), m1(pool, ids[1], len);

		mapped = m0.data() && m1.data();
		if (mapped) {
			zeroed = all_bytes(m0.data(), len, 0) &&
				 all_bytes(m1.data(), len, 0);
			std::memset(m0.data(), 0xa5, len);
			std::memset(m1.data(), 0x5a, len);
			kept = all_bytes(m0.data(), len, 0xa5) &&
			       all_bytes(m1.data(), len, 0x5a);
		} else {
			tap.diag("mmap: " + std::string(std::strerror(
				 m0.data() ? m1.error() : m0.error())));
		}
	}
	tap.check(mapped && zeroed, "mmap both: each starts zeroed");
	tap.check(mapped && kept, "each keeps its own data");

	bufpool_stats held{};
	ret = pool.stats(held);
	tap.check(!ret && held.in_use >= 2 &&
		  held.allocations >= before.allocations + 1,
		  "STATS: in use " + std::to_string(held.in_use) +
		  ", allocations +" +
		  std::to_string(held.allocations - before.allocations) +
		  err_str(ret));

	ret = pool.release(ids);
	tap.check(!ret, "RELEASE both" + err_str(ret));

	bufpool_stats after{};
	int sret = pool.stats(after);
	Mapping stale(pool, ids[0], len);
	tap.check(!sret && after.releases >= held.releases + 2 &&
		  !stale.data() && stale.error() == EACCES,
		  "STATS: releases +" +
		  std::to_string(after.releases - held.releases) +
		  "; a released buffer cannot be mapped" + err_str(sret));

	return tap.finish(planned);
}
