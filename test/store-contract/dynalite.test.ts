import { ManualClock } from '../support/fakes';
import { startDynaliteServer, storeOnFreshTable, type DynamoDbServer } from '../support/dynamodb-servers';
import { runStoreContract } from './store-contract';

let server: DynamoDbServer;
beforeAll(async () => {
  server = await startDynaliteServer();
});
afterAll(async () => {
  await server.close();
});

runStoreContract('DynamoDB adapter on dynalite', async () => {
  const clock = new ManualClock();
  return { store: await storeOnFreshTable(server, clock), clock };
});
