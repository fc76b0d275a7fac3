import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import type { StorageFailure } from '../errors.js'
import { folderStorage } from './folder-storage.js'
import type { HashFile } from './hashes.js'
import type { StorageLocation } from './s3-location.js'
import type { Storage } from './storage.js'

export interface StorageSettings {
  /** The server's state folder (an S3 store keeps its journal of uploads in progress there). */
  readonly stateDir: string
  /** S3 endpoint URL; unset, the AWS SDK's configuration decides (AWS_ENDPOINT_URL, shared config files). */
  readonly s3Endpoint?: string
  readonly s3ListTtlMs?: number
  /** How long a cut upload is kept for its account to continue (the local folder). */
  readonly keepPartialMs?: number
  readonly log?: (line: string) => void
  /** How the local folder's files are hashed (a server: on its hash worker, off the event loop every client shares). */
  readonly hashFile?: HashFile
}

/** The storage Layer a location names. */
export const storageLayer = (location: StorageLocation, settings: StorageSettings): Layer.Layer<Storage, StorageFailure> =>
  location.kind === 'folder'
    ? folderStorage(location.dir, { keepPartialMs: settings.keepPartialMs, log: settings.log, hashFile: settings.hashFile })
    : // The AWS SDK is loaded only by servers that use it.
      Layer.unwrapEffect(
        Effect.promise(() => import('./s3-storage.js')).pipe(
          Effect.map(({ s3Storage }) =>
            s3Storage({
              bucket: location.bucket,
              prefix: location.prefix,
              stateDir: settings.stateDir,
              client: settings.s3Endpoint ? { endpoint: settings.s3Endpoint } : {},
              listTtlMs: settings.s3ListTtlMs,
              log: settings.log,
            }),
          ),
        ),
      )
