#!/usr/bin/env node
// A real S3-protocol server for tests, the bench and trying things by hand: s3rver
// (what installs on Node 20), plus the two multipart calls it lacks,
// ListMultipartUploads and AbortMultipartUpload, answered over its own files.
//
//   node test/support/s3-server.mjs [--port 0] [--dir <folder>] [--bucket name]...
//
// Prints one JSON line {"port": N, "endpoint": "http://127.0.0.1:N"} once listening.
// Access key and secret: S3RVER / S3RVER. Run it with
// NODE_OPTIONS=--openssl-legacy-provider on Node 17+, or paged listings fail.
import { createServer } from 'node:http'
import * as fs from 'node:fs/promises'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import S3rver from 's3rver'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? fallback : args[i + 1]
}
const port = Number(option('port', '0'))
const directory = option('dir', undefined) ?? mkdtempSync(path.join(tmpdir(), 'tor-s3-'))
const buckets = args.flatMap((a, i) => (a === '--bucket' ? [{ name: args[i + 1] }] : []))

// s3rver writes an object's file in place: two uploads of one key completing together interleave their
// bytes. S3 makes each write whole; here writes of objects are done one at a time to behave the same.
let writing = Promise.resolve()
const serialized = (method) =>
  function (...args) {
    const run = writing.then(() => method.apply(this, args))
    writing = run.catch(() => undefined)
    return run
  }
const store = (await import('s3rver/lib/stores/filesystem.js')).default
// (putObjectMultipart writes through putObject.)
store.prototype.putObject = serialized(store.prototype.putObject)

const s3rver = new S3rver({ directory, silent: true, allowMismatchedSignatures: true, configureBuckets: buckets, vhostBuckets: false })
await s3rver.configureBuckets?.()
const handle = s3rver.callback()

const uploadsDir = (bucket) => path.join(directory, bucket, '._S3rver_uploads')
const xml = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/xml' })
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`)
}
const escape = (s) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)

const listUploads = async (bucket, prefix, res) => {
  const ids = await fs.readdir(uploadsDir(bucket)).catch(() => [])
  const uploads = []
  for (const id of ids) {
    const key = await fs.readFile(path.join(uploadsDir(bucket), id, 'key'), 'utf8').catch(() => undefined)
    if (key === undefined || !key.startsWith(prefix)) continue
    const { birthtime } = await fs.stat(path.join(uploadsDir(bucket), id))
    uploads.push(`<Upload><Key>${escape(key)}</Key><UploadId>${escape(id)}</UploadId><Initiated>${birthtime.toISOString()}</Initiated></Upload>`)
  }
  xml(res, 200, `<ListMultipartUploadsResult><Bucket>${escape(bucket)}</Bucket><Prefix>${escape(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`)
}

const abortUpload = async (bucket, uploadId, res) => {
  const dir = path.join(uploadsDir(bucket), path.basename(uploadId))
  const found = await fs.stat(dir).then(() => true, () => false)
  if (!found) return xml(res, 404, '<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>')
  await fs.rm(dir, { recursive: true, force: true })
  res.writeHead(204)
  res.end()
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const [, bucket, ...key] = url.pathname.split('/').filter((part, i) => i === 0 || part !== '')
  if (req.method === 'GET' && bucket && key.length === 0 && url.searchParams.has('uploads')) {
    return void listUploads(bucket, url.searchParams.get('prefix') ?? '', res)
  }
  if (req.method === 'DELETE' && bucket && key.length > 0 && url.searchParams.has('uploadId')) {
    return void abortUpload(bucket, url.searchParams.get('uploadId'), res)
  }
  handle(req, res)
})
server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address()
  process.stdout.write(`${JSON.stringify({ port: actual, endpoint: `http://127.0.0.1:${actual}`, directory })}\n`)
})
const stop = () => process.exit(0)
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.on('disconnect', stop)
