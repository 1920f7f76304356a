import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer } from '@nestjs/core';
import { PATTERN_HANDLER_METADATA, PATTERN_METADATA, TRANSPORT_METADATA } from '@nestjs/microservices/constants.js';
import type { Subscription } from 'rxjs';

// The metrics' `handler_func` is the controller method's name (`echo` for `@MessagePattern('x')
// echo()`), as the reference writes its handler function's name. Nest hands a transport only a
// wrapper around the method, so the names come from where Nest itself finds the handlers: the
// pattern metadata of the controllers' methods, read once when the application starts.

/** The method a message or event pattern is bound to, as its decorator describes it. */
export interface PatternMethod {
  /** The pattern as given to `@MessagePattern` / `@EventPattern`, not yet normalised. */
  readonly pattern: unknown;
  /** The transport given to the decorator; undefined when the handler is for every transport. */
  readonly transport: unknown;
  /** The method's name: the `handler_func` of its requests. */
  readonly name: string;
}

/** What an `ArrpcServer` is called through to learn its handlers' method names. */
export const LEARN_HANDLER_NAMES = Symbol.for('nestjs-arrpc:learn-handler-names');

/** A transport that keys its own handlers and so can map their routes to method names. */
export interface HandlerNameLearner {
  [LEARN_HANDLER_NAMES](methods: readonly PatternMethod[]): void;
}

/**
 * Gives every `ArrpcServer` of the application the method names of the controllers' pattern
 * handlers. Servers reach it through `ModulesContainer`'s RPC target registry, which replays the
 * servers added before it and reports those added later (`connectMicroservice` after init).
 */
@Injectable()
export class HandlerNameExplorer implements OnModuleInit, OnModuleDestroy {
  private subscription: Subscription | undefined;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly modules: ModulesContainer,
  ) {}

  onModuleInit(): void {
    const methods = this.patternMethods();
    this.subscription = this.modules.getRpcTargetRegistry<unknown>().subscribe((target) => {
      if (learnsHandlerNames(target)) target[LEARN_HANDLER_NAMES](methods);
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  /** Every pattern of every controller method, in the order Nest registers them as handlers. */
  private patternMethods(): readonly PatternMethod[] {
    const methods: PatternMethod[] = [];
    for (const { metatype } of this.discovery.getControllers()) {
      // The class, not the instance: a request-scoped controller has no static instance.
      const prototype: unknown = typeof metatype === 'function' ? metatype.prototype : undefined;
      if (prototype === undefined || prototype === null) continue;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method: unknown = (prototype as Record<string, unknown>)[name];
        if (typeof method !== 'function' || Reflect.getMetadata(PATTERN_HANDLER_METADATA, method) === undefined) continue;
        const patterns: unknown = Reflect.getMetadata(PATTERN_METADATA, method);
        const transport: unknown = Reflect.getMetadata(TRANSPORT_METADATA, method);
        for (const pattern of Array.isArray(patterns) ? patterns : [patterns]) methods.push({ pattern, transport, name });
      }
    }
    return Object.freeze(methods);
  }
}

function learnsHandlerNames(target: unknown): target is HandlerNameLearner {
  return typeof (target as Partial<HandlerNameLearner> | null)?.[LEARN_HANDLER_NAMES] === 'function';
}
