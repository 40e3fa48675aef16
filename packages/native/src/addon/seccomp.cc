// seccomp filters compiled with libseccomp. TypeScript validates the OCI profile and maps its
// names to numbers; here libseccomp turns the rules into the classic BPF program that
// corral-init installs, so corral-init itself links nothing but libc.
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"

namespace corral {

namespace {

// Owns a filter context for the length of one compile.
class FilterContext {
 public:
  explicit FilterContext(uint32_t default_action) : ctx_(seccomp_init(default_action)) {}
  ~FilterContext() {
    if (ctx_) seccomp_release(ctx_);
  }
  FilterContext(const FilterContext &) = delete;
  FilterContext &operator=(const FilterContext &) = delete;
  scmp_filter_ctx get() const { return ctx_; }

 private:
  scmp_filter_ctx ctx_;
};

[[noreturn]] void ThrowSeccomp(Napi::Env env, int rc, const std::string &what) {
  // libseccomp returns negative errno values.
  Napi::Error error = Napi::Error::New(env, what + ": " + strerror(-rc));
  error.Set("errno", Napi::Number::New(env, -rc));
  error.Set("code", Napi::String::New(env, strerrorname_np(-rc) ? strerrorname_np(-rc) : "EUNKNOWN"));
  throw error;
}

uint32_t Uint32Field(const Napi::Object &object, const char *name) {
  Napi::Value value = object.Get(name);
  if (!value.IsNumber()) throw Napi::TypeError::New(object.Env(), std::string(name) + " must be a number");
  return value.As<Napi::Number>().Uint32Value();
}

uint64_t Uint64Field(const Napi::Object &object, const char *name) {
  Napi::Value value = object.Get(name);
  if (!value.IsBigInt()) throw Napi::TypeError::New(object.Env(), std::string(name) + " must be a bigint");
  bool lossless = false;
  uint64_t result = value.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(object.Env(), std::string(name) + " must fit in 64 bits");
  return result;
}

Napi::Array ArrayField(const Napi::Object &object, const char *name) {
  Napi::Value value = object.Get(name);
  if (!value.IsArray()) throw Napi::TypeError::New(object.Env(), std::string(name) + " must be an array");
  return value.As<Napi::Array>();
}

std::string StringAt(const Napi::Array &array, uint32_t i, const char *name) {
  Napi::Value value = array.Get(i);
  if (!value.IsString()) throw Napi::TypeError::New(array.Env(), std::string(name) + " must hold strings");
  return value.As<Napi::String>();
}

// Adds one rule: conditions on distinct arguments are ANDed in one rule; several conditions on
// the same argument become one rule each (ORed), since a single rule cannot test one argument
// twice. This is the meaning other runtimes give such profiles.
void AddRule(Napi::Env env, scmp_filter_ctx ctx, int syscall, uint32_t action, const Napi::Array &args,
             const std::string &where) {
  std::vector<scmp_arg_cmp> conditions;
  unsigned per_index[6] = {0, 0, 0, 0, 0, 0};
  bool repeated = false;
  for (uint32_t i = 0; i < args.Length(); i++) {
    Napi::Object arg = args.Get(i).As<Napi::Object>();
    uint32_t index = Uint32Field(arg, "index");
    if (index >= 6) throw Napi::RangeError::New(env, where + ": argument index must be below 6");
    if (++per_index[index] > 1) repeated = true;
    conditions.push_back(scmp_arg_cmp{index, static_cast<scmp_compare>(Uint32Field(arg, "op")),
                                      Uint64Field(arg, "value"), Uint64Field(arg, "valueTwo")});
  }
  int rc;
  if (repeated) {
    for (const scmp_arg_cmp &condition : conditions) {
      rc = seccomp_rule_add_array(ctx, action, syscall, 1, &condition);
      if (rc < 0) ThrowSeccomp(env, rc, where);
    }
    return;
  }
  rc = seccomp_rule_add_array(ctx, action, syscall, static_cast<unsigned>(conditions.size()), conditions.data());
  if (rc < 0) ThrowSeccomp(env, rc, where);
}

// seccomp_export_bpf writes to a descriptor (2.5 has no in-memory export): a memfd, read back.
std::vector<uint8_t> ExportProgram(Napi::Env env, scmp_filter_ctx ctx) {
  int fd = memfd_create("corral-seccomp", MFD_CLOEXEC);
  if (fd < 0) ThrowErrno(env, errno, "memfd_create");
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) {
    close(fd);
    ThrowSeccomp(env, rc, "seccomp_export_bpf");
  }
  off_t size = lseek(fd, 0, SEEK_END);
  std::vector<uint8_t> program(size > 0 ? static_cast<size_t>(size) : 0);
  size_t done = 0;
  while (done < program.size()) {
    ssize_t n = pread(fd, program.data() + done, program.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(fd);
      ThrowErrno(env, err, "pread");
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return program;
}

}  // namespace

// seccompCompile({ defaultAction, architectures, rules: [{ names, action, args: [{ index, op,
// value, valueTwo }], where }] }) -> { program: Buffer, unknownSyscalls: string[] }.
// Actions are libseccomp's action values (errno folded in), ops its scmp_compare values and
// architectures its own names ("x86_64"). A name the running libseccomp does not know is
// skipped, so one profile serves kernels and libraries of different ages.
static Napi::Value SeccompCompile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "profile must be an object");
  Napi::Object profile = info[0].As<Napi::Object>();
  FilterContext filter(Uint32Field(profile, "defaultAction"));
  if (!filter.get()) throw Napi::Error::New(env, "seccomp_init: the default action is not valid");
  scmp_filter_ctx ctx = filter.get();

