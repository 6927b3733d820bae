#!@seed@/usr/bin/bash
# gcc, bound to the seed: headers and libraries from the seed (--sysroot), and programs that load
# the seed's libc at run time instead of the host's /lib64 (there is none in the sandbox).
link=1
shared=0
for arg in "$@"; do
  case "$arg" in
    -c | -S | -E | -M | -MM) link=0 ;;
    -shared) shared=1 ;;
  esac
done
linkFlags=()
if [ "$link" = 1 ]; then
  [ "$shared" = 1 ] || linkFlags+=("-Wl,--dynamic-linker=@seed@/@loader@")
  # Libraries built here come first: the seed has its own copies of some (gawk brings readline).
  linkFlags+=($NIX_LDFLAGS "-Wl,-rpath,@seed@/usr/lib/@triplet@")
fi
# Where the build ran must not show in what it made: the sandbox builds in /build, an
# unsandboxed build (qemu-user preparing the riscv64 tree) in /tmp/nix-build-…, and debug info
# and __FILE__ would carry either. Both are written as /build.
exec @seed@/usr/bin/gcc --sysroot=@seed@ "-ffile-prefix-map=$NIX_BUILD_TOP=/build" $NIX_CFLAGS_COMPILE "$@" "${linkFlags[@]}"
