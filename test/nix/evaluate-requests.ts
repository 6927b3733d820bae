/**
 * Evaluates build requests the way the back end does (parse, then instantiate), one per line of
 * JSON on stdin, and prints a JSON array of outcomes: the drvPaths, or the reason for refusal.
 * The determinism test runs it from different clones, directories, environments and times.
 */
import { text } from 'node:stream/consumers'
import { toHex } from 'viem'
import { parseBuildRequest } from '../../dapp/protocol/request.ts'
import { instantiate } from '../../dapp/nix/instantiate.ts'

export type Outcome = { drvPaths: string[] } | { refused: string }

const requests = JSON.parse(await text(process.stdin)) as string[]
const outcomes: Outcome[] = []
for (const request of requests) {
  const parsed = parseBuildRequest(toHex(request))
  if (!parsed.ok) {
    outcomes.push({ refused: parsed.reason })
    continue
  }
  outcomes.push(await instantiate(parsed.request.target, { system: 'x86_64-linux' }).then((drvPaths) => ({ drvPaths }), (error: Error) => ({ refused: error.message })))
}
process.stdout.write(JSON.stringify(outcomes))
