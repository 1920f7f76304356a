// The help texts. Every flag of cli-options.ts appears here; the CLI test checks it.
import {
  CLI_DEFAULT_RETRIES,
  CLI_DEFAULT_SERVE_PORT,
  CLI_DEFAULT_TIMEOUT_MS,
  CLI_SERVE_DRAIN_TIMEOUT_MS,
} from './cli-options.js';

const TAGS = `Values are JSON, with tags for what JSON cannot hold (the tags of the Python captures):
  {"$bin": "00ff"}                bytes, as hex
  {"$int": "9223372036854775808"} an integer beyond +/-(2^53 - 1)
  {"$float": "2.0"}               a float JSON shows as an int; also "inf", "-inf", "nan", "-0.0"
  {"$map": [[{"$bin": "6b"}, 1]]} a map with bin keys (Python: {b"k": 1}); peers refuse
                                  int, nil, array and map keys
  {"$timestamp": [s, ns]}         a MessagePack timestamp
  {"$ext": [type, "hex"]}         another ext type`;

const EXIT_CODES = `Exit codes:
  0   the answer was printed (call), or the server stopped on a signal (serve)
  1   the handler raised RpcException (RemoteRpcException)
  2   usage: a bad flag, a missing argument, a message that is not JSON,
      or one a Python server could not read (UnsendableRequestException)
  3   no connection after --retries attempts (ConnectException); serve could not listen
  4   --timeout passed (RpcTimeoutException)
  5   the server refused the signature (AuthException)
  6   the connection broke after the request was written, the answer was unreadable,
      or the server was draining
  70  an unexpected error (a bug: run again with --debug for its stack)
On failure stderr gets one line: ErrorClassName: message`;

export const MAIN_HELP = `Usage: nestjs-arrpc <command> [options]

Speaks arrpc (MessagePack over TCP) from the shell, to Python arrpc peers and to NestJS ArrpcServers.

Commands:
  call HOST:PORT JSON   send one message and print the answer
  serve                 run an echo server, to try a Python arrpc.Client against

Options:
  -h, --help            this help; "nestjs-arrpc <command> --help" for a command's flags
  -v, --version         the version of nestjs-arrpc

${TAGS}

${EXIT_CODES}
`;

export const CALL_HELP = `Usage: nestjs-arrpc call [options] HOST:PORT JSON

Sends JSON as one arrpc message and prints the answer on one line, as tagged JSON. JSON "-" reads
the message from stdin; put "--" before a message that starts with "-". Without --pattern or
--event the message is written raw, exactly as a Python arrpc.Client writes it: a Python server's
handler receives it, as does an ArrpcServer's ARRPC_DEFAULT_PATTERN handler. HOST defaults to
127.0.0.1 when only PORT is given.

Options:
  --pattern P      send to the Nest @MessagePattern P (a name, or a JSON object pattern)
                   inside the arrpc.pattern envelope; for ArrpcServers
  --event P        emit to the Nest @EventPattern P instead; prints the acknowledgement (null)
  --secret S       sign the message with HMAC-SHA256 of S (Python: auth_secret);
                   a list NEW,OLD signs with NEW; default: $ARRPC_AUTH_SECRET
  --tls-ca FILE    use TLS, verifying the server with the PEM CA certificates in FILE
                   (Python: tls_cafile)
  --self-signed    with --tls-ca: FILE holds the server's own certificate, and exactly that
                   certificate is accepted, whatever the host name (Python: tls_self_signed,
                   which turns verification off instead)
  --timeout MS     give up after MS milliseconds, connecting included (default ${CLI_DEFAULT_TIMEOUT_MS};
                   0 waits as long as the connection lives, as Python's default)
  --retries N      connection attempts before giving up (Python: con_max_retries; default ${CLI_DEFAULT_RETRIES}),
                   waiting 1 s, 2 s, 3 s... between them
  --debug          log connections and retries, and print stack traces
  -h, --help       this help

Examples:
  nestjs-arrpc call 127.0.0.1:8080 '{"foo": "bar"}'
  nestjs-arrpc call 127.0.0.1:4000 --pattern prices.get '"apple"'
  nestjs-arrpc call 127.0.0.1:8443 --tls-ca server.crt --self-signed --secret s3cret '{"$bin": "00ff"}'

${TAGS}

${EXIT_CODES}
`;

export const SERVE_HELP = `Usage: nestjs-arrpc serve [options]

Runs an ArrpcServer that answers every plain message (what a Python arrpc.Client sends) with the
message itself. Prints "listening on HOST:PORT" once it listens, and runs until SIGINT (Ctrl-C) or
SIGTERM, then drains for up to ${CLI_SERVE_DRAIN_TIMEOUT_MS} ms and exits 0. A second signal stops it at once.

Options:
  --host H         address to bind (default 127.0.0.1; 0.0.0.0 serves every interface)
  --port P         TCP port (default ${CLI_DEFAULT_SERVE_PORT}, as the Python guide's examples; 0 picks a free port)
  --secret S       accept only messages signed with S (Python: auth_secret); a list
                   NEW,OLD accepts either, to rotate secrets; default: $ARRPC_AUTH_SECRET
  --tls-cert FILE  serve TLS with this PEM certificate (Python: tls_certfile); needs --tls-key
  --tls-key FILE   the PEM private key of --tls-cert (Python: tls_keyfile)
  --debug          log connections, messages (pattern and size) and closes
  -h, --help       this help

Example, with a Python client beside it:
  nestjs-arrpc serve --port 8080
  python3 -c 'import arrpc; print(arrpc.Client("127.0.0.1", 8080).send({"foo": "bar"}))'

${EXIT_CODES}
`;
