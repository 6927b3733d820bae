import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // The riscv64 suite runs on its own: npm run test:riscv64.
    exclude: ['node_modules/**', '.cartenix/**', 'test/riscv64/**'],
    // Real Nix builds and real chains: minutes, not milliseconds.
    testTimeout: 10 * 60_000,
    hookTimeout: 10 * 60_000,
    // Builds share two cores; files run one at a time so timings stay sane and logs readable.
    fileParallelism: false,
    reporters: ['default'],
  },
})
