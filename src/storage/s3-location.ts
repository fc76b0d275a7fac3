/** Where `--storage` points: the local folder, or a bucket and a key prefix on an S3-compatible store. */
export type StorageLocation =
  | { readonly kind: 'folder'; readonly dir: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string }

// Bucket names per S3's rules (3-63 characters, lowercase letters, digits, dots, hyphens).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

/**
 * `s3://bucket`, `s3://bucket/prefix` (keys are `prefix/<name>`), or a folder path.
 * Returns a reason in words when the text is not a usable location.
 */
export const parseStorageLocation = (text: string): StorageLocation | { readonly problem: string } => {
  if (!text.startsWith('s3://')) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return { problem: `unknown storage scheme in "${text}" (use s3://bucket/prefix or a folder path)` }
    return { kind: 'folder', dir: text }
  }
  const rest = text.slice('s3://'.length)
  const slash = rest.indexOf('/')
  const bucket = slash === -1 ? rest : rest.slice(0, slash)
  const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/+$/, '')
  if (!BUCKET.test(bucket)) return { problem: `"${bucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)` }
  if (prefix.split('/').some((part) => part === '.' || part === '..' || (prefix !== '' && part === ''))) {
    return { problem: `the key prefix "${prefix}" has an empty, "." or ".." part` }
  }
  return { kind: 's3', bucket, prefix: prefix === '' ? '' : `${prefix}/` }
}
