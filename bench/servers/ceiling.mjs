// The Node ceiling: a bare `net` (or `tls`) server that decodes and re-encodes each message with
// @msgpack/msgpack, optionally verifying the HMAC envelope. No framing beyond one message per read,
// which one-in-flight loads keep true. Prints its port, then serves until killed.
import { createHmac, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { decodeMulti, encode } from '@msgpack/msgpack';

const secret = process.env.BENCH_SECRET;
const useTls = Boolean(process.env.BENCH_TLS_CERT);

function answer(value) {
  if (!secret) return value;
  const expected = createHmac('sha256', secret).update(value.data).digest('hex');
  const ok = timingSafeEqual(Buffer.from(expected), Buffer.from(value['arrpc.sign']));
  return ok ? decodeMulti(value.data).next().value : 'arrpc.error.AuthException: bad signature';
}

function serve(socket) {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => {
    for (const value of decodeMulti(chunk)) socket.write(encode(answer(value)));
  });
  socket.on('error', () => socket.destroy());
}

const server = useTls
  ? tls.createServer({ cert: readFileSync(process.env.BENCH_TLS_CERT), key: readFileSync(process.env.BENCH_TLS_KEY) }, serve)
  : net.createServer(serve);
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
// Exit normally on a signal, so `node --cpu-prof` writes its profile.
process.once('SIGINT', () => process.exit(0));
