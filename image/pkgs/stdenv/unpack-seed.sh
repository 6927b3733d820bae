# Run by busybox sh: unpack the seed and make its programs load the seed's own libc.
set -eu
bb="$busybox/bin/busybox"
"$bb" mkdir -p "$out"
"$bb" tar -xzf "$tarball" -C "$out"

loader="$out/$loader"
libs="$out/usr/lib/$triplet:$out/usr/lib"
realLoader=$("$bb" readlink -f "$loader")

# patchelf is about to rewrite itself and the libraries it runs on (rewriting a mapped file
# kills the process with SIGBUS): run a copy, with copies of its libraries, through a copied loader.
tools="$TMPDIR/patchelf-tools"
"$bb" mkdir -p "$tools"
for file in "$realLoader" "$out/usr/bin/patchelf" "$out/usr/lib/$triplet/libc.so.6" "$out/usr/lib/$triplet/libm.so.6" \
  "$out/usr/lib/$triplet/libstdc++.so.6" "$out/usr/lib/$triplet/libgcc_s.so.1"; do
  "$bb" cp -L "$file" "$tools/"
done
patchelf() { "$tools/${realLoader##*/}" --library-path "$tools" "$tools/patchelf" "$@"; }

elf=$(printf '\177ELF')
"$bb" find "$out" -type f | "$bb" sort > "$TMPDIR/files"
while read -r file; do
  [ "$file" = "$realLoader" ] && continue
  magic=$("$bb" head -c 4 "$file")
  if [ "$magic" = "$elf" ]; then
    if patchelf --print-interpreter "$file" > /dev/null 2>&1; then
      # RUNPATH first, interpreter second, in two runs: patchelf 0.18 doing both at once (or in
      # the other order) leaves riscv64 gcc crashing at start.
      patchelf --set-rpath "$libs" "$file"
      patchelf --set-interpreter "$loader" "$file"
    elif patchelf --print-rpath "$file" > /dev/null 2>&1; then
      # A shared library: RUNPATH is not inherited by a library's own dependencies.
      patchelf --set-rpath "$libs" "$file"
    fi
  elif [ "${magic#\#!}" != "$magic" ]; then
    # Scripts: no /bin/sh or /bin/bash exists in the sandbox.
    "$bb" sed -i -e "1s|^#! *\(/usr\)\{0,1\}/bin/\(sh\|bash\)\b|#!$out/usr/bin/\2|" "$file"
  fi
done < "$TMPDIR/files"

# The seed must run on its own before anything is built with it.
"$out/usr/bin/bash" -c 'set -e; echo "seed: bash $BASH_VERSION"; "$1/usr/bin/gcc" --version | "$1/usr/bin/head" -n 1; "$1/usr/bin/ld" --version | "$1/usr/bin/head" -n 1' bash "$out"
