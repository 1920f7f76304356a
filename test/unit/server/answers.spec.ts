import { RpcException } from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import { errorAnswer } from '../../../lib/server/answers.js';

const INTERNAL = 'arrpc.error.RpcException: Internal server error';

describe('errorAnswer', () => {
  it.each<[string, unknown, string]>([
    ["Nest's filter output for a string RpcException", { status: 'error', message: 'nope' }, 'arrpc.error.RpcException: nope'],
    ["Nest's filter output for an unknown error", { status: 'error', message: 'Internal server error' }, INTERNAL],
    ['an object RpcException, as JSON', { code: 7, status: 'error', message: 'x' }, 'arrpc.error.RpcException: {"code":7,"status":"error","message":"x"}'],
    ['a raw string RpcException', new RpcException('raw'), 'arrpc.error.RpcException: raw'],
    ['a raw object RpcException', new RpcException({ a: 1 }), 'arrpc.error.RpcException: {"a":1}'],
    ['a thrown string', 'text', 'arrpc.error.RpcException: text'],
    ['a thrown number', 42, 'arrpc.error.RpcException: 42'],
  ])('answers %s', (_name, error, expected) => {
    const logged: unknown[] = [];
    expect(errorAnswer(error, (e) => logged.push(e))).toBe(expected);
    expect(logged).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['a plain Error', new Error('secret detail')],
    ['an object JSON cannot write', { n: 1n }],
  ])('answers Internal server error for %s and logs it', (_name, error) => {
    const logged: unknown[] = [];
    expect(errorAnswer(error, (e) => logged.push(e))).toBe(INTERNAL);
    expect(logged).toHaveLength(1);
  });
});
