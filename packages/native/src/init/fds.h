/* Closing and marking corral-init's descriptors, with fallbacks for kernels before 5.9. */
#ifndef CORRAL_INIT_FDS_H
#define CORRAL_INIT_FDS_H

/* Closes every descriptor from `first` up. */
int ci_close_fds_from(unsigned first);
/* Marks every descriptor from `first` up close-on-exec, for those that must stay until exec. */
int ci_cloexec_fds_from(unsigned first);

#endif
