// bpf(2) for cgroup device programs, and eventfd for cgroup v1 OOM notifications. The programs
// themselves are assembled in TypeScript; here we only hand bytes to the kernel.
#include <linux/bpf.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"

namespace corral {

static long Bpf(int cmd, union bpf_attr *attr) { return syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

static uint32_t Uint32Arg(const Napi::CallbackInfo &info, size_t index, const char *name) {
  if (index >= info.Length() || !info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  return info[index].As<Napi::Number>().Uint32Value();
}

// bpfProgLoad(type, instructions, license) -> fd. On failure the error carries the verifier's
// log as `verifierLog`, because EACCES/EINVAL alone says nothing about which instruction failed.
static Napi::Value BpfProgLoad(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t type = Uint32Arg(info, 0, "type");
  if (info.Length() < 2 || !info[1].IsBuffer()) throw Napi::TypeError::New(env, "instructions must be a Buffer");
  if (info.Length() < 3 || !info[2].IsString()) throw Napi::TypeError::New(env, "license must be a string");
  auto insns = info[1].As<Napi::Buffer<uint8_t>>();
  if (insns.Length() == 0 || insns.Length() % sizeof(struct bpf_insn) != 0) {
    throw Napi::RangeError::New(env, "instructions must be a whole number of 8-byte instructions");
  }
  std::string license = info[2].As<Napi::String>();
  std::vector<char> log(64 * 1024, '\0');
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = type;
  attr.insns = reinterpret_cast<uintptr_t>(insns.Data());
  attr.insn_cnt = static_cast<uint32_t>(insns.Length() / sizeof(struct bpf_insn));
  attr.license = reinterpret_cast<uintptr_t>(license.c_str());
  attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  long fd = Bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return Napi::Number::New(env, static_cast<double>(fd));
  int err = errno;
  // ENOSPC means only that the log was too small; the program itself may still be at fault.
  Napi::Error error = Napi::Error::New(env, std::string("bpf(BPF_PROG_LOAD): ") + strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("code", Napi::String::New(env, strerrorname_np(err) ? strerrorname_np(err) : "EUNKNOWN"));
  error.Set("syscall", Napi::String::New(env, "bpf"));
  error.Set("verifierLog", Napi::String::New(env, log.data()));
  throw error;
}

// bpfProgAttach(targetFd, progFd, attachType, flags)
static Napi::Value BpfProgAttach(const Napi::CallbackInfo &info) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(FdArg(info, 0, "targetFd"));
  attr.attach_bpf_fd = static_cast<uint32_t>(FdArg(info, 1, "progFd"));
  attr.attach_type = Uint32Arg(info, 2, "attachType");
  attr.attach_flags = Uint32Arg(info, 3, "flags");
  if (Bpf(BPF_PROG_ATTACH, &attr)) ThrowErrno(info.Env(), errno, "bpf(BPF_PROG_ATTACH)");
  return info.Env().Undefined();
}

// bpfProgDetach(targetFd, progFd, attachType)
static Napi::Value BpfProgDetach(const Napi::CallbackInfo &info) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(FdArg(info, 0, "targetFd"));
  attr.attach_bpf_fd = static_cast<uint32_t>(FdArg(info, 1, "progFd"));
  attr.attach_type = Uint32Arg(info, 2, "attachType");
  if (Bpf(BPF_PROG_DETACH, &attr)) ThrowErrno(info.Env(), errno, "bpf(BPF_PROG_DETACH)");
  return info.Env().Undefined();
}

// bpfProgQuery(targetFd, attachType) -> { attachFlags, ids }: the programs attached directly to
// the target (not inherited ones).
static Napi::Value BpfProgQuery(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int target = FdArg(info, 0, "targetFd");
  uint32_t type = Uint32Arg(info, 1, "attachType");
  std::vector<uint32_t> ids(64);
  union bpf_attr attr;
  for (;;) {
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = static_cast<uint32_t>(target);
    attr.query.attach_type = type;
    attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (Bpf(BPF_PROG_QUERY, &attr) == 0) break;
    if (errno == ENOSPC && attr.query.prog_cnt > ids.size()) {
      ids.resize(attr.query.prog_cnt);
      continue;
    }
    ThrowErrno(env, errno, "bpf(BPF_PROG_QUERY)");
  }
  Napi::Array list = Napi::Array::New(env, attr.query.prog_cnt);
  for (uint32_t i = 0; i < attr.query.prog_cnt; i++) list.Set(i, Napi::Number::New(env, ids[i]));
  Napi::Object result = Napi::Object::New(env);
  result.Set("attachFlags", Napi::Number::New(env, attr.query.attach_flags));
  result.Set("ids", list);
  return result;
}

// bpfProgGetFdById(id) -> fd, to detach a program found by bpfProgQuery.
static Napi::Value BpfProgGetFdById(const Napi::CallbackInfo &info) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_id = Uint32Arg(info, 0, "id");
  long fd = Bpf(BPF_PROG_GET_FD_BY_ID, &attr);
  if (fd < 0) ThrowErrno(info.Env(), errno, "bpf(BPF_PROG_GET_FD_BY_ID)");
  return Napi::Number::New(info.Env(), static_cast<double>(fd));
}

// eventfdCreate() -> a non-blocking, close-on-exec eventfd; read it with fs.readSync once the
// FdWatcher says it is readable.
static Napi::Value EventfdCreate(const Napi::CallbackInfo &info) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) ThrowErrno(info.Env(), errno, "eventfd");
  return Napi::Number::New(info.Env(), fd);
}

void InitBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("bpfProgLoad", Napi::Function::New(env, BpfProgLoad));
  exports.Set("bpfProgAttach", Napi::Function::New(env, BpfProgAttach));
  exports.Set("bpfProgDetach", Napi::Function::New(env, BpfProgDetach));
  exports.Set("bpfProgQuery", Napi::Function::New(env, BpfProgQuery));
  exports.Set("bpfProgGetFdById", Napi::Function::New(env, BpfProgGetFdById));
  exports.Set("eventfdCreate", Napi::Function::New(env, EventfdCreate));
}

}  // namespace corral
