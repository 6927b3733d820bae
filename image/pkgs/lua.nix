# A program that links both libraries built here: lua's interactive mode uses readline, which
# uses ncurses.
{ mkDerivation, sources, readline, ncurses }:
mkDerivation {
  name = "lua-5.4.4";
  src = sources."lua-5.4.4.tar.gz";
  buildInputs = [ readline ncurses ];
  buildPhase = ''
    make -j"$NIX_BUILD_CORES" -C src CC=cc all \
      SYSCFLAGS="-DLUA_USE_LINUX -DLUA_USE_READLINE" \
      SYSLIBS="-Wl,-E -ldl -lreadline -lncurses"
  '';
  installPhase = ''
    make install INSTALL_TOP="$out"
  '';
}
