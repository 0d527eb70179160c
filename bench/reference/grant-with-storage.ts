/**
 * Reference for `npm run bench`, not part of the app: `grant-alone.ts` plus what a grant user must add
 * to match this project's duties: the client secret read from Secrets Manager instead of the
 * environment, and the token response stored in DynamoDB. The clients are created at module scope and
 * used by the handler, so the bundle carries the same AWS SDK clients a real deployment would.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import grant from 'grant';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const secrets = new SecretsManagerClient({});

const ecwid = grant.aws({
  config: {
    defaults: { origin: process.env.PUBLIC_URL, prefix: '/connect', transport: 'state', state: true },
    ecwid: {
      key: process.env.ECWID_CLIENT_ID,
      scope: (process.env.ECWID_SCOPES ?? '').split(' '),
      callback: '/installed',
    },
  },
  session: { secret: process.env.GRANT_SESSION_SECRET ?? '' },
});

let clientSecret: Promise<string> | undefined;

function readClientSecret(): Promise<string> {
  clientSecret ??= secrets
    .send(new GetSecretValueCommand({ SecretId: process.env.CLIENT_SECRET_ID }))
    .then(({ SecretString }) => SecretString ?? '');
  return clientSecret;
}

export async function handler(event: unknown): Promise<unknown> {
  // grant's state override: configuration that must not travel over HTTP, given per request.
  const { redirect, response } = await ecwid(event, { dynamic: { secret: await readClientSecret() } });
  if (redirect !== undefined) return redirect;
  const storeId: unknown = response?.raw?.store_id;
  await documents.send(
    new PutCommand({
      TableName: process.env.TABLE_NAME,
      Item: { pk: `store#${String(storeId)}`, accessToken: response?.access_token, scope: response?.raw?.scope },
    }),
  );
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ storeId }) };
}
