import { DEFAULT_NESTJS_ARRPC_PIPELINE, DEFAULT_PIPELINE } from '../constants.js';
import { RemoteErrorKind } from './error-strings.js';
import { ArrpcProtocolError, ArrpcProtocolErrorCode } from './protocol-error.js';
import { PYTHON_READ_BYTES, widenForPythonReader } from './python-reader.js';

/**
 * What the client talks to. `'python'`: a Python arrpc server, which reads one
 * request at a time and cannot see a message whose length is a multiple of
 * 4096 bytes. `'nestjs-arrpc'`: this project's `ArrpcServer`, which can take
 * several requests in flight per connection.
 */
export type ArrpcPeer = 'python' | 'nestjs-arrpc';

/**
 * How one kind of peer reads what it is sent and what its answers can mean: every rule that
 * differs between a Python arrpc peer and this project's `ArrpcServer`, decided in one place.
 */
export interface PeerProfile {
  /** Requests one connection may have in flight: the reference reads the next only after answering. */
  readonly maxPipeline: number;
  /** Requests one connection has in flight when the `pipeline` option is left out. */
  readonly defaultPipeline: number;
  /**
   * The error kinds an answer can carry, to a raw message (`envelope` false) or to a Nest
   * envelope. A Python server sends only the reference's two, so a str that merely contains
   * another kind's marker is a plain answer from it. The others come from an `ArrpcServer`, and
   * only in answer to an envelope (a drain refusal, a deadline): only an `ArrpcServer` reads
   * envelopes, so an envelope's answer is read for every kind whatever the peer.
   */
  errorKinds(envelope: boolean): readonly RemoteErrorKind[];
  /**
   * The bytes to write for one encoded message, `bytes` itself when the peer reads it as it is.
   * Throws {@link ArrpcProtocolError} (`ARRPC_ERR_UNREADABLE_LENGTH`) for a message the peer
   * could never read: better refused before a byte is written than a call that hangs.
   */
  frame(bytes: Buffer): Buffer;
}

const EVERY_KIND: readonly RemoteErrorKind[] = Object.freeze(Object.values(RemoteErrorKind));
const REFERENCE_KINDS: readonly RemoteErrorKind[] = Object.freeze([RemoteErrorKind.Auth, RemoteErrorKind.Rpc]);

const PYTHON: PeerProfile = Object.freeze({
  maxPipeline: 1,
  defaultPipeline: DEFAULT_PIPELINE,
  errorKinds: (envelope: boolean) => (envelope ? EVERY_KIND : REFERENCE_KINDS),
  frame: frameForPythonReader,
});

const NESTJS_ARRPC: PeerProfile = Object.freeze({
  maxPipeline: Infinity,
  defaultPipeline: DEFAULT_NESTJS_ARRPC_PIPELINE,
  errorKinds: () => EVERY_KIND,
  frame: (bytes: Buffer) => bytes,
});

/** The profile of `peer`. */
export function peerProfile(peer: ArrpcPeer): PeerProfile {
  return peer === 'python' ? PYTHON : NESTJS_ARRPC;
}

/** `bytes` kept off the lengths the reference's reader cannot see, or the error when they cannot be. */
function frameForPythonReader(bytes: Buffer): Buffer {
  const framed = widenForPythonReader(bytes);
  if (framed.length % PYTHON_READ_BYTES !== 0) return framed;
  throw new ArrpcProtocolError(
    ArrpcProtocolErrorCode.UnreadableLength,
    `a message of ${framed.length} bytes (a multiple of ${PYTHON_READ_BYTES}) with no header to widen: a Python peer would never read it whole`,
    PYTHON_READ_BYTES,
    framed.length,
  );
}
