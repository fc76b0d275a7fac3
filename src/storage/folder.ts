import { randomUUID } from 'node:crypto'
import * as fsCallback from 'node:fs'
import { constants as fsConstants, createWriteStream, type Stats, type WriteStream } from 'node:fs'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import * as Effect from 'effect/Effect'
import type * as Scope from 'effect/Scope'
import { FileNotFound, StorageFailure } from '../errors.js'
import { isValidName, type FileEntry } from '../protocol/index.js'
import type { OpenedFile } from './storage.js'

/** The folder the server serves, by its real path (symlinks in the given path resolved). */
export interface ServedFolder {
  readonly root: string
}

/** Uploads in progress are written to hidden files with this prefix, then renamed into place. */
export const TEMP_PREFIX = '.tor-upload-'
const TEMP_SUFFIX = '.part'

const storageFailure = (operation: string) => (cause: unknown) => new StorageFailure({ operation, cause })

/** Creates the folder if needed, resolves its real path and removes uploads a crash left behind. */
export const openServedFolder = (dir: string): Effect.Effect<ServedFolder, StorageFailure> =>
  Effect.gen(function* () {
    yield* Effect.tryPromise({ try: () => fs.mkdir(dir, { recursive: true }), catch: storageFailure(`create ${dir}`) })
    const root = yield* Effect.tryPromise({ try: () => fs.realpath(dir), catch: storageFailure(`open ${dir}`) })
    const names = yield* Effect.tryPromise({ try: () => fs.readdir(root), catch: storageFailure(`read ${dir}`) })
    yield* Effect.forEach(
      names.filter((name) => name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX)),
      (name) => Effect.promise(() => fs.rm(path.join(root, name), { force: true })),
      { discard: true },
    )
    return { root }
  })

/** True when `real` lies inside `root` and no part of it below `root` is hidden. */
const isServedPath = (root: string, real: string): boolean => {
  const relative = path.relative(root, real)
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return false
  return relative.split(path.sep).every((part) => !part.startsWith('.'))
}

/**
 * The stats of `name` if it is served: a valid name for a regular file directly in
 * the folder, or for a symbolic link that leads to a regular file inside the folder.
 * Undefined for anything else (missing, directory, dot-file, link leading outside).
 */
export const statServed = async (folder: ServedFolder, name: string): Promise<Stats | undefined> => {
  if (!isValidName(name)) return undefined
  const full = path.join(folder.root, name)
  try {
    const link = await fs.lstat(full)
    if (link.isFile()) return link
    if (!link.isSymbolicLink()) return undefined
    const real = await fs.realpath(full)
    if (!isServedPath(folder.root, real)) return undefined
    const target = await fs.stat(real)
    return target.isFile() ? target : undefined
  } catch (error) {
    if (isMissing(error)) return undefined
    throw error
  }
}

const isMissing = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EACCES' || code === 'ENXIO'
}

export const toEntry = (name: string, stats: Stats): FileEntry => ({ name, size: stats.size, mtimeMs: stats.mtimeMs })

/**
 * Names a version of a file's content: a replacement is another inode, a change
 * in place another size or modification time. (Not the change time: a rename
 * changes it, and an upload's hash is recorded before its rename.)
 */
const versionOf = (stats: { dev: number; ino: number; size: number; mtimeMs: number }): string => `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}`

/** A plain descriptor: callback-based reads over it are faster than FileHandle streams. */
export type OpenedDescriptor = Extract<OpenedFile, { kind: 'descriptor' }>

const openFd = promisify(fsCallback.open)
const fstatFd = promisify(fsCallback.fstat)
const readlink = promisify(fsCallback.readlink)

// Never follow a symlink at open time, never block on a FIFO or device.
const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK

/** The real path of an open descriptor (Linux), or undefined where the platform cannot tell. */
const pathOfFd = (fd: number): Promise<string | undefined> => readlink(`/proc/self/fd/${fd}`).catch(() => undefined)

/**
 * Opens a served file for reading, in the current scope: open what was checked,
 * then check what was opened. The name is opened without following a symlink
 * (a symlink is resolved first and its target opened the same way, only if it lies
 * inside the folder), non-blocking (a FIFO cannot hang a thread); then the open
 * descriptor itself must be a regular file and, when opened through a link, its real
 * path a served path in the folder. Anything else is FileNotFound, so a file swapped for a symlink or a FIFO
 * between the check and the open is never served. The size comes from the open
 * descriptor: exactly the bytes that will be sent, even if the name is replaced.
 */
