// Writes docs/errors.md from the error catalog in the build (npm run docs:errors).
import { writeFileSync } from 'node:fs'
import { errorsMarkdown } from '../dist/docs/errors-doc.js'

writeFileSync('docs/errors.md', errorsMarkdown())
console.log('docs/errors.md written')
