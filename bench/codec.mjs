// Each protocol core operation alone, per message, on this machine: encode and decode against
// @msgpack/msgpack (the ceiling's codec), the HMAC against createHmac, then signing and verifying
// the reference's envelope. Then the ~1 KiB record's decode alone, ours against the library's in
// turns (record-decode.mjs): the one row of the table with a target.
// Usage: node codec.mjs
import { createHmac } from 'node:crypto';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { MessageDecoder, MessageEncoder, SignatureKey, decodeMessage, signMessage, verifyMessage } from '../dist/lib/index.js';
import { MESSAGES } from './messages.mjs';
import { compareRecordDecode, describeRecordDecode } from './record-decode.mjs';

const ROUNDS = { small: 500_000, record: 50_000 };
// Made ready once, as ArrpcServer and ArrpcClient do.
const SECRET = new SignatureKey('bench-secret');

function nsPerOp(rounds, op) {
  for (let i = 0; i < rounds / 10; i++) op(); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) op();
  return Math.round(Number(process.hrtime.bigint() - started) / rounds);
}

const rows = [];
for (const [name, value] of Object.entries(MESSAGES)) {
  const rounds = ROUNDS[name];
  const libraryEncoder = new Encoder();
  const libraryDecoder = new Decoder();
  const encoder = new MessageEncoder();
  const decoder = new MessageDecoder();
  const bytes = encoder.encode(value);
  const envelope = decodeMessage(signMessage(encoder, bytes, SECRET));
  let sink;
  const keep = (message) => {
    sink = message;
  };
  rows.push({
    name,
    bytes: bytes.length,
    encode: [nsPerOp(rounds, () => encoder.encode(value)), nsPerOp(rounds, () => libraryEncoder.encode(value))],
    decode: [nsPerOp(rounds, () => decoder.write(bytes, keep)), nsPerOp(rounds, () => libraryDecoder.decode(bytes))],
    hmac: [nsPerOp(rounds / 5, () => SECRET.sign(bytes)), nsPerOp(rounds / 5, () => createHmac('sha256', 'bench-secret').update(bytes).digest('hex'))],
    // Signing takes the encoded bytes; verifying takes the decoded envelope and decodes `data`.
    sign: nsPerOp(rounds / 5, () => signMessage(encoder, bytes, SECRET)),
    verify: nsPerOp(rounds / 5, () => verifyMessage(envelope, SECRET, decoder)),
  });
  if (sink === undefined) throw new Error('decoder yielded nothing');
}

console.log('| message | bytes | encode: ours / library (ns) | decode: ours / library (ns) | HMAC: SignatureKey / createHmac (ns) | sign (ns) | verify (ns) |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(`| ${row.name} | ${row.bytes} | ${row.encode.join(' / ')} | ${row.decode.join(' / ')} | ${row.hmac.join(' / ')} | ${row.sign} | ${row.verify} |`);
}
console.log(`\n${describeRecordDecode(compareRecordDecode())}`);
