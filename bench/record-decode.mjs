// The ~1 KiB record decoded by MessageDecoder and by @msgpack/msgpack's own Decoder.decode, in turns
// in one process (so both see the same host), each turn a fixed number of decodes; the medians of
// the turns and their ratio. Used by codec.mjs; run alone it prints one JSON line for run.mjs.
// Usage: node record-decode.mjs [--repeats 9] [--decodes 10000]
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Decoder } from '@msgpack/msgpack';
import { MessageDecoder, MessageEncoder } from '../dist/lib/index.js';
import { RECORD } from './messages.mjs';
import { median } from './report.mjs';

export function compareRecordDecode({ repeats = 9, decodes = 10_000 } = {}) {
  const bytes = new MessageEncoder().encode(RECORD);
  const ours = new MessageDecoder();
  const library = new Decoder();
  let decoded = 0;
  const count = () => decoded++;
  const timings = { ours: [], library: [] };
  const time = (op) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < decodes; i++) op();
    return Number(process.hrtime.bigint() - started) / decodes;
  };
  time(() => ours.write(bytes, count)); // warm-up, for both
  time(() => library.decode(bytes));
  for (let turn = 0; turn < repeats; turn++) {
    timings.ours.push(time(() => ours.write(bytes, count)));
    timings.library.push(time(() => library.decode(bytes)));
  }
  if (decoded !== decodes * (repeats + 1)) throw new Error(`MessageDecoder yielded ${decoded} messages, not ${decodes * (repeats + 1)}`);
  const oursNs = median(timings.ours);
  const libraryNs = median(timings.library);
  return { bytes: bytes.length, repeats, decodes, oursNs, libraryNs, ratio: oursNs / libraryNs };
}

/** One sentence: both medians, and which is faster by how much. */
export function describeRecordDecode({ bytes, repeats, oursNs, libraryNs, ratio }) {
  const verdict = ratio <= 1 ? `MessageDecoder is faster (${(1 / ratio).toFixed(2)}x)` : `Decoder.decode is faster (MessageDecoder takes ${ratio.toFixed(2)}x its time)`;
  return `~1 KiB record (${bytes} bytes), median of ${repeats} turns: MessageDecoder ${Math.round(oursNs)} ns, @msgpack/msgpack Decoder.decode ${Math.round(libraryNs)} ns: ${verdict}`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { repeats: { type: 'string', default: '9' }, decodes: { type: 'string', default: '10000' } } });
  console.log(JSON.stringify(compareRecordDecode({ repeats: Number(values.repeats), decodes: Number(values.decodes) })));
}
