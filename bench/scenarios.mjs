// The scenarios of the benchmark issue. `ceiling` names the row a ratio is taken against;
// `servers` starts that many server processes; `load: 'client-load.mjs'` drives them through one
// ArrpcClient instead of the raw load generator; `protocol: 'nest-tcp'` has the raw generator speak
// Nest's TCP transport framing instead of arrpc's.
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
