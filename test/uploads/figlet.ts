/**
 * A source the machine image does not carry (it is not in image/sources.lock.json): FIGlet 2.2.5,
 * a small C program with a plain Makefile. nixpkgs pins its tarball as
 *   fetchurl { url = "ftp://ftp.figlet.org/pub/figlet/program/unix/figlet-2.2.5.tar.gz";
 *              sha256 = "0za1ax15x7myjl8jz271ybly8ln9kb9zhm1gf6rdlxzhs07w925z"; }
 * (pkgs/tools/misc/figlet/default.nix, later pkgs/by-name/fi/figlet/package.nix), and Debian's
 * figlet_2.2.5.orig.tar.gz is the same file. The tests fetch it from Debian, check both hashes,
 * bring it to the machine through the rollup, and build it with an `expr` request.
 */
import type { LockedSource } from '../../dapp/nix/sources.ts'

/** nixpkgs' pin, in Nix's base-32, as written in nixpkgs. */
export const nixpkgsSha256 = '0za1ax15x7myjl8jz271ybly8ln9kb9zhm1gf6rdlxzhs07w925z'

export const figletSource: LockedSource = {
  name: 'figlet-2.2.5.tar.gz',
  sha256: 'bf88c40fd0f077dab2712f54f8d39ac952e4e9f2e1882f1195be9e5e4257417d',
  urls: ['ftp://ftp.figlet.org/pub/figlet/program/unix/figlet-2.2.5.tar.gz'],
  debian: { source: 'figlet', version: '2.2.5-3', file: 'figlet_2.2.5.orig.tar.gz' },
}

/** The build request: the package set's stdenv, the source declared as nixpkgs declares it. */
export const figletExpr = `pkgs: pkgs.mkDerivation {
  name = "figlet-2.2.5";
  src = pkgs.fixedOutput { name = "${figletSource.name}"; url = "${figletSource.urls[0]}"; sha256 = "${figletSource.sha256}"; };
  buildPhase = ''make -j"$NIX_BUILD_CORES" prefix="$out" CC=cc LD=cc'';
  installPhase = ''make prefix="$out" CC=cc LD=cc install'';
}`
