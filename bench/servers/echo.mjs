// The handler of the Nest bench servers (arrpc.mjs, nest-tcp.mjs). With BENCH_SLOW=1 a message `{ sleepMs: N }`
// is answered after N ms, as a slow handler would (slow-call.mjs); anything else is echoed at once.
// Without it, the plain echo: the hot path of the throughput rows carries no extra check.

function echo(message) {
  return message;
}

function echoOrSleep(message) {
  return message?.sleepMs ? new Promise((resolve) => setTimeout(resolve, message.sleepMs, message)) : message;
}

export const handler = process.env.BENCH_SLOW ? echoOrSleep : echo;
