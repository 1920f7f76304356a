// The answer reader alone, fed bytes as hex: answers only for requests in flight, and bytes past
// them (an HTTP status line, a second answer, a value only begun) as an error, never as an answer.
import { describe, expect, it } from 'vitest';
import { AnswerReader } from '../../../lib/client/answer-reader.js';
import { encode } from '@msgpack/msgpack';
import { ArrpcProtocolError } from '../../../lib/index.js';

const values = (hex: string, awaited: number) => {
  const { answers, error } = new AnswerReader({}).read(Buffer.from(hex, 'hex'), awaited);
  return { values: answers.map((answer) => answer.value), error: (error as ArrpcProtocolError | undefined)?.code };
};

describe('AnswerReader', () => {
  it.each([
    ['one answer for one request', '2a', 1, [42]],
    ['two answers for two pipelined requests', '2a2b', 2, [42, 43]],
    ['one answer and the start of the next, two awaited', '2a92', 2, [42]],
    ['the start of an answer, one awaited', '9201', 1, []],
    ['nothing, none awaited', '', 0, []],
  ])('%s: in step', (_case, hex, awaited, expected) => {
    expect(values(hex, awaited)).toEqual({ values: expected, error: undefined });
  });

  it.each([
    ['a second answer after the one awaited', '2a2b', 1],
    ['the start of a value after the one awaited', '2a92', 1],
    ['a byte with no request in flight', '01', 0],
    ['the start of a value with no request in flight', '92', 0],
    ['an HTTP status line', Buffer.from('HTTP/1.1 400 Bad Request\r\n').toString('hex'), 1],
  ])('%s: out of step, and no answer at all is handed out', (_case, hex, awaited) => {
    expect(values(hex, awaited)).toEqual({ values: [], error: 'ARRPC_ERR_EXTRA_BYTES' });
  });

  it('takes a draining server\'s notice past the answers awaited for what it is, not for stray bytes', () => {
    const notice = encode('arrpc.error.UnavailableException: server is draining');
    const read = (hex: string, awaited: number) => new AnswerReader({}).read(Buffer.concat([Buffer.from(hex, 'hex'), notice]), awaited);
    expect(read('', 0)).toMatchObject({ answers: [], error: undefined, drainNotice: true });
    const after = read('2a', 1);
    expect(after.answers.map((answer) => answer.value)).toEqual([42]);
    expect(after).toMatchObject({ error: undefined, drainNotice: true });
    // Any other string past the answers awaited is out of step, as is a notice followed by more.
    expect(new AnswerReader({}).read(Buffer.from(encode('arrpc.error.RpcException: x')), 0)).toMatchObject({ drainNotice: false });
    expect(new AnswerReader({}).read(Buffer.concat([notice, Buffer.from('01', 'hex')]), 0)).toMatchObject({ answers: [], drainNotice: false });
  });

  it('hands out the answers before bytes that are not MessagePack, with the decoding error', () => {
    expect(values('2ac1', 2)).toEqual({ values: [42], error: 'ARRPC_ERR_INVALID_BYTE' });
  });

  it('reads an answer split at every position as one answer, once whole', () => {
    const bytes = Buffer.from('82a16101a16292c3c2', 'hex'); // {a: 1, b: [true, false]}
    for (let at = 1; at < bytes.length; at++) {
      const reader = new AnswerReader({});
      expect(reader.read(bytes.subarray(0, at), 1)).toEqual({ answers: [], error: undefined, drainNotice: false });
      const { answers, error } = reader.read(bytes.subarray(at), 1);
      expect(error).toBeUndefined();
      expect(answers.map((answer) => answer.value)).toEqual([{ a: 1, b: [true, false] }]);
    }
  });
});
