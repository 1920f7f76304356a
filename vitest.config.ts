import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// `.ci/run` sets ARRPC_TEST_REPORT to a file path so it can count results from vitest's JSON
// report while still running exactly `npm test`; a normal run keeps vitest's default reporters.
const reportFile = process.env['ARRPC_TEST_REPORT'];

export default defineConfig({
  // Nest resolves constructor injection from `design:paramtypes`. swc emits it from tsconfig.json's
  // experimentalDecorators / emitDecoratorMetadata, as in Nest's own vitest recipe, and the plugin
  // turns vite's oxc transform off so one compiler handles every file. (Vite 8.3's oxc emitted the
  // same metadata when checked; swc stays because it is the route Nest documents.)
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/**/*.spec.ts'],
    setupFiles: ['test/support/setup.ts'],
    // Real sockets and servers per test file: separate processes keep ports, handles and
    // `global.gc()` measurements of one file away from the others.
    pool: 'forks',
    execArgv: ['--expose-gc'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    ...(reportFile
      ? { reporters: ['default', ['json', { outputFile: reportFile }]] }
      : {}),
  },
});
