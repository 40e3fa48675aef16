{
  "variables": {
    "seccomp_library%": "-l:libseccomp.a"
  },
  "targets": [
    {
      "target_name": "corral_native",
      "sources": [
        "src/addon/addon.cc",
        "src/addon/fd.cc",
        "src/addon/seqpacket.cc",
        "src/addon/process.cc",
        "src/addon/bpf.cc",
        "src/addon/netns.cc",
        "src/addon/seccomp.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "src/protocol"],
      "defines": ["NAPI_VERSION=9", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-fexceptions"],
      "libraries": ["<(seccomp_library)"],
      "ldflags": ["-static-libstdc++", "-static-libgcc", "-Wl,--exclude-libs,ALL"]
    },
    {
      "target_name": "corral-init",
      "type": "executable",
      "sources": [
        "src/init/main.c",
        "src/init/decode.c",
        "src/init/ops_fs.c",
        "src/init/ops_cgroup.c",
        "src/init/ops_ns.c",
        "src/init/ops_process.c",
        "src/init/ops_hook.c",
        "src/init/ops_console.c",
        "src/init/ops_seccomp.c",
        "src/init/ops_sysctl.c",
        "src/init/ops_sched.c",
        "src/init/ops_idmap.c",
        "src/init/channel.c",
        "src/init/fds.c",
        "src/init/ops_exec.c",
        "src/init/ops_mount.c",
        "src/init/paths.c",
        "src/init/copy_tree.c"
      ],
      "include_dirs": ["src/protocol", "src/init"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
      "ldflags": ["-static-pie"]
    }
  ]
}
