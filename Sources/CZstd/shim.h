#ifndef ADAPTERMERGE_CZSTD_SHIM_H
#define ADAPTERMERGE_CZSTD_SHIM_H
// ZSTD_compressSequences (literal-only blocks for byte planes) is in the
// "static linking only" part of the API; the shared libzstd exports it.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#endif
