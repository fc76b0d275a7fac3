import * as path from 'node:path'
import { PassThrough, Readable, Writable } from 'node:stream'
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import { FileNotFound, StorageFailure } from '../errors.js'
import { isValidName } from '../protocol/index.js'
import { BucketListing } from './s3-listing.js'
import { abortMultipartUpload, cleanUpUnfinishedUploads, journalMultipartUploads, UploadJournal, type JournaledUpload } from './s3-multipart.js'
import { HashCache } from './hashes.js'
import { Storage, type StorageService } from './storage.js'

export interface S3StorageOptions {
  readonly bucket: string
  /** Key prefix: '' or ending with '/'. A file's key is `prefix + name`. */
  readonly prefix: string
  /** Endpoint, region, credentials: unset fields follow the AWS SDK's usual configuration. */
  readonly client?: S3ClientConfig
  /** The server's state folder: the journal of its multipart uploads in progress lives there. */
  readonly stateDir: string
  /** A listing older than this is fetched again (default 2 s)... */
  readonly listTtlMs?: number
  /** ...and waited for this long, at most, when something is cached already (default 1 s). */
  readonly listFreshWaitMs?: number
  /** Multipart part size (default 8 MiB) and parts in flight per upload (default 2). */
  readonly partBytes?: number
  readonly queueSize?: number
  /** Multipart uploads under the prefix older than this are aborted at start, whoever started them (default 24 h). */
  readonly abandonAfterMs?: number
  readonly log?: (line: string) => void
}

const DEFAULT_PART_BYTES = 8 << 20
const MAX_PARTS = 10_000

const failure = (operation: string) => (cause: unknown) => new StorageFailure({ operation, cause })
const isNotFound = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } }
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404
}

/** The SDK's error, with what the operator can do about it. */
const withHint = (cause: unknown, bucket: string): Error => {
  const error = cause as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } }
  const status = error?.$metadata?.httpStatusCode
  const hint =
    error?.name === 'CredentialsProviderError' || /credentials/i.test(error?.message ?? '')
      ? 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in ~/.aws/credentials'
      : status === 404 || error?.name === 'NotFound' || error?.name === 'NoSuchBucket'
        ? `the bucket "${bucket}" does not exist: create it first`
        : status === 403
          ? `the credentials may not read the bucket "${bucket}"`
          : error?.code === 'ECONNREFUSED' || error?.code === 'ENOTFOUND'
            ? 'is the endpoint right (--s3-endpoint or AWS_ENDPOINT_URL), and the store running?'
            : undefined
  const message = error?.message && error.message !== 'UnknownError' ? error.message : (error?.name ?? String(cause))
  return Object.assign(new Error(hint ? `${message} (${hint})` : message), { name: error?.name, code: error?.code })
}

/** Makes the SDK client, with a region when none is configured anywhere (S3-compatible stores ignore it). */
const makeClient = async (config: S3ClientConfig): Promise<S3Client> => {
  // The pinned SDK release runs on Node 20 (see STACK.md); its notice that later releases need Node 22 is for
  // this project's developers, not for the operator's log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const endpointGiven = config.endpoint !== undefined || process.env.AWS_ENDPOINT_URL_S3 !== undefined || process.env.AWS_ENDPOINT_URL !== undefined
  const base: S3ClientConfig = {
    // Stores other than AWS mostly want bucket names in the path, not in the host name.
    forcePathStyle: endpointGiven,
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: 256 }, httpsAgent: { keepAlive: true, maxSockets: 256 } },
    ...config,
  }
  const probe = new S3Client(base)
  const region = await probe.config.region().catch(() => undefined)
  if (region) return probe
  probe.destroy()
  return new S3Client({ ...base, region: 'us-east-1' })
}

/**
 * An S3-compatible bucket (AWS S3, Ceph RGW, MinIO, Garage, R2...), shared by any
 * number of Tor servers. Uploads are multipart uploads (parts of `partBytes`,
 * `queueSize` in flight: bounded memory) that become visible only when complete;
 * one that fails or is abandoned is aborted, and a start aborts what this server's
 * previous run left (its journal) and anything older than `abandonAfterMs`.
 * Downloads stream the object's body; the size announced is that object version's.
 */
