#include <cerrno>
#include <cstring>

#include "addon.h"

namespace corral {

void ThrowErrno(Napi::Env env, int err, const char *syscall) {
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("code", Napi::String::New(env, strerrorname_np(err) ? strerrorname_np(err) : "EUNKNOWN"));
  error.Set("syscall", Napi::String::New(env, syscall));
  throw error;
}

int FdArg(const Napi::CallbackInfo &info, size_t index, const char *name) {
  if (index >= info.Length() || !info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a file descriptor number");
  }
  int fd = info[index].As<Napi::Number>().Int32Value();
  if (fd < 0) throw Napi::RangeError::New(info.Env(), std::string(name) + " must be >= 0");
  return fd;
}

FdPoll::FdPoll(Napi::Env env, int fd) : handle_(new uv_poll_t) {
  uv_loop_t *loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  int rc = uv_poll_init(loop, handle_, fd);
  if (rc != 0) {
    delete handle_;
    handle_ = nullptr;
    ThrowErrno(env, -rc, "uv_poll_init");
  }
  handle_->data = this;
}

FdPoll::~FdPoll() {
  if (!handle_) return;
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t *>(handle_), [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
}

void FdPoll::Start(int events, Callback callback) {
  callback_ = std::move(callback);
  uv_poll_start(handle_, events, OnPoll);
}

void FdPoll::Stop() { uv_poll_stop(handle_); }

void FdPoll::Ref(bool on) {
  if (on)
    uv_ref(reinterpret_cast<uv_handle_t *>(handle_));
  else
    uv_unref(reinterpret_cast<uv_handle_t *>(handle_));
}

void FdPoll::OnPoll(uv_poll_t *handle, int status, int events) {
  auto *self = static_cast<FdPoll *>(handle->data);
  if (self && self->callback_) self->callback_(status, events);
}

void CallFromLoop(Napi::Env env, Napi::FunctionReference &fn, std::initializer_list<napi_value> args) {
  Napi::HandleScope scope(env);
  try {
    fn.MakeCallback(env.Global(), args);
  } catch (const Napi::Error &e) {
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace corral

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  corral::InitFd(env, exports);
  corral::InitSeqpacket(env, exports);
  corral::InitProcess(env, exports);
  corral::InitBpf(env, exports);
  corral::InitNetns(env, exports);
  corral::InitSeccomp(env, exports);
  return exports;
}

NODE_API_MODULE(corral_native, Init)
