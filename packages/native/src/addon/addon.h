// Pieces of the addon, each in its own file; addon.cc puts them on the exports.
#pragma once

#include <napi.h>
#include <uv.h>

#include <functional>

namespace corral {

// Throws a JS Error carrying `code` (e.g. "ENOENT"), `errno` and `syscall`, like Node's own.
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char *syscall);

int FdArg(const Napi::CallbackInfo &info, size_t index, const char *name);

// A uv_poll_t on a descriptor we do not own, freed safely after uv_close.
class FdPoll {
 public:
  using Callback = std::function<void(int status, int events)>;
  FdPoll(Napi::Env env, int fd);
  ~FdPoll();
  void Start(int events, Callback callback);
  void Stop();
  void Ref(bool on);

 private:
  static void OnPoll(uv_poll_t *handle, int status, int events);
  uv_poll_t *handle_;
  Callback callback_;
};

// Calls a JS function from a libuv callback, draining microtasks and surfacing exceptions.
void CallFromLoop(Napi::Env env, Napi::FunctionReference &fn, std::initializer_list<napi_value> args);

void InitFd(Napi::Env env, Napi::Object exports);
void InitSeqpacket(Napi::Env env, Napi::Object exports);
void InitProcess(Napi::Env env, Napi::Object exports);
void InitBpf(Napi::Env env, Napi::Object exports);
void InitNetns(Napi::Env env, Napi::Object exports);
void InitSeccomp(Napi::Env env, Napi::Object exports);

}  // namespace corral
