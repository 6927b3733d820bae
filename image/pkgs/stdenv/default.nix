# A small stdenv over the seed: `mkDerivation` runs setup.sh with the seed's bash, make and gcc.
{ system }:
let
  seed = import ./seed.nix { inherit system; };
  stdenv = derivation {
    name = "cartenix-stdenv";
    inherit system seed;
    inherit (seed) triplet loader;
    builder = "${seed}/usr/bin/bash";
    args = [ "-e" ./make-stdenv.sh ];
    setup = ./setup.sh;
    ccWrapper = ./cc-wrapper.sh;
  };
  mkDerivation = { name, buildInputs ? [ ], ... }@attrs:
    derivation (attrs // {
      inherit system stdenv;
      builder = "${seed}/usr/bin/bash";
      args = [ "-e" "${stdenv}/setup" ];
      inherit buildInputs;
    });
in
{
  inherit seed stdenv mkDerivation;
}
