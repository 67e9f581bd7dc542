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

// renameat2 (glibc 2.28+, Linux 3.15+): RENAME_EXCHANGE swaps two paths in
// one step, so a directory output replaces an old one atomically. Declared by
// <stdio.h> only under _GNU_SOURCE.
int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
#define ADAPTERMERGE_RENAME_EXCHANGE (1 << 1)

// The number of CPUs in this process's affinity mask (0 if unknown), by
// the raw system call: glibc's sched_getaffinity and cpu_set_t are also
// _GNU_SOURCE-only.
#include <sys/syscall.h>
#include <unistd.h>
static inline int adaptermerge_affinity_cpu_count(void) {
    unsigned long mask[64];
    long bytes = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
    if (bytes <= 0) return 0;
    int count = 0;
    for (long i = 0; i < bytes / (long)sizeof(unsigned long); i++) count += __builtin_popcountl(mask[i]);
    return count;
}

// getdents64 by the raw system call: the signal handler that removes temporary
// directories lists them into a buffer allocated beforehand (opendir allocates,
// which a signal handler must not).
static inline long adaptermerge_getdents64(int fd, void *buffer, unsigned long size) {
    return syscall(SYS_getdents64, fd, buffer, size);
}

#endif
