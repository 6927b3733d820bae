/**
 * Compiles the project's Solidity sources with the npm `solc` compiler (no downloads): the
 * bytecode that is deployed is the one built from the source in this folder. Node only; the ABI is
 * also committed beside the source (registryAbi.ts, written by `npm run abi`) for code that must
 * not compile, such as the web page.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Abi, Hex } from 'viem'

type SolcOutput = {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[]
  contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
}

export type CompiledContract = { abi: Abi; bytecode: Hex }

const cache = new Map<string, Promise<CompiledContract>>()

export function compileContract(name: string): Promise<CompiledContract> {
  let compiled = cache.get(name)
  if (!compiled) {
    compiled = compile(name)
    cache.set(name, compiled)
  }
  return compiled
}

async function compile(name: string): Promise<CompiledContract> {
  const file = `${name}.sol`
  const source = await readFile(fileURLToPath(new URL(`./${file}`, import.meta.url)), 'utf8')
  const solc = createRequire(import.meta.url)('solc') as { compile: (input: string) => string }
  const input = {
    language: 'Solidity',
    sources: { [file]: { content: source } },
    settings: {
      // The Cancun EVM anvil runs by default; optimizer on, as for a deployment.
      evmVersion: 'cancun',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(`solc could not compile ${file}:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  const contract = output.contracts?.[file]?.[name]
  if (!contract) throw new Error(`solc produced no contract ${name} from ${file}`)
  return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` }
}
