#include "CBuildInfo.h"
#if __has_include("commit.h")
#include "commit.h"
#endif
#ifndef CACHETTE_COMMIT
#define CACHETTE_COMMIT "unknown"
#endif

const char *cachette_build_commit(void) { return CACHETTE_COMMIT; }
