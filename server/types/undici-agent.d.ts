/**
 * undici's Agent class from its own module file. The package index loads all of undici (fetch,
 * WebSocket, cache, mocks: ~9 MiB of RSS in the gateway) and the gateway uses only the Agent.
 * undici has no "exports" map, so the file is importable; test/unit/startup-footprint.test.ts
 * checks that it is still the very class the index exports.
 *
 * Typed as what that file gives without the index: the index is what adds request(), stream(),
 * pipeline(), ... to the Dispatcher prototype, so only dispatch/close/destroy exist here.
 */
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';
  export type AgentModule = Pick<Agent, 'dispatch' | 'close' | 'destroy'>;
  const AgentClass: new (options?: Agent.Options) => AgentModule;
  export default AgentClass;
}
