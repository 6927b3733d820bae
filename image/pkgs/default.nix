# The Cartenix package set: everything here builds offline in the Nix sandbox, from the seed of
# tools and the locked upstream sources, for the system it is evaluated for.
{ system ? builtins.currentSystem }:
let
  stdenv = import ./stdenv { inherit system; };
  sources = import ./sources.nix;
  callPackage = file: extra: import file ({ inherit (stdenv) mkDerivation; inherit sources; } // extra);
  pkgs = {
    inherit (stdenv) seed mkDerivation;
    stdenv = stdenv.stdenv;
    inherit sources;
    # For requests that bring a source of their own: it must still be injected before the build.
    fixedOutput = import ./lib/fixed-output.nix;

    hello = callPackage ./hello.nix { };
    ncurses = callPackage ./ncurses.nix { };
    readline = callPackage ./readline.nix { inherit (pkgs) ncurses; };
    lua = callPackage ./lua.nix { inherit (pkgs) readline ncurses; };
  };
in
pkgs
