import { spawn } from 'node:child_process'

/** A child process that exited non-zero or could not start; keeps the tail of its stderr. */
export class CommandFailedError extends Error {
  override name = 'CommandFailedError' as const
  readonly command: string
  readonly exitCode: number | null
  readonly stderr: string
  readonly stdout: string
  constructor(args: { command: string; exitCode: number | null; stderr: string; stdout?: string; cause?: unknown }) {
    const tail = args.stderr.trim().split('\n').slice(-20).join('\n')
    super(`Command failed with exit code ${args.exitCode}: ${args.command}${tail ? `\n${tail}` : ''}`, {
      cause: args.cause,
    })
    this.command = args.command
    this.exitCode = args.exitCode
    this.stderr = args.stderr
    this.stdout = args.stdout ?? ''
  }
}

export type ExecOptions = {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Written to the child's stdin, then closed. */
  input?: string
  /** Stream the child's stderr to ours as it comes (long builds), besides capturing it. */
  echoStderr?: boolean
  timeoutMs?: number
  /** Aborting sends the child SIGTERM. */
  signal?: AbortSignal
}

export type ExecResult = { stdout: string; stderr: string }

/** Runs a program without a shell and resolves with its output, or rejects with CommandFailedError. */
export function exec(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const command = [file, ...args].join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      signal: options.signal,
    })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk)
      if (options.echoStderr) process.stderr.write(chunk)
    })
    child.on('error', (cause) => reject(new CommandFailedError({ command, exitCode: null, stderr: String(cause), cause })))
    child.on('close', (code) => {
      const result = { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }
      if (code === 0) resolve(result)
      else reject(new CommandFailedError({ command, exitCode: code, stderr: result.stderr, stdout: result.stdout }))
    })
    if (options.input !== undefined && child.stdin) {
      // A child may exit without reading its input; that EPIPE is the child's business, and its
      // exit status (handled above) says whether it failed.
      child.stdin.on('error', () => {})
      child.stdin.end(options.input)
    }
  })
}
