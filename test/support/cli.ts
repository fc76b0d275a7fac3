import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = path.join(ROOT, 'bin/run.cjs')

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the real `tor` CLI (the built one, as `npm test` builds first) to completion. */
export const tor = (args: string[], options: { cwd: string; input?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })

/** A long-running `tor` process whose output can be awaited line by line. */
export class TorProcess {
  stdout = ''
  stderr = ''
  readonly exited: Promise<number | null>
  private waiters: Array<() => void> = []

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    const wake = () => this.waiters.splice(0).forEach((w) => w())
    child.stdout.on('data', (d) => ((this.stdout += d), wake()))
    child.stderr.on('data', (d) => ((this.stderr += d), wake()))
    this.exited = new Promise((resolve) => child.on('close', (code) => (wake(), resolve(code))))
  }

  static start(args: string[], cwd: string, env?: NodeJS.ProcessEnv): TorProcess {
    return new TorProcess(spawn(process.execPath, [BIN, ...args], { cwd, env: env && { ...process.env, ...env } }))
  }

  /** Resolves with the first match of `pattern` in stdout (from `from` on); rejects if the process ends first. */
  async waitFor(pattern: RegExp, from = 0): Promise<RegExpMatchArray> {
    for (let exited = false; ; ) {
      const match = this.stdout.slice(from).match(pattern)
      if (match) return match
      if (exited) throw new Error(`process ended before ${pattern}; stdout: ${this.stdout}; stderr: ${this.stderr}`)
      await new Promise<void>((resolve) => this.waiters.push(resolve))
      exited = this.child.exitCode !== null || this.child.signalCode !== null
    }
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`)
  }
}
