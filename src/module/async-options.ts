import type { ConfigurableModuleAsyncOptions, ConfigurableModuleOptionsFactory } from '@nestjs/common';
import type { AtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { AtomicQueuesConfigError } from '../errors.js';

// `forRootAsync` options of AtomicQueuesModule and of the testing module, both built with Nest's
// ConfigurableModuleBuilder, and the checks that make a wrong call fail naming what is wrong (the builder itself
// would fail later with an unreadable DI error).

/** The method a `useClass` / `useExisting` options factory implements (Nest's ConfigurableModuleBuilder convention). */
export const FACTORY_METHOD = 'createAtomicQueuesOptions';

/** A class given to `forRootAsync({ useClass })` or `forRootAsync({ useExisting })`. */
export type AtomicQueuesOptionsFactory = ConfigurableModuleOptionsFactory<AtomicQueuesConfig, typeof FACTORY_METHOD>;

/**
 * `forRootAsync` options, as every configurable Nest module takes them: exactly one of `useFactory` (with
 * `inject`), `useClass` or `useExisting` (a class implementing {@link AtomicQueuesOptionsFactory}), plus the
 * `imports` they need.
 */
export type AtomicQueuesModuleAsyncOptions = ConfigurableModuleAsyncOptions<AtomicQueuesConfig, typeof FACTORY_METHOD>;

type OptionsFactory<T> = ConfigurableModuleOptionsFactory<T, typeof FACTORY_METHOD>;
type AsyncOptions<T> = ConfigurableModuleAsyncOptions<T, typeof FACTORY_METHOD>;

/** Throws AtomicQueuesConfigError unless `options` names exactly one way to build the config, in a usable form. */
function checkAsyncOptions(options: AsyncOptions<unknown>): void {
  if (typeof options !== 'object' || options === null) {
    throw new AtomicQueuesConfigError('forRootAsync(options)', 'must be an object with useFactory, useClass or useExisting', options);
  }
  const given = (['useFactory', 'useClass', 'useExisting'] as const).filter((k) => options[k] !== undefined);
  if (given.length !== 1) {
    throw new AtomicQueuesConfigError('forRootAsync(options)', 'needs exactly one of useFactory, useClass or useExisting', given.length ? given.join(' + ') : 'none');
  }
  const [how] = given;
  const value: unknown = options[how];
  // useExisting names a provider: its class, or a string/symbol token.
  const usable = typeof value === 'function' || (how === 'useExisting' && (typeof value === 'string' || typeof value === 'symbol'));
  if (!usable) {
    const rule = how === 'useFactory' ? 'must be a function returning the config' : how === 'useClass' ? 'must be a class' : 'must be a provider token (a class, string or symbol)';
    throw new AtomicQueuesConfigError(`forRootAsync(options).${how}`, rule, value);
  }
  if (how === 'useClass' && typeof options.useClass!.prototype?.[FACTORY_METHOD] !== 'function') {
    throw new AtomicQueuesConfigError('forRootAsync(options).useClass', `must implement AtomicQueuesOptionsFactory (a ${FACTORY_METHOD}() method)`, options.useClass!.name);
  }
  if (how !== 'useFactory' && options.inject !== undefined) {
    throw new AtomicQueuesConfigError('forRootAsync(options).inject', `applies to useFactory only (${how} gets its dependencies by injection)`, options.inject);
  }
}

/** Calls the `useExisting` instance's factory method, or fails naming what was given instead. */
async function fromExisting<T>(factory: unknown, token: unknown): Promise<T> {
  const method = (factory as Partial<OptionsFactory<T>> | undefined)?.[FACTORY_METHOD];
  if (typeof method !== 'function') {
    const name = typeof token === 'function' ? token.name : String(token);
    throw new AtomicQueuesConfigError('forRootAsync(options).useExisting', `must resolve to a provider implementing AtomicQueuesOptionsFactory (a ${FACTORY_METHOD}() method)`, name);
  }
  return method.call(factory);
}

/**
 * Checks `options` (AtomicQueuesConfigError when unusable) and returns them for the builder's `forRootAsync`, a
 * `useExisting` turned into a factory that checks the provider it resolves to.
 */
export function checkedAsyncOptions<T>(options: AsyncOptions<T>): AsyncOptions<T> {
  checkAsyncOptions(options as AsyncOptions<unknown>);
  if (options.useExisting === undefined) return options;
  const token = options.useExisting;
  return { imports: options.imports, inject: [token], useFactory: (factory: unknown) => fromExisting<T>(factory, token) };
}
