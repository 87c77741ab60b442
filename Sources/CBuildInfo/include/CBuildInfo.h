#ifndef CACHETTE_BUILD_INFO_H
#define CACHETTE_BUILD_INFO_H
/// The commit the binary was built from: `make` writes it to commit.h beside the C
/// file; a build without it (a plain `swift build` of a tarball) says "unknown".
const char *cachette_build_commit(void);
#endif
