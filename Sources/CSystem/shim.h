#ifndef ADAPTERMERGE_CSYSTEM_SHIM_H
#define ADAPTERMERGE_CSYSTEM_SHIM_H

// glibc calls that Swift's Glibc module does not export. All are in libc,
// so there is nothing to link.

// mallopt: the executable's allocator settings.
#include <malloc.h>

// copy_file_range (glibc 2.27+, Linux 4.5+): declared by <unistd.h> only
// under _GNU_SOURCE, which the Glibc module is built without.
#include <sys/types.h>
ssize_t copy_file_range(int fd_in, off_t *off_in, int fd_out, off_t *off_out,
                        size_t len, unsigned int flags);

#endif
