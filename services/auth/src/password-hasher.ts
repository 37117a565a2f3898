// Password hashing with bcrypt at a configurable cost.
//
// bcrypt only reads the first 72 bytes of its input, so two 128-character passwords
// that share a 72-byte prefix (or a 30-character password of 3-byte UTF-8 symbols)
// would hash alike. Every password is therefore first reduced to SHA-256, written in
// base64 (44 ASCII bytes, never a NUL byte, which would also truncate bcrypt), so
// every character counts. The pre-hash is a fixed, documented transform, so hashes
// stay verifiable whatever the deployment; changing it needs a new scheme marker.
import bcrypt from 'bcrypt';
import { createHash } from 'node:crypto';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, passwordHash: string): Promise<boolean>;
  /**
   * Spends the same time as verify() against a hash of the same cost and returns
   * false: the unknown-user path of login, so it cannot be told apart by timing.
   */
  verifyDummy(password: string): Promise<false>;
}

export function preHash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('base64');
}

export function createPasswordHasher(options: { cost: number }): PasswordHasher {
  let dummyHash: Promise<string> | undefined;
  return {
    hash: (password) => bcrypt.hash(preHash(password), options.cost),
    verify: (password, passwordHash) => bcrypt.compare(preHash(password), passwordHash),
    async verifyDummy(password) {
      dummyHash ??= bcrypt.hash(preHash('parley dummy password'), options.cost);
      await bcrypt.compare(preHash(password), await dummyHash);
      return false;
    },
  };
}
