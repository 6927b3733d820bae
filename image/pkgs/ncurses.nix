# The bottom of the three-level chain: ncurses ← readline ← lua.
{ mkDerivation, sources }:
mkDerivation {
  name = "ncurses-6.4";
  src = sources."ncurses-6.4.tar.gz";
  configureFlags = [
    "--with-shared"
    "--without-debug"
    "--without-normal"
    "--without-ada"
    "--without-cxx"
    "--without-cxx-binding"
    "--without-manpages"
    "--without-tests"
    "--without-progs"
    "--disable-db-install"
    "--disable-stripping"
  ];
}
