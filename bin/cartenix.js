#!/usr/bin/env node
// The `cartenix` command. The sources are TypeScript, run through tsx's loader.
import { register } from 'tsx/esm/api'

register()
await import('../contracts-client/cli/main.ts')
