// Processes by pidfd: a pid can be reused, a pidfd always names the one process it was made for.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

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

// spawnProcess(path, argv, fds[, env]) -> [pid, pidfd]: starts `path` with the environment `env`
// ("NAME=value" strings; empty when not given), its
// descriptor i being fds[i]; of the others it keeps what is not close-on-exec, as a child of
// libuv's does (corral-init closes those itself). posix_spawn runs nothing of ours in the child (glibc uses
// CLONE_VM|CLONE_VFORK with a stack of its own and only then execs), so it is the cheapest start
// a process of Node's has and safe in a threaded one. Signal dispositions and the mask are reset
// as libuv resets them for a spawned child: Node ignores SIGPIPE, and an ignored signal would
// pass on through exec.
static Napi::Value SpawnProcess(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsArray() ||
      (info.Length() > 3 && !info[3].IsArray()))
    throw Napi::TypeError::New(env, "spawnProcess(path, argv, fds[, env])");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Array argList = info[1].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < argList.Length(); i++) args.push_back(argList.Get(i).As<Napi::String>().Utf8Value());
  std::vector<char *> argv;
  for (auto &arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> vars;
  if (info.Length() > 3) {
    Napi::Array envList = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < envList.Length(); i++) vars.push_back(envList.Get(i).As<Napi::String>().Utf8Value());
  }
  std::vector<char *> envp;
  for (auto &var : vars) envp.push_back(var.data());
  envp.push_back(nullptr);

  Napi::Array fdList = info[2].As<Napi::Array>();
  int count = static_cast<int>(fdList.Length());
  // Each source first goes above every target number, so that placing one never overwrites
  // another still to be placed; dup2 onto the target then clears close-on-exec there.
  std::vector<int> moved;
  auto closeMoved = [&moved]() {
    for (int fd : moved) close(fd);
  };
  for (int i = 0; i < count; i++) {
    int fd = fcntl(fdList.Get(i).As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, count);
    if (fd < 0) {
      int err = errno;
      closeMoved();
      ThrowErrno(env, err, "fcntl");
    }
    moved.push_back(fd);
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  for (int i = 0; i < count; i++) posix_spawn_file_actions_adddup2(&actions, moved[i], i);
  // Every signal back to its default, glibc's own two included: sigfillset leaves those out, and
  // posix_spawn would then leave them ignored, which the exec'd process would keep.
  sigset_t all, none;
  memset(&all, 0xff, sizeof(all));
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  int rc = posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  closeMoved();
  if (rc != 0) ThrowErrno(env, rc, "posix_spawn");
  // Our child, not yet reaped: its pid cannot be reused before we wait for it.
  long pidfd = syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    int err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ThrowErrno(env, err, "pidfd_open");
  }
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, pid));
  result.Set(1u, Napi::Number::New(env, static_cast<double>(pidfd)));
  return result;
}

void InitProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnProcess", Napi::Function::New(env, SpawnProcess));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal));
  exports.Set("pidfdWait", Napi::Function::New(env, PidfdWait));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
}

}  // namespace corral
