#ifndef ADAPTERMERGE_CZSTD_SHIM_H
#define ADAPTERMERGE_CZSTD_SHIM_H
#include <zstd.h>
#endif
