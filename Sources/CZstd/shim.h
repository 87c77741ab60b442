#ifndef CACHETTE_CZSTD_SHIM_H
#define CACHETTE_CZSTD_SHIM_H
#include <zstd.h>
#endif
