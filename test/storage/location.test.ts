import { describe, expect, it } from 'vitest'
import { storageReason } from '../../src/errors.js'
import { parseStorageLocation } from '../../src/storage/s3-location.js'

describe('parseStorageLocation', () => {
  it('reads a bucket and a prefix that always ends with one slash', () => {
    expect(parseStorageLocation('s3://team-files/tor')).toEqual({ kind: 's3', bucket: 'team-files', prefix: 'tor/' })
    expect(parseStorageLocation('s3://team-files/a/b/')).toEqual({ kind: 's3', bucket: 'team-files', prefix: 'a/b/' })
    expect(parseStorageLocation('s3://team-files')).toEqual({ kind: 's3', bucket: 'team-files', prefix: '' })
  })

  it('takes anything without a scheme as a folder', () => {
    expect(parseStorageLocation('./tor_files')).toEqual({ kind: 'folder', dir: './tor_files' })
    expect(parseStorageLocation('/srv/s3:/odd')).toEqual({ kind: 'folder', dir: '/srv/s3:/odd' })
  })

  it('refuses bucket names S3 refuses, prefixes that climb, and other schemes, saying why', () => {
    expect(parseStorageLocation('s3://Team_Files/x')).toMatchObject({ problem: expect.stringContaining('not a valid S3 bucket name') })
    expect(parseStorageLocation('s3:///x')).toMatchObject({ problem: expect.stringContaining('not a valid S3 bucket name') })
    expect(parseStorageLocation('s3://team-files/a/../b')).toMatchObject({ problem: expect.stringContaining('".."') })
    expect(parseStorageLocation('s3://team-files/a//b')).toMatchObject({ problem: expect.stringContaining('empty') })
    expect(parseStorageLocation('gs://team-files/x')).toMatchObject({ problem: expect.stringContaining('use s3://bucket/prefix') })
  })
})

describe('storageReason for object-store failures', () => {
  it('says in words what a client may know, never the bucket, key or endpoint', () => {
    const named = (name: string) => Object.assign(new Error(`${name}: s3://secret-bucket/secret/key at http://10.0.0.5:9000`), { name })
    expect(storageReason(named('PreconditionFailed'))).toBe('a file with that name appeared meanwhile, and replacing it is not allowed')
    expect(storageReason(named('SlowDown'))).toBe("the server's storage is busy or unreachable; try again later")
    expect(storageReason(named('AccessDenied'))).toBe("the server's storage refused it (the operator's log says why)")
    expect(storageReason(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:9000'), { code: 'ECONNREFUSED' }))).toBe(
      "the server's storage is busy or unreachable; try again later",
    )
    expect(storageReason(named('SomethingNew'))).toBe('storage error on the server')
  })
})
