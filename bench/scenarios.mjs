// The scenarios of the benchmark issue. `ceiling` names the row a ratio is taken against;
// `servers` starts that many server processes; `load: 'client-load.mjs'` drives them through one
// ArrpcClient instead of the raw load generator; `protocol: 'nest-tcp'` has the raw generator speak
// Nest's TCP transport framing instead of arrpc's. A `.py` server is Python arrpc's own
// (servers/python-arrpc.py): its rows run only when run.mjs is told where Python arrpc is.
const SECRET = 'bench-secret';

export const SCENARIOS = [
  { name: 'ceiling', label: 'Node ceiling (net + @msgpack/msgpack), small', server: 'servers/ceiling.mjs', message: 'small' },
  { name: 'arrpc', label: 'ArrpcServer raw, small', server: 'servers/arrpc.mjs', message: 'small', ceiling: 'ceiling' },
  {
    name: 'arrpc-add-handler', label: 'ArrpcServer raw, small, echo added with addHandler (no Nest pipeline)', server: 'servers/arrpc.mjs',
    message: 'small', env: { BENCH_ADD_HANDLER: '1' }, ceiling: 'ceiling',
  },
  {
    name: 'nest-tcp', label: 'Nest 12 TCP transport, echo handler, small', server: 'servers/nest-tcp.mjs', message: 'small',
    protocol: 'nest-tcp', ceiling: 'ceiling',
  },
  {
    name: 'python', label: 'Python arrpc 0.5.0, echo handler, small', server: 'servers/python-arrpc.py', message: 'small',
    ceiling: 'ceiling',
  },
  { name: 'ceiling-tls', label: 'Node ceiling TLS + HMAC, small', server: 'servers/ceiling.mjs', message: 'small', tls: true, env: { BENCH_SECRET: SECRET } },
  // What each of TLS, auth and metrics costs on its own, then together.
  { name: 'arrpc-tls-only', label: 'ArrpcServer TLS, small', server: 'servers/arrpc.mjs', message: 'small', tls: true },
  { name: 'arrpc-auth', label: 'ArrpcServer auth, small', server: 'servers/arrpc.mjs', message: 'small', env: { BENCH_SECRET: SECRET } },
  {
    name: 'arrpc-tls-auth', label: 'ArrpcServer TLS + auth, small', server: 'servers/arrpc.mjs', message: 'small', tls: true,
    env: { BENCH_SECRET: SECRET }, ceiling: 'ceiling-tls',
  },
  {
    name: 'arrpc-tls', label: 'ArrpcServer TLS + auth + metrics, small', server: 'servers/arrpc.mjs', message: 'small', tls: true,
    env: { BENCH_SECRET: SECRET, BENCH_METRICS: '1' }, ceiling: 'ceiling-tls',
  },
  { name: 'ceiling-record', label: 'Node ceiling, ~1 KiB record', server: 'servers/ceiling.mjs', message: 'record' },
  { name: 'arrpc-record', label: 'ArrpcServer raw, ~1 KiB record', server: 'servers/arrpc.mjs', message: 'record', ceiling: 'ceiling-record' },
  {
    name: 'nest-tcp-record', label: 'Nest 12 TCP transport, echo handler, ~1 KiB record', server: 'servers/nest-tcp.mjs',
    message: 'record', protocol: 'nest-tcp', ceiling: 'ceiling-record',
  },
  {
    name: 'python-record', label: 'Python arrpc 0.5.0, echo handler, ~1 KiB record', server: 'servers/python-arrpc.py',
    message: 'record', ceiling: 'ceiling-record',
  },
  { name: 'arrpc-1conn', label: 'ArrpcServer, 1 connection, 1 in flight', server: 'servers/arrpc.mjs', message: 'small', connections: 1 },
  {
    name: 'arrpc-1conn-pipelined', label: 'ArrpcServer, 1 connection, 32 in flight', server: 'servers/arrpc.mjs', message: 'small',
    connections: 1, pipeline: 32, ceiling: 'arrpc-1conn',
  },
  // Through ArrpcClient (client-load.mjs): on one connection, one call in flight, then 32
  // pipelined; then 64 calls over a pool of 8 connections of 4 each, to one server, then to two
  // server processes behind the one client (docs/replicas.md).
  {
    name: 'client-1conn', label: 'ArrpcClient → ArrpcServer, 1 connection, 1 in flight', server: 'servers/arrpc.mjs', message: 'small',
    load: 'client-load.mjs', connections: 1, poolSize: 1, pipeline: 1,
  },
  {
    name: 'client-1conn-pipelined', label: 'ArrpcClient → ArrpcServer, 1 connection, 32 in flight', server: 'servers/arrpc.mjs',
    message: 'small', load: 'client-load.mjs', connections: 32, poolSize: 1, pipeline: 32, ceiling: 'client-1conn',
  },
  {
    name: 'client-1server', label: 'ArrpcClient → 1 ArrpcServer, 64 in flight', server: 'servers/arrpc.mjs', message: 'small',
    load: 'client-load.mjs', servers: 1,
  },
  {
    name: 'client-2servers', label: 'ArrpcClient → 2 ArrpcServer processes (p2c), 64 in flight', server: 'servers/arrpc.mjs',
    message: 'small', load: 'client-load.mjs', servers: 2, ceiling: 'client-1server',
  },
];

const SLOW = { BENCH_SLOW: '1' };

/**
 * Measured once per run, after the rounds, by a script of their own that compares its rows in one
 * process: `servers` are started first (pinned, as above) and passed as `--<key> 127.0.0.1:<port>`.
 * A `.py` server is left out when Python arrpc is not there.
 */
export const ONCE = [
  { name: 'record-decode', label: '~1 KiB record decode', script: 'record-decode.mjs', servers: {} },
  {
    name: 'burst', label: '1,000 concurrent send() through one client, first send to last answer', script: 'burst.mjs',
    servers: { arrpc: { server: 'servers/arrpc.mjs' }, 'nest-tcp': { server: 'servers/nest-tcp.mjs' } },
  },
  {
    name: 'slow-call', label: 'a fast call while a 500 ms call is in flight on the same client', script: 'slow-call.mjs',
    servers: {
      arrpc: { server: 'servers/arrpc.mjs', env: SLOW },
      'nest-tcp': { server: 'servers/nest-tcp.mjs', env: SLOW },
      python: { server: 'servers/python-arrpc.py', env: SLOW },
    },
  },
];
