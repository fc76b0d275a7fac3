import { randomUUID } from 'node:crypto'
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { inject } from 'vitest'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

/** How the tests reach the S3 server the global setup started (any credentials do). */
export const s3ClientConfig = (endpoint = inject('s3Endpoint')): S3ClientConfig => ({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
})

/** A new, empty bucket of its own for one test, and what the test needs to look into it. */
export const makeBucket = async (endpoint = inject('s3Endpoint')) => {
  const client = new S3Client(s3ClientConfig(endpoint))
  const bucket = `tor-${randomUUID().slice(0, 18)}`
  await client.send(new CreateBucketCommand({ Bucket: bucket }))
  return {
    bucket,
    client,
    endpoint,
    put: (key: string, body: string | Buffer) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })).then(() => undefined),
    get: async (key: string) => Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray()),
    keys: async (prefix = '') => ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!),
    unfinishedUploads: async (prefix = '') =>
      ((await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))).Uploads ?? []).map((u) => u.Key!),
    close: () => client.destroy(),
  }
}
