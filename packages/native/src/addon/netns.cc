// Netlink sockets and network namespaces. A socket belongs to the network namespace it was made
// in, so a socket for another namespace is made on a short-lived thread that entered it: Node's
// own threads never leave the host namespace, and one process can talk to many namespaces.
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <thread>

#include "addon.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace corral {

namespace {

// The outcome of work done on a private thread: a value, or the errno and call that failed.
struct ThreadResult {
  int value = -1;
  int err = 0;
  const char *syscall = nullptr;
};

// Runs `work` on a fresh thread and waits for it. The thread's namespace changes die with it.
template <typename Work>
ThreadResult OnPrivateThread(Work work) {
  ThreadResult result;
  try {
    std::thread thread([&result, &work] { result = work(); });
    thread.join();
  } catch (const std::system_error &error) {
    return ThreadResult{-1, error.code().value(), "pthread_create"};
  }
  return result;
}

ThreadResult Failure(const char *syscall) { return ThreadResult{-1, errno, syscall}; }

// A bound, non-blocking, close-on-exec netlink socket in the calling thread's namespace.
ThreadResult MakeNetlinkSocket(int protocol) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) return Failure("socket");
  int on = 1;
  // Both are refinements (error strings, strict dump filtering): older kernels lack them.
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof(on));
  struct sockaddr_nl local = {};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<struct sockaddr *>(&local), sizeof(local))) {
    ThreadResult failed = Failure("bind");
    close(fd);
    return failed;
  }
  return ThreadResult{fd, 0, nullptr};
}

std::string StringArg(const Napi::CallbackInfo &info, size_t index, const char *name) {
  if (index >= info.Length() || !info[index].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  }
  return info[index].As<Napi::String>();
}

Napi::Value Unwrap(Napi::Env env, const ThreadResult &result) {
  if (result.syscall) ThrowErrno(env, result.err, result.syscall);
  return Napi::Number::New(env, result.value);
}

}  // namespace

// netlinkSocket(protocol, netnsFd) -> fd. netnsFd -1 means the namespace of the caller.
static Napi::Value NetlinkSocket(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "protocol must be a number");
  int protocol = info[0].As<Napi::Number>().Int32Value();
  int netns = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : -1;
  if (netns < 0) return Unwrap(env, MakeNetlinkSocket(protocol));
  return Unwrap(env, OnPrivateThread([netns, protocol] {
                  if (setns(netns, CLONE_NEWNET)) return Failure("setns");
                  return MakeNetlinkSocket(protocol);
                }));
}

// netnsCreate(path): a new network namespace kept alive by a bind mount on `path` (a file that
// must exist). The namespace is made by a thread that unshares and then ends.
static Napi::Value NetnsCreate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  return Unwrap(env, OnPrivateThread([&path] {
                  if (unshare(CLONE_NEWNET)) return Failure("unshare");
                  if (mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr)) {
                    return Failure("mount");
                  }
                  return ThreadResult{0, 0, nullptr};
                }));
}

// netnsUnmount(path): detaches the bind mount that keeps a namespace alive.
static Napi::Value NetnsUnmount(const Napi::CallbackInfo &info) {
  std::string path = StringArg(info, 0, "path");
  if (umount2(path.c_str(), MNT_DETACH)) ThrowErrno(info.Env(), errno, "umount2");
  return info.Env().Undefined();
}

// mountMakeShared(dir): makes `dir` a shared mount point (bind-mounting it on itself first when
// it is not one), so namespace mounts under it are unmounted in every mount namespace at once.
static Napi::Value MountMakeShared(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string dir = StringArg(info, 0, "dir");
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return env.Undefined();
  if (errno != EINVAL) ThrowErrno(env, errno, "mount");
  if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr)) ThrowErrno(env, errno, "mount");
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr)) ThrowErrno(env, errno, "mount");
  return env.Undefined();
}

// namespaceType(path): the CLONE_NEW* type of the namespace file at `path` (a /proc/PID/ns link
// or a bind mount of one), or 0 when it is no namespace file. Opened non-blocking, so a FIFO
// there cannot hang the caller.
static Napi::Value NamespaceType(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) ThrowErrno(env, errno, "open");
  int type = ioctl(fd, NS_GET_NSTYPE);
  int err = errno;
  close(fd);
  if (type < 0 && err != ENOTTY && err != EINVAL) ThrowErrno(env, err, "ioctl");
  return Napi::Number::New(env, type < 0 ? 0 : type);
}

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("namespaceType", Napi::Function::New(env, NamespaceType));
  exports.Set("netlinkSocket", Napi::Function::New(env, NetlinkSocket));
  exports.Set("netnsCreate", Napi::Function::New(env, NetnsCreate));
  exports.Set("netnsUnmount", Napi::Function::New(env, NetnsUnmount));
  exports.Set("mountMakeShared", Napi::Function::New(env, MountMakeShared));
}

}  // namespace corral