export const openForReading = (
  folder: ServedFolder,
  name: string,
): Effect.Effect<OpenedDescriptor, FileNotFound | StorageFailure, Scope.Scope> => {
  if (!isValidName(name)) return Effect.fail(new FileNotFound({ name }))
  const full = path.join(folder.root, name)
  // One promise for the whole open-then-check (a download of a small file is mostly this): each step
  // as its own effect cost more than the file operations.
  const open = async (): Promise<OpenedDescriptor | undefined> => {
    let throughLink = false
    let fd: number
    try {
      fd = await openFd(full, OPEN_FLAGS)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOOP') throw error
      // A symlink: open its target only if it lies inside the folder (checked again on the descriptor).
      throughLink = true
      const real = await fs.realpath(full)
      if (!isServedPath(folder.root, real)) return undefined
      fd = await openFd(real, OPEN_FLAGS)
    }
    try {
      // A valid name has no slash, so without a link the descriptor is the folder's own entry `name`, opened
      // without following anything: its path needs no second look. Through a link, both questions at once.
      const [stats, opened] = await Promise.all([fstatFd(fd), throughLink ? pathOfFd(fd) : undefined])
      if (!stats.isFile() || (opened !== undefined && !isServedPath(folder.root, opened))) {
        closeQuietly(fd)
        return undefined
      }
      return { kind: 'descriptor' as const, fd, size: stats.size, mtimeMs: stats.mtimeMs, version: versionOf(stats) }
    } catch (error) {
      closeQuietly(fd)
      throw error
    }
  }
  return Effect.acquireRelease(
    Effect.tryPromise({
      try: open,
      catch: (cause) => (isMissing(cause) ? new FileNotFound({ name }) : storageFailure(`open ${name}`)(cause)),
    }),
    // Not waited for: the descriptor is released either way, and nothing after it depends on the close.
    (opened) => Effect.sync(() => opened && closeQuietly(opened.fd)),
  ).pipe(Effect.flatMap((opened) => (opened ? Effect.succeed(opened) : Effect.fail(new FileNotFound({ name })))))
}

const closeQuietly = (fd: number) => fsCallback.close(fd, () => undefined)

/** True when something (file, folder, link...) already has this name in the folder. */
export const nameTaken = (folder: ServedFolder, name: string): Effect.Effect<boolean, StorageFailure> =>
  Effect.tryPromise({
    try: () =>
      fs.lstat(path.join(folder.root, name)).then(
        () => true,
        (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
      ),
    catch: storageFailure(`stat ${name}`),
  })

/** Bytes the folder's file system can still take (undefined where the platform cannot tell). */
export const freeBytes = (folder: ServedFolder): Effect.Effect<number | undefined> =>
  Effect.promise(() =>
    fs.statfs(folder.root).then(
      (s) => s.bavail * s.bsize,
      () => undefined,
    ),
  )

/**
 * Moves a hidden file of the server's (an upload received whole) to `name`: renamed over
 * whatever is there, or, without `replace`, linked (which fails if the name was taken
 * meanwhile, atomically) and the hidden name removed. Says which version it placed.
 */
export const placeFile = async (folder: ServedFolder, hiddenPath: string, name: string, replace: boolean, known?: { version: string }): Promise<{ version: string }> => {
  // The hidden file is this server's alone: what it holds is what was received.
  const version = known?.version ?? versionOf(await fs.stat(hiddenPath))
  if (replace) await fs.rename(hiddenPath, path.join(folder.root, name))
  else {
    await fs.link(hiddenPath, path.join(folder.root, name))
    await fs.rm(hiddenPath, { force: true })
  }
  return { version }
}

/**
 * A write stream open on `file` in the current scope. Write errors reach the writer
 * through its own listener and the commit; the one kept here stops an error after the
 * stream is closed (a write in flight when the client vanished) from being thrown,
 * which would also stop the stream from ever closing its file. On release the stream
 * is ended (what was written stays: a kept upload) or destroyed (a temporary file).
 */
export const scopedWriteStream = (
  file: string,
  options: { readonly flags: string; readonly mode?: number; readonly start?: number; readonly highWaterMark: number },
  onRelease: 'end' | 'destroy',
  what: string,
): Effect.Effect<WriteStream, StorageFailure, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<WriteStream, StorageFailure>((resume) => {
      const stream = createWriteStream(file, options)
      const failed = (cause: unknown) => resume(Effect.fail(storageFailure(what)(cause)))
      stream.once('error', failed)
      stream.once('ready', () => {
        stream.off('error', failed)
        stream.on('error', () => undefined)
        resume(Effect.succeed(stream))
      })
    }),
    (stream) =>
      stream.closed
        ? Effect.void
        : Effect.async<void>((resume) => {
            stream.once('close', () => resume(Effect.void))
            if (onRelease === 'end') stream.end()
            else stream.destroy()
          }),
  )

