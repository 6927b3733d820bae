# A fixed-output derivation for a file that Cartenix injects into the store ahead of time
# (`nix-store --add-fixed`). Its store path depends only on name, hash mode and sha256, so it is
# the same path nixpkgs' fetchurl gives. Nothing is ever downloaded: the machine has no network,
# and the sandbox has none either; an absent source is reported before any build starts.
{ name, sha256, url, recursive ? false }:
derivation {
  inherit name url;
  system = "builtin";
  builder = "builtin:fetchurl";
  outputHashMode = if recursive then "recursive" else "flat";
  outputHashAlgo = "sha256";
  outputHash = sha256;
  unpack = false;
  executable = false;
  preferLocalBuild = true;
}
