# The generic builder, run by the seed's bash for every package (like nixpkgs' stdenv/setup).
# A package sets `src`, `buildInputs`, `configureFlags`, `makeFlags`, `installFlags`, or replaces a
# phase outright by setting `configurePhase`, `buildPhase`, ... to a shell snippet.
set -eu -o pipefail

seed=@seed@
export SHELL="$seed/usr/bin/bash"
export CONFIG_SHELL="$SHELL"
export PATH="$stdenv/bin:$seed/usr/bin"
export CC=cc
# make runs recipes with /bin/sh unless told otherwise, and some Makefiles say SHELL = /bin/sh:
# a command-line variable in MAKEFLAGS overrides both, in every make, however it is invoked.
export MAKEFLAGS="SHELL=$SHELL"
export NIX_CFLAGS_COMPILE="${NIX_CFLAGS_COMPILE:-}"
export NIX_LDFLAGS="${NIX_LDFLAGS:-}"
# Reproducible builds: fixed time, locale and time zone.
export SOURCE_DATE_EPOCH=1 LC_ALL=C TZ=UTC
export HOME=/homeless-shelter

for input in ${buildInputs:-}; do
  [ -d "$input/bin" ] && PATH="$input/bin:$PATH"
  [ -d "$input/include" ] && NIX_CFLAGS_COMPILE+=" -I$input/include"
  [ -d "$input/lib" ] && NIX_LDFLAGS+=" -L$input/lib -Wl,-rpath,$input/lib"
done

# Scripts in source trees start with #!/bin/sh, which the sandbox does not have. Only the first
# line changes, and the file keeps its mtime so that make does not think autotools must rerun.
patchShebangs() {
  local file patched="$TMPDIR/.shebang"
  # grep exits 1 when no file matches, which is fine; 2 is an error.
  { grep -rlIZ -e '^#! *\(/usr\)\?/bin/\(sh\|bash\)\b' -e '^#! */usr/bin/env  *\(sh\|bash\)\b' "$@" || [ $? = 1 ]; } |
    while IFS= read -r -d '' file; do
      sed -e "1s@^#! *\(/usr/bin/env  *\|/usr/bin/\|/bin/\)\(sh\|bash\)\b@#!$SHELL@" "$file" > "$patched"
      if ! cmp -s "$patched" "$file"; then
        touch -r "$file" "$patched"
        cat "$patched" > "$file"
        touch -r "$patched" "$file"
      fi
    done
}

runPhase() {
  local name="$1"
  echo "cartenix: $name"
  if [ -n "${!name:-}" ]; then eval "${!name}"; else "default${name^}"; fi
}

defaultUnpackPhase() {
  if [ -z "${src:-}" ]; then mkdir source; sourceRoot=source; return; fi
  tar -xf "$src"
  local dirs=(*/)
  [ "${#dirs[@]}" = 1 ] || { echo "expected one directory in $src, found: ${dirs[*]}" >&2; exit 1; }
  sourceRoot="${dirs[0]%/}"
}

defaultPatchPhase() {
  for patch in ${patches:-}; do patch -p1 < "$patch"; done
  patchShebangs .
  updateGnuConfig
}

# Tarballs from before riscv64 carry a config.guess and config.sub that cannot name it; the
# seed's current copies (Debian's autotools-dev) replace them, keeping their mtimes.
updateGnuConfig() {
  local file
  find . -type f \( -name config.guess -o -name config.sub \) -print0 |
    while IFS= read -r -d '' file; do
      touch -r "$file" "$TMPDIR/.gnu-config-mtime"
      cat "$seed/usr/share/misc/${file##*/}" > "$file"
      touch -r "$TMPDIR/.gnu-config-mtime" "$file"
    done
}

defaultConfigurePhase() {
  [ -x ./configure ] || return 0
  "$SHELL" ./configure --prefix="$out" ${configureFlags:-}
}

defaultBuildPhase() {
  make -j"${NIX_BUILD_CORES:-1}" ${makeFlags:-}
}

defaultCheckPhase() {
  [ -n "${doCheck:-}" ] || return 0
  make ${checkTarget:-check}
}

defaultInstallPhase() {
  make ${makeFlags:-} ${installFlags:-} install
}

defaultFixupPhase() {
  [ -d "$out" ] && patchShebangs "$out"
  # Static archives and libtool files are not part of what a package promises at run time.
  find "$out" -name "*.la" -delete
}

cd "$TMPDIR"
runPhase unpackPhase
cd "$sourceRoot"
for phase in patchPhase configurePhase buildPhase checkPhase installPhase fixupPhase; do
  runPhase "$phase"
done
