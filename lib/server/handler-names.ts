import type { MessageHandler } from '@nestjs/microservices';
import type { Session } from 'node:inspector';

// The metrics' `handler_func` is the controller method's name (`echo` for `@MessagePattern('x')
// echo()`), as the reference writes its handler function's name. Nest never hands a transport
// that name: `addHandler` receives a wrapper (a proxy running guards, pipes, interceptors and
// filters, an event wrapper around it, or a request-scoped wrapper), and neither the wrapper,
// its `extras`, nor anything else a `Server` sees points back to the method or its controller.
// The only place the name lives is the wrappers' closures: the request-scoped wrapper keeps
// `methodKey`; the proxy keeps `targetCallback`, which keeps `callback`, the method itself.
// V8's inspector reads closures without changing anything, so they are read through it, once
// per handler when the server starts listening with metrics on, never per request.

/** A closure variable as the inspector describes it. */
interface RemoteValue {
  readonly type: string;
  readonly value?: unknown;
  readonly objectId?: string;
  readonly description?: string;
}

interface PropertyDescriptor {
  readonly name: string;
  readonly value?: RemoteValue;
}

interface PropertiesResult {
  readonly result: readonly PropertyDescriptor[];
  readonly internalProperties?: readonly PropertyDescriptor[];
}

/** Closure variables holding the method's name, as Nest 12 names them. */
const NAME_VARIABLES: ReadonlySet<string> = new Set(['methodKey', 'methodName']);
/** The closure variable holding the method itself, as Nest 12 names it. */
const METHOD_VARIABLE = 'callback';
/** Scopes that are not a closure of Nest's: huge, and never where the method is. */
const SKIPPED_SCOPES: ReadonlySet<string> = new Set(['Global', 'Script', 'Module']);
/** Wrappers followed from the handler to the method; Nest 12 needs 3 (event -> proxy -> target). */
const MAX_DEPTH = 4;
/** Closures read per handler at most, whatever a hand-made handler closes over. */
const MAX_FUNCTIONS = 32;
const OBJECT_GROUP = 'nestjs-arrpc:handler-names';
/** Where a handler waits, for an instant, for the inspector to find it. */
const HANDOFF = Symbol.for('nestjs-arrpc:handler-names');

/**
 * The method name behind each handler, read once from the wrappers' closures (see above). A
 * handler whose method is not found (one added with `addHandler` by hand, a runtime without the
 * inspector, a future Nest that wraps differently) is named by its pattern instead, so its
 * requests stay apart from those of other handlers; `onFallback` hears why, once.
 */
export async function resolveHandlerNames(
  handlers: ReadonlyMap<string, MessageHandler>,
  onFallback: (why: string) => void,
): Promise<ReadonlyMap<MessageHandler, string>> {
  const names = new Map<MessageHandler, string>();
  if (handlers.size === 0) return names;
  let reader: ClosureReader | undefined;
  try {
    reader = await ClosureReader.open();
  } catch (error) {
    onFallback(`the inspector is not available (${(error as Error).message})`);
  }
  const unnamed: string[] = [];
  try {
    for (const [route, handler] of handlers) {
      const name = reader === undefined ? undefined : reader.methodName(handler);
      if (reader !== undefined && name === undefined) unnamed.push(route);
      names.set(handler, name ?? route);
    }
  } finally {
    reader?.close();
  }
  if (unnamed.length > 0) onFallback(`no method found behind ${unnamed.map((r) => `"${r}"`).join(', ')}`);
  return names;
}

/** An in-process inspector session, used synchronously (its calls answer before they return). */
class ClosureReader {
  private constructor(private readonly session: Session) {}

  static async open(): Promise<ClosureReader> {
    // Imported here: `node:inspector` throws on import where Node was built without it.
    const { Session } = await import('node:inspector');
    const session = new Session();
    session.connect();
    return new ClosureReader(session);
  }

  close(): void {
    this.session.disconnect();
  }

  /** Searches the handler's closures, nearest first, for the method's name. */
  methodName(handler: MessageHandler): string | undefined {
    try {
      const queue: [objectId: string, depth: number][] = [[this.remoteFunction(handler), 0]];
      for (let read = 0; queue.length > 0 && read < MAX_FUNCTIONS; read++) {
        const [objectId, depth] = queue.shift()!;
        for (const variable of this.closureVariables(objectId)) {
          const found = this.nameIn(variable);
          if (found !== undefined) return found;
          if (variable.value?.type === 'function' && variable.value.objectId && depth + 1 < MAX_DEPTH) {
            queue.push([variable.value.objectId, depth + 1]);
          }
        }
      }
      return undefined;
    } catch {
      return undefined;
    } finally {
      this.post('Runtime.releaseObjectGroup', { objectGroup: OBJECT_GROUP });
    }
  }

  private nameIn({ name, value }: PropertyDescriptor): string | undefined {
    if (value === undefined) return undefined;
    if (NAME_VARIABLES.has(name) && typeof value.value === 'string' && value.value !== '') return value.value;
    if (name === METHOD_VARIABLE && value.type === 'function' && value.objectId) {
      const own = this.post<PropertiesResult>('Runtime.getProperties', { objectId: value.objectId, ownProperties: true });
      const fnName = own.result.find((p) => p.name === 'name')?.value?.value;
      if (typeof fnName === 'string' && fnName !== '') return fnName;
    }
    return undefined;
  }

  /** The variables of a function's closure scopes, module and global scopes left out. */
  private closureVariables(objectId: string): PropertyDescriptor[] {
    const own = this.post<PropertiesResult>('Runtime.getProperties', { objectId, ownProperties: true });
    const scopes = own.internalProperties?.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    if (scopes === undefined) return [];
    const variables: PropertyDescriptor[] = [];
    for (const scope of this.post<PropertiesResult>('Runtime.getProperties', { objectId: scopes, ownProperties: true }).result) {
      const scopeId = scope.value?.objectId;
      if (scopeId === undefined || SKIPPED_SCOPES.has(scope.value?.description ?? '')) continue;
      variables.push(...this.post<PropertiesResult>('Runtime.getProperties', { objectId: scopeId, ownProperties: true }).result);
    }
    return variables;
  }

  /** The inspector's id for `fn`: it is handed over through a global slot, emptied at once. */
  private remoteFunction(fn: MessageHandler): string {
    const slots = globalThis as unknown as Record<symbol, unknown>;
    slots[HANDOFF] = fn;
    try {
      const { result } = this.post<{ result: RemoteValue }>('Runtime.evaluate', {
        expression: `globalThis[Symbol.for(${JSON.stringify(HANDOFF.description)})]`,
        objectGroup: OBJECT_GROUP,
        silent: true,
      });
      if (result.type !== 'function' || result.objectId === undefined) throw new Error('handler not reachable');
      return result.objectId;
    } finally {
      delete slots[HANDOFF];
    }
  }

  private post<T = unknown>(method: string, params: object): T {
    // An in-process session answers before `post` returns; anything else is a runtime we do not know.
    const outcome: { error?: Error | null; result?: unknown } = {};
    this.session.post(method, params, (error, result) => Object.assign(outcome, { error, result }));
    if (!('error' in outcome)) throw new Error(`inspector ${method} did not answer synchronously`);
    if (outcome.error) throw outcome.error;
    return outcome.result as T;
  }
}
