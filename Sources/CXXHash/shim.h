#ifndef CACHETTE_CXXHASH_SHIM_H
#define CACHETTE_CXXHASH_SHIM_H
#include <xxhash.h>
#endif
