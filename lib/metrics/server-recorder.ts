import type { Counter, Histogram } from 'prom-client';
import { hostLabels } from './host-labels.js';
import {
  ARRPC_METRIC_NAMES,
  SERVER_ERROR_LABELS,
  SERVER_HISTOGRAM_LABELS,
  SERVER_REQUEST_LABELS,
  SERVER_SECRET_LABELS,
  pythonBool,
} from './metric-names.js';
import { resolveMetricsOptions, type ArrpcMetricsOptions, type ResolvedMetricsOptions } from './metrics-options.js';
import type { ServerConnectionMetrics, ServerMetricsRecorder } from './recorder.js';
import { PatternChildren, ReasonChildren, sharedCounter, sharedHistogram, sharedSummary } from './registry-metrics.js';
import type { SumCountChild, SumCountSummary } from './sum-count-summary.js';

/**
 * A recorder writing the reference's server metrics (`arrpc_server_req_seconds`,
 * `arrpc_server_req_bytes`, `arrpc_server_errors_total`) into `options.registry` (default:
 * prom-client's global registry), plus the opt-in histogram. Options are checked here, once.
 */
export function createServerMetricsRecorder(options?: ArrpcMetricsOptions): ServerMetricsRecorder {
  return new PrometheusServerRecorder(resolveMetricsOptions(options));
}

class PrometheusServerRecorder implements ServerMetricsRecorder {
  readonly enabled = true;
  readonly seconds: SumCountSummary;
  readonly bytes: SumCountSummary;
  readonly errors: Counter;
  readonly durations: Histogram | null;
  private secretRequests: Counter | undefined;
  private readonly peers = new Map<string, PeerMetrics>();

  constructor(readonly options: ResolvedMetricsOptions) {
    const { registry, histogramBuckets } = options;
    this.seconds = sharedSummary(registry, ARRPC_METRIC_NAMES.serverReqSeconds, SERVER_REQUEST_LABELS);
    this.bytes = sharedSummary(registry, ARRPC_METRIC_NAMES.serverReqBytes, SERVER_REQUEST_LABELS);
    this.errors = sharedCounter(registry, ARRPC_METRIC_NAMES.serverErrors, SERVER_ERROR_LABELS);
    this.durations =
      histogramBuckets === null
        ? null
        : sharedHistogram(registry, ARRPC_METRIC_NAMES.serverReqDurationSeconds, SERVER_HISTOGRAM_LABELS, histogramBuckets);
  }

  /** The secret counter, registered on the first verified request: a server without `authSecret` never shows it. */
  secrets(): Counter {
    this.secretRequests ??= sharedCounter(this.options.registry, ARRPC_METRIC_NAMES.serverAuthSecretRequests, SERVER_SECRET_LABELS);
    return this.secretRequests;
  }

  forConnection(remoteAddress: string | undefined, tls: boolean): ServerConnectionMetrics {
    const address = peerIp(remoteAddress);
    const key = `${tls ? 'T' : 'F'}${address}`;
    let peer = this.peers.get(key);
    if (peer === undefined) {
      peer = new PeerMetrics(this, address, tls);
      this.peers.set(key, peer);
    }
    return peer;
  }
}

/** Every child of one handler's label set, resolved on its first request. */
interface HandlerChildren {
  readonly seconds: SumCountChild;
  readonly bytes: SumCountChild;
  readonly errors: ReasonChildren;
  readonly durations: PatternChildren | null;
}

/** One peer's metrics: label sets by handler, for plain and for signed requests. */
class PeerMetrics implements ServerConnectionMetrics {
  private readonly plain = new Map<string, HandlerChildren>();
  private readonly signed = new Map<string, HandlerChildren>();
  /** The secret counter's children, by the secret's position. */
  private readonly secretChildren: Counter.Internal[] = [];

  constructor(
    private readonly recorder: PrometheusServerRecorder,
    private readonly remoteAddress: string,
    private readonly tls: boolean,
  ) {}

  request(handlerFunc: string, pattern: string, signed: boolean, seconds: number, bytes: number): void {
    const children = (signed ? this.signed : this.plain).get(handlerFunc) ?? this.resolve(handlerFunc, signed);
    children.seconds.observe(seconds);
    children.bytes.observe(bytes);
    // No handler ran: the pattern is whatever the peer sent, so it is not a label value.
    children.durations?.observe(handlerFunc === '' ? '' : pattern, seconds);
  }

  error(handlerFunc: string, signed: boolean, reason: string): void {
    const children = (signed ? this.signed : this.plain).get(handlerFunc) ?? this.resolve(handlerFunc, signed);
    children.errors.inc(reason);
  }

  secret(position: number): void {
    let child = this.secretChildren[position];
    if (child === undefined) {
      const { hostname, k8sNamespace } = hostLabels();
      child = this.recorder.secrets().labels({
        hostname,
        k8s_namespace: k8sNamespace,
        remote_address: this.remoteAddress,
        secret: String(position),
        tls: pythonBool(this.tls),
      });
      this.secretChildren[position] = child;
    }
    child.inc();
  }

  private resolve(handlerFunc: string, signed: boolean): HandlerChildren {
    const { recorder } = this;
    const { hostname, k8sNamespace } = hostLabels();
    const labels = {
      handler_func: handlerFunc,
      hostname,
      k8s_namespace: k8sNamespace,
      remote_address: this.remoteAddress,
      signed_payload: pythonBool(signed),
      tls: pythonBool(this.tls),
    };
    const children: HandlerChildren = {
      seconds: recorder.seconds.labels(labels),
      bytes: recorder.bytes.labels(labels),
      errors: new ReasonChildren(recorder.errors, SERVER_ERROR_LABELS, labels, recorder.options.maxErrorReasons),
      durations: recorder.durations === null ? null : new PatternChildren(recorder.durations, SERVER_HISTOGRAM_LABELS, labels),
    };
    (signed ? this.signed : this.plain).set(handlerFunc, children);
    return children;
  }
}

/** The peer's IP as the reference writes it: an IPv4-mapped IPv6 address as plain IPv4. */
function peerIp(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return '';
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
}
