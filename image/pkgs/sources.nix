# Every upstream source the package set may use, from the committed lock (image/sources.lock.json),
# as an attribute set from the Nix file name to its fixed-output derivation.
let
  lock = builtins.fromJSON (builtins.readFile ../sources.lock.json);
  fixedOutput = import ./lib/fixed-output.nix;
in
builtins.listToAttrs (map (source: {
  name = source.name;
  value = fixedOutput { inherit (source) name sha256; url = builtins.head source.urls; };
}) lock.sources)
