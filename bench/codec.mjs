// The codec alone against @msgpack/msgpack (the ceiling's codec), per message, on this machine.
// Usage: node codec.mjs
import { Decoder, Encoder } from '@msgpack/msgpack';
import { MessageDecoder, MessageEncoder } from '../dist/lib/index.js';
import { MESSAGES } from './messages.mjs';

const ROUNDS = { small: 500_000, record: 50_000 };

function nsPerOp(rounds, op) {
  for (let i = 0; i < rounds / 10; i++) op(); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) op();
  return Number(process.hrtime.bigint() - started) / rounds;
}

console.log('| message | bytes | encode: ours / library (ns) | decode: ours / library (ns) |');
console.log('|---|---|---|---|');
for (const [name, value] of Object.entries(MESSAGES)) {
  const rounds = ROUNDS[name];
  const libraryEncoder = new Encoder();
  const libraryDecoder = new Decoder();
  const encoder = new MessageEncoder();
  const decoder = new MessageDecoder();
  const bytes = encoder.encode(value);
  let sink;
  const keep = (message) => {
    sink = message;
  };
  const encode = [nsPerOp(rounds, () => encoder.encode(value)), nsPerOp(rounds, () => libraryEncoder.encode(value))];
  const decode = [nsPerOp(rounds, () => decoder.write(bytes, keep)), nsPerOp(rounds, () => libraryDecoder.decode(bytes))];
  console.log(`| ${name} | ${bytes.length} | ${encode.map(Math.round).join(' / ')} | ${decode.map(Math.round).join(' / ')} |`);
  if (sink === undefined) throw new Error('decoder yielded nothing');
}
