import { imageDir, packageSetPath, runNix } from './env.ts'
import { z } from 'zod'

/** The attributes of the package set that are derivations (what a request may name as "attr"). */
export async function packageAttributes(system?: string): Promise<string[]> {
  const expr =
    '{ packageSet, system ? builtins.currentSystem }: let pkgs = import (/. + packageSet) { inherit system; }; ' +
    'in builtins.filter (name: (pkgs.${name}.type or null) == "derivation") (builtins.attrNames pkgs)'
  const { stdout } = await runNix('nix-instantiate', [
    '--eval', '--strict', '--json',
    '--option', 'restrict-eval', 'true', '-I', imageDir,
    '--expr', expr, '--argstr', 'packageSet', packageSetPath,
    ...(system ? ['--argstr', 'system', system] : []),
  ])
  return z.array(z.string()).parse(JSON.parse(stdout))
}

/** The system Nix builds for by default on this machine (`builtins.currentSystem`). */
export async function currentSystem(): Promise<string> {
  const { stdout } = await runNix('nix-instantiate', ['--eval', '--json', '--expr', 'builtins.currentSystem'])
  return z.string().parse(JSON.parse(stdout))
}
