/**
 * Where things are. Tools find the repository from this file, so they work from any working
 * directory; inside the machine the back end is one bundled file, so CARTENIX_ROOT says where
 * image/ is.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = process.env.CARTENIX_ROOT ?? fileURLToPath(new URL('../../', import.meta.url))

/** What goes into the machine: the package set, the locks, the Nix settings. */
export const imageDir = join(repoRoot, 'image')

/** Where Cartenix keeps its own nix.conf (sandbox on, no substituters); see image/nix/nix.conf. */
export const nixConfDir = join(imageDir, 'nix')

/** The package set: an attribute set of derivations, a function of `{ system }`. */
export const packageSetPath = join(imageDir, 'pkgs', 'default.nix')
