// Whole-message I/O on SOCK_SEQPACKET sockets with SCM_RIGHTS, never blocking: the TypeScript
// side waits for readiness with an FdWatcher and calls these when the socket is ready.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "addon.h"

namespace corral {

static constexpr size_t kMaxFds = 16;

// seqpacketSend(fd, data: Uint8Array, fds?: number[]) -> true when sent, false when it would block.
static Napi::Value SeqpacketSend(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0, "fd");
  if (info.Length() < 2 || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "data must be a Uint8Array");
  Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  std::vector<int> fds;
  if (info.Length() > 2 && info[2].IsArray()) {
    Napi::Array list = info[2].As<Napi::Array>();
    if (list.Length() > kMaxFds) throw Napi::RangeError::New(env, "too many descriptors in one message");
    for (uint32_t i = 0; i < list.Length(); i++) fds.push_back(list.Get(i).As<Napi::Number>().Int32Value());
  }
  struct iovec iov = {data.Data(), data.ByteLength()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Napi::Boolean::New(env, false);
  if (n < 0) ThrowErrno(env, errno, "sendmsg");
  return Napi::Boolean::New(env, true);
}

// seqpacketReceive(fd) -> { data: Buffer, fds: number[] } | null when nothing is waiting.
// End of stream is an empty data buffer. A message is read whole: its size is peeked first.
static Napi::Value SeqpacketReceive(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0, "fd");
  char probe;
  ssize_t size;
  do {
    size = recv(fd, &probe, 1, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
  } while (size < 0 && errno == EINTR);
  if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return env.Null();
  if (size < 0) ThrowErrno(env, errno, "recv");

  Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(size));
  struct iovec iov = {data.Data(), static_cast<size_t>(size)};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) ThrowErrno(env, errno, "recvmsg");

  Napi::Array fds = Napi::Array::New(env);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int passed;
      memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.Set(fds.Length(), passed);
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    for (uint32_t i = 0; i < fds.Length(); i++) close(fds.Get(i).As<Napi::Number>().Int32Value());
    ThrowErrno(env, EMSGSIZE, "recvmsg");
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("data", data);
  result.Set("fds", fds);
  return result;
}

// A readiness watcher on a descriptor the caller owns: new FdWatcher(fd, (events) => {}).
class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "FdWatcher",
                                      {InstanceMethod("start", &FdWatcher::Start), InstanceMethod("stop", &FdWatcher::Stop),
                                       InstanceMethod("ref", &FdWatcher::Ref), InstanceMethod("unref", &FdWatcher::Unref),
                                       InstanceMethod("close", &FdWatcher::Close)});
    exports.Set("FdWatcher", ctor);
  }

  explicit FdWatcher(const Napi::CallbackInfo &info) : Napi::ObjectWrap<FdWatcher>(info) {
    int fd = FdArg(info, 0, "fd");
    if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(info.Env(), "callback must be a function");
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    poll_ = std::make_unique<FdPoll>(info.Env(), fd);
  }

 private:
  // start(readable: boolean, writable: boolean)
  void Start(const Napi::CallbackInfo &info) {
    if (!poll_) throw Napi::Error::New(info.Env(), "watcher is closed");
    int events = 0;
    if (info.Length() > 0 && info[0].ToBoolean()) events |= UV_READABLE;
    if (info.Length() > 1 && info[1].ToBoolean()) events |= UV_WRITABLE;
    Napi::Env env = info.Env();
    poll_->Start(events, [this, env](int status, int ready) {
      Napi::HandleScope scope(env);
      CallFromLoop(env, callback_,
                   {Napi::Number::New(env, status), Napi::Boolean::New(env, (ready & UV_READABLE) != 0),
                    Napi::Boolean::New(env, (ready & UV_WRITABLE) != 0)});
    });
  }
  void Stop(const Napi::CallbackInfo &) {
    if (poll_) poll_->Stop();
  }
  void Ref(const Napi::CallbackInfo &) {
    if (poll_) poll_->Ref(true);
  }
  void Unref(const Napi::CallbackInfo &) {
    if (poll_) poll_->Ref(false);
  }
  // Stops watching; the descriptor stays open (its owner closes it).
  void Close(const Napi::CallbackInfo &) { poll_.reset(); }

  std::unique_ptr<FdPoll> poll_;
  Napi::FunctionReference callback_;
};

void InitSeqpacket(Napi::Env env, Napi::Object exports) {
  exports.Set("seqpacketSend", Napi::Function::New(env, SeqpacketSend));
  exports.Set("seqpacketReceive", Napi::Function::New(env, SeqpacketReceive));
  FdWatcher::Init(env, exports);
}

}  // namespace corral
