#!/usr/bin/env node
// `node bin/run.js ...` keeps working; `tor` (package.json's bin) is bin/run.cjs itself.
import './run.cjs'