export const makeS3Storage = (options: S3StorageOptions) =>
  Effect.gen(function* () {
    const { bucket, prefix } = options
    const location = `s3://${bucket}/${prefix}`
    const log = options.log ?? (() => undefined)
    const client = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => makeClient(options.client ?? {}), catch: failure(`configure ${location}`) }),
      (client) => Effect.sync(() => client.destroy()),
    )
    yield* Effect.tryPromise({
      try: (signal) => client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal }),
      catch: (cause) => failure(`open ${location}`)(withHint(cause, bucket)),
    })

    const journal = new UploadJournal(path.join(options.stateDir, 's3-uploads'))
    const claim = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => journal.claim(), catch: failure(`claim ${options.stateDir}`) }),
      (claim) => ('release' in claim ? Effect.promise(() => claim.release()) : Effect.void),
    )
    if ('problem' in claim) return yield* Effect.fail(failure(`open ${location}`)(new Error(claim.problem)))
    journalMultipartUploads(client, journal)
    const abort = (upload: JournaledUpload) => abortMultipartUpload(client, journal, upload)
    yield* Effect.promise(() => cleanUpUnfinishedUploads(client, journal, { bucket, prefix, abandonAfterMs: options.abandonAfterMs ?? 24 * 3600_000, log }))

    const listTtlMs = options.listTtlMs ?? 2000
    const listing = new BucketListing(client, bucket, prefix, listTtlMs, options.listFreshWaitMs ?? 1000)
    // The first listing is fetched while the server starts, so the first client rarely waits for it.
    listing.refresh().catch((error: unknown) => log(`could not list ${location} yet: ${(error as Error).message}`))
    const keyOf = (name: string) => `${prefix}${name}`

    const hashes = new HashCache()
    const service: StorageService = {
      location,
      staleness: listTtlMs,
      list: (search, onProgress) => Effect.tryPromise({ try: () => listing.list(search, onProgress), catch: failure(`list ${location}`) }),
      openForReading: (name) =>
        Effect.gen(function* () {
          if (!isValidName(name)) return yield* Effect.fail(new FileNotFound({ name }))
          const key = keyOf(name)
          const head = yield* Effect.tryPromise({
            try: (signal) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
            catch: (cause) => (isNotFound(cause) ? new FileNotFound({ name }) : failure(`head ${key}`)(cause)),
          })
          const etag = head.ETag ?? ''
          // The bytes of exactly the version announced: a GET made after a replacement fails (If-Match) rather than mix.
          const size = head.ContentLength ?? 0
          const open = (offset: number) =>
            // Nothing left to read (S3 answers a range starting at the end with 416).
            offset >= size ? Effect.succeed(Readable.from([])) : Effect.acquireRelease(
              Effect.tryPromise({
                try: (signal) =>
                  client
                    .send(
                      new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag || undefined, Range: offset > 0 ? `bytes=${offset}-` : undefined }),
                      { abortSignal: signal },
                    )
                    .then((object) => object.Body as Readable),
                catch: failure(`get ${key}`),
              }),
              (body) => Effect.sync(() => body.destroy()),
            )
          const sha256 = head.Metadata?.sha256
          return {
            kind: 'stream' as const,
            open,
            size,
            mtimeMs: head.LastModified?.getTime() ?? 0,
            version: `${key}:${etag}`,
            ...(sha256 && /^[0-9a-f]{64}$/.test(sha256) ? { sha256 } : {}),
          }
        }),
      createUpload: (name, size, { replace }) =>
        Effect.gen(function* () {
          const body = new PassThrough({ highWaterMark: 1 << 20 })
          // What the connection writes, counted as it is written: a body shorter than announced is never stored.
          let written = 0
          const sink = new Writable({
            highWaterMark: 1 << 20,
            write(chunk: Buffer, _encoding, callback) {
              written += chunk.length
              // Copied: the uploader holds chunks until a part is full, and the caller may fill this one again after the callback.
              if (body.write(Buffer.from(chunk))) callback()
              else body.once('drain', () => callback())
            },
          })
          body.once('error', (error) => sink.destroy(error))
          const upload = new Upload({
            client,
            params: { Bucket: bucket, Key: keyOf(name), Body: body, ...(replace ? {} : { IfNoneMatch: '*' }) },
            partSize: Math.max(options.partBytes ?? DEFAULT_PART_BYTES, Math.ceil(size / MAX_PARTS)),
            queueSize: options.queueSize ?? 2,
          })
          const done = upload.done()
          // The outcome is awaited by `commit` or by the finalizer; never left unhandled.
          done.catch(() => undefined)
          let committed = false
          yield* Effect.addFinalizer(() =>
            committed
              ? Effect.void
              : Effect.promise(async () => {
                  // The uploader fails on the broken body and aborts the multipart upload itself.
                  body.destroy(new Error('upload discarded'))
                  sink.destroy()
                  await done.catch(() => undefined)
                  if (upload.uploadId) await abort({ bucket, key: keyOf(name), uploadId: upload.uploadId }).catch(() => undefined)
                }),
          )
          const commit = (known?: { readonly sha256: string }) =>
            Effect.tryPromise({
              try: async () => {
                await new Promise<void>((resolve, reject) => {
                  sink.once('error', reject)
                  sink.end(() => resolve())
                })
                if (written !== size) {
                  body.destroy(new Error('upload discarded'))
                  throw new Error(`${written} of ${size} bytes arrived`)
                }
                body.end()
                let stored: { ETag?: string }
                try {
                  stored = await done
                } finally {
                  if (upload.uploadId) await journal.remove(upload.uploadId)
                }
                committed = true
                listing.uploaded({ name, size, mtimeMs: Date.now() })
                if (known && stored.ETag) hashes.remember(`${keyOf(name)}:${stored.ETag}`, known.sha256)
              },
              catch: failure(`store ${keyOf(name)}`),
            })
          // A cut upload is aborted, not kept: continuing it would mean keeping its multipart upload open for days.
          return { from: 0, sink, discard: Effect.void, commit }
        }),
      nameTaken: (name) =>
        Effect.tryPromise({
          try: (signal) =>
            client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(name) }), { abortSignal: signal }).then(
              () => true,
              (error: unknown) => (isNotFound(error) ? false : Promise.reject(error)),
            ),
          catch: failure(`head ${keyOf(name)}`),
        }),
      sha256: (file, content) => hashes.of(file, content),
    }
    return service
  })

export const s3Storage = (options: S3StorageOptions): Layer.Layer<Storage, StorageFailure> => Layer.scoped(Storage, makeS3Storage(options))
