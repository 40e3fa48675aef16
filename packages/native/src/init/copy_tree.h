/* tmpcopyup: what a directory holds, copied into the filesystem about to be mounted over it. */
#ifndef CORRAL_INIT_COPY_TREE_H
#define CORRAL_INIT_COPY_TREE_H

#include "init.h"

/* Copies the contents of target (in the root) into the root of the detached mount mnt:
   directories, files, symlinks and device nodes, with their modes and owners. */
int ci_copy_up(struct ci_ctx *ctx, int mnt, const char *target);

#endif
