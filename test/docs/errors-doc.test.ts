import { readFile } from 'node:fs/promises'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { errorsMarkdown } from '../../src/docs/errors-doc.js'
import { ERROR_CATALOG } from '../../src/errors.js'
import { ROOT } from '../support/cli.js'

describe('docs/errors.md', () => {
  it('matches the error catalog in src/errors.ts', async () => {
    const committed = await readFile(path.join(ROOT, 'docs/errors.md'), 'utf8').catch(() => '(missing)')
    expect(committed, 'docs/errors.md is out of date: run `npm run docs:errors` and commit it.').toBe(errorsMarkdown())
  })

  it('lists every code once, each starting with TOR_ERR_', () => {
    const codes = Object.keys(ERROR_CATALOG)
    expect(new Set(codes).size).toBe(codes.length)
    for (const code of codes) expect(code).toMatch(/^TOR_ERR_[A-Z0-9_]+$/)
  })
})
