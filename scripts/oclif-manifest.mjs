// Writes oclif.manifest.json (what the `oclif manifest` dev tool writes), so the CLI
// finds a command without importing every command module at start-up.
import { writeFileSync } from 'node:fs'
import { Plugin } from '@oclif/core'

const plugin = new Plugin({ root: process.cwd(), type: 'core', ignoreManifest: true, isRoot: true })
await plugin.load()
writeFileSync('oclif.manifest.json', `${JSON.stringify(plugin.manifest, null, 2)}\n`)
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`)
