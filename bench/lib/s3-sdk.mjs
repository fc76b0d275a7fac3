// The AWS SDK alone moving a file to or from an S3 server, the baseline for tor on S3:
//   node s3-sdk.mjs download|upload <endpoint> <bucket> <key> <file>
// Downloads stream GetObject's body into the file; uploads use lib-storage's Upload
// with its defaults (5 MiB parts, 4 in flight), as an application using the SDK would.
import { createReadStream, createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
const [direction, endpoint, bucket, key, file] = process.argv.slice(2)
const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
if (direction === 'download') {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  await pipeline(object.Body, createWriteStream(file))
} else {
  await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file, { highWaterMark: 1 << 20 }) } }).done()
}
client.destroy()
