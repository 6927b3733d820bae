# The seed of tools for one system: Debian's binaries, unpacked and patched to load their
# libraries from the seed itself. Both inputs are fixed-output paths injected by `npm run seed`.
{ system }:
let
  arches = {
    x86_64-linux = { arch = "amd64"; triplet = "x86_64-linux-gnu"; loader = "lib64/ld-linux-x86-64.so.2"; };
    riscv64-linux = { arch = "riscv64"; triplet = "riscv64-linux-gnu"; loader = "lib/ld-linux-riscv64-lp64d.so.1"; };
  };
  target = arches.${system} or (throw "Cartenix has no seed for system ${system}");
  lock = builtins.fromJSON (builtins.readFile (../../seed + "/${target.arch}.lock.json"));
  fixedOutput = import ../lib/fixed-output.nix;
  seedFile = "cartenix-seed:${target.arch}";

  busybox = fixedOutput {
    inherit (lock.outputs.busybox) name;
    sha256 = lock.outputs.busybox.narSha256;
    recursive = true;
    url = "${seedFile}/${lock.outputs.busybox.name}";
  };
  tarball = fixedOutput {
    inherit (lock.outputs.tarball) name sha256;
    url = "${seedFile}/${lock.outputs.tarball.name}";
  };
in
derivation {
  name = "cartenix-seed-${target.arch}";
  inherit system tarball busybox;
  inherit (target) triplet loader;
  # Debian's busybox picks its applet from argv[0]; bin/sh is a link to it.
  builder = "${busybox}/bin/sh";
  args = [ ./unpack-seed.sh ];
} // { inherit (target) triplet loader; inherit busybox tarball; }
