// Descriptors Node cannot make: SOCK_SEQPACKET pairs and sealed executable copies.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "addon.h"

// Older libc headers lack it; the kernel has had it since 6.3.
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace corral {

static Napi::Value SocketpairSeqpacket(const Napi::CallbackInfo &info) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds)) ThrowErrno(info.Env(), errno, "socketpair");
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, fds[0]);
  result.Set(1u, fds[1]);
  return result;
}

// A memfd copy of an executable, sealed so nothing (a container writing through
// /proc/PID/exe among others) can change it: the CVE-2019-5736 class.
static Napi::Value SealedExecutableCopy(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
  std::string path = info[0].As<Napi::String>();
  int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) ThrowErrno(env, errno, "open");
  struct stat st;
  if (fstat(src, &st)) {
    int err = errno;
    close(src);
    ThrowErrno(env, err, "fstat");
  }
  unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
#ifdef MFD_EXEC
  flags |= MFD_EXEC;
#endif
  int mem = memfd_create("corral-init", flags);
#ifdef MFD_EXEC
  if (mem < 0 && errno == EINVAL) mem = memfd_create("corral-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
#endif
  if (mem < 0) {
    int err = errno;
    close(src);
    ThrowErrno(env, err, "memfd_create");
  }
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(mem, src, nullptr, static_cast<size_t>(left));
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(src);
      close(mem);
      ThrowErrno(env, err, "sendfile");
    }
    left -= n;
  }
  close(src);
  if (fchmod(mem, 0555)) {
    int err = errno;
    close(mem);
    ThrowErrno(env, err, "fchmod");
  }
  // F_SEAL_EXEC (no chmod of the copy) exists from Linux 6.3; older kernels refuse the whole
  // F_ADD_SEALS call with EINVAL. Asked for on its own and before F_SEAL_SEAL, as runc does, so
  // its absence costs nothing: the write seals are what keep the copy from being changed.
  (void)fcntl(mem, F_ADD_SEALS, F_SEAL_EXEC);
  if (fcntl(mem, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)) {
    int err = errno;
    close(mem);
    ThrowErrno(env, err, "seal");
  }
  return Napi::Number::New(env, mem);
}

// tryFlock(fd, exclusive) -> true when the lock was taken, false when another holder has it.
// Never blocks: the caller waits on the event loop and retries.
static Napi::Value TryFlock(const Napi::CallbackInfo &info) {
  int fd = FdArg(info, 0, "fd");
  bool exclusive = info.Length() > 1 && info[1].ToBoolean();
  int rc;
  do {
    rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  if (rc < 0) ThrowErrno(info.Env(), errno, "flock");
  return Napi::Boolean::New(info.Env(), true);
}

// mkfifo(path, mode): Node has no way to make a FIFO.
static Napi::Value Mkfifo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "mkfifo(path: string, mode: number)");
  }
  std::string path = info[0].As<Napi::String>();
  if (mkfifo(path.c_str(), info[1].As<Napi::Number>().Uint32Value())) ThrowErrno(env, errno, "mkfifo");
  return env.Undefined();
}

// unixConnect(path) -> a connected AF_UNIX SOCK_STREAM descriptor (close-on-exec). A local
// connect completes at once or fails; it does not wait on the peer.
static Napi::Value UnixConnect(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
  std::string path = info[0].As<Napi::String>();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) ThrowErrno(env, ENAMETOOLONG, "connect");
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, errno, "socket");
  if (connect(fd, reinterpret_cast<struct sockaddr *>(&addr), sizeof(addr))) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "connect");
  }
  return Napi::Number::New(env, fd);
}

// An AF_UNIX address for a path, or for an abstract name written "@name" (as NOTIFY_SOCKET
// may be); returns the address length, or 0 when the name does not fit.
static socklen_t UnixAddress(const std::string &path, struct sockaddr_un *addr) {
  *addr = {};
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) return 0;
  memcpy(addr->sun_path, path.c_str(), path.size());
  if (path[0] == '@') addr->sun_path[0] = '\0';
  return static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size() + (path[0] == '@' ? 0 : 1));
}

// unixDatagramBind(path) -> a non-blocking AF_UNIX SOCK_DGRAM descriptor bound to path.
static Napi::Value UnixDatagramBind(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
  struct sockaddr_un addr;
  socklen_t len = UnixAddress(info[0].As<Napi::String>(), &addr);
  if (!len) ThrowErrno(env, ENAMETOOLONG, "bind");
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) ThrowErrno(env, errno, "socket");
  if (bind(fd, reinterpret_cast<struct sockaddr *>(&addr), len)) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "bind");
  }
  return Napi::Number::New(env, fd);
}

// unixDatagramSend(path, data): one datagram to a bound AF_UNIX socket, never waiting on a
// full receiver (EAGAIN instead).
static Napi::Value UnixDatagramSend(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsTypedArray()) {
    throw Napi::TypeError::New(env, "unixDatagramSend(path: string, data: Uint8Array)");
  }
  struct sockaddr_un addr;
  socklen_t len = UnixAddress(info[0].As<Napi::String>(), &addr);
  if (!len) ThrowErrno(env, ENAMETOOLONG, "sendto");
  Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, errno, "socket");
  ssize_t n = sendto(fd, data.Data(), data.ByteLength(), MSG_DONTWAIT | MSG_NOSIGNAL,
                     reinterpret_cast<struct sockaddr *>(&addr), len);
  int err = errno;
  close(fd);
  if (n < 0) ThrowErrno(env, err, "sendto");
  return env.Undefined();
}

// setWindowSize(fd, rows, columns): TIOCSWINSZ on a terminal, so a relayed pty follows the
// size of the terminal it is shown on.
static Napi::Value SetWindowSize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "setWindowSize(fd: number, rows: number, columns: number)");
  }
  struct winsize size = {};
  size.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  size.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), TIOCSWINSZ, &size)) ThrowErrno(env, errno, "ioctl(TIOCSWINSZ)");
  return env.Undefined();
}

// windowSize(fd) -> [rows, columns] of the terminal on fd, or null when fd is not a terminal.
static Napi::Value WindowSize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0, "fd");
  struct winsize size = {};
  if (ioctl(fd, TIOCGWINSZ, &size)) {
    if (errno == ENOTTY || errno == EBADF || errno == EINVAL) return env.Null();
    ThrowErrno(env, errno, "ioctl(TIOCGWINSZ)");
  }
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, size.ws_row));
  result.Set(1u, Napi::Number::New(env, size.ws_col));
  return result;
}

void InitFd(Napi::Env env, Napi::Object exports) {
  exports.Set("windowSize", Napi::Function::New(env, WindowSize));
  exports.Set("socketpairSeqpacket", Napi::Function::New(env, SocketpairSeqpacket));
  exports.Set("sealedExecutableCopy", Napi::Function::New(env, SealedExecutableCopy));
  exports.Set("tryFlock", Napi::Function::New(env, TryFlock));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  exports.Set("unixConnect", Napi::Function::New(env, UnixConnect));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  exports.Set("unixDatagramBind", Napi::Function::New(env, UnixDatagramBind));
  exports.Set("unixDatagramSend", Napi::Function::New(env, UnixDatagramSend));
}

}  // namespace corral
