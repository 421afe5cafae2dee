/**
 * undici's Agent class from its own module file. The package index loads all of undici (fetch,
 * WebSocket, cache, mocks: ~9 MiB of RSS in the gateway) and the gateway uses only the Agent.
 * undici has no "exports" map, so the file is importable; test/unit/undici-agent.test.ts checks
 * that it is still the very class the index exports.
 */
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';
  const AgentClass: typeof Agent;
  export default AgentClass;
}
