import { spawn, type ChildProcess } from 'node:child_process'
import { rm } from 'node:fs/promises'
import * as path from 'node:path'
import { createInterface } from 'node:readline'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    s3Endpoint: string
  }
}

export interface StartedS3Server {
  readonly endpoint: string
  readonly directory: string
  readonly child: ChildProcess
  stop(): Promise<void>
}

/** Starts the test S3 server (s3rver with the multipart calls it lacks) in its own process, on port 0. */
export const startS3Server = (): Promise<StartedS3Server> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 's3-server.mjs')], {
      // s3rver's paged listings use DES, which OpenSSL 3 only offers with its legacy provider.
      env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the test S3 server exited (${code}) before listening`)))
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const { endpoint, directory } = JSON.parse(line) as { endpoint: string; directory: string }
      resolve({
        endpoint,
        directory,
        child,
        stop: async () => {
          if (child.exitCode === null) {
            const exited = new Promise((done) => child.once('exit', done))
            child.kill('SIGTERM')
            await exited
          }
          await rm(directory, { recursive: true, force: true })
        },
      })
    })
  })

export default async function setup(project: TestProject) {
  const server = await startS3Server()
  project.provide('s3Endpoint', server.endpoint)
  return () => server.stop()
}
