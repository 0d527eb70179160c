/**
 * The fake Ecwid and the KMS stub in a process of their own, for `bench/refresh.ts`: the job under
 * measurement must not pay for the servers' work, as it does not with the real Ecwid and KMS.
 * Started with an IPC channel: it answers `{ listening, kms, keyArn }`, then, for
 * `{ grant: storeIds }`, the access tokens it issued.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeEcwid } from '../local/fake-ecwid';
import { KmsStub } from '../local/kms-stub';

const fake = new FakeEcwid({ clientId: 'bench-app', clientSecret: 'bench-secret', redirectUrl: 'https://auth.example.com/callback' });
fake.latencyMs = Number(process.env.FAKE_ECWID_LATENCY_MS ?? 50);

const kms = new KmsStub();
const server = createServer((request, response) => void fake.handle(request, response));
server.listen(0, '127.0.0.1', () => {
  void kms.listen().then((kmsUrl) =>
    process.send!({ listening: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, kms: kmsUrl, keyArn: kms.keyArn }),
  );
});

process.on('message', (message: { grant?: number[]; count?: boolean }) => {
  if (message.grant !== undefined) {
    process.send!({ tokens: message.grant.map((storeId) => fake.grantTokens(storeId).accessToken) });
  } else if (message.count === true) {
    process.send!({ profileRequests: fake.profileRequests.length, ok: fake.profileRequests.filter((record) => record.status === 200).length });
  }
});
process.on('disconnect', () => process.exit(0));
