// The label values every series of this process carries, computed the way the brief states them,
// independently of lib/metrics/host-labels.ts.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';

const namespaceFile = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export const EXPECTED_HOSTNAME =
  (existsSync('/etc/hostname') ? readFileSync('/etc/hostname', 'utf8').trim() : '') || hostname();

export const EXPECTED_NAMESPACE = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : '';
