import { mkdir, rm, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { folderStorage } from '../../src/storage/folder-storage.js'
import { MemoryFiles, memoryStorage } from '../../src/storage/memory-storage.js'
import { s3Storage } from '../../src/storage/s3-storage.js'
import { makeBucket, s3ClientConfig } from '../support/s3.js'
import { makeTempDir } from '../support/server.js'
import { storageContract } from './contract.js'

storageContract(
  'local folder',
  async () => {
    const dir = await makeTempDir('tor-contract-')
    return {
      layer: folderStorage(dir),
      putBehind: (name, bytes) => writeFile(path.join(dir, name), bytes),
      teardown: () => rm(dir, { recursive: true, force: true }),
    }
  },
  { conditionalCreate: true, stableReads: true },
)

storageContract(
  'in-memory',
  async () => {
    const files = new MemoryFiles()
    return { layer: memoryStorage({ files }), putBehind: async (name, bytes) => void files.put(name, bytes), teardown: async () => undefined }
  },
  { conditionalCreate: true, stableReads: true },
)

storageContract(
  'S3',
  async () => {
    const bucket = await makeBucket()
    const stateDir = await makeTempDir('tor-contract-state-')
    await mkdir(stateDir, { recursive: true })
    return {
      // A listing is fetched again once 100 ms old: "someone else's upload" shows within that.
      layer: s3Storage({ bucket: bucket.bucket, prefix: 'team/', client: s3ClientConfig(), stateDir, listTtlMs: 100, partBytes: 5 << 20 }),
      putBehind: (name, bytes) => bucket.put(`team/${name}`, bytes),
      teardown: async () => {
        bucket.close()
        await rm(stateDir, { recursive: true, force: true })
      },
    }
  },
  // The test server's gaps, not the layer's: s3rver ignores IfNoneMatch (STACK.md) and rewrites an object's file
  // in place, so a read in flight sees the new bytes; AWS S3, MinIO and Ceph honour IfNoneMatch and serve a GET
  // from the version it started with.
  { conditionalCreate: false, stableReads: false },
)
