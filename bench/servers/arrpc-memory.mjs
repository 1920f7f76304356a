// arrpc.mjs for memory.mjs: answers each line on stdin with one JSON line of
// process.memoryUsage(), taken after a full GC (run it with --expose-gc).
// Exits when stdin closes, so it never outlives the script that started it.
import { createInterface } from 'node:readline';
import './arrpc.mjs';

/**
 * V8 releases ArrayBuffer memory, and takes it off `arrayBuffers`, on a background sweeper after a
 * GC: read at once, 1 run in 6 counted 15–25 MB that was already gone (RSS did not have it), and
 * 200 ms later it read 0. So: collect, let the sweeper finish, collect again, then read.
 */
const SWEEP_MS = 200;

createInterface({ input: process.stdin })
  .on('line', () => {
    globalThis.gc();
    setTimeout(() => {
      globalThis.gc();
      console.log(JSON.stringify(process.memoryUsage()));
    }, SWEEP_MS);
  })
  .on('close', () => process.exit(0));
