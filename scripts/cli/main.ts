/**
 * The `cartenix` command line. Each subcommand parses its flags, calls the library and prints:
 * human text by default, JSON with --json. Known failures exit non-zero with a clear message.
 */
import { BaseError as ViemError } from 'viem'
import { CommandFailedError } from '../../dapp/lib/exec.ts'
import { BuildFailedError, EvaluationError, MissingSourcesError } from '../../dapp/nix/errors.ts'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { buildCommand, buildUsage } from './commands/build.ts'
import { cacheCommand, cacheUsage } from './commands/cache.ts'
import { devnetCommand, devnetUsage } from './commands/devnet.ts'
import { executeCommand, executeUsage } from './commands/execute.ts'
import { fodsCommand, fodsUsage } from './commands/fods.ts'
import { outputsCommand, outputsUsage } from './commands/outputs.ts'
import { replayCommand, replayUsage } from './commands/replay.ts'
import { validatorCommand, validatorUsage } from './commands/validator.ts'
import { templateCommand, templateUsage } from './commands/template.ts'
import { uploadCommand, uploadUsage } from './commands/upload.ts'
import { verifyCommand, verifyUsage } from './commands/verify.ts'
import { waitCommand, waitUsage } from './commands/wait.ts'
import { UsageError } from './usage.ts'

const commands: Record<string, { run: (argv: string[]) => Promise<number>; usage: string }> = {
  build: { run: buildCommand, usage: buildUsage },
  wait: { run: waitCommand, usage: waitUsage },
  outputs: { run: outputsCommand, usage: outputsUsage },
  verify: { run: verifyCommand, usage: verifyUsage },
  execute: { run: executeCommand, usage: executeUsage },
  devnet: { run: devnetCommand, usage: devnetUsage },
  fods: { run: fodsCommand, usage: fodsUsage },
  upload: { run: uploadCommand, usage: uploadUsage },
  template: { run: templateCommand, usage: templateUsage },
  replay: { run: replayCommand, usage: replayUsage },
  validator: { run: validatorCommand, usage: validatorUsage },
  cache: { run: cacheCommand, usage: cacheUsage },
}

const usage = `usage: cartenix <command> [options]

commands:
${Object.values(commands).map((c) => `  ${c.usage.split('\n')[0]}`).join('\n')}

Run \`cartenix <command> --help\` for more.`

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h') {
    console.log(usage)
    return name ? 0 : 2
  }
  const command = commands[name]
  if (!command) {
    console.error(`cartenix: unknown command "${name}"\n\n${usage}`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage)
    return 0
  }
  try {
    return await command.run(rest)
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(`cartenix ${name}: ${error.message}\n\n${command.usage}`)
      return 2
    }
    if (
      error instanceof CartenixError ||
      error instanceof EvaluationError ||
      error instanceof MissingSourcesError ||
      error instanceof BuildFailedError ||
      error instanceof CommandFailedError
    ) {
      console.error(`cartenix ${name}: ${error.message}`)
      return 1
    }
    if (error instanceof ViemError) {
      console.error(`cartenix ${name}: ${error.shortMessage}`)
      return 1
    }
    throw error
  }
}

// Output piped into a program that stops reading (`| head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw error
})
process.exitCode = await main(process.argv.slice(2))
