import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const TOR = path.join(ROOT, 'bin/run.cjs')

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
}

export const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0

/** Runs a command to completion; resolves with its wall time in ms (rejects on a non-zero exit). */
export const timed = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      if (code === 0) resolve(ms)
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').at(-1)}`))
    })
  })

/** Starts a long-running process and resolves once `ready` matches its output. */
export const startProcess = (command, args, ready, options = {}) =>
  new Promise((resolve, reject) => {
    // Its own process group, so stopping it stops what it started (vsftpd under sh, say).
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...options })
    let out = ''
    const onData = (d) => {
      out += d
      const match = out.match(ready)
      if (match) {
        child.stdout.off('data', onData)
        child.stderr.off('data', onData)
        resolve({ child, match, stop: () => stopProcess(child) })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('close', (code) => reject(new Error(`${command} exited ${code} before it was ready: ${out.slice(-500)}`)))
  })

export const stopProcess = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.removeAllListeners('close')
    child.once('close', () => resolve())
    try {
      process.kill(-child.pid, 'SIGTERM')
    } catch {
      child.kill('SIGTERM')
    }
  })

/** Peak resident memory of a process since the last reset, in MiB (Linux /proc). */
export const peakRssMiB = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024
}

export const rssMiB = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024
}

/** Resets the peak RSS counter (VmHWM) of a process, so the next peak is this scenario's. */
export const resetPeakRss = (pid) => {
  try {
    spawnSync('sh', ['-c', `echo 5 > /proc/${pid}/clear_refs`])
  } catch {
    // Not resettable: the peak then covers the whole run, which only overstates it.
  }
}

export const freePort = async () => {
  const net = await import('node:net')
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}
