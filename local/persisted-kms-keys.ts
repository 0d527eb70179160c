import fs from 'node:fs';
import path from 'node:path';
import type { KmsStubKeys } from './kms-stub';

/** The file the local KMS stub's keys are kept in, next to the persisted database (local data, never a real key). */
const KMS_KEYS_FILE = 'kms-stub-keys.json';

export function persistedKmsKeys(dataDirectory: string): KmsStubKeys | undefined {
  const file = path.join(dataDirectory, KMS_KEYS_FILE);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as KmsStubKeys) : undefined;
}

export function keepKmsKeys(dataDirectory: string, keys: KmsStubKeys): void {
  fs.mkdirSync(dataDirectory, { recursive: true });
  fs.writeFileSync(path.join(dataDirectory, KMS_KEYS_FILE), JSON.stringify(keys), { mode: 0o600 });
}
