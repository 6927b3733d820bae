#!/usr/bin/env node
// The `cartenix` command. The sources are TypeScript, run through tsx's loader.
import { register } from 'tsx/esm/api'

register()
await import('../scripts/cli/main.ts')
