import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Where the Python reference reads its `hostname` label: the pod name on Kubernetes. */
export const HOSTNAME_FILE = '/etc/hostname';

/** Where the Python reference reads its `k8s_namespace` label; absent off Kubernetes. */
export const K8S_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The label values that describe this process, the same on every series it writes. */
export interface HostLabels {
  readonly hostname: string;
  readonly k8sNamespace: string;
}

/** The two files, replaceable so the fallbacks can be tested with files of our own. */
export interface HostLabelFiles {
  readonly hostnameFile: string;
  readonly namespaceFile: string;
}

/**
 * Reads the host labels from the files the reference reads: `hostname` is /etc/hostname trimmed,
 * or `os.hostname()` when that file is missing or blank; `k8s_namespace` is the service account's
 * namespace file trimmed, or empty when there is none.
 */
export function readHostLabels(
  files: HostLabelFiles = { hostnameFile: HOSTNAME_FILE, namespaceFile: K8S_NAMESPACE_FILE },
): HostLabels {
  return Object.freeze({
    hostname: readTrimmed(files.hostnameFile) || hostname(),
    k8sNamespace: readTrimmed(files.namespaceFile),
  });
}

let cached: HostLabels | undefined;

/** {@link readHostLabels} for the real files, read once per process. */
export function hostLabels(): HostLabels {
  cached ??= readHostLabels();
  return cached;
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    // Absent (off Kubernetes) or unreadable: the reference writes an empty value too.
    return '';
  }
}
