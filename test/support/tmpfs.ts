import { execFileSync } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { makeTempDir } from './server.js'

/**
 * A small real file system (tmpfs) for storage-fault tests: a full disk or no free
 * inodes, as the kernel reports them. Needs the right to mount (root, as in CI here);
 * `mountTmpfs` returns undefined where mounting is not allowed, and the tests that
 * need it say so when skipped.
 */
export const mountTmpfs = async (options: string): Promise<{ dir: string; unmount: () => Promise<void> } | undefined> => {
  const dir = await makeTempDir('tor-tmpfs-')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' })
  } catch {
    await rm(dir, { recursive: true, force: true })
    return undefined
  }
  return {
    dir,
    unmount: async () => {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' })
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export const canMount = async (): Promise<boolean> => {
  const probe = await mountTmpfs('size=64k')
  await probe?.unmount()
  return probe !== undefined
}