export interface FolderUpload {
  /** Writes to the hidden temporary file (or, for a small upload, to memory until the commit). */
  readonly sink: Writable
  readonly tempPath: string
  /** Flushes and closes the temporary file, then renames it to its name, replacing any file there atomically; says which version it stored. */
  readonly commit: Effect.Effect<{ readonly version: string }, StorageFailure>
}

/**
 * A hidden temporary file in the folder, open for writing, in the current scope.
 * When the scope closes without `commit` having succeeded (failure, interruption,
 * a client gone mid-upload), the temporary file is removed: a partial upload is
 * never visible under its name.
 */
export const createUploadTarget = (
  folder: ServedFolder,
  name: string,
  highWaterMark: number,
  options: { readonly replace: boolean; readonly size?: number } = { replace: true },
): Effect.Effect<FolderUpload, StorageFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const tempPath = path.join(folder.root, `${TEMP_PREFIX}${randomUUID()}${TEMP_SUFFIX}`)
    let committed = false
    yield* Effect.addFinalizer(() =>
      committed ? Effect.void : Effect.promise(() => fs.rm(tempPath, { force: true }).catch(() => undefined)),
    )
    const sink = yield* scopedWriteStream(tempPath, { flags: 'wx', mode: 0o644, highWaterMark }, 'destroy', `create a file for ${name}`)
    const commit = Effect.tryPromise({
      try: async () => {
        await new Promise<void>((resolve, reject) => {
          sink.once('error', reject)
          sink.end(() => sink.once('close', resolve))
        })
        if (options.size !== undefined && sink.bytesWritten !== options.size) throw new Error(`${sink.bytesWritten} of ${options.size} bytes arrived`)
        const { version } = await placeFile(folder, tempPath, name, options.replace)
        committed = true
        return { version }
      },
      catch: storageFailure(`store ${name}`),
    })
    return { sink, tempPath, commit }
  })

/** Uploads up to this size are gathered in memory and written whole at commit. */
export const SMALL_UPLOAD_BYTES = 64 << 10

/**
 * An upload of a small file (at most SMALL_UPLOAD_BYTES): the bytes are gathered in
 * memory and the hidden file is written whole at commit, then renamed into place. A
 * thousand small uploads spent most of their time waiting on the thread pool for the
 * stream's separate open, write and close; this is one write call. Exactly `size`
 * bytes are taken: more is an error, fewer fails the commit.
 */
export const createSmallUploadTarget = (
  folder: ServedFolder,
  name: string,
  size: number,
  options: { readonly replace: boolean } = { replace: true },
): Effect.Effect<FolderUpload, StorageFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const tempPath = path.join(folder.root, `${TEMP_PREFIX}${randomUUID()}${TEMP_SUFFIX}`)
    let written = false
    let committed = false
    yield* Effect.addFinalizer(() =>
      committed || !written ? Effect.void : Effect.promise(() => fs.rm(tempPath, { force: true }).catch(() => undefined)),
    )
    const data = Buffer.allocUnsafe(size)
    let received = 0
    const sink = new Writable({
      highWaterMark: SMALL_UPLOAD_BYTES + 1,
      write(chunk: Buffer, _encoding, callback) {
        if (received + chunk.length > size) return callback(new Error(`more than the ${size} bytes announced`))
        chunk.copy(data, received)
        received += chunk.length
        callback()
      },
    })
    const commit = Effect.tryPromise({
      try: async () => {
        if (received !== size) throw new Error(`${received} of ${size} bytes arrived`)
        written = true
        const stats = await writeNewFile(tempPath, data)
        const { version } = await placeFile(folder, tempPath, name, options.replace, { version: versionOf(stats) })
        committed = true
        return { version }
      },
      catch: storageFailure(`store ${name}`),
    })
    return { sink, tempPath, commit }
  })

const writeFd = promisify(fsCallback.write)

/** Creates `file` (never an existing one) holding `data`; the stats of what was written. The close is not waited for. */
const writeNewFile = async (file: string, data: Buffer): Promise<Stats> => {
  const fd = await openFd(file, 'wx', 0o644)
  try {
    for (let at = 0; at < data.length; ) at += (await writeFd(fd, data, at, data.length - at, at)).bytesWritten
    return await fstatFd(fd)
  } finally {
    closeQuietly(fd)
  }
}
