// Processes by pidfd: a pid can be reused, a pidfd always names the one process it was made for.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "addon.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace corral {

static Napi::Value PidfdOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "pid must be a number");
  int pid = info[0].As<Napi::Number>().Int32Value();
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) ThrowErrno(env, errno, "pidfd_open");
  // pidfd_open has no CLOEXEC flag: the descriptor is close-on-exec by definition.
  return Napi::Number::New(env, static_cast<double>(fd));
}

static Napi::Value PidfdSendSignal(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int pidfd = FdArg(info, 0, "pidfd");
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "signal must be a number");
  int sig = info[1].As<Napi::Number>().Int32Value();
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0)) ThrowErrno(env, errno, "pidfd_send_signal");
  return env.Undefined();
}

// pidfdWait(pidfd) -> { code, signal } once the process (our child) has exited, else null.
// It reaps the child. ECHILD means it is not ours to reap (or already reaped).
static Napi::Value PidfdWait(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int pidfd = FdArg(info, 0, "pidfd");
  siginfo_t si = {};
  int rc;
  do {
    rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &si, WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) ThrowErrno(env, errno, "waitid");
  if (si.si_pid == 0) return env.Null();
  Napi::Object result = Napi::Object::New(env);
  bool signaled = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
  result.Set("code", signaled ? env.Null() : Napi::Number::New(env, si.si_status));
  result.Set("signal", signaled ? Napi::Number::New(env, si.si_status) : env.Null());
  return result;
}

static Napi::Value SetChildSubreaper(const Napi::CallbackInfo &info) {
  bool on = info.Length() > 0 && info[0].ToBoolean();
  if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0)) ThrowErrno(info.Env(), errno, "prctl");
  return info.Env().Undefined();
}

void InitProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal));
  exports.Set("pidfdWait", Napi::Function::New(env, PidfdWait));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
}

}  // namespace corral
