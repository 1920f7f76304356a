// The framing of Nest's TCP transport, for load.mjs --protocol nest-tcp. As in
// @nestjs/microservices/helpers/json-socket.js: each frame is `<length>#<JSON>`, the length
// counted in UTF-16 code units of the JSON string, not in bytes.
import { StringDecoder } from 'node:string_decoder';

// A ClientTCP sends a fresh 21-character hex id per request (randomStringGenerator in
// @nestjs/common/utils/random-string-generator.util.js); the server only copies it back, so one
// fixed id of that shape costs the server the same and keeps the request a prebuilt buffer.
const REQUEST_ID = '0123456789abcdef01234';

/** One request frame for the 'echo' pattern, as ClientTCP#send would write it. */
export function nestTcpRequest(data) {
  const json = JSON.stringify({ pattern: 'echo', data, id: REQUEST_ID });
  return Buffer.from(`${json.length}#${json}`);
}

/**
 * A reply that failed: Nest's `err`, or an id not ours. Server#send folds the closing
 * `isDisposed` into the last reply, so a plain handler's answer is one frame.
 */
export function isNestTcpError(reply) {
  return reply.err !== undefined || reply.id !== REQUEST_ID;
}

/** Splits Nest TCP frames; `write` calls `onAnswer` once per finished request. */
export class NestTcpDecoder {
  #text = new StringDecoder('utf8');
  #buffer = '';

  write(chunk, onAnswer) {
    let buffer = this.#buffer + this.#text.write(chunk);
    for (;;) {
      const hash = buffer.indexOf('#');
      if (hash === -1) break;
      const length = Number(buffer.slice(0, hash));
      if (!Number.isInteger(length)) throw new Error(`corrupted Nest TCP frame length: ${buffer.slice(0, hash)}`);
      const end = hash + 1 + length;
      if (end > buffer.length) break;
      const reply = JSON.parse(buffer.slice(hash + 1, end));
      buffer = buffer.slice(end);
      // ClientTCP#handleResponse ends a request on either.
      if (reply.isDisposed || reply.err !== undefined) onAnswer(reply);
    }
    this.#buffer = buffer;
  }
}
