/* Closing and marking corral-init's descriptors, with fallbacks for kernels before 5.9. */
#ifndef CORRAL_INIT_FDS_H
#define CORRAL_INIT_FDS_H

#include <stdint.h>

/* A directory entry as getdents64 fills its buffer (the libc's readdir needs malloc). */
struct ci_dirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

/* Closes every descriptor from `first` up. */
int ci_close_fds_from(unsigned first);
/* Marks every descriptor from `first` up close-on-exec, for those that must stay until exec. */
int ci_cloexec_fds_from(unsigned first);

#endif