  Napi::Array archs = ArrayField(profile, "architectures");
  for (uint32_t i = 0; i < archs.Length(); i++) {
    std::string name = StringAt(archs, i, "architectures");
    uint32_t arch = seccomp_arch_resolve_name(name.c_str());
    if (arch == 0) throw Napi::Error::New(env, "libseccomp does not know the architecture " + name);
    int rc = seccomp_arch_add(ctx, arch);
    // EDOM: an architecture of the other byte order cannot share a filter with the native one,
    // and this kernel cannot run its code either; its calls meet the bad-architecture action.
    if (rc < 0 && rc != -EEXIST && rc != -EDOM) ThrowSeccomp(env, rc, "seccomp_arch_add(" + name + ")");
  }

  Napi::Array unknown = Napi::Array::New(env);
  Napi::Array rules = ArrayField(profile, "rules");
  for (uint32_t i = 0; i < rules.Length(); i++) {
    Napi::Object rule = rules.Get(i).As<Napi::Object>();
    uint32_t action = Uint32Field(rule, "action");
    Napi::Value where_value = rule.Get("where");
    std::string where = where_value.IsString() ? where_value.As<Napi::String>().Utf8Value() : "rule";
    Napi::Array names = ArrayField(rule, "names");
    Napi::Array args = ArrayField(rule, "args");
    for (uint32_t j = 0; j < names.Length(); j++) {
      std::string name = StringAt(names, j, "names");
      int syscall = seccomp_syscall_resolve_name(name.c_str());
      if (syscall == __NR_SCMP_ERROR) {
        unknown.Set(unknown.Length(), Napi::String::New(env, name));
        continue;
      }
      AddRule(env, ctx, syscall, action, args, where + " (" + name + ")");
    }
  }

  std::vector<uint8_t> program = ExportProgram(env, ctx);
  Napi::Object result = Napi::Object::New(env);
  result.Set("program", Napi::Buffer<uint8_t>::Copy(env, program.data(), program.size()));
  result.Set("unknownSyscalls", unknown);
  return result;
}

// seccompVersion() -> "2.5.4": the library the filters are compiled with.
static Napi::Value SeccompVersion(const Napi::CallbackInfo &info) {
  const scmp_version *version = seccomp_version();
  return Napi::String::New(info.Env(), std::to_string(version->major) + "." + std::to_string(version->minor) +
                                           "." + std::to_string(version->micro));
}

void InitSeccomp(Napi::Env env, Napi::Object exports) {
  exports.Set("seccompCompile", Napi::Function::New(env, SeccompCompile));
  exports.Set("seccompVersion", Napi::Function::New(env, SeccompVersion));
}

}  // namespace corral
