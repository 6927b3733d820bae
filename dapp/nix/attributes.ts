import { z } from 'zod'
import { runNix } from './env.ts'
import { packageSetArgs } from './instantiate.ts'

/** The attributes of the package set that are derivations (what a request may name as "attr"). */
export async function packageAttributes(system: string, imageDir?: string): Promise<string[]> {
  const args = await packageSetArgs({ system, imageDir })
  const { stdout } = await runNix('nix-instantiate', ['--eval', '--strict', '--json', ...args, '--argstr', 'listAttributes', '1'], { cwd: '/', env: { HOME: '/homeless-shelter' } })
  return z.array(z.string()).parse(JSON.parse(stdout))
}
