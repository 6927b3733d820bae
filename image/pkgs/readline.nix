# A library built here that needs a library built here (its terminal handling is ncurses').
{ mkDerivation, sources, ncurses }:
mkDerivation {
  name = "readline-8.2";
  src = sources."readline-8.2.tar.gz";
  buildInputs = [ ncurses ];
  configureFlags = [ "--with-curses" "--disable-static" "--disable-install-examples" ];
}
