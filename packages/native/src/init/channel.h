/* corral-init's end of the socketpair: whole frames, descriptors with SCM_RIGHTS. */
#ifndef CORRAL_INIT_CHANNEL_H
#define CORRAL_INIT_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

/* Receives one frame into buf (malloc'd, caller frees). Returns the payload length, or -1. */
ssize_t ci_recv_frame(int fd, uint32_t *type, uint8_t **payload);
/* Sends one frame; fd_to_pass < 0 sends none. */
int ci_send_frame(int fd, uint32_t type, const void *payload, size_t len, int fd_to_pass);

/* The structured error report: op index (-1 when none), errno, the failing call and path; on
   stderr when the runtime no longer listens. */
void ci_report_error(int fd, int32_t op_index, int err, const char *syscall, const char *path,
                     const char *message);
/* A LOG line (CI_LOG_* level) for the runtime's logger. */
void ci_log(int fd, uint32_t level, const char *format, ...) __attribute__((format(printf, 3, 4)));

#endif
