// The keys access tokens are signed with, and the JWKS that publishes their public
// halves. Two sources:
//  - configured (JWT_PRIVATE_KEY / JWT_PRIVATE_KEY_FILE; required in production): the
//    key lives in the deployment's secret store, never in the database;
//  - stored (development): generated once and kept in the `signing_keys` collection
//    so restarts and several instances share it. Two instances starting together race
//    on one insert of the fixed `_id: 'active'` document; the loser reads the winner's.
// The JWKS lists the active key plus retired keys whose `verifyUntil` (retirement +
// the longest access-token lifetime) has not passed, so a rotation never invalidates
// tokens already handed out. Keys are held as KeyObjects: built once, not per token.
import type { Jwks } from '@parley/contracts';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { MongoServerError, type Collection, type Db } from 'mongodb';

export type SigningAlgorithm = 'RS256' | 'ES256';

// A type literal, not an interface, so it fits the contracts' open JWK shape.
type JwkCommon = {
  kid: string;
  use: 'sig';
  alg: SigningAlgorithm;
};
export type PublicJwk =
  | (JwkCommon & { kty: 'RSA'; n: string; e: string })
  | (JwkCommon & { kty: 'EC'; crv: string; x: string; y: string });

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  publicJwk: PublicJwk;
}

export interface SigningKeys {
  /** The key new tokens are signed with. */
  readonly active: SigningKey;
  /** Every public key still valid for verification. */
  jwks(): Promise<Jwks>;
}

/** A document of `signing_keys`: the active key (`_id: 'active'`) or a retired one. */
export interface SigningKeyRecord {
  _id: string;
  kid: string;
  alg: SigningAlgorithm;
  /** PKCS#8 PEM; only on the active key, removed when a key is retired. */
  privateKeyPem?: string;
  publicJwk: PublicJwk;
  createdAt: Date;
  retiredAt?: Date;
  /** A retired key stays in the JWKS until then. */
  verifyUntil?: Date;
}

export const SIGNING_KEYS_COLLECTION = 'signing_keys';
const ACTIVE_ID = 'active';

/** Raised at startup for a configured key that cannot be used; the message names no key material. */
export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) over the key's required members. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** Builds a SigningKey from a private KeyObject, checking it fits the algorithm. */
export function signingKeyFrom(privateKey: KeyObject, alg: SigningAlgorithm): SigningKey {
  if (privateKey.type !== 'private')
    throw new SigningKeyError('The signing key is not a private key');
  const details = privateKey.asymmetricKeyDetails ?? {};
  if (alg === 'RS256') {
    if (privateKey.asymmetricKeyType !== 'rsa') {
      throw new SigningKeyError(
        `JWT_ALGORITHM=RS256 needs an RSA key, got ${privateKey.asymmetricKeyType ?? 'unknown'}`,
      );
    }
    if ((details.modulusLength ?? 0) < 2048) {
      throw new SigningKeyError('RSA signing keys must be at least 2048 bits');
    }
  } else if (privateKey.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1') {
    throw new SigningKeyError('JWT_ALGORITHM=ES256 needs an EC P-256 (prime256v1) key');
  }
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = jwkThumbprint(jwk);
  const part = (name: 'n' | 'e' | 'crv' | 'x' | 'y'): string => {
    const value = jwk[name];
    if (typeof value !== 'string')
      throw new SigningKeyError(`The public key has no JWK member ${name}`);
    return value;
  };
  const publicJwk: PublicJwk =
    alg === 'RS256'
      ? { kty: 'RSA', n: part('n'), e: part('e'), kid, use: 'sig', alg }
      : { kty: 'EC', crv: part('crv'), x: part('x'), y: part('y'), kid, use: 'sig', alg };
  return { kid, alg, privateKey, publicJwk };
}

/** The key from JWT_PRIVATE_KEY's PEM (literal `\n` sequences allowed, as env files need). */
export function loadConfiguredSigningKey(pem: string, alg: SigningAlgorithm): SigningKeys {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem.includes('\\n') ? pem.replaceAll('\\n', '\n') : pem);
  } catch {
    throw new SigningKeyError('The configured JWT private key is not a readable PEM private key');
  }
  const active = signingKeyFrom(privateKey, alg);
  const jwks: Jwks = { keys: [active.publicJwk] };
  return { active, jwks: () => Promise.resolve(jwks) };
}

const generateKeyPairAsync = promisify(generateKeyPair);

export async function generateSigningKey(alg: SigningAlgorithm): Promise<SigningKey> {
  const { privateKey } =
    alg === 'RS256'
      ? await generateKeyPairAsync('rsa', { modulusLength: 2048 })
      : await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
  return signingKeyFrom(privateKey, alg);
}

export interface StoredSigningKeysOptions {
  /** Used only when no key is stored yet; a stored key keeps its own algorithm. */
  alg: SigningAlgorithm;
  /** How long the JWKS answer is reused before `signing_keys` is read again. */
  jwksCacheMs?: number;
  now?: () => Date;
}

/** Loads the shared development key from MongoDB, creating it on first start. */
export async function loadStoredSigningKeys(
  db: Db,
  options: StoredSigningKeysOptions,
): Promise<SigningKeys> {
  const keys = db.collection<SigningKeyRecord>(SIGNING_KEYS_COLLECTION);
  const now = options.now ?? (() => new Date());
  const record =
    (await keys.findOne({ _id: ACTIVE_ID })) ?? (await createActiveKey(keys, options.alg, now()));
  if (!record.privateKeyPem)
    throw new SigningKeyError('The stored active signing key has no private key');
  const active = signingKeyFrom(createPrivateKey(record.privateKeyPem), record.alg);
  if (active.kid !== record.kid)
    throw new SigningKeyError('The stored active signing key does not match its kid');

  const cacheMs = options.jwksCacheMs ?? 30_000;
  let cached: { jwks: Jwks; at: number } | undefined;

  async function readJwks(): Promise<Jwks> {
    const retired = await keys
      .find(
        { _id: { $ne: ACTIVE_ID }, verifyUntil: { $gt: now() } },
        { projection: { publicJwk: 1 } },
      )
      .toArray();
    return {
      keys: [
        active.publicJwk,
        ...retired.map((r) => r.publicJwk).filter((jwk) => jwk.kid !== active.kid),
      ],
    };
  }

  return {
    active,
    async jwks() {
      const at = now().getTime();
      if (cached && at - cached.at < cacheMs) return cached.jwks;
      try {
        cached = { jwks: await readJwks(), at };
      } catch {
        // The database is briefly away: keep publishing what we had (the active key
        // is known without it) rather than letting verifiers lose every key.
        if (!cached) return { keys: [active.publicJwk] };
      }
      return cached.jwks;
    },
  };
}

async function createActiveKey(
  keys: Collection<SigningKeyRecord>,
  alg: SigningAlgorithm,
  now: Date,
): Promise<SigningKeyRecord> {
  const key = await generateSigningKey(alg);
  const record: SigningKeyRecord = {
    _id: ACTIVE_ID,
    kid: key.kid,
    alg,
    privateKeyPem: key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicJwk: key.publicJwk,
    createdAt: now,
  };
  try {
    await keys.insertOne(record);
    return record;
  } catch (err) {
    if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
    // Another instance stored its key first: everyone uses that one.
    const winner = await keys.findOne({ _id: ACTIVE_ID });
    if (!winner) throw err;
    return winner;
  }
}
