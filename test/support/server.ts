import { EventEmitter } from 'node:events'
import { watch } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { DEFAULT_LIMITS, startServer, type RunningServer } from '../../src/actors/server-runtime.js'
import type { ServerLimits } from '../../src/machines/server.js'
import type { SessionLimits } from '../../src/machines/session-rules.js'
import type { ServerTls } from '../../src/actors/transport.js'
import type * as Layer from 'effect/Layer'
import type { StorageFailure } from '../../src/errors.js'
import { folderStorage } from '../../src/storage/folder-storage.js'
import type { Storage } from '../../src/storage/storage.js'

/** Log lines as they come; `waitFor` resolves on the first matching line, past or future. */
export class LogLines {
  readonly lines: string[] = []
  private readonly events = new EventEmitter()

  add = (line: string) => {
    this.lines.push(line)
    this.events.emit('line', line)
  }

  waitFor(pattern: RegExp): Promise<string> {
    const seen = this.lines.find((l) => pattern.test(l))
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve) => {
      const listener = (line: string) => {
        if (!pattern.test(line)) return
        this.events.off('line', listener)
        resolve(line)
      }
      this.events.on('line', listener)
    })
  }
}

export interface TestServer {
  readonly server: RunningServer
  readonly dir: string
  readonly logs: LogLines
  readonly answers: string[]
  /** The last state of every session that has ended, by client id. */
  readonly finalStates: Map<string, unknown>
  stop(): Promise<void>
}

export const makeTempDir = (prefix = 'tor-test-') => mkdtemp(path.join(tmpdir(), prefix))

export interface TestServerOptions {
  readonly dir?: string
  readonly maxUploadBytes?: number
  readonly maxLineBytes?: number
  readonly limits?: Partial<Omit<ServerLimits, 'session'>>
  readonly session?: Partial<SessionLimits>
  readonly stateDir?: string
  readonly tls?: ServerTls
  /** Another store than the temporary folder (memory, S3); `dir` is then only the state folder's parent. */
  readonly storage?: Layer.Layer<Storage, StorageFailure>
}

export const startTestServer = async (options: TestServerOptions = {}): Promise<TestServer> => {
  const dir = options.dir ?? (await makeTempDir())
  const logs = new LogLines()
  const answers: string[] = []
  const finalStates = new Map<string, unknown>()
  const server = await startServer({
    stateDir: options.stateDir ?? path.join(dir, '.tor-server'),
    tls: options.tls,
    inspect: (event) => {
      if (event.type !== '@xstate.snapshot') return
      const snapshot = event.snapshot as { status?: string; value?: unknown }
      const id = (event.actorRef as { id?: string }).id ?? ''
      if (snapshot.status === 'done' && id.startsWith('client-')) finalStates.set(id, snapshot.value)
    },
    host: '127.0.0.1',
    port: 0,
    storage: options.storage ?? folderStorage(dir),
    limits: {
      ...DEFAULT_LIMITS,
      maxClients: 1000,
      maxPerIp: 1000,
      ...options.limits,
      session: { ...DEFAULT_LIMITS.session, maxUploadBytes: options.maxUploadBytes ?? 1 << 30, ...options.session },
    },
    maxLineBytes: options.maxLineBytes,
    log: logs.add,
    answer: (line) => answers.push(line),
  })
  return {
    server,
    dir,
    logs,
    answers,
    finalStates,
    async stop() {
      // Twice: stop at once, without waiting for sessions to drain.
      const active = () => server.actor.getSnapshot().status === 'active'
      if (active()) server.shutdown()
      if (active()) server.shutdown()
      await server.stopped
      // A folder the caller gave (a mount point, say) is the caller's to remove.
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Resolves once `predicate` holds for the folder's names: checked now and on every change the kernel reports. */
export const waitForFolder = (dir: string, predicate: (names: string[]) => boolean): Promise<string[]> =>
  new Promise((resolve, reject) => {
    let done = false
    const watcher = watch(dir, () => void check())
    const check = async () => {
      const names = await readdir(dir).catch(() => [] as string[])
      if (done || !predicate(names)) return
      done = true
      watcher.close()
      resolve(names)
    }
    watcher.on('error', reject)
    void check()
  })
