// One-shot key provisioning for `docker compose`: auth refuses to start with
// NODE_ENV=production unless it is given a private signing key, and no key may be
// committed. The compose `keygen` service runs this before auth, against a named
// volume, so the first `up` creates a key and every later one keeps it (tokens stay
// valid across restarts and rebuilds).
//
//   JWT_PRIVATE_KEY_FILE=/var/lib/parley/keys/jwt-private.pem JWT_ALGORITHM=RS256 \
//     node generate-jwt-key.mjs
//
// A readable key that fits JWT_ALGORITHM: left alone. No file: a new PKCS#8 PEM
// (RSA 2048 for RS256, P-256 for ES256) is written with mode 0600 through a temp file
// and a rename, so auth never reads half a key. A file that is not such a key: exit 1
// without touching it, since it may be an operator's own key. Its variables are in
// script-env.mjs.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KEY_TYPES, keygenEnvSchema, parseScriptEnv } from './script-env.mjs';

function fail(message) {
  process.stderr.write(`keygen: ${message}\n`);
  process.exit(1);
}

const { settings, problem } = parseScriptEnv(keygenEnvSchema);
if (!settings) fail(problem);
const { JWT_PRIVATE_KEY_FILE: file, JWT_ALGORITHM: algorithm } = settings;
const keyType = KEY_TYPES[algorithm];

let existing;
try {
  existing = readFileSync(file, 'utf8');
} catch (err) {
  if (err.code !== 'ENOENT') fail(`${file} cannot be read: ${err.code}`);
}

if (existing !== undefined) {
  let key;
  try {
    key = createPrivateKey(existing);
  } catch {
    fail(`${file} exists but is not a PEM private key; remove it (or the volume) to get a new one`);
  }
  if (key.asymmetricKeyType !== keyType) {
    fail(
      `${file} holds a ${key.asymmetricKeyType} key but JWT_ALGORITHM=${algorithm} needs ${keyType}; ` +
        'remove the key (or the volume) to generate a matching one',
    );
  }
  process.stdout.write(`keygen: keeping the existing ${algorithm} key in ${file}\n`);
  process.exit(0);
}

const { privateKey } =
  keyType === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
try {
  writeFileSync(temp, pem, { mode: 0o600, flag: 'wx' });
  renameSync(temp, file);
} catch (err) {
  rmSync(temp, { force: true });
  fail(`cannot write ${file}: ${err.code ?? err.message}`);
}
process.stdout.write(`keygen: wrote a new ${algorithm} key to ${file}\n`);
