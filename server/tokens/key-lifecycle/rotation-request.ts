/**
 * What a caller may ask of a rotation, from `jwtgate keys rotate` flags or the
 * `POST /admin/keys/rotate` body, checked once for both; and the options that no longer exist,
 * refused with the reason rather than ignored.
 */
import { InvalidInputError } from '../../errors.js';
import { parseKeyBits } from './key-pairs.js';
import { revokeSigningKeys, rotateSigningKey, type KeyChange, type KeyLifecycle } from './transitions.js';

export interface RotationRequest {
  /** Size of the newly generated key(s). */
  bits: number;
  /** Promote a next key younger than --consumer-cache-max. */
  force: boolean;
  /** Emergency: the active and next keys leave the JWKS now. */
  revokeCurrent: boolean;
}

export interface RawRotationRequest {
  bits?: unknown;
  force?: unknown;
  revokeCurrent?: unknown;
  publishDelay?: unknown;
  grace?: unknown;
}

/** How the caller spells each option, for the messages: CLI flags or API fields. */
export interface OptionNames {
  force: string;
  revokeCurrent: string;
  publishDelay: string;
  grace: string;
}

export const CLI_OPTION_NAMES: OptionNames = { force: '--force', revokeCurrent: '--revoke-current', publishDelay: '--publish-delay', grace: '--grace' };
export const API_FIELD_NAMES: OptionNames = { force: 'force', revokeCurrent: 'revokeCurrent', publishDelay: 'publishDelay', grace: 'grace' };

/** The timing options of jwtgate 0.1's "publish first, sign later", refused with what replaced them. */
export function refuseRemovedTimingOptions(raw: Pick<RawRotationRequest, 'publishDelay' | 'grace'>, names: Pick<OptionNames, 'publishDelay' | 'grace'>): void {
  if (raw.publishDelay !== undefined) {
    throw new InvalidInputError(`${names.publishDelay} was removed: a next key is always published, so a rotation signs at once with a key every consumer already has (docs/keys.md)`);
  }
  if (raw.grace !== undefined) {
    throw new InvalidInputError(`${names.grace} was removed: the previous key stays published --token-ttl + --consumer-cache-max after a rotation (docs/keys.md)`);
  }
}

function flag(raw: unknown, name: string): boolean {
  if (raw === undefined) return false;
  if (typeof raw !== 'boolean') throw new InvalidInputError(`${name} must be true or false, got ${JSON.stringify(raw)}`);
  return raw;
}

export function rotationRequestOf(raw: RawRotationRequest, names: OptionNames): RotationRequest {
  refuseRemovedTimingOptions(raw, names);
  const request = { bits: parseKeyBits(raw.bits), force: flag(raw.force, names.force), revokeCurrent: flag(raw.revokeCurrent, names.revokeCurrent) };
  if (request.force && request.revokeCurrent) throw new InvalidInputError(`${names.force} and ${names.revokeCurrent} exclude each other: an emergency rotation never waits`);
  return request;
}

export async function rotate(lc: KeyLifecycle, request: RotationRequest): Promise<KeyChange> {
  return request.revokeCurrent ? revokeSigningKeys(lc, request) : rotateSigningKey(lc, request);
}

export function rotationMode(request: RotationRequest): 'routine' | 'forced' | 'emergency' {
  return request.revokeCurrent ? 'emergency' : request.force ? 'forced' : 'routine';
}

/** Printed by `keys rotate --revoke-current` and logged by the server: what an emergency rotation breaks, and for how long. */
export function emergencyWarning(consumerCacheMaxSeconds: number): string {
  return (
    'emergency rotation: the previous active and next keys (and any key still published after an earlier rotation) are no longer published, and a key no consumer has seen signs now. ' +
    'Verifiers that cache the JWKS and do not refetch on an unknown kid (Grafana, Envoy by default) refuse every new token until their cache expires ' +
    `(at most --consumer-cache-max, ${consumerCacheMaxSeconds} s); verifiers that refetch (jose, PyJWT PyJWKClient, Spring) accept them after one refetch. ` +
    'Tokens signed by the revoked key stop verifying wherever the JWKS is fetched again.'
  );
}
