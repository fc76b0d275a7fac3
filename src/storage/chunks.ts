/** Large files move in 1 MiB chunks; small ones in smaller chunks, so many concurrent transfers stay light. */
export const CHUNK_BYTES = 1 << 20
const SMALL_CHUNK_BYTES = 64 << 10

export const chunkBytesFor = (size: number): number => (size >= 16 * CHUNK_BYTES ? CHUNK_BYTES : SMALL_CHUNK_BYTES)
