// arrpc.mjs for memory.mjs: answers each line on stdin with one JSON line of
// process.memoryUsage(), taken after a full GC (run it with --expose-gc).
// Exits when stdin closes, so it never outlives the script that started it.
import { createInterface } from 'node:readline';
import './arrpc.mjs';

createInterface({ input: process.stdin })
  .on('line', () => {
    globalThis.gc();
    console.log(JSON.stringify(process.memoryUsage()));
  })
  .on('close', () => process.exit(0));
