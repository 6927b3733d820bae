/** `npm run sources`: downloads every locked source from Debian, verifies it, and adds it to the store. */
import { ensureSources } from '../image/sources.ts'

const status = await ensureSources({ log: (line) => console.error(line) })
for (const source of status) console.log(`${source.storePath}`)
