import { defineConfig } from 'vitest/config'

/** The riscv64 suite: one long end-to-end run under qemu-user (`npm run test:riscv64`). */
export default defineConfig({
  test: {
    include: ['test/riscv64/**/*.test.ts'],
    testTimeout: 2 * 60 * 60_000,
    hookTimeout: 20 * 60_000,
    fileParallelism: false,
  },
})
